/* handlers-credential.c — checking credentials without revealing them:
 * service tokens (secret.verify), oauth client credentials, user API keys,
 * and generating fresh service tokens.
 *
 * A presented value is compared with a stored one as keyed BLAKE2b digests
 * under the keyring's per-process compare key, with sodium_memcmp(): equal
 * lengths always, so how much of the presented value matches never shows in
 * the time taken (the stored value's rough length does: it is decrypted and
 * hashed). The answer is match or no match, never the value. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dispatch.h"
#include "handlers.h"

#define DIGEST_SIZE 32

static bool ct_equal(const Keyring *k, const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size) {
        uint8_t da[DIGEST_SIZE], db[DIGEST_SIZE];
        crypto_generichash(da, sizeof(da), a, a_size, keyring_compare_key(k), KEK_SIZE);
        crypto_generichash(db, sizeof(db), b, b_size, keyring_compare_key(k), KEK_SIZE);
        bool equal = sodium_memcmp(da, db, sizeof(da)) == 0;
        sodium_memzero(da, sizeof(da));
        sodium_memzero(db, sizeof(db));
        return equal;
}

/* "Scheme credentials" → credentials, if the scheme is the wanted one
 * (case-insensitive, RFC 9110 §11.1); NULL otherwise. */
static const char *authorization_credentials(const char *header, const char *scheme) {
        size_t n = strlen(scheme);
        if (strncasecmp(header, scheme, n) != 0 || header[n] != ' ')
                return NULL;
        header += n;
        while (*header == ' ')
                header++;
        return *header ? header : NULL;
}

/* The scheme a plugin's service token or API key is presented with: its
 * manifest's authorization_type; bearer when it is not registered. */
/* The presented credential of a request: its value, or the credentials of
 * its Authorization header in the plugin's scheme (*ret NULL if the header
 * is of another scheme). */
static int presented(Context *ctx, const Request *req, const uint8_t **ret, size_t *ret_size) {
        bool basic = false;

        if (req->value) {
                *ret = req->value->data;
                *ret_size = req->value->size;
                return 0;
        }
        int r = store_plugin_basic_auth(ctx->vault->store, req->plugin, &basic);
        if (r < 0)
                return r;
        const char *cred = authorization_credentials(req->authorization, basic ? "Basic" : "Bearer");
        *ret = (const uint8_t *) cred;
        *ret_size = cred ? strlen(cred) : 0;
        return 0;
}

int handle_secret_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *stored = NULL;
        StoredRecord meta = {};
        const uint8_t *value = NULL;
        size_t size = 0;
        int r;

        r = presented(ctx, req, &value, &size);
        if (r < 0)
                return r;
        r = vault_get(ctx->vault, RECORD_SECRET, req->plugin, req->name, &stored, &meta);
        if (r < 0)
                return not_found(r, f, "secret", req);
        bool match = value && ct_equal(ctx->vault->keyring, stored->data, stored->size, value, size);
        json_out_bool(reply, "match", match);
        if (match) {
                json_out_int(reply, "version", meta.version);
                json_out_cstring(reply, "stage", "current");
        }
        return 0;
}

int handle_secret_generate(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        uint8_t random[GENERATE_BYTES_MAX];
        StoredRecord meta = {};
        int r;

        (void) f;
        size_t n = (size_t) req->bytes;
        r = secret_buf_new(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), &text);
        if (r < 0)
                return r;
        randombytes_buf(random, n);
        sodium_bin2base64((char *) text->data, text->size, random, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(random, sizeof(random));
        text->size = strlen((const char *) text->data);

        r = vault_put(ctx->vault, RECORD_SECRET, req->plugin, req->name, text->data, text->size, -1, &meta);
        if (r < 0)
                return r;
        r = reply_value(reply, "value", text);
        if (r < 0)
                return r;
        reply_meta(reply, &meta);
        return 0;
}

static int hex_value(int c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

/* application/x-www-form-urlencoded decoding, in place (RFC 6749 §2.3.1
 * encodes client_id and client_secret so before Basic). False if malformed. */
static bool form_decode(char *s, size_t *ret_size) {
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (*p == '+')
                        *w++ = ' ';
                else if (*p == '%') {
                        int hi = hex_value(p[1]), lo = hi >= 0 ? hex_value(p[2]) : -1;
                        if (lo < 0)
                                return false;
                        *w++ = (char) (hi << 4 | lo);
                        p += 2;
                } else
                        *w++ = *p;
        }
        *ret_size = (size_t) (w - s);
        *w = '\0';
        return true;
}

static int stored_secret(Context *ctx, const char *plugin, const char *name, SecretBuf **ret, Failure *f) {
        int r = vault_get(ctx->vault, RECORD_SECRET, plugin, name, ret, NULL);
        if (r == -ENOENT)
                failure(f, "plugin '%s' has no %s stored", plugin, name);
        return r;
}

