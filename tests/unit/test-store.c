/* test-store.c — daemon/store/store.c: SQLite storage.
 *
 * Shows: a new file is schema 0 and store_migrate() brings it to the newest
 * user_version (idempotently); records of both kinds put, get, version and
 * delete, the two kinds apart; an overwrite keeps created_at and moves
 * updated_at; list is in (plugin, name) order, pages with the
 * (after_plugin, after_name) cursor, filters by plugin and returns metadata
 * only; count counts; deleting a missing record is -ENOENT; a record must
 * name a KEK that exists; deleted and overwritten rows leave no bytes
 * behind in the file; meta and KEK rows round-trip; a garbage file or
 * a damaged database is -EUCLEAN at open; a newer schema is -EPROTO; a
 * committed write is visible to a second, independent connection and a
 * rolled-back one is not. After store_lock_exclusive() the file is the
 * store's alone: another connection can neither write nor read it, at once
 * and without a write by the store first, until the store closes; a store
 * that cannot take it is -EBUSY. A database file the process cannot write
 * is refused at open (-EACCES), and an open that fails says why (a
 * directory is -EISDIR, an unreadable file -EACCES), not -EIO. Plugins, token state, the API key index and the
 * record cache have test files of their own (test-store-*.c). */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit-sql.h"
#include "unit-store.h"

/* The newest schema version store.c knows today. */
#define NEWEST_SCHEMA STORE_SCHEMA_VERSION

static void test_migrate_from_zero(void **state) {
        Fixture *f = *state;

        f->dir = tmpdir_new();
        assert_non_null(f->dir);
        f->db_path = path_join(f->dir, "db");
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_schema_version(f->store), 0);

        assert_int_equal(store_migrate(f->store), 0);
        assert_int_equal(store_schema_version(f->store), NEWEST_SCHEMA);
        /* Again: nothing to do, nothing breaks. */
        assert_int_equal(store_migrate(f->store), 0);
        assert_int_equal(store_schema_version(f->store), NEWEST_SCHEMA);

        /* Seen from outside: user_version and the tables are in the file. */
        sqlite3 *db = db_open_independent(f->db_path);
        assert_int_equal(sql_int(db, "PRAGMA user_version"), NEWEST_SCHEMA);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                     "name IN ('meta', 'kek', 'secret', 'token', 'plugin', 'apikey', "
                                     "'apikey_lookup')"),
                         7);
        /* Schema 3's column, and the trigger that keeps the API key index. */
        assert_int_equal(sql_int(db, "SELECT count(*) FROM pragma_table_info('plugin') WHERE name = 'auth_scheme'"), 1);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                                     "name = 'apikey_lookup_forget'"),
                         1);
        /* Schema 8's counts, and the two triggers per record table that
         * keep them. */
        assert_int_equal(sql_int(db, "SELECT count(*) FROM record_count WHERE n = 0"), 3);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                                     "name LIKE '%\\_count\\_%' ESCAPE '\\'"),
                         6);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(db);

        /* Reopened, the schema is there and migrate is a no-op. */
        store_close(f->store);
        f->store = NULL;
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_schema_version(f->store), NEWEST_SCHEMA);
        assert_int_equal(store_migrate(f->store), 0);
}

static void test_newer_schema_refused(void **state) {
        Fixture *f = *state;

        assert_int_equal(fixture_open_store(f), 0);
        store_close(f->store);
        f->store = NULL;
        sql_exec(f->db_path, "PRAGMA user_version = 99");

        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_schema_version(f->store), 99);
        assert_int_equal(store_migrate(f->store), -EPROTO);
        /* Refusing changed nothing. */
        assert_int_equal(store_schema_version(f->store), 99);
        store_close(f->store);
        f->store = NULL;

        sql_exec(f->db_path, "PRAGMA user_version = 1000");
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_migrate(f->store), -EPROTO);
}

