/* bench-vault.c — a throw-away vault and daemon for a bench, its loaders
 * and its latency reader (see bench-vault.h).
 *
 * Owns: what cv-rewrap and cv-backup do alike around the one operation
 * each measures: their common options, the directory and its root key,
 * credvaultd's start and stop, loading the records, the reader's samples
 * and their percentiles, the final read-back check and the clean-up.
 *
 * Never: prints a value, or touches anything outside its directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-vault.h"

#define BENCH_AUTH_BLOCK "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}"
/* The directory's longest name: its socket path must fit sun_path. */
#define DIR_LEN_MAX 90
#define STARTUP_TRIES 600 /* × 100 ms: a 1M vault's start checks the file */
#define CHECK_SAMPLE 1000
#define SAMPLES_INITIAL (256 * 1024)
#define WARMUP_USEC (200 * 1000)
#define EXTRA_MAX 4     /* a bench's own options; more are ignored */
#define EXTRA_FIRST 256 /* their getopt values: above every letter */
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

uint64_t bench_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

void bench_record_name(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "rec%08u", i);
}

static void *loader(void *arg) {
        BenchVault *v = arg;
        CvClient *c = NULL;
        char name[32], value[BENCH_VALUE_SIZE];

        int r = cv_client_new(v->sock, 0, &c);
        if (r < 0) {
                atomic_store(&v->load_error, r);
                return NULL;
        }
        for (;;) {
                unsigned i = atomic_fetch_add(&v->next_record, 1);
                if (i >= v->n_records || atomic_load(&v->load_error) < 0)
                        break;
                bench_record_name(i, name, sizeof(name));
                memset(value, 'a' + (int) (i % 26), sizeof(value));
                r = cv_secret_put(c, BENCH_PLUGIN, name, value, sizeof(value), NULL);
                if (r < 0) {
                        fprintf(stderr, "%s: put %s: %s\n", v->who, name, cv_client_error_message(c));
                        atomic_store(&v->load_error, r);
                        break;
                }
        }
        cv_client_free(c);
        return NULL;
}

