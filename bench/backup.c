/* backup.c — online backup: how long a copy of the vault takes, and
 * secret.get latency while it runs (issue 13's performance target: 1M
 * records backed up in under 5 s).
 *
 * Owns: the backup bench. Starts credvaultd on a throw-away vault (temp
 * dir, generated root key, its own socket; no policy, so the caller is an
 * admin) and loads --records secrets (32-byte values) over --threads
 * connections, as cv-rewrap does (same --dir layout, so a vault one of
 * them loaded is reused by the other). Then one reader thread calls
 * cv_secret_get() of a random record, one call at a time, while the main
 * thread
 *   1. waits --idle-seconds (the idle figures);
 *   2. makes --backups backups, one after the other, each into a new file
 *      in the directory (cv_backup_fd(), as `credvault backup` does),
 *      removing each once made;
 *   3. checks a sample of records still reads back.
 * Prints:
 *   records=.. load_s=..
 *   idle    calls=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
 *   backup  calls=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
 *   backup_s=.. (each) bytes=.. records=.. MB_s=..
 *   target (1M records in < 5 s): met|NOT met
 *
 *   cv-backup [--records N] [--threads T] [--idle-seconds S] [--backups B]
 *             [--daemon PATH] [--dir DIR] [--read-records R]
 * --daemon defaults to ../daemon/credvaultd beside this binary; --dir DIR
 * keeps the vault in DIR (loaded once for a given --records). Loading
 * costs one fsync a record (about 1 000 a second here): for 1M records,
 * grow a loaded 100k vault by copying its rows under new names with
 * sqlite3 (bench/run.sh's way is in docs/benchmarks.md) and pass
 * --read-records 100000, the ones that decrypt; the copy's time depends on
 * the bytes, not on what they open to.
 *
 * Never: prints a value, or touches anything outside its directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "credvault.h"

#define PLUGIN "bench"
#define BENCH_AUTH_BLOCK "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}"
#define RECORDS_MAX 10000000
#define VALUE_SIZE 32
#define STARTUP_TRIES 600 /* × 100 ms: a 1M vault's start checks the file */
#define CHECK_SAMPLE 1000
#define BACKUPS_MAX 16

extern char **environ;

typedef struct Sample {
        uint64_t start_ns;
        uint32_t lat_ns;
} Sample;

static const char *socket_path;
static unsigned n_records = 100000;
/* Records the reader and the final check read: the first ones (all, by
 * default; fewer for a vault grown by copying rows, whose copies do not
 * decrypt under their new names). */
static unsigned n_readable;
static atomic_uint next_record;
static atomic_int load_error;
static atomic_bool reader_stop, reader_ready;
static Sample *samples;
static size_t n_samples, samples_alloc;
static int reader_error;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* The names and values cv-rewrap uses, so either loads for both. */
static void record_name(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "rec%08u", i);
}

static void *loader(void *arg) {
        CvClient *c = NULL;
        char name[32], value[VALUE_SIZE];
        (void) arg;

        int r = cv_client_new(socket_path, 0, &c);
        if (r < 0) {
                atomic_store(&load_error, r);
                return NULL;
        }
        for (;;) {
                unsigned i = atomic_fetch_add(&next_record, 1);
                if (i >= n_records || atomic_load(&load_error) < 0)
                        break;
                record_name(i, name, sizeof(name));
                memset(value, 'a' + (int) (i % 26), sizeof(value));
                r = cv_secret_put(c, PLUGIN, name, value, sizeof(value), NULL);
                if (r < 0) {
                        fprintf(stderr, "backup: put %s: %s\n", name, cv_client_error_message(c));
                        atomic_store(&load_error, r);
                        break;
                }
        }
        cv_client_free(c);
        return NULL;
}

