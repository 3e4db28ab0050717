/* record.h — what is stored, as the layers that pass it around see it.
 *
 * Owns: the vocabulary shared by the store (which keeps rows), the envelope
 * (which binds a record's identity into its ciphertext), the vault (which
 * joins the two) and the ops (which put metadata into replies): record
 * kinds and identities, and the metadata of records, plugins and token
 * sets, and the MACs that bind a row's metadata to the keyring. Data only:
 * no value, no key, no SQL. The frees are inline so that no layer has to
 * link another's library for them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto-limits.h"

typedef enum RecordKind {
        RECORD_SECRET,
        RECORD_TOKEN,
        RECORD_APIKEY,
        _RECORD_KIND_MAX,
} RecordKind;

/* A record is named by its kind, plugin, name (a secret's name, or the user
 * id of a token set or an API key) and version. */
typedef struct RecordId {
        RecordKind kind;
        const char *plugin;
        const char *name;
        int64_t version;
} RecordId;

/* One row of a record table. sealed is ciphertext, set only by the store's
 * get; the vault drops it before metadata travels further up. */
typedef struct StoredRecord {
        char *plugin; /* list results only */
        char *name;   /* list results only: secret name or user id */
        int64_t version;
        int64_t kek_version;
        int64_t created_at; /* unix seconds */
        int64_t updated_at;
        bool has_expires_at;
        int64_t expires_at;
        uint8_t *sealed; /* get results only */
        size_t sealed_size;
} StoredRecord;

static inline void stored_record_done(StoredRecord *r) {
        free(r->plugin);
        free(r->name);
        free(r->sealed);
        *r = (StoredRecord) {};
}

static inline void stored_records_free(StoredRecord *r, size_t n) {
        for (size_t i = 0; i < n; i++)
                stored_record_done(&r[i]);
        free(r);
}

/* The MAC of a row's metadata (keyed BLAKE2b under the keyring's MAC key,
 * see keyring_mac()): computed and checked by the vault, kept by the store
 * as opaque bytes beside the row, so that a database writer without the
 * root key cannot change what it covers undetected. size is what the row
 * holds: 0 for none (SQL NULL); anything but RECORD_MAC_SIZE never
 * authenticates. */
#define RECORD_MAC_SIZE 32
/* A refresh result: "ok" or an OAuth error code (1 to 64 of a-z _). */
#define TOKEN_REFRESH_RESULT_SIZE 65

typedef struct RecordMac {
        uint8_t bytes[RECORD_MAC_SIZE];
        size_t size;
} RecordMac;

/* The manifest's authorization_type, which says how a plugin's service
 * token or a user's API key is presented (RFC 9110 §11). */
typedef enum AuthScheme {
        AUTH_SCHEME_BEARER,
        AUTH_SCHEME_BASIC,
} AuthScheme;

typedef struct StoredPlugin {
        char *name;
        char *domain; /* NULL if unknown */
        char *auth_type;
        char *auth_public; /* JSON text: the auth block, verification token values null */
        AuthScheme scheme;
        int64_t version;
        int64_t created_at;
        int64_t updated_at;
        RecordMac mac; /* over every field above (vault-mac.c) */
} StoredPlugin;

static inline void stored_plugin_done(StoredPlugin *p) {
        free(p->name);
        free(p->domain);
        free(p->auth_type);
        free(p->auth_public);
        *p = (StoredPlugin) {};
}

static inline void stored_plugins_free(StoredPlugin *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                stored_plugin_done(&p[i]);
        free(p);
}

typedef struct PluginRemoved {
        bool registered;
        int64_t secrets, tokens, apikeys;
        int64_t staged;      /* pending and previous versions of its secrets */
        int64_t revocations; /* token sets pending revocation, dropped */
} PluginRemoved;

/* The stage of a secret's version (secret.rotate, secret.promote): the
 * current one lives in the record table, a pending (staged, not yet in
 * use) and a previous one (replaced, still accepted until its deadline)
 * in a table of their own. Versions are unique across a secret's stages,
 * so that no two sealed blobs share an identity. */
typedef enum RecordStage {
        RECORD_STAGE_CURRENT,
        RECORD_STAGE_PREVIOUS,
        RECORD_STAGE_PENDING,
        _RECORD_STAGE_MAX,
} RecordStage;

/* One pending or previous version of a secret. */
typedef struct StoredStage {
        RecordStage stage;
        int64_t version;
        int64_t kek_version;
        int64_t created_at; /* unix seconds: when this version was written */
        int64_t grace;      /* pending: seconds its predecessor stays valid once it is promoted */
        int64_t deadline;   /* previous: unix seconds it is valid until; 0 for pending */
        uint8_t *sealed;    /* get results only */
        size_t sealed_size;
        RecordMac mac; /* the vault's MAC over the row's fields (vault-mac.c); opaque here */
} StoredStage;

