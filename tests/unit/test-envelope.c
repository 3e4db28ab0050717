/* test-envelope.c — daemon/crypto/envelope.c: per-value envelope encryption.
 *
 * Shows: known-answer vectors pin the sealed format (fixed KEK, DEK, nonces,
 * record ids and plaintexts give these exact bytes, forever), and the real
 * open path opens them; byte 0 is the format and bytes 1..8 the KEK version,
 * big-endian; seal/open round-trips under a real keyring; the record's
 * identity is bound in: another plugin, name, version or kind, or a blob
 * swapped between records, fails with -EUCLEAN; any single flipped byte
 * fails; a truncated blob, an unknown format or a KEK version the keyring
 * does not have is -EUCLEAN (damaged or tampered storage, answered
 * `corrupt`, never `internal`). A rewrap under a new primary KEK gives
 * format 2: the value opens, its nonce and ciphertext are the same bytes,
 * the header names the new KEK and the old one as the value's, it opens
 * with the old KEK dropped, not with the new one dropped, not as another
 * record; a second rewrap (format 2 to 2) and a rewrap of a blob already
 * on the primary work; a flipped value_kek_version fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "proto-limits.h"
#include "unit-crypto.h"

/* The fixed keys and nonces of the known-answer vectors. */
static uint8_t kat_kek_key[KEK_SIZE];                /* 00 01 .. 1f */
static uint8_t kat_dek[KEK_SIZE];                    /* a0 a1 .. bf */
static uint8_t kat_dek_nonce[ENVELOPE_NONCE_SIZE];   /* 40 41 .. 57 */
static uint8_t kat_value_nonce[ENVELOPE_NONCE_SIZE]; /* 60 61 .. 77 */

#define KAT_BIG_KEK_VERSION INT64_C(0x0102030405060708)

typedef struct Vector {
        const char *what;
        int64_t kek_version;
        RecordId id;
        const char *plaintext;
        size_t size;
        const char *hex;
} Vector;

/* Computed once from envelope_seal_with() and checked against an
 * independent implementation of the format (envelope-kat.py beside this
 * file). Never edit these: a change of the sealed format needs a new format
 * number, and data sealed in format 1 must still open. */
static const Vector vectors[] = {
        {
                .what = "empty value",
                .kek_version = 1,
                .id = { RECORD_SECRET, "todo", "empty", 1 },
                .plaintext = "",
                .size = 0,
                .hex = "010000000000000001404142434445464748494a4b4c4d4e4f50515253545556"
                       "577498a7d37445dfb1275d2d150331cb3d220b1f77a7ece52dd28847feb5b99d"
                       "2f3fffbf112a8895d650361adb17e138ac606162636465666768696a6b6c6d6e"
                       "6f707172737475767713bf3973960b1174842a0a476fe68aad",
        },
        {
                .what = "short text",
                .kek_version = 1,
                .id = { RECORD_SECRET, "todo", "client_secret", 3 },
                .plaintext = "hunter2",
                .size = 7,
                .hex = "010000000000000001404142434445464748494a4b4c4d4e4f50515253545556"
                       "577498a7d37445dfb1275d2d150331cb3d220b1f77a7ece52dd28847feb5b99d"
                       "2f726708de4410e35e8d86bf8caa18964a606162636465666768696a6b6c6d6e"
                       "6f70717273747576772b2e2d38dd23ac71c59eff24fe8b7a8c22d393e795a60e",
        },
        {
                .what = "binary secret, large KEK and record versions",
                .kek_version = KAT_BIG_KEK_VERSION,
                .id = { RECORD_SECRET, "acme.billing", "api:key@v2", INT64_C(0x1122334455667788) },
                .plaintext = "\x00\x01\xfe\xff secret \x00",
                .size = 13,
                .hex = "010102030405060708404142434445464748494a4b4c4d4e4f50515253545556"
                       "577498a7d37445dfb1275d2d150331cb3d220b1f77a7ece52dd28847feb5b99d"
                       "2fe0e093af93dcfe17f6ca17547d0a5764606162636465666768696a6b6c6d6e"
                       "6f7071727374757677435abdb39822fbccadf51fac714f906689daabfc8fe83a"
                       "9bee63bdb7d5",
        },
        {
                .what = "token record",
                .kek_version = 1,
                .id = { RECORD_TOKEN, "todo", "user@example.com", 2 },
                .plaintext = "{\"access_token\":\"at-123\",\"token_type\":\"Bearer\",\"expires_at\":1700000000}",
                .size = 71,
                .hex = "010000000000000001404142434445464748494a4b4c4d4e4f50515253545556"
                       "577498a7d37445dfb1275d2d150331cb3d220b1f77a7ece52dd28847feb5b99d"
                       "2f62694acad811f2c684d2d05af74c44eb606162636465666768696a6b6c6d6e"
                       "6f70717273747576773879222fdb34eddc80e404e7148c6a6840ed24a85cb255"
                       "c08c87789184a19833b3398051111e2a4c2f18f6d3ccf0a87883584192e2bd82"
                       "72e64cd2ce8fc9e9c4c25252711368af99c49322a9dfb7900ba3cd912e095694",
        },
};