static void test_garbage_file(void **state) {
        Fixture *f = *state;
        static uint8_t noise[3 * 4096];
        const size_t sizes[] = { 5, 100, 4096, sizeof(noise) };

        f->dir = tmpdir_new();
        assert_non_null(f->dir);
        f->db_path = path_join(f->dir, "db");
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                Store *s = NULL;
                bytes_noise(noise, sizes[i], 0x5eed + i);
                assert_int_equal(file_write_all(f->db_path, noise, sizes[i], 0600), 0);
                int r = store_open(f->db_path, &s);
                if (r != -EUCLEAN)
                        fail_msg("%zu bytes of noise: want -EUCLEAN, got %d", sizes[i], r);
                assert_null(s);
        }
        const char text[] = "this is not a database, just some text that goes on for a while........"
                            "..................................................................";
        assert_int_equal(file_write_all(f->db_path, text, sizeof(text), 0600), 0);
        Store *s = NULL;
        assert_int_equal(store_open(f->db_path, &s), -EUCLEAN);
}

/* A real database whose pages were damaged after the header. */
static void test_damaged_database(void **state) {
        Fixture *f = *state;
        uint8_t *data = NULL;
        size_t size = 0;

        assert_int_equal(fixture_open_with_keks(f), 0);
        put_record(f->store, RECORD_SECRET, "p", "n", 1, 1, "sealed");
        put_record(f->store, RECORD_TOKEN, "p", "u", 1, 1, "sealed");
        fixture_close_db(f);
        assert_int_equal(file_read_all(f->db_path, &data, &size), 0);
        assert_true(size >= 3 * 4096);
        /* Keep page 1 (header and schema), scribble over the rest. */
        for (size_t i = 4096; i < size; i++)
                data[i] = (uint8_t) (i * 31 + 7);
        assert_int_equal(file_write_all(f->db_path, data, size, 0600), 0);
        free(data);

        Store *s = NULL;
        assert_int_equal(store_open(f->db_path, &s), -EUCLEAN);
        assert_null(s);
}

/* The daemon's start checks only after an unclean shutdown: not with no
 * -wal file (a clean close removes it) or an empty one, but with frames
 * in one (a kill). A damaged page is then found when it is read. */
