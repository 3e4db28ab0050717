/* vault-internal.h — what the vault's files share; nothing outside the
 * vault includes it.
 *
 * Owns: the Vault structure and the record primitives every kind of value
 * goes through: seal and store, read and open, delete. */
#pragma once

#include "envelope.h"
#include "keyring.h"
#include "store.h"
#include "vault.h"

struct Vault {
        Store *store;
        Keyring *keyring;
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
 * the end of a transaction begun with store_begin(). */
int vault_end(Vault *v, int r);
