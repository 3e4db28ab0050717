/* test-store-stage.c — daemon/store/store-stage.c: a secret's pending and
 * previous versions, and what the KEK queries see of them.
 *
 * Shows: a staged row is kept and read back whole (sealed bytes, version,
 * KEK, created, grace, deadline), one per stage (a second put of a stage
 * replaces it); delete of a stage is -ENOENT when absent, delete_all
 * counts; the version maximum spans the current row and the staged ones;
 * the summary counts previous rows and gives the earliest deadline; the
 * expired query finds previous rows due at a time and no pending one;
 * rewrap replaces bytes and KEK only at the version given; the KEK counts
 * and stale batches include staged rows (with their stage), and
 * plugin_delete_all removes them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-store.h"

static void stage_put(Store *s, const char *name, RecordStage stage, int64_t version, int64_t kek, const char *sealed,
                      int64_t grace, int64_t deadline) {
        StoredStage st = {
                .stage = stage,
                .version = version,
                .kek_version = kek,
                .created_at = 100 + version,
                .grace = grace,
                .deadline = deadline,
                .sealed = (uint8_t *) sealed,
                .sealed_size = strlen(sealed),
                .mac = { .bytes = { 0x6d }, .size = RECORD_MAC_SIZE }, /* opaque to the store */
        };
        assert_int_equal(store_stage_put(s, "p", name, &st), 0);
}

static void assert_stage(Store *s, const char *name, RecordStage stage, int64_t version, const char *sealed) {
        StoredStage st = {};
        int r = store_stage_get(s, "p", name, stage, &st);
        if (!sealed) {
                assert_int_equal(r, -ENOENT);
                return;
        }
        assert_int_equal(r, 0);
        assert_int_equal(st.stage, stage);
        assert_int_equal(st.version, version);
        assert_int_equal(st.created_at, 100 + version);
        assert_int_equal(st.sealed_size, strlen(sealed));
        assert_memory_equal(st.sealed, sealed, st.sealed_size);
        stored_stage_done(&st);
}

static void test_put_get_delete(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        StoredStage st = {};
        int64_t n = -1;

        assert_stage(s, "k", RECORD_STAGE_PENDING, 0, NULL);
        stage_put(s, "k", RECORD_STAGE_PENDING, 2, 1, "pending-2", 30, 0);
        stage_put(s, "k", RECORD_STAGE_PREVIOUS, 1, 2, "previous-1", 30, 5000);
        assert_stage(s, "k", RECORD_STAGE_PENDING, 2, "pending-2");
        assert_stage(s, "k", RECORD_STAGE_PREVIOUS, 1, "previous-1");
        assert_int_equal(store_stage_get(s, "p", "k", RECORD_STAGE_PREVIOUS, &st), 0);
        assert_int_equal(st.kek_version, 2);
        assert_int_equal(st.grace, 30);
        assert_int_equal(st.deadline, 5000);
        stored_stage_done(&st);
        assert_int_equal(store_stage_get(s, "p", "k", RECORD_STAGE_PENDING, &st), 0);
        assert_int_equal(st.deadline, 0); /* NULL in the row */
        stored_stage_done(&st);

        /* One row per stage: a second pending replaces the first. */
        stage_put(s, "k", RECORD_STAGE_PENDING, 3, 1, "pending-3", 60, 0);
        assert_stage(s, "k", RECORD_STAGE_PENDING, 3, "pending-3");
        /* Only the two staged stages have rows here. */
        st = (StoredStage) { .stage = RECORD_STAGE_CURRENT,
                             .version = 9,
                             .kek_version = 1,
                             .sealed = (uint8_t *) "x",
                             .sealed_size = 1 };
        assert_int_equal(store_stage_put(s, "p", "k", &st), -EINVAL);

        assert_int_equal(store_stage_delete(s, "p", "k", RECORD_STAGE_PENDING), 0);
        assert_int_equal(store_stage_delete(s, "p", "k", RECORD_STAGE_PENDING), -ENOENT);
        assert_stage(s, "k", RECORD_STAGE_PREVIOUS, 1, "previous-1");
        stage_put(s, "k", RECORD_STAGE_PENDING, 4, 1, "pending-4", 60, 0);
        stage_put(s, "other", RECORD_STAGE_PENDING, 1, 1, "other", 60, 0);
        assert_int_equal(store_stage_delete_all(s, "p", "k", &n), 0);
        assert_int_equal(n, 2);
        assert_stage(s, "k", RECORD_STAGE_PREVIOUS, 0, NULL);
        assert_stage(s, "other", RECORD_STAGE_PENDING, 1, "other");
}

