/* store.h — the storage contract: what the vault needs of a database.
 *
 * Owns: records (secrets, token sets, API keys: sealed bytes and metadata,
 * keyed by kind, plugin and name), registered plugins, token sets' refresh
 * state and leases, wrapped key material, one writer transaction at a time
 * (durable at commit), schema versions, and paging in (plugin, name) order.
 * It stores only ciphertext and metadata: it never sees a key or a
 * plaintext value, and links no crypto library.
 *
 * The SQLite engine (store*.c in this folder) implements it; what another
 * engine would have to provide is in docs/design.md ("The storage
 * contract"). Records of the three kinds share the record calls below,
 * selected by RecordKind. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "proto-limits.h"
#include "record.h"

typedef struct Store Store;

/* Open (creating if missing) the database at path and check its integrity.
 * -EUCLEAN: the file is not a database or fails PRAGMA quick_check.
 * -EACCES or -EROFS: the file cannot be written (SQLite would open it
 * read-only, and every write would fail). -EBUSY: another process holds
 * it. A file that cannot be opened gives the system's errno (-EACCES,
 * -EISDIR, -ENOSPC, ...), not -EIO. Shares the file with other
 * connections. Does not create or change the schema: see store_migrate(). */
int store_open(const char *path, Store **ret);
/* When store_open_checked() runs PRAGMA quick_check, which reads the
 * whole file (seconds at a million records). Without it a damaged page is
 * still found when it is read (-EUCLEAN then), and never gives a wrong
 * value: every record is authenticated by its envelope. */
typedef enum StoreCheck {
        STORE_CHECK_ALWAYS,
        /* Only when the last process did not close the file cleanly (its
         * -wal file is there and not empty), so a write cut short is
         * looked for before anything is served. */
        STORE_CHECK_AFTER_CRASH,
        STORE_CHECK_NEVER, /* the caller runs its own (credvaultd --check) */
} StoreCheck;
/* store_open() with the check chosen; *ret_checked (may be NULL): it ran. */
int store_open_checked(const char *path, StoreCheck check, bool *ret_checked, Store **ret);
void store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* The schema version this program writes. */
#define STORE_SCHEMA_VERSION 9

/* Schema version (PRAGMA user_version); 0 for a new database. */
int store_schema_version(Store *s);
/* Bring the schema up to the newest version. -EPROTO if the file is newer
 * than this program knows. */
int store_migrate(Store *s);

/* Keep the database to this process from now on, before any write: no
 * other connection can read or write it until store_close(). The file is
 * reopened with PRAGMA locking_mode=EXCLUSIVE set before WAL is first read,
 * so there is no -shm file and no file locking per read, and recently read
 * records are cached in memory (store-cache.c). -EBUSY if another process
 * has the file; after a failure the store can only be closed. For the
 * daemon, which is the database's only user while it runs. */
int store_lock_exclusive(Store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Commit returns only once the commit is
 * durable (synchronous=FULL). */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);

/* Group commit: one transaction that several writes share, each in a
 * savepoint (store_begin(), store_commit() and store_rollback() inside a
 * group make, release and undo the savepoint), made durable together by
 * one COMMIT and one fsync. -EBUSY if a transaction is open already. A
 * failed group commit is rolled back whole. */
int store_group_begin(Store *s);
int store_group_commit(Store *s);
bool store_in_group(const Store *s);
/* SQLite's message for the last failed call (a constraint, a trigger's
 * RAISE text, "database or disk is full"): names no value. Valid until
 * the next call on s. */
const char *store_error_message(Store *s);

/* Small named blobs (key-check value, dev-mode markers). -ENOENT if absent. */
int store_meta_get(Store *s, const char *key, uint8_t **ret, size_t *ret_size);
int store_meta_set(Store *s, const char *key, const uint8_t *value, size_t size);

/* Whether the database holds no record, plugin, index or audit row at
 * all (a keyring may be made for it: audit records without one were
 * chained under a key that is gone). *ret true if empty. */
int store_is_empty(Store *s, bool *ret);

/* KEKs wrapped by the root key. The callback sees each row that is not
 * retired in version order (a retired row has no key left to unwrap); a
 * negative return stops the walk and is returned. */
typedef int (*StoreKekFunc)(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size, void *userdata);
int store_kek_foreach(Store *s, StoreKekFunc f, void *userdata);
int store_kek_insert(Store *s, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size);

