/* test-e2e-secret.c — secrets end to end: the real daemon, the real library.
 *
 * Values of every size up to the limit, binary and text, round-trip
 * byte-exact; versions count up; list shows metadata only and pages; a
 * restart keeps everything; over-limit and malformed arguments fail with
 * the documented errors and change nothing. */
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

static int group_setup(void **state) {
        (void) state;
        return harness_start(&h) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

static CvClient *connect_client(void) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        return c;
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) ((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

static void test_round_trip_every_size(void **state) {
        (void) state;
        CvClient *c = connect_client();
        static uint8_t value[CV_SECRET_VALUE_SIZE_MAX];
        const size_t sizes[] = { 0, 1, 2, 3, 4, 31, 32, 33, 255, 256, 1000, 4095, 4096, 4097, 16384, 32767, 32768 };

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                char name[32];
                CvSecret *s = NULL;
                int64_t version = 0;

                snprintf(name, sizeof(name), "size-%zu", sizes[i]);
                fill(value, sizes[i], (unsigned) i);
                assert_int_equal(cv_secret_put(c, "sizes", name, value, sizes[i], &version), 0);
                assert_int_equal(version, 1);
                assert_int_equal(cv_secret_get(c, "sizes", name, &s), 0);
                assert_int_equal(s->value_size, sizes[i]);
                if (sizes[i] > 0)
                        assert_memory_equal(s->value, value, sizes[i]);
                assert_int_equal(s->value[s->value_size], 0);
                assert_int_equal(s->version, 1);
                cv_secret_free(s);
        }
        cv_client_free(c);
}

static void test_versions_and_overwrite(void **state) {
        (void) state;
        CvClient *c = connect_client();
        CvSecret *s = NULL;
        int64_t v = 0;

        assert_int_equal(cv_secret_put(c, "todo", "client_secret", "first", 5, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cv_secret_put(c, "todo", "client_secret", "second value", 12, &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cv_secret_get(c, "todo", "client_secret", &s), 0);
        assert_int_equal(s->value_size, 12);
        assert_memory_equal(s->value, "second value", 12);
        assert_int_equal(s->version, 2);
        assert_true(s->created <= s->updated);
        cv_secret_free(s);
        cv_client_free(c);
}

static void test_not_found_and_delete(void **state) {
        (void) state;
        CvClient *c = connect_client();
        CvSecret *s = NULL;

        assert_int_equal(cv_secret_get(c, "todo", "missing", &s), -ENOENT);
        assert_string_equal(cv_client_error_code(c), "not_found");
        assert_int_equal(cv_secret_put(c, "todo", "doomed", "x", 1, NULL), 0);
        assert_int_equal(cv_secret_delete(c, "todo", "doomed"), 0);
        assert_int_equal(cv_secret_get(c, "todo", "doomed", &s), -ENOENT);
        assert_int_equal(cv_secret_delete(c, "todo", "doomed"), -ENOENT);
        cv_client_free(c);
}

static void test_bad_arguments_change_nothing(void **state) {
        (void) state;
        CvClient *c = connect_client();
        static uint8_t big[CV_SECRET_VALUE_SIZE_MAX + 1];
        CvHealth before, after;

        assert_int_equal(cv_health(c, &before), 0);
        assert_int_equal(cv_secret_put(c, "todo", "big", big, sizeof(big), NULL), -EMSGSIZE);
        assert_int_equal(cv_secret_put(c, "bad/plugin", "x", "v", 1, NULL), -EINVAL);
        assert_int_equal(cv_secret_put(c, "todo", "", "v", 1, NULL), -EINVAL);
        assert_int_equal(cv_secret_put(c, "todo", "spa ce", "v", 1, NULL), -EINVAL);

        /* The same mistakes sent raw reach the daemon and are refused there. */
        char *reply = NULL;
        assert_true(cv_call_json(c, "{\"op\":\"secret.put\",\"plugin\":\"todo\",\"name\":\"x\",\"value\":17}", &reply) >
                    0);
        assert_non_null(strstr(reply, "\"bad_request\""));
        cv_free_wiped(reply, (size_t) -1);
        assert_true(cv_call_json(c,
                                 "{\"op\":\"secret.put\",\"plugin\":\"todo\",\"name\":\"x\",\"value\":\"not base64!\"}",
                                 &reply) > 0);
        assert_non_null(strstr(reply, "\"bad_request\""));
        assert_non_null(strstr(reply, "value"));
        cv_free_wiped(reply, (size_t) -1);

        assert_int_equal(cv_health(c, &after), 0);
        assert_int_equal(after.secrets, before.secrets);
        cv_client_free(c);
}

static void test_list_pages_and_metadata_only(void **state) {
        (void) state;
        CvClient *c = connect_client();
        CvSecretInfo *items = NULL;
        char name[32];

        /* More than one page (LIST_PAGE_MAX is 100). */
        for (int i = 0; i < 250; i++) {
                snprintf(name, sizeof(name), "k%03d", i);
                assert_int_equal(cv_secret_put(c, "lister", name, "v", 1, NULL), 0);
        }
        int n = cv_secret_list(c, "lister", &items);
        assert_int_equal(n, 250);
        for (int i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "k%03d", i);
                assert_string_equal(items[i].plugin, "lister");
                assert_string_equal(items[i].name, name);
                assert_int_equal(items[i].version, 1);
        }
        cv_secret_info_free(items, (size_t) n);

        n = cv_secret_list(c, NULL, &items);
        assert_true(n >= 250);
        cv_secret_info_free(items, (size_t) n);
        cv_client_free(c);
}

static void test_restart_keeps_everything(void **state) {
        (void) state;
        CvClient *c = connect_client();
        CvSecret *s = NULL;

        assert_int_equal(cv_secret_put(c, "durable", "after-restart", "kept", 4, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);

        c = connect_client();
        assert_int_equal(cv_secret_get(c, "durable", "after-restart", &s), 0);
        assert_memory_equal(s->value, "kept", 4);
        cv_secret_free(s);
        cv_client_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_every_size),
                cmocka_unit_test(test_versions_and_overwrite),
                cmocka_unit_test(test_not_found_and_delete),
                cmocka_unit_test(test_bad_arguments_change_nothing),
                cmocka_unit_test(test_list_pages_and_metadata_only),
                cmocka_unit_test(test_restart_keeps_everything),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
