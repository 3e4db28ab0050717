/* test-e2e-token.c — user OAuth token sets end to end.
 *
 * A token set of every field, and one of maximal sizes, round-trips through
 * the real daemon and library; list shows users and expiry but no token;
 * invalid sets are refused and change nothing; delete removes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                cmocka_unit_test(test_delete),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
