/* credvault.h — libcredvault, the client library of the credvault daemon.
 *
 * A plugin service links this library to fetch its secrets and its users'
 * OAuth tokens from credvaultd over a local Unix socket.
 *
 *     CvClient *c;
 *     CvSecret *s;
 *     if (cv_client_new(NULL, 0, &c) < 0) ...           // $CREDVAULT_SOCKET or /run/credvault/socket
 *     if (cv_secret_get(c, "todo", "client_secret", &s) < 0)
 *             fprintf(stderr, "%s\n", cv_client_error_message(c));
 *     use(s->value, s->value_size);
 *     cv_secret_free(s);                                 // wipes the value
 *     cv_client_free(c);
 *
 * Errors: every fallible call returns 0 (or a count) on success and a
 * negative errno on failure. The daemon's error codes map to:
 *     not_found -ENOENT        bad_request -EINVAL     unknown_op -EOPNOTSUPP
 *     unauthorized -EACCES     conflict -EEXIST        too_large -EMSGSIZE
 *     denied -EPERM (the policy refuses this caller the op on that plugin)
 *     rate_limited -EBUSY      unavailable -ESHUTDOWN  corrupt -EUCLEAN
 *     refresh_required -ESTALE reauth_required -EKEYREVOKED
 *     refresh_in_progress -EALREADY (see cv_client_retry_after_ms())
 *     internal -EIO            (a code this version does not know: -EPROTO)
 * Transport failures: -ECONNREFUSED / -ENOENT from connect (daemon not
 * running), -ETIMEDOUT (no answer in time), -ECONNRESET (the daemon closed
 * the connection), -EPROTO (an answer that is not valid protocol: not one
 * JSON object in valid UTF-8, an answer to another request, or a reply
 * that lacks a member the call reads or has one of another type; the
 * error code is then "protocol", and nothing is handed back or leaked).
 * After a failed call, cv_client_error_code() and cv_client_error_message()
 * describe it; they never contain a secret value. (cv_client_new() returns
 * no client when it fails, so there its errno is the whole answer.)
 *
 * Threads: a CvClient is not thread-safe; use one per thread (they are
 * cheap: one socket and two buffers). Different clients need no locking.
 *
 * Memory: values handed to the caller (CvSecret, CvToken) are owned by the
 * caller and must be released with their free function, which wipes them.
 * Strings passed in are only read during the call. */
#ifndef CREDVAULT_H
#define CREDVAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits the daemon enforces; requests over them fail with -EINVAL or
 * -EMSGSIZE before anything is sent. */
#define CV_NAME_SIZE_MAX 128           /* plugin and secret names: [A-Za-z0-9_.:@-] */
#define CV_USER_ID_SIZE_MAX 256        /* user ids: UTF-8 without control characters */
#define CV_SECRET_VALUE_SIZE_MAX 32768 /* secret values: any bytes */
#define CV_TOKEN_SECRET_SIZE_MAX 8192  /* access_token, refresh_token: printable ASCII */
#define CV_TOKEN_TYPE_SIZE_MAX 64
#define CV_TOKEN_SCOPE_SIZE_MAX 4096

#define CV_SOCKET_DEFAULT "/run/credvault/socket"
#define CV_TIMEOUT_DEFAULT_MS 5000

typedef struct CvClient CvClient;

/* Connect to the daemon at socket_path; NULL means $CREDVAULT_SOCKET, else
 * CV_SOCKET_DEFAULT. timeout_ms bounds the connect and, afterwards, each
 * call; 0 means CV_TIMEOUT_DEFAULT_MS. If the daemon closed an idle
 * connection, the next call reconnects once by itself.
 * Errors: -ENOENT or -ECONNREFUSED (no daemon at that path), -EACCES (no
 * permission on the socket), -ETIMEDOUT (backlog full for timeout_ms),
 * -ENAMETOOLONG, -ENOMEM. *ret is untouched on failure. */
