/* test-json-flat.c — proto/json-flat.c: the in-place reader of flat objects.
 *
 * Shows: flat objects of strings, integers, true, false and null, with any
 * JSON whitespace, are read with their members in order, and a NUL goes
 * over the closing quote of each key and string and nowhere else; every
 * other input (nested values, escapes, reals, leading zeros, integers out
 * of int64, duplicate keys, invalid UTF-8, control characters, trailing
 * bytes, more than FLAT_FIELDS_MAX members, nothing) returns -ENOTSUP and
 * leaves the text as it was. A differential check against jansson: over
 * generated flat objects and mutations of them, whatever json_flat_parse()
 * accepts, jansson (JSON_REJECT_DUPLICATES) accepts with the same members. */
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

#include "json-flat.h"
#include "macro.h"

static FlatValue values[FLAT_FIELDS_MAX];

/* Parse a copy of size bytes of text (with a guard byte after it, which
 * must survive); the copy stays readable until the next call. */
static char *copy;
static int parse_n(const char *text, size_t size) {
        free(copy);
        copy = malloc(size + 1);
        assert_non_null(copy);
        memcpy(copy, text, size);
        copy[size] = '#';
        memset(values, 0xa5, sizeof(values));
        int r = json_flat_parse(copy, size, values, 0);
        assert_int_equal(copy[size], '#');
        return r;
}

static int parse(const char *text) {
        return parse_n(text, strlen(text));
}

/* Expect -ENOTSUP, and the text unchanged. */
static void assert_refused_n(const char *text, size_t size) {
        int r = parse_n(text, size);
        if (r != -ENOTSUP)
                fail_msg("accepted (%d): %.*s", r, (int) size, text);
        assert_memory_equal(copy, text, size);
}

#define assert_refused(text) assert_refused_n((text), sizeof(text) - 1)

static void assert_string_member(size_t i, const char *key, const char *str) {
        assert_string_equal(values[i].key, key);
        assert_int_equal(values[i].key_size, strlen(key));
        assert_int_equal(values[i].type, FLAT_STRING);
        assert_string_equal(values[i].str, str);
        assert_int_equal(values[i].str_size, strlen(str));
}

static void assert_integer_member(size_t i, const char *key, int64_t v) {
        assert_string_equal(values[i].key, key);
        assert_int_equal(values[i].type, FLAT_INTEGER);
        assert_true(values[i].integer == v);
}

