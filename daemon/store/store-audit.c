/* store-audit.c — the audit trail's rows and its anchor (see store.h).
 *
 * Owns: the SQL of the audit and audit_anchor tables: appending rows as
 * the vault made them, reading them back in seq order, and a prune's
 * removal of a prefix. Never: computes or checks a MAC (the store links
 * no crypto; the vault chains the rows), assigns a seq, or changes a row
 * once appended.
 *
 * Statements are prepared per call rather than kept: an append happens
 * once per write transaction or batch flush, beside a commit's fsync that
 * costs a thousand times more, and the rest serve rare admin requests. */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define AUDIT_COLUMNS "seq, time_usec, uid, gid, pid, unit, op, plugin, object, result, revealed, mac"

static int prepare_once(Store *s, const char *sql, sqlite3_stmt **ret) {
        int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);
        return rc == SQLITE_OK ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
}

/* A field of an AuditEntry: "" is stored as NULL (none). */
static void bind_field(sqlite3_stmt *st, int idx, const char *field, size_t field_size) {
        size_t n = strnlen(field, field_size);
        if (n > 0)
                sqlite3_bind_text(st, idx, field, (int) n, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, idx);
}

#define BIND_FIELD(st, idx, e, name) bind_field(st, idx, (e)->name, sizeof((e)->name))

/* What a failed append says when SQLite has no words for it: the insert
 * "succeeded" but the table kept no row (a trigger's RAISE(IGNORE), or a
 * rule of the kind). */
#define APPEND_DROPPED "the audit table did not keep a record it was given (a trigger or rule on it drops rows)"

int store_audit_append(Store *s, const AuditEntry *entries, size_t n, const char **ret_reason) {
        sqlite3_stmt *st = NULL;

        if (ret_reason)
                *ret_reason = NULL;
        if (n == 0)
                return 0;
        /* Prepared once: every write appends (a prepare per append was
         * a sixth of a put's time in a write group). */
        int r = store_cached(s, CACHED_AUDIT_APPEND,
                             "INSERT INTO audit(" AUDIT_COLUMNS ") "
                             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                             &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const AuditEntry *e = &entries[i];
                sqlite3_bind_int64(st, 1, e->seq);
                sqlite3_bind_int64(st, 2, e->time_usec);
                sqlite3_bind_int64(st, 3, e->uid);
                sqlite3_bind_int64(st, 4, e->gid);
                sqlite3_bind_int64(st, 5, e->pid);
                BIND_FIELD(st, 6, e, unit);
                BIND_FIELD(st, 7, e, op);
                BIND_FIELD(st, 8, e, plugin);
                BIND_FIELD(st, 9, e, object);
                BIND_FIELD(st, 10, e, result);
                sqlite3_bind_int(st, 11, e->revealed ? 1 : 0);
                store_bind_mac(st, 12, &e->mac);
                r = store_step_done(st);
                /* A step that succeeds without adding the row: a trigger
                 * threw it away (RAISE(IGNORE)). Not appended, so not
                 * written: fail closed, as for a trigger that refuses. */
                if (r >= 0 && sqlite3_changes64(s->db) != 1) {
                        r = -EUCLEAN;
                        if (ret_reason)
                                *ret_reason = APPEND_DROPPED;
                }
        }
        store_stmt_finish(st);
        /* A row of this seq already there, or a trigger refusing rows:
         * the table is not as the vault left it. */
        return r == -EEXIST ? -EUCLEAN : r;
}

/* Copy a text column into a field of field_size bytes (its NUL included):
 * false if it does not fit or holds a NUL, which only a writer behind the
 * vault's back can make. NULL reads as "". */
static bool column_field(sqlite3_stmt *st, int col, char *field, size_t field_size) {
        const unsigned char *t = sqlite3_column_text(st, col);
        size_t n = (size_t) sqlite3_column_bytes(st, col);

        field[0] = 0;
        if (!t)
                return true;
        if (n >= field_size || memchr(t, 0, n))
                return false;
        memcpy(field, t, n);
        field[n] = 0;
        return true;
}

#define COLUMN_FIELD(st, col, e, name) column_field(st, col, (e)->name, sizeof((e)->name))

static bool in_range(int64_t v, int64_t min, int64_t max) {
        return v >= min && v <= max;
}

/* A row of AUDIT_COLUMNS. One whose fields do not fit gets a MAC of size
 * 0: truncated, it might read as the record the MAC was made for. */
