/* policy-internal.h — the loaded form of a policy, shared by the files of
 * daemon/policy/ and by nothing else.
 *
 * Owns: Policy's layout, and principals: parsing "unit:", "user:",
 * "group:", "uid:" strings, resolving names through NSS (at load only),
 * and matching a Peer (principal.c). Never: system calls in
 * principal_match(), which runs on every request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "peer.h"
#include "policy.h"

typedef enum PrincipalKind {
        PRINCIPAL_UNIT,
        PRINCIPAL_USER,
        PRINCIPAL_UID,
        PRINCIPAL_GROUP,
} PrincipalKind;

typedef struct Principal {
        PrincipalKind kind;
        char *name;             /* as written: "unit:weather.service", owned */
        const char *unit;       /* UNIT: into name, after "unit:" */
        size_t unit_size;       /* UNIT: strlen(unit) */
        size_t template_prefix; /* UNIT "foo@.service": size of "foo@"; 0 for a plain unit */
        uid_t uid;              /* USER, UID */
        gid_t gid;              /* GROUP */
        uid_t *members;         /* GROUP: uids NSS lists as members, sorted, owned */
        size_t n_members;
} Principal;

/* Parse and resolve s. -EBADMSG with a message (without a path: the
 * caller prefixes it) for a bad kind or name, an unknown user or group;
 * -ENOMEM; -EIO when NSS fails. */
int principal_parse(const char *s, Principal *ret, char *err, size_t err_size);
void principal_done(Principal *p);
bool principal_match(const Principal *pr, const Peer *peer);
/* Whether a and b name the same identity: the same unit, uid (user: and
 * uid: alike) or gid. */
bool principal_same(const Principal *a, const Principal *b);
/* 0 unit instance, 1 unit template, 2 uid, 3 group: lower is more specific. */
int principal_rank(const Principal *p);

/* One plugin pattern of an entry with the classes it grants. */
typedef struct Grant {
        char *pattern;      /* as written, owned */
        size_t prefix_size; /* wildcard: the bytes before the '*' */
        bool wildcard;
        unsigned classes; /* 1u << PolicyClass */
} Grant;

typedef struct Entry {
        Principal principal;
        Grant *grants;
        size_t n_grants;
        bool has_rate_limit;
        PolicyRateLimit rate_limit;
} Entry;

struct Policy {
        Entry *entries;
        size_t n_entries;
        bool has_admins; /* an "admins" list replaces root and the daemon's uid */
        Principal *admins;
        size_t n_admins;
        PolicyRateLimit rate_limit; /* for entries without their own */
        uid_t daemon_uid;
};

/* Whether plugin (NULL: every plugin) is within g's pattern. */
bool grant_match(const Grant *g, const char *plugin, size_t plugin_size);