int handle_oauth_verify_client(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *id = NULL, *secret = NULL, *basic = NULL;
        const char *given_id = req->client_id, *given_secret = req->client_secret;
        size_t id_size = given_id ? strlen(given_id) : 0, secret_size = given_secret ? strlen(given_secret) : 0;
        bool well_formed = true;
        int r;

        r = stored_secret(ctx, req->plugin, "client_id", &id, f);
        if (r >= 0)
                r = stored_secret(ctx, req->plugin, "client_secret", &secret, f);
        if (r < 0)
                return r;

        if (req->authorization) {
                /* client_secret_basic: base64("id:secret"), each part
                 * form-encoded first. */
                const char *cred = authorization_credentials(req->authorization, "Basic");
                char *colon = NULL;
                well_formed = cred && secret_buf_from_base64(cred, strlen(cred), &basic) >= 0;
                /* A NUL would end the strings early and ignore what follows. */
                if (well_formed && !memchr(basic->data, '\0', basic->size))
                        colon = memchr(basic->data, ':', basic->size);
                well_formed = colon != NULL;
                if (well_formed) {
                        *colon = '\0';
                        given_id = (const char *) basic->data;
                        given_secret = colon + 1;
                        well_formed = form_decode((char *) given_id, &id_size) &&
                                      form_decode((char *) given_secret, &secret_size);
                }
        }
        /* Both comparisons always run: the time says nothing about which
         * part was wrong. */
        bool id_ok =
                well_formed && ct_equal(ctx->vault->keyring, id->data, id->size, (const uint8_t *) given_id, id_size);
        bool secret_ok = well_formed && ct_equal(ctx->vault->keyring, secret->data, secret->size,
                                                 (const uint8_t *) given_secret, secret_size);
        json_out_bool(reply, "match", id_ok & secret_ok);
        return 0;
}

/* The lookup hash of a presented key: keyed by the keyring's index key and
 * bound to the plugin, so equal keys of two plugins do not collide. */
static void apikey_lookup_hash(const Keyring *k, const char *plugin, const uint8_t *key, size_t size,
                               uint8_t ret[static APIKEY_LOOKUP_SIZE]) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, keyring_index_key(k), KEK_SIZE, APIKEY_LOOKUP_SIZE);
        crypto_generichash_update(&st, (const uint8_t *) plugin, strlen(plugin) + 1);
        crypto_generichash_update(&st, key, size);
        crypto_generichash_final(&st, ret, APIKEY_LOOKUP_SIZE);
        sodium_memzero(&st, sizeof(st));
}

int handle_apikey_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        uint8_t lookup[APIKEY_LOOKUP_SIZE];
        StoredRecord meta = {};
        int r;

        if (req->value->size == 0) {
                failure(f, "field 'value': an API key must not be empty");
                return -EBADMSG;
        }
        apikey_lookup_hash(ctx->vault->keyring, req->plugin, req->value->data, req->value->size, lookup);
        r = store_begin(store);
        if (r < 0)
                return r;
        r = vault_put_locked(ctx->vault, RECORD_APIKEY, req->plugin, req->user, req->value->data, req->value->size, -1,
                             &meta);
        if (r >= 0) {
                r = store_apikey_index_put(store, req->plugin, req->user, lookup);
                if (r == -EEXIST)
                        failure(f, "this key already belongs to another user of plugin '%s'", req->plugin);
        }
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                store_rollback(store);
                return r;
        }
        reply_meta(reply, &meta);
        return 0;
}

int handle_apikey_lookup(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *stored = NULL;
        uint8_t lookup[APIKEY_LOOKUP_SIZE];
        _cleanup_(freep) char *user = NULL;
        const uint8_t *key = NULL;
        size_t size = 0;
        int r;

        (void) f;
        r = presented(ctx, req, &key, &size);
        if (r < 0)
                return r;
        if (!key || size == 0) {
                json_out_null(reply, "user");
                return 0;
        }
        apikey_lookup_hash(ctx->vault->keyring, req->plugin, key, size, lookup);
        r = store_apikey_index_find(ctx->vault->store, req->plugin, lookup, &user);
        if (r == -ENOENT) {
                json_out_null(reply, "user");
                return 0;
        }
        if (r < 0)
                return r;
        /* The hash found a candidate; the key itself confirms it. */
        r = vault_get(ctx->vault, RECORD_APIKEY, req->plugin, user, &stored, NULL);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        if (ct_equal(ctx->vault->keyring, stored->data, stored->size, key, size))
                json_out_cstring(reply, "user", user);
        else
                json_out_null(reply, "user");
        return 0;
}

int handle_apikey_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) f;
        return list_page(ctx, RECORD_APIKEY, req, req->after ? req->plugin : NULL, req->after, "apikeys", reply);
}

int handle_apikey_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) reply;
        return not_found(vault_delete(ctx->vault, RECORD_APIKEY, req->plugin, req->user), f, "API key for user", req);
}
