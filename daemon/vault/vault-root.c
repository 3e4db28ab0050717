/* vault-root.c — root key rotation and the recovery key (see vault.h).
 *
 * Owns: rewrapping the keyring under a new root key (every KEK that is not
 * retired, the index key and the MAC key) in one transaction with the new
 * key-check value, the old one (so that a start with the old key is told
 * what happened), the time, and the root key sealed again to the recovery
 * key; the development key's replacement file; making a recovery key and
 * opening a vault's root key with one. Never: re-encrypts a value (the
 * DEKs stay under their KEKs, which do not change), or keeps a recovery
 * key: the vault holds its public half only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recovery.h"
#include "rootkey.h"
#include "vault-internal.h"

#define META_KEY_CHECK "key_check"
#define META_INDEX_KEY "index_key"
#define META_MAC_KEY "mac_key"
#define META_RECOVERY_PUBLIC VAULT_META_RECOVERY_PUBLIC
#define META_RECOVERY_ROOT VAULT_META_RECOVERY_ROOT

static int meta_set_int(Store *s, const char *key, int64_t v) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
        return store_meta_set(s, key, (const uint8_t *) buf, (size_t) n);
}

/* Inside the caller's transaction: every key of the ring wrapped under
 * root_key, and the rows that name the root key. */
