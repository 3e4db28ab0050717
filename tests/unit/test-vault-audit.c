/* test-vault-audit.c — daemon/vault/vault-audit.c: the audit trail's MAC
 * chain, batch and staged records.
 *
 * Shows, through vault.h only: a staged record commits with its write
 * (result "ok"), after the records queued before it, and the request's
 * final record then adds nothing; records added outside a write wait in
 * the batch until a flush or the next write; the chain verifies, and
 * goes on across a reopen. With the vault closed, someone with the file
 * edits a field, deletes a middle record, swaps two records, appends a
 * forged one, or deletes the oldest and forges the anchor: verify says
 * where (bad_seq) and what. A prune removes the oldest records with the
 * anchor and its own record ("through SEQ") in one commit, never the
 * last record, and the chain still verifies; it wants a staged record.
 * A prune checks what it would remove first: a record edited or missing
 * among them, or an anchor no prune record names, and it removes nothing
 * (-EUCLEAN, saying where and what); tampering among the records it keeps
 * stays for verify to find.
 * A write whose records cannot be appended does not happen (-ESHUTDOWN),
 * and the numbers it took are given again, so seq stays contiguous. A
 * table that refuses records makes the flush fail and the status say
 * so; once the batch is full, add refuses (-ESHUTDOWN) rather than drop a
 * record; the first write that succeeds again takes the whole batch and
 * clears the status. A record the table silently drops (a trigger's
 * RAISE(IGNORE)) fails the same way, and the status says so. */
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
#include "unit-vault.h"
/* For the store's own connection: see trigger_plant(). */
#include "store-internal.h"
#include "vault-internal.h"

static int64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static AuditEntry entry_at(int64_t t, const char *op, const char *plugin, const char *object, const char *result) {
        AuditEntry e = { .time_usec = t, .uid = 1000, .gid = 1000, .pid = 4242 };
        snprintf(e.unit, sizeof(e.unit), "app.service");
        snprintf(e.op, sizeof(e.op), "%s", op);
        snprintf(e.plugin, sizeof(e.plugin), "%s", plugin);
        snprintf(e.object, sizeof(e.object), "%s", object);
        snprintf(e.result, sizeof(e.result), "%s", result);
        return e;
}

static AuditEntry entry(const char *op, const char *object, const char *result) {
        return entry_at(now_usec(), op, "todo", object, result);
}

/* A read's record: added, waits in the batch. */
static void add_read(Vault *v, const char *object) {
        AuditEntry e = entry("secret.get", object, "ok");
        e.revealed = true;
        assert_int_equal(vault_audit_add(v, &e), 0);
}

/* A write as dispatch runs it: stage, the vault call, the final record. */
static int staged_put(Vault *v, const char *name) {
        AuditEntry e = entry("secret.put", name, "");
        vault_audit_stage(v, &e);
        int r = vault_secret_put(v, "todo", name, (const uint8_t *) "v", 1, NULL);
        snprintf(e.result, sizeof(e.result), "%s", r == 0 ? "ok" : "failed");
        assert_int_equal(vault_audit_add(v, &e), 0);
        return r;
}

/* Five records, seq 1..5, all written. */
static void make_five(Vault *v) {
        add_read(v, "a");
        add_read(v, "b");
        assert_int_equal(staged_put(v, "c"), 0);
        add_read(v, "d");
        add_read(v, "e");
        assert_int_equal(vault_audit_flush(v), 0);
}

static void assert_intact(Vault *v, int64_t want_records, int64_t want_first, int64_t want_last, int64_t want_anchor) {
        AuditVerify av = { .bad_seq = -1 };
        int r = vault_audit_verify(v, &av);
        if (r != 0)
                fail_msg("verify: %d, bad_seq %lld: %s", r, (long long) av.bad_seq, av.problem ?: "");
        assert_int_equal(av.records, want_records);
        assert_int_equal(av.first_seq, want_first);
        assert_int_equal(av.last_seq, want_last);
        assert_int_equal(av.anchor_seq, want_anchor);
}

