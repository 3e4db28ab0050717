/* vault.h — the vault: the only place plaintext meets storage.
 *
 * Owns: opening a vault (root key check, schema, keyring), and every
 * operation on what it keeps: secrets, users' token sets and their refresh
 * leases, user API keys, registered plugins, and the checks of presented
 * credentials against stored ones. Each operation is one call that runs
 * its own transaction, durable before it returns; plaintext is sealed and
 * opened here and nowhere else. Never: parses requests or formats replies,
 * logs, or lets a value out but through a SecretBuf the caller wipes.
 *
 * Errors are negative errnos: -ENOENT absent, -EUCLEAN a stored record, a
 * key, or a plugin row's or token set's metadata fails authentication (the
 * database was altered), -EBUSY, -ENOSPC and -EROFS from storage; each
 * call lists the others it chooses on purpose. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "manifest.h"
#include "record.h"
#include "secret-buf.h"

typedef struct Vault Vault;

/* ---- opening (vault.c) ---- */

/* Which step of vault_open() failed, for the start-up message. */
typedef enum VaultOpenStep {
        VAULT_OPEN_DATABASE,  /* open or integrity check */
        VAULT_OPEN_KEY_CHECK, /* reading the key-check value */
        VAULT_OPEN_UPGRADE,   /* a vault from before metadata MACs, not to be trusted */
        VAULT_OPEN_MIGRATE,   /* bringing the schema up to date */
        VAULT_OPEN_KEYRING,   /* unwrapping (or creating) the keyring */
        VAULT_OPEN_LOCK,      /* taking the database for this process */
        VAULT_OPEN_SCHEMA,    /* an object the migrations do not make, or made otherwise (problem says which) */
        VAULT_OPEN_META,      /* the MAC of the recovery key's and root key rotation's rows */
} VaultOpenStep;

/* What VAULT_OPEN_META's -EUCLEAN means, for messages. */
#define VAULT_META_MAC_PROBLEM                                                                                         \
        "the meta rows recovery_public, recovery_root, previous_key_check and root_rotated_at do not match their "     \
        "MAC (altered or removed: a root key rotation would seal the new root key to recovery_public)"

typedef enum VaultOpenFlags {
        /* A vault from before metadata MACs (schema 3, key check of label
         * v1) may be upgraded: its plugin rows and token states are MAC'd
         * as they stand, trusted once. Only the operator can vouch for
         * that: nothing in the file can (a database writer can make it
         * look like schema 3 again). Without the flag such a vault is
         * -EPERM at VAULT_OPEN_UPGRADE, and left unchanged. */
        VAULT_OPEN_TRUST_METADATA_UPGRADE = 1 << 0,
        /* The daemon's start: SQLite's quick_check only after an unclean
         * shutdown (see STORE_CHECK_AFTER_CRASH), so that a start takes the
         * same time at any size. Without it: always. */
        VAULT_OPEN_CHECK_AFTER_CRASH = 1 << 1,
} VaultOpenFlags;

/* What vault_open() did, or where it failed. */
typedef struct VaultOpenResult {
        VaultOpenStep step;                      /* on failure, where */
        bool upgraded;                           /* the metadata upgrade ran */
        int64_t plugins_trusted, tokens_trusted; /* upgraded: the rows it MAC'd as they stood */
        /* A new vault was made. */
        bool created;
        /* SQLite's quick_check ran over the file. */
        bool integrity_checked;
        /* -EKEYREJECTED: the key is the one the root key rotation at
         * rotated_at (unix seconds) replaced. */
        bool previous_key;
        int64_t rotated_at;
        /* -EUCLEAN at VAULT_OPEN_SCHEMA: which object, and how. */
        char problem[160];
} VaultOpenResult;

/* Open the database at db_path (creating a new vault if there is none)
 * under root_key, taking ownership of root_key (sodium_malloc memory) even
 * on failure. The key is checked before the schema is touched, so a wrong
 * key never changes the file. -EKEYREJECTED wrong root key, -EUCLEAN
 * damaged or tampered file or keyring (records without a keyring too: a
 * keyring is made only for a database that holds nothing), -EPERM a vault
 * from before metadata MACs without VAULT_OPEN_TRUST_METADATA_UPGRADE (the
 * file is left unchanged), -EPROTO written by a newer credvaultd, -EBUSY
 * held by another process. ret_result (optional) says where it failed, or
 * whether the upgrade ran and what it trusted. */
