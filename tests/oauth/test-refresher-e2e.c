/* test-refresher-e2e.c — credvault-refresher against a real OAuth server.
 *
 * The real credvaultd (harness), the real refresher binary, and
 * oidc-provider (tests/oauth/provider.js) with refresh-token rotation,
 * behind a proxy that can answer 500 or 429, hang, or be down. Each case
 * has a plugin of its own, deleted at its end, so that the refresher of
 * one case never sees the sets of another. Skips (77) where oidc-provider
 * cannot be installed. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"
#include "oauth-fixture.h"

#define ACCESS_TTL 600 /* longer than the lead: a refreshed set is not due again */

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

static int case_teardown(void **state) {
        (void) state;
        fixture_reset(c, &srv);
        return 0;
}

static CvToken *token_of(const char *plugin, const char *user) {
        CvToken *t = NULL;
        int r = cv_token_get(c, plugin, user, &t);
        if (r < 0)
                fail_msg("token.get %s/%s: %d %s", plugin, user, r, cv_client_error_message(c));
        return t;
}

static void state_is(const char *plugin, const char *user, const char *state) {
        CvTokenInfo *items = NULL;
        int n = cv_token_list(c, plugin, &items);
        assert_true(n >= 0);
        bool found = false;
        for (int i = 0; i < n; i++)
                if (strcmp(items[i].user, user) == 0) {
                        found = true;
                        if (strcmp(items[i].state, state) != 0)
                                fail_msg("%s/%s: state %s, expected %s", plugin, user, items[i].state, state);
                }
        cv_token_info_free(items, (size_t) n);
        assert_true(found);
}

/* Unix ms, as the daemon's and the proxy's times are (now_ms() is
 * monotonic). */
static long long wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The set's "refresh" in token.list (tried_at, result, next_at), as the
 * daemon has it from the refresher's calls and report; a new reference. */
static json_t *refresh_of(const char *plugin, const char *user) {
        char request[512], *text = NULL;
        snprintf(request, sizeof(request), "{\"v\":1,\"op\":\"token.list\",\"plugin\":\"%s\"}", plugin);
        assert_true(cv_call_json(c, request, &text) > 0);
        json_t *j = json_loads(text, 0, NULL), *item, *found = NULL;
        cv_free_wiped(text, (size_t) -1);
        size_t i;
        json_array_foreach(json_object_get(j, "tokens"), i, item)
                if (strcmp(json_string_value(json_object_get(item, "user")), user) == 0)
                        found = json_incref(json_object_get(item, "refresh"));
        json_decref(j);
        if (!found)
                fail_msg("%s/%s: no refresh state in token.list", plugin, user);
        return found;
}

/* The set's last refresh result is result, tried within the last 60 s;
 * next_after: its next attempt is at or after this (unix ms), or 0 if
 * none may be given (reauth_required). */
static void refresh_is(const char *plugin, const char *user, const char *result, long long next_after) {
        json_t *r = refresh_of(plugin, user);
        const char *got = json_string_value(json_object_get(r, "result"));
        long long tried = json_integer_value(json_object_get(r, "tried_at"));
        json_t *next = json_object_get(r, "next_at");
        if (!got || strcmp(got, result) != 0)
                fail_msg("%s/%s: last refresh result %s, expected %s", plugin, user, got ?: "(none)", result);
        assert_true(tried > wall_ms() - 60000 && tried <= wall_ms());
        if (next_after)
                assert_true(json_integer_value(next) >= next_after);
        else
                assert_null(next);
        json_decref(r);
}

/* What `credvault ARGS` prints on stdout (the CLI of this build tree),
 * malloc'd; its exit status must be 0. */
static char *cli_output(const char *args) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "'%s' --socket '%s' %s", getenv("CREDVAULT_CLI"), h.socket_path, args);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char *out = calloc(1, 65536);
        assert_non_null(out);
        size_t n = fread(out, 1, 65535, f);
        out[n] = '\0';
        assert_int_equal(pclose(f), 0);
        return out;
}

#define ONCE(...) ((const char *[]) { "--once", "--lead", "5m", __VA_ARGS__, NULL })

