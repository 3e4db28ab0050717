/* keyring.h — the root key and the KEKs it wraps.
 *
 * Owns: the key-check value that proves a root key is the right one, the
 * versioned KEKs (one primary for new writes) and their wrapping under the
 * root key. Every key lives in sodium_malloc() memory, read-only once
 * loaded. Never: touches a record's value; that is the envelope's job. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "store.h"

#define KEK_SIZE 32

typedef struct Kek {
        int64_t version;
        const uint8_t *key; /* KEK_SIZE bytes of sodium_malloc memory */
} Kek;

typedef struct Keyring Keyring;

/* Check the root key against the database's key-check value, reading only
 * that value. Returns 0 if it matches or the database has none yet,
 * -EKEYREJECTED if it does not match. Run this before store_migrate() so a
 * wrong key never changes the file. */
int keyring_verify_root(Store *store, const uint8_t *root_key);

/* Load (or, in a new database, create) the keyring. Takes ownership of
 * root_key, even on failure. -EKEYREJECTED for a wrong root key, -EUCLEAN
 * if a KEK fails to unwrap with a matching key-check (tampered rows). */
int keyring_load(Store *store, uint8_t *root_key, Keyring **ret);
void keyring_free(Keyring *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(Keyring *, keyring_free);

const Kek *keyring_primary(const Keyring *k);
/* NULL if there is no KEK of that version. */
const Kek *keyring_find(const Keyring *k, int64_t version);
size_t keyring_size(const Keyring *k);

/* A key for keyed hashes that index values (API key lookup). Random,
 * created once, stored wrapped by the root key like the KEKs, so the index
 * survives restarts and root key rotation. KEK_SIZE bytes. */
const uint8_t *keyring_index_key(const Keyring *k);

/* A random key of this process, for comparing a presented value with a
 * stored one as keyed hashes: equal-length digests, compared in constant
 * time, so neither the content nor the length of the stored value shows in
 * the timing. KEK_SIZE bytes. */
const uint8_t *keyring_compare_key(const Keyring *k);

/* KEK_SIZE bytes of locked scratch memory for one data key at a time; the
 * daemon is single-threaded, and sodium_malloc per request would cost more
 * than the crypto. Callers wipe it when done. */
uint8_t *keyring_dek_scratch(Keyring *k);

/* Exposed for tests: the key-check value of a root key, and the wrapping of
 * a KEK (nonce || ciphertext) under a root key. */
#define KEY_CHECK_SIZE 32
void keyring_key_check(const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]);
