/* test-request.c — proto/request.c: strict decoding of one request.
 *
 * Shows: every op decodes with its fields; the protocol version, the id and
 * the op are checked, and a bad request still carries its id where it could
 * be read; unknown fields, wrong types, duplicate keys, bad UTF-8, NUL
 * characters, non-objects, truncated JSON and trailing bytes are refused;
 * names, user ids, values, list limits and token sets are held to their
 * documented limits; an error message never contains a value, even for
 * invalid JSON, and names an unknown field cut on a character boundary;
 * a request over the member limit is refused with its id kept; after a
 * failed decode no unchecked field is left set.
 *
 * JSON in this file is written with ' for " to stay readable; decodef()
 * swaps them back. Tests that need exact bytes call decode_raw(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-flat.h"
#include "proto-limits.h"
#include "request.h"

static char errbuf[ERROR_MESSAGE_SIZE_MAX];

/* request_decode() parses in place and the Request points into the body,
 * so each decode gets a copy that outlives the caller's string; a few in
 * rotation, for tests that hold more than one Request. */
static int decode_raw(const void *body, size_t size, Request *r) {
        static uint8_t copies[4][FRAME_BODY_MAX * 2];
        static unsigned next;
        uint8_t *copy = copies[next++ % 4];

        assert_true(size <= sizeof(copies[0]));
        memcpy(copy, body, size);
        memset(errbuf, 0, sizeof(errbuf));
        return request_decode(copy, size, r, errbuf, sizeof(errbuf));
}

_printf_(2, 3) static int decodef(Request *r, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        int ret = decode_raw(s, (size_t) n, r);
        free(s);
        return ret;
}

/* n copies of c, NUL-terminated, malloc'd. */
static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

/* U+00E9, U+20AC and U+100000: characters of 2, 3 and 4 bytes. */
static const char *const wide_chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf4\x80\x80\x80" };

/* Whether s is valid UTF-8, by jansson's check rather than proto's own. */
static bool utf8_valid(const char *s) {
        json_t *j = json_string(s);
        json_decref(j);
        return j != NULL;
}

/* A failed decode: a message was written, and nothing unchecked is left. */
static void assert_failed_clean(Request *r) {
        assert_true(errbuf[0] != 0);
        assert_null(r->plugin);
        assert_null(r->name);
        assert_null(r->user);
        assert_null(r->after);
        assert_null(r->value);
        assert_null(r->token);
}

/* Decode and expect failure with want; checks the cleared fields. */
#define assert_decode_fails(want, ...)                                                                                 \
        do {                                                                                                           \
                Request _r;                                                                                            \
                assert_int_equal(decodef(&_r, __VA_ARGS__), (want));                                                   \
                assert_failed_clean(&_r);                                                                              \
                request_done(&_r);                                                                                     \
        } while (0)

#define assert_decode_ok(...)                                                                                          \
        do {                                                                                                           \
                Request _r;                                                                                            \
                int _ret = decodef(&_r, __VA_ARGS__);                                                                  \
                if (_ret != 0)                                                                                         \
                        fail_msg("decode failed (%d): %s", _ret, errbuf);                                              \
                request_done(&_r);                                                                                     \
        } while (0)

static void test_every_op_decodes(void **state) {
        (void) state;
        Request r;

        assert_int_equal(decodef(&r, "{'v':1,'id':7,'op':'health'}"), 0);
        assert_int_equal(r.op, OP_HEALTH);
        assert_true(r.has_id);
        assert_int_equal(r.id, 7);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'todo','name':'client_secret',"
                                     "'value':'aHVudGVyMg=='}"),
                         0);
        assert_int_equal(r.op, OP_SECRET_PUT);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.name, "client_secret");
        assert_non_null(r.value);
        assert_int_equal(r.value->size, 7);
        assert_memory_equal(r.value->data, "hunter2", 7);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':2,'op':'secret.get','plugin':'todo','name':'n'}"), 0);
        assert_int_equal(r.op, OP_SECRET_GET);
        assert_int_equal(r.id, 2);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.name, "n");
        assert_null(r.value);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':3,'op':'secret.delete','plugin':'todo','name':'n'}"), 0);
        assert_int_equal(r.op, OP_SECRET_DELETE);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.name, "n");
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':4,'op':'secret.list'}"), 0);
        assert_int_equal(r.op, OP_SECRET_LIST);
        assert_null(r.plugin);
        assert_null(r.after);
        assert_int_equal(r.limit, LIST_PAGE_MAX);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':5,'op':'secret.list','plugin':'todo','after':'todo/a','limit':5}"), 0);
        assert_int_equal(r.op, OP_SECRET_LIST);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.after, "todo/a");
        assert_int_equal(r.limit, 5);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':6,'op':'token.put','plugin':'todo','user':'u1','token':"
                                     "{'access_token':'at','token_type':'Bearer','refresh_token':'rt',"
                                     "'scope':'read write','expires_at':1700000000}}"),
                         0);
        assert_int_equal(r.op, OP_TOKEN_PUT);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.user, "u1");
        assert_true(json_is_object(r.token));
        assert_string_equal(json_string_value(json_object_get(r.token, "access_token")), "at");
        assert_int_equal(json_integer_value(json_object_get(r.token, "expires_at")), 1700000000);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':7,'op':'token.put','plugin':'todo','user':'u1','token':"
                                     "{'access_token':'at','token_type':'Bearer'}}"),
                         0);
        assert_null(json_object_get(r.token, "expires_at"));
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':8,'op':'token.get','plugin':'todo','user':'u1'}"), 0);
        assert_int_equal(r.op, OP_TOKEN_GET);
        assert_string_equal(r.plugin, "todo");
        assert_string_equal(r.user, "u1");
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':9,'op':'token.delete','plugin':'todo','user':'u1'}"), 0);
        assert_int_equal(r.op, OP_TOKEN_DELETE);
        assert_string_equal(r.user, "u1");
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':10,'op':'token.list','plugin':'todo'}"), 0);
        assert_int_equal(r.op, OP_TOKEN_LIST);
        assert_string_equal(r.plugin, "todo");
        assert_null(r.after);
        assert_int_equal(r.limit, LIST_PAGE_MAX);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':11,'op':'token.list','plugin':'todo','after':'u1','limit':1}"), 0);
        assert_string_equal(r.after, "u1");
        assert_int_equal(r.limit, 1);
        request_done(&r);

        /* token.list needs its plugin. */
        assert_decode_fails(-EBADMSG, "{'id':12,'op':'token.list'}");
}

