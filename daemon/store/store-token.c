/* store-token.c — a token set's refresh state: reauth_required and the
 * refresh lease.
 *
 * The lease is coordination data, not a secret: its id, its deadline (unix
 * ms) and the version of the set it was taken on, which is how a commit
 * knows nobody changed the set meanwhile (compare-and-swap). Each state
 * write sets the row's MAC in the same statement: the vault computes it
 * over the state it writes, and the store keeps it as opaque bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* The state columns, in this order, for read_state(). */
#define STATE_COLUMNS "version, expires_at, state, lease_id, lease_until, lease_version, mac"

static void read_state(sqlite3_stmt *st, int first, TokenState *ret) {
        TokenState t = { .version = sqlite3_column_int64(st, first) };
        t.has_expires_at = sqlite3_column_type(st, first + 1) != SQLITE_NULL;
        t.expires_at = sqlite3_column_int64(st, first + 1);
        const char *state = (const char *) sqlite3_column_text(st, first + 2);
        t.reauth_required = state && strcmp(state, "reauth_required") == 0;
        const char *lease = (const char *) sqlite3_column_text(st, first + 3);
        if (lease && strlen(lease) == LEASE_ID_SIZE)
                memcpy(t.lease_id, lease, LEASE_ID_SIZE + 1);
        t.lease_until = sqlite3_column_int64(st, first + 4);
        t.lease_version = sqlite3_column_int64(st, first + 5);
        store_column_mac(st, first + 6, &t.mac);
        *ret = t;
}

int store_token_state_get(Store *s, const char *plugin, const char *user, TokenState *ret) {
        sqlite3_stmt *st;
        if (s->cache && store_cache_get_token_state(s->cache, plugin, user, ret) >= 0)
                return 0;
        int r = store_cached(s, CACHED_TOKEN_STATE,
                             "SELECT " STATE_COLUMNS " FROM token WHERE plugin = ?1 AND name = ?2", &st);
        if (r < 0)
                return r;
        store_bind_key(st, plugin, user);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                TokenState t;
                read_state(st, 0, &t);
                if (s->cache && !s->in_transaction)
                        store_cache_put_token_state(s->cache, plugin, user, &t);
                *ret = t;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        return r;
}

/* An UPDATE of one token row, prepared and keyed: its cached record and
 * state are dropped first, so the cache never outlives the change. */
static int token_update(Store *s, unsigned id, const char *sql, const char *plugin, const char *user,
                        sqlite3_stmt **ret) {
        if (s->cache)
                store_cache_drop(s->cache, RECORD_TOKEN, plugin, user);
        int r = store_cached(s, id, sql, ret);
        if (r < 0)
                return r;
        store_bind_key(*ret, plugin, user);
        return 0;
}

int store_token_lease_set(Store *s, const char *plugin, const char *user, const char *lease_id, int64_t until_ms,
                          int64_t version, const RecordMac *mac) {
        sqlite3_stmt *st;
        int r = token_update(s, CACHED_TOKEN_LEASE_SET,
                             "UPDATE token SET lease_id = ?3, lease_until = ?4, lease_version = ?5, mac = ?6 "
                             "WHERE plugin = ?1 AND name = ?2",
                             plugin, user, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 3, lease_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, until_ms);
        sqlite3_bind_int64(st, 5, version);
        store_bind_mac(st, 6, mac);
        return store_step_done(st);
}