typedef enum KekState {
        KEK_STATE_PRIMARY,
        KEK_STATE_ACTIVE,
        KEK_STATE_RETIRED,
} KekState;

typedef struct StoredKek {
        int64_t version;
        KekState state;
        int64_t created_at; /* unix seconds */
} StoredKek;

/* "primary", "active", "retired". */
const char *store_kek_state_name(KekState state);
/* Every KEK row, retired ones too, in version order; malloc'd array. */
int store_kek_list(Store *s, StoredKek **ret, size_t *ret_n);
/* A rotation: the primary becomes active and a new row of this version
 * the primary. Call inside a transaction. */
int store_kek_rotate(Store *s, int64_t version, const uint8_t *wrapped, size_t wrapped_size);
/* An active KEK becomes retired and its wrapped bytes are replaced by
 * none (a zero-length blob; secure_delete zeroes the old cell). -ENOENT
 * if there is no active KEK of that version. Call inside a transaction;
 * see store_checkpoint() for the copy in the WAL. */
int store_kek_retire(Store *s, int64_t version);
/* Replace the wrapped bytes of a KEK that is not retired (a root key
 * rotation); its state and times stay. -ENOENT if there is no such row.
 * Call inside a transaction. */
int store_kek_set_wrapped(Store *s, int64_t version, const uint8_t *wrapped, size_t wrapped_size);
/* Records (secrets, token sets, API keys) whose DEK the KEK of this
 * version wraps. */
int store_kek_records(Store *s, int64_t version, int64_t *ret);
/* Records whose DEK is wrapped by any KEK but this one. */
int store_kek_records_not(Store *s, int64_t version, int64_t *ret);

/* A record named by kind, plugin and name (malloc'd strings). */
typedef struct StoredRecordRef {
        RecordKind kind;
        RecordStage stage; /* a secret's pending or previous version (store-stage.c); else current */
        char *plugin;
        char *name;
        int64_t revocation; /* > 0: a pending revocation's id (store-revocation.c), name its user */
} StoredRecordRef;

static inline void stored_record_refs_free(StoredRecordRef *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(r[i].plugin);
                free(r[i].name);
        }
        free(r);
}

/* Up to limit records of any kind whose kek_version is not this one (an
 * index on each table's kek_version finds them); malloc'd array, *ret_n
 * may be 0. */
int store_record_stale(Store *s, int64_t kek_version, unsigned limit, StoredRecordRef **ret, size_t *ret_n);
/* Replace a record's sealed bytes and kek_version only (a rewrap: the same
 * value under another KEK): its version, times and every other column
 * stay, and the cached copy is dropped. -ENOENT if there is no such
 * record at that version. */
int store_record_rewrap(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t version,
                        int64_t kek_version, const uint8_t *sealed, size_t sealed_size);

/* Whether commits wait for the disk (synchronous=FULL, the default) or
 * only reach the OS (NORMAL: survives a crash of the process, not of the
 * machine; the next durable commit makes them durable too, the WAL being
 * written in order). For work that is redone if lost (a rewrap's
 * batches), so that its fsyncs do not stall the requests between them.
 * Outside a transaction. */
int store_set_durable(Store *s, bool durable);

/* Copy the WAL into the database and truncate it to nothing, so that
 * bytes overwritten in the database (a retired KEK's) are not left in
 * older WAL frames. Outside a transaction. */
int store_checkpoint(Store *s);

/* One record. get: -ENOENT if absent. */
int store_record_get(Store *s, RecordKind kind, const char *plugin, const char *name, StoredRecord *ret);
/* Current version of a record, 0 if absent. */
int store_record_version(Store *s, RecordKind kind, const char *plugin, const char *name, int64_t *ret);
/* Insert or replace from rec's version, kek_version, sealed, updated_at and
 * expires_at. created_at is kept from an existing row (or set to updated_at)
 * and written back to rec->created_at. */
int store_record_put(Store *s, RecordKind kind, const char *plugin, const char *name, StoredRecord *rec);
/* -ENOENT if absent. */
int store_record_delete(Store *s, RecordKind kind, const char *plugin, const char *name);
/* Up to limit records in (plugin, name) order after the cursor (NULLs start
 * at the beginning); plugin NULL lists every plugin. Metadata only. */
int store_record_list(Store *s, RecordKind kind, const char *plugin, const char *after_plugin, const char *after_name,
                      unsigned limit, StoredRecord **ret, size_t *ret_n);
