/* test-parse-util.c — common/parse-util.c: strict decimal parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "parse-util.h"

static void test_accepts_digits_in_range(void **state) {
        int64_t v = -1;
        int i = -1;
        (void) state;
        assert_int_equal(parse_int64("0", 0, 10, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_int64("9223372036854775807", 0, INT64_MAX, &v), 0);
        assert_true(v == INT64_MAX);
        assert_int_equal(parse_int("0042", 1, 100, &i), 0);
        assert_int_equal(i, 42);
}

static void test_refuses_what_strtol_would_take(void **state) {
        const char *bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3", "12a", "a12", "1.0" };
        int64_t v = 7;
        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(parse_int64(bad[i], INT64_MIN, INT64_MAX, &v), -EINVAL);
                assert_true(v == 7); /* untouched on failure */
        }
}

static void test_range_and_overflow(void **state) {
        int64_t v = 7;
        int i = 7;
        (void) state;
        assert_int_equal(parse_int64("9223372036854775808", 0, INT64_MAX, &v), -ERANGE);
        assert_int_equal(parse_int64("99999999999999999999999", 0, INT64_MAX, &v), -ERANGE);
        assert_int_equal(parse_int64("11", 0, 10, &v), -ERANGE);
        assert_int_equal(parse_int64("0", 1, 10, &v), -ERANGE);
        assert_int_equal(parse_int("2147483648", 0, 2147483647, &i), -ERANGE);
        assert_true(v == 7);
        assert_int_equal(i, 7);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepts_digits_in_range),
                cmocka_unit_test(test_refuses_what_strtol_would_take),
                cmocka_unit_test(test_range_and_overflow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
