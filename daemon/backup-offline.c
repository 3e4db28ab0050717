/* backup-offline.c — --verify-backup and --restore (see backup-offline.h).
 *
 * A backup is checked the way a start would open it, and more: the root
 * key must open it (key check, keyring), SQLite's full integrity check
 * must pass, every record must decrypt, every metadata MAC and the audit
 * chain must check. The file named is only read: the check runs on a
 * copy (in a private temporary directory for --verify-backup; for
 * --restore, the copy that is then installed, in the locked state
 * directory), since opening a vault may write to it (a schema upgrade,
 * SQLite's WAL). A restore replaces the database with one rename, after
 * the copy is on disk; the old database stays under another name
 * (restore-install.c: a crash at any point leaves the old or the new).
 * Never: writes to the file named, installs a copy that did not pass, or
 * writes a byte from the copy to stderr unescaped (names in a damaged or
 * altered copy are anyone's bytes). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup-offline.h"
#include "hardening.h"
#include "log.h"
#include "macro.h"
#include "restore-install.h"
#include "startup.h"
#include "text-escape.h"
#include "vault.h"

int backup_offline_clean(const char *state_dir) {
        char db[PATH_MAX];

        snprintf(db, sizeof(db), "%s/%s", state_dir, DB_FILE);
        int r = vault_backup_clean(db);
        if (r > 0)
                log_notice("removed the temporary copy an interrupted backup left (%s.backup-tmp)", db);
        int q = r < 0 ? r : restore_clean(db);
        if (q > 0)
                log_notice("removed the temporary copy an interrupted restore left (%s%s)", db, RESTORE_TEMP_SUFFIX);
        if (q < 0) {
                log_error("cannot remove an interrupted backup's temporary files in %s: %s", state_dir, strerror(-q));
                return EXIT_STATE_DIR;
        }
        return 0;
}

/* Copy src (open for reading) into a new file at dest, synced. */
static int file_copy(int src, const char *dest) {
        _cleanup_(closep) int out = -1;
        struct stat st;

        if (fstat(src, &st) < 0)
                return negative_errno();
        out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (out < 0)
                return negative_errno();
        off_t in_off = 0, out_off = 0;
        while (in_off < st.st_size) {
                ssize_t k = copy_file_range(src, &in_off, out, &out_off, (size_t) (st.st_size - in_off), 0);
                if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) {
                        uint8_t buf[64 * 1024];
                        k = pread(src, buf, sizeof(buf), in_off);
                        if (k > 0 && pwrite(out, buf, (size_t) k, out_off) != k)
                                return errno ? negative_errno() : -EIO;
                        if (k > 0) {
                                in_off += k;
                                out_off += k;
                        }
                }
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break; /* it shrank: the check will say what it is */
        }
        if (fsync(out) < 0)
                return negative_errno();
        return 0;
}

/* Open the copy at db_path with the key and check all of it. Returns 0
 * or an exit status, having said why about `name` (the file given). */
