/* test-e2e-faults.c — the faults a host really has, on the real daemon.
 *
 * Shows: on a full disk (a small tmpfs mounted on the state directory)
 * writes fail with `internal` "disk full" (or `unavailable`: the audit
 * trail cannot be written), then every request but health is refused,
 * promptly, until an audit record can be written again (fail closed), and
 * health says why; once space returns writes work again and every
 * acknowledged write is there, byte for byte, after a restart; a new vault on a full disk, with --dev or a key
 * file, is refused (status 5) naming the path and "No space left on
 * device". A read-only state (a read-only mount, or a database file the
 * daemon's user cannot write) and a state directory owned by another user
 * are refused (status 5) with the path and the cause. A database page
 * overwritten while the daemon is stopped is refused at start (status 6) or
 * read as `corrupt`, never as a wrong value; a sealed record with one byte
 * flipped, or with its KEK version changed, answers `corrupt` while the
 * others are served. A second daemon on the same state is refused (status
 * 5) naming the first one's pid, and the database is locked against any
 * other SQLite writer, while the first daemon keeps serving and writing.
 * Files another user planted in the state directory are never trusted: a
 * lock file or -wal file of theirs is refused (status 5) naming it and its
 * owner, and a state directory they could write to (where they put a
 * symbolic link as the database and -wal file, and a lock file of their
 * own) is refused as it is, writing nothing through the links; tightened
 * by hand without a look inside, it is still refused for each planted
 * file, until they are gone.
 *
 * Needs root (mount, chown, a second user): otherwise it exits 77 and says
 * why. A test that needs mount(2) and cannot have it is skipped, saying so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

/* Exit codes from credvaultd(8). */
enum { EXIT_STATE_DIR = 5, EXIT_CORRUPT = 6 };

#define RUN_TIMEOUT_MS 10000
#define NOBODY 65534
#define PLUGIN "faults"

/* The daemon of the running test, and a file system it mounted: teardown
 * unmounts and removes them even when the test failed half-way. */
static Harness h;
static char mounted[256];

static int setup(void **state) {
        (void) state;
        h = (Harness) {};
        mounted[0] = '\0';
        return 0;
}

static int teardown(void **state) {
        (void) state;
        if (h.pid > 0)
                harness_stop(&h);
        if (mounted[0])
                umount2(mounted, MNT_DETACH);
        harness_cleanup(&h);
        return 0;
}

/* ---- helpers ---- */

/* harness_run_daemon() with the daemon's stderr kept: the test's own stderr
 * points at a file for the call, and CV_TEST_VERBOSE lets the harness pass
 * it on. Returns the exit status; *ret_log is what the daemon said. */
static int run_argv_logged(const char *const *argv, char **ret_log) {
        char path[256], *data = NULL;
        size_t size = 0;
        const char *verbose = getenv("CV_TEST_VERBOSE");

        snprintf(path, sizeof(path), "%s/refusal.log", h.dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        setenv("CV_TEST_VERBOSE", "1", 1);
        int r = harness_run_daemon(argv, RUN_TIMEOUT_MS);
        if (!verbose)
                unsetenv("CV_TEST_VERBOSE");
        dup2(saved, STDERR_FILENO);
        close(saved);
        assert_int_equal(harness_read_file(path, &data, &size), 0);
        *ret_log = strndup(data, size);
        free(data);
        assert_non_null(*ret_log);
        return r;
}

/* The daemon's message holds every one of the strings (NULL-terminated). */
static void assert_says(const char *log, ...) {
        va_list ap;
        va_start(ap, log);
        for (const char *want; (want = va_arg(ap, const char *));)
                if (!strstr(log, want))
                        fail_msg("the daemon did not say '%s'; it said: %s", want, log);
        va_end(ap);
}

static void write_file(const char *path, const void *data, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(fsync(fd), 0);
        close(fd);
}

static void copy_file(const char *from, const char *to) {
        char *data = NULL;
        size_t size = 0;
        assert_int_equal(harness_read_file(from, &data, &size), 0);
        write_file(to, data, size, 0600);
        free(data);
}

static void db_path_of(char *buf, size_t size) {
        snprintf(buf, size, "%s/credvault.db", h.state_dir);
}

/* A value that says which secret it is, value_size bytes. */
static void value_of(const char *name, int round, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s round %d:", name, round);
        /* snprintf wrote at most size - 1 characters and a NUL. */
        size_t from = n < 0 ? 0 : (size_t) n < size ? (size_t) n : size;
        for (size_t i = from; i < size; i++)
                buf[i] = (char) ('a' + (i * 7 + (size_t) round) % 26);
}

static int put(CvClient *c, const char *name, const char *value, size_t size) {
        return cv_secret_put(c, PLUGIN, name, value, size, NULL);
}

/* The secret is there with exactly this value. */
static void assert_value(CvClient *c, const char *name, const char *value, size_t size) {
        CvSecret *s = NULL;
        int r = cv_secret_get(c, PLUGIN, name, &s);
        if (r < 0)
                fail_msg("get %s: %d %s: %s", name, r, cv_client_error_code(c), cv_client_error_message(c));
        assert_int_equal(s->value_size, size);
        assert_memory_equal(s->value, value, size);
        cv_secret_free(s);
}

static CvClient *client(void) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h.socket_path, 10000, &c), 0);
        return c;
}