static void test_op_names(void **state) {
        (void) state;
        for (int op = 0; op < _OP_MAX; op++) {
                assert_non_null(op_to_string(op));
                assert_int_equal(op_from_string(op_to_string(op)), op);
        }
        assert_null(op_to_string(_OP_MAX));
        assert_int_equal(op_from_string("secret.frobnicate"), -EOPNOTSUPP);
        assert_int_equal(op_from_string("Health"), -EOPNOTSUPP);
        assert_int_equal(op_from_string(""), -EOPNOTSUPP);
}

static void test_version(void **state) {
        (void) state;
        Request r;

        assert_decode_ok("{'v':1,'id':1,'op':'health'}");
        assert_decode_ok("{'id':1,'op':'health'}");

        assert_int_equal(decodef(&r, "{'v':2,'id':1,'op':'health'}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "'v'"));
        assert_true(r.has_id); /* still answered with its id */
        assert_int_equal(r.id, 1);
        request_done(&r);

        assert_decode_fails(-EBADMSG, "{'v':0,'id':1,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'v':-1,'id':1,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'v':'1','id':1,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'v':1.0,'id':1,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'v':null,'id':1,'op':'health'}");
}

/* "v" is read as a 64-bit integer: 2^32 + 1 is not version 1. */
static void test_version_not_truncated(void **state) {
        (void) state;
        assert_decode_fails(-EBADMSG, "{'v':4294967297,'id':1,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'v':-4294967295,'id':1,'op':'health'}");
}

static void test_id(void **state) {
        (void) state;
        Request r;

        assert_int_equal(decodef(&r, "{'id':0,'op':'health'}"), 0);
        assert_true(r.has_id);
        assert_int_equal(r.id, 0);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':9223372036854775807,'op':'health'}"), 0);
        assert_int_equal(r.id, UINT64_C(9223372036854775807));
        request_done(&r);

        /* Missing. */
        assert_int_equal(decodef(&r, "{'op':'health'}"), -EBADMSG);
        assert_false(r.has_id);
        assert_non_null(strstr(errbuf, "'id'"));
        request_done(&r);

        /* Negative. */
        assert_int_equal(decodef(&r, "{'id':-1,'op':'health'}"), -EBADMSG);
        assert_false(r.has_id);
        assert_non_null(strstr(errbuf, "'id'"));
        request_done(&r);

        /* Not an integer. */
        static const char *const not_integer[] = { "'1'", "1.0", "1.5", "true", "null", "[1]", "{}" };
        for (size_t i = 0; i < ELEMENTSOF(not_integer); i++) {
                assert_int_equal(decodef(&r, "{'id':%s,'op':'health'}", not_integer[i]), -EBADMSG);
                assert_false(r.has_id);
                assert_non_null(strstr(errbuf, "'id'"));
                request_done(&r);
        }
}

static void test_unknown_op(void **state) {
        (void) state;
        Request r;

        assert_int_equal(decodef(&r, "{'id':42,'op':'secret.frobnicate','plugin':'p'}"), -EOPNOTSUPP);
        assert_true(r.has_id);
        assert_int_equal(r.id, 42);
        assert_int_equal(r.op, _OP_MAX);
        assert_failed_clean(&r);
        request_done(&r);

        /* A missing or non-string op is a bad request, not an unknown op. */
        assert_int_equal(decodef(&r, "{'id':43}"), -EBADMSG);
        assert_true(r.has_id);
        assert_int_equal(r.id, 43);
        assert_non_null(strstr(errbuf, "'op'"));
        request_done(&r);
        assert_int_equal(decodef(&r, "{'id':44,'op':5}"), -EBADMSG);
        assert_int_equal(r.id, 44);
        assert_non_null(strstr(errbuf, "'op'"));
        request_done(&r);
}

static void test_unknown_field(void **state) {
        (void) state;
        static const char *const requests[] = {
                "{'id':1,'op':'health','plugin':'p'}",
                "{'id':1,'op':'secret.get','plugin':'p','name':'n','frobnicate':1}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'','frobnicate':'x'}",
                "{'id':1,'op':'secret.list','frobnicate':null}",
                "{'id':1,'op':'secret.delete','plugin':'p','name':'n','frobnicate':{}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':'b'},"
                "'frobnicate':1}",
                "{'id':1,'op':'token.get','plugin':'p','user':'u','frobnicate':1}",
                "{'id':1,'op':'token.list','plugin':'p','frobnicate':1}",
                "{'id':1,'op':'token.delete','plugin':'p','user':'u','frobnicate':1}",
        };
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                Request r;
                int ret = decodef(&r, "%s", requests[i]);
                if (ret != -EBADMSG)
                        fail_msg("%s: got %d", requests[i], ret);
                assert_true(r.has_id);
                assert_failed_clean(&r);
                /* The field for health is "plugin", a real field elsewhere. */
                const char *field = i == 0 ? "plugin" : "frobnicate";
                if (!strstr(errbuf, field))
                        fail_msg("message '%s' does not name '%s'", errbuf, field);
                request_done(&r);
        }
}

/* An unknown field is named in the message cut to ERROR_FIELD_NAME_SIZE_MAX
 * bytes on a character boundary, wherever the limit falls in a character
 * of 2, 3 or 4 bytes: the message (and so the reply) stays valid UTF-8, on
 * the in-place path and through jansson alike. */
static void test_unknown_field_cut_on_character(void **state) {
        (void) state;
        for (size_t w = 0; w < ELEMENTSOF(wide_chars); w++)
                for (size_t n_ascii = ERROR_FIELD_NAME_SIZE_MAX - 8; n_ascii <= ERROR_FIELD_NAME_SIZE_MAX + 2;
                     n_ascii++)
                        for (int tree = 0; tree < 2; tree++) {
                                char key[128] = "";
                                Request r;

                                memset(key, 'a', n_ascii);
                                for (int k = 0; k < 6; k++)
                                        strcat(key, wide_chars[w]);
                                assert_int_equal(
                                        decodef(&r, "{'id':1,'op':'health','%s':1%s}", key, tree ? ",'x':[1]" : ""),
                                        -EBADMSG);
                                if (!utf8_valid(errbuf))
                                        fail_msg("%zu + %zu-byte characters: message not UTF-8: %s", n_ascii, w + 2,
                                                 errbuf);
                                assert_non_null(strstr(errbuf, "not a field of health"));
                                /* The name as quoted: the key's first bytes,
                                 * at most one character short of the limit. */
                                const char *quoted = strchr(errbuf, '\'') + 1;
                                size_t n = (size_t) (strchr(quoted, '\'') - quoted);
                                assert_true(n <= ERROR_FIELD_NAME_SIZE_MAX);
                                assert_true(n + w + 2 > ERROR_FIELD_NAME_SIZE_MAX);
                                assert_memory_equal(quoted, key, n);
                                request_done(&r);
                        }
}

/* Up to REQUEST_MEMBERS_MAX members are read (the op then refuses those it
 * does not take); more are refused as a whole ("too many fields"), on
 * either parser, and the reply still carries the id wherever it is. */
static void test_member_count(void **state) {
        (void) state;
        const size_t counts[] = { FLAT_FIELDS_MAX, FLAT_FIELDS_MAX + 1, REQUEST_MEMBERS_MAX, REQUEST_MEMBERS_MAX + 1,
                                  200 };
        for (size_t i = 0; i < ELEMENTSOF(counts); i++)
                for (int id_last = 0; id_last < 2; id_last++) {
                        char body[4096];
                        Request r;
                        int n = snprintf(body, sizeof(body), "{%s'op':'health'", id_last ? "" : "'id':7,");
                        for (size_t k = 0; k < counts[i] - 2; k++)
                                n += snprintf(body + n, sizeof(body) - (size_t) n, ",'m%zu':1", k);
                        n += snprintf(body + n, sizeof(body) - (size_t) n, "%s}", id_last ? ",'id':7" : "");
                        assert_true((size_t) n < sizeof(body));

                        assert_int_equal(decodef(&r, "%s", body), -EBADMSG);
                        if (counts[i] <= REQUEST_MEMBERS_MAX)
                                assert_non_null(strstr(errbuf, "'m0': not a field of health"));
                        else
                                assert_string_equal(errbuf, "too many fields");
                        if (!r.has_id || r.id != 7)
                                fail_msg("%zu members, id %s: the id was not kept", counts[i],
                                         id_last ? "last" : "first");
                        assert_failed_clean(&r);
                        request_done(&r);
                }
}

static void test_wrong_types(void **state) {
        (void) state;
        /* One field of the wrong type at a time, for every field of every op. */
        static const char *const requests[] = {
                "{'id':1,'op':'health','v':'1'}",
                "{'id':1,'op':['health']}",
                "{'id':1,'op':'secret.put','plugin':1,'name':'n','value':''}",
                "{'id':1,'op':'secret.put','plugin':'p','name':true,'value':''}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':null}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':12}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':['aGk=']}",
                "{'id':1,'op':'secret.get','plugin':null,'name':'n'}",
                "{'id':1,'op':'secret.get','plugin':'p','name':{}}",
                "{'id':1,'op':'secret.delete','plugin':'p','name':1.5}",
                "{'id':1,'op':'secret.list','plugin':5}",
                "{'id':1,'op':'secret.list','after':false}",
                "{'id':1,'op':'secret.list','limit':'10'}",
                "{'id':1,'op':'secret.list','limit':10.0}",
                "{'id':1,'op':'token.put','plugin':'p','user':7,'token':{'access_token':'a','token_type':'b'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':'a'}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':['a']}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':null}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':1,'token_type':'b'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':null}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':'b',"
                "'refresh_token':2}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':'b',"
                "'scope':['read']}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':'b',"
                "'expires_at':'1700000000'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a','token_type':'b',"
                "'expires_at':1.5}}",
                "{'id':1,'op':'token.get','plugin':'p','user':['u']}",
                "{'id':1,'op':'token.delete','plugin':{},'user':'u'}",
                "{'id':1,'op':'token.list','plugin':'p','after':1}",
                "{'id':1,'op':'token.list','plugin':'p','limit':true}",
        };
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                Request r;
                int ret = decodef(&r, "%s", requests[i]);
                if (ret != -EBADMSG)
                        fail_msg("%s: got %d", requests[i], ret);
                assert_true(r.has_id);
                assert_failed_clean(&r);
                request_done(&r);
        }
}

