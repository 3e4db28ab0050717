/* test-restore-install.c — daemon/restore-install.c: a crash at any step
 * of installing a restored copy leaves the old database or the new one in
 * place, whole, and never none.
 *
 * A "crash" is restore_install() stopped after step N (stop_after): it
 * returns there and nothing else runs, as if the process had died; then
 * what the next start does before opening the vault runs (restore_clean()),
 * and the database is read through a connection of its own. The old
 * database is made with its rows only in its WAL (no checkpoint on close),
 * as a daemon killed mid-run leaves it: a step that dropped or orphaned
 * the WAL would lose them, and the test would see it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "restore-install.h"
#include "unit-sql.h"

typedef struct Dir {
        char *dir, *db, *copy;
} Dir;

static bool exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

static off_t file_size(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0 ? st.st_size : -1;
}

static void sql_run(sqlite3 *db, const char *sql) {
        char *err = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

/* A database in WAL mode whose table and row are only in its -wal. */
static void old_make(const char *path, const char *marker) {
        sqlite3 *db = NULL;
        char sql[128];
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sql_run(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
        assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
        snprintf(sql, sizeof(sql), "CREATE TABLE marker(v TEXT); INSERT INTO marker VALUES('%s')", marker);
        sql_run(db, sql);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* A closed database in rollback mode, as a checked copy is. */
static void copy_make(const char *path, const char *marker) {
        sqlite3 *db = NULL;
        char sql[128];
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        snprintf(sql, sizeof(sql), "CREATE TABLE marker(v TEXT); INSERT INTO marker VALUES('%s')", marker);
        sql_run(db, sql);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* What a start would find at path: the marker, or "" when there is no
 * database (a start would create an empty vault there). */
static char *marker_read(const char *path) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        if (!exists(path))
                return strdup("");
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM marker", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        char *v = strdup((const char *) sqlite3_column_text(st, 0));
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void marker_assert(const char *path, const char *want) {
        char *v = marker_read(path);
        if (strcmp(v, want) != 0)
                fail_msg("%s holds '%s', not '%s'", path, v, want);
        free(v);
}

static void dir_new(Dir *d) {
        d->dir = tmpdir_new();
        assert_non_null(d->dir);
        d->db = path_join(d->dir, "credvault.db");
        d->copy = path_join(d->dir, "credvault.db" RESTORE_TEMP_SUFFIX);
}

static void dir_free(Dir *d) {
        tmpdir_remove(d->dir);
        free(d->db);
        free(d->copy);
}

static void test_crash_after_each_step(void **state) {
        (void) state;
        for (RestoreStep stop = RESTORE_CHECKPOINTED; stop <= RESTORE_DONE; stop++) {
                Dir d;
                RestoreInstall in;
                char wal[PATH_MAX];
                dir_new(&d);
                old_make(d.db, "old");
                snprintf(wal, sizeof(wal), "%s-wal", d.db);
                assert_true(file_size(wal) > 0); /* the old rows are in the WAL only */
                copy_make(d.copy, "new");

                assert_int_equal(restore_install(d.db, d.copy, stop, &in), -ECANCELED);
                assert_int_equal(in.step, stop);
                assert_true(in.replaced);
                assert_int_equal(in.checkpoint_error, 0);

                /* The next start. */
                assert_true(restore_clean(d.db) >= 0);
                assert_false(exists(d.copy));
                print_message("stopped after step %d: the database holds '%s'\n", stop,
                              stop < RESTORE_RENAMED ? "old" : "new");
                marker_assert(d.db, stop < RESTORE_RENAMED ? "old" : "new");
                if (stop >= RESTORE_LINKED)
                        marker_assert(in.aside, "old");
                dir_free(&d);
        }
}

static void test_whole_restores_keep_every_aside(void **state) {
        Dir d;
        RestoreInstall a, b;
        char aside_wal[PATH_MAX + 80];
        (void) state;
        dir_new(&d);
        old_make(d.db, "old");
        copy_make(d.copy, "new");
        assert_int_equal(restore_install(d.db, d.copy, RESTORE_NONE, &a), 0);
        assert_int_equal(a.step, RESTORE_DONE);
        assert_false(a.wal_kept);
        marker_assert(d.db, "new");
        /* A second one in the same second: a new aside, the first kept. */
        copy_make(d.copy, "newer");
        assert_int_equal(restore_install(d.db, d.copy, RESTORE_NONE, &b), 0);
        assert_string_not_equal(a.aside, b.aside);
        marker_assert(d.db, "newer");
        marker_assert(b.aside, "new");
        snprintf(aside_wal, sizeof(aside_wal), "%s-wal", a.aside);
        assert_false(exists(aside_wal)); /* checkpointed: the aside is whole alone */
        marker_assert(a.aside, "old");
        assert_false(exists(d.copy));
        dir_free(&d);
}

static void test_no_database_and_a_stray_wal(void **state) {
        Dir d;
        RestoreInstall in;
        char wal[PATH_MAX];
        (void) state;
        dir_new(&d);
        snprintf(wal, sizeof(wal), "%s-wal", d.db);
        int fd = open(wal, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "stray", 5), 5);
        close(fd);
        copy_make(d.copy, "new");
        assert_int_equal(restore_install(d.db, d.copy, RESTORE_NONE, &in), 0);
        assert_false(in.replaced);
        assert_false(exists(wal));
        marker_assert(d.db, "new");
        dir_free(&d);
}

/* A database that is not one (the reason for a restore, perhaps): it
 * cannot be checkpointed, so its WAL is kept beside its aside. */
static void test_damaged_database_keeps_its_wal(void **state) {
        Dir d;
        RestoreInstall in;
        char wal[PATH_MAX], aside_wal[PATH_MAX + 80];
        (void) state;
        dir_new(&d);
        snprintf(wal, sizeof(wal), "%s-wal", d.db);
        for (int i = 0; i < 2; i++) {
                int fd = open(i ? wal : d.db, O_WRONLY | O_CREAT | O_EXCL, 0600);
                assert_true(fd >= 0);
                char junk[8192];
                memset(junk, 'z' + i, sizeof(junk));
                assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t) sizeof(junk));
                close(fd);
        }
        copy_make(d.copy, "new");
        assert_int_equal(restore_install(d.db, d.copy, RESTORE_NONE, &in), 0);
        assert_int_equal(in.checkpoint_error, -EUCLEAN);
        assert_true(in.wal_kept);
        snprintf(aside_wal, sizeof(aside_wal), "%s-wal", in.aside);
        assert_int_equal(file_size(in.aside), 8192);
        assert_int_equal(file_size(aside_wal), 8192);
        assert_false(exists(wal));
        marker_assert(d.db, "new");
        dir_free(&d);
}

