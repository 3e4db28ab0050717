/* store-plugin.c — registered plugins and removing a plugin whole.
 *
 * A plugin row holds only public data: its name, domain, auth type, the
 * auth block with verification token values replaced by null, the scheme
 * credentials are presented in, and the MAC the vault keeps over all of
 * these (opaque here). The tokens themselves are secrets
 * ("verification_token:CONSUMER"), sealed like any. The vault remembers
 * the schemes it has checked, so secret.verify reads no row here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define PLUGIN_COLUMNS "name, domain, auth_type, auth_public, version, created_at, updated_at, auth_scheme, mac"

static AuthScheme scheme_from_column(sqlite3_stmt *st, int col) {
        const char *t = (const char *) sqlite3_column_text(st, col);
        return t && strcmp(t, "basic") == 0 ? AUTH_SCHEME_BASIC : AUTH_SCHEME_BEARER;
}

static int read_plugin(sqlite3_stmt *st, StoredPlugin *p) {
        *p = (StoredPlugin) {};
        int r = store_column_strdup(st, 0, &p->name);
        if (r >= 0)
                r = store_column_strdup(st, 1, &p->domain);
        if (r >= 0)
                r = store_column_strdup(st, 2, &p->auth_type);
        if (r >= 0)
                r = store_column_strdup(st, 3, &p->auth_public);
        p->version = sqlite3_column_int64(st, 4);
        p->created_at = sqlite3_column_int64(st, 5);
        p->updated_at = sqlite3_column_int64(st, 6);
        p->scheme = scheme_from_column(st, 7);
        store_column_mac(st, 8, &p->mac);
        if (r < 0)
                stored_plugin_done(p);
        return r;
}

int store_plugin_get(Store *s, const char *name, StoredPlugin *ret) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_PLUGIN_GET, "SELECT " PLUGIN_COLUMNS " FROM plugin WHERE name = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = read_plugin(st, ret);
        else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        return r;
}

int store_plugin_put(Store *s, const StoredPlugin *p) {
        sqlite3_stmt *st;

        int r = store_cached(s, CACHED_PLUGIN_PUT,
                             "INSERT INTO plugin(" PLUGIN_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8) "
                             "ON CONFLICT(name) DO UPDATE SET domain = excluded.domain, "
                             "auth_type = excluded.auth_type, auth_public = excluded.auth_public, "
                             "auth_scheme = excluded.auth_scheme, "
                             "version = excluded.version, updated_at = excluded.updated_at, mac = excluded.mac",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        if (p->domain)
                sqlite3_bind_text(st, 2, p->domain, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, p->auth_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->auth_public, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, p->version);
        sqlite3_bind_int64(st, 6, p->updated_at);
        sqlite3_bind_text(st, 7, p->scheme == AUTH_SCHEME_BASIC ? "basic" : "bearer", -1, SQLITE_STATIC);
        store_bind_mac(st, 8, &p->mac);
        return store_step_done(st);
}

int store_plugin_mac_set(Store *s, const char *name, const RecordMac *mac) {
        sqlite3_stmt *st;
        int r = store_cached(s, CACHED_PLUGIN_MAC_SET, "UPDATE plugin SET mac = ?2 WHERE name = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        store_bind_mac(st, 2, mac);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

const char store_sql_plugin_list[] = "SELECT " PLUGIN_COLUMNS " FROM plugin WHERE name > ?1 ORDER BY name LIMIT ?2";

int store_plugin_list(Store *s, const char *after, unsigned limit, StoredPlugin **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        StoredPlugin *items;
        size_t n = 0;
        int rc = SQLITE_DONE;
        int r = store_cached(s, CACHED_PLUGIN_LIST, store_sql_plugin_list, &st);
        if (r < 0)
                return r;
        items = calloc(limit ?: 1, sizeof(StoredPlugin));
        if (!items)
                return -ENOMEM;
        sqlite3_bind_text(st, 1, after ?: "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int) limit);
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = read_plugin(st, &items[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && n < limit && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                stored_plugins_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

static int delete_counting(Store *s, unsigned id, const char *sql, const char *name, int64_t *ret) {
        sqlite3_stmt *st;
        int r = store_cached(s, id, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        r = store_step_done(st);
        if (r < 0)
                return r;
        *ret = sqlite3_changes(s->db);
        return 0;
}

int store_plugin_delete_all(Store *s, const char *name, PluginRemoved *ret) {
        int64_t plugins = 0;
        PluginRemoved d = {};
        int r;

        if (s->cache)
                store_cache_clear(s->cache);
        r = delete_counting(s, CACHED_PLUGIN_DELETE_SECRETS, "DELETE FROM secret WHERE plugin = ?1", name, &d.secrets);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE_TOKENS, "DELETE FROM token WHERE plugin = ?1", name,
                                    &d.tokens);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE_APIKEYS, "DELETE FROM apikey WHERE plugin = ?1", name,
                                    &d.apikeys);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE_STAGED, "DELETE FROM secret_stage WHERE plugin = ?1", name,
                                    &d.staged);
        /* Its client credentials go with it: what is pending can no
         * longer be revoked (store-revocation.c). */
        if (r >= 0)
                r = store_revocation_delete_plugin(s, name, &d.revocations);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE, "DELETE FROM plugin WHERE name = ?1", name, &plugins);
        if (r < 0)
                return r;
        d.registered = plugins > 0;
        if (!d.registered && d.secrets == 0 && d.tokens == 0 && d.apikeys == 0 && d.staged == 0 && d.revocations == 0)
                return -ENOENT;
        *ret = d;
        return 0;
}

int store_secret_names(Store *s, const char *plugin, const char *prefix, char ***ret_names, size_t *ret_n) {
        sqlite3_stmt *st;

        /* substr() rather than LIKE: names may contain LIKE's wildcards. */
        int r = store_cached(s, CACHED_SECRET_NAMES,
                             "SELECT name FROM secret WHERE plugin = ?1 AND substr(name, 1, length(?2)) = ?2 "
                             "ORDER BY name",
                             &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
        r = store_strings_read(st, ret_names, ret_n);
        store_stmt_finish(st);
        return r;
}

int store_record_count_plugin(Store *s, RecordKind kind, const char *plugin, int64_t *ret) {
        static const char *const sql[_RECORD_KIND_MAX] = {
                [RECORD_SECRET] = "SELECT count(*) FROM secret WHERE plugin = ?1",
                [RECORD_TOKEN] = "SELECT count(*) FROM token WHERE plugin = ?1",
                [RECORD_APIKEY] = "SELECT count(*) FROM apikey WHERE plugin = ?1",
        };
        sqlite3_stmt *st = NULL;
        /* Rare (plugin.get only): prepared per call. */
        int rc = sqlite3_prepare_v2(s->db, sql[kind], -1, &st, NULL), r = 0;
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}