static void test_duplicate_keys(void **state) {
        (void) state;
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'health','id':1}");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.get','plugin':'a','name':'n','plugin':'b'}");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.put','plugin':'p','user':'u','token':"
                                      "{'access_token':'a','token_type':'b','access_token':'c'}}");
        Request r;
        assert_int_equal(decodef(&r, "{'id':1,'op':'health','op':'health'}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "duplicate"));
        request_done(&r);
}

static void test_bad_utf8(void **state) {
        (void) state;
        static const char *const bad[] = {
                "\xff",             /* never valid */
                "\xc3",             /* truncated sequence */
                "\xc0\xaf",         /* overlong '/' */
                "\xed\xa0\x80",     /* UTF-16 surrogate */
                "\xf4\x90\x80\x80", /* over U+10FFFF */
                "\x80",             /* lone continuation byte */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char buf[256];
                Request r;

                /* In a value, in a user id and in a key. */
                int n = snprintf(buf, sizeof(buf), "{\"id\":1,\"op\":\"token.get\",\"plugin\":\"p\",\"user\":\"u%s\"}",
                                 bad[i]);
                assert_int_equal(decode_raw(buf, (size_t) n, &r), -EBADMSG);
                assert_failed_clean(&r);
                request_done(&r);

                n = snprintf(buf, sizeof(buf), "{\"id\":1,\"op\":\"health\",\"k%s\":1}", bad[i]);
                assert_int_equal(decode_raw(buf, (size_t) n, &r), -EBADMSG);
                assert_failed_clean(&r);
                request_done(&r);
        }
}

static void test_nul_character(void **state) {
        (void) state;
        Request r;

        /* Escaped NUL in a value. */
        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.get','plugin':'p\\u0000x','name':'n'}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "NUL"));
        assert_failed_clean(&r);
        request_done(&r);

        /* Escaped NUL in a key. */
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'health','a\\u0000b':1}");

        /* A raw NUL byte in the body. */
        static const char raw[] = "{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\0x\",\"name\":\"n\"}";
        assert_int_equal(decode_raw(raw, sizeof(raw) - 1, &r), -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);
}

