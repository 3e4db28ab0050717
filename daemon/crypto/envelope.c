/* envelope.c — per-value envelope encryption (see envelope.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.h"
#include "proto-limits.h"

#define AD_LABEL "credvault record"
/* label, header, kind, version, two length-prefixed names */
#define AD_SIZE_MAX                                                                                                    \
        (sizeof(AD_LABEL) + ENVELOPE_HEADER_REWRAPPED_SIZE + 1 + 8 + 2 + NAME_SIZE_MAX + 2 + USER_ID_SIZE_MAX)

static void put_u64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static size_t put_string(uint8_t *p, const char *s) {
        size_t n = strlen(s);
        p[0] = (uint8_t) (n >> 8);
        p[1] = (uint8_t) n;
        memcpy(p + 2, s, n);
        return 2 + n;
}

/* Whether a record's identity fits the associated data. Names come from
 * checked requests when a value is sealed, but from database rows when
 * one is opened or rewrapped, and a database writer may put any length
 * there: refused, never copied into AD_SIZE_MAX bytes. */
static bool id_fits(const RecordId *id) {
        return id->plugin && id->name && strnlen(id->plugin, NAME_SIZE_MAX + 1) <= NAME_SIZE_MAX &&
               strnlen(id->name, USER_ID_SIZE_MAX + 1) <= USER_ID_SIZE_MAX;
}

/* Length prefixes make the encoding injective: ("ab","c") and ("a","bc")
 * give different associated data. */
static size_t build_ad_sized(const uint8_t *header, size_t header_size, const RecordId *id,
                             uint8_t ad[static AD_SIZE_MAX]) {
        size_t n = 0;
        memcpy(ad, AD_LABEL, sizeof(AD_LABEL));
        n += sizeof(AD_LABEL);
        memcpy(ad + n, header, header_size);
        n += header_size;
        ad[n++] = (uint8_t) id->kind;
        put_u64(ad + n, (uint64_t) id->version);
        n += 8;
        n += put_string(ad + n, id->plugin);
        n += put_string(ad + n, id->name);
        return n;
}

static size_t build_ad(const uint8_t header[static ENVELOPE_HEADER_SIZE], const RecordId *id,
                       uint8_t ad[static AD_SIZE_MAX]) {
        return build_ad_sized(header, ENVELOPE_HEADER_SIZE, id, ad);
}

/* Where a sealed blob's parts are, whatever its format. */
typedef struct Layout {
        size_t header_size;        /* the DEK's associated data covers this much */
        int64_t kek_version;       /* the DEK is wrapped under */
        int64_t value_kek_version; /* the value's associated data names */
        size_t value_size;
} Layout;

static int layout_of(const uint8_t *sealed, size_t sealed_size, Layout *ret) {
        /* Stored data in no format we wrote is damage, not a bad request. */
        if (sealed_size < ENVELOPE_OVERHEAD)
                return -EUCLEAN;
        if (sealed[0] == ENVELOPE_FORMAT) {
                int64_t v = (int64_t) get_u64(sealed + 1);
                *ret = (Layout) { ENVELOPE_HEADER_SIZE, v, v, sealed_size - ENVELOPE_OVERHEAD };
                return 0;
        }
        if (sealed[0] == ENVELOPE_FORMAT_REWRAPPED && sealed_size >= ENVELOPE_OVERHEAD_REWRAPPED) {
                *ret = (Layout) { ENVELOPE_HEADER_REWRAPPED_SIZE, (int64_t) get_u64(sealed + 1),
                                  (int64_t) get_u64(sealed + 1 + 8), sealed_size - ENVELOPE_OVERHEAD_REWRAPPED };
                return 0;
        }
        return -EUCLEAN;
}

/* The associated data the value was sealed with: its identity and the
 * format-1 header of the KEK it was sealed under. */
