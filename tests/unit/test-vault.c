/* test-vault.c — daemon/vault/vault.c: opening a vault, and the record
 * primitives every kind of value goes through.
 *
 * Shows, through vault.h only: a new vault stores the root key's check
 * value (the keyed BLAKE2b documented in keyring.h), one primary KEK 1 and
 * an index key, all wrapped; reopened under the same key, what was stored
 * opens (secrets, token sets, API keys); a wrong root key, even one bit
 * off, is -EKEYREJECTED at the key-check step and leaves the file byte for
 * byte unchanged, and the right key works afterwards; a tampered key check
 * is a wrong key, not a new vault; tampered, resized, renumbered, demoted
 * or deleted KEK rows (the key check staying) and a tampered index key are
 * -EUCLEAN at the keyring step; a garbage file is -EUCLEAN at the database
 * step, a newer schema -EPROTO at the migrate step; a second opener is
 * -EBUSY; stats count; the plaintext never appears in the database file or
 * its -wal file; a sealed blob moved to another row (another name, plugin,
 * kind or version) or with a flipped byte fails with -EUCLEAN, and the
 * original row still opens. A new vault also holds a wrapped MAC key and
 * the key-check value of label v2. The keyring is made only for a
 * database that holds nothing: with its meta and KEK rows deleted, one
 * that still holds a secret, a token set, an API key, an index row or a
 * plugin row is -EUCLEAN at the keyring step, under any root key, and is
 * left byte for byte unchanged; an empty one becomes a new vault. A vault
 * of schema 3 (no MAC columns, no MAC key, key check of label v1) is
 * -EPERM at the upgrade step without VAULT_OPEN_TRUST_METADATA_UPGRADE,
 * left byte for byte unchanged, and so is an upgraded vault a database
 * writer made look like schema 3 again (the old key check from a backup, a
 * row altered). With the flag it opens: its plugin rows and token states
 * are MAC'd as they stand (and counted), the key check becomes v2, and
 * what was stored (scheme, sets, a lease) works as before; a wrong key
 * still leaves it unchanged; after the upgrade a tampered row is -EUCLEAN,
 * flag or not. The upgrade cannot be had again without the old key check,
 * flag or not: the MAC key deleted (with the MACs nulled, or the whole
 * schema made to look like 3 again), or the old key check put back into
 * schema 4, is -EUCLEAN at the keyring step. */
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
#include "store.h"
#include "unit-vault.h"

static void secret_put(Vault *v, const char *plugin, const char *name, const char *value) {
        int r = vault_secret_put(v, plugin, name, (const uint8_t *) value, strlen(value), NULL);
        if (r != 0)
                fail_msg("put %s/%s: %d", plugin, name, r);
}

static void assert_secret(Vault *v, const char *plugin, const char *name, const char *want) {
        SecretBuf *value = NULL;
        int r = vault_secret_get(v, plugin, name, &value, NULL);
        if (r != 0)
                fail_msg("get %s/%s: %d", plugin, name, r);
        assert_secret_equal(value, want, strlen(want));
        secret_buf_free(value);
}

static void assert_secret_fails(Vault *v, const char *plugin, const char *name, int want) {
        SecretBuf *value = NULL;
        int r = vault_secret_get(v, plugin, name, &value, NULL);
        if (r != want)
                fail_msg("get %s/%s: want %d, got %d", plugin, name, want, r);
        assert_null(value);
}

/* Open under root and expect failure at a step; the vault stays NULL. */
static void assert_open_fails(VaultFixture *f, const uint8_t *root, int want, VaultOpenStep want_step,
                              const char *what) {
        VaultOpenStep step = (VaultOpenStep) -1;
        assert_null(f->vault);
        int r = vault_fixture_open_with(f, root, &step);
        if (r != want)
                fail_msg("%s: want %d, got %d", what, want, r);
        if (step != want_step)
                fail_msg("%s: failed at step %d, want %d", what, (int) step, (int) want_step);
        assert_null(f->vault);
}

/* A vault made under the fixture's key with a secret in it, closed. */
static void make_vault(VaultFixture *f) {
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        secret_put(f->vault, "todo", "client_secret", "s3cr3t");
        vault_fixture_close_db(f);
}

