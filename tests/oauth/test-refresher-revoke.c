/* test-refresher-revoke.c — RFC 7009 revocation on delete, against a real
 * OAuth server.
 *
 * The real credvaultd (harness), the real refresher binary, and
 * oidc-provider (tests/oauth/provider.js) with its revocation endpoint
 * behind the proxy. A token set deleted from the vault of a plugin with
 * the revocation_endpoint secret is revoked by the refresher, and the
 * provider shows it: it no longer holds the access or the refresh token,
 * and a refresh with the old refresh token gets invalid_grant; with the
 * provider down, the revocation fails, waits for the daemon's back-off,
 * and a running refresher wakes for it and succeeds. Skips (77) where
 * oidc-provider cannot be installed. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"
#include "oauth-fixture.h"

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

#define ONCE(...) ((const char *[]) { "--once", "--lead", "5m", __VA_ARGS__, NULL })

/* An oauth plugin (client "basic" or "post") with a revocation endpoint,
 * and a token set of user minted by the provider; its tokens in ret_at,
 * ret_rt (free()). */
static void setup_set(const char *plugin, const char *client, const char *user, char **ret_at, char **ret_rt) {
        fixture_plugin_add(c, &srv, plugin, NULL, NULL, client);
        const char *url = json_string_value(json_object_get(srv.info, "revocation_url"));
        assert_non_null(url);
        assert_int_equal(cv_secret_put(c, plugin, "revocation_endpoint", url, strlen(url), NULL), 0);
        fixture_token_mint(c, &srv, plugin, user, 3600, client, ret_rt);
        CvToken *t = NULL;
        assert_int_equal(cv_token_get(c, plugin, user, &t), 0);
        *ret_at = strdup(t->access_token);
        cv_token_free(t);
}

/* What the provider still holds of the two tokens. */
static void provider_holds(const char *at, const char *rt, bool want) {
        json_t *req = json_pack("{s:s, s:s}", "access_token", at, "refresh_token", rt);
        char *body = json_dumps(req, JSON_COMPACT);
        json_t *res = oauth_control(&srv, "/lookup", body);
        assert_int_equal(json_is_true(json_object_get(res, "access_token")), want);
        assert_int_equal(json_is_true(json_object_get(res, "refresh_token")), want);
        json_decref(res);
        json_decref(req);
        free(body);
}

/* The plugin's pending revocations, through the protocol. */
static json_t *pending(const char *plugin) {
        char req[256], *reply = NULL;
        snprintf(req, sizeof(req), "{\"op\":\"token.revocation_list\",\"plugin\":\"%s\"}", plugin);
        assert_true(cv_call_json(c, req, &reply) > 0);
        json_t *j = json_loads(reply, 0, NULL);
        cv_free_wiped(reply, (size_t) -1);
        assert_true(json_is_true(json_object_get(j, "ok")));
        json_t *a = json_incref(json_object_get(j, "revocations"));
        json_decref(j);
        return a;
}

static void revoked_at_provider(const char *plugin, const char *client) {
        char *at = NULL, *rt = NULL;
        setup_set(plugin, client, "alice", &at, &rt);
        provider_holds(at, rt, true);
        oauth_mode(&srv, "{\"mode\":\"pass\"}"); /* stats zeroed */

        assert_int_equal(cv_token_delete(c, plugin, "alice"), 0);
        json_t *a = pending(plugin);
        assert_int_equal(json_array_size(a), 1);
        json_decref(a);

        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        assert_int_equal(oauth_stat(&srv, "revocations"), 1);
        json_t *st = oauth_control(&srv, "/stats", NULL);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "hints"), "refresh_token")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "auth"), client)), 1);
        json_decref(st);
        a = pending(plugin);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);

        /* The provider's side: both tokens gone, the refresh token refused. */
        provider_holds(at, rt, false);
        json_t *req = json_pack("{s:s, s:s}", "refresh_token", rt, "client", client);
        char *body = json_dumps(req, JSON_COMPACT);
        json_t *res = oauth_control(&srv, "/refresh", body);
        assert_int_equal(json_integer_value(json_object_get(res, "status")), 400);
        assert_non_null(strstr(json_string_value(json_object_get(res, "body")), "invalid_grant"));
        json_decref(res);
        json_decref(req);
        free(body);

        /* Nothing more to do: a second run calls nobody. */
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 1);
        free(at);
        free(rt);
}

