/* test-keyring.c — daemon/crypto/keyring.c: the root key check and the
 * keys the root key wraps.
 *
 * Shows: a created KEK comes with its wrapping (72 bytes, not holding the
 * KEK) and becomes the primary; a second keyring under the same root key
 * unwraps that wrapping to the same KEK, so what one keyring sealed, the
 * next one opens; the wrapping is the documented format (a test-side
 * XChaCha20-Poly1305 opens it, and KEKs wrapped by the test load with
 * their versions and bytes); a wrong root key (even one bit off), another
 * version as associated data, the index key's label, a wrong size, any
 * flipped byte or a version already in the ring are -EUCLEAN and add
 * nothing; keyring_complete() wants a primary KEK (-EUCLEAN) and an index
 * key (-ENOKEY); the key-check value is deterministic, pinned by a known
 * answer (label "credvault key-check v2"), differs between keys, and
 * keyring_root_matches() tells the right one from a wrong one, and the
 * right root key's check of a vault from before metadata MACs (label v1)
 * as such; the index key round-trips under the same root and is another
 * key than the KEKs; the compare key is random per keyring; the MAC key
 * round-trips, is refused wrapped as another key (and another key wrapped
 * as it), and keyring_mac() is pinned by a known answer (field encoding
 * checked with Python's hashlib, short fields in one buffer and a long
 * one streamed), tells an absent field from an empty one and a field
 * boundary moved, differs per MAC key, and keyring_mac_check() takes only
 * the exact MAC (-EUCLEAN for a flipped byte or another size, -ENOKEY
 * without a MAC key). Storing the wrapped keys is the vault's job: see
 * test-vault.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "unit-crypto.h"

static uint8_t key_a[ROOT_KEY_SIZE], key_b[ROOT_KEY_SIZE];

static Keyring *keyring_under(const uint8_t root[static ROOT_KEY_SIZE]) {
        Keyring *k = NULL;
        assert_int_equal(keyring_new(root_key_dup(root), &k), 0);
        assert_non_null(k);
        return k;
}

typedef struct Wrapped {
        uint8_t kek[KEK_WRAPPED_SIZE];
        uint8_t index_key[KEK_WRAPPED_SIZE];
} Wrapped;

/* A complete keyring under key_a whose KEK 1 and index key wrappings are
 * handed back, as a new vault makes them. */
static Keyring *keyring_created(Wrapped *w) {
        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_kek_create(k, 1, w->kek), 0);
        assert_int_equal(keyring_index_key_create(k, w->index_key), 0);
        assert_int_equal(keyring_complete(k), 0);
        return k;
}

