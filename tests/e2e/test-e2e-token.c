/* test-e2e-token.c — user OAuth token sets end to end.
 *
 * A token set of every field, and one of maximal sizes, round-trips through
 * the real daemon and library; list shows users and expiry but no token;
 * invalid sets are refused and change nothing; a response of exactly the
 * documented size is stored though expires_in grows into expires_at, and
 * too_large says why only when a refresh token was carried over; delete
 * removes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

static Harness h;
static CvClient *c;

static int group_setup(void **state) {
        (void) state;
        if (harness_start(&h) < 0)
                return -1;
        return cv_client_new(h.socket_path, 5000, &c) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(c);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

static void test_round_trip_all_fields(void **state) {
        (void) state;
        CvToken in = { .access_token = "ya29.a0AfH6SMBx",
                       .token_type = "Bearer",
                       .refresh_token = "1//0gLx-refresh",
                       .scope = "read write",
                       .expires_at = 1900000000 };
        CvToken *out = NULL;
        int64_t v = 0;

        assert_int_equal(cv_token_put(c, "todo", "user-42", &in, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cv_token_get(c, "todo", "user-42", &out), 0);
        assert_string_equal(out->access_token, in.access_token);
        assert_string_equal(out->token_type, in.token_type);
        assert_string_equal(out->refresh_token, in.refresh_token);
        assert_string_equal(out->scope, in.scope);
        assert_int_equal(out->expires_at, in.expires_at);
        assert_int_equal(out->version, 1);
        cv_token_free(out);

        /* Optional fields really are optional, and a new put replaces; a
         * response without a refresh token keeps the previous one. */
        CvToken bare = { .access_token = "second", .token_type = "bearer", .expires_at = -1 };
        assert_int_equal(cv_token_put(c, "todo", "user-42", &bare, &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cv_token_get(c, "todo", "user-42", &out), 0);
        assert_string_equal(out->access_token, "second");
        assert_string_equal(out->refresh_token, in.refresh_token);
        assert_null(out->scope);
        assert_int_equal(out->expires_at, -1);
        cv_token_free(out);
}

static void test_maximal_sizes(void **state) {
        (void) state;
        static char access[CV_TOKEN_SECRET_SIZE_MAX + 2], refresh[CV_TOKEN_SECRET_SIZE_MAX + 1];
        static char scope[CV_TOKEN_SCOPE_SIZE_MAX + 1], type[CV_TOKEN_TYPE_SIZE_MAX + 1];
        char user[CV_USER_ID_SIZE_MAX + 1];
        CvToken *out = NULL;

        /* Quotes and backslashes are the characters JSON escaping doubles. */
        for (size_t i = 0; i < CV_TOKEN_SECRET_SIZE_MAX; i++) {
                access[i] = "\"\\A~ "[i % 5];
                refresh[i] = "\\\"z0!"[i % 5];
        }
        memset(scope, '"', CV_TOKEN_SCOPE_SIZE_MAX);
        memset(type, 'T', CV_TOKEN_TYPE_SIZE_MAX);
        memset(user, 'u', CV_USER_ID_SIZE_MAX);
        user[CV_USER_ID_SIZE_MAX] = '\0';
        CvToken in = { .access_token = access,
                       .token_type = type,
                       .refresh_token = refresh,
                       .scope = scope,
                       .expires_at = 4102444800 };

        assert_int_equal(cv_token_put(c, "big", user, &in, NULL), 0);
        assert_int_equal(cv_token_get(c, "big", user, &out), 0);
        assert_string_equal(out->access_token, access);
        assert_string_equal(out->refresh_token, refresh);
        assert_string_equal(out->scope, scope);
        assert_string_equal(out->token_type, type);
        assert_int_equal(out->expires_at, 4102444800);
        cv_token_free(out);

        /* One byte over is refused by the daemon, and nothing changes. */
        access[CV_TOKEN_SECRET_SIZE_MAX] = 'x';
        assert_int_equal(cv_token_put(c, "big", user, &in, NULL), -EINVAL);
        assert_string_equal(cv_client_error_code(c), "bad_request");
        assert_non_null(strstr(cv_client_error_message(c), "access_token"));
        access[CV_TOKEN_SECRET_SIZE_MAX] = '\0';
        assert_int_equal(cv_token_get(c, "big", user, &out), 0);
        assert_int_equal(out->version, 1);
        cv_token_free(out);
}

