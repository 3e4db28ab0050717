/* test-e2e-concurrency.c — many clients at once, and the connection cap.
 *
 * 32 threads, each with its own connection, write and read their own
 * secrets and tokens concurrently; every answer must be the client's own.
 * A daemon started with a small --max-connections answers the client over
 * the cap with "unavailable" and keeps serving the others. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_32_clients_at_once),
                cmocka_unit_test(test_connection_cap),
                cmocka_unit_test(test_connection_cap_per_uid),
                cmocka_unit_test(test_writes_across_idle_closes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