/* A keyring under root loading what keyring_created() wrapped. */
static int keyring_reload(const uint8_t root[static ROOT_KEY_SIZE], const Wrapped *w, Keyring **ret) {
        Keyring *k = keyring_under(root);
        int r = keyring_kek_unwrap(k, 1, true, w->kek, sizeof(w->kek));
        if (r >= 0)
                r = keyring_index_key_unwrap(k, w->index_key, sizeof(w->index_key));
        if (r >= 0)
                r = keyring_complete(k);
        if (r < 0) {
                keyring_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

static void test_new_keyring(void **state) {
        (void) state;
        uint8_t wrapped[KEK_WRAPPED_SIZE], idx[KEK_WRAPPED_SIZE], kek[KEK_SIZE];
        Keyring *k = keyring_under(key_a);

        assert_int_equal(keyring_size(k), 0);
        assert_null(keyring_find(k, 1));
        assert_null(keyring_index_key(k));
        assert_null(keyring_compare_key(k));
        assert_non_null(keyring_dek_scratch(k));

        assert_int_equal(KEK_WRAPPED_SIZE, TEST_KEK_WRAPPED_SIZE);
        assert_int_equal(KEK_WRAPPED_SIZE, 24 + 32 + 16);
        assert_int_equal(keyring_kek_create(k, 1, wrapped), 0);
        assert_int_equal(keyring_size(k), 1);
        assert_int_equal(keyring_primary(k)->version, 1);
        assert_ptr_equal(keyring_find(k, 1), keyring_primary(k));
        assert_null(keyring_find(k, 0));
        assert_null(keyring_find(k, 2));
        /* The KEK only wrapped: not in the bytes handed out for storing. */
        memcpy(kek, keyring_primary(k)->key, KEK_SIZE);
        assert_null(memmem(wrapped, sizeof(wrapped), kek, KEK_SIZE));
        assert_null(memmem(wrapped, sizeof(wrapped), kek, 8));

        /* Not complete without an index key. */
        assert_int_equal(keyring_complete(k), -ENOKEY);
        assert_null(keyring_compare_key(k));
        assert_int_equal(keyring_index_key_create(k, idx), 0);
        assert_non_null(keyring_index_key(k));
        assert_null(memmem(idx, sizeof(idx), keyring_index_key(k), 8));
        assert_int_equal(keyring_complete(k), 0);
        assert_non_null(keyring_compare_key(k));
        /* Three different keys. */
        assert_memory_not_equal(keyring_index_key(k), kek, KEK_SIZE);
        assert_memory_not_equal(keyring_compare_key(k), kek, KEK_SIZE);
        assert_memory_not_equal(keyring_compare_key(k), keyring_index_key(k), KEK_SIZE);
        /* Complete twice: the same compare key. */
        const uint8_t *compare = keyring_compare_key(k);
        uint8_t compare_copy[KEK_SIZE];
        memcpy(compare_copy, compare, KEK_SIZE);
        assert_int_equal(keyring_complete(k), 0);
        assert_memory_equal(keyring_compare_key(k), compare_copy, KEK_SIZE);
        sodium_memzero(kek, sizeof(kek));
        keyring_free(k);
}

/* What one keyring created and sealed, a keyring under the same root key
 * unwraps and opens. */
static void test_unwrap_same_root(void **state) {
        (void) state;
        const RecordId id = { RECORD_SECRET, "todo", "client_secret", 1 };
        uint8_t *sealed = NULL;
        size_t sealed_size = 0;
        int64_t kek_version = 0;
        SecretBuf *out = NULL;
        Wrapped w;
        Keyring *b = NULL;

        Keyring *a = keyring_created(&w);
        assert_int_equal(envelope_seal(a, &id, (const uint8_t *) "s3cr3t", 6, &sealed, &sealed_size, &kek_version), 0);
        assert_int_equal(kek_version, 1);

        assert_int_equal(keyring_reload(key_a, &w, &b), 0);
        assert_int_equal(keyring_size(b), 1);
        assert_int_equal(keyring_primary(b)->version, 1);
        assert_memory_equal(keyring_primary(b)->key, keyring_primary(a)->key, KEK_SIZE);
        assert_memory_equal(keyring_index_key(b), keyring_index_key(a), KEK_SIZE);
        assert_int_equal(envelope_open(b, &id, sealed, sealed_size, &out), 0);
        assert_int_equal(out->size, 6);
        assert_memory_equal(out->data, "s3cr3t", 6);
        secret_buf_free(out);
        free(sealed);
        keyring_free(a);
        keyring_free(b);
}

/* keyring.c's wrapping is the format unit-crypto.h spells out: the test
 * opens what keyring.c wrapped, and keyring.c opens what the test wrapped. */
static void test_wrapping_format(void **state) {
        (void) state;
        uint8_t key[KEK_SIZE];
        Wrapped w;

        Keyring *a = keyring_created(&w);
        assert_int_equal(test_key_unwrap(TEST_KEK_LABEL, key_a, 1, w.kek, key), 0);
        assert_memory_equal(key, keyring_primary(a)->key, KEK_SIZE);
        assert_int_equal(test_key_unwrap(TEST_INDEX_KEY_LABEL, key_a, 1, w.index_key, key), 0);
        assert_memory_equal(key, keyring_index_key(a), KEK_SIZE);
        /* The labels keep the two apart. */
        assert_int_equal(test_key_unwrap(TEST_INDEX_KEY_LABEL, key_a, 1, w.kek, key), -1);
        assert_int_equal(test_key_unwrap(TEST_KEK_LABEL, key_a, 1, w.index_key, key), -1);
        keyring_free(a);

        /* An index key wrapped by the test loads as keyring.c's own. */
        uint8_t idx[KEK_SIZE], nonce[24], wrapped[TEST_KEK_WRAPPED_SIZE];
        bytes_counting(idx, sizeof(idx), 0x55);
        randombytes_buf(nonce, sizeof(nonce));
        test_key_wrap(TEST_INDEX_KEY_LABEL, key_a, 1, idx, nonce, wrapped);
        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_index_key_unwrap(k, wrapped, sizeof(wrapped)), 0);
        assert_memory_equal(keyring_index_key(k), idx, KEK_SIZE);
        keyring_free(k);
        sodium_memzero(key, sizeof(key));
}

/* KEKs wrapped by the test as keyring.c wraps them: they load with their
 * versions and their exact bytes, and the primary is the one marked so. */
static void test_known_keks_load(void **state) {
        (void) state;
        uint8_t kek1[KEK_SIZE], kek2[KEK_SIZE], idx[KEK_WRAPPED_SIZE];

        bytes_counting(kek1, sizeof(kek1), 0x10);
        bytes_counting(kek2, sizeof(kek2), 0x90);
        Keyring *k = keyring_under(key_a);
        assert_int_equal(test_kek_load(k, key_a, 1, false, kek1), 0);
        assert_int_equal(test_kek_load(k, key_a, 2, true, kek2), 0);
        assert_int_equal(keyring_index_key_create(k, idx), 0);
        assert_int_equal(keyring_complete(k), 0);

        assert_int_equal(keyring_size(k), 2);
        assert_int_equal(keyring_primary(k)->version, 2);
        assert_memory_equal(keyring_primary(k)->key, kek2, KEK_SIZE);
        assert_non_null(keyring_find(k, 1));
        assert_memory_equal(keyring_find(k, 1)->key, kek1, KEK_SIZE);

        /* New writes use the primary; what the older KEK sealed still opens. */
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL, old[ENVELOPE_OVERHEAD + 1], dek[KEK_SIZE] = { 1 }, n1[24] = { 2 }, n2[24] = { 3 };
        size_t sealed_size = 0;
        int64_t kek_version = 0;
        SecretBuf *out = NULL;
        assert_int_equal(envelope_seal(k, &id, (const uint8_t *) "x", 1, &sealed, &sealed_size, &kek_version), 0);
        assert_int_equal(kek_version, 2);
        free(sealed);
        envelope_seal_with(keyring_find(k, 1), &id, dek, n1, n2, (const uint8_t *) "y", 1, old);
        assert_int_equal(envelope_open(k, &id, old, sizeof(old), &out), 0);
        assert_int_equal(out->data[0], 'y');
        secret_buf_free(out);
        keyring_free(k);
}

/* A second KEK created becomes the primary; the first stays for opening. */
static void test_kek_create_rotates(void **state) {
        (void) state;
        uint8_t w1[KEK_WRAPPED_SIZE], w2[KEK_WRAPPED_SIZE], key[KEK_SIZE];
        Keyring *k = keyring_under(key_a);

        assert_int_equal(keyring_kek_create(k, 1, w1), 0);
        assert_int_equal(keyring_kek_create(k, 2, w2), 0);
        assert_int_equal(keyring_size(k), 2);
        assert_int_equal(keyring_primary(k)->version, 2);
        assert_memory_not_equal(keyring_find(k, 1)->key, keyring_find(k, 2)->key, KEK_SIZE);
        /* Fresh nonces, and each wrapping is bound to its version. */
        assert_memory_not_equal(w1, w2, 24);
        assert_int_equal(test_key_unwrap(TEST_KEK_LABEL, key_a, 2, w2, key), 0);
        assert_memory_equal(key, keyring_find(k, 2)->key, KEK_SIZE);
        assert_int_equal(test_key_unwrap(TEST_KEK_LABEL, key_a, 1, w2, key), -1);
        sodium_memzero(key, sizeof(key));
        keyring_free(k);
}

/* After keyring_complete(): a KEK added at run time becomes the primary
 * (read-only like the rest: it serves), the old one stays until dropped;
 * the primary cannot be dropped, an unknown version is -ENOENT, and a
 * failed rotation can be undone (primary back, new key dropped). */
static void test_kek_runtime_add_drop(void **state) {
        (void) state;
        uint8_t w[KEK_WRAPPED_SIZE], key[KEK_SIZE];
        Keyring *k = NULL;

        assert_int_equal(test_keyring_new(key_a, &k), 0);
        uint8_t old[KEK_SIZE];
        memcpy(old, keyring_find(k, 1)->key, KEK_SIZE);
        assert_int_equal(keyring_kek_create(k, 2, w), 0);
        assert_int_equal(keyring_primary(k)->version, 2);
        assert_int_equal(keyring_size(k), 2);
        assert_int_equal(test_key_unwrap(TEST_KEK_LABEL, key_a, 2, w, key), 0);
        assert_memory_equal(key, keyring_primary(k)->key, KEK_SIZE);
        assert_memory_equal(old, keyring_find(k, 1)->key, KEK_SIZE);
        assert_int_equal(keyring_kek_create(k, 2, w), -EUCLEAN);

        assert_int_equal(keyring_kek_drop(k, 2), -EBUSY);
        assert_int_equal(keyring_kek_drop(k, 7), -ENOENT);
        assert_int_equal(keyring_kek_drop(k, 1), 0);
        assert_null(keyring_find(k, 1));
        assert_int_equal(keyring_size(k), 1);
        assert_int_equal(keyring_primary(k)->version, 2);
        assert_memory_equal(key, keyring_primary(k)->key, KEK_SIZE);

        /* Undo of a rotation the store refused. */
        assert_int_equal(keyring_kek_create(k, 3, w), 0);
        assert_int_equal(keyring_kek_set_primary(k, 2), 0);
        assert_int_equal(keyring_kek_drop(k, 3), 0);
        assert_int_equal(keyring_primary(k)->version, 2);
        assert_memory_equal(key, keyring_primary(k)->key, KEK_SIZE);
        assert_int_equal(keyring_kek_set_primary(k, 3), -ENOENT);
        sodium_memzero(key, sizeof(key));
        keyring_free(k);
}

/* Unwrapping fails and adds nothing. */
static void assert_kek_refused(const uint8_t root[static ROOT_KEY_SIZE], int64_t version, const uint8_t *wrapped,
                               size_t size, const char *what) {
        Keyring *k = keyring_under(root);
        int r = keyring_kek_unwrap(k, version, true, wrapped, size);
        if (r != -EUCLEAN)
                fail_msg("%s: want -EUCLEAN, got %d", what, r);
        assert_int_equal(keyring_size(k), 0);
        assert_null(keyring_find(k, version));
        /* Nothing primary was left behind: the ring is not complete. */
        uint8_t idx[KEK_WRAPPED_SIZE];
        assert_int_equal(keyring_index_key_create(k, idx), 0);
        assert_int_equal(keyring_complete(k), -EUCLEAN);
        keyring_free(k);
}

static void test_wrong_root_key(void **state) {
        (void) state;
        Keyring *b = NULL;
        Wrapped w;

        Keyring *a = keyring_created(&w);
        assert_kek_refused(key_b, 1, w.kek, sizeof(w.kek), "other root key");
        /* A key one bit away is just as wrong. */
        uint8_t near[ROOT_KEY_SIZE];
        memcpy(near, key_a, sizeof(near));
        near[31] ^= 1;
        assert_kek_refused(near, 1, w.kek, sizeof(w.kek), "root key one bit off");

        /* The index key too. */
        Keyring *k = keyring_under(key_b);
        assert_int_equal(keyring_index_key_unwrap(k, w.index_key, sizeof(w.index_key)), -EUCLEAN);
        assert_null(keyring_index_key(k));
        keyring_free(k);
        assert_int_equal(keyring_reload(key_b, &w, &b), -EUCLEAN);

        /* And the right key still works afterwards. */
        assert_int_equal(keyring_reload(key_a, &w, &b), 0);
        assert_memory_equal(keyring_primary(b)->key, keyring_primary(a)->key, KEK_SIZE);
        keyring_free(b);
        keyring_free(a);
}

/* The version is associated data: a wrapped KEK cannot pose as another
 * version, nor as the index key, nor the index key as a KEK. */
static void test_wrong_version(void **state) {
        (void) state;
        Wrapped w;
        const int64_t versions[] = { 0, 2, -1, INT64_C(0x0100000000000001), INT64_MAX };

        Keyring *a = keyring_created(&w);
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                char what[64];
                snprintf(what, sizeof(what), "KEK 1 as version %lld", (long long) versions[i]);
                assert_kek_refused(key_a, versions[i], w.kek, sizeof(w.kek), what);
        }
        assert_kek_refused(key_a, 1, w.index_key, sizeof(w.index_key), "index key as KEK 1");
        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_index_key_unwrap(k, w.kek, sizeof(w.kek)), -EUCLEAN);
        assert_null(keyring_index_key(k));
        keyring_free(k);
        keyring_free(a);
}

