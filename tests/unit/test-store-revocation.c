/* test-store-revocation.c — daemon/store/store-revocation.c and its part
 * in the KEK queries (store-kek.c).
 *
 * Shows, through store.h: a queued revocation is the token row's sealed
 * bytes, version and KEK exactly (binary-safe), -ENOENT without a token
 * row; get is by plugin and id; retry sets the schedule and the error;
 * list pages by id and carries no sealed bytes; the expired query goes
 * by deleted_at; the summary counts and finds the earliest next_at; the
 * KEK counts and the rewrap's stale query include the rows (with their
 * id), and a rewrap replaces the bytes of that version only; a plugin's
 * rows go together; the walk for checking a copy gives every row. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-store.h"

static void put_token(Store *s, const char *plugin, const char *user, int64_t version, int64_t kek, const char *sealed,
                      size_t size) {
        StoredRecord rec = {
                .version = version,
                .kek_version = kek,
                .sealed = (uint8_t *) sealed,
                .sealed_size = size,
                .updated_at = 1000,
        };
        assert_int_equal(store_record_put(s, RECORD_TOKEN, plugin, user, &rec), 0);
}

static int walk_count(const char *plugin, const char *name, const StoredRecord *rec, void *userdata) {
        (void) plugin, (void) name, (void) rec;
        (*(int *) userdata)++;
        return 0;
}

static void test_queue_get_retry_delete(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        StoredRevocation row = {};
        int64_t id = 0, id2 = 0;

        assert_int_equal(store_revocation_queue(s, "p", "u", 100, 100000, &id), -ENOENT);
        put_token(s, "p", "u", 3, 1, "\x00\x01\x02\xff", 4);
        put_token(s, "p", "v", 1, 2, "vv", 2);
        put_token(s, "q", "u", 1, 2, "qq", 2);
        assert_int_equal(store_revocation_queue(s, "p", "u", 100, 100000, &id), 0);
        assert_int_equal(store_revocation_queue(s, "p", "v", 200, 200000, &id2), 0);
        assert_true(id2 > id);

        assert_int_equal(store_revocation_get(s, "p", id, &row), 0);
        assert_int_equal(row.id, id);
        assert_string_equal(row.plugin, "p");
        assert_string_equal(row.user, "u");
        assert_int_equal(row.version, 3);
        assert_int_equal(row.kek_version, 1);
        assert_int_equal(row.deleted_at, 100);
        assert_int_equal(row.next_at, 100000);
        assert_int_equal(row.attempts, 0);
        assert_null(row.last_error);
        assert_int_equal(row.sealed_size, 4);
        assert_memory_equal(row.sealed, "\x00\x01\x02\xff", 4);
        stored_revocation_done(&row);
        assert_int_equal(store_revocation_get(s, "q", id, &row), -ENOENT);

        assert_int_equal(store_revocation_retry(s, id, 2, 150000, "server_error"), 0);
        assert_int_equal(store_revocation_get(s, "p", id, &row), 0);
        assert_int_equal(row.attempts, 2);
        assert_int_equal(row.next_at, 150000);
        assert_string_equal(row.last_error, "server_error");
        stored_revocation_done(&row);
        assert_int_equal(store_revocation_retry(s, 999, 1, 1, NULL), -ENOENT);

        StoredRevocation *rows = NULL;
        size_t n = 0;
        assert_int_equal(store_revocation_list(s, "p", 0, 10, &rows, &n), 0);
        assert_int_equal(n, 2);
        assert_null(rows[0].sealed);
        assert_string_equal(rows[1].user, "v");
        stored_revocations_free(rows, n);
        assert_int_equal(store_revocation_list(s, "p", id, 10, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(rows[0].id, id2);
        stored_revocations_free(rows, n);
        assert_int_equal(store_revocation_list(s, "p", 0, 1, &rows, &n), 0);
        assert_int_equal(n, 1);
        stored_revocations_free(rows, n);

        assert_int_equal(store_revocation_expired(s, 150, 10, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(rows[0].id, id);
        stored_revocations_free(rows, n);

        int64_t pending = 0, next = 0;
        assert_int_equal(store_revocation_summary(s, &pending, &next), 0);
        assert_int_equal(pending, 2);
        assert_int_equal(next, 150000);

        int walked = 0;
        assert_int_equal(store_revocation_foreach(s, walk_count, &walked), 0);
        assert_int_equal(walked, 2);

        assert_int_equal(store_revocation_delete(s, id), 0);
        assert_int_equal(store_revocation_delete(s, id), -ENOENT);
        assert_int_equal(store_revocation_queue(s, "q", "u", 1, 1, NULL), 0);
        assert_int_equal(store_revocation_delete_plugin(s, "p", &pending), 0);
        assert_int_equal(pending, 1);
        assert_int_equal(store_revocation_summary(s, &pending, &next), 0);
        assert_int_equal(pending, 1);
}

static void test_kek_queries(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        int64_t id = 0, n = 0;

        put_token(s, "p", "u", 5, 1, "old", 3);
        assert_int_equal(store_revocation_queue(s, "p", "u", 1, 1, &id), 0);
        assert_int_equal(store_record_delete(s, RECORD_TOKEN, "p", "u"), 0);

        assert_int_equal(store_kek_records(s, 1, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_kek_records_not(s, 2, &n), 0);
        assert_int_equal(n, 1);
        StoredRecordRef *refs = NULL;
        size_t n_refs = 0;
        assert_int_equal(store_record_stale(s, 2, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 1);
        assert_int_equal(refs[0].kind, RECORD_TOKEN);
        assert_int_equal(refs[0].revocation, id);
        assert_string_equal(refs[0].plugin, "p");
        assert_string_equal(refs[0].name, "u");
        stored_record_refs_free(refs, n_refs);

        /* Only that version is replaced. */
        assert_int_equal(store_revocation_rewrap(s, id, 4, 2, (const uint8_t *) "new", 3), -ENOENT);
        assert_int_equal(store_revocation_rewrap(s, id, 5, 2, (const uint8_t *) "new", 3), 0);
        assert_int_equal(store_kek_records(s, 1, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(store_kek_records(s, 2, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_record_stale(s, 2, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 0);
        free(refs);
        StoredRevocation row = {};
        assert_int_equal(store_revocation_get(s, "p", id, &row), 0);
        assert_memory_equal(row.sealed, "new", 3);
        assert_int_equal(row.kek_version, 2);
        stored_revocation_done(&row);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_queue_get_retry_delete, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_kek_queries, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
