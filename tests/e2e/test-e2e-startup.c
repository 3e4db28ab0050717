/* test-e2e-startup.c — the daemon's start-up contract.
 *
 * It refuses to start, with its documented exit code, when there is no root
 * key, the key is wrong (and then leaves the database byte-for-byte as it
 * was), the state directory is unusable, the database fails its integrity
 * check, the development key is present without --dev, the command line is
 * wrong, or another daemon serves the socket. SIGTERM exits 0. */
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
                cmocka_unit_test_setup_teardown(test_wrong_key_changes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_unusable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_page, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dev_key_needs_dev, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_usage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_socket_in_use, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