/* For the query-plan test: the SQL of the i-th listing statement the store
 * prepares (the record ones with their table name in), 0; -ENOENT past the
 * last, -ENOBUFS if it does not fit in buf. */
int store_list_sql(size_t i, char *buf, size_t size);
/* Number of records of a kind: one row read, whatever the number (the
 * count the writes keep, migration 8). */
int store_record_count(Store *s, RecordKind kind, int64_t *ret);

/* After store_migrate(): 0 if the file's schema (every table, index,
 * trigger and view, with its SQL) is exactly what the migrations make;
 * -EUCLEAN otherwise, problem naming the first object added, altered or
 * missing (store-schema.c). */
int store_schema_check(Store *s, char *problem, size_t problem_size);

/* ---- a secret's pending and previous versions (store-stage.c) ----
 *
 * The current version stays in the secret table (secret.get reads only
 * that); the others are rows of their own, one per stage. They count as
 * records for the KEK calls above (counts, stale batches, retirement),
 * and store_plugin_delete_all() removes them too. */

/* -ENOENT if there is none. ret->sealed is malloc'd. */
int store_stage_get(Store *s, const char *plugin, const char *name, RecordStage stage, StoredStage *ret);
/* Insert, or replace the row of the same stage, from st (sealed
 * included). stage is RECORD_STAGE_PENDING or RECORD_STAGE_PREVIOUS. */
int store_stage_put(Store *s, const char *plugin, const char *name, const StoredStage *st);
/* -ENOENT if there was none. */
int store_stage_delete(Store *s, const char *plugin, const char *name, RecordStage stage);
/* Every staged row of the secret; *ret_n (may be NULL) counts them. */
int store_stage_delete_all(Store *s, const char *plugin, const char *name, int64_t *ret_n);
/* The highest version over the secret's current and staged rows; 0 if
 * none. What a new version must be above. */
int store_secret_version_max(Store *s, const char *plugin, const char *name, int64_t *ret);
/* How many previous versions there are, and the earliest deadline among
 * them (0 if none). */
int store_stage_summary(Store *s, int64_t *ret_n_previous, int64_t *ret_next_deadline);
/* Up to limit previous versions whose deadline is <= now (stage
 * RECORD_STAGE_PREVIOUS, kind RECORD_SECRET); malloc'd array. */
int store_stage_expired(Store *s, int64_t now, unsigned limit, StoredRecordRef **ret, size_t *ret_n);
/* Replace a staged row's sealed bytes and kek_version (a rewrap), if it
 * is still of that version; -ENOENT otherwise. */
int store_stage_rewrap(Store *s, const char *plugin, const char *name, RecordStage stage, int64_t version,
                       int64_t kek_version, const uint8_t *sealed, size_t sealed_size);
/* Every staged row, without its sealed bytes, in (plugin, name, stage)
 * order; f < 0 stops the walk and is returned. f may not write. */
typedef int (*StoreStageFunc)(const char *plugin, const char *name, const StoredStage *st, void *userdata);
int store_stage_foreach(Store *s, StoreStageFunc f, void *userdata);

/* ---- plugins (store-plugin.c) ---- */

/* Rows carry a MAC (RecordMac in record.h) the vault computes over their
 * fields: the store keeps it beside the row as opaque bytes, returns it with
 * the row and never looks inside. */

/* -ENOENT if not registered. */
int store_plugin_get(Store *s, const char *name, StoredPlugin *ret);
/* Insert or replace by name, p->mac included (size 0: none); created_at is
 * kept from an existing row. */
int store_plugin_put(Store *s, const StoredPlugin *p);
int store_plugin_list(Store *s, const char *after, unsigned limit, StoredPlugin **ret, size_t *ret_n);
/* Replace only the MAC of a plugin row (the vault's upgrade of rows from
 * before MACs). -ENOENT if there is no such row. */
int store_plugin_mac_set(Store *s, const char *name, const RecordMac *mac);

/* Delete a plugin's registration and every secret, token set and API key
 * stored under its name. -ENOENT if there was none of these. Call inside a
 * transaction. */
int store_plugin_delete_all(Store *s, const char *name, PluginRemoved *ret);
/* Names of a plugin's secrets that start with prefix, in order (malloc'd
 * array of malloc'd strings). */