static const uint8_t root_key[ROOT_KEY_SIZE] = { 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                                 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                                 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x01 };

/* A real, complete keyring under root_key: KEK 1 (random, primary) and an
 * index key, as a new vault gets. */
static int setup_keyring(void **state) {
        Keyring *k = NULL;
        if (test_keyring_new(root_key, &k) < 0)
                return -1;
        *state = k;
        return 0;
}

static int teardown_keyring(void **state) {
        keyring_free(*state);
        return 0;
}

static void seal(Keyring *k, const RecordId *id, const void *plaintext, size_t size, uint8_t **ret, size_t *ret_size) {
        int64_t kek_version = 0;
        assert_int_equal(envelope_seal(k, id, plaintext, size, ret, ret_size, &kek_version), 0);
        assert_int_equal(*ret_size, ENVELOPE_OVERHEAD + size);
        assert_int_equal(kek_version, keyring_primary(k)->version);
}

/* Open and expect failure: the output stays untouched. */
static void assert_open_fails(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t size, int want) {
        SecretBuf *out = NULL;
        int r = envelope_open(k, id, sealed, size, &out);
        if (r != want)
                fail_msg("envelope_open: want %d, got %d", want, r);
        assert_null(out);
}

static void test_known_answers(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                const Vector *v = &vectors[i];
                const Kek kek = { .version = v->kek_version, .key = kat_kek_key };
                size_t size = ENVELOPE_OVERHEAD + v->size;
                uint8_t *sealed = malloc(size);

                assert_non_null(sealed);
                envelope_seal_with(&kek, &v->id, kat_dek, kat_dek_nonce, kat_value_nonce,
                                   (const uint8_t *) v->plaintext, v->size, sealed);
                char *hex = hex_of(sealed, size);
                if (strcmp(hex, v->hex) != 0)
                        fail_msg("vector '%s': sealed is\n%s\nwant\n%s", v->what, hex, v->hex);
                free(hex);
                free(sealed);
        }
}

/* The known answers open through the real keyring and envelope_open(): the
 * keyring is given KEK 00..1f under both KEK versions used, wrapped as
 * keyring.c wraps KEKs and unwrapped by keyring_kek_unwrap(). */
static void test_known_answers_open(void **state) {
        (void) state;
        uint8_t idx[KEK_WRAPPED_SIZE];
        Keyring *k = NULL;

        assert_int_equal(keyring_new(root_key_dup(root_key), &k), 0);
        /* The newer KEK is the primary, as a rotation leaves it
         * (keyring_complete() refuses an older one). */
        assert_int_equal(test_kek_load(k, root_key, 1, false, kat_kek_key), 0);
        assert_int_equal(test_kek_load(k, root_key, KAT_BIG_KEK_VERSION, true, kat_kek_key), 0);
        assert_int_equal(keyring_index_key_create(k, idx), 0);
        assert_int_equal(keyring_complete(k), 0);
        assert_int_equal(keyring_size(k), 2);

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                const Vector *v = &vectors[i];
                size_t size = strlen(v->hex) / 2;
                uint8_t *sealed = malloc(size + 1);
                SecretBuf *out = NULL;

                assert_non_null(sealed);
                assert_int_equal(sodium_hex2bin(sealed, size + 1, v->hex, strlen(v->hex), NULL, &size, NULL), 0);
                assert_int_equal(envelope_open(k, &v->id, sealed, size, &out), 0);
                assert_int_equal(out->size, v->size);
                assert_memory_equal(out->data, v->plaintext, v->size);
                assert_int_equal(out->data[v->size], 0);
                secret_buf_free(out);
                free(sealed);
        }
        keyring_free(k);
}