static void test_new_vault(void **state) {
        VaultFixture *f = *state;
        VaultOpenStep step = (VaultOpenStep) -1;
        VaultStats st = { .n_keks = -1 };
        uint8_t want[32];

        assert_int_equal(vault_fixture_open_with(f, f->root, &step), 0);
        assert_int_equal(step, VAULT_OPEN_LOCK); /* every step ran */
        assert_int_equal(vault_stats(f->vault, &st), 0);
        assert_int_equal(st.kek_primary, 1);
        assert_int_equal(st.n_keks, 1);
        assert_int_equal(st.secrets, 0);
        assert_int_equal(st.tokens, 0);
        vault_fixture_close_db(f);

        sqlite3 *db = db_open_independent(f->db_path);
        /* The key-check value: BLAKE2b-256 keyed with the root key over
         * "credvault key-check v2" (v2: its metadata is MAC'd). */
        crypto_generichash(want, sizeof(want), (const uint8_t *) "credvault key-check v2", 22, f->root,
                           sizeof(f->root));
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'key_check'", -1, &q, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal(sqlite3_column_bytes(q, 0), 32);
        assert_memory_equal(sqlite3_column_blob(q, 0), want, 32);
        sqlite3_finalize(q);
        /* One KEK, primary, version 1, and the index key, both wrapped:
         * nonce, key, tag. */
        assert_int_equal(sql_int(db, "SELECT count(*) FROM kek"), 1);
        assert_int_equal(sql_int(db, "SELECT version = 1 AND state = 'primary' AND length(wrapped) = 72 FROM kek"), 1);
        assert_int_equal(sql_int(db, "SELECT length(value) FROM meta WHERE key = 'index_key'"), 72);
        /* And the MAC key, wrapped the same way under its own label. */
        assert_int_equal(sql_int(db, "SELECT length(value) FROM meta WHERE key = 'mac_key'"), 72);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM meta WHERE value = (SELECT value FROM meta "
                                     "WHERE key = 'mac_key')"),
                         1);
        assert_int_equal(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        sqlite3_close(db);
        /* The root key is nowhere in the file. */
        assert_false(file_contains(f->db_path, f->root, sizeof(f->root)));
}

static void test_reopen_same_key(void **state) {
        VaultFixture *f = *state;
        VaultStats st;
        char *user = NULL;

        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        secret_put(f->vault, "todo", "client_secret", "s3cr3t");
        json_t *set = json_quote("{'access_token':'at-1','token_type':'Bearer','refresh_token':'rt-1'}");
        assert_int_equal(vault_token_put(f->vault, "todo", "alice", set, NULL), 0);
        json_decref(set);
        assert_int_equal(vault_apikey_put(f->vault, "todo", "alice", (const uint8_t *) "key-of-alice", 12, NULL), 0);

        for (int i = 0; i < 2; i++) {
                assert_int_equal(vault_fixture_reopen(f), 0);
                assert_secret(f->vault, "todo", "client_secret", "s3cr3t");
                SecretBuf *text = NULL;
                assert_int_equal(vault_token_get(f->vault, "todo", "alice", 0, &text, NULL, NULL), 0);
                assert_non_null(strstr((const char *) text->data, "\"rt-1\""));
                secret_buf_free(text);
                /* The index key is the same: the key is found by its hash. */
                const Presented p = { .value = (const uint8_t *) "key-of-alice", .size = 12 };
                assert_int_equal(vault_apikey_lookup(f->vault, "todo", &p, &user), 0);
                assert_non_null(user);
                assert_string_equal(user, "alice");
                free(user);
                user = NULL;
                /* Still one KEK: reopening creates none. */
                assert_int_equal(vault_stats(f->vault, &st), 0);
                assert_int_equal(st.n_keks, 1);
                assert_int_equal(st.secrets, 1);
                assert_int_equal(st.tokens, 1);
        }
}

static void test_wrong_root_key(void **state) {
        VaultFixture *f = *state;
        uint8_t *before = NULL, *after = NULL, other[TEST_ROOT_KEY_SIZE], near[TEST_ROOT_KEY_SIZE];
        size_t before_size = 0, after_size = 0;

        make_vault(f);
        assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
        assert_true(before_size > 0);

        randombytes_buf(other, sizeof(other));
        assert_open_fails(f, other, -EKEYREJECTED, VAULT_OPEN_KEY_CHECK, "another key");
        /* A key one bit away is just as wrong. */
        memcpy(near, f->root, sizeof(near));
        near[31] ^= 1;
        assert_open_fails(f, near, -EKEYREJECTED, VAULT_OPEN_KEY_CHECK, "one bit off");
        memcpy(near, f->root, sizeof(near));
        near[0] ^= 0x80;
        assert_open_fails(f, near, -EKEYREJECTED, VAULT_OPEN_KEY_CHECK, "one bit off, first byte");

        assert_int_equal(file_read_all(f->db_path, &after, &after_size), 0);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);

        /* And the right key still works afterwards. */
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_secret(f->vault, "todo", "client_secret", "s3cr3t");
}

/* A fresh fixture directory and key in f, for tests that make several
 * vaults in a row. */
