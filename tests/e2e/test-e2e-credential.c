/* test-e2e-credential.c — checking credentials without revealing them.
 *
 * Against the real daemon through libcredvault: a service token presented
 * as an Authorization header (bearer, or basic for a plugin registered so)
 * or as bare bytes matches exactly the current value and nothing near it;
 * generated service tokens are long, random base64url and verify; an OAuth
 * client authenticates with HTTP Basic (RFC 6749 §2.3.1: id and secret
 * form-urlencoded before base64) or with the two form fields; user API keys
 * of 50 users each find their user, near misses find nobody, one key has
 * one user, and listing shows users, never keys. No timing is asserted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "credvault.h"
#include "harness.h"

static Harness h;
static CvClient *c;

static int group_setup(void **state) {
        (void) state;
        if (sodium_init() < 0 || harness_start(&h) < 0)
                return -1;
        return cv_client_new(h.socket_path, 5000, &c) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(c);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

static int verify(const char *plugin, const char *name, const char *authorization) {
        int64_t version = -7;
        int r = cv_secret_verify(c, plugin, name, authorization, &version);
        if (r == 0)
                assert_int_equal(version, 0);
        return r;
}

static void test_service_bearer(void **state) {
        (void) state;
        const char *token = "svc_9f2bX-4e1c.77aa~d0";
        char header[256];
        int64_t version = 0;

        assert_int_equal(cv_secret_put(c, "svc", "service_token", token, strlen(token), NULL), 0);

        snprintf(header, sizeof(header), "Bearer %s", token);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", header, &version), 1);
        assert_int_equal(version, 1);
        /* The scheme is case-insensitive (RFC 9110 §11.1). */
        snprintf(header, sizeof(header), "bearer %s", token);
        assert_int_equal(verify("svc", "service_token", header), 1);
        snprintf(header, sizeof(header), "BEARER %s", token);
        assert_int_equal(verify("svc", "service_token", header), 1);

        /* Near misses. */
        assert_int_equal(verify("svc", "service_token", "Bearer svc_9f2bX-4e1c.77aa~d1"), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer svc_9f2bX-4e1c.77aa~d"), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer s"), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer svc_9f2bX-4e1c.77aa~d0x"), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer svc_9f2bX-4e1c.77aa~d0 "), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer SVC_9F2BX-4E1C.77AA~D0"), 0);
        assert_int_equal(verify("svc", "service_token", ""), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer"), 0);
        assert_int_equal(verify("svc", "service_token", "Bearer "), 0);
        assert_int_equal(verify("svc", "service_token", token), 0);
        snprintf(header, sizeof(header), "Basic %s", token);
        assert_int_equal(verify("svc", "service_token", header), 0);
        snprintf(header, sizeof(header), "Token %s", token);
        assert_int_equal(verify("svc", "service_token", header), 0);
        snprintf(header, sizeof(header), "Bearer%s", token);
        assert_int_equal(verify("svc", "service_token", header), 0);
        snprintf(header, sizeof(header), "Bearerx %s", token);
        assert_int_equal(verify("svc", "service_token", header), 0);

        /* A new version: the old token no longer matches, the new one does
         * with its version. */
        assert_int_equal(cv_secret_put(c, "svc", "service_token", "second-token", 12, NULL), 0);
        snprintf(header, sizeof(header), "Bearer %s", token);
        assert_int_equal(verify("svc", "service_token", header), 0);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Bearer second-token", &version), 1);
        assert_int_equal(version, 2);

        /* No such secret, no such plugin. */
        assert_int_equal(cv_secret_verify(c, "svc", "no_such", "Bearer x", NULL), -ENOENT);
        assert_int_equal(cv_secret_verify(c, "no_such_plugin", "service_token", "Bearer x", NULL), -ENOENT);
        assert_int_equal(cv_secret_verify_value(c, "svc", "no_such", "x", 1, NULL), -ENOENT);
        /* Verifying reveals nothing: no value in the raw reply. */
        char *reply = NULL;
        assert_true(cv_call_json(c,
                                 "{\"op\":\"secret.verify\",\"plugin\":\"svc\",\"name\":\"service_token\","
                                 "\"authorization\":\"Bearer nope\"}",
                                 &reply) > 0);
        assert_null(strstr(reply, "second-token"));
        assert_null(strstr(reply, "c2Vjb25kLXRva2Vu")); /* base64 of it */
        assert_non_null(strstr(reply, "\"match\":false"));
        cv_free_wiped(reply, (size_t) -1);
}

