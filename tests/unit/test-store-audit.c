/* test-store-audit.c — daemon/store/store-audit.c: the audit trail's rows
 * and anchor.
 *
 * Shows: an empty trail's head is 0 with no MAC and it has no anchor;
 * appended rows come back in seq order with every field and the MAC as
 * given ("" stored as NULL and read back as ""), and the head is the last
 * row; a seq appended twice is -EUCLEAN, and so is a row a trigger
 * silently drops (RAISE(IGNORE)), with a reason of the store's own; list
 * filters by since, until, plugin, op, unit and uid, pages after a seq and
 * stops at the limit; it reads at most AUDIT_LIST_SCAN_MAX rows a call,
 * giving a cursor past them even with no record found, and none at the
 * end; prune removes only the prefix older than the cut (a record after an
 * older one stays: the clock went back), never the last record, makes the
 * last removed record's seq and MAC the anchor, and does nothing when
 * nothing is older; it shows every row it would remove to its check
 * first, and removes nothing if the check refuses; a row with a field too
 * long for AuditEntry reads with a MAC of size 0; foreach stops at a
 * negative return and at the seq asked. The store needs no libsodium for
 * any of it: the MACs are bytes the test makes up. */
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

/* Record seq at time t, its MAC 32 bytes of seq. */
static AuditEntry entry(int64_t seq, int64_t t, uint32_t uid, const char *unit, const char *op, const char *plugin) {
        AuditEntry e = { .seq = seq, .time_usec = t, .uid = uid, .gid = uid + 1, .pid = (int32_t) (1000 + seq) };
        snprintf(e.unit, sizeof(e.unit), "%s", unit);
        snprintf(e.op, sizeof(e.op), "%s", op);
        snprintf(e.plugin, sizeof(e.plugin), "%s", plugin);
        snprintf(e.object, sizeof(e.object), "obj-%lld", (long long) seq);
        snprintf(e.result, sizeof(e.result), "%s", seq % 2 ? "ok" : "not_found");
        e.revealed = seq % 3 == 0;
        memset(e.mac.bytes, (int) seq, RECORD_MAC_SIZE);
        e.mac.size = RECORD_MAC_SIZE;
        return e;
}

static void append(Store *s, const AuditEntry *e, size_t n) {
        assert_int_equal(store_begin(s), 0);
        int r = store_audit_append(s, e, n, NULL);
        if (r != 0)
                fail_msg("append: %d", r);
        assert_int_equal(store_commit(s), 0);
}

/* Six records: times 100..600, uid 7 for the odd ones, plugin "p" for
 * seq <= 3, unit "a.service" for even ones. */
static void append_six(Store *s) {
        AuditEntry e[6];
        for (int i = 0; i < 6; i++) {
                int64_t seq = i + 1;
                e[i] = entry(seq, seq * 100, seq % 2 ? 7 : 8, seq % 2 ? "" : "a.service",
                             seq == 4 ? "secret.get" : "secret.put", seq <= 3 ? "p" : "q");
        }
        append(s, e, 6);
}

/* The seqs a page gives, as "1 2 3" ("" for none); returns its cursor. */
static int64_t list_page(Store *s, const AuditFilter *f, int64_t after, unsigned limit, const char *want) {
        AuditEntry *got = NULL;
        size_t n = 99;
        int64_t next = -1;
        char seqs[256] = "";

        assert_int_equal(store_audit_list(s, f, after, limit, &got, &n, &next), 0);
        for (size_t i = 0, at = 0; i < n; i++)
                at += (size_t) snprintf(seqs + at, sizeof(seqs) - at, "%s%lld", i ? " " : "", (long long) got[i].seq);
        free(got);
        assert_string_equal(seqs, want);
        assert_true(next == 0 || next > after);
        return next;
}

static void assert_list(Store *s, const AuditFilter *f, int64_t after, unsigned limit, const char *want) {
        (void) list_page(s, f, after, limit, want);
}

