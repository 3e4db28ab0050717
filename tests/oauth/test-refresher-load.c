/* test-refresher-load.c — 1,000 token sets expiring in the same minute,
 * and the refresher's idle cost.
 *
 * oidc-provider (tests/oauth/provider.js) mints 1,000 token sets, stored
 * to expire within one minute; credvault-refresher --once refreshes them
 * all with at most --max-concurrent requests at the provider at a time
 * (the proxy counts them; it adds 10 ms to each answer, so that requests
 * overlap as with a real provider), then a daemon-mode refresher with
 * nothing due must sleep: its CPU time over a few seconds is measured.
 * Prints the numbers. Skips (77) where oidc-provider cannot be installed. */
#include <curl/curl.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"
#include "oauth-fixture.h"

#define ACCESS_TTL 600
#define N_SETS 1000

static Harness h;
static CvClient *c;
static OAuthServer srv;

static int group_setup(void **state) {
        (void) state;
        return fixture_daemon_start(&h, &c);
}

static int group_teardown(void **state) {
        (void) state;
        return fixture_daemon_stop(&h, c);
}

/* Store n sets minted by the provider, expiring 60 to 119 s from now. */
static void put_sets(const char *plugin, int n) {
        char body[128];
        snprintf(body, sizeof(body), "{\"user\":\"user\",\"count\":%d}", n);
        json_t *sets = oauth_control(&srv, "/mint", body);
        assert_int_equal(json_array_size(sets), (size_t) n);
        size_t i;
        json_t *s;
        json_array_foreach(sets, i, s) {
                json_t *token = json_object_get(s, "token");
                json_object_set_new(token, "expires_in", json_integer(60 + (json_int_t) (i % 60)));
                char *text = json_dumps(token, JSON_COMPACT);
                int r = cv_token_put_response(c, plugin, json_string_value(json_object_get(s, "user")), text, NULL);
                free(text);
                assert_int_equal(r, 0);
        }
        json_decref(sets);
}

static int count_version(const char *plugin, int64_t version) {
        CvTokenInfo *items = NULL;
        int n = cv_token_list(c, plugin, &items), k = 0;
        assert_true(n >= 0);
        for (int i = 0; i < n; i++)
                if (items[i].version == version && strcmp(items[i].state, "valid") == 0)
                        k++;
        cv_token_info_free(items, (size_t) n);
        return k;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata) {
        (void) data, (void) userdata;
        return size * n;
}

/* The floor, measured in the same run: N_SETS refreshes sent straight to
 * the provider (through the same proxy and its 10 ms), concurrency at a
 * time, by libcurl alone: no vault, no lease, no commit. Tokens of the
 * "post" client, whose credentials go in the body. ms. */