static void test_unicode_user_ids(void **state) {
        (void) state;
        const char *users[] = { "auth0|5f7c8ec7c33c6c004bbafe82", "ana@example.com", "Zoë Ødegård", "用户" };
        CvToken in = { .access_token = "a", .token_type = "Bearer", .expires_at = -1 };
        CvToken *out = NULL;
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(cv_token_put(c, "uni", users[i], &in, NULL), 0);
                assert_int_equal(cv_token_get(c, "uni", users[i], &out), 0);
                cv_token_free(out);
        }
        assert_int_equal(cv_token_put(c, "uni", "tab\tuser", &in, NULL), -EINVAL);
}

static void test_list_shows_no_tokens(void **state) {
        (void) state;
        CvToken in = { .access_token = "SECRET-ACCESS-in-list",
                       .token_type = "Bearer",
                       .refresh_token = "SECRET-REFRESH-in-list",
                       .expires_at = 4102444800 };
        CvTokenInfo *items = NULL;
        char *reply = NULL;

        for (int i = 0; i < 120; i++) {
                char user[16];
                snprintf(user, sizeof(user), "u%03d", i);
                assert_int_equal(cv_token_put(c, "listed", user, &in, NULL), 0);
        }
        int n = cv_token_list(c, "listed", &items);
        assert_int_equal(n, 120);
        assert_string_equal(items[0].user, "u000");
        assert_string_equal(items[119].user, "u119");
        assert_int_equal(items[7].expires_at, 4102444800);
        cv_token_info_free(items, (size_t) n);

        assert_true(cv_call_json(c, "{\"op\":\"token.list\",\"plugin\":\"listed\"}", &reply) > 0);
        assert_null(strstr(reply, "SECRET-"));
        assert_non_null(strstr(reply, "\"next\":\"u099\""));
        cv_free_wiped(reply, (size_t) -1);
}

/* The documented limit on a token response, as compact JSON. */
#define RESPONSE_SIZE_MAX 49152

/* A compact token endpoint response of exactly size bytes: the given
 * members (text inside the braces, no trailing comma), then an id_token
 * padding it out. malloc'd. */
static char *response_of_size(size_t size, const char *members) {
        char *s = malloc(size + 1);
        assert_non_null(s);
        int n = snprintf(s, size + 1, "{%s,\"id_token\":\"", members);
        assert_true(n > 0 && (size_t) n + 2 <= size);
        memset(s + n, 'i', size - (size_t) n - 2);
        memcpy(s + size - 2, "\"}", 3);
        assert_int_equal(strlen(s), size);
        return s;
}

/* The state and expires_at token.list gives for one user; -1 if absent. */
static int64_t listed_expires_at(const char *plugin, const char *user, char *ret_state) {
        CvTokenInfo *items = NULL;
        int64_t at = -1;
        int n = cv_token_list(c, plugin, &items);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++)
                if (strcmp(items[i].user, user) == 0) {
                        at = items[i].expires_at;
                        strcpy(ret_state, items[i].state);
                }
        cv_token_info_free(items, (size_t) n);
        return at;
}

/* A response of exactly RESPONSE_SIZE_MAX bytes is what the docs allow: it
 * is stored although writing expires_in 0 as a ten-digit expires_at makes
 * the stored set 9 bytes longer, and one byte more is too large. */