static void test_flat_objects(void **state) {
        (void) state;

        assert_int_equal(parse("{}"), 0);
        assert_int_equal(parse(" \t\r\n{ \n}\r\n "), 0);

        assert_int_equal(parse("{\"id\":7,\"op\":\"secret.get\",\"plugin\":\"todo\",\"name\":\"n\"}"), 4);
        assert_integer_member(0, "id", 7);
        assert_string_member(1, "op", "secret.get");
        assert_string_member(2, "plugin", "todo");
        assert_string_member(3, "name", "n");

        assert_int_equal(parse("{ \"t\" : true ,\n\"f\"\t:\tfalse\r,\"n\":null, \"e\":\"\", \"z\":0, \"m\":-0,"
                               "\"neg\":-42 }"),
                         7);
        assert_int_equal(values[0].type, FLAT_TRUE);
        assert_int_equal(values[1].type, FLAT_FALSE);
        assert_int_equal(values[2].type, FLAT_NULL);
        assert_string_member(3, "e", "");
        assert_integer_member(4, "z", 0);
        assert_integer_member(5, "m", 0);
        assert_integer_member(6, "neg", -42);

        /* An empty key is a key; UTF-8 of every length is fine. */
        assert_int_equal(parse("{\"\":1,\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xf4\x8f\xbf\xbf\x7f\"}"), 2);
        assert_integer_member(0, "", 1);
        assert_string_member(1, "k", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\xf4\x8f\xbf\xbf\x7f");

        /* A slash needs no escape; '{' and ':' inside strings are text. */
        assert_int_equal(parse("{\"url\":\"https://a.example/{x}\",\"a,b\":\"}\"}"), 2);
        assert_string_member(0, "url", "https://a.example/{x}");
        assert_string_member(1, "a,b", "}");
}

static void test_integer_range(void **state) {
        (void) state;
        assert_int_equal(parse("{\"max\":9223372036854775807,\"min\":-9223372036854775808}"), 2);
        assert_integer_member(0, "max", INT64_MAX);
        assert_integer_member(1, "min", INT64_MIN);

        assert_refused("{\"a\":9223372036854775808}");
        assert_refused("{\"a\":-9223372036854775809}");
        assert_refused("{\"a\":18446744073709551616}");
        assert_refused("{\"a\":99999999999999999999999}");
        assert_refused("{\"a\":-99999999999999999999999}");
        assert_refused("{\"a\":184467440737095516150}");
}

static void test_nul_over_closing_quotes(void **state) {
        (void) state;
        const char text[] = "{\"ab\":\"cd\", \"n\":5,\"t\":true}";
        assert_int_equal(parse(text), 3);
        for (size_t i = 0; i < sizeof(text) - 1; i++) {
                bool closing = i == 4 || i == 9 || i == 14 || i == 20;
                if (closing)
                        assert_int_equal(copy[i], '\0');
                else
                        assert_int_equal(copy[i], text[i]);
        }
        /* The pointers are into the text itself. */
        assert_ptr_equal(values[0].key, copy + 2);
        assert_ptr_equal(values[0].str, copy + 7);
        assert_ptr_equal(values[1].key, copy + 13);
        assert_ptr_equal(values[2].key, copy + 19);

        assert_ptr_equal(json_flat_get(values, 3, "n"), &values[1]);
        assert_ptr_equal(json_flat_get(values, 3, "ab"), &values[0]);
        assert_null(json_flat_get(values, 3, "a"));
        assert_null(json_flat_get(values, 3, "abc"));
        assert_null(json_flat_get(values, 0, "ab"));
}

static void test_not_flat(void **state) {
        (void) state;
        /* Nested values. */
        assert_refused("{\"a\":{}}");
        assert_refused("{\"a\":{\"b\":1}}");
        assert_refused("{\"a\":[]}");
        assert_refused("{\"id\":1,\"token\":{\"access_token\":\"x\"}}");
        assert_refused("[1,2]");
        assert_refused("\"str\"");
        assert_refused("7");
        assert_refused("null");
        /* Escapes, in keys and in values. */
        assert_refused("{\"a\":\"x\\\"y\"}");
        assert_refused("{\"a\":\"\\n\"}");
        assert_refused("{\"a\":\"\\u0041\"}");
        assert_refused("{\"a\":\"\\/\"}");
        assert_refused("{\"a\\u0062\":1}");
        assert_refused("{\"a\":\"x\\\\\"}");
        /* Reals and number syntax. */
        assert_refused("{\"a\":1.5}");
        assert_refused("{\"a\":1.0}");
        assert_refused("{\"a\":1e3}");
        assert_refused("{\"a\":1E3}");
        assert_refused("{\"a\":-1e-3}");
        assert_refused("{\"a\":01}");
        assert_refused("{\"a\":00}");
        assert_refused("{\"a\":-01}");
        assert_refused("{\"a\":-}");
        assert_refused("{\"a\":+1}");
        assert_refused("{\"a\":.5}");
        assert_refused("{\"a\":0x10}");
        assert_refused("{\"a\":1 2}");
        /* Literals that are not quite. */
        assert_refused("{\"a\":tru}");
        assert_refused("{\"a\":truex}");
        assert_refused("{\"a\":True}");
        assert_refused("{\"a\":nul}");
        assert_refused("{\"a\":nulll}");
        assert_refused("{\"a\":undefined}");
        assert_refused("{\"a\":'x'}");
        /* Duplicate keys. */
        assert_refused("{\"a\":1,\"a\":2}");
        assert_refused("{\"a\":1,\"b\":2,\"a\":\"x\"}");
        assert_refused("{\"\":1,\"\":1}");
        /* Structure. */
        assert_refused("");
        assert_refused("   ");
        assert_refused("{");
        assert_refused("}");
        assert_refused("{\"a\"}");
        assert_refused("{\"a\":}");
        assert_refused("{\"a\" 1}");
        assert_refused("{\"a\":1,}");
        assert_refused("{,\"a\":1}");
        assert_refused("{\"a\":1 \"b\":2}");
        assert_refused("{\"a\":1;\"b\":2}");
        assert_refused("{a:1}");
        assert_refused("{\"a\":\"unterminated}");
        assert_refused("{\"a\":\"b\"");
        assert_refused("{\"a\":1}{}");
        assert_refused("{\"a\":1} x");
        assert_refused("{\"a\":\"b\"}}");
        assert_refused("{\"a\":1}\n,");
        assert_refused("\xef\xbb\xbf{}");
        /* Whitespace JSON does not know. */
        assert_refused("{\"a\":1,\v\"b\":2}");
        assert_refused("{\f}");
        assert_refused("{}\f");
}

static void test_bytes(void **state) {
        (void) state;
        /* Raw control characters, NUL included, in strings and keys. */
        for (int ch = 0; ch < 0x20; ch++) {
                char text[32];
                int n = snprintf(text, sizeof(text), "{\"a\":\"x%cy\"}", ch ? ch : '@');
                if (!ch)
                        text[7] = '\0';
                assert_refused_n(text, (size_t) n);
                n = snprintf(text, sizeof(text), "{\"a%cb\":1}", ch ? ch : '@');
                if (!ch)
                        text[3] = '\0';
                assert_refused_n(text, (size_t) n);
        }
        assert_refused_n("{\"a\":1}\0", 8);
        assert_refused_n("{\"a\":\"x\0\"}", 10);

        /* Invalid UTF-8: overlong forms, surrogates, past U+10FFFF, bytes
         * that never start a sequence, sequences cut short. */
        const char *bad[] = {
                "\xc0\x80",
                "\xc1\xbf",
                "\xe0\x80\x80",
                "\xe0\x9f\xbf",
                "\xf0\x80\x80\x80",
                "\xf0\x8f\xbf\xbf",
                "\xed\xa0\x80",
                "\xed\xbf\xbf",
                "\xf4\x90\x80\x80",
                "\xf5\x80\x80\x80",
                "\xf8\x88\x80\x80\x80",
                "\xff",
                "\xfe",
                "\x80",
                "\xbf",
                "\xc3",
                "\xe2\x82",
                "\xf0\x9f\x94",
                "\xc3\x41",
                "\xe2\x41\x82",
                "\xf0\x9f\x94\x41",
                "\xc3\xc3\xa9",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char text[64];
                int n = snprintf(text, sizeof(text), "{\"k\":\"a%sb\"}", bad[i]);
                assert_refused_n(text, (size_t) n);
                n = snprintf(text, sizeof(text), "{\"k%s\":1}", bad[i]);
                assert_refused_n(text, (size_t) n);
                /* Cut at the end of the buffer, inside the string. */
                n = snprintf(text, sizeof(text), "{\"k\":\"%s", bad[i]);
                assert_refused_n(text, (size_t) n);
        }
        /* A valid sequence cut off by the end of the buffer. */
        assert_refused_n("{\"k\":\"\xe2\x82\xac\"}", 7);
        assert_refused_n("{\"k\":\"\xf0\x9f\x94\x91", 9);
}

static void test_member_count(void **state) {
        (void) state;
        char text[512];
        int n = snprintf(text, sizeof(text), "{");
        for (int i = 0; i < FLAT_FIELDS_MAX; i++)
                n += snprintf(text + n, sizeof(text) - (size_t) n, "%s\"k%d\":%d", i ? "," : "", i, i);
        snprintf(text + n, sizeof(text) - (size_t) n, "}");
        assert_int_equal(parse(text), FLAT_FIELDS_MAX);
        char last[16];
        snprintf(last, sizeof(last), "k%d", FLAT_FIELDS_MAX - 1);
        assert_integer_member(FLAT_FIELDS_MAX - 1, last, FLAT_FIELDS_MAX - 1);

        snprintf(text + n, sizeof(text) - (size_t) n, ",\"k%d\":\"s\"}", FLAT_FIELDS_MAX);
        assert_refused_n(text, strlen(text));
}

/* With max_depth 1, objects one level down are read too (a reply carrying
 * a token set); deeper ones, arrays and duplicates within one object still
 * are not, while the same key in two objects is fine. */
static void test_nested_one_level(void **state) {
        (void) state;
        char text[] = "{\"id\":7,\"token\":{\"access_token\":\"at\",\"expires_at\":99,\"id\":1},\"ok\":true}";
        char work[sizeof(text)];

        memcpy(work, text, sizeof(text));
        assert_int_equal(json_flat_parse(work, sizeof(text) - 1, values, 0), -ENOTSUP);
        assert_memory_equal(work, text, sizeof(text));

        int n = json_flat_parse(work, sizeof(text) - 1, values, 1);
        assert_int_equal(n, 6);
        const FlatValue *t = json_flat_get(values, (size_t) n, "token");
        assert_non_null(t);
        assert_int_equal(t->type, FLAT_OBJECT);
        assert_int_equal(t->n_members, 3);
        assert_string_equal(json_flat_member(values, (size_t) n, t, "access_token")->str, "at");
        assert_int_equal(json_flat_member(values, (size_t) n, t, "expires_at")->integer, 99);
        /* "id" at the top is 7, inside the token 1. */
        assert_int_equal(json_flat_get(values, (size_t) n, "id")->integer, 7);
        assert_int_equal(json_flat_member(values, (size_t) n, t, "id")->integer, 1);
        assert_null(json_flat_get(values, (size_t) n, "access_token"));
        assert_int_equal(json_flat_get(values, (size_t) n, "ok")->type, FLAT_TRUE);

        const char *refused[] = {
                "{\"a\":{\"b\":{\"c\":1}}}",
                "{\"a\":{\"b\":[1]}}",
                "{\"a\":{\"b\":1,\"b\":2}}",
                "{\"a\":{\"b\":1}",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char buf[64];
                size_t len = strlen(refused[i]);
                memcpy(buf, refused[i], len + 1);
                assert_int_equal(json_flat_parse(buf, len, values, 1), -ENOTSUP);
                assert_memory_equal(buf, refused[i], len);
        }
        char empty[] = "{\"a\":{},\"b\":{\"a\":1}}";
        assert_int_equal(json_flat_parse(empty, sizeof(empty) - 1, values, 1), 3);
}

/* ---- differential check against jansson ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
        /* xorshift64*: deterministic, so a failure reproduces. */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}