static size_t value_ad(const Layout *l, const RecordId *id, uint8_t ad[static AD_SIZE_MAX]) {
        uint8_t header[ENVELOPE_HEADER_SIZE];
        header[0] = ENVELOPE_FORMAT;
        put_u64(header + 1, (uint64_t) l->value_kek_version);
        return build_ad(header, id, ad);
}

/* Unwrap a blob's DEK into dek. -EUCLEAN if it does not authenticate or
 * its KEK is not in the ring. */
static int dek_unwrap(Keyring *k, const RecordId *id, const uint8_t *sealed, const Layout *l, uint8_t *dek) {
        uint8_t ad[AD_SIZE_MAX];
        /* The keyring holds every KEK that still wraps a record (only
         * unused ones are retired), so a version it does not know was
         * written into the header by someone else: damage, like a failed
         * tag, not a missing key. */
        const Kek *kek = keyring_find(k, l->kek_version);
        if (!kek)
                return -EUCLEAN;
        size_t ad_size = build_ad_sized(sealed, l->header_size, id, ad);
        const uint8_t *p = sealed + l->header_size;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(dek, NULL, NULL, p + ENVELOPE_NONCE_SIZE,
                                                       KEK_SIZE + ENVELOPE_TAG_SIZE, ad, ad_size, p, kek->key) != 0)
                return -EUCLEAN;
        return 0;
}

int envelope_kek_version(const uint8_t *sealed, size_t sealed_size, int64_t *ret) {
        Layout l;
        int r = layout_of(sealed, sealed_size, &l);
        if (r < 0)
                return r;
        *ret = l.kek_version;
        return 0;
}

void envelope_seal_with(const Kek *kek, const RecordId *id, const uint8_t dek[static KEK_SIZE],
                        const uint8_t dek_nonce[static ENVELOPE_NONCE_SIZE],
                        const uint8_t value_nonce[static ENVELOPE_NONCE_SIZE], const uint8_t *plaintext, size_t size,
                        uint8_t *ret_sealed) {
        uint8_t ad[AD_SIZE_MAX], *p = ret_sealed;

        p[0] = ENVELOPE_FORMAT;
        put_u64(p + 1, (uint64_t) kek->version);
        size_t ad_size = build_ad(p, id, ad);
        p += ENVELOPE_HEADER_SIZE;

        memcpy(p, dek_nonce, ENVELOPE_NONCE_SIZE);
        p += ENVELOPE_NONCE_SIZE;
        crypto_aead_xchacha20poly1305_ietf_encrypt(p, NULL, dek, KEK_SIZE, ad, ad_size, NULL, dek_nonce, kek->key);
        p += KEK_SIZE + ENVELOPE_TAG_SIZE;

        memcpy(p, value_nonce, ENVELOPE_NONCE_SIZE);
        p += ENVELOPE_NONCE_SIZE;
        crypto_aead_xchacha20poly1305_ietf_encrypt(p, NULL, plaintext, size, ad, ad_size, NULL, value_nonce, dek);
}

int envelope_seal(Keyring *k, const RecordId *id, const uint8_t *plaintext, size_t size, uint8_t **ret_sealed,
                  size_t *ret_sealed_size, int64_t *ret_kek_version) {
        uint8_t dek_nonce[ENVELOPE_NONCE_SIZE], value_nonce[ENVELOPE_NONCE_SIZE];
        uint8_t *dek = keyring_dek_scratch(k);
        const Kek *kek = keyring_primary(k);

        if (!id_fits(id))
                return -EINVAL;
        uint8_t *sealed;

        sealed = malloc(ENVELOPE_OVERHEAD + size);
        if (!sealed)
                return -ENOMEM;
        crypto_aead_xchacha20poly1305_ietf_keygen(dek);
        randombytes_buf(dek_nonce, sizeof(dek_nonce));
        randombytes_buf(value_nonce, sizeof(value_nonce));
        envelope_seal_with(kek, id, dek, dek_nonce, value_nonce, plaintext, size, sealed);
        sodium_memzero(dek, KEK_SIZE);

        *ret_sealed = sealed;
        *ret_sealed_size = ENVELOPE_OVERHEAD + size;
        *ret_kek_version = kek->version;
        return 0;
}

