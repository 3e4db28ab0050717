/* store-revocation.c — token sets deleted whose tokens are still to be
 * revoked at the provider (RFC 7009); see store.h.
 *
 * Owns: the token_revocation table (schema 9): one row per deleted set,
 * its sealed bytes copied from the token row as they were (the copy is
 * made in SQL, so the ciphertext never comes up to the vault on a
 * delete), the retry schedule the vault sets, and the queries the
 * refresher, a plugin's removal, a KEK rewrap and a copy's check need.
 * Never: decides when to retry or give up (the vault does), or sees a
 * key; the sealed bytes are opaque here. Statements are prepared on
 * first use: none is on a hot path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define COLUMNS "id, plugin, user, version, kek_version, deleted_at, attempts, next_at, last_error"

int store_revocation_queue(Store *s, const char *plugin, const char *user, int64_t deleted_at, int64_t next_at,
                           int64_t *ret_id) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_QUEUE,
                             "INSERT INTO token_revocation "
                             "(plugin, user, version, kek_version, sealed, deleted_at, next_at) "
                             "SELECT plugin, name, version, kek_version, sealed, ?3, ?4 FROM token "
                             "WHERE plugin = ?1 AND name = ?2",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, user);
        sqlite3_bind_int64(st, 3, deleted_at);
        sqlite3_bind_int64(st, 4, next_at);
        r = store_step_done(st);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return -ENOENT;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

/* The row st is on, columns COLUMNS (and sealed, if with_sealed). */
static int row_read(sqlite3_stmt *st, bool with_sealed, StoredRevocation *ret) {
        StoredRevocation out = {
                .id = sqlite3_column_int64(st, 0),
                .version = sqlite3_column_int64(st, 3),
                .kek_version = sqlite3_column_int64(st, 4),
                .deleted_at = sqlite3_column_int64(st, 5),
                .attempts = sqlite3_column_int64(st, 6),
                .next_at = sqlite3_column_int64(st, 7),
        };
        int r = store_column_strdup(st, 1, &out.plugin);
        if (r >= 0)
                r = store_column_strdup(st, 2, &out.user);
        if (r >= 0)
                r = store_column_strdup(st, 8, &out.last_error);
        if (r >= 0 && (!out.plugin || !out.user))
                r = -EUCLEAN;
        if (r >= 0 && with_sealed) {
                size_t n = (size_t) sqlite3_column_bytes(st, 9);
                out.sealed = malloc(n ?: 1);
                if (!out.sealed)
                        r = -ENOMEM;
                else {
                        if (n > 0)
                                memcpy(out.sealed, sqlite3_column_blob(st, 9), n);
                        out.sealed_size = n;
                }
        }
        if (r < 0) {
                stored_revocation_done(&out);
                return r;
        }
        *ret = out;
        return 0;
}

/* Up to limit rows of st (bound, ready to step); finishes st. */
static int rows_read(sqlite3_stmt *st, unsigned limit, StoredRevocation **ret, size_t *ret_n) {
        StoredRevocation *items = calloc(limit ?: 1, sizeof(StoredRevocation));
        size_t n = 0;
        int rc = SQLITE_DONE, r = 0;

        if (!items) {
                store_stmt_finish(st);
                return -ENOMEM;
        }
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = row_read(st, false, &items[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && n < limit && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                stored_revocations_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

int store_revocation_list(Store *s, const char *plugin, int64_t after, unsigned limit, StoredRevocation **ret,
                          size_t *ret_n) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_LIST,
                             "SELECT " COLUMNS " FROM token_revocation WHERE plugin = ?1 AND id > ?2 "
                             "ORDER BY id LIMIT ?3",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int(st, 3, (int) limit);
        return rows_read(st, limit, ret, ret_n);
}

int store_revocation_get(Store *s, const char *plugin, int64_t id, StoredRevocation *ret) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_GET,
                             "SELECT " COLUMNS ", sealed FROM token_revocation WHERE id = ?1 AND plugin = ?2", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, plugin, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = row_read(st, true, ret);
        else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        return r;
}

int store_revocation_retry(Store *s, int64_t id, int64_t attempts, int64_t next_at, const char *last_error) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_RETRY,
                             "UPDATE token_revocation SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE id = ?1",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, attempts);
        sqlite3_bind_int64(st, 3, next_at);
        if (last_error)
                sqlite3_bind_text(st, 4, last_error, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 4);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_revocation_delete(Store *s, int64_t id) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_DELETE, "DELETE FROM token_revocation WHERE id = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_revocation_delete_plugin(Store *s, const char *plugin, int64_t *ret_n) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_DELETE_PLUGIN, "DELETE FROM token_revocation WHERE plugin = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        r = store_step_done(st);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = sqlite3_changes(s->db);
        return 0;
}