static void chown_tree(const char *dir, uid_t uid) {
        DIR *d = opendir(dir);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));) {
                char path[512];
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                assert_int_equal(lchown(path, uid, uid), 0);
        }
        closedir(d);
        assert_int_equal(chown(dir, uid, uid), 0);
}

/* Mount a tmpfs of size_kib on dir; false (and the test is skipped) where
 * this machine does not allow it. */
static bool mount_tmpfs(const char *dir, unsigned size_kib) {
        char options[64];
        snprintf(options, sizeof(options), "size=%uk,mode=0700", size_kib);
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0) {
                printf("# skipped: cannot mount a tmpfs on %s: %s\n", dir, strerror(errno));
                return false;
        }
        snprintf(mounted, sizeof(mounted), "%s", dir);
        return true;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- disk full ---- */

#define FULL_VALUE_SIZE 4096
#define FULL_WRITES_MAX 64

/* Fill the file system of dir: a file that grows until ENOSPC. */
static void fill(const char *path) {
        static char chunk[64 * 1024];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        memset(chunk, 0x5a, sizeof(chunk));
        for (size_t size = sizeof(chunk); size > 0;) {
                ssize_t k = write(fd, chunk, size);
                if (k < 0) {
                        assert_int_equal(errno, ENOSPC);
                        size /= 2; /* the last pages, down to a byte */
                }
        }
        close(fd);
}

/* Every secret written before the disk filled, and every write it
 * acknowledged, reads back byte for byte; a write it refused left nothing. */
static void assert_nothing_lost(CvClient *c, const int64_t acked[static FULL_WRITES_MAX]) {
        char name[64], value[FULL_VALUE_SIZE];

        for (int i = 0; i < 8; i++) {
                snprintf(name, sizeof(name), "before-%d", i);
                value_of(name, 0, value, sizeof(value));
                assert_value(c, name, value, sizeof(value));
        }
        for (int i = 0; i < FULL_WRITES_MAX; i++) {
                CvSecret *s = NULL;
                snprintf(name, sizeof(name), "full-%d", i);
                value_of(name, 1, value, sizeof(value));
                if (acked[i])
                        assert_value(c, name, value, sizeof(value));
                else
                        assert_int_equal(cv_secret_get(c, PLUGIN, name, &s), -ENOENT);
        }
}

#define AUDIT_FULL "audit trail cannot be written: disk full"

/* Within a few seconds (a read's record waits for the next batch), every
 * request but health is refused with unavailable naming the full disk,
 * each at once, and health says the audit trail is failing. */
static void assert_audit_failing(CvClient *c) {
        CvSecret *s = NULL;
        int r = 0;
        for (int i = 0; i < 100; i++) {
                r = cv_secret_get(c, PLUGIN, "before-0", &s);
                cv_secret_free(s);
                s = NULL;
                if (r == -ESHUTDOWN)
                        break;
                usleep(50 * 1000);
        }
        if (r != -ESHUTDOWN)
                fail_msg("reads on a full disk: want unavailable, got %d %s", r, cv_client_error_code(c));
        assert_string_equal(cv_client_error_message(c), AUDIT_FULL);
        int64_t t0 = now_ms();
        assert_int_equal(cv_secret_get(c, PLUGIN, "before-1", &s), -ESHUTDOWN);
        assert_true(now_ms() - t0 < 5000);
        char *health = NULL;
        assert_int_equal(cv_health_json(c, &health), 0);
        if (!strstr(health, "\"error\":\"disk full\""))
                fail_msg("health does not say the audit trail fails: %s", health);
        free(health);
}

/* The vault of 8 secrets (before-N), restarted on a 1 MiB file system
 * of its own; false if none can be mounted (the test is skipped). */
