/* policy.c — the decision for one request, and how a caller is seen (see
 * policy.h).
 *
 * policy_check() runs on every request: a class from a table, then for
 * each entry naming the caller (integer compares, a string compare for a
 * unit, a binary search in a group's members) its grants' prefixes. No
 * system call, no allocation. What is decided depends only on the caller,
 * the op and the plugin name, never on what is stored: a denial cannot
 * tell whether the object exists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"

/* The class of every op is proto's op table's (op_class()); the two enums
 * are kept one for one. manifest.auth is read: the verification tokens the
 * assistant is shown with a plugin's manifest are read by the plugin's own
 * service. */
_Static_assert((int) POLICY_CLASS_PUBLIC == (int) OP_CLASS_PUBLIC && (int) POLICY_CLASS_READ == (int) OP_CLASS_READ &&
                       (int) POLICY_CLASS_VERIFY == (int) OP_CLASS_VERIFY &&
                       (int) POLICY_CLASS_WRITE == (int) OP_CLASS_WRITE &&
                       (int) POLICY_CLASS_REFRESH == (int) OP_CLASS_REFRESH &&
                       (int) POLICY_CLASS_ADMIN == (int) OP_CLASS_ADMIN &&
                       (int) _POLICY_CLASS_INVALID == (int) _OP_CLASS_INVALID &&
                       (int) _POLICY_CLASS_MAX == (int) _OP_CLASS_MAX,
               "PolicyClass follows proto's OpClass");

static const char *const class_names[_POLICY_CLASS_MAX] = {
        [POLICY_CLASS_PUBLIC] = "public", [POLICY_CLASS_READ] = "read",       [POLICY_CLASS_VERIFY] = "verify",
        [POLICY_CLASS_WRITE] = "write",   [POLICY_CLASS_REFRESH] = "refresh", [POLICY_CLASS_ADMIN] = "admin",
};

PolicyClass policy_op_class(Op op) {
        return (PolicyClass) op_class(op);
}

const char *policy_class_to_string(PolicyClass c) {
        return c > _POLICY_CLASS_INVALID && c < _POLICY_CLASS_MAX ? class_names[c] : NULL;
}

int policy_class_from_string(const char *s) {
        for (int c = _POLICY_CLASS_INVALID + 1; c < _POLICY_CLASS_MAX; c++)
                if (strcmp(class_names[c], s) == 0)
                        return c;
        return -EINVAL;
}

bool grant_match(const Grant *g, const char *plugin, size_t plugin_size) {
        /* No plugin: an op over all of them, which only "*" covers. */
        if (!plugin)
                return g->wildcard && g->prefix_size == 0;
        if (!g->wildcard)
                return plugin_size == g->prefix_size && memcmp(plugin, g->pattern, plugin_size) == 0;
        return plugin_size >= g->prefix_size && memcmp(plugin, g->pattern, g->prefix_size) == 0;
}

/* Whether peer is an admin, and by which principal or default. */
static bool admin_of(const Policy *p, const Peer *peer, const char **ret_by) {
        if (!p->has_admins) {
                if (peer->uid == 0 || peer->uid == p->daemon_uid) {
                        *ret_by = peer->uid == 0 ? "root (default)" : "daemon uid (default)";
                        return true;
                }
                return false;
        }
        for (size_t i = 0; i < p->n_admins; i++)
                if (principal_match(&p->admins[i], peer)) {
                        *ret_by = p->admins[i].name;
                        return true;
                }
        return false;
}

bool policy_is_admin(const Policy *p, const Peer *peer) {
        const char *by;
        return admin_of(p, peer, &by);
}

PolicyDecision policy_check_class(const Policy *p, const Peer *peer, PolicyClass c, const char *plugin) {
        PolicyDecision d = { .op_class = c, .principal = -1 };

        if (c <= _POLICY_CLASS_INVALID || c >= _POLICY_CLASS_MAX)
                return d;
        if (c == POLICY_CLASS_PUBLIC) {
                d.allowed = true;
                return d;
        }
        if (policy_is_admin(p, peer)) {
                d.allowed = d.admin = true;
                return d;
        }
        size_t plugin_size = plugin ? strlen(plugin) : 0;
        unsigned bit = 1u << c;
        for (size_t i = 0; i < p->n_entries; i++) {
                const Entry *e = &p->entries[i];
                if (!principal_match(&e->principal, peer))
                        continue;
                for (size_t k = 0; k < e->n_grants; k++)
                        if ((e->grants[k].classes & bit) && grant_match(&e->grants[k], plugin, plugin_size)) {
                                d.allowed = true;
                                d.principal = (int) i;
                                return d;
                        }
        }
        return d;
}

PolicyDecision policy_check_unit(const Policy *p, const char *unit, PolicyClass c, const char *plugin) {
        /* A caller that is nothing but the unit: no uid, gid or group
         * ((uid_t) -1 is never a principal's uid, nor the daemon's, nor
         * root), so only unit principals can match it. */
        Peer unit_peer = { .uid = (uid_t) -1, .gid = (gid_t) -1, .pid = 0, .unit = (char *) unit };
        return policy_check_class(p, &unit_peer, c, plugin);
}

