/* test-e2e-concurrency.c — many clients at once, and the connection cap.
 *
 * 32 threads, each with its own connection, write and read their own
 * secrets and tokens concurrently; every answer must be the client's own.
 * A daemon started with a small --max-connections answers the client over
 * the cap with "unavailable" and keeps serving the others. Out of file
 * descriptors, it stops accepting (no busy loop, no flood of log lines)
 * and serves again once a connection closes; a --max-connections the
 * descriptor limit cannot serve is refused at start. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#define N_CLIENTS 32
#define ROUNDS 40

typedef struct Worker {
        const Harness *h;
        int index;
        int failures;
        char what[160];
} Worker;

static void *worker_run(void *userdata) {
        Worker *w = userdata;
        CvClient *c = NULL;
        char plugin[32], value[64];

        if (cv_client_new(w->h->socket_path, 10000, &c) < 0) {
                w->failures++;
                snprintf(w->what, sizeof(w->what), "connect failed");
                return NULL;
        }
        snprintf(plugin, sizeof(plugin), "worker-%02d", w->index);
        for (int round = 0; round < ROUNDS; round++) {
                CvSecret *s = NULL;
                CvToken *t = NULL;
                int n = snprintf(value, sizeof(value), "value of %d in round %d", w->index, round);
                CvToken tok = { .access_token = value, .token_type = "Bearer", .expires_at = 4102444800 + round };

                if (cv_secret_put(c, plugin, "s", value, (size_t) n, NULL) < 0 ||
                    cv_secret_get(c, plugin, "s", &s) < 0 || s->value_size != (size_t) n ||
                    memcmp(s->value, value, (size_t) n) != 0 || s->version != round + 1 ||
                    cv_token_put(c, plugin, "user", &tok, NULL) < 0 || cv_token_get(c, plugin, "user", &t) < 0 ||
                    strcmp(t->access_token, value) != 0 || t->expires_at != 4102444800 + round) {
                        w->failures++;
                        snprintf(w->what, sizeof(w->what), "round %d: %s", round, cv_client_error_message(c));
                }
                cv_secret_free(s);
                cv_token_free(t);
        }
        cv_client_free(c);
        return NULL;
}

static void test_32_clients_at_once(void **state) {
        (void) state;
        Harness h = {};
        pthread_t threads[N_CLIENTS];
        Worker workers[N_CLIENTS];
        CvClient *c = NULL;
        CvHealth health;

        assert_int_equal(harness_start(&h), 0);
        for (int i = 0; i < N_CLIENTS; i++) {
                workers[i] = (Worker) { .h = &h, .index = i };
                assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
        }
        for (int i = 0; i < N_CLIENTS; i++) {
                pthread_join(threads[i], NULL);
                if (workers[i].failures)
                        fail_msg("worker %d: %d failures, last: %s", i, workers[i].failures, workers[i].what);
        }
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);
        assert_int_equal(health.secrets, N_CLIENTS);
        assert_int_equal(health.tokens, N_CLIENTS);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void test_connection_cap(void **state) {
        (void) state;
        Harness h = { .extra_args = { "--max-connections", "4", NULL } };
        CvClient *clients[4] = {};
        CvHealth health;
        char *reply = NULL;

        assert_int_equal(harness_start(&h), 0);
        for (int i = 0; i < 4; i++) {
                assert_int_equal(cv_client_new(h.socket_path, 5000, &clients[i]), 0);
                assert_int_equal(cv_health(clients[i], &health), 0);
        }
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_recv_frame(fd, 5000, &reply), 0);
        assert_non_null(strstr(reply, "\"unavailable\""));
        free(reply);
        assert_true(harness_wait_closed(fd, 5000));
        close(fd);

        /* The four are still served; when one leaves, a newcomer gets in. */
        for (int i = 0; i < 4; i++)
                assert_int_equal(cv_health(clients[i], &health), 0);
        cv_client_free(clients[0]);
        clients[0] = NULL;
        for (int tries = 0; tries < 100 && !clients[0]; tries++) {
                CvClient *c = NULL;
                if (cv_client_new(h.socket_path, 5000, &c) == 0 && cv_health(c, &health) == 0)
                        clients[0] = c;
                else {
                        cv_client_free(c);
                        usleep(10000); /* the daemon notices the close on its next turn */
                }
        }
        assert_non_null(clients[0]);
        for (int i = 0; i < 4; i++)
                cv_client_free(clients[i]);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* One uid cannot take every slot: over its own cap it is refused, while
 * another uid still gets in. */