static void test_wrong_size(void **state) {
        (void) state;
        uint8_t longer[KEK_WRAPPED_SIZE + 8];
        Wrapped w;

        Keyring *a = keyring_created(&w);
        const size_t sizes[] = { 0, 1, 24, 40, KEK_WRAPPED_SIZE - 16, KEK_WRAPPED_SIZE - 1 };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                char what[64];
                snprintf(what, sizeof(what), "first %zu bytes", sizes[i]);
                assert_kek_refused(key_a, 1, w.kek, sizes[i], what);
        }
        memcpy(longer, w.kek, sizeof(w.kek));
        memset(longer + sizeof(w.kek), 0, sizeof(longer) - sizeof(w.kek));
        assert_kek_refused(key_a, 1, longer, sizeof(w.kek) + 1, "one byte more");
        assert_kek_refused(key_a, 1, longer, sizeof(longer), "eight bytes more");

        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_index_key_unwrap(k, w.index_key, sizeof(w.index_key) - 1), -EUCLEAN);
        memcpy(longer, w.index_key, sizeof(w.index_key));
        assert_int_equal(keyring_index_key_unwrap(k, longer, sizeof(w.index_key) + 1), -EUCLEAN);
        assert_null(keyring_index_key(k));
        keyring_free(k);
        keyring_free(a);
}

