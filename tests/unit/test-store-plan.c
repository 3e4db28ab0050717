/* test-store-plan.c — daemon/store: listing costs what it returns.
 *
 * Shows: every listing statement the store prepares (store_list_sql():
 * secrets, token sets and API keys by plugin and across plugins, first
 * page and next, plugin list, token list) is planned as a range of the
 * primary key or a unique index, in index order: EXPLAIN QUERY PLAN has no
 * SCAN of a table and no temporary B-tree for ORDER BY, so a page reads the
 * rows it returns and not the ones before it. A statement without a WHERE
 * (the first page of everything) may walk the index, which stops at LIMIT.
 * And the paging itself: through one plugin, and through all of them,
 * pages of any size give every record exactly once, in bytewise order; a
 * cursor in a plugin before the one listed starts it from the beginning,
 * one after it gives nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-sql.h"
#include "unit-store.h"

/* Rows enough that the planner's choice is the one a big vault gets. */
#define PLAN_ROWS 300

/* What a condition in the SQL must become in the plan: a bound of the
 * index search, not a filter on the rows it walks. */
static const struct {
        const char *sql, *plan;
} bounds[] = {
        { "plugin = ?", "plugin=?" },
        { "name > ?", "name>?" },
        { "(plugin, name) > (?", "(plugin,name)>(?,?)" },
};

/* NULL if the plan of sql reads only the rows a page returns, else why
 * not (malloc'd). */
static char *plan_problem(sqlite3 *db, const char *sql) {
        char *eqp = NULL, *problem = NULL;
        sqlite3_stmt *st = NULL;
        bool has_where = strstr(sql, "WHERE") != NULL;
        int rows = 0, rc;

        assert_true(asprintf(&eqp, "EXPLAIN QUERY PLAN %s", sql) > 0);
        if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        while (!problem && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *detail = (const char *) sqlite3_column_text(st, 3);
                rows++;
                if (strstr(detail, "TEMP B-TREE"))
                        problem = strdup(detail);
                else if (strncmp(detail, "SEARCH ", 7) == 0) {
                        if (!strstr(detail, "USING PRIMARY KEY") && !strstr(detail, "USING INDEX") &&
                            !strstr(detail, "USING COVERING INDEX"))
                                problem = strdup(detail);
                        for (size_t i = 0; !problem && i < ELEMENTSOF(bounds); i++)
                                if (strstr(sql, bounds[i].sql) && !strstr(detail, bounds[i].plan))
                                        problem = strdup(detail);
                } else if (strncmp(detail, "SCAN ", 5) == 0) {
                        /* Walking the index in order is a scan only when
                         * nothing bounds it: the first page of all. */
                        if (has_where || !strstr(detail, "USING"))
                                problem = strdup(detail);
                } else
                        problem = strdup(detail);
        }
        if (!problem && (rc != SQLITE_DONE || rows == 0))
                problem = strdup("no plan");
        sqlite3_finalize(st);
        free(eqp);
        return problem;
}

static void test_list_plans(void **state) {
        Fixture *f = *state;
        char name[32], sql[1024];
        size_t i;
        int r;

        for (int k = 0; k < _RECORD_KIND_MAX; k++)
                for (int j = 0; j < PLAN_ROWS; j++) {
                        snprintf(name, sizeof(name), "n%04d", j);
                        put_record(f->store, (RecordKind) k, j % 3 ? "big" : "other", name, 1, 0, "x");
                }
        sqlite3 *db = db_open_independent(f->db_path);
        assert_int_equal(sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL), SQLITE_OK);
        for (i = 0; (r = store_list_sql(i, sql, sizeof(sql))) == 0; i++) {
                char *problem = plan_problem(db, sql);
                if (problem)
                        fail_msg("%s\n  reads more than it returns: %s", sql, problem);
        }
        assert_int_equal(r, -ENOENT);
        /* Four per record kind, the plugin list and the token list. */
        assert_int_equal(i, 4 * _RECORD_KIND_MAX + 2);

        /* The statement these replaced, one for every case, searched from
         * the cursor's plugin to the end of the table: caught. */
        char *problem = plan_problem(db, "SELECT plugin, name FROM secret WHERE (?1 IS NULL OR plugin = ?1) AND "
                                         "(plugin > ?2 OR (plugin = ?2 AND name > ?3)) ORDER BY plugin, name LIMIT ?4");
        assert_non_null(problem);
        free(problem);
        sqlite3_close(db);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Page through plugin (NULL: all) limit records at a time; returns the
 * "plugin/name" of each in the order given, n in *ret_n. */
