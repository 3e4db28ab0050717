/* test-json-out.c — proto/json-out.c: JSON written straight into a buffer.
 *
 * Shows: what is written parses with jansson to the values written; keys
 * and strings are escaped (quotes, backslashes, every control character,
 * NUL) and UTF-8 passes through; commas are right in nested objects and
 * arrays; int64 extremes are exact; an embedded jansson value and raw JSON
 * go in as they are. Output that does not fit makes json_out_finish()
 * return -EMSGSIZE and never writes a byte past the capacity (a canary
 * after it, at every capacity from 0 up); too deep nesting and unclosed
 * containers are refused too. json_out_reset() wipes what was written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json-out.h"
#include "macro.h"

#define CANARY 0xcc
#define CANARY_SIZE 64

/* Write with build() into a buffer of capacity bytes followed by a canary;
 * returns json_out_finish(), checks the canary and the size, and hands out
 * the text (NUL-terminated copy) in *ret_text if it is not NULL. */
static int write_into(void (*build)(JsonOut *o), size_t capacity, char **ret_text, size_t *ret_size) {
        char *buf = malloc(capacity + CANARY_SIZE);
        JsonOut o;

        assert_non_null(buf);
        memset(buf, CANARY, capacity + CANARY_SIZE);
        json_out_init(&o, buf, capacity);
        build(&o);
        int r = json_out_finish(&o);
        for (size_t i = capacity; i < capacity + CANARY_SIZE; i++)
                if ((unsigned char) buf[i] != CANARY)
                        fail_msg("byte %zu written past capacity %zu", i, capacity);
        assert_true(o.size <= capacity);
        if (ret_text) {
                char *text = malloc(o.size + 1);
                assert_non_null(text);
                memcpy(text, buf, o.size);
                text[o.size] = '\0';
                *ret_text = text;
        }
        if (ret_size)
                *ret_size = o.size;
        free(buf);
        return r;
}

/* Write with ample room; the text must be valid JSON. */
static char *write_ok(void (*build)(JsonOut *o), size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        assert_int_equal(write_into(build, 1 << 16, &text, &size), 0);
        if (ret_size)
                *ret_size = size;
        return text;
}

static json_t *load(const char *text, size_t flags) {
        json_error_t e;
        json_t *j = json_loads(text, flags | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!j)
                fail_msg("not JSON (%s at %d): %s", e.text, e.position, text);
        return j;
}

static void build_every_kind(JsonOut *o) {
        json_t *embedded = json_pack("{s:s s:[i,b,n] s:{}}", "access_token", "a\"b", "list", 1, 1, "obj");
        json_out_open_object(o, NULL);
        json_out_int(o, "id", 7);
        json_out_bool(o, "ok", true);
        json_out_bool(o, "no", false);
        json_out_null(o, "nothing");
        json_out_cstring(o, "absent", NULL);
        json_out_cstring(o, "s", "text");
        json_out_string(o, "part", "abcdef", 3);
        json_out_int(o, "zero", 0);
        json_out_int(o, "minus_one", -1);
        json_out_int(o, "max", INT64_MAX);
        json_out_int(o, "min", INT64_MIN);
        json_out_json(o, "token", embedded);
        json_out_raw(o, "raw", "{\"x\":[1,2]}", 11);
        json_out_open_array(o, "array");
        json_out_int(o, NULL, 1);
        json_out_cstring(o, NULL, "two");
        json_out_null(o, NULL);
        json_out_json(o, NULL, embedded);
        json_out_raw(o, NULL, "3", 1);
        json_out_close_array(o);
        json_out_close_object(o);
        json_decref(embedded);
}

static void test_values_round_trip(void **state) {
        (void) state;
        char *text = write_ok(build_every_kind, NULL);
        json_t *got = load(text, 0);
        json_t *want =
                load("{\"id\":7,\"ok\":true,\"no\":false,\"nothing\":null,\"absent\":null,\"s\":\"text\","
                     "\"part\":\"abc\",\"zero\":0,\"minus_one\":-1,\"max\":9223372036854775807,"
                     "\"min\":-9223372036854775808,"
                     "\"token\":{\"access_token\":\"a\\\"b\",\"list\":[1,true,null],\"obj\":{}},"
                     "\"raw\":{\"x\":[1,2]},"
                     "\"array\":[1,\"two\",null,{\"access_token\":\"a\\\"b\",\"list\":[1,true,null],\"obj\":{}},3]}",
                     0);
        assert_true(json_equal(got, want));
        assert_true(json_integer_value(json_object_get(got, "max")) == INT64_MAX);
        assert_true(json_integer_value(json_object_get(got, "min")) == INT64_MIN);
        /* Compact: no whitespace outside strings. */
        assert_null(strchr(text, ' '));
        assert_null(strchr(text, '\n'));
        json_decref(got);
        json_decref(want);
        free(text);
}

static void build_integers(JsonOut *o) {
        static const int64_t v[] = { 0,
                                     1,
                                     -1,
                                     9,
                                     10,
                                     -10,
                                     99,
                                     100,
                                     1234567890,
                                     -1234567890,
                                     INT64_MAX,
                                     INT64_MAX - 1,
                                     INT64_MIN,
                                     INT64_MIN + 1,
                                     1000000000000000000,
                                     -999999999999999999 };
        json_out_open_array(o, NULL);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                json_out_int(o, NULL, v[i]);
        json_out_close_array(o);
}