static void *reader(void *arg) {
        BenchVault *v = arg;
        CvClient *c = NULL;
        char name[32];
        uint64_t rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid();

        int r = cv_client_new(v->sock, 0, &c);
        if (r < 0) {
                v->reader_error = r;
                atomic_store(&v->reader_ready, true);
                return NULL;
        }
        atomic_store(&v->reader_ready, true);
        while (!atomic_load(&v->reader_stop)) {
                rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
                bench_record_name((unsigned) (rnd % v->n_readable), name, sizeof(name));
                CvSecret *s = NULL;
                uint64_t t0 = bench_now_ns();
                r = cv_secret_get(c, BENCH_PLUGIN, name, &s);
                uint64_t t1 = bench_now_ns();
                cv_secret_free(s);
                if (r < 0) {
                        fprintf(stderr, "%s: get %s: %s\n", v->who, name, cv_client_error_message(c));
                        v->reader_error = r;
                        break;
                }
                if (v->n_samples == v->samples_alloc) {
                        BenchSample *more = realloc(v->samples, 2 * v->samples_alloc * sizeof(BenchSample));
                        if (!more) {
                                v->reader_error = -ENOMEM;
                                break;
                        }
                        v->samples = more;
                        v->samples_alloc *= 2;
                }
                uint64_t lat = t1 - t0;
                v->samples[v->n_samples++] = (BenchSample) { t0, lat > UINT32_MAX ? UINT32_MAX : (uint32_t) lat };
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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

int bench_key_write(const char *path) {
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

const char *bench_build_path(const char *rel, char *buf, size_t size) {
        char self[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k <= 0)
                return NULL;
        self[k] = '\0';
        snprintf(buf, size, "%s/%s", dirname(self), rel);
        return buf;
}

void bench_dir_remove(const char *dir) {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Where bench_vault_parse() puts the daemon's default path: cfg->daemon
 * points here, for the whole run. */
static char daemon_default[PATH_MAX];

static const char *daemon_find(const char *who) {
        const char *path = bench_build_path("../daemon/credvaultd", daemon_default, sizeof(daemon_default));
        if (!path)
                fprintf(stderr, "%s: cannot find credvaultd: pass --daemon\n", who);
        return path;
}

int bench_vault_parse(BenchVaultConfig *cfg, int argc, char *argv[], const BenchOption *extra, const char *usage) {
        static const struct option common[] = {
                { "records", required_argument, NULL, 'n' },      { "threads", required_argument, NULL, 't' },
                { "idle-seconds", required_argument, NULL, 'i' }, { "daemon", required_argument, NULL, 'd' },
                { "dir", required_argument, NULL, 'D' },          { "help", no_argument, NULL, 'h' },
        };
        struct option opts[ELEMENTSOF(common) + EXTRA_MAX + 1] = {};
        size_t n_extra = 0;
        int o;

        if (cfg->n_records == 0)
                cfg->n_records = BENCH_RECORDS_DEFAULT;
        if (cfg->n_threads == 0)
                cfg->n_threads = BENCH_THREADS_DEFAULT;
        memcpy(opts, common, sizeof(common));
        /* The bench's own options come back from getopt_long() as their
         * index in extra, above every letter. */
        for (; extra[n_extra].name && n_extra < EXTRA_MAX; n_extra++)
                opts[ELEMENTSOF(common) + n_extra] =
                        (struct option) { extra[n_extra].name, extra[n_extra].flag ? no_argument : required_argument,
                                          NULL, EXTRA_FIRST + (int) n_extra };
        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (o) {
                case 'n':
                        cfg->n_records = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        cfg->n_threads = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'i':
                        cfg->idle_seconds = strtod(optarg, NULL);
                        break;
                case 'd':
                        cfg->daemon = optarg;
                        break;
                case 'D':
                        cfg->dir = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        if (o < EXTRA_FIRST || o >= EXTRA_FIRST + (int) n_extra) {
                                fputs(usage, stderr);
                                return 2;
                        }
                        const BenchOption *e = &extra[o - EXTRA_FIRST];
                        if (e->flag)
                                *e->flag = true;
                        else
                                *e->value = (unsigned) strtoul(optarg, NULL, 10);
                }
        for (size_t k = 0; k < n_extra; k++)
                if (extra[k].value && (*extra[k].value < extra[k].min || *extra[k].value > extra[k].max)) {
                        fputs(usage, stderr);
                        return 2;
                }
        if (cfg->n_records < 1 || cfg->n_records > BENCH_RECORDS_MAX || cfg->n_threads < 1 ||
            cfg->n_threads > BENCH_THREADS_MAX || !(cfg->idle_seconds > 0)) {
                fputs(usage, stderr);
                return 2;
        }
        if (!cfg->daemon && !(cfg->daemon = daemon_find(cfg->who)))
                return 2;
        return -1;
}

/* The directory: --dir, created if missing and always kept (it may hold a
 * loaded vault for the next run), or a new temp dir. */
static int dir_make(BenchVault *v, const BenchVaultConfig *cfg) {
        char dir[sizeof(v->dir)];

        if (cfg->dir) {
                if (strlen(cfg->dir) > DIR_LEN_MAX) {
                        fprintf(stderr, "%s: %s: too long a directory\n", v->who, cfg->dir);
                        return -ENAMETOOLONG;
                }
                snprintf(dir, sizeof(dir), "%s", cfg->dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                        fprintf(stderr, "%s: mkdir: %s\n", v->who, strerror(errno));
                        return -errno;
                }
                v->keep = true;
        } else {
                snprintf(dir, sizeof(dir), "/tmp/cv-%s.XXXXXX", v->who);
                if (!mkdtemp(dir)) {
                        fprintf(stderr, "%s: mkdtemp: %s\n", v->who, strerror(errno));
                        return -errno;
                }
        }
        /* Only now, so that bench_vault_close() removes only what was made. */
        memcpy(v->dir, dir, sizeof(dir));
        snprintf(v->keyfile, sizeof(v->keyfile), "%s/root.key", dir);
        snprintf(v->statedir, sizeof(v->statedir), "%s/state", dir);
        snprintf(v->sock, sizeof(v->sock), "%s/cv.sock", dir);
        snprintf(v->log, sizeof(v->log), "%s/daemon.log", dir);
        return 0;
}

static int daemon_start(BenchVault *v, const char *daemon) {
        char caps[16];
        posix_spawn_file_actions_t fa;

        /* The loaders, the reader and the main thread all connect at once. */
        snprintf(caps, sizeof(caps), "%u", v->n_threads + 8);
        const char *dargv[] = {
                daemon,  "--root-key-file",           v->keyfile, "--state-dir", v->statedir, "--socket",
                v->sock, "--max-connections-per-uid", caps,       NULL
        };
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, v->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        int r = posix_spawn(&v->daemon_pid, daemon, &fa, NULL, (char *const *) dargv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "%s: cannot start %s: %s\n", v->who, daemon, strerror(r));
                v->daemon_pid = -1;
                return -r;
        }
        r = -ECONNREFUSED;
        for (int i = 0; i < STARTUP_TRIES && r < 0; i++) {
                if (waitpid(v->daemon_pid, NULL, WNOHANG) != 0) {
                        v->daemon_pid = -1;
                        break;
                }
                r = cv_client_new(v->sock, 0, &v->client);
                if (r < 0)
                        usleep(100 * 1000);
        }
        if (r < 0) {
                fprintf(stderr, "%s: the daemon did not start (log: %s)\n", v->who, v->log);
                v->keep = true;
        }
        return r;
}

static int vault_open(BenchVault *v, const BenchVaultConfig *cfg) {
        v->who = cfg->who;
        v->keep = cfg->keep;
        v->n_records = cfg->n_records;
        v->n_readable = cfg->n_readable == 0 || cfg->n_readable > cfg->n_records ? cfg->n_records : cfg->n_readable;
        v->n_threads = cfg->n_threads;
        v->idle_seconds = cfg->idle_seconds;
        v->load_rate = cfg->load_rate;
        v->daemon_pid = -1;

        int r = dir_make(v, cfg);
        if (r < 0)
                return r;
        v->reuse = cfg->dir && access(v->keyfile, F_OK) == 0;
        r = v->reuse ? 0 : bench_key_write(v->keyfile);
        if (r < 0) {
                fprintf(stderr, "%s: cannot write the root key: %s\n", v->who, strerror(-r));
                return r;
        }
        r = daemon_start(v, cfg->daemon);
        if (r < 0)
                return r;
        r = v->reuse ? 0 : cv_plugin_register(v->client, BENCH_AUTH_BLOCK, BENCH_PLUGIN, NULL, NULL);
        if (r < 0)
                fprintf(stderr, "%s: plugin.register: %s\n", v->who, cv_client_error_message(v->client));
        return r;
}

static int vault_load(BenchVault *v) {
        if (v->reuse) {
                printf("records=%u (the vault in %s, not loaded again)\n", v->n_records, v->dir);
                return 0;
        }
        uint64_t t0 = bench_now_ns();
        pthread_t *threads = calloc(v->n_threads, sizeof(pthread_t));
        unsigned started = 0;
        if (threads) {
                for (; started < v->n_threads; started++)
                        if (pthread_create(&threads[started], NULL, loader, v) != 0)
                                break;
                for (unsigned i = 0; i < started; i++)
                        pthread_join(threads[i], NULL);
                free(threads);
        }
        int r = !threads ? -ENOMEM : started == 0 ? -EAGAIN : atomic_load(&v->load_error);
        if (r < 0) {
                fprintf(stderr, "%s: loading failed\n", v->who);
                return r;
        }
        double seconds = (double) (bench_now_ns() - t0) / 1e9;
        printf("records=%u load_s=%.1f", v->n_records, seconds);
        if (v->load_rate)
                printf(" load_rate=%.0f", v->n_records / seconds);
        printf("\n");
        return 0;
}

static int reader_start(BenchVault *v) {
        v->samples_alloc = SAMPLES_INITIAL;
        v->samples = malloc(v->samples_alloc * sizeof(BenchSample));
        if (!v->samples)
                return -ENOMEM;
        if (pthread_create(&v->reader, NULL, reader, v) != 0)
                return -EAGAIN;
        v->reader_started = true;
        while (!atomic_load(&v->reader_ready))
                usleep(1000);
        usleep(WARMUP_USEC); /* the first calls fill caches: not counted */
        v->idle_from = bench_now_ns();
        usleep((useconds_t) (v->idle_seconds * 1e6));
        v->idle_to = bench_now_ns();
        return 0;
}

int bench_vault_start(BenchVault *v, const BenchVaultConfig *cfg, const char *fmt, ...) {
        va_list ap;

        int r = vault_open(v, cfg);
        if (r < 0)
                return r;
        /* Only once the daemon is up: a bench that cannot start prints
         * nothing on stdout. */
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
        r = vault_load(v);
        fflush(stdout);
        if (r < 0)
                return r;
        return reader_start(v);
}

static void reader_join(BenchVault *v) {
        if (!v->reader_started)
                return;
        atomic_store(&v->reader_stop, true);
        pthread_join(v->reader, NULL);
        v->reader_started = false;
}

double bench_vault_phase_print(const BenchVault *v, const char *what, const uint64_t *from, const uint64_t *to,
                               size_t n_windows) {
        uint32_t *lat = malloc((v->n_samples ?: 1) * sizeof(uint32_t));
        size_t n = 0;
        double seconds = 0;

        if (!lat)
                return -1;
        for (size_t w = 0; w < n_windows; w++) {
                seconds += (double) (to[w] - from[w]) / 1e9;
                for (size_t i = 0; i < v->n_samples; i++)
                        if (v->samples[i].start_ns >= from[w] && v->samples[i].start_ns < to[w])
                                lat[n++] = v->samples[i].lat_ns;
        }
        if (n == 0) {
                printf("%-7s calls=0\n", what);
                free(lat);
                return -1;
        }
        qsort(lat, n, sizeof(uint32_t), compare_u32);
        double p99 = pct_us(lat, n, 0.99);
        printf("%-7s calls=%zu seconds=%.2f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", what, n, seconds,
               pct_us(lat, n, 0.5), p99, pct_us(lat, n, 0.999), (double) lat[n - 1] / 1000.0);
        free(lat);
        return p99;
}

int bench_vault_finish(BenchVault *v, const char *when) {
        reader_join(v);
        if (v->reader_error < 0) {
                fprintf(stderr, "%s: the reader failed: %s\n", v->who, strerror(-v->reader_error));
                return v->reader_error;
        }
        /* The reader has read others throughout. */
        for (unsigned i = 0; i < CHECK_SAMPLE && i < v->n_readable; i++) {
                char name[32];
                CvSecret *s = NULL;
                unsigned k = (unsigned) ((uint64_t) i * v->n_readable / CHECK_SAMPLE);
                bench_record_name(k, name, sizeof(name));
                int r = cv_secret_get(v->client, BENCH_PLUGIN, name, &s);
                bool ok = r >= 0 && s->value_size == BENCH_VALUE_SIZE && s->value[0] == 'a' + (int) (k % 26);
                cv_secret_free(s);
                if (!ok) {
                        fprintf(stderr, "%s: %s does not read back%s\n", v->who, name, when);
                        return r < 0 ? r : -EBADMSG;
                }
        }
        return 0;
}

void bench_vault_close(BenchVault *v) {
        reader_join(v); /* on a failure elsewhere: its own error is moot */
        cv_client_free(v->client);
        v->client = NULL;
        if (v->daemon_pid > 0) {
                kill(v->daemon_pid, SIGTERM);
                waitpid(v->daemon_pid, NULL, 0);
                v->daemon_pid = -1;
        }
        free(v->samples);
        v->samples = NULL;
        if (v->dir[0] == '\0')
                return;
        if (v->keep)
                fprintf(stderr, "%s: kept %s\n", v->who, v->dir);
        else
                bench_dir_remove(v->dir);
}