static void fixture_renew(VaultFixture *f) {
        vault_fixture_close(f);
        f->dir = tmpdir_new();
        assert_non_null(f->dir);
        f->db_path = path_join(f->dir, "db");
        assert_non_null(f->db_path);
        randombytes_buf(f->root, sizeof(f->root));
}

/* A tampered key check is a wrong key, not a new vault. */
static void test_tampered_key_check(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                "UPDATE meta SET value = zeroblob(32) WHERE key = 'key_check'",
                "UPDATE meta SET value = x'00' WHERE key = 'key_check'",
                "UPDATE meta SET value = CAST(value || x'00' AS BLOB) WHERE key = 'key_check'",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_vault(f);
                assert_int_equal(sql_exec(f->db_path, tamper[i]), 1);
                assert_open_fails(f, f->root, -EKEYREJECTED, VAULT_OPEN_KEY_CHECK, tamper[i]);
                fixture_renew(f);
        }
}

/* Flip one byte of KEK 1's wrapped blob in the file. */
static void kek_flip_byte(const char *db_path, size_t pos) {
        sqlite3 *db = db_open_independent(db_path);
        sqlite3_stmt *st = NULL;
        uint8_t wrapped[72];

        assert_int_equal(sqlite3_prepare_v2(db, "SELECT wrapped FROM kek WHERE version = 1", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_bytes(st, 0), sizeof(wrapped));
        memcpy(wrapped, sqlite3_column_blob(st, 0), sizeof(wrapped));
        sqlite3_finalize(st);

        wrapped[pos] ^= 0x01;
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE kek SET wrapped = ?1 WHERE version = 1", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_blob(st, 1, wrapped, sizeof(wrapped), SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_close(db);
}

static void test_tampered_kek_byte(void **state) {
        VaultFixture *f = *state;
        /* Nonce, ciphertext and tag: first and last byte of each. */
        const size_t positions[] = { 0, 23, 24, 40, 55, 56, 71 };

        for (size_t i = 0; i < ELEMENTSOF(positions); i++) {
                char what[32];
                snprintf(what, sizeof(what), "byte %zu flipped", positions[i]);
                make_vault(f);
                kek_flip_byte(f->db_path, positions[i]);
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, what);
                fixture_renew(f);
        }
}

static void test_tampered_kek_blob(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                /* fresh random bytes of the right size */
                "UPDATE kek SET wrapped = randomblob(72)",
                /* wrong sizes */
                "UPDATE kek SET wrapped = substr(wrapped, 1, 71)",
                "UPDATE kek SET wrapped = CAST(wrapped || x'00' AS BLOB)",
                "UPDATE kek SET wrapped = x''",
                /* the index key's wrapping in the KEK's place */
                "UPDATE kek SET wrapped = (SELECT value FROM meta WHERE key = 'index_key')",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_vault(f);
                assert_int_equal(sql_exec(f->db_path, tamper[i]), 1);
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, tamper[i]);
                fixture_renew(f);
        }
}

/* A wrapped KEK is bound to its version, one must be primary, and the ring
 * cannot vanish while the key check stays. */
static void test_tampered_kek_rows(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                /* renumbered: the version is associated data (the records
                 * naming KEK 1 go too, or the foreign key refuses) */
                "PRAGMA foreign_keys = OFF; UPDATE kek SET version = 2",
                /* no primary any more */
                "UPDATE kek SET state = 'active'",
                /* the ring deleted while the key check stays */
                "PRAGMA foreign_keys = OFF; DELETE FROM kek",
                /* a second KEK row, a copy of the first under another version */
                "INSERT INTO kek(version, state, wrapped, created_at) "
                "SELECT 2, 'active', wrapped, created_at FROM kek WHERE version = 1",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_vault(f);
                assert_true(sql_exec(f->db_path, tamper[i]) > 0);
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, tamper[i]);
                fixture_renew(f);
        }
}

/* A keyring refused for want of a primary is refused before anything is
 * written: the missing index key is not created. */
static void test_no_primary_writes_nothing(void **state) {
        VaultFixture *f = *state;

        make_vault(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE kek SET state = 'active'; "
                                              "DELETE FROM meta WHERE key = 'index_key'"),
                         1);
        assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, "no primary, no index key");
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM meta WHERE key = 'index_key'"), 0);
}

static void test_tampered_index_key(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                "UPDATE meta SET value = randomblob(72) WHERE key = 'index_key'",
                "UPDATE meta SET value = substr(value, 1, 71) WHERE key = 'index_key'",
                /* the KEK's wrapping in the index key's place */
                "UPDATE meta SET value = (SELECT wrapped FROM kek WHERE version = 1) WHERE key = 'index_key'",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_vault(f);
                assert_int_equal(sql_exec(f->db_path, tamper[i]), 1);
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, tamper[i]);
                fixture_renew(f);
        }
}