static void test_not_an_object(void **state) {
        (void) state;
        static const char *const bodies[] = { "[]", "[{'id':1,'op':'health'}]", "'health'", "1", "null", "true" };
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                Request r;
                assert_int_equal(decodef(&r, "%s", bodies[i]), -EBADMSG);
                assert_false(r.has_id);
                assert_failed_clean(&r);
                request_done(&r);
        }
}

static void test_truncated_json(void **state) {
        (void) state;
        const char *full = "{\"id\":1,\"op\":\"secret.get\",\"plugin\":\"p\",\"name\":\"n\"}";
        size_t n = strlen(full);

        for (size_t k = 0; k < n; k++) {
                Request r;
                assert_int_equal(decode_raw(full, k, &r), -EBADMSG);
                assert_false(r.has_id);
                assert_failed_clean(&r);
                request_done(&r);
        }
        Request r;
        assert_int_equal(decode_raw(full, n - 1, &r), -EBADMSG);
        assert_non_null(strstr(errbuf, "truncated"));
        request_done(&r);
        assert_int_equal(decode_raw(full, n, &r), 0);
        request_done(&r);
}

static void test_trailing_garbage(void **state) {
        (void) state;
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'health'}x");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'health'}{'id':2,'op':'health'}");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'health'},");
        Request r;
        assert_int_equal(decodef(&r, "{'id':1,'op':'health'} 1"), -EBADMSG);
        assert_non_null(strstr(errbuf, "trailing"));
        request_done(&r);
        /* Whitespace after the object is not garbage. */
        assert_decode_ok("{'id':1,'op':'health'}\n");
}

static void test_names(void **state) {
        (void) state;
        char *n128 = repeat('a', NAME_SIZE_MAX), *n129 = repeat('a', NAME_SIZE_MAX + 1);

        assert_int_equal(request_check_name("Az09_.:@-"), 0);
        assert_int_equal(request_check_name(n128), 0);
        assert_int_equal(request_check_name(n129), -EINVAL);
        assert_int_equal(request_check_name(""), -EINVAL);

        assert_decode_ok("{'id':1,'op':'secret.get','plugin':'%s','name':'%s'}", n128, n128);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.get','plugin':'%s','name':'n'}", n129);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.get','plugin':'p','name':'%s'}", n129);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.get','plugin':'','name':'n'}");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.get','plugin':'p','name':''}");
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.get','plugin':'','user':'u'}");

        static const char *const bad[] = {
                "a/b", "a b", "caf\xc3\xa9", "\\u00e9", "a\\tb", "a\\\\b", "a\\\"b", "a#b", "a,b", "a%b", "\\u2028",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Request r;
                int ret = decodef(&r, "{'id':1,'op':'secret.get','plugin':'p','name':'%s'}", bad[i]);
                if (ret != -EBADMSG)
                        fail_msg("name '%s': got %d", bad[i], ret);
                assert_non_null(strstr(errbuf, "'name'"));
                assert_failed_clean(&r);
                request_done(&r);

                ret = decodef(&r, "{'id':1,'op':'secret.list','plugin':'%s'}", bad[i]);
                if (ret != -EBADMSG)
                        fail_msg("plugin '%s': got %d", bad[i], ret);
                assert_non_null(strstr(errbuf, "'plugin'"));
                request_done(&r);
        }
        assert_int_equal(request_check_name("a/b"), -EINVAL);
        assert_int_equal(request_check_name("a b"), -EINVAL);
        assert_int_equal(request_check_name("caf\xc3\xa9"), -EINVAL);
        free(n128);
        free(n129);
}