static bool start_on_small_disk(void) {
        char disk[256], db[256], from[512], value[FULL_VALUE_SIZE], name[64];

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client();
        for (int i = 0; i < 8; i++) {
                snprintf(name, sizeof(name), "before-%d", i);
                value_of(name, 0, value, sizeof(value));
                assert_int_equal(put(c, name, value, sizeof(value)), 0);
        }
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        snprintf(disk, sizeof(disk), "%s/state.disk", h.dir);
        assert_int_equal(rename(h.state_dir, disk), 0);
        assert_int_equal(mkdir(h.state_dir, 0700), 0);
        if (!mount_tmpfs(h.state_dir, 1024))
                return false;
        snprintf(from, sizeof(from), "%s/credvault.db", disk);
        db_path_of(db, sizeof(db));
        copy_file(from, db);
        assert_int_equal(harness_restart(&h), 0);
        return true;
}

static void test_disk_full(void **state) {
        (void) state;
        char filler[256], value[FULL_VALUE_SIZE], name[64], *log = NULL;
        int64_t acked[FULL_WRITES_MAX] = { 0 };
        int n_failed = 0;

        if (!start_on_small_disk())
                skip();
        snprintf(filler, sizeof(filler), "%s/filler", h.state_dir);
        fill(filler);

        /* Writes fail, cleanly, with the documented code; a failed write
         * leaves nothing behind. (The first few may still fit in space the
         * database already has.) */
        CvClient *c = client();
        for (int i = 0; i < FULL_WRITES_MAX; i++) {
                snprintf(name, sizeof(name), "full-%d", i);
                value_of(name, 1, value, sizeof(value));
                int64_t t0 = now_ms();
                int r = cv_secret_put(c, PLUGIN, name, value, sizeof(value), &acked[i]);
                assert_true(now_ms() - t0 < 5000); /* not stalled */
                if (r >= 0)
                        continue;
                acked[i] = 0;
                n_failed++;
                if (!(r == -EIO && strcmp(cv_client_error_message(c), "disk full") == 0) &&
                    !(r == -ESHUTDOWN && strcmp(cv_client_error_message(c), AUDIT_FULL) == 0))
                        fail_msg("write on a full disk: want internal \"disk full\" or unavailable \"%s\", got "
                                 "%d %s \"%s\"",
                                 AUDIT_FULL, r, cv_client_error_code(c), cv_client_error_message(c));
        }
        assert_true(n_failed > 0);

        /* Fail closed: no record can be written, so reads are refused too,
         * at once, and health says why. */
        assert_audit_failing(c);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        /* A restart on the full disk starts, and fails closed the same way
         * once the first batch of records cannot be written. */
        assert_int_equal(harness_restart(&h), 0);
        c = client();
        assert_audit_failing(c);
        assert_int_equal(put(c, "still-full", value, sizeof(value)), -ESHUTDOWN);

        /* A new vault on the full disk is refused, naming what it could not
         * write and why: with --dev (its key), and with a key file (its
         * database). */
        char dev_state[300], key_state[300];
        snprintf(dev_state, sizeof(dev_state), "%s/new-dev", h.state_dir);
        snprintf(key_state, sizeof(key_state), "%s/new-key", h.state_dir);
        char other_socket[256];
        snprintf(other_socket, sizeof(other_socket), "%s/other-socket", h.dir);
        const char *dev_argv[] = { harness_daemon_path(), "--dev", "--state-dir", dev_state, "--socket",
                                   other_socket,          NULL };
        assert_int_equal(run_argv_logged(dev_argv, &log), EXIT_STATE_DIR);
        assert_says(log, dev_state, "No space left on device", NULL);
        free(log);
        char dev_key[320];
        snprintf(dev_key, sizeof(dev_key), "%s/dev-root.key", dev_state);
        assert_int_equal(access(dev_key, F_OK), -1); /* no half-written key left */
        const char *key_argv[] = { harness_daemon_path(),
                                   "--root-key-file",
                                   h.key_file,
                                   "--state-dir",
                                   key_state,
                                   "--socket",
                                   other_socket,
                                   NULL };
        assert_int_equal(run_argv_logged(key_argv, &log), EXIT_STATE_DIR);
        assert_says(log, key_state, "No space left on device", NULL);
        free(log);

        /* Space returns: writes work again, and nothing was lost. */
        assert_int_equal(unlink(filler), 0);
        value_of("after", 2, value, sizeof(value));
        /* A refused request tries the audit trail again, at most every
         * 100 ms. */
        int r = -ESHUTDOWN;
        for (int i = 0; i < 50 && r == -ESHUTDOWN; i++) {
                r = put(c, "after", value, sizeof(value));
                if (r == -ESHUTDOWN)
                        usleep(100 * 1000);
        }
        assert_int_equal(r, 0);
        assert_nothing_lost(c, acked);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        c = client();
        assert_nothing_lost(c, acked);
        value_of("after", 2, value, sizeof(value));
        assert_value(c, "after", value, sizeof(value));
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
}