/* A vault from before API keys has no index key: opening creates one. */
static void test_index_key_created(void **state) {
        VaultFixture *f = *state;
        char *user = NULL;

        make_vault(f);
        assert_int_equal(sql_exec(f->db_path, "DELETE FROM meta WHERE key = 'index_key'"), 1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_secret(f->vault, "todo", "client_secret", "s3cr3t");
        assert_int_equal(vault_apikey_put(f->vault, "todo", "alice", (const uint8_t *) "k", 1, NULL), 0);
        assert_int_equal(vault_fixture_reopen(f), 0);
        const Presented p = { .value = (const uint8_t *) "k", .size = 1 };
        assert_int_equal(vault_apikey_lookup(f->vault, "todo", &p, &user), 0);
        assert_non_null(user);
        assert_string_equal(user, "alice");
        free(user);
        vault_fixture_close_db(f);
        assert_int_equal(sql_file_int(f->db_path, "SELECT length(value) FROM meta WHERE key = 'index_key'"), 72);
}

static void test_garbage_and_newer_file(void **state) {
        VaultFixture *f = *state;
        static const char text[] = "this is not a database, just some text that goes on for a while........"
                                   "..................................................................";
        uint8_t *before = NULL, *after = NULL;
        size_t before_size = 0, after_size = 0;

        assert_int_equal(file_write_all(f->db_path, text, sizeof(text), 0600), 0);
        assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_DATABASE, "text file");
        assert_int_equal(file_read_all(f->db_path, &after, &after_size), 0);
        assert_int_equal(after_size, sizeof(text));
        free(after);
        assert_int_equal(unlink(f->db_path), 0);

        /* Written by a newer credvaultd: refused, unchanged. */
        make_vault(f);
        sql_exec(f->db_path, "PRAGMA user_version = 99");
        assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
        assert_open_fails(f, f->root, -EPROTO, VAULT_OPEN_MIGRATE, "schema 99");
        assert_int_equal(file_read_all(f->db_path, &after, &after_size), 0);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);
}

/* The vault is the database's only user while open. */
static void test_second_opener_busy(void **state) {
        VaultFixture *f = *state;
        Vault *second = NULL;

        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        secret_put(f->vault, "p", "n", "v");
        int r = vault_open(f->db_path, root_key_dup(f->root), 0, &second, NULL);
        assert_int_equal(r, -EBUSY);
        assert_null(second);
        /* The first is unharmed. */
        assert_secret(f->vault, "p", "n", "v");
        vault_fixture_close_db(f);
        assert_int_equal(vault_open(f->db_path, root_key_dup(f->root), 0, &second, NULL), 0);
        vault_free(second);
}

static void test_stats(void **state) {
        VaultFixture *f = *state;
        VaultStats st;

        secret_put(f->vault, "a", "1", "x");
        secret_put(f->vault, "a", "2", "x");
        secret_put(f->vault, "b", "1", "x");
        secret_put(f->vault, "b", "1", "y"); /* a new version, not a new secret */
        json_t *set = json_quote("{'access_token':'at','token_type':'Bearer'}");
        assert_int_equal(vault_token_put(f->vault, "a", "alice", set, NULL), 0);
        assert_int_equal(vault_token_put(f->vault, "b", "alice", set, NULL), 0);
        json_decref(set);
        assert_int_equal(vault_stats(f->vault, &st), 0);
        assert_int_equal(st.secrets, 3);
        assert_int_equal(st.tokens, 2);
        assert_int_equal(st.kek_primary, 1);
        assert_int_equal(st.n_keks, 1);
        assert_int_equal(vault_secret_delete(f->vault, "a", "1"), 0);
        assert_int_equal(vault_stats(f->vault, &st), 0);
        assert_int_equal(st.secrets, 2);
}