/* Any flipped byte, in the nonce, the ciphertext or the tag. */
static void test_tampered_byte(void **state) {
        (void) state;
        Wrapped w;

        Keyring *a = keyring_created(&w);
        for (size_t pos = 0; pos < KEK_WRAPPED_SIZE; pos++) {
                char what[64];
                snprintf(what, sizeof(what), "byte %zu flipped", pos);
                w.kek[pos] ^= 0x01;
                assert_kek_refused(key_a, 1, w.kek, sizeof(w.kek), what);
                w.kek[pos] ^= 0x01;

                Keyring *k = keyring_under(key_a);
                w.index_key[pos] ^= 0x80;
                assert_int_equal(keyring_index_key_unwrap(k, w.index_key, sizeof(w.index_key)), -EUCLEAN);
                w.index_key[pos] ^= 0x80;
                keyring_free(k);
        }
        /* Random bytes of the right size. */
        uint8_t noise[KEK_WRAPPED_SIZE];
        randombytes_buf(noise, sizeof(noise));
        assert_kek_refused(key_a, 1, noise, sizeof(noise), "random bytes");

        /* Restored, it loads. */
        Keyring *b = NULL;
        assert_int_equal(keyring_reload(key_a, &w, &b), 0);
        keyring_free(b);
        keyring_free(a);
}

/* Two KEKs of one version: the ring refuses the second, whichever way it
 * comes, and keeps the first. */
static void test_duplicate_version(void **state) {
        (void) state;
        uint8_t wrapped[KEK_WRAPPED_SIZE], first[KEK_SIZE], other[KEK_SIZE];
        Wrapped w;

        Keyring *a = keyring_created(&w);
        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_kek_unwrap(k, 1, true, w.kek, sizeof(w.kek)), 0);
        assert_int_equal(keyring_kek_unwrap(k, 1, true, w.kek, sizeof(w.kek)), -EUCLEAN);
        assert_int_equal(keyring_size(k), 1);
        memcpy(first, keyring_find(k, 1)->key, KEK_SIZE);

        /* Another KEK as version 1. */
        bytes_counting(other, sizeof(other), 0x33);
        assert_int_equal(test_kek_load(k, key_a, 1, false, other), -EUCLEAN);
        /* Creating version 1 again. */
        assert_int_equal(keyring_kek_create(k, 1, wrapped), -EUCLEAN);
        assert_int_equal(keyring_size(k), 1);
        assert_memory_equal(keyring_find(k, 1)->key, first, KEK_SIZE);
        assert_int_equal(keyring_primary(k)->version, 1);
        keyring_free(k);
        keyring_free(a);
        sodium_memzero(first, sizeof(first));
}

static void test_complete_needs_primary_and_index_key(void **state) {
        (void) state;
        uint8_t wrapped[KEK_WRAPPED_SIZE], idx[KEK_WRAPPED_SIZE], kek[KEK_SIZE];

        /* Nothing at all; then only an index key. */
        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_complete(k), -EUCLEAN);
        assert_int_equal(keyring_index_key_create(k, idx), 0);
        assert_int_equal(keyring_complete(k), -EUCLEAN);
        /* KEKs, none of them primary. */
        bytes_counting(kek, sizeof(kek), 1);
        assert_int_equal(test_kek_load(k, key_a, 1, false, kek), 0);
        assert_int_equal(test_kek_load(k, key_a, 2, false, kek), 0);
        assert_int_equal(keyring_complete(k), -EUCLEAN);
        assert_null(keyring_compare_key(k));
        keyring_free(k);

        /* A primary but no index key. */
        k = keyring_under(key_a);
        assert_int_equal(keyring_kek_create(k, 1, wrapped), 0);
        assert_int_equal(keyring_complete(k), -ENOKEY);
        /* A failed index key unwrap does not count as one. */
        memset(idx, 0, sizeof(idx));
        assert_int_equal(keyring_index_key_unwrap(k, idx, sizeof(idx)), -EUCLEAN);
        assert_int_equal(keyring_complete(k), -ENOKEY);
        assert_null(keyring_compare_key(k));
        keyring_free(k);

        /* A loaded (not created) primary and index key: complete. */
        Wrapped w;
        Keyring *a = keyring_created(&w), *b = NULL;
        assert_int_equal(keyring_reload(key_a, &w, &b), 0);
        assert_non_null(keyring_compare_key(b));
        keyring_free(a);
        keyring_free(b);
}

