/* restore-install.c — install a checked copy as the database (see
 * restore-install.h).
 *
 * The order is what makes a crash harmless. The old database is first
 * made whole on its own (its WAL checkpointed into it and truncated), then
 * given a second name with link() (which fails rather than overwrite an
 * earlier aside), then its now empty -wal and -shm are removed and the
 * directory synced, and only then is the copy renamed over it: rename()
 * replaces the name in one step, so the database's name always points at
 * a whole database, the old or the new. A WAL left beside the new file
 * would be replayed into it (SQLite does not tie a WAL to its database),
 * hence removed before the rename, and only once it is empty.
 *
 * Never: renames the old database away (a crash would leave no database,
 * and the next start would create an empty vault), overwrites a file, or
 * removes a WAL that still holds frames of a readable database. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <libgen.h>

#include "macro.h"
#include "restore-install.h"
#include "vault.h"

#define ASIDE_TRIES 100

static const char *const sqlite_suffixes[] = { "", "-journal", "-wal", "-shm" };

int sqlite_files_remove(const char *path, size_t first) {
        char p[PATH_MAX + 64];
        int n = 0;
        for (size_t i = first; i < ELEMENTSOF(sqlite_suffixes); i++) {
                int k = snprintf(p, sizeof(p), "%s%s", path, sqlite_suffixes[i]);
                if (k < 0 || (size_t) k >= sizeof(p))
                        return -ENAMETOOLONG;
                if (unlink(p) == 0)
                        n++;
                else if (errno != ENOENT)
                        return negative_errno();
        }
        return n;
}

int restore_clean(const char *db) {
        char tmp[PATH_MAX + 32];
        if (snprintf(tmp, sizeof(tmp), "%s%s", db, RESTORE_TEMP_SUFFIX) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        return sqlite_files_remove(tmp, 0);
}

static int dir_sync(const char *db) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", db);
        _cleanup_(closep) int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* The size of path's file, 0 if there is none. */
static int size_of(const char *path, off_t *ret) {
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                st.st_size = 0;
        }
        *ret = st.st_size;
        return 0;
}

/* A second name for the database that no file has: link() never
 * overwrites, so two restores in one second keep both asides. */
static int aside_link(const char *db, RestoreInstall *ret) {
        long long now = (long long) time(NULL);
        for (int i = 0; i < ASIDE_TRIES; i++) {
                int n = i == 0 ? snprintf(ret->aside, sizeof(ret->aside), "%s%s%lld", db, BEFORE_RESTORE_SUFFIX, now)
                               : snprintf(ret->aside, sizeof(ret->aside), "%s%s%lld.%d", db, BEFORE_RESTORE_SUFFIX, now,
                                          i);
                if (n < 0 || (size_t) n >= sizeof(ret->aside))
                        return -ENAMETOOLONG;
                if (link(db, ret->aside) == 0)
                        return 0;
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

int restore_install(const char *db, const char *copy, RestoreStep stop_after, RestoreInstall *ret) {
        char wal[PATH_MAX + 16], aside_wal[PATH_MAX + 80];
        struct stat st;
        off_t wal_size = 0;
        int r;

        *ret = (RestoreInstall) {};
        snprintf(wal, sizeof(wal), "%s-wal", db);
        if (lstat(db, &st) == 0) {
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                ret->replaced = true;
        } else if (errno != ENOENT)
                return negative_errno();

#define STEP_DONE(s)                                                                                                   \
        do {                                                                                                           \
                ret->step = (s);                                                                                       \
                if (stop_after == (s))                                                                                 \
                        return -ECANCELED;                                                                             \
        } while (0)

        /* The second names first: if SQLite, opening a damaged
         * database, dropped its WAL, the aside still has it. */
        if (ret->replaced) {
                r = aside_link(db, ret);
                if (r < 0)
                        return r;
                snprintf(aside_wal, sizeof(aside_wal), "%s-wal", ret->aside);
                r = size_of(wal, &wal_size);
                if (r < 0)
                        return r;
                if (wal_size > 0 && link(wal, aside_wal) < 0)
                        return negative_errno();
        }
        STEP_DONE(RESTORE_LINKED);

        /* The same inodes: the checkpoint makes the aside whole alone and
         * empties its -wal, which then goes. One that cannot be
         * checkpointed (damaged: perhaps why it is being restored) keeps
         * its WAL as the aside's. */
        if (ret->replaced) {
                ret->checkpoint_error = vault_checkpoint_file(db);
                /* Only a damaged database goes on without its checkpoint:
                 * one that could not be checkpointed for any other reason
                 * (busy: another process has it open; the disk) would lose
                 * its WAL's frames from its own name should a crash come
                 * before the rename. Stopped here, nothing has changed but
                 * the aside names, which go again. */
                if (ret->checkpoint_error < 0 && ret->checkpoint_error != -EUCLEAN) {
                        (void) unlink(aside_wal);
                        (void) unlink(ret->aside);
                        ret->replaced = false;
                        return ret->checkpoint_error;
                }
                r = wal_size > 0 ? size_of(aside_wal, &wal_size) : 0;
                if (r < 0)
                        return r;
                ret->wal_kept = wal_size > 0;
                if (!ret->wal_kept && unlink(aside_wal) < 0 && errno != ENOENT)
                        return negative_errno();
        }
        STEP_DONE(RESTORE_CHECKPOINTED);

        /* Also with no database: a stray WAL would be replayed into the
         * copy. */
        r = sqlite_files_remove(db, 1);
        if (r < 0)
                return r;
        STEP_DONE(RESTORE_WAL_REMOVED);

        r = dir_sync(db);
        if (r < 0)
                return r;
        STEP_DONE(RESTORE_DIR_SYNCED);

        if (rename(copy, db) < 0)
                return negative_errno();
        STEP_DONE(RESTORE_RENAMED);

        r = dir_sync(db);
        if (r < 0)
                return r;
        STEP_DONE(RESTORE_DONE);
#undef STEP_DONE
        return 0;
}
