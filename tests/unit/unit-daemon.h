/* unit-daemon.h — fixtures for the daemon module tests.
 *
 * Owns: a temporary directory with a real database (store_open +
 * store_migrate) and a real keyring (keyring_load), and the one place the
 * tests spell out how a KEK is wrapped under the root key, so that a test
 * can seed a database with KEKs it knows. Never: replaces a daemon module;
 * everything here calls the real ones. */
#pragma once

#include <sodium.h>

#include "keyring.h"
#include "rootkey.h"
#include "store.h"
#include "unit-util.h"

typedef struct Fixture {
        char *dir;
        char *db_path;
        Store *store;
        Keyring *keyring;
} Fixture;

/* A root key in sodium_malloc memory, as keyring_load() takes it. */
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

/* A temp dir and an open, migrated store at dir/db; no keyring yet. */
static inline int fixture_open_store(Fixture *f) {
        int r;

        *f = (Fixture) {};
        f->dir = tmpdir_new();
        if (!f->dir)
                return -errno;
        f->db_path = path_join(f->dir, "db");
        if (!f->db_path)
                return -ENOMEM;
        r = store_open(f->db_path, &f->store);
        if (r < 0)
                return r;
        return store_migrate(f->store);
}

/* fixture_open_store() and a keyring under root (a fresh database gets
 * KEK 1). */
static inline int fixture_open(Fixture *f, const uint8_t root[static ROOT_KEY_SIZE]) {
        int r = fixture_open_store(f);
        if (r < 0)
                return r;
        uint8_t *key = root_key_dup(root);
        if (!key)
                return -ENOMEM;
        return keyring_load(f->store, key, &f->keyring);
}

static inline void fixture_close_db(Fixture *f) {
        keyring_free(f->keyring);
        f->keyring = NULL;
        store_close(f->store);
        f->store = NULL;
}

static inline void fixture_close(Fixture *f) {
        fixture_close_db(f);
        free(f->db_path);
        tmpdir_remove(f->dir);
        *f = (Fixture) {};
}

/* How keyring.c wraps a KEK: nonce || XChaCha20-Poly1305(kek) under the
 * root key, the associated data being the label (with its NUL) and the
 * version as 8 big-endian bytes. Spelled out here so a test can build a
 * database whose KEKs it knows; if keyring.c changes the format, the
 * tests that use this fail, which is the point. */
#define TEST_KEK_WRAPPED_SIZE                                                                                          \
        (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES)

static inline void test_kek_wrap(const uint8_t root[static ROOT_KEY_SIZE], int64_t version,
                                 const uint8_t kek[static KEK_SIZE], const uint8_t nonce[static 24],
                                 uint8_t ret[static TEST_KEK_WRAPPED_SIZE]) {
        static const char label[] = "credvault kek v1";
        uint8_t ad[sizeof(label) + 8];

        memcpy(ad, label, sizeof(label));
        for (int i = 0; i < 8; i++)
                ad[sizeof(label) + i] = (uint8_t) ((uint64_t) version >> (56 - 8 * i));
        memcpy(ret, nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ret + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, kek,
                                                   KEK_SIZE, ad, sizeof(ad), NULL, nonce, root);
}

/* Seed a migrated, empty store with the key check of root and one KEK row. */
static inline int test_kek_seed(Store *store, const uint8_t root[static ROOT_KEY_SIZE], int64_t version, bool primary,
                                const uint8_t kek[static KEK_SIZE]) {
        uint8_t check[KEY_CHECK_SIZE], nonce[24], wrapped[TEST_KEK_WRAPPED_SIZE];
        int r;

        keyring_key_check(root, check);
        r = store_meta_set(store, "key_check", check, sizeof(check));
        if (r < 0)
                return r;
        randombytes_buf(nonce, sizeof(nonce));
        test_kek_wrap(root, version, kek, nonce, wrapped);
        return store_kek_insert(store, version, primary, wrapped, sizeof(wrapped));
}
