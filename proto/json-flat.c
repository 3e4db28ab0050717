/* json-flat.c — flat JSON objects without a tree (see json-flat.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "json-flat.h"
#include "utf8.h"

typedef struct Cursor {
        const char *p, *end;
} Cursor;

static void skip_ws(Cursor *c) {
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

/* A string without escapes or control characters; c->p is past the quote
 * on success, and *ret_close points at the closing quote. */
static int parse_string(Cursor *c, const char **ret_start, const char **ret_close) {
        if (c->p >= c->end || *c->p != '"')
                return -ENOTSUP;
        const unsigned char *p = (const unsigned char *) ++c->p, *end = (const unsigned char *) c->end;
        const char *start = c->p;
        while (p < end) {
                /* Printable ASCII is nearly all of it: skip it fast. */
                while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                        p++;
                if (p == end)
                        break;
                unsigned char ch = *p;
                if (ch == '"') {
                        *ret_start = start;
                        *ret_close = (const char *) p;
                        c->p = (const char *) p + 1;
                        return 0;
                }
                if (ch == '\\' || ch < 0x20)
                        return -ENOTSUP;
                size_t n = utf8_sequence_size(p, end);
                if (n == 0)
                        return -ENOTSUP;
                p += n;
        }
        return -ENOTSUP;
}

static int parse_integer(Cursor *c, int64_t *ret) {
        bool negative = false;
        uint64_t v = 0;
        const char *start;

        if (c->p < c->end && *c->p == '-') {
                negative = true;
                c->p++;
        }
        start = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                unsigned d = (unsigned) (*c->p - '0');
                if (v > (UINT64_C(9223372036854775808) - d) / 10)
                        return -ENOTSUP;
                v = v * 10 + d;
                c->p++;
        }
        size_t digits = (size_t) (c->p - start);
        if (digits == 0 || (digits > 1 && *start == '0'))
                return -ENOTSUP;
        /* A fraction or exponent makes it a real, which jansson handles. */
        if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
                return -ENOTSUP;
        if (!negative && v > INT64_MAX)
                return -ENOTSUP;
        *ret = negative ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

static bool literal(Cursor *c, const char *word) {
        size_t n = strlen(word);
        if ((size_t) (c->end - c->p) < n || memcmp(c->p, word, n) != 0)
                return false;
        c->p += n;
        return true;
}

typedef struct Parse {
        Cursor c;
        FlatValue *ret;
        size_t n;
        char *closes[2 * FLAT_FIELDS_MAX];
        size_t n_closes;
        unsigned max_depth;
} Parse;

/* The members of one object, the cursor past its '{'. Members of a nested
 * object follow the object's own entry in ret[]. */
static int parse_members(Parse *ps, size_t parent, unsigned depth) {
        Cursor *c = &ps->c;
        size_t first = ps->n, n_members = 0;

        skip_ws(c);
        if (c->p < c->end && *c->p == '}') {
                c->p++;
                return 0;
        }
        for (;;) {
                const char *key, *close;
                if (ps->n == FLAT_FIELDS_MAX || parse_string(c, &key, &close) < 0)
                        return -ENOTSUP;
                size_t key_size = (size_t) (close - key), self = ps->n++;
                /* Duplicates are among siblings; jansson reports them. */
                for (size_t i = first; i < self; i++)
                        if (ps->ret[i].parent == parent && ps->ret[i].key_size == key_size &&
                            memcmp(ps->ret[i].key, key, key_size) == 0)
                                return -ENOTSUP;
                /* The NULs go in only once the whole text is known to be
                 * readable here, so a fallback sees it unchanged. */
                ps->closes[ps->n_closes++] = (char *) close;
                FlatValue *v = &ps->ret[self];
                *v = (FlatValue) { .key = key, .key_size = key_size, .parent = parent };
                n_members++;

                skip_ws(c);
                if (c->p >= c->end || *c->p++ != ':')
                        return -ENOTSUP;
                skip_ws(c);
                if (c->p >= c->end)
                        return -ENOTSUP;
                if (*c->p == '"') {
                        const char *str, *s_close;
                        if (parse_string(c, &str, &s_close) < 0)
                                return -ENOTSUP;
                        v->type = FLAT_STRING;
                        v->str = str;
                        v->str_size = (size_t) (s_close - str);
                        ps->closes[ps->n_closes++] = (char *) s_close;
                } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
                        v->type = FLAT_INTEGER;
                        if (parse_integer(c, &v->integer) < 0)
                                return -ENOTSUP;
                } else if (literal(c, "true"))
                        v->type = FLAT_TRUE;
                else if (literal(c, "false"))
                        v->type = FLAT_FALSE;
                else if (literal(c, "null"))
                        v->type = FLAT_NULL;
                else if (*c->p == '{' && depth < ps->max_depth) {
                        c->p++;
                        v->type = FLAT_OBJECT;
                        int k = parse_members(ps, self, depth + 1);
                        if (k < 0)
                                return k;
                        ps->ret[self].n_members = (size_t) k;
                } else
                        return -ENOTSUP; /* an array, deeper nesting, or not JSON */

                skip_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        skip_ws(c);
                        continue;
                }
                if (c->p < c->end && *c->p == '}') {
                        c->p++;
                        return (int) n_members;
                }
                return -ENOTSUP;
        }
}

int json_flat_parse(char *text, size_t size, FlatValue ret[static FLAT_FIELDS_MAX], unsigned max_depth) {
        Parse ps = { .c = { .p = text, .end = text + size }, .ret = ret, .max_depth = max_depth };

        skip_ws(&ps.c);
        if (ps.c.p >= ps.c.end || *ps.c.p++ != '{')
                return -ENOTSUP;
        int r = parse_members(&ps, FLAT_TOP, 0);
        if (r < 0)
                return r;
        skip_ws(&ps.c);
        if (ps.c.p != ps.c.end)
                return -ENOTSUP;

        for (size_t i = 0; i < ps.n_closes; i++)
                *ps.closes[i] = '\0';
        return (int) ps.n;
}

const FlatValue *json_flat_get(const FlatValue *values, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (values[i].parent == FLAT_TOP && strcmp(values[i].key, key) == 0)
                        return &values[i];
        return NULL;
}

const FlatValue *json_flat_member(const FlatValue *values, size_t n, const FlatValue *object, const char *key) {
        size_t self = (size_t) (object - values);
        for (size_t i = self + 1; i < n; i++)
                if (values[i].parent == self && strcmp(values[i].key, key) == 0)
                        return &values[i];
        return NULL;
}