#define GROUP_WRITES 8

/* Writes that come together on a full disk (sent while the daemon is
 * stopped, so that they share a group): the group's commit fails, every
 * write of it is answered "disk full", and none was made. */
static void test_disk_full_group(void **state) {
        (void) state;
        char filler[256], value[FULL_VALUE_SIZE], name[64];
        char b64[sodium_base64_ENCODED_LEN(FULL_VALUE_SIZE, sodium_base64_VARIANT_ORIGINAL)];
        int fds[GROUP_WRITES];

        if (!start_on_small_disk())
                skip();
        for (int i = 0; i < GROUP_WRITES; i++) {
                char *reply = NULL;
                fds[i] = harness_connect_raw(&h);
                assert_true(fds[i] >= 0);
                assert_int_equal(harness_call(fds[i], "{\"v\":1,\"id\":0,\"op\":\"health\"}", 5000, &reply), 0);
                free(reply);
        }
        /* Their records written (a flush every 250 ms), so that the full
         * disk fails the group, not a batch of records first. */
        usleep(600 * 1000);
        snprintf(filler, sizeof(filler), "%s/filler", h.state_dir);
        fill(filler);

        assert_int_equal(kill(h.pid, SIGSTOP), 0);
        for (int i = 0; i < GROUP_WRITES; i++) {
                char *req = NULL;
                snprintf(name, sizeof(name), "group-%d", i);
                value_of(name, 1, value, sizeof(value));
                sodium_bin2base64(b64, sizeof(b64), (const unsigned char *) value, sizeof(value),
                                  sodium_base64_VARIANT_ORIGINAL);
                assert_true(asprintf(&req,
                                     "{\"v\":1,\"id\":%d,\"op\":\"secret.put\",\"plugin\":\"" PLUGIN
                                     "\",\"name\":\"%s\",\"value\":\"%s\"}",
                                     i + 1, name, b64) > 0);
                assert_int_equal(harness_send_frame(fds[i], req, strlen(req)), 0);
                free(req);
        }
        assert_int_equal(kill(h.pid, SIGCONT), 0);
        for (int i = 0; i < GROUP_WRITES; i++) {
                char *body = NULL;
                assert_int_equal(harness_recv_frame(fds[i], 10000 * harness_time_scale(), &body), 0);
                json_t *reply = json_loads(body, 0, NULL);
                assert_non_null(reply);
                const char *message = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
                if (json_is_true(json_object_get(reply, "ok")) || !message || strcmp(message, "disk full") != 0)
                        fail_msg("write %d of a group on a full disk: %s", i, body);
                assert_int_equal(json_integer_value(json_object_get(reply, "id")), i + 1);
                json_decref(reply);
                free(body);
                close(fds[i]);
        }

        /* Space returns: none of the group's writes is there, and the
         * failed group is counted. */
        assert_int_equal(unlink(filler), 0);
        CvClient *c = client();
        for (int i = 0; i < GROUP_WRITES; i++) {
                CvSecret *s = NULL;
                int r = -ESHUTDOWN;
                snprintf(name, sizeof(name), "group-%d", i);
                /* Reads are refused until the audit trail is written
                 * again (tried at most every 100 ms). */
                for (int k = 0; k < 50 && r == -ESHUTDOWN; k++) {
                        r = cv_secret_get(c, PLUGIN, name, &s);
                        if (r == -ESHUTDOWN)
                                usleep(100 * 1000);
                }
                assert_int_equal(r, -ENOENT);
        }
        char *health = NULL;
        assert_int_equal(cv_health_json(c, &health), 0);
        /* One group, or more if the 2 ms bound cut it (a slow run): all
         * failed, none committed. */
        json_int_t commits = -1, failed = -1;
        json_t *hj = json_loads(health, 0, NULL);
        if (!hj || json_unpack(hj, "{s:{s:I, s:I}}", "write_groups", "commits", &commits, "failed", &failed) < 0 ||
            commits != 0 || failed < 1)
                fail_msg("health does not count the failed group: %s", health);
        json_decref(hj);
        free(health);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
}

/* ---- read-only and wrongly owned state ---- */

