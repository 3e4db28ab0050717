/* vault.c — opening a vault, and the record primitives (see vault.h and
 * vault-internal.h).
 *
 * Opening runs in an order that keeps a wrong key harmless: integrity
 * check, key check (reading only that value), migration, keyring, and last
 * the exclusive lock that lets the store cache records. The keyring is
 * made only for a database that holds nothing, and the metadata MACs of a
 * vault from before them are made once, on an upgrade only the operator
 * can ask for (see docs/design.md, "Metadata authentication"). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault-internal.h"

#define META_KEY_CHECK "key_check"
#define META_INDEX_KEY "index_key"
#define META_MAC_KEY "mac_key"

/* The first schema whose plugin and token rows carry MACs. */
#define MAC_SCHEMA_VERSION 4

/* Every write transaction ends here, so every write carries the audit
 * records gathered before it, and its own, in its commit. */
int vault_end(Vault *v, int r) {
        return vault_audit_commit(v, r, true);
}

/* What the key check found, before the schema was touched. */
typedef struct KeyCheck {
        int schema;         /* user_version before migrating; 0 for a new file */
        bool stored;        /* a key-check value was there */
        KeyCheckMatch kind; /* and whose it is, when stored */
        bool previous;      /* wrong, but the key a root key rotation replaced */
        int64_t rotated_at; /* and when */
} KeyCheck;

/* A wrong key that is the one the last root key rotation replaced: the
 * operator is to be told to supply the new one, not that the key is
 * wrong. Only a hint: it changes nothing that is refused. */
static void previous_key_check(Store *store, const Keyring *k, KeyCheck *kc) {
        _cleanup_(freep) uint8_t *prev = NULL, *when = NULL;
        size_t prev_size = 0, when_size = 0;
        char buf[32];

        if (store_meta_get(store, VAULT_META_PREVIOUS_KEY_CHECK, &prev, &prev_size) < 0)
                return;
        kc->previous = keyring_root_matches(k, prev, prev_size) == KEY_CHECK_CURRENT;
        if (kc->previous && store_meta_get(store, VAULT_META_ROOT_ROTATED_AT, &when, &when_size) >= 0 &&
            when_size < sizeof(buf)) {
                memcpy(buf, when, when_size);
                buf[when_size] = '\0';
                kc->rotated_at = strtoll(buf, NULL, 10);
        }
}

/* Before the schema is touched: the root key must be the one the database
 * was made with. A new database has nothing to check against. */