static void test_plaintext_never_on_disk(void **state) {
        VaultFixture *f = *state;
        const char *secret = "PLAINTEXT-MARKER-sk-live-3f9a1c7e5b2d8f4a6c0e";
        struct stat st;

        /* Several versions, so old pages are in the files too. */
        json_t *set = json_quote("{'access_token':'TOKEN-MARKER-ya29.a0Af','token_type':'Bearer',"
                                 "'refresh_token':'REFRESH-MARKER-1//0g'}");
        for (int i = 0; i < 3; i++) {
                secret_put(f->vault, "todo", "client_secret", secret);
                assert_int_equal(vault_token_put(f->vault, "todo", "u1", set, NULL), 0);
                assert_int_equal(
                        vault_apikey_put(f->vault, "todo", "u1", (const uint8_t *) "APIKEY-MARKER-7c1e", 18, NULL), 0);
        }
        json_decref(set);
        assert_secret(f->vault, "todo", "client_secret", secret);

        /* While open, the writes are in the -wal file: it must hold them
         * (or the check below would prove nothing), as ciphertext. */
        char *wal = path_join(f->dir, "db-wal");
        assert_int_equal(stat(wal, &st), 0);
        assert_true(st.st_size > 0);
        assert_true(file_contains(wal, "client_secret", strlen("client_secret")));
        free(wal);
        static const char *const markers[] = { "PLAINTEXT-MARKER", "TOKEN-MARKER", "REFRESH-MARKER", "APIKEY-MARKER" };
        for (size_t i = 0; i < ELEMENTSOF(markers); i++)
                if (db_files_contain(f->db_path, markers[i]))
                        fail_msg("'%s' found in the database files", markers[i]);

        /* After close, everything is checkpointed into the main file. */
        vault_fixture_close_db(f);
        assert_true(file_contains(f->db_path, "client_secret", strlen("client_secret")));
        for (size_t i = 0; i < ELEMENTSOF(markers); i++)
                if (file_contains(f->db_path, markers[i], strlen(markers[i])))
                        fail_msg("'%s' found in the database file", markers[i]);
}

static void test_blob_moved_to_other_row(void **state) {
        VaultFixture *f = *state;
        const char *path = f->db_path;

        secret_put(f->vault, "todo", "a", "value-a");
        secret_put(f->vault, "todo", "b", "value-b");
        secret_put(f->vault, "other", "a", "value-o");
        json_t *set = json_quote("{'access_token':'at','token_type':'Bearer'}");
        assert_int_equal(vault_token_put(f->vault, "todo", "a", set, NULL), 0);
        json_decref(set);
        secret_put(f->vault, "todo", "c", "value-c");
        secret_put(f->vault, "todo", "c", "value-C");
        /* The file is altered while the vault is closed: it holds the
         * database exclusively while open. */
        vault_fixture_close_db(f);

        /* Another name. */
        sql_exec(path, "UPDATE secret SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'todo' AND name = 'b'");
        /* Another plugin. */
        sql_exec(path, "UPDATE secret SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'other' AND name = 'a'");
        /* Another kind, same plugin and name. */
        sql_exec(path, "UPDATE token SET sealed = (SELECT sealed FROM secret WHERE plugin = 'todo' AND name = 'a') "
                       "WHERE plugin = 'todo' AND name = 'a'");
        /* Another version of the same record: the version column moved. */
        sql_exec(path, "UPDATE secret SET version = 1 WHERE plugin = 'todo' AND name = 'c'");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_secret_fails(f->vault, "todo", "b", -EUCLEAN);
        assert_secret_fails(f->vault, "other", "a", -EUCLEAN);
        SecretBuf *text = NULL;
        assert_int_equal(vault_token_get(f->vault, "todo", "a", 0, &text, NULL, NULL), -EUCLEAN);
        assert_null(text);
        assert_secret_fails(f->vault, "todo", "c", -EUCLEAN);

        /* The row the blob came from still opens. */
        assert_secret(f->vault, "todo", "a", "value-a");

        /* The whole row renamed (blob and version together) fails too. */
        vault_fixture_close_db(f);
        sql_exec(path, "DELETE FROM secret WHERE plugin = 'todo' AND name = 'b'");
        sql_exec(path, "UPDATE secret SET name = 'b' WHERE plugin = 'todo' AND name = 'a'");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_secret_fails(f->vault, "todo", "b", -EUCLEAN);
}

/* Flip one byte (counted from the end when negative) of the one secret
 * row's sealed blob, in the file. */
static void sealed_flip(const char *db_path, long pos) {
        sqlite3 *db = db_open_independent(db_path);
        sqlite3_stmt *st = NULL;

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
        VaultFixture *f = *state;
        const long positions[] = { 40, 100, -1 }; /* wrapped DEK, value nonce, tag */

        secret_put(f->vault, "p", "n", "value");
        for (size_t i = 0; i < ELEMENTSOF(positions); i++) {
                vault_fixture_close_db(f);
                sealed_flip(f->db_path, positions[i]);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
                assert_secret_fails(f->vault, "p", "n", -EUCLEAN);
                vault_fixture_close_db(f);
                sealed_flip(f->db_path, positions[i]); /* restored, it opens */
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
                assert_secret(f->vault, "p", "n", "value");
        }
}

