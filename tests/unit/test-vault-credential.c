/* test-vault-credential.c — daemon/vault/vault-credential.c: checking
 * presented credentials against stored ones.
 *
 * Shows, through vault.h only: secret_verify matches the exact stored
 * bytes only (not a prefix, an extension, another case, nothing), and
 * -ENOENT for a missing secret; an Authorization header is read in the
 * scheme of the plugin's manifest (bearer when not registered; basic when
 * its authorization_type says so; following a new registration), the
 * scheme name case-insensitive, and a header of the other scheme or with
 * no credentials matches nothing; the OAuth client check matches
 * client_secret_post, and client_secret_basic with both parts
 * form-encoded before base64 ('+', '/', '=' and ':' as %XX, space as '+'),
 * never an unencoded or malformed header; a plugin missing client_id or
 * client_secret is -ENOENT naming it; an API key is found by value or by
 * Authorization header, only in its plugin; another user's key is -EEXIST
 * and leaves both users' keys as they were; a new key replaces the old; an
 * empty key is -EINVAL; a deleted key finds nobody; an index row that
 * names another user finds nobody, and one whose key was removed behind
 * the vault's back is -EUCLEAN. The scheme is read from the plugin's row
 * only if its MAC checks: its scheme column, its auth block's
 * authorization_type or its MAC changed in the file makes a header
 * verify and a header lookup -EUCLEAN (a presented value needs no scheme
 * and still matches), until the plugin is registered anew; the scheme the
 * vault remembers follows each registration and deletion of 100 plugins
 * sharing its 64 slots, and a registration rolled back leaves the
 * committed scheme. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "unit-sql.h"
#include "unit-vault.h"

static void secret_put(Vault *v, const char *plugin, const char *name, const char *value) {
        assert_int_equal(vault_secret_put(v, plugin, name, (const uint8_t *) value, strlen(value), NULL), 0);
}

/* secret_verify of a presented value (size -1: strlen) or header. */
static bool verify(Vault *v, const char *plugin, const char *name, const char *value, ssize_t size,
                   const char *authorization) {
        const Presented p = {
                .value = (const uint8_t *) value,
                .size = value ? (size < 0 ? strlen(value) : (size_t) size) : 0,
                .authorization = authorization,
        };
        bool match = !value; /* poisoned: the call must set it */
        int r = vault_secret_verify(v, plugin, name, &p, &match, NULL);
        if (r != 0)
                fail_msg("verify %s/%s: %d", plugin, name, r);
        return match;
}

static bool verify_header(Vault *v, const char *plugin, const char *header) {
        return verify(v, plugin, "service_token", NULL, 0, header);
}

static void test_verify_value(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord meta = {};
        bool match = true;

        const Presented p = { .value = (const uint8_t *) "tok-123", .size = 7 };
        assert_int_equal(vault_secret_verify(v, "svc", "service_token", &p, &match, NULL), -ENOENT);

        secret_put(v, "svc", "service_token", "tok-0");
        secret_put(v, "svc", "service_token", "tok-123");
        assert_int_equal(vault_secret_verify(v, "svc", "service_token", &p, &match, &meta), 0);
        assert_true(match);
        assert_int_equal(meta.version, 2); /* the version that matched */
        assert_null(meta.sealed);

        assert_false(verify(v, "svc", "service_token", "tok-0", -1, NULL)); /* an old version */
        assert_false(verify(v, "svc", "service_token", "tok-12", -1, NULL));
        assert_false(verify(v, "svc", "service_token", "tok-1234", -1, NULL));
        assert_false(verify(v, "svc", "service_token", "TOK-123", -1, NULL));
        assert_false(verify(v, "svc", "service_token", "", -1, NULL));
        assert_false(verify(v, "svc", "service_token", "tok-123\0", 8, NULL));
        /* Another plugin's secret of that name is another secret. */
        secret_put(v, "other", "service_token", "tok-other");
        assert_false(verify(v, "svc", "service_token", "tok-other", -1, NULL));
        assert_true(verify(v, "other", "service_token", "tok-other", -1, NULL));

        /* Binary values: every byte counts, NULs included. */
        const uint8_t bin[] = { 0x00, 0x01, 0x00, 0xff };
        assert_int_equal(vault_secret_put(v, "svc", "bin", bin, sizeof(bin), NULL), 0);
        assert_true(verify(v, "svc", "bin", (const char *) bin, sizeof(bin), NULL));
        assert_false(verify(v, "svc", "bin", (const char *) bin, 3, NULL));

        /* An empty stored value matches only the empty value. */
        secret_put(v, "svc", "empty", "");
        assert_true(verify(v, "svc", "empty", "", 0, NULL));
        assert_false(verify(v, "svc", "empty", "x", -1, NULL));

        /* A value wins over a header. */
        assert_true(verify(v, "svc", "service_token", "tok-123", -1, "Bearer wrong"));
}