static int root_key_check(Store *store, const Keyring *k, KeyCheck *ret) {
        _cleanup_(freep) uint8_t *have = NULL;
        size_t have_size = 0;

        *ret = (KeyCheck) {};
        int r = store_schema_version(store);
        if (r <= 0)
                return r;
        ret->schema = r;
        r = store_meta_get(store, META_KEY_CHECK, &have, &have_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        ret->stored = true;
        ret->kind = keyring_root_matches(k, have, have_size);
        if (ret->kind != KEY_CHECK_WRONG)
                return 0;
        previous_key_check(store, k, ret);
        return -EKEYREJECTED;
}

/* Whether the file looks like a vault from before MACs, whose rows the
 * upgrade would MAC as they stand. Anyone who can write the file can make
 * it look so (an old key-check value from a backup, the MAC key and the
 * MAC columns dropped, user_version 3): what it says decides only whether
 * to ask, never whether to trust. */
static bool metadata_upgrade_needed(const KeyCheck *kc) {
        return kc->stored && kc->kind == KEY_CHECK_V1 && kc->schema < MAC_SCHEMA_VERSION;
}

static int kek_row(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size, void *userdata) {
        return keyring_kek_unwrap(userdata, version, primary, wrapped, wrapped_size);
}

/* A new database: its key-check value, KEK 1 and the MAC key, in one
 * transaction. Only for a database that holds nothing: records without a
 * keyring mean its rows were removed, and a new keyring would take any
 * root key offered and leave every record unreadable. */
static int keyring_init(Store *store, Keyring *k) {
        uint8_t wrapped[KEK_WRAPPED_SIZE], mac_wrapped[KEK_WRAPPED_SIZE], check[KEY_CHECK_SIZE];
        _cleanup_(freep) uint8_t *old = NULL;
        size_t old_size;
        bool empty = false;

        /* KEKs gone but a key check present: rows were removed. */
        if (store_meta_get(store, META_KEY_CHECK, &old, &old_size) != -ENOENT)
                return -EUCLEAN;
        int r = store_is_empty(store, &empty);
        if (r < 0)
                return r;
        if (!empty)
                return -EUCLEAN;
        r = keyring_kek_create(k, 1, wrapped);
        if (r >= 0)
                r = keyring_mac_key_create(k, mac_wrapped);
        if (r < 0)
                return r;
        keyring_root_check(k, check);
        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_meta_set(store, META_KEY_CHECK, check, sizeof(check));
        if (r >= 0)
                r = store_kek_insert(store, 1, true, wrapped, sizeof(wrapped));
        if (r >= 0)
                r = store_meta_set(store, META_MAC_KEY, mac_wrapped, sizeof(mac_wrapped));
        if (r >= 0)
                r = store_commit(store);
        if (r < 0)
                store_rollback(store);
        return r;
}

/* Unwrap the index key, creating it on first use (new databases, and ones
 * from before API keys). */
static int index_key_load(Store *store, Keyring *k) {
        uint8_t wrapped[KEK_WRAPPED_SIZE];
        _cleanup_(freep) uint8_t *stored = NULL;
        size_t stored_size = 0;

        int r = store_meta_get(store, META_INDEX_KEY, &stored, &stored_size);
        if (r >= 0)
                return keyring_index_key_unwrap(k, stored, stored_size);
        if (r != -ENOENT)
                return r;
        r = keyring_index_key_create(k, wrapped);
        if (r < 0)
                return r;
        return store_meta_set(store, META_INDEX_KEY, wrapped, sizeof(wrapped));
}

/* Unwrap the MAC key (a vault made just now has it already), writing
 * nothing; *ret_upgrade if this is a vault from before MACs, whose rows
 * are to be MAC'd as they stand. That is so only when its key-check value
 * is the old one and its schema is older than MACs, and only when the
 * operator vouched for the file (trusted): the old key-check value is in
 * every backup from before the upgrade, so a database writer could put it
 * back with the rows they want MAC'd. Without the MAC key and the old
 * value, a file is refused whatever the operator says. */
static int mac_key_load(Store *store, Keyring *k, const KeyCheck *kc, bool trusted, bool *ret_upgrade) {
        _cleanup_(freep) uint8_t *stored = NULL;
        size_t stored_size = 0;

        *ret_upgrade = false;
        if (keyring_has_mac_key(k))
                return 0;
        bool before_macs = kc->stored && kc->kind == KEY_CHECK_V1;
        /* An old key-check value in a newer schema was put back. */
        if (before_macs && kc->schema >= MAC_SCHEMA_VERSION)
                return -EUCLEAN;
        int r = store_meta_get(store, META_MAC_KEY, &stored, &stored_size);
        if (r >= 0)
                return before_macs ? -EUCLEAN : keyring_mac_key_unwrap(k, stored, stored_size);
        if (r != -ENOENT)
                return r;
        if (!before_macs)
                return -EUCLEAN;
        if (!trusted)
                return -EPERM;
        *ret_upgrade = true;
        return 0;
}

/* A vault from before MACs: a MAC key, every plugin row and token state
 * MAC'd as it stands (trust on upgrade), and the current key-check value,
 * which says from now on that every row has a MAC; one transaction. */
static int mac_upgrade(Store *store, Keyring *k, VaultOpenResult *res) {
        uint8_t wrapped[KEK_WRAPPED_SIZE], check[KEY_CHECK_SIZE];

        int r = keyring_mac_key_create(k, wrapped);
        if (r < 0)
                return r;
        keyring_root_check(k, check);
        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_meta_set(store, META_MAC_KEY, wrapped, sizeof(wrapped));
        if (r >= 0)
                r = vault_mac_backfill(store, k, &res->plugins_trusted, &res->tokens_trusted);
        if (r >= 0)
                r = store_meta_set(store, META_KEY_CHECK, check, sizeof(check));
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                store_rollback(store);
                res->plugins_trusted = res->tokens_trusted = 0;
                return r;
        }
        res->upgraded = true;
        return 0;
}

static int keyring_load(Store *store, Keyring *k, const KeyCheck *kc, bool trusted, VaultOpenResult *res) {
        bool upgrade = false;

        int r = store_kek_foreach(store, kek_row, k);
        if (r < 0)
                return r;
        if (keyring_size(k) == 0) {
                r = keyring_init(store, k);
                if (r < 0)
                        return r;
                res->created = true;
        }
        /* Refuse a keyring without a primary, or without its MAC key,
         * before writing anything, so a damaged one is left as it was
         * found. */
        if (!keyring_has_primary(k))
                return -EUCLEAN;
        r = mac_key_load(store, k, kc, trusted, &upgrade);
        if (r < 0)
                return r;
        r = index_key_load(store, k);
        if (r < 0)
                return r;
        if (upgrade) {
                r = mac_upgrade(store, k, res);
                if (r < 0)
                        return r;
        }
        return keyring_complete(k);
}