static void test_user_ids(void **state) {
        (void) state;
        char *u256 = repeat('u', USER_ID_SIZE_MAX), *u257 = repeat('u', USER_ID_SIZE_MAX + 1);
        Request r;

        assert_int_equal(request_check_user_id(u256), 0);
        assert_int_equal(request_check_user_id(u257), -EINVAL);
        assert_int_equal(request_check_user_id(""), -EINVAL);

        assert_int_equal(decodef(&r, "{'id':1,'op':'token.get','plugin':'p','user':'%s'}", u256), 0);
        assert_string_equal(r.user, u256);
        request_done(&r);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.get','plugin':'p','user':'%s'}", u257);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.get','plugin':'p','user':''}");

        /* Control characters, escaped and raw. */
        static const char *const controls[] = { "a\\u0001b",
                                                "a\\tb",
                                                "a\\nb",
                                                "a\\rb",
                                                "a\\u001bb",
                                                "a\\u007fb",
                                                "a\x7f"
                                                "b" };
        for (size_t i = 0; i < ELEMENTSOF(controls); i++) {
                int ret = decodef(&r, "{'id':1,'op':'token.delete','plugin':'p','user':'%s'}", controls[i]);
                if (ret != -EBADMSG)
                        fail_msg("user '%s': got %d", controls[i], ret);
                assert_non_null(strstr(errbuf, "'user'"));
                assert_failed_clean(&r);
                request_done(&r);
        }

        /* Non-ASCII UTF-8 is fine, and the limit counts bytes. */
        assert_int_equal(decodef(&r, "{'id':1,'op':'token.get','plugin':'p','user':'j\xc3\xb3zef@\xe4\xbe\x8b.jp "
                                     "\\u00e9 \xf0\x9f\x94\x91'}"),
                         0);
        assert_string_equal(r.user, "j\xc3\xb3zef@\xe4\xbe\x8b.jp \xc3\xa9 \xf0\x9f\x94\x91");
        request_done(&r);

        char *wide = malloc(USER_ID_SIZE_MAX + 3);
        assert_non_null(wide);
        for (size_t i = 0; i < USER_ID_SIZE_MAX / 2; i++)
                memcpy(wide + 2 * i, "\xc3\xa9", 2); /* 128 × é = 256 bytes */
        wide[USER_ID_SIZE_MAX] = 0;
        assert_decode_ok("{'id':1,'op':'token.get','plugin':'p','user':'%s'}", wide);
        memcpy(wide + USER_ID_SIZE_MAX, "\xc3\xa9", 3); /* 129 × é = 258 bytes */
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.get','plugin':'p','user':'%s'}", wide);
        free(wide);
        free(u256);
        free(u257);
}

/* C1 control characters (U+0080..U+009F, UTF-8 C2 80..C2 9F, e.g. U+009B
 * CSI) are control characters too. */
static void test_user_id_c1_controls(void **state) {
        (void) state;
        assert_int_equal(request_check_user_id("a\xc2\x85"
                                               "b"),
                         -EINVAL);
        assert_int_equal(request_check_user_id("a\xc2\x9b"
                                               "31m"),
                         -EINVAL);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.get','plugin':'p','user':'a\\u009b31m'}");
}

static void test_value_base64(void **state) {
        (void) state;
        Request r;

        /* Binary bytes, including a NUL, come out exact. */
        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'AP8Bfw=='}"), 0);
        assert_int_equal(r.value->size, 4);
        assert_memory_equal(r.value->data, "\x00\xff\x01\x7f", 4);
        request_done(&r);

        /* The empty value is a value. */
        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':''}"), 0);
        assert_non_null(r.value);
        assert_int_equal(r.value->size, 0);
        request_done(&r);

        static const char *const bad[] = { "aGk",  "aGk=a", "aGk=\\n",  "a Gk=", "aG!=",
                                           "aGk_", "aGk-",  "aGk=====", "=aGk",  "aGk\\u0000" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int ret = decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'%s'}", bad[i]);
                if (ret != -EBADMSG)
                        fail_msg("value '%s': got %d", bad[i], ret);
                assert_failed_clean(&r);
                request_done(&r);
        }
}

/* Padded base64 of size bytes of 'A' (AAA → QUFB). */
static char *b64_of_a(size_t size) {
        size_t n = (size + 2) / 3 * 4;
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < size / 3; i++)
                memcpy(s + 4 * i, "QUFB", 4);
        if (size % 3 == 1)
                memcpy(s + n - 4, "QQ==", 4);
        else if (size % 3 == 2)
                memcpy(s + n - 4, "QUE=", 4);
        s[n] = 0;
        return s;
}

static void test_value_size_limit(void **state) {
        (void) state;
        Request r;
        char *ok = b64_of_a(SECRET_VALUE_SIZE_MAX), *over = b64_of_a(SECRET_VALUE_SIZE_MAX + 1);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'%s'}", ok), 0);
        assert_int_equal(r.value->size, SECRET_VALUE_SIZE_MAX);
        assert_int_equal(r.value->data[0], 'A');
        assert_int_equal(r.value->data[SECRET_VALUE_SIZE_MAX - 1], 'A');
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':9,'op':'secret.put','plugin':'p','name':'n','value':'%s'}", over),
                         -EMSGSIZE);
        assert_int_equal(r.id, 9);
        assert_non_null(strstr(errbuf, "'value'"));
        assert_failed_clean(&r);
        request_done(&r);

        /* Far over: refused by its text length, before decoding. */
        char *huge = b64_of_a(SECRET_VALUE_SIZE_MAX + 300);
        assert_decode_fails(-EMSGSIZE, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'%s'}", huge);
        free(ok);
        free(over);
        free(huge);
}

