/* store.h — SQLite storage: the only module that speaks SQL.
 *
 * Owns: the database file, its schema and migrations, durability settings,
 * transactions and every prepared statement. It stores only ciphertext and
 * metadata: it never sees a key or a plaintext value.
 *
 * Records: a secret is (plugin, name), a user token set is (plugin, user id);
 * both are one sealed blob plus metadata, so they share the record calls
 * below, selected by RecordKind. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "record.h"

typedef struct Store Store;

typedef struct StoredRecord {
        char *plugin;          /* list results only */
        char *name;            /* list results only: secret name or user id */
        int64_t version;
        int64_t kek_version;
        int64_t created_at;    /* unix seconds */
        int64_t updated_at;
        bool has_expires_at;
        int64_t expires_at;
        uint8_t *sealed;       /* get results only */
        size_t sealed_size;
} StoredRecord;

void stored_record_done(StoredRecord *r);

/* Open (creating if missing) the database at path and check its integrity.
 * -EUCLEAN: the file is not a database or fails PRAGMA quick_check.
 * Does not create or change the schema: see store_migrate(). */
int store_open(const char *path, Store **ret);
void store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* Schema version (PRAGMA user_version); 0 for a new database. */
int store_schema_version(Store *s);
/* Bring the schema up to the newest version. -EPROTO if the file is newer
 * than this program knows. */
int store_migrate(Store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Commit returns only once the commit is
 * durable (synchronous=FULL). */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);

/* Small named blobs (key-check value, dev-mode markers). -ENOENT if absent. */
int store_meta_get(Store *s, const char *key, uint8_t **ret, size_t *ret_size);
int store_meta_set(Store *s, const char *key, const uint8_t *value, size_t size);

/* KEKs wrapped by the root key. The callback sees each row in version order;
 * a negative return stops the walk and is returned. */
typedef int (*StoreKekFunc)(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size,
                            void *userdata);
int store_kek_foreach(Store *s, StoreKekFunc f, void *userdata);
int store_kek_insert(Store *s, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size);

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
int store_record_list(Store *s, RecordKind kind, const char *plugin, const char *after_plugin,
                      const char *after_name, unsigned limit, StoredRecord **ret, size_t *ret_n);
void stored_records_free(StoredRecord *r, size_t n);
/* Number of records of a kind. */
int store_record_count(Store *s, RecordKind kind, int64_t *ret);