static void assert_broken(Vault *v, int64_t want_bad, const char *want_problem) {
        AuditVerify av = {};
        int r = vault_audit_verify(v, &av);
        if (r != -EUCLEAN)
                fail_msg("verify: %d, want -EUCLEAN at %lld (%s)", r, (long long) want_bad, want_problem);
        assert_int_equal(av.bad_seq, want_bad);
        assert_string_equal(av.problem, want_problem);
}

/* Every record, in seq order. */
static size_t list_all(Vault *v, AuditEntry **ret) {
        size_t n = 0;
        assert_int_equal(vault_audit_list(v, NULL, 0, 100, ret, &n, NULL), 0);
        return n;
}

static void test_append_and_verify(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        VaultAuditStatus st;

        /* An empty trail is intact. */
        assert_intact(v, 0, 0, 0, 0);

        add_read(v, "a");
        add_read(v, "b");
        vault_audit_status(v, &st);
        assert_int_equal(st.queued, 2);
        assert_int_equal(st.last_seq, 0);
        assert_false(st.failing);

        /* The write takes the batch along, then its own record. */
        assert_int_equal(staged_put(v, "c"), 0);
        vault_audit_status(v, &st);
        assert_int_equal(st.queued, 0);
        assert_int_equal(st.last_seq, 3);

        add_read(v, "d");
        assert_int_equal(vault_audit_flush(v), 0);
        assert_int_equal(vault_audit_flush(v), 0); /* nothing queued */
        vault_audit_status(v, &st);
        assert_int_equal(st.queued, 0);
        assert_int_equal(st.last_seq, 4);

        AuditEntry *got = NULL;
        size_t n = list_all(v, &got);
        assert_int_equal(n, 4);
        static const char *const objects[] = { "a", "b", "c", "d" };
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(got[i].seq, (int64_t) i + 1);
                assert_string_equal(got[i].object, objects[i]);
                assert_string_equal(got[i].result, "ok");
                assert_string_equal(got[i].unit, "app.service");
                assert_int_equal(got[i].uid, 1000);
                assert_int_equal(got[i].mac.size, RECORD_MAC_SIZE);
        }
        assert_string_equal(got[2].op, "secret.put");
        assert_false(got[2].revealed);
        assert_true(got[3].revealed);
        free(got);
        assert_intact(v, 4, 1, 4, 0);

        /* list flushes first. */
        add_read(v, "e");
        AuditFilter filter = { .uid = -1, .op = "secret.get" };
        int64_t next = -1;
        assert_int_equal(vault_audit_list(v, &filter, 3, 10, &got, &n, &next), 0);
        assert_int_equal(n, 2);
        assert_int_equal(next, 0);
        assert_int_equal(got[0].seq, 4);
        assert_int_equal(got[1].seq, 5);
        free(got);

        /* A write that fails commits nothing: its record waits with the
         * result dispatch gives it. */
        AuditEntry del = entry("secret.delete", "nope", "");
        vault_audit_stage(v, &del);
        assert_int_equal(vault_secret_delete(v, "todo", "nope"), -ENOENT);
        snprintf(del.result, sizeof(del.result), "not_found");
        assert_int_equal(vault_audit_add(v, &del), 0);
        vault_audit_status(v, &st);
        assert_int_equal(st.queued, 1);
        assert_int_equal(st.last_seq, 5);

        /* A clean stop writes what is queued; the chain goes on after a
         * reopen. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        v = f->vault;
        vault_audit_status(v, &st);
        assert_int_equal(st.last_seq, 6);
        assert_int_equal(staged_put(v, "g"), 0);
        assert_intact(v, 7, 1, 7, 0);
        n = list_all(v, &got);
        assert_int_equal(n, 7);
        assert_string_equal(got[5].op, "secret.delete");
        assert_string_equal(got[5].result, "not_found");
        assert_string_equal(got[6].object, "g");
        free(got);
}

/* Tamper with the file while the vault is closed, reopen, verify. */
static void tamper(VaultFixture *f, const char *sql) {
        vault_fixture_close_db(f);
        sql_exec(f->db_path, sql);
        assert_int_equal(vault_fixture_reopen(f), 0);
}

