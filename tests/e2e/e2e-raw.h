/* e2e-raw.h — what the end-to-end tests that speak raw frames share:
 * daemons that a failed test still stops, one request in, its reply
 * parsed, and the clock. Header-only: each test is one program. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

#ifndef TIMEOUT_MS
#define TIMEOUT_MS 5000
#endif

static inline long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The daemons a test starts, in static storage: teardown() stops and
 * removes them, and cmocka runs it after a failed test too, so no daemon
 * or directory outlives the test. */
#define DAEMONS_MAX 2
static Harness daemons[DAEMONS_MAX];
static size_t n_daemons;

static inline Harness *daemon_new(const Harness *init) {
        assert_true(n_daemons < DAEMONS_MAX);
        daemons[n_daemons] = *init;
        return &daemons[n_daemons++];
}

static inline int teardown(void **state) {
        (void) state;
        for (size_t i = 0; i < n_daemons; i++) {
                harness_cleanup(&daemons[i]);
                memset(&daemons[i], 0, sizeof(daemons[i]));
        }
        n_daemons = 0;
        return 0;
}

/* ---- requests on raw connections ---- */

/* Send {"v":1,"id":1,<members>} on fd and parse the reply; fails the test
 * if there is no reply or it is not a JSON object. *ret_text, if given,
 * gets the reply's text (malloc'd). */
static inline json_t *call_text(int fd, const char *members, char **ret_text) {
        char request[4096], *reply = NULL;
        json_error_t error;

        snprintf(request, sizeof(request), "{\"v\":1,\"id\":1,%s}", members);
        int r = harness_call(fd, request, TIMEOUT_MS * harness_time_scale(), &reply);
        if (r < 0)
                fail_msg("%s: no reply: %s", request, strerror(-r));
        json_t *j = json_loads(reply, 0, &error);
        if (!json_is_object(j))
                fail_msg("%s: reply is not a JSON object: %s", request, reply);
        if (ret_text)
                *ret_text = reply;
        else
                free(reply);
        return j;
}

static inline json_t *call(int fd, const char *members) {
        return call_text(fd, members, NULL);
}

static inline const char *error_code(const json_t *reply) {
        return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static inline const char *error_message(const json_t *reply) {
        return json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
}

/* The request must succeed; returns the reply (json_decref() it). */
static inline json_t *expect_ok(int fd, const char *members) {
        char *text = NULL;
        json_t *j = call_text(fd, members, &text);
        if (!json_is_true(json_object_get(j, "ok")))
                fail_msg("{%s}: want ok, got %s", members, text);
        free(text);
        return j;
}

static inline void expect_ok_free(int fd, const char *members) {
        json_decref(expect_ok(fd, members));
}
