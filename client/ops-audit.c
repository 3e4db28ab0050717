/* ops-audit.c — who the caller is, the policy and audit state in the
 * health reply, and the audit trail: whoami, health as JSON, audit.list,
 * audit.verify, audit.prune (see credvault.h).
 *
 * Replies handed on as JSON text are first checked against the shape the
 * protocol gives them (a table of members per reply), so a caller can
 * read every member credvault.h names without checking it again. None of
 * these replies carries a secret: the texts are plain malloc() memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"
#include "parse-util.h"
#include "utf8.h"

_Static_assert(CV_AUDIT_PRINCIPAL_SIZE_MAX == PRINCIPAL_SIZE_MAX, "credvault.h and proto-limits.h disagree");

/* ---- reply shapes ---- */

typedef enum Want {
        WANT_INT,
        WANT_COUNT, /* an integer >= 0 */
        WANT_BOOL,
        WANT_STRING,
        WANT_STRING_OR_NULL,
        WANT_STRING_OPTIONAL, /* absent, or a string */
        WANT_OBJECT,          /* with the members `members` */
        WANT_OBJECT_OR_NULL,  /* the same, or null */
        WANT_COUNTS,          /* an array of integers >= 0 */
        WANT_STRINGS,         /* an array of strings */
        WANT_OBJECTS,         /* an array of objects with the members `members` */
} Want;

typedef struct Member {
        const char *key; /* NULL ends a list of members */
        Want want;
        const struct Member *members;
} Member;

#define SHAPE_PATH_SIZE 128

static bool value_valid(json_t *v, Want want, const Member *members, char *path, size_t path_size);

/* Whether obj has every member of members with its type; if not, path
 * gets where the first one that does not was found ("grants[1].classes"). */
static bool object_valid(json_t *obj, const Member *members, char *path, size_t path_size) {
        size_t len = strlen(path);
        for (const Member *m = members; m->key; m++) {
                json_t *v = json_object_get(obj, m->key);
                snprintf(path + len, path_size - len, "%s%s", len > 0 ? "." : "", m->key);
                if (!v && m->want == WANT_STRING_OPTIONAL)
                        continue;
                if (!value_valid(v, m->want, m->members, path, path_size))
                        return false;
        }
        path[len] = '\0';
        return true;
}

static bool value_valid(json_t *v, Want want, const Member *members, char *path, size_t path_size) {
        size_t len = strlen(path), i;
        json_t *item;

        switch (want) {
        case WANT_INT:
                return json_is_integer(v);
        case WANT_COUNT:
                return json_is_integer(v) && json_integer_value(v) >= 0;
        case WANT_BOOL:
                return json_is_boolean(v);
        case WANT_STRING:
        case WANT_STRING_OPTIONAL:
                return json_is_string(v);
        case WANT_STRING_OR_NULL:
                return json_is_string(v) || json_is_null(v);
        case WANT_OBJECT_OR_NULL:
                return json_is_null(v) || (json_is_object(v) && object_valid(v, members, path, path_size));
        case WANT_OBJECT:
                return json_is_object(v) && object_valid(v, members, path, path_size);
        case WANT_COUNTS:
        case WANT_STRINGS:
        case WANT_OBJECTS:
                if (!json_is_array(v))
                        return false;
                json_array_foreach(v, i, item) {
                        snprintf(path + len, path_size - len, "[%zu]", i);
                        bool valid = want == WANT_COUNTS ? json_is_integer(item) && json_integer_value(item) >= 0
                                     : want == WANT_STRINGS
                                             ? json_is_string(item)
                                             : json_is_object(item) && object_valid(item, members, path, path_size);
                        if (!valid)
                                return false;
                }
                path[len] = '\0';
                return true;
        }
        return false;
}

/* The reply checked against its members, then, without the protocol's
 * own "id" and "ok", as JSON text into *ret. Ends the reply. */
