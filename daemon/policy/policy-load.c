/* policy-load.c — the policy file to a Policy (see policy.h; the format
 * is in docs/security.md).
 *
 * All or nothing: any error frees what was built and returns the first
 * problem with its JSON path; there is never a partial policy, because a
 * rule silently dropped would be a denial nobody asked for, or an
 * "admins" list dropped would give root back its default rights. Every
 * key is known or refused (a misspelt "admin" must not pass as no list
 * at all). The file is configuration, not a secret: messages may quote
 * its keys, made printable and cut short. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-internal.h"
#include "proto-limits.h"
#include "request.h"

/* The longest key or name quoted in a message; paths nest three deep. */
#define SHOWN_SIZE_MAX 64
#define PATH_SIZE_MAX 256

_printf_(3, 4) static int bad(char *err, size_t err_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* s as it may appear in a message: printable ASCII, '"' and '\' as '?',
 * cut at SHOWN_SIZE_MAX with "...". */
static const char *shown(const char *s, char buf[static SHOWN_SIZE_MAX + 4]) {
        size_t i = 0;
        for (; s[i] && i < SHOWN_SIZE_MAX; i++) {
                unsigned char c = (unsigned char) s[i];
                buf[i] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : (char) c;
        }
        strcpy(buf + i, s[i] ? "..." : "");
        return buf;
}

/* Paths are cut at PATH_SIZE_MAX; with keys cut at SHOWN_SIZE_MAX the
 * deepest one fits. */
_printf_(2, 3) static void path_format(char path[static PATH_SIZE_MAX], const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, PATH_SIZE_MAX, fmt, ap);
        va_end(ap);
}

/* parent.key, for the format's own keys. */
static void path_key(char path[static PATH_SIZE_MAX], const char *parent, const char *key) {
        path_format(path, "%s%s%s", parent, *parent ? "." : "", key);
}

/* parent["name"], for names the file chose. */
static void path_name(char path[static PATH_SIZE_MAX], const char *parent, const char *name) {
        char b[SHOWN_SIZE_MAX + 4];
        path_format(path, "%s[\"%s\"]", parent, shown(name, b));
}

static void path_index(char path[static PATH_SIZE_MAX], const char *parent, size_t i) {
        path_format(path, "%s[%zu]", parent, i);
}

static const char *json_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int want_type(const json_t *v, json_type t, const char *what, const char *path, char *err, size_t err_size) {
        if (json_typeof(v) == t)
                return 0;
        return bad(err, err_size, "%s: expected %s, not %s", path, what, json_type_name(v));
}

/* Every key of obj must be one of allowed (NULL-terminated). */
static int check_keys(json_t *obj, const char *path, const char *const *allowed, char *err, size_t err_size) {
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v) {
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = strcmp(key, *a) == 0;
                if (!known) {
                        char p[PATH_SIZE_MAX], b[SHOWN_SIZE_MAX + 4];
                        path_key(p, path, shown(key, b));
                        return bad(err, err_size, "%s: unknown key", p);
                }
        }
        return 0;
}

static int parse_int_in(json_t *v, const char *path, int64_t min, int64_t max, int64_t *ret, char *err,
                        size_t err_size) {
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return bad(err, err_size, "%s: expected an integer from %lld to %lld", path, (long long) min,
                           (long long) max);
        *ret = json_integer_value(v);
        return 0;
}

