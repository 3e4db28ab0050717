/* scale-report.c — cv-scale's report: a markdown table (rows: what;
 * columns: the sizes), issue 9's targets checked largest size against
 * smallest, and one JSON line with every figure in plain units (see
 * scale.h).
 *
 * Owns: formatting only; every figure comes measured in a ScaleRow, NAN
 * when a step did not run at that size ("—" in the table, null in the
 * JSON). */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "scale.h"

#define CELL 96

void scale_loadavg_read(char *buf, size_t size) {
        FILE *f = fopen("/proc/loadavg", "re");
        buf[0] = '\0';
        if (f) {
                if (fgets(buf, (int) size, f))
                        buf[strcspn(buf, "\n")] = '\0';
                fclose(f);
        }
}

/* v in the largest of the units (each 1000× the last) that keeps it ≥ 1,
 * three significant digits: "13.2 µs", "221 ms", "3.14 s"; units that
 * start with '/' join the number ("6.70k/s"). */
static const char *scaled(double v, const char *const *units, size_t n_units, char *buf) {
        size_t u = 0;
        if (isnan(v))
                return "—";
        while (u + 1 < n_units && v >= 999.5) /* 999.7 prints as 1.00 of the next */
                v /= 1000, u++;
        int digits = v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
        snprintf(buf, CELL, "%.*f%s%s", digits, v, strchr(units[u], '/') ? "" : " ", units[u]);
        return buf;
}

static const char *dur(double seconds, char *buf) {
        static const char *const units[] = { "ns", "µs", "ms", "s" };
        return scaled(seconds * 1e9, units, 4, buf);
}

static const char *rate(double per_second, char *buf) {
        static const char *const units[] = { "/s", "k/s", "M/s" };
        return scaled(per_second, units, 3, buf);
}

static const char *bytes(double n, char *buf) {
        static const char *const units[] = { "B", "kB", "MB", "GB" };
        return scaled(n, units, 4, buf);
}

static const char *size_name(unsigned n, char *buf) {
        if (n >= 1000000 && n % 1000000 == 0)
                snprintf(buf, CELL, "%uM", n / 1000000);
        else if (n >= 1000 && n % 1000 == 0)
                snprintf(buf, CELL, "%uk", n / 1000);
        else
                snprintf(buf, CELL, "%u", n);
        return buf;
}

static void cell(const ScaleRow *r, int what, char *out) {
        char a[CELL], b[CELL], c[CELL];
        int i = what - 7; /* the writer rows */

        switch (what) {
        case 0:
                snprintf(out, CELL, "%.0f", r->secrets);
                return;
        case 1:
                snprintf(out, CELL, "%s (max %s)", dur(r->act_p50, a), dur(r->act_max, b));
                return;
        case 2:
                snprintf(out, CELL, "%s (p99 %s)", dur(r->health_p50, a), dur(r->health_p99, b));
                return;
        case 3:
                snprintf(out, CELL, "%s", dur(r->page_one_p50, a));
                return;
        case 4:
                if (isnan(r->big_total))
                        break;
                snprintf(out, CELL, "%s: %.0f in %.0f pages (first %s, last %s)", dur(r->big_total, a), r->big_n,
                         r->big_pages, dur(r->big_first, b), dur(r->big_last, c));
                return;
        case 5:
                if (isnan(r->ls))
                        break;
                snprintf(out, CELL, "%s (%.0f lines)", dur(r->ls, a), r->ls_lines);
                return;
        case 6:
                snprintf(out, CELL, "%s (%.0f in %s)", rate(r->load_rate, a), r->load_n, dur(r->load_s, b));
                return;
        case 7:
        case 8:
        case 9:
                snprintf(out, CELL, "%s, p50 %s", rate(r->put_rate[i], a), dur(r->put_p50[i], b));
                return;
        case 10:
                snprintf(out, CELL, "%s (p99 %s)", dur(r->get_p50, a), dur(r->get_p99, b));
                return;
        case 11:
                snprintf(out, CELL, "%s", dur(r->pinned_p50, a));
                return;
        case 12:
                snprintf(out, CELL, "%s (peak %s)", bytes(r->rss_kb * 1024, a), bytes(r->hwm_kb * 1024, b));
                return;
        case 13:
                snprintf(out, CELL, "%s (WAL %s)", bytes(r->db_bytes + r->wal_bytes, a), bytes(r->wal_bytes, b));
                return;
        }
        snprintf(out, CELL, "—");
}

