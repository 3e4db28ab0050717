/* policy.h — who may do what, to which plugin, and how often.
 *
 * Owns: the policy file (/etc/credvault/policy.json, or --policy FILE):
 * its format (docs/security.md), its strict validation, and the decision
 * for one request: the caller's Peer (identity/, from the kernel), the Op
 * (proto/) and the plugin name → allowed or denied, with the op's class.
 * Also the per-principal rate limits the file sets, and the token bucket
 * that enforces them (policy-rate.c).
 *
 * Never: system calls on the request path (user and group names, and the
 * members of groups, are resolved when the file is loaded), logging (the
 * daemon logs what it decides), anything a request says about who sent it.
 *
 * Default deny: no rule, no access. Admins may do everything; they are
 * root and the daemon's own uid unless the file has an "admins" list,
 * which then replaces them (an empty list: no admins at all).
 *
 * A Policy is immutable once loaded: every function taking a const Policy
 * may run in any thread. Reloading is loading a new one and swapping the
 * pointer; a file that does not validate leaves no Policy behind. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "peer.h"
#include "request.h"

#define POLICY_PATH_DEFAULT "/etc/credvault/policy.json"
/* The format this code reads: the file's "version". */
#define POLICY_VERSION 1

/* Limits on what a policy file may hold. */
#define POLICY_FILE_SIZE_MAX (1024 * 1024)
#define POLICY_PRINCIPALS_MAX 1024     /* entries under "principals", and under "admins" */
#define POLICY_GRANTS_MAX 1024         /* plugin patterns of one principal */
#define POLICY_GROUP_MEMBERS_MAX 65536 /* members of one group principal, as NSS lists them */
#define POLICY_RATE_MAX 1000000        /* requests a second */
#define POLICY_BURST_MAX 1000000       /* requests at once */
/* The rate limit of a principal that sets none, when the file sets no
 * default: generous for one plugin service (secret.get takes ~20 µs),
 * small enough that a runaway client cannot take the daemon. */
#define POLICY_RATE_DEFAULT 1000
#define POLICY_BURST_DEFAULT 2000
/* Room for any error message of policy_load()/policy_parse(). */
#define POLICY_ERROR_SIZE 512

/* What an op does, as the policy grants it. Each op has exactly one. */
typedef enum PolicyClass {
        _POLICY_CLASS_INVALID = 0, /* an op the table forgot: always denied */
        POLICY_CLASS_PUBLIC,       /* health: whoever may connect; not grantable */
        POLICY_CLASS_READ,         /* secret.get, *.list, token.get, plugin.get, manifest.auth */
        POLICY_CLASS_VERIFY,       /* secret.verify, apikey.lookup, oauth.verify_client */
        POLICY_CLASS_WRITE,        /* *.put, *.delete, secret.generate */
        POLICY_CLASS_REFRESH,      /* token.refresh_begin/commit/fail */
        POLICY_CLASS_ADMIN,        /* plugin.register and .delete, key ops, values in listings */
        _POLICY_CLASS_MAX,
} PolicyClass;

/* The class of op; _POLICY_CLASS_INVALID for op >= _OP_MAX. */
PolicyClass policy_op_class(Op op);
/* "read", "verify", ... ; NULL for an invalid class. */
const char *policy_class_to_string(PolicyClass c);
/* -EINVAL for a name that is no class. */
int policy_class_from_string(const char *s);

/* A token bucket's size: rate tokens a second, up to burst at once. */
typedef struct PolicyRateLimit {
        uint32_t rate;
        uint32_t burst;
} PolicyRateLimit;

typedef struct Policy Policy;

typedef struct PolicyDecision {
        bool allowed;
        bool admin;           /* allowed because the caller is an admin */
        PolicyClass op_class; /* for the `denied` error and the audit record */
        int principal;        /* the entry whose grant allowed it; -1 otherwise */
} PolicyDecision;

/* Read, validate and resolve the policy file at path. Strict: an unknown
 * key, a wrong type, a bad or unknown name (user, group, unit, plugin
 * pattern, class), a duplicate principal (also "user:x" and "uid:N" of
 * the same uid), a value out of range is an error whose message in err
 * names its JSON path, e.g. principals["unit:a.service"].plugins["a"][1].
 * The file must be a regular file of at most POLICY_FILE_SIZE_MAX bytes,
 * owned by root or the caller's effective uid and writable by no one
 * else (-EPERM otherwise): whoever can write it is an admin. Returns 0
 * and *ret, or -errno with err filled and *ret untouched: -EBADMSG (does
 * not validate), -EFBIG, -EPERM, -ENOMEM, or open()'s and read()'s
 * errors. The daemon's uid, admin by default, is geteuid() now. */
