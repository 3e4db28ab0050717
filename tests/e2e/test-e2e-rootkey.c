/* test-e2e-rootkey.c — root key rotation and the recovery key, through
 * the real daemon.
 *
 * key.rotate_root with a key file: the daemon goes on serving; content
 * that is not a key and the key in force are refused; a restart with the
 * old key exits 4 and says it is the key from before the rotation; with
 * the new key every secret, token set and API key opens, also a value
 * under a KEK made after the rotation, across a KEK rewrap, and after a
 * KEK is retired. A daemon on the
 * development key makes and installs the new key itself (and finishes an
 * install a crash interrupted; a leftover of one that never committed is
 * removed; a rename that fails after the commit leaves the rotation done
 * and the key in force in .new, which the next rotation or start
 * installs); a daemon on a key file refuses to without one.
 * Recovery: a vault created with --recovery-key-file, values stored, a
 * root key rotation (the recovery key stays valid), the root key lost;
 * credvaultd --recover with a typo, with another vault's key, and while
 * a daemon runs is refused and leaves the files as they were; with the
 * right key and a new root key every value opens. Then the crash loop:
 * SIGKILL at random moments while rotate-root requests (alternating
 * between two keys) and writes run; after each kill the database passes
 * PRAGMA integrity_check, the daemon starts with the key the last
 * acknowledged state implies (either, if a rotation was in flight), every
 * value opens, no acknowledged write is lost and no KEK is lost. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "e2e-crash.h"
#include "harness.h"

#define DB_FILE "credvault.db"
#define DEV_KEY_FILE "dev-root.key"
#define PLUGIN "rootkey"
#define N_SECRETS 200
#define EXIT_WRONG_KEY 4

static void value_of(int i, char *buf, size_t size) {
        snprintf(buf, size, "value %d, padded to look like a real credential", i);
}

static CvClient *client(const Harness *h) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h->socket_path, 30000, &c), 0);
        return c;
}

static void fill(const Harness *h) {
        CvClient *c = client(h);
        for (int i = 0; i < N_SECRETS; i++) {
                char name[32], value[128];
                snprintf(name, sizeof(name), "s%04d", i);
                value_of(i, value, sizeof(value));
                assert_int_equal(cv_secret_put(c, PLUGIN, name, value, strlen(value), NULL), 0);
        }
        CvToken tok = { .access_token = "at-alice",
                        .token_type = "Bearer",
                        .refresh_token = "rt-alice",
                        .expires_at = 4102444800 };
        assert_int_equal(cv_token_put(c, PLUGIN, "alice", &tok, NULL), 0);
        assert_int_equal(cv_apikey_put(c, PLUGIN, "carol", "key-of-carol", 12, NULL), 0);
        cv_client_free(c);
}

/* Every value fill() stored opens, byte for byte. */
static void check_all(const Harness *h) {
        CvClient *c = client(h);
        for (int i = 0; i < N_SECRETS; i++) {
                char name[32], value[128];
                CvSecret *s = NULL;
                snprintf(name, sizeof(name), "s%04d", i);
                value_of(i, value, sizeof(value));
                int r = cv_secret_get(c, PLUGIN, name, &s);
                if (r != 0)
                        fail_msg("get %s: %d", name, r);
                assert_int_equal(s->value_size, strlen(value));
                assert_memory_equal(s->value, value, s->value_size);
                cv_secret_free(s);
        }
        CvToken *t = NULL;
        assert_int_equal(cv_token_get(c, PLUGIN, "alice", &t), 0);
        assert_string_equal(t->access_token, "at-alice");
        assert_string_equal(t->refresh_token, "rt-alice");
        cv_token_free(t);
        char *user = NULL;
        assert_int_equal(cv_apikey_lookup(c, PLUGIN, "key-of-carol", 12, &user), 1);
        assert_string_equal(user, "carol");
        free(user);
        cv_client_free(c);
}

