/* main.c — credvaultd start-up: from the command line to a serving loop.
 *
 * Owns: the order of start-up, its exit codes and its messages. Every
 * check that can refuse to start (state directory, its lock, the files in
 * it, root key, integrity, key check, a metadata upgrade not asked for)
 * runs before the socket is served, and the key check runs before the
 * schema is touched, so a wrong key never changes the database. Each
 * refusal names the path it is about and the system's own cause, with the
 * exit status credvaultd(8) documents for it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup-offline.h"
#include "check.h"
#include "hardening.h"
#include "log.h"
#include "options.h"
#include "policy.h"
#include "recover.h"
#include "rootkey.h"
#include "server.h"
#include "startup.h"
#include "vault.h"

/* The state directory holds the database and, with --dev, the root key:
 * only the daemon's user may enter it. One we own that others could only
 * read or search is made 0700 (systemd's StateDirectoryMode= is 0700 too):
 * nobody else could have put anything in it. One that group or others
 * could write is refused, not tightened: whatever they planted (a symbolic
 * link as the database, a lock file of their own) would stay, and be
 * trusted. One owned by someone else is refused, as its owner could open
 * it again, or plant a key or a database in it. Returns 0 or an exit
 * status, having said why. */
int state_dir_prepare(const char *dir) {
        _cleanup_(closep) int fd = -1;
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                log_error("cannot create state directory %s: %s", dir, strerror(errno));
                return EXIT_STATE_DIR;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_error("state directory %s is unusable: %s", dir,
                          errno == ENOTDIR ? "not a directory" : strerror(errno));
                return EXIT_STATE_DIR;
        }
        if (st.st_uid != geteuid()) {
                log_error("state directory %s is owned by uid %u, not by this daemon's uid %u: chown it to the "
                          "daemon's user, or use another",
                          dir, (unsigned) st.st_uid, (unsigned) geteuid());
                return EXIT_STATE_DIR;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                log_error("state directory %s has mode %04o: writable by group or others, who could have put files "
                          "in it (a symbolic link as the database, a lock file of their own); refusing to start: "
                          "chmod 0700 it and check its contents",
                          dir, (unsigned) (st.st_mode & 07777));
                return EXIT_STATE_DIR;
        }
        if (st.st_mode & 0077) {
                if (fchmod(fd, 0700) < 0) {
                        log_error("state directory %s has mode %04o, open to other users, and cannot be made 0700: "
                                  "%s",
                                  dir, (unsigned) (st.st_mode & 07777), strerror(errno));
                        return EXIT_STATE_DIR;
                }
                log_warning("state directory %s had mode %04o, open to other users; changed it to 0700", dir,
                            (unsigned) (st.st_mode & 07777));
        }
        if (access(dir, R_OK | W_OK | X_OK) < 0) {
                log_error("state directory %s is unusable: %s", dir, strerror(errno));
                return EXIT_STATE_DIR;
        }
        return 0;
}

/* A file in the state directory (st from lstat(), or fstat() of what was
 * opened without following links) must be a regular file of the daemon's
 * own, with no other name: anything else was put there by someone else, or
 * is a hard link to a file elsewhere. Returns 0 or an exit status, having
 * said why. */
static int state_file_check(const char *path, const struct stat *st) {
        const char *what = NULL;
        char why[96];

        if (S_ISLNK(st->st_mode))
                what = "is a symbolic link";
        else if (!S_ISREG(st->st_mode))
                what = S_ISDIR(st->st_mode) ? strerror(EISDIR) : "not a regular file";
        else if (st->st_uid != geteuid()) {
                snprintf(why, sizeof(why), "is owned by uid %u, not by this daemon's uid %u", (unsigned) st->st_uid,
                         (unsigned) geteuid());
                what = why;
        } else if (st->st_nlink != 1) {
                snprintf(why, sizeof(why), "has %ju hard links, not one", (uintmax_t) st->st_nlink);
                what = why;
        }
        if (!what)
                return 0;
        log_error("%s: %s; refusing to start: check the state directory's contents, and remove what does not "
                  "belong there",
                  path, what);
        return EXIT_STATE_DIR;
}

/* The database and SQLite's files beside it: each absent, or one that
 * state_file_check() accepts, before SQLite opens any of them. Returns 0
 * or an exit status, having said why. */
