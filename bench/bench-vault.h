/* bench-vault.h — a throw-away vault and daemon for a bench, its loaders
 * and its latency reader (shared by cv-rewrap and cv-backup).
 *
 * Owns: the options such a bench shares (--records, --threads,
 * --idle-seconds, --daemon, --dir); the bench directory (a temp dir, or
 * --dir kept across runs: its root.key, state/, cv.sock, daemon.log);
 * the credvaultd started on it with no policy (so the caller is an
 * admin); the plugin "bench" and its records rec00000000.. of
 * BENCH_VALUE_SIZE bytes, and the threads that load them; the reader
 * thread that times cv_secret_get() of a random record, one call at a
 * time, for the phases a bench prints.
 *
 * Also the small helpers cv-scale shares (the clock, the root key, the
 * build's binaries, the directory's removal).
 *
 * Every message goes to stderr after the bench's name ("rewrap: ...").
 * Never prints a value, or touches anything outside its directory. */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "credvault.h"

#define BENCH_PLUGIN "bench"
#define BENCH_VALUE_SIZE 32
/* The same defaults for every bench, so that one's --dir serves another. */
#define BENCH_RECORDS_DEFAULT 100000
#define BENCH_RECORDS_MAX 10000000
#define BENCH_THREADS_DEFAULT 64
#define BENCH_THREADS_MAX 256

typedef struct BenchVaultConfig {
        const char *who;    /* the bench's name, before each message */
        const char *daemon; /* credvaultd; NULL: ../daemon/credvaultd beside this binary */
        const char *dir;    /* --dir (created if missing, kept); NULL: a temp dir */
        double idle_seconds;
        unsigned n_records; /* 0: BENCH_RECORDS_DEFAULT */
        /* The first records, the ones the reader and the check read; 0:
         * all. Fewer for a vault grown by copying rows, whose copies do
         * not decrypt under their new names. */
        unsigned n_readable;
        unsigned n_threads; /* loader connections; 0: BENCH_THREADS_DEFAULT */
        bool keep;          /* keep the directory even when it is a temp dir */
        bool load_rate;     /* print the load's rate (records a second) too */
} BenchVaultConfig;

/* One of a bench's own options: --NAME N into *value, N in [min, max],
 * or --NAME alone setting *flag. */
typedef struct BenchOption {
        const char *name;
        unsigned *value;
        unsigned min, max;
        bool *flag;
} BenchOption;

typedef struct BenchSample {
        uint64_t start_ns;
        uint32_t lat_ns;
} BenchSample;

typedef struct BenchVault {
        const char *who;
        /* ≤ 90 bytes, so that the socket path fits sun_path. */
        char dir[128];
        char keyfile[PATH_MAX], statedir[PATH_MAX], sock[PATH_MAX], log[PATH_MAX];
        bool keep;
        bool reuse; /* --dir held a vault already: it is not loaded again */
        bool load_rate;
        double idle_seconds;
        unsigned n_records, n_readable, n_threads;
        pid_t daemon_pid;
        CvClient *client; /* the main thread's connection */
        /* The idle phase: bench_vault_start()'s wait, the reader running. */
        uint64_t idle_from, idle_to;

        atomic_uint next_record;
        atomic_int load_error;

        pthread_t reader;
        bool reader_started;
        atomic_bool reader_stop, reader_ready;
        int reader_error;
        /* The reader's calls; read only once it is joined. */
        BenchSample *samples;
        size_t n_samples, samples_alloc;
} BenchVault;

uint64_t bench_now_ns(void);
/* A fresh random 32-byte root key at path (created 0600, never over a
 * file). Returns 0 or a negative errno. */
int bench_key_write(const char *path);
/* The path of a binary of the same build: rel taken from the directory of
 * this bench's binary ("../daemon/credvaultd"), into buf. Returns buf, or
 * NULL when this binary's own path cannot be read. */
const char *bench_build_path(const char *rel, char *buf, size_t size);
/* Remove dir and everything under it (not following symlinks). */
void bench_dir_remove(const char *dir);
/* "rec%08u": the names cv-rewrap and cv-backup share, so that a vault
 * either loaded serves both. Record i's value is BENCH_VALUE_SIZE times
 * 'a' + i % 26. */
void bench_record_name(unsigned i, char *buf, size_t size);

/* Read the command line: --records, --threads, --idle-seconds, --daemon
 * and --dir into cfg (a missing --daemon becomes ../daemon/credvaultd
 * beside this binary), and the bench's own options (extra, ended by an
 * empty entry). Returns -1 to go on, or the exit status: 0 after --help
 * (usage on stdout), 2 for a bad command line or a value out of its
 * range (usage on stderr). */
int bench_vault_parse(BenchVaultConfig *cfg, int argc, char *argv[], const BenchOption *extra, const char *usage);

/* Make the directory and the root key (unless --dir holds them from an
 * earlier run), start the daemon, wait for it, connect v->client and
 * register the plugin; print the bench's header line (fmt, ...) and
 * flush it; load the records over n_threads connections in parallel and
 * print
 *   records=N load_s=.. [load_rate=..]
 * or, for a vault --dir held already, not loaded again,
 *   records=N (the vault in DIR, not loaded again)
 * then start the reader, let it warm up (not counted) and wait
 * idle_seconds: the idle phase, [v->idle_from, v->idle_to). v must be
 * zeroed. On failure says why and returns a
 * negative errno; bench_vault_close() then cleans up all the same. */
__attribute__((format(printf, 3, 4))) int bench_vault_start(BenchVault *v, const BenchVaultConfig *cfg, const char *fmt,
                                                            ...);
/* Stop the reader, then check that a sample of 1000 readable records
 * reads back; when says when in the message if one does not (" after the
 * rewrap", or ""). Returns the reader's error or the check's, having said
 * why. */
int bench_vault_finish(BenchVault *v, const char *when);
/* Print one line of the reader's calls that started in one of the
 * n_windows windows [from, to):
 *   WHAT calls=.. seconds=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
 * Returns the p99 in µs, or -1 when there were no calls. After
 * bench_vault_finish(). */
double bench_vault_phase_print(const BenchVault *v, const char *what, const uint64_t *from, const uint64_t *to,
                               size_t n_windows);
/* Stop the reader and the daemon, and remove the directory unless it is
 * kept. Accepts a vault bench_vault_start() failed on. */
void bench_vault_close(BenchVault *v);
