/* cmd-key.c — credvault key rotate, key rewrap [--wait], key status,
 * key retire.
 *
 * Owns: the answers of the four KEK ops as text or JSON, the KEK table
 * and the rewrap's progress line, and waiting for a rewrap: polling
 * key.status, a progress bar redrawn in place on a terminal's stderr, or
 * one JSON line a poll on stdout; Ctrl-C stops the waiting, never the
 * rewrap.
 * Never: print a key (the replies carry none), or leave SIGINT handled
 * once the waiting is over. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse-util.h"

/* How often --wait asks for the progress. */
#define REWRAP_POLL_MS 200
/* Cells of the progress bar between its brackets. */
#define REWRAP_BAR_WIDTH 30
#define REWRAP_LINE_SIZE 160

int cmd_key_rotate(Cli *cli, char **args) {
        int64_t primary, previous;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_key_rotate(c, &primary, &previous);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json)
                return cli_print_json(
                        json_pack("{s:I s:I}", "primary", (json_int_t) primary, "previous", (json_int_t) previous));
        printf("primary KEK: version %" PRId64 "; version %" PRId64
               " stays active until its records are rewrapped (credvault key rewrap)\n",
               primary, previous);
        return 0;
}

/* "8s", "2m05s", "1h02m": how long remaining records take at rate; "?"
 * without a rate (while none is done, or the rewrap stopped). */
static const char *time_left_format(int64_t remaining, double rate, char buf[static 32]) {
        if (remaining == 0) {
                snprintf(buf, 32, "0s");
                return buf;
        }
        if (rate <= 0) {
                snprintf(buf, 32, "?");
                return buf;
        }
        double sec_d = (double) remaining / rate;
        int64_t sec = sec_d < 1e9 ? (int64_t) sec_d + (sec_d > (double) (int64_t) sec_d) : 1000000000;
        if (sec < 60)
                snprintf(buf, 32, "%" PRId64 "s", sec);
        else if (sec < 3600)
                snprintf(buf, 32, "%" PRId64 "m%02" PRId64 "s", sec / 60, sec % 60);
        else
                snprintf(buf, 32, "%" PRId64 "h%02" PRId64 "m", sec / 3600, sec / 60 % 60);
        return buf;
}

/* Percent of the records of this rewrap that are done: 100 only when none
 * remain. */
static int rewrap_percent(const CvKeyRewrap *w) {
        int64_t total = w->done + w->remaining;
        if (w->remaining == 0)
                return 100;
        return total > 0 ? (int) (w->done * 100 / total) : 0;
}

/* "61% 12345/20000 8123/s 1s left" */
static void rewrap_progress_format(const CvKeyRewrap *w, char *buf, size_t size) {
        char left[32];
        snprintf(buf, size, "%d%% %" PRId64 "/%" PRId64 " %.0f/s %s left", rewrap_percent(w), w->done,
                 w->done + w->remaining, w->rate, time_left_format(w->remaining, w->rate, left));
}

static void rewrap_status_print(const CvKeyRewrap *w) {
        char progress[REWRAP_LINE_SIZE], when[CLI_TIME_SIZE];

        if (w->running) {
                rewrap_progress_format(w, progress, sizeof(progress));
                printf("rewrap: running since %s, %s\n", cli_time_format(w->started_at, when), progress);
        } else if (w->remaining > 0)
                printf("rewrap: not running; %" PRId64 " record%s on older KEKs (credvault key rewrap)\n", w->remaining,
                       w->remaining == 1 ? "" : "s");
        else
                printf("rewrap: not running; every record is on the primary KEK\n");
}

int cmd_key_status(Cli *cli, char **args) {
        static const char *const header[] = { "VERSION", "STATE", "RECORDS", "CREATED" };
        _cleanup_(cli_table_freep) CliTable *table = NULL;
        _cleanup_(freep) CvKek *keks = NULL;
        CvKeyRewrap w;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        if (cli->json) {
                _cleanup_(freep) char *text = NULL;
                r = cv_key_status_json(c, &text);
                if (r < 0)
                        return cli_error_call(c, r);
                printf("%s\n", text);
                return 0;
        }
        r = cv_key_status(c, &w, &keks);
        if (r < 0)
                return cli_error_call(c, r);
        size_t n_keks = (size_t) r;
        r = cli_table_new(ELEMENTSOF(header), header, &table);
        if (r < 0)
                return cli_error(r, "out of memory");
        for (size_t i = 0; i < n_keks; i++) {
                char version[24], records[24], created[CLI_TIME_SIZE];
                snprintf(version, sizeof(version), "%" PRId64, keks[i].version);
                snprintf(records, sizeof(records), "%" PRId64, keks[i].records);
                const char *cells[] = { version, keks[i].state, records, cli_time_format(keks[i].created, created) };
                r = cli_table_add(table, cells);
                if (r < 0)
                        return cli_error(r, "out of memory");
        }
        /* The table goes past stdio's buffer: what stdio holds must not
         * come after it. */
        fflush(stdout);
        r = cli_table_print(table);
        if (r < 0)
                return cli_error(r, "cannot write to stdout: %s", strerror(-r));
        rewrap_status_print(&w);
        return 0;
}

