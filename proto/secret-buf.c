/* secret-buf.c — plaintext buffers that wipe themselves (see secret-buf.h).
 *
 * Plain malloc, not sodium_malloc: these live for one request, and
 * sodium_malloc costs several system calls per allocation, which would be
 * most of a secret.get. The daemon locks all its memory (mlockall) so they
 * never reach swap; long-lived keys use sodium_malloc (daemon/keyring.c). */
#include <errno.h>
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

int secret_buf_from_base64(const char *b64, size_t b64_size, SecretBuf **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *b = NULL;
        size_t bin_size;
        int r;

        if (b64_size % 4 != 0)
                return -EINVAL;
        r = secret_buf_new(b64_size / 4 * 3, &b);
        if (r < 0)
                return r;
        /* Variant ORIGINAL insists on padding and rejects trailing bytes, so
         * each value has exactly one encoding. */
        if (sodium_base642bin(b->data, b->size, b64, b64_size, NULL, &bin_size, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
                return -EINVAL;
        sodium_memzero(b->data + bin_size, b->size - bin_size);
        b->size = bin_size;
        *ret = TAKE_PTR(b);
        return 0;
}

int secret_buf_to_base64(const void *data, size_t size, SecretBuf **ret) {
        size_t b64_alloc = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
        SecretBuf *b;
        int r = secret_buf_new(b64_alloc, &b);
        if (r < 0)
                return r;
        sodium_bin2base64((char *) b->data, b64_alloc, data, size, sodium_base64_VARIANT_ORIGINAL);
        b->size = b64_alloc - 1; /* the encoded length counts the NUL */
        *ret = b;
        return 0;
}
