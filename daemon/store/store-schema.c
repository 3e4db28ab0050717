/* store-schema.c — the schema is the one the migrations make (see
 * store.h).
 *
 * Owns: comparing every object of the file's sqlite_schema (type, name,
 * table and SQL text) with those of an in-memory database that ran the
 * same migrations. Why: a database file is also what a backup copy or an
 * attacker with write access to it hands the daemon, and SQLite runs what
 * its schema says: a trigger that puts deleted rows back, a view or table
 * in place of one the daemon reads. Nothing there was authenticated, so
 * nothing the migrations did not make is accepted, and nothing they made
 * may differ. Never: repairs or drops anything. The only objects allowed
 * besides are the statistics tables ANALYZE makes, by exact name, type
 * and SQL (they change query plans only): a name merely starting with
 * sqlite_stat is an object like any other, since SQLite loads whatever a
 * written sqlite_schema row says, whatever its name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define SCHEMA_SQL "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name"

typedef struct SchemaRow {
        char *type, *name, *table, *sql;
        bool seen;
} SchemaRow;

typedef struct SchemaRows {
        SchemaRow *items;
        size_t n;
} SchemaRows;

static void schema_rows_done(SchemaRows *rows) {
        for (size_t i = 0; i < rows->n; i++) {
                free(rows->items[i].type);
                free(rows->items[i].name);
                free(rows->items[i].table);
                free(rows->items[i].sql);
        }
        free(rows->items);
        *rows = (SchemaRows) {};
}

static int schema_rows_read(sqlite3 *db, SchemaRows *ret) {
        SchemaRows rows = {};
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, SCHEMA_SQL, -1, &st, NULL), r = 0;
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                SchemaRow *grown = realloc(rows.items, (rows.n + 1) * sizeof(SchemaRow));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                rows.items = grown;
                SchemaRow *row = &rows.items[rows.n++];
                *row = (SchemaRow) {};
                r = store_column_strdup(st, 0, &row->type);
                if (r >= 0)
                        r = store_column_strdup(st, 1, &row->name);
                if (r >= 0)
                        r = store_column_strdup(st, 2, &row->table);
                if (r >= 0)
                        r = store_column_strdup(st, 3, &row->sql);
                if (r >= 0 && (!row->type || !row->name || !row->table || !row->sql))
                        r = -EUCLEAN;
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        if (r < 0) {
                schema_rows_done(&rows);
                return r;
        }
        *ret = rows;
        return 0;
}

static SchemaRow *schema_row_find(SchemaRows *rows, const char *type, const char *name) {
        for (size_t i = 0; i < rows->n; i++)
                if (strcmp(rows->items[i].type, type) == 0 && strcmp(rows->items[i].name, name) == 0)
                        return &rows->items[i];
        return NULL;
}

/* Printable: a name from the file may hold any byte. */
static void name_escape(const char *in, char *out, size_t size) {
        size_t o = 0;
        for (; *in && o + 5 < size; in++) {
                unsigned char c = (unsigned char) *in;
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        out[o++] = (char) c;
                else
                        o += (size_t) snprintf(out + o, size - o, "\\x%02x", c);
        }
        out[o] = '\0';
}

/* What ANALYZE makes, exactly as SQLite writes it. */
static bool schema_row_is_statistics(const SchemaRow *h) {
        static const struct {
                const char *name, *sql;
        } stats[] = {
                { "sqlite_stat1", "CREATE TABLE sqlite_stat1(tbl,idx,stat)" },
                { "sqlite_stat4", "CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(stats); i++)
                if (strcmp(h->type, "table") == 0 && strcmp(h->name, stats[i].name) == 0 &&
                    strcmp(h->table, stats[i].name) == 0 && strcmp(h->sql, stats[i].sql) == 0)
                        return true;
        return false;
}

static int schema_compare(SchemaRows *have, SchemaRows *want, char *problem, size_t problem_size) {
        char name[96], type[48];

        for (size_t i = 0; i < have->n; i++) {
                SchemaRow *h = &have->items[i];
                if (schema_row_is_statistics(h))
                        continue;
                SchemaRow *w = schema_row_find(want, h->type, h->name);
                /* Both from the file: any byte. */
                name_escape(h->name, name, sizeof(name));
                name_escape(h->type, type, sizeof(type));
                if (!w) {
                        snprintf(problem, problem_size, "%s %s is not one this version of credvault makes (added)",
                                 type, name);
                        return -EUCLEAN;
                }
                if (strcmp(h->table, w->table) != 0 || strcmp(h->sql, w->sql) != 0) {
                        snprintf(problem, problem_size,
                                 "%s %s differs from the one this version of credvault makes (altered)", type, name);
                        return -EUCLEAN;
                }
                w->seen = true;
        }
        for (size_t i = 0; i < want->n; i++)
                if (!want->items[i].seen) {
                        name_escape(want->items[i].name, name, sizeof(name));
                        snprintf(problem, problem_size, "%s %s is missing (removed)", want->items[i].type, name);
                        return -EUCLEAN;
                }
        return 0;
}

int store_schema_check(Store *s, char *problem, size_t problem_size) {
        SchemaRows have = {}, want = {};
        sqlite3 *reference = NULL;

        int r = store_reference_open(&reference);
        if (r >= 0)
                r = schema_rows_read(reference, &want);
        if (r >= 0)
                r = schema_rows_read(s->db, &have);
        if (r >= 0)
                r = schema_compare(&have, &want, problem, problem_size);
        schema_rows_done(&have);
        schema_rows_done(&want);
        sqlite3_close(reference);
        return r;
}