int database_files_check(const char *dir) {
        static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
        char path[PATH_MAX];
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                snprintf(path, sizeof(path), "%s/%s%s", dir, DB_FILE, suffixes[i]);
                if (lstat(path, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        log_error("cannot check %s: %s", path, strerror(errno));
                        return EXIT_STATE_DIR;
                }
                int r = state_file_check(path, &st);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* The pid a lock file names, or 0. */
static pid_t lock_file_pid(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        long pid = strtol(buf, NULL, 10);
        return pid > 0 && pid <= INT_MAX ? (pid_t) pid : 0;
}

/* One daemon per state directory, from its first moment: an flock()ed
 * file, taken before the key is read or the database opened (SQLite's own
 * lock comes later, and cannot say who holds it). It holds the holder's
 * pid so that a second daemon can name it. The lock goes with the process;
 * the file stays, since removing it would race with the next daemon.
 * Returns 0 or an exit status, having said why; *ret_fd stays open for as
 * long as the daemon runs. */
int state_dir_lock(const char *dir, int *ret_fd) {
        _cleanup_(closep) int fd = -1;
        char path[PATH_MAX], pid[32];
        struct stat st;
        int r;

        snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE);
        /* Never following a link, and only a file of our own: one someone
         * else made could be held locked by them, keeping every daemon
         * out. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0600);
        if (fd < 0 && errno == ELOOP) {
                struct stat lst = { .st_mode = S_IFLNK };
                return state_file_check(path, &lst);
        }
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_error("cannot open lock file %s: %s", path, strerror(errno));
                return EXIT_STATE_DIR;
        }
        r = state_file_check(path, &st);
        if (r != 0)
                return r;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK) {
                        log_error("cannot lock %s: %s", path, strerror(errno));
                        return EXIT_STATE_DIR;
                }
                pid_t holder = lock_file_pid(fd);
                if (holder > 0)
                        log_error("database %s/%s is in use by credvaultd pid %d (it holds %s); refusing to start a "
                                  "second daemon on the same state directory",
                                  dir, DB_FILE, (int) holder, path);
                else
                        log_error("database %s/%s is in use by another credvaultd (it holds %s); refusing to start "
                                  "a second daemon on the same state directory",
                                  dir, DB_FILE, path);
                return EXIT_STATE_DIR;
        }
        /* The pid only names the holder; the lock is what counts, so a
         * full disk here is left to the steps that must write. */
        int n = snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) n, 0) != n)
                log_warning("cannot write the pid to lock file %s: %s", path, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Why a key file was refused, in words that say what to do. */
static void root_key_read_failed(const char *path, int r) {
        struct stat st;

        switch (r) {
        case -EBADMSG:
                log_error("cannot read root key %s: not a key: it must hold exactly 32 raw bytes, or 64 hex digits "
                          "optionally followed by a newline (hex text of another length, such as a 128-bit key of "
                          "32 hex digits, is refused)",
                          path);
                break;
        case -EBADFD:
                log_error("cannot read root key %s: not a regular file", path);
                break;
        case -ELOOP:
                log_error("cannot read root key %s: it is a symbolic link; a key the daemon finds by name (the "
                          "development key, the systemd credential) must be the file itself",
                          path);
                break;
        case -EPERM:
                if (stat(path, &st) < 0) {
                        log_error("cannot read root key %s: %s", path, strerror(errno));
                        break;
                }
                /* Name the rule the file broke: its owner, or its mode. */
                if (st.st_uid != geteuid() && st.st_uid != 0)
                        log_error("root key %s is owned by uid %u: it must be owned by this daemon's user (uid %u) "
                                  "or root; chown it",
                                  path, (unsigned) st.st_uid, (unsigned) geteuid());
                else
                        log_error("root key %s has mode %04o: it must be neither readable by others nor writable "
                                  "by group or others; chmod 0600 it",
                                  path, (unsigned) (st.st_mode & 07777));
                break;
        default:
                log_error("cannot read root key %s: %s", path, strerror(-r));
        }
}

/* Where the root key comes from, in order: --root-key-file, the systemd
 * credential, the development key (--dev only). The operator's
 * --root-key-file may be a symbolic link; the credential (a regular file
 * systemd writes) and the development key (in the state directory) are
 * read only as the file itself. Returns 0 or an exit status, having said
 * why; source is where the key came from. */
int root_key_load(const Options *o, uint8_t **ret, char *source, size_t source_size) {
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[PATH_MAX];
        struct stat st;
        int r;

        if (o->root_key_file)
                snprintf(path, sizeof(path), "%s", o->root_key_file);
        else if (creds && snprintf(path, sizeof(path), "%s/%s", creds, CREDENTIAL_NAME) > 0 && lstat(path, &st) == 0)
                ;
        else if (o->dev) {
                snprintf(path, sizeof(path), "%s/%s", o->state_dir, DEV_KEY_FILE);
                r = rootkey_generate(path);
                if (r >= 0)
                        log_warning("development mode: generated a root key in %s; never use --dev in production",
                                    path);
                else if (r != -EEXIST) {
                        /* The key would be written into the state directory:
                         * what fails here (a full disk) is the directory's. */
                        log_error("cannot create the development root key %s: %s", path, strerror(-r));
                        return EXIT_STATE_DIR;
                }
        } else {
                snprintf(path, sizeof(path), "%s/%s", o->state_dir, DEV_KEY_FILE);
                if (access(path, F_OK) == 0)
                        log_error("%s is a development key; it is used only with --dev", path);
                log_error("no root key: pass --root-key-file FILE, provide the systemd credential '%s' "
                          "(LoadCredentialEncrypted=), or use --dev for a development vault",
                          CREDENTIAL_NAME);
                return EXIT_NO_KEY;
        }
        snprintf(source, source_size, "%s", path);
        r = o->root_key_file ? rootkey_read(path, ret) : rootkey_read_nofollow(path, ret);
        if (r < 0) {
                root_key_read_failed(path, r);
                return EXIT_NO_KEY;
        }
        return 0;
}

/* Who holds a database: SQLite locks with fcntl() locks on the bytes from
 * 1 GiB up, so F_GETLK names the holder (unless it used open file
 * description locks). 0 if nobody, or it cannot be told. */
static pid_t database_holder(const char *path, char *ret_comm, size_t comm_size) {
        _cleanup_(closep) int fd = -1, comm = -1;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0x40000000, .l_len = 512 };
        char comm_path[64];

        snprintf(ret_comm, comm_size, "%s", "unknown");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK || fl.l_pid <= 0)
                return 0;
        snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", (int) fl.l_pid);
        comm = open(comm_path, O_RDONLY | O_CLOEXEC);
        ssize_t n = comm >= 0 ? read(comm, ret_comm, comm_size - 1) : -1;
        if (n > 0) {
                ret_comm[n] = '\0';
                ret_comm[strcspn(ret_comm, "\n")] = '\0';
        }
        return fl.l_pid;
}