/* 1. A set due within the lead is refreshed by --once; one that is not is left alone. */
static void test_refresh_before_expiry(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "due", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "due", "alice", 60, "basic", NULL);
        fixture_token_mint(c, &srv, "due", "bob", 3600, "basic", NULL);
        CvToken *before = token_of("due", "alice");

        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);

        CvToken *after = token_of("due", "alice");
        assert_int_equal(after->version, 2);
        assert_string_not_equal(after->access_token, before->access_token);
        assert_true(after->expires_at >= (int64_t) time(NULL) + ACCESS_TTL - 30);
        CvToken *bob = token_of("due", "bob");
        assert_int_equal(bob->version, 1);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
        /* token.list: alice tried, ok, due again a lead before her new
         * expiry; bob never tried, due a lead before his (the report's). */
        refresh_is("due", "alice", "ok", (after->expires_at - 300) * 1000LL);
        json_t *rb = refresh_of("due", "bob");
        assert_null(json_object_get(rb, "tried_at"));
        assert_int_equal(json_integer_value(json_object_get(rb, "next_at")), (bob->expires_at - 300) * 1000LL);
        json_decref(rb);
        json_t *st = oauth_control(&srv, "/stats", NULL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "auth"), "basic")), 1);
        json_decref(st);
        cv_token_free(before);
        cv_token_free(after);
        cv_token_free(bob);
}

/* 2. The provider rotates the refresh token: the vault keeps the new one,
 * and the provider refuses the old one. */
static void test_rotation(void **state) {
        (void) state;
        char *old_rt = NULL;
        fixture_plugin_add(c, &srv, "rot", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "rot", "alice", 30, "basic", &old_rt);
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        CvToken *t = token_of("rot", "alice");
        assert_non_null(t->refresh_token);
        assert_string_not_equal(t->refresh_token, old_rt);

        json_t *req = json_pack("{s:s}", "refresh_token", old_rt);
        char *body = json_dumps(req, JSON_COMPACT);
        json_t *res = oauth_control(&srv, "/refresh", body);
        assert_int_equal(json_integer_value(json_object_get(res, "status")), 400);
        assert_non_null(strstr(json_string_value(json_object_get(res, "body")), "invalid_grant"));
        json_decref(res);
        json_decref(req);
        free(body);
        free(old_rt);
        cv_token_free(t);
}

/* 3. invalid_grant: the set becomes reauth_required. */
static void test_invalid_grant(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "revoked", NULL, NULL, "basic");
        const char *set = "{\"access_token\":\"at-x\",\"token_type\":\"Bearer\",\"expires_in\":30,"
                          "\"refresh_token\":\"no-such-refresh-token\"}";
        assert_int_equal(cv_token_put_response(c, "revoked", "mallory", set, NULL), 0);
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 3);
        CvToken *t = NULL;
        assert_int_equal(cv_token_get(c, "revoked", "mallory", &t), -EKEYREVOKED);
        state_is("revoked", "mallory", "reauth_required");
        refresh_is("revoked", "mallory", "invalid_grant", 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
        /* A second run leaves it alone: nothing to refresh with. */
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
}

/* 4. Provider down: the set is left as it was, the lease released; once
 * the provider is back, it is refreshed. */
static void test_provider_down(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "down", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "down", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"down\"}");
        long long before_run = wall_ms();
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 3);
        state_is("down", "alice", "expiring");
        refresh_is("down", "alice", "unreachable", before_run);
        /* The CLI shows it: the row's result and a next attempt, and the
         * refresher's failure in status. */
        char *out = cli_output("token ls down");
        print_message("%s", out);
        assert_non_null(strstr(out, "REFRESH_TRIED"));
        assert_non_null(strstr(out, " unreachable "));
        free(out);
        out = cli_output("status");
        print_message("%s", out);
        assert_non_null(strstr(out, "refresher:   1 plugin, last report "));
        assert_non_null(strstr(out, "0 refreshed, 0 already fresh; failures: 0 reauth_required, 1 transient"));
        free(out);
        oauth_mode(&srv, "{\"mode\":\"pass\"}");
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        CvToken *t = token_of("down", "alice");
        assert_int_equal(t->version, 2);
        cv_token_free(t);
}

/* 5. A provider that hangs: the request ends at --timeout, the lease is
 * released at once (not left to run out). */
static void test_slow_past_timeout(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "slow", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "slow", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"hang\"}");
        long long t0 = now_ms(), wall0 = wall_ms();
        assert_int_equal(refresher_run(h.socket_path, ONCE("--timeout", "1s"), 30000), 3);
        long long took = now_ms() - t0;
        print_message("slow provider: --once with --timeout 1s took %lld ms\n", took);
        assert_true(took >= 1000 && took < 10000);
        state_is("slow", "alice", "expiring");
        refresh_is("slow", "alice", "timeout", wall0 + 1000);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
}

