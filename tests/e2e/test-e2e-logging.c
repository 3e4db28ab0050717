/* test-e2e-logging.c — what the daemon writes to stderr, and that writing
 * it never stops the daemon.
 *
 * Events that never reach a handler still leave an audit record: a
 * connection refused over a cap, an empty frame, a frame declared over the
 * size limit. A log reader that stops reading (stderr a pipe nobody reads)
 * costs log lines, counted and reported once the reader catches up, and
 * never a request; a flood of failing requests cannot make it cost the
 * records of another client's successful reads. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "credvault.h"
#include "harness.h"

#define TIMEOUT_MS 5000

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of the daemon's log that holds every one of the needles
 * (NULL-terminated); waits up to TIMEOUT_MS for it. Returns a malloc'd
 * copy of the line, or NULL. */
static char *log_line_with(const Harness *h, const char *const *needles) {
        for (long deadline = now_ms() + TIMEOUT_MS * harness_time_scale(); now_ms() < deadline; usleep(20000)) {
                char *log = NULL, *found = NULL;
                size_t size;
                if (harness_read_file(h->log_file, &log, &size) < 0)
                        continue;
                log[size] = '\0';
                for (char *save = NULL, *line = strtok_r(log, "\n", &save); line && !found;
                     line = strtok_r(NULL, "\n", &save)) {
                        bool all = true;
                        for (const char *const *n = needles; *n && all; n++)
                                all = strstr(line, *n) != NULL;
                        if (all)
                                found = strdup(line);
                }
                free(log);
                if (found)
                        return found;
        }
        return NULL;
}

#define ASSERT_LOGGED(h, ...)                                                                                          \
        do {                                                                                                           \
                const char *const needles_[] = { __VA_ARGS__, NULL };                                                  \
                char *line_ = log_line_with(h, needles_);                                                              \
                if (!line_)                                                                                            \
                        fail_msg("no log line with %s (log: %s)", needles_[0], (h)->log_file);                         \
                free(line_);                                                                                           \
        } while (0)

static void uid_field(char *buf, size_t size) {
        snprintf(buf, size, " uid=%u ", (unsigned) getuid());
}

/* Frames that cannot be cut are answered by dispatch without a request:
 * each still leaves an audit record naming the caller and the result. */
static void test_bad_frames_are_audited(void **state) {
        (void) state;
        Harness h = {};
        const unsigned char oversized[4] = { 0x00, 0x01, 0x00, 0x01 }; /* 65537 */
        char *reply = NULL, uid[32];

        uid_field(uid, sizeof(uid));
        assert_int_equal(harness_start(&h), 0);

        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_send_frame(fd, "", 0), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"bad_request\""));
        free(reply);
        ASSERT_LOGGED(&h, "audit op=frame", uid, "result=bad_request");

        assert_int_equal(harness_send_raw(fd, oversized, sizeof(oversized)), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"too_large\""));
        free(reply);
        assert_true(harness_wait_closed(fd, TIMEOUT_MS));
        close(fd);
        ASSERT_LOGGED(&h, "audit op=frame", uid, "result=too_large");

        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* A registration that names its plugin only in the manifest is audited
 * under that name, so every access to a plugin can be found by it. */
static void test_register_audited_under_manifest_name(void **state) {
        (void) state;
        Harness h = {};
        static const char request[] =
                "{\"v\":1,\"id\":1,\"op\":\"plugin.register\",\"manifest\":{\"name_for_model\":\"todo\","
                "\"auth\":{\"type\":\"none\"}}}";
        char *reply = NULL;

        assert_int_equal(harness_start(&h), 0);
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_send_frame(fd, request, sizeof(request) - 1), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        close(fd);
        ASSERT_LOGGED(&h, "audit op=plugin.register plugin=todo ", "result=ok");
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* A connection refused at the cap, overall or for its uid, is audited
 * with the reason, though no request was read from it. */
static void test_refused_connections_are_audited(void **state) {
        (void) state;
        Harness h = { .extra_args = { "--max-connections", "2", "--max-connections-per-uid", "1", NULL } };
        CvClient *c = NULL;
        CvHealth health;
        char *reply = NULL, uid[32];

        uid_field(uid, sizeof(uid));
        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);

        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"unavailable\""));
        free(reply);
        close(fd);
        ASSERT_LOGGED(&h, "audit op=connect", "object=too%20many%20connections", uid, "result=unavailable");

        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

