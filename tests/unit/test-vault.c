/* test-vault.c — daemon/vault.c: where plaintext meets storage.
 *
 * Shows: put then get returns the exact bytes (empty, binary, the largest
 * value) for secrets and token sets, with their metadata; each put of the
 * same record is the next version and get returns the newest; get and
 * delete of a missing record are -ENOENT; the plaintext never appears in
 * the database file or its -wal file, while open or after close; a sealed
 * blob copied into another row (another name, plugin, kind or version) makes
 * vault_get() fail with -EUCLEAN, and the original row still opens. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "proto-limits.h"
#include "unit-daemon.h"
#include "vault.h"

typedef struct VaultFixture {
        Fixture f;
        Vault vault;
} VaultFixture;

static int setup_vault(void **state) {
        VaultFixture *vf = calloc(1, sizeof(VaultFixture));
        uint8_t root[ROOT_KEY_SIZE];

        if (!vf)
                return -1;
        *state = vf;
        randombytes_buf(root, sizeof(root));
        int r = fixture_open(&vf->f, root);
        sodium_memzero(root, sizeof(root));
        if (r < 0)
                return -1;
        vf->vault = (Vault) { .store = vf->f.store, .keyring = vf->f.keyring };
        return 0;
}

static int teardown_vault(void **state) {
        VaultFixture *vf = *state;
        fixture_close(&vf->f);
        free(vf);
        return 0;
}

static void sql_exec(const char *db_path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;

        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        assert_true(sqlite3_changes(db) > 0);
        sqlite3_close(db);
}

static void assert_get(Vault *v, RecordKind kind, const char *plugin, const char *name, const void *want,
                       size_t want_size, int64_t want_version) {
        SecretBuf *value = NULL;
        StoredRecord meta = {};
        int r = vault_get(v, kind, plugin, name, &value, &meta);
        if (r != 0)
                fail_msg("vault_get %s/%s: %d", plugin, name, r);
        assert_int_equal(value->size, want_size);
        if (want_size > 0)
                assert_memory_equal(value->data, want, want_size);
        assert_int_equal(value->data[want_size], 0);
        assert_int_equal(meta.version, want_version);
        assert_null(meta.sealed);
        secret_buf_free(value);
}

static void assert_get_fails(Vault *v, RecordKind kind, const char *plugin, const char *name, int want) {
        SecretBuf *value = NULL;
        int r = vault_get(v, kind, plugin, name, &value, NULL);
        if (r != want)
                fail_msg("vault_get %s/%s: want %d, got %d", plugin, name, want, r);
        assert_null(value);
}

static void test_round_trip(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;
        static uint8_t big[SECRET_VALUE_SIZE_MAX];
        StoredRecord meta = {};

        assert_int_equal(
                vault_put(v, RECORD_SECRET, "todo", "client_secret", (const uint8_t *) "hunter2", 7, -1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_int_equal(meta.kek_version, 1);
        assert_false(meta.has_expires_at);
        assert_true(meta.updated_at > 0);
        assert_int_equal(meta.created_at, meta.updated_at);
        assert_null(meta.sealed);
        assert_get(v, RECORD_SECRET, "todo", "client_secret", "hunter2", 7, 1);

        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "empty", (const uint8_t *) "", 0, -1, NULL), 0);
        assert_get(v, RECORD_SECRET, "todo", "empty", "", 0, 1);

        const uint8_t binary[] = { 0x00, 0xff, 0x00, 0x7f, 0x80, 0x0a };
        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "binary", binary, sizeof(binary), -1, NULL), 0);
        assert_get(v, RECORD_SECRET, "todo", "binary", binary, sizeof(binary), 1);

        randombytes_buf(big, sizeof(big));
        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "big", big, sizeof(big), -1, NULL), 0);
        assert_get(v, RECORD_SECRET, "todo", "big", big, sizeof(big), 1);

        /* A token set, with its expiry. */
        const char *set = "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}";
        assert_int_equal(vault_put(v, RECORD_TOKEN, "todo", "user@example.com", (const uint8_t *) set, strlen(set),
                                   1700000000, &meta),
                         0);
        assert_true(meta.has_expires_at);
        assert_int_equal(meta.expires_at, 1700000000);
        assert_get(v, RECORD_TOKEN, "todo", "user@example.com", set, strlen(set), 1);
        StoredRecord got = {};
        SecretBuf *value = NULL;
        assert_int_equal(vault_get(v, RECORD_TOKEN, "todo", "user@example.com", &value, &got), 0);
        assert_true(got.has_expires_at);
        assert_int_equal(got.expires_at, 1700000000);
        secret_buf_free(value);

        /* Kinds are apart: no secret of that name. */
        assert_get_fails(v, RECORD_SECRET, "todo", "user@example.com", -ENOENT);
}

