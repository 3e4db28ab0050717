/* test-e2e-group.c — group commit: writes that come together share one
 * commit, each is answered only once it is durable, and one that fails
 * fails alone.
 *
 * To make writes come together without a race, the test stops the daemon
 * (SIGSTOP), sends one request on each of several connections, and lets
 * it go on (SIGCONT): the loop then finds every socket readable at once.
 * health's write_groups counts the commits and the writes in them. A
 * group whose commit fails (a full disk) is test-e2e-faults.c's. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#define PLUGIN "group"
#define N_CONN 8

typedef struct Groups {
        int64_t commits, writes, failed;
} Groups;

static Groups groups_of(CvClient *c) {
        char *text = NULL;
        assert_int_equal(cv_health_json(c, &text), 0);
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        Groups g = {};
        if (json_unpack(j, "{s:{s:I, s:I, s:I}}", "write_groups", "commits", &g.commits, "writes", &g.writes, "failed",
                        &g.failed) < 0)
                fail_msg("health has no write_groups: %s", text);
        json_decref(j);
        free(text);
        return g;
}

/* N_CONN connections, each accepted and served once already. */
static void connect_all(const Harness *h, int fds[static N_CONN]) {
        for (int i = 0; i < N_CONN; i++) {
                char *reply = NULL;
                fds[i] = harness_connect_raw(h);
                assert_true(fds[i] >= 0);
                assert_int_equal(harness_call(fds[i], "{\"v\":1,\"id\":1,\"op\":\"health\"}", 5000, &reply), 0);
                free(reply);
        }
}

/* requests[i] on fds[i], all sent while the daemon is stopped; the
 * replies, parsed, in replies[]. */
static void send_together(const Harness *h, int fds[static N_CONN], char *const requests[static N_CONN],
                          json_t *replies[static N_CONN]) {
        assert_int_equal(kill(h->pid, SIGSTOP), 0);
        for (int i = 0; i < N_CONN; i++)
                assert_int_equal(harness_send_frame(fds[i], requests[i], strlen(requests[i])), 0);
        assert_int_equal(kill(h->pid, SIGCONT), 0);
        for (int i = 0; i < N_CONN; i++) {
                char *body = NULL;
                assert_int_equal(harness_recv_frame(fds[i], 10000 * harness_time_scale(), &body), 0);
                replies[i] = json_loads(body, 0, NULL);
                assert_non_null(replies[i]);
                free(body);
        }
}

/* A test of requests sent together: its daemon, an admin client, the
 * connections, and what went over them. */
typedef struct Together {
        Harness h;
        CvClient *c;
        int fds[N_CONN];
        char *requests[N_CONN];
        json_t *replies[N_CONN];
} Together;

static void together_start(Together *t) {
        *t = (Together) {};
        assert_int_equal(harness_start(&t->h), 0);
        assert_int_equal(cv_client_new(t->h.socket_path, 5000, &t->c), 0);
        connect_all(&t->h, t->fds);
}

static void together_end(Together *t) {
        for (int i = 0; i < N_CONN; i++) {
                json_decref(t->replies[i]);
                free(t->requests[i]);
                close(t->fds[i]);
        }
        cv_client_free(t->c);
        assert_int_equal(harness_stop(&t->h), 0);
        harness_cleanup(&t->h);
}

/* secret.put of "grouped value I" (I < 8) as PLUGIN/name: base64 of the
 * 15 bytes is a fixed prefix and one character for the digit. */
static char *put_request(int i, const char *name) {
        char *req = NULL;
        assert_true(asprintf(&req,
                             "{\"v\":1,\"id\":%d,\"op\":\"secret.put\",\"plugin\":\"" PLUGIN
                             "\",\"name\":\"%s\",\"value\":\"Z3JvdXBlZCB2YWx1ZSA%c\"}",
                             i, name, "wxyz0123"[i]) > 0);
        return req;
}