static void test_list_limit(void **state) {
        (void) state;
        Request r;

        for (int limit = 1; limit <= LIST_PAGE_MAX; limit += 33) {
                assert_int_equal(decodef(&r, "{'id':1,'op':'secret.list','limit':%d}", limit), 0);
                assert_int_equal(r.limit, (unsigned) limit);
                request_done(&r);
        }
        assert_int_equal(decodef(&r, "{'id':1,'op':'token.list','plugin':'p','limit':%d}", LIST_PAGE_MAX), 0);
        assert_int_equal(r.limit, LIST_PAGE_MAX);
        request_done(&r);

        static const char *const bad[] = { "0", "-1", "101", "4294967297", "-4294967295", "9223372036854775807" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(decodef(&r, "{'id':1,'op':'secret.list','limit':%s}", bad[i]), -EBADMSG);
                assert_non_null(strstr(errbuf, "'limit'"));
                assert_failed_clean(&r);
                request_done(&r);
                assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.list','plugin':'p','limit':%s}", bad[i]);
        }
}

static void test_list_cursor_length(void **state) {
        (void) state;
        char *ok = repeat('c', CURSOR_SIZE_MAX), *over = repeat('c', CURSOR_SIZE_MAX + 1);

        assert_decode_ok("{'id':1,'op':'secret.list','after':'%s'}", ok);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'secret.list','after':'%s'}", over);
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.list','plugin':'p','after':'%s'}", over);
        free(ok);
        free(over);
}

#define TOKEN_PUT "{'id':1,'op':'token.put','plugin':'p','user':'u','token':%s}"

static void test_token_required_fields(void **state) {
        (void) state;
        Request r;

        assert_decode_ok(TOKEN_PUT, "{'access_token':'a','token_type':'Bearer'}");
        assert_int_equal(decodef(&r, TOKEN_PUT, "{'token_type':'Bearer'}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "access_token"));
        request_done(&r);
        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a'}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "token_type"));
        request_done(&r);
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{}");
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{'access_token':'','token_type':'Bearer'}");
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{'access_token':'a','token_type':''}");
        /* token.put without a token at all. */
        assert_decode_fails(-EBADMSG, "{'id':1,'op':'token.put','plugin':'p','user':'u'}");
}

/* A token endpoint's other fields (id_token, ...) are kept as they are. */
static void test_token_extra_field(void **state) {
        (void) state;
        Request r;

        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a','token_type':'Bearer','id_token':'x','n':[1]}"),
                         0);
        assert_string_equal(json_string_value(json_object_get(r.token, "id_token")), "x");
        request_done(&r);
        /* expires_in and expires_at are alternatives. */
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_in':1,'expires_at':2}");
}

static void test_token_non_printable(void **state) {
        (void) state;
        /* Each token object has one bad field and otherwise valid ones. */
        static const char *const formats[] = {
                "{'access_token':'%s','token_type':'b'}",
                "{'access_token':'a','token_type':'%s'}",
                "{'access_token':'a','token_type':'b','refresh_token':'%s'}",
                "{'access_token':'a','token_type':'b','scope':'%s'}",
        };
        static const char *const fields[] = { "access_token", "token_type", "refresh_token", "scope" };
        static const char *const bad[] = { "a\\u0001", "a\\tb", "a\\nb", "a\\u007f", "\\u00e9", "caf\xc3\xa9" };

        for (size_t f = 0; f < ELEMENTSOF(formats); f++)
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        char token[256];
                        Request r;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        snprintf(token, sizeof(token), formats[f], bad[i]);
#pragma GCC diagnostic pop
                        int ret = decodef(&r, TOKEN_PUT, token);
                        if (ret != -EBADMSG)
                                fail_msg("%s: got %d", token, ret);
                        assert_non_null(strstr(errbuf, fields[f]));
                        assert_failed_clean(&r);
                        request_done(&r);
                }
        /* Spaces and punctuation are printable. */
        assert_decode_ok(TOKEN_PUT, "{'access_token':'a.b-c_d~e+f/g=','token_type':'Bearer','scope':'read write'}");
}

static void test_token_too_long(void **state) {
        (void) state;
        char *max = repeat('t', TOKEN_SECRET_SIZE_MAX), *over = repeat('t', TOKEN_SECRET_SIZE_MAX + 1);
        char *type_over = repeat('b', TOKEN_TYPE_SIZE_MAX + 1), *scope_over = repeat('s', TOKEN_SCOPE_SIZE_MAX + 1);
        Request r;

        assert_decode_ok("{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'%s',"
                         "'token_type':'b','refresh_token':'%s'}}",
                         max, max);
        assert_int_equal(decodef(&r,
                                 "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'%s',"
                                 "'token_type':'b'}}",
                                 over),
                         -EBADMSG);
        assert_non_null(strstr(errbuf, "access_token"));
        assert_null(strstr(errbuf, "tttttttt"));
        assert_failed_clean(&r);
        request_done(&r);
        assert_decode_fails(-EBADMSG,
                            "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a',"
                            "'token_type':'b','refresh_token':'%s'}}",
                            over);
        assert_decode_fails(-EBADMSG,
                            "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a',"
                            "'token_type':'%s'}}",
                            type_over);
        assert_decode_fails(-EBADMSG,
                            "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'a',"
                            "'token_type':'b','scope':'%s'}}",
                            scope_over);
        free(max);
        free(over);
        free(type_over);
        free(scope_over);
}