int store_secret_names(Store *s, const char *plugin, const char *prefix, char ***ret_names, size_t *ret_n);
/* Records of a kind under one plugin. */
int store_record_count_plugin(Store *s, RecordKind kind, const char *plugin, int64_t *ret);

/* ---- token sets: state and refresh leases (store-token.c) ---- */

/* -ENOENT if the user has no token set. ret->mac is the row's. */
int store_token_state_get(Store *s, const char *plugin, const char *user, TokenState *ret);
/* The state writers set the row's MAC to mac (NULL: none) with the state,
 * in the same statement. */
int store_token_lease_set(Store *s, const char *plugin, const char *user, const char *lease_id, int64_t until_ms,
                          int64_t version, const RecordMac *mac);
/* Valid again, no lease (after a put or a committed refresh). */
int store_token_reset(Store *s, const char *plugin, const char *user, const RecordMac *mac);
/* No lease; reauth_required as given. */
int store_token_release(Store *s, const char *plugin, const char *user, bool reauth_required, const RecordMac *mac);
/* Replace only the MAC (the vault's upgrade of rows from before MACs).
 * -ENOENT if there is no such row. */
int store_token_mac_set(Store *s, const char *plugin, const char *user, const RecordMac *mac);
/* Write what the last refresh of a set came to (the fields n->mask
 * names); no set: nothing is written, and 0. */
int store_token_refresh_note(Store *s, const char *plugin, const char *user, const TokenRefreshNote *n);
/* Every token set's state, of every plugin, in (plugin, user) order. The
 * callback must not write to the store; a negative return stops the walk
 * and is returned. */
typedef int (*StoreTokenFunc)(const char *plugin, const char *user, const TokenState *st, void *userdata);
int store_token_foreach(Store *s, StoreTokenFunc f, void *userdata);

/* Up to limit sets of a plugin after the cursor, in user order, each with
 * its whole state and MAC. */
int store_token_list(Store *s, const char *plugin, const char *after, unsigned limit, TokenInfo **ret, size_t *ret_n);

/* Counts for one plugin: expired (expires_at <= now), expiring (within
 * horizon seconds), reauth_required, refreshing (lease held at now_ms).
 * Over the columns as they are: a summary, no MAC is checked. */
int store_token_stats(Store *s, const char *plugin, int64_t now, int64_t horizon, int64_t now_ms, TokenStats *ret);

/* ---- API key lookup index (store-apikey.c) ---- */

#define APIKEY_LOOKUP_SIZE 32

/* Index a user's key by its keyed hash. -EEXIST if the hash belongs to
 * another user of the plugin. Call inside a transaction. */
int store_apikey_index_put(Store *s, const char *plugin, const char *user, const uint8_t lookup[static 32]);
/* The user whose key has this hash; -ENOENT if none. */
int store_apikey_index_find(Store *s, const char *plugin, const uint8_t lookup[static 32], char **ret_user);

/* ---- the audit trail (store-audit.c) ----
 *
 * Rows of AuditEntry (record.h) in seq order, and the anchor: the seq and
 * MAC of the last record a prune removed. The vault assigns each row's seq
 * and computes its MAC; the store keeps the MAC as opaque bytes and never
 * checks it. Appends and prunes run inside the caller's transaction. */

/* Append n entries as they stand (seq and mac included); "" unit, plugin
 * and object are stored as NULL. A constraint failure (a row of that seq
 * exists, or a trigger refuses the row) and an insert that adds no row
 * (a trigger's RAISE(IGNORE) drops it) are -EUCLEAN: the table is not as
 * the vault left it. For the second, SQLite has no message of its own:
 * *ret_reason (may be NULL) then gets static text saying so, else NULL
 * (store_error_message() says why). -ENOSPC, -EROFS, -EIO from storage.
 * Inside a transaction: on failure some may be written until the
 * rollback. */
int store_audit_append(Store *s, const AuditEntry *entries, size_t n, const char **ret_reason);

/* The chain's head: the last row's seq and MAC, else the anchor's, else
 * 0 and a MAC of size 0 (genesis). */
int store_audit_head(Store *s, int64_t *ret_seq, RecordMac *ret_mac);

/* The anchor: -ENOENT if there has been no prune that removed anything. */
int store_audit_anchor_get(Store *s, int64_t *ret_seq, RecordMac *ret_mac);

typedef int (*StoreAuditFunc)(const AuditEntry *e, void *userdata);

/* The newest record of op with result (the vault's last prune), read as
 * store_audit_foreach() would give it; -ENOENT if none. No index: it
 * reads back from the newest row until one matches. */