/* A trigger that makes the audit table fail, as a fault to inject: a
 * vault refuses to open a file with a trigger it did not make
 * (store_schema_check()), so the vault is closed and reopened as tamper()
 * does, and the trigger created then through its own connection. */
static void trigger_plant(VaultFixture *f, const char *sql) {
        assert_int_equal(vault_fixture_reopen(f), 0);
        char *err = NULL;
        if (sqlite3_exec(f->vault->store->db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

static void test_edit_detected(void **state) {
        VaultFixture *f = *state;
        make_five(f->vault);
        assert_intact(f->vault, 5, 1, 5, 0);
        tamper(f, "UPDATE audit SET object = 'x' WHERE seq = 3");
        assert_broken(f->vault, 3, "edited, inserted or reordered");
        /* Each field is covered. */
        static const char *const edits[] = {
                "UPDATE audit SET object = 'd' WHERE seq = 3",
                "UPDATE audit SET time_usec = time_usec + 1 WHERE seq = 2",
                "UPDATE audit SET uid = 0 WHERE seq = 2",
                "UPDATE audit SET gid = 0 WHERE seq = 2",
                "UPDATE audit SET pid = 1 WHERE seq = 2",
                "UPDATE audit SET unit = NULL WHERE seq = 2",
                "UPDATE audit SET op = 'secret.list' WHERE seq = 2",
                "UPDATE audit SET plugin = 'other' WHERE seq = 2",
                "UPDATE audit SET result = 'denied' WHERE seq = 2",
                "UPDATE audit SET revealed = 0 WHERE seq = 2",
                "UPDATE audit SET mac = zeroblob(32) WHERE seq = 2",
        };
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                vault_fixture_close(f);
                assert_int_equal(vault_fixture_open(f), 0);
                make_five(f->vault);
                tamper(f, edits[i]);
                assert_broken(f->vault, i == 0 ? 3 : 2, "edited, inserted or reordered");
        }
}

static void test_delete_middle_detected(void **state) {
        VaultFixture *f = *state;
        make_five(f->vault);
        tamper(f, "DELETE FROM audit WHERE seq = 3");
        assert_broken(f->vault, 3, "missing");
}

static void test_swap_detected(void **state) {
        VaultFixture *f = *state;
        make_five(f->vault);
        /* Everything but seq, MACs included. */
        tamper(f, "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (2, 3);"
                  "UPDATE audit SET (time_usec, uid, gid, pid, unit, op, plugin, object, result, revealed, mac) = "
                  "(SELECT time_usec, uid, gid, pid, unit, op, plugin, object, result, revealed, mac FROM t "
                  "WHERE t.seq = 5 - audit.seq) WHERE seq IN (2, 3)");
        assert_broken(f->vault, 2, "edited, inserted or reordered");
}

static void test_forged_row_detected(void **state) {
        VaultFixture *f = *state;
        make_five(f->vault);
        tamper(f, "INSERT INTO audit SELECT 6, time_usec + 1, uid, gid, pid, unit, op, plugin, 'forged', result, "
                  "revealed, randomblob(32) FROM audit WHERE seq = 5");
        assert_broken(f->vault, 6, "edited, inserted or reordered");
}

static void test_prefix_removed_detected(void **state) {
        VaultFixture *f = *state;

        /* Without an anchor: the first seq is missing. */
        make_five(f->vault);
        tamper(f, "DELETE FROM audit WHERE seq <= 2");
        assert_broken(f->vault, 1, "missing");

        /* With an anchor forged from the last removed row: the chain from
         * it checks, but no prune record names it. */
        vault_fixture_close(f);
        assert_int_equal(vault_fixture_open(f), 0);
        make_five(f->vault);
        tamper(f, "INSERT INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = 2;"
                  "DELETE FROM audit WHERE seq <= 2");
        assert_broken(f->vault, 2, "records up to the anchor removed without a prune");

        /* An anchor moved past records that are still there. */
        vault_fixture_close(f);
        assert_int_equal(vault_fixture_open(f), 0);
        make_five(f->vault);
        tamper(f, "INSERT INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = 2");
        assert_broken(f->vault, 1, "anchor does not match the records");
}

/* Records at given times, then a prune request as dispatch runs it. */
static int staged_prune_broken(Vault *v, int64_t before, int64_t *ret_removed, AuditVerify *ret_broken) {
        AuditEntry e = entry("audit.prune", "", "");
        e.plugin[0] = 0;
        vault_audit_stage(v, &e);
        int r = vault_audit_prune(v, before, ret_removed, ret_broken);
        snprintf(e.result, sizeof(e.result), "%s", r == 0 ? "ok" : "failed");
        assert_int_equal(vault_audit_add(v, &e), 0);
        return r;
}

static int staged_prune(Vault *v, int64_t before, int64_t *ret_removed) {
        return staged_prune_broken(v, before, ret_removed, NULL);
}

static void test_prune(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        int64_t removed = -1;
        AuditEntry *got = NULL;

        /* A prune needs its own record staged. */
        assert_int_equal(vault_audit_prune(v, 1000, &removed, NULL), -EINVAL);

        /* Nothing to remove in an empty trail: still recorded. */
        assert_int_equal(staged_prune(v, now_usec(), &removed), 0);
        assert_int_equal(removed, 0);
        assert_int_equal(list_all(v, &got), 1);
        assert_string_equal(got[0].op, "audit.prune");
        assert_string_equal(got[0].object, "through 0");
        assert_string_equal(got[0].result, "ok");
        free(got);
        assert_intact(v, 1, 1, 1, 0);

        /* Records 2..5 at times 1000..4000 (long ago). */
        for (int i = 1; i <= 4; i++) {
                AuditEntry e = entry_at(i * 1000, "secret.get", "todo", "x", "ok");
                assert_int_equal(vault_audit_add(v, &e), 0);
        }
        assert_int_equal(vault_audit_flush(v), 0);
        /* Before 3500: 1 (now), the first, is not older, so nothing. */
        assert_int_equal(staged_prune(v, 3500, &removed), 0);
        assert_int_equal(removed, 0);
        assert_intact(v, 6, 1, 6, 0);

        /* Everything older than now: all but the last record (6, the
         * previous prune's), then this prune's own as 7. */
        add_read(v, "queued"); /* taken along: 7, the prune's record 8 */
        assert_int_equal(staged_prune(v, now_usec() + 1000000, &removed), 0);
        assert_int_equal(removed, 5);
        VaultAuditStatus st;
        vault_audit_status(v, &st);
        assert_int_equal(st.anchor_seq, 5);
        assert_int_equal(st.last_seq, 8);
        size_t n = list_all(v, &got);
        assert_int_equal(n, 3);
        assert_int_equal(got[0].seq, 6);
        assert_string_equal(got[1].object, "queued");
        assert_string_equal(got[2].object, "through 5");
        free(got);
        assert_intact(v, 3, 6, 8, 5);

        /* Nothing older again: the anchor stays, and is named again. */
        assert_int_equal(staged_prune(v, 1, &removed), 0);
        assert_int_equal(removed, 0);
        assert_intact(v, 4, 6, 9, 5);
        n = list_all(v, &got);
        assert_string_equal(got[n - 1].object, "through 5");
        free(got);

        /* Across a reopen. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_intact(f->vault, 4, 6, 9, 5);
        vault_audit_status(f->vault, &st);
        assert_int_equal(st.anchor_seq, 5);
        assert_int_equal(st.last_seq, 9);

        /* Behind the vault's back: remove one more and move the anchor. */
        tamper(f, "UPDATE audit_anchor SET (seq, mac) = (SELECT seq, mac FROM audit WHERE seq = 6);"
                  "DELETE FROM audit WHERE seq = 6");
        assert_broken(f->vault, 6, "records up to the anchor removed without a prune");
}

/* A prune that would remove the evidence of tampering: refused, and
 * nothing removed. */
static void assert_prune_refused(VaultFixture *f, int64_t before, int64_t want_bad, const char *want_problem) {
        AuditVerify broken = {};
        int64_t removed = -1;
        VaultAuditStatus st;

        vault_audit_status(f->vault, &st);
        int64_t anchor = st.anchor_seq;
        int r = staged_prune_broken(f->vault, before, &removed, &broken);
        if (r != -EUCLEAN)
                fail_msg("prune: %d, want -EUCLEAN at %lld (%s)", r, (long long) want_bad, want_problem);
        assert_int_equal(broken.bad_seq, want_bad);
        assert_string_equal(broken.problem, want_problem);
        vault_audit_status(f->vault, &st);
        assert_int_equal(st.anchor_seq, anchor);
        assert_false(st.failing); /* the trail is written; it is the prune that is refused */
        /* The evidence is still there for verify. */
        assert_broken(f->vault, want_bad, want_problem);
}

/* Five records long ago (times 1000..5000), then the prune's own. */
static void make_five_old(Vault *v) {
        for (int i = 1; i <= 5; i++) {
                AuditEntry e = entry_at(i * 1000, "secret.get", "todo", "x", "ok");
                assert_int_equal(vault_audit_add(v, &e), 0);
        }
        assert_int_equal(vault_audit_flush(v), 0);
}

static void reset(VaultFixture *f) {
        vault_fixture_close(f);
        assert_int_equal(vault_fixture_open(f), 0);
        make_five_old(f->vault);
}

static void test_prune_refuses_to_erase_evidence(void **state) {
        VaultFixture *f = *state;
        int64_t removed = -1;
        AuditEntry *got = NULL;

        /* A record it would remove edited: where and what, as verify. */
        make_five_old(f->vault);
        tamper(f, "UPDATE audit SET object = 'y' WHERE seq = 2");
        assert_prune_refused(f, now_usec(), 2, "edited, inserted or reordered");
        size_t n = list_all(f->vault, &got);
        assert_int_equal(n, 6); /* all five, and the refused prune's record */
        assert_string_equal(got[5].op, "audit.prune");
        assert_string_equal(got[5].result, "failed");
        free(got);

        /* One missing among them; the new anchor's own row missing. */
        reset(f);
        tamper(f, "DELETE FROM audit WHERE seq = 3");
        assert_prune_refused(f, now_usec(), 3, "missing");
        reset(f);
        tamper(f, "DELETE FROM audit WHERE seq = 4");
        assert_prune_refused(f, 4500, 4, "missing");

        /* The oldest removed behind the vault's back, the anchor forged:
         * refused even where nothing would be removed, since the prune's
         * record would name the forged anchor. */
        reset(f);
        tamper(f, "INSERT INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = 2;"
                  "DELETE FROM audit WHERE seq <= 2");
        assert_prune_refused(f, now_usec(), 2, "records up to the anchor removed without a prune");
        assert_prune_refused(f, 1, 2, "records up to the anchor removed without a prune");

        /* A real prune, then more removed by hand and the anchor moved. */
        reset(f);
        assert_int_equal(staged_prune(f->vault, 2500, &removed), 0);
        assert_int_equal(removed, 2);
        make_five_old(f->vault); /* 7..11, old too: the prune's record 6 is not */
        tamper(f, "UPDATE audit_anchor SET (seq, mac) = (SELECT seq, mac FROM audit WHERE seq = 3);"
                  "DELETE FROM audit WHERE seq = 3");
        assert_prune_refused(f, now_usec(), 3, "records up to the anchor removed without a prune");

        /* An edit among the records it keeps does not stop it, and stays
         * for verify to find. */
        reset(f);
        tamper(f, "UPDATE audit SET object = 'y' WHERE seq = 4");
        assert_int_equal(staged_prune(f->vault, 2500, &removed), 0);
        assert_int_equal(removed, 2);
        assert_broken(f->vault, 4, "edited, inserted or reordered");

        /* Intact: prunes go on, from the anchor they left. */
        reset(f);
        assert_int_equal(staged_prune(f->vault, 2500, &removed), 0);
        assert_int_equal(staged_prune(f->vault, 2500, &removed), 0);
        assert_int_equal(removed, 0);
        assert_int_equal(staged_prune(f->vault, now_usec() + 1000000, &removed), 0);
        assert_int_equal(removed, 4); /* 3..6: all but the last prune's record, 7 */
        assert_intact(f->vault, 2, 7, 8, 6);
}

/* Make the table refuse records matching cond, with the vault closed. */
static void refuse_audit(VaultFixture *f, const char *cond) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "CREATE TRIGGER audit_refuse BEFORE INSERT ON audit WHEN %s BEGIN SELECT RAISE(FAIL, 'no'); END",
                 cond);
        trigger_plant(f, sql);
}

