/* vault.h — vault operations: the only place plaintext meets storage.
 *
 * Owns: turning (kind, plugin, name, plaintext) into a sealed, versioned,
 * durably committed record and back. Each write is one transaction that is
 * durable before the call returns. Never: parses requests or formats
 * answers; never logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keyring.h"
#include "secret-buf.h"
#include "store.h"

typedef struct Vault {
        Store *store;
        Keyring *keyring;
} Vault;

/* Store a new version of a record. ret_meta (optional) gets its metadata.
 * expires_at < 0 means none. */
int vault_put(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext, size_t size,
              int64_t expires_at, StoredRecord *ret_meta);

/* The same inside a transaction the caller holds (store_begin), for
 * writes that change more than one row. */
int vault_put_locked(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                     size_t size, int64_t expires_at, StoredRecord *ret_meta);

/* Open the current version. -ENOENT if absent, -EUCLEAN if the stored
 * record fails authentication. ret_meta (optional) gets metadata only. */
int vault_get(Vault *v, RecordKind kind, const char *plugin, const char *name, SecretBuf **ret_value,
              StoredRecord *ret_meta);

/* -ENOENT if absent. Durable before it returns. */
int vault_delete(Vault *v, RecordKind kind, const char *plugin, const char *name);