/* {"rate": N, "burst": N}, both required. */
static int parse_rate_limit(json_t *v, const char *path, PolicyRateLimit *ret, char *err, size_t err_size) {
        static const char *const keys[] = { "rate", "burst", NULL };
        static const struct {
                const char *key;
                int64_t max;
        } fields[] = { { "rate", POLICY_RATE_MAX }, { "burst", POLICY_BURST_MAX } };
        int64_t values[2];
        int r;

        r = want_type(v, JSON_OBJECT, "an object {\"rate\": N, \"burst\": N}", path, err, err_size);
        if (r >= 0)
                r = check_keys(v, path, keys, err, err_size);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fields); i++) {
                char p[PATH_SIZE_MAX];
                path_key(p, path, fields[i].key);
                json_t *f = json_object_get(v, fields[i].key);
                if (!f)
                        return bad(err, err_size, "%s: missing", p);
                r = parse_int_in(f, p, 1, fields[i].max, &values[i], err, err_size);
        }
        if (r < 0)
                return r;
        *ret = (PolicyRateLimit) { .rate = (uint32_t) values[0], .burst = (uint32_t) values[1] };
        return 0;
}

/* ["read", "write", ...]: at least one, each once, none but the grantable
 * ones. */
static int parse_classes(json_t *v, const char *path, unsigned *ret, char *err, size_t err_size) {
        unsigned classes = 0;
        size_t i;
        json_t *c;
        int r;

        r = want_type(v, JSON_ARRAY, "an array of classes", path, err, err_size);
        if (r < 0)
                return r;
        if (json_array_size(v) == 0)
                return bad(err, err_size, "%s: grants nothing (read, verify, write, refresh, admin)", path);
        json_array_foreach(v, i, c) {
                char p[PATH_SIZE_MAX], b[SHOWN_SIZE_MAX + 4];
                path_index(p, path, i);
                r = want_type(c, JSON_STRING, "a class name", p, err, err_size);
                if (r < 0)
                        return r;
                int k = policy_class_from_string(json_string_value(c));
                if (k < 0 || k == POLICY_CLASS_PUBLIC)
                        return bad(err, err_size, "%s: unknown class \"%s\" (read, verify, write, refresh or admin)", p,
                                   shown(json_string_value(c), b));
                if (classes & (1u << k))
                        return bad(err, err_size, "%s: \"%s\" twice", p, policy_class_to_string(k));
                classes |= 1u << k;
        }
        *ret = classes;
        return 0;
}

/* A plugin name, or a prefix of one and a trailing '*' ("*" alone: every
 * plugin). */
static int parse_pattern(const char *s, const char *path, Grant *g, char *err, size_t err_size) {
        size_t n = strlen(s);
        bool wildcard = n > 0 && s[n - 1] == '*';
        size_t prefix_size = wildcard ? n - 1 : n;
        bool ok = prefix_size <= NAME_SIZE_MAX && (wildcard || n > 0);

        for (size_t i = 0; ok && i < prefix_size; i++) {
                char c = s[i];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                     c == '.' || c == ':' || c == '@' || c == '-';
        }
        if (!ok)
                return bad(err, err_size,
                           "%s: not a plugin name, or a prefix of one and a trailing '*' "
                           "(A-Z a-z 0-9 _ . : @ -, up to %d)",
                           path, NAME_SIZE_MAX);
        g->pattern = strdup(s);
        if (!g->pattern)
                return -ENOMEM;
        g->wildcard = wildcard;
        g->prefix_size = prefix_size;
        return 0;
}

/* principals[key]: { "plugins": { PATTERN: [CLASS...] }, "rate_limit": {...} },
 * both optional. */