static int reply_text(CvClient *c, Reply *reply, const Member *members, char **ret) {
        char path[SHAPE_PATH_SIZE] = "", what[SHAPE_PATH_SIZE + 64];

        if (!reply->json) {
                client_reply_done(reply);
                return client_fail_protocol(c, "a reply without the members it must have");
        }
        if (!object_valid(reply->json, members, path, sizeof(path))) {
                client_reply_done(reply);
                snprintf(what, sizeof(what), "member '%s' missing or of another type", path);
                return client_fail_protocol(c, what);
        }
        json_object_del(reply->json, "id");
        json_object_del(reply->json, "ok");
        char *text = json_dumps(reply->json, JSON_COMPACT);
        client_reply_done(reply);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret = text;
        return 0;
}

/* A call without fields whose whole reply is handed on as JSON text. */
static int call_text(CvClient *c, const char *op, const Member *members, char **ret_json) {
        Reply reply;

        if (!c || !ret_json)
                return -EINVAL;
        client_request(c, op);
        int r = client_send(c, &reply);
        return r < 0 ? r : reply_text(c, &reply, members, ret_json);
}

/* ---- health and whoami ---- */

static const Member health_keyring[] = {
        { "primary", WANT_INT },
        { "keks", WANT_INT },
        {},
};
static const Member health_policy[] = {
        { "file", WANT_STRING_OR_NULL },
        { "admins_only", WANT_BOOL },
        { "loaded_at", WANT_INT },
        { "principals", WANT_COUNT },
        { "reload_error", WANT_STRING_OPTIONAL },
        {},
};
static const Member health_audit[] = {
        { "ok", WANT_BOOL },
        { "error", WANT_STRING_OPTIONAL },
        { "queued", WANT_COUNT },
        { "last_seq", WANT_COUNT },
        {},
};
static const Member health[] = {
        { "version", WANT_STRING },
        { "uptime", WANT_INT },
        { "connections", WANT_INT },
        { "keyring", WANT_OBJECT, health_keyring },
        { "secrets", WANT_INT },
        { "tokens", WANT_INT },
        { "policy", WANT_OBJECT, health_policy },
        { "audit", WANT_OBJECT, health_audit },
        {},
};

int cv_health_json(CvClient *c, char **ret_json) {
        Reply reply;

        if (!c || !ret_json)
                return -EINVAL;
        client_request(c, "health");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        /* A failing audit trail must say why: the status shows it. */
        json_t *audit = reply.json ? json_object_get(reply.json, "audit") : NULL;
        if (json_is_false(json_object_get(audit, "ok")) && !json_is_string(json_object_get(audit, "error"))) {
                client_reply_done(&reply);
                return client_fail_protocol(c, "member 'audit.error' missing while the audit trail is failing");
        }
        return reply_text(c, &reply, health, ret_json);
}

static const Member whoami_grant[] = {
        { "plugins", WANT_STRING },
        { "classes", WANT_STRINGS },
        {},
};
static const Member whoami_rate_limit[] = {
        { "principal", WANT_STRING_OR_NULL },
        { "rate", WANT_COUNT },
        { "burst", WANT_COUNT },
        {},
};
static const Member whoami_policy[] = {
        { "file", WANT_STRING_OR_NULL },
        { "admins_only", WANT_BOOL },
        {},
};
static const Member whoami[] = {
        { "uid", WANT_COUNT },
        { "gid", WANT_COUNT },
        { "pid", WANT_COUNT },
        { "groups", WANT_COUNTS },
        { "unit", WANT_STRING_OR_NULL },
        { "pidfd", WANT_STRING_OR_NULL },
        { "principals", WANT_STRINGS },
        { "admin", WANT_BOOL },
        { "admin_by", WANT_STRING_OR_NULL },
        { "grants", WANT_OBJECTS, whoami_grant },
        { "rate_limit", WANT_OBJECT_OR_NULL, whoami_rate_limit }, /* null: not limited */
        { "policy", WANT_OBJECT, whoami_policy },
        {},
};

int cv_whoami_json(CvClient *c, char **ret_json) {
        return call_text(c, "whoami", whoami, ret_json);
}