/* The times of the proxy's requests, ms. */
static size_t request_times(long long *out, size_t max) {
        json_t *st = oauth_control(&srv, "/stats", NULL);
        json_t *times = json_object_get(st, "times");
        size_t n = json_array_size(times) < max ? json_array_size(times) : max;
        for (size_t i = 0; i < n; i++)
                out[i] = json_integer_value(json_array_get(times, i));
        json_decref(st);
        return n;
}

static void wait_version(const char *plugin, const char *user, int64_t version, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms;
        for (;;) {
                CvToken *t = NULL;
                int r = cv_token_get(c, plugin, user, &t);
                int64_t v = r >= 0 ? t->version : -1;
                cv_token_free(t);
                if (v >= version)
                        return;
                if (now_ms() > deadline)
                        fail_msg("%s/%s: still version %lld after %d ms", plugin, user, (long long) v, timeout_ms);
                usleep(50000);
        }
}

/* 6. 500: the daemon-mode refresher backs off exponentially (with
 * jitter: each gap at least half the nominal one), then succeeds. */
static void test_500_backoff(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "flaky", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "flaky", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"status\",\"status\":500}");
        char log[160];
        snprintf(log, sizeof(log), "%s/refresher-500.log", h.dir);
        pid_t pid =
                refresher_spawn(h.socket_path, log, (const char *[]) { "--lead", "5m", "--retry-min", "400ms", NULL });
        sleep(6);
        long long t[16];
        size_t n = request_times(t, 16);
        print_message("500: %zu requests in 6 s:", n);
        for (size_t i = 1; i < n; i++)
                print_message(" +%lld", t[i] - t[i - 1]);
        print_message(" ms\n");
        /* 400 ms doubling: nominal gaps 400, 800, 1600, 3200: 4 or 5 requests. */
        assert_true(n >= 3 && n <= 6);
        for (size_t i = 1; i < n; i++)
                assert_true(t[i] - t[i - 1] >= (400LL << (i - 1)) / 2 - 50);
        refresh_is("flaky", "alice", "server_error", t[n - 1]);
        oauth_mode(&srv, "{\"mode\":\"pass\"}");
        wait_version("flaky", "alice", 2, 15000);
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
}

/* 7. 429 with Retry-After: 2 s is honoured though the back-off would be
 * 200 ms. */
static void test_429_retry_after(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "busy", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "busy", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"status\",\"status\":429,\"retry_after\":2}");
        char log[160];
        snprintf(log, sizeof(log), "%s/refresher-429.log", h.dir);
        pid_t pid =
                refresher_spawn(h.socket_path, log, (const char *[]) { "--lead", "5m", "--retry-min", "200ms", NULL });
        sleep(5);
        long long t[16];
        size_t n = request_times(t, 16);
        print_message("429 Retry-After 2: %zu requests in 5 s:", n);
        for (size_t i = 1; i < n; i++)
                print_message(" +%lld", t[i] - t[i - 1]);
        print_message(" ms\n");
        assert_true(n >= 2 && n <= 3);
        for (size_t i = 1; i < n; i++)
                assert_true(t[i] - t[i - 1] >= 1950);
        /* The next attempt honours Retry-After: 2 s after the last. */
        refresh_is("busy", "alice", "rate_limited", t[n - 1] + 1950);
        oauth_mode(&srv, "{\"mode\":\"pass\"}");
        wait_version("busy", "alice", 2, 15000);
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
}

/* 8a. A plugin worker asks while the refresher holds the lease: it waits
 * and gets the refresher's set; the provider sees one refresh. */