static void database_busy(const char *db_path) {
        char comm[64];
        pid_t holder = database_holder(db_path, comm, sizeof(comm));
        if (holder > 0)
                log_error("database %s is in use by another process (pid %d, %s); the daemon must be its only user",
                          db_path, (int) holder, comm);
        else
                log_error("database %s is in use by another process; the daemon must be its only user", db_path);
}

int vault_open_failed(int r, const VaultOpenResult *res, const char *db_path, const char *key_source) {
        VaultOpenStep step = res->step;

        if (r == -EKEYREJECTED && res->previous_key) {
                char when[64] = "";
                time_t t = (time_t) res->rotated_at;
                struct tm tm;
                if (gmtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
                log_error("root key from %s is the root key of database %s from before the root key rotation at "
                          "%s: it no longer opens the vault; supply the new root key (see credvaultd(8), \"Root key "
                          "rotation\"); refusing to start",
                          key_source, db_path, when);
                return EXIT_WRONG_KEY;
        }
        if (r == -EKEYREJECTED) {
                log_error("root key from %s does not match database %s; refusing to start", key_source, db_path);
                return EXIT_WRONG_KEY;
        }
        if (r == -EBUSY) {
                database_busy(db_path);
                return EXIT_STATE_DIR;
        }
        switch (step) {
        case VAULT_OPEN_DATABASE:
                if (r == -EUCLEAN) {
                        log_error("database %s fails its integrity check; restore it from a backup", db_path);
                        return EXIT_CORRUPT;
                }
                if (r == -ELOOP)
                        log_error("database %s is a symbolic link; refusing to start: check the state directory's "
                                  "contents",
                                  db_path);
                else if (r == -EACCES || r == -EROFS)
                        log_error("cannot open database %s for reading and writing: %s", db_path, strerror(-r));
                else
                        log_error("cannot open database %s: %s", db_path, strerror(-r));
                return EXIT_STATE_DIR;
        case VAULT_OPEN_KEY_CHECK:
                log_error("cannot read key check from %s: %s", db_path, strerror(-r));
                break;
        case VAULT_OPEN_UPGRADE:
                log_error("database %s is from before metadata authentication: its plugin rows and token states "
                          "carry no MACs. Upgrading it trusts them as they are now and authenticates them from then "
                          "on, and nothing in the file can show they were not altered: someone who could write it "
                          "can make a newer vault look this old (from an old backup) to have altered rows trusted. "
                          "Check that this is the database you expect, then start once with "
                          "--trust-metadata-upgrade; refusing to start, the file is unchanged",
                          db_path);
                return EXIT_STATE_DIR;
        case VAULT_OPEN_MIGRATE:
                log_error("cannot bring database %s up to date: %s", db_path,
                          r == -EPROTO ? "written by a newer credvaultd" : strerror(-r));
                break;
        case VAULT_OPEN_KEYRING:
                log_error("cannot load keyring from %s: %s", db_path,
                          r == -EUCLEAN ? "key rows fail authentication (tampered or damaged)" : strerror(-r));
                break;
        case VAULT_OPEN_LOCK:
                log_error("cannot lock database %s: %s", db_path, strerror(-r));
                break;
        case VAULT_OPEN_SCHEMA:
                if (r == -EUCLEAN)
                        log_error("database %s was altered: its schema's %s; restore it from a backup; refusing to "
                                  "start",
                                  db_path, res->problem);
                else
                        log_error("cannot check the schema of database %s: %s", db_path, strerror(-r));
                break;
        case VAULT_OPEN_META:
                if (r == -EUCLEAN)
                        log_error("database %s was altered: %s; restore it from a backup; refusing to start", db_path,
                                  VAULT_META_MAC_PROBLEM);
                else
                        log_error("cannot check the recovery key's rows of database %s: %s", db_path, strerror(-r));
                break;
        }
        return r == -EUCLEAN ? EXIT_CORRUPT : EXIT_STATE_DIR;
}

/* --check-policy FILE: what `credvault policy check` runs. */
static int policy_check_file(const char *path) {
        _cleanup_(policy_freep) Policy *p = NULL;
        char err[POLICY_ERROR_SIZE] = "";
        int r = policy_load(path, &p, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, err[0] ? err : strerror(-r));
                return EXIT_FAILURE;
        }
        size_t n = policy_principal_count(p);
        printf("%s: valid (%zu principal%s)\n", path, n, n == 1 ? "" : "s");
        return EXIT_SUCCESS;
}

