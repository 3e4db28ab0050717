/* test-store-count.c — the record counts the writes keep (migration 8).
 *
 * Covers: after every kind of write that adds or removes records (new
 * puts, overwrites, deletes, a missing delete, a plugin's cascade, a
 * rolled-back transaction) store_record_count() equals count(*) of the
 * table, for each record kind; a file from before migration 8 gets counts
 * that match its rows; and reading a count does not grow with the table:
 * its plan searches record_count by its key and scans no record table,
 * and it runs as many VM steps at 2000 records as at 2. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store-internal.h"
#include "unit-sql.h"
#include "unit-store.h"

static const char *const tables[_RECORD_KIND_MAX] = {
        [RECORD_SECRET] = "secret",
        [RECORD_TOKEN] = "token",
        [RECORD_APIKEY] = "apikey",
};

/* Every kind's kept count is its table's count(*), and is want[kind]. */
static void assert_counts(Fixture *f, const int64_t want[static _RECORD_KIND_MAX]) {
        sqlite3 *db = db_open_independent(f->db_path);
        for (int k = 0; k < _RECORD_KIND_MAX; k++) {
                char sql[64];
                int64_t n = -1;
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[k]);
                assert_int_equal(store_record_count(f->store, (RecordKind) k, &n), 0);
                if (n != sql_int(db, sql) || n != want[k])
                        fail_msg("%s: kept %lld, count(*) %lld, want %lld", tables[k], (long long) n,
                                 (long long) sql_int(db, sql), (long long) want[k]);
        }
        sqlite3_close(db);
}

static void put_n(Store *s, RecordKind kind, const char *plugin, int n, int64_t version) {
        for (int i = 0; i < n; i++) {
                char name[32];
                snprintf(name, sizeof(name), "r%04d", i);
                put_record(s, kind, plugin, name, version, version, "x");
        }
}

static void test_counts_follow_writes(void **state) {
        Fixture *f = *state;
        PluginRemoved removed = {};

        assert_counts(f, (int64_t[]) { 0, 0, 0 });
        put_n(f->store, RECORD_SECRET, "a", 5, 1);
        put_n(f->store, RECORD_SECRET, "b", 3, 1);
        put_n(f->store, RECORD_TOKEN, "a", 4, 1);
        put_n(f->store, RECORD_APIKEY, "b", 2, 1);
        assert_counts(f, (int64_t[]) { 8, 4, 2 });

        /* Overwrites (the UPSERT's update) add nothing. */
        put_n(f->store, RECORD_SECRET, "a", 5, 2);
        put_n(f->store, RECORD_TOKEN, "a", 2, 2);
        put_n(f->store, RECORD_APIKEY, "b", 2, 2);
        assert_counts(f, (int64_t[]) { 8, 4, 2 });

        /* Deletes remove one each; a missing one removes none. */
        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "a", "r0000"), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "a", "r0000"), -ENOENT);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "a", "r0003"), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_APIKEY, "b", "nobody"), -ENOENT);
        assert_counts(f, (int64_t[]) { 7, 3, 2 });

        /* A rolled-back transaction's writes leave the counts as they were. */
        assert_int_equal(store_begin(f->store), 0);
        put_n(f->store, RECORD_SECRET, "c", 10, 1);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "a", "r0000"), 0);
        store_rollback(f->store);
        assert_counts(f, (int64_t[]) { 7, 3, 2 });

        /* A plugin's cascade: every kind at once. */
        put_n(f->store, RECORD_TOKEN, "b", 2, 1);
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_plugin_delete_all(f->store, "b", &removed), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_int_equal(removed.secrets, 3); /* the cascade's own count: triggers' rows not in it */
        assert_int_equal(removed.tokens, 2);
        assert_int_equal(removed.apikeys, 2);
        assert_counts(f, (int64_t[]) { 4, 3, 0 });
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_plugin_delete_all(f->store, "a", &removed), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_counts(f, (int64_t[]) { 0, 0, 0 });

        /* And again after a reopen: the counts are in the file. */
        put_n(f->store, RECORD_SECRET, "a", 6, 1);
        assert_int_equal(fixture_reopen(f), 0);
        assert_counts(f, (int64_t[]) { 6, 0, 0 });
}

/* A file of schema 7 with records: migration 8 counts them once (and the later ones run). */
static void test_migration_counts_existing(void **state) {
        Fixture *f = *state;

        put_n(f->store, RECORD_SECRET, "a", 7, 1);
        put_n(f->store, RECORD_TOKEN, "a", 3, 1);
        fixture_close_db(f);
        sql_exec(f->db_path, SQL_UNDO_SCHEMA_9 "DROP TRIGGER secret_count_insert; DROP TRIGGER secret_count_delete;"
                                               "DROP TRIGGER token_count_insert; DROP TRIGGER token_count_delete;"
                                               "DROP TRIGGER apikey_count_insert; DROP TRIGGER apikey_count_delete;"
                                               "DROP TABLE record_count; PRAGMA user_version = 7;"
                                               "DELETE FROM secret WHERE name = 'r0006';");
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_migrate(f->store), 0);
        assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
        char problem[200] = "";
        assert_int_equal(store_schema_check(f->store, problem, sizeof(problem)), 0);
        assert_counts(f, (int64_t[]) { 6, 3, 0 });
        put_n(f->store, RECORD_SECRET, "b", 2, 1);
        assert_counts(f, (int64_t[]) { 8, 3, 0 });
}

/* The count's statement reads record_count by its key and no record table,
 * so its work is the same at any size. */
static void test_count_does_not_scan(void **state) {
        Fixture *f = *state;
        int64_t n = 0;

        for (int k = 0; k < _RECORD_KIND_MAX; k++) {
                sqlite3_stmt *st = f->store->rstmt[k][RSTMT_COUNT], *plan = NULL;
                char sql[256];
                snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
                assert_int_equal(sqlite3_prepare_v2(f->store->db, sql, -1, &plan, NULL), SQLITE_OK);
                int rows = 0;
                while (sqlite3_step(plan) == SQLITE_ROW) {
                        const char *detail = (const char *) sqlite3_column_text(plan, 3);
                        if (!strstr(detail, "SEARCH record_count USING INDEX sqlite_autoindex_record_count_1"))
                                fail_msg("%s: plan step '%s'", tables[k], detail);
                        rows++;
                }
                sqlite3_finalize(plan);
                assert_int_equal(rows, 1);
        }

        sqlite3_stmt *st = f->store->rstmt[RECORD_SECRET][RSTMT_COUNT];
        put_n(f->store, RECORD_SECRET, "a", 2, 1);
        sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
        assert_int_equal(store_record_count(f->store, RECORD_SECRET, &n), 0);
        assert_int_equal(n, 2);
        int small = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);

        assert_int_equal(store_begin(f->store), 0);
        put_n(f->store, RECORD_SECRET, "b", 2000, 1);
        assert_int_equal(store_commit(f->store), 0);
        assert_int_equal(store_record_count(f->store, RECORD_SECRET, &n), 0);
        assert_int_equal(n, 2002);
        int big = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
        assert_true(small > 0);
        assert_int_equal(small, big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_counts_follow_writes, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_migration_counts_existing, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_count_does_not_scan, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