static void test_check_after_crash(void **state) {
        Fixture *f = *state;
        _cleanup_(freep) char *wal = NULL;
        bool checked = true;
        Store *s = NULL;

        assert_int_equal(fixture_open_with_keks(f), 0);
        wal = path_join(f->dir, "db-wal");
        put_record(f->store, RECORD_SECRET, "p", "n", 1, 1, "sealed");
        fixture_close_db(f);
        assert_int_equal(access(wal, F_OK), -1);
        assert_int_equal(store_open_checked(f->db_path, STORE_CHECK_AFTER_CRASH, &checked, &s), 0);
        assert_false(checked);
        store_close(s);
        s = NULL;
        int fd = open(wal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(store_open_checked(f->db_path, STORE_CHECK_AFTER_CRASH, &checked, &s), 0);
        assert_false(checked);
        store_close(s);
        s = NULL;
        assert_int_equal(file_write_all(wal, "frames", 6, 0600), 0);
        assert_int_equal(store_open_checked(f->db_path, STORE_CHECK_AFTER_CRASH, &checked, &s), 0);
        assert_true(checked);
        store_close(s);
        s = NULL;
        /* The other callers (tools, offline modes) check always. */
        assert_int_equal(store_open_checked(f->db_path, STORE_CHECK_ALWAYS, &checked, &s), 0);
        assert_true(checked);
        store_close(s);
}

static void test_open_missing_directory(void **state) {
        (void) state;
        Store *s = NULL;
        assert_true(store_open("/nonexistent-credvault-dir/sub/db", &s) < 0);
        assert_null(s);
}

static void check_get(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t version,
                      const char *sealed) {
        StoredRecord got = {};
        int64_t v = -1;

        assert_int_equal(store_record_get(s, kind, plugin, name, &got), 0);
        assert_int_equal(got.version, version);
        assert_int_equal(got.kek_version, 1);
        assert_int_equal(got.sealed_size, strlen(sealed));
        assert_memory_equal(got.sealed, sealed, got.sealed_size);
        assert_null(got.plugin);
        assert_null(got.name);
        stored_record_done(&got);
        assert_int_equal(store_record_version(s, kind, plugin, name, &v), 0);
        assert_int_equal(v, version);
}

static void test_put_get_both_kinds(void **state) {
        Fixture *f = *state;
        StoredRecord got = {};
        int64_t v = -1;

        /* Absent. */
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "todo", "client_secret", &got), -ENOENT);
        assert_int_equal(store_record_version(f->store, RECORD_SECRET, "todo", "client_secret", &v), 0);
        assert_int_equal(v, 0);

        put_record(f->store, RECORD_SECRET, "todo", "client_secret", 1, 1000, "sealed-secret");
        put_record(f->store, RECORD_TOKEN, "todo", "user@example.com", 4, 1001, "sealed-token");
        /* The same key in the other kind is another record. */
        put_record(f->store, RECORD_TOKEN, "todo", "client_secret", 7, 1002, "sealed-token-2");

        check_get(f->store, RECORD_SECRET, "todo", "client_secret", 1, "sealed-secret");
        check_get(f->store, RECORD_TOKEN, "todo", "user@example.com", 4, "sealed-token");
        check_get(f->store, RECORD_TOKEN, "todo", "client_secret", 7, "sealed-token-2");
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "todo", "user@example.com", &got), -ENOENT);
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "other", "client_secret", &got), -ENOENT);

        /* Metadata: timestamps and expiry as given. */
        StoredRecord rec = {
                .version = 1,
                .kek_version = 2,
                .sealed = (uint8_t *) "\x00\x01\x02",
                .sealed_size = 3,
                .updated_at = 1234,
                .has_expires_at = true,
                .expires_at = 5678,
        };
        assert_int_equal(store_record_put(f->store, RECORD_TOKEN, "p", "u", &rec), 0);
        assert_int_equal(rec.created_at, 1234);
        assert_int_equal(store_record_get(f->store, RECORD_TOKEN, "p", "u", &got), 0);
        assert_int_equal(got.kek_version, 2);
        assert_int_equal(got.created_at, 1234);
        assert_int_equal(got.updated_at, 1234);
        assert_true(got.has_expires_at);
        assert_int_equal(got.expires_at, 5678);
        assert_int_equal(got.sealed_size, 3);
        assert_memory_equal(got.sealed, "\x00\x01\x02", 3); /* binary-safe */
        stored_record_done(&got);
}

static void test_overwrite_keeps_created_at(void **state) {
        Fixture *f = *state;
        StoredRecord got = {};

        StoredRecord rec = { .version = 1,
                             .kek_version = 1,
                             .sealed = (uint8_t *) "one",
                             .sealed_size = 3,
                             .updated_at = 1000,
                             .has_expires_at = true,
                             .expires_at = 9999 };
        assert_int_equal(store_record_put(f->store, RECORD_SECRET, "p", "n", &rec), 0);
        assert_int_equal(rec.created_at, 1000);

        rec = (StoredRecord) {
                .version = 2, .kek_version = 2, .sealed = (uint8_t *) "two!", .sealed_size = 4, .updated_at = 2000
        };
        assert_int_equal(store_record_put(f->store, RECORD_SECRET, "p", "n", &rec), 0);
        assert_int_equal(rec.created_at, 1000); /* written back from the row */

        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "p", "n", &got), 0);
        assert_int_equal(got.version, 2);
        assert_int_equal(got.kek_version, 2);
        assert_int_equal(got.created_at, 1000);
        assert_int_equal(got.updated_at, 2000);
        assert_false(got.has_expires_at);
        assert_int_equal(got.sealed_size, 4);
        assert_memory_equal(got.sealed, "two!", 4);
        stored_record_done(&got);

        int64_t n = -1;
        assert_int_equal(store_record_count(f->store, RECORD_SECRET, &n), 0);
        assert_int_equal(n, 1);
}

