/* test-utf8.c — proto/utf8.c: UTF-8 sequences and cuts on a character
 * boundary.
 *
 * Shows: utf8_sequence_size() takes every well-formed sequence of 1 to 4
 * bytes and refuses overlong forms, surrogates, code points past U+10FFFF,
 * stray continuation bytes and truncated sequences; utf8_prefix_size()
 * never ends inside a character, wherever the limit falls in a character of
 * 2, 3 or 4 bytes, keeps a whole string within the limit, and drops the
 * incomplete last character of a string that was already cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "utf8.h"

static size_t seq(const char *s, size_t size) {
        return utf8_sequence_size((const unsigned char *) s, (const unsigned char *) s + size);
}

static void test_sequence_valid(void **state) {
        (void) state;
        assert_int_equal(seq("a", 1), 1);
        assert_int_equal(seq("\x7f", 1), 1);
        assert_int_equal(seq("\xc2\x80", 2), 2);         /* U+0080 */
        assert_int_equal(seq("\xdf\xbf", 2), 2);         /* U+07FF */
        assert_int_equal(seq("\xe0\xa0\x80", 3), 3);     /* U+0800 */
        assert_int_equal(seq("\xed\x9f\xbf", 3), 3);     /* U+D7FF */
        assert_int_equal(seq("\xee\x80\x80", 3), 3);     /* U+E000 */
        assert_int_equal(seq("\xef\xbf\xbf", 3), 3);     /* U+FFFF */
        assert_int_equal(seq("\xf0\x90\x80\x80", 4), 4); /* U+10000 */
        assert_int_equal(seq("\xf4\x80\x80\x80", 4), 4); /* U+100000 */
        assert_int_equal(seq("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
        assert_int_equal(seq("\xc3\xa9rest", 6), 2);
}

static void test_sequence_invalid(void **state) {
        (void) state;
        static const char *const bad[] = {
                "\x80",
                "\xbf", /* continuation bytes alone */
                "\xc0\x80",
                "\xc1\xbf", /* overlong 2-byte */
                "\xe0\x80\x80",
                "\xe0\x9f\xbf",     /* overlong 3-byte */
                "\xf0\x80\x80\x80", /* overlong 4-byte */
                "\xed\xa0\x80",
                "\xed\xbf\xbf",     /* surrogates */
                "\xf4\x90\x80\x80", /* U+110000 */
                "\xf5\x80\x80\x80",
                "\xff", /* never in UTF-8 */
                "\xc3\x28",
                "\xe2\x82\x28", /* a continuation byte missing */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (seq(bad[i], strlen(bad[i])) != 0)
                        fail_msg("sequence %zu taken", i);
        /* Truncated by the end of the text. */
        assert_int_equal(seq("\xc3\xa9", 1), 0);
        assert_int_equal(seq("\xe2\x82\xac", 2), 0);
        assert_int_equal(seq("\xf4\x80\x80\x80", 3), 0);
}

static void test_prefix_whole(void **state) {
        (void) state;
        assert_int_equal(utf8_prefix_size("", 0), 0);
        assert_int_equal(utf8_prefix_size("", 64), 0);
        assert_int_equal(utf8_prefix_size("abc", 0), 0);
        assert_int_equal(utf8_prefix_size("abc", 2), 2);
        assert_int_equal(utf8_prefix_size("abc", 3), 3);
        assert_int_equal(utf8_prefix_size("abc", 64), 3);
        assert_int_equal(utf8_prefix_size("\xf4\x80\x80\x80", 4), 4);
        assert_int_equal(utf8_prefix_size("\xf4\x80\x80\x80", 64), 4);
        assert_int_equal(utf8_prefix_size("a\xc3\xa9", (size_t) -1), 3);
}

/* A limit anywhere inside a character of each width, after any number of
 * whole characters: the cut is at the character's first byte. */
static void test_prefix_cut_inside_character(void **state) {
        (void) state;
        static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf4\x80\x80\x80" };
        for (size_t w = 0; w < ELEMENTSOF(chars); w++) {
                size_t width = w + 2;
                for (size_t ascii = 0; ascii < 6; ascii++) {
                        char s[64] = "";
                        memset(s, 'a', ascii);
                        for (int k = 0; k < 4; k++)
                                strcat(s, chars[w]);
                        for (size_t limit = 0; limit <= strlen(s); limit++) {
                                size_t want = limit < ascii ? limit : ascii + (limit - ascii) / width * width;
                                size_t got = utf8_prefix_size(s, limit);
                                if (got != want)
                                        fail_msg("%zu ASCII, %zu-byte characters, limit %zu: %zu, want %zu", ascii,
                                                 width, limit, got, want);
                        }
                }
        }
}

/* Text that snprintf() already cut inside a character: the incomplete
 * last one is dropped. */
static void test_prefix_of_cut_text(void **state) {
        (void) state;
        assert_int_equal(utf8_prefix_size("ab\xc3", 64), 2);
        assert_int_equal(utf8_prefix_size("ab\xe2\x82", 64), 2);
        assert_int_equal(utf8_prefix_size("ab\xe2", 64), 2);
        assert_int_equal(utf8_prefix_size("ab\xf4\x80\x80", 64), 2);
        assert_int_equal(utf8_prefix_size("ab\xf4", 64), 2);
        assert_int_equal(utf8_prefix_size("\xf4\x80", 64), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequence_valid),     cmocka_unit_test(test_sequence_invalid),
                cmocka_unit_test(test_prefix_whole),       cmocka_unit_test(test_prefix_cut_inside_character),
                cmocka_unit_test(test_prefix_of_cut_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