static void test_integers(void **state) {
        (void) state;
        char *text = write_ok(build_integers, NULL);
        assert_string_equal(text, "[0,1,-1,9,10,-10,99,100,1234567890,-1234567890,9223372036854775807,"
                                  "9223372036854775806,-9223372036854775808,-9223372036854775807,"
                                  "1000000000000000000,-999999999999999999]");
        free(text);
}

/* Every byte 1..0x7f, a NUL, and multi-byte UTF-8, in a key and a value. */
static char every_char[0x7f + 1 + 16];
static size_t every_char_size;

static void build_escapes(JsonOut *o) {
        json_out_open_object(o, NULL);
        json_out_string(o, every_char + 1, every_char, every_char_size);
        json_out_cstring(o, "q", "\"quoted\" \\back\\slash\\");
        json_out_cstring(o, "\"\\", "key needs escaping");
        json_out_close_object(o);
}

static void test_escaping(void **state) {
        (void) state;
        size_t n = 0;
        every_char[n++] = '\0';
        for (int c = 1; c <= 0x7f; c++)
                every_char[n++] = (char) c;
        memcpy(every_char + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91", 9);
        n += 9;
        every_char[n] = '\0';
        every_char_size = n;

        char *text = write_ok(build_escapes, NULL);
        /* No raw control character reaches the output. */
        for (const char *p = text; *p; p++)
                assert_true((unsigned char) *p >= 0x20);
        assert_non_null(strstr(text, "\\u0000"));
        assert_non_null(strstr(text, "\\u001f"));
        assert_non_null(strstr(text, "\\\""));
        assert_non_null(strstr(text, "\\\\"));

        json_t *got = load(text, JSON_ALLOW_NUL);
        json_t *v = json_object_get(got, every_char + 1);
        assert_non_null(v);
        assert_int_equal(json_string_length(v), every_char_size);
        assert_memory_equal(json_string_value(v), every_char, every_char_size);
        assert_string_equal(json_string_value(json_object_get(got, "q")), "\"quoted\" \\back\\slash\\");
        assert_string_equal(json_string_value(json_object_get(got, "\"\\")), "key needs escaping");
        json_decref(got);
        free(text);
}

static void build_nested(JsonOut *o) {
        json_out_open_object(o, NULL);
        json_out_open_object(o, "a");
        json_out_int(o, "b", 1);
        json_out_close_object(o);
        json_out_int(o, "c", 2);
        json_out_open_array(o, "d");
        json_out_open_array(o, NULL);
        json_out_close_array(o);
        json_out_open_array(o, NULL);
        json_out_int(o, NULL, 1);
        json_out_close_array(o);
        json_out_open_array(o, NULL);
        json_out_int(o, NULL, 1);
        json_out_int(o, NULL, 2);
        json_out_close_array(o);
        json_out_open_object(o, NULL);
        json_out_close_object(o);
        json_out_open_object(o, NULL);
        json_out_open_array(o, "e");
        json_out_open_object(o, NULL);
        json_out_close_object(o);
        json_out_close_array(o);
        json_out_null(o, "f");
        json_out_close_object(o);
        json_out_close_array(o);
        json_out_open_object(o, "g");
        json_out_close_object(o);
        json_out_close_object(o);
}

static void test_nesting_and_commas(void **state) {
        (void) state;
        char *text = write_ok(build_nested, NULL);
        assert_string_equal(text, "{\"a\":{\"b\":1},\"c\":2,\"d\":[[],[1],[1,2],{},{\"e\":[{}],\"f\":null}],\"g\":{}}");
        json_decref(load(text, 0));
        free(text);
}

static unsigned depth_wanted;
static void build_deep(JsonOut *o) {
        for (unsigned i = 0; i < depth_wanted; i++)
                json_out_open_array(o, NULL);
        json_out_int(o, NULL, 1);
        for (unsigned i = 0; i < depth_wanted; i++)
                json_out_close_array(o);
}

static void build_unclosed(JsonOut *o) {
        json_out_open_object(o, NULL);
        json_out_open_array(o, "a");
        json_out_close_array(o);
}

static void test_depth_and_balance(void **state) {
        (void) state;
        char *text = NULL;

        depth_wanted = JSON_OUT_DEPTH_MAX;
        assert_int_equal(write_into(build_deep, 4096, &text, NULL), 0);
        assert_string_equal(text, "[[[[[[[[1]]]]]]]]");
        free(text);
        depth_wanted = JSON_OUT_DEPTH_MAX + 1;
        assert_int_equal(write_into(build_deep, 4096, NULL, NULL), -EMSGSIZE);
        depth_wanted = 100;
        assert_int_equal(write_into(build_deep, 4096, NULL, NULL), -EMSGSIZE);

        assert_int_equal(write_into(build_unclosed, 4096, NULL, NULL), -EMSGSIZE);
}

static char big_string[3000];
static json_t *big_json;

static void build_big(JsonOut *o) {
        json_out_open_object(o, NULL);
        json_out_int(o, "id", INT64_MIN);
        json_out_cstring(o, "esc", "\"\\\x01\x1f");
        json_out_string(o, "big", big_string, sizeof(big_string));
        json_out_json(o, "tree", big_json);
        json_out_open_array(o, "list");
        for (int i = 0; i < 20; i++)
                json_out_bool(o, NULL, i % 2);
        json_out_close_array(o);
        json_out_raw(o, "raw", "[\"raw raw raw\"]", 15);
        json_out_close_object(o);
}

/* At every capacity below the output's size, finish says -EMSGSIZE and not
 * a byte goes past the capacity; at the size and above, the same text. */
static void test_overflow_every_capacity(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof(big_string); i++)
                big_string[i] = "ab\"\\\x05z"[i % 6];
        big_json = json_pack("{s:s s:[s,s,i]}", "t", "\"embedded\"", "l", "x", "y\n", 12345);

        size_t full_size = 0;
        char *full = write_ok(build_big, &full_size);
        json_decref(load(full, 0));

        for (size_t cap = 0; cap < full_size; cap++)
                if (write_into(build_big, cap, NULL, NULL) != -EMSGSIZE)
                        fail_msg("capacity %zu of %zu: not refused", cap, full_size);
        for (size_t cap = full_size; cap < full_size + 3; cap++) {
                char *text = NULL;
                assert_int_equal(write_into(build_big, cap, &text, NULL), 0);
                assert_string_equal(text, full);
                free(text);
        }
        free(full);
        json_decref(big_json);
}

