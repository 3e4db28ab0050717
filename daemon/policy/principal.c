/* principal.c — who a policy entry names, and whether a caller is it (see
 * policy-internal.h).
 *
 * Names are resolved once, when the policy is loaded: a user to its uid, a
 * group to its gid and the uids NSS lists as its members. A caller is in a
 * group if the kernel says so (its gid or a supplementary group at
 * connect time: Group= and SupplementaryGroups= of a unit count) or if
 * NSS lists its uid as a member (a user added to a group counts from the
 * next reload, without logging in again). Resolving the members at load,
 * rather than getgrouplist() per caller, keeps NSS (files, sssd, LDAP)
 * off the request path and out of the event loop: a slow directory can
 * delay a reload, never a request. What it does not see: a user whose
 * passwd entry has the group as primary group while its process runs
 * with another gid and without the group (it has dropped it). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse-util.h"
#include "policy-internal.h"
#include "unit-name.h"

/* LOGIN_NAME_MAX, with its NUL. */
#define ACCOUNT_NAME_SIZE_MAX 255
/* NSS buffers grow up to this (a group of 65536 members needs ~1 MiB). */
#define NSS_BUFFER_SIZE_MAX (16 * 1024 * 1024)

_printf_(3, 4) static int bad(char *err, size_t err_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* What useradd and systemd-sysusers accept, and not all digits (that
 * would read as a uid): [A-Za-z0-9_.-], not starting with '-'. */
static bool account_name_valid(const char *s) {
        size_t n = strlen(s);
        bool digits_only = true;

        if (n == 0 || n > ACCOUNT_NAME_SIZE_MAX || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-'))
                        return false;
                if (c < '0' || c > '9')
                        digits_only = false;
        }
        return !digits_only;
}

static size_t nss_buffer_size(int name) {
        long n = sysconf(name);
        return n > 0 && n < NSS_BUFFER_SIZE_MAX ? (size_t) n : 16384;
}

/* What getpwnam_r()'s or getgrnam_r()'s answer means: 0 found, -ENOENT
 * not found (which some NSS modules say with an errno), -ENOMEM, -EIO. */
static int nss_result(int r, bool found) {
        if (r == 0)
                return found ? 0 : -ENOENT;
        if (r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
                return -ENOENT;
        return r == ENOMEM ? -ENOMEM : -EIO;
}

/* getpwnam_r with a buffer that grows. 0 and *ret_uid; -ENOENT if there
 * is no such user; -ENOMEM, -EIO. */
static int user_lookup(const char *name, uid_t *ret_uid) {
        size_t size = nss_buffer_size(_SC_GETPW_R_SIZE_MAX);
        for (;;) {
                struct passwd pw, *result = NULL;
                char *buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                int r = getpwnam_r(name, &pw, buf, size, &result);
                if (r == 0 && result)
                        *ret_uid = pw.pw_uid;
                free(buf);
                if (r == ERANGE && size < NSS_BUFFER_SIZE_MAX) {
                        size *= 2;
                        continue;
                }
                return nss_result(r, result != NULL);
        }
}

static int uid_compare(const void *a, const void *b) {
        uid_t x = *(const uid_t *) a, y = *(const uid_t *) b;
        return x < y ? -1 : x > y;
}

/* The gid of a group and the uids of its listed members (sorted, without
 * duplicates; members that are no user are left out). */
static int group_lookup(const char *name, gid_t *ret_gid, uid_t **ret_members, size_t *ret_n) {
        size_t size = nss_buffer_size(_SC_GETGR_R_SIZE_MAX);
        struct group gr, *result = NULL;
        char *buf = NULL;
        int r;

        for (;;) {
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &gr, buf, size, &result);
                if (r != ERANGE || size >= NSS_BUFFER_SIZE_MAX)
                        break;
                free(buf);
                size *= 2;
        }
        if (r != 0 || !result) {
                free(buf);
                return nss_result(r, false);
        }

        size_t n = 0;
        while (gr.gr_mem && gr.gr_mem[n])
                n++;
        if (n > POLICY_GROUP_MEMBERS_MAX) {
                free(buf);
                return -E2BIG;
        }
        uid_t *members = n > 0 ? calloc(n, sizeof(uid_t)) : NULL;
        if (n > 0 && !members) {
                free(buf);
                return -ENOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                r = user_lookup(gr.gr_mem[i], &members[k]);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        free(members);
                        free(buf);
                        return r;
                }
                k++;
        }
        *ret_gid = gr.gr_gid;
        free(buf);
        if (k > 1) {
                qsort(members, k, sizeof(uid_t), uid_compare);
                size_t w = 1;
                for (size_t i = 1; i < k; i++)
                        if (members[i] != members[w - 1])
                                members[w++] = members[i];
                k = w;
        }
        if (k == 0) {
                free(members);
                members = NULL;
        }
        *ret_members = members;
        *ret_n = k;
        return 0;
}

