/* store.c — SQLite storage (see store.h).
 *
 * Durability: WAL with synchronous=FULL, so a COMMIT has reached the disk
 * before store_commit() returns and the daemon answers. secure_delete so a
 * deleted row's pages are zeroed rather than left in free pages (they only
 * ever held ciphertext, but deleted should mean gone). Statements are
 * prepared once (the record and transaction ones after the schema is up to
 * date, the rest on first use) and reused.
 *
 * Locking: store_open() shares the file (tests, tools and the start-up
 * checks read it beside other connections); store_lock_exclusive() makes
 * it the daemon's alone, at once rather than at its first write. */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

static const char *const global_sql[_STMT_GLOBAL_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT write",
        [STMT_RELEASE] = "RELEASE write",
        [STMT_ROLLBACK_TO] = "ROLLBACK TO write",
        [STMT_KEK_ALL] = "SELECT version, state, wrapped FROM kek WHERE state != 'retired' ORDER BY version",
        [STMT_KEK_INSERT] = "INSERT INTO kek(version, state, wrapped, created_at) "
                            "VALUES(?1, ?2, ?3, unixepoch())",
};

/* The record statements, with %s for the table name. */
#define RECORD_LIST_COLUMNS "SELECT plugin, name, version, created_at, updated_at, expires_at FROM %s "
static const char *const record_sql[_RSTMT_MAX] = {
        [RSTMT_GET] = "SELECT version, kek_version, created_at, updated_at, expires_at, sealed "
                      "FROM %s WHERE plugin = ?1 AND name = ?2",
        [RSTMT_VERSION] = "SELECT version FROM %s WHERE plugin = ?1 AND name = ?2",
        [RSTMT_PUT] = "INSERT INTO %s(plugin, name, version, kek_version, sealed, created_at, updated_at, "
                      "expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) "
                      "ON CONFLICT(plugin, name) DO UPDATE SET version = excluded.version, "
                      "kek_version = excluded.kek_version, sealed = excluded.sealed, "
                      "updated_at = excluded.updated_at, expires_at = excluded.expires_at "
                      "RETURNING created_at",
        [RSTMT_DELETE] = "DELETE FROM %s WHERE plugin = ?1 AND name = ?2",
        /* One statement per case, each a range of the (plugin, name) index:
         * a statement that also served the other cases (plugin = ?1 OR ?1
         * IS NULL, a cursor spelt with OR) got no equality on plugin, and a
         * page cost the rows before it rather than the rows it returns. */
        [RSTMT_LIST_PLUGIN_FIRST] = RECORD_LIST_COLUMNS "WHERE plugin = ?1 ORDER BY name LIMIT ?2",
        [RSTMT_LIST_PLUGIN_AFTER] = RECORD_LIST_COLUMNS "WHERE plugin = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
        [RSTMT_LIST_ALL_FIRST] = RECORD_LIST_COLUMNS "ORDER BY plugin, name LIMIT ?1",
        [RSTMT_LIST_ALL_AFTER] = RECORD_LIST_COLUMNS "WHERE (plugin, name) > (?1, ?2) ORDER BY plugin, name LIMIT ?3",
        /* The kind is named as its table is (migration 8). */
        [RSTMT_COUNT] = "SELECT n FROM record_count WHERE kind = '%s'",
        [RSTMT_REWRAP] = "UPDATE %s SET sealed = ?3, kek_version = ?4 WHERE plugin = ?1 AND name = ?2 AND version = ?5",
};

static const char *const record_table[_RECORD_KIND_MAX] = {
        [RECORD_SECRET] = "secret",
        [RECORD_TOKEN] = "token",
        [RECORD_APIKEY] = "apikey",
};

/* Migration i takes user_version i to i + 1. Append only; never edit one
 * that has shipped. */