static int set_state(Store *s, const char *plugin, const char *user, const char *state, const RecordMac *mac) {
        sqlite3_stmt *st;
        int r = token_update(s, CACHED_TOKEN_SET_STATE,
                             "UPDATE token SET state = ?3, lease_id = NULL, lease_until = NULL, "
                             "lease_version = NULL, mac = ?4 WHERE plugin = ?1 AND name = ?2",
                             plugin, user, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
        store_bind_mac(st, 4, mac);
        return store_step_done(st);
}

int store_token_reset(Store *s, const char *plugin, const char *user, const RecordMac *mac) {
        return set_state(s, plugin, user, "valid", mac);
}

int store_token_release(Store *s, const char *plugin, const char *user, bool reauth_required, const RecordMac *mac) {
        return set_state(s, plugin, user, reauth_required ? "reauth_required" : "valid", mac);
}

int store_token_mac_set(Store *s, const char *plugin, const char *user, const RecordMac *mac) {
        sqlite3_stmt *st;
        int r = token_update(s, CACHED_TOKEN_MAC_SET, "UPDATE token SET mac = ?3 WHERE plugin = ?1 AND name = ?2",
                             plugin, user, &st);
        if (r < 0)
                return r;
        store_bind_mac(st, 3, mac);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

/* No cache entry is dropped: neither the cached record nor the cached
 * state holds these columns. */
int store_token_refresh_note(Store *s, const char *plugin, const char *user, const TokenRefreshNote *n) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_TOKEN_REFRESH_NOTE,
                             "UPDATE token SET "
                             "refresh_tried_at = iif(?3 & 1, nullif(?4, 0), refresh_tried_at), "
                             "refresh_result = iif(?3 & 2, ?5, refresh_result), "
                             "refresh_next_at = iif(?3 & 4, nullif(?6, 0), refresh_next_at) "
                             "WHERE plugin = ?1 AND name = ?2",
                             &st);
        if (r < 0)
                return r;
        _Static_assert(TOKEN_NOTE_TRIED == 1 && TOKEN_NOTE_RESULT == 2 && TOKEN_NOTE_NEXT == 4,
                       "the masks the SQL tests");
        store_bind_key(st, plugin, user);
        sqlite3_bind_int(st, 3, (int) n->mask);
        sqlite3_bind_int64(st, 4, n->tried_at);
        if (n->result)
                sqlite3_bind_text(st, 5, n->result, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 5);
        sqlite3_bind_int64(st, 6, n->next_at);
        return store_step_done(st);
}

int store_token_foreach(Store *s, StoreTokenFunc f, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = store_cached(s, CACHED_TOKEN_ALL,
                                 "SELECT plugin, name, " STATE_COLUMNS " FROM token ORDER BY plugin, name", &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                TokenState t;
                read_state(st, 2, &t);
                r = f((const char *) sqlite3_column_text(st, 0), (const char *) sqlite3_column_text(st, 1), &t,
                      userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

const char store_sql_token_list[] = "SELECT name, created_at, updated_at, " STATE_COLUMNS ", "
                                    "refresh_tried_at, refresh_result, refresh_next_at "
                                    "FROM token WHERE plugin = ?1 AND name > ?2 ORDER BY name LIMIT ?3";

int store_token_list(Store *s, const char *plugin, const char *after, unsigned limit, TokenInfo **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        TokenInfo *items;
        size_t n = 0;
        int rc = SQLITE_DONE;
        int r = store_cached(s, CACHED_TOKEN_LIST, store_sql_token_list, &st);
        if (r < 0)
                return r;
        items = calloc(limit ?: 1, sizeof(TokenInfo));
        if (!items)
                return -ENOMEM;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, after ?: "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int) limit);
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                TokenInfo *t = &items[n];
                r = store_column_strdup(st, 0, &t->user);
                if (r < 0)
                        break;
                t->created_at = sqlite3_column_int64(st, 1);
                t->updated_at = sqlite3_column_int64(st, 2);
                read_state(st, 3, &t->state);
                t->refresh_tried_at = sqlite3_column_int64(st, 10);
                const char *result = (const char *) sqlite3_column_text(st, 11);
                if (result && strlen(result) < sizeof(t->refresh_result))
                        strcpy(t->refresh_result, result);
                t->refresh_next_at = sqlite3_column_int64(st, 12);
                n++;
        }
        if (r >= 0 && n < limit && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                token_infos_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

int store_token_stats(Store *s, const char *plugin, int64_t now, int64_t horizon, int64_t now_ms, TokenStats *ret) {
        sqlite3_stmt *st;
        /* One state per set, in token.list's order of precedence, so the
         * counts add up to the total. */
        int r = store_cached(s, CACHED_TOKEN_STATS,
                             "SELECT count(*), "
                             "coalesce(sum(k = 'expired'), 0), coalesce(sum(k = 'expiring'), 0), "
                             "coalesce(sum(k = 'reauth_required'), 0), coalesce(sum(k = 'refreshing'), 0) "
                             "FROM (SELECT CASE "
                             "  WHEN state = 'reauth_required' THEN 'reauth_required' "
                             "  WHEN lease_until IS NOT NULL AND lease_until > ?4 THEN 'refreshing' "
                             "  WHEN expires_at IS NOT NULL AND expires_at <= ?2 THEN 'expired' "
                             "  WHEN expires_at IS NOT NULL AND expires_at <= ?2 + ?3 THEN 'expiring' "
                             "  ELSE 'valid' END AS k FROM token WHERE plugin = ?1)",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, horizon);
        sqlite3_bind_int64(st, 4, now_ms);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (TokenStats) { sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                                      sqlite3_column_int64(st, 4) };
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}