int envelope_open(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t sealed_size, SecretBuf **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *b = NULL;
        uint8_t ad[AD_SIZE_MAX];
        uint8_t *dek = keyring_dek_scratch(k);
        Layout l;

        if (!id_fits(id))
                return -EUCLEAN;
        int r;

        r = layout_of(sealed, sealed_size, &l);
        if (r < 0)
                return r;
        r = dek_unwrap(k, id, sealed, &l, dek);
        if (r < 0)
                return r;
        const uint8_t *p = sealed + l.header_size + ENVELOPE_NONCE_SIZE + KEK_SIZE + ENVELOPE_TAG_SIZE;

        r = secret_buf_new(l.value_size, &b);
        if (r < 0) {
                sodium_memzero(dek, KEK_SIZE);
                return r;
        }
        size_t ad_size = value_ad(&l, id, ad);
        r = crypto_aead_xchacha20poly1305_ietf_decrypt(b->data, NULL, NULL, p + ENVELOPE_NONCE_SIZE,
                                                       l.value_size + ENVELOPE_TAG_SIZE, ad, ad_size, p, dek);
        sodium_memzero(dek, KEK_SIZE);
        if (r != 0)
                return -EUCLEAN;

        *ret = TAKE_PTR(b);
        return 0;
}

int envelope_rewrap(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t sealed_size, uint8_t **ret_sealed,
                    size_t *ret_sealed_size, int64_t *ret_kek_version) {
        uint8_t ad[AD_SIZE_MAX];
        uint8_t *dek = keyring_dek_scratch(k);
        const Kek *primary = keyring_primary(k);

        if (!id_fits(id))
                return -EUCLEAN;
        Layout l;
        int r;

        r = layout_of(sealed, sealed_size, &l);
        if (r < 0)
                return r;
        r = dek_unwrap(k, id, sealed, &l, dek);
        if (r < 0)
                return r;

        size_t size = ENVELOPE_OVERHEAD_REWRAPPED + l.value_size;
        uint8_t *out = malloc(size);
        if (!out) {
                sodium_memzero(dek, KEK_SIZE);
                return -ENOMEM;
        }
        if (l.kek_version == primary->version) {
                /* Already there (a rewrap that ran before): as it is. */
                sodium_memzero(dek, KEK_SIZE);
                memcpy(out, sealed, sealed_size);
                *ret_sealed = out;
                *ret_sealed_size = sealed_size;
                *ret_kek_version = l.kek_version;
                return 0;
        }

        uint8_t *p = out;
        p[0] = ENVELOPE_FORMAT_REWRAPPED;
        put_u64(p + 1, (uint64_t) primary->version);
        put_u64(p + 1 + 8, (uint64_t) l.value_kek_version);
        size_t ad_size = build_ad_sized(out, ENVELOPE_HEADER_REWRAPPED_SIZE, id, ad);
        p += ENVELOPE_HEADER_REWRAPPED_SIZE;
        randombytes_buf(p, ENVELOPE_NONCE_SIZE);
        crypto_aead_xchacha20poly1305_ietf_encrypt(p + ENVELOPE_NONCE_SIZE, NULL, dek, KEK_SIZE, ad, ad_size, NULL, p,
                                                   primary->key);
        sodium_memzero(dek, KEK_SIZE);
        p += ENVELOPE_NONCE_SIZE + KEK_SIZE + ENVELOPE_TAG_SIZE;
        /* The value's nonce and ciphertext, byte for byte. */
        const uint8_t *value = sealed + l.header_size + ENVELOPE_NONCE_SIZE + KEK_SIZE + ENVELOPE_TAG_SIZE;
        memcpy(p, value, ENVELOPE_NONCE_SIZE + l.value_size + ENVELOPE_TAG_SIZE);

        *ret_sealed = out;
        *ret_sealed_size = size;
        *ret_kek_version = primary->version;
        return 0;
}
