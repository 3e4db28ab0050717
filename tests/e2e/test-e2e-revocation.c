/* test-e2e-revocation.c — token sets pending RFC 7009 revocation, through
 * the real daemon.
 *
 * token.delete queues the deleted set only where the plugin has the
 * revocation_endpoint secret (and says so: "revocation": "pending"); the
 * queue is listed without tokens, paged; token.revocation_begin hands out
 * the refresh token (else the access token) and holds the row off for a
 * minute; _end without an error drops it, with one backs it off (30 s
 * doubling) and after 10 attempts gives it up (audited, counted by
 * health); a set deleted 7 days ago is given up at its next failure; bad
 * input is refused with nothing changed; plugin.delete drops the queue;
 * a KEK rotation, rewrap and retirement move the pending rows, which
 * still open after; a revocation queued is durable across SIGKILL
 * right after the delete's reply; and an online backup holds the pending
 * rows: --verify-backup opens them, and after --restore they still open. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
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
#include "e2e-raw.h"
#include "harness.h"

/* "http://127.0.0.1:9/revoke", base64 */
#define ENDPOINT_B64 "aHR0cDovLzEyNy4wLjAuMTo5L3Jldm9rZQ=="

static int64_t realtime_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_root(const Harness *h) {
        int fd = harness_connect_raw(h);
        if (fd < 0)
                fail_msg("cannot connect: %s", strerror(-fd));
        return fd;
}

static Harness *start(void) {
        Harness *h = daemon_new(&(Harness) {});
        assert_int_equal(harness_start(h), 0);
        return h;
}

static void put_set(int fd, const char *plugin, const char *user, const char *at, const char *rt) {
        char m[512];
        if (rt)
                snprintf(m, sizeof(m),
                         "\"op\":\"token.put\",\"plugin\":\"%s\",\"user\":\"%s\",\"token\":{\"access_token\":\"%s\","
                         "\"token_type\":\"Bearer\",\"expires_in\":3600,\"refresh_token\":\"%s\"}",
                         plugin, user, at, rt);
        else
                snprintf(m, sizeof(m),
                         "\"op\":\"token.put\",\"plugin\":\"%s\",\"user\":\"%s\",\"token\":{\"access_token\":\"%s\","
                         "\"token_type\":\"Bearer\",\"expires_in\":3600}",
                         plugin, user, at);
        expect_ok_free(fd, m);
}

static void configure(int fd, const char *plugin) {
        char m[256];
        snprintf(m, sizeof(m),
                 "\"op\":\"secret.put\",\"plugin\":\"%s\",\"name\":\"revocation_endpoint\",\"value\":\"%s\"", plugin,
                 ENDPOINT_B64);
        expect_ok_free(fd, m);
}

/* token.delete; returns whether it said a revocation is pending. */
static bool delete_set(int fd, const char *plugin, const char *user) {
        char m[256];
        snprintf(m, sizeof(m), "\"op\":\"token.delete\",\"plugin\":\"%s\",\"user\":\"%s\"", plugin, user);
        json_t *j = expect_ok(fd, m);
        const char *rev = json_string_value(json_object_get(j, "revocation"));
        bool pending = rev && strcmp(rev, "pending") == 0;
        if (rev)
                assert_true(pending);
        json_decref(j);
        return pending;
}

/* The plugin's pending revocations (json_decref() it). */
static json_t *list(int fd, const char *plugin) {
        char m[256];
        snprintf(m, sizeof(m), "\"op\":\"token.revocation_list\",\"plugin\":\"%s\"", plugin);
        json_t *j = expect_ok(fd, m);
        json_t *a = json_incref(json_object_get(j, "revocations"));
        assert_true(json_is_array(a));
        assert_true(json_is_null(json_object_get(j, "next")));
        json_decref(j);
        return a;
}

static int64_t int_of(const json_t *j, const char *key) {
        const json_t *x = json_object_get(j, key);
        assert_true(json_is_integer(x));
        return json_integer_value(x);
}

static json_t *begin(int fd, const char *plugin, int64_t id) {
        char m[256];
        snprintf(m, sizeof(m), "\"op\":\"token.revocation_begin\",\"plugin\":\"%s\",\"revocation\":%" PRId64, plugin,
                 id);
        return expect_ok(fd, m);
}