static void test_token_expires_at(void **state) {
        (void) state;
        Request r;

        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_at':0}"), 0);
        assert_int_equal(json_integer_value(json_object_get(r.token, "expires_at")), 0);
        request_done(&r);
        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_in':3600}"), 0);
        request_done(&r);

        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_at':-1}"), -EBADMSG);
        assert_non_null(strstr(errbuf, "expires_at"));
        assert_failed_clean(&r);
        request_done(&r);
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_at':-1700000000}");
        assert_decode_fails(-EBADMSG, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_at':null}");
}

static void test_token_response_check_direct(void **state) {
        (void) state;
        char msg[ERROR_MESSAGE_SIZE_MAX] = "";
        json_t *t = json_pack("{s:s s:s}", "access_token", "a", "token_type", "b");

        assert_non_null(t);
        assert_int_equal(request_check_token_response(t, msg, sizeof(msg)), 0);
        json_decref(t);

        t = json_string("a");
        assert_int_equal(request_check_token_response(t, msg, sizeof(msg)), -EBADMSG);
        assert_non_null(strstr(msg, "token"));
        json_decref(t);

        /* A response over TOKEN_RESPONSE_SIZE_MAX as JSON is too large. */
        char *big = malloc(TOKEN_RESPONSE_SIZE_MAX);
        memset(big, 'x', TOKEN_RESPONSE_SIZE_MAX - 1);
        big[TOKEN_RESPONSE_SIZE_MAX - 1] = '\0';
        t = json_pack("{s:s s:s s:s}", "access_token", "a", "token_type", "b", "id_token", big);
        assert_int_equal(request_check_token_response(t, msg, sizeof(msg)), -EMSGSIZE);
        json_decref(t);
        free(big);
}

/* A response of exactly TOKEN_RESPONSE_SIZE_MAX bytes of compact JSON is
 * taken, one byte more is too large; and whatever it is, the set stored
 * from it (expires_in written as expires_at) has room under
 * TOKEN_SET_SIZE_MAX. */
static void test_token_response_size_boundary(void **state) {
        (void) state;
        char msg[ERROR_MESSAGE_SIZE_MAX] = "";

        _Static_assert(TOKEN_SET_SIZE_MAX >= TOKEN_RESPONSE_SIZE_MAX + sizeof("-9223372036854775808") - 1 - 1,
                       "an expires_at of any int64 in place of expires_in 0 must fit the stored limit");
        _Static_assert(TOKEN_SET_SIZE_MAX + 1024 <= FRAME_BODY_MAX, "a reply carrying a stored set fits a frame");
        for (size_t extra = 0; extra < 2; extra++) {
                json_t *t = json_pack("{s:s s:s s:i s:s}", "access_token", "a", "token_type", "Bearer", "expires_in", 0,
                                      "id_token", "");
                size_t pad = TOKEN_RESPONSE_SIZE_MAX - json_dumpb(t, NULL, 0, JSON_COMPACT) + extra;
                char *s = repeat('x', pad);
                json_object_set_new(t, "id_token", json_string(s));
                assert_int_equal(json_dumpb(t, NULL, 0, JSON_COMPACT), TOKEN_RESPONSE_SIZE_MAX + extra);
                assert_int_equal(request_check_token_response(t, msg, sizeof(msg)), extra ? -EMSGSIZE : 0);
                if (extra)
                        assert_non_null(strstr(msg, "over 49152 bytes"));
                json_decref(t);
                free(s);
        }
}

/* request_check_token_response() fails with -EBADMSG, as request_decode() does. */
static void test_token_set_check_errno(void **state) {
        (void) state;
        char msg[ERROR_MESSAGE_SIZE_MAX] = "";
        json_t *t = json_pack("{s:s}", "access_token", "a");

        assert_non_null(t);
        assert_int_equal(request_check_token_response(t, msg, sizeof(msg)), -EBADMSG);
        assert_non_null(strstr(msg, "token_type"));
        json_decref(t);
}

/* Values that must never show up in an error message. */
#define SECRET_TEXT "sk-live-0123456789abcdef-DONOTLEAK"
#define SECRET_B64 "c2stbGl2ZS0wMTIzNDU2Nzg5YWJjZGVmLURPTk9UTEVBSw=="
#define SHORT_SECRET "Zx81qPw"

static void assert_errbuf_clean(void) {
        if (strstr(errbuf, SECRET_TEXT) || strstr(errbuf, SECRET_B64) || strstr(errbuf, "DONOTLEAK") ||
            strstr(errbuf, "c2stbGl2ZS0w") || strstr(errbuf, "sk-live"))
                fail_msg("error message leaks the secret: %s", errbuf);
}

static void test_error_never_contains_value(void **state) {
        (void) state;
        /* A valid secret value, with an error somewhere else. */
        static const char *const requests[] = {
                "{'id':1,'op':'secret.put','plugin':'p','name':'bad/name','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.put','plugin':'p/q','name':'n','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.put','plugin':7,'name':'n','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "','x':1}",
                "{'v':2,'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "'}",
                "{'id':'1','op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.putt','plugin':'p','name':'n','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.put','plugin':'p','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.get','plugin':'p','name':'n','value':'" SECRET_B64 "'}",
                /* The value itself is the error. */
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_TEXT "'}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':['" SECRET_B64 "']}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':{'v':'" SECRET_TEXT "'}}",
                /* A token's access_token, with an error elsewhere. */
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'" SECRET_TEXT
                "','token_type':'b','expires_in':'soon'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'" SECRET_TEXT
                "','token_type':'b','expires_at':-5}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'" SECRET_TEXT
                "','token_type':7}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u\\u0001','token':{'access_token':'" SECRET_TEXT
                "','token_type':'b'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'" SECRET_TEXT
                "\\u0001','token_type':'b'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'refresh_token':'" SECRET_TEXT
                "','token_type':'b'}}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':'" SECRET_TEXT "'}",
        };
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                Request r;
                int ret = decodef(&r, "%s", requests[i]);
                if (ret >= 0)
                        fail_msg("%s: decoded", requests[i]);
                assert_true(errbuf[0] != 0);
                assert_errbuf_clean();
                request_done(&r);
        }
}