int store_audit_last(Store *s, const char *op, const char *result, AuditEntry *ret);

/* Remove the longest run of records from the first on whose time_usec is
 * before before_usec, but never the last record, and make the last one
 * removed the anchor (its MAC copied as the row held it). Only a prefix
 * is removed, so the records kept stay contiguous from the anchor even
 * where the clock went back. Before anything is removed, check (if not
 * NULL) is called for every row about to go, in seq order, as
 * store_audit_foreach() gives them; a negative return stops the prune,
 * which then removes nothing, and is returned. -EUCLEAN if the new
 * anchor is no row (rows removed behind the vault's back), found after
 * check saw the rows before it. *ret_through is the
 * anchor's seq afterwards (0 if there is none), *ret_removed the rows
 * removed. Inside a transaction. */
int store_audit_prune(Store *s, int64_t before_usec, StoreAuditFunc check, void *userdata, int64_t *ret_through,
                      int64_t *ret_removed);

/* The rows one store_audit_list() call reads at most, whatever the
 * filter: a few milliseconds of the daemon's one thread. */
#define AUDIT_LIST_SCAN_MAX 20000

/* Up to limit records matching f (NULL: all) with seq > after_seq, in seq
 * order; malloc'd array (free()), *ret_n may be 0. A filter string of ""
 * matches records without that field. At most AUDIT_LIST_SCAN_MAX rows
 * are read, so a page may hold fewer than limit records, or none, with
 * more to come: *ret_next (may be NULL) is then the seq to go on after
 * (the last record's if the page is full, else the end of the rows read),
 * always > after_seq; 0 when there is nothing more. */
int store_audit_list(Store *s, const AuditFilter *f, int64_t after_seq, unsigned limit, AuditEntry **ret, size_t *ret_n,
                     int64_t *ret_next);

/* Every record with seq <= through_seq (INT64_MAX: all) in seq order,
 * one row in memory at a time. A row whose fields do not fit an
 * AuditEntry (too long, an embedded NUL, an id out of range: written
 * behind the vault's back) is given with a MAC of size 0, so that it
 * cannot check. The callback must not write to the store; a negative
 * return stops the walk and is returned. */
int store_audit_foreach(Store *s, int64_t through_seq, StoreAuditFunc f, void *userdata);

/* ---- online backup (store-backup.c) ----
 *
 * A consistent copy of the database made while it is in use, in steps:
 * between two steps the store serves reads and writes as ever, and the
 * writes made meanwhile are in the copy too. The copy goes through a
 * temporary database beside the database (its name plus ".backup-tmp"),
 * then into a descriptor the caller owns; the temporary file is gone once
 * the pages are copied, or the backup freed. One at a time per store. */

typedef struct StoreBackup StoreBackup;

typedef struct StoreBackupInfo {
        int64_t pages;      /* the database's pages (so far, while copying them) */
        int64_t pages_done; /* copied into the temporary database */
        int64_t records;    /* sealed records in the copy (every table with a sealed column) */
        uint64_t bytes;     /* the copy's size, once the pages are all copied */
        uint64_t bytes_done;
        bool copying_file; /* the pages are copied; the file goes into the descriptor */
} StoreBackupInfo;

/* Start a copy of s into out_fd (a regular file open for writing, empty),
 * taken in every case: closed by store_backup_free() or on failure. A
 * temporary database left by an earlier backup is removed first. */
int store_backup_begin(Store *s, int out_fd, StoreBackup **ret);
/* One step: n_pages pages into the temporary database, or as many pages'
 * worth of bytes into the descriptor. 1 while more is to do, 0 once the
 * copy is complete and fdatasync'd, -errno (-ENOSPC, -EIO, -EFBIG, ...)
 * if it failed: only store_backup_free() is left to call. Outside a
 * transaction. */
int store_backup_step(StoreBackup *b, unsigned n_pages);
void store_backup_info(const StoreBackup *b, StoreBackupInfo *ret);
/* Stop (if not done) and clean up: the temporary files are removed and
 * the descriptor closed. Accepts NULL. */
void store_backup_free(StoreBackup *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreBackup *, store_backup_free);
/* At start, before the database is opened: remove the temporary files a
 * backup left when the process died. The number removed, or -errno. */
