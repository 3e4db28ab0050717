/* fuzz-request.c — request decoding, for every op.
 *
 * The first byte of the input says how the rest becomes a request body:
 *   0: the rest is the body, as it came off the wire;
 *   1: the second byte picks an op, the rest is the text of the members
 *      after v, id and op: {"v":1,"id":7,"op":"OP",REST}, so that every
 *      op's schema is reached from the first run on;
 *   2: the second byte picks an op, the rest is read as a list of
 *      (field, type, value) choices, written as JSON: well-formed bodies
 *      that probe each field of each op.
 * Every body goes through request_decode() and request_done(), and must
 * keep the promises of request.h: a decoded request is fully checked (its
 * names, ids, value and token set pass the same checks again), a refused
 * one names its problem in a message of valid UTF-8 (it goes into a JSON
 * reply). A body that the flat reader takes is decoded a second time with
 * one key written with a \u escape, which sends it through jansson
 * instead: both paths must decide the same, with the same message. */
#include <inttypes.h>
#include <stdarg.h>

#include "macro.h"

#include "fuzz.h"
#include "json-flat.h"
#include "proto-limits.h"
#include "request.h"

typedef struct Decoded {
        int r;
        char error[ERROR_MESSAGE_SIZE_MAX];
        Request req;
} Decoded;

static void check_decoded(const Decoded *d) {
        const Request *q = &d->req;

        if (d->r < 0) {
                FUZZ_CHECK(d->r == -EBADMSG || d->r == -EOPNOTSUPP || d->r == -EMSGSIZE, "request_decode: %d", d->r);
                FUZZ_CHECK(d->error[0], "refused without a message");
                FUZZ_CHECK(fuzz_utf8_valid(d->error, strlen(d->error)), "message is not valid UTF-8: %s", d->error);
                FUZZ_CHECK(q->op <= _OP_MAX, "op %d", (int) q->op);
                FUZZ_CHECK(!q->value && !q->plugin && !q->name && !q->user && !q->token,
                           "a refused request keeps unchecked fields");
                return;
        }
        FUZZ_CHECK(q->op < _OP_MAX && op_to_string(q->op), "decoded op %d", (int) q->op);
        FUZZ_CHECK(q->has_id, "decoded without an id");
        FUZZ_CHECK(!q->plugin || request_check_name(q->plugin) == 0, "plugin '%s' decoded", q->plugin);
        FUZZ_CHECK(!q->name || request_check_name(q->name) == 0, "name '%s' decoded", q->name);
        FUZZ_CHECK(!q->user || request_check_user_id(q->user) == 0, "user decoded");
        FUZZ_CHECK(!q->user || fuzz_utf8_valid(q->user, strlen(q->user)), "user is not UTF-8");
        FUZZ_CHECK(!q->value || q->value->size <= SECRET_VALUE_SIZE_MAX, "value of %zu bytes", q->value->size);
        FUZZ_CHECK(q->limit >= 1 && q->limit <= LIST_PAGE_MAX, "limit %u", q->limit);
        FUZZ_CHECK(q->lease_seconds >= 1 && q->lease_seconds <= LEASE_SECONDS_MAX, "lease_seconds");
        FUZZ_CHECK(q->bytes >= GENERATE_BYTES_MIN && q->bytes <= GENERATE_BYTES_MAX, "bytes");
        FUZZ_CHECK(q->min_valid >= 0 && q->expiring >= 0, "negative time");
        FUZZ_CHECK(!q->lease || strlen(q->lease) == LEASE_ID_SIZE, "lease");
        if (q->token) {
                char error[ERROR_MESSAGE_SIZE_MAX];
                FUZZ_CHECK(request_check_token_response(q->token, error, sizeof(error)) == 0,
                           "decoded token set fails its check: %s", error);
        }
        if (q->op == OP_PLUGIN_REGISTER) {
                FUZZ_CHECK(q->has_manifest && q->manifest.auth, "plugin.register without its manifest");
                FUZZ_CHECK(q->plugin || q->manifest_name, "plugin.register without a name");
                FUZZ_CHECK(!q->manifest_domain[0] || manifest_check_domain(q->manifest_domain) == 0, "domain");
        }
        if (q->op == OP_SECRET_VERIFY || q->op == OP_APIKEY_LOOKUP)
                FUZZ_CHECK(!q->value != !q->authorization, "value and authorization both or neither");
        if (q->op == OP_OAUTH_VERIFY_CLIENT)
                FUZZ_CHECK(q->authorization ? !q->client_id && !q->client_secret : q->client_id && q->client_secret,
                           "oauth.verify_client credentials");
}