int cv_client_new(const char *socket_path, int timeout_ms, CvClient **ret);
/* Close and free; accepts NULL. */
void cv_client_free(CvClient *c);
/* Change the per-call timeout (ms, > 0). */
int cv_client_set_timeout(CvClient *c, int timeout_ms);
/* The daemon's error code of the last failed call ("not_found", ...), or a
 * transport word ("unreachable", "timeout", "protocol"); "" after success. */
const char *cv_client_error_code(const CvClient *c);
/* A human-readable message for the last failed call; "" after success. */
const char *cv_client_error_message(const CvClient *c);
/* After -EALREADY (refresh_in_progress): how long to wait before asking
 * again, in ms; -1 otherwise. */
int64_t cv_client_retry_after_ms(const CvClient *c);

/* ---- health ---- */

typedef struct CvHealth {
        char version[32]; /* the daemon's version */
        int64_t uptime_sec;
        int64_t connections;
        int64_t kek_primary; /* version of the primary key-encryption key */
        int64_t keks;        /* number of key-encryption keys */
        int64_t secrets;     /* number of stored secrets */
        int64_t tokens;      /* number of stored user token sets */
} CvHealth;

int cv_health(CvClient *c, CvHealth *ret);
/* The whole health reply as JSON text: CvHealth's members ("version",
 * "uptime", "connections", "keyring": {"primary", "keks"}, "secrets",
 * "tokens") and those CvHealth has no room for:
 *     "policy": {"file": path or null (no file: only admins are served),
 *                "admins_only", "loaded_at" (unix seconds), "principals",
 *                "reload_error" (only when the last reload failed)}
 *     "audit":  {"ok", "error" (only when failing), "queued", "last_seq"}
 * Every member named here is checked to be there with its type (-EPROTO
 * otherwise); members a later daemon adds are passed on. free() it. */
int cv_health_json(CvClient *c, char **ret_json);

/* ---- secrets: (plugin, name) → bytes, versioned ---- */

typedef struct CvSecret {
        uint8_t *value; /* value_size bytes, then a NUL not counted */
        size_t value_size;
        int64_t version;
        int64_t created; /* unix seconds */
        int64_t updated;
} CvSecret;

typedef struct CvSecretInfo {
        char *plugin;
        char *name;
        int64_t version;
        int64_t created;
        int64_t updated;
} CvSecretInfo;

/* Store value as the new current version; ret_version may be NULL. */
int cv_secret_put(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                  int64_t *ret_version);
/* Fetch the current value. -ENOENT if there is none. */
int cv_secret_get(CvClient *c, const char *plugin, const char *name, CvSecret **ret);
/* Wipe and free; accepts NULL. */
void cv_secret_free(CvSecret *s);
/* -ENOENT if there is none. */
int cv_secret_delete(CvClient *c, const char *plugin, const char *name);
/* Store a fresh random value (bytes of randomness, 16..64; 0 means 32,
 * written as unpadded base64url text) and return it: the only time the
 * vault hands it out unasked. For service tokens. */
int cv_secret_generate(CvClient *c, const char *plugin, const char *name, size_t bytes, CvSecret **ret);
/* Check a presented credential against a stored secret without it leaving
 * the vault: authorization is an HTTP Authorization header value ("Bearer
 * X", or "Basic X" when the plugin is registered with authorization_type
 * basic). Compared in constant time with the current version. Returns 1
 * on a match (ret_version gets the version that matched), 0 on none. */
int cv_secret_verify(CvClient *c, const char *plugin, const char *name, const char *authorization,
                     int64_t *ret_version);
/* The same with the bare value. */
int cv_secret_verify_value(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                           int64_t *ret_version);
/* Metadata of every secret of plugin (NULL: of every plugin), in (plugin,
 * name) order. Returns the number of items. Never returns a value. */
int cv_secret_list(CvClient *c, const char *plugin, CvSecretInfo **ret_items);
void cv_secret_info_free(CvSecretInfo *items, size_t n_items);

