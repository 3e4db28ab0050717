/* request.c — strict request decoding (see request.h).
 *
 * Every op's shape is one json_unpack_ex() format with JSON_STRICT, so an
 * unknown field is an error, never ignored. Error messages carry field names
 * and jansson's type complaints, never field values: a malformed request may
 * hold a secret, and error messages end up in logs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto-limits.h"
#include "request.h"

static const char *const op_names[_OP_MAX] = {
        [OP_HEALTH] = "health",
        [OP_SECRET_PUT] = "secret.put",
        [OP_SECRET_GET] = "secret.get",
        [OP_SECRET_LIST] = "secret.list",
        [OP_SECRET_DELETE] = "secret.delete",
        [OP_TOKEN_PUT] = "token.put",
        [OP_TOKEN_GET] = "token.get",
        [OP_TOKEN_LIST] = "token.list",
        [OP_TOKEN_DELETE] = "token.delete",
};

const char *op_to_string(Op op) {
        return op >= 0 && op < _OP_MAX ? op_names[op] : NULL;
}

int op_from_string(const char *s) {
        for (int i = 0; i < _OP_MAX; i++)
                if (strcmp(op_names[i], s) == 0)
                        return i;
        return -EOPNOTSUPP;
}

int name_check(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > NAME_SIZE_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == ':' || c == '@' || c == '-'))
                        return -EINVAL;
        }
        return 0;
}

int user_id_check(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > USER_ID_SIZE_MAX)
                return -EINVAL;
        /* jansson already guarantees valid UTF-8; refuse control characters
         * (C0, DEL, and C1 = U+0080..U+009F, encoded C2 80..C2 9F) so a user
         * id can be printed and logged as it is. */
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f)
                        return -EINVAL;
                if (c == 0xc2 && i + 1 < n && (unsigned char) s[i + 1] <= 0x9f)
                        return -EINVAL;
        }
        return 0;
}