static void test_rollback_keeps_seq(void **state) {
        VaultFixture *f = *state;
        VaultAuditStatus st;
        AuditEntry *got = NULL;
        SecretBuf *value = NULL;

        make_five(f->vault);
        refuse_audit(f, "new.op = 'secret.put' AND new.result = 'ok'");
        Vault *v = f->vault;

        /* The queued record is appended as 6, the write's as 7, which the
         * table refuses: nothing commits, and the write did not happen. */
        add_read(v, "before");
        assert_int_equal(staged_put(v, "refused"), -ESHUTDOWN);
        assert_int_equal(vault_secret_get(v, "todo", "refused", &value, NULL), -ENOENT);
        vault_audit_status(v, &st);
        assert_true(st.failing);
        assert_int_equal(st.error, -EUCLEAN);
        assert_int_equal(st.queued, 2); /* "before" and the put's final record */
        assert_int_equal(st.last_seq, 5);

        /* The numbers are given again. */
        assert_int_equal(vault_audit_flush(v), 0);
        vault_audit_status(v, &st);
        assert_false(st.failing);
        assert_int_equal(st.error, 0);
        assert_int_equal(st.last_seq, 7);
        size_t n = list_all(v, &got);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(got[i].seq, (int64_t) i + 1);
        assert_string_equal(got[5].object, "before");
        assert_string_equal(got[6].object, "refused");
        assert_string_equal(got[6].result, "failed");
        free(got);
        assert_intact(v, 7, 1, 7, 0);
}

