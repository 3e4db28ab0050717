/* keyring.c — root key check and KEK ring (see keyring.h).
 *
 * KEKs are wrapped with XChaCha20-Poly1305 under the root key, with the
 * KEK's version as associated data so a wrapped KEK cannot pose as another
 * version. The index key is wrapped the same way under its own label. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "rootkey.h"

#define KEY_CHECK_LABEL "credvault key-check v1"
#define KEK_AD_LABEL "credvault kek v1"
#define INDEX_KEY_AD_LABEL "credvault idx v1"
#define KEY_AD_SIZE (sizeof(KEK_AD_LABEL) + 8)

struct Keyring {
        uint8_t *root; /* sodium_malloc, ROOT_KEY_SIZE */
        Kek *keks;     /* in the order added: the store gives them by version */
        size_t n_keks;
        size_t primary; /* index into keks */
        bool has_primary;
        uint8_t *dek_scratch;
        uint8_t *index_key; /* NULL until unwrapped or created */
        uint8_t *compare_key;
};

_Static_assert(sizeof(KEK_AD_LABEL) == sizeof(INDEX_KEY_AD_LABEL), "labels of one size");

void keyring_key_check(const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]) {
        crypto_generichash(ret, KEY_CHECK_SIZE, (const uint8_t *) KEY_CHECK_LABEL, strlen(KEY_CHECK_LABEL), root_key,
                           ROOT_KEY_SIZE);
}

void keyring_root_check(const Keyring *k, uint8_t ret[static KEY_CHECK_SIZE]) {
        keyring_key_check(k->root, ret);
}

bool keyring_root_matches(const Keyring *k, const uint8_t *check, size_t check_size) {
        uint8_t want[KEY_CHECK_SIZE];
        keyring_key_check(k->root, want);
        bool match = check_size == KEY_CHECK_SIZE && sodium_memcmp(want, check, KEY_CHECK_SIZE) == 0;
        sodium_memzero(want, sizeof(want));
        return match;
}

static void key_ad(const char *label, int64_t version, uint8_t ad[static KEY_AD_SIZE]) {
        memcpy(ad, label, sizeof(KEK_AD_LABEL));
        for (int i = 0; i < 8; i++)
                ad[sizeof(KEK_AD_LABEL) + i] = (uint8_t) ((uint64_t) version >> (56 - 8 * i));
}

/* Unwrap into a fresh sodium_malloc'd key. -EUCLEAN if it does not open. */
static int key_unwrap(const Keyring *k, const char *label, int64_t version, const uint8_t *wrapped, size_t wrapped_size,
                      uint8_t **ret) {
        uint8_t ad[KEY_AD_SIZE];

        if (wrapped_size != KEK_WRAPPED_SIZE)
                return -EUCLEAN;
        uint8_t *key = sodium_malloc(KEK_SIZE);
        if (!key)
                return -ENOMEM;
        key_ad(label, version, ad);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                    key, NULL, NULL, wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                    KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES, ad, sizeof(ad), wrapped, k->root) != 0) {
                sodium_free(key);
                return -EUCLEAN;
        }
        *ret = key;
        return 0;
}

/* A fresh random key and its wrapping. */
static int key_create(const Keyring *k, const char *label, int64_t version, uint8_t **ret,
                      uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        uint8_t ad[KEY_AD_SIZE];
        uint8_t *key = sodium_malloc(KEK_SIZE);
        if (!key)
                return -ENOMEM;
        randombytes_buf(key, KEK_SIZE);
        randombytes_buf(ret_wrapped, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        key_ad(label, version, ad);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ret_wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL,
                                                   key, KEK_SIZE, ad, sizeof(ad), NULL, ret_wrapped, k->root);
        *ret = key;
        return 0;
}

int keyring_new(uint8_t *root_key, Keyring **ret) {
        Keyring *k = calloc(1, sizeof(Keyring));
        if (!k) {
                sodium_free(root_key);
                return -ENOMEM;
        }
        k->root = root_key;
        k->dek_scratch = sodium_malloc(KEK_SIZE);
        if (!k->dek_scratch) {
                keyring_free(k);
                return -ENOMEM;
        }
        *ret = k;
        return 0;
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

static int keyring_add(Keyring *k, int64_t version, bool primary, uint8_t *key) {
        if (keyring_find(k, version)) {
                sodium_free(key);
                return -EUCLEAN;
        }
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

int keyring_kek_unwrap(Keyring *k, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size) {
        uint8_t *key;
        int r = key_unwrap(k, KEK_AD_LABEL, version, wrapped, wrapped_size, &key);
        if (r < 0)
                return r;
        return keyring_add(k, version, primary, key);
}

int keyring_kek_create(Keyring *k, int64_t version, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        uint8_t *key;
        int r = key_create(k, KEK_AD_LABEL, version, &key, ret_wrapped);
        if (r < 0)
                return r;
        return keyring_add(k, version, true, key);
}

int keyring_index_key_unwrap(Keyring *k, const uint8_t *wrapped, size_t wrapped_size) {
        sodium_free(k->index_key);
        k->index_key = NULL;
        return key_unwrap(k, INDEX_KEY_AD_LABEL, 1, wrapped, wrapped_size, &k->index_key);
}

int keyring_index_key_create(Keyring *k, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        sodium_free(k->index_key);
        k->index_key = NULL;
        return key_create(k, INDEX_KEY_AD_LABEL, 1, &k->index_key, ret_wrapped);
}

int keyring_complete(Keyring *k) {
        if (!k->has_primary)
                return -EUCLEAN;
        if (!k->index_key)
                return -ENOKEY;
        if (!k->compare_key) {
                k->compare_key = sodium_malloc(KEK_SIZE);
                if (!k->compare_key)
                        return -ENOMEM;
                crypto_generichash_keygen(k->compare_key);
        }
        for (size_t i = 0; i < k->n_keks; i++)
                sodium_mprotect_readonly((void *) k->keks[i].key);
        sodium_mprotect_readonly(k->index_key);
        sodium_mprotect_readonly(k->compare_key);
        return 0;
}

bool keyring_has_primary(const Keyring *k) {
        return k->has_primary;
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
