/* test-e2e-sweep-faults.c — the expiry sweep on a full disk, on the real
 * daemon.
 *
 * Shows: previous secret versions whose grace ends while the state
 * directory's file system (a small tmpfs) is full cannot be deleted, and
 * the daemon backs off instead of retrying at once: over seconds of
 * failing sweeps it uses almost no CPU (it used 62% and wrote 230 lines a
 * second), says so in one line (then at most one per ten minutes), and
 * keeps answering; once space returns, the next retry (1 s, doubling)
 * deletes them and says the sweep works again, and the versions are gone.
 *
 * Needs root (mount): otherwise it exits 77 and says why; where mount(2)
 * is refused even to root the test is skipped, saying so. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

#define PLUGIN "sweep"
#define N_SECRETS 4
#define GRACE_SEC 2
#define SWEEP_FAILED "expired previous secret versions could not be deleted"
#define SWEEP_WORKS "expired previous secret versions are deleted again"
#define AUDIT_FAILED "audit trail: records cannot be written"

/* The daemon of the running test, and the file system it mounted:
 * teardown unmounts and removes them even when the test failed half-way. */
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

static CvClient *client(void) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h.socket_path, 10000, &c), 0);
        return c;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_file(const char *from, const char *to) {
        char *data = NULL;
        size_t size = 0;
        assert_int_equal(harness_read_file(from, &data, &size), 0);
        int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(fsync(fd), 0);
        close(fd);
        free(data);
}

/* Fill the file system of path's directory: a file that grows until
 * ENOSPC, down to the last byte. */
static void fill(const char *path) {
        static char chunk[64 * 1024];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        memset(chunk, 0x5a, sizeof(chunk));
        for (size_t size = sizeof(chunk); size > 0;) {
                ssize_t k = write(fd, chunk, size);
                if (k < 0) {
                        assert_int_equal(errno, ENOSPC);
                        size /= 2;
                }
        }
        close(fd);
}

/* How many lines of the daemon's log hold what. */
static int log_count(const char *what) {
        char *log = NULL;
        size_t size = 0;
        int n = 0;
        assert_int_equal(harness_read_file(h.log_file, &log, &size), 0);
        log = realloc(log, size + 1);
        assert_non_null(log);
        log[size] = '\0';
        for (const char *p = log; (p = strstr(p, what)); p += strlen(what))
                n++;
        free(log);
        return n;
}

static int log_lines(void) {
        return log_count("\n");
}

/* The daemon's user and system CPU time so far, in clock ticks. */
static long cpu_ticks(pid_t pid) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        /* After the command name in parentheses: fields 3..; utime and
         * stime are fields 14 and 15. */
        const char *p = strrchr(buf, ')');
        assert_non_null(p);
        unsigned long utime = 0, stime = 0;
        assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
        return (long) (utime + stime);
}

/* Whether the secret still has a version in the previous stage. */
static bool has_previous(CvClient *c, const char *name) {
        char *reply = NULL, request[160];
        snprintf(request, sizeof(request), "{\"op\":\"secret.history\",\"plugin\":\"%s\",\"name\":\"%s\"}", PLUGIN,
                 name);
        assert_true(cv_call_json(c, request, &reply) > 0);
        if (!strstr(reply, "\"ok\":true"))
                fail_msg("secret.history: %s", reply);
        bool found = strstr(reply, "\"previous\"") != NULL;
        cv_free_wiped(reply, (size_t) -1);
        return found;
}

