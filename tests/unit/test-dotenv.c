/* test-dotenv.c — client/cli/dotenv.c: each form of the env file syntax
 * `credvault import` reads, and each way a file is refused (with its line,
 * and never a byte of the input in the message). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dotenv.h"

static Dotenv *parse_ok(const char *text) {
        DotenvError e = {};
        Dotenv *d = NULL;
        int r = dotenv_parse(text, strlen(text), &d, &e);
        if (r < 0)
                print_error("unexpected error at line %u: %s\n", e.line, e.message);
        assert_int_equal(r, 0);
        assert_non_null(d);
        return d;
}

/* Entry i is name=value (value_size bytes, NULs allowed) from line. */
static void entry_is(const Dotenv *d, size_t i, const char *name, const char *value, size_t value_size, unsigned line) {
        assert_true(i < d->n_entries);
        assert_string_equal(d->entries[i].name, name);
        assert_int_equal(d->entries[i].value->size, value_size);
        assert_memory_equal(d->entries[i].value->data, value, value_size);
        assert_int_equal(d->entries[i].value->data[value_size], 0); /* usable as a string */
        assert_int_equal(d->entries[i].line, line);
}
#define ENTRY_IS(d, i, name, value, line) entry_is(d, i, name, value, sizeof(value) - 1, line)

/* Refused at line, with a message containing want; never with a byte of
 * the line "s3cret" appears on. */
static void parse_fails(const char *text, size_t size, unsigned line, const char *want) {
        DotenvError e = {};
        Dotenv *d = (Dotenv *) 0x1;
        assert_int_equal(dotenv_parse(text, size, &d, &e), -EBADMSG);
        assert_ptr_equal(d, (Dotenv *) 0x1); /* untouched */
        if (e.line != line || !strstr(e.message, want))
                print_error("got line %u: %s\n", e.line, e.message);
        assert_int_equal(e.line, line);
        assert_non_null(strstr(e.message, want));
        assert_null(strstr(e.message, "s3cret"));
}
#define PARSE_FAILS(text, line, want) parse_fails(text, sizeof(text) - 1, line, want)

static void test_empty_comments_blank_lines(void **state) {
        (void) state;
        Dotenv *d = parse_ok("");
        assert_int_equal(d->n_entries, 0);
        dotenv_free(d);
        d = parse_ok("# only a comment\n\n   \n\t# indented comment\n");
        assert_int_equal(d->n_entries, 0);
        dotenv_free(d);
        d = parse_ok("\n# c\nA=1\n\n  # c=2\nB=2");
        assert_int_equal(d->n_entries, 2);
        ENTRY_IS(d, 0, "A", "1", 3);
        ENTRY_IS(d, 1, "B", "2", 6); /* no final newline */
        dotenv_free(d);
}

static void test_unquoted(void **state) {
        (void) state;
        Dotenv *d = parse_ok("A=plain\n"
                             "B=trailing blanks \t \n"
                             "C=  leading blanks\n"
                             "D=value # a comment\n"
                             "E=no#comment\n"
                             "F= # only a comment\n"
                             "G=\n"
                             "H=#hash first\n"
                             "I=inner  spaces\tkept\n"
                             "J=quotes'in\"side\\n=and=equals\n"
                             "K=$HOME ${X}\n");
        ENTRY_IS(d, 0, "A", "plain", 1);
        ENTRY_IS(d, 1, "B", "trailing blanks", 2);
        ENTRY_IS(d, 2, "C", "leading blanks", 3);
        ENTRY_IS(d, 3, "D", "value", 4);
        ENTRY_IS(d, 4, "E", "no#comment", 5);
        ENTRY_IS(d, 5, "F", "", 6);
        ENTRY_IS(d, 6, "G", "", 7);
        ENTRY_IS(d, 7, "H", "#hash first", 8);
        ENTRY_IS(d, 8, "I", "inner  spaces\tkept", 9);
        ENTRY_IS(d, 9, "J", "quotes'in\"side\\n=and=equals", 10);
        ENTRY_IS(d, 10, "K", "$HOME ${X}", 11); /* no expansion */
        assert_int_equal(d->n_entries, 11);
        dotenv_free(d);
}

static void test_export_and_blanks_around_equals(void **state) {
        (void) state;
        Dotenv *d = parse_ok("export A=1\n"
                             "export\t \tB=2\n"
                             "  export C = 3\n"
                             "D\t=\t4\n"
                             "exported=5\n");
        ENTRY_IS(d, 0, "A", "1", 1);
        ENTRY_IS(d, 1, "B", "2", 2);
        ENTRY_IS(d, 2, "C", "3", 3);
        ENTRY_IS(d, 3, "D", "4", 4);
        ENTRY_IS(d, 4, "exported", "5", 5);
        dotenv_free(d);
        /* Without a name after it, "export" is the name. */
        d = parse_ok("export=6\n");
        ENTRY_IS(d, 0, "export", "6", 1);
        dotenv_free(d);
        d = parse_ok("export = 7\n");
        ENTRY_IS(d, 0, "export", "7", 1);
        dotenv_free(d);
}

static void test_names_are_secret_names(void **state) {
        char text[DOTENV_NAME_SIZE_MAX + 8];
        (void) state;
        Dotenv *d = parse_ok("lower_case=1\nwith.dot:colon@at-dash=2\n0LEADING_DIGIT=3\n");
        ENTRY_IS(d, 0, "lower_case", "1", 1);
        ENTRY_IS(d, 1, "with.dot:colon@at-dash", "2", 2);
        ENTRY_IS(d, 2, "0LEADING_DIGIT", "3", 3);
        dotenv_free(d);

        memset(text, 'N', DOTENV_NAME_SIZE_MAX);
        strcpy(text + DOTENV_NAME_SIZE_MAX, "=v\n");
        d = parse_ok(text);
        assert_int_equal(strlen(d->entries[0].name), DOTENV_NAME_SIZE_MAX);
        dotenv_free(d);
        memset(text, 'N', DOTENV_NAME_SIZE_MAX + 1);
        strcpy(text + DOTENV_NAME_SIZE_MAX + 1, "=v\n");
        parse_fails(text, strlen(text), 1, "longer than 128");
}