static void test_append_and_read(void **state) {
        Fixture *f = *state;
        int64_t seq = -1;
        RecordMac mac = { .size = 99 };

        assert_int_equal(store_audit_head(f->store, &seq, &mac), 0);
        assert_int_equal(seq, 0);
        assert_int_equal(mac.size, 0);
        assert_int_equal(store_audit_anchor_get(f->store, &seq, &mac), -ENOENT);

        append_six(f->store);
        assert_int_equal(store_audit_head(f->store, &seq, &mac), 0);
        assert_int_equal(seq, 6);
        assert_int_equal(mac.size, RECORD_MAC_SIZE);
        assert_int_equal(mac.bytes[0], 6);

        AuditEntry *got = NULL;
        size_t n = 0;
        assert_int_equal(store_audit_list(f->store, NULL, 0, 10, &got, &n, NULL), 0);
        assert_int_equal(n, 6);
        for (size_t i = 0; i < n; i++) {
                AuditEntry want =
                        entry((int64_t) i + 1, ((int64_t) i + 1) * 100, i % 2 ? 8 : 7, i % 2 ? "a.service" : "",
                              i == 3 ? "secret.get" : "secret.put", i < 3 ? "p" : "q");
                assert_int_equal(got[i].seq, want.seq);
                assert_int_equal(got[i].time_usec, want.time_usec);
                assert_int_equal(got[i].uid, want.uid);
                assert_int_equal(got[i].gid, want.gid);
                assert_int_equal(got[i].pid, want.pid);
                assert_int_equal(got[i].revealed, want.revealed);
                assert_string_equal(got[i].unit, want.unit);
                assert_string_equal(got[i].op, want.op);
                assert_string_equal(got[i].plugin, want.plugin);
                assert_string_equal(got[i].object, want.object);
                assert_string_equal(got[i].result, want.result);
                assert_int_equal(got[i].mac.size, RECORD_MAC_SIZE);
                assert_memory_equal(got[i].mac.bytes, want.mac.bytes, RECORD_MAC_SIZE);
        }
        free(got);

        /* No unit is NULL in the file, not "". */
        sqlite3 *db = db_open_independent(f->db_path);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM audit WHERE unit IS NULL"), 3);
        sqlite3_close(db);

        /* A seq that is there already. */
        AuditEntry again = entry(6, 700, 7, "", "secret.put", "p");
        assert_int_equal(store_begin(f->store), 0);
        const char *reason = "unset";
        assert_int_equal(store_audit_append(f->store, &again, 1, &reason), -EUCLEAN);
        assert_null(reason); /* SQLite's own message says why */
        store_rollback(f->store);

        /* After a reopen, the same. */
        assert_int_equal(fixture_reopen(f), 0);
        assert_int_equal(store_audit_head(f->store, &seq, &mac), 0);
        assert_int_equal(seq, 6);
        assert_list(f->store, NULL, 0, 10, "1 2 3 4 5 6");
}

static void test_list_filters(void **state) {
        Fixture *f = *state;

        append_six(f->store);
        assert_list(f->store, &((AuditFilter) { .uid = -1, .since_usec = 300 }), 0, 10, "3 4 5 6");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .until_usec = 300 }), 0, 10, "1 2");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .since_usec = 250, .until_usec = 501 }), 0, 10, "3 4 5");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .since_usec = 601 }), 0, 10, "");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .until_usec = 100 }), 0, 10, "");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .plugin = "p" }), 0, 10, "1 2 3");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .op = "secret.get" }), 0, 10, "4");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .unit = "a.service" }), 0, 10, "2 4 6");
        assert_list(f->store, &((AuditFilter) { .uid = -1, .unit = "" }), 0, 10, "1 3 5");
        assert_list(f->store, &((AuditFilter) { .uid = 7 }), 0, 10, "1 3 5");
        assert_list(f->store, &((AuditFilter) { .uid = 7, .plugin = "q" }), 0, 10, "5");
        assert_list(f->store, &((AuditFilter) { .uid = 9 }), 0, 10, "");
        /* Paging: after a seq, up to the limit. */
        assert_list(f->store, NULL, 0, 2, "1 2");
        assert_list(f->store, NULL, 2, 2, "3 4");
        assert_list(f->store, NULL, 6, 2, "");
        assert_list(f->store, &((AuditFilter) { .uid = 8, .since_usec = 200 }), 2, 1, "4");
        assert_list(f->store, NULL, 0, 0, "");
        /* The cursor: the last record of a full page, none at the end. */
        assert_int_equal(list_page(f->store, NULL, 0, 2, "1 2"), 2);
        assert_int_equal(list_page(f->store, NULL, 4, 2, "5 6"), 0);
        assert_int_equal(list_page(f->store, NULL, 4, 10, "5 6"), 0);
        assert_int_equal(list_page(f->store, &((AuditFilter) { .uid = -1, .plugin = "p" }), 0, 10, "1 2 3"), 0);
}