/* ---- secret rotation with overlap ----
 *
 * A secret's versions carry a stage. cv_secret_rotate() stages a new
 * value as "pending" (nobody is given it yet); cv_secret_promote() makes
 * it "current" and the old current one "previous", which secret.verify
 * (and oauth.verify_client, for a client_secret) still accepts until its
 * deadline, now + grace; after that it is gone for good. So a service can
 * hand out the new value and switch callers over while the old one keeps
 * working. Each call is one request; rotate and promote write durably
 * before they return. */

/* The longest grace: 366 days. */
#define CV_SECRET_GRACE_MAX_SEC (366 * 86400)

typedef enum CvSecretStage {
        CV_SECRET_STAGE_CURRENT,
        CV_SECRET_STAGE_PREVIOUS,
        CV_SECRET_STAGE_PENDING,
} CvSecretStage;

/* "current", "previous", "pending"; NULL for anything else. */
const char *cv_secret_stage_name(CvSecretStage stage);

/* Stage a new pending version of plugin's secret name, replacing a pending
 * one (a current version need not exist). value (value_size bytes) is the
 * new value (bytes must be 0 then), or NULL to have the daemon generate
 * bytes of randomness (16..64; 0: 32) as unpadded base64url text,
 * returned in *ret_generated (required then; free with cv_secret_free()). grace_sec is how long the value it
 * replaces stays valid once promoted, 0..366 days; < 0: the daemon's
 * default, one day. ret_version may be NULL. */
int cv_secret_rotate(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                     size_t bytes, int64_t grace_sec, int64_t *ret_version, CvSecret **ret_generated);

typedef struct CvSecretPromoted {
        int64_t version;           /* the new current version */
        int64_t previous_version;  /* the one it replaced, now previous; 0 if there was none */
        int64_t previous_deadline; /* unix seconds it is accepted until; 0 if none */
} CvSecretPromoted;

/* Make the pending version current, in one transaction; the current one
 * becomes previous until now + grace_sec (< 0: the grace given to
 * cv_secret_rotate()); a previous one still in grace is dropped. -ENOENT
 * if there is no pending version. ret may be NULL. Not retried by the
 * library: promoting twice would fail the second time. */
int cv_secret_promote(CvClient *c, const char *plugin, const char *name, int64_t grace_sec, CvSecretPromoted *ret);

/* Fetch the version of a stage: the current one (as cv_secret_get()), the
 * pending one, or the previous one while it is in grace. -ENOENT if there
 * is none. */
int cv_secret_get_stage(CvClient *c, const char *plugin, const char *name, CvSecretStage stage, CvSecret **ret);

/* cv_secret_verify() / cv_secret_verify_value() saying which version
 * matched: give authorization (a header) or value (the bare value), not
 * both. Returns 1 on a match (*ret_stage CV_SECRET_STAGE_CURRENT or
 * CV_SECRET_STAGE_PREVIOUS, *ret_version its version; either may be
 * NULL), 0 on none. A previous version is compared only before its
 * deadline. */
int cv_secret_verify_stage(CvClient *c, const char *plugin, const char *name, const char *authorization,
                           const void *value, size_t value_size, int64_t *ret_version, CvSecretStage *ret_stage);

/* The secret's versions as JSON text (free() it), newest first, never a
 * value: {"versions": [{"version", "stage", "created" (unix seconds),
 * "deadline" (previous: unix seconds), "grace" (pending: seconds)}]}.
 * -ENOENT if the secret has no version at all. Retry-safe. */
int cv_secret_history_json(CvClient *c, const char *plugin, const char *name, char **ret_json);

/* ---- user OAuth token sets: (plugin, user id) → token set ---- */

typedef struct CvToken {
        char *access_token;  /* required */
        char *token_type;    /* required, e.g. "Bearer" */
        char *refresh_token; /* NULL if none */
        char *scope;         /* NULL if none */
        int64_t expires_at;  /* unix seconds; -1 if unknown */
        /* Filled by cv_token_get(); ignored by cv_token_put(). */
        int64_t version;
        int64_t created;
        int64_t updated;
} CvToken;