static void test_verify_header_bearer(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        /* Not registered: bearer. */
        secret_put(v, "svc", "service_token", "tok-123");
        assert_true(verify_header(v, "svc", "Bearer tok-123"));
        assert_true(verify_header(v, "svc", "bearer tok-123"));
        assert_true(verify_header(v, "svc", "BEARER   tok-123"));
        assert_false(verify_header(v, "svc", "Bearer tok-12"));
        assert_false(verify_header(v, "svc", "Bearer tok-123 "));
        assert_false(verify_header(v, "svc", "Basic tok-123"));
        assert_false(verify_header(v, "svc", "Bearertok-123"));
        assert_false(verify_header(v, "svc", "Bearer"));
        assert_false(verify_header(v, "svc", "Bearer "));
        assert_false(verify_header(v, "svc", "tok-123"));
        assert_false(verify_header(v, "svc", ""));
        assert_false(verify_header(v, "svc", NULL));

        /* Registered as bearer: the same. */
        register_scheme(v, "svc", "bearer");
        assert_true(verify_header(v, "svc", "Bearer tok-123"));
        assert_false(verify_header(v, "svc", "Basic tok-123"));
}

static void test_verify_header_basic(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        PluginRemoved removed;

        register_scheme(v, "svc", "basic");
        secret_put(v, "svc", "service_token", "dXNlcjpwYXNz");
        assert_true(verify_header(v, "svc", "Basic dXNlcjpwYXNz"));
        assert_true(verify_header(v, "svc", "basic dXNlcjpwYXNz"));
        assert_false(verify_header(v, "svc", "Bearer dXNlcjpwYXNz"));
        assert_false(verify_header(v, "svc", "Basic dXNlcjpwYXN"));
        /* Another plugin, not registered, is still bearer. */
        secret_put(v, "plain", "service_token", "dXNlcjpwYXNz");
        assert_false(verify_header(v, "plain", "Basic dXNlcjpwYXNz"));
        assert_true(verify_header(v, "plain", "Bearer dXNlcjpwYXNz"));

        /* Registered again as bearer: followed at once. */
        register_scheme(v, "svc", "bearer");
        assert_false(verify_header(v, "svc", "Basic dXNlcjpwYXNz"));
        assert_true(verify_header(v, "svc", "Bearer dXNlcjpwYXNz"));
        register_scheme(v, "svc", "basic");
        assert_true(verify_header(v, "svc", "Basic dXNlcjpwYXNz"));

        /* Deleted and its secret put again: not registered, bearer. */
        assert_int_equal(vault_plugin_delete(v, "svc", &removed), 0);
        secret_put(v, "svc", "service_token", "dXNlcjpwYXNz");
        assert_false(verify_header(v, "svc", "Basic dXNlcjpwYXNz"));
        assert_true(verify_header(v, "svc", "Bearer dXNlcjpwYXNz"));

        /* And after a reopen, registered basic again. */
        register_scheme(v, "svc", "basic");
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_true(verify_header(f->vault, "svc", "Basic dXNlcjpwYXNz"));
        assert_false(verify_header(f->vault, "svc", "Bearer dXNlcjpwYXNz"));
}

/* "Basic " and base64 of text. */
static char *basic_header(const char *text) {
        size_t n = strlen(text);
        char *h = malloc(6 + sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
        assert_non_null(h);
        memcpy(h, "Basic ", 6);
        sodium_bin2base64(h + 6, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), (const uint8_t *) text,
                          n, sodium_base64_VARIANT_ORIGINAL);
        return h;
}

static bool client_check(Vault *v, const char *id, const char *secret, const char *authorization) {
        bool match = authorization ? false : !(id && secret); /* poisoned */
        const char *missing = NULL;
        int r = vault_oauth_client_check(v, "app", id, secret, authorization, &match, &missing);
        if (r != 0)
                fail_msg("client check: %d", r);
        return match;
}

