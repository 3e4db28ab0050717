/* rootkey.h — where the root key comes from.
 *
 * Owns: reading the 32-byte root key from a file (a systemd credential or a
 * key file) and generating the development key. The key is returned in
 * sodium_malloc() memory; nothing else in the daemon reads key files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ROOT_KEY_SIZE 32

/* Read a key file. Its content is one of:
 *   - hex text: hex digits only, optionally followed by a newline (LF or
 *     CRLF); it must be exactly 64 digits;
 *   - otherwise exactly 32 raw bytes.
 * So 32 hex digits (a 128-bit key written as text) are refused, never taken
 * as 32 raw bytes. A random 32-byte key is hex text with probability under
 * 2^-100, so no real raw key is refused.
 * The file must be a regular file owned by the effective uid or by root
 * (systemd writes credentials as root, and root can replace any file
 * anyway), neither readable by others nor writable by group or others.
 * Errors: -ENOENT missing, -EISDIR a directory, -EBADFD not a regular file
 * (a FIFO or device is refused before the first read, so it cannot block),
 * -EPERM wrong owner or mode, -EBADMSG any other content, or open()'s
 * errno. A symbolic link is followed: an operator may name one.
 * rootkey_read_nofollow() is the same for a file the daemon finds by name
 * in a directory (the development key, the systemd credential), which
 * must be the file itself: a symbolic link is -ELOOP. */
int rootkey_read(const char *path, uint8_t **ret_key);
int rootkey_read_nofollow(const char *path, uint8_t **ret_key);

/* The key in a key file's content (n bytes at buf), by the rules of
 * rootkey_read(): for a key that arrives other than as a file (the new
 * key of a root key rotation, sent by a client). -EBADMSG if it is not a
 * key; the key in sodium_malloc() memory. */
int rootkey_parse(const uint8_t *buf, size_t n, uint8_t **ret_key);

/* Create path with a fresh random key (mode 0600, never overwriting, never
 * following a symlink); the file and its directory are fsync'd before it
 * returns. -EEXIST if it already exists; on any other failure
 * (-ENOSPC on a full disk) nothing is left at path. */
int rootkey_generate(const char *path);

/* Rename new_path over path and make the rename durable (fsync of the
 * directory): the last step of replacing a key file. -errno. */
int rootkey_install(const char *new_path, const char *path);

/* Wipe and free a key from rootkey_read(); accepts NULL. */
void rootkey_free(uint8_t *key);