typedef struct CvTokenInfo {
        char *user;
        int64_t version;
        int64_t created;
        int64_t updated;
        int64_t expires_at; /* -1 if unknown */
        /* "valid", "expiring" (within expiring_sec of cv_token_list_expiring),
         * "expired", "refreshing" (a refresh lease is held) or
         * "reauth_required" (the user must authorize again). */
        char state[16];
} CvTokenInfo;

/* Store a user's token set as the new current version. ret_version may be
 * NULL. Only the fields up to expires_at are read. Without a refresh_token
 * the previous one is kept. */
int cv_token_put(CvClient *c, const char *plugin, const char *user, const CvToken *token, int64_t *ret_version);
/* Store a token endpoint's JSON response as it came (RFC 6749 §5.1):
 * expires_in becomes an absolute expires_at, other fields are kept, and
 * without a refresh_token the previous one is kept. */
int cv_token_put_response(CvClient *c, const char *plugin, const char *user, const char *response_json,
                          int64_t *ret_version);
/* The current token set if it has not expired (cv_token_get_valid() with
 * 0). -ENOENT if the user has none, -ESTALE if it has expired, -EALREADY
 * while it is being refreshed, -EKEYREVOKED if the user must authorize
 * again: never a stale token. */
int cv_token_get(CvClient *c, const char *plugin, const char *user, CvToken **ret);
/* The token set if it stays valid for min_valid_sec more seconds; else
 * -ESTALE (refresh it: cv_token_refresh_begin()), or -EALREADY while another
 * caller refreshes it (wait cv_client_retry_after_ms() and ask again). */
int cv_token_get_valid(CvClient *c, const char *plugin, const char *user, int min_valid_sec, CvToken **ret);
/* The whole stored set as JSON text (other fields included), under the same
 * rules as cv_token_get_valid(). Free with cv_free_wiped(p, (size_t) -1). */
int cv_token_get_json(CvClient *c, const char *plugin, const char *user, int min_valid_sec, char **ret_json);

/* Refreshing without races. Every worker that finds a token set expiring
 * calls cv_token_refresh_begin(); exactly one gets a lease (return 1) and
 * the refresh token, calls the provider, and reports with
 * cv_token_refresh_commit() or cv_token_refresh_fail(). The others get
 * -EALREADY and retry after cv_client_retry_after_ms(), or 0 and the new
 * token set once the refresh is committed. */
typedef struct CvTokenLease {
        char lease[33];
        int64_t lease_until_ms; /* unix ms: after this another caller may take the lease over */
        char *refresh_token;
        int64_t version; /* of the set the lease was taken on */
} CvTokenLease;

/* 1: *ret_lease is yours (lease_sec 0 means 30, at most 300). 0: no refresh
 * needed, *ret_token is valid for min_valid_sec. -EALREADY, -EKEYREVOKED
 * (no refresh token, or it was rejected), -ENOENT. */
int cv_token_refresh_begin(CvClient *c, const char *plugin, const char *user, int min_valid_sec, int lease_sec,
                           CvTokenLease **ret_lease, CvToken **ret_token);
/* Store the provider's response; durable before it returns. Accepted while
 * the lease is still this one and the set unchanged, even past its
 * deadline if nobody took it over (the provider has already rotated the
 * refresh token). -EEXIST: the lease was taken over or the set replaced;
 * get it again. */
int cv_token_refresh_commit(CvClient *c, const char *plugin, const char *user, const CvTokenLease *lease,
                            const char *response_json, int64_t *ret_version);
/* Report the provider's error code (e.g. "invalid_grant"). Returns 1 if the
 * set is now reauth_required, 0 if not (another error, or the lease had
 * been overtaken: a lost race, not a revocation). */
int cv_token_refresh_fail(CvClient *c, const char *plugin, const char *user, const CvTokenLease *lease,
                          const char *oauth_error);