static void column_entry(sqlite3_stmt *st, AuditEntry *e) {
        int64_t uid = sqlite3_column_int64(st, 2), gid = sqlite3_column_int64(st, 3), pid = sqlite3_column_int64(st, 4);

        *e = (AuditEntry) {
                .seq = sqlite3_column_int64(st, 0),
                .time_usec = sqlite3_column_int64(st, 1),
                .uid = (uint32_t) uid,
                .gid = (uint32_t) gid,
                .pid = (int32_t) pid,
                .revealed = sqlite3_column_int(st, 10) != 0,
        };
        bool fits = in_range(uid, 0, UINT32_MAX) && in_range(gid, 0, UINT32_MAX) && in_range(pid, INT32_MIN, INT32_MAX);
        fits = COLUMN_FIELD(st, 5, e, unit) && fits;
        fits = COLUMN_FIELD(st, 6, e, op) && fits;
        fits = COLUMN_FIELD(st, 7, e, plugin) && fits;
        fits = COLUMN_FIELD(st, 8, e, object) && fits;
        fits = COLUMN_FIELD(st, 9, e, result) && fits;
        store_column_mac(st, 11, &e->mac);
        if (!fits)
                e->mac.size = 0;
}

/* The (seq, mac) of the one row sql selects; -ENOENT if none. */
static int seq_mac_get(Store *s, const char *sql, int64_t *ret_seq, RecordMac *ret_mac) {
        sqlite3_stmt *st = NULL;
        int r = prepare_once(s, sql, &st);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_seq = sqlite3_column_int64(st, 0);
                store_column_mac(st, 1, ret_mac);
        } else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        sqlite3_finalize(st);
        return r;
}

int store_audit_anchor_get(Store *s, int64_t *ret_seq, RecordMac *ret_mac) {
        return seq_mac_get(s, "SELECT seq, mac FROM audit_anchor WHERE id = 1", ret_seq, ret_mac);
}

int store_audit_last(Store *s, const char *op, const char *result, AuditEntry *ret) {
        sqlite3_stmt *st = NULL;
        int r = prepare_once(s,
                             "SELECT " AUDIT_COLUMNS " FROM audit WHERE op = ?1 AND result = ?2 "
                             "ORDER BY seq DESC LIMIT 1",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, result, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                column_entry(st, ret);
        else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        sqlite3_finalize(st);
        return r;
}

int store_audit_head(Store *s, int64_t *ret_seq, RecordMac *ret_mac) {
        int r = seq_mac_get(s, "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1", ret_seq, ret_mac);
        if (r == -ENOENT)
                r = store_audit_anchor_get(s, ret_seq, ret_mac);
        if (r == -ENOENT) {
                *ret_seq = 0;
                *ret_mac = (RecordMac) {};
                return 0;
        }
        return r;
}

/* The integer the query (with ?1 = arg) gives; *ret_null if it gives
 * NULL (an aggregate over no rows). */
static int scalar_int(Store *s, const char *sql, int64_t arg, int64_t *ret, bool *ret_null) {
        sqlite3_stmt *st = NULL;
        int r = prepare_once(s, sql, &st);
        if (r < 0)
                return r;
        if (sqlite3_bind_parameter_count(st) > 0)
                sqlite3_bind_int64(st, 1, arg);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_null = sqlite3_column_type(st, 0) == SQLITE_NULL;
                *ret = sqlite3_column_int64(st, 0);
        } else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}