static void test_read_only_mount(void **state) {
        (void) state;
        char *log = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        if (mount(h.state_dir, h.state_dir, NULL, MS_BIND, NULL) < 0) {
                printf("# skipped: cannot bind-mount %s: %s\n", h.state_dir, strerror(errno));
                skip();
        }
        snprintf(mounted, sizeof(mounted), "%s", h.state_dir);
        assert_int_equal(mount(NULL, h.state_dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), 0);
        const char *argv[] = { harness_daemon_path(), "--state-dir", h.state_dir,
                               "--root-key-file",     h.key_file,    "--socket",
                               h.socket_path,         NULL };
        assert_int_equal(run_argv_logged(argv, &log), EXIT_STATE_DIR);
        assert_says(log, h.state_dir, "Read-only file system", NULL);
        free(log);
}

/* The vault of h, handed to nobody: its state directory and everything in
 * it, and a key file of its own. The daemon then runs as nobody through
 * setpriv, with its socket in the state directory. */
typedef struct NobodyVault {
        char key[256];
        char socket[256];
} NobodyVault;

static void give_to_nobody(NobodyVault *v) {
        assert_int_equal(chmod(h.dir, 0711), 0);
        chown_tree(h.state_dir, NOBODY);
        snprintf(v->key, sizeof(v->key), "%s/nobody.key", h.dir);
        copy_file(h.key_file, v->key);
        assert_int_equal(chown(v->key, NOBODY, NOBODY), 0);
        snprintf(v->socket, sizeof(v->socket), "%s/socket", h.state_dir);
}

static int run_as_nobody(const NobodyVault *v, char **ret_log) {
        const char *argv[] = { "setpriv",
                               "--reuid=65534",
                               "--regid=65534",
                               "--clear-groups",
                               harness_daemon_path(),
                               "--state-dir",
                               h.state_dir,
                               "--root-key-file",
                               v->key,
                               "--socket",
                               v->socket,
                               "--idle-exit",
                               "1",
                               NULL };
        return run_argv_logged(argv, ret_log);
}

/* A database file its user cannot write was opened read-only by SQLite,
 * silently: the daemon served reads and failed every write `internal`. */
static void test_read_only_database(void **state) {
        (void) state;
        NobodyVault v;
        char db[256], *log = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        give_to_nobody(&v);
        db_path_of(db, sizeof(db));

        /* Writable, the vault serves nobody (and exits when idle). */
        assert_int_equal(run_as_nobody(&v, &log), 0);
        free(log);

        assert_int_equal(chmod(db, 0400), 0);
        assert_int_equal(run_as_nobody(&v, &log), EXIT_STATE_DIR);
        assert_says(log, db, "Permission denied", NULL);
        free(log);
}

/* A state directory another user owns: they could change its mode back,
 * or plant a key or a database in it. */
static void test_state_dir_owned_by_another_user(void **state) {
        (void) state;
        char *log = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(chown(h.state_dir, NOBODY, NOBODY), 0);
        const char *argv[] = { harness_daemon_path(), "--state-dir", h.state_dir,
                               "--root-key-file",     h.key_file,    "--socket",
                               h.socket_path,         NULL };
        assert_int_equal(run_argv_logged(argv, &log), EXIT_STATE_DIR);
        assert_says(log, h.state_dir, "owned by uid 65534", NULL);
        free(log);

        /* Given back, it serves again. */
        assert_int_equal(chown(h.state_dir, 0, 0), 0);
        assert_int_equal(harness_restart(&h), 0);
}

/* ---- files planted by another user ---- */

enum { PLANT_SYMLINK, PLANT_FILE };

/* As nobody, as an attacker would: a symbolic link at path to target, or
 * an empty file at path. */
static void plant_as_nobody(int what, const char *path, const char *target) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(2);
                if (what == PLANT_SYMLINK)
                        _exit(symlink(target, path) < 0 ? 1 : 0);
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                _exit(fd < 0 ? 1 : 0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("nobody could not plant %s", path);
}

static int run_on(const char *state_dir, char **ret_log) {
        const char *argv[] = { harness_daemon_path(),
                               "--state-dir",
                               state_dir,
                               "--root-key-file",
                               h.key_file,
                               "--socket",
                               h.socket_path,
                               "--idle-exit",
                               "1",
                               NULL };
        return run_argv_logged(argv, ret_log);
}

/* A lock file another user owns (they could hold it locked and keep every
 * daemon out), or a -wal file of theirs (SQLite would replay it). */