/* Wipe and free; accepts NULL. */
void cv_token_lease_free(CvTokenLease *l);
/* Wipe and free; accepts NULL. */
void cv_token_free(CvToken *t);
int cv_token_delete(CvClient *c, const char *plugin, const char *user);
/* Metadata of every token set of plugin, by user id. Returns the count. */
int cv_token_list(CvClient *c, const char *plugin, CvTokenInfo **ret_items);
/* The same, with "expiring" meaning within expiring_sec. */
int cv_token_list_expiring(CvClient *c, const char *plugin, int64_t expiring_sec, CvTokenInfo **ret_items);
void cv_token_info_free(CvTokenInfo *items, size_t n_items);

/* ---- plugins, registered from their manifests ---- */

typedef struct CvPluginInfo {
        char *name;
        char *domain;    /* NULL if unknown */
        char *auth_type; /* "none", "service_http", "user_http", "oauth" */
        int64_t version; /* counts registrations */
        int64_t created;
        int64_t updated;
} CvPluginInfo;

/* Register a plugin from a manifest: a whole ai-plugin.json, or just its
 * "auth" block. name NULL means the manifest's name_for_model; domain NULL
 * means the host of its api.url. Registering the same name again updates
 * it (a new version); a name registered for another domain is -EEXIST.
 * ret_name (optional) gets the name used (free()). Returns the version. */
int cv_plugin_register(CvClient *c, const char *manifest_json, const char *name, const char *domain, char **ret_name);
int cv_plugin_list(CvClient *c, CvPluginInfo **ret_items);
void cv_plugin_info_free(CvPluginInfo *items, size_t n_items);
/* What the vault holds for a plugin, as JSON text: auth type and public
 * auth fields, secrets and versions, token set counts (expiring within
 * expiring_sec). Never a value. free() it. */
int cv_plugin_show_json(CvClient *c, const char *name, int64_t expiring_sec, char **ret_json);
/* Remove a plugin with all its secrets, token sets and API keys, in one
 * transaction. */
int cv_plugin_delete(CvClient *c, const char *name);
/* The plugin's auth block as its manifest needs it (verification tokens
 * included), as JSON text. Free with cv_free_wiped(p, (size_t) -1). */
int cv_plugin_manifest_auth(CvClient *c, const char *name, char **ret_json);

/* ---- oauth: the plugin's own client credentials ---- */

/* Check the client credentials a plugin's token endpoint received, against
 * its stored client_id and client_secret: either an HTTP Basic
 * Authorization header (client_secret_basic; pass client_id and
 * client_secret NULL), or the two form fields (client_secret_post; pass
 * authorization NULL). Returns 1 on a match, 0 otherwise. */
int cv_oauth_verify_client(CvClient *c, const char *plugin, const char *authorization, const char *client_id,
                           const char *client_secret);

/* ---- user_http: per-user API keys ---- */

int cv_apikey_put(CvClient *c, const char *plugin, const char *user, const void *key, size_t key_size,
                  int64_t *ret_version);
/* Which user a presented key belongs to: a keyed-hash index finds the
 * candidate, a constant-time comparison confirms it. Returns 1 and
 * *ret_user (free()) on a match, 0 if the key is nobody's. */
int cv_apikey_lookup(CvClient *c, const char *plugin, const void *key, size_t key_size, char **ret_user);
/* The same from an Authorization header value ("Bearer KEY"). */
int cv_apikey_lookup_header(CvClient *c, const char *plugin, const char *authorization, char **ret_user);
int cv_apikey_delete(CvClient *c, const char *plugin, const char *user);
/* Users with a key (CvSecretInfo.name is the user id). */
int cv_apikey_list(CvClient *c, const char *plugin, CvSecretInfo **ret_items);

/* ---- identity, policy and the audit trail ---- */