int store_audit_prune(Store *s, int64_t before_usec, StoreAuditFunc check, void *userdata, int64_t *ret_through,
                      int64_t *ret_removed) {
        int64_t last = 0, first_kept = 0, anchor = 0, through;
        RecordMac mac = {};
        sqlite3_stmt *st = NULL;
        bool none = false, all_old = false;

        int r = store_audit_anchor_get(s, &anchor, &mac);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret_through = r < 0 ? 0 : anchor;
        *ret_removed = 0;
        anchor = *ret_through;
        r = scalar_int(s, "SELECT max(seq) FROM audit", 0, &last, &none);
        if (r < 0 || none)
                return r;
        /* The first record not older than before_usec ends the prefix;
         * records after it stay even if older (the clock went back), so
         * that no gap opens in the chain. */
        r = scalar_int(s, "SELECT min(seq) FROM audit WHERE time_usec >= ?1", before_usec, &first_kept, &all_old);
        if (r < 0)
                return r;
        through = (all_old || first_kept > last ? last : first_kept) - 1;
        if (through <= anchor)
                return 0;

        /* Every row about to go, to the caller first: what it refuses
         * stays. Before the anchor's own check, so that a caller that
         * saw every row up to it check knows the anchor is missing. */
        if (check) {
                r = store_audit_foreach(s, through, check, userdata);
                if (r < 0)
                        return r;
        }

        /* The new anchor must be a record: a gap there means rows were
         * removed behind the vault's back, which a prune must not hide. */
        r = prepare_once(s, "SELECT mac FROM audit WHERE seq = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, through);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                store_column_mac(st, 0, &mac);
        else
                r = rc == SQLITE_DONE ? -EUCLEAN : (store_errno_from_sqlite(rc) ?: -EIO);
        sqlite3_finalize(st);
        if (r < 0)
                return r;

        r = prepare_once(s, "DELETE FROM audit WHERE seq <= ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, through);
        r = store_step_done(st);
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        int64_t removed = sqlite3_changes64(s->db);

        r = prepare_once(s,
                         "INSERT INTO audit_anchor(id, seq, mac) VALUES(1, ?1, ?2) "
                         "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac",
                         &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, through);
        store_bind_mac(st, 2, &mac);
        r = store_step_done(st);
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        *ret_through = through;
        *ret_removed = removed;
        return 0;
}

/* One call examines at most AUDIT_LIST_SCAN_MAX rows: a window of seq
 * (an integer primary key, so the window holds no more rows than it is
 * wide), read through the key, with the filters applied to each row.
 * Without an index on plugin, op or unit, a filter matching nothing would
 * otherwise read the whole table in one call. */
int store_audit_list(Store *s, const AuditFilter *f, int64_t after_seq, unsigned limit, AuditEntry **ret, size_t *ret_n,
                     int64_t *ret_next) {
        static const AuditFilter all = { .uid = -1 };
        int64_t lo = after_seq, hi = INT64_MAX, bound = 0, next = 0;
        sqlite3_stmt *st = NULL;
        AuditEntry *items = NULL;
        bool none = false;
        size_t n = 0;
        int r;

        if (!f)
                f = &all;
        items = calloc(limit ?: 1, sizeof(AuditEntry));
        if (!items)
                return -ENOMEM;

        /* The rows there are, so that a window never starts before the
         * first (after a prune) or runs on past the last. */
        r = scalar_int(s, "SELECT min(seq) FROM audit", 0, &bound, &none);
        if (r < 0)
                goto fail;
        if (!none && bound - 1 > lo)
                lo = bound - 1;
        if (!none) {
                r = scalar_int(s, "SELECT max(seq) FROM audit", 0, &hi, &none);
                if (r < 0)
                        goto fail;
        }
        /* since and until as a range of seq, through the time index, so
         * that the walk in seq order starts and ends where they do rather
         * than at the first record: exact whatever the clock did, since
         * the time conditions still apply to each row. */
        if (!none && f->since_usec > 0) {
                r = scalar_int(s, "SELECT min(seq) FROM audit WHERE time_usec >= ?1", f->since_usec, &bound, &none);
                if (r < 0)
                        goto fail;
                if (!none && bound - 1 > lo)
                        lo = bound - 1;
        }
        if (!none && f->until_usec > 0) {
                r = scalar_int(s, "SELECT max(seq) FROM audit WHERE time_usec < ?1", f->until_usec, &bound, &none);
                if (r < 0)
                        goto fail;
                if (bound < hi)
                        hi = bound;
        }
        if (none || limit == 0 || lo >= hi)
                goto done;
        int64_t window_end = hi - lo > AUDIT_LIST_SCAN_MAX ? lo + AUDIT_LIST_SCAN_MAX : hi;

        r = prepare_once(s,
                         "SELECT " AUDIT_COLUMNS " FROM audit "
                         "WHERE seq > ?1 AND seq <= ?2 AND time_usec >= ?3 AND time_usec < ?4 "
                         "AND (?5 IS NULL OR coalesce(plugin, '') = ?5) AND (?6 IS NULL OR op = ?6) "
                         "AND (?7 IS NULL OR coalesce(unit, '') = ?7) AND (?8 < 0 OR uid = ?8) "
                         "ORDER BY seq LIMIT ?9",
                         &st);
        if (r < 0)
                goto fail;
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int64(st, 2, window_end);
        sqlite3_bind_int64(st, 3, f->since_usec > 0 ? f->since_usec : INT64_MIN);
        sqlite3_bind_int64(st, 4, f->until_usec > 0 ? f->until_usec : INT64_MAX);
        sqlite3_bind_text(st, 5, f->plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, f->op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, f->unit, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, f->uid);
        sqlite3_bind_int64(st, 9, limit);
        int rc = SQLITE_DONE;
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
                column_entry(st, &items[n++]);
        r = n < limit && rc != SQLITE_DONE ? (store_errno_from_sqlite(rc) ?: -EIO) : 0;
        sqlite3_finalize(st);
        if (r < 0)
                goto fail;
        /* Full: on from the last record. Otherwise the window was read to
         * its end: on from there, unless that was the end of the range. */
        if (n == limit)
                next = items[n - 1].seq < hi ? items[n - 1].seq : 0;
        else
                next = window_end < hi ? window_end : 0;
done:
        *ret = items;
        *ret_n = n;
        if (ret_next)
                *ret_next = next;
        return 0;
fail:
        free(items);
        return r;
}

int store_audit_foreach(Store *s, int64_t through_seq, StoreAuditFunc f, void *userdata) {
        sqlite3_stmt *st = NULL;
        AuditEntry e;
        int rc, r;

        r = prepare_once(s, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq <= ?1 ORDER BY seq", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, through_seq);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                column_entry(st, &e);
                r = f(&e, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}