static void test_lock_and_wal_of_another_user(void **state) {
        (void) state;
        char lock[256], wal[256], *log = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        snprintf(lock, sizeof(lock), "%s/credvault.lock", h.state_dir);
        snprintf(wal, sizeof(wal), "%s/credvault.db-wal", h.state_dir);

        assert_int_equal(chown(lock, NOBODY, NOBODY), 0);
        assert_int_equal(run_on(h.state_dir, &log), EXIT_STATE_DIR);
        assert_says(log, lock, "owned by uid 65534", NULL);
        free(log);
        assert_int_equal(unlink(lock), 0);

        write_file(wal, "", 0, 0600);
        assert_int_equal(chown(wal, NOBODY, NOBODY), 0);
        assert_int_equal(run_on(h.state_dir, &log), EXIT_STATE_DIR);
        assert_says(log, wal, "owned by uid 65534", NULL);
        free(log);
        assert_int_equal(unlink(wal), 0);

        assert_int_equal(run_on(h.state_dir, &log), 0);
        free(log);
}

/* The reviewer's plant.sh: while the state directory was world-writable,
 * nobody put a symbolic link to a file of theirs as the database and its
 * -wal file, and a lock file of their own. The daemon used to tighten the
 * directory and open the database through the link, into a file nobody
 * could read and write. */
static void test_planted_state_dir(void **state) {
        (void) state;
        char dir[256], pub[256], db[300], wal[300], lock[300], target[300], *log = NULL;
        struct stat st;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(chmod(h.dir, 0711), 0);
        snprintf(dir, sizeof(dir), "%s/planted", h.dir);
        snprintf(pub, sizeof(pub), "%s/pub", h.dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        assert_int_equal(mkdir(pub, 0755), 0);
        assert_int_equal(chown(pub, NOBODY, NOBODY), 0);
        snprintf(db, sizeof(db), "%s/credvault.db", dir);
        snprintf(wal, sizeof(wal), "%s/credvault.db-wal", dir);
        snprintf(lock, sizeof(lock), "%s/credvault.lock", dir);
        snprintf(target, sizeof(target), "%s/db", pub);
        plant_as_nobody(PLANT_SYMLINK, db, target);
        snprintf(target, sizeof(target), "%s/wal", pub);
        plant_as_nobody(PLANT_SYMLINK, wal, target);
        plant_as_nobody(PLANT_FILE, lock, NULL);

        /* Refused as it is: not tightened, nothing made through a link. */
        assert_int_equal(run_on(dir, &log), EXIT_STATE_DIR);
        assert_says(log, dir, "mode 0777", "chmod 0700", NULL);
        free(log);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0777);

        /* Tightened by hand without a look inside: each planted file is
         * refused in turn, naming it. */
        assert_int_equal(chmod(dir, 0700), 0);
        assert_int_equal(run_on(dir, &log), EXIT_STATE_DIR);
        assert_says(log, lock, "owned by uid 65534", NULL);
        free(log);
        assert_int_equal(unlink(lock), 0);
        assert_int_equal(run_on(dir, &log), EXIT_STATE_DIR);
        assert_says(log, db, "symbolic link", NULL);
        free(log);
        assert_int_equal(unlink(db), 0);
        assert_int_equal(run_on(dir, &log), EXIT_STATE_DIR);
        assert_says(log, wal, "symbolic link", NULL);
        free(log);
        assert_int_equal(unlink(wal), 0);
        snprintf(target, sizeof(target), "%s/db", pub);
        assert_int_equal(access(target, F_OK), -1);
        snprintf(target, sizeof(target), "%s/wal", pub);
        assert_int_equal(access(target, F_OK), -1);

        /* Cleared, a new vault starts there. */
        assert_int_equal(run_on(dir, &log), 0);
        free(log);
}

/* ---- corruption ---- */

#define N_PAGE_SECRETS 300
#define PAGE_VALUE_SIZE 100

static void put_many(void) {
        char name[32], value[PAGE_VALUE_SIZE];
        CvClient *c = client();
        for (int i = 0; i < N_PAGE_SECRETS; i++) {
                snprintf(name, sizeof(name), "s%03d", i);
                value_of(name, 0, value, sizeof(value));
                assert_int_equal(put(c, name, value, sizeof(value)), 0);
        }
        cv_client_free(c);
}

