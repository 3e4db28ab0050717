/* test-e2e-startup.c — the daemon's start-up contract.
 *
 * It refuses to start, with its documented exit code, when there is no root
 * key, the key is wrong (and then leaves the database byte-for-byte as it
 * was), the state directory is unusable, the database fails its integrity
 * check, the development key is present without --dev, the command line is
 * wrong, or another daemon serves the socket. SIGTERM exits 0. A key file
 * that is a FIFO is refused at once (it used to hang start-up), so is one
 * owned by another user, and 32 hex digits (a 128-bit key that was read as
 * 32 raw bytes). A state directory others can only read or enter is
 * tightened to 0700; one group or others can write is refused (status 5),
 * left as it was, as anything planted in it would be trusted. A database,
 * -wal or lock file that is a symbolic link, or has a second hard link, is
 * refused (status 5) naming it, and so is a development key that is a
 * symbolic link (status 3), while an operator's --root-key-file may be
 * one. Each refusal names the path and the system's cause (not
 * "Input/output error"). Faults on a running daemon, and files planted by
 * another user, are in test-e2e-faults.c. The start runs SQLite's check
 * only after an unclean shutdown (the log says which); a page damaged
 * after a clean one is found when read, and by credvaultd --check. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

/* Exit codes from credvaultd(8). */
enum { EXIT_USAGE = 2, EXIT_NO_KEY = 3, EXIT_WRONG_KEY = 4, EXIT_STATE_DIR = 5, EXIT_CORRUPT = 6, EXIT_SOCKET = 7 };

#define RUN_TIMEOUT_MS 10000

static Harness h;

static int setup(void **state) {
        (void) state;
        h = (Harness) {};
        if (harness_start(&h) < 0)
                return -1;
        CvClient *c = NULL;
        int r = cv_client_new(h.socket_path, 5000, &c);
        if (r >= 0)
                r = cv_secret_put(c, "todo", "client_secret", "s3cret", 6, NULL);
        cv_client_free(c);
        return r < 0 || harness_stop(&h) != 0 ? -1 : 0;
}

static int teardown(void **state) {
        (void) state;
        harness_cleanup(&h);
        return 0;
}

static int run(const char *state_dir, const char *key, const char *socket, const char *extra) {
        const char *argv[12];
        int n = 0;
        argv[n++] = harness_daemon_path();
        if (state_dir)
                argv[n++] = "--state-dir", argv[n++] = state_dir;
        if (key)
                argv[n++] = "--root-key-file", argv[n++] = key;
        if (socket)
                argv[n++] = "--socket", argv[n++] = socket;
        if (extra)
                argv[n++] = extra;
        argv[n] = NULL;
        return harness_run_daemon(argv, RUN_TIMEOUT_MS);
}

/* harness_run_daemon() with the daemon's stderr kept: the test's own stderr
 * points at a file for the call, and CV_TEST_VERBOSE lets the harness pass
 * it on. Returns the exit status; *ret_log is what the daemon said. */