static bool client_check_basic(Vault *v, const char *text) {
        char *h = basic_header(text);
        bool match = client_check(v, NULL, NULL, h);
        free(h);
        return match;
}

static void test_oauth_client_missing(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        const char *missing = NULL;
        bool match = false;

        assert_int_equal(vault_oauth_client_check(v, "app", "id", "secret", NULL, &match, &missing), -ENOENT);
        assert_non_null(missing);
        assert_string_equal(missing, "client_id");
        secret_put(v, "app", "client_id", "id");
        missing = NULL;
        assert_int_equal(vault_oauth_client_check(v, "app", "id", "secret", NULL, &match, &missing), -ENOENT);
        assert_non_null(missing);
        assert_string_equal(missing, "client_secret");
        /* Optional. */
        assert_int_equal(vault_oauth_client_check(v, "app", "id", "secret", NULL, &match, NULL), -ENOENT);
        /* Only client_secret: client_id is the one missing. */
        secret_put(v, "other", "client_secret", "secret");
        assert_int_equal(vault_oauth_client_check(v, "other", "id", "secret", NULL, &match, &missing), -ENOENT);
        assert_string_equal(missing, "client_id");

        secret_put(v, "app", "client_secret", "secret");
        missing = NULL;
        assert_int_equal(vault_oauth_client_check(v, "app", "id", "secret", NULL, &match, &missing), 0);
        assert_true(match);
        assert_null(missing);
}

static void test_oauth_client_post(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        secret_put(v, "app", "client_id", "app 1");
        secret_put(v, "app", "client_secret", "a+b/c=d");
        assert_true(client_check(v, "app 1", "a+b/c=d", NULL));
        assert_false(client_check(v, "app 1", "a+b/c=e", NULL));
        assert_false(client_check(v, "app 2", "a+b/c=d", NULL));
        assert_false(client_check(v, "app 1", "a+b/c=d ", NULL));
        assert_false(client_check(v, "app 1", "", NULL));
        assert_false(client_check(v, "", "a+b/c=d", NULL));
        assert_false(client_check(v, NULL, "a+b/c=d", NULL));
        assert_false(client_check(v, "app 1", NULL, NULL));
        /* Post parameters arrive decoded: no form decoding of them. */
        assert_false(client_check(v, "app+1", "a%2Bb%2Fc%3Dd", NULL));
        /* The two are not interchangeable. */
        assert_false(client_check(v, "a+b/c=d", "app 1", NULL));
}

