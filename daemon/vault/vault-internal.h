/* vault-internal.h — what the vault's files share; nothing outside the
 * vault includes it.
 *
 * Owns: the Vault structure, the record primitives every kind of value
 * goes through (seal and store, read and open, delete), and the MACs of
 * the metadata that is not sealed (plugin rows, token-set state). */
#pragma once

#include "envelope.h"
#include "keyring.h"
#include "store.h"
#include "vault.h"

#define VAULT_SCHEME_SLOTS 64 /* a power of two */

/* Meta rows of a root key rotation (vault-root.c), read at open to tell
 * the key from before a rotation from any other wrong key. */
#define VAULT_META_PREVIOUS_KEY_CHECK "previous_key_check"
#define VAULT_META_ROOT_ROTATED_AT "root_rotated_at"

struct Vault {
        Store *store;
        Keyring *keyring;
        /* The schemes of plugins whose rows' MACs checked (bearer for a
         * plugin not registered), so that secret.verify and apikey.lookup
         * neither read nor hash the row on every call. Right because every
         * change of a plugin row goes through vault-plugin.c, which drops
         * the name's slot first, and the vault holds the database alone. */
        struct SchemeSlot {
                bool used;
                AuthScheme scheme;
                char name[NAME_SIZE_MAX + 1];
        } schemes[VAULT_SCHEME_SLOTS];

        /* The audit trail (vault-audit.c). The chain's head is the last
         * committed record's seq and MAC (the anchor's, or 0 and zeros at
         * genesis): what the next record chains from. A transaction that
         * appends records advances it, and a rollback puts it back. */
        int64_t audit_seq;
        uint8_t audit_mac[RECORD_MAC_SIZE];
        int64_t audit_anchor_seq; /* the last pruned record's; 0 if never pruned */
        AuditEntry *audit_batch;  /* VAULT_AUDIT_BATCH_MAX entries, allocated on first use */
        size_t audit_n;           /* queued in audit_batch */
        size_t audit_alloc;       /* its size: more than the max only after a write group */
        AuditEntry audit_stage;   /* the write request's record, while audit_staged */
        enum {
                AUDIT_STAGE_NONE,
                AUDIT_STAGE_WAITING, /* staged, no commit took it yet */
                AUDIT_STAGE_TAKEN,   /* committed with a write */
        } audit_stage_state;
        int64_t group_seq;    /* the chain's head when the open group began */
        size_t group_carried; /* the batch's first records, appended in the open group */
        uint8_t group_mac[RECORD_MAC_SIZE];
        int audit_error;        /* 0, or why the last write of records failed */
        char audit_reason[128]; /* and SQLite's words for it */

        /* The rewrap (vault-key.c). remaining is counted at its start and
         * counted down per step (writes meanwhile may move records too:
         * status counts again). The samples, one per VAULT_RATE_SAMPLE_USEC
         * at most, give the rate over the last few seconds. */
        bool rewrap_running;
        int64_t rewrap_done;
        int64_t rewrap_remaining;
        int64_t rewrap_started_at;
        struct RewrapSample {
                uint64_t usec; /* CLOCK_MONOTONIC */
                int64_t done;
        } rewrap_samples[16];
        size_t rewrap_n_samples, rewrap_next_sample;
        /* Records of the last step that did not authenticate, left on
         * their KEK, and the first of them ("secret todo/name"). */
        int64_t rewrap_damaged;
        char rewrap_damaged_first[32 + NAME_SIZE_MAX + USER_ID_SIZE_MAX];
        /* Records per KEK as the last key.status counted them, moved along
         * by the rewrap's steps since: while a rewrap runs, status answers
         * from it rather than count the kek_version indexes again (at 1M
         * records a count holds the loop for tens of milliseconds, and
         * `key rewrap --wait` asks every 200 ms). Writes meanwhile are not
         * in it; it is dropped when the rewrap ends or a KEK is made. */
        struct KekTally {
                int64_t version;
                int64_t records;
        } * kek_tally;
        size_t n_kek_tally;

        /* Previous versions of secrets (vault-stage.c): how many there
         * are and the earliest deadline (0: none), read again after every
         * write that may change them. With none, secret.verify and the
         * OAuth client check look for no previous value at all. */
        int64_t stage_n_previous;
        int64_t stage_next_deadline;
};

/* Seal and store a new version of a record inside the caller's
 * transaction. expires_at < 0 means none. */
int vault_record_put_locked(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                            size_t size, int64_t expires_at, StoredRecord *ret_meta);
/* The same in a transaction of its own. */
int vault_record_put(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                     size_t size, int64_t expires_at, StoredRecord *ret_meta);
/* Read and open the current version. ret_meta (optional) gets metadata
 * only. */
int vault_record_get(Vault *v, RecordKind kind, const char *plugin, const char *name, SecretBuf **ret_value,
                     StoredRecord *ret_meta);
/* In a transaction of its own. -ENOENT if absent. */
int vault_record_delete(Vault *v, RecordKind kind, const char *plugin, const char *name);

