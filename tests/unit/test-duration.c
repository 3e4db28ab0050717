/* test-duration.c — client/cli/duration.c: spans as systemd writes them.
 *
 * The accepted and refused forms are those of systemd's own tests of
 * parse_sec() (src/test/test-time-util.c) and the examples of
 * systemd.time(7), less "infinity", which no option of ours takes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

#define SEC UINT64_C(1000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define MONTH (2629800 * SEC)
#define YEAR (31557600 * SEC)

static void expect_usec(const char *s, uint64_t want) {
        uint64_t v = 7;
        int r = duration_parse_usec(s, &v);
        if (r != 0 || v != want)
                fail_msg("'%s': r=%d v=%llu, expected %llu", s, r, (unsigned long long) v, (unsigned long long) want);
}

static void expect_error(const char *s, int want) {
        uint64_t v = 7;
        int r = duration_parse_usec(s, &v);
        if (r != want)
                fail_msg("'%s': r=%d, expected %d", s, r, want);
        assert_true(v == 7); /* untouched on failure */
}

static void test_systemd_examples(void **state) {
        (void) state;
        /* systemd.time(7) */
        expect_usec("2 h", 2 * HOUR);
        expect_usec("2hours", 2 * HOUR);
        expect_usec("48hr", 48 * HOUR);
        expect_usec("1y 12month", YEAR + 12 * MONTH);
        expect_usec("55s500ms", 55 * SEC + 500000);
        expect_usec("300ms20s 5day", 300000 + 20 * SEC + 5 * DAY);
        /* systemd's test_parse_sec() */
        expect_usec("5s", 5 * SEC);
        expect_usec("5s500ms", 5 * SEC + 500000);
        expect_usec(" 5s 500ms  ", 5 * SEC + 500000);
        expect_usec(" 5.5s  ", 5 * SEC + 500000);
        expect_usec(" 5.5s 0.5ms ", 5 * SEC + 500500);
        expect_usec(" .22s ", 220000);
        expect_usec(" .50y ", YEAR / 2);
        expect_usec("2.5", 2500000);
        expect_usec(".7", 700000);
        expect_usec("23us", 23);
        expect_usec("23\xce\xbcs", 23);
        expect_usec("23\xc2\xb5s", 23);
        expect_usec("3.02", 3020000);
        expect_usec("4.000", 4 * SEC);
        expect_usec("0.1234567s", 123456); /* below a microsecond: dropped */
        /* the issue's */
        expect_usec("1h30m", HOUR + 30 * MINUTE);
        expect_usec("2w", 14 * DAY);
        expect_usec("90s", 90 * SEC);
        expect_usec("1d 2h", DAY + 2 * HOUR);
        expect_usec("1.5h", HOUR + 30 * MINUTE);
        expect_usec("300", 300 * SEC);
        expect_usec("0", 0);
}

static void test_every_unit(void **state) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "us", 1 },         { "usec", 1 },        { "ms", 1000 },       { "msec", 1000 },
                { "s", SEC },        { "sec", SEC },       { "second", SEC },    { "seconds", SEC },
                { "m", MINUTE },     { "min", MINUTE },    { "minute", MINUTE }, { "minutes", MINUTE },
                { "h", HOUR },       { "hr", HOUR },       { "hour", HOUR },     { "hours", HOUR },
                { "d", DAY },        { "day", DAY },       { "days", DAY },      { "w", 7 * DAY },
                { "week", 7 * DAY }, { "weeks", 7 * DAY }, { "M", MONTH },       { "month", MONTH },
                { "months", MONTH }, { "y", YEAR },        { "year", YEAR },     { "years", YEAR },
        };
        char s[32];
        (void) state;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                strcpy(s, "3");
                strcat(s, units[i].unit);
                expect_usec(s, 3 * units[i].usec);
                strcpy(s, "3 ");
                strcat(s, units[i].unit);
                expect_usec(s, 3 * units[i].usec);
        }
        /* Case matters: M a month, m a minute. */
        expect_usec("1M", MONTH);
        expect_usec("1m", MINUTE);
}

static void test_systemd_errors(void **state) {
        (void) state;
        /* systemd's test_parse_sec(): all refused */
        const char *bad[] = {
                " xyz ",
                "",
                " . ",
                " 5. ",
                ".s ",
                "3.+1s",
                "3. 1s",
                "3.s",
                "12.34.56",
                "12..34",
                "..1234",
                "1234..",
                "0.-0s ",
                "3.-0s ",
                "infinity",
                " infinity .7",
                ".3 infinity",
                /* ours */
                "   ",
                "5x",
                "1h30x",
                "h",
                "s5",
                "1.5.3s",
                "0x10",
                "1e3",
                "5 mo",
                "1hh",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_error(bad[i], -EINVAL);
        /* A sign: systemd says -ERANGE for a negative span. */
        expect_error("-5s ", -ERANGE);
        expect_error("-0.3s ", -ERANGE);
        expect_error("-0.0s ", -ERANGE);
        expect_error("1h -5m", -ERANGE);
        expect_error("+5s", -EINVAL);
}

static void test_overflow(void **state) {
        (void) state;
        expect_usec("18446744073709551615us", UINT64_MAX);
        expect_error("18446744073709551616us", -ERANGE);
        expect_error("99999999999999999999999s", -ERANGE);
        expect_error("18446744073709551615s", -ERANGE);
        expect_error("600000y", -ERANGE);
        expect_error("18446744073709551615us 1us", -ERANGE);
        expect_usec("584000y", 584000 * YEAR);
}

static void test_seconds(void **state) {
        int64_t v = 7;
        (void) state;
        assert_int_equal(cli_duration_parse("1h30m", INT32_MAX, &v), 0);
        assert_true(v == 5400);
        assert_int_equal(cli_duration_parse("1.5h", INT32_MAX, &v), 0);
        assert_true(v == 5400);
        assert_int_equal(cli_duration_parse("1500ms", INT32_MAX, &v), -EDOM);
        assert_int_equal(cli_duration_parse("367d", 366 * 86400, &v), -ERANGE);
        assert_int_equal(cli_duration_parse("366d", 366 * 86400, &v), 0);
        assert_true(v == 366 * 86400);
        assert_int_equal(cli_duration_parse("2w", INT32_MAX, &v), 0);
        assert_true(v == 14 * 86400);
        assert_int_equal(cli_duration_parse("nope", INT32_MAX, &v), -EINVAL);
        assert_true(v == 14 * 86400);
}

static void test_format(void **state) {
        char buf[CLI_DURATION_SIZE];
        (void) state;
        assert_string_equal(cli_duration_format(300, buf), "5m");
        assert_string_equal(cli_duration_format(90, buf), "90s");
        assert_string_equal(cli_duration_format(7200, buf), "2h");
        assert_string_equal(cli_duration_format(86400 * 3, buf), "3d");
        assert_string_equal(cli_duration_format(0, buf), "0s");
        /* What is printed parses back to the same span. */
        int64_t v;
        for (int64_t sec = 0; sec < 200000; sec += 37) {
                assert_int_equal(cli_duration_parse(cli_duration_format(sec, buf), INT32_MAX, &v), 0);
                assert_true(v == sec);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_systemd_examples), cmocka_unit_test(test_every_unit),
                cmocka_unit_test(test_systemd_errors),   cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_seconds),          cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