static void test_header_layout(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL;
        size_t size = 0;

        seal(k, &id, "abc", 3, &sealed, &size);
        assert_int_equal(sealed[0], ENVELOPE_FORMAT);
        assert_int_equal(ENVELOPE_FORMAT, 1);
        assert_int_equal(keyring_primary(k)->version, 1);
        static const uint8_t v1[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
        assert_memory_equal(sealed + 1, v1, 8);
        assert_int_equal(ENVELOPE_OVERHEAD, 1 + 8 + 24 + 48 + 24 + 16);
        free(sealed);

        /* Big-endian, every byte in its place. */
        const Kek kek = { .version = KAT_BIG_KEK_VERSION, .key = kat_kek_key };
        uint8_t out[ENVELOPE_OVERHEAD + 3];
        envelope_seal_with(&kek, &id, kat_dek, kat_dek_nonce, kat_value_nonce, (const uint8_t *) "abc", 3, out);
        static const uint8_t big[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        assert_int_equal(out[0], 1);
        assert_memory_equal(out + 1, big, 8);
        /* The nonces are stored as given, where envelope.h says. */
        assert_memory_equal(out + 9, kat_dek_nonce, ENVELOPE_NONCE_SIZE);
        assert_memory_equal(out + 9 + 24 + 48, kat_value_nonce, ENVELOPE_NONCE_SIZE);
}

static void test_round_trip(void **state) {
        Keyring *k = *state;
        static uint8_t value[SECRET_VALUE_SIZE_MAX];
        const size_t sizes[] = { 0, 1, 15, 16, 17, 255, 4096, SECRET_VALUE_SIZE_MAX };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                const RecordId id = { i % 2 ? RECORD_TOKEN : RECORD_SECRET, "plugin", "name", (int64_t) i + 1 };
                uint8_t *sealed = NULL;
                size_t sealed_size = 0;
                SecretBuf *out = NULL;

                randombytes_buf(value, sizes[i]);
                seal(k, &id, value, sizes[i], &sealed, &sealed_size);
                /* Ciphertext, not the value: no long run of it in the blob. */
                if (sizes[i] >= 16)
                        assert_null(memmem(sealed, sealed_size, value, 16));
                assert_int_equal(envelope_open(k, &id, sealed, sealed_size, &out), 0);
                assert_int_equal(out->size, sizes[i]);
                if (sizes[i] > 0)
                        assert_memory_equal(out->data, value, sizes[i]);
                secret_buf_free(out);
                free(sealed);
        }
}

static void test_fresh_dek_and_nonces(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *a = NULL, *b = NULL;
        size_t a_size = 0, b_size = 0;

        seal(k, &id, "same", 4, &a, &a_size);
        seal(k, &id, "same", 4, &b, &b_size);
        assert_int_equal(a_size, b_size);
        /* Same record, same value: the nonces, wrapped DEK and ciphertext
         * all differ; only the header is the same. */
        assert_memory_equal(a, b, ENVELOPE_HEADER_SIZE);
        for (size_t off = ENVELOPE_HEADER_SIZE; off + 8 <= a_size; off += 8)
                assert_memory_not_equal(a + off, b + off, 8);
        free(a);
        free(b);
}

static void test_wrong_associated_data(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "todo", "client_secret", 3 };
        const RecordId others[] = {
                { RECORD_SECRET, "tod0", "client_secret", 3 }, /* other plugin */
                { RECORD_SECRET, "todo", "client_secreT", 3 }, /* other name */
                { RECORD_SECRET, "todo", "client_secret", 2 }, /* older version */
                { RECORD_SECRET, "todo", "client_secret", 4 }, /* newer version */
                { RECORD_TOKEN, "todo", "client_secret", 3 },  /* other kind */
                { RECORD_SECRET, "todoc", "lient_secret", 3 }, /* same bytes, other split */
                { RECORD_SECRET, "client_secret", "todo", 3 }, /* plugin and name swapped */
        };
        uint8_t *sealed = NULL;
        size_t size = 0;
        SecretBuf *out = NULL;

        seal(k, &id, "s3cr3t", 6, &sealed, &size);
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                assert_open_fails(k, &others[i], sealed, size, -EUCLEAN);
        /* The right identity still opens it. */
        assert_int_equal(envelope_open(k, &id, sealed, size, &out), 0);
        assert_memory_equal(out->data, "s3cr3t", 6);
        secret_buf_free(out);
        free(sealed);
}

