/* test-secret-buf.c — common/secret-buf.c: plaintext buffers and base64.
 *
 * Shows: base64 encode then decode gives the same bytes for every size
 * 0..100 and for SECRET_VALUE_SIZE_MAX; the encoding is standard padded
 * base64 (known answers from RFC 4648); a NUL follows the data of every
 * buffer, uncounted; invalid, unpadded and non-canonical base64 is -EINVAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto-limits.h"
#include "secret-buf.h"

static void fill(uint8_t *p, size_t n, unsigned seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (i * 167 + seed * 13 + (i >> 7));
}

static void round_trip(const uint8_t *data, size_t size) {
        _cleanup_(secret_buf_freep) SecretBuf *b64 = NULL, *back = NULL;

        assert_int_equal(secret_buf_to_base64(data, size, &b64), 0);
        assert_int_equal(b64->size, (size + 2) / 3 * 4);
        assert_int_equal(strlen((const char *) b64->data), b64->size);
        assert_int_equal(secret_buf_from_base64((const char *) b64->data, b64->size, &back), 0);
        assert_int_equal(back->size, size);
        if (size > 0)
                assert_memory_equal(back->data, data, size);
        assert_int_equal(back->data[size], 0);
}

static void test_round_trip_small_sizes(void **state) {
        (void) state;
        uint8_t data[100] = { 0 }; /* gcc -O3 cannot see fill() covers what is read */

        for (size_t size = 0; size <= sizeof(data); size++) {
                fill(data, size, (unsigned) size);
                round_trip(data, size);
        }
}

static void test_round_trip_max_size(void **state) {
        (void) state;
        static uint8_t data[SECRET_VALUE_SIZE_MAX];

        fill(data, sizeof(data), 7);
        round_trip(data, sizeof(data));
}

static void test_known_answers(void **state) {
        (void) state;
        /* RFC 4648 section 10. */
        static const char *const vectors[][2] = {
                { "", "" },
                { "f", "Zg==" },
                { "fo", "Zm8=" },
                { "foo", "Zm9v" },
                { "foob", "Zm9vYg==" },
                { "fooba", "Zm9vYmE=" },
                { "foobar", "Zm9vYmFy" },
        };
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                _cleanup_(secret_buf_freep) SecretBuf *enc = NULL, *dec = NULL;
                const char *plain = vectors[i][0], *b64 = vectors[i][1];

                assert_int_equal(secret_buf_to_base64(plain, strlen(plain), &enc), 0);
                assert_string_equal((const char *) enc->data, b64);
                assert_int_equal(secret_buf_from_base64(b64, strlen(b64), &dec), 0);
                assert_int_equal(dec->size, strlen(plain));
                assert_string_equal((const char *) dec->data, plain);
        }
        /* Both alphabet characters beyond the letters and digits: '+' and '/'. */
        _cleanup_(secret_buf_freep) SecretBuf *enc = NULL;
        const uint8_t hi[] = { 0xfb, 0xff, 0xbf };
        assert_int_equal(secret_buf_to_base64(hi, sizeof(hi), &enc), 0);
        assert_string_equal((const char *) enc->data, "+/+/");
}

static void test_nul_after_data(void **state) {
        (void) state;
        _cleanup_(secret_buf_freep) SecretBuf *a = NULL, *b = NULL, *c = NULL;
        uint8_t ones[16];

        memset(ones, 0xff, sizeof(ones));
        assert_int_equal(secret_buf_new_copy(ones, sizeof(ones), &a), 0);
        assert_int_equal(a->size, sizeof(ones));
        assert_memory_equal(a->data, ones, sizeof(ones));
        assert_int_equal(a->data[sizeof(ones)], 0);

        assert_int_equal(secret_buf_new(5, &b), 0);
        assert_int_equal(b->size, 5);
        for (size_t i = 0; i <= 5; i++)
                assert_int_equal(b->data[i], 0);

        /* Decoding shrinks the size to the decoded length: the NUL must be
         * right after the data, not only at the end of the allocation. */
        assert_int_equal(secret_buf_from_base64("/w==", 4, &c), 0);
        assert_int_equal(c->size, 1);
        assert_int_equal(c->data[0], 0xff);
        assert_int_equal(c->data[1], 0);
}