/* Who the daemon takes this connection's peer to be, from the kernel
 * (never from the request), and what the policy in force lets it do, as
 * JSON text (free() it):
 *     "uid", "gid", "pid", "groups": [gid, ...], "unit": "x.service" or
 *     null, "pidfd": "socket", "pidfd_open" or null (how the pid was
 *     pinned), "principals": [policy entries naming the caller],
 *     "admin": bool, "admin_by": what makes it an admin, or null,
 *     "grants": [{"plugins": pattern, "classes": ["read", ...]}],
 *     "rate_limit": {"principal": entry or null (counted by uid),
 *                    "rate": per second, "burst"}, or null: not limited
 *                    (an admin no policy entry names),
 *     "policy": {"file": path or null, "admins_only": bool}
 * Each member is checked to be there with its type (-EPROTO otherwise).
 * Anyone who may connect may ask. */
int cv_whoami_json(CvClient *c, char **ret_json);

/* The daemon keeps one audit record per request (and per refused
 * connection or unreadable frame): who asked, what for, the result and
 * whether a value left the vault; never a value. Records are numbered
 * (seq 1, 2, ...) and chained by a MAC only the vault can extend. All
 * the calls below are for admins: -EPERM (denied) for anyone else. */

/* Which records cv_audit_list_json() returns; every condition given must
 * hold. Zero it, then set what you need. */
typedef struct CvAuditFilter {
        int64_t since;         /* unix seconds, inclusive; 0: from the first record */
        int64_t until;         /* unix seconds, exclusive; 0: to the last */
        const char *plugin;    /* NULL: any */
        const char *principal; /* "uid:N" or "unit:NAME"; NULL: anyone */
        const char *op;        /* an op ("secret.get"), "connect", "frame" or "invalid"; NULL: any */
} CvAuditFilter;

/* Records on one page at most (and the default). */
#define CV_AUDIT_PAGE_MAX 100
#define CV_AUDIT_PRINCIPAL_SIZE_MAX 300
#define CV_AUDIT_OP_SIZE_MAX 32

/* One page of the audit trail, oldest first: up to limit (1..
 * CV_AUDIT_PAGE_MAX; 0 means CV_AUDIT_PAGE_MAX) records matching filter
 * (NULL: all) that come after the cursor after (NULL: from the start).
 * *ret_records_json gets the page as a JSON array (free() it) of records
 * as the daemon gives them:
 *     {"seq", "time_us" (unix microseconds), "uid", "gid", "pid",
 *      "unit" (or null), "op", "plugin" (or null), "object" (a secret
 *      name or user id, or null), "result" ("ok" or an error code such as
 *      "denied"), "revealed" (a value left the vault)}
 * *ret_next gets the cursor of the next page (free() it), or NULL when
 * this page was the last: loop until it is NULL. A page may hold fewer
 * than limit records, even none, and still have a next cursor (the
 * daemon reads a bounded number of records a call): only a NULL cursor
 * ends the walk. Returns the number of records on the page. Every record
 * is checked, and so is the cursor (after the one asked with, and not
 * before the page's last record), so a walk always moves on and ends. */
int cv_audit_list_json(CvClient *c, const CvAuditFilter *filter, const char *after, unsigned limit,
                       char **ret_records_json, char **ret_next);

typedef struct CvAuditVerify {
        int64_t records;    /* records checked */
        int64_t anchor_seq; /* the last pruned record; 0 if never pruned */
        int64_t first_seq;  /* of the records kept */
        int64_t last_seq;
        int64_t bad_seq;   /* broken: the first record that does not check; else 0 */
        char problem[256]; /* broken: what is wrong with it; else "" */
} CvAuditVerify;

/* Check the whole chain of records, from the anchor left by the last
 * prune to the newest. Returns 1 if it is intact, 0 if it is broken
 * (ret->bad_seq and ret->problem say where and how), or a negative errno;
 * *ret is filled on 0 and 1. */
int cv_audit_verify(CvClient *c, CvAuditVerify *ret);

