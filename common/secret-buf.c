/* secret-buf.c — plaintext buffers that wipe themselves (see secret-buf.h).
 *
 * Plain malloc, not sodium_malloc: these live for one request, and
 * sodium_malloc costs several system calls per allocation, which would be
 * most of a secret.get. The daemon locks all its memory (mlockall) so they
 * never reach swap; long-lived keys use sodium_malloc (daemon/crypto/keyring.c). */
#include <errno.h>
#include <stdbool.h>
#include <sodium.h>
#include <string.h>

#include "secret-buf.h"

int secret_buf_new(size_t size, SecretBuf **ret) {
        if (size > SIZE_MAX - sizeof(SecretBuf) - 1)
                return -ENOMEM;
        SecretBuf *b = calloc(1, sizeof(SecretBuf) + size + 1);
        if (!b)
                return -ENOMEM;
        b->size = size;
        *ret = b;
        return 0;
}

int secret_buf_new_copy(const void *data, size_t size, SecretBuf **ret) {
        SecretBuf *b;
        int r = secret_buf_new(size, &b);
        if (r < 0)
                return r;
        if (size > 0)
                memcpy(b->data, data, size);
        *ret = b;
        return 0;
}

void secret_buf_free(SecretBuf *b) {
        if (!b)
                return;
        sodium_memzero(b, sizeof(SecretBuf) + b->size + 1);
        free(b);
}

/* Base64 (standard alphabet, padded) in constant time: the time taken
 * depends on the length only, never on the bytes, since the bytes are
 * secrets. libsodium's sodium_base642bin() is constant-time too, but spends
 * ~80 instructions a character, a third of a whole secret.get in the client;
 * these branch-free mappings (after Paragon's constant_time_encoding) take
 * a few. tests/unit/test-secret-buf.c checks them against libsodium. */

/* 0..63 for a base64 character, -1 for anything else. Relies on arithmetic
 * right shifts of negative ints, as gcc and clang do. */
static int b64_decode6(int c) {
        int r = -1;
        r += (((0x40 - c) & (c - 0x5b)) >> 8) & (c - 64); /* A-Z → 0..25 */
        r += (((0x60 - c) & (c - 0x7b)) >> 8) & (c - 70); /* a-z → 26..51 */
        r += (((0x2f - c) & (c - 0x3a)) >> 8) & (c + 5);  /* 0-9 → 52..61 */
        r += (((0x2a - c) & (c - 0x2c)) >> 8) & 63;       /* + → 62 */
        r += (((0x2e - c) & (c - 0x30)) >> 8) & 64;       /* / → 63 */
        return r;
}

static char b64_encode6(int v) {
        int diff = 0x41;
        diff += ((25 - v) >> 8) & 6;   /* 26..51 → a-z */
        diff += ((51 - v) >> 8) & -75; /* 52..61 → 0-9 */
        diff += ((61 - v) >> 8) & -15; /* 62 → + */
        diff += ((62 - v) >> 8) & 3;   /* 63 → / */
        return (char) (v + diff);
}

int secret_buf_from_base64(const char *b64, size_t b64_size, SecretBuf **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *b = NULL;
        size_t pad = 0;
        int r, bad = 0;

        if (b64_size % 4 != 0)
                return -EINVAL;
        /* Padding is public (it gives the length away anyway). */
        if (b64_size > 0 && b64[b64_size - 1] == '=')
                pad = b64_size > 1 && b64[b64_size - 2] == '=' ? 2 : 1;
        r = secret_buf_new(b64_size / 4 * 3 - pad, &b);
        if (r < 0)
                return r;

        uint8_t *out = b->data;
        for (size_t i = 0; i < b64_size; i += 4) {
                bool last = i + 4 == b64_size;
                int v0 = b64_decode6((unsigned char) b64[i]), v1 = b64_decode6((unsigned char) b64[i + 1]);
                int v2 = last && pad == 2 ? 0 : b64_decode6((unsigned char) b64[i + 2]);
                int v3 = last && pad >= 1 ? 0 : b64_decode6((unsigned char) b64[i + 3]);
                bad |= (v0 | v1 | v2 | v3) >> 8; /* any -1 sets every bit */
                uint32_t n = (uint32_t) (v0 & 63) << 18 | (uint32_t) (v1 & 63) << 12 | (uint32_t) (v2 & 63) << 6 |
                             (uint32_t) (v3 & 63);
                *out++ = (uint8_t) (n >> 16);
                if (!last || pad < 2)
                        *out++ = (uint8_t) (n >> 8);
                else
                        bad |= (int) (n & 0xffff); /* bits the padding says are unused must be zero */
                if (!last || pad < 1)
                        *out++ = (uint8_t) n;
                else if (pad == 1)
                        bad |= (int) (n & 0xff);
        }
        /* '=' anywhere but the end was decoded as -1 above. */
        if (bad)
                return -EINVAL;
        *ret = TAKE_PTR(b);
        return 0;
}

int secret_buf_to_base64(const void *data, size_t size, SecretBuf **ret) {
        const uint8_t *in = data;
        SecretBuf *b;
        int r = secret_buf_new((size + 2) / 3 * 4, &b);
        if (r < 0)
                return r;
        char *out = (char *) b->data;
        size_t i = 0;
        for (; i + 3 <= size; i += 3) {
                uint32_t n = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                *out++ = b64_encode6((int) (n >> 18));
                *out++ = b64_encode6((int) (n >> 12) & 63);
                *out++ = b64_encode6((int) (n >> 6) & 63);
                *out++ = b64_encode6((int) n & 63);
        }
        if (i < size) {
                uint32_t n = (uint32_t) in[i] << 16 | (i + 1 < size ? (uint32_t) in[i + 1] << 8 : 0);
                *out++ = b64_encode6((int) (n >> 18));
                *out++ = b64_encode6((int) (n >> 12) & 63);
                *out++ = i + 1 < size ? b64_encode6((int) (n >> 6) & 63) : '=';
                *out++ = '=';
        }
        *ret = b;
        return 0;
}