PolicyDecision policy_check(const Policy *p, const Peer *peer, Op op, const char *plugin) {
        return policy_check_class(p, peer, policy_op_class(op), plugin);
}

int policy_principal_find(const Policy *p, const Peer *peer) {
        int best = -1, best_rank = 4;
        for (size_t i = 0; i < p->n_entries; i++) {
                const Principal *pr = &p->entries[i].principal;
                int rank = principal_rank(pr);
                /* Strictly better only: the first of a rank wins. */
                if (rank < best_rank && principal_match(pr, peer)) {
                        best = (int) i;
                        best_rank = rank;
                }
        }
        return best;
}

size_t policy_principal_count(const Policy *p) {
        return p->n_entries;
}

const char *policy_principal_name(const Policy *p, int principal) {
        return principal >= 0 && (size_t) principal < p->n_entries ? p->entries[principal].principal.name : NULL;
}

PolicyRateLimit policy_rate_limit(const Policy *p, int principal) {
        if (principal >= 0 && (size_t) principal < p->n_entries && p->entries[principal].has_rate_limit)
                return p->entries[principal].rate_limit;
        return p->rate_limit;
}

void policy_free(Policy *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_entries; i++) {
                Entry *e = &p->entries[i];
                principal_done(&e->principal);
                for (size_t k = 0; k < e->n_grants; k++)
                        free(e->grants[k].pattern);
                free(e->grants);
        }
        free(p->entries);
        for (size_t i = 0; i < p->n_admins; i++)
                principal_done(&p->admins[i]);
        free(p->admins);
        free(p);
}

/* The classes of a bit set as names, in class order. */
static json_t *classes_to_json(unsigned classes) {
        json_t *a = json_array();
        for (int c = _POLICY_CLASS_INVALID + 1; a && c < _POLICY_CLASS_MAX; c++)
                if ((classes & (1u << c)) && json_array_append_new(a, json_string(class_names[c])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

/* Grants of every entry naming peer, merged by pattern, in file order. */
static int grants_to_json(const Policy *p, const Peer *peer, json_t *principals, json_t *ret) {
        /* Merged (pattern → classes) pairs, at most all of the grants. */
        size_t n_all = 0, n = 0;
        for (size_t i = 0; i < p->n_entries; i++)
                n_all += p->entries[i].n_grants;
        struct {
                const char *pattern;
                unsigned classes;
        } *merged = calloc(n_all ?: 1, sizeof(*merged));
        if (!merged)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_entries; i++) {
                const Entry *e = &p->entries[i];
                if (!principal_match(&e->principal, peer))
                        continue;
                if (json_array_append_new(principals, json_string(e->principal.name)) < 0)
                        goto oom;
                for (size_t k = 0; k < e->n_grants; k++) {
                        size_t j = 0;
                        while (j < n && strcmp(merged[j].pattern, e->grants[k].pattern) != 0)
                                j++;
                        if (j == n)
                                merged[n++].pattern = e->grants[k].pattern;
                        merged[j].classes |= e->grants[k].classes;
                }
        }
        for (size_t j = 0; j < n; j++) {
                json_t *g = json_pack("{s:s, s:o}", "plugins", merged[j].pattern, "classes",
                                      classes_to_json(merged[j].classes));
                if (!g || json_array_append_new(ret, g) < 0)
                        goto oom;
        }
        free(merged);
        return 0;
oom:
        free(merged);
        return -ENOMEM;
}

int policy_describe(const Policy *p, const Peer *peer, json_t **ret) {
        const char *admin_by = NULL;
        bool admin = admin_of(p, peer, &admin_by);
        int principal = policy_principal_find(p, peer);
        PolicyRateLimit rl = policy_rate_limit(p, principal);
        json_t *groups = json_array(), *principals = json_array(), *grants = json_array();
        json_t *seen = NULL, *may = NULL;
        bool ok = groups && principals && grants;
        int r = -ENOMEM;

        for (size_t i = 0; ok && i < peer->n_groups; i++)
                ok = json_array_append_new(groups, json_integer(peer->groups[i])) >= 0;
        if (ok && grants_to_json(p, peer, principals, grants) >= 0) {
                /* How the daemon sees the caller ("O" adds a reference)... */
                seen = json_pack("{s:I, s:I, s:I, s:O, s:s?, s:s?}", "uid", (json_int_t) peer->uid, "gid",
                                 (json_int_t) peer->gid, "pid", (json_int_t) peer->pid, "groups", groups, "unit",
                                 peer->unit, "pidfd", peer_pidfd_to_string(peer->pidfd));
                /* ... and what it may do. */
                may = json_pack("{s:O, s:b, s:s?, s:O, s:{s:s?, s:I, s:I}}", "principals", principals, "admin", admin,
                                "admin_by", admin_by, "grants", grants, "rate_limit", "principal",
                                policy_principal_name(p, principal), "rate", (json_int_t) rl.rate, "burst",
                                (json_int_t) rl.burst);
        }
        if (seen && may && json_object_update(seen, may) >= 0) {
                *ret = TAKE_PTR(seen);
                r = 0;
        }
        json_decref(seen);
        json_decref(may);
        json_decref(groups);
        json_decref(principals);
        json_decref(grants);
        return r;
}