static void test_connection_cap_per_uid(void **state) {
        (void) state;
        Harness h = { .extra_args = { "--max-connections", "8", "--max-connections-per-uid", "3", NULL } };
        CvClient *clients[3] = {};
        CvHealth health;
        char *reply = NULL;

        assert_int_equal(harness_start(&h), 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(cv_client_new(h.socket_path, 5000, &clients[i]), 0);
                assert_int_equal(cv_health(clients[i], &health), 0);
        }
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_recv_frame(fd, 5000, &reply), 0);
        assert_non_null(strstr(reply, "\"unavailable\""));
        free(reply);
        close(fd);

        /* Through the library, a call over the cap says why, whether its
         * request went out before the daemon closed or not. */
        for (int i = 0; i < 20; i++) {
                CvClient *over = NULL;
                assert_int_equal(cv_client_new(h.socket_path, 5000, &over), 0);
                if (i % 2)
                        usleep(20000); /* let the daemon close first */
                assert_int_equal(cv_health(over, &health), -ESHUTDOWN);
                assert_string_equal(cv_client_error_code(over), "unavailable");
                cv_client_free(over);
        }

        if (geteuid() == 0) {
                /* Another uid, while this one is at its cap. */
                assert_int_equal(chmod(h.socket_path, 0666), 0);
                assert_int_equal(chmod(h.dir, 0755), 0);
                pid_t child = fork();
                assert_true(child >= 0);
                if (child == 0) {
                        CvClient *c = NULL;
                        if (setgid(65534) < 0 || setuid(65534) < 0)
                                _exit(2);
                        _exit(cv_client_new(h.socket_path, 5000, &c) == 0 && cv_health(c, &health) == 0 ? 0 : 1);
                }
                int status = -1;
                waitpid(child, &status, 0);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        for (int i = 0; i < 3; i++)
                cv_client_free(clients[i]);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* The daemon closes idle connections; a write right at that moment is
 * neither lost nor done twice: the library replaces a connection closed
 * while idle, and resends a request the daemon never read. */
static void test_writes_across_idle_closes(void **state) {
        (void) state;
        Harness h = { .extra_args = { "--client-idle", "1", NULL } };
        CvClient *c = NULL;
        CvSecret *s = NULL;
        int64_t v = 0;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        for (int i = 1; i <= 6; i++) {
                assert_int_equal(cv_secret_put(c, "idle", "s", &i, sizeof(i), &v), 0);
                assert_int_equal(v, i);
                usleep((useconds_t) (950000 + 60000 * i)); /* around the 1 s idle close */
        }
        assert_int_equal(cv_secret_get(c, "idle", "s", &s), 0);
        assert_int_equal(s->version, 6);
        cv_secret_free(s);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long file_size(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? (long) st.st_size : -1;
}

static bool log_contains(const Harness *h, const char *needle) {
        char *log = NULL;
        size_t size = 0;
        if (harness_read_file(h->log_file, &log, &size) < 0)
                return false;
        bool found = memmem(log, size, needle, strlen(needle)) != NULL;
        free(log);
        return found;
}

#define EMFILE_LIMIT 48
#define EMFILE_CLIENTS 80

/* The descriptor limit is lowered under the running daemon (as when it is
 * lower than the daemon was told, or the system runs out): accept() fails
 * with EMFILE while clients wait in the backlog. The daemon must not spin
 * on the still-readable listener nor log each failure, must keep serving
 * the clients it has, and must take the waiting ones once others leave. */
static void test_out_of_descriptors_backs_off(void **state) {
        (void) state;
        Harness h = { .extra_args = { "--max-connections", "1000", "--max-connections-per-uid", "1000", NULL } };
        struct rlimit low = { EMFILE_LIMIT, EMFILE_LIMIT };
        int fds[EMFILE_CLIENTS];
        CvClient *c = NULL;
        CvHealth health;
        long cpu_before, cpu_after;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);
        assert_int_equal(prlimit(h.pid, RLIMIT_NOFILE, &low, NULL), 0);

        for (int i = 0; i < EMFILE_CLIENTS; i++) {
                fds[i] = harness_connect_raw(&h);
                assert_true(fds[i] >= 0);
        }
        usleep(200000); /* the daemon takes what it can, then hits the limit */
        long log_before = file_size(h.log_file);
        assert_int_equal(harness_daemon_cpu_ms(&h, &cpu_before), 0);
        long t0 = now_ms();
        sleep(3);
        /* The client it already has is served while the others wait. */
        assert_int_equal(cv_health(c, &health), 0);
        assert_int_equal(harness_daemon_cpu_ms(&h, &cpu_after), 0);
        long elapsed = now_ms() - t0, log_after = file_size(h.log_file);
        print_message("out of descriptors: %ld ms of CPU in %ld ms, log grew %ld bytes\n", cpu_after - cpu_before,
                      elapsed, log_after - log_before);
        assert_true(cpu_after - cpu_before < elapsed / 10);
        assert_true(log_after - log_before < 1024);
        assert_true(log_contains(&h, "Too many open files"));

        /* The last client is still in the backlog; once the others leave
         * it is taken and served. */
        for (int i = 0; i < EMFILE_CLIENTS - 1; i++)
                close(fds[i]);
        const char req[] = "{\"id\":7,\"op\":\"health\"}";
        char *reply = NULL;
        int fd = fds[EMFILE_CLIENTS - 1];
        assert_int_equal(harness_send_frame(fd, req, sizeof(req) - 1), 0);
        assert_int_equal(harness_recv_frame(fd, 5000 * harness_time_scale(), &reply), 0);
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        close(fd);
        cv_client_free(c);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* --max-connections must fit the descriptor limit, two descriptors a
 * connection (a passed one counts). A soft limit below it is
 * raised to the hard limit; a hard limit that cannot serve it is refused at
 * start, with a message that says so. */
static void test_max_connections_fits_descriptor_limit(void **state) {
        (void) state;
        Harness h = { .nofile_soft = 64,
                      .nofile_hard = 4096,
                      .extra_args = { "--max-connections", "1000", "--max-connections-per-uid", "1000", NULL } };
        char path[64], *limits = NULL;
        size_t size;

        /* valgrind keeps the descriptors over the soft limit it was
         * started with for itself, and refuses to raise it. */
        if (!harness_wrapped()) {
                assert_int_equal(harness_start(&h), 0);
                snprintf(path, sizeof(path), "/proc/%d/limits", (int) h.pid);
                assert_int_equal(harness_read_file(path, &limits, &size), 0);
                limits[size] = '\0';
                const char *line = strstr(limits, "Max open files");
                assert_non_null(line);
                unsigned long soft = 0, hard = 0;
                assert_int_equal(sscanf(line, "Max open files %lu %lu", &soft, &hard), 2);
                assert_int_equal(soft, 4096);
                assert_int_equal(hard, 4096);
                free(limits);
                assert_int_equal(harness_stop(&h), 0);
                harness_cleanup(&h);
        }

        Harness low = { .nofile_soft = 64, .nofile_hard = 64, .extra_args = { "--max-connections", "256", NULL } };
        assert_int_equal(harness_start(&low), -ECHILD);
        assert_int_equal(low.exit_status, 2);
        assert_true(log_contains(&low, "--max-connections 256"));
        assert_true(log_contains(&low, "descriptors"));
        harness_cleanup(&low);

        /* Two per connection (its socket and a descriptor it may pass)
         * and 32: 17 connections need 66. */
        Harness over = { .nofile_soft = 64, .nofile_hard = 64, .extra_args = { "--max-connections", "17", NULL } };
        assert_int_equal(harness_start(&over), -ECHILD);
        assert_int_equal(over.exit_status, 2);
        assert_true(log_contains(&over, "--max-connections 17 needs 66 file descriptors"));
        harness_cleanup(&over);

        /* What the limit can serve is served: 16 need 64. */
        Harness fits = { .nofile_soft = 64, .nofile_hard = 64, .extra_args = { "--max-connections", "16", NULL } };
        assert_int_equal(harness_start(&fits), 0);
        assert_int_equal(harness_stop(&fits), 0);
        harness_cleanup(&fits);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_32_clients_at_once),
                cmocka_unit_test(test_connection_cap),
                cmocka_unit_test(test_connection_cap_per_uid),
                cmocka_unit_test(test_writes_across_idle_closes),
                cmocka_unit_test(test_out_of_descriptors_backs_off),
                cmocka_unit_test(test_max_connections_fits_descriptor_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