static void test_record_needs_known_kek(void **state) {
        Fixture *f = *state;
        StoredRecord rec = {
                .version = 1, .kek_version = 3, .sealed = (uint8_t *) "x", .sealed_size = 1, .updated_at = 1
        };
        StoredRecord got = {};

        assert_true(store_record_put(f->store, RECORD_SECRET, "p", "n", &rec) < 0);
        rec.kek_version = 1;
        rec.version = 0; /* versions start at 1 */
        assert_true(store_record_put(f->store, RECORD_SECRET, "p", "n", &rec) < 0);
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "p", "n", &got), -ENOENT);
        /* The statements are reusable after a failure. */
        rec.version = 1;
        assert_int_equal(store_record_put(f->store, RECORD_SECRET, "p", "n", &rec), 0);
}

static void test_delete(void **state) {
        Fixture *f = *state;
        StoredRecord got = {};
        int64_t v = -1;

        put_record(f->store, RECORD_SECRET, "p", "n", 3, 1, "s");
        put_record(f->store, RECORD_TOKEN, "p", "n", 1, 1, "t");

        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "p", "n"), 0);
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "p", "n", &got), -ENOENT);
        assert_int_equal(store_record_version(f->store, RECORD_SECRET, "p", "n", &v), 0);
        assert_int_equal(v, 0);
        /* The token of the same name is untouched. */
        check_get(f->store, RECORD_TOKEN, "p", "n", 1, "t");

        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "p", "n"), -ENOENT);
        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "p", "never"), -ENOENT);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "q", "n"), -ENOENT);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "p", "n"), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "p", "n"), -ENOENT);

        /* Deleted, then put again: a new record. */
        put_record(f->store, RECORD_SECRET, "p", "n", 1, 50, "again");
        check_get(f->store, RECORD_SECRET, "p", "n", 1, "again");
        assert_int_equal(store_record_get(f->store, RECORD_SECRET, "p", "n", &got), 0);
        assert_int_equal(got.created_at, 50);
        stored_record_done(&got);
}

/* (plugin, name) in the order list must return them. */
static const char *const sorted[][2] = {
        { "a", "x" },
        { "a", "x1" },
        { "a", "y" },
        { "a.b", "a" },
        { "ab", "a" },
        { "b", "A" },
        { "b", "B" },
        { "b", "a" },
        { "b", "b" },
        { "b", "c" },
        { "c", "z" },
        { "todo", "client_id" },
        { "todo", "client_secret" },
};

static void put_sorted_shuffled(Store *s, RecordKind kind) {
        /* Insert in an order unrelated to the sort order. */
        const size_t n = ELEMENTSOF(sorted);
        for (size_t i = 0; i < n; i++) {
                size_t j = (i * 5 + 3) % n; /* 5 is coprime with 13 */
                put_record(s, kind, sorted[j][0], sorted[j][1], 1, (int64_t) (100 + j), "x");
        }
}

