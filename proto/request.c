/* request.c — strict request decoding (see request.h).
 *
 * A body becomes a list of members (key, JSON type, value): the common flat
 * object (unescaped strings, integers, no nesting) is read in place by
 * json_flat_parse(); anything else (a token set, a manifest, escapes, every
 * malformed body) is parsed by jansson into a tree. Each member is checked
 * against the op table (request-table.c): a field the op does not take, or one of the
 * wrong type, is an error, never ignored, and so is a missing required
 * field. Lengths, characters and ranges follow, then the value's base64,
 * the token set and the manifest. Error messages carry field names, never
 * field values, nor jansson's own messages (they quote the text): a
 * malformed request may hold a secret, and error messages end up in logs. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-flat.h"
#include "proto-limits.h"
#include "request-internal.h"
#include "request.h"
#include "utf8.h"

/* One member of the request object, from either parser. */
typedef struct Member {
        const char *key;
        size_t key_size;
        json_type type;
        const char *str; /* JSON_STRING, NUL-terminated */
        size_t str_size;
        int64_t integer; /* JSON_INTEGER */
        json_t *json;    /* JSON_OBJECT (jansson path only) */
} Member;

typedef struct Members {
        Member m[REQUEST_MEMBERS_MAX];
        size_t n;
} Members;
_Static_assert(REQUEST_MEMBERS_MAX >= FLAT_FIELDS_MAX, "every flat object's members fit");

/* The members of a flat object, as json-flat.c found them. */
static void members_from_flat(Members *ms, const FlatValue *v, size_t n) {
        static const json_type types[] = {
                [FLAT_STRING] = JSON_STRING, [FLAT_INTEGER] = JSON_INTEGER, [FLAT_TRUE] = JSON_TRUE,
                [FLAT_FALSE] = JSON_FALSE,   [FLAT_NULL] = JSON_NULL,       [FLAT_OBJECT] = JSON_OBJECT,
        };
        for (size_t i = 0; i < n; i++)
                ms->m[i] = (Member) { .key = v[i].key,
                                      .key_size = v[i].key_size,
                                      .type = types[v[i].type],
                                      .str = v[i].str,
                                      .str_size = v[i].str_size,
                                      .integer = v[i].integer };
        ms->n = n;
}

/* The members of a jansson object; -EBADMSG if there are more than
 * REQUEST_MEMBERS_MAX (the per-op check would refuse them anyway). */
static int members_from_json(Members *ms, json_t *root) {
        const char *key;
        json_t *v;

        ms->n = 0;
        json_object_foreach(root, key, v) {
                if (ms->n == ELEMENTSOF(ms->m))
                        return -EBADMSG;
                Member *m = &ms->m[ms->n++];
                *m = (Member) { .key = key, .key_size = strlen(key), .type = json_typeof(v), .json = v };
                if (json_is_string(v)) {
                        m->str = json_string_value(v);
                        m->str_size = json_string_length(v);
                } else if (json_is_integer(v))
                        m->integer = json_integer_value(v);
        }
        return 0;
}

/* Field names are short and differ early: compare the length first. */
static int field_lookup(const char *key, size_t size) {
        for (int k = 0; k < _F_MAX; k++)
                if (request_fields[k].size == size && memcmp(request_fields[k].name, key, size) == 0)
                        return k;
        return -1;
}

static const Member *members_get(const Members *ms, const char *key) {
        for (size_t i = 0; i < ms->n; i++)
                if (strcmp(ms->m[i].key, key) == 0)
                        return &ms->m[i];
        return NULL;
}

static const char *type_name(json_type t) {
        return t == JSON_STRING    ? "a string"
               : t == JSON_INTEGER ? "an integer"
               : t == JSON_TRUE    ? "true or false"
                                   : "an object";
}

static int check_string(const char *field, const char *s, size_t size_max, bool (*ok)(const char *), char *errbuf,
                        size_t errbuf_size) {
        if (!s)
                return 0;
        if (strlen(s) > size_max)
                return request_bad(errbuf, errbuf_size, "field '%s': longer than %zu bytes", field, size_max);
        if (ok && !ok(s))
                return request_bad(errbuf, errbuf_size, "field '%s': invalid characters", field);
        return 0;
}

static bool is_printable_ascii(const char *s) {
        return request_printable_ascii(s, strlen(s));
}