static void test_flush_failure(void **state) {
        VaultFixture *f = *state;
        VaultAuditStatus st;
        AuditEntry e = entry("secret.get", "x", "ok");

        /* The table refuses records while the secret "block" exists: a
         * write that deletes it, in the same transaction, lifts that. */
        assert_int_equal(vault_secret_put(f->vault, "todo", "block", (const uint8_t *) "1", 1, NULL), 0);
        make_five(f->vault);
        refuse_audit(f, "EXISTS (SELECT 1 FROM secret WHERE plugin = 'todo' AND name = 'block')");
        Vault *v = f->vault;

        for (int i = 0; i < VAULT_AUDIT_BATCH_MAX; i++)
                assert_int_equal(vault_audit_add(v, &e), 0);
        assert_int_equal(vault_audit_flush(v), -EUCLEAN);
        vault_audit_status(v, &st);
        assert_true(st.failing);
        assert_int_equal(st.error, -EUCLEAN);
        assert_int_equal(st.queued, VAULT_AUDIT_BATCH_MAX);
        assert_int_equal(st.last_seq, 5);

        /* Full, and it cannot be written: refused, not queued, not lost. */
        assert_int_equal(vault_audit_add(v, &e), -ESHUTDOWN);
        vault_audit_status(v, &st);
        assert_int_equal(st.queued, VAULT_AUDIT_BATCH_MAX);

        /* A write that cannot take the batch along does not happen. */
        assert_int_equal(vault_secret_put(v, "todo", "other", (const uint8_t *) "1", 1, NULL), -ESHUTDOWN);

        /* The first write that succeeds takes the whole batch. */
        assert_int_equal(vault_secret_delete(v, "todo", "block"), 0);
        vault_audit_status(v, &st);
        assert_false(st.failing);
        assert_int_equal(st.queued, 0);
        assert_int_equal(st.last_seq, 5 + VAULT_AUDIT_BATCH_MAX);
        assert_int_equal(vault_audit_add(v, &e), 0);
        assert_int_equal(vault_audit_flush(v), 0);
        assert_intact(v, 6 + VAULT_AUDIT_BATCH_MAX, 1, 6 + VAULT_AUDIT_BATCH_MAX, 0);

        /* A table that refuses every record; the trigger dropped with the
         * vault closed (losing the record queued: the close cannot write
         * it either), and a flush succeeds. */
        tamper(f, "DROP TRIGGER audit_refuse");
        refuse_audit(f, "1");
        assert_int_equal(vault_audit_add(f->vault, &e), 0);
        assert_int_equal(vault_audit_flush(f->vault), -EUCLEAN);
        tamper(f, "DROP TRIGGER audit_refuse");
        assert_int_equal(vault_audit_add(f->vault, &e), 0);
        assert_int_equal(vault_audit_flush(f->vault), 0);
        assert_intact(f->vault, 7 + VAULT_AUDIT_BATCH_MAX, 1, 7 + VAULT_AUDIT_BATCH_MAX, 0);
}