/* Run sql on the daemon's file while it is stopped; a new connection. */
static int file_exec(Harness *h, int fd, const char *sql) {
        char path[256];
        sqlite3 *db = NULL;
        close(fd);
        assert_int_equal(harness_stop(h), 0);
        snprintf(path, sizeof(path), "%s/credvault.db", h->state_dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(harness_restart(h), 0);
        return connect_root(h);
}

static json_t *end(int fd, const char *plugin, int64_t id, const char *error) {
        char m[256];
        if (error)
                snprintf(m, sizeof(m),
                         "\"op\":\"token.revocation_end\",\"plugin\":\"%s\",\"revocation\":%" PRId64
                         ",\"error\":\"%s\"",
                         plugin, id, error);
        else
                snprintf(m, sizeof(m), "\"op\":\"token.revocation_end\",\"plugin\":\"%s\",\"revocation\":%" PRId64,
                         plugin, id);
        return expect_ok(fd, m);
}

static int64_t health_revocations(int fd, const char *key) {
        json_t *j = expect_ok(fd, "\"op\":\"health\"");
        int64_t n = int_of(json_object_get(j, "revocations"), key);
        json_decref(j);
        return n;
}

static void expect_error(int fd, const char *members, const char *code, const char *message_part) {
        char *text = NULL;
        json_t *j = call_text(fd, members, &text);
        const char *c = error_code(j), *msg = error_message(j);
        if (!c || strcmp(c, code) != 0 || (message_part && (!msg || !strstr(msg, message_part))))
                fail_msg("{%s}: want %s (%s), got %s", members, code, message_part ?: "", text);
        free(text);
        json_decref(j);
}

static void test_delete_queues_only_where_configured(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);

        /* Without the secret: deleted, nothing pending. */
        put_set(fd, "plain", "alice", "at-p", "rt-p");
        assert_false(delete_set(fd, "plain", "alice"));
        json_t *a = list(fd, "plain");
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);

        configure(fd, "rev");
        put_set(fd, "rev", "alice", "at-a", "rt-a");
        put_set(fd, "rev", "bob", "at-b", NULL);
        int64_t before = (int64_t) time(NULL);
        assert_true(delete_set(fd, "rev", "alice"));
        assert_true(delete_set(fd, "rev", "bob"));
        /* The set is gone as ever. */
        expect_error(fd, "\"op\":\"token.get\",\"plugin\":\"rev\",\"user\":\"alice\"", "not_found", NULL);
        expect_error(fd, "\"op\":\"token.delete\",\"plugin\":\"rev\",\"user\":\"alice\"", "not_found", NULL);
        assert_int_equal(health_revocations(fd, "pending"), 2);

        /* Listed without a token, due now. */
        char *text = NULL;
        json_t *j = call_text(fd, "\"op\":\"token.revocation_list\",\"plugin\":\"rev\"", &text);
        assert_null(strstr(text, "rt-a"));
        assert_null(strstr(text, "at-a"));
        free(text);
        a = json_object_get(j, "revocations");
        assert_int_equal(json_array_size(a), 2);
        json_t *r0 = json_array_get(a, 0), *r1 = json_array_get(a, 1);
        assert_string_equal(json_string_value(json_object_get(r0, "user")), "alice");
        assert_string_equal(json_string_value(json_object_get(r1, "user")), "bob");
        assert_int_equal(int_of(r0, "attempts"), 0);
        assert_true(int_of(r0, "deleted_at") >= before && int_of(r0, "deleted_at") <= before + 5);
        assert_true(int_of(r0, "next_at") <= (int64_t) time(NULL) * 1000 + 1000);
        assert_null(json_object_get(r0, "last_error"));
        int64_t id_a = int_of(r0, "id"), id_b = int_of(r1, "id");
        json_decref(j);

        /* Paged: one at a time, "next" the cursor. */
        j = expect_ok(fd, "\"op\":\"token.revocation_list\",\"plugin\":\"rev\",\"limit\":1");
        assert_int_equal(json_array_size(json_object_get(j, "revocations")), 1);
        char after[128];
        snprintf(after, sizeof(after),
                 "\"op\":\"token.revocation_list\",\"plugin\":\"rev\",\"limit\":1,\"after\":\"%s\"",
                 json_string_value(json_object_get(j, "next")));
        json_decref(j);
        j = expect_ok(fd, after);
        assert_int_equal(int_of(json_array_get(json_object_get(j, "revocations"), 0), "id"), id_b);
        assert_true(json_is_null(json_object_get(j, "next")));
        json_decref(j);

        /* begin: the refresh token, else the access token; held off a minute. */
        j = begin(fd, "rev", id_a);
        assert_string_equal(json_string_value(json_object_get(j, "token")), "rt-a");
        assert_string_equal(json_string_value(json_object_get(j, "token_type_hint")), "refresh_token");
        assert_string_equal(json_string_value(json_object_get(j, "user")), "alice");
        json_decref(j);
        j = begin(fd, "rev", id_b);
        assert_string_equal(json_string_value(json_object_get(j, "token")), "at-b");
        assert_string_equal(json_string_value(json_object_get(j, "token_type_hint")), "access_token");
        json_decref(j);
        a = list(fd, "rev");
        assert_int_equal(int_of(json_array_get(a, 0), "attempts"), 1);
        int64_t held = int_of(json_array_get(a, 0), "next_at") - realtime_ms();
        assert_true(held > 50000 && held <= 60000);
        json_decref(a);

        /* end: revoked, gone. */
        j = end(fd, "rev", id_a, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "state")), "revoked");
        json_decref(j);
        a = list(fd, "rev");
        assert_int_equal(json_array_size(a), 1);
        json_decref(a);

        /* The audit trail has begin's reveal. */
        j = expect_ok(fd, "\"op\":\"audit.list\",\"audit_op\":\"token.revocation_begin\"");
        json_t *records = json_object_get(j, "records");
        assert_int_equal(json_array_size(records), 2);
        assert_true(json_is_true(json_object_get(json_array_get(records, 0), "revealed")));
        /* Naming whose token it was, which the request did not. */
        assert_string_equal(json_string_value(json_object_get(json_array_get(records, 0), "object")), "alice");
        assert_string_equal(json_string_value(json_object_get(json_array_get(records, 1), "object")), "bob");
        json_decref(j);
        close(fd);
}