static size_t rnd_below(size_t n) {
        return (size_t) (rnd() % n);
}

static const char *const pieces_ws[] = { "", "", "", " ", "\n", "\t", "\r\n  " };
static const char *const pieces_key[] = { "id",         "op",  "plugin",           "name", "user", "v", "",
                                          "k\xc3\xa9y", "a b", "\xf0\x9f\x94\x91", "limit" };
static const char *const pieces_str[] = { "",      "todo", "secret.get",       "a/b", "\xe2\x82\xac", "{}[]:,",
                                          "x y z", "\x7f", "\xc3\xa9t\xc3\xa9" };
static const char *const pieces_int[] = {
        "0", "-0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808", "1234567890123", "-77"
};
static const char *const pieces_lit[] = { "true", "false", "null" };

/* A flat object, in the subset: members with distinct keys. */
static size_t gen_flat(char *buf, size_t cap) {
        size_t n = 0, n_members = rnd_below(FLAT_FIELDS_MAX + 1);
        bool used[ELEMENTSOF(pieces_key)] = {};
        char key_extra[24];

#define PUT(s) n += (size_t) snprintf(buf + n, cap - n, "%s", (s))
        PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
        PUT("{");
        for (size_t i = 0; i < n_members; i++) {
                size_t k = rnd_below(ELEMENTSOF(pieces_key));
                if (i)
                        PUT(",");
                PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
                PUT("\"");
                if (used[k]) {
                        snprintf(key_extra, sizeof(key_extra), "x%zu", i);
                        PUT(key_extra);
                } else {
                        used[k] = true;
                        PUT(pieces_key[k]);
                }
                PUT("\"");
                PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
                PUT(":");
                PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
                switch (rnd_below(3)) {
                case 0:
                        PUT("\"");
                        PUT(pieces_str[rnd_below(ELEMENTSOF(pieces_str))]);
                        PUT("\"");
                        break;
                case 1:
                        PUT(pieces_int[rnd_below(ELEMENTSOF(pieces_int))]);
                        break;
                default:
                        PUT(pieces_lit[rnd_below(ELEMENTSOF(pieces_lit))]);
                }
                PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
        }
        PUT("}");
        PUT(pieces_ws[rnd_below(ELEMENTSOF(pieces_ws))]);
#undef PUT
        assert_true(n < cap);
        return n;
}

