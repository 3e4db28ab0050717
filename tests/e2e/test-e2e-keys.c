/* test-e2e-keys.c — KEK rotation online, through the real daemon.
 *
 * key.rotate makes KEK 2 primary; key.rewrap moves every record (secrets,
 * token sets, API keys) onto it in the background while a client keeps
 * reading and writing: every request is answered, every value intact, and
 * the secret.get latency is printed beside the rewrap's rate; key.status
 * counts the records of each KEK; key.retire refuses the primary and a
 * KEK in use, then retires KEK 1; after a restart everything opens. Then
 * the crash rounds: SIGKILL at random moments of a rewrap (a new rotation
 * each round) while a writer runs; after each kill the database passes
 * PRAGMA integrity_check, the daemon restarts and resumes the rewrap,
 * which completes; every value opens, no acknowledged write is lost, no
 * KEK is missing. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "e2e-crash.h"
#include "harness.h"

#define DB_FILE "credvault.db"
#define PLUGIN "keys"

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static bool reply_ok(const json_t *j) {
        return json_is_true(json_object_get(j, "ok"));
}

static const char *error_code(const json_t *j) {
        return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

static int64_t int_at(const json_t *j, const char *a, const char *b) {
        const json_t *x = json_object_get(j, a);
        if (b)
                x = json_object_get(x, b);
        assert_true(json_is_integer(x));
        return json_integer_value(x);
}

static void value_of(int i, int gen, char *buf, size_t size) {
        snprintf(buf, size, "value %d of generation %d, padded to look like a real credential", i, gen);
}

/* Fill secrets [from, to) in parallel, each on its own connection. */
typedef struct Fill {
        const char *socket;
        int from, to, gen;
} Fill;

static void *fill_thread(void *arg) {
        Fill *f = arg;
        CvClient *c = NULL;
        if (cv_client_new(f->socket, 10000, &c) < 0)
                return (void *) 1;
        for (int i = f->from; i < f->to; i++) {
                char name[32], value[128];
                snprintf(name, sizeof(name), "s%06d", i);
                value_of(i, f->gen, value, sizeof(value));
                if (cv_secret_put(c, PLUGIN, name, value, strlen(value), NULL) < 0) {
                        cv_client_free(c);
                        return (void *) 1;
                }
        }
        cv_client_free(c);
        return NULL;
}

static void fill(const Harness *h, int n, int gen) {
        enum { N_THREADS = 8 };
        pthread_t t[N_THREADS];
        Fill f[N_THREADS];
        for (int i = 0; i < N_THREADS; i++) {
                f[i] = (Fill) { h->socket_path, n * i / N_THREADS, n * (i + 1) / N_THREADS, gen };
                assert_int_equal(pthread_create(&t[i], NULL, fill_thread, &f[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++) {
                void *ret;
                pthread_join(t[i], &ret);
                assert_null(ret);
        }
}

static void fill_others(CvClient *c) {
        CvToken tok = { .access_token = "at-alice",
                        .token_type = "Bearer",
                        .refresh_token = "rt-alice",
                        .expires_at = 4102444800 };
        assert_int_equal(cv_token_put(c, PLUGIN, "alice", &tok, NULL), 0);
        tok.access_token = "at-bob";
        assert_int_equal(cv_token_put(c, PLUGIN, "bob", &tok, NULL), 0);
        assert_int_equal(cv_apikey_put(c, PLUGIN, "carol", "key-of-carol", 12, NULL), 0);
}

static void check_all(CvClient *c, int n, int gen) {
        for (int i = 0; i < n; i++) {
                char name[32], value[128];
                CvSecret *s = NULL;
                snprintf(name, sizeof(name), "s%06d", i);
                value_of(i, gen, value, sizeof(value));
                int r = cv_secret_get(c, PLUGIN, name, &s);
                if (r != 0)
                        fail_msg("get %s: %d", name, r);
                assert_int_equal(s->value_size, strlen(value));
                assert_memory_equal(s->value, value, s->value_size);
                cv_secret_free(s);
        }
        CvToken *t = NULL;
        assert_int_equal(cv_token_get(c, PLUGIN, "alice", &t), 0);
        assert_string_equal(t->access_token, "at-alice");
        cv_token_free(t);
        assert_int_equal(cv_token_get(c, PLUGIN, "bob", &t), 0);
        assert_string_equal(t->access_token, "at-bob");
        cv_token_free(t);
        char *user = NULL;
        assert_int_equal(cv_apikey_lookup(c, PLUGIN, "key-of-carol", 12, &user), 1);
        assert_non_null(user);
        assert_string_equal(user, "carol");
        free(user);
}

/* The records of KEK version in a key.status reply, -1 if absent;
 * *ret_state its state. */
static int64_t kek_records(const json_t *status, int64_t version, const char **ret_state) {
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(status, "keks"), i, k) {
                if (json_integer_value(json_object_get(k, "version")) == version) {
                        if (ret_state)
                                *ret_state = json_string_value(json_object_get(k, "state"));
                        return json_integer_value(json_object_get(k, "records"));
                }
        }
        return -1;
}

/* Poll key.status until the rewrap is done; the status reply. */
static json_t *wait_rewrap(CvClient *c, int timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000 * (uint64_t) harness_time_scale();
        for (;;) {
                json_t *st = e2e_call(c, "{\"id\":1,\"op\":\"key.status\"}");
                assert_true(reply_ok(st));
                json_t *rw = json_object_get(st, "rewrap");
                if (!json_is_true(json_object_get(rw, "running")) && int_at(rw, "remaining", NULL) == 0)
                        return st;
                json_decref(st);
                if (now_usec() > deadline)
                        fail_msg("rewrap did not finish in %d ms", timeout_ms);
                usleep(20 * 1000);
        }
}

/* A client reading and writing while the rewrap runs. */
typedef struct Load {
        const char *socket;
        int n;
        atomic_bool stop;
        int64_t reads, writes, errors;
        uint64_t *lat; /* secret.get latencies, usec */
        size_t n_lat, max_lat;
        int64_t last_acked; /* of the "live" secret */
} Load;

static void *load_thread(void *arg) {
        Load *l = arg;
        CvClient *c = NULL;
        if (cv_client_new(l->socket, 10000, &c) < 0) {
                l->errors++;
                return NULL;
        }
        unsigned seed = 7;
        while (!atomic_load(&l->stop)) {
                char name[32], value[128];
                CvSecret *s = NULL;
                int i = (int) (rand_r(&seed) % (unsigned) l->n);
                snprintf(name, sizeof(name), "s%06d", i);
                value_of(i, 0, value, sizeof(value));
                uint64_t t0 = now_usec();
                int r = cv_secret_get(c, PLUGIN, name, &s);
                uint64_t dt = now_usec() - t0;
                if (l->n_lat < l->max_lat)
                        l->lat[l->n_lat++] = dt;
                if (r != 0 || s->value_size != strlen(value) || memcmp(s->value, value, s->value_size) != 0)
                        l->errors++;
                cv_secret_free(s);
                l->reads++;
                if (l->reads % 16 == 0) {
                        int64_t v = 0;
                        char live[32];
                        int n = snprintf(live, sizeof(live), "live %" PRId64, l->writes);
                        if (cv_secret_put(c, PLUGIN, "live", live, (size_t) n, &v) < 0)
                                l->errors++;
                        else
                                l->last_acked = v;
                        l->writes++;
                }
        }
        cv_client_free(c);
        return NULL;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, size_t n, double p) {
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), cmp_u64);
        return v[(size_t) ((double) (n - 1) * p)];
}