static void test_plugin_waits_for_refresher(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "race1", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "race1", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"pass\",\"delay_ms\":1500}");
        pid_t pid = refresher_spawn(h.socket_path, NULL, ONCE("--verbose"));
        long long deadline = now_ms() + 10000;
        while (oauth_stat(&srv, "in_flight") < 1 && now_ms() < deadline)
                usleep(20000);
        int waited = 0, r;
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;
        while ((r = cv_token_refresh_begin(c, "race1", "alice", 300, 0, &lease, &t)) == -EALREADY) {
                waited++;
                usleep((useconds_t) cv_client_retry_after_ms(c) * 1000);
        }
        assert_int_equal(r, 0); /* no lease needed: fresh */
        assert_true(waited >= 1);
        assert_int_equal(t->version, 2);
        cv_token_free(t);
        assert_int_equal(refresher_wait(pid, 20000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
}

/* 8b. The plugin holds the lease first and refreshes by itself: the
 * refresher waits and does not call the provider. */
static void test_refresher_waits_for_plugin(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "race2", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "race2", "alice", 60, "basic", NULL);
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;
        assert_int_equal(cv_token_refresh_begin(c, "race2", "alice", 300, 0, &lease, &t), 1);
        pid_t pid = refresher_spawn(h.socket_path, NULL, ONCE("--verbose"));
        usleep(700000);
        /* The plugin's own refresh, straight to the provider. */
        json_t *req = json_pack("{s:s}", "refresh_token", lease->refresh_token);
        char *body = json_dumps(req, JSON_COMPACT);
        json_t *res = oauth_control(&srv, "/refresh", body);
        assert_int_equal(json_integer_value(json_object_get(res, "status")), 200);
        assert_int_equal(cv_token_refresh_commit(c, "race2", "alice", lease,
                                                 json_string_value(json_object_get(res, "body")), NULL),
                         0);
        assert_int_equal(refresher_wait(pid, 20000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 0);
        CvToken *after = token_of("race2", "alice");
        assert_int_equal(after->version, 2);
        cv_token_free(after);
        json_decref(res);
        json_decref(req);
        free(body);
        cv_token_lease_free(lease);
}

/* 9. application/json and client_secret_post, as the plugin says. */
static void test_json_and_post(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "jsonpost", NULL, "application/json", "post");
        fixture_token_mint(c, &srv, "jsonpost", "alice", 60, "post", NULL);
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        CvToken *t = token_of("jsonpost", "alice");
        assert_int_equal(t->version, 2);
        cv_token_free(t);
        json_t *st = oauth_control(&srv, "/stats", NULL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "content_types"), "application/json")),
                         1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "auth"), "post")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "auth"), "basic")), 0);
        json_decref(st);
}

/* 9b. A provider sending expires_in as a string: stored all the same (a
 * refused commit would lose the rotated refresh token). */
static void test_expires_in_string(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "strexp", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "strexp", "alice", 60, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"pass\",\"expires_in_string\":true}");
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        CvToken *t = token_of("strexp", "alice");
        assert_int_equal(t->version, 2);
        assert_true(t->expires_at >= (int64_t) time(NULL) + ACCESS_TTL - 30);
        cv_token_free(t);
}

/* 9c. Access tokens that live less than the lead (600 s < 15 min): after
 * the refresh the set is not due again at once, but at half its life; the
 * provider sees one request, not a loop. */
static void test_lead_longer_than_lifetime(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "shortlived", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "shortlived", "alice", 60, "basic", NULL);
        pid_t pid = refresher_spawn(h.socket_path, NULL, (const char *[]) { "--lead", "15m", NULL });
        wait_version("shortlived", "alice", 2, 15000);
        sleep(2);
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
}

/* 10. Plain http to a non-loopback address is never called. */
static void test_refuses_plain_http(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "insecure", "http://192.0.2.1/token", NULL, "basic");
        fixture_token_mint(c, &srv, "insecure", "alice", 60, "basic", NULL);
        long long t0 = now_ms();
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 3);
        assert_true(now_ms() - t0 < 5000);
        CvToken *t = token_of("insecure", "alice");
        assert_int_equal(t->version, 1);
        cv_token_free(t);
}

/* 11. The refresher as a principal of its own, with only what
 * credvault-refresher(8) says it needs: "read" and "refresh" on its
 * plugin, named with --plugin (no plugin.list without "read" on "*"). A
 * plugin it is not granted is skipped, not fatal. */
static void test_policy_principal(void **state) {
        (void) state;
        char reason[256];
        if (harness_test_users_ensure(reason, sizeof(reason)) < 0) {
                print_message("skipped: %s\n", reason);
                skip();
        }
        uid_t uid;
        gid_t gid;
        assert_int_equal(harness_user_lookup(HARNESS_USER_A, &uid, &gid), 0);
        Harness ph = { .policy = "{\"version\": 1, \"principals\": {\"user:" HARNESS_USER_A "\": "
                                 "{\"plugins\": {\"granted\": [\"read\", \"refresh\"]}}}}",
                       .socket_open = true };
        assert_int_equal(harness_start(&ph), 0);
        CvClient *pc = NULL;
        assert_int_equal(cv_client_new(ph.socket_path, 10000, &pc), 0);
        fixture_plugin_add(pc, &srv, "granted", NULL, NULL, "basic");
        fixture_plugin_add(pc, &srv, "other", NULL, NULL, "basic");
        fixture_token_mint(pc, &srv, "granted", "alice", 60, "basic", NULL);
        fixture_token_mint(pc, &srv, "other", "alice", 60, "basic", NULL);

        /* Without --plugin: plugin.list is denied, nothing can be done. */
        pid_t pid = refresher_spawn_as(ph.socket_path, NULL, ONCE("--verbose"), uid, gid);
        assert_int_equal(refresher_wait(pid, 30000), 1);
        /* With it: its plugin is refreshed, the other one skipped. */
        pid = refresher_spawn_as(ph.socket_path, NULL, ONCE("--verbose", "--plugin", "granted", "--plugin", "other"),
                                 uid, gid);
        assert_int_equal(refresher_wait(pid, 30000), 0);
        CvToken *t = NULL;
        assert_int_equal(cv_token_get(pc, "granted", "alice", &t), 0);
        assert_int_equal(t->version, 2);
        cv_token_free(t);
        assert_int_equal(cv_token_get(pc, "other", "alice", &t), 0);
        assert_int_equal(t->version, 1);
        cv_token_free(t);
        cv_client_free(pc);
        assert_int_equal(harness_stop(&ph), 0);
        harness_cleanup(&ph);
}