static int copy_check(const char *name, const char *db_path, uint8_t *key, const char *key_source, VaultVerify *ret) {
        _cleanup_(vault_freep) Vault *v = NULL;
        VaultOpenResult res = {};

        int r = vault_open(db_path, key, 0, &v, &res);
        if (r == -EKEYREJECTED) {
                fprintf(stderr,
                        "credvaultd: the root key from %s does not open %s: it was made under another "
                        "root key\n",
                        key_source, name);
                return EXIT_WRONG_KEY;
        }
        if (r == -EPERM) {
                fprintf(stderr,
                        "credvaultd: %s is a vault from before metadata authentication: start a daemon on it "
                        "with --trust-metadata-upgrade instead\n",
                        name);
                return EXIT_STATE_DIR;
        }
        if (r == -EUCLEAN && res.step == VAULT_OPEN_META) {
                fprintf(stderr, "credvaultd: %s was altered: %s\n", name, VAULT_META_MAC_PROBLEM);
                return EXIT_CORRUPT;
        }
        if (r == -EUCLEAN && res.step == VAULT_OPEN_SCHEMA) {
                char problem[4 * sizeof(res.problem)];
                fprintf(stderr, "credvaultd: %s was altered: its schema's %s\n", name,
                        text_escape(res.problem, problem, sizeof(problem)));
                return EXIT_CORRUPT;
        }
        if (r < 0) {
                fprintf(stderr, "credvaultd: %s: %s%s\n", name,
                        r == -EUCLEAN ? "not a credvault database, or damaged: " : "cannot open: ",
                        r == -EUCLEAN ? (res.step == VAULT_OPEN_KEYRING ? "its keyring fails authentication"
                                                                        : "it fails SQLite's check")
                                      : strerror(-r));
                return r == -EUCLEAN ? EXIT_CORRUPT : EXIT_STATE_DIR;
        }
        r = vault_verify(v, ret);
        if (r == -EUCLEAN) {
                char problem[4 * sizeof(ret->problem)];
                fprintf(stderr, "credvaultd: %s is damaged or was altered: %s\n", name,
                        text_escape(ret->problem, problem, sizeof(problem)));
                return EXIT_CORRUPT;
        }
        if (r < 0) {
                fprintf(stderr, "credvaultd: cannot check %s: %s\n", name, strerror(-r));
                return r == -ENOMEM ? EXIT_FAILURE : EXIT_STATE_DIR;
        }
        return 0;
}

static void report(const char *name, const VaultVerify *v) {
        printf("%s: ok: %" PRId64 " KEK%s, %" PRId64 " secrets, %" PRId64 " token sets, %" PRId64 " API keys, %" PRId64
               " staged versions decrypted; %" PRId64 " plugins and %" PRId64
               " token states authenticated; audit trail of %" PRId64 " records intact\n",
               name, v->keks, v->keks == 1 ? "" : "s", v->secrets, v->tokens, v->apikeys, v->others, v->plugins,
               v->token_states, v->audit.records);
}

/* The root key a start would use, without making a development key that
 * is not there (it could not open a copy made under another). */
static int key_load(const Options *o, uint8_t **ret, char *source, size_t source_size) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[PATH_MAX];

        if (o->dev && !o->root_key_file &&
            !(creds && snprintf(path, sizeof(path), "%s/%s", creds, CREDENTIAL_NAME) > 0 && access(path, F_OK) == 0)) {
                snprintf(path, sizeof(path), "%s/%s", o->state_dir, DEV_KEY_FILE);
                if (access(path, F_OK) < 0) {
                        fprintf(stderr,
                                "credvaultd: no development root key %s: the key the copy was made under is "
                                "needed\n",
                                path);
                        return EXIT_NO_KEY;
                }
        }
        return root_key_load(o, ret, source, source_size);
}

/* The file named, open for reading: a regular file. O_NONBLOCK: opening
 * a FIFO (or a device) must not wait for a writer; such a file is then
 * refused, and on a regular file the flag changes nothing. */
static int source_open(const char *path, int *ret_fd) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "credvaultd: cannot open backup %s: %s\n", path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return EXIT_STATE_DIR;
        }
        if (!S_ISREG(st.st_mode)) {
                fprintf(stderr, "credvaultd: backup %s is not a regular file\n", path);
                close(fd);
                return EXIT_STATE_DIR;
        }
        *ret_fd = fd;
        return 0;
}

static int prepare(void) {
        int mlock_error;
        (void) hardening_apply(&mlock_error);
        if (sodium_init() < 0) {
                fprintf(stderr, "credvaultd: libsodium failed to initialise\n");
                return EXIT_FAILURE;
        }
        return 0;
}