/* Commit if r >= 0, else roll back; returns r or the commit's error. For
 * the end of a transaction begun with store_begin(). Before committing,
 * appends the queued audit records and the staged one (vault-audit.c):
 * -ESHUTDOWN if they cannot be appended, and then nothing commits. */
int vault_end(Vault *v, int r);

/* ---- a secret's stages (vault-stage.c) ---- */

/* Read the previous versions' count and earliest deadline again (at
 * open, and after a write that may have changed them, committed or
 * not). */
int vault_stage_refresh(Vault *v);
/* The previous version of a secret while it is valid at now: its value
 * and version. -ENOENT if there is none or its deadline has passed.
 * Nothing is read when the vault holds no previous version. */
int vault_stage_previous_open(Vault *v, const char *plugin, const char *name, int64_t now, SecretBuf **ret_value,
                              int64_t *ret_version);
/* Make the random text of a generated secret: n_bytes of randomness as
 * unpadded URL-safe base64 (vault-secret.c). */
int vault_secret_text_generate(size_t n_bytes, SecretBuf **ret);

/* ---- KEK rotation (vault-key.c) ---- */

/* A rewrap step's move of one pending revocation (ref->revocation) onto
 * the primary KEK (vault-revocation.c); *ret_from is the KEK it was on. */
int vault_revocation_rewrap(Vault *v, const StoredRecordRef *ref, int64_t *ret_from);

/* At open: resume a rewrap the meta row says was running. */
int vault_key_load(Vault *v);
void vault_key_free(Vault *v);

/* ---- the audit trail (vault-audit.c) ---- */

/* Queue a record of the vault's own (not the request's: its stage is left
 * alone) in the batch, written with the next commit or flush. */
int vault_audit_queue(Vault *v, const AuditEntry *e);

/* Read the chain's head, at open. */
int vault_audit_load(Vault *v);
/* vault_end(): r < 0 rolls back; else append the batch (and the staged
 * record, if take_stage) and commit, or roll back and keep them. */
int vault_audit_commit(Vault *v, int r, bool take_stage);
/* Write what is queued (best effort) and free the batch, at vault_free(). */
void vault_audit_free(Vault *v);

/* ---- metadata MACs (vault-mac.c) ----
 *
 * Each write of a plugin row or of a token set's state stores the MAC the
 * vault computes here; each read that decides anything checks it first.
 * A row whose MAC does not check, or that has none, is -EUCLEAN: never
 * used. */

/* Set p->mac over p's fields (created_at as the row will hold it). */
int vault_plugin_mac(const Keyring *k, StoredPlugin *p);
int vault_plugin_check(const Keyring *k, const StoredPlugin *p);
/* Set st->mac over the set's identity and st's fields. */
int vault_token_state_mac(const Keyring *k, const char *plugin, const char *user, TokenState *st);
int vault_token_state_check(const Keyring *k, const char *plugin, const char *user, const TokenState *st);
/* MAC every plugin row and token set as it stands (a vault from before
 * MACs, trusted once on an upgrade the operator asked for); inside the
 * caller's transaction. *ret_plugins and *ret_tokens count the rows. */
int vault_mac_backfill(Store *s, const Keyring *k, int64_t *ret_plugins, int64_t *ret_tokens);
/* Set st->mac over a staged row's identity and fields but its sealed
 * bytes and KEK version (which the envelope binds, or a rewrap changes). */
int vault_stage_mac(const Keyring *k, const char *plugin, const char *name, StoredStage *st);
int vault_stage_check(const Keyring *k, const char *plugin, const char *name, const StoredStage *st);

/* ---- the root key's metadata MAC (vault-meta-mac.c) ----
 *
 * One meta row, VAULT_META_MAC, over the meta rows that say where the root
 * key goes and what it was: recovery_public, recovery_root,
 * previous_key_check, root_rotated_at (each possibly absent). Written in
 * the transaction that writes any of them; checked before any of them is
 * trusted (a root key rotation seals the new key to recovery_public). */
#define VAULT_META_MAC "meta_mac"
#define VAULT_META_RECOVERY_PUBLIC "recovery_public"
#define VAULT_META_RECOVERY_ROOT "recovery_root"
/* Inside the caller's transaction, after the rows are written. */
int vault_meta_mac_update(Store *s, const Keyring *k);
/* 0 if the MAC checks; -EUCLEAN if not, or if there is none (every vault
 * has one from vault_meta_mac_open() on). */
int vault_meta_mac_check(Store *s, const Keyring *k);
/* At open, once the file is locked: check the MAC, or make it for a new
 * vault or one whose file was older than the covered rows (schema_before,
 * its user_version before migrating) and holds none of them. A missing
 * MAC in a newer file is -EUCLEAN: it was removed. */
int vault_meta_mac_open(Store *s, const Keyring *k, int schema_before);

/* ---- plugins (vault-plugin.c) ---- */

/* The scheme a plugin's credentials are presented in, from its checked
 * row (bearer if it is not registered); remembered per name. -EUCLEAN if
 * the row's MAC does not check. Outside a transaction only: what it
 * remembers must be committed. */
int vault_plugin_scheme(Vault *v, const char *plugin, AuthScheme *ret);