/* A fresh key file (64 hex digits and a newline, 0600) at dir/name. */
static void key_file_new(const Harness *h, const char *name, char *ret_path, size_t size) {
        uint8_t key[32];
        char hex[65];
        snprintf(ret_path, size, "%s/%s", h->dir, name);
        randombytes_buf(key, sizeof(key));
        sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
        int fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, hex, 64), 64);
        assert_int_equal(write(fd, "\n", 1), 1);
        close(fd);
}

static char *file_text(const char *path, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        if (harness_read_file(path, &text, &size) < 0)
                fail_msg("cannot read %s", path);
        if (ret_size)
                *ret_size = size;
        return text;
}

static int rotate_to_file(CvClient *c, const char *path) {
        size_t size = 0;
        char *key = file_text(path, &size);
        int r = cv_key_rotate_root(c, key, size);
        sodium_memzero(key, size);
        free(key);
        return r;
}

/* Start h with the key file at path from now on. */
static void key_use(Harness *h, const char *path) {
        size_t n = strlen(path);
        assert_true(n < sizeof(h->key_file));
        memcpy(h->key_file, path, n + 1);
}

static bool log_has(const Harness *h, const char *what) {
        char *log = file_text(h->log_file, NULL);
        bool found = strstr(log, what) != NULL;
        free(log);
        return found;
}

/* Poll key.status until no rewrap runs. */
static void rewrap_wait(CvClient *c) {
        for (int i = 0; i < 3000; i++) {
                json_t *st = e2e_call(c, "{\"op\":\"key.status\"}");
                bool running = json_is_true(json_object_get(json_object_get(st, "rewrap"), "running"));
                json_decref(st);
                if (!running)
                        return;
                usleep(10000);
        }
        fail_msg("rewrap did not finish");
}

/* The number of KEKs key.status lists, each with its records. */
static size_t keks_count(const Harness *h) {
        CvClient *c = client(h);
        CvKeyRewrap rw;
        CvKek *keks = NULL;
        int n = cv_key_status(c, &rw, &keks);
        assert_true(n > 0);
        free(keks);
        cv_client_free(c);
        return (size_t) n;
}

/* A restart with the key at path is refused, exit 4, as the key from
 * before a rotation. */
static void assert_restart_refused_old_key(Harness *h, const char *path) {
        key_use(h, path);
        assert_int_equal(harness_restart(h), -ECHILD);
        assert_int_equal(h->exit_status, EXIT_WRONG_KEY);
        assert_true(log_has(h, "from before the root key rotation at"));
}

static void test_rotate_with_key_file(void **state) {
        Harness h = {};
        char old_key[128], key_b[128], key_c[128], bad[128];
        (void) state;

        assert_int_equal(harness_start(&h), 0);
        snprintf(old_key, sizeof(old_key), "%s", h.key_file);
        fill(&h);
        CvClient *c = client(&h);
        /* KEK 2 primary, KEK 1 still wrapping every record. */
        json_decref(e2e_call(c, "{\"op\":\"key.rotate\"}"));

        key_file_new(&h, "b.key", key_b, sizeof(key_b));
        assert_int_equal(rotate_to_file(c, key_b), 0);
        /* Refused, nothing changed: the key in force, content that is no key. */
        assert_int_equal(rotate_to_file(c, key_b), -EEXIST);
        assert_string_equal(cv_client_error_code(c), "conflict");
        assert_int_equal(cv_key_rotate_root(c, "0123456789abcdef", 16), -EINVAL);
        snprintf(bad, sizeof(bad), "%s", "not a key");
        assert_int_equal(cv_key_rotate_root(c, bad, strlen(bad)), -EINVAL);
        /* A daemon on a key file does not make one. */
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), -EINVAL);
        assert_non_null(strstr(cv_client_error_message(c), "needs the new root key"));
        /* A KEK made after the rotation is wrapped under the new root. */
        json_decref(e2e_call(c, "{\"op\":\"key.rotate\"}"));
        assert_int_equal(cv_secret_put(c, PLUGIN, "after", "after-rotation", 14, NULL), 0);
        cv_client_free(c);
        check_all(&h); /* served on, under the new key in memory */

        assert_int_equal(harness_stop(&h), 0);
        assert_restart_refused_old_key(&h, old_key);
        key_use(&h, key_b);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);
        assert_int_equal(keks_count(&h), 3);
        c = client(&h);
        CvSecret *after = NULL;
        assert_int_equal(cv_secret_get(c, PLUGIN, "after", &after), 0);
        assert_memory_equal(after->value, "after-rotation", 14);
        cv_secret_free(after);
        cv_client_free(c);

        /* A KEK rewrap and retirement under the new root, a second
         * rotation with a retired KEK in the table, and a restart. */
        c = client(&h);
        json_decref(e2e_call(c, "{\"op\":\"key.rewrap\"}"));
        rewrap_wait(c);
        assert_int_equal(cv_key_retire(c, 1), 0);
        json_decref(e2e_call(c, "{\"op\":\"key.rotate\"}"));
        key_file_new(&h, "c.key", key_c, sizeof(key_c));
        assert_int_equal(rotate_to_file(c, key_c), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_restart_refused_old_key(&h, key_b);
        /* The key of two rotations ago is merely wrong. */
        key_use(&h, old_key);
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, EXIT_WRONG_KEY);
        key_use(&h, key_c);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);
        assert_int_equal(keks_count(&h), 4);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void file_copy(const char *from, const char *to) {
        size_t size = 0;
        char *data = file_text(from, &size);
        int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        close(fd);
        free(data);
}