static void test_response_at_the_size_limit(void **state) {
        (void) state;
        char *reply = NULL, st[16] = "";
        int64_t v = 0;

        char *at_limit = response_of_size(RESPONSE_SIZE_MAX, "\"access_token\":\"a\",\"token_type\":\"Bearer\","
                                                             "\"expires_in\":0");
        if (cv_token_put_response(c, "edge", "fresh", at_limit, &v) < 0)
                fail_msg("refused: %s: %s", cv_client_error_code(c), cv_client_error_message(c));
        assert_int_equal(v, 1);
        int64_t at = listed_expires_at("edge", "fresh", st);
        assert_true(at >= 1000000000 && at <= time(NULL));
        assert_string_equal(st, "expired");

        /* The same with an hour to live, read back whole: the stored set
         * (over the response limit now) still fits a reply. */
        char *hour = response_of_size(RESPONSE_SIZE_MAX, "\"access_token\":\"a\",\"token_type\":\"Bearer\","
                                                         "\"expires_in\":3600");
        assert_int_equal(cv_token_put_response(c, "edge", "hour", hour, NULL), 0);
        assert_int_equal(cv_token_get_json(c, "edge", "hour", 0, &reply), 0);
        assert_int_equal(strlen(reply), RESPONSE_SIZE_MAX - strlen("3600") + strlen("1900000000"));
        assert_null(strstr(reply, "expires_in"));
        assert_non_null(strstr(reply, "\"expires_at\":"));
        cv_free_wiped(reply, (size_t) -1);

        /* One byte over, as sent: too large, and nothing stored. */
        char *over = response_of_size(RESPONSE_SIZE_MAX + 1, "\"access_token\":\"a\",\"token_type\":\"Bearer\","
                                                             "\"expires_in\":0");
        assert_int_equal(cv_token_put_response(c, "edge", "over", over, NULL), -EMSGSIZE);
        assert_string_equal(cv_client_error_code(c), "too_large");
        assert_non_null(strstr(cv_client_error_message(c), "over 49152 bytes as JSON"));
        assert_int_equal(listed_expires_at("edge", "over", st), -1);
        free(at_limit);
        free(hour);
        free(over);
}

/* A response within the limit whose set would grow past it only with the
 * previous refresh token carried over: too_large, saying so, and the
 * previous set stays. A response with its own refresh token is not told
 * about one carried over. */
static void test_too_large_only_with_kept_refresh_token(void **state) {
        (void) state;
        static char rt[CV_TOKEN_SECRET_SIZE_MAX + 1];
        char members[CV_TOKEN_SECRET_SIZE_MAX + 128];
        CvToken *out = NULL;

        memset(rt, 'r', CV_TOKEN_SECRET_SIZE_MAX);
        CvToken first = { .access_token = "a1", .token_type = "Bearer", .refresh_token = rt, .expires_at = -1 };
        assert_int_equal(cv_token_put(c, "edge", "kept", &first, NULL), 0);

        char *big = response_of_size(RESPONSE_SIZE_MAX, "\"access_token\":\"a2\",\"token_type\":\"Bearer\"");
        assert_int_equal(cv_token_put_response(c, "edge", "kept", big, NULL), -EMSGSIZE);
        assert_string_equal(cv_client_error_code(c), "too_large");
        assert_non_null(strstr(cv_client_error_message(c), "previous refresh_token kept"));
        assert_int_equal(cv_token_get(c, "edge", "kept", &out), 0);
        assert_string_equal(out->access_token, "a1");
        assert_int_equal(out->version, 1);
        cv_token_free(out);

        /* With a refresh token of its own nothing is carried over. */
        snprintf(members, sizeof(members), "\"access_token\":\"a3\",\"token_type\":\"Bearer\",\"refresh_token\":\"%s\"",
                 rt);
        char *own = response_of_size(RESPONSE_SIZE_MAX, members);
        assert_int_equal(cv_token_put_response(c, "edge", "kept", own, NULL), 0);
        assert_int_equal(cv_token_get(c, "edge", "kept", &out), 0);
        assert_string_equal(out->access_token, "a3");
        assert_int_equal(out->version, 2);
        cv_token_free(out);
        free(big);
        free(own);
}

static void test_delete(void **state) {
        (void) state;
        CvToken in = { .access_token = "a", .token_type = "Bearer", .expires_at = -1 };
        CvToken *out = NULL;
        assert_int_equal(cv_token_put(c, "todo", "leaving", &in, NULL), 0);
        assert_int_equal(cv_token_delete(c, "todo", "leaving"), 0);
        assert_int_equal(cv_token_get(c, "todo", "leaving", &out), -ENOENT);
        assert_int_equal(cv_token_delete(c, "todo", "leaving"), -ENOENT);
        /* Tokens and secrets are separate namespaces. */
        assert_int_equal(cv_secret_put(c, "todo", "leaving", "x", 1, NULL), 0);
        assert_int_equal(cv_token_get(c, "todo", "leaving", &out), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_all_fields),
                cmocka_unit_test(test_maximal_sizes),
                cmocka_unit_test(test_unicode_user_ids),
                cmocka_unit_test(test_list_shows_no_tokens),
                cmocka_unit_test(test_response_at_the_size_limit),
                cmocka_unit_test(test_too_large_only_with_kept_refresh_token),
                cmocka_unit_test(test_delete),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
