/* test-e2e-load.c — many clients, many requests, no errors, no growth.
 *
 * 64 threads, each with its own connection, send 10,000 requests each:
 * mostly reads of their own secrets and tokens, checked against what they
 * last wrote, and one write in ten. Not one may fail, and the daemon's
 * resident memory after the load must be within 2 MiB of what it was after
 * a warm-up round over the same keys: a request that leaks shows here.
 *
 * Under AddressSanitizer (freed memory is held in quarantine, every
 * allocation is padded) and under a CREDVAULTD_WRAPPER such as valgrind,
 * the memory comparison means nothing and the daemon is slower: the memory
 * is reported, not checked, and the rounds are smaller (half under
 * AddressSanitizer, divided by CV_TEST_TIME_SCALE under a wrapper). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define N_CLIENTS 64
#define REQUESTS 10000
#define WARMUP_REQUESTS 1000
#define KEYS 4             /* secrets and token users per client */
#define RSS_SLACK_KIB 2048 /* 2 MiB */

typedef struct Client {
        const Harness *h;
        int index;
        int n_requests;
        int failures;
        char what[200];
        /* What this client last wrote to each of its keys. */
        int64_t secret_version[KEYS];
        int64_t token_round[KEYS];
        uint32_t rng;
} Client;

static uint32_t next_random(Client *cl) {
        cl->rng ^= cl->rng << 13, cl->rng ^= cl->rng >> 17, cl->rng ^= cl->rng << 5;
        return cl->rng;
}

static int secret_value(const Client *cl, int key, int64_t version, char *buf, size_t size) {
        return snprintf(buf, size, "secret %d of client %d, version %lld: %0*d", key, cl->index, (long long) version,
                        (int) (version % 200), 0);
}

static void failed(Client *cl, CvClient *c, const char *what, int key) {
        cl->failures++;
        snprintf(cl->what, sizeof(cl->what), "%s %d: %s %s", what, key, c ? cv_client_error_code(c) : "",
                 c ? cv_client_error_message(c) : "");
}

/* One request, chosen at random: 9 in 10 are reads. */
static void client_request(Client *cl, CvClient *c, const char *plugin) {
        uint32_t x = next_random(cl);
        int key = (int) (x >> 8) % KEYS, kind = (int) (x % 20);
        char name[16], value[320];
        CvSecret *s = NULL;
        CvToken *t = NULL;
        int64_t v = 0;

        snprintf(name, sizeof(name), "k%d", key);
        if (kind == 0 || cl->secret_version[key] == 0) {
                int n = secret_value(cl, key, cl->secret_version[key] + 1, value, sizeof(value));
                if (cv_secret_put(c, plugin, name, value, (size_t) n, &v) < 0 || v != cl->secret_version[key] + 1) {
                        failed(cl, c, "secret.put", key);
                        return;
                }
                cl->secret_version[key] = v;
        } else if (kind == 1 || cl->token_round[key] == 0) {
                int64_t round = cl->token_round[key] + 1;
                snprintf(value, sizeof(value), "access %d/%d/%lld", cl->index, key, (long long) round);
                CvToken tok = { .access_token = value, .token_type = "Bearer", .expires_at = 4102444800 + round };
                if (cv_token_put(c, plugin, name, &tok, NULL) < 0) {
                        failed(cl, c, "token.put", key);
                        return;
                }
                cl->token_round[key] = round;
        } else if (kind < 12) {
                int n = secret_value(cl, key, cl->secret_version[key], value, sizeof(value));
                if (cv_secret_get(c, plugin, name, &s) < 0) {
                        failed(cl, c, "secret.get", key);
                        return;
                }
                if (s->version != cl->secret_version[key] || s->value_size != (size_t) n ||
                    memcmp(s->value, value, (size_t) n) != 0)
                        failed(cl, NULL, "secret.get: not the value written", key);
                cv_secret_free(s);
        } else {
                if (cv_token_get(c, plugin, name, &t) < 0) {
                        failed(cl, c, "token.get", key);
                        return;
                }
                if (t->expires_at != 4102444800 + cl->token_round[key])
                        failed(cl, NULL, "token.get: not the token written", key);
                cv_token_free(t);
        }
}

static void *client_run(void *userdata) {
        Client *cl = userdata;
        CvClient *c = NULL;
        char plugin[32];

        snprintf(plugin, sizeof(plugin), "load-%02d", cl->index);
        if (cv_client_new(cl->h->socket_path, 30000, &c) < 0) {
                failed(cl, NULL, "connect", 0);
                return NULL;
        }
        for (int i = 0; i < cl->n_requests && cl->failures < 10; i++)
                client_request(cl, c, plugin);
        cv_client_free(c);
        return NULL;
}

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* All clients at once, n_requests each; fails on any error. */
static long load_round(const Harness *h, Client *clients, int n_requests) {
        pthread_t threads[N_CLIENTS];
        long t0 = now_ms();

        for (int i = 0; i < N_CLIENTS; i++) {
                clients[i].n_requests = n_requests;
                assert_int_equal(pthread_create(&threads[i], NULL, client_run, &clients[i]), 0);
        }
        for (int i = 0; i < N_CLIENTS; i++) {
                pthread_join(threads[i], NULL);
                if (clients[i].failures)
                        fail_msg("client %d: %d failures, last: %s", i, clients[i].failures, clients[i].what);
        }
        return now_ms() - t0;
}

static void test_64_clients_10000_requests(void **state) {
        (void) state;
        static Client clients[N_CLIENTS];
        Harness h = { .extra_args = { "--max-connections-per-uid", "128", NULL } };
        bool check_memory = !SANITIZED && !harness_wrapped();
        int scale = harness_time_scale() * (SANITIZED ? 2 : 1);
        int requests = REQUESTS / scale, warmup = WARMUP_REQUESTS / scale;
        long rss_before, rss_after;

        for (int i = 0; i < N_CLIENTS; i++)
                clients[i] = (Client) { .h = &h, .index = i, .rng = 2463534242u + (uint32_t) i * 7919u };
        assert_int_equal(harness_start(&h), 0);

        /* Warm-up: every key exists, the caches and SQLite's page cache
         * hold what the load will touch. */
        long ms = load_round(&h, clients, warmup);
        assert_int_equal(harness_daemon_rss_kib(&h, &rss_before), 0);
        print_message("warm-up: %d clients x %d requests in %ld ms, RSS %ld KiB\n", N_CLIENTS, warmup, ms, rss_before);

        ms = load_round(&h, clients, requests);
        assert_int_equal(harness_daemon_rss_kib(&h, &rss_after), 0);
        print_message("load: %d clients x %d requests, 0 errors, in %ld ms (%ld requests/s); "
                      "RSS %ld KiB, %+ld KiB after the load%s\n",
                      N_CLIENTS, requests, ms, ms > 0 ? (long) N_CLIENTS * requests * 1000 / ms : 0, rss_after,
                      rss_after - rss_before, check_memory ? "" : " (not checked in this build)");
        if (check_memory && labs(rss_after - rss_before) > RSS_SLACK_KIB)
                fail_msg("RSS went from %ld KiB to %ld KiB under load", rss_before, rss_after);

        CvClient *c = NULL;
        CvHealth health;
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);
        assert_int_equal(health.secrets, N_CLIENTS * KEYS);
        assert_int_equal(health.tokens, N_CLIENTS * KEYS);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_64_clients_10000_requests),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