static void test_swapped_blobs(void **state) {
        Keyring *k = *state;
        const RecordId a = { RECORD_SECRET, "todo", "client_id", 1 };
        const RecordId b = { RECORD_SECRET, "todo", "client_secret", 1 };
        uint8_t *sa = NULL, *sb = NULL;
        size_t sa_size = 0, sb_size = 0;

        seal(k, &a, "value-a", 7, &sa, &sa_size);
        seal(k, &b, "value-b", 7, &sb, &sb_size);
        assert_open_fails(k, &a, sb, sb_size, -EUCLEAN);
        assert_open_fails(k, &b, sa, sa_size, -EUCLEAN);

        /* Splicing: a's wrapped DEK with b's value ciphertext. */
        size_t dek_end = ENVELOPE_HEADER_SIZE + ENVELOPE_NONCE_SIZE + KEK_SIZE + ENVELOPE_TAG_SIZE;
        uint8_t *mix = malloc(sa_size);
        assert_non_null(mix);
        memcpy(mix, sa, dek_end);
        memcpy(mix + dek_end, sb + dek_end, sa_size - dek_end);
        assert_open_fails(k, &a, mix, sa_size, -EUCLEAN);
        assert_open_fails(k, &b, mix, sa_size, -EUCLEAN);
        free(mix);
        free(sa);
        free(sb);
}

static void test_every_byte_flipped(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL;
        size_t size = 0;
        const uint8_t flips[] = { 0x01, 0x80, 0xff };

        seal(k, &id, "abcde", 5, &sealed, &size);
        for (size_t pos = 0; pos < size; pos++)
                for (size_t j = 0; j < ELEMENTSOF(flips); j++) {
                        int want = -EUCLEAN; /* the format, the KEK version or the rest */
                        sealed[pos] ^= flips[j];
                        SecretBuf *out = NULL;
                        int r = envelope_open(k, &id, sealed, size, &out);
                        if (r != want)
                                fail_msg("byte %zu ^ %#x: want %d, got %d", pos, flips[j], want, r);
                        assert_null(out);
                        sealed[pos] ^= flips[j];
                }
        /* And back to the original, it opens. */
        SecretBuf *out = NULL;
        assert_int_equal(envelope_open(k, &id, sealed, size, &out), 0);
        secret_buf_free(out);
        free(sealed);
}

static void test_truncated_or_extended(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL;
        size_t size = 0;

        seal(k, &id, "abcdefgh", 8, &sealed, &size);
        /* Shorter than any sealed blob: not in the format. */
        for (size_t n = 0; n < ENVELOPE_OVERHEAD; n++)
                assert_open_fails(k, &id, sealed, n, -EUCLEAN);
        /* Long enough to parse, but the value ciphertext is cut: the tag
         * does not authenticate. */
        for (size_t n = ENVELOPE_OVERHEAD; n < size; n++)
                assert_open_fails(k, &id, sealed, n, -EUCLEAN);

        uint8_t *longer = malloc(size + 1);
        assert_non_null(longer);
        memcpy(longer, sealed, size);
        longer[size] = 0;
        assert_open_fails(k, &id, longer, size + 1, -EUCLEAN);
        free(longer);
        free(sealed);
}