int vault_open(const char *db_path, uint8_t *root_key, VaultOpenFlags flags, Vault **ret, VaultOpenResult *ret_result);
void vault_free(Vault *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Vault *, vault_free);

typedef struct VaultStats {
        int64_t secrets, tokens;
        int64_t kek_primary; /* version of the primary KEK */
        int64_t n_keks;
} VaultStats;

int vault_stats(Vault *v, VaultStats *ret);

/* ---- KEK rotation (vault-key.c) ----
 *
 * A rotation makes a fresh KEK the primary (new writes use it) and keeps
 * the old one, now active, for the records it still wraps. A rewrap moves
 * those records' DEKs onto the primary in small batches, each its own
 * transaction, never re-encrypting a value; its progress is the data
 * itself (the records still on other KEKs), and a meta row says it is
 * running, so a vault opened after a crash resumes it. A KEK that wraps
 * nothing can be retired: its row stays, its key is gone from the file
 * and from memory. Record versions, times and metadata MACs are left as
 * they are. */

typedef struct VaultKek {
        int64_t version;
        const char *state; /* "primary", "active", "retired" */
        int64_t records;   /* whose DEK it wraps */
        int64_t created_at;
} VaultKek;

typedef struct VaultRewrap {
        bool running;
        int64_t remaining;  /* records not on the primary */
        int64_t done;       /* moved since this rewrap started */
        double rate;        /* records a second over the last few seconds; 0 idle */
        int64_t started_at; /* unix seconds; 0 if none has run in this process */
        /* The KEKs' records are the last count moved along by the
         * rewrap's steps since, not counted again (writes meanwhile are
         * not in them): see vault_key_status(). */
        bool approximate;
        /* Records the last step could not rewrap because they do not
         * authenticate (damaged or altered): they stay on their KEK, which
         * then cannot be retired; first_damaged names one ("" if none). */
        int64_t damaged;
        const char *first_damaged;
} VaultRewrap;

/* Records one rewrap step moves by default: a few milliseconds at most. */
#define VAULT_REWRAP_BATCH 256

/* A fresh KEK of the next version becomes the primary; the old primary
 * becomes active. */
int vault_key_rotate(Vault *v, int64_t *ret_primary, int64_t *ret_previous);
/* Start the rewrap (or say how the running one stands): harmless when it
 * runs already or there is nothing to move. ret gets the state. */
int vault_key_rewrap_start(Vault *v, VaultRewrap *ret);
/* Whether a rewrap runs (started, or resumed at open) and wants steps. */
bool vault_key_rewrap_running(const Vault *v);
/* Move up to batch records onto the primary in one transaction; the
 * rewrap ends when a step finds fewer. *ret_done is how many moved,
 * *ret_remaining an estimate of those left (exact once 0). A record that
 * does not open stops the rewrap (-EUCLEAN); it is resumed at the next
 * start or key.rewrap. */
int vault_key_rewrap_step(Vault *v, unsigned batch, int64_t *ret_done, int64_t *ret_remaining);
/* Every KEK (malloc'd array, retired ones too) with its record count, and
 * the rewrap's state. Counting reads the kek_version indexes, which at 1M
 * records holds the loop tens of milliseconds: so while a rewrap runs,
 * only the first call counts, and the next ones answer from that count
 * moved along by the rewrap's steps (ret_rewrap->approximate). */
int vault_key_status(Vault *v, VaultKek **ret_keks, size_t *ret_n, VaultRewrap *ret_rewrap);
/* Retire a KEK that wraps no record: -ENOENT if there is none of that
 * version, -EEXIST if it is the primary (*ret_records -1) or still wraps
 * *ret_records records. Retiring a retired one again is 0. Its wrapped
 * bytes are wiped from the database (and the WAL checkpointed and
 * truncated) and its key from memory. */
int vault_key_retire(Vault *v, int64_t version, int64_t *ret_records);

/* ---- the root key and the recovery key (vault-root.c) ----
 *
 * A root key rotation wraps the keyring (every KEK not retired, the index
 * key, the MAC key) under the new key and stores its key-check value, the
 * old key's (so a start with it can say it is the key from before the
 * rotation), the time, and the root key sealed again to the recovery key,
 * in one transaction; then the new key is in force. No value is
 * re-encrypted: it takes the same time whatever the vault holds. */

