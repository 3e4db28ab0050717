/* startup.h — the steps of credvaultd's start-up (main.c) that its
 * offline modes (recover.c, backup-offline.c) take too.
 *
 * Owns: nothing new: the state directory, its lock, the database files
 * and the root key are checked and read one way, whatever mode the daemon
 * starts in. Each returns 0 or an exit status (options.h), having said
 * why. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "vault.h"

#define DB_FILE "credvault.db"
#define DEV_KEY_FILE "dev-root.key"
#define CREDENTIAL_NAME "credvault.key"

#define LOCK_FILE "credvault.lock"

/* The state directory, created 0700 if missing, refused if others could
 * have put files in it. */
int state_dir_prepare(const char *dir);
/* One daemon per state directory: *ret_fd holds the flock()ed lock file
 * open for as long as the process runs. */
int state_dir_lock(const char *dir, int *ret_fd);
/* The database and SQLite's files beside it are absent, or regular files
 * of the daemon's own with one link. */
int database_files_check(const char *dir);
/* The root key from --root-key-file, the systemd credential, or the
 * development key (--dev: made on first start); source gets its path. */
int root_key_load(const Options *o, uint8_t **ret, char *source, size_t source_size);
/* The message and exit status of a vault that would not open. */
int vault_open_failed(int r, const VaultOpenResult *res, const char *db_path, const char *key_source);