static void test_single_quotes_are_literal(void **state) {
        (void) state;
        Dotenv *d = parse_ok("A='back\\slash \\n \"dq\" # not a comment $X'\n"
                             "B='  kept blanks  '   # comment\n"
                             "C=''\n"
                             "D='line one\n"
                             "line two\n"
                             "'\n"
                             "E = 'after'\n");
        ENTRY_IS(d, 0, "A", "back\\slash \\n \"dq\" # not a comment $X", 1);
        ENTRY_IS(d, 1, "B", "  kept blanks  ", 2);
        ENTRY_IS(d, 2, "C", "", 3);
        ENTRY_IS(d, 3, "D", "line one\nline two\n", 4);
        ENTRY_IS(d, 4, "E", "after", 7); /* lines counted inside the quotes */
        dotenv_free(d);
}

static void test_double_quotes_escapes_and_lines(void **state) {
        (void) state;
        Dotenv *d = parse_ok("A=\"a\\nb\\tc\\rd\\\"e\\\\f\"\n"
                             "B=\"# not a comment 'sq' $X\"  # comment\n"
                             "C=\"\"\n"
                             "D=\"-----BEGIN KEY-----\n"
                             "MIIB\n"
                             "-----END KEY-----\"\n"
                             "E=\"  kept  \"\n"
                             "F=\"x\"\n");
        ENTRY_IS(d, 0, "A", "a\nb\tc\rd\"e\\f", 1);
        ENTRY_IS(d, 1, "B", "# not a comment 'sq' $X", 2);
        ENTRY_IS(d, 2, "C", "", 3);
        ENTRY_IS(d, 3, "D", "-----BEGIN KEY-----\nMIIB\n-----END KEY-----", 4);
        ENTRY_IS(d, 4, "E", "  kept  ", 7);
        ENTRY_IS(d, 5, "F", "x", 8);
        dotenv_free(d);
}

static void test_crlf_and_bom(void **state) {
        (void) state;
        Dotenv *d = parse_ok("\xEF\xBB\xBF"
                             "A=1\r\n"
                             "\r\n"
                             "# c\r\n"
                             "B=two words  \r\n"
                             "C='q'\r\n"
                             "D=\"d\"  \r\n");
        ENTRY_IS(d, 0, "A", "1", 1);
        ENTRY_IS(d, 1, "B", "two words", 4);
        ENTRY_IS(d, 2, "C", "q", 5);
        ENTRY_IS(d, 3, "D", "d", 6);
        dotenv_free(d);
}

static void test_refused_lines(void **state) {
        (void) state;
        PARSE_FAILS("A=1\ns3cret_value_alone\n", 2, "no '=' after the name");
        PARSE_FAILS("A=1\n\n=s3cret\n", 3, "no name before '='");
        PARSE_FAILS("two words=s3cret\n", 1, "no '=' after the name");
        PARSE_FAILS("export\n", 1, "no '=' after the name");
        PARSE_FAILS("export A\n", 1, "no '=' after the name");
        PARSE_FAILS("A/B=s3cret\n", 1, "not a secret name");
        PARSE_FAILS("caf\xC3\xA9=s3cret\n", 1, "not a secret name");
        PARSE_FAILS("A#=s3cret\n", 1, "not a secret name");
}

static void test_refused_quotes(void **state) {
        (void) state;
        PARSE_FAILS("A=1\nB='s3cret\nC=2\n", 2, "unterminated single quote");
        PARSE_FAILS("A=\"s3cret\nmore\n", 1, "unterminated double quote");
        PARSE_FAILS("A=\"s3cret\\", 1, "unterminated double quote");
        PARSE_FAILS("A=\"line\ns3cret\\x\"\n", 2, "unknown escape");
        PARSE_FAILS("A=\"C:\\s3cret\"\n", 1, "unknown escape");
        PARSE_FAILS("A='s3cret'trailing\n", 1, "text after the closing quote");
        PARSE_FAILS("A=\"s3cret\" \"more\"\n", 1, "text after the closing quote");
        PARSE_FAILS("A='x'\n\nB='multi\nline' s3cret\n", 4, "text after the closing quote");
}

static void test_refused_duplicates_and_nul(void **state) {
        (void) state;
        PARSE_FAILS("A=1\nB=2\nexport A=3\nB=4\n", 3, "A is set again (first on line 1)");
        PARSE_FAILS("B=1\nA=2\nA=3\nB=4\nA=5\n", 3, "A is set again (first on line 2)");
        PARSE_FAILS("A=1\nB=s3\0cret\n", 2, "NUL byte");
        PARSE_FAILS("A='1\n\n\0'\n", 3, "NUL byte");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_comments_blank_lines),
                cmocka_unit_test(test_unquoted),
                cmocka_unit_test(test_export_and_blanks_around_equals),
                cmocka_unit_test(test_names_are_secret_names),
                cmocka_unit_test(test_single_quotes_are_literal),
                cmocka_unit_test(test_double_quotes_escapes_and_lines),
                cmocka_unit_test(test_crlf_and_bom),
                cmocka_unit_test(test_refused_lines),
                cmocka_unit_test(test_refused_quotes),
                cmocka_unit_test(test_refused_duplicates_and_nul),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
