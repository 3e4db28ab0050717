/* check.h — credvaultd --check: SQLite's full integrity check of the
 * database, offline.
 *
 * Owns: that mode only. A start runs SQLite's quick_check only after an
 * unclean shutdown (so that it takes the same time at any size); this is
 * the whole check for operators and timers, run while the daemon is
 * stopped (a socket-activated one between its idle exits). */
#pragma once

#include "options.h"

/* Takes the state directory's lock as a start does (refusing while a
 * daemon runs), runs PRAGMA integrity_check and prints "ok" or SQLite's
 * findings on stdout. Needs no root key: it reads pages, not records.
 * Returns 0, EXIT_CORRUPT when the file fails the check, or another exit
 * status (options.h), having said why. */
int check_run(const Options *o);