/* Bytes that make JSON interesting. */
static char interesting_byte(void) {
        static const char bytes[] =
                "{}[]\":,\\ 0123456789-+.eEtfnul\t\n\x01\x7f\x80\xbf\xc0\xc3\xe0\xed\xf0\xf4\xf5\xff";
        return bytes[rnd_below(sizeof(bytes) - 1)];
}

/* A random edit: change, insert, delete or duplicate a few bytes; or cut. */
static size_t mutate(char *buf, size_t n, size_t cap) {
        size_t edits = 1 + rnd_below(3);
        for (size_t e = 0; e < edits; e++) {
                size_t at = n ? rnd_below(n) : 0;
                switch (rnd_below(6)) {
                case 0:
                        if (n)
                                buf[at] = interesting_byte();
                        break;
                case 1:
                        if (n + 1 < cap) {
                                memmove(buf + at + 1, buf + at, n - at);
                                buf[at] = interesting_byte();
                                n++;
                        }
                        break;
                case 2:
                        if (n) {
                                memmove(buf + at, buf + at + 1, n - at - 1);
                                n--;
                        }
                        break;
                case 3: {
                        size_t len = 1 + rnd_below(8);
                        if (at + len <= n && n + len < cap) {
                                memmove(buf + at + len, buf + at, n - at);
                                n += len;
                        }
                        break;
                }
                case 4:
                        n = at;
                        break;
                default:
                        if (n)
                                buf[at] ^= (char) (1u << rnd_below(8));
                }
        }
        return n;
}