static void test_service_basic(void **state) {
        (void) state;
        const char *manifest = "{\"schema_version\":\"v1\",\"name_for_model\":\"basic_svc\","
                               "\"auth\":{\"type\":\"service_http\",\"authorization_type\":\"basic\","
                               "\"instructions\":\"\",\"verification_tokens\":{\"openai\":\"vt-basic-1\"}},"
                               "\"api\":{\"type\":\"openapi\",\"url\":\"https://basic.example.com/openapi.yaml\"}}";
        const char *value = "dXNlcjpwYXNzd29yZA==";
        char header[128];

        assert_int_equal(cv_plugin_register(c, manifest, NULL, NULL, NULL), 1);
        assert_int_equal(cv_secret_put(c, "basic_svc", "service_token", value, strlen(value), NULL), 0);

        snprintf(header, sizeof(header), "Basic %s", value);
        assert_int_equal(verify("basic_svc", "service_token", header), 1);
        snprintf(header, sizeof(header), "basic %s", value);
        assert_int_equal(verify("basic_svc", "service_token", header), 1);
        snprintf(header, sizeof(header), "Bearer %s", value);
        assert_int_equal(verify("basic_svc", "service_token", header), 0);
        assert_int_equal(verify("basic_svc", "service_token", "Basic dXNlcjpwYXNzd29yZA"), 0);
        assert_int_equal(verify("basic_svc", "service_token", "Basic "), 0);

        /* Registered again as bearer, the scheme follows. */
        const char *as_bearer = "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}";
        assert_int_equal(cv_plugin_register(c, as_bearer, "basic_svc", "basic.example.com", NULL), 2);
        snprintf(header, sizeof(header), "Bearer %s", value);
        assert_int_equal(verify("basic_svc", "service_token", header), 1);
        snprintf(header, sizeof(header), "Basic %s", value);
        assert_int_equal(verify("basic_svc", "service_token", header), 0);
}

static void test_verify_value_bytes(void **state) {
        (void) state;
        const uint8_t value[] = { 0x00, 0xff, 0x10, 'a', 0x00, 0x80, 0xc3, 0x28, '"', '\\', 0x7f };
        uint8_t other[sizeof(value)];
        int64_t version = 0;

        assert_int_equal(cv_secret_put(c, "raw", "bytes", value, sizeof(value), NULL), 0);
        assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", value, sizeof(value), &version), 1);
        assert_int_equal(version, 1);
        assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", value, sizeof(value) - 1, NULL), 0);
        assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", value + 1, sizeof(value) - 1, NULL), 0);
        assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", "", 0, NULL), 0);
        for (size_t i = 0; i < sizeof(value); i++) {
                memcpy(other, value, sizeof(value));
                other[i] ^= 0x01;
                assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", other, sizeof(other), NULL), 0);
        }
        uint8_t longer[sizeof(value) + 1];
        memcpy(longer, value, sizeof(value));
        longer[sizeof(value)] = 0;
        assert_int_equal(cv_secret_verify_value(c, "raw", "bytes", longer, sizeof(longer), NULL), 0);

        /* An empty stored value matches only the empty value. */
        assert_int_equal(cv_secret_put(c, "raw", "empty", "", 0, NULL), 0);
        assert_int_equal(cv_secret_verify_value(c, "raw", "empty", "", 0, NULL), 1);
        assert_int_equal(cv_secret_verify_value(c, "raw", "empty", "\0", 1, NULL), 0);
        assert_int_equal(verify("raw", "empty", "Bearer "), 0);
}