static void *reader(void *arg) {
        CvClient *c = NULL;
        char name[32];
        uint64_t rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid();
        (void) arg;

        int r = cv_client_new(socket_path, 0, &c);
        atomic_store(&reader_ready, true);
        if (r < 0) {
                reader_error = r;
                return NULL;
        }
        while (!atomic_load(&reader_stop)) {
                rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
                record_name((unsigned) (rnd % n_readable), name, sizeof(name));
                CvSecret *s = NULL;
                uint64_t t0 = now_ns();
                r = cv_secret_get(c, PLUGIN, name, &s);
                uint64_t t1 = now_ns();
                cv_secret_free(s);
                if (r < 0) {
                        reader_error = r;
                        break;
                }
                if (n_samples == samples_alloc) {
                        Sample *more = realloc(samples, 2 * samples_alloc * sizeof(Sample));
                        if (!more) {
                                reader_error = -ENOMEM;
                                break;
                        }
                        samples = more;
                        samples_alloc *= 2;
                }
                uint64_t lat = t1 - t0;
                samples[n_samples++] = (Sample) { t0, lat > UINT32_MAX ? UINT32_MAX : (uint32_t) lat };
        }
        cv_client_free(c);
        return NULL;
}

static int compare_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *sorted, size_t n, double p) {
        return (double) sorted[(size_t) (p * (double) (n - 1) + 0.5)] / 1000.0;
}

