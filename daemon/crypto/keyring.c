/* keyring.c — root key check and KEK ring (see keyring.h).
 *
 * KEKs are wrapped with XChaCha20-Poly1305 under the root key, with the
 * KEK's version as associated data so a wrapped KEK cannot pose as another
 * version. The index key and the MAC key are wrapped the same way, each
 * under its own label, so neither can pose as the other or as a KEK. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "rootkey.h"

#define KEY_CHECK_LABEL "credvault key-check v2"
#define KEY_CHECK_LABEL_V1 "credvault key-check v1"
#define KEK_AD_LABEL "credvault kek v1"
#define INDEX_KEY_AD_LABEL "credvault idx v1"
#define MAC_KEY_AD_LABEL "credvault mac v1"
#define AUDIT_KEY_CONTEXT "credvault audit chain v1"
#define KEY_AD_SIZE (sizeof(KEK_AD_LABEL) + 8)

struct Keyring {
        uint8_t *root; /* sodium_malloc, ROOT_KEY_SIZE */
        Kek *keks;     /* in the order added: the store gives them by version */
        size_t n_keks;
        size_t primary; /* index into keks */
        bool has_primary;
        uint8_t *dek_scratch;
        uint8_t *index_key; /* NULL until unwrapped or created */
        uint8_t *mac_key;   /* NULL until unwrapped or created */
        uint8_t *audit_key; /* derived from the MAC key by keyring_complete() */
        uint8_t *compare_key;
        bool completed; /* keys are read-only from keyring_complete() on */
};

_Static_assert(sizeof(KEK_AD_LABEL) == sizeof(INDEX_KEY_AD_LABEL), "labels of one size");
_Static_assert(sizeof(KEK_AD_LABEL) == sizeof(MAC_KEY_AD_LABEL), "labels of one size");

static void key_check_of(const char *label, const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]) {
        crypto_generichash(ret, KEY_CHECK_SIZE, (const uint8_t *) label, strlen(label), root_key, ROOT_KEY_SIZE);
}

void keyring_key_check(const uint8_t *root_key, uint8_t ret[static KEY_CHECK_SIZE]) {
        key_check_of(KEY_CHECK_LABEL, root_key, ret);
}

void keyring_root_check(const Keyring *k, uint8_t ret[static KEY_CHECK_SIZE]) {
        keyring_key_check(k->root, ret);
}

