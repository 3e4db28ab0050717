/* store-backup.c — an online copy of the database into a descriptor (see
 * store.h, "online backup").
 *
 * SQLite's backup API copies the pages, a few per step, from the daemon's
 * own connection into a temporary database beside the real one. Writes
 * made through that same connection between two steps are applied to the
 * copy too (SQLite updates the pages it already copied as it writes them),
 * so the copy ends as the database stands at the last step: every commit
 * acknowledged before the backup was asked for is in it. The temporary
 * file is then opened, unlinked at once (a crash from there on leaves
 * nothing behind), and copied into the caller's descriptor in chunks, each
 * chunk's write-back started as it goes, then fdatasync'd.
 *
 * Never: opens a path someone else named (the temporary file is ours, by
 * a fixed name in the database's directory), or holds a read transaction
 * on the database between steps. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

/* The temporary copy's name: the database's own, with this after it. */
#define BACKUP_TEMP_SUFFIX ".backup-tmp"

typedef enum BackupPhase {
        PHASE_PAGES, /* sqlite3_backup_step() into the temporary database */
        PHASE_FILE,  /* the temporary file into the caller's descriptor */
        PHASE_DONE,
} BackupPhase;

struct StoreBackup {
        Store *store;
        sqlite3 *dest;
        sqlite3_backup *backup;
        char temp_path[PATH_MAX];
        int temp_fd; /* PHASE_FILE: the copy, already unlinked */
        int out_fd;  /* the caller's; ours to close */
        BackupPhase phase;
        int page_size;
        uint64_t offset; /* PHASE_FILE: bytes copied */
        uint64_t synced; /* and written back (sync_file_range()) */
        StoreBackupInfo info;
};

static int temp_path_make(const char *db_path, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s%s", db_path, BACKUP_TEMP_SUFFIX);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* The temporary database and whatever SQLite may have put beside it. */
static int temp_remove(const char *temp_path) {
        static const char *const suffixes[] = { "", "-journal", "-wal", "-shm" };
        char path[PATH_MAX + 16];
        int n = 0;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                snprintf(path, sizeof(path), "%s%s", temp_path, suffixes[i]);
                if (unlink(path) == 0)
                        n++;
                else if (errno != ENOENT)
                        return negative_errno();
        }
        return n;
}

int store_backup_clean(const char *db_path) {
        char temp[PATH_MAX];
        int r = temp_path_make(db_path, temp, sizeof(temp));
        return r < 0 ? r : temp_remove(temp);
}

static int page_size_get(sqlite3 *db, int *ret) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
                *ret = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 0 : (store_errno_from_sqlite(rc) ?: -EIO);
}

int store_backup_begin(Store *s, int out_fd, StoreBackup **ret) {
        StoreBackup *b;
        int r;

        b = calloc(1, sizeof(StoreBackup));
        if (!b) {
                close(out_fd);
                return -ENOMEM;
        }
        b->store = s;
        b->out_fd = out_fd;
        b->temp_fd = -1;
        b->phase = PHASE_PAGES;
        r = temp_path_make(sqlite3_db_filename(s->db, "main"), b->temp_path, sizeof(b->temp_path));
        if (r >= 0)
                r = temp_remove(b->temp_path);
        if (r >= 0)
                r = page_size_get(s->db, &b->page_size);
        if (r < 0)
                goto fail;
        int rc = sqlite3_open_v2(b->temp_path, &b->dest,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                         SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW,
                                 NULL);
        if (rc != SQLITE_OK) {
                r = b->dest && sqlite3_system_errno(b->dest) > 0 ? -sqlite3_system_errno(b->dest)
                                                                 : (store_errno_from_sqlite(rc) ?: -EIO);
                goto fail;
        }
        /* No journal and no syncs: the copy is thrown away on any failure,
         * and made durable where it ends up (the caller's file). */
        rc = sqlite3_exec(b->dest, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                r = store_errno_from_sqlite(rc) ?: -EIO;
                goto fail;
        }
        b->backup = sqlite3_backup_init(b->dest, "main", s->db, "main");
        if (!b->backup) {
                r = store_errno_from_sqlite(sqlite3_errcode(b->dest)) ?: -EIO;
                goto fail;
        }
        *ret = b;
        return 0;
fail:
        store_backup_free(b);
        return r;
}