static int run_argv_logged(const char *const *argv, char **ret_log) {
        char path[256], *data = NULL;
        size_t size = 0;
        const char *verbose = getenv("CV_TEST_VERBOSE");

        snprintf(path, sizeof(path), "%s/refusal.log", h.dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        setenv("CV_TEST_VERBOSE", "1", 1);
        int r = harness_run_daemon(argv, RUN_TIMEOUT_MS);
        if (!verbose)
                unsetenv("CV_TEST_VERBOSE");
        dup2(saved, STDERR_FILENO);
        close(saved);
        assert_int_equal(harness_read_file(path, &data, &size), 0);
        *ret_log = strndup(data, size);
        free(data);
        assert_non_null(*ret_log);
        return r;
}

static int run_logged(const char *state_dir, const char *key, const char *socket, char **ret_log) {
        const char *argv[] = {
                harness_daemon_path(), "--state-dir", state_dir, "--root-key-file", key, "--socket", socket, NULL
        };
        return run_argv_logged(argv, ret_log);
}

/* The daemon's message holds every one of the strings (NULL-terminated). */
static void assert_says(const char *log, ...) {
        va_list ap;
        va_start(ap, log);
        for (const char *want; (want = va_arg(ap, const char *));)
                if (!strstr(log, want))
                        fail_msg("the daemon did not say '%s'; it said: %s", want, log);
        va_end(ap);
}

static void write_file(const char *path, const void *data, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        close(fd);
        chmod(path, mode);
}

static void test_no_key(void **state) {
        (void) state;
        unsetenv("CREDENTIALS_DIRECTORY");
        assert_int_equal(run(h.state_dir, NULL, h.socket_path, NULL), EXIT_NO_KEY);
}

static void test_unreadable_or_malformed_key(void **state) {
        (void) state;
        char path[256];
        snprintf(path, sizeof(path), "%s/short.key", h.dir);
        write_file(path, "too short", 9, 0600);
        assert_int_equal(run(h.state_dir, path, h.socket_path, NULL), EXIT_NO_KEY);
        assert_int_equal(run(h.state_dir, "/nonexistent/key", h.socket_path, NULL), EXIT_NO_KEY);
        snprintf(path, sizeof(path), "%s/public.key", h.dir);
        write_file(path, "0123456789abcdef0123456789abcdef", 32, 0644);
        assert_int_equal(run(h.state_dir, path, h.socket_path, NULL), EXIT_NO_KEY);
}

/* A FIFO as the key file: opening it for reading used to wait for a writer
 * that never came, so start-up hung (and harness_run_daemon() timed out). */
static void test_fifo_key(void **state) {
        (void) state;
        char path[256], *log = NULL;
        snprintf(path, sizeof(path), "%s/fifo.key", h.dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(run_logged(h.state_dir, path, h.socket_path, &log), EXIT_NO_KEY);
        assert_says(log, path, "not a regular file", NULL);
        free(log);
}

/* A key file another user owns: that user could swap in a key they know. */
static void test_key_owned_by_another_user(void **state) {
        (void) state;
        char path[256], *log = NULL, *key = NULL;
        size_t size = 0;

        if (geteuid() != 0)
                skip(); /* needs chown */
        snprintf(path, sizeof(path), "%s/theirs.key", h.dir);
        assert_int_equal(harness_read_file(h.key_file, &key, &size), 0);
        write_file(path, key, size, 0600);
        free(key);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(run_logged(h.state_dir, path, h.socket_path, &log), EXIT_NO_KEY);
        assert_says(log, path, "owned by uid 65534", NULL);
        free(log);
}

/* 32 hex digits are a 128-bit key; they used to be read as 32 raw bytes,
 * so such a vault started (here: on the existing one, with a key that
 * does not match, exit 4). Hex text must be 64 digits. */
static void test_hex_key_of_32_digits(void **state) {
        (void) state;
        char path[256], *log = NULL;
        snprintf(path, sizeof(path), "%s/short-hex.key", h.dir);
        write_file(path, "0123456789abcdef0123456789abcdef", 32, 0600);
        assert_int_equal(run_logged(h.state_dir, path, h.socket_path, &log), EXIT_NO_KEY);
        assert_says(log, path, "64 hex digits", NULL);
        free(log);
}

static void test_wrong_key_changes_nothing(void **state) {
        (void) state;
        char key[256], db[256], *before = NULL, *after = NULL;
        size_t before_size, after_size;

        snprintf(key, sizeof(key), "%s/wrong.key", h.dir);
        write_file(key, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n", 65, 0600);
        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        assert_int_equal(harness_read_file(db, &before, &before_size), 0);
        assert_int_equal(run(h.state_dir, key, h.socket_path, NULL), EXIT_WRONG_KEY);
        assert_int_equal(harness_read_file(db, &after, &after_size), 0);
        assert_int_equal(before_size, after_size);
        assert_memory_equal(before, after, before_size);
        free(before);
        free(after);

        /* And the right key still opens it. */
        assert_int_equal(harness_restart(&h), 0);
        CvClient *c = NULL;
        CvSecret *s = NULL;
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_secret_get(c, "todo", "client_secret", &s), 0);
        assert_memory_equal(s->value, "s3cret", 6);
        cv_secret_free(s);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
}

static void test_state_dir_unusable(void **state) {
        (void) state;
        char path[256];
        snprintf(path, sizeof(path), "%s/not-a-dir", h.dir);
        write_file(path, "x", 1, 0600);
        assert_int_equal(run(path, h.key_file, h.socket_path, NULL), EXIT_STATE_DIR);
        assert_int_equal(run("/proc/credvault-cannot-exist", h.key_file, h.socket_path, NULL), EXIT_STATE_DIR);
}

/* A state directory others can read or enter, but not write, is
 * tightened to 0700 (and said so), before the key or the database is
 * touched: nobody else could have put anything in it. */
static void test_state_dir_mode_tightened(void **state) {
        (void) state;
        const mode_t modes[] = { 0755, 0750, 0701, 0711 };
        struct stat st;

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                char *log = NULL, want[32];
                assert_int_equal(chmod(h.state_dir, modes[i]), 0);
                assert_int_equal(harness_restart(&h), 0);
                assert_int_equal(stat(h.state_dir, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0700);
                assert_int_equal(harness_stop(&h), 0);
                size_t size = 0;
                assert_int_equal(harness_read_file(h.log_file, &log, &size), 0);
                char *text = strndup(log, size);
                free(log);
                snprintf(want, sizeof(want), "mode %04o", (unsigned) modes[i]);
                assert_says(text, h.state_dir, want, "0700", NULL);
                free(text);
        }
}

/* A state directory group or others could write used to be tightened
 * too, and whatever they had planted in it trusted: now it is refused,
 * its mode left as it was, until its owner has looked. */
static void test_state_dir_writable_refused(void **state) {
        (void) state;
        const mode_t modes[] = { 0777, 0770, 0730, 0702, 01777 };
        struct stat st;

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                char *log = NULL, want[32];
                assert_int_equal(chmod(h.state_dir, modes[i]), 0);
                assert_int_equal(run_logged(h.state_dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
                snprintf(want, sizeof(want), "mode %04o", (unsigned) modes[i]);
                assert_says(log, h.state_dir, want, "writable by group or others", "chmod 0700", NULL);
                free(log);
                assert_int_equal(stat(h.state_dir, &st), 0);
                assert_int_equal(st.st_mode & 07777, modes[i]);
        }
        assert_int_equal(chmod(h.state_dir, 0700), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
}

/* The database, its -wal file or the lock file as a symbolic link (to a
 * file elsewhere, which someone else could write), or with a second hard
 * link: refused, naming it, and nothing is written through it. */
static void test_state_files_not_followed(void **state) {
        (void) state;
        char db[256], wal[256], lock[256], elsewhere[256], *log = NULL, *before = NULL, *after = NULL;
        size_t before_size = 0, after_size = 0;

        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        snprintf(wal, sizeof(wal), "%s/credvault.db-wal", h.state_dir);
        snprintf(lock, sizeof(lock), "%s/credvault.lock", h.state_dir);
        snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere.db", h.dir);

        /* The database moved out, a symbolic link to it left in its place. */
        assert_int_equal(rename(db, elsewhere), 0);
        assert_int_equal(symlink(elsewhere, db), 0);
        assert_int_equal(harness_read_file(elsewhere, &before, &before_size), 0);
        assert_int_equal(run_logged(h.state_dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
        assert_says(log, db, "symbolic link", NULL);
        free(log);
        assert_int_equal(harness_read_file(elsewhere, &after, &after_size), 0);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);
        assert_int_equal(unlink(db), 0);

        /* A hard link to it in the state directory. */
        assert_int_equal(link(elsewhere, db), 0);
        assert_int_equal(run_logged(h.state_dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
        assert_says(log, db, "2 hard links", NULL);
        free(log);
        assert_int_equal(unlink(elsewhere), 0);

        /* A -wal file that is a symbolic link (dangling: it would be
         * created). */
        assert_int_equal(symlink(elsewhere, wal), 0);
        assert_int_equal(run_logged(h.state_dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
        assert_says(log, wal, "symbolic link", NULL);
        free(log);
        assert_int_equal(access(elsewhere, F_OK), -1);
        assert_int_equal(unlink(wal), 0);

        /* The lock file. */
        assert_int_equal(unlink(lock), 0);
        assert_int_equal(symlink(elsewhere, lock), 0);
        assert_int_equal(run_logged(h.state_dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
        assert_says(log, lock, "symbolic link", NULL);
        free(log);
        assert_int_equal(access(elsewhere, F_OK), -1);
        assert_int_equal(unlink(lock), 0);

        /* Cleared, it serves again. */
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
}

/* The development key is looked for by name in the state directory: a
 * symbolic link there is refused. An operator's --root-key-file may be
 * one. */
static void test_key_symlinks(void **state) {
        (void) state;
        char dev_state[256], socket[256], key[300], real[300], link_path[300], *log = NULL;

        snprintf(dev_state, sizeof(dev_state), "%s/devstate", h.dir);
        snprintf(socket, sizeof(socket), "%s/devsock", h.dir);
        snprintf(key, sizeof(key), "%s/dev-root.key", dev_state);
        snprintf(real, sizeof(real), "%s/real.key", h.dir);
        assert_int_equal(mkdir(dev_state, 0700), 0);
        assert_int_equal(symlink(h.key_file, key), 0);
        const char *argv[] = { harness_daemon_path(), "--state-dir", dev_state, "--socket", socket, "--dev", NULL };
        assert_int_equal(run_argv_logged(argv, &log), EXIT_NO_KEY);
        assert_says(log, key, "symbolic link", NULL);
        free(log);

        /* --root-key-file through a symbolic link: followed. */
        snprintf(link_path, sizeof(link_path), "%s/link.key", h.dir);
        assert_int_equal(symlink(h.key_file, link_path), 0);
        assert_int_equal(rename(h.key_file, real), 0);
        assert_int_equal(unlink(link_path), 0);
        assert_int_equal(symlink(real, h.key_file), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
}

/* Each start-up failure names the path and the system's own cause, with
 * its documented status: they all used to say "Input/output error". */
static void test_refusals_name_path_and_cause(void **state) {
        (void) state;
        char dir[256], db[300], key[300], *log = NULL, *data = NULL;
        size_t size = 0;

        /* The database is a directory. */
        snprintf(dir, sizeof(dir), "%s/dir-db", h.dir);
        snprintf(db, sizeof(db), "%s/credvault.db", dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(mkdir(db, 0700), 0);
        assert_int_equal(run_logged(dir, h.key_file, h.socket_path, &log), EXIT_STATE_DIR);
        assert_says(log, db, "Is a directory", NULL);
        free(log);

        /* The database cannot be read by the daemon's user: run it as
         * nobody, with a state directory and key of its own. */
        if (geteuid() != 0)
                skip(); /* needs a second user */
        assert_int_equal(chmod(h.dir, 0711), 0);
        snprintf(dir, sizeof(dir), "%s/nobody-state", h.dir);
        snprintf(db, sizeof(db), "%s/credvault.db", dir);
        snprintf(key, sizeof(key), "%s/nobody.key", h.dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(harness_read_file(h.key_file, &data, &size), 0);
        write_file(key, data, size, 0600);
        free(data);
        assert_int_equal(chown(key, 65534, 65534), 0);
        write_file(db, "", 0, 0600); /* root's */
        const char *argv[] = { "setpriv",
                               "--reuid=65534",
                               "--regid=65534",
                               "--clear-groups",
                               harness_daemon_path(),
                               "--state-dir",
                               dir,
                               "--root-key-file",
                               key,
                               "--socket",
                               h.socket_path,
                               NULL };
        /* Root's file in nobody's directory was not put there by the
         * daemon: refused, naming its owner. */
        assert_int_equal(run_argv_logged(argv, &log), EXIT_STATE_DIR);
        assert_says(log, db, "owned by uid 0", NULL);
        free(log);
        /* The daemon's own file, which it may not read. */
        assert_int_equal(chown(db, 65534, 65534), 0);
        assert_int_equal(chmod(db, 0), 0);
        assert_int_equal(run_argv_logged(argv, &log), EXIT_STATE_DIR);
        assert_says(log, db, "Permission denied", NULL);
        free(log);
}

static void test_corrupt_database(void **state) {
        (void) state;
        char db[256];
        static char garbage[8192];
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (char) (i * 7 + 3);
        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        write_file(db, garbage, sizeof(garbage), 0600);
        assert_int_equal(run(h.state_dir, h.key_file, h.socket_path, NULL), EXIT_CORRUPT);
}

/* Damage inside a real database: a B-tree page overwritten in the middle. */
static void test_damaged_page(void **state) {
        (void) state;
        char db[256];
        char *data = NULL;
        size_t size = 0;
        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        assert_int_equal(harness_read_file(db, &data, &size), 0);
        assert_true(size >= 3 * 4096);
        memset(data + 4096 + 8, 0xA5, 2048); /* page 2, past its header byte */
        write_file(db, data, size, 0600);
        free(data);
        int r = run(h.state_dir, h.key_file, h.socket_path, NULL);
        assert_true(r == EXIT_CORRUPT || r == EXIT_WRONG_KEY);
}

/* The daemon's log since the last call (the harness appends to it). */
static char *log_since(size_t *offset) {
        char *data = NULL, *out;
        size_t size = 0;
        assert_int_equal(harness_read_file(h.log_file, &data, &size), 0);
        assert_true(size >= *offset);
        out = strndup(data + *offset, size - *offset);
        assert_non_null(out);
        *offset = size;
        free(data);
        return out;
}

/* The full check reads the whole file: a start runs it only when the last
 * daemon did not close the file (a -wal file with frames left), so that a
 * clean restart takes the same time at any size. */
static void test_check_only_after_unclean_shutdown(void **state) {
        (void) state;
        size_t offset = 0;
        char *log;
        CvClient *c = NULL;

        assert_int_equal(harness_restart(&h), 0);
        log = log_since(&offset);
        assert_says(log, "integrity check skipped: clean shutdown", NULL);
        free(log);

        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_secret_put(c, "todo", "after", "v", 1, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_kill(&h), 128 + 9);
        assert_int_equal(harness_restart(&h), 0);
        log = log_since(&offset);
        assert_says(log, "integrity check of", "passed (the last shutdown was not clean)", NULL);
        assert_null(strstr(log, "integrity check skipped"));
        free(log);

        /* That start closes cleanly again. */
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        log = log_since(&offset);
        assert_says(log, "integrity check skipped: clean shutdown", NULL);
        free(log);
        assert_int_equal(harness_stop(&h), 0);
}

static int run_check(char **ret_log) {
        const char *argv[] = { harness_daemon_path(), "--state-dir", h.state_dir, "--check", NULL };
        return run_argv_logged(argv, ret_log);
}

/* credvaultd --check: the full check, offline, for operators and timers. */
static void test_check_option(void **state) {
        (void) state;
        char db[256], *log = NULL, *data = NULL;
        size_t size = 0;

        assert_int_equal(run_check(&log), 0);
        free(log);

        /* Not beside a running daemon: it takes the state directory's lock. */
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(run_check(&log), EXIT_STATE_DIR);
        assert_says(log, "in use by credvaultd", NULL);
        free(log);
        assert_int_equal(harness_stop(&h), 0);

        /* A page damaged after a clean shutdown: the start no longer reads
         * every page (test_damaged_page: found when read), --check does. */
        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        assert_int_equal(harness_read_file(db, &data, &size), 0);
        assert_true(size >= 3 * 4096);
        memset(data + 4096 + 8, 0xA5, 2048); /* page 2, as test_damaged_page */
        write_file(db, data, size, 0600);
        free(data);
        assert_int_equal(run_check(&log), EXIT_CORRUPT);
        assert_says(log, db, "fails its integrity check", NULL);
        free(log);

        /* No database: nothing to check, and none is made. */
        assert_int_equal(unlink(db), 0);
        assert_int_equal(run_check(&log), EXIT_STATE_DIR);
        assert_says(log, db, "No such file", NULL);
        free(log);
        assert_int_equal(access(db, F_OK), -1);
}

static void test_dev_key_needs_dev(void **state) {
        (void) state;
        Harness d = {};
        char dev_state[256], socket[256];
        /* Create a development vault, then start it without --dev. */
        assert_int_equal(harness_start(&d), 0);
        assert_int_equal(harness_stop(&d), 0);
        snprintf(dev_state, sizeof(dev_state), "%s/devstate", d.dir);
        snprintf(socket, sizeof(socket), "%s/devsock", d.dir);
        const char *argv[] = { harness_daemon_path(), "--state-dir", dev_state, "--socket", socket, "--dev",
                               "--idle-exit",         "1",           NULL };
        assert_int_equal(harness_run_daemon(argv, RUN_TIMEOUT_MS), 0); /* exits on idle */
        char key[300];
        snprintf(key, sizeof(key), "%s/dev-root.key", dev_state);
        struct stat st;
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        unsetenv("CREDENTIALS_DIRECTORY");
        assert_int_equal(run(dev_state, NULL, socket, NULL), EXIT_NO_KEY);
        harness_cleanup(&d);
}

static void test_bad_usage(void **state) {
        (void) state;
        assert_int_equal(run(h.state_dir, h.key_file, h.socket_path, "--no-such-flag"), EXIT_USAGE);
        assert_int_equal(run(h.state_dir, h.key_file, h.socket_path, "stray-argument"), EXIT_USAGE);
        const char *argv[] = { harness_daemon_path(), "--idle-exit", "soon", NULL };
        assert_int_equal(harness_run_daemon(argv, RUN_TIMEOUT_MS), EXIT_USAGE);
}

static void test_socket_in_use(void **state) {
        (void) state;
        assert_int_equal(harness_restart(&h), 0);
        char other_state[256];
        snprintf(other_state, sizeof(other_state), "%s/other", h.dir);
        assert_int_equal(run(other_state, h.key_file, h.socket_path, NULL), EXIT_SOCKET);
        assert_int_equal(harness_stop(&h), 0);
}

/* A socket file left by a killed daemon does not stop the next one. */
static void test_stale_socket_replaced(void **state) {
        (void) state;
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_kill(&h), 128 + 9);
        assert_int_equal(access(h.socket_path, F_OK), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(access(h.socket_path, F_OK), -1); /* removed on clean exit */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_or_malformed_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fifo_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_owned_by_another_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hex_key_of_32_digits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_key_changes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_unusable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_mode_tightened, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_writable_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_files_not_followed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_symlinks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals_name_path_and_cause, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_page, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_only_after_unclean_shutdown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_option, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dev_key_needs_dev, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_usage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_socket_in_use, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