/* Where the development key's successor is written before the commit. */
#define VAULT_DEV_KEY_NEW_SUFFIX ".new"

/* Rotate to the key in key_file (the content of a key file, by the rules
 * of rootkey_read()). -EBADMSG not a key, -EEXIST it is the root key in
 * force already. *ret_rotated_at (optional) gets the time. */
int vault_root_rotate(Vault *v, const uint8_t *key_file, size_t size, int64_t *ret_rotated_at);
/* The same for a key already read (sodium_malloc memory, taken). */
int vault_root_rotate_to(Vault *v, uint8_t *root_key, int64_t *ret_rotated_at);
/* A vault on the development key at dev_key_path: a fresh key is written
 * to dev_key_path + VAULT_DEV_KEY_NEW_SUFFIX (0600, fsync'd), the
 * rotation commits, and the file is renamed over dev_key_path (the
 * directory fsync'd). A crash between commit and rename leaves the new
 * key in the .new file; the next --dev start finishes the rename.
 * A rename that fails after the commit does not undo the rotation: 0,
 * with *ret_install_error the rename's -errno (0 if it was done); the
 * key in force is then in the .new file only. The next rotation renames
 * that file first (a .new holding another key is a leftover and is
 * deleted); if that fails again it returns its -errno, also in
 * *ret_install_error, and rotates nothing. Other errors: nothing was
 * changed (an unreadable .new file is left as it is, -errno). */
int vault_root_rotate_dev(Vault *v, const char *dev_key_path, int64_t *ret_rotated_at, int *ret_install_error);
/* Make a recovery key: its public half and the root key sealed to it
 * are stored, its text handed back (once; never stored). -EEXIST if the
 * vault has one and !replace. */
int vault_recovery_create(Vault *v, bool replace, SecretBuf **ret_text);
/* Offline, before vault_open(): the root key of the database at db_path,
 * opened with the recovery key text. -EBADMSG not a recovery key, -EILSEQ
 * a typo (the checksum fails), -EKEYREJECTED another vault's recovery key
 * (or one replaced since), -ENOENT the vault has no recovery key,
 * -EUCLEAN the sealed root key does not open. Reads only. */
int vault_recovery_unseal(const char *db_path, const char *text, size_t size, uint8_t **ret_root_key);

/* ---- secrets (vault-secret.c) ---- */

/* Store a new version. ret_meta (optional) gets its metadata. */
int vault_secret_put(Vault *v, const char *plugin, const char *name, const uint8_t *value, size_t size,
                     StoredRecord *ret_meta);
/* Open the current version. ret_meta (optional) gets metadata only. */
int vault_secret_get(Vault *v, const char *plugin, const char *name, SecretBuf **ret_value, StoredRecord *ret_meta);
int vault_secret_delete(Vault *v, const char *plugin, const char *name);
/* Store n_bytes of fresh randomness as URL-safe base64 text (a service
 * token) and hand the text back. */
int vault_secret_generate(Vault *v, const char *plugin, const char *name, size_t n_bytes, SecretBuf **ret_value,
                          StoredRecord *ret_meta);

/* ---- rotation with overlap (vault-stage.c) ----
 *
 * A secret's versions carry a stage: a new value is staged as pending
 * (rotate), promotion makes it current and the current one previous
 * until a deadline (now + grace), after which it is gone: no call sees it
 * any more, and vault_secret_sweep() deletes it. Versions are unique
 * across the stages (each new one is above all of them), so each sealed
 * blob keeps its own identity and moves between stages unchanged. */

/* Stage value (or, with value NULL, n_bytes of fresh randomness as text,
 * handed back in *ret_value) as the pending version, replacing a pending
 * one; grace is the seconds its predecessor will stay valid once it is
 * promoted. A current version need not exist. ret_meta (optional) gets
 * the staged row's metadata. */
int vault_secret_rotate(Vault *v, const char *plugin, const char *name, const uint8_t *value, size_t size,
                        size_t n_bytes, int64_t grace, SecretBuf **ret_value, StoredStage *ret_meta);