/* The file's bytes, and that they (and no -wal) are still what they were. */
static void assert_file_unchanged(const char *db_path, const uint8_t *before, size_t before_size) {
        uint8_t *after = NULL;
        size_t after_size = 0;
        struct stat st;
        char *wal = NULL;

        assert_int_equal(file_read_all(db_path, &after, &after_size), 0);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(after);
        assert_true(asprintf(&wal, "%s-wal", db_path) >= 0);
        assert_true(stat(wal, &st) < 0 || st.st_size == 0);
        free(wal);
}

/* A vault holding one of each: a secret, a token set, an API key (and its
 * index row), and a registered plugin; closed. */
static void make_full_vault(VaultFixture *f) {
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        secret_put(f->vault, "todo", "client_secret", "s3cr3t");
        json_t *set = json_quote("{'access_token':'at','token_type':'Bearer','refresh_token':'rt','expires_in':10}");
        assert_int_equal(vault_token_put(f->vault, "todo", "alice", set, NULL), 0);
        json_decref(set);
        assert_int_equal(vault_apikey_put(f->vault, "todo", "alice", (const uint8_t *) "key-of-alice", 12, NULL), 0);
        register_scheme(f->vault, "svc", "basic");
        vault_fixture_close_db(f);
}

#define KEYRING_GONE "PRAGMA foreign_keys = OFF; DELETE FROM meta; DELETE FROM kek; "

/* Issue 7 #6: the keyring's rows deleted while records remain must not
 * give a new keyring (which would take any root key offered). */
static void test_keyring_gone_records_present(void **state) {
        VaultFixture *f = *state;
        static const char *const keep_only[] = {
                /* everything */
                "",
                /* one kind of row only */
                "DELETE FROM token; DELETE FROM apikey; DELETE FROM plugin",
                "DELETE FROM secret; DELETE FROM apikey; DELETE FROM plugin",
                "DELETE FROM secret; DELETE FROM token; DELETE FROM plugin",
                "DELETE FROM secret; DELETE FROM token; DROP TRIGGER apikey_lookup_forget; DELETE FROM apikey; "
                "DELETE FROM plugin; " APIKEY_LOOKUP_FORGET,
                "DELETE FROM secret; DELETE FROM token; DELETE FROM apikey",
        };
        uint8_t other[TEST_ROOT_KEY_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(keep_only); i++) {
                uint8_t *before = NULL;
                size_t before_size = 0;
                char sql[512];

                make_full_vault(f);
                snprintf(sql, sizeof(sql), KEYRING_GONE "%s", keep_only[i]);
                sql_exec(f->db_path, sql);
                assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
                /* Under the right key or any other. */
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, keep_only[i]);
                randombytes_buf(other, sizeof(other));
                assert_open_fails(f, other, -EUCLEAN, VAULT_OPEN_KEYRING, keep_only[i]);
                assert_file_unchanged(f->db_path, before, before_size);
                assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM kek"), 0);
                assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM meta"), 0);
                free(before);
                fixture_renew(f);
        }
}

/* With nothing stored, no keyring is a new vault, under whatever key. */
static void test_keyring_gone_empty_store(void **state) {
        VaultFixture *f = *state;
        VaultStats st;

        make_full_vault(f);
        sql_exec(f->db_path, KEYRING_GONE "DELETE FROM secret; DELETE FROM token; DELETE FROM apikey; "
                                          "DELETE FROM plugin");
        randombytes_buf(f->root, sizeof(f->root));
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_int_equal(vault_stats(f->vault, &st), 0);
        assert_int_equal(st.n_keks, 1);
        assert_int_equal(st.secrets, 0);
        secret_put(f->vault, "p", "n", "v");
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_secret(f->vault, "p", "n", "v");
}

/* The file as a credvaultd of schema 3 left it: no MAC columns, no MAC
 * key, no audit tables, and the key-check value of label v1. */
static void downgrade_to_v3(const char *db_path, const uint8_t root[static TEST_ROOT_KEY_SIZE]) {
        uint8_t v1[32];
        sqlite3_stmt *st = NULL;

        crypto_generichash(v1, sizeof(v1), (const uint8_t *) "credvault key-check v1", 22, root, TEST_ROOT_KEY_SIZE);
        sql_exec(db_path,
                 SQL_UNDO_SCHEMA_9 "ALTER TABLE plugin DROP COLUMN mac; ALTER TABLE token DROP COLUMN mac; "
                                   "DROP TABLE audit; DROP TABLE audit_anchor; "
                                   "DELETE FROM meta WHERE key = 'mac_key'; DELETE FROM meta WHERE key = 'meta_mac'; "
                                   "PRAGMA user_version = 3");
        sqlite3 *db = db_open_independent(db_path);
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 WHERE key = 'key_check'", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_blob(st, 1, v1, sizeof(v1), SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_close(db);
}

