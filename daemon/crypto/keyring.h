/* keyring.h — the root key and the keys it wraps.
 *
 * Owns: the key-check value that proves a root key is the right one, the
 * versioned KEKs (one primary for new writes), the index key, the MAC key
 * that authenticates stored metadata, and their wrapping under the root
 * key. Every key lives in sodium_malloc() memory, read-only once loaded.
 * Never: touches a record's value (that is the envelope's job) or storage:
 * the vault reads and writes the wrapped keys and decides what a MAC
 * covers, the keyring only wraps, unwraps and computes. */
#pragma once

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define KEK_SIZE 32

typedef struct Kek {
        int64_t version;
        const uint8_t *key; /* KEK_SIZE bytes of sodium_malloc memory */
} Kek;

typedef struct Keyring Keyring;

/* A KEK (or another keyring key) wrapped under the root key:
 * nonce || ciphertext || tag. */
#define KEK_WRAPPED_SIZE                                                                                               \
        (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + KEK_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* An empty keyring for a root key; takes ownership of root_key
 * (sodium_malloc memory, ROOT_KEY_SIZE bytes), even on failure. */
int keyring_new(uint8_t *root_key, Keyring **ret);
void keyring_free(Keyring *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(Keyring *, keyring_free);

/* The key-check value of a root key: a keyed BLAKE2b of a fixed label, so a
 * wrong key is told from a right one without decrypting anything. The
 * label is "credvault key-check v2"; vaults from before metadata MACs hold
 * the same of "credvault key-check v1". The version says whether the
 * vault's metadata is authenticated (see keyring_mac()). Only the root key
 * can make either value, but an old backup holds a v1 one: so an old value
 * is never taken as leave to MAC rows afresh on its own (the daemon wants
 * --trust-metadata-upgrade for that; see vault_open()). */
#define KEY_CHECK_SIZE 32
void keyring_key_check(const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]);
/* The key-check value of this keyring's root key, to store in a new vault
 * (or when the vault's metadata has just been MAC'd). */
void keyring_root_check(const Keyring *k, uint8_t ret[static KEY_CHECK_SIZE]);

typedef enum KeyCheckMatch {
        KEY_CHECK_WRONG,   /* another root key's, or no key-check value at all */
        KEY_CHECK_V1,      /* this root key's, of a vault from before metadata MACs */
        KEY_CHECK_CURRENT, /* this root key's */
} KeyCheckMatch;

/* Whose a stored key-check value is, compared in constant time. */
KeyCheckMatch keyring_root_matches(const Keyring *k, const uint8_t *check, size_t check_size);

/* Unwrap a stored KEK into the keyring. -EUCLEAN if it does not
 * authenticate under the root key as that version (tampered rows). */
int keyring_kek_unwrap(Keyring *k, int64_t version, bool primary, const uint8_t *wrapped, size_t wrapped_size);
/* Make a fresh KEK of this version the primary, and hand back its wrapping
 * for the caller to store. After keyring_complete() too (a rotation): the
 * new key is made read-only like the others; the old primary stays in the
 * ring for the records it still wraps. -EUCLEAN if the version exists. */
int keyring_kek_create(Keyring *k, int64_t version, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);
/* Make the KEK of this version the primary (undoing a rotation whose
 * storage failed). -ENOENT if there is none. */
int keyring_kek_set_primary(Keyring *k, int64_t version);
/* Drop the KEK of this version from memory (sodium_free wipes it): a
 * retired KEK, or one whose rotation failed to be stored. -ENOENT if
 * there is none, -EBUSY if it is the primary. Pointers from
 * keyring_find() and keyring_primary() are invalid afterwards. */
int keyring_kek_drop(Keyring *k, int64_t version);

/* The index key (see keyring_index_key()): unwrap the stored one, or create
 * one and hand back its wrapping. -EUCLEAN as for KEKs. */
int keyring_index_key_unwrap(Keyring *k, const uint8_t *wrapped, size_t wrapped_size);
int keyring_index_key_create(Keyring *k, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);

/* The MAC key (see keyring_mac()): unwrap the stored one, or create one and
 * hand back its wrapping. -EUCLEAN as for KEKs. */
int keyring_mac_key_unwrap(Keyring *k, const uint8_t *wrapped, size_t wrapped_size);
int keyring_mac_key_create(Keyring *k, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);
bool keyring_has_mac_key(const Keyring *k);

/* One field of what a MAC covers. data NULL is an absent field (an SQL
 * NULL), told apart from an empty one. */
typedef struct MacField {
        const void *data;
        size_t size;
} MacField;

#define KEYRING_MAC_SIZE 32

/* The MAC of a sequence of fields: keyed BLAKE2b-256 under the MAC key
 * (random, created once, wrapped by the root key like the KEKs) over the
 * number of fields (4 bytes, big-endian) and each field as its size (4
 * bytes, big-endian; ffffffff for an absent one) and its bytes, so that no
 * two sequences encode alike. The caller makes the first field a label
 * naming what is covered. Binds stored metadata (plugin rows, token-set
 * state) to the keyring, so that a database writer without the root key
 * cannot change it undetected. -ENOKEY if there is no MAC key, -E2BIG for
 * a field of 4 GiB or more. */
int keyring_mac(const Keyring *k, const MacField *fields, size_t n_fields, uint8_t ret[static KEYRING_MAC_SIZE]);
/* 0 if mac is the fields' MAC (compared in constant time), -EUCLEAN if not
 * or if mac_size is not KEYRING_MAC_SIZE, -ENOKEY if there is no MAC key. */
int keyring_mac_check(const Keyring *k, const MacField *fields, size_t n_fields, const uint8_t *mac, size_t mac_size);

/* ---- root key rotation ----
 * The keyring's keys wrapped afresh under another root key, for the vault
 * to store in one transaction with that key's check value; then
 * keyring_root_replace() puts the new root in force. Nothing is
 * unwrapped: the keys in memory are the ones wrapped. */

/* Whether root_key (ROOT_KEY_SIZE bytes) is this keyring's root key,
 * compared in constant time. */
bool keyring_root_is(const Keyring *k, const uint8_t *root_key);
/* The KEK of this version, the index key, the MAC key, each wrapped under
 * root_key as keyring_kek_unwrap() and the others would unwrap it there.
 * -ENOENT if the keyring has no such key. */
int keyring_kek_wrap(const Keyring *k, const uint8_t *root_key, int64_t version,
                     uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);
int keyring_index_key_wrap(const Keyring *k, const uint8_t *root_key, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);
int keyring_mac_key_wrap(const Keyring *k, const uint8_t *root_key, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]);
/* Make root_key (sodium_malloc memory, taken) the keyring's root key; the
 * old one is wiped and freed. For after the new wrappings are committed. */
