/* test-e2e-refresh-state.c — what token.list and health say of refreshes.
 *
 * Against the real daemon through libcredvault's cv_call_json(): each
 * set's last attempt, its result and its next attempt come from the
 * refresh calls themselves (refresh_begin, _commit, _fail with retry_at)
 * and from the plugin's refresher.report (its lead and any hold the
 * provider asked for); a new set put by the plugin starts clean; health
 * sums the reports of every plugin and forgets a deleted plugin's. A
 * malformed report, or one for a plugin that is not registered, is refused
 * with the member named and changes nothing. (e2e-policy: the refresh
 * class on the plugin admits a report.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"

static Harness h;
static CvClient *c;

static void register_oauth(const char *plugin) {
        const char *auth = "{\"type\":\"oauth\",\"client_url\":\"https://example.com/authorize\","
                           "\"authorization_url\":\"https://example.com/token\",\"scope\":\"a\"}";
        int r = cv_plugin_register(c, auth, plugin, NULL, NULL);
        if (r < 0)
                fail_msg("plugin.register %s: %d %s", plugin, r, cv_client_error_message(c));
}

static int group_setup(void **state) {
        (void) state;
        if (harness_start(&h) < 0 || cv_client_new(h.socket_path, 5000, &c) < 0)
                return -1;
        register_oauth("cal");
        register_oauth("mail");
        return 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(c);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

/* The reply to a request, which must be (or not be) a success. */
__attribute__((format(printf, 2, 3))) static json_t *call(bool ok, const char *fmt, ...) {
        char request[2048], *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(request, sizeof(request), fmt, ap);
        va_end(ap);
        int r = cv_call_json(c, request, &text);
        if (r < 0)
                fail_msg("%s: %d", request, r);
        json_t *j = json_loads(text, 0, NULL);
        cv_free_wiped(text, (size_t) -1);
        assert_non_null(j);
        if (json_is_true(json_object_get(j, "ok")) != ok) {
                char *dump = json_dumps(j, JSON_COMPACT);
                fail_msg("%s: %s", request, dump);
        }
        return j;
}

static const char *error_message(json_t *reply) {
        return json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
}

static void put_set(const char *plugin, const char *user, int expires_in) {
        json_decref(
                call(true,
                     "{\"v\":1,\"op\":\"token.put\",\"plugin\":\"%s\",\"user\":\"%s\",\"token\":"
                     "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":%d,\"refresh_token\":\"rt\"}}",
                     plugin, user, expires_in));
}

/* The "refresh" member of user's set in token.list, or NULL (borrowed
 * from *ret_list, which the caller frees). */
static json_t *refresh_of(const char *plugin, const char *user, json_t **ret_list) {
        json_t *list = call(true, "{\"v\":1,\"op\":\"token.list\",\"plugin\":\"%s\"}", plugin);
        size_t i;
        json_t *item;
        *ret_list = list;
        json_array_foreach(json_object_get(list, "tokens"), i, item)
                if (strcmp(json_string_value(json_object_get(item, "user")), user) == 0)
                        return json_object_get(item, "refresh");
        fail_msg("no set for %s/%s", plugin, user);
        return NULL;
}