static void test_list_order(void **state) {
        Fixture *f = *state;
        StoredRecord *items = NULL;
        size_t n = 0;

        assert_int_equal(ELEMENTSOF(sorted), 13);
        put_sorted_shuffled(f->store, RECORD_SECRET);
        put_record(f->store, RECORD_TOKEN, "a", "token-only", 1, 1, "x");

        assert_int_equal(store_record_list(f->store, RECORD_SECRET, NULL, NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, ELEMENTSOF(sorted));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].plugin, sorted[i][0]);
                assert_string_equal(items[i].name, sorted[i][1]);
                assert_int_equal(items[i].version, 1);
                assert_int_equal(items[i].updated_at, 100 + (int64_t) i);
                assert_null(items[i].sealed); /* metadata only */
                assert_int_equal(items[i].sealed_size, 0);
        }
        stored_records_free(items, n);

        /* Empty kind, empty list. */
        assert_int_equal(store_record_list(f->store, RECORD_TOKEN, "zzz", NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_records_free(items, n);
}

static void test_list_paging(void **state) {
        Fixture *f = *state;

        put_sorted_shuffled(f->store, RECORD_SECRET);
        for (unsigned limit = 1; limit <= 5; limit++) {
                char after_plugin[64] = "", after_name[64] = "";
                size_t seen = 0;
                bool first = true;

                for (;;) {
                        StoredRecord *items = NULL;
                        size_t n = 0;
                        assert_int_equal(store_record_list(f->store, RECORD_SECRET, NULL, first ? NULL : after_plugin,
                                                           first ? NULL : after_name, limit, &items, &n),
                                         0);
                        assert_true(n <= limit);
                        for (size_t i = 0; i < n; i++, seen++) {
                                assert_true(seen < ELEMENTSOF(sorted));
                                assert_string_equal(items[i].plugin, sorted[seen][0]);
                                assert_string_equal(items[i].name, sorted[seen][1]);
                        }
                        if (n > 0) {
                                snprintf(after_plugin, sizeof(after_plugin), "%s", items[n - 1].plugin);
                                snprintf(after_name, sizeof(after_name), "%s", items[n - 1].name);
                        }
                        stored_records_free(items, n);
                        first = false;
                        if (n < limit)
                                break;
                }
                assert_int_equal(seen, ELEMENTSOF(sorted));
        }
}

static void test_list_plugin_filter(void **state) {
        Fixture *f = *state;
        StoredRecord *items = NULL;
        size_t n = 0;
        static const char *const b_names[] = { "A", "B", "a", "b", "c" };

        put_sorted_shuffled(f->store, RECORD_SECRET);
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "b", NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, ELEMENTSOF(b_names));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].plugin, "b");
                assert_string_equal(items[i].name, b_names[i]);
        }
        stored_records_free(items, n);

        /* Filter and cursor together: the page after ("b", "B"), two at a time. */
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "b", "b", "B", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].name, "a");
        assert_string_equal(items[1].name, "b");
        stored_records_free(items, n);
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "b", "b", "b", 2, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].name, "c");
        stored_records_free(items, n);
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "b", "b", "c", 2, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_records_free(items, n);

        /* A prefix of a plugin name is another plugin. */
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "a", NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 3);
        stored_records_free(items, n);
        assert_int_equal(store_record_list(f->store, RECORD_SECRET, "nope", NULL, NULL, 100, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_records_free(items, n);
}

/* secure_delete: once committed and checkpointed, a deleted or overwritten
 * row's bytes are gone from the file, not left in free space. */
static void test_deleted_bytes_gone(void **state) {
        Fixture *f = *state;
        char deleted[65], overwritten[65], kept[65];
        uint8_t *data = NULL;
        size_t size = 0;

        memcpy(deleted, "DELETED-ROW-MARKER-", 19);
        memcpy(overwritten, "OVERWRITTEN-MARKER-", 19);
        memcpy(kept, "KEPT-ROW-MARKER-...", 19);
        for (size_t i = 19; i < 64; i++)
                deleted[i] = overwritten[i] = kept[i] = (char) ('a' + i % 26);
        deleted[64] = overwritten[64] = kept[64] = 0;

        put_record(f->store, RECORD_SECRET, "p", "deleted", 1, 1, deleted);
        put_record(f->store, RECORD_SECRET, "p", "overwritten", 1, 1, overwritten);
        put_record(f->store, RECORD_SECRET, "p", "kept", 1, 1, kept);
        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "p", "deleted"), 0);
        put_record(f->store, RECORD_SECRET, "p", "overwritten", 2, 2, "the new value");
        fixture_close_db(f); /* the last close checkpoints the WAL into the file */

        assert_int_equal(file_read_all(f->db_path, &data, &size), 0);
        assert_non_null(memmem(data, size, kept, 64)); /* the check can see rows */
        assert_null(memmem(data, size, deleted, 19));
        assert_null(memmem(data, size, overwritten, 19));
        free(data);
}