typedef struct VaultPromoted {
        int64_t version;           /* now current */
        int64_t previous_version;  /* 0 if there was no current version */
        int64_t previous_deadline; /* unix seconds; 0 if none */
        int64_t grace;             /* what was applied */
} VaultPromoted;

/* In one transaction: pending → current, current → previous valid until
 * now + grace (grace < 0: the one staged with the pending version); a
 * previous version there was is dropped. -ENOENT if there is no pending
 * version. */
int vault_secret_promote(Vault *v, const char *plugin, const char *name, int64_t grace, VaultPromoted *ret);

/* Open a pending or previous version (a previous one only before its
 * deadline). -ENOENT if there is none. ret_meta (optional): metadata. */
int vault_secret_get_stage(Vault *v, const char *plugin, const char *name, RecordStage stage, SecretBuf **ret_value,
                           StoredStage *ret_meta);

/* The secret's versions, newest first (pending, current, previous;
 * metadata only, a previous one only before its deadline) into ret, at
 * most 3; *ret_n how many. -ENOENT if there is none. */
int vault_secret_history(Vault *v, const char *plugin, const char *name, StoredStage ret[static 3], size_t *ret_n);

/* Delete up to limit previous versions whose deadline is <= now, each in
 * its own transaction with its audit record: a copy of tmpl naming the
 * secret (plugin, object; time_usec set to now). *ret_entries (malloc'd,
 * may be NULL if *ret_n is 0) gets the records written. */
int vault_secret_sweep(Vault *v, int64_t now, unsigned limit, const AuditEntry *tmpl, AuditEntry **ret_entries,
                       size_t *ret_n);
/* The earliest deadline of a previous version (unix seconds), 0 if none. */
int64_t vault_secret_next_deadline(const Vault *v);

/* Up to limit records of a kind in (plugin, name) order after the cursor
 * (NULLs start at the beginning); plugin NULL lists every plugin. Metadata
 * only (plugin, name and the times). */
int vault_record_list(Vault *v, RecordKind kind, const char *plugin, const char *after_plugin, const char *after_name,
                      unsigned limit, StoredRecord **ret, size_t *ret_n);

/* ---- credential checks (vault-credential.c) ----
 *
 * A presented value is compared with a stored one as keyed digests, in
 * constant time; the answer is match or no match, never the value. Where
 * a request carries an HTTP Authorization header instead of the value, it
 * is read in the scheme the plugin's manifest declares (bearer or basic). */

typedef struct Presented {
        const uint8_t *value; /* NULL: use authorization */
        size_t size;
        const char *authorization; /* a header value, or NULL */
} Presented;

/* -ENOENT if the secret is absent. *ret_match; ret_meta (optional) is the
 * matching version's: the current version, or the previous one before
 * its deadline (both are compared whenever a previous one is valid). */
int vault_secret_verify(Vault *v, const char *plugin, const char *name, const Presented *p, bool *ret_match,
                        StoredRecord *ret_meta);
/* The same, and *ret_stage (optional) says which version matched. */
int vault_secret_verify_stage(Vault *v, const char *plugin, const char *name, const Presented *p, bool *ret_match,
                              StoredRecord *ret_meta, RecordStage *ret_stage);

/* OAuth client authentication (RFC 6749 §2.3.1): client_id and
 * client_secret as client_secret_post, or authorization as
 * client_secret_basic. The client secret's previous version matches too
 * before its deadline (a client-secret rotation with overlap). -ENOENT if the plugin has either secret missing,
 * *ret_missing then names it. */
int vault_oauth_client_check(Vault *v, const char *plugin, const char *client_id, const char *client_secret,
                             const char *authorization, bool *ret_match, const char **ret_missing);

/* Store a user's API key and index it. -EEXIST if the same key belongs to
 * another user of the plugin; -EINVAL if it is empty. */
int vault_apikey_put(Vault *v, const char *plugin, const char *user, const uint8_t *key, size_t size,
                     StoredRecord *ret_meta);
/* The user whose key was presented, *ret_user NULL if none. */
int vault_apikey_lookup(Vault *v, const char *plugin, const Presented *p, char **ret_user);
int vault_apikey_delete(Vault *v, const char *plugin, const char *user);

