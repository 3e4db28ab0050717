/* recovery.c — the recovery key's text and sealing (see recovery.h).
 *
 * The text is meant to be written down or printed and typed back in:
 * Crockford's base32 has no symbols that look alike once I, L and O are
 * read as digits, and is case-free; the checksum tells a typo from
 * another vault's key, which the public key then tells apart. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "recovery.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define CHECK_CONTEXT "credvault recovery check v1"

/* The symbol values of c, or -1: Crockford's decoding. */
static int symbol_value(char c) {
        if (c >= 'a' && c <= 'z')
                c = (char) (c - 'a' + 'A');
        if (c == 'I' || c == 'L')
                return 1;
        if (c == 'O')
                return 0;
        const char *p = c ? strchr(crockford, c) : NULL;
        return p ? (int) (p - crockford) : -1;
}

/* The checksum's 20 bits, as RECOVERY_CHECK_SYMBOLS symbol values. */
static void checksum(const uint8_t *seed, uint8_t ret[static RECOVERY_CHECK_SYMBOLS]) {
        uint8_t h[16];
        crypto_generichash(h, sizeof(h), seed, RECOVERY_SEED_SIZE, (const uint8_t *) CHECK_CONTEXT,
                           strlen(CHECK_CONTEXT));
        uint32_t bits = ((uint32_t) h[0] << 12) | ((uint32_t) h[1] << 4) | (h[2] >> 4);
        for (int i = 0; i < RECOVERY_CHECK_SYMBOLS; i++)
                ret[i] = (uint8_t) ((bits >> (5 * (RECOVERY_CHECK_SYMBOLS - 1 - i))) & 31);
}

int recovery_seed_new(uint8_t **ret_seed) {
        uint8_t *seed = sodium_malloc(RECOVERY_SEED_SIZE);
        if (!seed)
                return -ENOMEM;
        randombytes_buf(seed, RECOVERY_SEED_SIZE);
        *ret_seed = seed;
        return 0;
}

int recovery_text_format(const uint8_t *seed, SecretBuf **ret_text) {
        uint8_t symbols[RECOVERY_SYMBOLS];
        SecretBuf *t = NULL;

        int r = secret_buf_new(RECOVERY_TEXT_SIZE, &t);
        if (r < 0)
                return r;
        /* 256 bits, most significant first, into 52 symbols of 5. */
        for (size_t i = 0; i < RECOVERY_DATA_SYMBOLS; i++) {
                unsigned v = 0;
                for (size_t b = 0; b < 5; b++) {
                        size_t bit = 5 * i + b;
                        unsigned x = bit < 8 * RECOVERY_SEED_SIZE ? (seed[bit / 8] >> (7 - bit % 8)) & 1 : 0;
                        v = (v << 1) | x;
                }
                symbols[i] = (uint8_t) v;
        }
        checksum(seed, symbols + RECOVERY_DATA_SYMBOLS);
        size_t at = 0;
        for (size_t i = 0; i < RECOVERY_SYMBOLS; i++) {
                if (i > 0 && i % RECOVERY_GROUP_SIZE == 0)
                        t->data[at++] = '-';
                t->data[at++] = (uint8_t) crockford[symbols[i]];
        }
        sodium_memzero(symbols, sizeof(symbols));
        *ret_text = t;
        return 0;
}