static bool is_base64url(const uint8_t *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-' || s[i] == '_'))
                        return false;
        return true;
}

static void test_generate(void **state) {
        (void) state;
        CvSecret *a = NULL, *b = NULL, *stored = NULL;
        char header[256];

        assert_int_equal(cv_secret_generate(c, "gen", "service_token", 0, &a), 0);
        assert_true(a->value_size >= 43);
        assert_true(is_base64url(a->value, a->value_size));
        assert_int_equal(a->value[a->value_size], '\0');
        assert_int_equal(a->version, 1);
        snprintf(header, sizeof(header), "Bearer %s", (const char *) a->value);
        assert_int_equal(verify("gen", "service_token", header), 1);

        assert_int_equal(cv_secret_generate(c, "gen", "service_token", 0, &b), 0);
        assert_int_equal(b->version, 2);
        assert_true(a->value_size != b->value_size || memcmp(a->value, b->value, a->value_size) != 0);
        assert_int_equal(verify("gen", "service_token", header), 0);
        snprintf(header, sizeof(header), "Bearer %s", (const char *) b->value);
        assert_int_equal(verify("gen", "service_token", header), 1);
        assert_int_equal(cv_secret_get(c, "gen", "service_token", &stored), 0);
        assert_int_equal(stored->value_size, b->value_size);
        assert_memory_equal(stored->value, b->value, b->value_size);
        cv_secret_free(stored);
        cv_secret_free(a);
        cv_secret_free(b);

        /* Many: all different. */
        char seen[20][100];
        for (int i = 0; i < 20; i++) {
                assert_int_equal(cv_secret_generate(c, "gen", "many", 0, &a), 0);
                assert_true(a->value_size >= 43 && a->value_size < sizeof(seen[0]));
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(seen[j], (const char *) a->value);
                snprintf(seen[i], sizeof(seen[i]), "%s", (const char *) a->value);
                cv_secret_free(a);
        }

        /* Sizes: 16..64 bytes of randomness, unpadded base64url of them. */
        assert_int_equal(cv_secret_generate(c, "gen", "small", 16, &a), 0);
        assert_int_equal(a->value_size, 22);
        assert_true(is_base64url(a->value, a->value_size));
        cv_secret_free(a);
        assert_int_equal(cv_secret_generate(c, "gen", "large", 64, &a), 0);
        assert_int_equal(a->value_size, 86);
        assert_true(is_base64url(a->value, a->value_size));
        cv_secret_free(a);
        assert_int_equal(cv_secret_generate(c, "gen", "tiny", 15, &a), -EINVAL);
        assert_int_equal(cv_secret_generate(c, "gen", "huge", 65, &a), -EINVAL);
}

/* ---- oauth client credentials ---- */

static char *basic_header(const char *credentials) {
        size_t n = strlen(credentials);
        size_t size = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *h_ = malloc(6 + size);
        assert_non_null(h_);
        memcpy(h_, "Basic ", 6);
        sodium_bin2base64(h_ + 6, size, (const unsigned char *) credentials, n, sodium_base64_VARIANT_ORIGINAL);
        return h_;
}

static int verify_basic(const char *plugin, const char *credentials) {
        char *header = basic_header(credentials);
        int r = cv_oauth_verify_client(c, plugin, header, NULL, NULL);
        free(header);
        return r;
}

