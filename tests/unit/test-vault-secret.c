/* test-vault-secret.c — daemon/vault/vault-secret.c: a plugin's named
 * secrets, and listing records (vault.c).
 *
 * Shows, through vault.h only: put then get returns the exact bytes (empty,
 * binary, the largest value) with their metadata; each put of the same
 * secret is the next version, keeps created_at, and get returns the
 * newest; get and delete of a missing secret are -ENOENT, and a secret put
 * again after a delete starts at version 1; a secret and a token set of
 * the same name are apart; generate stores and returns URL-safe base64
 * without padding of n fresh random bytes (22, 43, 86 characters for 16,
 * 32, 64), a new value every time, as the next version; list is in
 * (plugin, name) order, filters by plugin, pages with the cursor, returns
 * metadata only and only the kind asked for. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "unit-vault.h"

static void assert_get(Vault *v, const char *plugin, const char *name, const void *want, size_t want_size,
                       int64_t want_version) {
        SecretBuf *value = NULL;
        StoredRecord meta = { .version = -1 };
        int r = vault_secret_get(v, plugin, name, &value, &meta);
        if (r != 0)
                fail_msg("get %s/%s: %d", plugin, name, r);
        assert_secret_equal(value, want, want_size);
        assert_int_equal(meta.version, want_version);
        assert_null(meta.sealed); /* metadata only */
        assert_int_equal(meta.sealed_size, 0);
        secret_buf_free(value);
}

static void assert_get_fails(Vault *v, const char *plugin, const char *name, int want) {
        SecretBuf *value = NULL;
        int r = vault_secret_get(v, plugin, name, &value, NULL);
        if (r != want)
                fail_msg("get %s/%s: want %d, got %d", plugin, name, want, r);
        assert_null(value);
}