static int n_accepted, n_refused;

/* Run both parsers over text[0..n); if ours accepts, jansson must too, with
 * the same members. If ours refuses, the text must be unchanged. */
static void differential(const char *text, size_t n, bool must_accept) {
        char *mine = malloc(n + 1);
        assert_non_null(mine);
        memcpy(mine, text, n);
        mine[n] = '\0';
        int r = json_flat_parse(mine, n, values, 0);
        if (r < 0) {
                assert_int_equal(r, -ENOTSUP);
                if (memcmp(mine, text, n) != 0)
                        fail_msg("refused input was changed: %.*s", (int) n, text);
                if (must_accept)
                        fail_msg("a flat object was refused: %.*s", (int) n, text);
                n_refused++;
                free(mine);
                return;
        }
        n_accepted++;

        json_error_t e;
        json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &e);
        if (!j)
                fail_msg("accepted what jansson refuses (%s): %.*s", e.text, (int) n, text);
        assert_true(json_is_object(j));
        assert_int_equal(json_object_size(j), (size_t) r);
        for (int i = 0; i < r; i++) {
                const FlatValue *v = &values[i];
                assert_int_equal(strlen(v->key), v->key_size);
                json_t *m = json_object_getn(j, v->key, v->key_size);
                if (!m)
                        fail_msg("key '%s' unknown to jansson: %.*s", v->key, (int) n, text);
                switch (v->type) {
                case FLAT_STRING:
                        assert_true(json_is_string(m));
                        assert_int_equal(json_string_length(m), v->str_size);
                        assert_memory_equal(json_string_value(m), v->str, v->str_size);
                        assert_int_equal(v->str[v->str_size], '\0');
                        break;
                case FLAT_INTEGER:
                        assert_true(json_is_integer(m));
                        assert_true(json_integer_value(m) == v->integer);
                        break;
                case FLAT_TRUE:
                        assert_true(json_is_true(m));
                        break;
                case FLAT_FALSE:
                        assert_true(json_is_false(m));
                        break;
                case FLAT_NULL:
                        assert_true(json_is_null(m));
                        break;
                default:
                        fail_msg("unknown type %d", v->type);
                }
        }
        json_decref(j);
        free(mine);
}

static void test_differential_jansson(void **state) {
        (void) state;
        char buf[2048], mutated[2048];

        for (int round = 0; round < 3000; round++) {
                size_t n = gen_flat(buf, sizeof(buf));
                differential(buf, n, true);
                for (int k = 0; k < 4; k++) {
                        memcpy(mutated, buf, n);
                        size_t m = mutate(mutated, n, sizeof(mutated));
                        differential(mutated, m, false);
                }
        }
        /* Both sides were exercised. */
        print_message("json_flat_parse accepted %d, refused %d\n", n_accepted, n_refused);
        assert_true(n_accepted > 3000);
        assert_true(n_refused > 3000);
}

static int teardown(void **state) {
        (void) state;
        free(copy);
        copy = NULL;
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_flat_objects),
                cmocka_unit_test(test_integer_range),
                cmocka_unit_test(test_nul_over_closing_quotes),
                cmocka_unit_test(test_not_flat),
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_member_count),
                cmocka_unit_test(test_nested_one_level),
                cmocka_unit_test(test_differential_jansson),
        };
        return cmocka_run_group_tests(tests, NULL, teardown);
}
