/* test-keyring.c — daemon/keyring.c: root key check and the KEK ring.
 *
 * Shows: a new database gets KEK 1 as primary and a stored key-check value;
 * reopening with the same root key gives the same KEK (what one keyring
 * sealed, the next one opens); a wrong root key is refused by both
 * keyring_verify_root() and keyring_load() and leaves the database file
 * byte-for-byte unchanged; the key-check value is deterministic, pinned by
 * a known answer, and differs between keys; KEKs wrapped as keyring.c
 * wraps them load with their versions; a tampered, resized, renumbered,
 * demoted or deleted KEK row is -EUCLEAN. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "envelope.h"
#include "unit-daemon.h"

static uint8_t key_a[ROOT_KEY_SIZE], key_b[ROOT_KEY_SIZE];

/* Run SQL on the database file through a connection of its own, as
 * someone with write access to the file would. */
static void sql_exec(const char *db_path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;

        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        sqlite3_close(db);
}

/* The start sequence of main.c: open, verify, migrate, load. */
static int reopen(Fixture *f, const uint8_t *key) {
        int r = store_open(f->db_path, &f->store);
        if (r < 0)
                return r;
        r = keyring_verify_root(f->store, key);
        if (r < 0)
                return r;
        r = store_migrate(f->store);
        if (r < 0)
                return r;
        return keyring_load(f->store, root_key_dup(key), &f->keyring);
}

/* A database made with root key a (KEK 1 in it), closed. */
static void make_database(Fixture *f) {
        assert_int_equal(fixture_open(f, key_a), 0);
        fixture_close_db(f);
}

typedef struct KekRows {
        size_t n;
        int64_t version;
        bool primary;
        size_t wrapped_size;
        bool contains_kek;
        const uint8_t *kek;
} KekRows;

static int kek_row(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size, void *userdata) {
        KekRows *rows = userdata;
        rows->n++;
        rows->version = version;
        rows->primary = primary;
        rows->wrapped_size = wrapped_size;
        rows->contains_kek = memmem(wrapped, wrapped_size, rows->kek, KEK_SIZE) != NULL;
        return 0;
}

static void test_new_database(void **state) {
        Fixture *f = *state;
        uint8_t want[KEY_CHECK_SIZE];
        uint8_t *check = NULL;
        size_t check_size = 0;

        assert_int_equal(fixture_open_store(f), 0);
        /* Nothing to check a key against yet. */
        assert_int_equal(keyring_verify_root(f->store, key_a), 0);
        assert_int_equal(store_meta_get(f->store, "key_check", &check, &check_size), -ENOENT);

        assert_int_equal(keyring_load(f->store, root_key_dup(key_a), &f->keyring), 0);
        assert_int_equal(keyring_size(f->keyring), 1);
        assert_int_equal(keyring_primary(f->keyring)->version, 1);
        assert_ptr_equal(keyring_find(f->keyring, 1), keyring_primary(f->keyring));
        assert_null(keyring_find(f->keyring, 0));
        assert_null(keyring_find(f->keyring, 2));
        assert_non_null(keyring_dek_scratch(f->keyring));

        assert_int_equal(store_meta_get(f->store, "key_check", &check, &check_size), 0);
        keyring_key_check(key_a, want);
        assert_int_equal(check_size, KEY_CHECK_SIZE);
        assert_memory_equal(check, want, KEY_CHECK_SIZE);
        free(check);
        assert_int_equal(keyring_verify_root(f->store, key_a), 0);

        /* One row, primary, version 1, holding the KEK only wrapped. */
        KekRows rows = { .kek = keyring_primary(f->keyring)->key };
        assert_int_equal(store_kek_foreach(f->store, kek_row, &rows), 0);
        assert_int_equal(rows.n, 1);
        assert_int_equal(rows.version, 1);
        assert_true(rows.primary);
        assert_int_equal(rows.wrapped_size, TEST_KEK_WRAPPED_SIZE);
        assert_false(rows.contains_kek);
        fixture_close(f);
}

static void test_reopen_same_key(void **state) {
        Fixture *f = *state;
        const RecordId id = { RECORD_SECRET, "todo", "client_secret", 1 };
        uint8_t *sealed = NULL, first_kek[KEK_SIZE];
        size_t sealed_size = 0;
        int64_t kek_version = 0;
        SecretBuf *out = NULL;

        assert_int_equal(fixture_open(f, key_a), 0);
        memcpy(first_kek, keyring_primary(f->keyring)->key, KEK_SIZE);
        assert_int_equal(
                envelope_seal(f->keyring, &id, (const uint8_t *) "s3cr3t", 6, &sealed, &sealed_size, &kek_version), 0);
        fixture_close_db(f);

        assert_int_equal(reopen(f, key_a), 0);
        assert_int_equal(keyring_size(f->keyring), 1);
        assert_int_equal(keyring_primary(f->keyring)->version, 1);
        assert_memory_equal(keyring_primary(f->keyring)->key, first_kek, KEK_SIZE);
        assert_int_equal(envelope_open(f->keyring, &id, sealed, sealed_size, &out), 0);
        assert_int_equal(out->size, 6);
        assert_memory_equal(out->data, "s3cr3t", 6);
        secret_buf_free(out);
        free(sealed);
        sodium_memzero(first_kek, sizeof(first_kek));
        fixture_close(f);
}