static void test_backoff_and_give_up(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);
        configure(fd, "rev");
        put_set(fd, "rev", "carol", "at-c", "rt-c");
        assert_true(delete_set(fd, "rev", "carol"));
        json_t *a = list(fd, "rev");
        int64_t id = int_of(json_array_get(a, 0), "id");
        json_decref(a);

        /* Back-off: 30 s, 60 s, ... doubled per attempt, at most an hour. */
        static const int64_t want_s[] = { 30, 60, 120, 240, 480, 960, 1920, 3600, 3600 };
        for (size_t i = 0; i < sizeof(want_s) / sizeof(want_s[0]); i++) {
                if (i == 1) {
                        /* Not due again before its back-off ends. */
                        char m[256];
                        snprintf(m, sizeof(m),
                                 "\"op\":\"token.revocation_begin\",\"plugin\":\"rev\",\"revocation\":%" PRId64, id);
                        expect_error(fd, m, "refresh_in_progress", "not due yet");
                }
                if (i > 0) /* the back-off over */
                        fd = file_exec(h, fd, "UPDATE token_revocation SET next_at = 0");
                json_decref(begin(fd, "rev", id));
                int64_t t0 = realtime_ms();
                json_t *j = end(fd, "rev", id, i % 2 ? "server_error" : "unsupported_token_type");
                int64_t t1 = realtime_ms();
                assert_string_equal(json_string_value(json_object_get(j, "state")), "retrying");
                assert_int_equal(int_of(j, "attempts"), (int64_t) i + 1);
                int64_t delay = int_of(j, "next_at") - t0;
                if (delay < want_s[i] * 1000 || delay > want_s[i] * 1000 + (t1 - t0))
                        fail_msg("attempt %zu: next in %" PRId64 " ms, want %" PRId64 " s", i + 1, delay, want_s[i]);
                json_decref(j);
                a = list(fd, "rev");
                assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "last_error")),
                                    i % 2 ? "server_error" : "unsupported_token_type");
                json_decref(a);
        }
        /* The tenth failure gives up: the row goes, counted and audited. */
        fd = file_exec(h, fd, "UPDATE token_revocation SET next_at = 0");
        json_decref(begin(fd, "rev", id));
        json_t *j = end(fd, "rev", id, "timeout");
        assert_string_equal(json_string_value(json_object_get(j, "state")), "given_up");
        assert_int_equal(int_of(j, "attempts"), 10);
        json_decref(j);
        a = list(fd, "rev");
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
        assert_int_equal(health_revocations(fd, "pending"), 0);
        assert_int_equal(health_revocations(fd, "given_up"), 1);
        j = expect_ok(fd, "\"op\":\"audit.list\",\"audit_op\":\"token.revocation_given_up\"");
        json_t *rec = json_array_get(json_object_get(j, "records"), 0);
        assert_string_equal(json_string_value(json_object_get(rec, "object")), "carol");
        assert_string_equal(json_string_value(json_object_get(rec, "plugin")), "rev");
        json_decref(j);

        /* Unknown ids are named; bad input changes nothing. */
        char m[256];
        snprintf(m, sizeof(m), "\"op\":\"token.revocation_begin\",\"plugin\":\"rev\",\"revocation\":%" PRId64, id);
        expect_error(fd, m, "not_found", "no pending revocation");
        expect_error(fd, "\"op\":\"token.revocation_end\",\"plugin\":\"rev\",\"revocation\":999", "not_found",
                     "no pending revocation 999 for plugin 'rev'");
        put_set(fd, "rev", "dave", "at-d", "rt-d");
        assert_true(delete_set(fd, "rev", "dave"));
        a = list(fd, "rev");
        int64_t id_d = int_of(json_array_get(a, 0), "id");
        json_decref(a);
        /* Another plugin's id is not found under this one. */
        snprintf(m, sizeof(m), "\"op\":\"token.revocation_begin\",\"plugin\":\"other\",\"revocation\":%" PRId64, id_d);
        expect_error(fd, m, "not_found", NULL);
        snprintf(m, sizeof(m),
                 "\"op\":\"token.revocation_end\",\"plugin\":\"rev\",\"revocation\":%" PRId64
                 ",\"error\":\"Bad-Error\"",
                 id_d);
        expect_error(fd, m, "bad_request", "field 'error'");
        expect_error(fd, "\"op\":\"token.revocation_end\",\"plugin\":\"rev\",\"revocation\":0", "bad_request",
                     "field 'revocation'");
        expect_error(fd, "\"op\":\"token.revocation_begin\",\"plugin\":\"rev\"", "bad_request",
                     "field 'revocation': missing");
        expect_error(fd, "\"op\":\"token.revocation_list\",\"plugin\":\"rev\",\"after\":\"x1\"", "bad_request",
                     "field 'after'");
        expect_error(fd, "\"op\":\"token.revocation_list\",\"plugin\":\"rev\",\"user\":\"dave\"", "bad_request",
                     "not a field");
        a = list(fd, "rev");
        assert_int_equal(int_of(json_array_get(a, 0), "attempts"), 0);
        assert_null(json_object_get(json_array_get(a, 0), "last_error"));
        json_decref(a);
        close(fd);

        /* Deleted 7 days ago (the clock moved, in the file): the next
         * failure gives it up, whatever the attempts. */
        assert_int_equal(harness_stop(h), 0);
        char path[256];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/credvault.db", h->state_dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
                sqlite3_exec(db, "UPDATE token_revocation SET deleted_at = deleted_at - 7 * 86400", NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        j = end(fd, "rev", id_d, "unreachable");
        assert_string_equal(json_string_value(json_object_get(j, "state")), "given_up");
        assert_int_equal(int_of(j, "attempts"), 1);
        json_decref(j);
        assert_int_equal(health_revocations(fd, "given_up"), 2); /* kept across the restart */
        close(fd);
}