static void test_versions_increase(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;
        StoredRecord meta = {};
        int64_t created = 0;

        for (int i = 1; i <= 5; i++) {
                char value[16];
                snprintf(value, sizeof(value), "value-%d", i);
                assert_int_equal(
                        vault_put(v, RECORD_SECRET, "p", "n", (const uint8_t *) value, strlen(value), -1, &meta), 0);
                assert_int_equal(meta.version, i);
                if (i == 1)
                        created = meta.created_at;
                assert_int_equal(meta.created_at, created);
                assert_get(v, RECORD_SECRET, "p", "n", value, strlen(value), i);
        }
        /* Another record has its own count. */
        assert_int_equal(vault_put(v, RECORD_SECRET, "p", "other", (const uint8_t *) "x", 1, -1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_int_equal(vault_put(v, RECORD_TOKEN, "p", "n", (const uint8_t *) "x", 1, -1, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_get(v, RECORD_SECRET, "p", "n", "value-5", 7, 5);
}

static void test_missing_and_delete(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;

        assert_get_fails(v, RECORD_SECRET, "p", "n", -ENOENT);
        assert_int_equal(vault_delete(v, RECORD_SECRET, "p", "n"), -ENOENT);

        assert_int_equal(vault_put(v, RECORD_SECRET, "p", "n", (const uint8_t *) "x", 1, -1, NULL), 0);
        assert_int_equal(vault_delete(v, RECORD_SECRET, "p", "n"), 0);
        assert_get_fails(v, RECORD_SECRET, "p", "n", -ENOENT);
        assert_int_equal(vault_delete(v, RECORD_SECRET, "p", "n"), -ENOENT);

        /* The store is usable after the failed delete's rollback. */
        assert_int_equal(vault_put(v, RECORD_SECRET, "p", "n", (const uint8_t *) "y", 1, -1, NULL), 0);
        assert_get(v, RECORD_SECRET, "p", "n", "y", 1, 1);
}

static void assert_file_lacks(const char *path, const char *needle) {
        uint8_t *data = NULL;
        size_t size = 0;

        assert_int_equal(file_read_all(path, &data, &size), 0);
        if (memmem(data, size, needle, strlen(needle)))
                fail_msg("'%s' found in %s", needle, path);
        free(data);
}

static void test_plaintext_never_on_disk(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;
        const char *secret = "PLAINTEXT-MARKER-sk-live-3f9a1c7e5b2d8f4a6c0e";
        const char *set = "{\"access_token\":\"TOKEN-MARKER-ya29.a0Af\",\"token_type\":\"Bearer\"}";
        char *wal = NULL;
        struct stat st;

        /* Several versions, so old pages are in the files too. */
        for (int i = 0; i < 3; i++) {
                assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "client_secret", (const uint8_t *) secret,
                                           strlen(secret), -1, NULL),
                                 0);
                assert_int_equal(vault_put(v, RECORD_TOKEN, "todo", "u1", (const uint8_t *) set, strlen(set), -1, NULL),
                                 0);
        }
        assert_get(v, RECORD_SECRET, "todo", "client_secret", secret, strlen(secret), 3);

        /* While open, the writes are in the -wal file: it must hold them
         * (or the check below would prove nothing), as ciphertext. */
        wal = path_join(vf->f.dir, "db-wal");
        assert_int_equal(stat(wal, &st), 0);
        assert_true(st.st_size > 0);
        uint8_t *data = NULL;
        size_t size = 0;
        assert_int_equal(file_read_all(wal, &data, &size), 0);
        assert_non_null(memmem(data, size, "client_secret", strlen("client_secret")));
        free(data);
        assert_file_lacks(wal, "PLAINTEXT-MARKER");
        assert_file_lacks(wal, "TOKEN-MARKER");
        assert_file_lacks(vf->f.db_path, "PLAINTEXT-MARKER");
        assert_file_lacks(vf->f.db_path, "TOKEN-MARKER");

        /* After close, everything is checkpointed into the main file. */
        fixture_close_db(&vf->f);
        vf->vault = (Vault) {};
        assert_int_equal(file_read_all(vf->f.db_path, &data, &size), 0);
        assert_non_null(memmem(data, size, "client_secret", strlen("client_secret")));
        free(data);
        assert_file_lacks(vf->f.db_path, "PLAINTEXT-MARKER");
        assert_file_lacks(vf->f.db_path, "TOKEN-MARKER");
        free(wal);
}

static void test_blob_moved_to_other_row(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;
        const char *path = vf->f.db_path;

        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "a", (const uint8_t *) "value-a", 7, -1, NULL), 0);
        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "b", (const uint8_t *) "value-b", 7, -1, NULL), 0);
        assert_int_equal(vault_put(v, RECORD_SECRET, "other", "a", (const uint8_t *) "value-o", 7, -1, NULL), 0);
        assert_int_equal(vault_put(v, RECORD_TOKEN, "todo", "a", (const uint8_t *) "value-t", 7, -1, NULL), 0);
        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "c", (const uint8_t *) "value-c", 7, -1, NULL), 0);
        assert_int_equal(vault_put(v, RECORD_SECRET, "todo", "c", (const uint8_t *) "value-C", 7, -1, NULL), 0);

        /* Another name. */
        sql_exec(path, "UPDATE secret SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'todo' AND name = 'b'");
        assert_get_fails(v, RECORD_SECRET, "todo", "b", -EUCLEAN);
        /* Another plugin. */
        sql_exec(path, "UPDATE secret SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'other' AND name = 'a'");
        assert_get_fails(v, RECORD_SECRET, "other", "a", -EUCLEAN);
        /* Another kind, same plugin and name. */
        sql_exec(path, "UPDATE token SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'todo' AND name = 'a'");
        assert_get_fails(v, RECORD_TOKEN, "todo", "a", -EUCLEAN);
        /* Another version of the same record: the version column moved. */
        sql_exec(path, "UPDATE secret SET version = 1 WHERE plugin = 'todo' AND name = 'c'");
        assert_get_fails(v, RECORD_SECRET, "todo", "c", -EUCLEAN);

        /* The row the blob came from still opens. */
        assert_get(v, RECORD_SECRET, "todo", "a", "value-a", 7, 1);

        /* The whole row renamed (blob and version together) fails too. */
        sql_exec(path, "DELETE FROM secret WHERE plugin = 'todo' AND name = 'b'");
        sql_exec(path, "UPDATE secret SET name = 'b' WHERE plugin = 'todo' AND name = 'a'");
        assert_get_fails(v, RECORD_SECRET, "todo", "b", -EUCLEAN);
}