static void test_wrong_root_key(void **state) {
        Fixture *f = *state;
        uint8_t *before = NULL, *after = NULL;
        size_t before_size = 0, after_size = 0;
        Keyring *k = NULL;

        make_database(f);
        assert_int_equal(file_read_all(f->db_path, &before, &before_size), 0);
        assert_true(before_size > 0);

        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(keyring_verify_root(f->store, key_b), -EKEYREJECTED);
        /* keyring_load() refuses on its own too, even after a (no-op)
         * migration, and takes the key even so. */
        assert_int_equal(store_migrate(f->store), 0);
        assert_int_equal(keyring_load(f->store, root_key_dup(key_b), &k), -EKEYREJECTED);
        assert_null(k);
        /* A key one bit away is just as wrong. */
        uint8_t near[ROOT_KEY_SIZE];
        memcpy(near, key_a, sizeof(near));
        near[31] ^= 1;
        assert_int_equal(keyring_verify_root(f->store, near), -EKEYREJECTED);
        assert_int_equal(keyring_load(f->store, root_key_dup(near), &k), -EKEYREJECTED);
        fixture_close_db(f);

        assert_int_equal(file_read_all(f->db_path, &after, &after_size), 0);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);

        /* And the right key still works afterwards. */
        assert_int_equal(reopen(f, key_a), 0);
        fixture_close(f);
}

static void test_key_check_value(void **state) {
        (void) state;
        uint8_t a1[KEY_CHECK_SIZE], a2[KEY_CHECK_SIZE], b[KEY_CHECK_SIZE], near[KEY_CHECK_SIZE];
        uint8_t key_near[ROOT_KEY_SIZE];

        keyring_key_check(key_a, a1);
        keyring_key_check(key_a, a2);
        keyring_key_check(key_b, b);
        memcpy(key_near, key_a, sizeof(key_near));
        key_near[0] ^= 0x80;
        keyring_key_check(key_near, near);

        assert_memory_equal(a1, a2, KEY_CHECK_SIZE);
        assert_memory_not_equal(a1, b, KEY_CHECK_SIZE);
        assert_memory_not_equal(a1, near, KEY_CHECK_SIZE);
        /* It is not the key. */
        assert_memory_not_equal(a1, key_a, KEY_CHECK_SIZE);

        /* Known answer: BLAKE2b-256 keyed with the root key 00..1f over the
         * label "credvault key-check v1" (checked with Python's hashlib). */
        uint8_t k[ROOT_KEY_SIZE], got[KEY_CHECK_SIZE];
        bytes_counting(k, sizeof(k), 0);
        keyring_key_check(k, got);
        char *hex = hex_of(got, sizeof(got));
        assert_string_equal(hex, "67f33e7a0fd3628b3ad4f7c776e7bef4ed920b715ae240ed9a37675ab091c34f");
        free(hex);
}

/* KEKs wrapped by the test as keyring.c wraps them: they load with their
 * versions and their exact bytes, and the primary is the one marked so. */
static void test_known_keks_load(void **state) {
        Fixture *f = *state;
        uint8_t kek1[KEK_SIZE], kek2[KEK_SIZE], wrapped[TEST_KEK_WRAPPED_SIZE], nonce[24];

        bytes_counting(kek1, sizeof(kek1), 0x10);
        bytes_counting(kek2, sizeof(kek2), 0x90);
        assert_int_equal(fixture_open_store(f), 0);
        assert_int_equal(test_kek_seed(f->store, key_a, 1, false, kek1), 0);
        randombytes_buf(nonce, sizeof(nonce));
        test_kek_wrap(key_a, 2, kek2, nonce, wrapped);
        assert_int_equal(store_kek_insert(f->store, 2, true, wrapped, sizeof(wrapped)), 0);

        assert_int_equal(keyring_load(f->store, root_key_dup(key_a), &f->keyring), 0);
        assert_int_equal(keyring_size(f->keyring), 2);
        assert_int_equal(keyring_primary(f->keyring)->version, 2);
        assert_memory_equal(keyring_primary(f->keyring)->key, kek2, KEK_SIZE);
        assert_non_null(keyring_find(f->keyring, 1));
        assert_memory_equal(keyring_find(f->keyring, 1)->key, kek1, KEK_SIZE);

        /* New writes use the primary; what the older KEK sealed still opens. */
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL, old[ENVELOPE_OVERHEAD + 1], dek[KEK_SIZE] = { 1 }, n1[24] = { 2 }, n2[24] = { 3 };
        size_t sealed_size = 0;
        int64_t kek_version = 0;
        SecretBuf *out = NULL;
        assert_int_equal(envelope_seal(f->keyring, &id, (const uint8_t *) "x", 1, &sealed, &sealed_size, &kek_version),
                         0);
        assert_int_equal(kek_version, 2);
        free(sealed);
        envelope_seal_with(keyring_find(f->keyring, 1), &id, dek, n1, n2, (const uint8_t *) "y", 1, old);
        assert_int_equal(envelope_open(f->keyring, &id, old, sizeof(old), &out), 0);
        assert_int_equal(out->data[0], 'y');
        secret_buf_free(out);
        fixture_close(f);
}

