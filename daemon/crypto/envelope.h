/* envelope.h — sealing one value under its own data key.
 *
 * Owns: the sealed format and the associated data. Each value gets a fresh
 * random DEK; the DEK is wrapped by the primary KEK and the value sealed by
 * the DEK, both with XChaCha20-Poly1305 and random nonces, both with the
 * record's identity (kind, plugin, name, version) and the KEK version as
 * associated data, so a sealed blob moved to another row or version fails
 * to open. Never: touches SQLite or the network.
 *
 * Sealed format, version 1 (all integers big-endian):
 *   u8 format (1) | u64 kek_version | 24 DEK nonce | 48 wrapped DEK |
 *   24 value nonce | value ciphertext + 16-byte tag
 * The associated data of both the DEK and the value is the record
 * identity and this 9-byte header.
 *
 * Format 2 is a record rewrapped under another KEK (envelope_rewrap()):
 *   u8 format (2) | u64 kek_version | u64 value_kek_version | 24 DEK nonce |
 *   48 wrapped DEK | 24 value nonce | value ciphertext + 16-byte tag
 * The DEK's associated data is the record identity and this 17-byte
 * header; the value's is unchanged from when it was sealed: the identity
 * and the format-1 header of value_kek_version (the KEK it was sealed
 * under, which may be retired since: only its number is used). So a
 * rewrap changes the wrapped DEK and the header, never the value's
 * nonce or ciphertext, and value_kek_version cannot be altered without
 * the DEK failing to unwrap. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "keyring.h"
#include "record.h"
#include "secret-buf.h"

#define ENVELOPE_FORMAT 1
#define ENVELOPE_NONCE_SIZE 24
#define ENVELOPE_TAG_SIZE 16
#define ENVELOPE_HEADER_SIZE (1 + 8)
#define ENVELOPE_OVERHEAD (ENVELOPE_HEADER_SIZE + 2 * ENVELOPE_NONCE_SIZE + KEK_SIZE + 2 * ENVELOPE_TAG_SIZE)
#define ENVELOPE_FORMAT_REWRAPPED 2
#define ENVELOPE_HEADER_REWRAPPED_SIZE (ENVELOPE_HEADER_SIZE + 8)
#define ENVELOPE_OVERHEAD_REWRAPPED (ENVELOPE_OVERHEAD + 8)

/* Seal plaintext for record id under the keyring's primary KEK. The sealed
 * blob (ENVELOPE_OVERHEAD + size bytes, malloc) is ciphertext only. */
int envelope_seal(Keyring *k, const RecordId *id, const uint8_t *plaintext, size_t size, uint8_t **ret_sealed,
                  size_t *ret_sealed_size, int64_t *ret_kek_version);

/* Open a sealed blob (either format) for record id. -EUCLEAN if it does
 * not authenticate (tampered, or belonging to another record or version),
 * is in no known format, or names a KEK version the keyring does not have
 * (the keyring holds every KEK that still wraps a record: only unused ones
 * are retired, so that header was altered). */
int envelope_open(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t sealed_size, SecretBuf **ret);

/* The KEK version a sealed blob's DEK is wrapped under; -EUCLEAN if it is
 * in no known format. */
int envelope_kek_version(const uint8_t *sealed, size_t sealed_size, int64_t *ret);

/* Wrap a sealed blob's DEK again under the keyring's primary KEK: unwrap
 * it with the KEK it names, wrap it under the primary with a fresh nonce,
 * and give the blob in format 2 (malloc), its value's nonce and
 * ciphertext copied unchanged. The value is never decrypted. -EUCLEAN as
 * for envelope_open() if the DEK does not unwrap (tampered, another
 * record's, or its KEK is gone). A blob already on the primary is copied
 * as it is. */
int envelope_rewrap(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t sealed_size, uint8_t **ret_sealed,
                    size_t *ret_sealed_size, int64_t *ret_kek_version);

/* The deterministic core of envelope_seal(), for known-answer tests: the
 * caller supplies the DEK and both nonces. ret_sealed must have room for
 * ENVELOPE_OVERHEAD + size bytes. */
void envelope_seal_with(const Kek *kek, const RecordId *id, const uint8_t dek[static KEK_SIZE],
                        const uint8_t dek_nonce[static ENVELOPE_NONCE_SIZE],
                        const uint8_t value_nonce[static ENVELOPE_NONCE_SIZE], const uint8_t *plaintext, size_t size,
                        uint8_t *ret_sealed);