/* ---- audit.list ---- */

static const Member audit_record[] = {
        { "seq", WANT_COUNT },
        { "time_us", WANT_INT },
        { "uid", WANT_COUNT },
        { "gid", WANT_COUNT },
        { "pid", WANT_INT },
        { "unit", WANT_STRING_OR_NULL },
        { "op", WANT_STRING },
        { "plugin", WANT_STRING_OR_NULL },
        { "object", WANT_STRING_OR_NULL },
        { "result", WANT_STRING },
        { "revealed", WANT_BOOL },
        {},
};

static bool is_printable_ascii_word(const char *s) {
        for (; *s; s++)
                if (*s <= ' ' || *s > '~')
                        return false;
        return true;
}

/* The filter checked with the daemon's rules, so that a bad one fails
 * before anything is sent. */
static int audit_filter_check(CvClient *c, const CvAuditFilter *f) {
        int64_t uid;

        if (f->since < 0 || f->until < 0)
                return client_fail(c, -EINVAL, "bad_request", "since, until: unix seconds, not negative");
        if (f->plugin) {
                int r = client_check_name(c, "plugin", f->plugin);
                if (r < 0)
                        return r;
        }
        if (f->principal) {
                const char *p = f->principal;
                bool valid = strlen(p) <= PRINCIPAL_SIZE_MAX && is_printable_ascii_word(p) &&
                             ((strncmp(p, "uid:", 4) == 0 && parse_int64(p + 4, 0, UINT32_MAX, &uid) >= 0) ||
                              (strncmp(p, "unit:", 5) == 0 && p[5]));
                if (!valid)
                        return client_fail(c, -EINVAL, "bad_request", "principal: \"uid:N\" or \"unit:NAME\"");
        }
        if (f->op && (!*f->op || strlen(f->op) > CV_AUDIT_OP_SIZE_MAX || !is_printable_ascii_word(f->op)))
                return client_fail(c, -EINVAL, "bad_request", "op: 1 to 32 printable ASCII characters");
        return 0;
}

/* A cursor is a record's seq, in decimal. */
static int cursor_parse(const char *s, int64_t *ret) {
        return parse_int64(s, 0, INT64_MAX, ret);
}

/* The page's records in order, each after the cursor asked with, and
 * "next" (if any) after the cursor asked with and not before the last
 * record: a page may hold fewer records than asked for, or none, and
 * still go on (the daemon reads a bounded number of rows a call), but
 * every page moves the walk forward, so that a daemon (or whoever holds
 * the socket path) cannot keep a caller's walk going in place or back. */
static int audit_page_check(CvClient *c, json_t *records, json_t *next, int64_t after, unsigned limit) {
        char path[SHAPE_PATH_SIZE] = "records", what[SHAPE_PATH_SIZE + 64];
        int64_t prev = after, seq = after;

        if (!json_is_array(records) || !(json_is_string(next) || json_is_null(next)))
                return client_fail_protocol(c, "not an audit.list page");
        if (json_array_size(records) > limit)
                return client_fail_protocol(c, "an audit.list page longer than asked for");
        if (!value_valid(records, WANT_OBJECTS, audit_record, path, sizeof(path))) {
                snprintf(what, sizeof(what), "member '%s' missing or of another type", path);
                return client_fail_protocol(c, what);
        }
        size_t i;
        json_t *record;
        json_array_foreach(records, i, record) {
                seq = json_integer_value(json_object_get(record, "seq"));
                if (seq <= prev)
                        return client_fail_protocol(c, "audit records out of order");
                prev = seq;
        }
        if (json_is_string(next)) {
                int64_t n;
                if (cursor_parse(json_string_value(next), &n) < 0 || n <= after || n < seq)
                        return client_fail_protocol(c, "an audit.list page's next cursor is not after its records");
        }
        return 0;
}