static void table_print(const Scale *s, const ScaleRow *rows, size_t n_rows) {
        char label[160], buf[CELL];
        const char *const what[] = {
                "secrets (health)",
                NULL, /* the activations: their count in the label */
                "`health` p50 (p99)",
                "one page of a plugin that holds one secret, p50",
                "all pages of p000, 100 a page: total (secrets, pages, first and last full page)",
                "`credvault secret ls`, everything",
                "load rate with 256 requests in flight (secrets, time)",
                "`secret.put`, 1 writer: rate, p50",
                "`secret.put`, 8 writers: rate, p50",
                "`secret.put`, 32 writers: rate, p50",
                "`secret.get` of random keys, p50 (p99)",
                "`secret.get` of one key (pinned), p50",
                "daemon VmRSS (VmHWM)",
                "database file + WAL",
        };

        printf("\n| what |");
        for (size_t j = 0; j < n_rows; j++)
                printf(" %s |", size_name(rows[j].size, buf));
        printf("\n|---|");
        for (size_t j = 0; j < n_rows; j++)
                printf("---:|");
        printf("\n");
        for (int w = 0; w < (int) (sizeof(what) / sizeof(what[0])); w++) {
                if (what[w])
                        snprintf(label, sizeof(label), "%s", what[w]);
                else
                        snprintf(label, sizeof(label), "socket-activated first answer, median of %u (max)",
                                 s->cfg->activations);
                printf("| %s |", label);
                for (size_t j = 0; j < n_rows; j++) {
                        cell(&rows[j], w, buf);
                        printf(" %s |", buf);
                }
                printf("\n");
        }
}

static void target(const char *what, bool met, double value, const char *shown) {
        printf("- %s: %s — %s\n", what, shown, isnan(value) ? "not measured" : met ? "met" : "NOT met");
}

/* hi ≤ limit × lo, for a latency measured at both sizes. */
static void ratio_target(const char *what, double hi, double lo, double limit) {
        char a[CELL], b[CELL], shown[3 * CELL];
        snprintf(shown, sizeof(shown), "%s vs %s (%.2f×)", dur(hi, a), dur(lo, b), hi / lo);
        target(what, hi <= limit * lo, hi / lo, shown);
}

/* Issue 9's targets: the largest size against the smallest. */
static void targets_print(const ScaleRow *lo, const ScaleRow *hi) {
        char a[CELL], b[CELL], shown[3 * CELL];

        printf("\nTargets (issue 9), %u against %u:\n", hi->size, lo->size);
        snprintf(shown, sizeof(shown), "%s vs %s (%.2f×)", dur(hi->act_p50, a), dur(lo->act_p50, b),
                 hi->act_p50 / lo->act_p50);
        target("socket-activated first answer ≤ 2× and ≤ 10 ms", hi->act_p50 <= 2 * lo->act_p50 && hi->act_p50 <= 0.010,
               hi->act_p50, shown);
        ratio_target("`health` p50 ≤ 1.5×", hi->health_p50, lo->health_p50, 1.5);
        ratio_target("one list page p50 ≤ 1.5×", hi->page_one_p50, lo->page_one_p50, 1.5);
        ratio_target("pinned `secret.get` p50 ≤ 1.1×", hi->pinned_p50, lo->pinned_p50, 1.1);
        double gain = hi->put_rate[2] / hi->put_rate[0];
        snprintf(shown, sizeof(shown), "%s vs %s with 1 (%.1f×) at %u", rate(hi->put_rate[2], a),
                 rate(hi->put_rate[0], b), gain, hi->size);
        target("`secret.put` with 32 writers ≥ 5× 1 writer", gain >= 5, gain, shown);
        snprintf(shown, sizeof(shown), "%s at the rate of the fill to %u", dur(1e6 / hi->load_rate, a), hi->size);
        target("loading 1M secrets < 30 s", 1e6 / hi->load_rate < 30, hi->load_rate, shown);
}

/* Counts (and whole kB) as integers, the rest as reals. */
static json_t *num(double v) {
        if (isnan(v))
                return json_null();
        return v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t) v) : json_real(v);
}