static long long floor_ms(long concurrency) {
        char body[128];
        snprintf(body, sizeof(body), "{\"user\":\"floor\",\"count\":%d,\"client\":\"post\"}", N_SETS);
        json_t *sets = oauth_control(&srv, "/mint", body);
        assert_int_equal(json_array_size(sets), (size_t) N_SETS);
        json_t *cl = json_object_get(json_object_get(srv.info, "clients"), "post");
        CURL *esc = curl_easy_init();
        char *id = curl_easy_escape(esc, json_string_value(json_object_get(cl, "client_id")), 0);
        char *secret = curl_easy_escape(esc, json_string_value(json_object_get(cl, "client_secret")), 0);
        char(*bodies)[1024] = calloc(N_SETS, sizeof(*bodies));
        assert_non_null(bodies);
        for (size_t i = 0; i < N_SETS; i++) {
                const char *rt = json_string_value(
                        json_object_get(json_object_get(json_array_get(sets, i), "token"), "refresh_token"));
                char *rt_esc = curl_easy_escape(esc, rt, 0);
                snprintf(bodies[i], sizeof(bodies[i]),
                         "grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s", rt_esc, id, secret);
                curl_free(rt_esc);
        }
        curl_free(id);
        curl_free(secret);
        curl_easy_cleanup(esc);
        json_decref(sets);

        oauth_mode(&srv, "{\"mode\":\"pass\",\"delay_ms\":10}");
        CURLM *m = curl_multi_init();
        size_t next = 0, done = 0, ok = 0;
        long in_flight = 0;
        long long t0 = now_ms();
        while (done < N_SETS) {
                for (; in_flight < concurrency && next < N_SETS; next++, in_flight++) {
                        CURL *e = curl_easy_init();
                        curl_easy_setopt(e, CURLOPT_URL, srv.token_url);
                        curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[next]);
                        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
                        curl_multi_add_handle(m, e);
                }
                int running = 0;
                curl_multi_perform(m, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(m, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        long status = 0;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
                        ok += msg->data.result == CURLE_OK && status == 200;
                        curl_multi_remove_handle(m, msg->easy_handle);
                        curl_easy_cleanup(msg->easy_handle);
                        done++;
                        in_flight--;
                }
                if (done < N_SETS)
                        curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        long long took = now_ms() - t0;
        curl_multi_cleanup(m);
        free(bodies);
        assert_int_equal(ok, N_SETS);
        assert_true(oauth_stat(&srv, "max_in_flight") <= concurrency);
        return took;
}

static void refresh_all(const char *plugin, const char *max_concurrent, long long expected_max) {
        fixture_plugin_add(c, &srv, plugin, NULL, NULL, "basic");
        put_sets(plugin, N_SETS);
        oauth_mode(&srv, "{\"mode\":\"pass\",\"delay_ms\":10}");
        const char *args[] = { "--once", "--lead", "5m", "--max-concurrent", max_concurrent, NULL };
        long long t0 = now_ms();
        assert_int_equal(
                refresher_run(h.socket_path, max_concurrent ? args : (const char *[]) { "--once", NULL }, 300000), 0);
        long long took = now_ms() - t0;
        long long max = oauth_stat(&srv, "max_in_flight"), requests = oauth_stat(&srv, "requests");
        assert_int_equal(requests, N_SETS);
        long long floor = floor_ms(expected_max);
        print_message("%d sets, --max-concurrent %s: %lld ms (%.0f sets/s), %lld provider requests, at most %lld at "
                      "once at the provider; the refresher's CPU: %ld ms; floor (the same refreshes sent straight "
                      "to the provider, %lld at a time): %lld ms; the refresher %.2fx the floor\n",
                      N_SETS, max_concurrent ? max_concurrent : "(default 4)", took, N_SETS * 1000.0 / (double) took,
                      requests, max, refresher_last_cpu_ms, expected_max, floor, (double) took / (double) floor);
        assert_true(max <= expected_max);
        assert_true(max >= 2); /* they did overlap */
        assert_int_equal(count_version(plugin, 2), N_SETS);
}

static void test_thousand_default(void **state) {
        (void) state;
        refresh_all("load4", NULL, 4);
}

static void test_thousand_sixteen(void **state) {
        (void) state;
        cv_plugin_delete(c, "load4"); /* or the refresher would look at them too (they are fresh) */
        refresh_all("load16", "16", 16);
}

static long cpu_ticks(pid_t pid) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        assert_non_null(p);
        unsigned long utime = 0, stime = 0;
        /* Fields 14 and 15 (utime, stime), counted after the ')' of field 2. */
        assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
        return (long) (utime + stime);
}

static void test_idle_cpu(void **state) {
        (void) state;
        /* The 1,000 fresh sets of the last case: due in about 5 minutes. */
        char log[160];
        snprintf(log, sizeof(log), "%s/refresher-idle.log", h.dir);
        pid_t pid = refresher_spawn(h.socket_path, log, (const char *[]) { "--lead", "5m", NULL });
        sleep(2); /* the first scan */
        long start = cpu_ticks(pid);
        long long t0 = now_ms();
        sleep(5);
        long used = cpu_ticks(pid) - start;
        long long took = now_ms() - t0;
        long hz = sysconf(_SC_CLK_TCK);
        print_message("idle refresher (1000 sets, next due in ~5 min): %ld ms CPU in %lld ms\n", used * 1000 / hz,
                      took);
        assert_true(used * 1000 / hz <= 20);
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
}

int main(void) {
        char reason[600];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (oauth_server_start(&srv, ACCESS_TTL, reason, sizeof(reason)) < 0) {
                printf("SKIP: %s\n", reason);
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_thousand_default),
                cmocka_unit_test(test_thousand_sixteen),
                cmocka_unit_test(test_idle_cpu),
        };
        int r = cmocka_run_group_tests(tests, group_setup, group_teardown);
        oauth_server_stop(&srv);
        curl_global_cleanup();
        return r;
}