static const char *const migrations[] = {
        "CREATE TABLE meta ("
        "  key TEXT PRIMARY KEY,"
        "  value BLOB NOT NULL"
        ") STRICT;"
        "CREATE TABLE kek ("
        "  version INTEGER PRIMARY KEY,"
        "  state TEXT NOT NULL CHECK (state IN ('primary', 'active', 'retired')),"
        "  wrapped BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE UNIQUE INDEX kek_one_primary ON kek(state) WHERE state = 'primary';"
        "CREATE TABLE secret ("
        "  id INTEGER PRIMARY KEY,"
        "  plugin TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  kek_version INTEGER NOT NULL REFERENCES kek(version),"
        "  sealed BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL,"
        "  expires_at INTEGER,"
        "  UNIQUE (plugin, name)"
        ") STRICT;"
        "CREATE TABLE token ("
        "  id INTEGER PRIMARY KEY,"
        "  plugin TEXT NOT NULL,"
        "  name TEXT NOT NULL," /* the user id */
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  kek_version INTEGER NOT NULL REFERENCES kek(version),"
        "  sealed BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL,"
        "  expires_at INTEGER,"
        "  UNIQUE (plugin, name)"
        ") STRICT;",

        /* 2: registered plugins, token set states and refresh leases, API
         * keys with their keyed-hash lookup index. */
        "CREATE TABLE plugin ("
        "  name TEXT PRIMARY KEY,"
        "  domain TEXT,"
        "  auth_type TEXT NOT NULL CHECK (auth_type IN ('none', 'service_http', 'user_http', 'oauth')),"
        "  auth_public TEXT NOT NULL," /* the auth block, verification token values replaced by null */
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL"
        ") STRICT;"
        "ALTER TABLE token ADD COLUMN state TEXT NOT NULL DEFAULT 'valid'"
        "  CHECK (state IN ('valid', 'reauth_required'));"
        "ALTER TABLE token ADD COLUMN lease_id TEXT;"
        "ALTER TABLE token ADD COLUMN lease_until INTEGER;" /* unix ms */
        "ALTER TABLE token ADD COLUMN lease_version INTEGER;"
        "CREATE TABLE apikey ("
        "  id INTEGER PRIMARY KEY,"
        "  plugin TEXT NOT NULL,"
        "  name TEXT NOT NULL," /* the user id */
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  kek_version INTEGER NOT NULL REFERENCES kek(version),"
        "  sealed BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL,"
        "  expires_at INTEGER,"
        "  UNIQUE (plugin, name)"
        ") STRICT;"
        "CREATE TABLE apikey_lookup ("
        "  plugin TEXT NOT NULL,"
        "  lookup BLOB NOT NULL,"
        "  user TEXT NOT NULL,"
        "  PRIMARY KEY (plugin, lookup),"
        "  UNIQUE (plugin, user)"
        ") STRICT;"
        "CREATE TRIGGER apikey_lookup_forget AFTER DELETE ON apikey BEGIN"
        "  DELETE FROM apikey_lookup WHERE plugin = old.plugin AND user = old.name;"
        "END;",

        /* 3: how a plugin's credentials are presented, as a column rather
         * than read out of the auth block's text on every check. */
        "ALTER TABLE plugin ADD COLUMN auth_scheme TEXT NOT NULL DEFAULT 'bearer'"
        "  CHECK (auth_scheme IN ('bearer', 'basic'));"
        "UPDATE plugin SET auth_scheme = 'basic'"
        "  WHERE json_valid(auth_public) AND json_extract(auth_public, '$.authorization_type') = 'basic';",

        /* 4: a MAC over each plugin row and each token set's state, which
         * the vault computes under a key the root key wraps (opaque here).
         * Rows from before are NULL until the vault's first open fills
         * them in. */
        "ALTER TABLE plugin ADD COLUMN mac BLOB;"
        "ALTER TABLE token ADD COLUMN mac BLOB;",

        /* 5: the audit trail, append only, each row MAC'd by the vault
         * over the previous row's MAC and its own fields (opaque here);
         * seq is assigned by the vault, not by SQLite, because it is under
         * the MAC. Absent unit, plugin and object are NULL. The anchor is
         * the seq and MAC of the last record a prune removed (no row:
         * never pruned). time_usec is indexed for prune and for list's
         * since/until; the other filters scan in seq order: every index is
         * paid for on each request's insert, and listing is rare. */
        "CREATE TABLE audit ("
        "  seq INTEGER PRIMARY KEY,"
        "  time_usec INTEGER NOT NULL,"
        "  uid INTEGER NOT NULL,"
        "  gid INTEGER NOT NULL,"
        "  pid INTEGER NOT NULL,"
        "  unit TEXT,"
        "  op TEXT NOT NULL,"
        "  plugin TEXT,"
        "  object TEXT,"
        "  result TEXT NOT NULL,"
        "  revealed INTEGER NOT NULL CHECK (revealed IN (0, 1)),"
        "  mac BLOB NOT NULL"
        ") STRICT;"
        "CREATE INDEX audit_time ON audit(time_usec);"
        "CREATE TABLE audit_anchor ("
        "  id INTEGER PRIMARY KEY CHECK (id = 1),"
        "  seq INTEGER NOT NULL CHECK (seq > 0),"
        "  mac BLOB NOT NULL"
        ") STRICT;",

        /* 6: KEK rotation. The records a KEK still wraps are found (and
         * counted) by kek_version: a rewrap's progress is the data itself.
         * A retired KEK's row stays, its wrapped bytes a zero-length blob
         * (the column is NOT NULL, and rebuilding the table that every
         * record references is not worth a NULL). */
        "CREATE INDEX IF NOT EXISTS secret_kek ON secret(kek_version);"
        "CREATE INDEX IF NOT EXISTS token_kek ON token(kek_version);"
        "CREATE INDEX IF NOT EXISTS apikey_kek ON apikey(kek_version);",

        /* 7: a secret's pending and previous versions (rotation with
         * overlap). The current one stays in secret, so that secret.get
         * reads one row as before. A previous row has a deadline, a
         * pending one the grace its promotion will give; kek_version is
         * indexed for KEK rotation like every record table's, deadline for
         * the sweep that removes expired previous versions. */
        "CREATE TABLE IF NOT EXISTS secret_stage ("
        "  plugin TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  stage TEXT NOT NULL CHECK (stage IN ('pending', 'previous')),"
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  kek_version INTEGER NOT NULL REFERENCES kek(version),"
        "  sealed BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  grace INTEGER NOT NULL CHECK (grace >= 0),"
        "  deadline INTEGER,"
        "  mac BLOB NOT NULL," /* the vault's, over the row but sealed and kek_version */
        "  PRIMARY KEY (plugin, name, stage),"
        "  CHECK ((stage = 'previous') = (deadline IS NOT NULL))"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS secret_stage_kek ON secret_stage(kek_version);"
        "CREATE INDEX IF NOT EXISTS secret_stage_deadline ON secret_stage(deadline) WHERE deadline IS NOT NULL;",

        /* 8: each record table's row count, kept by triggers in the
         * transaction that writes the rows, so that health and status
         * read one row instead of counting a million. Every write path
         * stays exact: a put is an UPSERT (an overwrite fires UPDATE, not
         * INSERT), a delete, a plugin's cascade and a restore's own file
         * all go through DELETE or carry their counts; nothing writes the
         * record tables with INSERT OR REPLACE, whose implicit delete would
         * fire no trigger (recursive_triggers is off). */
        "CREATE TABLE IF NOT EXISTS record_count ("
        "  kind TEXT PRIMARY KEY,"
        "  n INTEGER NOT NULL"
        ") STRICT;"
        "INSERT OR REPLACE INTO record_count(kind, n) VALUES"
        "  ('secret', (SELECT count(*) FROM secret)),"
        "  ('token', (SELECT count(*) FROM token)),"
        "  ('apikey', (SELECT count(*) FROM apikey));"
        "CREATE TRIGGER IF NOT EXISTS secret_count_insert AFTER INSERT ON secret BEGIN"
        "  UPDATE record_count SET n = n + 1 WHERE kind = 'secret';"
        "END;"
        "CREATE TRIGGER IF NOT EXISTS secret_count_delete AFTER DELETE ON secret BEGIN"
        "  UPDATE record_count SET n = n - 1 WHERE kind = 'secret';"
        "END;"
        "CREATE TRIGGER IF NOT EXISTS token_count_insert AFTER INSERT ON token BEGIN"
        "  UPDATE record_count SET n = n + 1 WHERE kind = 'token';"
        "END;"
        "CREATE TRIGGER IF NOT EXISTS token_count_delete AFTER DELETE ON token BEGIN"
        "  UPDATE record_count SET n = n - 1 WHERE kind = 'token';"
        "END;"
        "CREATE TRIGGER IF NOT EXISTS apikey_count_insert AFTER INSERT ON apikey BEGIN"
        "  UPDATE record_count SET n = n + 1 WHERE kind = 'apikey';"
        "END;"
        "CREATE TRIGGER IF NOT EXISTS apikey_count_delete AFTER DELETE ON apikey BEGIN"
        "  UPDATE record_count SET n = n - 1 WHERE kind = 'apikey';"
        "END;",

        /* 9: what came of the last refresh of each token set, for
         * token.list: when it was last tried and when the refresher tries
         * next (unix ms), and the result ("ok", or the OAuth error or
         * transient kind reported). They decide nothing (the lease and
         * reauth_required do, under the state's MAC), so they are written
         * outside it. And the token sets deleted whose tokens are still to
         * be revoked at the provider (RFC 7009): a pending revocation keeps
         * the deleted set's sealed bytes as they were, opened with the
         * set's own identity (token, plugin, user, version), until the
         * revocation is done or given up; kek_version is indexed for KEK
         * rotation like every sealed row's, (plugin, next_at) for the
         * refresher's scan of what is due. */
        "ALTER TABLE token ADD COLUMN refresh_tried_at INTEGER;"
        "ALTER TABLE token ADD COLUMN refresh_result TEXT;"
        "ALTER TABLE token ADD COLUMN refresh_next_at INTEGER;"
        "CREATE TABLE IF NOT EXISTS token_revocation ("
        "  id INTEGER PRIMARY KEY,"
        "  plugin TEXT NOT NULL,"
        "  user TEXT NOT NULL,"
        "  version INTEGER NOT NULL CHECK (version > 0),"
        "  kek_version INTEGER NOT NULL REFERENCES kek(version),"
        "  sealed BLOB NOT NULL,"
        "  deleted_at INTEGER NOT NULL," /* unix s */
        "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
        "  next_at INTEGER NOT NULL," /* unix ms */
        "  last_error TEXT"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS token_revocation_kek ON token_revocation(kek_version);"
        "CREATE INDEX IF NOT EXISTS token_revocation_due ON token_revocation(plugin, next_at);",
};