/* Rows 1..n at time 100 + seq, plugin "q" but for the seqs in p. */
static void append_many(Store *s, int64_t n, const int64_t *p, size_t n_p) {
        enum { CHUNK = 1000 };
        AuditEntry *e = calloc(CHUNK, sizeof(AuditEntry));
        assert_non_null(e);
        assert_int_equal(store_begin(s), 0);
        for (int64_t first = 1; first <= n; first += CHUNK) {
                size_t k = 0;
                for (int64_t seq = first; seq <= n && k < CHUNK; seq++) {
                        bool is_p = false;
                        for (size_t i = 0; i < n_p; i++)
                                is_p = is_p || p[i] == seq;
                        e[k++] = entry(seq, 100 + seq, 7, "", "secret.get", is_p ? "p" : "q");
                }
                assert_int_equal(store_audit_append(s, e, k, NULL), 0);
        }
        assert_int_equal(store_commit(s), 0);
        free(e);
}

/* A filter that matches little reads a bounded window of rows a call,
 * and says where to go on: a page of none that is not the last. */
static void test_list_scan_bounded(void **state) {
        Fixture *f = *state;
        const int64_t n = AUDIT_LIST_SCAN_MAX + 10, late = AUDIT_LIST_SCAN_MAX + 5;
        const AuditFilter only_p = { .uid = -1, .plugin = "p" };
        char want[32];

        append_many(f->store, n, (const int64_t[]) { 3, late }, 2);
        snprintf(want, sizeof(want), "%lld", (long long) late);

        /* The window ends before late: 3 only, and a cursor past it. */
        assert_int_equal(list_page(f->store, &only_p, 0, 10, "3"), AUDIT_LIST_SCAN_MAX);
        assert_int_equal(list_page(f->store, &only_p, AUDIT_LIST_SCAN_MAX, 10, want), 0);
        /* Full at 3; then none in the next window, still not the end. */
        assert_int_equal(list_page(f->store, &only_p, 0, 1, "3"), 3);
        assert_int_equal(list_page(f->store, &only_p, 3, 1, ""), 3 + AUDIT_LIST_SCAN_MAX);
        assert_int_equal(list_page(f->store, &only_p, 3 + AUDIT_LIST_SCAN_MAX, 1, want), late);
        assert_int_equal(list_page(f->store, &only_p, late, 1, ""), 0);
        /* A walk page by page finds both, and ends. */
        int64_t after = 0;
        int pages = 0;
        size_t found = 0;
        do {
                AuditEntry *got = NULL;
                size_t k = 0;
                int64_t next = -1;
                assert_int_equal(store_audit_list(f->store, &only_p, after, 100, &got, &k, &next), 0);
                found += k;
                free(got);
                assert_true(next == 0 || next > after);
                after = next;
                assert_true(++pages < 10);
        } while (after > 0);
        assert_int_equal(found, 2);
        assert_int_equal(pages, 2);
        /* Past a prefix removed by a prune, the window starts at the first
         * row there is, not at the cursor. */
        char sql[128];
        snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq <= %lld", (long long) (late - 100));
        sql_exec(f->db_path, sql);
        assert_int_equal(list_page(f->store, &only_p, 0, 10, want), 0);
        /* until ends the range: nothing after it, and no cursor. */
        assert_int_equal(
                list_page(f->store, &((AuditFilter) { .uid = -1, .plugin = "p", .until_usec = 100 + late }), 0, 10, ""),
                0);
}

/* A row a trigger drops without an error is not appended. */
static void test_append_dropped(void **state) {
        Fixture *f = *state;
        const char *reason = NULL;

        append_six(f->store);
        sql_exec(f->db_path, "CREATE TRIGGER drop_beta BEFORE INSERT ON audit WHEN new.plugin = 'beta' "
                             "BEGIN SELECT RAISE(IGNORE); END");
        AuditEntry e[2] = {
                entry(7, 700, 7, "", "secret.get", "alpha"),
                entry(8, 800, 7, "", "secret.get", "beta"),
        };
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_append(f->store, e, 2, &reason), -EUCLEAN);
        assert_non_null(reason);
        assert_non_null(strstr(reason, "did not keep"));
        store_rollback(f->store);
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_append(f->store, &e[1], 1, NULL), -EUCLEAN);
        store_rollback(f->store);
        /* Others still go in. */
        append(f->store, e, 1);
        assert_list(f->store, NULL, 0, 10, "1 2 3 4 5 6 7");
}

