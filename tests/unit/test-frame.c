/* test-frame.c — proto/frame.c: the length-prefixed framer.
 *
 * Shows: a whole frame parses; a partial header or body means "need more"
 * (0), not an error; two frames back to back parse one at a time; a body of
 * exactly FRAME_BODY_MAX is accepted; a declared length one over the cap is
 * -EMSGSIZE from the header alone; a zero length is -EBADMSG and consumes
 * the 4-byte header; the header is big-endian and round-trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "proto-limits.h"

/* header + body into buf; returns the frame's total size. */
static size_t frame_build(uint8_t *buf, const void *body, uint32_t body_size) {
        frame_header_write(buf, body_size);
        memcpy(buf + FRAME_HEADER_SIZE, body, body_size);
        return FRAME_HEADER_SIZE + body_size;
}

static void test_whole_frame(void **state) {
        (void) state;
        uint8_t buf[64];
        const uint8_t *body = NULL;
        size_t body_size = 0;
        size_t n = frame_build(buf, "{\"id\":1}", 8);

        assert_int_equal(frame_parse(buf, n, &body, &body_size), 12);
        assert_ptr_equal(body, buf + 4);
        assert_int_equal(body_size, 8);
        assert_memory_equal(body, "{\"id\":1}", 8);
}

static void test_partial_header(void **state) {
        (void) state;
        uint8_t buf[16];
        const uint8_t *body = NULL;
        size_t body_size = 12345;

        frame_build(buf, "abcdef", 6);
        for (size_t n = 0; n < FRAME_HEADER_SIZE; n++) {
                assert_int_equal(frame_parse(buf, n, &body, &body_size), 0);
                assert_null(body);
                assert_int_equal(body_size, 12345);
        }
}

static void test_partial_body(void **state) {
        (void) state;
        uint8_t buf[16];
        const uint8_t *body = NULL;
        size_t body_size = 0;
        size_t n = frame_build(buf, "abcdef", 6);

        for (size_t k = FRAME_HEADER_SIZE; k < n; k++) {
                body_size = 0;
                assert_int_equal(frame_parse(buf, k, &body, &body_size), 0);
                /* The header is in: the reader learns how much to wait for. */
                assert_int_equal(body_size, 6);
        }
        assert_int_equal(frame_parse(buf, n, &body, &body_size), (int) n);
}

static void test_two_frames_back_to_back(void **state) {
        (void) state;
        uint8_t buf[64];
        const uint8_t *body = NULL;
        size_t body_size = 0;
        size_t n1 = frame_build(buf, "first", 5);
        size_t n2 = frame_build(buf + n1, "second!", 7);

        int r = frame_parse(buf, n1 + n2, &body, &body_size);
        assert_int_equal(r, (int) n1);
        assert_int_equal(body_size, 5);
        assert_memory_equal(body, "first", 5);

        r = frame_parse(buf + n1, n2, &body, &body_size);
        assert_int_equal(r, (int) n2);
        assert_int_equal(body_size, 7);
        assert_memory_equal(body, "second!", 7);

        /* The second frame cut short is still "need more". */
        assert_int_equal(frame_parse(buf + n1, n2 - 1, &body, &body_size), 0);
}

static void test_body_exactly_max(void **state) {
        (void) state;
        uint8_t *buf = malloc(FRAME_SIZE_MAX);
        const uint8_t *body = NULL;
        size_t body_size = 0;

        assert_non_null(buf);
        memset(buf + FRAME_HEADER_SIZE, 'x', FRAME_BODY_MAX);
        frame_header_write(buf, FRAME_BODY_MAX);
        assert_int_equal(frame_parse(buf, FRAME_SIZE_MAX - 1, &body, &body_size), 0);
        assert_int_equal(frame_parse(buf, FRAME_SIZE_MAX, &body, &body_size), FRAME_SIZE_MAX);
        assert_int_equal(body_size, FRAME_BODY_MAX);
        assert_ptr_equal(body, buf + FRAME_HEADER_SIZE);
        free(buf);
}