static bool verify_basic(Vault *v, const char *plugin, const char *header) {
        const Presented p = { .authorization = header };
        bool match = false;
        int r = vault_secret_verify(v, plugin, "service_token", &p, &match, NULL);
        if (r != 0)
                fail_msg("verify %s: %d", plugin, r);
        return match;
}

static void test_upgrade_from_v3(void **state) {
        VaultFixture *f = *state;
        TokenRefresh t = {};
        uint8_t *before = NULL, other[TEST_ROOT_KEY_SIZE];
        size_t before_size = 0;

        make_full_vault(f);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        secret_put(f->vault, "svc", "service_token", "dXNlcjpwYXNz");
        register_scheme(f->vault, "other", "bearer");
        /* A lease taken before the upgrade. */
        assert_int_equal(vault_token_refresh_begin(f->vault, "todo", "alice", 60, 300, &t, NULL), 0);
        assert_true(t.refresh);
        vault_fixture_close_db(f);
        downgrade_to_v3(f->db_path, f->root);

        /* A wrong key is still refused with the file unchanged. */
        assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
        randombytes_buf(other, sizeof(other));
        assert_open_fails(f, other, -EKEYREJECTED, VAULT_OPEN_KEY_CHECK, "v3, another key");
        assert_file_unchanged(f->db_path, before, before_size);
        free(before);

        /* The operator vouches for the file: the rows are trusted, and
         * counted. */
        f->open_flags = VAULT_OPEN_TRUST_METADATA_UPGRADE;
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_true(f->opened.upgraded);
        assert_int_equal(f->opened.plugins_trusted, 2);
        assert_int_equal(f->opened.tokens_trusted, 1);
        assert_true(verify_basic(f->vault, "svc", "Basic dXNlcjpwYXNz"));
        assert_false(verify_basic(f->vault, "svc", "Bearer dXNlcjpwYXNz"));
        json_t *resp = json_quote("{'access_token':'at-2','token_type':'Bearer','refresh_token':'rt-2'}");
        assert_int_equal(vault_token_refresh_commit(f->vault, "todo", "alice", t.lease, resp, NULL), 0);
        json_decref(resp);
        vault_token_refresh_done(&t);
        SecretBuf *text = NULL;
        assert_int_equal(vault_token_get(f->vault, "todo", "alice", 0, &text, NULL, NULL), 0);
        assert_non_null(strstr((const char *) text->data, "\"rt-2\""));
        secret_buf_free(text);
        assert_secret(f->vault, "todo", "client_secret", "s3cr3t");
        vault_fixture_close_db(f);

        /* Schema 4, every row MAC'd, the key check of label v2. */
        uint8_t want[32];
        crypto_generichash(want, sizeof(want), (const uint8_t *) "credvault key-check v2", 22, f->root,
                           sizeof(f->root));
        sqlite3 *db = db_open_independent(f->db_path);
        assert_int_equal(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM plugin WHERE length(mac) = 32"), 2);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM token WHERE length(mac) = 32"), 1);
        assert_int_equal(sql_int(db, "SELECT length(value) FROM meta WHERE key = 'mac_key'"), 72);
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'key_check'", -1, &q, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_memory_equal(sqlite3_column_blob(q, 0), want, 32);
        sqlite3_finalize(q);
        sqlite3_close(db);

        /* From now on a change behind the vault's back is refused, and so
         * is a row whose MAC was nulled: the backfill is not done again,
         * though the flag is still given. */
        sql_exec(f->db_path, "UPDATE plugin SET auth_scheme = 'bearer' WHERE name = 'svc'; "
                             "UPDATE token SET mac = NULL WHERE name = 'alice'");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_false(f->opened.upgraded);
        const Presented p = { .authorization = "Bearer dXNlcjpwYXNz" };
        bool match = true;
        assert_int_equal(vault_secret_verify(f->vault, "svc", "service_token", &p, &match, NULL), -EUCLEAN);
        text = NULL;
        assert_int_equal(vault_token_get(f->vault, "todo", "alice", 0, &text, NULL, NULL), -EUCLEAN);
        assert_null(text);
}

/* Open under the fixture's key without the flag: -EPERM at the upgrade
 * step, the file left byte for byte as it was. */
static void assert_upgrade_refused(VaultFixture *f, const char *what) {
        uint8_t *before = NULL;
        size_t before_size = 0;

        f->open_flags = 0;
        assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
        assert_open_fails(f, f->root, -EPERM, VAULT_OPEN_UPGRADE, what);
        assert_file_unchanged(f->db_path, before, before_size);
        free(before);
        assert_int_equal(sql_file_int(f->db_path, "PRAGMA user_version"), 3);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM meta WHERE key = 'mac_key'"), 0);
}