/* Every secret reads as its own value or as `corrupt`: never another. */
static int check_many(void) {
        char name[32], value[PAGE_VALUE_SIZE];
        int n_corrupt = 0;
        CvClient *c = client();
        for (int i = 0; i < N_PAGE_SECRETS; i++) {
                CvSecret *s = NULL;
                snprintf(name, sizeof(name), "s%03d", i);
                value_of(name, 0, value, sizeof(value));
                int r = cv_secret_get(c, PLUGIN, name, &s);
                if (r == -EUCLEAN) {
                        n_corrupt++;
                        continue;
                }
                if (r < 0)
                        fail_msg("get %s: want its value or corrupt, got %d %s", name, r, cv_client_error_code(c));
                assert_int_equal(s->value_size, sizeof(value));
                assert_memory_equal(s->value, value, sizeof(value));
                cv_secret_free(s);
        }
        cv_client_free(c);
        return n_corrupt;
}

/* A page overwritten in the middle of the file while the daemon is
 * stopped: either start-up refuses (the integrity check) or the records on
 * it answer `corrupt`; no read ever returns a wrong value. */
static void test_corrupt_page(void **state) {
        (void) state;
        char db[256], *pristine = NULL, *log = NULL;
        size_t size = 0;

        assert_int_equal(harness_start(&h), 0);
        put_many();
        assert_int_equal(harness_stop(&h), 0);
        db_path_of(db, sizeof(db));
        assert_int_equal(harness_read_file(db, &pristine, &size), 0);
        size_t n_pages = size / 4096;
        assert_true(n_pages >= 8);

        /* Damage: page headers, cell pointers and cell contents, in pages
         * in the middle and near the end. */
        const struct {
                size_t page, offset, size;
        } damage[] = {
                { n_pages / 2, 0, 64 },           { n_pages / 2, 1024, 1024 }, { n_pages / 3, 3000, 900 },
                { n_pages - 2, 4096 - 512, 512 }, { n_pages / 2 + 1, 8, 16 },
        };
        for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
                char *data = malloc(size);
                assert_non_null(data);
                memcpy(data, pristine, size);
                for (size_t j = 0; j < damage[i].size; j++)
                        data[damage[i].page * 4096 + damage[i].offset + j] ^= (char) (0x5a + j);
                write_file(db, data, size, 0600);
                free(data);

                const char *argv[] = { harness_daemon_path(),
                                       "--state-dir",
                                       h.state_dir,
                                       "--root-key-file",
                                       h.key_file,
                                       "--socket",
                                       h.socket_path,
                                       "--idle-exit",
                                       "1",
                                       NULL };
                int r = run_argv_logged(argv, &log);
                if (r == EXIT_CORRUPT)
                        assert_says(log, db, "integrity", NULL);
                else if (r == 0) {
                        assert_int_equal(harness_restart(&h), 0);
                        int n_corrupt = check_many();
                        printf("# damage %zu: started, %d of %d secrets corrupt\n", i, n_corrupt, N_PAGE_SECRETS);
                        assert_int_equal(harness_stop(&h), 0);
                } else
                        fail_msg("damage %zu: want status 6 or a start, got %d: %s", i, r, log);
                free(log);
        }
        free(pristine);
}

/* Where in the file a record's sealed blob starts: its name in the table
 * row, followed (versions 1 take no bytes) by the envelope header of
 * format 1 and KEK 1. */
static size_t find_sealed(const char *data, size_t size, const char *name) {
        static const char header[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 1 };
        size_t n = strlen(name), found = 0, n_found = 0;
        for (size_t i = 0; i + n + 4 + sizeof(header) <= size; i++) {
                if (memcmp(data + i, name, n) != 0)
                        continue;
                for (size_t gap = 0; gap <= 4; gap++)
                        if (memcmp(data + i + n + gap, header, sizeof(header)) == 0) {
                                found = i + n + gap;
                                n_found++;
                                break;
                        }
        }
        if (n_found != 1)
                fail_msg("%s: want one sealed blob in the file, found %zu", name, n_found);
        return found;
}

/* One record altered in the file while the daemon is stopped: a flipped
 * ciphertext byte, and a KEK version changed in the sealed header (which
 * used to answer `internal`). Those answer `corrupt`; the others are fine. */
