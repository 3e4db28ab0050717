/* test-e2e-durability.c — what an acknowledged write survives.
 *
 * kill -9 right after an acknowledged write keeps it; a burst of writes
 * killed mid-stream keeps every acknowledged one; SIGTERM exits 0 and a
 * restart serves everything; the database and WAL never hold a value in
 * the clear, and neither does the daemon's log. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

static void test_kill9_after_ack_keeps_write(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        CvSecret *s = NULL;
        CvToken *t = NULL;

        assert_int_equal(harness_start(&h), 0);
        for (int round = 0; round < 5; round++) {
                char value[64];
                int n = snprintf(value, sizeof(value), "acknowledged before the crash, round %d", round);
                CvToken tok = { .access_token = value, .token_type = "Bearer", .expires_at = 4102444800 + round };

                assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
                assert_int_equal(cv_secret_put(c, "crash", "s", value, (size_t) n, NULL), 0);
                assert_int_equal(cv_token_put(c, "crash", "u", &tok, NULL), 0);
                assert_int_equal(harness_kill(&h), 128 + 9);
                cv_client_free(c);

                assert_int_equal(harness_restart(&h), 0);
                assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
                assert_int_equal(cv_secret_get(c, "crash", "s", &s), 0);
                assert_int_equal(s->value_size, (size_t) n);
                assert_memory_equal(s->value, value, (size_t) n);
                assert_int_equal(s->version, round + 1);
                cv_secret_free(s);
                assert_int_equal(cv_token_get(c, "crash", "u", &t), 0);
                assert_string_equal(t->access_token, value);
                cv_token_free(t);
                cv_client_free(c);
        }
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* A writer in a child process records each acknowledged version to a pipe;
 * the daemon is killed while it writes. Every acknowledged version must be
 * there afterwards (the last one, or a later one that was committed but
 * whose answer was lost). */
static void test_kill9_during_burst(void **state) {
        (void) state;
        Harness h = {};
        int pipefd[2];
        int64_t acked = 0, v;
        CvClient *c = NULL;
        CvSecret *s = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(pipe(pipefd), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                close(pipefd[0]);
                if (cv_client_new(h.socket_path, 5000, &c) < 0)
                        _exit(1);
                for (int i = 0; i < 100000; i++) {
                        if (cv_secret_put(c, "burst", "counter", &i, sizeof(i), &v) < 0)
                                _exit(0);
                        if (write(pipefd[1], &v, sizeof(v)) != sizeof(v))
                                _exit(1);
                }
                _exit(0);
        }
        close(pipefd[1]);
        /* Let some writes land, then crash the daemon mid-burst. */
        while (acked < 50 && read(pipefd[0], &v, sizeof(v)) == sizeof(v))
                acked = v;
        assert_int_equal(harness_kill(&h), 128 + 9);
        while (read(pipefd[0], &v, sizeof(v)) == sizeof(v))
                acked = v;
        close(pipefd[0]);
        waitpid(child, NULL, 0);

        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_secret_get(c, "burst", "counter", &s), 0);
        assert_true(s->version >= acked);
        assert_true(s->version <= acked + 1);
        int stored;
        memcpy(&stored, s->value, sizeof(stored));
        assert_int_equal(stored, s->version - 1);
        cv_secret_free(s);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void assert_file_lacks(const char *path, const char *needle) {
        char *data = NULL;
        size_t size = 0;
        int r = harness_read_file(path, &data, &size);
        if (r == -ENOENT)
                return;
        assert_int_equal(r, 0);
        if (memmem(data, size, needle, strlen(needle)))
                fail_msg("%s contains a stored value", path);
        free(data);
}

/* Values are recognisable strings of several sizes; after writes, reads,
 * overwrites and deletes, neither the database, its WAL and shared-memory
 * files, nor the daemon's log contain any of them. Checked while the daemon
 * runs (WAL not yet checkpointed) and after it stops. */
static void test_no_value_in_files_or_log(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        char values[4][2048];
        const size_t sizes[] = { 16, 100, 700, 2000 };
        char path[512];

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        for (int i = 0; i < 4; i++) {
                memset(values[i], 'a' + i, sizeof(values[i]));
                memcpy(values[i], "PLAINTEXT-CANARY", 16);
                values[i][sizes[i]] = '\0';
                CvToken tok = {
                        .access_token = values[i], .token_type = "Bearer", .refresh_token = values[i], .expires_at = -1
                };
                char name[8];
                snprintf(name, sizeof(name), "v%d", i);
                assert_int_equal(cv_secret_put(c, "canary", name, values[i], sizes[i], NULL), 0);
                assert_int_equal(cv_token_put(c, "canary", name, &tok, NULL), 0);
                CvSecret *s = NULL;
                assert_int_equal(cv_secret_get(c, "canary", name, &s), 0);
                cv_secret_free(s);
        }
        assert_int_equal(cv_secret_delete(c, "canary", "v0"), 0);
        cv_client_free(c);

        for (int pass = 0; pass < 2; pass++) {
                const char *files[] = { "credvault.db", "credvault.db-wal", "credvault.db-shm" };
                for (size_t f = 0; f < 3; f++) {
                        snprintf(path, sizeof(path), "%s/%s", h.state_dir, files[f]);
                        assert_file_lacks(path, "PLAINTEXT-CANARY");
                }
                assert_file_lacks(h.log_file, "PLAINTEXT-CANARY");
                if (pass == 0)
                        assert_int_equal(harness_stop(&h), 0);
        }
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kill9_after_ack_keeps_write),
                cmocka_unit_test(test_kill9_during_burst),
                cmocka_unit_test(test_no_value_in_files_or_log),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
