/* store-verify.c — reading a whole database for a check of it: SQLite's
 * integrity check and a walk of every sealed row (see store.h, "checking
 * a copy").
 *
 * For credvaultd --verify-backup and --restore, which open a copy that
 * nobody else uses: the walks read every row, once, without the caches.
 * Table names come from the file, which is not trusted: they are quoted
 * as identifiers, never pasted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int store_integrity_check(Store *s, char *ret_problem, size_t problem_size) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        rc = sqlite3_step(st);
        int r = rc == SQLITE_ROW ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
        if (rc == SQLITE_ROW) {
                const char *t = (const char *) sqlite3_column_text(st, 0);
                if (!t || strcmp(t, "ok") != 0) {
                        snprintf(ret_problem, problem_size, "%s", t ?: "no answer");
                        r = -EUCLEAN;
                }
        } else if (r == -EUCLEAN)
                snprintf(ret_problem, problem_size, "%s", sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return r;
}

/* "name" with its quotes doubled: an SQL identifier whatever it holds. */
static int identifier_quote(const char *name, char *buf, size_t size) {
        size_t n = 0;
        if (size < 3)
                return -ENAMETOOLONG;
        buf[n++] = '"';
        for (const char *p = name; *p; p++) {
                if (n + 4 > size)
                        return -ENAMETOOLONG;
                if (*p == '"')
                        buf[n++] = '"';
                buf[n++] = *p;
        }
        buf[n++] = '"';
        buf[n] = '\0';
        return 0;
}

/* Columns 0-4 of st: plugin, name, version, kek_version, sealed. */
static int sealed_walk(sqlite3_stmt *st, StoreSealedFunc f, void *userdata) {
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                StoredRecord rec = {
                        .version = sqlite3_column_int64(st, 2),
                        .kek_version = sqlite3_column_int64(st, 3),
                        .sealed = (uint8_t *) sqlite3_column_blob(st, 4),
                        .sealed_size = (size_t) sqlite3_column_bytes(st, 4),
                };
                const char *plugin = (const char *) sqlite3_column_text(st, 0);
                const char *name = (const char *) sqlite3_column_text(st, 1);
                r = f(plugin ?: "", name ?: "", &rec, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        return r;
}

static int table_walk(Store *s, const char *table, const char *kek_column, StoreSealedFunc f, void *userdata) {
        char quoted[256], sql[512];
        sqlite3_stmt *st = NULL;

        int r = identifier_quote(table, quoted, sizeof(quoted));
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "SELECT plugin, name, version, %s, sealed FROM %s ORDER BY rowid", kek_column,
                 quoted);
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        r = sealed_walk(st, f, userdata);
        sqlite3_finalize(st);
        return r;
}

int store_record_foreach(Store *s, RecordKind kind, StoreSealedFunc f, void *userdata) {
        static const char *const tables[_RECORD_KIND_MAX] = {
                [RECORD_SECRET] = "secret",
                [RECORD_TOKEN] = "token",
                [RECORD_APIKEY] = "apikey",
        };
        return table_walk(s, tables[kind], "kek_version", f, userdata);
}

int store_sealed_tables(Store *s, char ***ret_names, size_t *ret_n) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT s.name FROM sqlite_schema AS s WHERE s.type = 'table' "
                                    "AND s.name NOT IN ('secret', 'token', 'apikey') AND EXISTS "
                                    "(SELECT 1 FROM pragma_table_info(s.name) AS c WHERE c.name = 'sealed') "
                                    "ORDER BY s.name",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        int r = store_strings_read(st, ret_names, ret_n);
        sqlite3_finalize(st);
        return r;
}

static int column_exists(Store *s, const char *table, const char *column, bool *ret) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)", -1,
                                    &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW)
                        *ret = sqlite3_column_int(st, 0) != 0;
        }
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
}

int store_sealed_foreach(Store *s, const char *table, StoreSealedFunc f, void *userdata) {
        static const char *const needed[] = { "plugin", "name", "version", "sealed" };
        bool has = false, has_kek = false;

        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                int r = column_exists(s, table, needed[i], &has);
                if (r < 0)
                        return r;
                if (!has)
                        return -EOPNOTSUPP;
        }
        int r = column_exists(s, table, "kek_version", &has_kek);
        if (r < 0)
                return r;
        return table_walk(s, table, has_kek ? "kek_version" : "0", f, userdata);
}
