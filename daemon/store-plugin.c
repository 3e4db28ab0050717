/* store-plugin.c — registered plugins and removing a plugin whole.
 *
 * A plugin row holds only public data: its name, domain, auth type and the
 * auth block with verification token values replaced by null. The tokens
 * themselves are secrets ("verification_token:CONSUMER"), sealed like any. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void stored_plugin_done(StoredPlugin *p) {
        free(p->name);
        free(p->domain);
        free(p->auth_type);
        free(p->auth_public);
        *p = (StoredPlugin) {};
}

void stored_plugins_free(StoredPlugin *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                stored_plugin_done(&p[i]);
        free(p);
}

void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

#define PLUGIN_COLUMNS "name, domain, auth_type, auth_public, version, created_at, updated_at"

static int read_plugin(sqlite3_stmt *st, StoredPlugin *p) {
        *p = (StoredPlugin) {};
        int r = column_strdup(st, 0, &p->name);
        if (r >= 0)
                r = column_strdup(st, 1, &p->domain);
        if (r >= 0)
                r = column_strdup(st, 2, &p->auth_type);
        if (r >= 0)
                r = column_strdup(st, 3, &p->auth_public);
        p->version = sqlite3_column_int64(st, 4);
        p->created_at = sqlite3_column_int64(st, 5);
        p->updated_at = sqlite3_column_int64(st, 6);
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
                r = rc == SQLITE_DONE ? -ENOENT : (errno_from_sqlite(rc) ?: -EIO);
        stmt_finish(st);
        return r;
}

/* The scheme a plugin's credentials are presented with, remembered per
 * name: secret.verify and apikey.lookup ask on every call. Dropped by every
 * write of the plugin row (put, delete_all). */
static struct SchemeSlot *scheme_slot(Store *s, const char *name) {
        uint64_t h = 14695981039346656037ULL;
        for (const char *p = name; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ULL;
        return &s->schemes[h & (SCHEME_SLOTS - 1)];
}

int store_plugin_basic_auth(Store *s, const char *name, bool *ret) {
        struct SchemeSlot *slot = scheme_slot(s, name);
        StoredPlugin p = {};

        if (slot->used && strcmp(slot->name, name) == 0) {
                *ret = slot->basic;
                return 0;
        }
        int r = store_plugin_get(s, name, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        /* auth_public is compact JSON this daemon wrote of a flat object:
         * the member appears exactly so, or not at all (a quote inside a
         * string value would be escaped). */
        bool basic = r >= 0 && strstr(p.auth_public, "\"authorization_type\":\"basic\"");
        stored_plugin_done(&p);
        if (strlen(name) < sizeof(slot->name)) {
                slot->used = true;
                strcpy(slot->name, name);
                slot->basic = basic;
        }
        *ret = basic;
        return 0;
}

static void scheme_drop(Store *s, const char *name) {
        struct SchemeSlot *slot = scheme_slot(s, name);
        if (slot->used && strcmp(slot->name, name) == 0)
                slot->used = false;
}

int store_plugin_put(Store *s, const StoredPlugin *p) {
        sqlite3_stmt *st;

        scheme_drop(s, p->name);
        int r = store_cached(s, CACHED_PLUGIN_PUT,
                             "INSERT INTO plugin(" PLUGIN_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6) "
                             "ON CONFLICT(name) DO UPDATE SET domain = excluded.domain, "
                             "auth_type = excluded.auth_type, auth_public = excluded.auth_public, "
                             "version = excluded.version, updated_at = excluded.updated_at",
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
        return step_done(st);
}

int store_plugin_list(Store *s, const char *after, unsigned limit, StoredPlugin **ret, size_t *ret_n) {
        sqlite3_stmt *st;
        StoredPlugin *items;
        size_t n = 0;
        int rc = SQLITE_DONE;
        int r = store_cached(s, CACHED_PLUGIN_LIST,
                             "SELECT " PLUGIN_COLUMNS " FROM plugin WHERE name > ?1 ORDER BY name LIMIT ?2", &st);
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
                r = errno_from_sqlite(rc) ?: -EIO;
        stmt_finish(st);
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
        r = step_done(st);
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
        scheme_drop(s, name);
        r = delete_counting(s, CACHED_PLUGIN_DELETE_SECRETS, "DELETE FROM secret WHERE plugin = ?1", name, &d.secrets);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE_TOKENS, "DELETE FROM token WHERE plugin = ?1", name,
                                    &d.tokens);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE_APIKEYS, "DELETE FROM apikey WHERE plugin = ?1", name,
                                    &d.apikeys);
        if (r >= 0)
                r = delete_counting(s, CACHED_PLUGIN_DELETE, "DELETE FROM plugin WHERE name = ?1", name, &plugins);
        if (r < 0)
                return r;
        d.registered = plugins > 0;
        if (!d.registered && d.secrets == 0 && d.tokens == 0 && d.apikeys == 0)
                return -ENOENT;
        *ret = d;
        return 0;
}

int store_secret_names(Store *s, const char *plugin, const char *prefix, char ***ret_names, size_t *ret_n) {
        sqlite3_stmt *st;
        char **names = NULL;
        size_t n = 0;
        int rc, r;

        /* substr() rather than LIKE: names may contain LIKE's wildcards. */
        r = store_cached(s, CACHED_SECRET_NAMES,
                         "SELECT name FROM secret WHERE plugin = ?1 AND substr(name, 1, length(?2)) = ?2 "
                         "ORDER BY name",
                         &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char **grown = realloc(names, (n + 1) * sizeof(char *));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                names = grown;
                r = column_strdup(st, 0, &names[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = errno_from_sqlite(rc) ?: -EIO;
        stmt_finish(st);
        if (r < 0) {
                strv_free(names, n);
                return r;
        }
        *ret_names = names;
        *ret_n = n;
        return 0;
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
                return errno_from_sqlite(rc) ?: -EIO;
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else
                r = errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}