static int64_t member_int(json_t *o, const char *name) {
        json_t *v = json_object_get(o, name);
        if (!json_is_integer(v))
                fail_msg("no integer member %s", name);
        return json_integer_value(v);
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A lease on the set, its id copied into lease. */
static void begin(const char *plugin, const char *user, char lease[static 33]) {
        json_t *j = call(
                true, "{\"v\":1,\"op\":\"token.refresh_begin\",\"plugin\":\"%s\",\"user\":\"%s\",\"min_valid\":7200}",
                plugin, user);
        assert_true(json_is_true(json_object_get(j, "refresh")));
        snprintf(lease, 33, "%s", json_string_value(json_object_get(j, "lease")));
        json_decref(j);
}

#define REPORT_FMT                                                                                                     \
        "{\"v\":1,\"op\":\"refresher.report\",\"plugin\":\"%s\",\"report\":{\"lead\":%d,\"started\":1,"                \
        "\"last_run\":%lld,\"next_run\":%lld,\"hold_until\":%lld,\"refreshed\":%d,\"already_fresh\":1,"                \
        "\"reauth\":2,\"transient\":3,\"oauth_errors\":4,\"vault_errors\":5}}"

static void test_attempts_and_results(void **state) {
        (void) state;
        json_t *list, *refresh;
        char lease[33];

        put_set("cal", "alice", 3600);
        refresh = refresh_of("cal", "alice", &list);
        assert_null(refresh); /* never tried, and no refresher has said when it will */
        json_decref(list);

        /* Tried: when, but no result yet. */
        int64_t before = now_ms();
        begin("cal", "alice", lease);
        refresh = refresh_of("cal", "alice", &list);
        assert_non_null(refresh);
        int64_t tried = member_int(refresh, "tried_at");
        assert_true(tried >= before && tried <= now_ms());
        assert_null(json_object_get(refresh, "result"));
        assert_null(json_object_get(refresh, "next_at"));
        json_decref(list);

        /* A transient failure with the caller's next attempt. */
        int64_t retry = now_ms() + 90000;
        json_decref(
                call(true,
                     "{\"v\":1,\"op\":\"token.refresh_fail\",\"plugin\":\"cal\",\"user\":\"alice\",\"lease\":\"%s\","
                     "\"error\":\"server_error\",\"retry_at\":%lld}",
                     lease, (long long) retry));
        refresh = refresh_of("cal", "alice", &list);
        assert_string_equal(json_string_value(json_object_get(refresh, "result")), "server_error");
        assert_int_equal(member_int(refresh, "next_at"), retry);
        assert_int_equal(member_int(refresh, "tried_at"), tried);
        json_decref(list);

        /* Tried again, and committed: ok, and the retry is forgotten. */
        begin("cal", "alice", lease);
        json_decref(
                call(true,
                     "{\"v\":1,\"op\":\"token.refresh_commit\",\"plugin\":\"cal\",\"user\":\"alice\",\"lease\":\"%s\","
                     "\"token\":{\"access_token\":\"at2\",\"token_type\":\"Bearer\",\"expires_in\":7200}}",
                     lease));
        refresh = refresh_of("cal", "alice", &list);
        assert_string_equal(json_string_value(json_object_get(refresh, "result")), "ok");
        assert_true(member_int(refresh, "tried_at") >= tried);
        assert_null(json_object_get(refresh, "next_at"));
        json_decref(list);

        /* A refresh fail that is not the lease holder's notes nothing. */
        json_decref(
                call(true,
                     "{\"v\":1,\"op\":\"token.refresh_fail\",\"plugin\":\"cal\",\"user\":\"alice\",\"lease\":\"%s\","
                     "\"error\":\"invalid_grant\"}",
                     "0123456789abcdef0123456789abcdef"));
        refresh = refresh_of("cal", "alice", &list);
        assert_string_equal(json_string_value(json_object_get(refresh, "result")), "ok");
        json_decref(list);

        /* invalid_grant: the result, and no next attempt. */
        json_decref(call(true, "{\"v\":1,\"op\":\"token.put\",\"plugin\":\"cal\",\"user\":\"bob\",\"token\":"
                               "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":60,"
                               "\"refresh_token\":\"rt\"}}"));
        begin("cal", "bob", lease);
        json_decref(call(true,
                         "{\"v\":1,\"op\":\"token.refresh_fail\",\"plugin\":\"cal\",\"user\":\"bob\",\"lease\":\"%s\","
                         "\"error\":\"invalid_grant\",\"retry_at\":%lld}",
                         lease, (long long) retry));
        refresh = refresh_of("cal", "bob", &list);
        assert_string_equal(json_string_value(json_object_get(refresh, "result")), "invalid_grant");
        assert_null(json_object_get(refresh, "next_at"));
        json_decref(list);

        /* The user authorized again: the plugin puts a new set, which
         * starts clean. */
        put_set("cal", "bob", 3600);
        refresh = refresh_of("cal", "bob", &list);
        assert_null(refresh);
        json_decref(list);
}

static void test_report_schedules(void **state) {
        (void) state;
        json_t *list, *refresh;

        put_set("mail", "carol", 3600); /* expires in an hour */
        json_t *set = call(true, "{\"v\":1,\"op\":\"token.list\",\"plugin\":\"mail\"}");
        int64_t expires = member_int(json_array_get(json_object_get(set, "tokens"), 0), "expires_at");
        json_decref(set);

        int64_t t = now_ms();
        json_t *j = call(true, REPORT_FMT, "mail", 300, (long long) t, (long long) (t + 5000), 0LL, 7);
        assert_true(member_int(j, "received_at") >= t);
        json_decref(j);

        /* Next: the expiry less the lead. */
        refresh = refresh_of("mail", "carol", &list);
        assert_non_null(refresh);
        assert_int_equal(member_int(refresh, "next_at"), expires * 1000 - 300 * 1000);
        assert_null(json_object_get(refresh, "tried_at"));
        json_decref(list);

        /* The provider asked to wait past it: then. */
        int64_t hold = expires * 1000 + 60000;
        json_decref(call(true, REPORT_FMT, "mail", 300, (long long) t, (long long) hold, (long long) hold, 7));
        refresh = refresh_of("mail", "carol", &list);
        assert_int_equal(member_int(refresh, "next_at"), hold);
        json_decref(list);

        /* A set without an expiry is not scheduled. */
        json_decref(call(true, "{\"v\":1,\"op\":\"token.put\",\"plugin\":\"mail\",\"user\":\"dave\",\"token\":"
                               "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}}"));
        refresh = refresh_of("mail", "dave", &list);
        assert_null(refresh);
        json_decref(list);
}

static json_t *health_refresher(void) {
        json_t *j = call(true, "{\"v\":1,\"op\":\"health\"}");
        json_t *r = json_incref(json_object_get(j, "refresher"));
        json_decref(j);
        return r;
}

static void test_health_sums_reports(void **state) {
        (void) state;
        int64_t t = now_ms();
        json_decref(call(true, REPORT_FMT, "cal", 300, (long long) (t - 1000), (long long) (t + 9000),
                         (long long) (t + 3600000), 10));
        json_decref(call(true, REPORT_FMT, "mail", 300, (long long) t, (long long) (t + 5000), 0LL, 7));

        json_t *r = health_refresher();
        assert_non_null(r);
        assert_int_equal(member_int(r, "plugins"), 2);
        assert_int_equal(member_int(r, "refreshed"), 17);
        assert_int_equal(member_int(r, "already_fresh"), 2);
        assert_int_equal(member_int(r, "last_run"), t);
        assert_int_equal(member_int(r, "next_run"), t + 5000);
        assert_int_equal(member_int(r, "held"), 1);
        assert_int_equal(member_int(r, "stale"), 0);
        assert_true(member_int(r, "oldest_report_at") <= member_int(r, "reported_at"));
        json_t *f = json_object_get(r, "failures");
        assert_int_equal(member_int(f, "reauth_required"), 4);
        assert_int_equal(member_int(f, "transient"), 6);
        assert_int_equal(member_int(f, "oauth"), 8);
        assert_int_equal(member_int(f, "vault"), 10);
        json_decref(r);

        /* A deleted plugin's report goes with it. */
        register_oauth("gone");
        json_decref(call(true, REPORT_FMT, "gone", 60, (long long) t, 0LL, 0LL, 1));
        r = health_refresher();
        assert_int_equal(member_int(r, "plugins"), 3);
        json_decref(r);
        assert_int_equal(cv_plugin_delete(c, "gone"), 0);
        r = health_refresher();
        assert_int_equal(member_int(r, "plugins"), 2);
        assert_int_equal(member_int(r, "refreshed"), 17);
        json_decref(r);
}

static void test_bad_reports_change_nothing(void **state) {
        (void) state;
        static const struct {
                const char *report, *message;
        } bad[] = {
                { "{}", "field 'report.lead': missing" },
                { "{\"lead\":1}", "field 'report.started': missing" },
                { "{\"lead\":-1,\"started\":0,\"last_run\":0,\"next_run\":0,\"hold_until\":0,\"refreshed\":0,"
                  "\"already_fresh\":0,\"reauth\":0,\"transient\":0,\"oauth_errors\":0,\"vault_errors\":0}",
                  "field 'report.lead': must be an integer from 0 to 31622400" },
                { "{\"lead\":1,\"started\":0,\"last_run\":\"now\",\"next_run\":0,\"hold_until\":0,\"refreshed\":0,"
                  "\"already_fresh\":0,\"reauth\":0,\"transient\":0,\"oauth_errors\":0,\"vault_errors\":0}",
                  "field 'report.last_run': must be an integer from 0 to 253402300799000" },
                { "{\"lead\":1,\"started\":0,\"last_run\":0,\"next_run\":0,\"hold_until\":0,\"refreshed\":0,"
                  "\"already_fresh\":0,\"reauth\":0,\"transient\":0,\"oauth_errors\":0,\"vault_errors\":0,"
                  "\"token\":\"x\"}",
                  "field 'report.token': not a member of a report" },
        };
        json_t *before = health_refresher();

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *j = call(false, "{\"v\":1,\"op\":\"refresher.report\",\"plugin\":\"cal\",\"report\":%s}",
                                 bad[i].report);
                assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                                    "bad_request");
                assert_string_equal(error_message(j), bad[i].message);
                json_decref(j);
        }
        json_t *j = call(false, "{\"v\":1,\"op\":\"refresher.report\",\"plugin\":\"cal\",\"report\":[]}");
        assert_string_equal(error_message(j), "field 'report': expected an object");
        json_decref(j);

        /* Not registered: named, and not kept. */
        j = call(false, REPORT_FMT, "nosuch", 300, 1LL, 0LL, 0LL, 1);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "not_found");
        assert_string_equal(error_message(j), "plugin 'nosuch' is not registered");
        json_decref(j);

        /* Times a refresher cannot mean: a last run in 9999 would make a
         * dead refresher look alive in everyone's health. */
        j = call(false, REPORT_FMT, "cal", 300, 253402300799000LL, 0LL, 0LL, 1);
        assert_string_equal(error_message(j), "field 'report.last_run': later than the daemon's clock allows");
        json_decref(j);
        j = call(false, REPORT_FMT, "cal", 300, 1LL, 0LL, (long long) (now_ms() + 2 * 86400000LL), 1);
        assert_string_equal(error_message(j), "field 'report.hold_until': later than the daemon's clock allows");
        json_decref(j);

        /* "ok" is what a success is noted as: no failure may say it. */
        j = call(false, "{\"v\":1,\"op\":\"token.refresh_fail\",\"plugin\":\"cal\",\"user\":\"alice\",\"lease\":"
                        "\"0123456789abcdef0123456789abcdef\",\"error\":\"ok\"}");
        assert_string_equal(error_message(j), "field 'error': \"ok\" is not an error");
        json_decref(j);

        /* retry_at is unix ms, in range. */
        j = call(false, "{\"v\":1,\"op\":\"token.refresh_fail\",\"plugin\":\"cal\",\"user\":\"alice\",\"lease\":"
                        "\"0123456789abcdef0123456789abcdef\",\"error\":\"server_error\",\"retry_at\":0}");
        assert_string_equal(error_message(j), "field 'retry_at': must be between 1 and 253402300799000");
        json_decref(j);

        json_t *after = health_refresher();
        assert_true(json_equal(before, after));
        json_decref(before);
        json_decref(after);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_attempts_and_results),
                cmocka_unit_test(test_report_schedules),
                cmocka_unit_test(test_health_sums_reports),
                cmocka_unit_test(test_bad_reports_change_nothing),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
