/* test-vault-key.c — daemon/vault/vault-key.c: KEK rotation, rewrap,
 * status and retirement.
 *
 * Shows, through vault.h (and the file, read while the vault is closed):
 * a rotation makes KEK 2 primary and new writes use it; status counts the
 * records of each KEK over secrets, token sets and API keys; a rewrap in
 * small steps moves every kind onto the primary with versions, times and
 * token state (its MAC) unchanged, every value still opening, lookups
 * still finding their users; running it again is harmless; a rewrap cut
 * short by closing the vault resumes at the next open; a retire is refused
 * for the primary and while records remain, -ENOENT for an unknown
 * version; afterwards the KEK is retired with no bytes in the file (the
 * old wrapped blob is in neither the database nor its WAL) and the vault
 * reopens with every value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "request.h"
#include "unit-sql.h"
#include "unit-vault.h"

#define N_SECRETS 300

static void put_secret(Vault *v, int i) {
        char name[32], value[64];
        snprintf(name, sizeof(name), "s%03d", i);
        snprintf(value, sizeof(value), "value of secret %d", i);
        assert_int_equal(vault_secret_put(v, "todo", name, (const uint8_t *) value, strlen(value), NULL), 0);
}

static void assert_secret(Vault *v, int i) {
        char name[32], value[64];
        SecretBuf *got = NULL;
        snprintf(name, sizeof(name), "s%03d", i);
        snprintf(value, sizeof(value), "value of secret %d", i);
        int r = vault_secret_get(v, "todo", name, &got, NULL);
        if (r != 0)
                fail_msg("get %s: %d", name, r);
        assert_secret_equal(got, value, strlen(value));
        secret_buf_free(got);
}

static void put_token(Vault *v, const char *user) {
        char err[ERROR_MESSAGE_SIZE_MAX];
        json_t *j = json_quote("{'access_token':'at-1','token_type':'Bearer','expires_in':3600,'refresh_token':'rt'}");
        assert_int_equal(request_check_token_response(j, err, sizeof(err)), 0);
        assert_int_equal(vault_token_put(v, "todo", user, j, NULL), 0);
        json_decref(j);
}

static void assert_token(Vault *v, const char *user) {
        SecretBuf *text = NULL;
        int r = vault_token_get(v, "todo", user, 0, &text, NULL, NULL);
        if (r != 0)
                fail_msg("token of %s: %d", user, r);
        assert_non_null(strstr((const char *) text->data, "at-1"));
        secret_buf_free(text);
}

static void assert_apikey(Vault *v, const char *key, const char *want) {
        Presented p = { .value = (const uint8_t *) key, .size = strlen(key) };
        char *user = NULL;
        assert_int_equal(vault_apikey_lookup(v, "todo", &p, &user), 0);
        assert_non_null(user);
        assert_string_equal(user, want);
        free(user);
}

static void assert_all(Vault *v) {
        for (int i = 0; i < N_SECRETS; i++)
                assert_secret(v, i);
        assert_token(v, "alice");
        assert_token(v, "bob");
        assert_apikey(v, "key-of-carol", "carol");
}

static void fill(Vault *v) {
        for (int i = 0; i < N_SECRETS; i++)
                put_secret(v, i);
        put_token(v, "alice");
        put_token(v, "bob");
        assert_int_equal(vault_apikey_put(v, "todo", "carol", (const uint8_t *) "key-of-carol", 12, NULL), 0);
}

/* Records on KEK version (0 if no such row). */
static int64_t records_of(Vault *v, int64_t version, const char **ret_state, VaultRewrap *ret_rewrap) {
        VaultKek *keks = NULL;
        VaultRewrap rw;
        size_t n = 0;
        int64_t records = 0;
        assert_int_equal(vault_key_status(v, &keks, &n, &rw), 0);
        for (size_t i = 0; i < n; i++)
                if (keks[i].version == version) {
                        records = keks[i].records;
                        if (ret_state)
                                *ret_state = keks[i].state;
                }
        free(keks);
        if (ret_rewrap)
                *ret_rewrap = rw;
        return records;
}

static int64_t run_rewrap(Vault *v, unsigned batch) {
        int64_t total = 0, done, remaining;
        int steps = 0;
        while (vault_key_rewrap_running(v)) {
                assert_int_equal(vault_key_rewrap_step(v, batch, &done, &remaining), 0);
                total += done;
                assert_true(++steps < 10000);
        }
        return total;
}