static void test_sweep_backs_off_on_full_disk(void **state) {
        char disk[200], from[256], db[256], filler[256], name[32];
        int64_t deadline = 0;
        (void) state;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        /* The vault on a 1 MiB file system of its own. */
        snprintf(disk, sizeof(disk), "%s/state.disk", h.dir);
        assert_int_equal(rename(h.state_dir, disk), 0);
        assert_int_equal(mkdir(h.state_dir, 0700), 0);
        char options[64];
        snprintf(options, sizeof(options), "size=%uk,mode=0700", 1024);
        if (mount("tmpfs", h.state_dir, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0) {
                printf("# skipped: cannot mount a tmpfs on %s: %s\n", h.state_dir, strerror(errno));
                skip();
        }
        snprintf(mounted, sizeof(mounted), "%s", h.state_dir);
        snprintf(from, sizeof(from), "%s/credvault.db", disk);
        snprintf(db, sizeof(db), "%s/credvault.db", h.state_dir);
        copy_file(from, db);
        assert_int_equal(harness_restart(&h), 0);

        /* Versions that turn previous now and expire in GRACE_SEC. */
        CvClient *c = client();
        for (int i = 0; i < N_SECRETS; i++) {
                CvSecretPromoted p;
                snprintf(name, sizeof(name), "s%d", i);
                assert_int_equal(cv_secret_put(c, PLUGIN, name, "old value", 9, NULL), 0);
                assert_int_equal(cv_secret_rotate(c, PLUGIN, name, "new value", 9, 0, GRACE_SEC, NULL, NULL), 0);
                assert_int_equal(cv_secret_promote(c, PLUGIN, name, GRACE_SEC, &p), 0);
                deadline = p.previous_deadline;
                assert_true(has_previous(c, name));
        }
        cv_client_free(c);

        /* The disk full; writes until they fail, so that the database
         * has no room left either. */
        snprintf(filler, sizeof(filler), "%s/filler", h.state_dir);
        fill(filler);
        c = client();
        for (int i = 0; i < 64; i++) {
                char value[4096];
                memset(value, 'x', sizeof(value));
                snprintf(name, sizeof(name), "full-%d", i);
                if (cv_secret_put(c, PLUGIN, name, value, sizeof(value), NULL) < 0)
                        break;
        }
        cv_client_free(c);

        /* The deadline passes; the sweep fails from then on. */
        while (time(NULL) <= deadline)
                usleep(100 * 1000);
        for (int i = 0; i < 50 && log_count(SWEEP_FAILED) == 0; i++)
                usleep(100 * 1000);
        if (log_count(SWEEP_FAILED) == 0)
                fail_msg("the sweep did not fail on the full disk (or did not say so)");
        /* Four seconds of failing sweeps: little CPU, one line. */
        int lines = log_lines(), audit_lines = log_count(AUDIT_FAILED);
        long ticks = cpu_ticks(h.pid);
        int64_t t0 = now_ms();
        sleep(4);
        long used = cpu_ticks(h.pid) - ticks;
        int64_t elapsed = now_ms() - t0;
        long per_sec = sysconf(_SC_CLK_TCK);
        double share = (double) used / (double) per_sec / ((double) elapsed / 1000.0);
        print_message("daemon CPU while the sweep fails: %.1f%% (%ld ticks in %" PRId64 " ms); sweep lines: %d\n",
                      100.0 * share, used, elapsed, log_count(SWEEP_FAILED));
        assert_true(share < 0.10);
        assert_int_equal(log_count(SWEEP_FAILED), 1);
        /* Besides the audit trail's own line, each flush (its rate is
         * not the sweep's business), at most the sweep's next one. */
        int others = log_lines() - lines - (log_count(AUDIT_FAILED) - audit_lines);
        if (others > 2) {
                char *log = NULL;
                size_t size = 0;
                assert_int_equal(harness_read_file(h.log_file, &log, &size), 0);
                size_t start = size > 3000 ? size - 3000 : 0;
                fwrite(log + start, 1, size - start, stdout);
                fflush(stdout);
                fail_msg("%d lines in 4 s", others);
        }
        /* It still answers. */
        c = client();
        char *health = NULL;
        assert_int_equal(cv_health_json(c, &health), 0);
        free(health);
        cv_client_free(c);

        /* Space again: the next retry (at most 16 s away by now) deletes
         * them, and says the sweep works again. */
        assert_int_equal(unlink(filler), 0);
        int64_t t1 = now_ms();
        while (log_count(SWEEP_WORKS) == 0 && now_ms() - t1 < 70 * 1000)
                usleep(200 * 1000);
        if (log_count(SWEEP_WORKS) == 0)
                fail_msg("the sweep did not work again once there was space");
        print_message("the sweep worked again %" PRId64 " ms after space returned\n", now_ms() - t1);
        c = client();
        for (int i = 0; i < N_SECRETS; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                assert_false(has_previous(c, name));
        }
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
}

int main(void) {
        if (geteuid() != 0) {
                printf("# skipped: the sweep fault test needs root (it mounts a small tmpfs as the full disk)\n");
                return 77;
        }
        unsetenv("CREDENTIALS_DIRECTORY");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_sweep_backs_off_on_full_disk, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