static void test_round_trip(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        static uint8_t big[SECRET_VALUE_SIZE_MAX];
        StoredRecord meta = { .version = -1 };
        int64_t before = now_s();

        assert_int_equal(vault_secret_put(v, "todo", "client_secret", (const uint8_t *) "hunter2", 7, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_int_equal(meta.kek_version, 1);
        assert_false(meta.has_expires_at);
        assert_true(meta.updated_at >= before && meta.updated_at <= now_s());
        assert_int_equal(meta.created_at, meta.updated_at);
        assert_null(meta.sealed);
        assert_get(v, "todo", "client_secret", "hunter2", 7, 1);

        assert_int_equal(vault_secret_put(v, "todo", "empty", (const uint8_t *) "", 0, NULL), 0);
        assert_get(v, "todo", "empty", "", 0, 1);

        const uint8_t binary[] = { 0x00, 0xff, 0x00, 0x7f, 0x80, 0x0a };
        assert_int_equal(vault_secret_put(v, "todo", "binary", binary, sizeof(binary), NULL), 0);
        assert_get(v, "todo", "binary", binary, sizeof(binary), 1);

        randombytes_buf(big, sizeof(big));
        assert_int_equal(vault_secret_put(v, "todo", "big", big, sizeof(big), NULL), 0);
        assert_get(v, "todo", "big", big, sizeof(big), 1);

        /* The get's metadata is the put's. */
        StoredRecord got = {};
        SecretBuf *value = NULL;
        assert_int_equal(vault_secret_get(v, "todo", "client_secret", &value, &got), 0);
        secret_buf_free(value);
        assert_int_equal(got.created_at, meta.created_at);
        assert_int_equal(got.updated_at, meta.updated_at);
        assert_int_equal(got.kek_version, 1);

        /* And after a reopen. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_get(f->vault, "todo", "big", big, sizeof(big), 1);
        assert_get(f->vault, "todo", "binary", binary, sizeof(binary), 1);
}

static void test_versions_increase(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord meta = {};
        int64_t created = 0;

        for (int i = 1; i <= 5; i++) {
                char value[16];
                snprintf(value, sizeof(value), "value-%d", i);
                assert_int_equal(vault_secret_put(v, "p", "n", (const uint8_t *) value, strlen(value), &meta), 0);
                assert_int_equal(meta.version, i);
                if (i == 1)
                        created = meta.created_at;
                assert_int_equal(meta.created_at, created);
                assert_get(v, "p", "n", value, strlen(value), i);
        }
        /* Another secret has its own count. */
        assert_int_equal(vault_secret_put(v, "p", "other", (const uint8_t *) "x", 1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_int_equal(vault_secret_put(v, "q", "n", (const uint8_t *) "x", 1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_get(v, "p", "n", "value-5", 7, 5);
}

static void test_missing_and_delete(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord meta = {};

        assert_get_fails(v, "p", "n", -ENOENT);
        assert_int_equal(vault_secret_delete(v, "p", "n"), -ENOENT);

        assert_int_equal(vault_secret_put(v, "p", "n", (const uint8_t *) "x", 1, NULL), 0);
        assert_int_equal(vault_secret_put(v, "p", "n", (const uint8_t *) "y", 1, NULL), 0);
        assert_int_equal(vault_secret_put(v, "p", "kept", (const uint8_t *) "k", 1, NULL), 0);
        assert_int_equal(vault_secret_delete(v, "p", "n"), 0);
        assert_get_fails(v, "p", "n", -ENOENT);
        assert_int_equal(vault_secret_delete(v, "p", "n"), -ENOENT);
        assert_get(v, "p", "kept", "k", 1, 1);

        /* The vault is usable after the failed delete's rollback, and the
         * secret starts over. */
        assert_int_equal(vault_secret_put(v, "p", "n", (const uint8_t *) "z", 1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_get(v, "p", "n", "z", 1, 1);

        /* Deleted is deleted after a reopen too. */
        assert_int_equal(vault_secret_delete(v, "p", "kept"), 0);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_get_fails(f->vault, "p", "kept", -ENOENT);
        assert_get(f->vault, "p", "n", "z", 1, 1);
}

/* A secret and a token set (or an API key) of one name are apart. */
static void test_kinds_apart(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        SecretBuf *text = NULL;

        json_t *set = json_quote("{'access_token':'at','token_type':'Bearer'}");
        assert_int_equal(vault_token_put(v, "todo", "alice", set, NULL), 0);
        json_decref(set);
        assert_int_equal(vault_apikey_put(v, "todo", "bob", (const uint8_t *) "key", 3, NULL), 0);
        assert_get_fails(v, "todo", "alice", -ENOENT);
        assert_get_fails(v, "todo", "bob", -ENOENT);
        assert_int_equal(vault_secret_delete(v, "todo", "alice"), -ENOENT);

        assert_int_equal(vault_secret_put(v, "todo", "alice", (const uint8_t *) "secret", 6, NULL), 0);
        assert_int_equal(vault_token_get(v, "todo", "alice", 0, &text, NULL, NULL), 0);
        assert_non_null(strstr((const char *) text->data, "\"at\""));
        secret_buf_free(text);
        assert_int_equal(vault_secret_delete(v, "todo", "alice"), 0);
        assert_int_equal(vault_token_get(v, "todo", "alice", 0, &text, NULL, NULL), 0);
        secret_buf_free(text);
}

static bool is_base64url(const uint8_t *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-' || s[i] == '_'))
                        return false;
        return true;
}

static void test_generate(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        const struct {
                size_t bytes, chars;
        } sizes[] = { { GENERATE_BYTES_MIN, 22 }, { GENERATE_BYTES_DEFAULT, 43 }, { GENERATE_BYTES_MAX, 86 } };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                SecretBuf *value = NULL, *again = NULL;
                StoredRecord meta = {};
                char name[32];
                snprintf(name, sizeof(name), "token-%zu", sizes[i].bytes);

                assert_int_equal(vault_secret_generate(v, "svc", name, sizes[i].bytes, &value, &meta), 0);
                assert_int_equal(value->size, sizes[i].chars);
                assert_int_equal(value->data[value->size], 0);
                assert_true(is_base64url(value->data, value->size));
                assert_int_equal(meta.version, 1);
                assert_null(meta.sealed);
                /* Stored as returned. */
                assert_get(v, "svc", name, value->data, value->size, 1);
                /* The text decodes to the number of bytes asked for. */
                uint8_t bin[GENERATE_BYTES_MAX + 1];
                size_t bin_size = 0;
                assert_int_equal(sodium_base642bin(bin, sizeof(bin), (const char *) value->data, value->size, NULL,
                                                   &bin_size, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                                 0);
                assert_int_equal(bin_size, sizes[i].bytes);

                /* Again: a new value, as the next version. */
                assert_int_equal(vault_secret_generate(v, "svc", name, sizes[i].bytes, &again, &meta), 0);
                assert_int_equal(meta.version, 2);
                assert_int_equal(again->size, value->size);
                assert_memory_not_equal(again->data, value->data, value->size);
                assert_get(v, "svc", name, again->data, again->size, 2);
                secret_buf_free(value);
                secret_buf_free(again);
        }

        /* Over a value that was put. */
        SecretBuf *value = NULL;
        assert_int_equal(vault_secret_put(v, "svc", "put-first", (const uint8_t *) "mine", 4, NULL), 0);
        assert_int_equal(vault_secret_generate(v, "svc", "put-first", 32, &value, NULL), 0);
        assert_get(v, "svc", "put-first", value->data, value->size, 2);
        secret_buf_free(value);
}

/* (plugin, name) in the order list must return them. */
static const char *const sorted[][2] = {
        { "a", "x" },
        { "a", "x1" },
        { "a", "y" },
        { "a.b", "a" },
        { "ab", "a" },
        { "b", "A" },
        { "b", "B" },
        { "b", "a" },
        { "b", "b" },
        { "b", "c" },
        { "c", "z" },
        { "todo", "client_id" },
        { "todo", "client_secret" },
};

static void put_sorted_shuffled(Vault *v) {
        const size_t n = ELEMENTSOF(sorted);
        for (size_t i = 0; i < n; i++) {
                size_t j = (i * 5 + 3) % n; /* 5 is coprime with 13 */
                assert_int_equal(vault_secret_put(v, sorted[j][0], sorted[j][1], (const uint8_t *) "x", 1, NULL), 0);
        }
}

static void test_list(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord *items = NULL;
        size_t n = 0;

        assert_int_equal(vault_record_list(v, RECORD_SECRET, NULL, NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_records_free(items, n);

        put_sorted_shuffled(v);
        assert_int_equal(vault_secret_put(v, "b", "b", (const uint8_t *) "new", 3, NULL), 0); /* version 2 */
        json_t *set = json_quote("{'access_token':'at','token_type':'Bearer'}");
        assert_int_equal(vault_token_put(v, "a", "token-user", set, NULL), 0);
        json_decref(set);

        assert_int_equal(vault_record_list(v, RECORD_SECRET, NULL, NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, ELEMENTSOF(sorted));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].plugin, sorted[i][0]);
                assert_string_equal(items[i].name, sorted[i][1]);
                assert_int_equal(items[i].version,
                                 strcmp(sorted[i][0], "b") == 0 && strcmp(sorted[i][1], "b") == 0 ? 2 : 1);
                assert_true(items[i].updated_at > 0);
                assert_null(items[i].sealed); /* metadata only */
                assert_int_equal(items[i].sealed_size, 0);
        }
        stored_records_free(items, n);

        /* One plugin: "a" is not "a.b" nor "ab". */
        assert_int_equal(vault_record_list(v, RECORD_SECRET, "a", NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(items[2].name, "y");
        stored_records_free(items, n);

        /* Pages of two through plugin b, with the cursor. */
        static const char *const b_names[] = { "A", "B", "a", "b", "c" };
        char after[16] = "";
        size_t seen = 0;
        for (bool first = true;; first = false) {
                assert_int_equal(vault_record_list(v, RECORD_SECRET, "b", first ? NULL : "b", first ? NULL : after, 2,
                                                   &items, &n),
                                 0);
                for (size_t i = 0; i < n; i++, seen++) {
                        assert_true(seen < ELEMENTSOF(b_names));
                        assert_string_equal(items[i].name, b_names[seen]);
                }
                if (n > 0)
                        snprintf(after, sizeof(after), "%s", items[n - 1].name);
                stored_records_free(items, n);
                if (n < 2)
                        break;
        }
        assert_int_equal(seen, ELEMENTSOF(b_names));

        /* Token sets are listed as their kind only. */
        assert_int_equal(vault_record_list(v, RECORD_TOKEN, NULL, NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].plugin, "a");
        assert_string_equal(items[0].name, "token-user");
        stored_records_free(items, n);
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_versions_increase, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_missing_and_delete, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_kinds_apart, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_generate, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_list, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
