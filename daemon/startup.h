/* startup.h — the start-up checks main.c runs, shared with the offline
 * modes (backup-offline.c), which take the same state directory, lock
 * and root key as a start.
 *
 * Each returns 0 or an exit status (options.h), having said why. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "options.h"

#define DB_FILE "credvault.db"
#define DEV_KEY_FILE "dev-root.key"
#define CREDENTIAL_NAME "credvault.key"
#define LOCK_FILE "credvault.lock"

/* The state directory exists, is ours and closed to others. */
int state_dir_prepare(const char *dir);
/* One daemon (or offline mode) per state directory: *ret_fd holds the
 * lock for as long as it stays open. */
int state_dir_lock(const char *dir, int *ret_fd);
/* The database and SQLite's files beside it are ours, or absent. */
int database_files_check(const char *dir);
/* The root key from --root-key-file, the credential or --dev (which
 * makes one if there is none), into sodium_malloc memory. */
int root_key_load(const Options *o, uint8_t **ret, char *source, size_t source_size);