static void test_dev_rotation(void **state) {
        Harness h = { .dev = true };
        char dev_key[160], new_key[170], saved[160];
        size_t size = 0;
        (void) state;

        assert_int_equal(harness_start(&h), 0);
        snprintf(dev_key, sizeof(dev_key), "%s/%s", h.state_dir, DEV_KEY_FILE);
        snprintf(new_key, sizeof(new_key), "%s.new", dev_key);
        snprintf(saved, sizeof(saved), "%s/dev-before.key", h.dir);
        fill(&h);
        file_copy(dev_key, saved);
        CvClient *c = client(&h);
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), 0);
        cv_client_free(c);
        check_all(&h);
        char *before = file_text(saved, &size), *after = file_text(dev_key, NULL);
        assert_int_equal(size, 32);
        assert_memory_not_equal(before, after, 32);
        free(before);
        free(after);
        assert_int_equal(access(new_key, F_OK), -1);
        struct stat st;
        assert_int_equal(stat(dev_key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);

        /* A crash after the commit, before the rename: the new key in
         * .new, the old one still the dev key. The start finishes it. */
        c = client(&h);
        file_copy(dev_key, saved);
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(rename(dev_key, new_key), 0);
        file_copy(saved, dev_key);
        assert_int_equal(harness_restart(&h), 0);
        assert_true(log_has(&h, "finished a root key rotation a crash interrupted"));
        assert_int_equal(access(new_key, F_OK), -1);
        check_all(&h);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);

        /* A .new left by a rotation that never committed is removed. */
        assert_int_equal(harness_stop(&h), 0);
        file_copy(saved, new_key);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(access(new_key, F_OK), -1);
        check_all(&h);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* Where the development key goes, a directory with a file in it: a
 * rename over it fails (EISDIR). The key file is moved to saved. */