int store_revocation_expired(Store *s, int64_t deleted_before, unsigned limit, StoredRevocation **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        /* Among the oldest rows only (ids grow with time, and so does
         * deleted_at): a bounded read on every delete however many are
         * pending, rather than a scan (no index on deleted_at). A row
         * behind a younger one (the clock went back) is given up by its
         * own next failure instead. */
        int r = store_cached(s, CACHED_REVOCATION_EXPIRED,
                             "SELECT " COLUMNS " FROM (SELECT * FROM token_revocation ORDER BY id LIMIT ?2) "
                             "WHERE deleted_at <= ?1 ORDER BY id",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, deleted_before);
        sqlite3_bind_int(st, 2, (int) limit);
        return rows_read(st, limit, ret, ret_n);
}

int store_revocation_excess(Store *s, const char *plugin, const char *user, unsigned per_user, unsigned per_plugin,
                            unsigned limit, StoredRevocation **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        /* The user's rows beyond the newest per_user, then the plugin's
         * oldest beyond per_plugin; both by id, which grows with time. */
        int r = store_cached(s, CACHED_REVOCATION_EXCESS,
                             "SELECT " COLUMNS " FROM token_revocation WHERE id IN ("
                             " SELECT id FROM token_revocation WHERE plugin = ?1 AND user = ?2"
                             "  ORDER BY id DESC LIMIT -1 OFFSET ?3) "
                             "OR id IN (SELECT id FROM token_revocation WHERE plugin = ?1 ORDER BY id LIMIT "
                             " max(0, (SELECT count(*) FROM token_revocation WHERE plugin = ?1) - ?4)) "
                             "ORDER BY id LIMIT ?5",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, user);
        sqlite3_bind_int(st, 3, (int) per_user);
        sqlite3_bind_int(st, 4, (int) per_plugin);
        sqlite3_bind_int(st, 5, (int) limit);
        return rows_read(st, limit, ret, ret_n);
}

int store_revocation_summary(Store *s, int64_t *ret_pending, int64_t *ret_next_at) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_SUMMARY,
                             "SELECT count(*), coalesce(min(next_at), 0) FROM token_revocation", &st);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_pending = sqlite3_column_int64(st, 0);
                if (ret_next_at)
                        *ret_next_at = sqlite3_column_int64(st, 1);
        } else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

int store_revocation_rewrap(Store *s, int64_t id, int64_t version, int64_t kek_version, const uint8_t *sealed,
                            size_t sealed_size) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_REVOCATION_REWRAP,
                             "UPDATE token_revocation SET sealed = ?3, kek_version = ?4 WHERE id = ?1 AND version = ?2",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_blob(st, 3, sealed, (int) sealed_size, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, kek_version);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_revocation_foreach(Store *s, StoreSealedFunc f, void *userdata) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT plugin, user, id, kek_version, sealed FROM token_revocation "
                                    "ORDER BY id",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        int r = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                StoredRecord rec = {
                        .version = sqlite3_column_int64(st, 2),
                        .kek_version = sqlite3_column_int64(st, 3),
                        .sealed = (uint8_t *) sqlite3_column_blob(st, 4),
                        .sealed_size = (size_t) sqlite3_column_bytes(st, 4),
                };
                const char *plugin = (const char *) sqlite3_column_text(st, 0);
                const char *user = (const char *) sqlite3_column_text(st, 1);
                r = f(plugin ?: "", user ?: "", &rec, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}