static void test_oauth_client(void **state) {
        (void) state;
        const char *id = "client-7f3a.apps@example", *secret = "s3:cr+et with space";

        assert_int_equal(cv_secret_put(c, "oa", "client_id", id, strlen(id), NULL), 0);
        /* Missing client_secret: not found, not a mismatch. */
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, id, secret), -ENOENT);
        assert_int_equal(cv_secret_put(c, "oa", "client_secret", secret, strlen(secret), NULL), 0);

        /* client_secret_basic: form-urlencoded, then base64. */
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%40example:s3%3Acr%2Bet+with+space"), 1);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps@example:s3%3acr%2bet%20with%20space"), 1);
        assert_int_equal(verify_basic("oa", "%63lient-7f3a.apps%40example:s3%3Acr%2Bet+with+space"), 1);
        char *header = basic_header("client-7f3a.apps%40example:s3%3Acr%2Bet+with+space");
        header[0] = 'b';
        assert_int_equal(cv_oauth_verify_client(c, "oa", header, NULL, NULL), 1);
        free(header);

        /* client_secret_post: the form fields as they were decoded. */
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, id, secret), 1);

        /* Wrong secret, wrong id, each way. */
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, id, "s3:cr+et with spacE"), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, id, "s3:cr+et with spac"), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, "client-7f3a.apps@exampl", secret), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, secret, id), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, "", ""), 0);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%40example:s3%3Acr%2Bet+with+spacE"), 0);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%40exampl:s3%3Acr%2Bet+with+space"), 0);
        /* Not encoded: '+' is a space and the first ':' splits. */
        assert_int_equal(verify_basic("oa", "client-7f3a.apps@example:s3:cr+et with space"), 0);

        /* Malformed Basic: nobody. */
        assert_int_equal(cv_oauth_verify_client(c, "oa", "Basic !!!not-base64!!!", NULL, NULL), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", "Basic Y2xpZW50", NULL, NULL), 0); /* "client", unpadded */
        assert_int_equal(verify_basic("oa", "no colon at all"), 0);
        assert_int_equal(verify_basic("oa", ""), 0);
        assert_int_equal(verify_basic("oa", ":"), 0);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%40example:s3%3Acr%2Bet+with+space%"), 0);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%40example:s3%3Acr%2Bet+with+space%4"), 0);
        assert_int_equal(verify_basic("oa", "client-7f3a.apps%4Gexample:s3%3Acr%2Bet+with+space"), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", "Basic", NULL, NULL), 0);
        assert_int_equal(cv_oauth_verify_client(c, "oa", "", NULL, NULL), 0);
        header = basic_header("client-7f3a.apps%40example:s3%3Acr%2Bet+with+space");
        memcpy(header, "Bearr", 5);
        assert_int_equal(cv_oauth_verify_client(c, "oa", header, NULL, NULL), 0);
        free(header);

        /* Both ways at once, or neither: refused by the library. */
        assert_int_equal(cv_oauth_verify_client(c, "oa", "Basic x", id, secret), -EINVAL);
        assert_int_equal(cv_oauth_verify_client(c, "oa", NULL, id, NULL), -EINVAL);
        /* Another plugin's client credentials are not these. */
        assert_int_equal(cv_oauth_verify_client(c, "no_such_oauth", NULL, id, secret), -ENOENT);
}

/* A Basic header over exactly these bytes (they may hold a NUL). */
static int verify_basic_bytes(const char *plugin, const char *credentials, size_t n) {
        char header[256] = "Basic ";
        sodium_bin2base64(header + 6, sizeof(header) - 6, (const unsigned char *) credentials, n,
                          sodium_base64_VARIANT_ORIGINAL);
        return cv_oauth_verify_client(c, plugin, header, NULL, NULL);
}

/* A NUL inside Basic credentials does not end them early: "cid\0XX:sec"
 * and "cid:sec\0junk" are not "cid:sec". */
static void test_oauth_basic_nul_inside(void **state) {
        (void) state;
        assert_int_equal(cv_secret_put(c, "oa_nul", "client_id", "cid", 3, NULL), 0);
        assert_int_equal(cv_secret_put(c, "oa_nul", "client_secret", "sec", 3, NULL), 0);
        assert_int_equal(verify_basic_bytes("oa_nul", "cid:sec", 7), 1);
        assert_int_equal(verify_basic_bytes("oa_nul", "cid\0XX:sec", 10), 0);
        assert_int_equal(verify_basic_bytes("oa_nul", "cid:sec\0junk", 12), 0);
}