static void test_reset_wipes(void **state) {
        (void) state;
        char buf[256];
        JsonOut o;

        memset(buf, CANARY, sizeof(buf));
        json_out_init(&o, buf, 128);
        json_out_open_object(&o, NULL);
        json_out_cstring(&o, "value", "SECRET-VALUE-TO-WIPE");
        size_t written = o.size;
        assert_true(written > 20);
        json_out_reset(&o);

        for (size_t i = 0; i < written; i++)
                assert_int_equal(buf[i], 0);
        assert_int_equal((unsigned char) buf[written], CANARY);
        assert_int_equal(o.size, 0);
        assert_false(o.overflow);
        assert_int_equal(o.depth, 0);
        assert_ptr_equal(o.buf, buf);
        assert_int_equal(o.capacity, 128);

        /* Writing starts afresh: no comma left over from before. */
        json_out_open_object(&o, NULL);
        json_out_int(&o, "a", 1);
        json_out_close_object(&o);
        assert_int_equal(json_out_finish(&o), 0);
        assert_int_equal(o.size, 7);
        assert_memory_equal(buf, "{\"a\":1}", 7);

        /* After an overflow nothing of the value is left anywhere in the
         * buffer. */
        memset(buf, 0, 128);
        json_out_reset(&o);
        char long_value[200];
        memset(long_value, 'S', sizeof(long_value));
        json_out_open_object(&o, NULL);
        json_out_cstring(&o, "short", "SSSS");
        json_out_string(&o, "v", long_value, sizeof(long_value));
        assert_int_equal(json_out_finish(&o), -EMSGSIZE);
        json_out_reset(&o);
        for (size_t i = 0; i < 128; i++)
                assert_int_equal(buf[i], 0);
        assert_int_equal((unsigned char) buf[128], CANARY);
        assert_false(o.overflow);
        json_out_null(&o, NULL);
        assert_int_equal(json_out_finish(&o), 0);
        assert_memory_equal(buf, "null", 4);
}

/* When an embedded value overflows, the part json_dumpb() wrote past the
 * output's size is wiped too: it may be a secret cut in half. */
static void test_reset_wipes_partial_json(void **state) {
        (void) state;
        char buf[64 + CANARY_SIZE];
        JsonOut o;

        memset(buf, 0, 64);
        memset(buf + 64, CANARY, CANARY_SIZE);
        char refresh[200];
        memset(refresh, 'R', sizeof(refresh) - 1);
        refresh[sizeof(refresh) - 1] = '\0';
        json_t *token = json_pack("{s:s s:s}", "access_token", "SECRET-AT", "refresh_token", refresh);
        json_out_init(&o, buf, 64);
        json_out_open_object(&o, NULL);
        json_out_int(&o, "id", 1);
        json_out_json(&o, "token", token);
        assert_int_equal(json_out_finish(&o), -EMSGSIZE);
        json_out_reset(&o);
        json_decref(token);
        for (size_t i = 0; i < 64; i++)
                if (buf[i] != 0)
                        fail_msg("byte %zu not wiped: %.48s", i, buf + i);
        assert_int_equal((unsigned char) buf[64], CANARY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_values_round_trip), cmocka_unit_test(test_integers),
                cmocka_unit_test(test_escaping),          cmocka_unit_test(test_nesting_and_commas),
                cmocka_unit_test(test_depth_and_balance), cmocka_unit_test(test_overflow_every_capacity),
                cmocka_unit_test(test_reset_wipes),       cmocka_unit_test(test_reset_wipes_partial_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