static void test_rotate_rewrap_retire(void **state) {
        VaultFixture *f = *state;
        int64_t primary = 0, previous = 0, records = 0;
        StoredRecord before = {}, after = {};
        const char *st = NULL;
        VaultRewrap rw;

        fill(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(primary, 2);
        assert_int_equal(previous, 1);
        StoredRecord meta = {};
        assert_int_equal(vault_secret_put(f->vault, "todo", "new", (const uint8_t *) "n", 1, &meta), 0);
        assert_int_equal(meta.kek_version, 2);
        assert_int_equal(records_of(f->vault, 1, &st, &rw), N_SECRETS + 3);
        assert_string_equal(st, "active");
        assert_int_equal(rw.remaining, N_SECRETS + 3);
        assert_false(rw.running);
        assert_int_equal(records_of(f->vault, 2, &st, NULL), 1);
        assert_string_equal(st, "primary");
        assert_all(f->vault);

        /* Retire: the primary never, KEK 1 not while it wraps records. */
        assert_int_equal(vault_key_retire(f->vault, 2, &records), -EEXIST);
        assert_int_equal(records, -1);
        assert_int_equal(vault_key_retire(f->vault, 1, &records), -EEXIST);
        assert_int_equal(records, N_SECRETS + 3);
        assert_int_equal(vault_key_retire(f->vault, 9, &records), -ENOENT);

        /* The old KEK's wrapped bytes, read from the file. */
        vault_fixture_close_db(f);
        sqlite3 *db = db_open_independent(f->db_path);
        sqlite3_stmt *q = NULL;
        uint8_t old_wrapped[72];
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT wrapped FROM kek WHERE version = 1", -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal(sqlite3_column_bytes(q, 0), sizeof(old_wrapped));
        memcpy(old_wrapped, sqlite3_column_blob(q, 0), sizeof(old_wrapped));
        sqlite3_finalize(q);
        sqlite3_close(db);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_true(file_contains(f->db_path, old_wrapped, sizeof(old_wrapped)));

        SecretBuf *opened = NULL;
        assert_int_equal(vault_secret_get(f->vault, "todo", "s007", &opened, &before), 0);
        secret_buf_free(opened);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_true(rw.running);
        assert_int_equal(rw.remaining, N_SECRETS + 3);
        assert_true(rw.started_at > 0);
        /* Writes between the batches. */
        int64_t done, remaining;
        assert_int_equal(vault_key_rewrap_step(f->vault, 64, &done, &remaining), 0);
        assert_int_equal(done, 64);
        put_secret(f->vault, 200);
        assert_int_equal(run_rewrap(f->vault, 64) + 64, N_SECRETS + 3 - 1);
        (void) remaining;
        assert_false(vault_key_rewrap_running(f->vault));
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), 0);
        assert_int_equal(rw.remaining, 0);
        assert_int_equal(rw.done, N_SECRETS + 2);
        assert_int_equal(records_of(f->vault, 2, NULL, NULL), N_SECRETS + 4);
        assert_all(f->vault);
        /* The same version and times: only the wrapping changed. */
        SecretBuf *value = NULL;
        assert_int_equal(vault_secret_get(f->vault, "todo", "s007", &value, &after), 0);
        secret_buf_free(value);
        assert_int_equal(after.version, before.version);
        assert_int_equal(after.updated_at, before.updated_at);
        assert_int_equal(after.created_at, before.created_at);
        assert_int_equal(after.kek_version, 2);

        /* Again: harmless, nothing to move. */
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_int_equal(rw.remaining, 0);
        assert_int_equal(run_rewrap(f->vault, 64), 0);

        assert_int_equal(vault_key_retire(f->vault, 1, &records), 0);
        assert_int_equal(records_of(f->vault, 1, &st, NULL), 0);
        assert_string_equal(st, "retired");
        assert_int_equal(vault_key_retire(f->vault, 1, &records), 0);
        assert_all(f->vault);
        vault_fixture_close_db(f);
        assert_false(file_contains(f->db_path, old_wrapped, sizeof(old_wrapped)));
        char *wal = NULL;
        assert_true(asprintf(&wal, "%s-wal", f->db_path) >= 0);
        assert_false(file_contains(wal, old_wrapped, sizeof(old_wrapped)));
        free(wal);
        assert_int_equal(sql_file_int(f->db_path, "SELECT length(wrapped) FROM kek WHERE version = 1"), 0);
        assert_int_equal(sql_file_int(f->db_path, "SELECT state = 'retired' FROM kek WHERE version = 1"), 1);

        /* Reopened: every value opens without KEK 1, and a rotation goes
         * on to 3 (a retired version is never used again). */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_all(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(primary, 3);
        assert_int_equal(previous, 2);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_int_equal(run_rewrap(f->vault, 1000), N_SECRETS + 4);
        assert_int_equal(vault_key_retire(f->vault, 2, &records), 0);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_all(f->vault);
}