/* The reader's calls that started in one of the n windows [from, to). */
static void phase_print(const char *what, const uint64_t *from, const uint64_t *to, size_t n_windows) {
        uint32_t *lat = malloc((n_samples ?: 1) * sizeof(uint32_t));
        size_t n = 0;
        double seconds = 0;
        if (!lat)
                return;
        for (size_t w = 0; w < n_windows; w++) {
                seconds += (double) (to[w] - from[w]) / 1e9;
                for (size_t i = 0; i < n_samples; i++)
                        if (samples[i].start_ns >= from[w] && samples[i].start_ns < to[w])
                                lat[n++] = samples[i].lat_ns;
        }
        if (n == 0)
                printf("%-7s calls=0\n", what);
        else {
                qsort(lat, n, sizeof(uint32_t), compare_u32);
                printf("%-7s calls=%zu seconds=%.2f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", what, n,
                       seconds, pct_us(lat, n, 0.5), pct_us(lat, n, 0.99), pct_us(lat, n, 0.999),
                       (double) lat[n - 1] / 1000.0);
        }
        free(lat);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

static int write_key(const char *path) {
        uint8_t key[32];
        if (getrandom(key, sizeof(key), 0) != (ssize_t) sizeof(key))
                return -EIO;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        ssize_t k = write(fd, key, sizeof(key));
        close(fd);
        return k == (ssize_t) sizeof(key) ? 0 : -EIO;
}

static void usage(FILE *f) {
        fprintf(f, "usage: cv-backup [--records N] [--threads T] [--idle-seconds S] [--backups B] [--daemon PATH] "
                   "[--dir DIR] [--read-records R]\n");
}

static int load(unsigned n_threads) {
        pthread_t *threads = calloc(n_threads, sizeof(pthread_t));
        unsigned started = 0;
        if (!threads)
                return -ENOMEM;
        for (; started < n_threads; started++)
                if (pthread_create(&threads[started], NULL, loader, NULL) != 0)
                        break;
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        free(threads);
        return started == 0 ? -EAGAIN : atomic_load(&load_error);
}

int main(int argc, char *argv[]) {
        static const struct option opts[] = { { "records", required_argument, NULL, 'n' },
                                              { "threads", required_argument, NULL, 't' },
                                              { "idle-seconds", required_argument, NULL, 'i' },
                                              { "backups", required_argument, NULL, 'b' },
                                              { "daemon", required_argument, NULL, 'd' },
                                              { "dir", required_argument, NULL, 'D' },
                                              { "read-records", required_argument, NULL, 'r' },
                                              { "help", no_argument, NULL, 'h' },
                                              {} };
        unsigned n_threads = 64, n_backups = 3;
        double idle_seconds = 2.0;
        char daemon_buf[PATH_MAX];
        const char *daemon = NULL, *user_dir = NULL;
        int o;

        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (o) {
                case 'n':
                        n_records = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        n_threads = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'i':
                        idle_seconds = strtod(optarg, NULL);
                        break;
                case 'b':
                        n_backups = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        daemon = optarg;
                        break;
                case 'D':
                        user_dir = optarg;
                        break;
                case 'r':
                        n_readable = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (n_readable == 0 || n_readable > n_records)
                n_readable = n_records;
        if (n_records < 1 || n_records > RECORDS_MAX || n_threads < 1 || n_threads > 256 || !(idle_seconds > 0) ||
            n_backups < 1 || n_backups > BACKUPS_MAX) {
                usage(stderr);
                return 2;
        }
        if (!daemon) {
                char self[PATH_MAX];
                ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (k <= 0) {
                        fprintf(stderr, "backup: cannot find credvaultd: pass --daemon\n");
                        return 2;
                }
                self[k] = '\0';
                snprintf(daemon_buf, sizeof(daemon_buf), "%s/../daemon/credvaultd", dirname(self));
                daemon = daemon_buf;
        }

        char dir[128] = "/tmp/cv-backup.XXXXXX";
        char keyfile[PATH_MAX], statedir[PATH_MAX], sock[PATH_MAX], log[PATH_MAX], copy[PATH_MAX];
        bool keep = false;
        if (user_dir) {
                snprintf(dir, sizeof(dir), "%s", user_dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                        perror("backup: mkdir");
                        return 1;
                }
                keep = true;
        } else if (!mkdtemp(dir)) {
                perror("backup: mkdtemp");
                return 1;
        }
        if (strlen(dir) > 90) {
                fprintf(stderr, "backup: %s: too long a directory\n", dir);
                return 1;
        }
        snprintf(keyfile, sizeof(keyfile), "%s/root.key", dir);
        snprintf(statedir, sizeof(statedir), "%s/state", dir);
        snprintf(sock, sizeof(sock), "%s/cv.sock", dir);
        snprintf(log, sizeof(log), "%s/daemon.log", dir);
        socket_path = sock;

        bool reuse = user_dir && access(keyfile, F_OK) == 0;
        int r = reuse ? 0 : write_key(keyfile), ret = 1;
        pid_t dpid = -1;
        CvClient *c = NULL;
        pthread_t rt;
        bool reader_started = false;
        if (r < 0) {
                fprintf(stderr, "backup: cannot write the root key: %s\n", strerror(-r));
                goto out;
        }
        char caps[16];
        snprintf(caps, sizeof(caps), "%u", n_threads + 8);
        const char *dargv[] = { daemon, "--root-key-file",           keyfile, "--state-dir", statedir, "--socket",
                                sock,   "--max-connections-per-uid", caps,    NULL };
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        r = posix_spawn(&dpid, daemon, &fa, NULL, (char *const *) dargv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "backup: cannot start %s: %s\n", daemon, strerror(r));
                dpid = -1;
                goto out;
        }
        r = -ECONNREFUSED;
        for (int i = 0; i < STARTUP_TRIES && r < 0; i++) {
                if (waitpid(dpid, NULL, WNOHANG) != 0) {
                        dpid = -1;
                        break;
                }
                r = cv_client_new(sock, 0, &c);
                if (r < 0)
                        usleep(100 * 1000);
        }
        if (r < 0) {
                fprintf(stderr, "backup: the daemon did not start (log: %s)\n", log);
                keep = true;
                goto out;
        }
        r = reuse ? 0 : cv_plugin_register(c, BENCH_AUTH_BLOCK, PLUGIN, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "backup: plugin.register: %s\n", cv_client_error_message(c));
                goto out;
        }
        printf("# credvault backup bench: %u records of %d bytes; %g s idle, then %u backups one after the other; "
               "nproc=%ld\n",
               n_records, VALUE_SIZE, idle_seconds, n_backups, sysconf(_SC_NPROCESSORS_ONLN));
        fflush(stdout);

        uint64_t t0 = now_ns();
        if (!reuse && load(n_threads) < 0) {
                fprintf(stderr, "backup: loading failed\n");
                goto out;
        }
        if (reuse)
                printf("records=%u (the vault in %s, not loaded again)\n", n_records, dir);
        else
                printf("records=%u load_s=%.1f\n", n_records, (double) (now_ns() - t0) / 1e9);
        fflush(stdout);

        samples_alloc = 256 * 1024;
        samples = malloc(samples_alloc * sizeof(Sample));
        if (!samples || pthread_create(&rt, NULL, reader, NULL) != 0)
                goto out;
        reader_started = true;
        while (!atomic_load(&reader_ready))
                usleep(1000);
        usleep(200 * 1000);
        uint64_t idle_from = now_ns();
        usleep((useconds_t) (idle_seconds * 1e6));
        uint64_t idle_to = now_ns();

        uint64_t from[BACKUPS_MAX], to[BACKUPS_MAX];
        CvBackupInfo info[BACKUPS_MAX];
        for (unsigned b = 0; b < n_backups; b++) {
                snprintf(copy, sizeof(copy), "%s/copy-%u.db", dir, b);
                unlink(copy);
                int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                        perror("backup: open");
                        goto out;
                }
                from[b] = now_ns();
                r = cv_backup_fd(c, fd, &info[b]);
                to[b] = now_ns();
                close(fd);
                unlink(copy);
                if (r < 0) {
                        fprintf(stderr, "backup: %s\n", cv_client_error_message(c));
                        goto out;
                }
                usleep(200 * 1000); /* apart, so each window is one backup */
        }
        atomic_store(&reader_stop, true);
        pthread_join(rt, NULL);
        reader_started = false;
        if (reader_error < 0) {
                fprintf(stderr, "backup: the reader failed: %s\n", strerror(-reader_error));
                goto out;
        }
        for (unsigned i = 0; i < CHECK_SAMPLE && i < n_readable; i++) {
                char name[32];
                CvSecret *s = NULL;
                unsigned k = (unsigned) ((uint64_t) i * n_readable / CHECK_SAMPLE);
                record_name(k, name, sizeof(name));
                r = cv_secret_get(c, PLUGIN, name, &s);
                bool ok = r >= 0 && s->value_size == VALUE_SIZE && s->value[0] == 'a' + (int) (k % 26);
                cv_secret_free(s);
                if (!ok) {
                        fprintf(stderr, "backup: %s does not read back\n", name);
                        goto out;
                }
        }

        phase_print("idle", &idle_from, &idle_to, 1);
        phase_print("backup", from, to, n_backups);
        double worst = 0;
        for (unsigned b = 0; b < n_backups; b++) {
                double s = (double) (to[b] - from[b]) / 1e9;
                worst = s > worst ? s : worst;
                printf("backup_s=%.3f daemon_ms=%" PRId64 " records=%" PRId64 " bytes=%" PRId64 " MB_s=%.0f\n", s,
                       info[b].ms, info[b].records, info[b].bytes, (double) info[b].bytes / 1e6 / s);
        }
        printf("target (1M records in < 5 s, scaled: %u in < %.2f s): %s\n", n_records, 5.0 * n_records / 1e6,
               worst < 5.0 * n_records / 1e6 ? "met" : "NOT met");
        ret = 0;
out:
        if (reader_started) {
                atomic_store(&reader_stop, true);
                pthread_join(rt, NULL);
        }
        cv_client_free(c);
        if (dpid > 0) {
                kill(dpid, SIGTERM);
                waitpid(dpid, NULL, 0);
        }
        free(samples);
        if (keep)
                fprintf(stderr, "backup: kept %s\n", dir);
        else
                nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return ret;
}