static int n_records(void) {
        const char *e = getenv("CV_TEST_KEYS_RECORDS");
        return e ? atoi(e) : 20000;
}

static void test_rotate_rewrap_online(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        int n = n_records();

        assert_int_equal(harness_start(&h), 0);
        fill(&h, n, 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill_others(c);

        json_t *j = e2e_call(c, "{\"id\":1,\"op\":\"key.rotate\"}");
        assert_true(reply_ok(j));
        assert_int_equal(int_at(j, "primary", NULL), 2);
        assert_int_equal(int_at(j, "previous", NULL), 1);
        json_decref(j);
        assert_int_equal(cv_secret_put(c, PLUGIN, "after-rotate", "x", 1, NULL), 0);

        j = e2e_call(c, "{\"id\":1,\"op\":\"key.status\"}");
        assert_true(reply_ok(j));
        const char *st = NULL;
        assert_int_equal(kek_records(j, 1, &st), n + 3);
        assert_string_equal(st, "active");
        assert_int_equal(kek_records(j, 2, &st), 1);
        assert_string_equal(st, "primary");
        assert_int_equal(int_at(j, "rewrap", "remaining"), n + 3);
        assert_false(json_is_true(json_object_get(json_object_get(j, "rewrap"), "running")));
        json_decref(j);

        /* Refused while in use, and for the primary. */
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.retire\",\"version\":1}");
        assert_false(reply_ok(j));
        assert_string_equal(error_code(j), "conflict");
        json_decref(j);
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.retire\",\"version\":2}");
        assert_string_equal(error_code(j), "conflict");
        json_decref(j);
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.retire\",\"version\":7}");
        assert_string_equal(error_code(j), "not_found");
        json_decref(j);

        /* Idle latency first, then the rewrap under load. */
        Load idle = { .socket = h.socket_path, .n = n, .max_lat = 2000 };
        idle.lat = calloc(idle.max_lat, sizeof(uint64_t));
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, load_thread, &idle), 0);
        usleep(300 * 1000);
        atomic_store(&idle.stop, true);
        pthread_join(t, NULL);
        assert_int_equal(idle.errors, 0);

        Load l = { .socket = h.socket_path, .n = n, .max_lat = 1 << 20 };
        l.lat = calloc(l.max_lat, sizeof(uint64_t));
        assert_int_equal(pthread_create(&t, NULL, load_thread, &l), 0);
        usleep(50 * 1000);
        uint64_t t0 = now_usec();
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.rewrap\"}");
        assert_true(reply_ok(j));
        assert_true(json_is_true(json_object_get(j, "running")));
        json_decref(j);
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.rewrap\"}"); /* harmless twice */
        assert_true(reply_ok(j));
        json_decref(j);
        json_t *done = wait_rewrap(c, 120000);
        uint64_t elapsed = now_usec() - t0;
        atomic_store(&l.stop, true);
        pthread_join(t, NULL);
        assert_int_equal(l.errors, 0);
        assert_true(l.reads > 0);
        assert_int_equal(kek_records(done, 1, NULL), 0);
        assert_int_equal(kek_records(done, 2, NULL), n + 5);
        int64_t moved = int_at(done, "rewrap", "done");
        json_decref(done);
        print_message("rewrap: %" PRId64 " records in %.3f s (%.0f/s, with the polling); secret.get p50/p99/max "
                      "idle %" PRIu64 "/%" PRIu64 "/%" PRIu64 " us, during %" PRIu64 "/%" PRIu64 "/%" PRIu64
                      " us over %" PRId64 " reads, %" PRId64 " writes\n",
                      moved, (double) elapsed / 1e6, (double) moved * 1e6 / (double) elapsed,
                      percentile(idle.lat, idle.n_lat, 0.5), percentile(idle.lat, idle.n_lat, 0.99),
                      percentile(idle.lat, idle.n_lat, 1.0), percentile(l.lat, l.n_lat, 0.5),
                      percentile(l.lat, l.n_lat, 0.99), percentile(l.lat, l.n_lat, 1.0), l.reads, l.writes);
        free(idle.lat);
        free(l.lat);

        j = e2e_call(c, "{\"id\":1,\"op\":\"key.retire\",\"version\":1}");
        assert_true(reply_ok(j));
        assert_int_equal(int_at(j, "retired", NULL), 1);
        json_decref(j);
        check_all(c, n, 0);
        cv_client_free(c);

        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        check_all(c, n, 0);
        j = e2e_call(c, "{\"id\":1,\"op\":\"key.status\"}");
        assert_int_equal(kek_records(j, 1, &st), 0);
        assert_string_equal(st, "retired");
        json_decref(j);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void integrity_check(const Harness *h) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        e2e_integrity_check(path);
}