/* ---- users' token sets (vault-token.c) ----
 *
 * A token set is stored as a token endpoint returned it (RFC 6749 §5.1),
 * with expires_in turned into an absolute expires_at and the previous
 * refresh_token kept when a response carries none. Refresh is coordinated
 * by a lease per set. */

/* Store a token response (checked by proto's request_check_token_response()).
 * -EMSGSIZE if the stored set would be over TOKEN_SET_SIZE_MAX with the
 * previous refresh token kept. */
int vault_token_put(Vault *v, const char *plugin, const char *user, json_t *response, StoredRecord *ret_meta);

/* The stored set (JSON text), if it stays valid for min_valid more
 * seconds. -EKEYREVOKED reauth required, -EALREADY another caller holds
 * the refresh lease, -ESTALE expired or expiring: ret_state (optional)
 * then tells the deadline and the lease. */
int vault_token_get(Vault *v, const char *plugin, const char *user, int64_t min_valid, SecretBuf **ret_text,
                    StoredRecord *ret_meta, TokenState *ret_state);
int vault_token_delete(Vault *v, const char *plugin, const char *user);
/* Up to limit token sets (metadata and state) after the cursor, in user
 * order. */
int vault_token_list(Vault *v, const char *plugin, const char *after, unsigned limit, TokenInfo **ret, size_t *ret_n);

typedef struct TokenRefresh {
        bool refresh; /* true: the caller holds the lease and must refresh */
        char lease[LEASE_ID_SIZE + 1];
        int64_t lease_until;      /* unix ms */
        int64_t version;          /* of the set the lease was taken on */
        SecretBuf *refresh_token; /* refresh: the token to present */
        SecretBuf *text;          /* !refresh: the set someone refreshed meanwhile */
        StoredRecord meta;        /* !refresh: its metadata */
} TokenRefresh;

void vault_token_refresh_done(TokenRefresh *t);

/* Take the refresh lease for lease_seconds, unless the set is (again)
 * valid for min_valid seconds. -EKEYREVOKED reauth required (or no refresh
 * token), -EALREADY another caller holds the lease (ret_state tells until
 * when). */
int vault_token_refresh_begin(Vault *v, const char *plugin, const char *user, int64_t min_valid, int64_t lease_seconds,
                              TokenRefresh *ret, TokenState *ret_state);
/* Store the refreshed set, only while the lease is ours and the set is the
 * one it was taken on. -EEXIST if not, -EMSGSIZE as for put. */
int vault_token_refresh_commit(Vault *v, const char *plugin, const char *user, const char *lease, json_t *response,
                               StoredRecord *ret_meta);

/* What refresh_fail did, and the set's state afterwards. */
typedef struct TokenRefreshFail {
        bool applied;
        const char *state; /* "valid", "expired", "refreshing", "reauth_required" */
} TokenRefreshFail;

/* Release the lease; error "invalid_grant" marks the set reauth_required.
 * Applied only for the holder of the current lease on an unchanged set: a
 * failure from anyone else lost a race against a rotation and revokes
 * nothing. An applied one is noted as the set's last refresh result, with
 * retry_at (unix ms, 0: not said) as its next attempt. */
int vault_token_refresh_fail(Vault *v, const char *plugin, const char *user, const char *lease, const char *error,
                             int64_t retry_at, TokenRefreshFail *ret);

/* The state name of a token set at unix time now (ms: now_ms), with
 * "expiring" for sets that expire within horizon seconds. */
const char *vault_token_state_name(const TokenInfo *t, int64_t now, int64_t now_ms, int64_t horizon);

/* ---- token sets pending revocation (vault-revocation.c) ----
 *
 * A token set deleted while its plugin has the secret
 * VAULT_REVOCATION_SECRET (its provider's RFC 7009 revocation endpoint)
 * is kept, sealed as it was, until the refresher has revoked its tokens
 * (token.revocation_begin hands one out, _end says how it went) or the
 * vault gives up on it: after VAULT_REVOCATION_ATTEMPTS_MAX failed
 * attempts, or VAULT_REVOCATION_AGE_MAX after the delete (checked on every
 * write of this module). The delete itself never waits for it. */