/* Records of every table with sealed values, counted on the source at the
 * moment the last page was copied (nothing has been written since: the
 * daemon has one thread), so that the count is the copy's. */
static int records_count(sqlite3 *db, int64_t *ret) {
        sqlite3_stmt *tables = NULL;
        int64_t n = 0;
        int r = 0;

        int rc = sqlite3_prepare_v2(db,
                                    "SELECT s.name FROM sqlite_schema AS s WHERE s.type = 'table' AND EXISTS "
                                    "(SELECT 1 FROM pragma_table_info(s.name) AS c WHERE c.name = 'sealed')",
                                    -1, &tables, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(tables)) == SQLITE_ROW) {
                char sql[256];
                const char *t = (const char *) sqlite3_column_text(tables, 0);
                sqlite3_stmt *st = NULL;
                rc = SQLITE_OK;
                /* Our own schema's names: plain identifiers. */
                if (!t || strspn(t, "abcdefghijklmnopqrstuvwxyz_0123456789") != strlen(t))
                        continue;
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", t);
                int q = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
                if (q == SQLITE_OK && (q = sqlite3_step(st)) == SQLITE_ROW)
                        n += sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
                if (q != SQLITE_ROW) {
                        r = store_errno_from_sqlite(q) ?: -EIO;
                        break;
                }
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno_from_sqlite(rc) ?: -EIO;
        sqlite3_finalize(tables);
        if (r >= 0)
                *ret = n;
        return r;
}

/* The pages are all copied: count, close the temporary database, and
 * keep it only as an open descriptor. */
