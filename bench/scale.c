/* scale.c — cv-scale: one vault grown through the real daemon from 1k to
 * 1M secrets, and at each size what an operator or a plugin meets
 * (issue 9's table).
 *
 * Owns: the command line, the steps of one size and the report. For each
 * size, in order, on a fresh temp dir and a root key file:
 *   1. fill to the size with SCALE_LOAD_CONNECTIONS requests in flight
 *      (the load rate), and check health counts every secret;
 *   2. health, one page of the plugin "one" (holds one secret),
 *      secret.get of random keys and of one key: each a timed loop;
 *   3. from SCALE_BIG on, every page of p000 (SCALE_BIG secrets; a little
 *      fewer at SCALE_BIG itself, as the first size's are spread);
 *   4. the real `credvault secret ls` of everything (up to --ls-max);
 *   5. secret.put with 1, 8 and 32 writers, --seconds each;
 *   6. the daemon's VmRSS and VmHWM, the database file and its WAL;
 *   7. the daemon stopped, then --activations socket-activated starts
 *      (connect to first health answer), then started again.
 * Then a markdown table (rows: what; columns: sizes) and one JSON line.
 * Progress goes to stderr. A put is one fsync before group commit: a 1M
 * run then takes minutes; --quick is a small run (1k and 10k, shorter
 * loops) of well under a minute.
 *
 *   cv-scale [--sizes N,N,..] [--quick] [--seconds S] [--activations N]
 *            [--ls-max N] [--daemon PATH] [--cli PATH] [--keep]
 *
 * Never: prints a value, or touches anything outside its temp dir. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-vault.h"
#include "scale.h"

#define SECONDS_DEFAULT 2.0
#define SECONDS_QUICK 0.5
#define ACTIVATIONS_DEFAULT 30
#define LS_MAX_DEFAULT 1000000
#define SIZES_DEFAULT "1000,100000,1000000"
#define SIZES_QUICK "1000,10000"

#define USAGE                                                                                                          \
        "usage: cv-scale [--sizes N,N,..] [--quick] [--seconds S] [--activations N] [--ls-max N]\n"                    \
        "                [--daemon PATH] [--cli PATH] [--keep]\n"                                                      \
        "  --sizes    secrets the vault grows to, ascending (default " SIZES_DEFAULT ")\n"                             \
        "  --quick    sizes " SIZES_QUICK " (unless --sizes) and 0.5 s loops: well under a minute\n"                   \
        "  --seconds  each timed loop and each writer run (default 2)\n"                                               \
        "  --activations  socket-activated starts a size (default 30)\n"                                               \
        "  --ls-max   run `credvault secret ls` up to this size (default 1000000)\n"

uint64_t scale_now_ns(void) {
        return bench_now_ns();
}

void scale_plugin_name(unsigned p, char *buf, size_t size) {
        snprintf(buf, size, "p%03u", p);
}

void scale_secret_name(unsigned k, char *buf, size_t size) {
        snprintf(buf, size, "s%07u", k);
}

void scale_secret_value(unsigned k, uint8_t value[static SCALE_VALUE_SIZE]) {
        char digits[16];
        int n = snprintf(digits, sizeof(digits), "%010u", k);
        memset(value, 'a' + (int) (k % 26), SCALE_VALUE_SIZE);
        memcpy(value, digits, (size_t) n);
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

void scale_lat_from(uint64_t *ns, size_t n, double seconds, ScaleLat *ret) {
        *ret = (ScaleLat) { .n = n, .p50 = NAN, .p99 = NAN, .max = NAN, .seconds = seconds };
        if (n == 0)
                return;
        qsort(ns, n, sizeof(uint64_t), compare_u64);
        ret->p50 = (double) ns[(size_t) (0.5 * (double) (n - 1) + 0.5)] / 1e9;
        ret->p99 = (double) ns[(size_t) (0.99 * (double) (n - 1) + 0.5)] / 1e9;
        ret->max = (double) ns[n - 1] / 1e9;
}

static int sizes_parse(const char *text, ScaleConfig *cfg) {
        char *end;
        cfg->n_sizes = 0;
        for (const char *p = text; *p;) {
                unsigned long v = strtoul(p, &end, 10);
                if (end == p || (*end && *end != ',') || v < 1 || v > SCALE_SIZE_MAX ||
                    cfg->n_sizes == SCALE_SIZES_MAX || (cfg->n_sizes > 0 && v <= cfg->sizes[cfg->n_sizes - 1]))
                        return -EINVAL;
                cfg->sizes[cfg->n_sizes++] = (unsigned) v;
                p = *end ? end + 1 : end;
        }
        return cfg->n_sizes > 0 ? 0 : -EINVAL;
}

/* -1 to go on, else the exit status. */
static int options_parse(ScaleConfig *cfg, int argc, char *argv[]) {
        static const struct option opts[] = {
                { "sizes", required_argument, NULL, 'S' },   { "quick", no_argument, NULL, 'q' },
                { "seconds", required_argument, NULL, 's' }, { "activations", required_argument, NULL, 'a' },
                { "ls-max", required_argument, NULL, 'l' },  { "daemon", required_argument, NULL, 'd' },
                { "cli", required_argument, NULL, 'c' },     { "keep", no_argument, NULL, 'k' },
                { "help", no_argument, NULL, 'h' },          {},
        };
        static char daemon_default[PATH_MAX], cli_default[PATH_MAX];
        const char *sizes = NULL;
        bool quick = false;
        int o;

        cfg->seconds = NAN;
        cfg->activations = ACTIVATIONS_DEFAULT;
        cfg->ls_max = LS_MAX_DEFAULT;
        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (o) {
                case 'S':
                        sizes = optarg;
                        break;
                case 'q':
                        quick = true;
                        break;
                case 's':
                        cfg->seconds = strtod(optarg, NULL);
                        break;
                case 'a':
                        cfg->activations = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'l':
                        cfg->ls_max = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        cfg->daemon = optarg;
                        break;
                case 'c':
                        cfg->cli = optarg;
                        break;
                case 'k':
                        cfg->keep = true;
                        break;
                case 'h':
                        fputs(USAGE, stdout);
                        return 0;
                default:
                        fputs(USAGE, stderr);
                        return 2;
                }
        if (isnan(cfg->seconds))
                cfg->seconds = quick ? SECONDS_QUICK : SECONDS_DEFAULT;
        if (optind < argc ||
            sizes_parse(sizes
                                ?: quick ? SIZES_QUICK
                                         : SIZES_DEFAULT,
                        cfg) < 0 ||
            !(cfg->seconds > 0 && cfg->seconds <= 600) || cfg->activations < 1 ||
            cfg->activations > SCALE_ACTIVATIONS_MAX) {
                fputs(USAGE, stderr);
                return 2;
        }
        if (!cfg->daemon)
                cfg->daemon = bench_build_path("../daemon/credvaultd", daemon_default, sizeof(daemon_default));
        if (!cfg->cli)
                cfg->cli = bench_build_path("../client/cli/credvault", cli_default, sizeof(cli_default));
        if (!cfg->daemon || !cfg->cli) {
                fprintf(stderr, "scale: cannot find the build: pass --daemon and --cli\n");
                return 2;
        }
        return -1;
}