/* 12. credvaultd stops under a daemon-mode refresher and comes back: the
 * refresher waits without spinning, then finds and refreshes a set
 * stored after the restart. */
static void test_daemon_restart(void **state) {
        (void) state;
        Harness dh = {};
        assert_int_equal(harness_start(&dh), 0);
        char log[160];
        snprintf(log, sizeof(log), "%s/refresher-restart.log", dh.dir);
        /* --lead 4s: a scan every 2 s, which is how it finds the new set. */
        pid_t pid =
                refresher_spawn(dh.socket_path, log, (const char *[]) { "--lead", "4s", "--retry-min", "200ms", NULL });
        usleep(500000);
        assert_int_equal(harness_stop(&dh), 0);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        unsigned long u0 = 0, s0 = 0, u1 = 0, s1 = 0;
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &u0, &s0);
        sleep(3);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &u1, &s1);
        long ms = (long) (u1 + s1 - u0 - s0) * 1000 / sysconf(_SC_CLK_TCK);
        print_message("refresher with the daemon down: %ld ms CPU in 3 s\n", ms);
        assert_true(ms <= 50);

        assert_int_equal(harness_restart(&dh), 0);
        CvClient *dc = NULL;
        assert_int_equal(cv_client_new(dh.socket_path, 10000, &dc), 0);
        fixture_plugin_add(dc, &srv, "restart", NULL, NULL, "basic");
        fixture_token_mint(dc, &srv, "restart", "alice", 3, "basic", NULL);
        long long deadline = now_ms() + 20000;
        int64_t version = 0;
        while (now_ms() < deadline) {
                CvToken *t = NULL;
                if (cv_token_get(dc, "restart", "alice", &t) == 0)
                        version = t->version;
                cv_token_free(t);
                if (version >= 2)
                        break;
                usleep(100000);
        }
        assert_int_equal(version, 2);
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
        cv_client_free(dc);
        assert_int_equal(harness_stop(&dh), 0);
        harness_cleanup(&dh);
}

int main(void) {
        char reason[600];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (oauth_server_start(&srv, ACCESS_TTL, reason, sizeof(reason)) < 0) {
                printf("SKIP: %s\n", reason);
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_refresh_before_expiry, case_teardown),
                cmocka_unit_test_teardown(test_rotation, case_teardown),
                cmocka_unit_test_teardown(test_invalid_grant, case_teardown),
                cmocka_unit_test_teardown(test_provider_down, case_teardown),
                cmocka_unit_test_teardown(test_slow_past_timeout, case_teardown),
                cmocka_unit_test_teardown(test_500_backoff, case_teardown),
                cmocka_unit_test_teardown(test_429_retry_after, case_teardown),
                cmocka_unit_test_teardown(test_plugin_waits_for_refresher, case_teardown),
                cmocka_unit_test_teardown(test_refresher_waits_for_plugin, case_teardown),
                cmocka_unit_test_teardown(test_json_and_post, case_teardown),
                cmocka_unit_test_teardown(test_expires_in_string, case_teardown),
                cmocka_unit_test_teardown(test_lead_longer_than_lifetime, case_teardown),
                cmocka_unit_test_teardown(test_refuses_plain_http, case_teardown),
                cmocka_unit_test_teardown(test_policy_principal, case_teardown),
                cmocka_unit_test_teardown(test_daemon_restart, case_teardown),
        };
        int r = cmocka_run_group_tests(tests, group_setup, group_teardown);
        oauth_server_stop(&srv);
        curl_global_cleanup();
        return r;
}