static bool printable_ascii(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

_printf_(3, 4) static int bad(char *errbuf, size_t errbuf_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errbuf_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

int token_set_check(json_t *token, bool *ret_has_expires_at, int64_t *ret_expires_at, char *errbuf,
                    size_t errbuf_size) {
        const char *access = NULL, *type = NULL, *refresh = NULL, *scope = NULL;
        size_t access_size = 0, type_size = 0, refresh_size = 0, scope_size = 0;
        json_int_t expires_at = -1;
        json_error_t e;

        if (!json_is_object(token))
                return bad(errbuf, errbuf_size, "field '%s': expected an object", "token");
        if (json_unpack_ex(token, &e, JSON_STRICT, "{s:s% s:s% s?s% s?s% s?I}", "access_token", &access,
                           &access_size, "token_type", &type, &type_size, "refresh_token", &refresh,
                           &refresh_size, "scope", &scope, &scope_size, "expires_at", &expires_at) < 0) {
                snprintf(errbuf, errbuf_size, "field 'token': %s", e.text);
                return -EBADMSG;
        }

        const struct {
                const char *field, *value;
                size_t size, max;
        } strings[] = {
                { "access_token", access, access_size, TOKEN_SECRET_SIZE_MAX },
                { "refresh_token", refresh, refresh_size, TOKEN_SECRET_SIZE_MAX },
                { "token_type", type, type_size, TOKEN_TYPE_SIZE_MAX },
                { "scope", scope, scope_size, TOKEN_SCOPE_SIZE_MAX },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (!strings[i].value)
                        continue;
                if (strings[i].size > strings[i].max)
                        return bad(errbuf, errbuf_size, "field 'token.%s': too long", strings[i].field);
                if (!printable_ascii(strings[i].value, strings[i].size))
                        return bad(errbuf, errbuf_size, "field 'token.%s': must be printable ASCII",
                                   strings[i].field);
        }
        if (access_size == 0)
                return bad(errbuf, errbuf_size, "field 'token.%s': must not be empty", "access_token");
        if (type_size == 0)
                return bad(errbuf, errbuf_size, "field 'token.%s': must not be empty", "token_type");
        if (json_object_get(token, "expires_at") && expires_at < 0)
                return bad(errbuf, errbuf_size, "field 'token.%s': must be a non-negative integer",
                           "expires_at");

        *ret_has_expires_at = expires_at >= 0;
        *ret_expires_at = expires_at;
        return 0;
}

/* The fields every request has; the per-op formats below repeat them so
 * that JSON_STRICT sees the whole object at once. */
#define HEAD "s?I s:I s:s"
#define HEAD_ARGS(v, id, op) "v", (v), "id", (id), "op", (op)

static int decode_fields(Request *r, json_int_t *v, json_int_t *id, const char **op, json_int_t *limit,
                         const char **value_b64, size_t *value_b64_size, json_error_t *e) {
        json_t *j = r->root;
        const int f = JSON_STRICT;

        switch (r->op) {
        case OP_HEALTH:
                return json_unpack_ex(j, e, f, "{" HEAD "}", HEAD_ARGS(v, id, op));
        case OP_SECRET_PUT:
                return json_unpack_ex(j, e, f, "{" HEAD " s:s s:s s:s%}", HEAD_ARGS(v, id, op), "plugin",
                                      &r->plugin, "name", &r->name, "value", value_b64, value_b64_size);
        case OP_SECRET_GET:
        case OP_SECRET_DELETE:
                return json_unpack_ex(j, e, f, "{" HEAD " s:s s:s}", HEAD_ARGS(v, id, op), "plugin", &r->plugin,
                                      "name", &r->name);
        case OP_SECRET_LIST:
                return json_unpack_ex(j, e, f, "{" HEAD " s?s s?s s?I}", HEAD_ARGS(v, id, op), "plugin",
                                      &r->plugin, "after", &r->after, "limit", limit);
        case OP_TOKEN_PUT:
                return json_unpack_ex(j, e, f, "{" HEAD " s:s s:s s:o}", HEAD_ARGS(v, id, op), "plugin",
                                      &r->plugin, "user", &r->user, "token", &r->token);
        case OP_TOKEN_GET:
        case OP_TOKEN_DELETE:
                return json_unpack_ex(j, e, f, "{" HEAD " s:s s:s}", HEAD_ARGS(v, id, op), "plugin", &r->plugin,
                                      "user", &r->user);
        case OP_TOKEN_LIST:
                return json_unpack_ex(j, e, f, "{" HEAD " s:s s?s s?I}", HEAD_ARGS(v, id, op), "plugin",
                                      &r->plugin, "after", &r->after, "limit", limit);
        default:
                return -1;
        }
}

/* The type of every field any op has, checked before the per-op formats so
 * a wrong type is reported with the field's name (jansson's unpack message
 * does not name it). */
static const struct {
        const char *name;
        json_type type;
} field_types[] = {
        { "v", JSON_INTEGER },     { "id", JSON_INTEGER },  { "op", JSON_STRING },    { "plugin", JSON_STRING },
        { "name", JSON_STRING },   { "user", JSON_STRING }, { "after", JSON_STRING }, { "limit", JSON_INTEGER },
        { "value", JSON_STRING },  { "token", JSON_OBJECT },
};

static int check_field_types(json_t *root, char *errbuf, size_t errbuf_size) {
        for (size_t i = 0; i < ELEMENTSOF(field_types); i++) {
                json_t *v = json_object_get(root, field_types[i].name);
                if (v && json_typeof(v) != field_types[i].type)
                        return bad(errbuf, errbuf_size, "field '%s': expected %s", field_types[i].name,
                                   field_types[i].type == JSON_STRING    ? "a string"
                                   : field_types[i].type == JSON_INTEGER ? "an integer"
                                                                         : "an object");
        }
        return 0;
}

static const char *json_error_describe(const json_error_t *e) {
        switch (json_error_code(e)) {
        case json_error_invalid_utf8:
                return "invalid UTF-8";
        case json_error_premature_end_of_input:
                return "truncated JSON";
        case json_error_end_of_input_expected:
                return "trailing bytes after the JSON object";
        case json_error_null_character:
        case json_error_null_byte_in_key:
                return "NUL character in a string";
        case json_error_duplicate_key:
                return "duplicate key";
        case json_error_numeric_overflow:
                return "number out of range";
        case json_error_stack_overflow:
                return "nesting too deep";
        case json_error_out_of_memory:
                return "out of memory";
        default:
                return "invalid JSON";
        }
}

static int request_decode_checked(const uint8_t *body, size_t body_size, Request *ret, char *errbuf,
                                  size_t errbuf_size) {
        json_int_t v = PROTO_VERSION, id = -1, limit = LIST_PAGE_MAX;
        const char *op = NULL, *value_b64 = NULL;
        size_t value_b64_size = 0;
        json_error_t e;
        int r;

        *ret = (Request) { .op = _OP_MAX };

        /* jansson's own message quotes the text near the error, which may be
         * part of a secret: describe the error ourselves, by position only. */
        ret->root = json_loadb((const char *) body, body_size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!ret->root) {
                snprintf(errbuf, errbuf_size, "%s at byte %d", json_error_describe(&e), e.position);
                return -EBADMSG;
        }
        if (!json_is_object(ret->root)) {
                snprintf(errbuf, errbuf_size, "a request must be a JSON object");
                return -EBADMSG;
        }

        /* Read id and op loosely first, so even a bad request is answered
         * with its own id. */
        json_t *jid = json_object_get(ret->root, "id");
        if (json_is_integer(jid) && json_integer_value(jid) >= 0) {
                ret->has_id = true;
                ret->id = (uint64_t) json_integer_value(jid);
        }
        if (!jid)
                return bad(errbuf, errbuf_size, "field '%s': missing", "id");
        if (!ret->has_id)
                return bad(errbuf, errbuf_size, "field '%s': expected a non-negative integer", "id");
        json_t *jop = json_object_get(ret->root, "op");
        if (!json_is_string(jop))
                return bad(errbuf, errbuf_size, "field '%s': missing or not a string", "op");
        r = op_from_string(json_string_value(jop));
        if (r < 0) {
                snprintf(errbuf, errbuf_size, "unknown op");
                return -EOPNOTSUPP;
        }
        ret->op = r;

        r = check_field_types(ret->root, errbuf, errbuf_size);
        if (r < 0)
                return r;
        if (decode_fields(ret, &v, &id, &op, &limit, &value_b64, &value_b64_size, &e) < 0) {
                snprintf(errbuf, errbuf_size, "%s: %s", op_names[ret->op], e.text);
                return -EBADMSG;
        }
        if (v != PROTO_VERSION)
                return bad(errbuf, errbuf_size, "field '%s': unsupported protocol version", "v");

        if (ret->plugin && name_check(ret->plugin) < 0)
                return bad(errbuf, errbuf_size, "field '%s': 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
                           "plugin");
        if (ret->name && name_check(ret->name) < 0)
                return bad(errbuf, errbuf_size, "field '%s': 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
                           "name");
        if (ret->user && user_id_check(ret->user) < 0)
                return bad(errbuf, errbuf_size, "field '%s': 1 to 256 bytes without control characters",
                           "user");
        if (ret->after && strlen(ret->after) > CURSOR_SIZE_MAX)
                return bad(errbuf, errbuf_size, "field '%s': too long", "after");
        if (limit < 1 || limit > LIST_PAGE_MAX)
                return bad(errbuf, errbuf_size, "field '%s': must be between 1 and 100", "limit");
        ret->limit = (unsigned) limit;

        if (value_b64) {
                if (value_b64_size > SECRET_VALUE_B64_SIZE_MAX) {
                        snprintf(errbuf, errbuf_size, "field 'value': over %d bytes", SECRET_VALUE_SIZE_MAX);
                        return -EMSGSIZE;
                }
                r = secret_buf_from_base64(value_b64, value_b64_size, &ret->value);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return bad(errbuf, errbuf_size, "field '%s': not padded standard base64", "value");
                if (ret->value->size > SECRET_VALUE_SIZE_MAX) {
                        snprintf(errbuf, errbuf_size, "field 'value': over %d bytes", SECRET_VALUE_SIZE_MAX);
                        return -EMSGSIZE;
                }
        }
        if (ret->token) {
                r = token_set_check(ret->token, &ret->has_expires_at, &ret->expires_at, errbuf, errbuf_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int request_decode(const uint8_t *body, size_t body_size, Request *ret, char *errbuf, size_t errbuf_size) {
        int r = request_decode_checked(body, body_size, ret, errbuf, errbuf_size);
        if (r < 0) {
                /* json_unpack may have filled some fields before it failed:
                 * none of them is checked, so none may be used. */
                secret_buf_free(ret->value);
                *ret = (Request) { .root = ret->root, .has_id = ret->has_id, .id = ret->id, .op = ret->op };
        }
        return r;
}

void request_done(Request *r) {
        secret_buf_free(r->value);
        if (r->root) {
                /* The text of a secret.put value or a token set is in the
                 * tree; the daemon's jansson allocator wipes on free. */
                json_decref(r->root);
        }
        *r = (Request) {};
}