/* Nothing in the file can say its rows are to be trusted: a vault from
 * before MACs is upgraded only when the operator asks for it. Without
 * that, a database writer who kept a copy of the file from before the
 * upgrade could make an upgraded vault look old again (its key check put
 * back, the MAC key and columns dropped, user_version 3) with a row
 * altered, and have the altered row MAC'd (the reviewer's downgrade). */
static void test_upgrade_needs_trust(void **state) {
        VaultFixture *f = *state;

        make_full_vault(f);
        downgrade_to_v3(f->db_path, f->root);
        assert_upgrade_refused(f, "v3 without the flag");

        /* The genuine upgrade, asked for. */
        f->open_flags = VAULT_OPEN_TRUST_METADATA_UPGRADE;
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_true(f->opened.upgraded);
        vault_fixture_close_db(f);

        /* The downgrade, a row altered: refused, not trusted. */
        downgrade_to_v3(f->db_path, f->root);
        sql_exec(f->db_path, "UPDATE plugin SET auth_scheme = 'bearer' WHERE name = 'svc'");
        assert_upgrade_refused(f, "an upgraded vault made to look like v3");
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM plugin WHERE auth_scheme = 'bearer'"), 1);
}

/* What a database writer could try to have the rows MAC'd afresh; the
 * operator's flag does not help them. */
static void test_upgrade_not_replayed(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                /* the MAC key deleted */
                "DELETE FROM meta WHERE key = 'mac_key'",
                /* and every MAC nulled */
                "DELETE FROM meta WHERE key = 'mac_key'; UPDATE plugin SET mac = NULL; UPDATE token SET mac = NULL",
                /* the schema made to look like 3 again, the key check kept */
                SQL_UNDO_SCHEMA_9 "ALTER TABLE plugin DROP COLUMN mac; ALTER TABLE token DROP COLUMN mac; "
                                  "DROP TABLE audit; DROP TABLE audit_anchor; "
                                  "DELETE FROM meta WHERE key = 'mac_key'; PRAGMA user_version = 3",
                /* the key check deleted too */
                "DELETE FROM meta WHERE key IN ('mac_key', 'key_check')",
                /* the MAC key's wrapping replaced by the index key's */
                "UPDATE meta SET value = (SELECT value FROM meta WHERE key = 'index_key') WHERE key = 'mac_key'",
        };
        for (size_t i = 0; i < 2 * ELEMENTSOF(tamper); i++) {
                make_full_vault(f);
                sql_exec(f->db_path, tamper[i / 2]);
                f->open_flags = i % 2 ? VAULT_OPEN_TRUST_METADATA_UPGRADE : 0;
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, tamper[i / 2]);
                fixture_renew(f);
        }

        /* The old key check put back (from a copy made before the
         * upgrade) into the upgraded schema, with or without the MAC key. */
        for (int with_mac_key = 0; with_mac_key < 2; with_mac_key++) {
                make_full_vault(f);
                uint8_t v1[32];
                sqlite3_stmt *st = NULL;
                crypto_generichash(v1, sizeof(v1), (const uint8_t *) "credvault key-check v1", 22, f->root,
                                   sizeof(f->root));
                sqlite3 *db = db_open_independent(f->db_path);
                assert_int_equal(
                        sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 WHERE key = 'key_check'", -1, &st, NULL),
                        SQLITE_OK);
                sqlite3_bind_blob(st, 1, v1, sizeof(v1), SQLITE_STATIC);
                assert_int_equal(sqlite3_step(st), SQLITE_DONE);
                sqlite3_finalize(st);
                sqlite3_close(db);
                if (!with_mac_key)
                        sql_exec(f->db_path, "DELETE FROM meta WHERE key = 'mac_key'");
                f->open_flags = VAULT_OPEN_TRUST_METADATA_UPGRADE;
                assert_open_fails(f, f->root, -EUCLEAN, VAULT_OPEN_KEYRING, "v1 key check in schema 4");
                fixture_renew(f);
        }
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_vault, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_reopen_same_key, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_wrong_root_key, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_key_check, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_kek_byte, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_kek_blob, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_kek_rows, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_no_primary_writes_nothing, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_index_key, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_index_key_created, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_garbage_and_newer_file, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_second_opener_busy, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_stats, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_plaintext_never_on_disk, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_blob_moved_to_other_row, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_tampered_blob, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_keyring_gone_records_present, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_keyring_gone_empty_store, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_upgrade_from_v3, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_upgrade_needs_trust, setup_vault_dir, teardown_vault),
                cmocka_unit_test_setup_teardown(test_upgrade_not_replayed, setup_vault_dir, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