/* Flip one byte (counted from the end when negative) of the one secret
 * row's sealed blob, in the file. */
static void sealed_flip(const char *db_path, long pos) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT sealed FROM secret", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        size_t size = (size_t) sqlite3_column_bytes(st, 0);
        uint8_t *blob = malloc(size);
        assert_non_null(blob);
        memcpy(blob, sqlite3_column_blob(st, 0), size);
        sqlite3_finalize(st);

        blob[pos < 0 ? size - (size_t) -pos : (size_t) pos] ^= 0x20;
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE secret SET sealed = ?1", -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_blob(st, 1, blob, (int) size, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(blob);
}

static void test_tampered_blob(void **state) {
        VaultFixture *vf = *state;
        Vault *v = &vf->vault;
        const long positions[] = { 40, 100, -1 }; /* wrapped DEK, value nonce, tag */

        assert_int_equal(vault_put(v, RECORD_SECRET, "p", "n", (const uint8_t *) "value", 5, -1, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(positions); i++) {
                sealed_flip(vf->f.db_path, positions[i]);
                assert_get_fails(v, RECORD_SECRET, "p", "n", -EUCLEAN);
                sealed_flip(vf->f.db_path, positions[i]); /* restored, it opens */
                assert_get(v, RECORD_SECRET, "p", "n", "value", 5, 1);
        }
}

int main(void) {
        if (sodium_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_versions_increase, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_missing_and_delete, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_plaintext_never_on_disk, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_blob_moved_to_other_row, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_blob, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
