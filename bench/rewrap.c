/* rewrap.c — KEK rewrap: its rate, and secret.get latency while it runs
 * (issue 13's performance targets).
 *
 * Owns: the rewrap bench. Starts credvaultd on a throw-away vault (temp
 * dir, generated root key, its own socket; no policy, so the caller, root
 * or the socket's owner, is an admin), registers the plugin "bench" and
 * loads --records secrets (32-byte values) over --threads connections in
 * parallel. A put costs one fsync: 100 000 take about 15 s to load on the
 * 2-core machine, 1 000 000 about 2.5 min. Then one reader thread calls
 * cv_secret_get() of a random record, one call at a time, from start to
 * end, while the main thread
 *   1. waits --idle-seconds (the idle figures);
 *   2. calls key.rotate then key.rewrap, and polls key.status every
 *      --poll-ms (as `credvault key rewrap --wait` does, 200 ms) until it
 *      says the rewrap is not running and nothing remains;
 *   3. checks a sample of records still reads back.
 * Each reader call falls in the phase it started in. Prints:
 *   records=.. load_s=.. load_rate=..
 *   idle    calls=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
 *   rewrap  calls=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
 *   rewrap_s=.. rate=.. (records a second) status_polls=.. status_max_us=..
 *   target rate (1M in < 15 s: > 66 667/s): met|NOT met; target p99 < 1 ms: met|NOT met
 * The rewrap time runs from key.rewrap's reply to the first key.status
 * saying it is done, so it is late by up to one poll interval.
 *
 *   cv-rewrap [--records N] [--threads T] [--idle-seconds S] [--poll-ms MS]
 *             [--daemon PATH] [--dir DIR] [--keep]
 * --daemon defaults to ../daemon/credvaultd beside this binary. --dir DIR
 * uses DIR (created if missing, and kept) instead of a temp dir; when it
 * already holds a vault from an earlier run with the same --records, the
 * load is skipped and that vault is rotated and rewrapped again (for
 * comparing daemon builds without reloading 100 000 records each time).
 *
 * Never: prints a value, or touches anything outside its temp dir. */
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
#define RECORDS_DEFAULT 100000
#define RECORDS_MAX 10000000
#define THREADS_DEFAULT 64
#define THREADS_MAX 256
#define IDLE_SECONDS_DEFAULT 3.0
#define POLL_MS_DEFAULT 200
#define VALUE_SIZE 32
#define STARTUP_TRIES 100 /* × 100 ms */
#define CHECK_SAMPLE 1000
#define LATENCIES_INITIAL (256 * 1024)

extern char **environ;

typedef struct Sample {
        uint64_t start_ns;
        uint32_t lat_ns;
} Sample;