static void test_unknown_format(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t *sealed = NULL;
        size_t size = 0;

        seal(k, &id, "x", 1, &sealed, &size);
        sealed[0] = 0;
        assert_open_fails(k, &id, sealed, size, -EUCLEAN);
        sealed[0] = 2;
        assert_open_fails(k, &id, sealed, size, -EUCLEAN);
        free(sealed);
}

static void test_unknown_kek_version(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_SECRET, "p", "n", 1 };
        uint8_t sealed[ENVELOPE_OVERHEAD + 1];

        /* Sealed under a KEK version 2 this keyring does not have: the
         * keyring holds every KEK the vault ever made, so a record naming
         * another one was altered (its header tampered with), not sealed
         * by a key we lost. */
        const Kek kek2 = { .version = 2, .key = kat_kek_key };
        envelope_seal_with(&kek2, &id, kat_dek, kat_dek_nonce, kat_value_nonce, (const uint8_t *) "x", 1, sealed);
        assert_null(keyring_find(k, 2));
        assert_open_fails(k, &id, sealed, sizeof(sealed), -EUCLEAN);

        /* Version 0 and the largest version are unknown too. */
        memset(sealed + 1, 0, 8);
        assert_open_fails(k, &id, sealed, sizeof(sealed), -EUCLEAN);
        memset(sealed + 1, 0xff, 8);
        assert_open_fails(k, &id, sealed, sizeof(sealed), -EUCLEAN);

        /* Version 1 is known but its key is another: it does not open. */
        memset(sealed + 1, 0, 8);
        sealed[8] = 1;
        assert_open_fails(k, &id, sealed, sizeof(sealed), -EUCLEAN);
}

/* The value's nonce, ciphertext and tag: the last bytes of any format. */
static const uint8_t *value_part(const uint8_t *sealed, size_t size, size_t plain_size) {
        return sealed + size - (ENVELOPE_NONCE_SIZE + plain_size + ENVELOPE_TAG_SIZE);
}

static void assert_opens(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t size, const char *want) {
        SecretBuf *out = NULL;
        assert_int_equal(envelope_open(k, id, sealed, size, &out), 0);
        assert_int_equal(out->size, strlen(want));
        assert_memory_equal(out->data, want, strlen(want));
        secret_buf_free(out);
}

static void test_rewrap(void **state) {
        Keyring *k = *state;
        const RecordId id = { RECORD_TOKEN, "todo", "alice@example.com", 3 };
        const RecordId other = { RECORD_TOKEN, "todo", "bob@example.com", 3 };
        uint8_t w[KEK_WRAPPED_SIZE], *sealed = NULL, *re = NULL, *re2 = NULL, *same = NULL;
        size_t size = 0, re_size = 0, re2_size = 0, same_size = 0;
        int64_t kek = 0, got = 0;
        const char *value = "the value, sealed once";
        size_t n = strlen(value);

        seal(k, &id, value, n, &sealed, &size);
        assert_int_equal(keyring_kek_create(k, 2, w), 0);
        assert_int_equal(envelope_rewrap(k, &id, sealed, size, &re, &re_size, &kek), 0);
        assert_int_equal(kek, 2);
        assert_int_equal(re_size, ENVELOPE_OVERHEAD_REWRAPPED + n);
        assert_int_equal(re[0], ENVELOPE_FORMAT_REWRAPPED);
        assert_int_equal(envelope_kek_version(re, re_size, &got), 0);
        assert_int_equal(got, 2);
        assert_int_equal(re[1 + 8 + 7], 1); /* the value's KEK: 1 */
        /* The value's nonce and ciphertext are the same bytes. */
        assert_memory_equal(value_part(re, re_size, n), value_part(sealed, size, n),
                            ENVELOPE_NONCE_SIZE + n + ENVELOPE_TAG_SIZE);
        assert_opens(k, &id, re, re_size, value);
        /* Bound to the record still. */
        assert_open_fails(k, &other, re, re_size, -EUCLEAN);
        assert_int_equal(envelope_rewrap(k, &other, sealed, size, &re2, &re2_size, &kek), -EUCLEAN);

        /* The old KEK is not needed any more; the old blob needs it. */
        assert_int_equal(keyring_kek_drop(k, 1), 0);
        assert_null(keyring_find(k, 1));
        assert_opens(k, &id, re, re_size, value);
        assert_open_fails(k, &id, sealed, size, -EUCLEAN);

        /* Rewrapped again (2 to 2 is a copy; then 2 to 3). */
        assert_int_equal(envelope_rewrap(k, &id, re, re_size, &same, &same_size, &kek), 0);
        assert_int_equal(kek, 2);
        assert_int_equal(same_size, re_size);
        assert_memory_equal(same, re, re_size);
        assert_int_equal(keyring_kek_create(k, 3, w), 0);
        assert_int_equal(envelope_rewrap(k, &id, re, re_size, &re2, &re2_size, &kek), 0);
        assert_int_equal(kek, 3);
        assert_int_equal(re2[1 + 8 + 7], 1);
        assert_memory_equal(value_part(re2, re2_size, n), value_part(sealed, size, n),
                            ENVELOPE_NONCE_SIZE + n + ENVELOPE_TAG_SIZE);
        assert_int_equal(keyring_kek_drop(k, 2), 0);
        assert_opens(k, &id, re2, re2_size, value);

        /* The value's KEK version is under the DEK's tag; and a wrong KEK
         * (the header pointing at another one) fails. */
        re2[1 + 8 + 7] ^= 1;
        assert_open_fails(k, &id, re2, re2_size, -EUCLEAN);
        re2[1 + 8 + 7] ^= 1;
        assert_int_equal(keyring_kek_create(k, 4, w), 0);
        re2[1 + 7] = 4;
        assert_open_fails(k, &id, re2, re2_size, -EUCLEAN);
        assert_int_equal(envelope_rewrap(k, &id, re2, re2_size, &re, &re_size, &kek) < 0, 1);
        re2[1 + 7] = 3;
        assert_opens(k, &id, re2, re2_size, value);
        free(sealed);
        free(re);
        free(re2);
        free(same);
}

