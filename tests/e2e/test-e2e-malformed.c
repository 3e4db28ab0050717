/* test-e2e-malformed.c — bad frames against the real daemon.
 *
 * Each case sends something a correct client never would on a raw socket,
 * checks the answer (an error reply naming the problem) or the close, and
 * checks that a second, well-behaved client is served all along and that
 * nothing was stored. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#define TIMEOUT_MS 5000

static Harness h;
static CvClient *bystander;

static int group_setup(void **state) {
        (void) state;
        if (harness_start(&h) < 0 || cv_client_new(h.socket_path, TIMEOUT_MS, &bystander) < 0)
                return -1;
        return cv_secret_put(bystander, "calm", "steady", "still here", 10, NULL) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(bystander);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

/* The well-behaved client is answered, and nothing new was stored. */
static void assert_bystander_served(void) {
        CvSecret *s = NULL;
        CvHealth health;
        assert_int_equal(cv_secret_get(bystander, "calm", "steady", &s), 0);
        assert_memory_equal(s->value, "still here", 10);
        cv_secret_free(s);
        assert_int_equal(cv_health(bystander, &health), 0);
        assert_int_equal(health.secrets, 1);
        assert_int_equal(health.tokens, 0);
}

/* Send one frame body; expect an error reply with this code, and that the
 * connection stays usable for a correct request afterwards. */
static void expect_error_and_continue(const char *body, size_t size, const char *code, const char *in_message) {
        int fd = harness_connect_raw(&h);
        char *reply = NULL, want[64];
        assert_true(fd >= 0);

        assert_int_equal(harness_send_frame(fd, body, size), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
        if (!strstr(reply, want) || (in_message && !strstr(reply, in_message)))
                fail_msg("reply %s lacks %s / %s", reply, want, in_message ? in_message : "");
        assert_non_null(strstr(reply, "\"ok\":false"));
        free(reply);

        const char health[] = "{\"id\":99,\"op\":\"health\"}";
        assert_int_equal(harness_send_frame(fd, health, sizeof(health) - 1), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"id\":99"));
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        close(fd);
        assert_bystander_served();
}

#define EXPECT(body, code, msg) expect_error_and_continue(body, sizeof(body) - 1, code, msg)

static void test_not_json(void **state) {
        (void) state;
        EXPECT("hello, vault", "bad_request", "invalid JSON");
        EXPECT("{\"id\":1,\"op\":\"health\"", "bad_request", "truncated");
        EXPECT("{\"id\":1,\"op\":\"health\"} trailing", "bad_request", "trailing");
        EXPECT("[1,2,3]", "bad_request", "object");
        EXPECT("\"just a string\"", "bad_request", "object");
}

static void test_bad_utf8_and_nul(void **state) {
        (void) state;
        EXPECT("{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\xff\",\"name\":\"n\"}", "bad_request", "UTF-8");
        EXPECT("{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\\u0000x\",\"name\":\"n\"}", "bad_request", "NUL");
}

static void test_wrong_types_and_fields(void **state) {
        (void) state;
        EXPECT("{\"id\":\"7\",\"op\":\"health\"}", "bad_request", "id");
        EXPECT("{\"op\":\"health\"}", "bad_request", "id");
        EXPECT("{\"id\":1}", "bad_request", "op");
        EXPECT("{\"id\":1,\"op\":17}", "bad_request", "op");
        EXPECT("{\"id\":1,\"op\":\"secret.get\",\"plugin\":1,\"name\":\"n\"}", "bad_request", NULL);
        EXPECT("{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\",\"name\":\"n\",\"debug\":true}", "bad_request",
               "debug");
        EXPECT("{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\",\"plugin\":\"q\",\"name\":\"n\"}", "bad_request",
               "duplicate");
        EXPECT("{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"*\"}", "bad_request",
               "base64");
        EXPECT("{\"id\":1,\"op\":\"token.put\",\"plugin\":\"p\",\"user\":\"u\",\"token\":{\"access_token\":\"a\"}}",
               "bad_request", "token_type");
        EXPECT("{\"id\":1,\"op\":\"secret.list\",\"limit\":0}", "bad_request", "limit");
        EXPECT("{\"id\":1,\"op\":\"vault.explode\"}", "unknown_op", NULL);
        EXPECT("{\"v\":2,\"id\":1,\"op\":\"health\"}", "bad_request", "version");
        EXPECT("{\"v\":4294967297,\"id\":1,\"op\":\"health\"}", "bad_request", "version");
}