static void test_corrupt_record(void **state) {
        (void) state;
        char db[256], *data = NULL;
        size_t size = 0;
        const char *names[] = { "keep-1", "flip-value", "flip-kek", "keep-2" };
        char value[64];

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client();
        for (size_t i = 0; i < 4; i++) {
                value_of(names[i], 0, value, sizeof(value));
                assert_int_equal(put(c, names[i], value, sizeof(value)), 0);
        }
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        db_path_of(db, sizeof(db));
        assert_int_equal(harness_read_file(db, &data, &size), 0);
        size_t at = find_sealed(data, size, "flip-value");
        data[at + 9 + 24 + 48 + 24 + 5] ^= 0x01; /* in the value's ciphertext */
        at = find_sealed(data, size, "flip-kek");
        data[at + 8] = 7; /* KEK version 7, which the keyring does not have */
        write_file(db, data, size, 0600);
        free(data);

        assert_int_equal(harness_restart(&h), 0);
        c = client();
        for (size_t i = 0; i < 4; i++) {
                CvSecret *s = NULL;
                value_of(names[i], 0, value, sizeof(value));
                if (strncmp(names[i], "keep", 4) == 0) {
                        assert_value(c, names[i], value, sizeof(value));
                        continue;
                }
                int r = cv_secret_get(c, PLUGIN, names[i], &s);
                if (r != -EUCLEAN)
                        fail_msg("%s: want corrupt, got %d %s", names[i], r, cv_client_error_code(c));
                assert_string_equal(cv_client_error_code(c), "corrupt");
        }
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
}

/* ---- a second daemon, an outside writer ---- */

/* Who holds a write lock on path that an SQLite writer would need (its
 * lock bytes start at 1 GiB); 0 if nobody. */
static pid_t sqlite_lock_holder(const char *path) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0x40000000, .l_len = 512 };
        assert_int_equal(fcntl(fd, F_GETLK, &fl), 0);
        close(fd);
        return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

/* Run the sqlite3 shell on db; its exit status, or -1 without one. */
static int sqlite3_shell(const char *db, const char *sql) {
        pid_t pid = fork();
        int status;
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execlp("sqlite3", "sqlite3", "-cmd", ".timeout 200", db, sql, (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

static void test_second_daemon(void **state) {
        (void) state;
        char db[256], other_socket[256], want[64], *log = NULL;
        char value[64];

        assert_int_equal(harness_start(&h), 0);
        db_path_of(db, sizeof(db));
        CvClient *c = client();
        value_of("first", 0, value, sizeof(value));
        assert_int_equal(put(c, "first", value, sizeof(value)), 0);

        /* Refused from the start, naming the daemon that has the vault: with
         * its key, and with --dev. */
        snprintf(other_socket, sizeof(other_socket), "%s/other-socket", h.dir);
        snprintf(want, sizeof(want), "credvaultd pid %d", (int) h.pid);
        const char *argv[] = { harness_daemon_path(), "--state-dir", h.state_dir,
                               "--root-key-file",     h.key_file,    "--socket",
                               other_socket,          NULL };
        assert_int_equal(run_argv_logged(argv, &log), EXIT_STATE_DIR);
        assert_says(log, h.state_dir, want, NULL);
        free(log);
        const char *dev_argv[] = { harness_daemon_path(), "--dev", "--state-dir", h.state_dir, "--socket",
                                   other_socket,          NULL };
        assert_int_equal(run_argv_logged(dev_argv, &log), EXIT_STATE_DIR);
        assert_says(log, want, NULL);
        free(log);
        assert_int_equal(access(other_socket, F_OK), -1);

        /* No other SQLite connection can write (or read) the file, even
         * though this daemon has not written since it started... */
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(sqlite_lock_holder(db), h.pid);
        int shell = sqlite3_shell(db, "UPDATE secret SET version = 99");
        if (shell < 0)
                printf("# no sqlite3 shell: the lock is checked with F_GETLK only\n");
        else
                assert_int_not_equal(shell, 0);

        /* ...while the first daemon keeps serving and writing, at once. */
        cv_client_free(c);
        c = client();
        assert_value(c, "first", value, sizeof(value));
        int64_t version = 0, t0 = now_ms();
        value_of("second", 0, value, sizeof(value));
        assert_int_equal(cv_secret_put(c, PLUGIN, "second", value, sizeof(value), &version), 0);
        assert_true(now_ms() - t0 < 2000); /* no wait for a lock held elsewhere */
        assert_int_equal(version, 1);
        assert_value(c, "second", value, sizeof(value));
        CvSecret *s = NULL;
        assert_int_equal(cv_secret_get(c, PLUGIN, "first", &s), 0);
        assert_int_equal(s->version, 1); /* the shell's UPDATE never landed */
        cv_secret_free(s);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        /* Once it has stopped, the vault is free for the next one. */
        assert_int_equal(sqlite_lock_holder(db), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
}

int main(void) {
        if (geteuid() != 0) {
                printf("# skipped: the fault tests need root (mount, chown, a second user)\n");
                return 77;
        }
        /* Every daemon here gets its key from --root-key-file or --dev. */
        unsetenv("CREDENTIALS_DIRECTORY");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disk_full_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_only_mount, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_only_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_dir_owned_by_another_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_and_wal_of_another_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_planted_state_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_page, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_daemon, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