static void test_over_max_rejected_from_header(void **state) {
        (void) state;
        uint8_t buf[FRAME_HEADER_SIZE];
        const uint8_t *body = NULL;
        size_t body_size = 0;

        /* Only the header is there: the verdict must not wait for the body. */
        frame_header_write(buf, FRAME_BODY_MAX + 1);
        assert_int_equal(frame_parse(buf, sizeof(buf), &body, &body_size), -EMSGSIZE);
        frame_header_write(buf, UINT32_MAX);
        assert_int_equal(frame_parse(buf, sizeof(buf), &body, &body_size), -EMSGSIZE);
}

static void test_zero_length(void **state) {
        (void) state;
        uint8_t buf[16];
        const uint8_t *body = NULL;
        size_t body_size = 99;
        size_t n = frame_build(buf, "", 0);

        n += frame_build(buf + n, "ok", 2);
        assert_int_equal(frame_parse(buf, n, &body, &body_size), -EBADMSG);
        assert_int_equal(body_size, 0);
        /* The zero-length frame is consumed as 4 bytes: the caller goes on
         * from body, which points just past the header. */
        assert_ptr_equal(body, buf + FRAME_HEADER_SIZE);
        assert_int_equal(frame_parse(body, n - FRAME_HEADER_SIZE, &body, &body_size), 6);
        assert_int_equal(body_size, 2);
        assert_memory_equal(body, "ok", 2);
}

static void test_header_round_trip(void **state) {
        (void) state;
        const uint32_t sizes[] = { 1, 2, 255, 256, 257, 4096, 65535, FRAME_BODY_MAX };

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                uint8_t buf[FRAME_HEADER_SIZE];
                const uint8_t *body = NULL;
                size_t body_size = 0;

                frame_header_write(buf, sizes[i]);
                /* Header alone: need more, since the body is not there. */
                assert_int_equal(frame_parse(buf, sizeof(buf), &body, &body_size), 0);
        }

        uint8_t *buf = calloc(1, FRAME_SIZE_MAX);
        assert_non_null(buf);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                const uint8_t *body = NULL;
                size_t body_size = 0;

                frame_header_write(buf, sizes[i]);
                assert_int_equal(frame_parse(buf, FRAME_SIZE_MAX, &body, &body_size),
                                 (int) (FRAME_HEADER_SIZE + sizes[i]));
                assert_int_equal(body_size, sizes[i]);
        }
        free(buf);
}

static void test_header_big_endian(void **state) {
        (void) state;
        uint8_t h[FRAME_HEADER_SIZE];

        frame_header_write(h, 0x00010203);
        assert_int_equal(h[0], 0x00);
        assert_int_equal(h[1], 0x01);
        assert_int_equal(h[2], 0x02);
        assert_int_equal(h[3], 0x03);

        frame_header_write(h, 0xa1b2c3d4);
        assert_int_equal(h[0], 0xa1);
        assert_int_equal(h[1], 0xb2);
        assert_int_equal(h[2], 0xc3);
        assert_int_equal(h[3], 0xd4);

        /* Parsing reads the same order: 00 00 01 00 is 256, not 65536. */
        uint8_t buf[FRAME_HEADER_SIZE + 256] = { 0x00, 0x00, 0x01, 0x00 };
        const uint8_t *body = NULL;
        size_t body_size = 0;
        assert_int_equal(frame_parse(buf, sizeof(buf), &body, &body_size), FRAME_HEADER_SIZE + 256);
        assert_int_equal(body_size, 256);

        /* 00 01 00 01 is 65537: over the cap, which little-endian would not be. */
        const uint8_t big[FRAME_HEADER_SIZE] = { 0x00, 0x01, 0x00, 0x01 };
        assert_int_equal(frame_parse(big, sizeof(big), &body, &body_size), -EMSGSIZE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whole_frame),       cmocka_unit_test(test_partial_header),
                cmocka_unit_test(test_partial_body),      cmocka_unit_test(test_two_frames_back_to_back),
                cmocka_unit_test(test_body_exactly_max),  cmocka_unit_test(test_over_max_rejected_from_header),
                cmocka_unit_test(test_zero_length),       cmocka_unit_test(test_header_round_trip),
                cmocka_unit_test(test_header_big_endian),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