static int parse_entry(const char *key, json_t *v, const char *path, Entry *e, char *err, size_t err_size) {
        static const char *const keys[] = { "plugins", "rate_limit", NULL };
        char msg[POLICY_ERROR_SIZE];
        const char *pattern;
        json_t *grants, *classes, *rl;
        int r;

        r = principal_parse(key, &e->principal, msg, sizeof(msg));
        if (r == -EBADMSG || r == -EIO)
                return bad(err, err_size, "%s: %s", path, msg);
        if (r < 0)
                return r;
        r = want_type(v, JSON_OBJECT, "an object", path, err, err_size);
        if (r >= 0)
                r = check_keys(v, path, keys, err, err_size);
        if (r < 0)
                return r;

        rl = json_object_get(v, "rate_limit");
        if (rl) {
                char p[PATH_SIZE_MAX];
                path_key(p, path, "rate_limit");
                r = parse_rate_limit(rl, p, &e->rate_limit, err, err_size);
                if (r < 0)
                        return r;
                e->has_rate_limit = true;
        }

        grants = json_object_get(v, "plugins");
        if (!grants)
                return 0;
        char gpath[PATH_SIZE_MAX];
        path_key(gpath, path, "plugins");
        r = want_type(grants, JSON_OBJECT, "an object of plugin patterns", gpath, err, err_size);
        if (r < 0)
                return r;
        if (json_object_size(grants) > POLICY_GRANTS_MAX)
                return bad(err, err_size, "%s: more than %d patterns", gpath, POLICY_GRANTS_MAX);
        e->grants = calloc(json_object_size(grants) ?: 1, sizeof(Grant));
        if (!e->grants)
                return -ENOMEM;
        json_object_foreach(grants, pattern, classes) {
                char p[PATH_SIZE_MAX];
                Grant *g = &e->grants[e->n_grants];
                path_name(p, gpath, pattern);
                r = parse_pattern(pattern, p, g, err, err_size);
                if (r < 0)
                        return r;
                e->n_grants++;
                r = parse_classes(classes, p, &g->classes, err, err_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "admins": [PRINCIPAL...]; empty is allowed: nobody is admin. */
static int parse_admins(json_t *v, Policy *p, char *err, size_t err_size) {
        char msg[POLICY_ERROR_SIZE];
        size_t i;
        json_t *a;
        int r;

        r = want_type(v, JSON_ARRAY, "an array of principals", "admins", err, err_size);
        if (r < 0)
                return r;
        if (json_array_size(v) > POLICY_PRINCIPALS_MAX)
                return bad(err, err_size, "admins: more than %d principals", POLICY_PRINCIPALS_MAX);
        p->has_admins = true;
        p->admins = calloc(json_array_size(v) ?: 1, sizeof(Principal));
        if (!p->admins)
                return -ENOMEM;
        json_array_foreach(v, i, a) {
                char path[PATH_SIZE_MAX];
                path_index(path, "admins", i);
                r = want_type(a, JSON_STRING, "a principal", path, err, err_size);
                if (r < 0)
                        return r;
                r = principal_parse(json_string_value(a), &p->admins[i], msg, sizeof(msg));
                if (r == -EBADMSG || r == -EIO)
                        return bad(err, err_size, "%s: %s", path, msg);
                if (r < 0)
                        return r;
                p->n_admins++;
                for (size_t k = 0; k < i; k++)
                        if (principal_same(&p->admins[k], &p->admins[i]))
                                return bad(err, err_size, "%s: the same as admins[%zu]", path, k);
        }
        return 0;
}

static int parse_principals(json_t *v, Policy *p, char *err, size_t err_size) {
        const char *key;
        json_t *e;
        int r;

        r = want_type(v, JSON_OBJECT, "an object of principals", "principals", err, err_size);
        if (r < 0)
                return r;
        if (json_object_size(v) > POLICY_PRINCIPALS_MAX)
                return bad(err, err_size, "principals: more than %d", POLICY_PRINCIPALS_MAX);
        p->entries = calloc(json_object_size(v) ?: 1, sizeof(Entry));
        if (!p->entries)
                return -ENOMEM;
        json_object_foreach(v, key, e) {
                char path[PATH_SIZE_MAX];
                size_t i = p->n_entries;
                path_name(path, "principals", key);
                /* Counted before parsing: policy_free() frees a half-built
                 * entry. */
                p->n_entries++;
                r = parse_entry(key, e, path, &p->entries[i], err, err_size);
                if (r < 0)
                        return r;
                /* "user:x" and "uid:N" of one uid, or two names of one
                 * group: two entries whose rules would silently merge. */
                for (size_t k = 0; k < i; k++)
                        if (principal_same(&p->entries[k].principal, &p->entries[i].principal)) {
                                char b[SHOWN_SIZE_MAX + 4];
                                return bad(err, err_size, "%s: the same principal as \"%s\"", path,
                                           shown(p->entries[k].principal.name, b));
                        }
        }
        return 0;
}

static Policy *policy_alloc(void) {
        Policy *p = calloc(1, sizeof(Policy));
        if (p) {
                p->rate_limit = (PolicyRateLimit) { .rate = POLICY_RATE_DEFAULT, .burst = POLICY_BURST_DEFAULT };
                p->daemon_uid = geteuid();
        }
        return p;
}

int policy_new_default(Policy **ret) {
        Policy *p = policy_alloc();
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int policy_parse(const char *text, size_t size, Policy **ret, char *err, size_t err_size) {
        static const char *const keys[] = { "version", "admins", "rate_limit", "principals", NULL };
        _cleanup_(policy_freep) Policy *p = NULL;
        json_error_t e;
        json_t *root, *v;
        int64_t version;
        int r;

        /* The file is configuration, so jansson's message, which quotes
         * the text near the error, may be shown. */
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &e);
        if (!root)
                return bad(err, err_size, "line %d column %d: %s", e.line, e.column, e.text);
        r = want_type(root, JSON_OBJECT, "an object", "the policy", err, err_size);
        if (r >= 0)
                r = check_keys(root, "", keys, err, err_size);
        if (r < 0)
                goto finish;

        v = json_object_get(root, "version");
        if (!v) {
                r = bad(err, err_size, "version: missing (this daemon reads version %d)", POLICY_VERSION);
                goto finish;
        }
        r = parse_int_in(v, "version", POLICY_VERSION, POLICY_VERSION, &version, err, err_size);
        if (r < 0)
                goto finish;

        p = policy_alloc();
        if (!p) {
                r = -ENOMEM;
                goto finish;
        }
        v = json_object_get(root, "rate_limit");
        if (v)
                r = parse_rate_limit(v, "rate_limit", &p->rate_limit, err, err_size);
        v = json_object_get(root, "admins");
        if (r >= 0 && v)
                r = parse_admins(v, p, err, err_size);
        v = json_object_get(root, "principals");
        if (r >= 0 && v)
                r = parse_principals(v, p, err, err_size);
        if (r >= 0)
                *ret = TAKE_PTR(p);
finish:
        if (r == -ENOMEM)
                snprintf(err, err_size, "out of memory");
        json_decref(root);
        return r < 0 ? r : 0;
}

int policy_load(const char *path, Policy **ret, char *err, size_t err_size) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *text = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = negative_errno();
                snprintf(err, err_size, "cannot open: %s", strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "not a regular file");
                return -EINVAL;
        }
        /* Whoever may write the policy may make themselves admin: like
         * sshd's StrictModes, only root and the daemon's user may. */
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                snprintf(err, err_size, "owned by uid %u: must be root's or uid %u's", (unsigned) st.st_uid,
                         (unsigned) geteuid());
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(err, err_size, "writable by group or others (mode %04o)", (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (st.st_size > POLICY_FILE_SIZE_MAX) {
                snprintf(err, err_size, "over %d bytes", POLICY_FILE_SIZE_MAX);
                return -EFBIG;
        }
        /* Read to the end rather than trusting st_size, which may change;
         * one byte more than the cap tells a file that grew. */
        text = malloc(POLICY_FILE_SIZE_MAX + 1);
        if (!text)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, text + n, POLICY_FILE_SIZE_MAX + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        snprintf(err, err_size, "cannot read: %s", strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > POLICY_FILE_SIZE_MAX) {
                        snprintf(err, err_size, "over %d bytes", POLICY_FILE_SIZE_MAX);
                        return -EFBIG;
                }
        }
        return policy_parse(text, n, ret, err, err_size);
}