#define VAULT_REVOCATION_SECRET "revocation_endpoint"
#define VAULT_REVOCATION_LEASE_MS (60 * 1000LL) /* a begin holds the row off this long */
#define VAULT_REVOCATION_RETRY_MIN_S 30         /* first back-off; doubled per attempt */
#define VAULT_REVOCATION_RETRY_MAX_S 3600       /* ... up to this */
#define VAULT_REVOCATION_ATTEMPTS_MAX 10
#define VAULT_REVOCATION_AGE_MAX (7 * 86400LL) /* seconds after the delete */
#define VAULT_REVOCATION_AUDIT_OP "token.revocation_given_up"
/* A pending revocation's own record identity (kind token, the plugin, a
 * name made of a prefix no user id has and the user, version its row id),
 * into name. For sealing, opening, rewrapping and checking its row. */
#define VAULT_REVOCATION_NAME_SIZE (16 + USER_ID_SIZE_MAX)
void vault_revocation_record_id(const char *plugin, const char *user, int64_t id,
                                char name[static VAULT_REVOCATION_NAME_SIZE], RecordId *ret);

/* token.delete: delete the set, and first queue it for revocation if the
 * plugin has a revocation endpoint (*ret_pending then true). Revocation
 * never fails the delete: a set that cannot be queued is deleted all the
 * same. tmpl (may be NULL: none) is the caller's audit record, copied for
 * each revocation given up by age meanwhile. -ENOENT if there is no set. */
int vault_token_delete_revoking(Vault *v, const char *plugin, const char *user, const AuditEntry *tmpl,
                                bool *ret_pending);
/* Up to limit of a plugin's pending revocations after the id after,
 * metadata only (no sealed bytes). */
int vault_revocation_list(Vault *v, const char *plugin, int64_t after, unsigned limit, StoredRevocation **ret,
                          size_t *ret_n);
/* The token to revoke of pending revocation id of plugin: the deleted
 * set's refresh_token, else its access_token, and the RFC 7009 hint
 * naming which; the row is held off for VAULT_REVOCATION_LEASE_MS and its
 * attempts counted. -ENOENT none such (or given up now: past its
 * attempts or age), -EALREADY not due yet (*ret_retry_ms: in how long),
 * -EUCLEAN it does not open, -ENODATA it holds no token. *ret_user
 * (malloc'd) names the set's user. */
int vault_revocation_begin(Vault *v, const char *plugin, int64_t id, const AuditEntry *tmpl, SecretBuf **ret_token,
                           const char **ret_hint, char **ret_user, int64_t *ret_retry_ms);

typedef struct RevocationEnd {
        const char *state; /* "revoked", "retrying", "given_up" */
        int64_t attempts;
        int64_t next_at; /* retrying: unix ms */
        char *user;      /* malloc'd */
} RevocationEnd;

/* error NULL: revoked, the row goes. Else the attempt failed with error
 * (an OAuth error code or a transient kind): retried after a back-off
 * doubling from VAULT_REVOCATION_RETRY_MIN_S, or given up (the row goes,
 * an audit record from tmpl says so). -ENOENT none such. */
int vault_revocation_end(Vault *v, const char *plugin, int64_t id, const char *error, const AuditEntry *tmpl,
                         RevocationEnd *ret);

typedef struct RevocationStats {
        int64_t pending;
        int64_t given_up; /* ever, kept in the database (meta row) */
        int64_t next_at;  /* unix ms of the earliest pending; 0 if none */
} RevocationStats;

int vault_revocation_stats(Vault *v, RevocationStats *ret);

/* ---- plugins (vault-plugin.c) ---- */

/* Register (or update) a plugin from its manifest's checked auth block:
 * the public part in the plugin row, each verification token as the secret
 * "verification_token:CONSUMER"; all in one transaction. -EEXIST if the
 * name is registered for another domain (*ret_domain then names it,
 * malloc'd). -EMSGSIZE if the public auth block is over
 * AUTH_PUBLIC_SIZE_MAX. ret gets the stored row. */
int vault_plugin_register(Vault *v, const char *name, const char *domain, const ManifestAuth *auth, StoredPlugin *ret,
                          char **ret_domain);
int vault_plugin_list(Vault *v, const char *after, unsigned limit, StoredPlugin **ret, size_t *ret_n);

typedef struct PluginSummary {
        bool registered;
        StoredPlugin plugin;   /* registered only */
        StoredRecord *secrets; /* the first page of secrets (metadata) */
        size_t n_secrets_page;
        bool secrets_truncated;
        int64_t n_secrets, n_apikeys;
        TokenStats tokens;
} PluginSummary;

