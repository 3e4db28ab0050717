/* unit-sql.h — SQL on a database file through a connection of its own.
 *
 * Owns: what someone with write access to the file could do behind the
 * daemon's back (read rows, alter them), for the store and vault tests that
 * check what is in the file or how a tampered one is refused. Never: a way
 * into the store's own connection; this is a second, independent one.
 * Include after cmocka.h. */
#pragma once

#include <sqlite3.h>

#include "unit-util.h"

/* The trigger migration 2 makes, in the very text it stores: put back
 * after a test bypassed it, so that the schema is the one the vault checks
 * for (store_schema_check()) and only the rows differ. */
#define APIKEY_LOOKUP_FORGET                                                                                           \
        "CREATE TRIGGER apikey_lookup_forget AFTER DELETE ON apikey BEGIN"                                             \
        "  DELETE FROM apikey_lookup WHERE plugin = old.plugin AND user = old.name;"                                   \
        "END;"

/* A second connection of its own to the file. */
static inline sqlite3 *db_open_independent(const char *path) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        return db;
}

/* The first column of the first row of a query, as an integer. */
static inline int64_t sql_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* The same on the file, through a connection opened for the one query. */
static inline int64_t sql_file_int(const char *path, const char *sql) {
        sqlite3 *db = db_open_independent(path);
        int64_t v = sql_int(db, sql);
        sqlite3_close(db);
        return v;
}

/* Run SQL on the file; returns the number of rows changed. */
/* Undoes migration 9: a test that makes a file of an older schema out of
 * a new one drops what the later migrations added, and this comes first. */
#define SQL_UNDO_SCHEMA_9                                                                                              \
        "DROP TABLE token_revocation; ALTER TABLE token DROP COLUMN refresh_tried_at; "                                \
        "ALTER TABLE token DROP COLUMN refresh_result; ALTER TABLE token DROP COLUMN refresh_next_at; "

static inline int sql_exec(const char *path, const char *sql) {
        sqlite3 *db = db_open_independent(path);
        char *err = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        int n = sqlite3_changes(db);
        sqlite3_close(db);
        return n;
}