static void test_oauth_client_basic(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        secret_put(v, "app", "client_id", "urn:app 1");
        secret_put(v, "app", "client_secret", "a+b/c=d");
        /* RFC 6749 §2.3.1: form-encoded, then base64. */
        assert_true(client_check_basic(v, "urn%3Aapp+1:a%2Bb%2Fc%3Dd"));
        assert_true(client_check_basic(v, "urn%3aapp%201:a%2bb%2fc%3dd")); /* lower-case hex, %20 */
        /* Header scheme names are case-insensitive. */
        char *h = basic_header("urn%3Aapp+1:a%2Bb%2Fc%3Dd");
        memcpy(h, "BASIC", 5);
        assert_true(client_check(v, NULL, NULL, h));
        /* The header is what counts when there is one. */
        assert_true(client_check(v, "wrong", "wrong", h));
        memcpy(h, "Bearer", 6); /* "Bearer" over "Basic ": another scheme */
        assert_false(client_check(v, "urn:app 1", "a+b/c=d", h));
        free(h);

        /* Not encoded: '+' is a space, and the id's ':' splits early. */
        assert_false(client_check_basic(v, "urn%3Aapp+1:a+b/c=d"));
        assert_false(client_check_basic(v, "urn:app 1:a%2Bb%2Fc%3Dd"));
        /* One part wrong. */
        assert_false(client_check_basic(v, "urn%3Aapp+1:a%2Bb%2Fc%3De"));
        assert_false(client_check_basic(v, "urn%3Aapp+2:a%2Bb%2Fc%3Dd"));
        /* Malformed: no colon, a bad escape, a cut escape, an empty part. */
        assert_false(client_check_basic(v, "urn%3Aapp+1a%2Bb%2Fc%3Dd"));
        assert_false(client_check_basic(v, "urn%3Aapp+1:a%2Bb%2Fc%G3Dd"));
        assert_false(client_check_basic(v, "urn%3Aapp+1:a%2Bb%2Fc%3"));
        assert_false(client_check_basic(v, ":a%2Bb%2Fc%3Dd"));
        assert_false(client_check_basic(v, "urn%3Aapp+1:"));
        assert_false(client_check(v, NULL, NULL, "Basic !!!not-base64!!!"));
        assert_false(client_check(v, NULL, NULL, "Basic "));
        assert_false(client_check(v, NULL, NULL, "Basic"));
        assert_false(client_check(v, NULL, NULL, ""));
        /* A NUL inside must not cut a part short. */
        static const char with_nul[] = "urn%3Aapp+1:a%2Bb%2Fc%3Dd\0junk";
        char b64[128], header[160];
        sodium_bin2base64(b64, sizeof(b64), (const uint8_t *) with_nul, sizeof(with_nul) - 1,
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(header, sizeof(header), "Basic %s", b64);
        assert_false(client_check(v, NULL, NULL, header));
}

static char *lookup(Vault *v, const char *plugin, const char *key, const char *authorization) {
        const Presented p = {
                .value = (const uint8_t *) key,
                .size = key ? strlen(key) : 0,
                .authorization = authorization,
        };
        char *user = (char *) 1;
        int r = vault_apikey_lookup(v, plugin, &p, &user);
        if (r != 0)
                fail_msg("lookup in %s: %d", plugin, r);
        return user;
}

static void assert_lookup(Vault *v, const char *plugin, const char *key, const char *authorization, const char *want) {
        char *user = lookup(v, plugin, key, authorization);
        if (!want) {
                if (user)
                        fail_msg("key found user '%s', want nobody", user);
                return;
        }
        if (!user)
                fail_msg("key found nobody, want '%s'", want);
        assert_string_equal(user, want);
        free(user);
}

static int apikey_put(Vault *v, const char *plugin, const char *user, const char *key) {
        StoredRecord meta = {};
        return vault_apikey_put(v, plugin, user, (const uint8_t *) key, strlen(key), &meta);
}

static void test_apikey(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord meta = {};

        assert_lookup(v, "svc", "key-alice", NULL, NULL);
        assert_int_equal(vault_apikey_put(v, "svc", "alice", (const uint8_t *) "key-alice", 9, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_null(meta.sealed);
        assert_int_equal(apikey_put(v, "svc", "bob", "key-bob"), 0);

        assert_lookup(v, "svc", "key-alice", NULL, "alice");
        assert_lookup(v, "svc", "key-bob", NULL, "bob");
        assert_lookup(v, "svc", "key-carol", NULL, NULL);
        assert_lookup(v, "svc", "key-alic", NULL, NULL);
        assert_lookup(v, "svc", "KEY-ALICE", NULL, NULL);
        /* Only in its plugin. */
        assert_lookup(v, "svc2", "key-alice", NULL, NULL);
        /* No key, an empty key, a header of nothing: nobody. */
        assert_lookup(v, "svc", NULL, NULL, NULL);
        assert_lookup(v, "svc", "", NULL, NULL);
        assert_lookup(v, "svc", NULL, "Bearer", NULL);
        /* By header, in the plugin's scheme. */
        assert_lookup(v, "svc", NULL, "Bearer key-alice", "alice");
        assert_lookup(v, "svc", NULL, "Basic key-alice", NULL);
        register_scheme(v, "svc", "basic");
        assert_lookup(v, "svc", NULL, "Basic key-alice", "alice");
        assert_lookup(v, "svc", NULL, "Bearer key-alice", NULL);

        /* An empty key cannot be stored. */
        assert_int_equal(vault_apikey_put(v, "svc", "carol", (const uint8_t *) "", 0, NULL), -EINVAL);

        /* The same key in another plugin is another key. */
        assert_int_equal(apikey_put(v, "svc2", "mallory", "key-alice"), 0);
        assert_lookup(v, "svc2", "key-alice", NULL, "mallory");
        assert_lookup(v, "svc", "key-alice", NULL, "alice");
}

static void test_apikey_other_users_key(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        assert_int_equal(apikey_put(v, "svc", "alice", "key-alice"), 0);
        assert_int_equal(apikey_put(v, "svc", "bob", "key-bob"), 0);
        /* Bob presenting Alice's key as his: refused, both left as they were. */
        assert_int_equal(apikey_put(v, "svc", "bob", "key-alice"), -EEXIST);
        assert_lookup(v, "svc", "key-alice", NULL, "alice");
        assert_lookup(v, "svc", "key-bob", NULL, "bob");
        /* A user with no key yet: still none. */
        assert_int_equal(apikey_put(v, "svc", "carol", "key-alice"), -EEXIST);
        assert_int_equal(vault_apikey_delete(v, "svc", "carol"), -ENOENT);
        PluginSummary s = {};
        assert_int_equal(vault_plugin_summary(v, "svc", 0, 10, &s), 0);
        assert_int_equal(s.n_apikeys, 2);
        vault_plugin_summary_done(&s);
        /* Alice storing her own key again: fine, the next version. */
        StoredRecord meta = {};
        assert_int_equal(vault_apikey_put(v, "svc", "alice", (const uint8_t *) "key-alice", 9, &meta), 0);
        assert_int_equal(meta.version, 2);
        assert_lookup(v, "svc", "key-alice", NULL, "alice");
}

static void test_apikey_replace_and_delete(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        assert_int_equal(apikey_put(v, "svc", "alice", "key-1"), 0);
        assert_int_equal(apikey_put(v, "svc", "alice", "key-2"), 0);
        assert_lookup(v, "svc", "key-1", NULL, NULL);
        assert_lookup(v, "svc", "key-2", NULL, "alice");
        /* The old key is free for someone else. */
        assert_int_equal(apikey_put(v, "svc", "bob", "key-1"), 0);
        assert_lookup(v, "svc", "key-1", NULL, "bob");

        assert_int_equal(vault_apikey_delete(v, "svc", "alice"), 0);
        assert_lookup(v, "svc", "key-2", NULL, NULL);
        assert_int_equal(vault_apikey_delete(v, "svc", "alice"), -ENOENT);
        assert_lookup(v, "svc", "key-1", NULL, "bob");
        /* And the deleted key is free again. */
        assert_int_equal(apikey_put(v, "svc", "carol", "key-2"), 0);
        assert_lookup(v, "svc", "key-2", NULL, "carol");

        /* Durable. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_lookup(f->vault, "svc", "key-2", NULL, "carol");
        assert_lookup(f->vault, "svc", "key-1", NULL, "bob");
}

/* The index finds a candidate; the key itself confirms it. */
static void test_apikey_index_tampered(void **state) {
        VaultFixture *f = *state;

        assert_int_equal(apikey_put(f->vault, "svc", "alice", "key-alice"), 0);
        assert_int_equal(apikey_put(f->vault, "svc", "bob", "key-bob"), 0);
        vault_fixture_close_db(f);

        /* Alice's index row made to name Bob: Alice's key is nobody's, and
         * never Bob's. */
        assert_int_equal(sql_exec(f->db_path, "DELETE FROM apikey_lookup WHERE user = 'bob';"
                                              "UPDATE apikey_lookup SET user = 'bob' WHERE user = 'alice'"),
                         1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_lookup(f->vault, "svc", "key-alice", NULL, NULL);
        assert_lookup(f->vault, "svc", "key-bob", NULL, NULL);
        vault_fixture_close_db(f);

        /* Bob's key row removed without its index row (the trigger
         * bypassed): a row without its key is damage. */
        sql_exec(f->db_path,
                 "DROP TRIGGER apikey_lookup_forget; DELETE FROM apikey WHERE name = 'bob'; " APIKEY_LOOKUP_FORGET);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        const Presented p = { .value = (const uint8_t *) "key-alice", .size = 9 };
        char *user = NULL;
        assert_int_equal(vault_apikey_lookup(f->vault, "svc", &p, &user), -EUCLEAN);
        assert_null(user);
}

/* Issue 7 #9: which scheme secret.verify reads a header in is the plugin's
 * as registered, or nothing. */
static void test_scheme_tampered(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                "UPDATE plugin SET auth_scheme = 'bearer'",
                "UPDATE plugin SET auth_scheme = 'bearer', "
                "auth_public = json_set(auth_public, '$.authorization_type', 'bearer')",
                "UPDATE plugin SET auth_public = json_set(auth_public, '$.authorization_type', 'bearer')",
                "UPDATE plugin SET mac = NULL",
        };

        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                register_scheme(f->vault, "svc", "basic");
                secret_put(f->vault, "svc", "service_token", "tok-123");
                assert_int_equal(apikey_put(f->vault, "svc", "alice", "key-alice"), 0);
                assert_true(verify_header(f->vault, "svc", "Basic tok-123"));
                vault_fixture_close_db(f);
                assert_int_equal(sql_exec(f->db_path, tamper[i]), 1);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);

                bool match = true;
                const Presented bearer = { .authorization = "Bearer tok-123" };
                const Presented basic = { .authorization = "Basic tok-123" };
                int r = vault_secret_verify(f->vault, "svc", "service_token", &bearer, &match, NULL);
                if (r != -EUCLEAN)
                        fail_msg("%s: verify Bearer: %d", tamper[i], r);
                assert_int_equal(vault_secret_verify(f->vault, "svc", "service_token", &basic, &match, NULL), -EUCLEAN);
                char *user = NULL;
                const Presented key = { .authorization = "Bearer key-alice" };
                assert_int_equal(vault_apikey_lookup(f->vault, "svc", &key, &user), -EUCLEAN);
                assert_null(user);
                /* A presented value needs no scheme. */
                assert_true(verify(f->vault, "svc", "service_token", "tok-123", -1, NULL));
                assert_lookup(f->vault, "svc", "key-alice", NULL, "alice");
                /* Registered anew (after a delete), it is the registration's. */
                PluginRemoved removed;
                assert_int_equal(vault_plugin_delete(f->vault, "svc", &removed), 0);
        }
}

/* The remembered schemes over many plugins: each its own, following each
 * registration, each deletion and a reopen. */
static void test_scheme_many_plugins(void **state) {
        VaultFixture *f = *state;
        char name[32];
        PluginRemoved removed;

        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "plugin-%d", i);
                register_scheme(f->vault, name, i % 3 == 0 ? "basic" : "bearer");
                secret_put(f->vault, name, "service_token", "t");
        }
        for (int round = 0; round < 3; round++) {
                if (round == 2)
                        assert_int_equal(vault_fixture_reopen(f), 0);
                for (int i = 0; i < 100; i++) {
                        snprintf(name, sizeof(name), "plugin-%d", i);
                        bool basic = (i % 3 == 0) != (round >= 1 && i % 2 == 0);
                        if (round >= 1 && i % 10 == 5)
                                basic = false; /* deleted: not registered, bearer */
                        if (verify_header(f->vault, name, basic ? "Basic t" : "Bearer t") != true ||
                            verify_header(f->vault, name, basic ? "Bearer t" : "Basic t") != false)
                                fail_msg("round %d, %s: wrong scheme", round, name);
                        if (round == 0 && i % 10 == 5) {
                                assert_int_equal(vault_plugin_delete(f->vault, name, &removed), 0);
                                secret_put(f->vault, name, "service_token", "t");
                        } else if (round == 0 && i % 2 == 0)
                                register_scheme(f->vault, name, basic ? "bearer" : "basic");
                }
        }
}