void vault_plugin_summary_done(PluginSummary *s);
/* Everything about a plugin, never a value; "expiring" counts token sets
 * expiring within horizon seconds. -ENOENT if it is neither registered nor
 * holds anything. */
int vault_plugin_summary(Vault *v, const char *plugin, int64_t horizon, unsigned secrets_limit, PluginSummary *ret);
/* 0 if plugin is registered (its row's MAC checked), -ENOENT if not. */
int vault_plugin_registered(Vault *v, const char *plugin);
/* Remove a plugin's registration and everything stored under its name. */
int vault_plugin_delete(Vault *v, const char *plugin, PluginRemoved *ret);
/* The auth block as the manifest needs it, verification tokens filled in
 * (the tree carries values: the caller frees it through the wiping
 * allocator). -ENOENT if not registered; -ENODATA if a verification token
 * was deleted (*ret_consumer names it, malloc'd). */
int vault_manifest_auth(Vault *v, const char *plugin, json_t **ret_auth, char **ret_consumer);

/* ---- the audit trail (vault-audit.c) ----
 *
 * An append-only table of AuditEntry rows, each MAC'd over the previous
 * one's MAC and its own fields with a key derived from the keyring, so
 * that only this vault can extend the chain. A write's record commits in
 * the write's own transaction (staged before the write, appended by
 * vault_end()); every other record waits in a bounded in-memory batch
 * that the server flushes every VAULT_AUDIT_FLUSH_USEC, that any write
 * transaction takes along, and that is flushed at once when it is full.
 * A crash loses at most the batch window. */

/* The batch window, and the batch size that forces a flush. */
#define VAULT_AUDIT_FLUSH_USEC (250 * 1000ULL)
#define VAULT_AUDIT_BATCH_MAX 4096

/* e (whose result the vault sets to "ok") is appended inside the next
 * write transaction that commits, after the records waiting in the
 * batch: call before the op's vault call. A stage that no commit took is
 * dropped by vault_audit_add(). */
void vault_audit_stage(Vault *v, const AuditEntry *e);
/* Record e, the request's final record: nothing more if it was staged
 * and a commit took it; otherwise queued in the batch (and the batch
 * written now if full). -ESHUTDOWN if the batch is full and cannot be
 * written: the request must be refused. Ends the stage. */
int vault_audit_add(Vault *v, const AuditEntry *e);
/* Write the batch in one transaction. 0, or -errno and the records stay
 * queued (the status then says why). */
int vault_audit_flush(Vault *v);

/* Group commit: the writes between vault_group_begin() and
 * vault_group_commit() share one transaction and one fsync, each in a
 * savepoint of its own (a write that fails is undone alone), and their
 * staged records go with them. The batch of other records is not written
 * inside a group: vault_audit_flush() is -EBUSY there, and its caller
 * ends the group first. Commit returns once the group is durable, or
 * -errno with every write of the group undone. */
int vault_group_begin(Vault *v);
int vault_group_commit(Vault *v);
bool vault_in_group(const Vault *v);

typedef struct VaultAuditStatus {
        bool failing;       /* the last write of records failed */
        int error;          /* and its -errno (-ENOSPC, -EROFS, -EIO, ...) */
        size_t queued;      /* records waiting in the batch */
        int64_t last_seq;   /* of the last record written */
        int64_t anchor_seq; /* the last pruned record; 0 if never pruned */
        const char *reason; /* failing: SQLite's message (never a value), else "" */
} VaultAuditStatus;
void vault_audit_status(Vault *v, VaultAuditStatus *ret);

/* Up to limit records matching f with seq > after_seq, oldest first;
 * the batch is flushed first so the answer is complete. At most
 * AUDIT_LIST_SCAN_MAX rows are read (store.h): fewer records, even none,
 * may come with *ret_next > after_seq to go on from; 0 when there is
 * nothing more. */
int vault_audit_list(Vault *v, const AuditFilter *f, int64_t after_seq, unsigned limit, AuditEntry **ret, size_t *ret_n,
                     int64_t *ret_next);

