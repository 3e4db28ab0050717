/* scale.h — cv-scale: one vault grown through the daemon from 1k to 1M
 * secrets, and what an operator or a plugin meets at each size (issue 9).
 *
 * Owns: what scale.c (options, the steps of one size, the report),
 * scale-report.c (the table and the JSON line), scale-daemon.c (credvaultd started, stopped and socket-activated; its
 * RSS and its files), scale-write.c (the plugins, the fill, the writers)
 * and scale-read.c (the timed reads and the CLI) share: the run's state
 * and one size's figures.
 *
 * The vault: plugins p000..p999 and "one" (service_http, bearer). The
 * fill's secret k is named s%07u, holds SCALE_VALUE_SIZE bytes that say
 * which k it is, and lives in the plugin plugin_of[k]: round robin over
 * the 1000 plugins, except that a fill to SCALE_BIG or more first tops
 * p000 up to SCALE_BIG (so p000 is the plugin whose pages are walked).
 * "one" holds the single secret "only"; the writers' secrets go to the
 * plugin "w", removed again before the next size. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "credvault.h"

#define SCALE_PLUGINS 1000
#define SCALE_VALUE_SIZE 100
/* p000 is topped up to this many secrets by a fill to at least as many. */
#define SCALE_BIG 100000
#define SCALE_BIG_PLUGIN 0
#define SCALE_ONE_PLUGIN "one"
#define SCALE_WRITE_PLUGIN "w"
#define SCALE_SIZES_MAX 8
#define SCALE_SIZE_MAX 10000000
/* The fill's requests in flight: one synchronous client per thread. */
#define SCALE_LOAD_CONNECTIONS 256
/* The writer counts `secret.put` is measured with. */
#define SCALE_N_WRITER_RUNS 3
#define SCALE_WRITERS_MAX 32
#define SCALE_ACTIVATIONS_MAX 1000
#define SCALE_AUTH_BLOCK "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}"

extern const unsigned scale_writer_counts[SCALE_N_WRITER_RUNS];

typedef struct ScaleConfig {
        const char *daemon; /* credvaultd */
        const char *cli;    /* credvault */
        unsigned sizes[SCALE_SIZES_MAX];
        size_t n_sizes;
        double seconds;       /* each timed loop and each writer run */
        unsigned activations; /* socket-activated starts a size */
        unsigned ls_max;      /* `secret ls` only up to this size */
        bool keep;            /* keep the temp dir */
} ScaleConfig;

/* One size's figures; NAN where not measured. Times in seconds. */
typedef struct ScaleRow {
        unsigned size;
        double secrets; /* health's count */
        double act_p50, act_max;
        double health_p50, health_p99;
        double page_one_p50;
        /* p000 walked page by page: big_last is its last full page. */
        double big_n, big_pages, big_total, big_first, big_last;
        double ls, ls_lines;
        double load_n, load_s, load_rate;
        double put_rate[SCALE_N_WRITER_RUNS], put_p50[SCALE_N_WRITER_RUNS];
        double get_p50, get_p99, pinned_p50;
        double rss_kb, hwm_kb, db_bytes, wal_bytes;
} ScaleRow;

typedef struct Scale {
        const ScaleConfig *cfg;
        /* ≤ 90 bytes, so that the socket paths fit sun_path. */
        char dir[128];
        char keyfile[PATH_MAX], statedir[PATH_MAX], sock[PATH_MAX], act_sock[PATH_MAX], log[PATH_MAX];
        pid_t pid;
        CvClient *client;    /* the main thread's connection, while the daemon runs */
        uint16_t *plugin_of; /* fill secret k's plugin, for every k < n_loaded */
        unsigned n_loaded;
        unsigned n_big;     /* of them in p000 */
        unsigned n_written; /* the writers' names so far: never reused */
} Scale;

/* One timed loop's latencies. */
typedef struct ScaleLat {
        size_t n;
        double p50, p99, max, seconds;
} ScaleLat;

uint64_t scale_now_ns(void);
void scale_plugin_name(unsigned p, char *buf, size_t size);
void scale_secret_name(unsigned k, char *buf, size_t size);
void scale_secret_value(unsigned k, uint8_t value[static SCALE_VALUE_SIZE]);
/* Sort n latencies (ns) and fill ret. */
void scale_lat_from(uint64_t *ns, size_t n, double seconds, ScaleLat *ret);

/* scale-daemon.c */
int scale_dir_make(Scale *s);
int scale_daemon_start(Scale *s);
int scale_daemon_stop(Scale *s);
/* cfg->activations starts under systemd-socket-activate, each timed from
 * connect to the first health answer, then stopped with SIGTERM. The
 * daemon must be stopped. */
int scale_activations(Scale *s, ScaleRow *row);
void scale_daemon_usage(Scale *s, ScaleRow *row);

/* scale-write.c */
int scale_plugins_register(Scale *s);
int scale_fill(Scale *s, unsigned to, ScaleRow *row);
int scale_writers(Scale *s, ScaleRow *row);

/* scale-report.c: the markdown table and the JSON line, on stdout. */
void scale_report(const Scale *s, const ScaleRow *rows, size_t n_rows, const char *load_start);
void scale_loadavg_read(char *buf, size_t size);

/* scale-read.c */
int scale_reads(Scale *s, ScaleRow *row);
int scale_big_pages(Scale *s, ScaleRow *row);
int scale_cli_ls(Scale *s, ScaleRow *row);
