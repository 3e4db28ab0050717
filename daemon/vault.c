/* vault.c — vault operations (see vault.h). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "envelope.h"
#include "vault.h"

int vault_put_locked(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                     size_t size, int64_t expires_at, StoredRecord *ret_meta) {
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredRecord rec = {};
        int64_t old_version;
        int r;

        r = store_record_version(v->store, kind, plugin, name, &old_version);
        if (r < 0)
                return r;
        RecordId id = { .kind = kind, .plugin = plugin, .name = name, .version = old_version + 1 };
        r = envelope_seal(v->keyring, &id, plaintext, size, &sealed, &rec.sealed_size, &rec.kek_version);
        if (r < 0)
                return r;
        rec.sealed = sealed;
        rec.version = id.version;
        rec.updated_at = time(NULL);
        rec.has_expires_at = expires_at >= 0;
        rec.expires_at = expires_at;
        r = store_record_put(v->store, kind, plugin, name, &rec);
        if (r < 0)
                return r;
        if (ret_meta) {
                rec.sealed = NULL;
                rec.sealed_size = 0;
                *ret_meta = rec;
        }
        return 0;
}

int vault_put(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext, size_t size,
              int64_t expires_at, StoredRecord *ret_meta) {
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = vault_put_locked(v, kind, plugin, name, plaintext, size, expires_at, ret_meta);
        if (r >= 0)
                r = store_commit(v->store);
        if (r < 0)
                store_rollback(v->store);
        return r;
}

int vault_get(Vault *v, RecordKind kind, const char *plugin, const char *name, SecretBuf **ret_value,
              StoredRecord *ret_meta) {
        StoredRecord rec = {};
        int r;

        r = store_record_get(v->store, kind, plugin, name, &rec);
        if (r < 0)
                return r;
        RecordId id = { .kind = kind, .plugin = plugin, .name = name, .version = rec.version };
        r = envelope_open(v->keyring, &id, rec.sealed, rec.sealed_size, ret_value);
        free(rec.sealed);
        rec.sealed = NULL;
        rec.sealed_size = 0;
        if (r < 0)
                return r;
        if (ret_meta)
                *ret_meta = rec;
        return 0;
}

int vault_delete(Vault *v, RecordKind kind, const char *plugin, const char *name) {
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_record_delete(v->store, kind, plugin, name);
        if (r >= 0)
                r = store_commit(v->store);
        if (r < 0)
                store_rollback(v->store);
        return r;
}
