/* request.h — strict decoding of one request frame into a typed Request.
 *
 * Owns: the schema of every operation: which fields, which types, which
 * lengths and characters. A Request that decodes is fully checked; handlers
 * never look at JSON again except for the validated token object.
 * Never: I/O, crypto, storage, logging. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "proto-limits.h"
#include "secret-buf.h"

typedef enum Op {
        OP_HEALTH,
        OP_SECRET_PUT,
        OP_SECRET_GET,
        OP_SECRET_LIST,
        OP_SECRET_DELETE,
        OP_TOKEN_PUT,
        OP_TOKEN_GET,
        OP_TOKEN_LIST,
        OP_TOKEN_DELETE,
        OP_TOKEN_REFRESH_BEGIN,
        OP_TOKEN_REFRESH_COMMIT,
        OP_TOKEN_REFRESH_FAIL,
        OP_SECRET_GENERATE,
        OP_SECRET_VERIFY,
        OP_PLUGIN_REGISTER,
        OP_PLUGIN_LIST,
        OP_PLUGIN_GET,
        OP_PLUGIN_DELETE,
        OP_MANIFEST_AUTH,
        OP_OAUTH_VERIFY_CLIENT,
        OP_APIKEY_PUT,
        OP_APIKEY_LOOKUP,
        OP_APIKEY_LIST,
        OP_APIKEY_DELETE,
        OP_WHOAMI,
        OP_AUDIT_LIST,
        OP_AUDIT_VERIFY,
        OP_AUDIT_PRUNE,
        OP_KEY_ROTATE,
        OP_KEY_REWRAP,
        OP_KEY_STATUS,
        OP_KEY_RETIRE,
        OP_SECRET_ROTATE,
        OP_SECRET_PROMOTE,
        OP_SECRET_HISTORY,
        OP_KEY_ROTATE_ROOT,
        OP_KEY_RECOVERY,
        OP_BACKUP,
        OP_REFRESHER_REPORT,
        OP_TOKEN_REVOCATION_LIST,
        OP_TOKEN_REVOCATION_BEGIN,
        OP_TOKEN_REVOCATION_END,
        _OP_MAX,
} Op;

/* The stages of a secret's versions (secret.rotate, secret.promote): a
 * staged value waits as pending, becomes current on promotion, and the
 * value it replaces stays valid as previous until its grace deadline. */
typedef enum SecretStage {
        SECRET_STAGE_CURRENT,
        SECRET_STAGE_PREVIOUS,
        SECRET_STAGE_PENDING,
        _SECRET_STAGE_MAX,
} SecretStage;
const char *secret_stage_to_string(SecretStage s);
/* -EINVAL for an unknown name. */
int secret_stage_from_string(const char *s);

/* refresher.report: what a refresher says of one plugin's token sets.
 * Times are unix ms, 0 for "none"; the counts are since it started. */
typedef struct RefresherReport {
        int64_t lead;       /* seconds before expiry it refreshes */
        int64_t started;    /* when the refresher started */
        int64_t last_run;   /* its last pass over the plugin's due sets */
        int64_t next_run;   /* its next one (the earliest due set) */
        int64_t hold_until; /* the provider asked it to wait (429, 5xx, down) */
        int64_t refreshed, already_fresh, reauth, transient, oauth_errors, vault_errors;
} RefresherReport;

