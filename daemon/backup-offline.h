/* backup-offline.h — credvaultd's offline backup modes: --verify-backup
 * and --restore, and the start-up clean-up of what an interrupted backup
 * or restore left in the state directory.
 *
 * Each mode returns the process's exit status (options.h): 0, EXIT_NO_KEY,
 * EXIT_WRONG_KEY (the root key does not open the copy), EXIT_STATE_DIR
 * (the file or the state directory is unusable, or a daemon runs),
 * EXIT_CORRUPT (the copy fails a check), having said why on stderr. */
#pragma once

#include "options.h"

/* --verify-backup FILE: open a private copy of FILE with the root key the
 * options name, as a start would, and check every record; FILE itself is
 * only read. Prints the counts. */
int backup_offline_verify(const Options *o);
/* --restore FILE: with the state directory locked (no daemon runs on
 * it), verify FILE as above and install it atomically as the database;
 * the database it replaces is kept beside it. Prints what it did. */
int backup_offline_restore(const Options *o);
/* At start, with the state directory locked: remove the temporary files
 * an interrupted backup or restore left. 0 or an exit status. */
int backup_offline_clean(const char *state_dir);
