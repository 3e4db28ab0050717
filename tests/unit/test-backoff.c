/* test-backoff.c — the retry schedule of failing background work
 * (daemon/net/backoff.c).
 *
 * Shows: the delays are 1, 2, 4, ... s up to 60 s and stay there, for
 * any count; a run of failures at one per second writes its first line,
 * then none for ten minutes, then one that counts those not written; a
 * success ends the run (saying how long it was) and the next failure
 * starts again at 1 s and is logged at once. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_schedule(void **state) {
        const uint64_t expected[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60 };
        (void) state;

        for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
                assert_int_equal(backoff_delay_usec(i + 1), expected[i] * USEC_PER_SEC);
        assert_int_equal(backoff_delay_usec(64), BACKOFF_MAX_USEC);
        assert_int_equal(backoff_delay_usec(UINT_MAX), BACKOFF_MAX_USEC);
}

/* Failures in a row, each attempt at the delay the last one asked for:
 * what a daemon whose sweep always fails does. */
static void test_failures_back_off_and_log_rarely(void **state) {
        Backoff b = {};
        uint64_t now = 1000 * USEC_PER_SEC, first = now;
        unsigned logged = 0, unlogged = 0, attempts = 0;
        bool log = false;
        (void) state;

        /* An hour of failures. */
        while (now < first + 3600 * USEC_PER_SEC) {
                uint64_t delay = backoff_failed(&b, now, &log, &unlogged);
                attempts++;
                assert_int_equal(delay, backoff_delay_usec(attempts));
                if (attempts == 1) {
                        assert_true(log);
                        assert_int_equal(unlogged, 0);
                }
                if (log) {
                        logged++;
                        if (attempts > 1)
                                assert_true(unlogged > 0);
                }
                now += delay;
        }
        /* 1+2+...+32 = 63 s, then one a minute: 6 + 59 attempts; lines at
         * 0 and every ten minutes after: 6 or 7. */
        assert_in_range(attempts, 60, 70);
        assert_in_range(logged, 6, 7);
        assert_int_equal(b.failures, attempts);

        /* A success ends the run, and says how long it was. */
        assert_int_equal(backoff_succeeded(&b), attempts);
        assert_int_equal(backoff_succeeded(&b), 0);
        /* The next failure starts again at 1 s, and is said at once. */
        assert_int_equal(backoff_failed(&b, now, &log, &unlogged), BACKOFF_FIRST_USEC);
        assert_true(log);
        assert_int_equal(unlogged, 0);
}

/* The lines of a run count every failure: the ones said plus those in
 * between. */
static void test_unlogged_count(void **state) {
        Backoff b = {};
        unsigned total = 0, unlogged = 0;
        bool log = false;
        uint64_t now = 0;
        (void) state;

        for (int i = 0; i < 1000; i++) {
                (void) backoff_failed(&b, now, &log, &unlogged);
                if (log)
                        total += 1 + unlogged;
                now += USEC_PER_SEC; /* faster than the schedule: the count still holds */
        }
        /* The ones after the last line are not counted yet. */
        assert_int_equal(total + b.unlogged, 1000);
        assert_int_equal(b.failures, 1000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_schedule),
                cmocka_unit_test(test_failures_back_off_and_log_rarely),
                cmocka_unit_test(test_unlogged_count),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
