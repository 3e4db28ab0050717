/* load.c — fill a bench vault offline, for the 1M-record measurements.
 *
 * Owns: adding secrets to the vault cv-rewrap and cv-backup keep in
 * --dir DIR (DIR/state/credvault.db under DIR/root.key), named and valued
 * as their loaders name them (rec%08u, 32 bytes of one letter), in
 * transactions of 10 000 through the vault's own write path (sealed by
 * the envelope, under the primary KEK, audit records and all), with no
 * daemon running. Through the daemon each put is its own fsync: 1M take
 * 2.5 to 20 minutes here, by load; this takes about a minute.
 *
 *   cv-load --dir DIR --from N --to M
 * adds rec{N..M-1}. Make the vault first with a small run of the bench
 * (`cv-rewrap --records 1000 --dir DIR`: the plugin, the first records),
 * then `cv-load --dir DIR --from 1000 --to 1000000`, then
 * `cv-rewrap --records 1000000 --dir DIR`, which reuses it.
 *
 * Uses the vault's internal header on purpose: a bench tool, never
 * installed, that must write exactly what the daemon writes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rootkey.h"
#include "vault-internal.h"

#define PLUGIN "bench"
#define VALUE_SIZE 32
#define BATCH 10000

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "dir", required_argument, NULL, 'd' },
                { "from", required_argument, NULL, 'f' },
                { "to", required_argument, NULL, 't' },
                {},
        };
        const char *dir = NULL;
        unsigned long from = 0, to = 0;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'd')
                        dir = optarg;
                else if (c == 'f')
                        from = strtoul(optarg, NULL, 10);
                else if (c == 't')
                        to = strtoul(optarg, NULL, 10);
                else
                        return 2;
        }
        if (!dir || to <= from || to > 100000000) {
                fprintf(stderr, "usage: cv-load --dir DIR --from N --to M (N < M)\n");
                return 2;
        }
        if (sodium_init() < 0)
                return 1;

        char keyfile[PATH_MAX], db[PATH_MAX];
        snprintf(keyfile, sizeof(keyfile), "%s/root.key", dir);
        snprintf(db, sizeof(db), "%s/state/credvault.db", dir);
        uint8_t *key = NULL;
        int r = rootkey_read(keyfile, &key);
        if (r < 0) {
                fprintf(stderr, "cv-load: %s: %s\n", keyfile, strerror(-r));
                return 1;
        }
        Vault *v = NULL;
        r = vault_open(db, key, 0, &v, NULL);
        if (r < 0) {
                fprintf(stderr, "cv-load: %s: %s (is a daemon running on it?)\n", db, strerror(-r));
                return 1;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned long i = from; i < to && r >= 0;) {
                r = store_begin(v->store);
                if (r < 0)
                        break;
                for (unsigned long end = i + BATCH < to ? i + BATCH : to; r >= 0 && i < end; i++) {
                        char name[32];
                        uint8_t value[VALUE_SIZE];
                        snprintf(name, sizeof(name), "rec%08lu", i);
                        memset(value, 'a' + (int) (i % 26), sizeof(value));
                        r = vault_record_put_locked(v, RECORD_SECRET, PLUGIN, name, value, sizeof(value), -1, NULL);
                }
                r = vault_end(v, r);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (r < 0)
                fprintf(stderr, "cv-load: %s\n", strerror(-r));
        else
                printf("loaded rec%08lu..rec%08lu: %lu records in %.1f s (%.0f/s)\n", from, to - 1, to - from, s,
                       (double) (to - from) / s);
        vault_free(v);
        return r < 0 ? 1 : 0;
}
