/* secret-buf.h — the one type plaintext secret values travel in.
 *
 * Owns: allocation, base64 conversion and wiping of plaintext bytes. Every
 * copy of a secret value outside the crypto itself lives in a SecretBuf, so
 * that one free function is where plaintext dies. The bytes are followed by a
 * NUL that is not counted in size, so a text value can be used as a string. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct SecretBuf {
        size_t size;
        uint8_t data[];
} SecretBuf;

/* A zero-filled buffer of size bytes. -ENOMEM. */
int secret_buf_new(size_t size, SecretBuf **ret);
/* A copy of data. -ENOMEM. */
int secret_buf_new_copy(const void *data, size_t size, SecretBuf **ret);
/* Wipe and free; accepts NULL. */
void secret_buf_free(SecretBuf *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(SecretBuf *, secret_buf_free);

/* Decode standard padded base64. -EINVAL if b64 is not valid base64. */
int secret_buf_from_base64(const char *b64, size_t b64_size, SecretBuf **ret);
/* Encode as standard padded base64 text (size excludes the NUL). */
int secret_buf_to_base64(const void *data, size_t size, SecretBuf **ret);
