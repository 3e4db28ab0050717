/* test-e2e-backup-checks.c — the edges of backup and its offline checker,
 * through the real daemon.
 *
 * Shows: a backup's answer comes after its audit record is on disk (the
 * daemon SIGKILLed the moment the answer arrives still has the record:
 * no copy of the vault goes out unrecorded); --verify-backup and --restore
 * of a FIFO are refused at once (status 5), not left waiting for a writer,
 * and the database is untouched; names from an altered copy reach stderr
 * with their control bytes escaped (\xNN), never raw. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#define DB_FILE "credvault.db"
#define PLUGIN "bk"
#define EXIT_STATE_DIR 5
#define EXIT_CORRUPT 6

static int offline(const char *mode, const char *file, const char *state_dir, const char *key_file) {
        const char *argv[] = { harness_daemon_path(), mode,     file, "--state-dir", state_dir,
                               "--root-key-file",     key_file, NULL };
        return harness_run_daemon(argv, 60000 * harness_time_scale());
}

/* The same, with stderr into err_path (the harness sends it nowhere). */
static int offline_stderr(const char *mode, const char *file, const Harness *h, const char *err_path) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || null < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
                        _exit(127);
                execl(harness_daemon_path(), harness_daemon_path(), mode, file, "--state-dir", h->state_dir,
                      "--root-key-file", h->key_file, (char *) NULL);
                _exit(127);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void sql_run(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        char *err = NULL;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        sqlite3_close(db);
}

static int64_t sql_count(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
}

/* A backup of h's vault into dir/name, through libcredvault. */
static void backup_to(const Harness *h, const char *name, char *path, size_t size) {
        CvClient *c = NULL;
        snprintf(path, size, "%s/%s", h->dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(cv_client_new(h->socket_path, 30000, &c), 0);
        assert_int_equal(cv_backup_fd(c, fd, NULL), 0);
        close(fd);
        cv_client_free(c);
}

static void test_backup_recorded_before_its_answer(void **state) {
        Harness h = {};
        CvClient *c = NULL;
        char copy[256], db[256];
        (void) state;
        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        assert_int_equal(cv_secret_put(c, PLUGIN, "one", "1", 1, NULL), 0);
        cv_client_free(c);
        for (int round = 0; round < 5; round++) {
                char name[32];
                snprintf(name, sizeof(name), "copy%d.db", round);
                backup_to(&h, name, copy, sizeof(copy));
                /* At once: the server's own flush (every 250 ms) has not
                 * run; only a record written before the answer is there. */
                assert_int_equal(harness_kill(&h), 128 + 9);
                snprintf(db, sizeof(db), "%s/%s", h.state_dir, DB_FILE);
                assert_int_equal(sql_count(db, "SELECT count(*) FROM audit WHERE op = 'backup' AND result = 'ok'"),
                                 round + 1);
                assert_int_equal(harness_restart(&h), 0);
        }
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void test_fifo_refused_at_once(void **state) {
        Harness h = {};
        char fifo[256], db[256];
        struct stat before, after;
        (void) state;
        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        snprintf(fifo, sizeof(fifo), "%s/backup.fifo", h.dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        snprintf(db, sizeof(db), "%s/%s", h.state_dir, DB_FILE);
        assert_int_equal(stat(db, &before), 0);
        /* Without O_NONBLOCK the open waits for a writer: the harness
         * would kill it at the timeout (-ETIME), not see status 5. */
        assert_int_equal(offline("--verify-backup", fifo, h.state_dir, h.key_file), EXIT_STATE_DIR);
        assert_int_equal(offline("--restore", fifo, h.state_dir, h.key_file), EXIT_STATE_DIR);
        assert_int_equal(stat(db, &after), 0);
        assert_true(before.st_ino == after.st_ino && before.st_size == after.st_size);
        harness_cleanup(&h);
}

static void test_names_escaped_on_stderr(void **state) {
        Harness h = {};
        CvClient *c = NULL;
        char copy[256], err[256];
        (void) state;
        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        assert_int_equal(cv_secret_put(c, PLUGIN, "plain", "value", 5, NULL), 0);
        cv_client_free(c);
        backup_to(&h, "copy.db", copy, sizeof(copy));
        assert_int_equal(harness_stop(&h), 0);
        /* Renamed in the copy to clear the screen and start a new line:
         * the record no longer opens, and the message names it. */
        sql_run(copy, "UPDATE secret SET name = 'x' || char(27) || '[2J' || char(10) || 'y' WHERE name = 'plain'");
        snprintf(err, sizeof(err), "%s/verify.err", h.dir);
        assert_int_equal(offline_stderr("--verify-backup", copy, &h, err), EXIT_CORRUPT);
        char *text = NULL;
        size_t size = 0;
        assert_int_equal(harness_read_file(err, &text, &size), 0);
        print_message("stderr: %.*s", (int) size, text);
        assert_non_null(memmem(text, size, "x\\x1b[2J\\x0ay", strlen("x\\x1b[2J\\x0ay")));
        assert_null(memchr(text, 0x1b, size));
        assert_int_equal(memchr(text, '\n', size), text + size - 1); /* one line */
        free(text);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backup_recorded_before_its_answer),
                cmocka_unit_test(test_fifo_refused_at_once),
                cmocka_unit_test(test_names_escaped_on_stderr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