/* The policy file to serve under: --policy, else the default path if it
 * exists; NULL for none. The file is loaded once here to refuse a bad one
 * before the start goes any further. */
static int policy_choose(const Options *o, const char **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;
        char err[POLICY_ERROR_SIZE] = "";
        const char *path = o->policy_path;

        if (!path) {
                if (access(POLICY_PATH_DEFAULT, F_OK) < 0) {
                        *ret = NULL;
                        return 0;
                }
                path = POLICY_PATH_DEFAULT;
        }
        int r = policy_load(path, &p, err, sizeof(err));
        if (r < 0) {
                log_error("policy %s: %s; refusing to start", path, err[0] ? err : strerror(-r));
                return EXIT_POLICY;
        }
        *ret = path;
        return 0;
}

static int run(const Options *o) {
        _cleanup_(vault_freep) Vault *vault = NULL;
        const char *policy_path = NULL;
        _cleanup_(closep) int lock_fd = -1;
        uint8_t *root_key = NULL;
        char db_path[PATH_MAX], key_source[PATH_MAX] = "", dev_key[PATH_MAX];
        _cleanup_(closep) int recovery_fd = -1;
        VaultOpenResult opened = {};
        int r, mlock_error;

        /* A write in a write group allocates and frees some 100 KB at the
         * top of the heap (SQLite's savepoint): with glibc's default trim
         * threshold each write grew the heap and gave it back (brk, each
         * new page faulted in locked under mlockall), a tenth of a
         * grouped put's time. Free heap up to this much is kept. */
        mallopt(M_TRIM_THRESHOLD, 8 << 20);
        r = hardening_apply(&mlock_error);
        if (r < 0)
                log_warning("could not disable core dumps: %s", strerror(-r));
        if (mlock_error < 0 && mlock_error != -EOPNOTSUPP)
                log_warning("could not lock memory (%s): secrets may reach swap; raise LimitMEMLOCK=",
                            strerror(-mlock_error));
        if (sodium_init() < 0) {
                log_error("libsodium failed to initialise");
                return EXIT_FAILURE;
        }

        /* Before anything is opened: a policy that cannot be read stops the
         * start, rather than serving with less (or more) than was meant. */
        r = policy_choose(o, &policy_path);
        if (r != 0)
                return r;

        r = state_dir_prepare(o->state_dir);
        if (r == 0)
                r = state_dir_lock(o->state_dir, &lock_fd);
        if (r == 0)
                r = backup_offline_clean(o->state_dir);
        if (r == 0)
                r = database_files_check(o->state_dir);
        if (r == 0)
                r = root_key_load(o, &root_key, key_source, sizeof(key_source));
        if (r == 0)
                r = recovery_key_file_open(o, &recovery_fd);
        if (r != 0)
                return r;

        snprintf(db_path, sizeof(db_path), "%s/%s", o->state_dir, DB_FILE);
        snprintf(dev_key, sizeof(dev_key), "%s/%s", o->state_dir, DEV_KEY_FILE);
        bool on_dev_key = !o->root_key_file && o->dev && strcmp(key_source, dev_key) == 0;
        VaultOpenFlags flags =
                VAULT_OPEN_CHECK_AFTER_CRASH | (o->trust_metadata_upgrade ? VAULT_OPEN_TRUST_METADATA_UPGRADE : 0);
        r = vault_open(db_path, TAKE_PTR(root_key), flags, &vault, &opened);
        if (r == -EKEYREJECTED && on_dev_key)
                r = dev_key_resume(db_path, dev_key, flags, &vault, &opened);
        else if (r >= 0 && on_dev_key)
                dev_key_stale_remove(dev_key);
        if (r < 0) {
                if (recovery_fd >= 0)
                        (void) unlink(o->recovery_key_file);
                return vault_open_failed(r, &opened, db_path, key_source);
        }
        if (recovery_fd >= 0) {
                r = recovery_key_file_write(o->recovery_key_file, TAKE_FD(recovery_fd), vault, opened.created);
                if (r != 0)
                        return r;
        }
        /* Said either way: an operator (and the tests) can see which start
         * read the whole file. */
        if (opened.integrity_checked)
                log_info("integrity check of %s passed (the last shutdown was not clean)", db_path);
        else
                log_info("integrity check skipped: clean shutdown (credvaultd --check runs it)");
        if (opened.upgraded)
                log_warning("--trust-metadata-upgrade: database %s upgraded to authenticated metadata; trusted "
                            "%" PRId64 " plugin rows and %" PRId64 " token states as they were; remove the option",
                            db_path, opened.plugins_trusted, opened.tokens_trusted);
        else if (o->trust_metadata_upgrade)
                log_warning("--trust-metadata-upgrade: database %s needs no upgrade; remove the option, so that a "
                            "database made to look older is refused",
                            db_path);

        ServerConfig config = {
                .socket_path = o->socket_path,
                .policy_path = policy_path,
                .socket_mode = o->socket_mode,
                .credential_socket_path = o->credential_socket_path,
                .idle_exit_sec = o->idle_exit_sec,
                .max_connections = o->max_connections,
                .max_connections_per_uid = o->max_connections_per_uid,
                .client_idle_sec = o->client_idle_sec,
                .io_timeout_sec = o->io_timeout_sec,
                .dev_key_path = on_dev_key ? dev_key : NULL,
        };
        Server *server = NULL;
        r = server_new(&config, vault, &server);
        if (r < 0)
                return EXIT_SOCKET;
        r = server_run(server);
        server_free(server);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        Options o;
        int r = options_parse(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        if (o.check_policy_path)
                return policy_check_file(o.check_policy_path);
        /* The offline modes: no socket, no loop; their own module. */
        if (o.verify_backup_path)
                return backup_offline_verify(&o);
        if (o.restore_path)
                return backup_offline_restore(&o);
        log_open();
        if (o.recover)
                return recover_run(&o);
        if (o.check)
                return check_run(&o);

        /* A cap the descriptor limit cannot serve is a usage error: the
         * daemon would find out only when accept() fails under load. */
        uint64_t nofile = 0;
        r = server_fds_reserve((unsigned) o.max_connections, &nofile);
        if (r == -EMFILE) {
                log_error("--max-connections %d needs %" PRIu64 " file descriptors (2 per connection: its socket and "
                          "a descriptor it may pass; %d more for the daemon), but the limit is %" PRIu64
                          " (RLIMIT_NOFILE, LimitNOFILE= in the unit): lower --max-connections or raise the limit",
                          o.max_connections, SERVER_FDS_NEEDED(o.max_connections), SERVER_FDS_RESERVED, nofile);
                return EXIT_USAGE;
        }
        return run(&o);
}