#define SCHEMA_VERSION ((int) ELEMENTSOF(migrations))

/* How long a statement waits for a lock another connection holds. */
#define BUSY_TIMEOUT_MS 2000
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "store.h names the newest schema");

int store_errno_from_sqlite(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EROFS;
        default:
                return -EIO;
        }
}

/* Like store_errno_from_sqlite(), but an open or I/O failure is reported
 * as the system call's own errno (EACCES, EISDIR, ENOSPC, EROFS...), which
 * SQLite keeps for exactly these two codes: its own would all read
 * "Input/output error". */
static int errno_from_db(sqlite3 *db, int rc) {
        int e = store_errno_from_sqlite(rc);
        int code = rc & 0xff;
        if ((code == SQLITE_CANTOPEN || code == SQLITE_IOERR) && db && sqlite3_system_errno(db) > 0)
                return -sqlite3_system_errno(db);
        return e;
}

static int exec(sqlite3 *db, const char *sql) {
        return errno_from_db(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int store_step_done(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
}

/* Reset only: every call binds all of a statement's parameters first, so
 * clearing them again would be work on every request for nothing. */
void store_stmt_finish(sqlite3_stmt *st) {
        sqlite3_reset(st);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret) {
        return store_errno_from_sqlite(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL));
}

int store_cached(Store *s, unsigned id, const char *sql, sqlite3_stmt **ret) {
        if (!s->cached[id]) {
                int r = prepare(s->db, sql, &s->cached[id]);
                if (r < 0)
                        return r;
        }
        *ret = s->cached[id];
        return 0;
}

static int prepare_all(Store *s) {
        int r;

        for (int i = 0; i < _STMT_GLOBAL_MAX; i++) {
                r = prepare(s->db, global_sql[i], &s->stmt[i]);
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < _RECORD_KIND_MAX; k++)
                for (int i = 0; i < _RSTMT_MAX; i++) {
                        char sql[512];
                        /* The formats are the constants in record_sql. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        snprintf(sql, sizeof(sql), record_sql[i], record_table[k]);
#pragma GCC diagnostic pop
                        r = prepare(s->db, sql, &s->rstmt[k][i]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static void finalize_all(Store *s) {
        for (int i = 0; i < _CACHED_MAX; i++)
                sqlite3_finalize(s->cached[i]), s->cached[i] = NULL;
        for (int i = 0; i < _STMT_GLOBAL_MAX; i++)
                sqlite3_finalize(s->stmt[i]), s->stmt[i] = NULL;
        for (int k = 0; k < _RECORD_KIND_MAX; k++)
                for (int i = 0; i < _RSTMT_MAX; i++)
                        sqlite3_finalize(s->rstmt[k][i]), s->rstmt[k][i] = NULL;
}

static int quick_check(sqlite3 *db) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        rc = sqlite3_step(st);
        bool ok = rc == SQLITE_ROW && strcmp((const char *) sqlite3_column_text(st, 0), "ok") == 0;
        int r = rc == SQLITE_ROW ? 0 : store_errno_from_sqlite(rc);
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        return ok ? 0 : -EUCLEAN;
}

/* Open the file with the store's settings. exclusive: PRAGMA
 * locking_mode=EXCLUSIVE before the journal mode is first read, so SQLite
 * keeps the WAL index in its own memory (no -shm file, no file locking per
 * read) and holds an exclusive lock on the file from the first read on;
 * then an empty write transaction takes that lock now, or fails -EBUSY if
 * someone else has the file. */
static int database_open(const char *path, bool exclusive, sqlite3 **ret) {
        sqlite3 *db = NULL;
        int r;

        /* NOFOLLOW: the file is the one in the state directory, never what
         * a symbolic link planted there points at (-ELOOP). */
        int rc = sqlite3_open_v2(path, &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                         SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW,
                                 NULL);
        if (rc != SQLITE_OK) {
                if (rc == SQLITE_CANTOPEN_SYMLINK || (db && sqlite3_extended_errcode(db) == SQLITE_CANTOPEN_SYMLINK))
                        r = -ELOOP;
                else
                        r = errno_from_db(db, rc) ?: -EIO;
                goto fail;
        }
        /* Before the first read: the exclusive lock is taken by it, and a
         * file a checkpointing reader holds for a moment is worth a wait. */
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
        /* SQLite opens a file it may not write read-only, silently: every
         * write would then fail. Refuse it, with the reason. */
        if (sqlite3_db_readonly(db, "main") > 0) {
                r = access(path, W_OK) < 0 ? negative_errno() : -EROFS;
                goto fail;
        }
        if (exclusive) {
                r = exec(db, "PRAGMA locking_mode = EXCLUSIVE");
                if (r < 0)
                        goto fail;
        }
        /* The journal mode is the first read of the file: a file that is not
         * a database fails here with SQLITE_NOTADB. */
        r = exec(db, "PRAGMA journal_mode = WAL");
        if (r < 0)
                goto fail;
        /* The file may have been written by someone else (a backup
         * copy): ordinary SQL may not corrupt it on purpose, and its
         * schema (triggers, views) may call no function with side effects.
         * What the schema holds is checked against what the migrations
         * make (store_schema_check()). */
        if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
            sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK) {
                r = -EIO;
                goto fail;
        }
        r = exec(db, "PRAGMA synchronous = FULL;"
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA secure_delete = ON;");
        if (r < 0)
                goto fail;
        if (exclusive) {
                r = exec(db, "BEGIN IMMEDIATE");
                if (r < 0)
                        goto fail;
                r = exec(db, "COMMIT");
                if (r < 0)
                        goto fail;
        }
        *ret = db;
        return 0;
fail:
        sqlite3_close(db);
        return r;
}

/* Whether the last process to have the file open closed it cleanly. A
 * clean close checkpoints the WAL and removes the -wal file; one left with
 * frames in it means a crash (or a kill) before that. Looked at before
 * SQLite opens the file, which would replay and remove it. */
static bool closed_cleanly(const char *path) {
        char wal[PATH_MAX];
        struct stat st;

        if ((size_t) snprintf(wal, sizeof(wal), "%s-wal", path) >= sizeof(wal))
                return false;
        if (stat(wal, &st) < 0)
                return errno == ENOENT;
        return st.st_size == 0;
}

int store_open_checked(const char *path, StoreCheck check, bool *ret_checked, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        bool run_check = check == STORE_CHECK_ALWAYS || (check == STORE_CHECK_AFTER_CRASH && !closed_cleanly(path));
        int r;

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        r = database_open(path, false, &s->db);
        /* A full disk has no room for the -shm file of a shared WAL index
         * (a socket-activated daemon restarts after every idle exit): open
         * the file exclusive then, where SQLite keeps that index in memory,
         * so that a vault still starts, and serves reads, on a full disk. */
        if (r == -ENOSPC)
                r = database_open(path, true, &s->db);
        if (r < 0)
                return r;
        if (run_check) {
                r = quick_check(s->db);
                if (r < 0)
                        return r;
        }
        if (ret_checked)
                *ret_checked = run_check;
        *ret = TAKE_PTR(s);
        return 0;
}

int store_open(const char *path, Store **ret) {
        return store_open_checked(path, STORE_CHECK_ALWAYS, NULL, ret);
}

void store_close(Store *s) {
        if (!s)
                return;
        store_cache_free(s->cache);
        finalize_all(s);
        sqlite3_close(s->db);
        free(s);
}

int store_schema_version(Store *s) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        rc = sqlite3_step(st);
        int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : (store_errno_from_sqlite(rc) ?: -EIO);
        sqlite3_finalize(st);
        return v;
}

int store_migrate(Store *s) {
        int v = store_schema_version(s), r;
        if (v < 0)
                return v;
        if (v > SCHEMA_VERSION)
                return -EPROTO;

        for (; v < SCHEMA_VERSION; v++) {
                char bump[64];
                r = exec(s->db, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
                r = exec(s->db, migrations[v]);
                if (r >= 0)
                        r = exec(s->db, bump);
                if (r >= 0)
                        r = exec(s->db, "COMMIT");
                if (r < 0) {
                        exec(s->db, "ROLLBACK");
                        return r;
                }
        }
        if (!s->stmt[0])
                return prepare_all(s);
        return 0;
}

int store_reference_open(sqlite3 **ret) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        int r = rc == SQLITE_OK ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
        for (int v = 0; r >= 0 && v < SCHEMA_VERSION; v++)
                r = exec(db, migrations[v]);
        if (r < 0) {
                sqlite3_close(db);
                return r;
        }
        *ret = db;
        return 0;
}

int store_lock_exclusive(Store *s) {
        _cleanup_(freep) char *path = NULL;
        bool prepared = s->stmt[0];
        int r;

        /* A shared connection cannot become one that keeps its WAL index in
         * memory (that is settled when it first reads the WAL), and a second
         * connection cannot take the file while the first has it open: so
         * close it and open the file again, exclusive, and prepare the
         * statements again. No other credvaultd can come in between (the
         * daemon holds its state directory's lock file from the start); a
         * tool that did would make this fail -EBUSY, never share the file. */
        path = strdup(sqlite3_db_filename(s->db, "main"));
        if (!path)
                return -ENOMEM;
        finalize_all(s);
        sqlite3_close(s->db);
        s->db = NULL;
        r = database_open(path, true, &s->db);
        if (r < 0)
                return r;
        if (prepared) {
                r = prepare_all(s);
                if (r < 0)
                        return r;
        }
        /* Alone with the file, the store may remember what it read. */
        s->cache = store_cache_new();
        return s->cache ? 0 : -ENOMEM;
}

/* Inside a transaction the caches are read but never filled: a read there
 * may see the transaction's own writes, which a rollback would undo. Every
 * write drops its key's entries, so after a rollback they simply miss.
 * Inside a group a write is a savepoint: its rollback undoes it alone. */
/* SQLite rolls a whole transaction back on some errors (SQLITE_FULL
 * while spilling pages, an I/O error, no memory): inside a group that
 * undoes the writes before as well, and a SAVEPOINT then would begin a
 * transaction of its own. So the group is marked lost, with the error,
 * and fails whole. */
static int group_check(Store *s, int rc) {
        if (!s->group_error && sqlite3_get_autocommit(s->db))
                s->group_error = store_errno_from_sqlite(rc) ?: -EIO;
        return s->group_error;
}

int store_begin(Store *s) {
        if (s->in_group) {
                int r = group_check(s, SQLITE_OK);
                return r < 0 ? r : store_step_done(s->stmt[STMT_SAVEPOINT]);
        }
        int r = store_step_done(s->stmt[STMT_BEGIN]);
        if (r >= 0)
                s->in_transaction = true;
        return r;
}

int store_commit(Store *s) {
        if (s->in_group) {
                int r = store_step_done(s->stmt[STMT_RELEASE]);
                int q = group_check(s, SQLITE_OK);
                return q < 0 ? q : r;
        }
        int r = store_step_done(s->stmt[STMT_COMMIT]);
        if (r >= 0)
                s->in_transaction = false;
        return r;
}

const char *store_error_message(Store *s) {
        return sqlite3_errmsg(s->db);
}

void store_rollback(Store *s) {
        if (s->in_group) {
                /* The error that brought the write here, if it was one
                 * that ended the whole transaction. */
                int rc = sqlite3_errcode(s->db);
                /* ROLLBACK TO keeps the savepoint open; RELEASE ends it. */
                (void) store_step_done(s->stmt[STMT_ROLLBACK_TO]);
                (void) store_step_done(s->stmt[STMT_RELEASE]);
                (void) group_check(s, rc);
                return;
        }
        (void) store_step_done(s->stmt[STMT_ROLLBACK]);
        s->in_transaction = false;
}

int store_group_begin(Store *s) {
        if (s->in_transaction)
                return -EBUSY;
        int r = store_begin(s);
        if (r >= 0) {
                s->in_group = true;
                s->group_error = 0;
        }
        return r;
}

int store_group_commit(Store *s) {
        s->in_group = false;
        if (s->group_error < 0) {
                /* Rolled back already (group_check()). */
                s->in_transaction = false;
                return s->group_error;
        }
        int r = store_commit(s);
        /* A failed COMMIT may leave the transaction open (SQLITE_BUSY, a
         * full disk): none of it is kept. */
        if (r < 0)
                store_rollback(s);
        return r;
}

bool store_in_group(const Store *s) {
        return s->in_group;
}

int store_strings_read(sqlite3_stmt *st, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char **grown = realloc(v, (n + 1) * sizeof(char *));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                v = grown;
                r = store_column_strdup(st, 0, &v[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        if (r < 0) {
                record_names_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_refs_read(sqlite3_stmt *st, unsigned limit, StoredRecordRef **ret, size_t *ret_n) {
        StoredRecordRef *items = calloc(limit ?: 1, sizeof(StoredRecordRef));
        size_t n = 0;
        int rc = SQLITE_DONE, r = 0;

        if (!items) {
                store_stmt_finish(st);
                return -ENOMEM;
        }
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                StoredRecordRef *ref = &items[n++];
                ref->kind = (RecordKind) sqlite3_column_int(st, 0);
                ref->stage = (RecordStage) sqlite3_column_int(st, 3);
                /* A fifth column, where there is one: a pending revocation's id. */
                if (sqlite3_column_count(st) > 4)
                        ref->revocation = sqlite3_column_int64(st, 4);
                r = store_column_strdup(st, 1, &ref->plugin);
                if (r >= 0)
                        r = store_column_strdup(st, 2, &ref->name);
                if (r >= 0 && (!ref->plugin || !ref->name))
                        r = -EUCLEAN;
                if (r < 0)
                        break;
        }
        if (r >= 0 && n < limit && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                stored_record_refs_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

int store_column_strdup(sqlite3_stmt *st, int col, char **ret) {
        const char *t = (const char *) sqlite3_column_text(st, col);
        if (!t) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

static int store_column_blob_dup(sqlite3_stmt *st, int col, uint8_t **ret, size_t *ret_size) {
        const void *p = sqlite3_column_blob(st, col);
        size_t n = (size_t) sqlite3_column_bytes(st, col);
        uint8_t *copy = malloc(n ?: 1);
        if (!copy)
                return -ENOMEM;
        if (n > 0)
                memcpy(copy, p, n);
        *ret = copy;
        *ret_size = n;
        return 0;
}

/* Meta statements are prepared per call: they run at start only, and the
 * key check must be able to read meta before store_migrate() runs. */
int store_meta_get(Store *s, const char *key, uint8_t **ret, size_t *ret_size) {
        sqlite3_stmt *st = NULL;
        int r;

        r = prepare(s->db, "SELECT value FROM meta WHERE key = ?1", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = store_column_blob_dup(st, 0, ret, ret_size);
        else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        sqlite3_finalize(st);
        return r;
}

int store_meta_set(Store *s, const char *key, const uint8_t *value, size_t size) {
        sqlite3_stmt *st = NULL;
        int r = prepare(s->db,
                        "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, value, (int) size, SQLITE_STATIC);
        r = store_step_done(st);
        sqlite3_finalize(st);
        return r;
}

int store_kek_foreach(Store *s, StoreKekFunc f, void *userdata) {
        sqlite3_stmt *st = s->stmt[STMT_KEK_ALL];
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *state = (const char *) sqlite3_column_text(st, 1);
                r = f(sqlite3_column_int64(st, 0), state && strcmp(state, "primary") == 0, sqlite3_column_blob(st, 2),
                      (size_t) sqlite3_column_bytes(st, 2), userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

int store_kek_insert(Store *s, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size) {
        sqlite3_stmt *st = s->stmt[STMT_KEK_INSERT];
        sqlite3_bind_int64(st, 1, version);
        sqlite3_bind_text(st, 2, primary ? "primary" : "active", -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, wrapped, (int) wrapped_size, SQLITE_STATIC);
        return store_step_done(st);
}

void store_bind_key(sqlite3_stmt *st, const char *plugin, const char *name) {
        sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
}

static void read_meta_columns(sqlite3_stmt *st, int first, StoredRecord *rec) {
        rec->created_at = sqlite3_column_int64(st, first);
        rec->updated_at = sqlite3_column_int64(st, first + 1);
        rec->has_expires_at = sqlite3_column_type(st, first + 2) != SQLITE_NULL;
        rec->expires_at = rec->has_expires_at ? sqlite3_column_int64(st, first + 2) : 0;
}

int store_record_get(Store *s, RecordKind kind, const char *plugin, const char *name, StoredRecord *ret) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_GET];
        StoredRecord rec = {};
        int r;

        if (s->cache && store_cache_get(s->cache, kind, plugin, name, ret) >= 0)
                return 0;

        store_bind_key(st, plugin, name);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                rec.version = sqlite3_column_int64(st, 0);
                rec.kek_version = sqlite3_column_int64(st, 1);
                read_meta_columns(st, 2, &rec);
                r = store_column_blob_dup(st, 5, &rec.sealed, &rec.sealed_size);
        } else
                r = rc == SQLITE_DONE ? -ENOENT : (store_errno_from_sqlite(rc) ?: -EIO);
        store_stmt_finish(st);
        if (r < 0)
                return r;
        if (s->cache && !s->in_transaction)
                store_cache_put(s->cache, kind, plugin, name, &rec);
        *ret = rec;
        return 0;
}

int store_record_version(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t *ret) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_VERSION];
        int r = 0;

        store_bind_key(st, plugin, name);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                *ret = 0;
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

int store_record_put(Store *s, RecordKind kind, const char *plugin, const char *name, StoredRecord *rec) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_PUT];

        if (s->cache)
                store_cache_drop(s->cache, kind, plugin, name);
        store_bind_key(st, plugin, name);
        sqlite3_bind_int64(st, 3, rec->version);
        sqlite3_bind_int64(st, 4, rec->kek_version);
        sqlite3_bind_blob(st, 5, rec->sealed, (int) rec->sealed_size, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, rec->updated_at);
        if (rec->has_expires_at)
                sqlite3_bind_int64(st, 7, rec->expires_at);
        else
                sqlite3_bind_null(st, 7);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                rec->created_at = sqlite3_column_int64(st, 0);
                rc = sqlite3_step(st);
        }
        store_stmt_finish(st);
        return rc == SQLITE_DONE ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
}

int store_record_delete(Store *s, RecordKind kind, const char *plugin, const char *name) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_DELETE];
        if (s->cache)
                store_cache_drop(s->cache, kind, plugin, name);
        store_bind_key(st, plugin, name);
        int r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_record_list(Store *s, RecordKind kind, const char *plugin, const char *after_plugin, const char *after_name,
                      unsigned limit, StoredRecord **ret, size_t *ret_n) {
        bool cursor = after_plugin || after_name;
        sqlite3_stmt *st;
        StoredRecord *items = NULL;
        size_t n = 0;
        int rc = SQLITE_DONE, r = 0;

        items = calloc(limit ?: 1, sizeof(StoredRecord));
        if (!items)
                return -ENOMEM;

        /* A cursor in another plugin than the one listed: that plugin's
         * records are all after it or all before it (text compares
         * bytewise, as SQLite's BINARY collation does). */
        if (plugin && cursor) {
                int c = strcmp(plugin, after_plugin ?: "");
                if (c < 0) {
                        *ret = items;
                        *ret_n = 0;
                        return 0;
                }
                if (c > 0)
                        cursor = false;
        }
        if (plugin && cursor) {
                st = s->rstmt[kind][RSTMT_LIST_PLUGIN_AFTER];
                sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, after_name ?: "", -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, (int) limit);
        } else if (plugin) {
                st = s->rstmt[kind][RSTMT_LIST_PLUGIN_FIRST];
                sqlite3_bind_text(st, 1, plugin, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, (int) limit);
        } else if (cursor) {
                st = s->rstmt[kind][RSTMT_LIST_ALL_AFTER];
                sqlite3_bind_text(st, 1, after_plugin ?: "", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, after_name ?: "", -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, (int) limit);
        } else {
                st = s->rstmt[kind][RSTMT_LIST_ALL_FIRST];
                sqlite3_bind_int(st, 1, (int) limit);
        }

        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                StoredRecord *rec = &items[n++];
                rec->plugin = strdup((const char *) sqlite3_column_text(st, 0));
                rec->name = strdup((const char *) sqlite3_column_text(st, 1));
                rec->version = sqlite3_column_int64(st, 2);
                read_meta_columns(st, 3, rec);
                if (!rec->plugin || !rec->name) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r >= 0 && n < limit && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        if (r < 0) {
                stored_records_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

int store_list_sql(size_t i, char *buf, size_t size) {
        static const unsigned lists[] = {
                RSTMT_LIST_PLUGIN_FIRST,
                RSTMT_LIST_PLUGIN_AFTER,
                RSTMT_LIST_ALL_FIRST,
                RSTMT_LIST_ALL_AFTER,
        };
        const size_t n_records = _RECORD_KIND_MAX * ELEMENTSOF(lists);
        const char *sql;

        if (i < n_records) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                int k = snprintf(buf, size, record_sql[lists[i % ELEMENTSOF(lists)]],
                                 record_table[i / ELEMENTSOF(lists)]);
#pragma GCC diagnostic pop
                return k >= 0 && (size_t) k < size ? 0 : -ENOBUFS;
        }
        switch (i - n_records) {
        case 0:
                sql = store_sql_plugin_list;
                break;
        case 1:
                sql = store_sql_token_list;
                break;
        default:
                return -ENOENT;
        }
        if (strlen(sql) >= size)
                return -ENOBUFS;
        strcpy(buf, sql);
        return 0;
}

int store_record_count(Store *s, RecordKind kind, int64_t *ret) {
        sqlite3_stmt *st = s->rstmt[kind][RSTMT_COUNT];
        int rc = sqlite3_step(st), r = 0;
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        store_stmt_finish(st);
        return r;
}

void store_column_mac(sqlite3_stmt *st, int col, RecordMac *ret) {
        const void *p = sqlite3_column_blob(st, col);
        *ret = (RecordMac) { .size = (size_t) sqlite3_column_bytes(st, col) };
        if (p)
                memcpy(ret->bytes, p, ret->size < RECORD_MAC_SIZE ? ret->size : RECORD_MAC_SIZE);
        else
                ret->size = 0;
}

void store_bind_mac(sqlite3_stmt *st, int idx, const RecordMac *mac) {
        if (mac && mac->size > 0)
                sqlite3_bind_blob(st, idx, mac->bytes,
                                  (int) (mac->size < RECORD_MAC_SIZE ? mac->size : RECORD_MAC_SIZE), SQLITE_STATIC);
        else
                sqlite3_bind_null(st, idx);
}

/* At start only: prepared per call. */
int store_is_empty(Store *s, bool *ret) {
        sqlite3_stmt *st = NULL;
        int r = prepare(s->db,
                        "SELECT EXISTS (SELECT 1 FROM secret) OR EXISTS (SELECT 1 FROM token) OR "
                        "EXISTS (SELECT 1 FROM apikey) OR EXISTS (SELECT 1 FROM apikey_lookup) OR "
                        "EXISTS (SELECT 1 FROM plugin) OR EXISTS (SELECT 1 FROM audit) OR "
                        "EXISTS (SELECT 1 FROM audit_anchor) OR EXISTS (SELECT 1 FROM secret_stage)",
                        &st);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int(st, 0) == 0;
        else
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(st);
        return r;
}