int cmd_key_retire(Cli *cli, char **args) {
        int64_t version;
        CvClient *c;
        int r;

        if (parse_int64(args[0], 1, INT64_MAX, &version) < 0)
                return cli_error(-EINVAL, "VERSION: '%s' is not a KEK version (an integer >= 1)", args[0]);
        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_key_retire(c, version);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json)
                return cli_print_json(json_pack("{s:I}", "retired", (json_int_t) version));
        printf("KEK version %" PRId64 " retired\n", version);
        return 0;
}

/* ---- key rewrap [--wait] ---- */

static volatile sig_atomic_t wait_interrupted;

static void on_sigint(int sig) {
        wait_interrupted = 1;
}

/* The progress bar, redrawn over the last one: "\r" and spaces over what
 * a longer line left. */
static void rewrap_bar_draw(const CvKeyRewrap *w, int *last_size) {
        char bar[REWRAP_BAR_WIDTH + 1], progress[REWRAP_LINE_SIZE];
        int filled = rewrap_percent(w) * REWRAP_BAR_WIDTH / 100;

        for (int i = 0; i < REWRAP_BAR_WIDTH; i++)
                bar[i] = i < filled ? '#' : '.';
        bar[REWRAP_BAR_WIDTH] = '\0';
        rewrap_progress_format(w, progress, sizeof(progress));
        int n = fprintf(stderr, "\rrewrap [%s] %s", bar, progress);
        if (n >= 0 && n < *last_size)
                fprintf(stderr, "%*s", *last_size - n, "");
        *last_size = n > *last_size ? n : *last_size;
        fflush(stderr);
}

/* The rate as a whole number of records a second (the library has
 * checked it to be finite and >= 0). */
static int64_t rate_round(double rate) {
        return rate < 1e15 ? (int64_t) (rate + 0.5) : (int64_t) 1e15;
}

/* One poll as a JSON line on stdout, written at once. */
static int rewrap_json_line(const CvKeyRewrap *w) {
        return cli_print_json(json_pack("{s:I s:I s:I}", "remaining", (json_int_t) w->remaining, "done",
                                        (json_int_t) w->done, "rate", (json_int_t) rate_round(w->rate)));
}

static void sleep_ms(int ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        /* Ctrl-C cuts the sleep short (EINTR): the caller then stops. */
        (void) nanosleep(&ts, NULL);
}

/* Poll key.status until no record is left on an older KEK. */
static int rewrap_wait(Cli *cli, CvClient *c) {
        bool bar = !cli->json && isatty(STDERR_FILENO);
        struct sigaction sa = { .sa_handler = on_sigint }, old_sa;
        int last_size = 0, r = 0;
        bool call_failed = false;
        CvKeyRewrap w;

        /* Without SA_RESTART, so that the sleep ends at once. The call
         * under way is finished (the library goes on after EINTR). */
        wait_interrupted = 0;
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGINT, NULL, &old_sa);
        /* Ignored (a background job of a script): stays ignored. */
        if (old_sa.sa_handler != SIG_IGN)
                (void) sigaction(SIGINT, &sa, NULL);
        for (;;) {
                r = cv_key_status(c, &w, NULL);
                if (r < 0) {
                        call_failed = true;
                        break;
                }
                if (bar)
                        rewrap_bar_draw(&w, &last_size);
                else {
                        r = rewrap_json_line(&w);
                        if (r < 0)
                                break;
                }
                if (!w.running || wait_interrupted)
                        break;
                sleep_ms(REWRAP_POLL_MS);
                if (wait_interrupted)
                        break;
        }
        (void) sigaction(SIGINT, &old_sa, NULL);
        /* The bar's line ends before anything else is said. */
        if (bar && last_size > 0)
                fputc('\n', stderr);
        if (call_failed)
                return cli_error_call(c, r);
        if (r < 0)
                return r; /* rewrap_json_line() said why */
        if (wait_interrupted) {
                cli_error(-EINTR, "stopped waiting; the daemon goes on with the rewrap (credvault key status)");
                return CLI_EXIT_INTERRUPTED;
        }
        if (w.remaining > 0) {
                /* Not running, yet records are left: it stopped (see the
                 * daemon's log), or a rotation came after it ended. */
                cli_error(-EIO,
                          "the rewrap is not running and %" PRId64 " record%s on older KEKs: run "
                          "credvault key rewrap again",
                          w.remaining, w.remaining == 1 ? " is" : "s are");
                return CLI_EXIT_FAILURE;
        }
        if (bar)
                printf("rewrap done: every record is on the primary KEK\n");
        return 0;
}

int cmd_key_rewrap(Cli *cli, char **args) {
        int64_t remaining;
        bool running;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = cv_key_rewrap(c, &running, &remaining);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli_has(cli, CLI_OPT_WAIT))
                return rewrap_wait(cli, c);
        if (cli->json)
                return cli_print_json(json_pack("{s:b s:I}", "running", running, "remaining", (json_int_t) remaining));
        /* Running with none left: a rewrap about to end, nothing for it to do. */
        if (remaining == 0)
                printf("nothing to rewrap: every record is on the primary KEK\n");
        else
                printf("rewrap %s: %" PRId64 " record%s to go (credvault key status, or key rewrap --wait)\n",
                       running ? "running" : "not running", remaining, remaining == 1 ? "" : "s");
        return 0;
}