int recovery_text_parse(const char *text, size_t size, uint8_t **ret_seed) {
        uint8_t symbols[RECOVERY_SYMBOLS], check[RECOVERY_CHECK_SYMBOLS];
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; i < size; i++) {
                char c = text[i];
                if (c == '-' || c == ' ' || c == '\n' || c == '\r' || c == '\t')
                        continue;
                int v = symbol_value(c);
                if (v < 0 || n == RECOVERY_SYMBOLS) {
                        r = -EBADMSG;
                        goto finish;
                }
                symbols[n++] = (uint8_t) v;
        }
        if (n != RECOVERY_SYMBOLS) {
                r = -EBADMSG;
                goto finish;
        }
        uint8_t *seed = sodium_malloc(RECOVERY_SEED_SIZE);
        if (!seed) {
                r = -ENOMEM;
                goto finish;
        }
        memset(seed, 0, RECOVERY_SEED_SIZE);
        bool padding_clean = true;
        for (size_t bit = 0; bit < 5 * RECOVERY_DATA_SYMBOLS; bit++) {
                unsigned x = (symbols[bit / 5] >> (4 - bit % 5)) & 1;
                if (bit >= 8 * RECOVERY_SEED_SIZE)
                        padding_clean = padding_clean && x == 0;
                else if (x)
                        seed[bit / 8] |= (uint8_t) (1u << (7 - bit % 8));
        }
        checksum(seed, check);
        if (!padding_clean || sodium_memcmp(check, symbols + RECOVERY_DATA_SYMBOLS, sizeof(check)) != 0) {
                sodium_free(seed);
                r = -EILSEQ;
                goto finish;
        }
        *ret_seed = seed;
finish:
        sodium_memzero(symbols, sizeof(symbols));
        return r;
}

/* The seed's key pair; the secret half in sodium_malloc() memory. */
static int keypair(const uint8_t *seed, uint8_t ret_public[static RECOVERY_PUBLIC_SIZE], uint8_t **ret_secret) {
        uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
        if (!sk)
                return -ENOMEM;
        if (crypto_box_seed_keypair(ret_public, sk, seed) != 0) {
                sodium_free(sk);
                return -EIO;
        }
        *ret_secret = sk;
        return 0;
}

int recovery_public(const uint8_t *seed, uint8_t ret_public[static RECOVERY_PUBLIC_SIZE]) {
        uint8_t *sk = NULL;
        int r = keypair(seed, ret_public, &sk);
        sodium_free(sk);
        return r;
}

int recovery_seal(const uint8_t *public_key, const uint8_t *root_key, uint8_t ret_sealed[static RECOVERY_SEALED_SIZE]) {
        const size_t label_size = sizeof(RECOVERY_LABEL) - 1;
        uint8_t *msg = sodium_malloc(label_size + ROOT_KEY_SIZE);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, RECOVERY_LABEL, label_size);
        memcpy(msg + label_size, root_key, ROOT_KEY_SIZE);
        int r = crypto_box_seal(ret_sealed, msg, label_size + ROOT_KEY_SIZE, public_key) == 0 ? 0 : -EIO;
        sodium_free(msg);
        return r;
}

int recovery_unseal(const uint8_t *seed, const uint8_t *public_key, size_t public_size, const uint8_t *sealed,
                    size_t sealed_size, uint8_t **ret_root_key) {
        const size_t label_size = sizeof(RECOVERY_LABEL) - 1;
        uint8_t pk[RECOVERY_PUBLIC_SIZE];
        uint8_t *sk = NULL, *msg = NULL;

        int r = keypair(seed, pk, &sk);
        if (r < 0)
                return r;
        if (public_size != RECOVERY_PUBLIC_SIZE || sodium_memcmp(pk, public_key, RECOVERY_PUBLIC_SIZE) != 0) {
                r = -EKEYREJECTED;
                goto finish;
        }
        msg = sodium_malloc(label_size + ROOT_KEY_SIZE);
        if (!msg) {
                r = -ENOMEM;
                goto finish;
        }
        if (sealed_size != RECOVERY_SEALED_SIZE || crypto_box_seal_open(msg, sealed, sealed_size, pk, sk) != 0 ||
            memcmp(msg, RECOVERY_LABEL, label_size) != 0) {
                r = -EUCLEAN;
                goto finish;
        }
        uint8_t *root = sodium_malloc(ROOT_KEY_SIZE);
        if (!root) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(root, msg + label_size, ROOT_KEY_SIZE);
        *ret_root_key = root;
finish:
        sodium_free(msg);
        sodium_free(sk);
        return r;
}
