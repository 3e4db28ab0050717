/* rootkey.h — where the root key comes from.
 *
 * Owns: reading the 32-byte root key from a file (a systemd credential or a
 * key file) and generating the development key. The key is returned in
 * sodium_malloc() memory; nothing else in the daemon reads key files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ROOT_KEY_SIZE 32

/* Read a key file: exactly 32 raw bytes, or 64 hex digits with an optional
 * trailing newline. -EBADMSG for any other content, -ENOENT if missing,
 * -EPERM if others can read it, or anyone but its owner can write it. */
int rootkey_read(const char *path, uint8_t **ret_key);

/* Create path with a fresh random key (mode 0600, never overwriting).
 * -EEXIST if it already exists. */
int rootkey_generate(const char *path);

/* Wipe and free a key from rootkey_read(); accepts NULL. */
void rootkey_free(uint8_t *key);