int backup_offline_verify(const Options *o) {
        const char *name = o->verify_backup_path;
        char dir[PATH_MAX], db[PATH_MAX + 32], key_source[PATH_MAX] = "";
        _cleanup_(closep) int src = -1;
        uint8_t *key = NULL;
        VaultVerify v = {};

        int r = prepare();
        if (r == 0)
                r = source_open(name, &src);
        if (r == 0)
                r = key_load(o, &key, key_source, sizeof(key_source));
        if (r != 0)
                return r;
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/credvault-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
                fprintf(stderr, "credvaultd: cannot make a temporary directory for the copy: %s\n", strerror(errno));
                sodium_free(key);
                return EXIT_STATE_DIR;
        }
        snprintf(db, sizeof(db), "%s/%s", dir, DB_FILE);
        int q = file_copy(src, db);
        if (q < 0) {
                fprintf(stderr, "credvaultd: cannot copy %s into %s: %s\n", name, dir, strerror(-q));
                sodium_free(key);
                r = EXIT_STATE_DIR;
        } else
                r = copy_check(name, db, key, key_source, &v);
        (void) sqlite_files_remove(db, 0);
        (void) rmdir(dir);
        if (r == 0)
                report(name, &v);
        return r;
}

int backup_offline_restore(const Options *o) {
        const char *name = o->restore_path;
        char db[PATH_MAX], tmp[PATH_MAX + 32], key_source[PATH_MAX] = "";
        _cleanup_(closep) int lock_fd = -1, src = -1;
        uint8_t *key = NULL;
        VaultVerify v = {};
        RestoreInstall in;

        int r = prepare();
        if (r == 0)
                r = state_dir_prepare(o->state_dir);
        if (r == 0)
                r = state_dir_lock(o->state_dir, &lock_fd);
        if (r == 0)
                r = backup_offline_clean(o->state_dir);
        if (r == 0)
                r = database_files_check(o->state_dir);
        if (r == 0)
                r = source_open(name, &src);
        if (r == 0)
                r = key_load(o, &key, key_source, sizeof(key_source));
        if (r != 0)
                return r;

        snprintf(db, sizeof(db), "%s/%s", o->state_dir, DB_FILE);
        snprintf(tmp, sizeof(tmp), "%s%s", db, RESTORE_TEMP_SUFFIX);
        int q = file_copy(src, tmp);
        if (q < 0) {
                fprintf(stderr, "credvaultd: cannot copy %s into %s: %s\n", name, tmp, strerror(-q));
                sodium_free(key);
                (void) sqlite_files_remove(tmp, 0);
                return EXIT_STATE_DIR;
        }
        /* The copy that is checked is the one installed. */
        r = copy_check(name, tmp, key, key_source, &v);
        if (r != 0) {
                (void) sqlite_files_remove(tmp, 0);
                fprintf(stderr, "credvaultd: nothing restored; %s is unchanged\n", db);
                return r;
        }
        /* Opening it may have written to it (closed cleanly: no WAL
         * left): on disk before it becomes the database. */
        errno = 0;
        _cleanup_(closep) int tfd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char wal[PATH_MAX + 40];
        snprintf(wal, sizeof(wal), "%s-wal", tmp);
        if (tfd < 0 || fsync(tfd) < 0 || access(wal, F_OK) == 0) {
                fprintf(stderr, "credvaultd: cannot make the copy %s durable: %s; nothing restored\n", tmp,
                        tfd < 0 || errno != 0 ? strerror(errno) : "its WAL was left");
                (void) sqlite_files_remove(tmp, 0);
                return EXIT_STATE_DIR;
        }

        q = restore_install(db, tmp, RESTORE_NONE, &in);
        if (in.checkpoint_error < 0)
                fprintf(stderr,
                        "credvaultd: the database being replaced could not be checkpointed (%s): it is kept "
                        "as %s with its -wal\n",
                        strerror(-in.checkpoint_error), in.aside[0] ? in.aside : "(no aside was made)");
        if (q < 0) {
                if (in.step < RESTORE_RENAMED)
                        (void) restore_clean(db);
                fprintf(stderr, "credvaultd: restoring into %s failed: %s; %s\n", db, strerror(-q),
                        in.step < RESTORE_RENAMED ? "nothing restored, the database is the one it was"
                                                  : "the restored database is in place, but the directory could "
                                                    "not be synced");
                return EXIT_STATE_DIR;
        }
        report(name, &v);
        printf("restored %s as %s\n", name, db);
        if (in.replaced)
                printf("the database it replaced is kept as %s%s: remove it once the restored vault serves\n", in.aside,
                       in.wal_kept ? " (and its -wal)" : "");
        return 0;
}