typedef struct Request {
        json_t *root; /* when parsed by jansson: owns the borrowed strings below;
                                * otherwise they point into the frame body */
        bool has_id;  /* false: the answer carries "id": null */
        uint64_t id;
        Op op;              /* _OP_MAX until the op is known */
        const char *plugin; /* NULL when absent (secret.list over all) */
        const char *name;
        const char *user;
        const char *after;     /* list cursor, NULL for the first page */
        unsigned limit;        /* list page size, 1..LIST_PAGE_MAX */
        SecretBuf *value;      /* secret.put, secret.verify, apikey.*: the decoded value, owned */
        json_t *token;         /* token.put, token.refresh_commit: the checked token response, borrowed */
        const char *domain;    /* plugin.register: explicit domain */
        ManifestAuth manifest; /* plugin.register: the checked auth block */
        bool has_manifest;
        const char *manifest_name;                 /* plugin.register: name_for_model, NULL if absent */
        char manifest_domain[DOMAIN_SIZE_MAX + 1]; /* host of the manifest's api.url, "" if none */
        const char *authorization; /* secret.verify, oauth.verify_client, apikey.lookup: a header value */
        const char *client_id;     /* oauth.verify_client (client_secret_post) */
        const char *client_secret;
        const char *lease;       /* token.refresh_commit/fail: the lease id */
        const char *oauth_error; /* token.refresh_fail: the provider's error code */
        int64_t min_valid;       /* token.get, refresh_begin: seconds the token must stay valid */
        int64_t lease_seconds;   /* token.refresh_begin */
        int64_t bytes;           /* secret.generate: random bytes */
        int64_t expiring;        /* plugin.get, token.list: "expiring soon" horizon, seconds */
        int64_t since, until;    /* audit.list: unix seconds, 0 if not given */
        int64_t before;          /* audit.prune: unix seconds */
        const char *principal;   /* audit.list: "uid:N" or "unit:NAME" */
        const char *audit_op;    /* audit.list: the op of the records wanted */
        int64_t version;         /* key.retire: the KEK version */
        SecretStage stage;       /* secret.get: which version; SECRET_STAGE_CURRENT if not given */
        int64_t grace;           /* secret.rotate, secret.promote: seconds the previous value stays valid */
        bool has_grace;          /* grace was given (else the staged or default one applies) */
        bool replace;            /* key.recovery: replace an existing recovery key */
        int64_t retry_at;        /* token.refresh_fail: when the caller tries again (unix ms), 0 if not said */
        RefresherReport report;  /* refresher.report */
        int64_t revocation;      /* token.revocation_begin/end: the pending revocation's id */
} Request;

/* Decode and check one frame body. The body is parsed in place (strings of
 * the Request may point into it) and is no longer JSON afterwards; keep it
 * until request_done(). On failure returns -EBADMSG (bad shape or
 * values) or -EOPNOTSUPP (unknown op), writes a message naming the problem
 * (never a value) into errbuf, and still fills ret->has_id / ret->id where
 * the id could be read. Call request_done() on ret in every case. */
int request_decode(uint8_t *body, size_t body_size, Request *ret, char *errbuf, size_t errbuf_size);
void request_done(Request *r);

/* What an op does, from the one op table (request.c): for the daemon's
 * audit and policy, and the client library's retry after a lost
 * connection. */
enum {
        OP_WRITES = 1 << 0,     /* changes the database */
        OP_REVEALS = 1 << 1,    /* a success reply carries a secret value */
        OP_RETRY_SAFE = 1 << 2, /* read-only: the client library may send it again */
        OP_ADMIN = 1 << 3,      /* needs an admin principal */
};
/* The OP_* flags of op; 0 for op >= _OP_MAX. */
unsigned op_flags(Op op);

/* The class of an op, which a policy grants (docs/security.md). */
typedef enum OpClass {
        _OP_CLASS_INVALID = 0, /* op >= _OP_MAX */
        OP_CLASS_PUBLIC,       /* health: whoever may connect; not grantable */
        OP_CLASS_READ,         /* secret.get, *.list, token.get, plugin.get, manifest.auth */
        OP_CLASS_VERIFY,       /* secret.verify, apikey.lookup, oauth.verify_client */
        OP_CLASS_WRITE,        /* *.put, *.delete, secret.generate */
        OP_CLASS_REFRESH,      /* token.refresh_begin/commit/fail, token.revocation_* */
        OP_CLASS_ADMIN,        /* plugin.register and .delete, key ops */
        _OP_CLASS_MAX,
} OpClass;
OpClass op_class(Op op);

const char *op_to_string(Op op);
/* -EOPNOTSUPP for an unknown name. */
int op_from_string(const char *s);

/* Checks shared with the client library: name charset and length, user id
 * characters and length. Return 0 or -EINVAL. */
int request_check_name(const char *s);
int request_check_user_id(const char *s);
/* A token endpoint's response (RFC 6749 §5.1) as token.put takes it:
 * access_token and token_type required, refresh_token and scope optional
 * strings, expires_in or expires_at optional non-negative integers (not
 * both), any other field kept as it is. -EBADMSG with a message naming the
 * field, -EMSGSIZE if the whole response is over TOKEN_RESPONSE_SIZE_MAX as
 * compact JSON (the set stored from one within it, expires_at written,
 * fits TOKEN_SET_SIZE_MAX unless a refresh token is carried over). */
int request_check_token_response(json_t *token, char *errbuf, size_t errbuf_size);
/* Check a refresher.report's report object (refresher-report.c): every
 * member present, an integer in range, and no other (-EBADMSG, the member
 * named in errbuf). */
int request_check_refresher_report(json_t *report, RefresherReport *ret, char *errbuf, size_t errbuf_size);
