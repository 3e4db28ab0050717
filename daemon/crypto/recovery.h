/* recovery.h — the recovery key: a second way to the root key.
 *
 * Owns: the recovery key's seed (32 random bytes), the text a person keeps
 * it as, and sealing the root key to it. The seed makes an X25519 key pair
 * (crypto_box_seed_keypair); the vault keeps the public half and the root
 * key sealed to it (crypto_box_seal), so the root key can be sealed again
 * after a rotation without the recovery key, and opened only with it.
 * Never: stores anything (the vault does) or keeps the seed past a call. */
#pragma once

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "rootkey.h"
#include "secret-buf.h"

#define RECOVERY_SEED_SIZE 32
#define RECOVERY_PUBLIC_SIZE crypto_box_PUBLICKEYBYTES
/* What is sealed: a fixed label (so that nothing else sealed to the key
 * passes for a root key) and the root key. */
#define RECOVERY_LABEL "credvault recovery v1"
#define RECOVERY_SEALED_SIZE (crypto_box_SEALBYTES + sizeof(RECOVERY_LABEL) - 1 + ROOT_KEY_SIZE)

/* The text: the seed in Crockford base32 (52 symbols, the last 4 bits
 * zero) and 4 symbols of checksum (20 bits of a hash of the seed), in
 * groups of 4 joined by '-': "XXXX-XXXX-...", 14 groups. */
#define RECOVERY_GROUP_SIZE 4
#define RECOVERY_DATA_SYMBOLS 52
#define RECOVERY_CHECK_SYMBOLS 4
#define RECOVERY_SYMBOLS (RECOVERY_DATA_SYMBOLS + RECOVERY_CHECK_SYMBOLS)
#define RECOVERY_GROUPS (RECOVERY_SYMBOLS / RECOVERY_GROUP_SIZE)
#define RECOVERY_TEXT_SIZE (RECOVERY_SYMBOLS + RECOVERY_GROUPS - 1) /* without a NUL */

/* A fresh random seed in sodium_malloc() memory. -ENOMEM. */
int recovery_seed_new(uint8_t **ret_seed);
/* The text of a seed, in a SecretBuf (it is the key). -ENOMEM. */
int recovery_text_format(const uint8_t *seed, SecretBuf **ret_text);
/* The seed of a text, read as a person may type it: either case, the
 * dashes, spaces and a final newline optional, and Crockford's lookalikes
 * (I and L for 1, O for 0). -EBADMSG if it is not a recovery key's shape
 * (a symbol outside the alphabet, or not 56 of them); -EILSEQ if the
 * shape is right but the checksum fails: a typo. The seed in
 * sodium_malloc() memory. */
int recovery_text_parse(const char *text, size_t size, uint8_t **ret_seed);

/* The public key of a seed. */
int recovery_public(const uint8_t *seed, uint8_t ret_public[static RECOVERY_PUBLIC_SIZE]);
/* The root key sealed to a recovery public key. */
int recovery_seal(const uint8_t *public_key, const uint8_t *root_key, uint8_t ret_sealed[static RECOVERY_SEALED_SIZE]);
/* The root key sealed to the seed's key pair. -EKEYREJECTED if public_key
 * (the one the vault keeps) is not this seed's: another vault's recovery
 * key; -EUCLEAN if the sealed root key does not open or lacks the label
 * (damaged or altered). The root key in sodium_malloc() memory. */
int recovery_unseal(const uint8_t *seed, const uint8_t *public_key, size_t public_size, const uint8_t *sealed,
                    size_t sealed_size, uint8_t **ret_root_key);