/* Flip one byte of KEK 1's wrapped blob in the file. */
static void kek_flip_byte(const char *db_path, size_t pos) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        uint8_t wrapped[TEST_KEK_WRAPPED_SIZE];

        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
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
        Fixture *f = *state;
        /* Nonce, ciphertext and tag: first and last byte of each. */
        const size_t positions[] = { 0, 23, 24, 40, 55, 56, 71 };

        for (size_t i = 0; i < ELEMENTSOF(positions); i++) {
                make_database(f);
                kek_flip_byte(f->db_path, positions[i]);
                int r = reopen(f, key_a);
                if (r != -EUCLEAN)
                        fail_msg("byte %zu flipped: want -EUCLEAN, got %d", positions[i], r);
                assert_null(f->keyring);
                fixture_close(f);
        }
}

static void test_tampered_kek_blob(void **state) {
        Fixture *f = *state;
        static const char *const tamper[] = {
                /* fresh random bytes of the right size */
                "UPDATE kek SET wrapped = randomblob(72)",
                /* wrong sizes */
                "UPDATE kek SET wrapped = substr(wrapped, 1, 71)",
                "UPDATE kek SET wrapped = CAST(wrapped || x'00' AS BLOB)",
                "UPDATE kek SET wrapped = x''",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_database(f);
                sql_exec(f->db_path, tamper[i]);
                int r = reopen(f, key_a);
                if (r != -EUCLEAN)
                        fail_msg("%s: want -EUCLEAN, got %d", tamper[i], r);
                assert_null(f->keyring);
                fixture_close(f);
        }
}

/* A wrapped KEK is bound to its version and its rows cannot vanish. */
static void test_tampered_kek_rows(void **state) {
        Fixture *f = *state;
        static const char *const tamper[] = {
                /* renumbered: the version is associated data */
                "UPDATE kek SET version = 2",
                /* no primary any more */
                "UPDATE kek SET state = 'active'",
                /* the ring deleted while the key check stays */
                "DELETE FROM kek",
        };
        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                make_database(f);
                sql_exec(f->db_path, tamper[i]);
                int r = reopen(f, key_a);
                if (r != -EUCLEAN)
                        fail_msg("%s: want -EUCLEAN, got %d", tamper[i], r);
                fixture_close(f);
        }
}

/* A tampered key check is a wrong key, not a new database. */
static void test_tampered_key_check(void **state) {
        Fixture *f = *state;

        make_database(f);
        sql_exec(f->db_path, "UPDATE meta SET value = zeroblob(32) WHERE key = 'key_check'");
        assert_int_equal(reopen(f, key_a), -EKEYREJECTED);
        fixture_close_db(f);
        sql_exec(f->db_path, "UPDATE meta SET value = x'00' WHERE key = 'key_check'");
        assert_int_equal(reopen(f, key_a), -EKEYREJECTED);
        fixture_close(f);
}

static int setup_fixture(void **state) {
        *state = calloc(1, sizeof(Fixture));
        return *state ? 0 : -1;
}

/* Runs even when a test fails: the temp dir never outlives the test. */
static int teardown_fixture(void **state) {
        fixture_close(*state);
        free(*state);
        return 0;
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        randombytes_buf(key_a, sizeof(key_a));
        randombytes_buf(key_b, sizeof(key_b));

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_database, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_reopen_same_key, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_wrong_root_key, setup_fixture, teardown_fixture),
                cmocka_unit_test(test_key_check_value),
                cmocka_unit_test_setup_teardown(test_known_keks_load, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_tampered_kek_byte, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_tampered_kek_blob, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_tampered_kek_rows, setup_fixture, teardown_fixture),
                cmocka_unit_test_setup_teardown(test_tampered_key_check, setup_fixture, teardown_fixture),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
