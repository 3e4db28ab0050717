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
 * The vault, the daemon, the loaders and the reader are bench-vault.c's,
 * shared with cv-backup; this file owns the rewrap phase and its figures.
 *
 * Never: prints a value, or touches anything outside its temp dir. */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench-vault.h"
#include "credvault.h"

#define IDLE_SECONDS_DEFAULT 3.0
#define POLL_MS_DEFAULT 200

#define USAGE                                                                                                          \
        "usage: cv-rewrap [--records N] [--threads T] [--idle-seconds S] [--poll-ms MS] [--daemon PATH] [--dir DIR] "  \
        "[--keep]\n"

int main(int argc, char *argv[]) {
        BenchVault v = {};
        BenchVaultConfig cfg = {
                .who = "rewrap",
                .idle_seconds = IDLE_SECONDS_DEFAULT,
                .load_rate = true,
        };
        unsigned poll_ms = POLL_MS_DEFAULT;
        const BenchOption extra[] = { { "poll-ms", .value = &poll_ms, .min = 1, .max = UINT_MAX },
                                      { "keep", .flag = &cfg.keep },
                                      {} };
        int r = bench_vault_parse(&cfg, argc, argv, extra, USAGE);
        if (r >= 0)
                return r;

        int ret = 1;
        r = bench_vault_start(&v, &cfg,
                              "# credvault rewrap bench: %u records of %d bytes loaded over %u connections; %g s "
                              "idle, then key.rotate + key.rewrap, key.status polled every %u ms; nproc=%ld\n",
                              cfg.n_records, BENCH_VALUE_SIZE, cfg.n_threads, cfg.idle_seconds, poll_ms,
                              sysconf(_SC_NPROCESSORS_ONLN));
        if (r < 0)
                goto out;

        /* Rotate, rewrap, poll. */
        int64_t primary = 0, previous = 0, remaining = 0;
        bool running = false;
        r = cv_key_rotate(v.client, &primary, &previous);
        if (r >= 0)
                r = cv_key_rewrap(v.client, &running, &remaining);
        uint64_t rw_from = bench_now_ns();
        if (r < 0) {
                fprintf(stderr, "rewrap: key.rotate/key.rewrap: %s\n", cv_client_error_message(v.client));
                goto out;
        }
        unsigned polls = 0;
        uint64_t status_max = 0;
        CvKeyRewrap st = {};
        for (;;) {
                usleep(poll_ms * 1000);
                uint64_t s0 = bench_now_ns();
                r = cv_key_status(v.client, &st, NULL);
                uint64_t s1 = bench_now_ns();
                if (r < 0) {
                        fprintf(stderr, "rewrap: key.status: %s\n", cv_client_error_message(v.client));
                        goto out;
                }
                polls++;
                if (s1 - s0 > status_max)
                        status_max = s1 - s0;
                if (!st.running && st.remaining == 0)
                        break;
                if (!st.running) {
                        fprintf(stderr, "rewrap: the rewrap stopped with %" PRIi64 " left (log: %s)\n", st.remaining,
                                v.log);
                        v.keep = true;
                        goto out;
                }
        }
        uint64_t rw_to = bench_now_ns();
        usleep(200 * 1000);
        if (bench_vault_finish(&v, " after the rewrap") < 0)
                goto out;

        double idle99 = bench_vault_phase_print(&v, "idle", &v.idle_from, &v.idle_to, 1);
        double rw99 = bench_vault_phase_print(&v, "rewrap", &rw_from, &rw_to, 1);
        double rw_s = (double) (rw_to - rw_from) / 1e9;
        double rate = (double) st.done / rw_s;
        printf("rewrap_s=%.2f done=%" PRIi64 " rate=%.0f status_polls=%u status_max_us=%.1f p99 rewrap/idle=%.2f\n",
               rw_s, st.done, rate, polls, (double) status_max / 1000.0, idle99 > 0 ? rw99 / idle99 : 0);
        printf("target rate (1M in < 15 s: > 66667/s): %s; target p99 < 1 ms: %s\n",
               rate > 1e6 / 15 ? "met" : "NOT met", rw99 >= 0 && rw99 < 1000 ? "met" : "NOT met");
        ret = 0;
out:
        bench_vault_close(&v);
        return ret;
}