/* ---- user API keys ---- */

#define N_USERS 50

static void random_key(char *buf, size_t size) {
        uint8_t raw[24];
        randombytes_buf(raw, sizeof(raw));
        int n = snprintf(buf, size, "uk_");
        sodium_bin2hex(buf + n, size - (size_t) n, raw, sizeof(raw));
}

static void test_user_api_keys(void **state) {
        (void) state;
        char keys[N_USERS][64], users[N_USERS][32], header[128];
        char *user = NULL;

        for (int i = 0; i < N_USERS; i++) {
                snprintf(users[i], sizeof(users[i]), i % 7 ? "user-%02d" : "Zoë %02d", i);
                random_key(keys[i], sizeof(keys[i]));
                int64_t version = 0;
                assert_int_equal(cv_apikey_put(c, "keys", users[i], keys[i], strlen(keys[i]), &version), 0);
                assert_int_equal(version, 1);
        }
        for (int i = 0; i < N_USERS; i++) {
                assert_int_equal(cv_apikey_lookup(c, "keys", keys[i], strlen(keys[i]), &user), 1);
                assert_string_equal(user, users[i]);
                free(user);
                user = NULL;
                snprintf(header, sizeof(header), "Bearer %s", keys[i]);
                assert_int_equal(cv_apikey_lookup_header(c, "keys", header, &user), 1);
                assert_string_equal(user, users[i]);
                free(user);
                user = NULL;
        }

        /* Near misses find nobody. */
        char near[80];
        random_key(near, sizeof(near));
        assert_int_equal(cv_apikey_lookup(c, "keys", near, strlen(near), &user), 0);
        assert_null(user);
        for (size_t i = 0; i < strlen(keys[0]); i += 5) {
                snprintf(near, sizeof(near), "%s", keys[0]);
                near[i] = near[i] == 'x' ? 'y' : 'x';
                assert_int_equal(cv_apikey_lookup(c, "keys", near, strlen(near), &user), 0);
        }
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[0], strlen(keys[0]) - 1, &user), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[0], 3, &user), 0);
        snprintf(near, sizeof(near), "%sx", keys[0]);
        assert_int_equal(cv_apikey_lookup(c, "keys", near, strlen(near), &user), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", "", 0, &user), 0);
        snprintf(header, sizeof(header), "Basic %s", keys[0]);
        assert_int_equal(cv_apikey_lookup_header(c, "keys", header, &user), 0);
        assert_int_equal(cv_apikey_lookup_header(c, "keys", keys[0], &user), 0);
        assert_int_equal(cv_apikey_lookup_header(c, "keys", "Bearer ", &user), 0);
        /* Keys are bound to their plugin. */
        assert_int_equal(cv_apikey_lookup(c, "other_keys", keys[0], strlen(keys[0]), &user), 0);

        /* One key, one user: a second user cannot have it, and nothing of
         * the attempt is stored. */
        assert_int_equal(cv_apikey_put(c, "keys", "intruder", keys[3], strlen(keys[3]), NULL), -EEXIST);
        assert_string_equal(cv_client_error_code(c), "conflict");
        assert_int_equal(cv_apikey_put(c, "keys", users[4], keys[3], strlen(keys[3]), NULL), -EEXIST);
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[3], strlen(keys[3]), &user), 1);
        assert_string_equal(user, users[3]);
        free(user);
        user = NULL;
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[4], strlen(keys[4]), &user), 1);
        assert_string_equal(user, users[4]);
        free(user);
        user = NULL;
        /* The same key under another plugin is another key. */
        assert_int_equal(cv_apikey_put(c, "other_keys", "intruder", keys[3], strlen(keys[3]), NULL), 0);
        assert_int_equal(cv_apikey_lookup(c, "other_keys", keys[3], strlen(keys[3]), &user), 1);
        assert_string_equal(user, "intruder");
        free(user);
        user = NULL;
        /* The same user again with the same key: a new version, same user. */
        int64_t version = 0;
        assert_int_equal(cv_apikey_put(c, "keys", users[5], keys[5], strlen(keys[5]), &version), 0);
        assert_int_equal(version, 2);

        /* A rotated key: the old one finds nobody. */
        char rotated[64];
        random_key(rotated, sizeof(rotated));
        assert_int_equal(cv_apikey_put(c, "keys", users[6], rotated, strlen(rotated), NULL), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[6], strlen(keys[6]), &user), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", rotated, strlen(rotated), &user), 1);
        assert_string_equal(user, users[6]);
        free(user);
        user = NULL;
        /* ...and is free for someone else. */
        assert_int_equal(cv_apikey_put(c, "keys", "newcomer", keys[6], strlen(keys[6]), NULL), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[6], strlen(keys[6]), &user), 1);
        assert_string_equal(user, "newcomer");
        free(user);
        user = NULL;
        assert_int_equal(cv_apikey_delete(c, "keys", "newcomer"), 0);

        /* Delete: the key finds nobody, and is free again. */
        assert_int_equal(cv_apikey_delete(c, "keys", users[7]), 0);
        assert_int_equal(cv_apikey_lookup(c, "keys", keys[7], strlen(keys[7]), &user), 0);
        snprintf(header, sizeof(header), "Bearer %s", keys[7]);
        assert_int_equal(cv_apikey_lookup_header(c, "keys", header, &user), 0);
        assert_int_equal(cv_apikey_delete(c, "keys", users[7]), -ENOENT);
        assert_int_equal(cv_apikey_put(c, "keys", "late", keys[7], strlen(keys[7]), NULL), 0);
        assert_int_equal(cv_apikey_delete(c, "keys", "late"), 0);

        /* The list: users, never keys. */
        CvSecretInfo *items = NULL;
        int n = cv_apikey_list(c, "keys", &items);
        assert_int_equal(n, N_USERS - 1);
        for (int i = 0; i < n; i++) {
                assert_string_equal(items[i].plugin, "keys");
                bool known = false;
                for (int j = 0; j < N_USERS; j++)
                        known |= j != 7 && strcmp(items[i].name, users[j]) == 0;
                assert_true(known);
                if (i > 0)
                        assert_true(strcmp(items[i - 1].name, items[i].name) < 0);
        }
        cv_secret_info_free(items, (size_t) n);

        char *reply = NULL;
        assert_true(cv_call_json(c, "{\"op\":\"apikey.list\",\"plugin\":\"keys\"}", &reply) > 0);
        assert_non_null(strstr(reply, "\"user-01\""));
        for (int i = 0; i < N_USERS; i++) {
                assert_null(strstr(reply, keys[i]));
                assert_null(strstr(reply, keys[i] + 3)); /* the hex part */
                char b64[128];
                sodium_bin2base64(b64, sizeof(b64), (const unsigned char *) keys[i], strlen(keys[i]),
                                  sodium_base64_VARIANT_ORIGINAL);
                assert_null(strstr(reply, b64));
        }
        assert_null(strstr(reply, rotated));
        cv_free_wiped(reply, (size_t) -1);

        /* Another plugin's list is its own. */
        n = cv_apikey_list(c, "other_keys", &items);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].name, "intruder");
        cv_secret_info_free(items, (size_t) n);

        /* An empty key is nobody's and cannot be stored. */
        assert_int_equal(cv_apikey_put(c, "keys", "empty", "", 0, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_service_bearer),     cmocka_unit_test(test_service_basic),
                cmocka_unit_test(test_verify_value_bytes), cmocka_unit_test(test_generate),
                cmocka_unit_test(test_oauth_client),       cmocka_unit_test(test_oauth_basic_nul_inside),
                cmocka_unit_test(test_user_api_keys),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
