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
 *   24 value nonce | value ciphertext + 16-byte tag */
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

/* Seal plaintext for record id under the keyring's primary KEK. The sealed
 * blob (ENVELOPE_OVERHEAD + size bytes, malloc) is ciphertext only. */
int envelope_seal(Keyring *k, const RecordId *id, const uint8_t *plaintext, size_t size, uint8_t **ret_sealed,
                  size_t *ret_sealed_size, int64_t *ret_kek_version);

/* Open a sealed blob for record id. -EUCLEAN if it does not authenticate
 * (tampered, or belonging to another record or version), is in no known
 * format, or names a KEK version the keyring does not have (the keyring
 * keeps every KEK it made, so that header was altered). */
int envelope_open(Keyring *k, const RecordId *id, const uint8_t *sealed, size_t sealed_size, SecretBuf **ret);

/* The deterministic core of envelope_seal(), for known-answer tests: the
 * caller supplies the DEK and both nonces. ret_sealed must have room for
 * ENVELOPE_OVERHEAD + size bytes. */
void envelope_seal_with(const Kek *kek, const RecordId *id, const uint8_t dek[static KEK_SIZE],
                        const uint8_t dek_nonce[static ENVELOPE_NONCE_SIZE],
                        const uint8_t value_nonce[static ENVELOPE_NONCE_SIZE], const uint8_t *plaintext, size_t size,
                        uint8_t *ret_sealed);