#define KILL_ROUNDS 30

static void test_kill_during_rewrap(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        int n = n_records() / 2;
        int64_t acked = 0, seen = 0, kek = 1;
        unsigned seed = (unsigned) time(NULL);
        int during = 0;

        print_message("seed %u\n", seed);
        assert_int_equal(harness_start(&h), 0);
        fill(&h, n, 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill_others(c);
        assert_int_equal(cv_secret_put(c, PLUGIN, "counter", "0", 1, NULL), 0);
        cv_client_free(c);

        for (int round = 0; round < KILL_ROUNDS; round++) {
                assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
                json_t *j = e2e_call(c, "{\"id\":1,\"op\":\"key.rotate\"}");
                assert_true(reply_ok(j));
                kek = int_at(j, "primary", NULL);
                json_decref(j);
                j = e2e_call(c, "{\"id\":1,\"op\":\"key.rewrap\"}");
                assert_true(reply_ok(j));
                json_decref(j);

                /* A writer acknowledging versions of one secret. */
                int wr_fd;
                pid_t child = e2e_counter_writer_start(h.socket_path, PLUGIN, "counter", &wr_fd);
                usleep((useconds_t) (rand_r(&seed) % 200000));
                j = e2e_call(c, "{\"id\":1,\"op\":\"key.status\"}");
                during += json_is_true(json_object_get(json_object_get(j, "rewrap"), "running"));
                json_decref(j);
                cv_client_free(c);
                assert_int_equal(harness_kill(&h), 128 + 9);
                acked = e2e_counter_acked(wr_fd, acked); /* to its end: the writer has exited */
                waitpid(child, NULL, 0);

                integrity_check(&h);
                assert_int_equal(harness_restart(&h), 0);
                assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
                /* Resumed on its own, and it completes. */
                json_t *st = wait_rewrap(c, 120000);
                for (int64_t k = 1; k <= kek; k++) {
                        const char *kst = NULL;
                        int64_t records = kek_records(st, k, &kst);
                        if (records < 0)
                                fail_msg("round %d: KEK %" PRId64 " lost", round, k);
                        assert_int_equal(records, k == kek ? n + 4 : 0);
                        assert_string_equal(kst, k == kek ? "primary" : "active");
                }
                json_decref(st);
                check_all(c, n, 0);
                e2e_counter_check(c, PLUGIN, "counter", acked, &seen);
                cv_client_free(c);
        }
        print_message("%d kills, %d of them with the rewrap seen running just before\n", KILL_ROUNDS, during);
        assert_true(during >= KILL_ROUNDS / 3);
        assert_int_equal(harness_stop(&h), 0);
        integrity_check(&h);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rotate_rewrap_online),
                cmocka_unit_test(test_kill_during_rewrap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