/* A registration that fails half way leaves the scheme committed before,
 * even when it was asked for just before. */
static void test_scheme_rolled_back(void **state) {
        VaultFixture *f = *state;
        char consumer[NAME_SIZE_MAX + 1];
        StoredPlugin p = {};

        register_scheme(f->vault, "svc", "basic");
        secret_put(f->vault, "svc", "service_token", "t");
        assert_true(verify_header(f->vault, "svc", "Basic t"));
        /* A consumer name too long for a secret name fails the token's
         * put after the row's (see test-vault-plugin.c). */
        memset(consumer, 'c', NAME_SIZE_MAX);
        consumer[NAME_SIZE_MAX] = 0;
        json_t *auth = json_pack("{s:s, s:s, s:{s:s}}", "type", "service_http", "authorization_type", "bearer",
                                 "verification_tokens", consumer, "VT-LONG");
        assert_non_null(auth);
        const ManifestAuth m = { .type = AUTH_SERVICE_HTTP,
                                 .auth = auth,
                                 .verification_tokens = json_object_get(auth, "verification_tokens") };
        assert_true(vault_plugin_register(f->vault, "svc", NULL, &m, &p, NULL) < 0);
        json_decref(auth);
        assert_true(verify_header(f->vault, "svc", "Basic t"));
        assert_false(verify_header(f->vault, "svc", "Bearer t"));
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_verify_value, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_verify_header_bearer, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_verify_header_basic, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_oauth_client_missing, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_oauth_client_post, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_oauth_client_basic, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_apikey, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_apikey_other_users_key, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_apikey_replace_and_delete, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_apikey_index_tampered, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_scheme_tampered, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_scheme_many_plugins, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_scheme_rolled_back, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