/* A trigger that drops records without an error: the flush fails, the
 * status says why, and a write does not happen. */
static void test_dropped_record_fails(void **state) {
        VaultFixture *f = *state;
        VaultAuditStatus st;
        AuditEntry e = entry_at(now_usec(), "secret.get", "beta", "s", "ok");

        make_five(f->vault);
        trigger_plant(f, "CREATE TRIGGER audit_drop BEFORE INSERT ON audit WHEN new.plugin = 'beta' "
                         "BEGIN SELECT RAISE(IGNORE); END");
        Vault *v = f->vault;
        assert_int_equal(vault_audit_add(v, &e), 0);
        assert_int_equal(vault_audit_flush(v), -EUCLEAN);
        vault_audit_status(v, &st);
        assert_true(st.failing);
        assert_int_equal(st.error, -EUCLEAN);
        assert_int_equal(st.queued, 1);
        assert_int_equal(st.last_seq, 5);
        assert_non_null(strstr(st.reason, "did not keep"));
        assert_int_equal(staged_put(v, "after"), -ESHUTDOWN);

        /* The trigger gone: the batch is written, the chain intact. */
        tamper(f, "DROP TRIGGER audit_drop");
        assert_int_equal(vault_audit_add(f->vault, &e), 0);
        assert_int_equal(vault_audit_flush(f->vault), 0);
        vault_audit_status(f->vault, &st);
        assert_false(st.failing);
        assert_int_equal(st.last_seq, 6);
        assert_intact(f->vault, 6, 1, 6, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_append_and_verify, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_edit_detected, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_delete_middle_detected, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_swap_detected, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_forged_row_detected, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_prefix_removed_detected, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_prune, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_prune_refuses_to_erase_evidence, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_dropped_record_fails, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_rollback_keeps_seq, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_flush_failure, setup_vault, teardown_vault),
        };
        if (unit_vault_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