static void test_count(void **state) {
        Fixture *f = *state;
        int64_t n = -1;

        assert_int_equal(store_record_count(f->store, RECORD_SECRET, &n), 0);
        assert_int_equal(n, 0);
        put_sorted_shuffled(f->store, RECORD_SECRET);
        put_record(f->store, RECORD_TOKEN, "p", "u1", 1, 1, "x");
        put_record(f->store, RECORD_TOKEN, "p", "u2", 1, 1, "x");
        put_record(f->store, RECORD_TOKEN, "p", "u2", 2, 2, "y"); /* overwrite: still two */
        assert_int_equal(store_record_count(f->store, RECORD_SECRET, &n), 0);
        assert_int_equal(n, ELEMENTSOF(sorted));
        assert_int_equal(store_record_count(f->store, RECORD_TOKEN, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "p", "u1"), 0);
        assert_int_equal(store_record_count(f->store, RECORD_TOKEN, &n), 0);
        assert_int_equal(n, 1);
}

static void test_meta(void **state) {
        Fixture *f = *state;
        uint8_t *v = NULL;
        size_t size = 0;

        assert_int_equal(store_meta_get(f->store, "k", &v, &size), -ENOENT);
        assert_int_equal(store_meta_set(f->store, "k", (const uint8_t *) "\x00value", 6), 0);
        assert_int_equal(store_meta_get(f->store, "k", &v, &size), 0);
        assert_int_equal(size, 6);
        assert_memory_equal(v, "\x00value", 6);
        free(v);
        assert_int_equal(store_meta_set(f->store, "k", (const uint8_t *) "new", 3), 0);
        assert_int_equal(store_meta_get(f->store, "k", &v, &size), 0);
        assert_int_equal(size, 3);
        assert_memory_equal(v, "new", 3);
        free(v);
        assert_int_equal(store_meta_get(f->store, "other", &v, &size), -ENOENT);
}

typedef struct KekWalk {
        size_t n;
        int64_t versions[4];
        bool primary[4];
        int stop_at;
} KekWalk;

static int kek_walk(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size, void *userdata) {
        KekWalk *w = userdata;
        assert_int_equal(wrapped_size, TEST_WRAPPED_SIZE);
        assert_non_null(wrapped);
        w->versions[w->n] = version;
        w->primary[w->n] = primary;
        w->n++;
        return (int) w->n == w->stop_at ? -ECANCELED : 0;
}

static void test_kek_rows(void **state) {
        Fixture *f = *state;
        uint8_t wrapped[TEST_WRAPPED_SIZE] = { 0 };
        KekWalk w = {};

        /* setup_store inserted 1 (active) and 2 (primary); add 5 and 3. */
        assert_int_equal(store_kek_insert(f->store, 5, false, wrapped, sizeof(wrapped)), 0);
        assert_int_equal(store_kek_insert(f->store, 3, false, wrapped, sizeof(wrapped)), 0);
        /* One primary only, and versions are unique. */
        assert_true(store_kek_insert(f->store, 6, true, wrapped, sizeof(wrapped)) < 0);
        assert_true(store_kek_insert(f->store, 3, false, wrapped, sizeof(wrapped)) < 0);

        assert_int_equal(store_kek_foreach(f->store, kek_walk, &w), 0);
        assert_int_equal(w.n, 4);
        const int64_t want[] = { 1, 2, 3, 5 };
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(w.versions[i], want[i]);
                assert_int_equal(w.primary[i], want[i] == 2);
        }

        /* A negative return stops the walk and is returned; the next walk
         * starts over. */
        w = (KekWalk) { .stop_at = 2 };
        assert_int_equal(store_kek_foreach(f->store, kek_walk, &w), -ECANCELED);
        assert_int_equal(w.n, 2);
        w = (KekWalk) {};
        assert_int_equal(store_kek_foreach(f->store, kek_walk, &w), 0);
        assert_int_equal(w.n, 4);
}

