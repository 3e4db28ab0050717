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
 * The vault, the daemon, the loaders and the reader are bench-vault.c's,
 * shared with cv-rewrap; this file owns the backups and their figures.
 *
 * Never: prints a value, or touches anything outside its directory. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench-vault.h"
#include "credvault.h"

#define BACKUPS_MAX 16

#define USAGE                                                                                                          \
        "usage: cv-backup [--records N] [--threads T] [--idle-seconds S] [--backups B] [--daemon PATH] [--dir DIR] "   \
        "[--read-records R]\n"

int main(int argc, char *argv[]) {
        BenchVault v = {};
        BenchVaultConfig cfg = {
                .who = "backup",
                .idle_seconds = 2.0,
        };
        unsigned n_backups = 3;
        const BenchOption extra[] = { { "backups", .value = &n_backups, .min = 1, .max = BACKUPS_MAX },
                                      { "read-records", .value = &cfg.n_readable, .max = UINT_MAX },
                                      {} };
        char copy[PATH_MAX];
        int r = bench_vault_parse(&cfg, argc, argv, extra, USAGE);
        if (r >= 0)
                return r;

        int ret = 1;
        r = bench_vault_start(&v, &cfg,
                              "# credvault backup bench: %u records of %d bytes; %g s idle, then %u backups one "
                              "after the other; nproc=%ld\n",
                              cfg.n_records, BENCH_VALUE_SIZE, cfg.idle_seconds, n_backups,
                              sysconf(_SC_NPROCESSORS_ONLN));
        if (r < 0)
                goto out;

        uint64_t from[BACKUPS_MAX], to[BACKUPS_MAX];
        CvBackupInfo info[BACKUPS_MAX];
        for (unsigned b = 0; b < n_backups; b++) {
                snprintf(copy, sizeof(copy), "%s/copy-%u.db", v.dir, b);
                unlink(copy);
                int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                        perror("backup: open");
                        goto out;
                }
                from[b] = bench_now_ns();
                r = cv_backup_fd(v.client, fd, &info[b]);
                to[b] = bench_now_ns();
                close(fd);
                unlink(copy);
                if (r < 0) {
                        fprintf(stderr, "backup: %s\n", cv_client_error_message(v.client));
                        goto out;
                }
                usleep(200 * 1000); /* apart, so each window is one backup */
        }
        if (bench_vault_finish(&v, "") < 0)
                goto out;

        bench_vault_phase_print(&v, "idle", &v.idle_from, &v.idle_to, 1);
        bench_vault_phase_print(&v, "backup", from, to, n_backups);
        double worst = 0;
        for (unsigned b = 0; b < n_backups; b++) {
                double s = (double) (to[b] - from[b]) / 1e9;
                worst = s > worst ? s : worst;
                printf("backup_s=%.3f daemon_ms=%" PRId64 " records=%" PRId64 " bytes=%" PRId64 " MB_s=%.0f\n", s,
                       info[b].ms, info[b].records, info[b].bytes, (double) info[b].bytes / 1e6 / s);
        }
        printf("target (1M records in < 5 s, scaled: %u in < %.2f s): %s\n", v.n_records, 5.0 * v.n_records / 1e6,
               worst < 5.0 * v.n_records / 1e6 ? "met" : "NOT met");
        ret = 0;
out:
        bench_vault_close(&v);
        return ret;
}