static void test_overlong_strings(void **state) {
        (void) state;
        char body[1024];
        char name[200];
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        int n = snprintf(body, sizeof(body), "{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"%s\",\"name\":\"n\"}", name);
        expect_error_and_continue(body, (size_t) n, "bad_request", "plugin");

        /* A value of 32769 bytes: base64 of it fits a frame, the limit is
         * on the decoded size. */
        static char big[60000];
        size_t b64 = (32769 + 2) / 3 * 4;
        n = snprintf(big, sizeof(big), "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"");
        memset(big + n, 'A', b64);
        n += (int) b64;
        n += snprintf(big + n, sizeof(big) - (size_t) n, "\"}");
        expect_error_and_continue(big, (size_t) n, "too_large", "value");
}

/* An error message that names a long non-ASCII user id is cut to the
 * message limit without splitting a UTF-8 sequence: still answered. */
static void test_long_utf8_in_error_message(void **state) {
        (void) state;
        char body[1024];
        int n = snprintf(body, sizeof(body), "{\"id\":3,\"op\":\"token.delete\",\"plugin\":\"p\",\"user\":\"a");
        for (int i = 0; i < 127; i++)
                n += snprintf(body + n, sizeof(body) - (size_t) n, "\xc3\xa9");
        n += snprintf(body + n, sizeof(body) - (size_t) n, "\"}");
        expect_error_and_continue(body, (size_t) n, "not_found", "no token set");

        n = snprintf(body, sizeof(body), "{\"id\":1,\"op\":\"health\",\"a");
        for (int i = 0; i < 60; i++)
                n += snprintf(body + n, sizeof(body) - (size_t) n, "\xe2\x82\xac");
        n += snprintf(body + n, sizeof(body) - (size_t) n, "\":1}");
        expect_error_and_continue(body, (size_t) n, "bad_request", "health");
}

/* A 70-byte field name whose 64th byte falls inside a 4-byte character
 * (62 × 'a', then U+100000 twice). */
#define KEY_70 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf4\x80\x80\x80\xf4\x80\x80\x80"

/* An unknown field is named in the message, cut to 64 bytes on a
 * character boundary: the reply is valid UTF-8 (harness_recv_frame()
 * checks every reply), on the in-place path, the jansson path and in a
 * manifest's auth block; through libcredvault it is bad_request, not an
 * unreadable reply. */
static void test_long_field_name_cut_on_character(void **state) {
        (void) state;
        CvClient *c = NULL;

        EXPECT("{\"id\":4,\"op\":\"health\",\"" KEY_70 "\":1}", "bad_request", "not a field of health");
        EXPECT("{\"id\":4,\"op\":\"health\",\"" KEY_70 "\":1,\"x\":[1]}", "bad_request", "not a field of health");
        EXPECT("{\"id\":5,\"op\":\"plugin.register\",\"plugin\":\"p\",\"manifest\":{\"type\":\"none\",\"" KEY_70
               "\":\"x\"}}",
               "bad_request", "not a field of auth type none");

        assert_int_equal(cv_client_new(h.socket_path, TIMEOUT_MS, &c), 0);
        assert_int_equal(cv_plugin_register(c, "{\"type\":\"none\",\"" KEY_70 "\":\"x\"}", "p", NULL, NULL), -EINVAL);
        assert_string_equal(cv_client_error_code(c), "bad_request");
        assert_non_null(strstr(cv_client_error_message(c), "not a field of auth type none"));
        cv_client_free(c);
        assert_bystander_served();
}

/* Over the member limit (40) a request is refused as a whole, and still
 * answered with its id, which was readable. */
static void test_too_many_members_keeps_id(void **state) {
        (void) state;
        char body[1024];
        int n = snprintf(body, sizeof(body), "{\"op\":\"health\"");
        for (int i = 0; i < 40; i++)
                n += snprintf(body + n, sizeof(body) - (size_t) n, ",\"m%d\":%d", i, i);
        n += snprintf(body + n, sizeof(body) - (size_t) n, ",\"id\":77}");
        expect_error_and_continue(body, (size_t) n, "bad_request", "\"id\":77,");
        expect_error_and_continue(body, (size_t) n, "bad_request", "too many fields");
}

static void test_empty_frame_is_answered(void **state) {
        (void) state;
        expect_error_and_continue("", 0, "bad_request", "empty frame");
}

/* A declared length over the limit cannot be skipped: the daemon answers
 * too_large and closes that connection, and only that one. */
static void test_oversized_length_closes(void **state) {
        (void) state;
        const unsigned char header[4] = { 0x00, 0x01, 0x00, 0x01 }; /* 65537 */
        int fd = harness_connect_raw(&h);
        char *reply = NULL;
        assert_true(fd >= 0);
        assert_int_equal(harness_send_raw(fd, header, 4), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"too_large\""));
        assert_non_null(strstr(reply, "\"id\":null"));
        free(reply);
        assert_true(harness_wait_closed(fd, TIMEOUT_MS));
        close(fd);
        assert_bystander_served();
}