void keyring_root_replace(Keyring *k, uint8_t *root_key);
/* The root key itself (ROOT_KEY_SIZE bytes), for sealing it to the
 * recovery key. */
const uint8_t *keyring_root(const Keyring *k);

/* Finish loading: -EUCLEAN if no KEK is primary, -ENOKEY if there is no
 * index key. Makes the per-process compare key, derives the audit key
 * from the MAC key (if there is one: the vault requires it), and turns
 * every key read-only. */
int keyring_complete(Keyring *k);

bool keyring_has_primary(const Keyring *k);
/* Only once keyring_has_primary(). */
const Kek *keyring_primary(const Keyring *k);
/* NULL if there is no KEK of that version. */
const Kek *keyring_find(const Keyring *k, int64_t version);
size_t keyring_size(const Keyring *k);

/* A key for keyed hashes that index values (API key lookup). Random,
 * created once, stored wrapped by the root key like the KEKs, so the index
 * survives restarts and root key rotation. KEK_SIZE bytes. */
const uint8_t *keyring_index_key(const Keyring *k);

/* The key of the audit trail's MAC chain: keyed BLAKE2b-256 of the fixed
 * context "credvault audit chain v1" under the MAC key, derived by
 * keyring_complete(); NULL before that or without a MAC key.
 * KEYRING_MAC_SIZE bytes. The vault decides what the chain covers. */
const uint8_t *keyring_audit_key(const Keyring *k);

/* A random key of this process, for comparing a presented value with a
 * stored one as keyed hashes: equal-length digests, compared in constant
 * time, so neither the content nor the length of the stored value shows in
 * the timing. KEK_SIZE bytes. */
const uint8_t *keyring_compare_key(const Keyring *k);

/* KEK_SIZE bytes of locked scratch memory for one data key at a time; the
 * daemon is single-threaded, and sodium_malloc per request would cost more
 * than the crypto. Callers wipe it when done. */
uint8_t *keyring_dek_scratch(Keyring *k);