static void test_key_check_value(void **state) {
        (void) state;
        uint8_t a1[KEY_CHECK_SIZE], a2[KEY_CHECK_SIZE], b[KEY_CHECK_SIZE], near[KEY_CHECK_SIZE];
        uint8_t key_near[ROOT_KEY_SIZE];

        keyring_key_check(key_a, a1);
        keyring_key_check(key_a, a2);
        keyring_key_check(key_b, b);
        memcpy(key_near, key_a, sizeof(key_near));
        key_near[0] ^= 0x80;
        keyring_key_check(key_near, near);

        assert_memory_equal(a1, a2, KEY_CHECK_SIZE);
        assert_memory_not_equal(a1, b, KEY_CHECK_SIZE);
        assert_memory_not_equal(a1, near, KEY_CHECK_SIZE);
        /* It is not the key. */
        assert_memory_not_equal(a1, key_a, KEY_CHECK_SIZE);

        /* Known answer: BLAKE2b-256 keyed with the root key 00..1f over the
         * label "credvault key-check v2" (checked with Python's hashlib). */
        uint8_t k[ROOT_KEY_SIZE], got[KEY_CHECK_SIZE];
        bytes_counting(k, sizeof(k), 0);
        keyring_key_check(k, got);
        char *hex = hex_of(got, sizeof(got));
        assert_string_equal(hex, "8f741da534103385e58b16a71e13904975944a8b25d4b962800cb830898f1e67");
        free(hex);

        /* A keyring's own check is its root key's. */
        Keyring *kr = keyring_under(k);
        keyring_root_check(kr, got);
        hex = hex_of(got, sizeof(got));
        assert_string_equal(hex, "8f741da534103385e58b16a71e13904975944a8b25d4b962800cb830898f1e67");
        free(hex);
        /* The same of label v1, as vaults from before metadata MACs hold
         * it (67f33e7a...c34f by hashlib): this key's, of that kind. */
        static const uint8_t v1[KEY_CHECK_SIZE] = {
                0x67, 0xf3, 0x3e, 0x7a, 0x0f, 0xd3, 0x62, 0x8b, 0x3a, 0xd4, 0xf7, 0xc7, 0x76, 0xe7, 0xbe, 0xf4,
                0xed, 0x92, 0x0b, 0x71, 0x5a, 0xe2, 0x40, 0xed, 0x9a, 0x37, 0x67, 0x5a, 0xb0, 0x91, 0xc3, 0x4f,
        };
        assert_int_equal(keyring_root_matches(kr, v1, sizeof(v1)), KEY_CHECK_V1);
        assert_int_equal(keyring_root_matches(kr, got, sizeof(got)), KEY_CHECK_CURRENT);
        keyring_free(kr);
}

/* The key-check value of label v1, as a vault from before metadata MACs
 * stored it. */
static void key_check_v1(const uint8_t root[static ROOT_KEY_SIZE], uint8_t ret[static KEY_CHECK_SIZE]) {
        crypto_generichash(ret, KEY_CHECK_SIZE, (const uint8_t *) "credvault key-check v1", 22, root, ROOT_KEY_SIZE);
}

static void test_root_matches(void **state) {
        (void) state;
        uint8_t check_a[KEY_CHECK_SIZE], check_b[KEY_CHECK_SIZE], longer[KEY_CHECK_SIZE + 1];
        uint8_t v1_a[KEY_CHECK_SIZE], v1_b[KEY_CHECK_SIZE];

        keyring_key_check(key_a, check_a);
        keyring_key_check(key_b, check_b);
        key_check_v1(key_a, v1_a);
        key_check_v1(key_b, v1_b);
        Keyring *a = keyring_under(key_a), *b = keyring_under(key_b);

        assert_int_equal(keyring_root_matches(a, check_a, sizeof(check_a)), KEY_CHECK_CURRENT);
        assert_int_equal(keyring_root_matches(b, check_b, sizeof(check_b)), KEY_CHECK_CURRENT);
        assert_int_equal(keyring_root_matches(a, check_b, sizeof(check_b)), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(b, check_a, sizeof(check_a)), KEY_CHECK_WRONG);
        /* Label v1: the right key's is told apart, another key's is wrong. */
        assert_int_equal(keyring_root_matches(a, v1_a, sizeof(v1_a)), KEY_CHECK_V1);
        assert_int_equal(keyring_root_matches(a, v1_b, sizeof(v1_b)), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(b, v1_a, sizeof(v1_a)), KEY_CHECK_WRONG);

        /* Any flipped byte, of either kind. */
        for (size_t i = 0; i < KEY_CHECK_SIZE; i++) {
                check_a[i] ^= 0x01;
                v1_a[i] ^= 0x01;
                if (keyring_root_matches(a, check_a, sizeof(check_a)) != KEY_CHECK_WRONG ||
                    keyring_root_matches(a, v1_a, sizeof(v1_a)) != KEY_CHECK_WRONG)
                        fail_msg("byte %zu flipped: matches", i);
                check_a[i] ^= 0x01;
                v1_a[i] ^= 0x01;
        }
        /* Wrong sizes: a prefix of the right value, or more than it. */
        assert_int_equal(keyring_root_matches(a, check_a, 0), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(a, check_a, 1), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(a, check_a, KEY_CHECK_SIZE - 1), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(a, v1_a, KEY_CHECK_SIZE - 1), KEY_CHECK_WRONG);
        memcpy(longer, check_a, KEY_CHECK_SIZE);
        longer[KEY_CHECK_SIZE] = 0;
        assert_int_equal(keyring_root_matches(a, longer, sizeof(longer)), KEY_CHECK_WRONG);
        /* All zeros (a wiped value) is no one's. */
        uint8_t zero[KEY_CHECK_SIZE] = {};
        assert_int_equal(keyring_root_matches(a, zero, sizeof(zero)), KEY_CHECK_WRONG);
        /* The root key itself is not its check. */
        assert_int_equal(keyring_root_matches(a, key_a, ROOT_KEY_SIZE), KEY_CHECK_WRONG);
        assert_int_equal(keyring_root_matches(a, check_a, sizeof(check_a)), KEY_CHECK_CURRENT);
        keyring_free(a);
        keyring_free(b);
}