int cv_audit_list_json(CvClient *c, const CvAuditFilter *filter, const char *after, unsigned limit,
                       char **ret_records_json, char **ret_next) {
        static const CvAuditFilter all = {};
        int64_t after_seq = 0;
        Reply reply;
        int r;

        if (!c || !ret_records_json || !ret_next || limit > CV_AUDIT_PAGE_MAX)
                return -EINVAL;
        if (!filter)
                filter = &all;
        if (limit == 0)
                limit = CV_AUDIT_PAGE_MAX;
        r = audit_filter_check(c, filter);
        if (r < 0)
                return r;
        if (after && cursor_parse(after, &after_seq) < 0)
                return client_fail(c, -EINVAL, "bad_request", "after: not a cursor of audit.list");

        JsonOut *o = client_request(c, "audit.list");
        if (filter->since > 0)
                json_out_int(o, "since", filter->since);
        if (filter->until > 0)
                json_out_int(o, "until", filter->until);
        if (filter->plugin)
                json_out_cstring(o, "plugin", filter->plugin);
        if (filter->principal)
                json_out_cstring(o, "principal", filter->principal);
        if (filter->op)
                json_out_cstring(o, "audit_op", filter->op);
        if (after)
                json_out_cstring(o, "after", after);
        json_out_int(o, "limit", limit);
        r = client_send(c, &reply);
        if (r < 0)
                return r;

        json_t *records = client_reply_json(&reply, "records");
        json_t *next = client_reply_json(&reply, "next");
        r = audit_page_check(c, records, next, after_seq, limit);
        if (r < 0) {
                client_reply_done(&reply);
                return r;
        }
        int n = (int) json_array_size(records);
        char *text = json_dumps(records, JSON_COMPACT);
        char *cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        bool enomem = !text || (json_is_string(next) && !cursor);
        client_reply_done(&reply);
        if (enomem) {
                free(text);
                free(cursor);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        *ret_records_json = text;
        *ret_next = cursor;
        return n;
}

/* ---- audit.verify, audit.prune ---- */

int cv_audit_verify(CvClient *c, CvAuditVerify *ret) {
        CvAuditVerify v = {};
        const char *problem = NULL;
        Reply reply;
        bool intact;

        if (!c || !ret)
                return -EINVAL;
        client_request(c, "audit.verify");
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_bool(&reply, "intact", &intact);
        if (r >= 0)
                r = client_reply_int(&reply, "records", &v.records);
        if (r >= 0)
                r = client_reply_int(&reply, "anchor_seq", &v.anchor_seq);
        if (r >= 0)
                r = client_reply_int(&reply, "first_seq", &v.first_seq);
        if (r >= 0)
                r = client_reply_int(&reply, "last_seq", &v.last_seq);
        /* Where and how only when broken: an intact chain has neither. */
        if (r >= 0 && !intact)
                r = client_reply_int(&reply, "bad_seq", &v.bad_seq);
        if (r >= 0 && !intact)
                r = client_reply_string(&reply, "problem", false, &problem, NULL);
        if (r >= 0 && problem)
                snprintf(v.problem, sizeof(v.problem), "%.*s", (int) utf8_prefix_size(problem, sizeof(v.problem) - 1),
                         problem);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        *ret = v;
        return intact;
}

int cv_audit_prune(CvClient *c, int64_t before, int64_t *ret_removed, int64_t *ret_anchor_seq) {
        int64_t removed, anchor_seq;
        Reply reply;

        if (!c)
                return -EINVAL;
        if (before <= 0)
                return client_fail(c, -EINVAL, "bad_request", "before: unix seconds, > 0");
        JsonOut *o = client_request(c, "audit.prune");
        json_out_int(o, "before", before);
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "removed", &removed);
        if (r >= 0)
                r = client_reply_int(&reply, "anchor_seq", &anchor_seq);
        if (r >= 0 && (removed < 0 || anchor_seq < 0))
                r = client_fail_protocol(c, "member 'removed' or 'anchor_seq' negative");
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_removed)
                *ret_removed = removed;
        if (ret_anchor_seq)
                *ret_anchor_seq = anchor_seq;
        return 0;
}