/* Remove the records older than before (unix seconds, not in the future),
 * but never the newest one. The last record removed becomes the anchor
 * the chain is verified from. ret_removed gets how many were removed,
 * ret_anchor_seq the anchor's seq (both may be NULL). */
int cv_audit_prune(CvClient *c, int64_t before, int64_t *ret_removed, int64_t *ret_anchor_seq);

/* ---- key-encryption keys: rotation ---- */

/* Every stored record is sealed with its own data key (DEK), and the DEK
 * is wrapped by a key-encryption key (KEK), itself wrapped by the root
 * key. A KEK is rotated online: cv_key_rotate() makes a fresh one the primary
 * (new writes use it at once), cv_key_rewrap() has the daemon wrap every
 * DEK still under an older KEK again under the primary, in the background
 * (no value is re-encrypted, reads and writes keep being answered), and
 * cv_key_retire() drops an old KEK that wraps nothing any more. All the
 * calls below are for admins: -EPERM (denied) for anyone else. */

/* A new primary KEK. *ret_primary gets its version, *ret_previous the
 * version of the one it replaces, which stays "active" (it still unwraps
 * the DEKs it wraps) until rewrapped and retired. Either may be NULL. */
int cv_key_rotate(CvClient *c, int64_t *ret_primary, int64_t *ret_previous);

/* Start the background rewrap, or resume it; harmless while it runs or
 * when there is nothing to do. It survives a restart of the daemon.
 * *ret_running gets whether it is running, *ret_remaining how many
 * records are not yet on the primary KEK. Either may be NULL. */
int cv_key_rewrap(CvClient *c, bool *ret_running, int64_t *ret_remaining);

typedef struct CvKek {
        int64_t version;
        char state[16];  /* "primary" (exactly one), "active", or "retired" (its key is gone) */
        int64_t records; /* records whose DEK it wraps */
        int64_t created; /* unix seconds */
} CvKek;

typedef struct CvKeyRewrap {
        bool running;
        int64_t remaining;  /* records not on the primary KEK */
        int64_t done;       /* records rewrapped since this rewrap started */
        double rate;        /* records a second, over the last seconds; 0 when idle */
        int64_t started_at; /* unix seconds; -1 if none was started */
} CvKeyRewrap;

/* The KEKs and the rewrap's progress. *ret_rewrap gets the rewrap;
 * *ret_keks (may be NULL: a progress poll) an array of the KEKs in the
 * daemon's order, free() it. Returns the number of KEKs. Every member is
 * checked: versions >= 1 and distinct, exactly one primary, counts >= 0,
 * a finite rate >= 0 (-EPROTO otherwise). Retry-safe. */
int cv_key_status(CvClient *c, CvKeyRewrap *ret_rewrap, CvKek **ret_keks);
/* The same reply as JSON text (free() it), checked the same way:
 *     "keks": [{"version", "state", "records", "created"}],
 *     "rewrap": {"running", "remaining", "done", "rate" (a number),
 *                "started_at" (unix seconds, or null)}
 * Members a later daemon adds are passed on. */
int cv_key_status_json(CvClient *c, char **ret_json);

/* Retire KEK version: only one that is not the primary and wraps no
 * record (-EEXIST otherwise: rewrap first); -ENOENT if there is no such
 * version. Its wrapped key is deleted from the database and the key wiped
 * from the daemon's memory; the KEK stays listed as "retired". WARNING:
 * this cannot be undone (a backup taken before still holds the KEK). */
int cv_key_retire(CvClient *c, int64_t version);

/* ---- the root key and the recovery key ---- */

/* The root key wraps the keyring (the KEKs, the index key, the MAC key);
 * it is never stored in the vault. Rotating it rewraps the keyring under
 * a new root key in one transaction (no value is re-encrypted; it takes
 * the same time whatever the vault holds); afterwards the old key no
 * longer opens the vault and the daemon must be started with the new
 * one. Admins only: -EPERM (denied) for anyone else. */

