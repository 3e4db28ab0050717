/* restore-install.h — the last part of --restore: putting a checked copy
 * in the database's place so that a crash at any point leaves either the
 * old database or the new one there, whole, and never none (a start with
 * no database would create an empty vault). */
#pragma once

#include <limits.h>
#include <stdbool.h>

/* The name of the copy being restored, beside the database. */
#define RESTORE_TEMP_SUFFIX ".restore-tmp"
/* The replaced database's name: this, the time, and ".N" if that is taken. */
#define BEFORE_RESTORE_SUFFIX ".before-restore-"

/* Remove path and SQLite's files beside it (-journal, -wal, -shm), from
 * the first of those (0: path itself too, 1: only SQLite's): how many
 * there were, or -errno. */
int sqlite_files_remove(const char *path, size_t first);

/* The steps of restore_install(), in order. A crash after any of them
 * leaves: up to RESTORE_DIR_SYNCED the old database in place (with the
 * copy beside it, removed by restore_clean()), from RESTORE_RENAMED on the
 * new one. */
typedef enum RestoreStep {
        RESTORE_NONE = 0,
        RESTORE_LINKED,       /* a second name (hard link) for the old database and its -wal: the aside */
        RESTORE_CHECKPOINTED, /* its WAL moved into it */
        RESTORE_WAL_REMOVED,  /* its -wal, -shm, -journal removed */
        RESTORE_DIR_SYNCED,   /* and that on disk */
        RESTORE_RENAMED,      /* the copy renamed over the database */
        RESTORE_DONE,         /* and that on disk */
} RestoreStep;

typedef struct RestoreInstall {
        RestoreStep step;          /* the last step done */
        bool replaced;             /* there was a database: it is kept as aside */
        char aside[PATH_MAX + 64]; /* its new name */
        int checkpoint_error;      /* < 0: it could not be checkpointed (damaged?) */
        bool wal_kept;             /* so its -wal is kept too, as aside-wal */
} RestoreInstall;

/* Put the copy at `copy` (synced, closed, no WAL of its own) in place of
 * the database at `db`, whose directory the caller has locked. The old
 * database is given a new unique name by a hard link (it is never
 * overwritten, nor moved off its name before the copy takes it), then
 * checkpointed, and its WAL removed before the copy is renamed over it. stop_after: for
 * the tests, return -ECANCELED after that step as if the process had died
 * there (RESTORE_NONE: never). On failure ret->step says how far it got:
 * before RESTORE_RENAMED the database is the old one. */
int restore_install(const char *db, const char *copy, RestoreStep stop_after, RestoreInstall *ret);

/* At start or before a restore, the state directory locked: remove the
 * copy an interrupted restore left (db + RESTORE_TEMP_SUFFIX, with SQLite's
 * files). The number of files removed, or -errno. */
int restore_clean(const char *db);