int vault_open(const char *db_path, uint8_t *root_key, VaultOpenFlags flags, Vault **ret, VaultOpenResult *ret_result) {
        _cleanup_(vault_freep) Vault *v = NULL;
        VaultOpenResult res = { .step = VAULT_OPEN_DATABASE };
        bool trusted = flags & VAULT_OPEN_TRUST_METADATA_UPGRADE;
        KeyCheck kc = {};
        int r;

        v = calloc(1, sizeof(Vault));
        if (!v) {
                sodium_free(root_key);
                return -ENOMEM;
        }
        r = keyring_new(root_key, &v->keyring);
        if (r >= 0)
                r = store_open_checked(
                        db_path, flags & VAULT_OPEN_CHECK_AFTER_CRASH ? STORE_CHECK_AFTER_CRASH : STORE_CHECK_ALWAYS,
                        &res.integrity_checked, &v->store);
        if (r >= 0) {
                res.step = VAULT_OPEN_KEY_CHECK;
                r = root_key_check(v->store, v->keyring, &kc);
        }
        /* Before the schema is touched, so that a refused file is left as
         * it was found. */
        if (r >= 0) {
                res.step = VAULT_OPEN_UPGRADE;
                if (metadata_upgrade_needed(&kc) && !trusted)
                        r = -EPERM;
        }
        if (r >= 0) {
                res.step = VAULT_OPEN_MIGRATE;
                r = store_migrate(v->store);
        }
        /* Before anything is read through it: a trigger or view the
         * migrations did not make would run with the daemon's writes. */
        if (r >= 0) {
                res.step = VAULT_OPEN_SCHEMA;
                r = store_schema_check(v->store, res.problem, sizeof(res.problem));
        }
        if (r >= 0) {
                res.step = VAULT_OPEN_KEYRING;
                r = keyring_load(v->store, v->keyring, &kc, trusted, &res);
        }
        /* A keyring made just now is a new vault, whatever schema the
         * emptied file had. */
        if (r >= 0) {
                res.step = VAULT_OPEN_META;
                r = vault_meta_mac_open(v->store, v->keyring, res.created ? 0 : kc.schema);
        }
        if (r >= 0) {
                res.step = VAULT_OPEN_LOCK;
                r = store_lock_exclusive(v->store);
        }
        /* Again once the file is locked (taking the lock reopens it):
         * what was checked is what is served. */
        if (r >= 0) {
                r = store_schema_check(v->store, res.problem, sizeof(res.problem));
                if (r < 0)
                        res.step = VAULT_OPEN_SCHEMA;
        }
        /* Once the file is this process's alone: nobody else appends, so
         * the head read now stays the head. */
        if (r >= 0)
                r = vault_audit_load(v);
        if (r >= 0)
                r = vault_key_load(v);
        if (r >= 0)
                r = vault_stage_refresh(v);
        res.previous_key = kc.previous;
        res.rotated_at = kc.rotated_at;
        if (ret_result)
                *ret_result = res;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

void vault_free(Vault *v) {
        if (!v)
                return;
        vault_audit_free(v);
        vault_key_free(v);
        store_close(v->store);
        keyring_free(v->keyring);
        free(v);
}

int vault_stats(Vault *v, VaultStats *ret) {
        VaultStats s = {
                .kek_primary = keyring_primary(v->keyring)->version,
                .n_keks = (int64_t) keyring_size(v->keyring),
        };
        int r = store_record_count(v->store, RECORD_SECRET, &s.secrets);
        if (r >= 0)
                r = store_record_count(v->store, RECORD_TOKEN, &s.tokens);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int vault_record_put_locked(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                            size_t size, int64_t expires_at, StoredRecord *ret_meta) {
        _cleanup_(freep) uint8_t *sealed = NULL;
        StoredRecord rec = {};
        int64_t old_version;
        int r;

        /* A secret's new version is above its pending and previous ones
         * too: two blobs of one identity must never exist. */
        if (kind == RECORD_SECRET)
                r = store_secret_version_max(v->store, plugin, name, &old_version);
        else
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

int vault_record_put(Vault *v, RecordKind kind, const char *plugin, const char *name, const uint8_t *plaintext,
                     size_t size, int64_t expires_at, StoredRecord *ret_meta) {
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        return vault_end(v, vault_record_put_locked(v, kind, plugin, name, plaintext, size, expires_at, ret_meta));
}

int vault_record_get(Vault *v, RecordKind kind, const char *plugin, const char *name, SecretBuf **ret_value,
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

int vault_record_delete(Vault *v, RecordKind kind, const char *plugin, const char *name) {
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        return vault_end(v, store_record_delete(v->store, kind, plugin, name));
}

int vault_record_list(Vault *v, RecordKind kind, const char *plugin, const char *after_plugin, const char *after_name,
                      unsigned limit, StoredRecord **ret, size_t *ret_n) {
        return store_record_list(v->store, kind, plugin, after_plugin, after_name, limit, ret, ret_n);
}
