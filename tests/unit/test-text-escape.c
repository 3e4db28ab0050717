/* test-text-escape.c — common/text-escape.c: untrusted bytes made
 * printable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text-escape.h"

static void test_printable_ascii_unchanged(void **state) {
        char out[64];
        (void) state;
        assert_string_equal(text_escape("plugin db/main-1 version 3", out, sizeof(out)), "plugin db/main-1 version 3");
        assert_string_equal(text_escape("", out, sizeof(out)), "");
}

static void test_controls_and_high_bytes_escaped(void **state) {
        char out[64];
        (void) state;
        /* ESC [ 2 J (clear the screen), a newline, DEL, a C1 CSI byte, UTF-8 é, a backslash. */
        assert_string_equal(text_escape("a\x1b[2Jb\nc\x7f\x9b\xc3\xa9\\", out, sizeof(out)),
                            "a\\x1b[2Jb\\x0ac\\x7f\\x9b\\xc3\\xa9\\x5c");
        for (const char *p = out; *p; p++)
                assert_true(*p >= 0x20 && *p < 0x7f);
}

static void test_truncates_whole_escapes(void **state) {
        char out[8];
        (void) state;
        assert_string_equal(text_escape("abcdefghij", out, sizeof(out)), "abcdefg");
        /* "ab" + \x1b would need 2 + 4 + 1 bytes: it fits; the next does not. */
        assert_string_equal(text_escape("ab\x1b\x1b", out, sizeof(out)), "ab\\x1b");
        assert_string_equal(text_escape("abcd\x1b", out, sizeof(out)), "abcd");
        char one[1] = { 'x' };
        assert_string_equal(text_escape("abc", one, sizeof(one)), "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_printable_ascii_unchanged),
                cmocka_unit_test(test_controls_and_high_bytes_escaped),
                cmocka_unit_test(test_truncates_whole_escapes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
