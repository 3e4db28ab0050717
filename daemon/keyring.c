/* keyring.c — root key check and KEK ring (see keyring.h).
 *
 * The key-check value is a keyed BLAKE2b of a fixed label under the root key:
 * it tells a wrong key from a right one without decrypting anything, and
 * reveals nothing about the key. KEKs are wrapped with XChaCha20-Poly1305
 * under the root key, with the KEK's version as associated data so a wrapped
 * KEK cannot pose as another version. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "rootkey.h"

#define KEY_CHECK_LABEL "credvault key-check v1"
#define KEK_AD_LABEL "credvault kek v1"
/* The index key is wrapped like a KEK, under its own label. */
#define INDEX_KEY_AD_LABEL "credvault idx v1"
#define INDEX_KEY_META "index_key"
#define KEK_WRAPPED_SIZE                                                                                               \
        (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES)

struct Keyring {
        uint8_t *root; /* sodium_malloc, ROOT_KEY_SIZE */
        Kek *keks;     /* sorted by version */
        size_t n_keks;
        size_t primary; /* index into keks */
        bool has_primary;
        uint8_t *dek_scratch;
        uint8_t *index_key;
        uint8_t *compare_key;
};

void keyring_key_check(const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]) {
        crypto_generichash(ret, KEY_CHECK_SIZE, (const uint8_t *) KEY_CHECK_LABEL, strlen(KEY_CHECK_LABEL), root_key,
                           ROOT_KEY_SIZE);
}

_Static_assert(sizeof(KEK_AD_LABEL) == sizeof(INDEX_KEY_AD_LABEL), "labels of one size");

static void key_ad(const char *label, int64_t version, uint8_t ad[static sizeof(KEK_AD_LABEL) + 8]) {
        memcpy(ad, label, sizeof(KEK_AD_LABEL));
        for (int i = 0; i < 8; i++)
                ad[sizeof(KEK_AD_LABEL) + i] = (uint8_t) ((uint64_t) version >> (56 - 8 * i));
}

int keyring_verify_root(Store *store, const uint8_t *root_key) {
        uint8_t want[KEY_CHECK_SIZE];
        _cleanup_(freep) uint8_t *have = NULL;
        size_t have_size = 0;
        int r;

        r = store_schema_version(store);
        if (r <= 0)
                return r; /* a new database has nothing to check against */
        r = store_meta_get(store, "key_check", &have, &have_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        keyring_key_check(root_key, want);
        r = have_size == KEY_CHECK_SIZE && sodium_memcmp(want, have, KEY_CHECK_SIZE) == 0 ? 0 : -EKEYREJECTED;
        sodium_memzero(want, sizeof(want));
        return r;
}

void keyring_free(Keyring *k) {
        if (!k)
                return;
        for (size_t i = 0; i < k->n_keks; i++)
                sodium_free((void *) k->keks[i].key);
        free(k->keks);
        sodium_free(k->root);
        sodium_free(k->dek_scratch);
        sodium_free(k->index_key);
        sodium_free(k->compare_key);
        free(k);
}

static int keyring_add(Keyring *k, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size) {
        uint8_t ad[sizeof(KEK_AD_LABEL) + 8];
        uint8_t *key;

        if (wrapped_size != KEK_WRAPPED_SIZE)
                return -EUCLEAN;
        key = sodium_malloc(KEK_SIZE);
        if (!key)
                return -ENOMEM;
        key_ad(KEK_AD_LABEL, version, ad);
        const uint8_t *nonce = wrapped, *ct = wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL, ct,
                                                       KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES, ad,
                                                       sizeof(ad), nonce, k->root) != 0) {
                sodium_free(key);
                return -EUCLEAN;
        }
        sodium_mprotect_readonly(key);

        Kek *keks = realloc(k->keks, (k->n_keks + 1) * sizeof(Kek));
        if (!keks) {
                sodium_free(key);
                return -ENOMEM;
        }
        k->keks = keks;
        k->keks[k->n_keks] = (Kek) { .version = version, .key = key };
        if (primary) {
                k->primary = k->n_keks;
                k->has_primary = true;
        }
        k->n_keks++;
        return 0;
}

static int kek_row(int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size, void *userdata) {
        return keyring_add(userdata, version, primary, wrapped, wrapped_size);
}

