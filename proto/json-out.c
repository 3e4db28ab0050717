/* json-out.c — JSON output into a fixed buffer (see json-out.h). */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "json-out.h"

void json_out_init(JsonOut *o, char *buf, size_t capacity) {
        *o = (JsonOut) { .buf = buf, .capacity = capacity };
}

void json_out_reset(JsonOut *o) {
        sodium_memzero(o->buf, o->size < o->capacity ? o->size : o->capacity);
        json_out_init(o, o->buf, o->capacity);
}

static void put(JsonOut *o, const char *s, size_t n) {
        if (o->overflow || o->capacity - o->size < n) {
                o->overflow = true;
                return;
        }
        memcpy(o->buf + o->size, s, n);
        o->size += n;
}

static void put_char(JsonOut *o, char c) {
        put(o, &c, 1);
}

/* Which bytes JSON strings must escape: '"', '\\' and the controls. */
static const bool needs_escape[256] = {
        [0x00 ... 0x1f] = true,
        ['"'] = true,
        ['\\'] = true,
};

static void put_escaped(JsonOut *o, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";
        size_t run = 0;

        put_char(o, '"');
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (!needs_escape[c])
                        continue;
                put(o, s + run, i - run);
                run = i + 1;
                if (c == '"' || c == '\\') {
                        char e[2] = { '\\', (char) c };
                        put(o, e, 2);
                } else {
                        char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
                        put(o, e, 6);
                }
        }
        put(o, s + run, n - run);
        put_char(o, '"');
}

/* The separator and key before a member or element. */
static void member(JsonOut *o, const char *key) {
        if (o->depth > 0) {
                if (o->need_comma[o->depth - 1])
                        put_char(o, ',');
                o->need_comma[o->depth - 1] = true;
        }
        if (key) {
                put_escaped(o, key, strlen(key));
                put_char(o, ':');
        }
}

static void open_container(JsonOut *o, const char *key, char bracket) {
        member(o, key);
        put_char(o, bracket);
        if (o->depth == JSON_OUT_DEPTH_MAX) {
                o->overflow = true;
                return;
        }
        o->need_comma[o->depth++] = false;
}

static void close_container(JsonOut *o, char bracket) {
        if (o->depth > 0)
                o->depth--;
        put_char(o, bracket);
}

void json_out_open_object(JsonOut *o, const char *key) {
        open_container(o, key, '{');
}

void json_out_close_object(JsonOut *o) {
        close_container(o, '}');
}

void json_out_open_array(JsonOut *o, const char *key) {
        open_container(o, key, '[');
}

void json_out_close_array(JsonOut *o) {
        close_container(o, ']');
}

void json_out_string(JsonOut *o, const char *key, const char *s, size_t size) {
        member(o, key);
        put_escaped(o, s, size);
}

void json_out_string_plain(JsonOut *o, const char *key, const char *s, size_t size) {
        member(o, key);
        put_char(o, '"');
        put(o, s, size);
        put_char(o, '"');
}

void json_out_cstring(JsonOut *o, const char *key, const char *s) {
        if (!s)
                json_out_null(o, key);
        else
                json_out_string(o, key, s, strlen(s));
}

void json_out_int(JsonOut *o, const char *key, int64_t v) {
        /* By hand: snprintf() was a tenth of a secret.get. */
        char digits[24], *p = digits + sizeof(digits);
        uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        member(o, key);
        put(o, p, (size_t) (digits + sizeof(digits) - p));
}

void json_out_bool(JsonOut *o, const char *key, bool v) {
        member(o, key);
        put(o, v ? "true" : "false", v ? 4 : 5);
}

void json_out_null(JsonOut *o, const char *key) {
        member(o, key);
        put(o, "null", 4);
}

void json_out_json(JsonOut *o, const char *key, const json_t *v) {
        member(o, key);
        if (o->overflow)
                return;
        size_t n = json_dumpb(v, o->buf + o->size, o->capacity - o->size, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0 || n > o->capacity - o->size) {
                /* json_dumpb() wrote what fitted: a value cut off there may
                 * be a secret, and json_out_reset() only wipes up to size. */
                sodium_memzero(o->buf + o->size, o->capacity - o->size);
                o->overflow = true;
        } else
                o->size += n;
}

void json_out_raw(JsonOut *o, const char *key, const char *json, size_t size) {
        member(o, key);
        put(o, json, size);
}

int json_out_finish(const JsonOut *o) {
        return o->overflow || o->depth != 0 ? -EMSGSIZE : 0;
}
