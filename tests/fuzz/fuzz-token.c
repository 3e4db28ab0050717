/* fuzz-token.c — a token endpoint's response, from the wire to the vault.
 *
 * The input is JSON text, as a provider would answer (RFC 6749 §5.1).
 * What jansson reads is checked by request_check_token_response() as
 * token.put checks it; a refused one must say why in valid UTF-8. An
 * accepted one is stored through the vault, in a temporary vault opened
 * once: for a user without a previous set (which must succeed: a checked
 * response fits), and for one whose previous set has a refresh token
 * (which may be too large only because of the token kept), then once more
 * through a refresh lease and its commit. After each, the stored set is
 * read back: valid JSON, the response's members as they came, expires_in
 * turned into an absolute expires_at, the previous refresh token kept when
 * the response has none; and token.get hands out the same text exactly
 * when the set is still valid. */
#include <sodium.h>
#include <time.h>

#include "fuzz.h"
#include "json-wipe.h"
#include "proto-limits.h"
#include "request.h"
#include "vault-internal.h"
#include "vault.h"

#define PLUGIN "fuzz"
#define PREVIOUS_REFRESH_TOKEN "rt-previous"

static Vault *vault;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char *db = NULL;

        FUZZ_CHECK(sodium_init() >= 0, "sodium_init");
        json_wipe_install();
        FUZZ_CHECK(asprintf(&db, "%s/db", fuzz_tmpdir()) >= 0, "out of memory");
        uint8_t *key = sodium_malloc(32);
        FUZZ_CHECK(key, "out of memory");
        randombytes_buf(key, 32);
        int r = vault_open(db, key, 0, &vault, NULL);
        FUZZ_CHECK(r >= 0, "vault_open: %s", strerror(-r));
        free(db);
        return 0;
}

/* The stored set of user, checked against the response it came from,
 * stored between t0 and t1. */
static void check_stored(const char *user, json_t *response, const char *kept_refresh_token, int64_t t0, int64_t t1) {
        SecretBuf *text = NULL, *got = NULL;
        StoredRecord meta = {};
        json_error_t e;
        const char *key;
        json_t *v;

        int r = vault_record_get(vault, RECORD_TOKEN, PLUGIN, user, &text, &meta);
        FUZZ_CHECK(r >= 0, "stored set unreadable: %s", strerror(-r));
        FUZZ_CHECK(fuzz_utf8_valid((const char *) text->data, text->size), "stored set is not UTF-8");
        json_t *set = json_loadb((const char *) text->data, text->size, JSON_REJECT_DUPLICATES, &e);
        FUZZ_CHECK(json_is_object(set), "stored set is not a JSON object: %s", e.text);
        FUZZ_CHECK(text->size <= TOKEN_SET_SIZE_MAX, "stored set of %zu bytes", text->size);

        json_object_foreach(response, key, v) {
                if (strcmp(key, "expires_in") == 0)
                        continue;
                FUZZ_CHECK(json_equal(json_object_get(set, key), v), "member '%s' not stored as it came", key);
        }
        json_t *in = json_object_get(response, "expires_in"), *at = json_object_get(set, "expires_at");
        FUZZ_CHECK(!json_object_get(set, "expires_in"), "expires_in stored");
        if (in)
                FUZZ_CHECK(json_is_integer(at) && json_integer_value(at) >= t0 + json_integer_value(in) &&
                                   json_integer_value(at) <= t1 + json_integer_value(in),
                           "expires_at is not the time of storing plus expires_in");
        size_t extra = 0;
        if (!json_object_get(response, "refresh_token") && kept_refresh_token) {
                FUZZ_CHECK(json_is_string(json_object_get(set, "refresh_token")) &&
                                   strcmp(json_string_value(json_object_get(set, "refresh_token")),
                                          kept_refresh_token) == 0,
                           "the previous refresh token was not kept");
                extra++;
        }
        FUZZ_CHECK(json_object_size(set) == json_object_size(response) + extra, "stored set has other members");

        bool valid = !json_is_integer(at) || json_integer_value(at) > (int64_t) time(NULL);
        r = vault_token_get(vault, PLUGIN, user, 0, &got, NULL, NULL);
        if (r == -ESTALE && json_is_integer(at) && json_integer_value(at) <= (int64_t) time(NULL) + 1)
                valid = false; /* expired meanwhile */
        if (valid) {
                FUZZ_CHECK(r == 0, "token.get of a valid set: %s", strerror(-r));
                FUZZ_CHECK(got->size == text->size && memcmp(got->data, text->data, text->size) == 0,
                           "token.get hands out another text");
        } else
                FUZZ_CHECK(r == -ESTALE, "token.get of an expired set: %d", r);
        secret_buf_free(got);
        secret_buf_free(text);
        json_decref(set);
}

static void put_previous(const char *user) {
        json_t *prev = json_pack("{s:s, s:s, s:s}", "access_token", "at-previous", "token_type", "Bearer",
                                 "refresh_token", PREVIOUS_REFRESH_TOKEN);
        int r = vault_token_put(vault, PLUGIN, user, prev, NULL);
        FUZZ_CHECK(r >= 0, "vault_token_put of the previous set: %s", strerror(-r));
        json_decref(prev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char error[ERROR_MESSAGE_SIZE_MAX] = "";
        json_error_t e;
        int64_t t0, t1;
        int r;

        json_t *response = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &e);
        if (!response)
                return 0;
        r = request_check_token_response(response, error, sizeof(error));
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG || r == -EMSGSIZE, "request_check_token_response: %d", r);
                FUZZ_CHECK(error[0] && fuzz_utf8_valid(error, strlen(error)), "message: %s", error);
                json_decref(response);
                return 0;
        }

        /* No previous set: a checked response must be stored. */
        (void) vault_token_delete(vault, PLUGIN, "new");
        t0 = (int64_t) time(NULL);
        r = vault_token_put(vault, PLUGIN, "new", response, NULL);
        t1 = (int64_t) time(NULL);
        FUZZ_CHECK(r >= 0, "token.put of a checked response, no previous set: %s", strerror(-r));
        check_stored("new", response, NULL, t0, t1);

        /* A previous set with a refresh token, kept if the response has
         * none: only then may the set be too large. */
        put_previous("kept");
        t0 = (int64_t) time(NULL);
        r = vault_token_put(vault, PLUGIN, "kept", response, NULL);
        t1 = (int64_t) time(NULL);
        FUZZ_CHECK(r >= 0 || (r == -EMSGSIZE && !json_object_get(response, "refresh_token")),
                   "token.put over a previous set: %s", strerror(-r));
        if (r >= 0)
                check_stored("kept", response, PREVIOUS_REFRESH_TOKEN, t0, t1);

        /* The same response through a refresh: lease, then commit. */
        put_previous("refresh");
        TokenRefresh lease = {};
        r = vault_token_refresh_begin(vault, PLUGIN, "refresh", 366 * 86400, 30, &lease, NULL);
        FUZZ_CHECK(r >= 0 && lease.refresh, "refresh_begin on a set without expiry: %s", strerror(-r));
        t0 = (int64_t) time(NULL);
        r = vault_token_refresh_commit(vault, PLUGIN, "refresh", lease.lease, response, NULL);
        t1 = (int64_t) time(NULL);
        FUZZ_CHECK(r >= 0 || (r == -EMSGSIZE && !json_object_get(response, "refresh_token")),
                   "refresh_commit with the lease: %s", strerror(-r));
        if (r >= 0)
                check_stored("refresh", response, PREVIOUS_REFRESH_TOKEN, t0, t1);
        vault_token_refresh_done(&lease);

        json_decref(response);
        return 0;
}