static void assert_anchor(Store *s, int64_t want_seq) {
        int64_t seq = -1;
        RecordMac mac = {};
        assert_int_equal(store_audit_anchor_get(s, &seq, &mac), 0);
        assert_int_equal(seq, want_seq);
        assert_int_equal(mac.size, RECORD_MAC_SIZE);
        assert_int_equal(mac.bytes[0], want_seq); /* the removed record's MAC */
}

static void prune(Store *s, int64_t before, int64_t want_through, int64_t want_removed) {
        int64_t through = -1, removed = -1;
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_audit_prune(s, before, NULL, NULL, &through, &removed), 0);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(through, want_through);
        assert_int_equal(removed, want_removed);
}

static void test_prune(void **state) {
        Fixture *f = *state;
        int64_t seq;
        RecordMac mac;

        /* Nothing to prune in an empty trail. */
        prune(f->store, 1000, 0, 0);
        assert_int_equal(store_audit_anchor_get(f->store, &seq, &mac), -ENOENT);

        append_six(f->store);
        prune(f->store, 50, 0, 0); /* nothing older */
        assert_int_equal(store_audit_anchor_get(f->store, &seq, &mac), -ENOENT);
        prune(f->store, 250, 2, 2);
        assert_anchor(f->store, 2);
        assert_list(f->store, NULL, 0, 10, "3 4 5 6");
        prune(f->store, 250, 2, 0); /* again: the anchor stays */
        assert_anchor(f->store, 2);
        /* Everything is older: all but the last record. */
        prune(f->store, 10000, 5, 3);
        assert_anchor(f->store, 5);
        assert_list(f->store, NULL, 0, 10, "6");
        prune(f->store, 10000, 5, 0);
        assert_int_equal(store_audit_head(f->store, &seq, &mac), 0);
        assert_int_equal(seq, 6);

        /* The clock went back: 7 at 900, 8 at 650, 9 at 1000. Before 700
         * is only the prefix up to 6, which is the anchor... */
        AuditEntry e[3] = {
                entry(7, 900, 7, "", "secret.put", "p"),
                entry(8, 650, 7, "", "secret.put", "p"),
                entry(9, 1000, 7, "", "secret.put", "p"),
        };
        append(f->store, e, 3);
        prune(f->store, 700, 6, 1);
        assert_list(f->store, NULL, 0, 10, "7 8 9");
        /* ...and 8, older than 800, stays behind 7, which is not. */
        prune(f->store, 800, 6, 0);
        assert_list(f->store, NULL, 0, 10, "7 8 9");
        assert_anchor(f->store, 6);

        /* The head of a trail whose rows are gone is the anchor. */
        sql_exec(f->db_path, "DELETE FROM audit");
        assert_int_equal(store_audit_head(f->store, &seq, &mac), 0);
        assert_int_equal(seq, 6);
        assert_int_equal(mac.bytes[0], 6);
}

/* A gap where the anchor would go: rows removed behind the store's back. */
static void test_prune_refuses_gap(void **state) {
        Fixture *f = *state;
        int64_t through, removed;

        append_six(f->store);
        sql_exec(f->db_path, "DELETE FROM audit WHERE seq = 3");
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_prune(f->store, 350, NULL, NULL, &through, &removed), -EUCLEAN);
        store_rollback(f->store);
        assert_list(f->store, NULL, 0, 10, "1 2 4 5 6");
}

/* Every row a prune would remove, shown first; a refusal removes none. */
typedef struct Seen {
        int64_t seqs[16];
        size_t n;
        int64_t refuse_at;
} Seen;

static int seen_one(const AuditEntry *e, void *userdata) {
        Seen *w = userdata;
        if (e->seq == w->refuse_at)
                return -EUCLEAN;
        w->seqs[w->n++] = e->seq;
        return 0;
}