static void test_index_key_round_trip(void **state) {
        (void) state;
        uint8_t w1[KEK_WRAPPED_SIZE], w2[KEK_WRAPPED_SIZE], first[KEK_SIZE];

        Keyring *a = keyring_under(key_a);
        assert_int_equal(keyring_index_key_create(a, w1), 0);
        memcpy(first, keyring_index_key(a), KEK_SIZE);

        Keyring *b = keyring_under(key_a);
        assert_int_equal(keyring_index_key_unwrap(b, w1, sizeof(w1)), 0);
        assert_memory_equal(keyring_index_key(b), first, KEK_SIZE);
        /* Unwrapped again: the same key. */
        assert_int_equal(keyring_index_key_unwrap(b, w1, sizeof(w1)), 0);
        assert_memory_equal(keyring_index_key(b), first, KEK_SIZE);
        /* A failed unwrap leaves none, not the previous one. */
        w1[30] ^= 1;
        assert_int_equal(keyring_index_key_unwrap(b, w1, sizeof(w1)), -EUCLEAN);
        assert_null(keyring_index_key(b));
        w1[30] ^= 1;

        /* Created again: another key and another wrapping. */
        assert_int_equal(keyring_index_key_create(a, w2), 0);
        assert_memory_not_equal(keyring_index_key(a), first, KEK_SIZE);
        assert_memory_not_equal(w1, w2, sizeof(w1));
        assert_int_equal(keyring_index_key_unwrap(b, w2, sizeof(w2)), 0);
        assert_memory_equal(keyring_index_key(b), keyring_index_key(a), KEK_SIZE);
        sodium_memzero(first, sizeof(first));
        keyring_free(a);
        keyring_free(b);
}

/* The compare key is the process's own: two keyrings of the same vault
 * (same root, KEKs and index key) have different ones. */
static void test_compare_key_per_keyring(void **state) {
        (void) state;
        Keyring *b = NULL, *c = NULL;
        Wrapped w;

        Keyring *a = keyring_created(&w);
        assert_int_equal(keyring_reload(key_a, &w, &b), 0);
        assert_int_equal(keyring_reload(key_a, &w, &c), 0);
        assert_memory_equal(keyring_index_key(a), keyring_index_key(b), KEK_SIZE);
        assert_memory_not_equal(keyring_compare_key(a), keyring_compare_key(b), KEK_SIZE);
        assert_memory_not_equal(keyring_compare_key(b), keyring_compare_key(c), KEK_SIZE);
        assert_memory_not_equal(keyring_compare_key(a), keyring_index_key(a), KEK_SIZE);
        keyring_free(a);
        keyring_free(b);
        keyring_free(c);
}

static void test_mac_key_round_trip(void **state) {
        (void) state;
        uint8_t w1[KEK_WRAPPED_SIZE], w2[KEK_WRAPPED_SIZE], idx[KEK_WRAPPED_SIZE], kek[KEK_WRAPPED_SIZE];
        uint8_t mac_a[KEYRING_MAC_SIZE], mac_b[KEYRING_MAC_SIZE];
        const MacField f[] = { { "label", 5 }, { "x", 1 } };

        Keyring *a = keyring_under(key_a), *b = keyring_under(key_a), *c = keyring_under(key_b);
        assert_false(keyring_has_mac_key(a));
        assert_int_equal(keyring_mac(a, f, ELEMENTSOF(f), mac_a), -ENOKEY);
        assert_int_equal(keyring_mac_key_create(a, w1), 0);
        assert_true(keyring_has_mac_key(a));
        assert_int_equal(keyring_mac_key_unwrap(b, w1, sizeof(w1)), 0);
        assert_int_equal(keyring_mac(a, f, ELEMENTSOF(f), mac_a), 0);
        assert_int_equal(keyring_mac(b, f, ELEMENTSOF(f), mac_b), 0);
        assert_memory_equal(mac_a, mac_b, sizeof(mac_a));
        /* It is the test's format: the test opens it as "credvault mac v1". */
        uint8_t key[KEK_SIZE];
        assert_int_equal(test_key_unwrap(TEST_MAC_KEY_LABEL, key_a, 1, w1, key), 0);
        assert_int_equal(test_key_unwrap(TEST_INDEX_KEY_LABEL, key_a, 1, w1, key), -1);
        sodium_memzero(key, sizeof(key));

        /* Another root key; the index key's or a KEK's wrapping in its
         * place; a MAC key's wrapping as the index key: all refused, and a
         * refused unwrap leaves no MAC key. */
        assert_int_equal(keyring_mac_key_unwrap(c, w1, sizeof(w1)), -EUCLEAN);
        assert_false(keyring_has_mac_key(c));
        assert_int_equal(keyring_index_key_create(a, idx), 0);
        assert_int_equal(keyring_kek_create(a, 1, kek), 0);
        assert_int_equal(keyring_mac_key_unwrap(b, idx, sizeof(idx)), -EUCLEAN);
        assert_false(keyring_has_mac_key(b));
        assert_int_equal(keyring_mac_key_unwrap(b, kek, sizeof(kek)), -EUCLEAN);
        assert_int_equal(keyring_index_key_unwrap(b, w1, sizeof(w1)), -EUCLEAN);
        assert_int_equal(keyring_mac_key_unwrap(b, w1, sizeof(w1) - 1), -EUCLEAN);
        for (size_t pos = 0; pos < sizeof(w1); pos += 7) {
                w1[pos] ^= 0x04;
                assert_int_equal(keyring_mac_key_unwrap(b, w1, sizeof(w1)), -EUCLEAN);
                w1[pos] ^= 0x04;
        }

        /* Created again: another key, other MACs. */
        assert_int_equal(keyring_mac_key_create(c, w2), 0);
        assert_int_equal(keyring_mac(c, f, ELEMENTSOF(f), mac_b), 0);
        assert_memory_not_equal(mac_a, mac_b, sizeof(mac_a));
        /* complete() takes it along (read-only) and still computes. */
        assert_int_equal(keyring_complete(a), 0);
        assert_int_equal(keyring_mac(a, f, ELEMENTSOF(f), mac_b), 0);
        assert_memory_equal(mac_a, mac_b, sizeof(mac_a));
        keyring_free(a);
        keyring_free(b);
        keyring_free(c);
}

