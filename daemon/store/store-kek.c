/* store-kek.c — KEK rows and the records each one wraps (see store.h).
 *
 * Owns: the KEK states (primary, active, retired) and the queries a
 * rotation needs: counts of records by kek_version and the batches of
 * records a rewrap moves, over the three record tables, found through
 * the kek_version indexes (schema 6), a secret's staged versions
 * (schema 7) and the token sets pending revocation (schema 9) included. Never: sees a key; the wrapped
 * bytes are opaque here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* "Not on version V" is two ranges, each its own SELECT: "!=" no index
 * serves, and an OR of the two ranges is planned as a MULTI-INDEX OR that
 * gathers every matching rowid before it returns the first row, so a
 * batch of 256 would cost as much as the whole remaining set. As a UNION
 * ALL, each range is an index scan that the LIMIT stops early. */

static const char *const kek_state_names[] = {
        [KEK_STATE_PRIMARY] = "primary",
        [KEK_STATE_ACTIVE] = "active",
        [KEK_STATE_RETIRED] = "retired",
};

static KekState kek_state_from(const char *t) {
        if (t && strcmp(t, "primary") == 0)
                return KEK_STATE_PRIMARY;
        if (t && strcmp(t, "active") == 0)
                return KEK_STATE_ACTIVE;
        return KEK_STATE_RETIRED;
}

int store_kek_list(Store *s, StoredKek **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        StoredKek *items = NULL;
        size_t n = 0;
        int rc, r = store_cached(s, CACHED_KEK_LIST, "SELECT version, state, created_at FROM kek ORDER BY version",
                                 &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                StoredKek *more = realloc(items, (n + 1) * sizeof(StoredKek));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                items = more;
                items[n++] = (StoredKek) {
                        .version = sqlite3_column_int64(st, 0),
                        .state = kek_state_from((const char *) sqlite3_column_text(st, 1)),
                        .created_at = sqlite3_column_int64(st, 2),
                };
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                free(items);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

int store_kek_rotate(Store *s, int64_t version, const uint8_t *wrapped, size_t wrapped_size) {
        sqlite3_stmt *st;
        /* Demoted first: the unique index allows one primary at a time. */
        int r = store_cached(s, CACHED_KEK_DEMOTE, "UPDATE kek SET state = 'active' WHERE state = 'primary'", &st);
        if (r < 0)
                return r;
        r = store_step_done(st);
        if (r < 0)
                return r;
        return store_kek_insert(s, version, true, wrapped, wrapped_size);
}

int store_kek_retire(Store *s, int64_t version) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_KEK_RETIRE,
                             "UPDATE kek SET state = 'retired', wrapped = zeroblob(0) "
                             "WHERE version = ?1 AND state = 'active'",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, version);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_kek_set_wrapped(Store *s, int64_t version, const uint8_t *wrapped, size_t wrapped_size) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_KEK_SET_WRAPPED,
                             "UPDATE kek SET wrapped = ?2 WHERE version = ?1 AND state != 'retired'", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, version);
        sqlite3_bind_blob(st, 2, wrapped, (int) wrapped_size, SQLITE_STATIC);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

