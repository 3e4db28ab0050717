/* store-internal.h — what the store's files share; nothing outside the
 * store includes it.
 *
 * Owns: the Store structure and the statement helpers, so store-plugin.c,
 * store-token.c and store-apikey.c add their SQL without reaching into
 * each other. */
#pragma once

#include <sqlite3.h>

#include "store.h"

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_KEK_ALL,
        STMT_KEK_INSERT,
        _STMT_GLOBAL_MAX,
};

enum {
        RSTMT_GET,
        RSTMT_VERSION,
        RSTMT_PUT,
        RSTMT_DELETE,
        RSTMT_LIST_PLUGIN_FIRST,
        RSTMT_LIST_PLUGIN_AFTER,
        RSTMT_LIST_ALL_FIRST,
        RSTMT_LIST_ALL_AFTER,
        RSTMT_COUNT,
        RSTMT_REWRAP,
        _RSTMT_MAX,
};

/* Statements prepared on first use by the other store files. */
enum {
        CACHED_PLUGIN_GET,
        CACHED_PLUGIN_PUT,
        CACHED_PLUGIN_LIST,
        CACHED_PLUGIN_DELETE,
        CACHED_PLUGIN_DELETE_SECRETS,
        CACHED_PLUGIN_DELETE_TOKENS,
        CACHED_PLUGIN_DELETE_APIKEYS,
        CACHED_SECRET_NAMES,
        CACHED_TOKEN_STATE,
        CACHED_TOKEN_LEASE_SET,
        CACHED_TOKEN_SET_STATE,
        CACHED_TOKEN_LIST,
        CACHED_TOKEN_STATS,
        CACHED_APIKEY_INDEX_PUT,
        CACHED_APIKEY_INDEX_FIND,
        CACHED_PLUGIN_MAC_SET,
        CACHED_TOKEN_MAC_SET,
        CACHED_TOKEN_ALL,
        CACHED_KEK_LIST,
        CACHED_KEK_DEMOTE,
        CACHED_KEK_RETIRE,
        CACHED_KEK_RECORDS,
        CACHED_KEK_RECORDS_NOT,
        CACHED_RECORD_STALE,
        CACHED_KEK_SET_WRAPPED,
        CACHED_STAGE_GET,
        CACHED_STAGE_PUT,
        CACHED_STAGE_DELETE,
        CACHED_STAGE_DELETE_ALL,
        CACHED_STAGE_VERSION_MAX,
        CACHED_STAGE_SUMMARY,
        CACHED_STAGE_EXPIRED,
        CACHED_STAGE_REWRAP,
        CACHED_PLUGIN_DELETE_STAGED,
        CACHED_STAGE_ALL,
        CACHED_AUDIT_APPEND,
        CACHED_TOKEN_REFRESH_NOTE,
        CACHED_REVOCATION_QUEUE,
        CACHED_REVOCATION_LIST,
        CACHED_REVOCATION_GET,
        CACHED_REVOCATION_RETRY,
        CACHED_REVOCATION_DELETE,
        CACHED_REVOCATION_DELETE_PLUGIN,
        CACHED_REVOCATION_EXPIRED,
        CACHED_REVOCATION_SUMMARY,
        CACHED_REVOCATION_REWRAP,
        CACHED_REVOCATION_EXCESS,
        _CACHED_MAX,
};

/* store.c: an in-memory database holding exactly what the migrations
 * make, for store_schema_check() (store-schema.c) to compare with. */
int store_reference_open(sqlite3 **ret);

typedef struct StoreCache StoreCache;

/* store-cache.c: see there for why it is always right. */
StoreCache *store_cache_new(void);
void store_cache_free(StoreCache *c);
void store_cache_clear(StoreCache *c);
/* -ENOENT on a miss; on a hit ret->sealed is a malloc'd copy. */
int store_cache_get(StoreCache *c, RecordKind kind, const char *plugin, const char *name, StoredRecord *ret);
void store_cache_put(StoreCache *c, RecordKind kind, const char *plugin, const char *name, const StoredRecord *rec);
void store_cache_drop(StoreCache *c, RecordKind kind, const char *plugin, const char *name);
int store_cache_get_token_state(StoreCache *c, const char *plugin, const char *user, TokenState *ret);
void store_cache_put_token_state(StoreCache *c, const char *plugin, const char *user, const TokenState *st);

struct Store {
        sqlite3 *db;
        StoreCache *cache;
        bool in_transaction; /* the cache is not filled inside one */
        bool in_group;       /* a group's transaction is open: writes are savepoints in it */
        int group_error;     /* < 0: SQLite rolled the group's transaction back (store.c, group_check()) */
        sqlite3_stmt *stmt[_STMT_GLOBAL_MAX];
        sqlite3_stmt *rstmt[_RECORD_KIND_MAX][_RSTMT_MAX];
        sqlite3_stmt *cached[_CACHED_MAX];
};

/* 0, or a negative errno for an SQLite result code. */
int store_errno_from_sqlite(int rc);
/* Run a statement that returns no rows, then reset it. */
int store_step_done(sqlite3_stmt *st);
/* Reset a statement and clear its bindings. */
void store_stmt_finish(sqlite3_stmt *st);
/* The statement `id`, prepared from sql on first use. */
int store_cached(Store *s, unsigned id, const char *sql, sqlite3_stmt **ret);
/* Bind ?1 = plugin, ?2 = name. */
void store_bind_key(sqlite3_stmt *st, const char *plugin, const char *name);
/* A malloc'd copy of a text column; NULL for SQL NULL. -ENOMEM. */
int store_column_strdup(sqlite3_stmt *st, int col, char **ret);
/* Every row's first column, a string (malloc'd array of malloc'd
 * strings; free with record_names_free()). Leaves st to the caller. */
int store_strings_read(sqlite3_stmt *st, char ***ret, size_t *ret_n);
/* Up to limit rows of st (bound, ready to step) as record references:
 * columns kind, plugin, name, stage. Finishes st. */
int store_refs_read(sqlite3_stmt *st, unsigned limit, StoredRecordRef **ret, size_t *ret_n);
/* A MAC column as the row holds it: size 0 for NULL, the blob's own size
 * otherwise (its first RECORD_MAC_SIZE bytes copied). */
void store_column_mac(sqlite3_stmt *st, int col, RecordMac *ret);
/* Bind a MAC: NULL (or size 0) binds SQL NULL. */
void store_bind_mac(sqlite3_stmt *st, int idx, const RecordMac *mac);

/* The listing statements of store-plugin.c and store-token.c, named so
 * store_list_sql() hands them to the query-plan test. */
extern const char store_sql_plugin_list[];
extern const char store_sql_token_list[];