#define STALLED_REQUESTS 20000

/* stderr is a pipe nobody reads: its 64 KiB fill after a few hundred
 * audit lines. Every request is still answered at once; the lines that
 * did not fit are dropped, and once the reader drains the pipe the daemon
 * says how many. */
static void test_stalled_log_reader_blocks_nothing(void **state) {
        (void) state;
        Harness h = { .stderr_stalled = true };
        CvClient *c = NULL;
        CvSecret *s = NULL;
        int n = STALLED_REQUESTS / harness_time_scale(), failures = 0;
        char last_error[160] = "";

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &c), 0);
        long t0 = now_ms();
        for (int i = 0; i < n; i++) {
                /* Writes are audited at once, reads in batches: both. */
                int r = i % 10 == 0 ? cv_secret_put(c, "stall", "s", &i, sizeof(i), NULL)
                                    : cv_secret_get(c, "stall", "s", &s);
                if (r < 0) {
                        failures++;
                        snprintf(last_error, sizeof(last_error), "request %d: %s", i, cv_client_error_message(c));
                        if (r == -ETIMEDOUT)
                                break;
                }
                cv_secret_free(s);
                s = NULL;
        }
        long elapsed = now_ms() - t0;
        print_message("%d requests with stderr blocked: %d failures in %ld ms\n", n, failures, elapsed);
        if (failures)
                fail_msg("%d of %d requests failed, last: %s", failures, n, last_error);
        assert_true(elapsed < 30000L * harness_time_scale());
        cv_client_free(c);

        /* The reader comes back: the daemon writes what it kept, then how
         * many lines it dropped. */
        static char drained[1 << 20];
        size_t got = 0;
        const char *note = NULL;
        for (long deadline = now_ms() + TIMEOUT_MS * harness_time_scale(); !note && now_ms() < deadline;) {
                struct pollfd p = { .fd = h.stderr_reader, .events = POLLIN };
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t k = read(h.stderr_reader, drained + got, sizeof(drained) - 1 - got);
                if (k <= 0)
                        break;
                got += (size_t) k;
                drained[got] = '\0';
                note = strstr(drained, "log lines dropped");
                if (!note && got > sizeof(drained) / 2) { /* keep the tail only */
                        memmove(drained, drained + got / 2, got - got / 2);
                        got -= got / 2;
                }
        }
        if (!note)
                fail_msg("no 'log lines dropped' note after the reader came back");
        while (note > drained && note[-1] != '\n')
                note--;
        print_message("%.*s\n", (int) strcspn(note, "\n"), note);

        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* Read the stalled stderr pipe until a line holding `until` has come, or
 * TIMEOUT_MS pass; returns all that was read (malloc'd, NUL-terminated). */
static char *drain_until(const Harness *h, const char *until) {
        size_t size = 4 << 20, got = 0;
        char *drained = malloc(size);
        assert_non_null(drained);
        drained[0] = '\0';
        for (long deadline = now_ms() + TIMEOUT_MS * harness_time_scale();
             !strstr(drained, until) && now_ms() < deadline && got < size - 1;) {
                struct pollfd p = { .fd = h->stderr_reader, .events = POLLIN };
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t k = read(h->stderr_reader, drained + got, size - 1 - got);
                if (k <= 0)
                        break;
                got += (size_t) k;
                drained[got] = '\0';
        }
        return drained;
}

#define FLOOD_REQUESTS 4000
#define REVEALS_OVER_RESERVE 400

/* One client floods the daemon with cheap failing requests while stderr
 * is not read, so the log queue is full of their records; another
 * client's successful secret.get then still has its audit record written
 * once the reader drains (the queue's reserve, log.h), ahead of the note
 * on dropped lines. Records of successful reads past the reserve too are
 * reported apart, as lost audit records. */
static void test_flood_of_failures_keeps_reveal_records(void **state) {
        (void) state;
        Harness h = { .stderr_stalled = true };
        CvClient *flooder = NULL, *reader = NULL;
        CvSecret *s = NULL;
        char uid[32];

        uid_field(uid, sizeof(uid));
        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &flooder), 0);
        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &reader), 0);
        assert_int_equal(cv_secret_put(reader, "victim-plugin", "revealed-secret", "v", 1, NULL), 0);
        /* Enough failures to fill the pipe (64 KiB) and the queue (64
         * KiB) many times over: each record is about 100 bytes. */
        for (int i = 0; i < FLOOD_REQUESTS; i++)
                assert_int_equal(cv_secret_get(flooder, "nope", "x", &s), -ENOENT);
        assert_int_equal(cv_secret_get(reader, "victim-plugin", "revealed-secret", &s), 0);
        cv_secret_free(s);
        s = NULL;

        char *drained = drain_until(&h, "log lines dropped");
        char *hidden = strstr(drained, "audit op=secret.get plugin=victim-plugin object=revealed-secret");
        char *note = strstr(drained, "log lines dropped");
        if (!note)
                fail_msg("no 'log lines dropped' note after the reader came back");
        if (!hidden || hidden > note)
                fail_msg("the successful secret.get's audit record was dropped under the flood");
        assert_non_null(strstr(hidden, "result=ok revealed=yes"));
        assert_null(strstr(drained, "AUDIT RECORDS LOST"));
        free(drained);

        /* The pipe is drained: fill it and the queue again, then reveal more
         * than the reserve holds. */
        for (int i = 0; i < FLOOD_REQUESTS; i++)
                assert_int_equal(cv_secret_get(flooder, "nope", "x", &s), -ENOENT);
        for (int i = 0; i < REVEALS_OVER_RESERVE; i++) {
                assert_int_equal(cv_secret_get(reader, "victim-plugin", "revealed-secret", &s), 0);
                cv_secret_free(s);
                s = NULL;
        }
        drained = drain_until(&h, "log lines dropped");
        note = strstr(drained, "AUDIT RECORDS LOST: ");
        if (!note)
                fail_msg("no note on lost audit records of successful reads");
        print_message("%.*s\n", (int) strcspn(note, "\n"), note);
        assert_non_null(strstr(note, "audit records of successful reads/writes dropped"));
        free(drained);

        cv_client_free(flooder);
        cv_client_free(reader);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