/* Decoded in place, as the daemon does, from a copy of exactly the size;
 * the strings of a flat request point into it: free it after
 * request_done(). */
static uint8_t *decode(const uint8_t *body, size_t size, Decoded *ret) {
        uint8_t *copy = malloc(size ? size : 1);
        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, body, size);
        *ret = (Decoded) {};
        ret->r = request_decode(copy, size, &ret->req, ret->error, sizeof(ret->error));
        check_decoded(ret);
        return copy;
}

static bool same_string(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* Append to a growing text. */
typedef struct Text {
        char *s;
        size_t n, alloc;
} Text;

static void text_add(Text *t, const void *p, size_t n) {
        if (t->alloc - t->n < n + 1) {
                t->alloc = (t->n + n + 1) * 2;
                t->s = realloc(t->s, t->alloc);
                FUZZ_CHECK(t->s, "out of memory");
        }
        memcpy(t->s + t->n, p, n);
        t->n += n;
        t->s[t->n] = '\0';
}

static void text_addf(Text *t, const char *fmt, ...) _printf_(2, 3);
static void text_addf(Text *t, const char *fmt, ...) {
        char buf[128];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        text_add(t, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
}

/* The body again, with the first key that starts with an ASCII character
 * written with that character as a \u escape: the same object, which the
 * flat reader refuses. False if the body is not flat or has no such key. */
static bool escaped_variant(const uint8_t *body, size_t size, Text *ret) {
        FlatValue v[FLAT_FIELDS_MAX];
        char *copy = malloc(size ? size : 1);
        bool escaped = false;

        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, body, size);
        int n = json_flat_parse(copy, size, v, 0);
        if (n < 0) {
                free(copy);
                return false;
        }
        text_add(ret, "{", 1);
        for (int i = 0; i < n; i++) {
                if (i > 0)
                        text_add(ret, ",", 1);
                text_add(ret, "\"", 1);
                if (!escaped && v[i].key_size > 0 && (unsigned char) v[i].key[0] < 0x80) {
                        text_addf(ret, "\\u%04x", (unsigned) (unsigned char) v[i].key[0]);
                        text_add(ret, v[i].key + 1, v[i].key_size - 1);
                        escaped = true;
                } else
                        text_add(ret, v[i].key, v[i].key_size);
                text_add(ret, "\":", 2);
                switch (v[i].type) {
                case FLAT_STRING:
                        text_add(ret, "\"", 1);
                        text_add(ret, v[i].str, v[i].str_size);
                        text_add(ret, "\"", 1);
                        break;
                case FLAT_INTEGER:
                        text_addf(ret, "%" PRId64, v[i].integer);
                        break;
                case FLAT_TRUE:
                        text_add(ret, "true", 4);
                        break;
                case FLAT_FALSE:
                        text_add(ret, "false", 5);
                        break;
                default:
                        text_add(ret, "null", 4);
                        break;
                }
        }
        text_add(ret, "}", 1);
        free(copy);
        return escaped;
}

static void check_same(const Decoded *a, const Decoded *b) {
        FUZZ_CHECK(a->r == b->r, "flat path %d, jansson path %d (%s / %s)", a->r, b->r, a->error, b->error);
        FUZZ_CHECK(strcmp(a->error, b->error) == 0, "messages differ: '%s' / '%s'", a->error, b->error);
        FUZZ_CHECK(a->req.has_id == b->req.has_id && a->req.id == b->req.id, "ids differ");
        FUZZ_CHECK(a->req.op == b->req.op, "ops differ");
        if (a->r < 0)
                return;
        const Request *p = &a->req, *q = &b->req;
        FUZZ_CHECK(same_string(p->plugin, q->plugin) && same_string(p->name, q->name) &&
                           same_string(p->user, q->user) && same_string(p->after, q->after) &&
                           same_string(p->domain, q->domain) && same_string(p->authorization, q->authorization) &&
                           same_string(p->client_id, q->client_id) && same_string(p->client_secret, q->client_secret) &&
                           same_string(p->lease, q->lease) && same_string(p->oauth_error, q->oauth_error),
                   "a string field differs between the paths");
        FUZZ_CHECK(p->limit == q->limit && p->min_valid == q->min_valid && p->lease_seconds == q->lease_seconds &&
                           p->bytes == q->bytes && p->expiring == q->expiring,
                   "an integer field differs between the paths");
        FUZZ_CHECK(!p->value == !q->value &&
                           (!p->value || (p->value->size == q->value->size &&
                                          memcmp(p->value->data, q->value->data, p->value->size) == 0)),
                   "values differ between the paths");
}

static void run(const uint8_t *body, size_t size) {
        Decoded flat, tree;
        Text variant = {};

        uint8_t *copy = decode(body, size, &flat);
        if (escaped_variant(body, size, &variant)) {
                uint8_t *copy2 = decode((const uint8_t *) variant.s, variant.n, &tree);
                check_same(&flat, &tree);
                request_done(&tree.req);
                free(copy2);
        }
        request_done(&flat.req);
        free(copy);
        free(variant.s);
}

/* Mode 2: members from (field, type, value) choices. */
static void structured(Op op, const uint8_t *p, size_t n, Text *t) {
        static const char *const keys[] = {
                "plugin",
                "name",
                "user",
                "after",
                "limit",
                "value",
                "token",
                "domain",
                "manifest",
                "authorization",
                "client_id",
                "client_secret",
                "min_valid",
                "lease",
                "lease_seconds",
                "error",
                "bytes",
                "expiring",
                "v",
                "id",
                "op",
                "x",
        };
        static const char *const strings[] = {
                "todo",
                "calendar",
                "client_secret",
                "user-42",
                "alice@example.com",
                "Y3JtLWtleS0xMjM=",
                "AAEC/w==",
                "Bearer czNjcjN0",
                "Basic dXNlcjpwYXNz",
                "d440e08266bb83dc7ee4bc413c093d12",
                "invalid_grant",
                "todo.example.com",
                "",
                "a b",
                "\xc3\xa9",
                "\xf4\x8f\xbf\xbf",
                "verification_token:openai",
        };
        static const int64_t integers[] = { 0, 1, -1, 16, 64, 100, 101, 300, 301, 31622400, INT64_MAX, INT64_MIN };
        static const char *const objects[] = {
                "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
                "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"refresh_token\":\"rt-1\",\"expires_at\":1}",
                "{\"type\":\"service_http\",\"authorization_type\":\"bearer\","
                "\"verification_tokens\":{\"openai\":\"a8b0c2d4e6f8a1b3\"}}",
                "{\"name_for_model\":\"todo\",\"auth\":{\"type\":\"none\"},\"api\":{\"url\":\"https://todo.example.com/"
                "x\"}}",
                "{\"type\":\"oauth\",\"client_url\":\"https://x/a\",\"authorization_url\":\"https://x/t\","
                "\"scope\":\"\",\"authorization_content_type\":\"application/json\"}",
                "{}",
        };

        text_addf(t, "{\"v\":1,\"id\":7,\"op\":\"%s\"", op_to_string(op));
        for (size_t i = 0; i + 2 < n; i += 3) {
                text_addf(t, ",\"%s\":", keys[p[i] % (sizeof(keys) / sizeof(keys[0]))]);
                uint8_t which = p[i + 2];
                switch (p[i + 1] % 6) {
                case 0:
                        text_addf(t, "\"%s\"", strings[which % (sizeof(strings) / sizeof(strings[0]))]);
                        break;
                case 1:
                        text_addf(t, "%" PRId64, integers[which % (sizeof(integers) / sizeof(integers[0]))]);
                        break;
                case 2:
                        text_add(t, which & 1 ? "true" : "false", which & 1 ? 4 : 5);
                        break;
                case 3:
                        text_add(t, "null", 4);
                        break;
                case 4:
                        text_addf(t, "%s", objects[which % (sizeof(objects) / sizeof(objects[0]))]);
                        break;
                default:
                        /* A string of `which` bytes: lengths around the limits. */
                        text_add(t, "\"", 1);
                        for (unsigned k = 0; k < (unsigned) which * 2u; k++)
                                text_add(t, "a", 1);
                        text_add(t, "\"", 1);
                        break;
                }
        }
        text_add(t, "}", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Text t = {};

        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
                run(data + 1, size - 1);
                return 0;
        case 1:
                if (size < 2)
                        return 0;
                text_addf(&t, "{\"v\":1,\"id\":7,\"op\":\"%s\"", op_to_string((Op) (data[1] % _OP_MAX)));
                if (size > 2) {
                        text_add(&t, ",", 1);
                        text_add(&t, data + 2, size - 2);
                }
                text_add(&t, "}", 1);
                break;
        default:
                if (size < 2)
                        return 0;
                structured((Op) (data[1] % _OP_MAX), data + 2, size - 2, &t);
                break;
        }
        run((const uint8_t *) t.s, t.n);
        free(t.s);
        return 0;
}