/* A new database: key-check value and KEK 1, in one transaction. */
static int keyring_init(Keyring *k, Store *store) {
        uint8_t wrapped[KEK_WRAPPED_SIZE], check[KEY_CHECK_SIZE], ad[sizeof(KEK_AD_LABEL) + 8];
        uint8_t *kek = sodium_malloc(KEK_SIZE);
        int r;

        if (!kek)
                return -ENOMEM;
        crypto_aead_xchacha20poly1305_ietf_keygen(kek);
        randombytes_buf(wrapped, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        key_ad(KEK_AD_LABEL, 1, ad);
        crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, kek,
                                                   KEK_SIZE, ad, sizeof(ad), NULL, wrapped, k->root);
        sodium_free(kek);
        keyring_key_check(k->root, check);

        r = store_begin(store);
        if (r < 0)
                return r;
        r = store_meta_set(store, "key_check", check, sizeof(check));
        if (r >= 0)
                r = store_kek_insert(store, 1, true, wrapped, sizeof(wrapped));
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                store_rollback(store);
                return r;
        }
        return keyring_add(k, 1, true, wrapped, sizeof(wrapped));
}

/* Unwrap the index key, creating it on first use (new databases, and ones
 * from before API keys). */
static int keyring_load_index_key(Keyring *k, Store *store) {
        uint8_t ad[sizeof(KEK_AD_LABEL) + 8], wrapped[KEK_WRAPPED_SIZE];
        _cleanup_(freep) uint8_t *stored = NULL;
        size_t stored_size = 0;
        int r;

        key_ad(INDEX_KEY_AD_LABEL, 1, ad);
        k->index_key = sodium_malloc(KEK_SIZE);
        if (!k->index_key)
                return -ENOMEM;
        r = store_meta_get(store, INDEX_KEY_META, &stored, &stored_size);
        if (r >= 0) {
                if (stored_size != KEK_WRAPPED_SIZE ||
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                            k->index_key, NULL, NULL, stored + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                            KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES, ad, sizeof(ad), stored, k->root) != 0)
                        return -EUCLEAN;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        crypto_generichash_keygen(k->index_key);
        randombytes_buf(wrapped, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL,
                                                   k->index_key, KEK_SIZE, ad, sizeof(ad), NULL, wrapped, k->root);
        return store_meta_set(store, INDEX_KEY_META, wrapped, sizeof(wrapped));
}

int keyring_load(Store *store, uint8_t *root_key, Keyring **ret) {
        _cleanup_(keyring_freep) Keyring *k = NULL;
        int r;

        k = calloc(1, sizeof(Keyring));
        if (!k) {
                sodium_free(root_key);
                return -ENOMEM;
        }
        k->root = root_key;
        k->dek_scratch = sodium_malloc(KEK_SIZE);
        if (!k->dek_scratch)
                return -ENOMEM;

        r = keyring_verify_root(store, k->root);
        if (r < 0)
                return r;
        r = store_kek_foreach(store, kek_row, k);
        if (r < 0)
                return r;
        if (k->n_keks == 0) {
                _cleanup_(freep) uint8_t *check = NULL;
                size_t check_size;
                /* KEKs gone but a key check present: rows were removed. */
                if (store_meta_get(store, "key_check", &check, &check_size) != -ENOENT)
                        return -EUCLEAN;
                r = keyring_init(k, store);
                if (r < 0)
                        return r;
        }
        if (!k->has_primary)
                return -EUCLEAN;
        r = keyring_load_index_key(k, store);
        if (r < 0)
                return r;
        k->compare_key = sodium_malloc(KEK_SIZE);
        if (!k->compare_key)
                return -ENOMEM;
        crypto_generichash_keygen(k->compare_key);
        sodium_mprotect_readonly(k->index_key);
        sodium_mprotect_readonly(k->compare_key);

        *ret = TAKE_PTR(k);
        return 0;
}

const Kek *keyring_primary(const Keyring *k) {
        return &k->keks[k->primary];
}

const Kek *keyring_find(const Keyring *k, int64_t version) {
        for (size_t i = 0; i < k->n_keks; i++)
                if (k->keks[i].version == version)
                        return &k->keks[i];
        return NULL;
}

size_t keyring_size(const Keyring *k) {
        return k->n_keks;
}

uint8_t *keyring_dek_scratch(Keyring *k) {
        return k->dek_scratch;
}

const uint8_t *keyring_index_key(const Keyring *k) {
        return k->index_key;
}

const uint8_t *keyring_compare_key(const Keyring *k) {
        return k->compare_key;
}