static int count(Store *s, unsigned id, const char *sql, int64_t version, int64_t *ret) {
        sqlite3_stmt *st;
        int r = store_cached(s, id, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, version);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

int store_kek_records(Store *s, int64_t version, int64_t *ret) {
        return count(s, CACHED_KEK_RECORDS,
                     "SELECT (SELECT count(*) FROM secret WHERE kek_version = ?1) + "
                     "(SELECT count(*) FROM token WHERE kek_version = ?1) + "
                     "(SELECT count(*) FROM apikey WHERE kek_version = ?1) + "
                     "(SELECT count(*) FROM secret_stage WHERE kek_version = ?1) + "
                     "(SELECT count(*) FROM token_revocation WHERE kek_version = ?1)",
                     version, ret);
}

/* Each range its own count: an OR of the two would be a MULTI-INDEX OR,
 * which first gathers every matching rowid (1M records: ~100 ms). */
int store_kek_records_not(Store *s, int64_t version, int64_t *ret) {
        return count(s, CACHED_KEK_RECORDS_NOT,
                     "SELECT (SELECT count(*) FROM secret WHERE kek_version < ?1) + "
                     "(SELECT count(*) FROM secret WHERE kek_version > ?1) + "
                     "(SELECT count(*) FROM token WHERE kek_version < ?1) + "
                     "(SELECT count(*) FROM token WHERE kek_version > ?1) + "
                     "(SELECT count(*) FROM apikey WHERE kek_version < ?1) + "
                     "(SELECT count(*) FROM apikey WHERE kek_version > ?1) + "
                     "(SELECT count(*) FROM secret_stage WHERE kek_version < ?1) + "
                     "(SELECT count(*) FROM secret_stage WHERE kek_version > ?1) + "
                     "(SELECT count(*) FROM token_revocation WHERE kek_version < ?1) + "
                     "(SELECT count(*) FROM token_revocation WHERE kek_version > ?1)",
                     version, ret);
}

_Static_assert(RECORD_SECRET == 0 && RECORD_TOKEN == 1 && RECORD_APIKEY == 2, "the kinds the query names");
_Static_assert(RECORD_STAGE_CURRENT == 0 && RECORD_STAGE_PREVIOUS == 1 && RECORD_STAGE_PENDING == 2,
               "the stages the query names");

int store_record_stale(Store *s, int64_t kek_version, unsigned limit, StoredRecordRef **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_RECORD_STALE,
                             "SELECT 0, plugin, name, 0, 0 FROM secret WHERE kek_version < ?1 UNION ALL "
                             "SELECT 0, plugin, name, 0, 0 FROM secret WHERE kek_version > ?1 UNION ALL "
                             "SELECT 1, plugin, name, 0, 0 FROM token WHERE kek_version < ?1 UNION ALL "
                             "SELECT 1, plugin, name, 0, 0 FROM token WHERE kek_version > ?1 UNION ALL "
                             "SELECT 2, plugin, name, 0, 0 FROM apikey WHERE kek_version < ?1 UNION ALL "
                             "SELECT 2, plugin, name, 0, 0 FROM apikey WHERE kek_version > ?1 UNION ALL "
                             "SELECT 0, plugin, name, iif(stage = 'previous', 1, 2), 0 FROM secret_stage "
                             "WHERE kek_version < ?1 UNION ALL "
                             "SELECT 0, plugin, name, iif(stage = 'previous', 1, 2), 0 FROM secret_stage "
                             "WHERE kek_version > ?1 UNION ALL "
                             "SELECT 1, plugin, user, 0, id FROM token_revocation WHERE kek_version < ?1 UNION ALL "
                             "SELECT 1, plugin, user, 0, id FROM token_revocation WHERE kek_version > ?1 LIMIT ?2",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, kek_version);
        sqlite3_bind_int(st, 2, (int) limit);
        return store_refs_read(st, limit, ret, ret_n);
}

int store_record_rewrap(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t version,
                        int64_t kek_version, const uint8_t *sealed, size_t sealed_size) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_REWRAP];

        /* The cached copy is the old sealed blob: it would still open while
         * its KEK is in the ring, but not once the KEK is retired. */
        if (s->cache)
                store_cache_drop(s->cache, kind, plugin, name);
        store_bind_key(st, plugin, name);
        sqlite3_bind_blob(st, 3, sealed, (int) sealed_size, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, kek_version);
        sqlite3_bind_int64(st, 5, version);
        int r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* While not durable (a rewrap's batches) the write-ahead log is
 * checkpointed only past this many pages (40 MiB) instead of SQLite's
 * 1000: a checkpoint syncs the log and the database file, ~5 ms on this
 * machine, and at 1000 pages it fell in one batch of 70, which put it in
 * secret.get's p99 during a rewrap. The next durable commit past 1000
 * pages (any write) checkpoints as before. */
#define NOT_DURABLE_CHECKPOINT_PAGES 10000
#define DURABLE_CHECKPOINT_PAGES 1000 /* SQLite's default */

int store_set_durable(Store *s, bool durable) {
        int rc = sqlite3_exec(s->db, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", NULL, NULL,
                              NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_wal_autocheckpoint(s->db,
                                                durable ? DURABLE_CHECKPOINT_PAGES : NOT_DURABLE_CHECKPOINT_PAGES);
        return store_errno_from_sqlite(rc);
}

int store_checkpoint(Store *s) {
        int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        return store_errno_from_sqlite(rc);
}

const char *store_kek_state_name(KekState state) {
        return kek_state_names[state];
}