/* Rotate the root key to key: the content of a key file (32 raw bytes,
 * or 64 hex digits optionally followed by a newline), key_size bytes.
 * key NULL (key_size 0): only for a daemon on its development key, which
 * makes and installs the new key itself; any other daemon answers -EINVAL
 * (bad_request). -EINVAL also for content that is not a key; -EEXIST
 * (conflict) if it is the root key in force. The caller keeps key (and
 * wipes it); the library's copies are wiped. WARNING: store the new key
 * where the daemon reads it at its next start before it restarts: see
 * credvaultd(8). Not retried. */
int cv_key_rotate_root(CvClient *c, const void *key, size_t key_size);

/* Make the vault's recovery key and hand it back, once: a text of 14
 * groups of 4 symbols joined by '-' (*ret_recovery_key, NUL-terminated;
 * free it with cv_free_wiped(p, (size_t) -1)). Whoever holds it can open
 * the vault: `credvaultd --recover` rewraps a vault whose root key is
 * lost under a new one. The vault keeps only its public half, so a root
 * key rotation keeps it valid. -EEXIST (conflict) if the vault has one
 * and !replace; replace makes the old one useless. */
int cv_key_recovery(CvClient *c, bool replace, char **ret_recovery_key);

/* ---- backup ---- */

/* How long cv_backup_fd() waits for the copy at least, whatever the
 * client's timeout. */
#define CV_BACKUP_TIMEOUT_MS (10 * 60 * 1000)

typedef struct CvBackupInfo {
        int64_t records; /* sealed records in the copy */
        int64_t pages;   /* database pages */
        int64_t bytes;   /* the copy's size */
        int64_t ms;      /* how long the daemon took */
} CvBackupInfo;

/* Have the daemon write a consistent copy of the vault (ciphertext and
 * wrapped keys, as the database holds them: the root key opens it) into
 * fd, which the caller has opened: a regular file, open for writing,
 * empty; create it with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600. fd is
 * passed with the request (SCM_RIGHTS) and stays the caller's, to close;
 * the daemon never opens a path. Returns once the copy is written and
 * fdatasync'd, however long that takes (at least CV_BACKUP_TIMEOUT_MS is
 * waited); the daemon serves other clients meanwhile, and the copy holds
 * every write acknowledged before the call. On failure the file holds
 * part of a copy, or nothing: remove it. Admins only (-EPERM).
 * -EINVAL: fd is not an empty regular file open for writing (the message
 * says which); -EBUSY: another backup is running; -ENOSPC, -EIO: the copy
 * failed (the message says where). ret_info (may be NULL) gets the counts. */
int cv_backup_fd(CvClient *c, int fd, CvBackupInfo *ret_info);

/* ---- the protocol, for tools that speak it directly ---- */

/* Send one request object (JSON text, without "id": the library adds it)
 * and return the daemon's whole reply as JSON text (malloc'd, wipe-free it
 * with cv_free_wiped()). Returns the reply's size, or a negative errno for
 * a transport failure; an error reply is returned like any other, and
 * cv_client_error_code() and _message() then say what it was (after a
 * success they are ""). The
 * text is checked to be one JSON object answering this request (-EPROTO
 * otherwise), so it holds no NUL byte and strlen() gives its size. */
int cv_call_json(CvClient *c, const char *request_json, char **ret_reply_json);
/* Wipe size bytes (or strlen(p) if size is (size_t)-1) and free. */
void cv_free_wiped(void *p, size_t size);

/* libcredvault parses replies that carry a token set or a manifest with
 * jansson, whose parser frees its scratch buffers without wiping them, so
 * copies of those values can stay in freed heap memory. This installs,
 * process-wide, a jansson allocator that wipes every block it frees (plain
 * malloc() blocks, so code that frees jansson's output with free() keeps
 * working). Recommended for every process that handles secrets; call it
 * once at start, before any thread uses jansson. The replies of
 * cv_secret_get() are read without jansson and need no such help. */
void cv_json_wipe_on_free(void);

#ifdef __cplusplus
}
#endif

#endif