static void json_print(const Scale *s, const ScaleRow *rows, size_t n_rows, const char *load_start,
                       const char *load_end) {
        json_t *sizes = json_array();
        for (size_t j = 0; j < n_rows; j++) {
                const ScaleRow *r = &rows[j];
                json_t *o = json_pack("{s:i}", "size", (json_int_t) r->size);
                json_object_set_new(o, "secrets", num(r->secrets));
                json_object_set_new(o, "activated_p50_ms", num(r->act_p50 * 1e3));
                json_object_set_new(o, "activated_max_ms", num(r->act_max * 1e3));
                json_object_set_new(o, "health_p50_us", num(r->health_p50 * 1e6));
                json_object_set_new(o, "health_p99_us", num(r->health_p99 * 1e6));
                json_object_set_new(o, "page_one_p50_us", num(r->page_one_p50 * 1e6));
                json_object_set_new(o, "big_secrets", num(r->big_n));
                json_object_set_new(o, "big_pages", num(r->big_pages));
                json_object_set_new(o, "big_total_s", num(r->big_total));
                json_object_set_new(o, "big_first_ms", num(r->big_first * 1e3));
                json_object_set_new(o, "big_last_ms", num(r->big_last * 1e3));
                json_object_set_new(o, "ls_s", num(r->ls));
                json_object_set_new(o, "ls_lines", num(r->ls_lines));
                json_object_set_new(o, "load_secrets", num(r->load_n));
                json_object_set_new(o, "load_s", num(r->load_s));
                json_object_set_new(o, "load_rate", num(r->load_rate));
                for (size_t i = 0; i < SCALE_N_WRITER_RUNS; i++) {
                        char key[32];
                        snprintf(key, sizeof(key), "put%u_rate", scale_writer_counts[i]);
                        json_object_set_new(o, key, num(r->put_rate[i]));
                        snprintf(key, sizeof(key), "put%u_p50_us", scale_writer_counts[i]);
                        json_object_set_new(o, key, num(r->put_p50[i] * 1e6));
                }
                json_object_set_new(o, "get_p50_us", num(r->get_p50 * 1e6));
                json_object_set_new(o, "get_p99_us", num(r->get_p99 * 1e6));
                json_object_set_new(o, "pinned_p50_us", num(r->pinned_p50 * 1e6));
                json_object_set_new(o, "rss_kb", num(r->rss_kb));
                json_object_set_new(o, "hwm_kb", num(r->hwm_kb));
                json_object_set_new(o, "db_bytes", num(r->db_bytes));
                json_object_set_new(o, "wal_bytes", num(r->wal_bytes));
                json_array_append_new(sizes, o);
        }
        json_t *top = json_pack("{s:s, s:i, s:s, s:s, s:f, s:i, s:i, s:i, s:o}", "bench", "cv-scale", "nproc",
                                (json_int_t) sysconf(_SC_NPROCESSORS_ONLN), "loadavg_start", load_start, "loadavg_end",
                                load_end, "seconds", s->cfg->seconds, "activations", (json_int_t) s->cfg->activations,
                                "value_size", (json_int_t) SCALE_VALUE_SIZE, "plugins", (json_int_t) SCALE_PLUGINS,
                                "sizes", sizes);
        char *text = top ? json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        if (text)
                printf("%s\n", text);
        free(text);
        json_decref(top);
}

void scale_report(const Scale *s, const ScaleRow *rows, size_t n_rows, const char *load_start) {
        char load_end[128], cpu[128] = "", when[64], line[256];
        struct utsname u;
        time_t now = time(NULL);
        FILE *f = fopen("/proc/cpuinfo", "re");

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                        snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
                        cpu[strcspn(cpu, "\n")] = '\0';
                        break;
                }
        if (f)
                fclose(f);
        uname(&u);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
        scale_loadavg_read(load_end, sizeof(load_end));
        printf("## cv-scale, %s\n\n", when);
        printf("%s, nproc %ld, Linux %s; load average (1, 5, 15 min) at start %.14s, at end %.14s.\n", cpu,
               sysconf(_SC_NPROCESSORS_ONLN), u.release, load_start, load_end);
        printf("Secrets of %d bytes over %d plugins, through credvaultd (root key file, temp dir); "
               "timed loops of %g s, one call at a time.\n",
               SCALE_VALUE_SIZE, SCALE_PLUGINS, s->cfg->seconds);
        table_print(s, rows, n_rows);
        if (n_rows > 1)
                targets_print(&rows[0], &rows[n_rows - 1]);
        printf("\n");
        json_print(s, rows, n_rows, load_start, load_end);
}