static void test_invalid_base64_rejected(void **state) {
        (void) state;
        static const char *const bad[] = {
                "Zg",         /* unpadded */
                "Zg=",        /* short padding */
                "Zm9vYg",     /* unpadded */
                "Zm9v!A==",   /* character outside the alphabet */
                "Zm9v-_==",   /* URL-safe alphabet */
                "Zm 9v",      /* space */
                "Zm9v\nYg==", /* newline */
                "====",       /* padding only */
                "Z===",       /* too much padding */
                "Zg==Zg==",   /* padding in the middle */
                "Zm9vYg==A",  /* trailing byte */
                "Zh==",       /* non-canonical: unused bits set ("f" is "Zg==") */
                "Zm9=",       /* non-canonical: unused bits set ("fo" is "Zm8=") */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                SecretBuf *b = NULL;
                assert_int_equal(secret_buf_from_base64(bad[i], strlen(bad[i]), &b), -EINVAL);
                assert_null(b);
        }
}

/* Our constant-time codec against libsodium's: the same encoding of every
 * input, and the same verdict and bytes on every decoded string, valid or
 * mutated. */
static void test_same_as_libsodium(void **state) {
        (void) state;
        uint8_t data[300], mine_bin[300], theirs_bin[300];
        char theirs[420], text[420];
        uint32_t seed = 12345;

        for (size_t size = 0; size < sizeof(data); size++) {
                SecretBuf *mine = NULL;
                fill(data, size, (unsigned) size);
                sodium_bin2base64(theirs, sizeof(theirs), data, size, sodium_base64_VARIANT_ORIGINAL);
                assert_int_equal(secret_buf_to_base64(data, size, &mine), 0);
                assert_int_equal(mine->size, strlen(theirs));
                assert_memory_equal(mine->data, theirs, mine->size);
                secret_buf_free(mine);
        }
        for (int round = 0; round < 20000; round++) {
                size_t size = (size_t) (round % 40);
                fill(data, size, (unsigned) round);
                sodium_bin2base64(text, sizeof(text), data, size, sodium_base64_VARIANT_ORIGINAL);
                size_t len = strlen(text);
                /* Mutate one or two characters of most strings. */
                for (int k = 0; k < (round % 3) && len > 0; k++) {
                        seed = seed * 1103515245u + 12345u;
                        /* ASCII only: libsodium 1.0.18 takes some bytes
                         * over 0x7f for base64 characters (signed char
                         * arithmetic); ours refuses them, see below. */
                        static const char alphabet[] = "AZaz09+/=-_ .~\n";
                        text[(seed >> 8) % len] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
                }
                size_t theirs_size = 0;
                int theirs_ok = sodium_base642bin(theirs_bin, sizeof(theirs_bin), text, len, NULL, &theirs_size, NULL,
                                                  sodium_base64_VARIANT_ORIGINAL) == 0;
                SecretBuf *mine = NULL;
                int mine_ok = secret_buf_from_base64(text, len, &mine) == 0;
                if (mine_ok != theirs_ok) {
                        char hex[2 * sizeof(text) + 1];
                        sodium_bin2hex(hex, sizeof(hex), (const uint8_t *) text, len);
                        fail_msg("%s (hex): ours %s, libsodium %s", hex, mine_ok ? "accepts" : "refuses",
                                 theirs_ok ? "accepts" : "refuses");
                }
                if (mine_ok) {
                        assert_int_equal(mine->size, theirs_size);
                        memcpy(mine_bin, mine->data, mine->size);
                        assert_memory_equal(mine_bin, theirs_bin, theirs_size);
                }
                secret_buf_free(mine);
        }
}

/* Bytes over 0x7f are never base64 characters. */
static void test_high_bytes_refused(void **state) {
        (void) state;
        const char *const bad[] = { "aA+\x80XQSr",
                                    "\xff"
                                    "AAA",
                                    "AAA\xc3", "AA\xa9=" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                SecretBuf *b = NULL;
                assert_int_equal(secret_buf_from_base64(bad[i], strlen(bad[i]), &b), -EINVAL);
        }
}

static void test_size_passed_is_honoured(void **state) {
        (void) state;
        _cleanup_(secret_buf_freep) SecretBuf *b = NULL;

        /* Only the first b64_size bytes count: "Zm9v" of "Zm9vYmFy". */
        assert_int_equal(secret_buf_from_base64("Zm9vYmFy", 4, &b), 0);
        assert_int_equal(b->size, 3);
        assert_string_equal((const char *) b->data, "foo");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_small_sizes),  cmocka_unit_test(test_round_trip_max_size),
                cmocka_unit_test(test_known_answers),           cmocka_unit_test(test_nul_after_data),
                cmocka_unit_test(test_invalid_base64_rejected), cmocka_unit_test(test_size_passed_is_honoured),
                cmocka_unit_test(test_same_as_libsodium),       cmocka_unit_test(test_high_bytes_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
