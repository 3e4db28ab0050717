/* store-stage.c — a secret's pending and previous versions (see store.h).
 *
 * Owns: the secret_stage table (schema 7): one row per secret and stage,
 * sealed bytes and metadata only, and the queries rotation with overlap
 * needs (the highest version over all stages, the earliest deadline, the
 * expired rows). Never: decides what a stage means (the vault does: which
 * row is promoted, when a previous one stops counting), or reads the
 * current version's table but for the version maximum. Statements are
 * prepared on first use: none of them is on secret.get's path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static const char *stage_text(RecordStage stage) {
        return stage == RECORD_STAGE_PREVIOUS ? "previous" : "pending";
}

int store_stage_get(Store *s, const char *plugin, const char *name, RecordStage stage, StoredStage *ret) {
        sqlite3_stmt *st;
        StoredStage out = { .stage = stage };
        int r = store_cached(s, CACHED_STAGE_GET,
                             "SELECT version, kek_version, created_at, grace, deadline, sealed, mac FROM secret_stage "
                             "WHERE plugin = ?1 AND name = ?2 AND stage = ?3",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, name);
        sqlite3_bind_text(st, 3, stage_text(stage), -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                out.version = sqlite3_column_int64(st, 0);
                out.kek_version = sqlite3_column_int64(st, 1);
                out.created_at = sqlite3_column_int64(st, 2);
                out.grace = sqlite3_column_int64(st, 3);
                out.deadline = sqlite3_column_int64(st, 4); /* NULL reads as 0 */
                store_column_mac(st, 6, &out.mac);
                size_t n = (size_t) sqlite3_column_bytes(st, 5);
                out.sealed = malloc(n ?: 1);
                if (!out.sealed)
                        r = -ENOMEM;
                else {
                        if (n > 0)
                                memcpy(out.sealed, sqlite3_column_blob(st, 5), n);
                        out.sealed_size = n;
                }
        } else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}

int store_stage_put(Store *s, const char *plugin, const char *name, const StoredStage *in) {
        sqlite3_stmt *st;
        if (in->stage != RECORD_STAGE_PENDING && in->stage != RECORD_STAGE_PREVIOUS)
                return -EINVAL;
        int r = store_cached(s, CACHED_STAGE_PUT,
                             "INSERT OR REPLACE INTO secret_stage(plugin, name, stage, version, kek_version, sealed, "
                             "created_at, grace, deadline, mac) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, name);
        sqlite3_bind_text(st, 3, stage_text(in->stage), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, in->version);
        sqlite3_bind_int64(st, 5, in->kek_version);
        sqlite3_bind_blob(st, 6, in->sealed, (int) in->sealed_size, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, in->created_at);
        sqlite3_bind_int64(st, 8, in->grace);
        if (in->stage == RECORD_STAGE_PREVIOUS)
                sqlite3_bind_int64(st, 9, in->deadline);
        else
                sqlite3_bind_null(st, 9);
        store_bind_mac(st, 10, &in->mac);
        return store_step_done(st);
}

int store_stage_delete(Store *s, const char *plugin, const char *name, RecordStage stage) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_STAGE_DELETE,
                             "DELETE FROM secret_stage WHERE plugin = ?1 AND name = ?2 AND stage = ?3", &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, name);
        sqlite3_bind_text(st, 3, stage_text(stage), -1, SQLITE_STATIC);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_stage_delete_all(Store *s, const char *plugin, const char *name, int64_t *ret_n) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_STAGE_DELETE_ALL, "DELETE FROM secret_stage WHERE plugin = ?1 AND name = ?2",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, name);
        r = store_step_done(st);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = sqlite3_changes(s->db);
        return 0;
}

static int select_two_ints(Store *s, unsigned id, const char *sql, const char *plugin, const char *name, int64_t *ret_a,
                           int64_t *ret_b) {
        sqlite3_stmt *st;
        int r = store_cached(s, id, sql, &st);
        if (r < 0)
                return r;
        if (plugin)
                store_bind_key(st, plugin, name);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_a = sqlite3_column_int64(st, 0);
                if (ret_b)
                        *ret_b = sqlite3_column_int64(st, 1);
        } else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

int store_secret_version_max(Store *s, const char *plugin, const char *name, int64_t *ret) {
        return select_two_ints(s, CACHED_STAGE_VERSION_MAX,
                               "SELECT max(coalesce((SELECT version FROM secret WHERE plugin = ?1 AND name = ?2), 0), "
                               "coalesce((SELECT max(version) FROM secret_stage WHERE plugin = ?1 AND name = ?2), 0))",
                               plugin, name, ret, NULL);
}

int store_stage_summary(Store *s, int64_t *ret_n_previous, int64_t *ret_next_deadline) {
        /* Both from the partial index on deadline, which holds exactly the
         * previous rows. */
        return select_two_ints(s, CACHED_STAGE_SUMMARY,
                               "SELECT count(*), coalesce(min(deadline), 0) FROM secret_stage "
                               "WHERE deadline IS NOT NULL",
                               NULL, NULL, ret_n_previous, ret_next_deadline);
}

int store_stage_expired(Store *s, int64_t now, unsigned limit, StoredRecordRef **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        int r = store_cached(
                s, CACHED_STAGE_EXPIRED,
                "SELECT 0, plugin, name, 1 FROM secret_stage WHERE deadline IS NOT NULL AND deadline <= ?1 "
                "ORDER BY deadline LIMIT ?2",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int(st, 2, (int) limit);
        return store_refs_read(st, limit, ret, ret_n);
}

int store_stage_rewrap(Store *s, const char *plugin, const char *name, RecordStage stage, int64_t version,
                       int64_t kek_version, const uint8_t *sealed, size_t sealed_size) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_STAGE_REWRAP,
                             "UPDATE secret_stage SET sealed = ?4, kek_version = ?5 "
                             "WHERE plugin = ?1 AND name = ?2 AND stage = ?3 AND version = ?6",
                             &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, name);
        sqlite3_bind_text(st, 3, stage_text(stage), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, sealed, (int) sealed_size, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, kek_version);
        sqlite3_bind_int64(st, 6, version);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_stage_foreach(Store *s, StoreStageFunc f, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = store_cached(s, CACHED_STAGE_ALL,
                                 "SELECT plugin, name, stage, version, kek_version, created_at, grace, deadline, mac "
                                 "FROM secret_stage ORDER BY plugin, name, stage",
                                 &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *plugin = (const char *) sqlite3_column_text(st, 0);
                const char *name = (const char *) sqlite3_column_text(st, 1);
                const char *stage = (const char *) sqlite3_column_text(st, 2);
                StoredStage row = {
                        .stage = stage && strcmp(stage, "previous") == 0 ? RECORD_STAGE_PREVIOUS : RECORD_STAGE_PENDING,
                        .version = sqlite3_column_int64(st, 3),
                        .kek_version = sqlite3_column_int64(st, 4),
                        .created_at = sqlite3_column_int64(st, 5),
                        .grace = sqlite3_column_int64(st, 6),
                        .deadline = sqlite3_column_int64(st, 7),
                };
                store_column_mac(st, 8, &row.mac);
                if (!plugin || !name) {
                        r = -EUCLEAN;
                        break;
                }
                r = f(plugin, name, &row, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}