static void test_plugin_delete_drops_them(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);
        configure(fd, "rev");
        configure(fd, "keep");
        put_set(fd, "rev", "erin", "at-e", "rt-e");
        put_set(fd, "keep", "erin", "at-k", "rt-k");
        assert_true(delete_set(fd, "rev", "erin"));
        assert_true(delete_set(fd, "keep", "erin"));
        json_t *j = expect_ok(fd, "\"op\":\"plugin.delete\",\"plugin\":\"rev\"");
        assert_int_equal(int_of(j, "revocations"), 1);
        json_decref(j);
        json_t *a = list(fd, "rev");
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
        a = list(fd, "keep");
        assert_int_equal(json_array_size(a), 1);
        json_decref(a);
        assert_int_equal(health_revocations(fd, "pending"), 1);
        close(fd);
}

static json_t *wait_rewrap(int fd) {
        long deadline = now_ms() + 30000L * harness_time_scale();
        for (;;) {
                json_t *st = expect_ok(fd, "\"op\":\"key.status\"");
                json_t *rw = json_object_get(st, "rewrap");
                if (!json_is_true(json_object_get(rw, "running")) && int_of(rw, "remaining") == 0)
                        return st;
                json_decref(st);
                if (now_ms() > deadline)
                        fail_msg("rewrap did not finish");
                sleep_ms(20);
        }
}