/* revocation on delete seen by the provider, client_secret_basic. */
static void test_revocation_on_delete_basic(void **state) {
        (void) state;
        revoked_at_provider("rv-basic", "basic");
}

/* The same with client_secret_post. */
static void test_revocation_on_delete_post(void **state) {
        (void) state;
        revoked_at_provider("rv-post", "post");
}

/* Without the secret, nothing is queued and the provider is not called. */
static void test_no_endpoint_no_revocation(void **state) {
        (void) state;
        fixture_plugin_add(c, &srv, "rv-none", NULL, NULL, "basic");
        fixture_token_mint(c, &srv, "rv-none", "alice", 3600, "basic", NULL);
        oauth_mode(&srv, "{\"mode\":\"pass\"}");
        assert_int_equal(cv_token_delete(c, "rv-none", "alice"), 0);
        json_t *a = pending("rv-none");
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);
        assert_int_equal(oauth_stat(&srv, "requests"), 0);
}

/* Provider down: the revocation fails, the daemon backs it off (30 s);
 * a running refresher sleeps until then, tries again and succeeds. */
static void test_provider_down_retried(void **state) {
        (void) state;
        char *at = NULL, *rt = NULL;
        setup_set("rv-down", "basic", "bob", &at, &rt);
        oauth_mode(&srv, "{\"mode\":\"down\"}");
        assert_int_equal(cv_token_delete(c, "rv-down", "bob"), 0);

        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 3);
        json_t *a = pending("rv-down");
        assert_int_equal(json_array_size(a), 1);
        json_t *row = json_array_get(a, 0);
        assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
        assert_string_equal(json_string_value(json_object_get(row, "last_error")), "unreachable");
        long long due = json_integer_value(json_object_get(row, "next_at"));
        json_decref(a);
        provider_holds(at, rt, true);

        /* Not due yet: --once leaves it. */
        assert_int_equal(refresher_run(h.socket_path, ONCE("--verbose"), 30000), 0);

        oauth_mode(&srv, "{\"mode\":\"pass\"}");
        char log_path[256];
        snprintf(log_path, sizeof(log_path), "%s/refresher-revoke.log", h.dir);
        pid_t pid = refresher_spawn(h.socket_path, log_path, (const char *[]) { "--lead", "5m", "--verbose", NULL });
        long long deadline = now_ms() + 90000;
        size_t n = 1;
        while (n > 0 && now_ms() < deadline) {
                usleep(200 * 1000);
                a = pending("rv-down");
                n = json_array_size(a);
                json_decref(a);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long done_at = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        kill(pid, SIGTERM);
        assert_int_equal(refresher_wait(pid, 10000), 0);
        if (n > 0)
                fail_msg("still pending after 90 s (see %s)", log_path);
        print_message("revocation retried %lld ms after it was due\n", done_at - due);
        assert_true(done_at >= due);
        assert_int_equal(oauth_stat(&srv, "revocations"), 1);
        assert_int_equal(oauth_stat(&srv, "requests"), 1); /* one attempt once up, not a poll */
        provider_holds(at, rt, false);
        free(at);
        free(rt);
}

int main(void) {
        char reason[512];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (oauth_server_start(&srv, 600, reason, sizeof(reason)) < 0) {
                printf("SKIP: %s\n", reason);
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_revocation_on_delete_basic, case_teardown),
                cmocka_unit_test_teardown(test_revocation_on_delete_post, case_teardown),
                cmocka_unit_test_teardown(test_no_endpoint_no_revocation, case_teardown),
                cmocka_unit_test_teardown(test_provider_down_retried, case_teardown),
        };
        int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
        oauth_server_stop(&srv);
        curl_global_cleanup();
        return failed ? 1 : 0;
}