static void assert_value(CvClient *c, const char *name, int i) {
        char want[32];
        CvSecret *s = NULL;
        int n = snprintf(want, sizeof(want), "grouped value %d", i);
        assert_int_equal(cv_secret_get(c, PLUGIN, name, &s), 0);
        assert_int_equal(s->value_size, (size_t) n);
        assert_memory_equal(s->value, want, (size_t) n);
        cv_secret_free(s);
}

static bool reply_ok(json_t *reply) {
        return json_is_true(json_object_get(reply, "ok"));
}

static const char *reply_code(json_t *reply) {
        return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* Eight writes that come together: one commit. A delete of a secret that
 * is not there fails alone (not_found), the others are made and read
 * back, each reply carries its own id. */
static void test_writes_together_share_one_commit(void **state) {
        (void) state;
        Together t;
        char name[32];

        together_start(&t);
        for (int i = 0; i < 6; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                t.requests[i] = put_request(i, name);
        }
        t.requests[6] =
                strdup("{\"v\":1,\"id\":6,\"op\":\"secret.delete\",\"plugin\":\"" PLUGIN "\",\"name\":\"missing\"}");
        t.requests[7] = strdup("{\"v\":1,\"id\":7,\"op\":\"secret.generate\",\"plugin\":\"" PLUGIN
                               "\",\"name\":\"generated\"}");
        Groups before = groups_of(t.c);
        send_together(&t.h, t.fds, t.requests, t.replies);
        Groups after = groups_of(t.c);

        for (int i = 0; i < N_CONN; i++)
                assert_int_equal(json_integer_value(json_object_get(t.replies[i], "id")), i);
        for (int i = 0; i < 6; i++) {
                assert_true(reply_ok(t.replies[i]));
                assert_int_equal(json_integer_value(json_object_get(t.replies[i], "version")), 1);
        }
        assert_false(reply_ok(t.replies[6]));
        assert_string_equal(reply_code(t.replies[6]), "not_found");
        assert_true(reply_ok(t.replies[7]));
        const char *generated = json_string_value(json_object_get(t.replies[7], "value"));
        assert_non_null(generated);

        /* One commit; two if the group's 2 ms bound cut it (a slow
         * sanitizer build under load). */
        if (after.commits - before.commits > 2 || after.writes != before.writes + N_CONN)
                fail_msg("8 writes together: want 1 commit of 8, got %lld commits of %lld writes",
                         (long long) (after.commits - before.commits), (long long) (after.writes - before.writes));
        assert_int_equal(after.failed, 0);

        for (int i = 0; i < 6; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                assert_value(t.c, name, i);
        }
        CvSecret *s = NULL;
        assert_int_equal(cv_secret_get(t.c, PLUGIN, "generated", &s), 0);
        cv_secret_free(s);
        assert_int_equal(cv_secret_get(t.c, PLUGIN, "missing", &s), -ENOENT);

        together_end(&t);
}

/* Two writes of the same secret in one group: both made, in the order
 * the daemon took them (versions 1 and 2, one each), the last value
 * stored. */
static void test_same_secret_twice_in_a_group(void **state) {
        (void) state;
        Together t;

        together_start(&t);
        for (int i = 0; i < N_CONN; i++)
                t.requests[i] = put_request(i, "same");
        send_together(&t.h, t.fds, t.requests, t.replies);
        bool seen[N_CONN + 1] = { false };
        int last = -1;
        for (int i = 0; i < N_CONN; i++) {
                assert_true(reply_ok(t.replies[i]));
                json_int_t v = json_integer_value(json_object_get(t.replies[i], "version"));
                assert_true(v >= 1 && v <= N_CONN);
                assert_false(seen[v]);
                seen[v] = true;
                if (v == N_CONN)
                        last = i;
        }
        assert_true(last >= 0);
        assert_value(t.c, "same", last);
        together_end(&t);
}

/* A group's replies mean durable: kill -9 right after they came, and a
 * restarted daemon has every write. */
static void test_kill9_after_group_keeps_all(void **state) {
        (void) state;
        Together t;
        char name[32];

        together_start(&t);
        for (int i = 0; i < N_CONN; i++) {
                snprintf(name, sizeof(name), "k%d", i);
                t.requests[i] = put_request(i, name);
        }
        send_together(&t.h, t.fds, t.requests, t.replies);
        for (int i = 0; i < N_CONN; i++)
                assert_true(reply_ok(t.replies[i]));
        assert_int_equal(harness_kill(&t.h), 128 + 9);
        assert_int_equal(harness_restart(&t.h), 0);
        cv_client_free(t.c);
        assert_int_equal(cv_client_new(t.h.socket_path, 5000, &t.c), 0);
        for (int i = 0; i < N_CONN; i++) {
                snprintf(name, sizeof(name), "k%d", i);
                assert_value(t.c, name, i);
        }
        together_end(&t);
}

/* A read that comes with writes is not in their group, and never sees
 * what is not durable: it is answered after the writes before it are
 * committed (their group ends when it comes), or before the ones after
 * it. Either way every write is made, and no group holds more than the
 * writes. */
static void test_read_ends_the_group(void **state) {
        (void) state;
        Together t;
        char name[32];

        together_start(&t);
        for (int i = 0; i < N_CONN; i++) {
                snprintf(name, sizeof(name), "r%d", i);
                t.requests[i] = i == 4 ? strdup("{\"v\":1,\"id\":4,\"op\":\"secret.get\",\"plugin\":\"" PLUGIN
                                                "\",\"name\":\"r0\"}")
                                       : put_request(i, name);
        }
        Groups before = groups_of(t.c);
        send_together(&t.h, t.fds, t.requests, t.replies);
        Groups after = groups_of(t.c);
        for (int i = 0; i < N_CONN; i++)
                if (i != 4)
                        assert_true(reply_ok(t.replies[i]));
        /* r0 read back or not found: which came first is the loop's. */
        if (!reply_ok(t.replies[4]))
                assert_string_equal(reply_code(t.replies[4]), "not_found");
        assert_int_equal(after.writes - before.writes, N_CONN - 1);
        assert_true(after.commits - before.commits >= 1 && after.commits - before.commits <= 3);
        together_end(&t);
}

/* A client that shuts down its writing side after its write (a shell
 * one-liner through socat does) still gets the reply, once the write is
 * durable. */
static void test_half_closed_writer_gets_its_reply(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        char *body = NULL;

        assert_int_equal(harness_start(&h), 0);
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        char *req = put_request(3, "half");
        assert_int_equal(harness_send_frame(fd, req, strlen(req)), 0);
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
        assert_int_equal(harness_recv_frame(fd, 10000 * harness_time_scale(), &body), 0);
        json_t *reply = json_loads(body, 0, NULL);
        assert_non_null(reply);
        assert_true(reply_ok(reply));
        assert_true(harness_wait_closed(fd, 5000 * harness_time_scale()));
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_value(c, "half", 3);
        json_decref(reply);
        free(body);
        free(req);
        close(fd);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* ---- a busy loop does not hold a group ---- */

#define FLOODERS 3

typedef struct Flooder {
        int fd;
        long sent, answered;
        struct timespec done;
} Flooder;

/* Empty frames (four zero bytes: a frame error each, answered and
 * recorded) as many as the socket takes without blocking. */
static long flood_fill(int fd) {
        static const uint8_t zeros[4096];
        long frames = 0;
        for (;;) {
                ssize_t k = send(fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k <= 0)
                        break;
                frames += k / 4;
                if (k % 4) {
                        /* Finish the frame cut short, blocking. */
                        assert_int_equal(harness_send_raw(fd, zeros, 4 - (size_t) (k % 4)), 0);
                        frames++;
                }
        }
        return frames;
}

static void *flood_read(void *arg) {
        Flooder *fl = arg;
        while (fl->answered < fl->sent) {
                char *body = NULL;
                if (harness_recv_frame(fl->fd, 20000, &body) < 0)
                        break;
                free(body);
                fl->answered++;
        }
        clock_gettime(CLOCK_MONOTONIC, &fl->done);
        return NULL;
}

static double ms_since(const struct timespec *t0, const struct timespec *t1) {
        return (double) (t1->tv_sec - t0->tv_sec) * 1e3 + (double) (t1->tv_nsec - t0->tv_nsec) / 1e6;
}

static int64_t audit_last_seq(CvClient *c) {
        char *text = NULL;
        json_int_t seq = -1;
        assert_int_equal(cv_health_json(c, &text), 0);
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_unpack(j, "{s:{s:I}}", "audit", "last_seq", &seq), 0);
        json_decref(j);
        free(text);
        return seq;
}

/* A write that comes with a backlog of other clients' requests (here
 * frames that are refused, which never end a group) is answered within
 * the group's bound, not once the loop has worked through the backlog;
 * and every refused frame is recorded, none dropped while the write's
 * group was open. */
static void test_busy_loop_does_not_hold_a_write(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        Flooder fl[FLOODERS];
        pthread_t threads[FLOODERS];
        struct timespec t0, t_write;
        char *body = NULL;
        long sent = 0, answered = 0;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        int w = harness_connect_raw(&h);
        assert_true(w >= 0);
        assert_int_equal(harness_call(w, "{\"v\":1,\"id\":1,\"op\":\"health\"}", 5000, &body), 0);
        free(body);
        for (int i = 0; i < FLOODERS; i++) {
                fl[i] = (Flooder) { .fd = harness_connect_raw(&h) };
                assert_true(fl[i].fd >= 0);
        }
        int64_t seq0 = audit_last_seq(c);

        assert_int_equal(kill(h.pid, SIGSTOP), 0);
        char *req = put_request(1, "busy");
        for (int i = 0; i < FLOODERS; i++) {
                fl[i].sent = flood_fill(fl[i].fd);
                sent += fl[i].sent;
                assert_int_equal(pthread_create(&threads[i], NULL, flood_read, &fl[i]), 0);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(kill(h.pid, SIGCONT), 0);
        /* The write comes once the daemon is busy with the backlog. */
        usleep(50 * 1000);
        assert_int_equal(harness_send_frame(w, req, strlen(req)), 0);
        assert_int_equal(harness_recv_frame(w, 20000, &body), 0);
        clock_gettime(CLOCK_MONOTONIC, &t_write);
        assert_non_null(strstr(body, "\"ok\":true"));
        free(body);
        struct timespec t_backlog = t0;
        for (int i = 0; i < FLOODERS; i++) {
                pthread_join(threads[i], NULL);
                answered += fl[i].answered;
                if (ms_since(&t_backlog, &fl[i].done) > 0)
                        t_backlog = fl[i].done;
                close(fl[i].fd);
        }
        assert_int_equal(answered, sent);
        double write_ms = ms_since(&t0, &t_write), backlog_ms = ms_since(&t0, &t_backlog);
        print_message("write answered after %.1f ms; the backlog of %ld frames took %.1f ms\n", write_ms, sent,
                      backlog_ms);
        if (write_ms > backlog_ms / 2)
                fail_msg("the write waited for the backlog: %.1f ms of %.1f ms", write_ms, backlog_ms);

        /* The last batch written (a flush every 250 ms). */
        usleep(800 * 1000 * (useconds_t) harness_time_scale());
        int64_t recorded = audit_last_seq(c) - seq0;
        if (recorded < answered)
                fail_msg("%ld frames refused, %lld records", answered, (long long) recorded);
        free(req);
        close(w);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_writes_together_share_one_commit),
                cmocka_unit_test(test_same_secret_twice_in_a_group),
                cmocka_unit_test(test_kill9_after_group_keeps_all),
                cmocka_unit_test(test_read_ends_the_group),
                cmocka_unit_test(test_half_closed_writer_gets_its_reply),
                cmocka_unit_test(test_busy_loop_does_not_hold_a_write),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