static char **page_all(Store *s, const char *plugin, unsigned limit, size_t *ret_n) {
        char **seen = NULL, *after_plugin = NULL, *after_name = NULL;
        size_t n = 0;

        for (;;) {
                StoredRecord *items;
                size_t k;
                assert_int_equal(
                        store_record_list(s, RECORD_SECRET, plugin, after_plugin, after_name, limit, &items, &k), 0);
                assert_true(k <= limit);
                if (k == 0) {
                        stored_records_free(items, k);
                        break;
                }
                seen = realloc(seen, (n + k) * sizeof(char *));
                assert_non_null(seen);
                for (size_t j = 0; j < k; j++) {
                        if (plugin)
                                assert_string_equal(items[j].plugin, plugin);
                        assert_int_equal(asprintf(&seen[n++], "%s/%s", items[j].plugin, items[j].name) > 0, 1);
                }
                free(after_plugin);
                free(after_name);
                after_plugin = strdup(items[k - 1].plugin);
                after_name = strdup(items[k - 1].name);
                stored_records_free(items, k);
        }
        free(after_plugin);
        free(after_name);
        *ret_n = n;
        return seen;
}

static void test_paging(void **state) {
        Fixture *f = *state;
        /* Bytewise order differs from any case-folding or numeric one. */
        static const char *const stems[] = { "a", "B", "_", "z9", "Z10", "a-b", "a.b", "\xc3\xa9" };
        static const char *const plugins[] = { "one", "big", "zz", "Big" };
        char *want_big[ELEMENTSOF(stems) * 20], *want_all[ELEMENTSOF(stems) * 20 + 3];
        size_t n_big = 0, n_all = 0, n;
        char **seen;

        for (size_t i = 0; i < ELEMENTSOF(stems); i++)
                for (int j = 0; j < 20; j++) {
                        char name[32];
                        snprintf(name, sizeof(name), "%s%d", stems[i], j);
                        put_record(f->store, RECORD_SECRET, "big", name, 1, 0, "x");
                        assert_int_equal(asprintf(&want_big[n_big++], "big/%s", name) > 0, 1);
                        want_all[n_all++] = want_big[n_big - 1];
                }
        for (size_t i = 0; i < ELEMENTSOF(plugins); i++)
                if (strcmp(plugins[i], "big") != 0) {
                        put_record(f->store, RECORD_SECRET, plugins[i], "only", 1, 0, "x");
                        assert_int_equal(asprintf(&want_all[n_all++], "%s/only", plugins[i]) > 0, 1);
                }
        /* Another kind under the same names is not listed. */
        put_record(f->store, RECORD_TOKEN, "big", "a0", 1, 0, "x");
        qsort(want_big, n_big, sizeof(char *), cmp_str);
        qsort(want_all, n_all, sizeof(char *), cmp_str);

        static const unsigned limits[] = { 1, 3, 7, 100, 1000 };
        for (size_t l = 0; l < ELEMENTSOF(limits); l++) {
                seen = page_all(f->store, "big", limits[l], &n);
                assert_int_equal(n, n_big);
                for (size_t i = 0; i < n; i++) {
                        assert_string_equal(seen[i], want_big[i]);
                        free(seen[i]);
                }
                free(seen);

                seen = page_all(f->store, NULL, limits[l], &n);
                assert_int_equal(n, n_all);
                for (size_t i = 0; i < n; i++) {
                        assert_string_equal(seen[i], want_all[i]);
                        free(seen[i]);
                }
                free(seen);
        }

        /* A cursor in another plugin: before it, the plugin from its start;
         * after it, nothing. */
        StoredRecord *items;
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "big", "Big", "zzz", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].name, strchr(want_big[0], '/') + 1);
        stored_records_free(items, n);
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "big", "one", "", 2, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_records_free(items, n);

        for (size_t i = 0; i < n_all; i++)
                if (strncmp(want_all[i], "big/", 4) != 0)
                        free(want_all[i]);
        for (size_t i = 0; i < n_big; i++)
                free(want_big[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_list_plans, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_paging, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