static void test_garbage_closes(void **state) {
        (void) state;
        const char garbage[] = "GET / HTTP/1.1\r\nHost: vault\r\n\r\n";
        int fd = harness_connect_raw(&h);
        char *reply = NULL;
        assert_true(fd >= 0);
        assert_int_equal(harness_send_raw(fd, garbage, sizeof(garbage) - 1), 0);
        assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"too_large\""));
        free(reply);
        assert_true(harness_wait_closed(fd, TIMEOUT_MS));
        close(fd);
        assert_bystander_served();
}

/* A truncated frame followed by EOF: nothing to answer, the connection is
 * closed, nothing is stored. */
static void test_truncated_then_eof(void **state) {
        (void) state;
        const char body[] = "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"AAAA\"}";
        const unsigned char header[4] = { 0, 0, 0, sizeof(body) - 1 };
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_send_raw(fd, header, 4), 0);
        assert_int_equal(harness_send_raw(fd, body, 20), 0);
        shutdown(fd, SHUT_WR);
        assert_true(harness_wait_closed(fd, TIMEOUT_MS));
        close(fd);
        assert_bystander_served();
}

/* A client that stops halfway through a frame costs nobody else anything:
 * the bystander is served while it stalls. */
static void test_stalled_client_does_not_block_others(void **state) {
        (void) state;
        const unsigned char header[4] = { 0, 0, 1, 0 };
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        assert_int_equal(harness_send_raw(fd, header, 4), 0);
        assert_int_equal(harness_send_raw(fd, "{\"id\":", 6), 0);
        for (int i = 0; i < 50; i++)
                assert_bystander_served();
        close(fd);
}

/* Many requests in one write are answered in order. */
static void test_pipelining_in_order(void **state) {
        (void) state;
        static char stream[64 * 1024];
        size_t n = 0;
        int fd = harness_connect_raw(&h);
        assert_true(fd >= 0);
        for (int i = 0; i < 200; i++) {
                char body[128];
                int k = snprintf(body, sizeof(body),
                                 "{\"id\":%d,\"op\":\"secret.get\",\"plugin\":\"calm\",\"name\":\"steady\"}", i);
                stream[n++] = 0, stream[n++] = 0, stream[n++] = 0, stream[n++] = (char) k;
                memcpy(stream + n, body, (size_t) k);
                n += (size_t) k;
        }
        assert_int_equal(harness_send_raw(fd, stream, n), 0);
        for (int i = 0; i < 200; i++) {
                char *reply = NULL, want[32];
                assert_int_equal(harness_recv_frame(fd, TIMEOUT_MS, &reply), 0);
                snprintf(want, sizeof(want), "{\"id\":%d,", i);
                assert_non_null(strstr(reply, want));
                free(reply);
        }
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_json),
                cmocka_unit_test(test_bad_utf8_and_nul),
                cmocka_unit_test(test_wrong_types_and_fields),
                cmocka_unit_test(test_overlong_strings),
                cmocka_unit_test(test_long_utf8_in_error_message),
                cmocka_unit_test(test_long_field_name_cut_on_character),
                cmocka_unit_test(test_too_many_members_keeps_id),
                cmocka_unit_test(test_empty_frame_is_answered),
                cmocka_unit_test(test_oversized_length_closes),
                cmocka_unit_test(test_garbage_closes),
                cmocka_unit_test(test_truncated_then_eof),
                cmocka_unit_test(test_stalled_client_does_not_block_others),
                cmocka_unit_test(test_pipelining_in_order),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