typedef struct AuditVerify {
        int64_t records;    /* checked */
        int64_t anchor_seq; /* the last pruned record; 0 if never pruned */
        int64_t first_seq, last_seq;
        /* -EUCLEAN: where and what */
        int64_t bad_seq;     /* the first record that does not check (or the anchor's seq) */
        const char *problem; /* static text: "edited, inserted or reordered", "missing", ... */
} AuditVerify;
/* Check the whole chain from the anchor: 0 intact, -EUCLEAN with
 * ret->bad_seq and ret->problem. The batch is flushed first. One walk of
 * every record, all in the caller's thread: about 1.4 s at 350,000
 * records, during which the daemon serves no one else. */
int vault_audit_verify(Vault *v, AuditVerify *ret);
/* Remove the records older than before_usec (but never the last one),
 * keeping the chain verifiable: the last removed record becomes the
 * anchor, and the request's staged record (the one vault_audit_stage()
 * got) says "through SEQ" in its object, which verify checks the anchor
 * against. *ret_removed counts them. The records to be removed are
 * checked first, from the anchor through the new anchor, and so is the
 * anchor (the last prune record names it): if they do not check, nothing
 * is removed, -EUCLEAN, and *ret_broken (may be NULL) says where and what
 * as verify would, since a prune would erase that evidence. */
int vault_audit_prune(Vault *v, int64_t before_usec, int64_t *ret_removed, AuditVerify *ret_broken);

/* ---- online backup (vault-backup.c) ----
 *
 * A consistent copy of the vault file, made in steps while the vault
 * serves: ciphertext, wrapped keys, metadata and the audit trail, as the
 * database holds them (the root key opens the copy, nothing else does).
 * Writes made between steps are in the copy too. The copy goes into a
 * descriptor the caller passes (a regular file open for writing, empty):
 * the vault never opens a path it is given. One at a time. */

typedef struct VaultBackup VaultBackup;

typedef struct VaultBackupInfo {
        int64_t pages, pages_done;
        int64_t records; /* sealed records in the copy, once the pages are copied */
        uint64_t bytes, bytes_done;
        bool copying_file;
} VaultBackupInfo;

/* Start a copy into fd, which is taken (closed on failure, or by
 * vault_backup_free()). The audit batch is written first. */
int vault_backup_start(Vault *v, int fd, VaultBackup **ret);
/* One step of about n_pages database pages' work: 1 while more is to do,
 * 0 once the copy is in fd and fdatasync'd, -errno if it failed (then
 * only vault_backup_free() is left). No write of the vault may be in
 * progress (none is between two vault calls). */
int vault_backup_step(VaultBackup *b, unsigned n_pages);
void vault_backup_progress(const VaultBackup *b, VaultBackupInfo *ret);
/* Stop and clean up (the temporary files go, fd is closed). */
void vault_backup_free(VaultBackup *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(VaultBackup *, vault_backup_free);
/* At start, before vault_open(): remove what a backup left behind when
 * the daemon died during it. The number of files removed, or -errno. */
int vault_backup_clean(const char *db_path);
/* For a restore, on a database no process has open: checkpoint its WAL
 * into the file (store_checkpoint_file()). */
int vault_checkpoint_file(const char *db_path);

/* ---- checking a whole vault (vault-verify.c) ---- */

typedef struct VaultVerify {
        int64_t keks;                     /* KEKs in the keyring (not retired) */
        int64_t secrets, tokens, apikeys; /* records opened */
        int64_t others;                   /* rows of other sealed tables (staged versions) opened */
        int64_t plugins, token_states;    /* metadata MACs checked */
        AuditVerify audit;
        /* -EUCLEAN: what did not check, first found */
        char problem[256];
} VaultVerify;

/* Everything a copy must pass: SQLite's full integrity check, every
 * record opened (every table with sealed values; each value wiped at
 * once), every plugin row's and token state's MAC, the audit chain. 0,
 * or -EUCLEAN with ret->problem; ret's counts say how far it got. Reads
 * the whole file: for an offline copy, not a serving vault. */
int vault_verify(Vault *v, VaultVerify *ret);
/* Offline, without a key (credvaultd --check): SQLite's full integrity
 * check of the database at db_path, which must exist. 0, or -EUCLEAN with
 * ret_problem (SQLite's findings), or the error that kept it from
 * running (-EBUSY: another process holds the file). */
int vault_database_check(const char *db_path, char *ret_problem, size_t problem_size);