static void test_invalid_json_error_never_contains_value(void **state) {
        (void) state;
        /* Broken JSON right next to (or inside) a secret: jansson's own
         * message would quote the text around the error. */
        static const char *const bodies[] = {
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "'x}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "',}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64,
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':" SECRET_TEXT "}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_TEXT "\\q'}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_TEXT "\\u00'}",
                "{'id':1,'op':'token.put','plugin':'p','user':'u','token':{'access_token':'" SECRET_TEXT
                "' 'token_type':'b'}}",
                "{'id':1,'op':'secret.put','value':'" SECRET_B64 "','value':'" SECRET_B64 "'}",
                "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'" SECRET_B64 "'}" SECRET_TEXT,
        };
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                Request r;
                assert_int_equal(decodef(&r, "%s", bodies[i]), -EBADMSG);
                assert_true(errbuf[0] != 0);
                assert_errbuf_clean();
                request_done(&r);
        }

        /* Invalid UTF-8 and a raw control byte inside the secret. */
        static const char *const raw[] = {
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"" SECRET_TEXT "\xff\"}",
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"" SECRET_TEXT "\x01\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(raw); i++) {
                Request r;
                assert_int_equal(decode_raw(raw[i], strlen(raw[i]), &r), -EBADMSG);
                assert_errbuf_clean();
                request_done(&r);
        }

        /* jansson quotes the token at the error only when it is short (up
         * to 20 bytes), so short secrets are the ones at risk. */
        static const char *const short_bodies[] = {
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"" SHORT_SECRET "\\u00\"}",
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"" SHORT_SECRET "\x01\"}",
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"" SHORT_SECRET "\xff\"}",
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":" SHORT_SECRET "}",
                "{\"id\":1,\"op\":\"token.put\",\"plugin\":\"p\",\"user\":\"u\",\"token\":{\"access_token\":"
                "\"" SHORT_SECRET "\\q\"}}",
                "{\"id\":1,\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"n\",\"value\":\"aGk=\"}" SHORT_SECRET,
        };
        for (size_t i = 0; i < ELEMENTSOF(short_bodies); i++) {
                Request r;
                assert_int_equal(decode_raw(short_bodies[i], strlen(short_bodies[i]), &r), -EBADMSG);
                if (strstr(errbuf, SHORT_SECRET))
                        fail_msg("error message leaks the secret: %s", errbuf);
                request_done(&r);
        }
}

static void test_failed_decode_clears_fields(void **state) {
        (void) state;
        Request r;
        char *over = b64_of_a(SECRET_VALUE_SIZE_MAX + 1);

        /* Failures that come after plugin, name, user, value or token were
         * already unpacked: none of them may be left behind. */
        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'%s'}", over),
                         -EMSGSIZE);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'a b','value':'aGk='}"), -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'aGk'}"), -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.put','plugin':'p','name':'n','value':'aGk=','x':1}"),
                         -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, TOKEN_PUT, "{'access_token':'a','token_type':'b','expires_at':-1}"), -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'token.put','plugin':'p','user':'u\\u0007',"
                                     "'token':{'access_token':'a','token_type':'b','expires_at':5}}"),
                         -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        assert_int_equal(decodef(&r, "{'id':1,'op':'secret.list','plugin':'p','after':'x','limit':0}"), -EBADMSG);
        assert_failed_clean(&r);
        request_done(&r);

        /* request_done() is safe on a cleared request, twice. */
        request_done(&r);
        free(over);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_op_decodes),
                cmocka_unit_test(test_op_names),
                cmocka_unit_test(test_version),
                cmocka_unit_test(test_version_not_truncated),
                cmocka_unit_test(test_id),
                cmocka_unit_test(test_unknown_op),
                cmocka_unit_test(test_unknown_field),
                cmocka_unit_test(test_unknown_field_cut_on_character),
                cmocka_unit_test(test_member_count),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_duplicate_keys),
                cmocka_unit_test(test_bad_utf8),
                cmocka_unit_test(test_nul_character),
                cmocka_unit_test(test_not_an_object),
                cmocka_unit_test(test_truncated_json),
                cmocka_unit_test(test_trailing_garbage),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_user_ids),
                cmocka_unit_test(test_user_id_c1_controls),
                cmocka_unit_test(test_value_base64),
                cmocka_unit_test(test_value_size_limit),
                cmocka_unit_test(test_list_limit),
                cmocka_unit_test(test_list_cursor_length),
                cmocka_unit_test(test_token_required_fields),
                cmocka_unit_test(test_token_extra_field),
                cmocka_unit_test(test_token_non_printable),
                cmocka_unit_test(test_token_too_long),
                cmocka_unit_test(test_token_expires_at),
                cmocka_unit_test(test_token_response_check_direct),
                cmocka_unit_test(test_token_response_size_boundary),
                cmocka_unit_test(test_token_set_check_errno),
                cmocka_unit_test(test_error_never_contains_value),
                cmocka_unit_test(test_invalid_json_error_never_contains_value),
                cmocka_unit_test(test_failed_decode_clears_fields),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