static const char *socket_path;
static unsigned n_records = RECORDS_DEFAULT;
static atomic_uint next_record;
static atomic_int load_error;
static atomic_bool reader_stop;
static atomic_bool reader_ready;
static Sample *samples;
static size_t n_samples, samples_alloc;
static int reader_error;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

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
                        fprintf(stderr, "rewrap: put %s: %s\n", name, cv_client_error_message(c));
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
        if (r < 0) {
                reader_error = r;
                atomic_store(&reader_ready, true);
                return NULL;
        }
        atomic_store(&reader_ready, true);
        while (!atomic_load(&reader_stop)) {
                rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
                record_name((unsigned) (rnd % n_records), name, sizeof(name));
                CvSecret *s = NULL;
                uint64_t t0 = now_ns();
                r = cv_secret_get(c, PLUGIN, name, &s);
                uint64_t t1 = now_ns();
                cv_secret_free(s);
                if (r < 0) {
                        fprintf(stderr, "rewrap: get %s: %s\n", name, cv_client_error_message(c));
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

/* The reader's calls that started in [from, to). Returns its p99 (µs). */
static double phase_print(const char *what, uint64_t from, uint64_t to) {
        uint32_t *lat = malloc((n_samples ?: 1) * sizeof(uint32_t));
        size_t n = 0;
        if (!lat)
                return -1;
        for (size_t i = 0; i < n_samples; i++)
                if (samples[i].start_ns >= from && samples[i].start_ns < to)
                        lat[n++] = samples[i].lat_ns;
        if (n == 0) {
                printf("%-7s calls=0\n", what);
                free(lat);
                return -1;
        }
        qsort(lat, n, sizeof(uint32_t), compare_u32);
        double p99 = pct_us(lat, n, 0.99);
        printf("%-7s calls=%zu seconds=%.2f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", what, n,
               (double) (to - from) / 1e9, pct_us(lat, n, 0.5), p99, pct_us(lat, n, 0.999),
               (double) lat[n - 1] / 1000.0);
        free(lat);
        return p99;
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
        fprintf(f, "usage: cv-rewrap [--records N] [--threads T] [--idle-seconds S] [--poll-ms MS] "
                   "[--daemon PATH] [--dir DIR] [--keep]\n");
}

int main(int argc, char *argv[]) {
        static const struct option opts[] = { { "records", required_argument, NULL, 'n' },
                                              { "threads", required_argument, NULL, 't' },
                                              { "idle-seconds", required_argument, NULL, 'i' },
                                              { "poll-ms", required_argument, NULL, 'p' },
                                              { "daemon", required_argument, NULL, 'd' },
                                              { "keep", no_argument, NULL, 'k' },
                                              { "dir", required_argument, NULL, 'D' },
                                              { "help", no_argument, NULL, 'h' },
                                              {} };
        unsigned n_threads = THREADS_DEFAULT, poll_ms = POLL_MS_DEFAULT;
        double idle_seconds = IDLE_SECONDS_DEFAULT;
        char daemon_buf[PATH_MAX];
        const char *daemon = NULL, *user_dir = NULL;
        bool keep = false, reuse = false;
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
                case 'p':
                        poll_ms = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        daemon = optarg;
                        break;
                case 'k':
                        keep = true;
                        break;
                case 'D':
                        user_dir = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (n_records < 1 || n_records > RECORDS_MAX || n_threads < 1 || n_threads > THREADS_MAX ||
            !(idle_seconds > 0) || poll_ms < 1) {
                usage(stderr);
                return 2;
        }
        if (!daemon) {
                char self[PATH_MAX];
                ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (k <= 0) {
                        fprintf(stderr, "rewrap: cannot find credvaultd: pass --daemon\n");
                        return 2;
                }
                self[k] = '\0';
                snprintf(daemon_buf, sizeof(daemon_buf), "%s/../daemon/credvaultd", dirname(self));
                daemon = daemon_buf;
        }

        char dir[PATH_MAX] = "/tmp/cv-rewrap.XXXXXX";
        char keyfile[PATH_MAX], statedir[PATH_MAX], sock[PATH_MAX], log[PATH_MAX];
        if (user_dir) {
                snprintf(dir, sizeof(dir), "%s", user_dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                        perror("rewrap: mkdir");
                        return 1;
                }
                keep = true;
        } else if (!mkdtemp(dir)) {
                perror("rewrap: mkdtemp");
                return 1;
        }
        if (strlen(dir) > 90) { /* the socket path must fit sun_path */
                fprintf(stderr, "rewrap: %s: too long a directory\n", dir);
                return 1;
        }
        if (snprintf(keyfile, sizeof(keyfile), "%s/root.key", dir) >= (int) sizeof(keyfile) ||
            snprintf(statedir, sizeof(statedir), "%s/state", dir) >= (int) sizeof(statedir) ||
            snprintf(sock, sizeof(sock), "%s/cv.sock", dir) >= (int) sizeof(sock) ||
            snprintf(log, sizeof(log), "%s/daemon.log", dir) >= (int) sizeof(log))
                return 1;
        socket_path = sock;

        reuse = user_dir && access(keyfile, F_OK) == 0;
        int r = reuse ? 0 : write_key(keyfile);
        pid_t dpid = -1;
        CvClient *c = NULL;
        pthread_t rt;
        bool reader_started = false;
        int ret = 1;
        if (r < 0) {
                fprintf(stderr, "rewrap: cannot write the root key: %s\n", strerror(-r));
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
                fprintf(stderr, "rewrap: cannot start %s: %s\n", daemon, strerror(r));
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
                fprintf(stderr, "rewrap: the daemon did not start (log: %s)\n", log);
                keep = true;
                goto out;
        }
        r = reuse ? 0 : cv_plugin_register(c, BENCH_AUTH_BLOCK, PLUGIN, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "rewrap: plugin.register: %s\n", cv_client_error_message(c));
                goto out;
        }

        printf("# credvault rewrap bench: %u records of %d bytes loaded over %u connections; %g s idle, then "
               "key.rotate + key.rewrap, key.status polled every %u ms; nproc=%ld\n",
               n_records, VALUE_SIZE, n_threads, idle_seconds, poll_ms, sysconf(_SC_NPROCESSORS_ONLN));
        fflush(stdout);

        /* Load. */
        uint64_t t0 = now_ns();
        if (reuse)
                atomic_store(&next_record, n_records);
        pthread_t *threads = calloc(n_threads, sizeof(pthread_t));
        if (!threads)
                goto out;
        unsigned started = 0;
        for (; started < n_threads; started++)
                if (pthread_create(&threads[started], NULL, loader, NULL) != 0)
                        break;
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        free(threads);
        if (started == 0 || atomic_load(&load_error) < 0) {
                fprintf(stderr, "rewrap: loading failed\n");
                goto out;
        }
        double load_s = (double) (now_ns() - t0) / 1e9;
        if (reuse)
                printf("records=%u (the vault in %s, not loaded again)\n", n_records, dir);
        else
                printf("records=%u load_s=%.1f load_rate=%.0f\n", n_records, load_s, n_records / load_s);
        fflush(stdout);

        /* The reader, then the idle phase. */
        samples_alloc = LATENCIES_INITIAL;
        samples = malloc(samples_alloc * sizeof(Sample));
        if (!samples || pthread_create(&rt, NULL, reader, NULL) != 0)
                goto out;
        reader_started = true;
        while (!atomic_load(&reader_ready))
                usleep(1000);
        usleep(200 * 1000); /* warm-up, not counted */
        uint64_t idle_from = now_ns();
        usleep((useconds_t) (idle_seconds * 1e6));
        uint64_t idle_to = now_ns();

        /* Rotate, rewrap, poll. */
        int64_t primary = 0, previous = 0, remaining = 0;
        bool running = false;
        r = cv_key_rotate(c, &primary, &previous);
        if (r >= 0)
                r = cv_key_rewrap(c, &running, &remaining);
        uint64_t rw_from = now_ns();
        if (r < 0) {
                fprintf(stderr, "rewrap: key.rotate/key.rewrap: %s\n", cv_client_error_message(c));
                goto out;
        }
        unsigned polls = 0;
        uint64_t status_max = 0;
        CvKeyRewrap st = {};
        for (;;) {
                usleep(poll_ms * 1000);
                uint64_t s0 = now_ns();
                r = cv_key_status(c, &st, NULL);
                uint64_t s1 = now_ns();
                if (r < 0) {
                        fprintf(stderr, "rewrap: key.status: %s\n", cv_client_error_message(c));
                        goto out;
                }
                polls++;
                if (s1 - s0 > status_max)
                        status_max = s1 - s0;
                if (!st.running && st.remaining == 0)
                        break;
                if (!st.running) {
                        fprintf(stderr, "rewrap: the rewrap stopped with %" PRIi64 " left (log: %s)\n", st.remaining,
                                log);
                        keep = true;
                        goto out;
                }
        }
        uint64_t rw_to = now_ns();
        usleep(200 * 1000);
        atomic_store(&reader_stop, true);
        pthread_join(rt, NULL);
        reader_started = false;
        if (reader_error < 0) {
                fprintf(stderr, "rewrap: the reader failed: %s\n", strerror(-reader_error));
                goto out;
        }

        /* A sample reads back (the reader has read others throughout). */
        for (unsigned i = 0; i < CHECK_SAMPLE && i < n_records; i++) {
                char name[32];
                CvSecret *s = NULL;
                unsigned k = (unsigned) ((uint64_t) i * n_records / CHECK_SAMPLE);
                record_name(k, name, sizeof(name));
                r = cv_secret_get(c, PLUGIN, name, &s);
                bool ok = r >= 0 && s->value_size == VALUE_SIZE && s->value[0] == 'a' + (int) (k % 26);
                cv_secret_free(s);
                if (!ok) {
                        fprintf(stderr, "rewrap: %s does not read back after the rewrap\n", name);
                        goto out;
                }
        }

        double idle99 = phase_print("idle", idle_from, idle_to);
        double rw99 = phase_print("rewrap", rw_from, rw_to);
        double rw_s = (double) (rw_to - rw_from) / 1e9;
        double rate = (double) st.done / rw_s;
        printf("rewrap_s=%.2f done=%" PRIi64 " rate=%.0f status_polls=%u status_max_us=%.1f p99 rewrap/idle=%.2f\n",
               rw_s, st.done, rate, polls, (double) status_max / 1000.0, idle99 > 0 ? rw99 / idle99 : 0);
        printf("target rate (1M in < 15 s: > 66667/s): %s; target p99 < 1 ms: %s\n",
               rate > 1e6 / 15 ? "met" : "NOT met", rw99 >= 0 && rw99 < 1000 ? "met" : "NOT met");
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
                fprintf(stderr, "rewrap: kept %s\n", dir);
        else
                nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return ret;
}