static void row_init(ScaleRow *row, unsigned size) {
        *row = (ScaleRow) {
                .size = size,
                .secrets = NAN,
                .act_p50 = NAN,
                .act_max = NAN,
                .health_p50 = NAN,
                .health_p99 = NAN,
                .page_one_p50 = NAN,
                .big_n = NAN,
                .big_pages = NAN,
                .big_total = NAN,
                .big_first = NAN,
                .big_last = NAN,
                .ls = NAN,
                .ls_lines = NAN,
                .load_n = NAN,
                .load_s = NAN,
                .load_rate = NAN,
                .get_p50 = NAN,
                .get_p99 = NAN,
                .pinned_p50 = NAN,
                .rss_kb = NAN,
                .hwm_kb = NAN,
                .db_bytes = NAN,
                .wal_bytes = NAN,
        };
        for (size_t i = 0; i < SCALE_N_WRITER_RUNS; i++)
                row->put_rate[i] = row->put_p50[i] = NAN;
}

static int size_run(Scale *s, ScaleRow *row, bool last) {
        int r = scale_fill(s, row->size, row);
        if (r < 0)
                return r;
        fprintf(stderr, "scale: %u: filled %.0f in %.1f s (%.0f/s)\n", row->size, row->load_n, row->load_s,
                row->load_rate);
        if ((r = scale_reads(s, row)) < 0)
                return r;
        if (row->secrets != (double) s->n_loaded + 1) {
                fprintf(stderr, "scale: health counts %.0f secrets, not %u\n", row->secrets, s->n_loaded + 1);
                return -EBADMSG;
        }
        if (row->size >= SCALE_BIG && (r = scale_big_pages(s, row)) < 0)
                return r;
        if (row->size <= s->cfg->ls_max && (r = scale_cli_ls(s, row)) < 0)
                return r;
        fprintf(stderr, "scale: %u: reads and lists done\n", row->size);
        if ((r = scale_writers(s, row)) < 0)
                return r;
        scale_daemon_usage(s, row);
        if ((r = scale_daemon_stop(s)) < 0)
                return r;
        if ((r = scale_activations(s, row)) < 0)
                return r;
        fprintf(stderr, "scale: %u: writers and %u activations done\n", row->size, s->cfg->activations);
        return last ? 0 : scale_daemon_start(s);
}

int main(int argc, char *argv[]) {
        ScaleConfig cfg = {};
        Scale s = { .cfg = &cfg, .pid = -1 };
        ScaleRow rows[SCALE_SIZES_MAX];
        char load_start[128];
        int ret = 1;

        int r = options_parse(&cfg, argc, argv);
        if (r >= 0)
                return r;
        scale_loadavg_read(load_start, sizeof(load_start));
        r = scale_dir_make(&s);
        if (r >= 0)
                r = scale_daemon_start(&s);
        if (r >= 0)
                r = scale_plugins_register(&s);
        size_t done = 0;
        for (; r >= 0 && done < cfg.n_sizes; done++) {
                row_init(&rows[done], cfg.sizes[done]);
                r = size_run(&s, &rows[done], done + 1 == cfg.n_sizes);
        }
        if (r >= 0) {
                scale_report(&s, rows, done, load_start);
                ret = 0;
        } else
                cfg.keep = true;
        scale_daemon_stop(&s);
        free(s.plugin_of);
        if (s.dir[0] && cfg.keep)
                fprintf(stderr, "scale: kept %s\n", s.dir);
        else if (s.dir[0])
                bench_dir_remove(s.dir);
        return ret;
}