static void dev_key_block(const char *dev_key, const char *saved) {
        char inside[200];
        assert_int_equal(rename(dev_key, saved), 0);
        assert_int_equal(mkdir(dev_key, 0700), 0);
        snprintf(inside, sizeof(inside), "%s/x", dev_key);
        int fd = open(inside, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
}

/* Undo dev_key_block(): the key file at saved goes back. */
static void dev_key_unblock(const char *dev_key, const char *saved) {
        char inside[200];
        snprintf(inside, sizeof(inside), "%s/x", dev_key);
        assert_int_equal(unlink(inside), 0);
        assert_int_equal(rmdir(dev_key), 0);
        assert_int_equal(rename(saved, dev_key), 0);
}

/* The rename after the commit fails: the rotation is done all the same
 * (the old key opens nothing now), with a warning; the key in force is
 * in .new only. A rotation while it still cannot be renamed is refused
 * and keeps the file (it used to delete it first: the key was lost);
 * once it can, the next rotation installs it first, or the next start
 * does. Every start after opens every value. */
static void test_dev_rotation_rename_fails(void **state) {
        Harness h = { .dev = true };
        char dev_key[160], new_key[170], saved[160];
        size_t size = 0;
        (void) state;

        assert_int_equal(harness_start(&h), 0);
        snprintf(dev_key, sizeof(dev_key), "%s/%s", h.state_dir, DEV_KEY_FILE);
        snprintf(new_key, sizeof(new_key), "%s.new", dev_key);
        snprintf(saved, sizeof(saved), "%s/dev-saved.key", h.dir);
        fill(&h);
        char *old = file_text(dev_key, NULL);

        dev_key_block(dev_key, saved);
        CvClient *c = client(&h);
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), 0);
        assert_true(log_has(&h, "root key rotated, but the new development key cannot be renamed"));
        char *in_force = file_text(new_key, &size);
        assert_int_equal(size, 32);
        assert_memory_not_equal(in_force, old, 32);
        /* Still blocked: refused, nothing rotated, the key in force kept. */
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), -EIO);
        assert_string_equal(cv_client_error_code(c), "internal");
        assert_non_null(strstr(cv_client_error_message(c), "development key in force is still in"));
        char *kept = file_text(new_key, NULL);
        assert_memory_equal(kept, in_force, 32);
        free(kept);
        /* The old key back in its place, as after a crash: the next
         * rotation installs the key in force first, then rotates. */
        dev_key_unblock(dev_key, saved);
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), 0);
        assert_int_equal(access(new_key, F_OK), -1);
        char *now = file_text(dev_key, NULL);
        assert_memory_not_equal(now, in_force, 32);
        assert_memory_not_equal(now, old, 32);
        free(now);
        cv_client_free(c);
        check_all(&h);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);

        /* Blocked again, then stopped: the start finishes the rename. */
        dev_key_block(dev_key, saved);
        c = client(&h);
        assert_int_equal(cv_key_rotate_root(c, NULL, 0), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        dev_key_unblock(dev_key, saved);
        assert_int_equal(harness_restart(&h), 0);
        assert_true(log_has(&h, "finished a root key rotation a crash interrupted"));
        assert_int_equal(access(new_key, F_OK), -1);
        check_all(&h);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);
        assert_int_equal(harness_stop(&h), 0);
        free(in_force);
        free(old);
        harness_cleanup(&h);
}

/* credvaultd --recover on h's state directory with stdin from
 * input_path and these more arguments; its output in out_path. Returns
 * the exit status. */
static int recover(const Harness *h, const char *input_path, const char *key_arg, const char *key_value,
                   const char *out_path) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int in = open(input_path, O_RDONLY | O_CLOEXEC);
                int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (in < 0 || out < 0)
                        _exit(126);
                dup2(in, STDIN_FILENO);
                dup2(out, STDOUT_FILENO);
                dup2(out, STDERR_FILENO);
                unsetenv("NOTIFY_SOCKET");
                execl(harness_daemon_path(), harness_daemon_path(), "--recover", "--state-dir", h->state_dir, key_arg,
                      key_value, (char *) NULL);
                _exit(127);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* The database's bytes (the WAL is empty after a clean stop). */
static char *db_bytes(const Harness *h, size_t *ret_size) {
        char path[200];
        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        return file_text(path, ret_size);
}

static void assert_output_has(const char *out_path, const char *what) {
        char *out = file_text(out_path, NULL);
        if (!strstr(out, what))
                fail_msg("output lacks '%s': %s", what, out);
        free(out);
}