static inline void stored_stage_done(StoredStage *s) {
        free(s->sealed);
        *s = (StoredStage) {};
}

/* A token set's refresh state. */
typedef struct TokenState {
        int64_t version;
        bool has_expires_at;
        int64_t expires_at; /* unix seconds */
        bool reauth_required;
        char lease_id[LEASE_ID_SIZE + 1]; /* "" when none */
        int64_t lease_until;              /* unix ms; 0 when none */
        int64_t lease_version;            /* the version the lease was taken on */
        RecordMac mac;                    /* over the plugin, the user and every field above */
} TokenState;

/* One token set of a list: its user, times and state (whose MAC the
 * vault checks). */
typedef struct TokenInfo {
        char *user;
        int64_t created_at, updated_at;
        TokenState state;
        /* The last refresh (schema 9), outside the MAC: shown, never
         * decided on. Unix ms, 0 for none; result "" for none. */
        int64_t refresh_tried_at, refresh_next_at;
        char refresh_result[TOKEN_REFRESH_RESULT_SIZE];
} TokenInfo;

/* What store_token_refresh_note() writes: the fields named in mask, each
 * 0 (or NULL) for none. */
enum {
        TOKEN_NOTE_TRIED = 1 << 0,
        TOKEN_NOTE_RESULT = 1 << 1,
        TOKEN_NOTE_NEXT = 1 << 2,
        TOKEN_NOTE_ALL = TOKEN_NOTE_TRIED | TOKEN_NOTE_RESULT | TOKEN_NOTE_NEXT,
};
typedef struct TokenRefreshNote {
        unsigned mask;
        int64_t tried_at, next_at;
        const char *result; /* "ok", or an error code of token.refresh_fail */
} TokenRefreshNote;

static inline void token_infos_free(TokenInfo *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(t[i].user);
        free(t);
}

typedef struct TokenStats {
        int64_t total, expired, expiring, reauth_required, refreshing;
} TokenStats;

/* A deleted token set pending revocation at its provider (RFC 7009): its
 * sealed bytes as the token row held them, and the retry schedule. */
typedef struct StoredRevocation {
        int64_t id;
        char *plugin;
        char *user;
        int64_t version; /* of the deleted set: its sealed bytes' identity */
        int64_t kek_version;
        int64_t deleted_at; /* unix s */
        int64_t attempts;
        int64_t next_at;  /* unix ms: not to be tried before */
        char *last_error; /* NULL if none */
        uint8_t *sealed;  /* get only */
        size_t sealed_size;
} StoredRevocation;

static inline void stored_revocation_done(StoredRevocation *r) {
        free(r->plugin);
        free(r->user);
        free(r->last_error);
        free(r->sealed);
        *r = (StoredRevocation) {};
}

static inline void stored_revocations_free(StoredRevocation *r, size_t n) {
        for (size_t i = 0; i < n; i++)
                stored_revocation_done(&r[i]);
        free(r);
}

static inline void record_names_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* ---- the audit trail ----
 *
 * One record per request, refused connection or bad frame: who asked
 * (from the kernel), what for, and the result; never a value. Records
 * are chained: each one's MAC covers the previous record's MAC and every
 * field below, under a key only the keyring holds (vault-audit.c). */

#define AUDIT_UNIT_SIZE_MAX 256
#define AUDIT_OP_SIZE_MAX 32
#define AUDIT_RESULT_SIZE_MAX 32

typedef struct AuditEntry {
        int64_t seq;       /* 1, 2, ... assigned when appended; 0 before */
        int64_t time_usec; /* CLOCK_REALTIME, when the request was read */
        uint32_t uid, gid;
        int32_t pid;
        bool revealed;                          /* the reply carried a value */
        char unit[AUDIT_UNIT_SIZE_MAX + 1];     /* the caller's unit; "" if none */
        char op[AUDIT_OP_SIZE_MAX + 1];         /* "secret.get", or "connect", "frame", "invalid" */
        char plugin[NAME_SIZE_MAX + 1];         /* "" if none */
        char object[USER_ID_SIZE_MAX + 1];      /* the name or user id; "" if none */
        char result[AUDIT_RESULT_SIZE_MAX + 1]; /* "ok" or the wire's error code */
        RecordMac mac;
} AuditEntry;

/* Which records audit.list returns; every condition must hold. */
typedef struct AuditFilter {
        int64_t since_usec; /* time_usec >= since_usec; 0: from the first */
        int64_t until_usec; /* time_usec < until_usec; 0: to the last */
        const char *plugin; /* NULL: any */
        const char *op;     /* NULL: any */
        const char *unit;   /* NULL: any */
        int64_t uid;        /* -1: any */
} AuditFilter;