/* Names longer than the protocol allows come only from a database
 * writer: refused, never copied into the associated data's buffer. */
static void test_overlong_names_refused(void **state) {
        Keyring *k = *state;
        static char long_name[6001];
        const RecordId good = { RECORD_SECRET, "plugin", "name", 1 };
        uint8_t *sealed = NULL, *re = NULL;
        size_t size = 0, re_size = 0;
        int64_t kek = 0;
        SecretBuf *out = NULL;

        memset(long_name, 'A', sizeof(long_name) - 1);
        seal(k, &good, "v", 1, &sealed, &size);
        const RecordId long_plugin = { RECORD_SECRET, long_name, "name", 1 };
        const RecordId long_object = { RECORD_SECRET, "plugin", long_name, 1 };
        assert_int_equal(envelope_open(k, &long_plugin, sealed, size, &out), -EUCLEAN);
        assert_int_equal(envelope_open(k, &long_object, sealed, size, &out), -EUCLEAN);
        assert_int_equal(envelope_rewrap(k, &long_object, sealed, size, &re, &re_size, &kek), -EUCLEAN);
        assert_int_equal(envelope_seal(k, &long_object, (const uint8_t *) "v", 1, &re, &re_size, &kek), -EINVAL);
        assert_null(out);
        assert_null(re);
        free(sealed);
}

int main(void) {
        bytes_counting(kat_kek_key, sizeof(kat_kek_key), 0x00);
        bytes_counting(kat_dek, sizeof(kat_dek), 0xa0);
        bytes_counting(kat_dek_nonce, sizeof(kat_dek_nonce), 0x40);
        bytes_counting(kat_value_nonce, sizeof(kat_value_nonce), 0x60);
        if (sodium_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known_answers),
                cmocka_unit_test(test_known_answers_open),
                cmocka_unit_test_setup_teardown(test_header_layout, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_round_trip, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_fresh_dek_and_nonces, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_wrong_associated_data, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_swapped_blobs, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_every_byte_flipped, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_truncated_or_extended, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_unknown_format, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_unknown_kek_version, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_rewrap, setup_keyring, teardown_keyring),
                cmocka_unit_test_setup_teardown(test_overlong_names_refused, setup_keyring, teardown_keyring),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