static int keyring_rows_store(Vault *v, const uint8_t *root_key, int64_t now) {
        uint8_t wrapped[KEK_WRAPPED_SIZE], check[KEY_CHECK_SIZE], old_check[KEY_CHECK_SIZE];
        uint8_t sealed[RECOVERY_SEALED_SIZE];
        _cleanup_(freep) StoredKek *keks = NULL;
        _cleanup_(freep) uint8_t *public_key = NULL;
        size_t n = 0, public_size = 0;

        int r = store_kek_list(v->store, &keks, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (keks[i].state == KEK_STATE_RETIRED)
                        continue;
                /* A row the ring does not hold would stay under the old
                 * root key and be lost with it. */
                r = keyring_kek_wrap(v->keyring, root_key, keks[i].version, wrapped);
                if (r == -ENOENT)
                        r = -EUCLEAN;
                if (r >= 0)
                        r = store_kek_set_wrapped(v->store, keks[i].version, wrapped, sizeof(wrapped));
        }
        if (r >= 0)
                r = keyring_index_key_wrap(v->keyring, root_key, wrapped);
        if (r >= 0)
                r = store_meta_set(v->store, META_INDEX_KEY, wrapped, sizeof(wrapped));
        if (r >= 0 && keyring_has_mac_key(v->keyring)) {
                r = keyring_mac_key_wrap(v->keyring, root_key, wrapped);
                if (r >= 0)
                        r = store_meta_set(v->store, META_MAC_KEY, wrapped, sizeof(wrapped));
        }
        if (r < 0)
                return r;
        keyring_root_check(v->keyring, old_check);
        keyring_key_check(root_key, check);
        r = store_meta_set(v->store, META_KEY_CHECK, check, sizeof(check));
        if (r >= 0)
                r = store_meta_set(v->store, VAULT_META_PREVIOUS_KEY_CHECK, old_check, sizeof(old_check));
        if (r >= 0)
                r = meta_set_int(v->store, VAULT_META_ROOT_ROTATED_AT, now);
        if (r < 0)
                return r;
        /* The recovery key keeps opening the vault: the new root key is
         * sealed to its public half, which needs no recovery key. */
        r = store_meta_get(v->store, META_RECOVERY_PUBLIC, &public_key, &public_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (public_size != RECOVERY_PUBLIC_SIZE)
                return -EUCLEAN;
        r = recovery_seal(public_key, root_key, sealed);
        if (r < 0)
                return r;
        return store_meta_set(v->store, META_RECOVERY_ROOT, sealed, sizeof(sealed));
}

/* keyring_rows_store() between the checks of the rows it trusts
 * (recovery_public above all: the new key is sealed to it) and the MAC
 * over the ones it wrote (vault-meta-mac.c). */
static int keyring_store_under(Vault *v, const uint8_t *root_key, int64_t now) {
        int r = vault_meta_mac_check(v->store, v->keyring);
        if (r >= 0)
                r = keyring_rows_store(v, root_key, now);
        if (r >= 0)
                r = vault_meta_mac_update(v->store, v->keyring);
        return r;
}

int vault_root_rotate_to(Vault *v, uint8_t *root_key, int64_t *ret_rotated_at) {
        int64_t now = time(NULL);

        if (keyring_root_is(v->keyring, root_key)) {
                rootkey_free(root_key);
                return -EEXIST;
        }
        int r = store_begin(v->store);
        if (r >= 0)
                r = vault_end(v, keyring_store_under(v, root_key, now));
        if (r < 0) {
                rootkey_free(root_key);
                return r;
        }
        keyring_root_replace(v->keyring, root_key);
        if (ret_rotated_at)
                *ret_rotated_at = now;
        return 0;
}

int vault_root_rotate(Vault *v, const uint8_t *key_file, size_t size, int64_t *ret_rotated_at) {
        uint8_t *root_key = NULL;
        int r = rootkey_parse(key_file, size, &root_key);
        if (r < 0)
                return r;
        return vault_root_rotate_to(v, root_key, ret_rotated_at);
}

/* Before a new rotation: what an earlier one left in new_path. If it is
 * the key in force (that rotation committed but its rename failed) the
 * rename is done now, and -errno (with *ret_install_error) if it fails
 * again: deleting the file would lose the only copy of the key in force.
 * Anything else there is a leftover of a rotation that never committed. */
static int dev_key_pending_finish(Vault *v, const char *new_path, const char *dev_key_path, int *ret_install_error) {
        uint8_t *pending = NULL;

        int r = rootkey_read_nofollow(new_path, &pending);
        if (r == -ENOENT)
                return 0;
        if (r >= 0) {
                bool in_force = keyring_root_is(v->keyring, pending);
                rootkey_free(pending);
                if (in_force) {
                        r = rootkey_install(new_path, dev_key_path);
                        if (r < 0)
                                *ret_install_error = r;
                        return r;
                }
        } else if (r != -EBADMSG)
                /* Unreadable (a symbolic link, a mode or owner changed
                 * by hand, out of descriptors): it may be the key in
                 * force, so it stays, and so does the old key. */
                return r;
        if (unlink(new_path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int vault_root_rotate_dev(Vault *v, const char *dev_key_path, int64_t *ret_rotated_at, int *ret_install_error) {
        char new_path[PATH_MAX];
        uint8_t *root_key = NULL;

        *ret_install_error = 0;
        if (snprintf(new_path, sizeof(new_path), "%s" VAULT_DEV_KEY_NEW_SUFFIX, dev_key_path) >= (int) sizeof(new_path))
                return -ENAMETOOLONG;
        int r = dev_key_pending_finish(v, new_path, dev_key_path, ret_install_error);
        if (r < 0)
                return r;
        /* On disk (file and name) before the commit, so that a crash
         * between the two leaves the new key where the next start finds
         * it. */
        r = rootkey_generate(new_path);
        if (r < 0)
                return r;
        r = rootkey_read_nofollow(new_path, &root_key);
        if (r >= 0)
                r = vault_root_rotate_to(v, TAKE_PTR(root_key), ret_rotated_at);
        /* Not removed on failure: a COMMIT that reported an error may
         * still be on disk (the WAL's commit frame written before a
         * failed sync), and then .new holds the only key that opens the
         * vault. The next rotation and the next start tell which it is
         * (dev_key_pending_finish(), dev_key_resume()) and remove it only
         * if it is not the key in force. */
        if (r < 0)
                return r;
        /* Committed: from here the new key is the vault's, whether or not
         * the rename is done now. If it is not, the rotation stands (the
         * old key opens nothing any more) and the new key stays in the
         * .new file, where the next rotation or start installs it. */
        *ret_install_error = rootkey_install(new_path, dev_key_path);
        return 0;
}

int vault_recovery_create(Vault *v, bool replace, SecretBuf **ret_text) {
        uint8_t public_key[RECOVERY_PUBLIC_SIZE], sealed[RECOVERY_SEALED_SIZE];
        _cleanup_(freep) uint8_t *old = NULL;
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        uint8_t *seed = NULL;
        size_t old_size = 0;

        /* "There is one already" only if the vault put it there. */
        int r = vault_meta_mac_check(v->store, v->keyring);
        if (r >= 0)
                r = store_meta_get(v->store, META_RECOVERY_PUBLIC, &old, &old_size);
        if (r >= 0 && !replace)
                return -EEXIST;
        if (r < 0 && r != -ENOENT)
                return r;
        r = recovery_seed_new(&seed);
        if (r < 0)
                return r;
        r = recovery_public(seed, public_key);
        if (r >= 0)
                r = recovery_seal(public_key, keyring_root(v->keyring), sealed);
        if (r >= 0)
                r = recovery_text_format(seed, &text);
        sodium_free(seed);
        if (r < 0)
                return r;
        r = store_begin(v->store);
        if (r < 0)
                return r;
        r = store_meta_set(v->store, META_RECOVERY_PUBLIC, public_key, sizeof(public_key));
        if (r >= 0)
                r = store_meta_set(v->store, META_RECOVERY_ROOT, sealed, sizeof(sealed));
        if (r >= 0)
                r = vault_meta_mac_update(v->store, v->keyring);
        r = vault_end(v, r);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        return 0;
}

int vault_recovery_unseal(const char *db_path, const char *text, size_t size, uint8_t **ret_root_key) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(freep) uint8_t *public_key = NULL, *sealed = NULL;
        size_t public_size = 0, sealed_size = 0;
        uint8_t *seed = NULL;

        int r = recovery_text_parse(text, size, &seed);
        if (r < 0)
                return r;
        r = store_open(db_path, &s);
        if (r >= 0)
                r = store_meta_get(s, META_RECOVERY_PUBLIC, &public_key, &public_size);
        if (r >= 0)
                r = store_meta_get(s, META_RECOVERY_ROOT, &sealed, &sealed_size);
        if (r >= 0)
                r = recovery_unseal(seed, public_key, public_size, sealed, sealed_size, ret_root_key);
        sodium_free(seed);
        return r;
}