int store_backup_clean(const char *db_path);
/* Offline, on a database no one else has open (a restore, with the state
 * directory locked): move everything its WAL holds into the file itself
 * and truncate the WAL, so that the file alone is the whole database. 0,
 * -ENOENT if there is none, -EUCLEAN if it is not a database or damaged,
 * -EBUSY if the WAL could not be emptied, or another -errno. */
int store_checkpoint_file(const char *db_path);

/* ---- checking a copy (store-verify.c) ---- */

/* PRAGMA integrity_check, the whole of it: 0, or -EUCLEAN with SQLite's
 * first complaint in ret_problem. */
int store_integrity_check(Store *s, char *ret_problem, size_t problem_size);

/* One row of a table of sealed values: its plugin and name (user),
 * version, KEK and sealed bytes, valid during the call only. */
typedef int (*StoreSealedFunc)(const char *plugin, const char *name, const StoredRecord *rec, void *userdata);
/* Every record of a kind, in rowid order, one row in memory at a time.
 * The callback must not write; a negative return stops the walk. */
int store_record_foreach(Store *s, RecordKind kind, StoreSealedFunc f, void *userdata);
/* Tables with a "sealed" column besides the three record tables (newer
 * schemas' versions of records), malloc'd array of malloc'd names. */
int store_sealed_tables(Store *s, char ***ret_names, size_t *ret_n);
/* Every row of such a table as a record: its plugin, name, version and
 * sealed columns (kek_version if it has one, else 0). -EOPNOTSUPP if it
 * lacks one of the first four. */
int store_sealed_foreach(Store *s, const char *table, StoreSealedFunc f, void *userdata);

/* ---- token sets pending revocation (store-revocation.c) ----
 *
 * The token_revocation table (schema 9): a deleted token set's sealed
 * bytes, kept as the token row held them (so they open with the set's
 * own identity) until the refresher has revoked its tokens at the
 * provider (RFC 7009) or the vault gave up. */

/* Copy the token row of (plugin, user) into a new pending revocation, its
 * sealed bytes as they are; inside the caller's transaction, before the
 * row is deleted. -ENOENT if there is no such token set. */
int store_revocation_queue(Store *s, const char *plugin, const char *user, int64_t deleted_at, int64_t next_at,
                           int64_t *ret_id);
/* Up to limit of a plugin's pending revocations with id > after, in id
 * order, without sealed bytes; malloc'd array, *ret_n may be 0. */
int store_revocation_list(Store *s, const char *plugin, int64_t after, unsigned limit, StoredRevocation **ret,
                          size_t *ret_n);
/* One, with its sealed bytes. -ENOENT if there is none of that id for
 * that plugin. */
int store_revocation_get(Store *s, const char *plugin, int64_t id, StoredRevocation *ret);
/* Set attempts, next_at and last_error (NULL: none). -ENOENT. */
int store_revocation_retry(Store *s, int64_t id, int64_t attempts, int64_t next_at, const char *last_error);
/* -ENOENT if absent. */
int store_revocation_delete(Store *s, int64_t id);
/* Drop every pending revocation of a plugin; *ret_n (may be NULL) counts them. */
int store_revocation_delete_plugin(Store *s, const char *plugin, int64_t *ret_n);
/* Of the limit oldest pending revocations (any plugin, by id), those
 * deleted at or before deleted_before (unix s), without sealed bytes. */
int store_revocation_expired(Store *s, int64_t deleted_before, unsigned limit, StoredRevocation **ret, size_t *ret_n);
/* How many are pending, and the earliest next_at (0 if none). */
int store_revocation_summary(Store *s, int64_t *ret_pending, int64_t *ret_next_at);
/* A rewrap: sealed bytes and kek_version, if the row still holds that
 * version; -ENOENT otherwise. */
int store_revocation_rewrap(Store *s, int64_t id, int64_t version, int64_t kek_version, const uint8_t *sealed,
                            size_t sealed_size);
/* Up to limit rows beyond the caps, oldest first: the user's beyond its
 * newest per_user, the plugin's beyond its newest per_plugin. */
int store_revocation_excess(Store *s, const char *plugin, const char *user, unsigned per_user, unsigned per_plugin,
                            unsigned limit, StoredRevocation **ret, size_t *ret_n);
/* Every pending revocation as a record (name: its user, version: its
 * id, which its sealed identity is made of), in id order; for checking a
 * copy. The callback must not write. */
int store_revocation_foreach(Store *s, StoreSealedFunc f, void *userdata);
