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
 *     rate_limited -EBUSY      unavailable -ESHUTDOWN  corrupt -EUCLEAN
 *     internal -EIO            (a code this version does not know: -EPROTO)
 * Transport failures: -ECONNREFUSED / -ENOENT from connect (daemon not
 * running), -ETIMEDOUT (no answer in time), -ECONNRESET (the daemon closed
 * the connection), -EPROTO (an answer that is not valid protocol).
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits the daemon enforces; requests over them fail with -EINVAL or
 * -EMSGSIZE before anything is sent. */
#define CV_NAME_SIZE_MAX 128          /* plugin and secret names: [A-Za-z0-9_.:@-] */
#define CV_USER_ID_SIZE_MAX 256       /* user ids: UTF-8 without control characters */
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

/* ---- health ---- */

typedef struct CvHealth {
        char version[32];       /* the daemon's version */
        int64_t uptime_sec;
        int64_t connections;
        int64_t kek_primary;    /* version of the primary key-encryption key */
        int64_t keks;           /* number of key-encryption keys */
        int64_t secrets;        /* number of stored secrets */
        int64_t tokens;         /* number of stored user token sets */
} CvHealth;

int cv_health(CvClient *c, CvHealth *ret);

/* ---- secrets: (plugin, name) → bytes, versioned ---- */

typedef struct CvSecret {
        uint8_t *value;         /* value_size bytes, then a NUL not counted */
        size_t value_size;
        int64_t version;
        int64_t created;        /* unix seconds */
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
/* Metadata of every secret of plugin (NULL: of every plugin), in (plugin,
 * name) order. Returns the number of items. Never returns a value. */
int cv_secret_list(CvClient *c, const char *plugin, CvSecretInfo **ret_items);
void cv_secret_info_free(CvSecretInfo *items, size_t n_items);

/* ---- user OAuth token sets: (plugin, user id) → token set ---- */

typedef struct CvToken {
        char *access_token;     /* required */
        char *token_type;       /* required, e.g. "Bearer" */
        char *refresh_token;    /* NULL if none */
        char *scope;            /* NULL if none */
        int64_t expires_at;     /* unix seconds; -1 if unknown */
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
        int64_t expires_at;     /* -1 if unknown */
} CvTokenInfo;

/* Store a user's token set as the new current version. ret_version may be
 * NULL. Only the fields up to expires_at are read. */
int cv_token_put(CvClient *c, const char *plugin, const char *user, const CvToken *token, int64_t *ret_version);
/* -ENOENT if the user has no token set. */
int cv_token_get(CvClient *c, const char *plugin, const char *user, CvToken **ret);
/* Wipe and free; accepts NULL. */
void cv_token_free(CvToken *t);
int cv_token_delete(CvClient *c, const char *plugin, const char *user);
/* Metadata of every token set of plugin, by user id. Returns the count. */
int cv_token_list(CvClient *c, const char *plugin, CvTokenInfo **ret_items);
void cv_token_info_free(CvTokenInfo *items, size_t n_items);

/* ---- the protocol, for tools that speak it directly ---- */

/* Send one request object (JSON text, without "id": the library adds it)
 * and return the daemon's whole reply as JSON text (malloc'd, wipe-free it
 * with cv_free_wiped()). Returns the reply's size, or a negative errno for
 * a transport failure; an error reply is returned like any other. */
int cv_call_json(CvClient *c, const char *request_json, char **ret_reply_json);
/* Wipe size bytes (or strlen(p) if size is (size_t)-1) and free. */
void cv_free_wiped(void *p, size_t size);

#ifdef __cplusplus
}
#endif

#endif
