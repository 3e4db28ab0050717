/* envelope.c — per-value envelope encryption (see envelope.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "proto-limits.h"

#define AD_LABEL "credvault record"
/* label, header, kind, version, two length-prefixed names */
#define AD_SIZE_MAX (sizeof(AD_LABEL) + ENVELOPE_HEADER_SIZE + 1 + 8 + 2 + NAME_SIZE_MAX + 2 + USER_ID_SIZE_MAX)

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

/* Length prefixes make the encoding injective: ("ab","c") and ("a","bc")
 * give different associated data. */
static size_t build_ad(const uint8_t header[static ENVELOPE_HEADER_SIZE], const RecordId *id,
                       uint8_t ad[static AD_SIZE_MAX]) {
        size_t n = 0;
        memcpy(ad, AD_LABEL, sizeof(AD_LABEL));
        n += sizeof(AD_LABEL);
        memcpy(ad + n, header, ENVELOPE_HEADER_SIZE);
        n += ENVELOPE_HEADER_SIZE;
        ad[n++] = (uint8_t) id->kind;
        put_u64(ad + n, (uint64_t) id->version);
        n += 8;
        n += put_string(ad + n, id->plugin);
        n += put_string(ad + n, id->name);
        return n;
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
        int r;

        /* Stored data in no format we wrote is damage, not a bad request. */
        if (sealed_size < ENVELOPE_OVERHEAD || sealed[0] != ENVELOPE_FORMAT)
                return -EUCLEAN;
        /* The keyring holds every KEK this vault ever made (retired ones
         * too), so a version it does not know was written into the header
         * by someone else: damage, like a failed tag, not a missing key. */
        const Kek *kek = keyring_find(k, (int64_t) get_u64(sealed + 1));
        if (!kek)
                return -EUCLEAN;
        size_t ad_size = build_ad(sealed, id, ad);

        const uint8_t *p = sealed + ENVELOPE_HEADER_SIZE;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(dek, NULL, NULL, p + ENVELOPE_NONCE_SIZE,
                                                       KEK_SIZE + ENVELOPE_TAG_SIZE, ad, ad_size, p, kek->key) != 0)
                return -EUCLEAN;
        p += ENVELOPE_NONCE_SIZE + KEK_SIZE + ENVELOPE_TAG_SIZE;

        size_t size = sealed_size - ENVELOPE_OVERHEAD;
        r = secret_buf_new(size, &b);
        if (r < 0) {
                sodium_memzero(dek, KEK_SIZE);
                return r;
        }
        r = crypto_aead_xchacha20poly1305_ietf_decrypt(b->data, NULL, NULL, p + ENVELOPE_NONCE_SIZE,
                                                       size + ENVELOPE_TAG_SIZE, ad, ad_size, p, dek);
        sodium_memzero(dek, KEK_SIZE);
        if (r != 0)
                return -EUCLEAN;

        *ret = TAKE_PTR(b);
        return 0;
}
