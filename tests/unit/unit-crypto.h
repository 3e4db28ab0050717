/* unit-crypto.h — fixtures for the crypto layer's tests (keyring, envelope).
 *
 * Owns: root keys in sodium_malloc memory as keyring_new() takes them, a
 * complete keyring of random keys, and the one place the tests spell out
 * how a KEK (or the index key) is wrapped under the root key, so that a
 * test can hand a keyring KEKs it knows. Never: replaces a crypto module
 * or touches storage (a crypto test links libcv-crypto only); everything
 * here calls the real keyring. */
#pragma once

#include <sodium.h>

#include "keyring.h"
#include "rootkey.h"
#include "unit-util.h"

/* A root key in sodium_malloc memory, as keyring_new() takes it. */
static inline uint8_t *root_key_dup(const uint8_t key[static ROOT_KEY_SIZE]) {
        uint8_t *k = sodium_malloc(ROOT_KEY_SIZE);
        if (k)
                memcpy(k, key, ROOT_KEY_SIZE);
        return k;
}

/* Bytes start, start+1, ... */
static inline void bytes_counting(uint8_t *p, size_t n, uint8_t start) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (start + i);
}

/* How keyring.c wraps a key: nonce || XChaCha20-Poly1305(key) under the
 * root key, the associated data being the label (with its NUL) and the
 * version as 8 big-endian bytes. KEKs are labelled "credvault kek v1", the
 * index key "credvault idx v1" and the MAC key "credvault mac v1", both
 * with version 1. Spelled out here so a test
 * can give a keyring keys it knows and read back what keyring.c wrapped;
 * these are the bytes stored in every vault, so if keyring.c changes the
 * format, the tests that use this fail, which is the point. */
#define TEST_KEK_WRAPPED_SIZE                                                                                          \
        (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define TEST_KEK_LABEL "credvault kek v1"
#define TEST_INDEX_KEY_LABEL "credvault idx v1"
#define TEST_MAC_KEY_LABEL "credvault mac v1"

static inline void test_key_ad(const char *label, int64_t version, uint8_t ad[static sizeof(TEST_KEK_LABEL) + 8]) {
        memcpy(ad, label, sizeof(TEST_KEK_LABEL));
        for (int i = 0; i < 8; i++)
                ad[sizeof(TEST_KEK_LABEL) + i] = (uint8_t) ((uint64_t) version >> (56 - 8 * i));
}

static inline void test_key_wrap(const char *label, const uint8_t root[static ROOT_KEY_SIZE], int64_t version,
                                 const uint8_t key[static KEK_SIZE], const uint8_t nonce[static 24],
                                 uint8_t ret[static TEST_KEK_WRAPPED_SIZE]) {
        uint8_t ad[sizeof(TEST_KEK_LABEL) + 8];

        test_key_ad(label, version, ad);
        memcpy(ret, nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ret + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, key,
                                                   KEK_SIZE, ad, sizeof(ad), NULL, nonce, root);
}

static inline void test_kek_wrap(const uint8_t root[static ROOT_KEY_SIZE], int64_t version,
                                 const uint8_t kek[static KEK_SIZE], const uint8_t nonce[static 24],
                                 uint8_t ret[static TEST_KEK_WRAPPED_SIZE]) {
        test_key_wrap(TEST_KEK_LABEL, root, version, kek, nonce, ret);
}

/* The inverse, independent of keyring.c: 0, or -1 if it does not open. */
static inline int test_key_unwrap(const char *label, const uint8_t root[static ROOT_KEY_SIZE], int64_t version,
                                  const uint8_t wrapped[static TEST_KEK_WRAPPED_SIZE], uint8_t ret[static KEK_SIZE]) {
        uint8_t ad[sizeof(TEST_KEK_LABEL) + 8];

        test_key_ad(label, version, ad);
        return crypto_aead_xchacha20poly1305_ietf_decrypt(
                ret, NULL, NULL, wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES, ad, sizeof(ad), wrapped, root);
}

/* Give keyring k (under root) a KEK of known bytes, wrapped by the test
 * with a random nonce and unwrapped by keyring_kek_unwrap(). */
static inline int test_kek_load(Keyring *k, const uint8_t root[static ROOT_KEY_SIZE], int64_t version, bool primary,
                                const uint8_t kek[static KEK_SIZE]) {
        uint8_t nonce[24], wrapped[TEST_KEK_WRAPPED_SIZE];

        randombytes_buf(nonce, sizeof(nonce));
        test_kek_wrap(root, version, kek, nonce, wrapped);
        return keyring_kek_unwrap(k, version, primary, wrapped, sizeof(wrapped));
}

/* A complete keyring under root, as a new vault gets: KEK 1 (random,
 * primary) and a random index key. The wrappings are dropped. */
static inline int test_keyring_new(const uint8_t root[static ROOT_KEY_SIZE], Keyring **ret) {
        uint8_t wrapped[KEK_WRAPPED_SIZE];
        Keyring *k = NULL;
        uint8_t *key = root_key_dup(root);
        if (!key)
                return -ENOMEM;
        int r = keyring_new(key, &k);
        if (r < 0)
                return r;
        r = keyring_kek_create(k, 1, wrapped);
        if (r >= 0)
                r = keyring_index_key_create(k, wrapped);
        if (r >= 0)
                r = keyring_complete(k);
        if (r < 0) {
                keyring_free(k);
                return r;
        }
        *ret = k;
        return 0;
}