/* A keyring whose MAC key is 40..5f. */
static Keyring *keyring_known_mac_key(void) {
        uint8_t key[KEK_SIZE], nonce[24] = { 9 }, wrapped[TEST_KEK_WRAPPED_SIZE];
        Keyring *k = keyring_under(key_a);
        bytes_counting(key, sizeof(key), 0x40);
        test_key_wrap(TEST_MAC_KEY_LABEL, key_a, 1, key, nonce, wrapped);
        assert_int_equal(keyring_mac_key_unwrap(k, wrapped, sizeof(wrapped)), 0);
        return k;
}

static void mac_hex(const Keyring *k, const MacField *f, size_t n, char ret[static 2 * KEYRING_MAC_SIZE + 1]) {
        uint8_t mac[KEYRING_MAC_SIZE];
        assert_int_equal(keyring_mac(k, f, n, mac), 0);
        char *hex = hex_of(mac, sizeof(mac));
        memcpy(ret, hex, 2 * KEYRING_MAC_SIZE + 1);
        free(hex);
}

static void test_mac(void **state) {
        (void) state;
        const uint8_t seven[8] = { 0, 0, 0, 0, 0, 0, 0, 7 };
        char got[2 * KEYRING_MAC_SIZE + 1], other[2 * KEYRING_MAC_SIZE + 1];
        uint8_t mac[KEYRING_MAC_SIZE];

        Keyring *k = keyring_known_mac_key();
        /* Known answer: BLAKE2b-256 keyed with 40..5f over be32(5) |
         * be32(5) "label" | be32(3) "abc" | ffffffff | be32(0) | be32(8)
         * be64(7), by Python's hashlib. */
        const MacField f[] = { { "label", 5 }, { "abc", 3 }, { NULL, 0 }, { "", 0 }, { seven, 8 } };
        mac_hex(k, f, ELEMENTSOF(f), got);
        assert_string_equal(got, "60665b128678aa2fbc35dad1aa89fa1d60fff8313f6d6b74fa40140807c27d47");
        /* A long field (hashed in pieces rather than in one buffer): the
         * same encoding, be32(3) | be32(5) "label" | be32(600) "xx..." |
         * ffffffff. */
        char *long_field = malloc(600);
        assert_non_null(long_field);
        memset(long_field, 'x', 600);
        const MacField g[] = { { "label", 5 }, { long_field, 600 }, { NULL, 0 } };
        mac_hex(k, g, ELEMENTSOF(g), other);
        assert_string_equal(other, "3d788ee9b38955d191f13be63ed6b0657f68fc3e63d386bb458be5206b6daaa0");
        free(long_field);

        /* Absent is not empty; a moved boundary, another order or one
         * field fewer is another MAC. */
        const MacField empty_for_absent[] = { { "label", 5 }, { "abc", 3 }, { "", 0 }, { "", 0 }, { seven, 8 } };
        mac_hex(k, empty_for_absent, ELEMENTSOF(empty_for_absent), other);
        assert_string_not_equal(got, other);
        const MacField moved[] = { { "label", 5 }, { "ab", 2 }, { NULL, 0 }, { "c", 1 }, { seven, 8 } };
        mac_hex(k, moved, ELEMENTSOF(moved), other);
        assert_string_not_equal(got, other);
        const MacField swapped[] = { { "label", 5 }, { "abc", 3 }, { "", 0 }, { NULL, 0 }, { seven, 8 } };
        mac_hex(k, swapped, ELEMENTSOF(swapped), other);
        assert_string_not_equal(got, other);
        mac_hex(k, f, ELEMENTSOF(f) - 1, other);
        assert_string_not_equal(got, other);

        /* The check takes the exact MAC only. */
        assert_int_equal(keyring_mac(k, f, ELEMENTSOF(f), mac), 0);
        assert_int_equal(keyring_mac_check(k, f, ELEMENTSOF(f), mac, sizeof(mac)), 0);
        assert_int_equal(keyring_mac_check(k, moved, ELEMENTSOF(moved), mac, sizeof(mac)), -EUCLEAN);
        for (size_t i = 0; i < sizeof(mac); i++) {
                mac[i] ^= 0x80;
                if (keyring_mac_check(k, f, ELEMENTSOF(f), mac, sizeof(mac)) != -EUCLEAN)
                        fail_msg("byte %zu flipped: checks", i);
                mac[i] ^= 0x80;
        }
        assert_int_equal(keyring_mac_check(k, f, ELEMENTSOF(f), mac, sizeof(mac) - 1), -EUCLEAN);
        assert_int_equal(keyring_mac_check(k, f, ELEMENTSOF(f), NULL, 0), -EUCLEAN);
        Keyring *none = keyring_under(key_a);
        assert_int_equal(keyring_mac_check(none, f, ELEMENTSOF(f), mac, sizeof(mac)), -ENOKEY);
        keyring_free(none);
        keyring_free(k);
}