static void test_commit_visible_to_other_connection(void **state) {
        Fixture *f = *state;
        sqlite3 *db = db_open_independent(f->db_path);

        /* Autocommit put. */
        put_record(f->store, RECORD_SECRET, "p", "auto", 1, 1, "sealed-auto");
        assert_int_equal(sql_int(db, "SELECT count(*) FROM secret WHERE plugin = 'p' AND name = 'auto'"), 1);

        /* An explicit transaction: invisible until committed. */
        assert_int_equal(store_begin(f->store), 0);
        put_record(f->store, RECORD_SECRET, "p", "tx", 1, 1, "sealed-tx");
        assert_int_equal(sql_int(db, "SELECT count(*) FROM secret WHERE name = 'tx'"), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM secret WHERE name = 'tx'"), 1);
        assert_int_equal(sql_int(db, "SELECT length(sealed) FROM secret WHERE name = 'tx'"), 9);

        /* Rolled back: never visible, not even to the store itself. */
        assert_int_equal(store_begin(f->store), 0);
        put_record(f->store, RECORD_SECRET, "p", "rolled", 1, 1, "x");
        store_rollback(f->store);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM secret WHERE name = 'rolled'"), 0);
        int64_t v = -1;
        assert_int_equal(store_record_version(f->store, RECORD_SECRET, "p", "rolled", &v), 0);
        assert_int_equal(v, 0);

        sqlite3_close(db);

        /* After close and reopen, everything committed is there. */
        store_close(f->store);
        f->store = NULL;
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_migrate(f->store), 0);
        check_get(f->store, RECORD_SECRET, "p", "auto", 1, "sealed-auto");
        check_get(f->store, RECORD_SECRET, "p", "tx", 1, "sealed-tx");
}

/* What a second connection's statement gets: SQLITE_OK (or ROW) when it
 * could run, SQLITE_BUSY when the file is held. */
static int other_connection_try(const char *path, const char *sql) {
        sqlite3 *db = db_open_independent(path);
        sqlite3_stmt *st = NULL;
        sqlite3_busy_timeout(db, 50);
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW || rc == SQLITE_DONE)
                        rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return rc & 0xff;
}

/* The daemon's store keeps the file to itself from the moment it takes the
 * lock, not from its first write: before, a second daemon or an sqlite3
 * shell could write behind its cache. */
static void test_lock_exclusive_keeps_others_out(void **state) {
        Fixture *f = *state;

        put_record(f->store, RECORD_SECRET, "p", "n", 1, 1, "sealed");
        assert_int_equal(other_connection_try(f->db_path, "UPDATE secret SET version = 7"), SQLITE_OK);
        assert_int_equal(store_lock_exclusive(f->store), 0);

        /* Nothing written since the lock: still nobody else writes, or reads. */
        assert_int_equal(other_connection_try(f->db_path, "UPDATE secret SET version = 8"), SQLITE_BUSY);
        assert_int_equal(other_connection_try(f->db_path, "SELECT count(*) FROM secret"), SQLITE_BUSY);
        check_get(f->store, RECORD_SECRET, "p", "n", 7, "sealed");

        /* The store itself reads and writes as before (its statements
         * survived the lock), and its writes stay its own. */
        put_record(f->store, RECORD_SECRET, "p", "m", 1, 1, "sealed-m");
        assert_int_equal(store_begin(f->store), 0);
        put_record(f->store, RECORD_SECRET, "p", "tx", 1, 1, "sealed-tx");
        assert_int_equal(store_commit(f->store), 0);
        check_get(f->store, RECORD_SECRET, "p", "m", 1, "sealed-m");
        assert_int_equal(other_connection_try(f->db_path, "DELETE FROM secret"), SQLITE_BUSY);

        /* Closed, the file is free again and holds every write. */
        fixture_close_db(f);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM secret"), 3);
        assert_int_equal(sql_file_int(f->db_path, "SELECT version FROM secret WHERE name = 'n'"), 7);
}