#define FSIZE_LIMIT (64 * 1024 * 1024)
/* What is left of the limit in the log file when the flood starts. */
#define LOG_ROOM (8 * 1024)

/* stderr a regular file whose writes start failing (EFBIG past the file
 * size limit, as ENOSPC on a full disk): the lines lost are counted, and
 * once writes succeed again (the file emptied) a note says how many and
 * why. The limit is the daemon's for every file, its database too, which
 * every request now adds an audit record to: so the limit is large, and
 * the log file is grown (sparse) to just below it first. */
static void test_failed_log_writes_are_counted(void **state) {
        (void) state;
        Harness h = { .fsize_limit = FSIZE_LIMIT };
        CvClient *c = NULL;
        CvSecret *s = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &c), 0);
        assert_int_equal(cv_secret_put(c, "full", "s", "v", 1, NULL), 0);
        /* The daemon's stderr appends (O_APPEND): its lines land past
         * this. */
        assert_int_equal(truncate(h.log_file, FSIZE_LIMIT - LOG_ROOM), 0);
        /* Failures are written at once, a line per write: some 100 bytes
         * each, so the file reaches its limit well before the end. */
        for (int i = 0; i < 2 * LOG_ROOM / 100; i++)
                assert_int_equal(cv_secret_get(c, "full", "nope", &s), -ENOENT);
        assert_int_equal(truncate(h.log_file, 0), 0);
        ASSERT_LOGGED(&h, "log lines dropped: writing stderr failed: File too large");
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_frames_are_audited),
                cmocka_unit_test(test_register_audited_under_manifest_name),
                cmocka_unit_test(test_refused_connections_are_audited),
                cmocka_unit_test(test_stalled_log_reader_blocks_nothing),
                cmocka_unit_test(test_flood_of_failures_keeps_reveal_records),
                cmocka_unit_test(test_failed_log_writes_are_counted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