static void test_prune_checks_first(void **state) {
        Fixture *f = *state;
        int64_t through = -1, removed = -1, seq;
        RecordMac mac;

        append_six(f->store);
        Seen w = { .refuse_at = 2 };
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_prune(f->store, 450, seen_one, &w, &through, &removed), -EUCLEAN);
        store_rollback(f->store);
        assert_int_equal(w.n, 1);
        assert_int_equal(w.seqs[0], 1);
        assert_list(f->store, NULL, 0, 10, "1 2 3 4 5 6");
        assert_int_equal(store_audit_anchor_get(f->store, &seq, &mac), -ENOENT);

        /* Accepted: rows 1..4 were shown, in order, then removed. */
        w = (Seen) { .refuse_at = -1 };
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_prune(f->store, 450, seen_one, &w, &through, &removed), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_int_equal(w.n, 4);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(w.seqs[i], (int64_t) i + 1);
        assert_int_equal(through, 4);
        assert_int_equal(removed, 4);

        /* Nothing to remove: nothing shown. */
        w = (Seen) { .refuse_at = -1 };
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_prune(f->store, 450, seen_one, &w, &through, &removed), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_int_equal(w.n, 0);

        /* The new anchor's row missing: the rows before it shown, then
         * -EUCLEAN. */
        sql_exec(f->db_path, "DELETE FROM audit WHERE seq = 5");
        w = (Seen) { .refuse_at = -1 };
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_audit_prune(f->store, 10000, seen_one, &w, &through, &removed), -EUCLEAN);
        store_rollback(f->store);
        assert_int_equal(w.n, 0); /* rows up to 5, of which none is left */
        assert_list(f->store, NULL, 0, 10, "6");
}

typedef struct Walk {
        int64_t seqs[16];
        size_t macs[16];
        size_t n, stop_after;
} Walk;

static int walk_one(const AuditEntry *e, void *userdata) {
        Walk *w = userdata;
        w->macs[w->n] = e->mac.size;
        w->seqs[w->n++] = e->seq;
        return w->n >= w->stop_after ? -ECANCELED : 0;
}

static void test_foreach(void **state) {
        Fixture *f = *state;
        Walk w = { .stop_after = SIZE_MAX };
        char sql[512];

        append_six(f->store);
        /* Fields an AuditEntry cannot hold, or holds differently. */
        snprintf(sql, sizeof(sql), "UPDATE audit SET unit = replace(hex(zeroblob(%d)), '00', 'u') WHERE seq = 2",
                 AUDIT_UNIT_SIZE_MAX + 1);
        sql_exec(f->db_path, sql);
        sql_exec(f->db_path, "UPDATE audit SET uid = 4294967296 WHERE seq = 3;"
                             "UPDATE audit SET object = 'a' || char(0) || 'b' WHERE seq = 4;");
        assert_int_equal(store_audit_foreach(f->store, INT64_MAX, walk_one, &w), 0);
        assert_int_equal(w.n, 6);
        for (size_t i = 0; i < 6; i++) {
                assert_int_equal(w.seqs[i], (int64_t) i + 1);
                assert_int_equal(w.macs[i], i >= 1 && i <= 3 ? 0 : RECORD_MAC_SIZE);
        }
        /* A unit of exactly the largest size still fits. */
        snprintf(sql, sizeof(sql), "UPDATE audit SET unit = replace(hex(zeroblob(%d)), '00', 'u') WHERE seq = 2",
                 AUDIT_UNIT_SIZE_MAX);
        sql_exec(f->db_path, sql);
        w = (Walk) { .stop_after = SIZE_MAX };
        assert_int_equal(store_audit_foreach(f->store, INT64_MAX, walk_one, &w), 0);
        assert_int_equal(w.macs[1], RECORD_MAC_SIZE);

        w = (Walk) { .stop_after = 2 };
        assert_int_equal(store_audit_foreach(f->store, INT64_MAX, walk_one, &w), -ECANCELED);
        assert_int_equal(w.n, 2);

        /* Up to a seq. */
        w = (Walk) { .stop_after = SIZE_MAX };
        assert_int_equal(store_audit_foreach(f->store, 3, walk_one, &w), 0);
        assert_int_equal(w.n, 3);
        assert_int_equal(w.seqs[2], 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_append_and_read, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list_filters, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list_scan_bounded, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_append_dropped, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_prune_checks_first, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_prune, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_prune_refuses_gap, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_foreach, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