static void test_recovery(void **state) {
        Harness h = {};
        char recovery[128], recovery2[128], typo[128], other[128], out[128], key_b[128], key_new[128];
        (void) state;

        /* The path is known before the start makes the directory. */
        snprintf(recovery, sizeof(recovery), "/tmp/credvault-rk-%d", (int) getpid());
        unlink(recovery);
        h.extra_args[0] = "--recovery-key-file";
        h.extra_args[1] = recovery;
        assert_int_equal(harness_start(&h), 0);
        struct stat st;
        assert_int_equal(stat(recovery, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        size_t size = 0;
        char *text = file_text(recovery, &size);
        assert_int_equal(size, 70);
        assert_int_equal(text[4], '-');
        assert_int_equal(text[69], '\n');
        assert_false(log_has(&h, text)); /* never logged */
        fill(&h);

        CvClient *c = client(&h);
        char *again = NULL;
        assert_int_equal(cv_key_recovery(c, false, &again), -EEXIST);
        /* A rotation: the recovery key stays valid. */
        key_file_new(&h, "b.key", key_b, sizeof(key_b));
        assert_int_equal(rotate_to_file(c, key_b), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        /* The vault exists: --recovery-key-file refuses and leaves no file. */
        snprintf(recovery2, sizeof(recovery2), "%s/rk2", h.dir);
        key_use(&h, key_b);
        h.extra_args[1] = recovery2;
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, 2);
        assert_int_equal(access(recovery2, F_OK), -1);
        h.extra_args[0] = NULL;

        /* --recover while a daemon runs: refused by the state directory's lock. */
        assert_int_equal(harness_restart(&h), 0);
        snprintf(out, sizeof(out), "%s/recover.out", h.dir);
        key_file_new(&h, "new.key", key_new, sizeof(key_new));
        assert_int_equal(recover(&h, recovery, "--root-key-file", key_new, out), 5);
        assert_int_equal(harness_stop(&h), 0);

        /* The root key is lost. */
        assert_int_equal(unlink(key_b), 0);
        size_t db_size = 0;
        char *db_before = db_bytes(&h, &db_size);

        /* A typo: one symbol changed. */
        snprintf(typo, sizeof(typo), "%s/typo", h.dir);
        char first = text[0];
        text[0] = first == 'A' ? 'B' : 'A';
        int fd = open(typo, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_int_equal(write(fd, text, size), (ssize_t) size);
        close(fd);
        text[0] = first;
        assert_int_equal(recover(&h, typo, "--root-key-file", key_new, out), EXIT_WRONG_KEY);
        assert_output_has(out, "has a typo");
        /* Another vault's recovery key: well formed, wrong. */
        Harness h2 = {};
        snprintf(other, sizeof(other), "/tmp/credvault-rk2-%d", (int) getpid());
        unlink(other);
        h2.extra_args[0] = "--recovery-key-file";
        h2.extra_args[1] = other;
        assert_int_equal(harness_start(&h2), 0);
        assert_int_equal(harness_stop(&h2), 0);
        harness_cleanup(&h2);
        assert_int_equal(recover(&h, other, "--root-key-file", key_new, out), EXIT_WRONG_KEY);
        assert_output_has(out, "is not the recovery key of database");
        unlink(other);
        /* Nothing changed. */
        size_t db_size2 = 0;
        char *db_after = db_bytes(&h, &db_size2);
        assert_int_equal(db_size, db_size2);
        assert_memory_equal(db_before, db_after, db_size);
        free(db_after);
        free(db_before);

        /* The right recovery key and a new root key. */
        assert_int_equal(recover(&h, recovery, "--root-key-file", key_new, out), 0);
        assert_output_has(out, "recovered");
        key_use(&h, key_new);
        assert_int_equal(harness_restart(&h), 0);
        check_all(&h);
        assert_int_equal(keks_count(&h), 1);
        /* A new recovery key replaces the old one, which stops working. */
        c = client(&h);
        char *fresh = NULL;
        assert_int_equal(cv_key_recovery(c, true, &fresh), 0);
        assert_int_equal(strlen(fresh), 69);
        assert_memory_not_equal(fresh, text, 69);
        cv_free_wiped(fresh, (size_t) -1);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(recover(&h, recovery, "--root-key-file", key_b, out), EXIT_WRONG_KEY);

        sodium_memzero(text, size);
        free(text);
        unlink(recovery);
        harness_cleanup(&h);
}

static void integrity_check(const Harness *h) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        e2e_integrity_check(path);
}

#define KILL_ROUNDS 32

/* A child rotating between the two key files, reporting each request as
 * it starts ('S', key index) and when it is acknowledged ('A', index). */
static pid_t rotator_start(const Harness *h, char keys[2][128], int current, int *ret_fd) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                CvClient *c = NULL;
                close(p[0]);
                if (cv_client_new(h->socket_path, 5000, &c) < 0)
                        _exit(0);
                for (int next = !current;; next = !next) {
                        size_t size = 0;
                        char *key = NULL;
                        if (harness_read_file(keys[next], &key, &size) < 0)
                                _exit(1);
                        char msg[2] = { 'S', (char) next };
                        if (write(p[1], msg, 2) != 2)
                                _exit(1);
                        int r = cv_key_rotate_root(c, key, size);
                        free(key);
                        if (r < 0)
                                _exit(0);
                        msg[0] = 'A';
                        if (write(p[1], msg, 2) != 2)
                                _exit(1);
                }
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

static void test_kill_during_rotate_root(void **state) {
        Harness h = {};
        char keys[2][128];
        int current = 0, in_flight_rounds = 0, took_new = 0, rotations = 0;
        int64_t acked = 0, seen = 0;
        unsigned seed = (unsigned) time(NULL);
        (void) state;

        print_message("seed %u\n", seed);
        assert_int_equal(harness_start(&h), 0);
        snprintf(keys[0], sizeof(keys[0]), "%s", h.key_file);
        key_file_new(&h, "other.key", keys[1], sizeof(keys[1]));
        fill(&h);
        CvClient *c = client(&h);
        json_decref(e2e_call(c, "{\"op\":\"key.rotate\"}"));
        assert_int_equal(cv_secret_put(c, PLUGIN, "counter", "0", 1, NULL), 0);
        cv_client_free(c);

        for (int round = 0; round < KILL_ROUNDS; round++) {
                int rot_fd, wr_fd;
                pid_t rot = rotator_start(&h, keys, current, &rot_fd);
                pid_t wr = e2e_counter_writer_start(h.socket_path, PLUGIN, "counter", &wr_fd);
                usleep((useconds_t) (rand_r(&seed) % 150000));
                assert_int_equal(harness_kill(&h), 128 + 9);
                waitpid(rot, NULL, 0);
                waitpid(wr, NULL, 0);

                bool in_flight = false;
                int in_flight_key = current;
                char msg[2];
                while (read(rot_fd, msg, 2) == 2) {
                        if (msg[0] == 'S') {
                                in_flight = true;
                                in_flight_key = msg[1];
                        } else {
                                in_flight = false;
                                current = msg[1];
                                rotations++;
                        }
                }
                close(rot_fd);
                acked = e2e_counter_acked(wr_fd, acked);

                integrity_check(&h);
                /* Acknowledged: that key. In flight: the new one, or else
                 * the old one. */
                int first = in_flight ? in_flight_key : current;
                key_use(&h, keys[first]);
                int r = harness_restart(&h);
                if (r < 0 && in_flight) {
                        assert_int_equal(h.exit_status, EXIT_WRONG_KEY);
                        key_use(&h, keys[current]);
                        r = harness_restart(&h);
                } else if (r >= 0 && in_flight) {
                        current = first;
                        took_new++;
                }
                if (r < 0)
                        fail_msg("round %d: no key opens the vault (exit %d)", round, h.exit_status);
                in_flight_rounds += in_flight;

                check_all(&h);
                assert_int_equal(keks_count(&h), 2);
                c = client(&h);
                e2e_counter_check(c, PLUGIN, "counter", acked, &seen);
                cv_client_free(c);
        }
        print_message("%d kills, %d rotations acknowledged, %d kills with one in flight (%d of them had "
                      "committed)\n",
                      KILL_ROUNDS, rotations, in_flight_rounds, took_new);
        assert_true(rotations >= KILL_ROUNDS);
        assert_int_equal(harness_stop(&h), 0);
        integrity_check(&h);
        harness_cleanup(&h);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rotate_with_key_file),      cmocka_unit_test(test_dev_rotation),
                cmocka_unit_test(test_dev_rotation_rename_fails), cmocka_unit_test(test_recovery),
                cmocka_unit_test(test_kill_during_rotate_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
