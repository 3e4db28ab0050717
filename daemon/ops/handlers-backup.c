/* handlers-backup.c — backup: an online copy of the vault into a file
 * the client opened and passed with the request (SCM_RIGHTS).
 *
 * The request is checked here (a descriptor came, and it is an empty
 * regular file open for writing, on a local file system: anything else is
 * the client's mistake, said precisely), then the copy runs as deferred work: the server's loop
 * runs a step at its lowest priority when no request waits, each sized to
 * hold the loop about BACKUP_STEP_USEC, and the reply goes out when the
 * copy is in the file and on disk. Never: opens a path, or keeps the
 * descriptor past the request (the copy closes it). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dispatch.h"
#include "fs-type.h"
#include "handlers.h"
#include "log.h"
#include "time-util.h"

/* A step should hold the loop about this long: other clients' requests
 * wait at most that while a backup runs. Sized like the rewrap's steps,
 * from the last step's time, halfway towards the target. */
#define BACKUP_STEP_USEC 1000
#define BACKUP_PAGES_MIN 8
#define BACKUP_PAGES_MAX 65536
#define BACKUP_PAGES_FIRST 64

typedef struct BackupJob {
        VaultBackup *copy;
        uint64_t started_usec;
        unsigned pages;         /* per step */
        bool copying_file;      /* the last step's phase */
        uint64_t step_max_usec; /* the longest step, for the log */
        unsigned n_steps;
        unsigned uid; /* who asked, for the log */
} BackupJob;

static unsigned pages_next(unsigned pages, uint64_t took_usec) {
        if (took_usec == 0)
                return pages * 2 < BACKUP_PAGES_MAX ? pages * 2 : BACKUP_PAGES_MAX;
        uint64_t want = (uint64_t) pages * BACKUP_STEP_USEC / took_usec;
        want = (want + pages) / 2;
        return want < BACKUP_PAGES_MIN   ? BACKUP_PAGES_MIN
               : want > BACKUP_PAGES_MAX ? BACKUP_PAGES_MAX
                                         : (unsigned) want;
}

static int backup_step(Context *ctx, void *data, Failure *f) {
        BackupJob *j = data;
        (void) ctx;

        uint64_t started = time_monotonic_usec();
        int r = vault_backup_step(j->copy, j->pages);
        if (r < 0) {
                VaultBackupInfo info;
                vault_backup_progress(j->copy, &info);
                log_error("backup failed %s: %s", info.copying_file ? "writing the copy" : "copying the database",
                          strerror(-r));
                failure_set(f, "backup failed %s: %s",
                            info.copying_file ? "writing the copy into the file passed" : "copying the database",
                            strerror(-r));
                return r == -ENOSPC || r == -EFBIG || r == -EDQUOT ? -ENOSPC : (r == -ENOMEM ? r : -EIO);
        }
        uint64_t took = time_monotonic_usec() - started;
        VaultBackupInfo info;
        vault_backup_progress(j->copy, &info);
        j->n_steps++;
        if (took > j->step_max_usec)
                j->step_max_usec = took;
        /* Pages into the file cost another time than pages from SQLite:
         * the sizing starts again when the phase changes. */
        if (info.copying_file != j->copying_file) {
                j->copying_file = info.copying_file;
                j->pages = BACKUP_PAGES_FIRST;
        } else
                j->pages = pages_next(j->pages, took);
        return r;
}

static int backup_reply(Context *ctx, void *data, JsonOut *reply, Failure *f) {
        BackupJob *j = data;
        VaultBackupInfo info;
        (void) ctx, (void) f;

        vault_backup_progress(j->copy, &info);
        uint64_t ms = (time_monotonic_usec() - j->started_usec) / 1000;
        log_info("backup for uid %u: %" PRId64 " records, %" PRId64 " pages, %" PRIu64 " bytes in %" PRIu64
                 " ms, %u steps, the longest %" PRIu64 " us",
                 j->uid, info.records, info.pages, info.bytes, ms, j->n_steps, j->step_max_usec);
        json_out_int(reply, "records", info.records);
        json_out_int(reply, "pages", info.pages);
        json_out_int(reply, "bytes", (int64_t) info.bytes);
        json_out_int(reply, "ms", (int64_t) ms);
        return 0;
}

static void backup_free(void *data) {
        BackupJob *j = data;
        if (!j)
                return;
        vault_backup_free(j->copy);
        free(j);
}

static const DeferredWork backup_work = {
        .step = backup_step,
        .reply = backup_reply,
        .free = backup_free,
};

static const char *file_type(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFIFO:
                return "a pipe";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFDIR:
                return "a directory";
        default:
                return "not a regular file";
        }
}

/* What the copy is written into: a regular file (it is synced, and
 * written at offsets), open for writing, empty (a backup never
 * overwrites part of something else), and not on a network or FUSE file
 * system. */
static int fd_check(int fd, Failure *f) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode)) {
                failure_set(f, "the descriptor passed is %s, not a regular file: pass a new file opened for writing",
                            file_type(st.st_mode));
                return -EINVAL;
        }
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return negative_errno();
        if ((flags & O_ACCMODE) == O_RDONLY) {
                failure_set(f, "the file passed is open read-only: pass it opened for writing");
                return -EINVAL;
        }
        if (st.st_size != 0) {
                failure_set(f, "the file passed is not empty (%jd bytes): pass a new, empty file",
                            (intmax_t) st.st_size);
                return -EINVAL;
        }
        /* The copy is written and synced on the server's loop: a file
         * system that can stall (a server gone, a FUSE process stopped)
         * would stop every client's requests with it. */
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0)
                return negative_errno();
        const char *remote = fs_type_remote((uint64_t) sf.f_type);
        if (remote) {
                failure_set(f,
                            "the file passed is on a %s file system, which can stall the daemon: back up to a "
                            "local file system, then copy the file",
                            remote);
                return -EINVAL;
        }
        return 0;
}

int handle_backup(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        BackupJob *j;
        (void) req, (void) reply;

        if (ctx->deferred.work) {
                failure_set(f, "a backup is running");
                return -EBUSY;
        }
        if (ctx->request_fd < 0) {
                failure_set(f, "backup needs a file descriptor passed with the request (SCM_RIGHTS)");
                return -EINVAL;
        }
        int r = fd_check(ctx->request_fd, f);
        if (r < 0)
                return r;
        j = calloc(1, sizeof(BackupJob));
        if (!j)
                return -ENOMEM;
        j->started_usec = time_monotonic_usec();
        j->pages = BACKUP_PAGES_FIRST;
        j->uid = ctx->peer ? (unsigned) ctx->peer->uid : 0;
        int fd = ctx->request_fd;
        ctx->request_fd = -1;
        r = vault_backup_start(ctx->vault, fd, &j->copy);
        if (r < 0) {
                free(j);
                log_error("backup cannot start: %s", strerror(-r));
                failure_set(f, "backup cannot start: %s", strerror(-r));
                return r == -ENOSPC ? r : -EIO;
        }
        return dispatch_defer(ctx, &backup_work, j);
}