static bool is_lease_id(const char *s) {
        if (strlen(s) != LEASE_ID_SIZE)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static bool is_error_code(const char *s) {
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                        return false;
        return *s != '\0';
}

static int check_range(const char *field, const Member *v, int64_t min, int64_t max, int64_t def, int64_t *ret,
                       char *errbuf, size_t errbuf_size) {
        if (!v) {
                *ret = def;
                return 0;
        }
        int64_t i = v->integer;
        if (i < min || i > max)
                return request_bad(errbuf, errbuf_size, "field '%s': must be between %" PRId64 " and %" PRId64, field,
                                   min, max);
        *ret = i;
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

/* Every member must be a field of this op, of the right type; then every
 * required field must have been seen. */
static int decode_fields(Request *r, const Members *ms, const Member *values[static _F_MAX], char *errbuf,
                         size_t errbuf_size) {
        uint64_t allowed = F(F_V) | F(F_ID) | F(F_OP) | request_ops[r->op].required | request_ops[r->op].optional,
                 seen = 0;

        for (size_t i = 0; i < ms->n; i++) {
                const Member *m = &ms->m[i];
                int f = field_lookup(m->key, m->key_size);
                if (f < 0 || !(allowed & F(f)))
                        return request_bad(errbuf, errbuf_size, "field '%.*s': not a field of %s",
                                           (int) utf8_prefix_size(m->key, ERROR_FIELD_NAME_SIZE_MAX), m->key,
                                           request_ops[r->op].name);
                /* A boolean field is declared JSON_TRUE and takes false too. */
                bool boolean = request_fields[f].type == JSON_TRUE && m->type == JSON_FALSE;
                if (m->type != request_fields[f].type && !boolean)
                        return request_bad(errbuf, errbuf_size, "field '%s': expected %s", m->key,
                                           type_name(request_fields[f].type));
                values[f] = m;
                seen |= F(f);
        }
        uint64_t missing = request_ops[r->op].required & ~seen;
        for (int i = 0; i < _F_MAX; i++)
                if (missing & F(i))
                        return request_bad(errbuf, errbuf_size, "field '%s': missing", request_fields[i].name);
        return 0;
}

static const char *str(const Member *v) {
        return v ? v->str : NULL;
}

static int decode_value(Request *r, const Member *v, char *errbuf, size_t errbuf_size) {
        int q;
        if (!v)
                return 0;
        if (v->str_size > SECRET_VALUE_B64_SIZE_MAX) {
                snprintf(errbuf, errbuf_size, "field 'value': over %d bytes", SECRET_VALUE_SIZE_MAX);
                return -EMSGSIZE;
        }
        q = secret_buf_from_base64(v->str, v->str_size, &r->value);
        if (q == -ENOMEM)
                return q;
        if (q < 0)
                return request_bad(errbuf, errbuf_size, "field '%s': not padded standard base64", "value");
        if (r->value->size > SECRET_VALUE_SIZE_MAX) {
                snprintf(errbuf, errbuf_size, "field 'value': over %d bytes", SECRET_VALUE_SIZE_MAX);
                return -EMSGSIZE;
        }
        return 0;
}

/* The id, if it is one: an integer, not negative. */
static void request_set_id(Request *r, bool is_integer, int64_t id) {
        if (is_integer && id >= 0) {
                r->has_id = true;
                r->id = (uint64_t) id;
        }
}

static int request_decode_checked(uint8_t *body, size_t body_size, Request *ret, char *errbuf, size_t errbuf_size) {
        const Member *values[_F_MAX] = {};
        FlatValue flat[FLAT_FIELDS_MAX];
        Members ms;
        json_error_t e;
        int64_t n = 0;
        int r;

        *ret = (Request) { .op = _OP_MAX };

        /* The common flat request needs no tree; anything else, including
         * every malformed request, goes through jansson. */
        r = json_flat_parse((char *) body, body_size, flat, 0);
        if (r >= 0)
                members_from_flat(&ms, flat, (size_t) r);
        else {
                /* jansson's own message quotes the text near the error,
                 * which may be part of a secret: describe the error
                 * ourselves, by position only. */
                ret->root = json_loadb((const char *) body, body_size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
                if (!ret->root) {
                        snprintf(errbuf, errbuf_size, "%s at byte %d", json_error_describe(&e), e.position);
                        return -EBADMSG;
                }
                if (!json_is_object(ret->root)) {
                        snprintf(errbuf, errbuf_size, "a request must be a JSON object");
                        return -EBADMSG;
                }
                if (members_from_json(&ms, ret->root) < 0) {
                        /* Refused as a whole, but answered with its id
                         * all the same: the tree has it. */
                        json_t *id = json_object_get(ret->root, "id");
                        request_set_id(ret, json_is_integer(id), json_integer_value(id));
                        return request_bad(errbuf, errbuf_size, "too many fields");
                }
        }

        /* Read id and op first, so even a bad request is answered with its
         * own id. */
        const Member *jid = members_get(&ms, "id");
        if (jid)
                request_set_id(ret, jid->type == JSON_INTEGER, jid->integer);
        if (!jid)
                return request_bad(errbuf, errbuf_size, "field '%s': missing", "id");
        if (!ret->has_id)
                return request_bad(errbuf, errbuf_size, "field '%s': expected a non-negative integer", "id");
        const Member *jop = members_get(&ms, "op");
        if (!jop || jop->type != JSON_STRING)
                return request_bad(errbuf, errbuf_size, "field '%s': missing or not a string", "op");
        r = op_from_string(jop->str);
        if (r < 0) {
                snprintf(errbuf, errbuf_size, "unknown op");
                return -EOPNOTSUPP;
        }
        ret->op = r;

        r = decode_fields(ret, &ms, values, errbuf, errbuf_size);
        if (r < 0)
                return r;
        if (values[F_V] && values[F_V]->integer != PROTO_VERSION)
                return request_bad(errbuf, errbuf_size, "field '%s': unsupported protocol version", "v");

        ret->plugin = str(values[F_PLUGIN]);
        ret->name = str(values[F_NAME]);
        ret->user = str(values[F_USER]);
        ret->after = str(values[F_AFTER]);
        ret->domain = str(values[F_DOMAIN]);
        ret->authorization = str(values[F_AUTHORIZATION]);
        ret->client_id = str(values[F_CLIENT_ID]);
        ret->client_secret = str(values[F_CLIENT_SECRET]);
        ret->lease = str(values[F_LEASE]);
        ret->oauth_error = str(values[F_ERROR]);
        ret->token = values[F_TOKEN] ? values[F_TOKEN]->json : NULL;
        ret->principal = str(values[F_PRINCIPAL]);
        ret->audit_op = str(values[F_AUDIT_OP]);

        if (ret->plugin && request_check_name(ret->plugin) < 0)
                return request_bad(errbuf, errbuf_size, "field '%s': 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
                                   "plugin");
        if (ret->name && request_check_name(ret->name) < 0)
                return request_bad(errbuf, errbuf_size, "field '%s': 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
                                   "name");
        if (ret->user && request_check_user_id(ret->user) < 0)
                return request_bad(errbuf, errbuf_size, "field '%s': 1 to 256 bytes without control characters",
                                   "user");
        if (ret->domain && manifest_check_domain(ret->domain) < 0)
                return request_bad(errbuf, errbuf_size, "field '%s': a host name of a-z 0-9 . -", "domain");
        r = check_string("after", ret->after, CURSOR_SIZE_MAX, NULL, errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("authorization", ret->authorization, AUTHORIZATION_SIZE_MAX, is_printable_ascii,
                                 errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("client_id", ret->client_id, TOKEN_SECRET_SIZE_MAX, NULL, errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("client_secret", ret->client_secret, TOKEN_SECRET_SIZE_MAX, NULL, errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("lease", ret->lease, LEASE_ID_SIZE, is_lease_id, errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("error", ret->oauth_error, 64, is_error_code, errbuf, errbuf_size);
        if (r >= 0)
                r = check_string("principal", ret->principal, PRINCIPAL_SIZE_MAX, is_printable_ascii, errbuf,
                                 errbuf_size);
        if (r >= 0)
                r = check_string("audit_op", ret->audit_op, 32, is_printable_ascii, errbuf, errbuf_size);
        if (r < 0)
                return r;

        r = check_range("limit", values[F_LIMIT], 1, LIST_PAGE_MAX, LIST_PAGE_MAX, &n, errbuf, errbuf_size);
        if (r < 0)
                return r;
        ret->limit = (unsigned) n;
        r = check_range("min_valid", values[F_MIN_VALID], 0, 366 * 86400, 0, &ret->min_valid, errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("lease_seconds", values[F_LEASE_SECONDS], 1, LEASE_SECONDS_MAX, LEASE_SECONDS_DEFAULT,
                                &ret->lease_seconds, errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("bytes", values[F_BYTES], GENERATE_BYTES_MIN, GENERATE_BYTES_MAX,
                                GENERATE_BYTES_DEFAULT, &ret->bytes, errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("expiring", values[F_EXPIRING], 0, 3660LL * 86400, 300, &ret->expiring, errbuf,
                                errbuf_size);
        /* Unix seconds up to the year 9999; 0 is "not given". */
        if (r >= 0)
                r = check_range("since", values[F_SINCE], 0, TOKEN_EXPIRES_AT_MAX, 0, &ret->since, errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("until", values[F_UNTIL], 0, TOKEN_EXPIRES_AT_MAX, 0, &ret->until, errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("before", values[F_BEFORE], 1, TOKEN_EXPIRES_AT_MAX, 0, &ret->before, errbuf,
                                errbuf_size);
        if (r >= 0)
                r = check_range("version", values[F_VERSION], 1, INT64_MAX, 0, &ret->version, errbuf, errbuf_size);
        /* Unix ms up to the year 9999. */
        if (r >= 0)
                r = check_range("retry_at", values[F_RETRY_AT], 1, TOKEN_EXPIRES_AT_MAX * 1000, 0, &ret->retry_at,
                                errbuf, errbuf_size);
        if (r >= 0)
                r = check_range("revocation", values[F_REVOCATION], 1, INT64_MAX, 0, &ret->revocation, errbuf,
                                errbuf_size);
        if (r >= 0)
                r = check_range("grace", values[F_GRACE], 0, SECRET_GRACE_MAX, SECRET_GRACE_DEFAULT, &ret->grace,
                                errbuf, errbuf_size);
        if (r < 0)
                return r;
        ret->has_grace = values[F_GRACE] != NULL;
        ret->replace = values[F_REPLACE] && values[F_REPLACE]->type == JSON_TRUE;
        if (values[F_STAGE]) {
                int stage = secret_stage_from_string(values[F_STAGE]->str);
                if (stage < 0)
                        return request_bad(errbuf, errbuf_size, "field '%s': one of current, previous, pending",
                                           "stage");
                ret->stage = (SecretStage) stage;
        }
        /* token.list notes "ok" for a refresh that worked: a failure
         * cannot say it. */
        if (ret->op == OP_TOKEN_REFRESH_FAIL && strcmp(ret->oauth_error, "ok") == 0)
                return request_bad(errbuf, errbuf_size, "field 'error': \"ok\" is not an error");
        /* A staged value is given or generated, not both. */
        if (ret->op == OP_SECRET_ROTATE && values[F_VALUE] && values[F_BYTES])
                return request_bad(errbuf, errbuf_size, "fields 'value' and 'bytes': at most one is allowed");

        /* A presented credential is a value or a header, not both. */
        if ((ret->op == OP_SECRET_VERIFY || ret->op == OP_APIKEY_LOOKUP) &&
            !values[F_VALUE] == !values[F_AUTHORIZATION])
                return request_bad(errbuf, errbuf_size, "fields 'value' and 'authorization': exactly one is required");
        if (ret->op == OP_OAUTH_VERIFY_CLIENT &&
            !(values[F_AUTHORIZATION] ? !values[F_CLIENT_ID] && !values[F_CLIENT_SECRET]
                                      : values[F_CLIENT_ID] && values[F_CLIENT_SECRET]))
                return request_bad(errbuf, errbuf_size,
                                   "fields 'authorization' or 'client_id' and 'client_secret': one way is required");

        r = decode_value(ret, values[F_VALUE], errbuf, errbuf_size);
        if (r < 0)
                return r;
        if (ret->token) {
                r = request_check_token_response(ret->token, errbuf, errbuf_size);
                if (r < 0)
                        return r;
        }
        if (values[F_REPORT]) {
                r = request_check_refresher_report(values[F_REPORT]->json, &ret->report, errbuf, errbuf_size);
                if (r < 0)
                        return r;
        }
        if (values[F_MANIFEST]) {
                r = manifest_parse(values[F_MANIFEST]->json, &ret->manifest, &ret->manifest_name, ret->manifest_domain,
                                   sizeof(ret->manifest_domain), errbuf, errbuf_size);
                if (r < 0)
                        return r;
                ret->has_manifest = true;
                if (!ret->plugin && !ret->manifest_name)
                        return request_bad(errbuf, errbuf_size,
                                           "field '%s': missing (the manifest has no name_for_model)", "plugin");
                if (!ret->plugin && request_check_name(ret->manifest_name) < 0)
                        return request_bad(errbuf, errbuf_size,
                                           "field '%s': 1 to 128 characters of A-Z a-z 0-9 _ . : @ -",
                                           "manifest.name_for_model");
        }
        return 0;
}

int request_decode(uint8_t *body, size_t body_size, Request *ret, char *errbuf, size_t errbuf_size) {
        int r = request_decode_checked(body, body_size, ret, errbuf, errbuf_size);
        if (r < 0) {
                /* Decoding may have filled some fields before it failed:
                 * none of them is checked, so none may be used. */
                secret_buf_free(ret->value);
                Request kept = { .root = ret->root, .has_id = ret->has_id, .id = ret->id, .op = ret->op };
                *ret = kept;
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