static int pages_done(StoreBackup *b) {
        struct stat st;
        int r;

        b->info.pages = sqlite3_backup_pagecount(b->backup);
        r = records_count(b->store->db, &b->info.records);
        if (r < 0)
                return r;
        int rc = sqlite3_backup_finish(b->backup);
        b->backup = NULL;
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        rc = sqlite3_close(b->dest);
        b->dest = NULL;
        if (rc != SQLITE_OK)
                return store_errno_from_sqlite(rc) ?: -EIO;
        b->temp_fd = open(b->temp_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (b->temp_fd < 0 || fstat(b->temp_fd, &st) < 0)
                return negative_errno();
        r = temp_remove(b->temp_path);
        if (r < 0)
                return r;
        b->info.bytes = (uint64_t) st.st_size;
        b->phase = PHASE_FILE;
        return 0;
}

static int pages_step(StoreBackup *b, unsigned n_pages) {
        int rc = sqlite3_backup_step(b->backup, (int) (n_pages > INT_MAX ? INT_MAX : n_pages));
        switch (rc) {
        case SQLITE_OK:
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                /* More to copy (or the source is busy this moment: the
                 * next step tries again). */
                b->info.pages = sqlite3_backup_pagecount(b->backup);
                b->info.pages_done = b->info.pages - sqlite3_backup_remaining(b->backup);
                return 1;
        case SQLITE_DONE:
                return pages_done(b);
        default:
                return b->dest && sqlite3_system_errno(b->dest) > 0 ? -sqlite3_system_errno(b->dest)
                                                                    : (store_errno_from_sqlite(rc) ?: -EIO);
        }
}

/* Up to n bytes from the temporary file into the caller's descriptor at
 * the same offset: copy_file_range() (in the kernel, or a reflink),
 * else sendfile(), else read() and write(). */
static ssize_t file_copy_chunk(StoreBackup *b, size_t n) {
        off_t in_off = (off_t) b->offset, out_off = (off_t) b->offset;
        ssize_t k = copy_file_range(b->temp_fd, &in_off, b->out_fd, &out_off, n, 0);
        if (k >= 0 || (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS && errno != EBADF))
                return k < 0 ? -errno : k;
        if (lseek(b->out_fd, (off_t) b->offset, SEEK_SET) < 0)
                return -errno;
        in_off = (off_t) b->offset;
        k = sendfile(b->out_fd, b->temp_fd, &in_off, n);
        if (k >= 0 || (errno != EINVAL && errno != ENOSYS))
                return k < 0 ? -errno : k;
        uint8_t buf[64 * 1024];
        k = pread(b->temp_fd, buf, n < sizeof(buf) ? n : sizeof(buf), (off_t) b->offset);
        if (k <= 0)
                return k < 0 ? -errno : -EIO;
        ssize_t w = pwrite(b->out_fd, buf, (size_t) k, (off_t) b->offset);
        return w < 0 ? -errno : w;
}

static int file_step(StoreBackup *b, uint64_t n_bytes) {
        uint64_t start = b->offset;

        /* Wait for the previous step's bytes to reach the disk: each step
         * pays for its share of the write-back (the caller sizes steps
         * by their time), rather than the last one paying for all of it
         * in fdatasync(). */
        if (b->synced < start) {
                (void) sync_file_range(b->out_fd, (off_t) b->synced, (off_t) (start - b->synced),
                                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                               SYNC_FILE_RANGE_WAIT_AFTER);
                b->synced = start;
        }

        while (b->offset < b->info.bytes && b->offset - start < n_bytes) {
                uint64_t left = b->info.bytes - b->offset;
                ssize_t k = file_copy_chunk(b, left < n_bytes ? (size_t) left : (size_t) n_bytes);
                if (k == -EINTR)
                        continue;
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return -EIO; /* the copy shrank under us */
                b->offset += (uint64_t) k;
        }
        /* Start writing back what this step copied, so that the final
         * fdatasync() has little left to wait for; only a hint. */
        (void) sync_file_range(b->out_fd, (off_t) start, (off_t) (b->offset - start), SYNC_FILE_RANGE_WRITE);
        if (b->offset < b->info.bytes)
                return 1;
        if (fdatasync(b->out_fd) < 0)
                return negative_errno();
        b->phase = PHASE_DONE;
        return 0;
}

int store_backup_step(StoreBackup *b, unsigned n_pages) {
        int r;

        switch (b->phase) {
        case PHASE_PAGES:
                r = pages_step(b, n_pages ?: 1);
                /* The last pages copied: the file goes in the next steps. */
                return r < 0 ? r : 1;
        case PHASE_FILE:
                return file_step(b, (uint64_t) (n_pages ?: 1) * (uint64_t) b->page_size);
        default:
                return 0;
        }
}

void store_backup_info(const StoreBackup *b, StoreBackupInfo *ret) {
        *ret = b->info;
        ret->bytes_done = b->offset;
        ret->copying_file = b->phase != PHASE_PAGES;
}

void store_backup_free(StoreBackup *b) {
        if (!b)
                return;
        if (b->backup)
                sqlite3_backup_finish(b->backup);
        if (b->dest)
                sqlite3_close(b->dest);
        if (b->temp_path[0])
                (void) temp_remove(b->temp_path);
        if (b->temp_fd >= 0)
                close(b->temp_fd);
        if (b->out_fd >= 0)
                close(b->out_fd);
        free(b);
}

int store_checkpoint_file(const char *db_path) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        /* No create: a missing database is the caller's case, not ours to
         * make. The first read recovers a hot journal or reads the WAL;
         * the checkpoint then moves every WAL frame into the database
         * and truncates the WAL, so that the file alone holds it all. */
        int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
                rc = sqlite3_column_int(st, 0) != 0 ? SQLITE_BUSY : SQLITE_OK;
        else if (rc == SQLITE_DONE)
                rc = SQLITE_OK; /* not in WAL mode: nothing to move */
        int r = store_errno_from_sqlite(rc);
        if (rc == SQLITE_CANTOPEN)
                r = db && sqlite3_system_errno(db) > 0 ? -sqlite3_system_errno(db) : -EIO;
        sqlite3_finalize(st);
        rc = sqlite3_close(db);
        return r < 0 ? r : store_errno_from_sqlite(rc);
}