static void test_version_max(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        int64_t v = -1;

        assert_int_equal(store_secret_version_max(s, "p", "k", &v), 0);
        assert_int_equal(v, 0);
        stage_put(s, "k", RECORD_STAGE_PENDING, 1, 1, "a", 0, 0);
        assert_int_equal(store_secret_version_max(s, "p", "k", &v), 0);
        assert_int_equal(v, 1);
        put_record(s, RECORD_SECRET, "p", "k", 3, 10, "cur");
        assert_int_equal(store_secret_version_max(s, "p", "k", &v), 0);
        assert_int_equal(v, 3);
        stage_put(s, "k", RECORD_STAGE_PREVIOUS, 7, 1, "b", 0, 10);
        assert_int_equal(store_secret_version_max(s, "p", "k", &v), 0);
        assert_int_equal(v, 7);
        /* Another secret's versions, or a token's, do not count. */
        put_record(s, RECORD_TOKEN, "p", "k", 50, 10, "tok");
        put_record(s, RECORD_SECRET, "p", "k2", 40, 10, "other");
        assert_int_equal(store_secret_version_max(s, "p", "k", &v), 0);
        assert_int_equal(v, 7);
}

static void test_summary_and_expired(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        StoredRecordRef *refs = NULL;
        int64_t n = -1, next = -1;
        size_t n_refs = 0;

        assert_int_equal(store_stage_summary(s, &n, &next), 0);
        assert_int_equal(n, 0);
        assert_int_equal(next, 0);
        stage_put(s, "a", RECORD_STAGE_PREVIOUS, 1, 1, "a", 10, 300);
        stage_put(s, "b", RECORD_STAGE_PREVIOUS, 1, 1, "b", 10, 200);
        stage_put(s, "c", RECORD_STAGE_PENDING, 2, 1, "c", 10, 0);
        assert_int_equal(store_stage_summary(s, &n, &next), 0);
        assert_int_equal(n, 2);
        assert_int_equal(next, 200);

        assert_int_equal(store_stage_expired(s, 199, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 0);
        stored_record_refs_free(refs, n_refs);
        assert_int_equal(store_stage_expired(s, 200, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 1);
        assert_string_equal(refs[0].name, "b");
        assert_int_equal(refs[0].stage, RECORD_STAGE_PREVIOUS);
        stored_record_refs_free(refs, n_refs);
        /* Earliest first, up to the limit; never a pending row. */
        assert_int_equal(store_stage_expired(s, 1000, 1, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 1);
        assert_string_equal(refs[0].name, "b");
        stored_record_refs_free(refs, n_refs);
        assert_int_equal(store_stage_expired(s, 1000, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 2);
        stored_record_refs_free(refs, n_refs);
}

static void test_kek_queries(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        StoredRecordRef *refs = NULL;
        size_t n_refs = 0;
        int64_t n = -1;

        put_record(s, RECORD_SECRET, "p", "k", 1, 10, "cur"); /* KEK 1 */
        stage_put(s, "k", RECORD_STAGE_PENDING, 3, 1, "pend", 0, 0);
        stage_put(s, "k", RECORD_STAGE_PREVIOUS, 2, 2, "prev", 0, 99);
        assert_int_equal(store_kek_records(s, 1, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(store_kek_records(s, 2, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_kek_records_not(s, 2, &n), 0);
        assert_int_equal(n, 2);

        /* A rewrap's batch names the staged row with its stage. */
        assert_int_equal(store_record_stale(s, 2, 10, &refs, &n_refs), 0);
        assert_int_equal(n_refs, 2);
        bool pending_seen = false;
        for (size_t i = 0; i < n_refs; i++) {
                assert_int_equal(refs[i].kind, RECORD_SECRET);
                pending_seen |= refs[i].stage == RECORD_STAGE_PENDING;
        }
        assert_true(pending_seen);
        stored_record_refs_free(refs, n_refs);

        assert_int_equal(store_stage_rewrap(s, "p", "k", RECORD_STAGE_PENDING, 2, 2, (const uint8_t *) "x", 1),
                         -ENOENT);
        assert_int_equal(store_stage_rewrap(s, "p", "k", RECORD_STAGE_PENDING, 3, 2, (const uint8_t *) "new", 3), 0);
        assert_stage(s, "k", RECORD_STAGE_PENDING, 3, "new");
        assert_int_equal(store_kek_records(s, 1, &n), 0);
        assert_int_equal(n, 1);

        /* A plugin removed whole takes its staged rows. */
        PluginRemoved d = {};
        assert_int_equal(store_plugin_delete_all(s, "p", &d), 0);
        assert_int_equal(d.secrets, 1);
        assert_int_equal(d.staged, 2);
        assert_int_equal(store_kek_records(s, 2, &n), 0);
        assert_int_equal(n, 0);
        /* Only staged rows: still something to remove. */
        stage_put(s, "only", RECORD_STAGE_PENDING, 1, 1, "x", 0, 0);
        assert_int_equal(store_plugin_delete_all(s, "p", &d), 0);
        assert_int_equal(d.staged, 1);
        assert_int_equal(store_plugin_delete_all(s, "p", &d), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_get_delete, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_version_max, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_summary_and_expired, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_kek_queries, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