/* A kek table whose state column names an older KEK primary (edited to
 * keep a KEK in use after a rotation) is refused when the keyring is
 * completed; the newest KEK as primary loads. */
static void test_primary_must_be_newest(void **state) {
        (void) state;
        uint8_t w2[KEK_WRAPPED_SIZE];
        Wrapped w;

        Keyring *a = keyring_created(&w);
        assert_int_equal(keyring_kek_create(a, 2, w2), 0);
        keyring_free(a);

        Keyring *k = keyring_under(key_a);
        assert_int_equal(keyring_kek_unwrap(k, 1, true, w.kek, sizeof(w.kek)), 0);
        assert_int_equal(keyring_kek_unwrap(k, 2, false, w2, sizeof(w2)), 0);
        assert_int_equal(keyring_index_key_unwrap(k, w.index_key, sizeof(w.index_key)), 0);
        assert_int_equal(keyring_complete(k), -EUCLEAN);
        keyring_free(k);

        k = keyring_under(key_a);
        assert_int_equal(keyring_kek_unwrap(k, 1, false, w.kek, sizeof(w.kek)), 0);
        assert_int_equal(keyring_kek_unwrap(k, 2, true, w2, sizeof(w2)), 0);
        assert_int_equal(keyring_index_key_unwrap(k, w.index_key, sizeof(w.index_key)), 0);
        assert_int_equal(keyring_complete(k), 0);
        assert_int_equal(keyring_primary(k)->version, 2);
        keyring_free(k);
}

/* A root key rotation: the keys wrapped under another root load under it,
 * the same keys, and no longer under the old one; after
 * keyring_root_replace() new KEKs are wrapped under the new root. */
static void test_rewrap_under_new_root(void **state) {
        Wrapped w, w_new;
        uint8_t mac_wrapped[KEK_WRAPPED_SIZE], mac_new[KEK_WRAPPED_SIZE], kek2[KEK_WRAPPED_SIZE];
        Keyring *k = keyring_under(key_a), *k2 = NULL;
        (void) state;

        assert_int_equal(keyring_kek_create(k, 1, w.kek), 0);
        assert_int_equal(keyring_index_key_create(k, w.index_key), 0);
        assert_int_equal(keyring_mac_key_create(k, mac_wrapped), 0);
        assert_int_equal(keyring_complete(k), 0);
        assert_true(keyring_root_is(k, key_a));
        assert_false(keyring_root_is(k, key_b));

        assert_int_equal(keyring_kek_wrap(k, key_b, 1, w_new.kek), 0);
        assert_int_equal(keyring_kek_wrap(k, key_b, 7, kek2), -ENOENT);
        assert_int_equal(keyring_index_key_wrap(k, key_b, w_new.index_key), 0);
        assert_int_equal(keyring_mac_key_wrap(k, key_b, mac_new), 0);
        assert_memory_not_equal(w_new.kek, w.kek, KEK_WRAPPED_SIZE);

        /* Under the new root: the same keys. */
        assert_int_equal(keyring_reload(key_b, &w_new, &k2), 0);
        assert_memory_equal(keyring_primary(k2)->key, keyring_primary(k)->key, KEK_SIZE);
        assert_memory_equal(keyring_index_key(k2), keyring_index_key(k), KEK_SIZE);
        keyring_free(k2);
        k2 = keyring_under(key_b);
        assert_int_equal(keyring_mac_key_unwrap(k2, mac_new, sizeof(mac_new)), 0);
        keyring_free(k2);
        /* Not under the old one. */
        assert_int_equal(keyring_reload(key_a, &w_new, &k2), -EUCLEAN);
        k2 = keyring_under(key_a);
        assert_int_equal(keyring_mac_key_unwrap(k2, mac_new, sizeof(mac_new)), -EUCLEAN);
        keyring_free(k2);

        /* The new root in force: a rotation's KEK is wrapped under it. */
        keyring_root_replace(k, root_key_dup(key_b));
        assert_true(keyring_root_is(k, key_b));
        assert_memory_equal(keyring_root(k), key_b, ROOT_KEY_SIZE);
        assert_int_equal(keyring_kek_create(k, 2, kek2), 0);
        k2 = keyring_under(key_b);
        assert_int_equal(keyring_kek_unwrap(k2, 2, true, kek2, sizeof(kek2)), 0);
        keyring_free(k2);
        uint8_t check[KEY_CHECK_SIZE];
        keyring_key_check(key_b, check);
        assert_int_equal(keyring_root_matches(k, check, sizeof(check)), KEY_CHECK_CURRENT);
        keyring_free(k);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        randombytes_buf(key_a, sizeof(key_a));
        randombytes_buf(key_b, sizeof(key_b));

        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_keyring),
                cmocka_unit_test(test_unwrap_same_root),
                cmocka_unit_test(test_wrapping_format),
                cmocka_unit_test(test_known_keks_load),
                cmocka_unit_test(test_kek_create_rotates),
                cmocka_unit_test(test_kek_runtime_add_drop),
                cmocka_unit_test(test_wrong_root_key),
                cmocka_unit_test(test_wrong_version),
                cmocka_unit_test(test_wrong_size),
                cmocka_unit_test(test_tampered_byte),
                cmocka_unit_test(test_duplicate_version),
                cmocka_unit_test(test_complete_needs_primary_and_index_key),
                cmocka_unit_test(test_key_check_value),
                cmocka_unit_test(test_root_matches),
                cmocka_unit_test(test_index_key_round_trip),
                cmocka_unit_test(test_compare_key_per_keyring),
                cmocka_unit_test(test_mac_key_round_trip),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_primary_must_be_newest),
                cmocka_unit_test(test_rewrap_under_new_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