int policy_load(const char *path, Policy **ret, char *err, size_t err_size);
/* The same from text in memory; no file checks. */
int policy_parse(const char *text, size_t size, Policy **ret, char *err, size_t err_size);
/* The policy without a file: only admins (root and the daemon's uid) may
 * do anything. -ENOMEM. */
int policy_new_default(Policy **ret);
/* Accepts NULL. */
void policy_free(Policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Policy *, policy_free);

/* May peer do op on plugin? plugin NULL means an op over every plugin
 * (secret.list without a plugin, plugin.list): only a grant on "*" allows
 * it. plugin.register names its plugin by the request's plugin or the
 * manifest's name_for_model: pass the one it will use. O(entries) string
 * compares, no system call, no allocation. */
PolicyDecision policy_check(const Policy *p, const Peer *peer, Op op, const char *plugin);
/* The same for a class rather than an op: e.g. POLICY_CLASS_ADMIN for a
 * listing that reveals values. */
PolicyDecision policy_check_class(const Policy *p, const Peer *peer, PolicyClass c, const char *plugin);
bool policy_is_admin(const Policy *p, const Peer *peer);
/* May the systemd unit named unit (not a process: the service manager
 * asking for it, LoadCredential=) do class c on plugin? Only "unit:"
 * entries, and "unit:" admins of an "admins" list, can allow it: the
 * uid, user and group entries name processes, and the default admins
 * (root, the daemon's uid) are the asker's uid, not the unit's. */
PolicyDecision policy_check_unit(const Policy *p, const char *unit, PolicyClass c, const char *plugin);

/* The principal a peer counts as for rate limits and fair scheduling: the
 * entry naming its unit (an instance before a template), else its uid
 * (user: or uid:), else the first group entry it is in, in file order.
 * -1 when none names it: it then counts by uid, with the default limit.
 * All members of a group principal share its one bucket. */
int policy_principal_find(const Policy *p, const Peer *peer);
size_t policy_principal_count(const Policy *p);
/* "unit:weather.service" as the file has it; NULL for -1 or out of range. */
const char *policy_principal_name(const Policy *p, int principal);
/* The limit of an entry, or the file's default for -1 and for an entry
 * that sets none. */
PolicyRateLimit policy_rate_limit(const Policy *p, int principal);

/* How the daemon sees peer and what it may do, for `credvault whoami`:
 *   { "uid", "gid", "pid", "groups": [gid...], "unit": "x.service"|null,
 *     "pidfd": "socket"|"pidfd_open"|null,
 *     "principals": ["unit:x.service", ...]   (the entries naming it),
 *     "admin": bool, "admin_by": "root (default)"|"daemon uid (default)"|principal|null,
 *     "grants": [{"plugins": "weather-*", "classes": ["read", ...]}, ...],
 *     "rate_limit": {"principal": name|null, "rate": N, "burst": N} }
 * Grants of several entries for the same pattern are merged. -ENOMEM. */
int policy_describe(const Policy *p, const Peer *peer, json_t **ret);

/* A token bucket, driven by the caller's clock (monotonic µs) so that it
 * can be tested and costs no system call. Zero-filled is not valid:
 * start with policy_rate_init(). */
typedef struct PolicyRateBucket {
        uint64_t micro_tokens; /* 10^-6 tokens, at most burst × 10^6 */
        uint64_t last_usec;
} PolicyRateBucket;

/* A full bucket at now_usec. */
void policy_rate_init(PolicyRateBucket *b, PolicyRateLimit limit, uint64_t now_usec);
/* Take one token: 0, or -EBUSY (the wire's rate_limited) with
 * *ret_retry_after_ms, the wait until a token is there (at least 1). The
 * limit may change between calls (a reload): a bucket over a smaller
 * burst is cut down to it. A clock that goes back refills nothing. */
int policy_rate_take(PolicyRateBucket *b, PolicyRateLimit limit, uint64_t now_usec, uint64_t *ret_retry_after_ms);