KeyCheckMatch keyring_root_matches(const Keyring *k, const uint8_t *check, size_t check_size) {
        uint8_t want[KEY_CHECK_SIZE], want_v1[KEY_CHECK_SIZE];

        if (check_size != KEY_CHECK_SIZE)
                return KEY_CHECK_WRONG;
        key_check_of(KEY_CHECK_LABEL, k->root, want);
        key_check_of(KEY_CHECK_LABEL_V1, k->root, want_v1);
        bool current = sodium_memcmp(want, check, KEY_CHECK_SIZE) == 0;
        bool v1 = sodium_memcmp(want_v1, check, KEY_CHECK_SIZE) == 0;
        sodium_memzero(want, sizeof(want));
        sodium_memzero(want_v1, sizeof(want_v1));
        return current ? KEY_CHECK_CURRENT : v1 ? KEY_CHECK_V1 : KEY_CHECK_WRONG;
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

/* Wrap key under root, with a fresh random nonce. */
static void key_wrap(const uint8_t *root, const char *label, int64_t version, const uint8_t *key,
                     uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        uint8_t ad[KEY_AD_SIZE];
        randombytes_buf(ret_wrapped, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        key_ad(label, version, ad);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ret_wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL,
                                                   key, KEK_SIZE, ad, sizeof(ad), NULL, ret_wrapped, root);
}

/* A fresh random key and its wrapping. */
static int key_create(const Keyring *k, const char *label, int64_t version, uint8_t **ret,
                      uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        uint8_t *key = sodium_malloc(KEK_SIZE);
        if (!key)
                return -ENOMEM;
        randombytes_buf(key, KEK_SIZE);
        key_wrap(k->root, label, version, key, ret_wrapped);
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
        sodium_free(k->mac_key);
        sodium_free(k->audit_key);
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
        /* A key made at run time is as read-only as those loaded at start. */
        if (k->completed)
                sodium_mprotect_readonly(key);
        return keyring_add(k, version, true, key);
}

static int kek_index(const Keyring *k, int64_t version) {
        for (size_t i = 0; i < k->n_keks; i++)
                if (k->keks[i].version == version)
                        return (int) i;
        return -ENOENT;
}

int keyring_kek_set_primary(Keyring *k, int64_t version) {
        int i = kek_index(k, version);
        if (i < 0)
                return i;
        k->primary = (size_t) i;
        k->has_primary = true;
        return 0;
}

int keyring_kek_drop(Keyring *k, int64_t version) {
        int i = kek_index(k, version);
        if (i < 0)
                return i;
        if (k->has_primary && k->primary == (size_t) i)
                return -EBUSY;
        /* sodium_free() makes the pages writable, wipes and unmaps them. */
        sodium_free((void *) k->keks[i].key);
        memmove(&k->keks[i], &k->keks[i + 1], (k->n_keks - (size_t) i - 1) * sizeof(Kek));
        k->n_keks--;
        if (k->has_primary && k->primary > (size_t) i)
                k->primary--;
        return 0;
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

int keyring_mac_key_unwrap(Keyring *k, const uint8_t *wrapped, size_t wrapped_size) {
        sodium_free(k->mac_key);
        k->mac_key = NULL;
        return key_unwrap(k, MAC_KEY_AD_LABEL, 1, wrapped, wrapped_size, &k->mac_key);
}

int keyring_mac_key_create(Keyring *k, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        sodium_free(k->mac_key);
        k->mac_key = NULL;
        return key_create(k, MAC_KEY_AD_LABEL, 1, &k->mac_key, ret_wrapped);
}

bool keyring_has_mac_key(const Keyring *k) {
        return k->mac_key != NULL;
}

static void be32(uint8_t *out, uint32_t v) {
        for (int i = 0; i < 4; i++)
                out[i] = (uint8_t) (v >> (24 - 8 * i));
}

/* A field's header: its size, or MAC_FIELD_ABSENT. */
#define MAC_FIELD_ABSENT UINT32_MAX
#define MAC_FIELD_SIZE_MAX (UINT32_MAX - 1)

static uint32_t field_header(const MacField *f) {
        return f->data ? (uint32_t) f->size : MAC_FIELD_ABSENT;
}

/* Rows of fixed fields (a token set's state) fit here and are hashed in
 * one call: per-field updates would cost more than the hashing on
 * token.get. */
#define MAC_INLINE_SIZE 512

int keyring_mac(const Keyring *k, const MacField *fields, size_t n_fields, uint8_t ret[static KEYRING_MAC_SIZE]) {
        uint8_t buf[MAC_INLINE_SIZE];
        size_t total = 4;

        if (!k->mac_key)
                return -ENOKEY;
        if (n_fields > MAC_FIELD_SIZE_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n_fields; i++) {
                if (fields[i].data && fields[i].size > MAC_FIELD_SIZE_MAX)
                        return -E2BIG;
                total += 4 + (fields[i].data ? fields[i].size : 0);
        }

        if (total <= sizeof(buf)) {
                /* Metadata only: nothing here to wipe. */
                size_t at = 4;
                be32(buf, (uint32_t) n_fields);
                for (size_t i = 0; i < n_fields; i++) {
                        be32(buf + at, field_header(&fields[i]));
                        at += 4;
                        if (fields[i].data && fields[i].size > 0) {
                                memcpy(buf + at, fields[i].data, fields[i].size);
                                at += fields[i].size;
                        }
                }
                crypto_generichash(ret, KEYRING_MAC_SIZE, buf, total, k->mac_key, KEK_SIZE);
                return 0;
        }

        /* The same bytes, streamed: a plugin row's auth block may be long. */
        crypto_generichash_state st;
        crypto_generichash_init(&st, k->mac_key, KEK_SIZE, KEYRING_MAC_SIZE);
        be32(buf, (uint32_t) n_fields);
        crypto_generichash_update(&st, buf, 4);
        for (size_t i = 0; i < n_fields; i++) {
                be32(buf, field_header(&fields[i]));
                crypto_generichash_update(&st, buf, 4);
                if (fields[i].data && fields[i].size > 0)
                        crypto_generichash_update(&st, fields[i].data, fields[i].size);
        }
        crypto_generichash_final(&st, ret, KEYRING_MAC_SIZE);
        /* Its chaining value after the key block would forge MACs. */
        sodium_memzero(&st, sizeof(st));
        return 0;
}

int keyring_mac_check(const Keyring *k, const MacField *fields, size_t n_fields, const uint8_t *mac, size_t mac_size) {
        uint8_t want[KEYRING_MAC_SIZE];
        int r = keyring_mac(k, fields, n_fields, want);
        if (r < 0)
                return r;
        /* For altered fields, want is the MAC a forger would need. */
        if (mac_size != KEYRING_MAC_SIZE || sodium_memcmp(want, mac, KEYRING_MAC_SIZE) != 0)
                r = -EUCLEAN;
        sodium_memzero(want, sizeof(want));
        return r;
}

bool keyring_root_is(const Keyring *k, const uint8_t *root_key) {
        return sodium_memcmp(k->root, root_key, ROOT_KEY_SIZE) == 0;
}

int keyring_kek_wrap(const Keyring *k, const uint8_t *root_key, int64_t version,
                     uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        const Kek *kek = keyring_find(k, version);
        if (!kek)
                return -ENOENT;
        key_wrap(root_key, KEK_AD_LABEL, version, kek->key, ret_wrapped);
        return 0;
}

int keyring_index_key_wrap(const Keyring *k, const uint8_t *root_key, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        if (!k->index_key)
                return -ENOENT;
        key_wrap(root_key, INDEX_KEY_AD_LABEL, 1, k->index_key, ret_wrapped);
        return 0;
}

int keyring_mac_key_wrap(const Keyring *k, const uint8_t *root_key, uint8_t ret_wrapped[static KEK_WRAPPED_SIZE]) {
        if (!k->mac_key)
                return -ENOENT;
        key_wrap(root_key, MAC_KEY_AD_LABEL, 1, k->mac_key, ret_wrapped);
        return 0;
}

void keyring_root_replace(Keyring *k, uint8_t *root_key) {
        sodium_free(k->root); /* wipes */
        k->root = root_key;
}

const uint8_t *keyring_root(const Keyring *k) {
        return k->root;
}

int keyring_complete(Keyring *k) {
        if (!k->has_primary)
                return -EUCLEAN;
        /* The primary is the newest KEK: a rotation always makes a version
         * above every other. The kek table's state column is not
         * authenticated (each wrapping is bound to its version only), so a
         * table that names an older KEK primary was edited, perhaps to
         * keep a KEK suspected of exposure in use: refused. */
        for (size_t i = 0; i < k->n_keks; i++)
                if (k->keks[i].version > k->keks[k->primary].version)
                        return -EUCLEAN;
        if (!k->index_key)
                return -ENOKEY;
        if (!k->compare_key) {
                k->compare_key = sodium_malloc(KEK_SIZE);
                if (!k->compare_key)
                        return -ENOMEM;
                crypto_generichash_keygen(k->compare_key);
        }
        /* Derived, not stored: the chain is bound to the vault's MAC key,
         * and a key of its own keeps its messages apart from keyring_mac()'s,
         * so no audit MAC can pass for a metadata MAC or the other way. */
        if (k->mac_key && !k->audit_key) {
                k->audit_key = sodium_malloc(KEYRING_MAC_SIZE);
                if (!k->audit_key)
                        return -ENOMEM;
                crypto_generichash(k->audit_key, KEYRING_MAC_SIZE, (const uint8_t *) AUDIT_KEY_CONTEXT,
                                   strlen(AUDIT_KEY_CONTEXT), k->mac_key, KEK_SIZE);
        }
        for (size_t i = 0; i < k->n_keks; i++)
                sodium_mprotect_readonly((void *) k->keks[i].key);
        sodium_mprotect_readonly(k->index_key);
        if (k->mac_key)
                sodium_mprotect_readonly(k->mac_key);
        if (k->audit_key)
                sodium_mprotect_readonly(k->audit_key);
        sodium_mprotect_readonly(k->compare_key);
        k->completed = true;
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

const uint8_t *keyring_audit_key(const Keyring *k) {
        return k->audit_key;
}