/* A file another connection is writing cannot be taken: -EBUSY (after the
 * busy timeout), and the other connection's transaction is not disturbed.
 * Nor can a file another connection merely reads. */
static void test_lock_exclusive_busy(void **state) {
        Fixture *f = *state;
        sqlite3 *db = db_open_independent(f->db_path);

        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO meta VALUES('other', x'01')", NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(store_lock_exclusive(f->store), -EBUSY);
        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sql_int(db, "SELECT count(*) FROM meta WHERE key = 'other'"), 1);

        fixture_close_db(f);
        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(sqlite3_exec(db, "BEGIN; SELECT count(*) FROM meta", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(store_lock_exclusive(f->store), -EBUSY);
        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

/* Run store_open() on path in a child as nobody (when root) and return its
 * result; as any other user, in this process. */
static int open_as_nobody(const char *path) {
        Store *s = NULL;
        int status;

        if (geteuid() != 0) {
                int r = store_open(path, &s);
                store_close(s);
                return r;
        }
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(100);
                int r = store_open(path, &s);
                store_close(s);
                _exit(r < 0 ? -r : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 100);
        return -WEXITSTATUS(status);
}

/* SQLite opens a file it cannot write read-only, silently: every write
 * would then fail. The store refuses it instead. */
static void test_open_read_only_file(void **state) {
        Fixture *f = *state;

        assert_int_equal(fixture_open_store(f), 0);
        fixture_close_db(f);
        assert_int_equal(chmod(f->dir, 0711), 0);
        if (geteuid() == 0)
                assert_int_equal(chown(f->dir, 65534, 65534), 0);
        if (geteuid() == 0)
                assert_int_equal(chown(f->db_path, 65534, 65534), 0);
        assert_int_equal(chmod(f->db_path, 0400), 0);
        assert_int_equal(open_as_nobody(f->db_path), -EACCES);

        /* Writable again, it opens. */
        assert_int_equal(chmod(f->db_path, 0600), 0);
        assert_int_equal(open_as_nobody(f->db_path), 0);
}

/* The cause of a failed open is the system's, not SQLite's "I/O error". */
static void test_open_failure_cause(void **state) {
        Fixture *f = *state;
        Store *s = NULL;

        f->dir = tmpdir_new();
        assert_non_null(f->dir);
        f->db_path = path_join(f->dir, "db");
        assert_int_equal(mkdir(f->db_path, 0700), 0);
        assert_int_equal(store_open(f->db_path, &s), -EISDIR);
        assert_null(s);
        assert_int_equal(rmdir(f->db_path), 0);

        assert_int_equal(file_write_all(f->db_path, "", 0, 0600), 0);
        assert_int_equal(chmod(f->dir, 0711), 0);
        assert_int_equal(chmod(f->db_path, 0000), 0);
        assert_int_equal(open_as_nobody(f->db_path), -EACCES);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_migrate_from_zero, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_garbage_file, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_database, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_check_after_crash, setup_empty, teardown),
                cmocka_unit_test(test_open_missing_directory),
                cmocka_unit_test_setup_teardown(test_put_get_both_kinds, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_overwrite_keeps_created_at, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_record_needs_known_kek, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_delete, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list_order, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list_paging, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list_plugin_filter, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_deleted_bytes_gone, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_count, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_meta, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_kek_rows, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_commit_visible_to_other_connection, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_lock_exclusive_keeps_others_out, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_lock_exclusive_busy, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_open_read_only_file, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_open_failure_cause, setup_empty, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
