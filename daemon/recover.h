/* recover.h — the recovery key outside the serving loop.
 *
 * Owns: credvaultd --recover (an offline mode: a vault whose root key is
 * lost is opened with the recovery key and rewrapped under a new root
 * key), --recovery-key-file (the recovery key of a vault this start
 * creates), and the development key's part of a root key rotation that a
 * crash interrupted. Never: logs or prints a recovery key or a root key.
 * The functions returning int return 0 or an exit status (options.h),
 * having said why. */
#pragma once

#include <stdbool.h>

#include "options.h"
#include "vault.h"

/* credvaultd --recover: the recovery key on stdin, the new root key from
 * the usual sources (--dev: a fresh development key). Takes the state
 * directory's lock as a start does, so it refuses while a daemon runs. */
int recover_run(const Options *o);

/* --recovery-key-file FILE: create FILE (0600, never over an existing
 * file or through a symbolic link) before the vault is opened, so that a
 * path that cannot be written stops the start before anything is made.
 * *ret_fd is -1 without the option. */
int recovery_key_file_open(const Options *o, int *ret_fd);
/* After the vault opened: write a new recovery key to fd (taken) if this
 * start created the vault; otherwise remove path again and refuse (a
 * vault that exists gets one from `credvault key recovery-key`). */
int recovery_key_file_write(const char *path, int fd, Vault *vault, bool created);

/* The development key was refused: if the rotation that made
 * dev_key_path".new" committed and the crash came before the rename, open
 * the vault with the new key and finish the rename. Returns vault_open()'s
 * result (the original -EKEYREJECTED if there is no such file). */
int dev_key_resume(const char *db_path, const char *dev_key_path, VaultOpenFlags flags, Vault **ret,
                   VaultOpenResult *ret_result);
/* The development key opened the vault: a ".new" file beside it is from a
 * rotation that never committed; removed. */
void dev_key_stale_remove(const char *dev_key_path);