/* Another process reading the old database (a read transaction open):
 * its WAL cannot be checkpointed, so the restore stops before removing
 * the WAL's name, its aside names go again, and the old database is as
 * it was, WAL and all (the re-review's finding: a crash after that
 * removal would have served the database without its WAL's rows). */
static void test_busy_database_stops_the_restore(void **state) {
        Dir d;
        RestoreInstall in;
        char wal[PATH_MAX];
        sqlite3 *reader = NULL;
        sqlite3_stmt *st = NULL;
        (void) state;
        dir_new(&d);
        old_make(d.db, "old");
        snprintf(wal, sizeof(wal), "%s-wal", d.db);
        off_t wal_before = file_size(wal);
        assert_true(wal_before > 0);
        copy_make(d.copy, "new");
        assert_int_equal(sqlite3_open_v2(d.db, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(reader, "SELECT v FROM marker", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* a read transaction, held */

        int r = restore_install(d.db, d.copy, RESTORE_NONE, &in);
        print_message("restore with a reader: %d (checkpoint %d), step %d\n", r, in.checkpoint_error, in.step);
        assert_int_equal(r, -EBUSY);
        assert_int_equal(in.step, RESTORE_LINKED);
        assert_false(in.replaced);
        assert_false(exists(in.aside));
        sqlite3_finalize(st);
        sqlite3_close(reader);
        assert_int_equal(file_size(wal), wal_before);
        marker_assert(d.db, "old");
        assert_true(restore_clean(d.db) >= 0);
        dir_free(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busy_database_stops_the_restore),
                cmocka_unit_test(test_crash_after_each_step),
                cmocka_unit_test(test_whole_restores_keep_every_aside),
                cmocka_unit_test(test_no_database_and_a_stray_wal),
                cmocka_unit_test(test_damaged_database_keeps_its_wal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