static int principal_resolve(Principal *p, const char *value, char *err, size_t err_size) {
        int64_t uid;
        int r;

        switch (p->kind) {
        case PRINCIPAL_UNIT:
                if (!unit_name_valid(value, strlen(value), &p->template_prefix))
                        return bad(err, err_size, "not a unit name (e.g. weather.service, worker@.service)");
                p->unit = value;
                p->unit_size = strlen(value);
                return 0;
        case PRINCIPAL_USER:
                if (!account_name_valid(value))
                        return bad(err, err_size, "not a user name");
                r = user_lookup(value, &p->uid);
                if (r == -ENOENT)
                        return bad(err, err_size, "no such user");
                if (r < 0)
                        snprintf(err, err_size, "cannot look up the user: %s", strerror(-r));
                return r;
        case PRINCIPAL_GROUP:
                if (!account_name_valid(value))
                        return bad(err, err_size, "not a group name");
                r = group_lookup(value, &p->gid, &p->members, &p->n_members);
                if (r == -ENOENT)
                        return bad(err, err_size, "no such group");
                if (r == -E2BIG)
                        return bad(err, err_size, "more than %d members", POLICY_GROUP_MEMBERS_MAX);
                if (r < 0)
                        snprintf(err, err_size, "cannot look up the group: %s", strerror(-r));
                return r;
        case PRINCIPAL_UID:
                /* (uid_t) -1 is "no uid" to the kernel: never a caller. */
                if (parse_int64(value, 0, (int64_t) (uid_t) -2, &uid) < 0)
                        return bad(err, err_size, "not a uid (0 to %u)", (unsigned) (uid_t) -2);
                p->uid = (uid_t) uid;
                return 0;
        }
        return -EINVAL;
}

int principal_parse(const char *s, Principal *ret, char *err, size_t err_size) {
        static const struct {
                const char *prefix;
                PrincipalKind kind;
        } kinds[] = {
                { "unit:", PRINCIPAL_UNIT },
                { "user:", PRINCIPAL_USER },
                { "group:", PRINCIPAL_GROUP },
                { "uid:", PRINCIPAL_UID },
        };
        Principal p = {};

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (strncmp(s, kinds[i].prefix, strlen(kinds[i].prefix)) == 0) {
                        p.kind = kinds[i].kind;
                        p.name = strdup(s);
                        if (!p.name)
                                return -ENOMEM;
                        int r = principal_resolve(&p, p.name + strlen(kinds[i].prefix), err, err_size);
                        if (r < 0) {
                                principal_done(&p);
                                return r;
                        }
                        *ret = p;
                        return 0;
                }
        return bad(err, err_size, "a principal is unit:NAME, user:NAME, group:NAME or uid:N");
}

void principal_done(Principal *p) {
        free(p->name);
        free(p->members);
        *p = (Principal) {};
}

static bool unit_match(const Principal *pr, const char *unit) {
        if (!pr->template_prefix)
                return strcmp(unit, pr->unit) == 0;
        /* "foo@.service" matches "foo@x.service": the same prefix up to
         * and with the '@', the same type suffix, a non-empty instance. */
        size_t n = strlen(unit), suffix = pr->unit_size - pr->template_prefix;
        return n > pr->unit_size && memcmp(unit, pr->unit, pr->template_prefix) == 0 &&
               memcmp(unit + n - suffix, pr->unit + pr->template_prefix, suffix) == 0;
}

bool principal_match(const Principal *pr, const Peer *peer) {
        switch (pr->kind) {
        case PRINCIPAL_UNIT:
                return peer->unit && unit_match(pr, peer->unit);
        case PRINCIPAL_USER:
        case PRINCIPAL_UID:
                return peer->uid == pr->uid;
        case PRINCIPAL_GROUP:
                return peer_in_group(peer, pr->gid) ||
                       (pr->n_members > 0 &&
                        bsearch(&peer->uid, pr->members, pr->n_members, sizeof(uid_t), uid_compare));
        }
        return false;
}

bool principal_same(const Principal *a, const Principal *b) {
        bool a_uid = a->kind == PRINCIPAL_USER || a->kind == PRINCIPAL_UID;
        bool b_uid = b->kind == PRINCIPAL_USER || b->kind == PRINCIPAL_UID;

        if (a_uid || b_uid)
                return a_uid && b_uid && a->uid == b->uid;
        if (a->kind != b->kind)
                return false;
        return a->kind == PRINCIPAL_UNIT ? strcmp(a->unit, b->unit) == 0 : a->gid == b->gid;
}

int principal_rank(const Principal *p) {
        switch (p->kind) {
        case PRINCIPAL_UNIT:
                return p->template_prefix ? 1 : 0;
        case PRINCIPAL_USER:
        case PRINCIPAL_UID:
                return 2;
        default:
                return 3;
        }
}