static void test_kek_rotation_moves_them(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);
        configure(fd, "rev");
        put_set(fd, "rev", "frank", "at-f", "rt-f");
        assert_true(delete_set(fd, "rev", "frank"));
        json_t *a = list(fd, "rev");
        int64_t id = int_of(json_array_get(a, 0), "id");
        json_decref(a);

        expect_ok_free(fd, "\"op\":\"key.rotate\"");
        /* KEK 1 still wraps the secret and the pending revocation. */
        expect_error(fd, "\"op\":\"key.retire\",\"version\":1", "conflict", NULL);
        expect_ok_free(fd, "\"op\":\"key.rewrap\"");
        json_decref(wait_rewrap(fd));
        expect_ok_free(fd, "\"op\":\"key.retire\",\"version\":1");
        json_t *j = begin(fd, "rev", id);
        assert_string_equal(json_string_value(json_object_get(j, "token")), "rt-f");
        json_decref(j);
        close(fd);

        /* And after a restart, from the file (due again). */
        fd = file_exec(h, fd, "UPDATE token_revocation SET next_at = 0");
        j = begin(fd, "rev", id);
        assert_string_equal(json_string_value(json_object_get(j, "token")), "rt-f");
        json_decref(j);
        close(fd);
}

static void test_durable_across_sigkill(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);
        configure(fd, "rev");
        for (int i = 0; i < 5; i++) {
                char user[16];
                snprintf(user, sizeof(user), "u%d", i);
                put_set(fd, "rev", user, "at", "rt");
        }
        for (int i = 0; i < 5; i++) {
                char user[16];
                snprintf(user, sizeof(user), "u%d", i);
                assert_true(delete_set(fd, "rev", user));
        }
        /* Killed right after the last reply. */
        assert_int_equal(harness_kill(h), 128 + SIGKILL);
        close(fd);
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        json_t *a = list(fd, "rev");
        assert_int_equal(json_array_size(a), 5);
        json_t *j = begin(fd, "rev", int_of(json_array_get(a, 4), "id"));
        assert_string_equal(json_string_value(json_object_get(j, "token")), "rt");
        json_decref(j);
        json_decref(a);
        close(fd);
}

/* credvaultd offline (--verify-backup, --restore): its exit status. */
static int offline(const char *mode, const char *file, const Harness *h) {
        const char *argv[] = { harness_daemon_path(), mode,        file, "--state-dir", h->state_dir,
                               "--root-key-file",     h->key_file, NULL };
        return harness_run_daemon(argv, 60000 * harness_time_scale());
}

static void test_backup_and_restore(void **state) {
        (void) state;
        Harness *h = start();
        int fd = connect_root(h);
        configure(fd, "rev");
        put_set(fd, "rev", "gina", "at-g", "rt-g");
        assert_true(delete_set(fd, "rev", "gina"));
        json_t *a = list(fd, "rev");
        int64_t id = int_of(json_array_get(a, 0), "id");
        json_decref(a);
        close(fd);

        char copy[256];
        snprintf(copy, sizeof(copy), "%s/copy.db", h->dir);
        int out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        assert_true(out >= 0);
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h->socket_path, 30000, &c), 0);
        CvBackupInfo info = {};
        assert_int_equal(cv_backup_fd(c, out, &info), 0);
        close(out);
        cv_client_free(c);
        /* The secret and the pending revocation (the token set is gone). */
        assert_int_equal(info.records, 2);
        assert_int_equal(offline("--verify-backup", copy, h), 0);

        /* Into a fresh state directory under the same root key. */
        Harness *h2 = daemon_new(&(Harness) {});
        assert_int_equal(harness_start(h2), 0);
        assert_int_equal(harness_stop(h2), 0);
        char *key = NULL;
        size_t key_size = 0;
        assert_int_equal(harness_read_file(h->key_file, &key, &key_size), 0);
        int kfd = open(h2->key_file, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(kfd >= 0);
        assert_int_equal(write(kfd, key, key_size), (ssize_t) key_size);
        close(kfd);
        free(key);
        assert_int_equal(offline("--restore", copy, h2), 0);
        assert_int_equal(harness_restart(h2), 0);
        fd = connect_root(h2);
        json_t *j = begin(fd, "rev", id);
        assert_string_equal(json_string_value(json_object_get(j, "token")), "rt-g");
        json_decref(j);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_delete_queues_only_where_configured, teardown),
                cmocka_unit_test_teardown(test_backoff_and_give_up, teardown),
                cmocka_unit_test_teardown(test_plugin_delete_drops_them, teardown),
                cmocka_unit_test_teardown(test_kek_rotation_moves_them, teardown),
                cmocka_unit_test_teardown(test_durable_across_sigkill, teardown),
                cmocka_unit_test_teardown(test_backup_and_restore, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