/* A rewrap that stopped with the process resumes at the next open. */
static void test_resume(void **state) {
        VaultFixture *f = *state;
        int64_t primary, previous, done, remaining;
        VaultRewrap rw;

        fill(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_int_equal(vault_key_rewrap_step(f->vault, 100, &done, &remaining), 0);
        assert_int_equal(done, 100);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_true(vault_key_rewrap_running(f->vault));
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), N_SECRETS + 3 - 100);
        assert_true(rw.running);
        assert_int_equal(run_rewrap(f->vault, 50), N_SECRETS + 3 - 100);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_false(vault_key_rewrap_running(f->vault));
        assert_int_equal(records_of(f->vault, 1, NULL, NULL), 0);
        assert_all(f->vault);
}

/* A rotation in the middle of a rewrap: the records moved to 2 move on
 * to 3 as well. */
static void test_rotate_during_rewrap(void **state) {
        VaultFixture *f = *state;
        int64_t primary, previous, done, remaining, records;
        VaultRewrap rw;

        fill(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_int_equal(vault_key_rewrap_step(f->vault, 100, &done, &remaining), 0);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(primary, 3);
        run_rewrap(f->vault, 64);
        assert_int_equal(records_of(f->vault, 1, NULL, NULL), 0);
        assert_int_equal(records_of(f->vault, 2, NULL, NULL), 0);
        assert_int_equal(records_of(f->vault, 3, NULL, NULL), N_SECRETS + 3);
        assert_int_equal(vault_key_retire(f->vault, 1, &records), 0);
        assert_int_equal(vault_key_retire(f->vault, 2, &records), 0);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_all(f->vault);
}

/* A record whose wrapped DEK no longer authenticates is left on its KEK
 * and named; every other record moves, and the old KEK cannot be retired
 * while the damaged record is there. A step of nothing but damaged
 * records ends the rewrap instead of finding them again forever. */
static void test_damaged_record_does_not_stop_rewrap(void **state) {
        VaultFixture *f = *state;
        int64_t primary, previous, records = 0;
        VaultRewrap rw;

        fill(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        vault_fixture_close_db(f);
        /* Byte 41 is in the wrapped DEK: after the 9-byte header and the
         * DEK's 24-byte nonce. */
        assert_int_equal(sql_exec(f->db_path, "UPDATE secret SET sealed = CAST(substr(sealed, 1, 40) || CASE WHEN "
                                              "substr(sealed, 41, 1) = x'00' THEN x'01' ELSE x'00' END || "
                                              "substr(sealed, 42) AS BLOB) WHERE name = 's007'"),
                         1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        int64_t moved = run_rewrap(f->vault, 64);
        assert_int_equal(moved, N_SECRETS + 3 - 1);
        assert_false(vault_key_rewrap_running(f->vault));
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), 1);
        assert_int_equal(rw.damaged, 1);
        assert_string_equal(rw.first_damaged, "secret todo/s007");
        assert_int_equal(vault_key_retire(f->vault, 1, &records), -EEXIST);
        assert_int_equal(records, 1);
}

/* While a rewrap runs, status counts once and then answers from that
 * count moved along by the steps: the same numbers, without reading the
 * indexes again; exact again once the rewrap is done. */
static void test_status_tally_during_rewrap(void **state) {
        VaultFixture *f = *state;
        int64_t primary, previous, done, remaining;
        VaultRewrap rw;

        fill(f->vault);
        assert_int_equal(vault_key_rotate(f->vault, &primary, &previous), 0);
        assert_int_equal(vault_key_rewrap_start(f->vault, &rw), 0);
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), N_SECRETS + 3);
        assert_false(rw.approximate);
        assert_int_equal(vault_key_rewrap_step(f->vault, 10, &done, &remaining), 0);
        assert_int_equal(done, 10);
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), N_SECRETS + 3 - 10);
        assert_true(rw.approximate);
        assert_int_equal(records_of(f->vault, 2, NULL, NULL), 10);
        assert_int_equal(rw.remaining, N_SECRETS + 3 - 10);
        run_rewrap(f->vault, 64);
        assert_int_equal(records_of(f->vault, 1, NULL, &rw), 0);
        assert_false(rw.approximate);
        assert_int_equal(records_of(f->vault, 2, NULL, NULL), N_SECRETS + 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rotate_rewrap_retire, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_resume, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_rotate_during_rewrap, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_damaged_record_does_not_stop_rewrap, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_status_tally_during_rewrap, setup_vault, teardown_vault),
        };
        if (unit_vault_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
