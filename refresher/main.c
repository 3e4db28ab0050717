/* main.c — credvault-refresher: options, and the loop that sleeps until
 * the next deadline.
 *
 * The loop: scan the vault (scan.c) at start and then every half lead
 * (new token sets appear only through token.put, which the refresher
 * does not see otherwise), refresh what is due (run.c), and sleep until
 * the earliest of the next due set, the next back-off's end and the next
 * scan. No short fixed interval: an idle refresher wakes a few times per
 * lead. SIGTERM and SIGINT end it after the requests in flight are
 * finished and committed. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json-wipe.h"
#include "macro.h"
#include "parse-util.h"
#include "refresher.h"
#include "version.h"
#include "time-util.h"

/* Exit statuses, for timers and scripts. */
#define EXIT_SOME_FAILED 3 /* --once: a set could not be refreshed */
/* Reports after passes at most this often (and after every scan). */
#define REPORT_EVERY_MS (30 * 1000)

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
        (void) sig;
        stop_requested = 1;
}

bool refresher_stopping(void) {
        return stop_requested != 0;
}

int64_t refresher_now_ms(void) {
        return time_realtime_ms();
}

void refresher_log(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("credvault-refresher: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* "90", "90s", "1500ms", "5m", "1h" → ms in [min, max]. */
static int duration_parse(const char *s, int64_t min, int64_t max, int64_t *ret) {
        size_t n = strspn(s, "0123456789");
        if (n == 0 || n > 12)
                return -EINVAL;
        char digits[16];
        memcpy(digits, s, n);
        digits[n] = '\0';
        int64_t v;
        if (parse_int64(digits, 0, INT64_MAX / 3600000, &v) < 0)
                return -EINVAL;
        const char *unit = s + n;
        int64_t mult = strcmp(unit, "ms") == 0                              ? 1
                       : strcmp(unit, "") == 0 || strcmp(unit, "s") == 0    ? 1000
                       : strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0 ? 60000
                       : strcmp(unit, "h") == 0                             ? 3600000
                                                                            : 0;
        if (!mult)
                return -EINVAL;
        v *= mult;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static void usage(FILE *f) {
        fputs("Usage: credvault-refresher [--socket PATH] [--lead DURATION] [--once] [--max-concurrent N]\n"
              "                           [--ca-file FILE] [--timeout DURATION] [--retry-min DURATION] [--plugin "
              "NAME]... [--verbose]\n"
              "Keep the OAuth token sets in credvault fresh: refresh each before it expires, and\n"
              "revoke the tokens of deleted sets at the plugins' revocation_endpoint (RFC 7009).\n"
              "  --socket PATH         credvaultd's socket (default $CREDVAULT_SOCKET, else " CV_SOCKET_DEFAULT ")\n"
              "  --lead DURATION       refresh this long before expiry (default 5m)\n"
              "  --once                refresh and revoke what is due now, then exit (0: all done, 3: some failed)\n"
              "  --max-concurrent N    requests in flight to providers, 1 to 256 (default 4)\n"
              "  --ca-file FILE        verify providers' certificates against FILE, not the system store\n"
              "  --timeout DURATION    longest request to a provider, at most 45s (default 45s)\n"
              "  --retry-min DURATION  first back-off after a transient failure (default 5s)\n"
              "  --plugin NAME         only this plugin (repeatable); default: every registered oauth plugin\n"
              "  --verbose             a line for each set refreshed\n"
              "  --version             print the version and exit\n"
              "DURATION: 90, 90s, 1500ms, 5m, 1h.\n",
              f);
}

static int parse_options(int argc, char **argv, RefresherOptions *o) {
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, 's' },
                { "lead", required_argument, NULL, 'l' },
                { "once", no_argument, NULL, 'o' },
                { "max-concurrent", required_argument, NULL, 'n' },
                { "ca-file", required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, 't' },
                { "retry-min", required_argument, NULL, 'r' },
                { "verbose", no_argument, NULL, 'v' },
                { "plugin", required_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        *o = (RefresherOptions) {
                .lead_ms = REFRESHER_LEAD_DEFAULT_MS,
                .max_concurrent = REFRESHER_CONCURRENT_DEFAULT,
                .timeout_ms = REFRESHER_TIMEOUT_MAX_MS,
                .retry_min_ms = REFRESHER_RETRY_MIN_DEFAULT_MS,
        };
        int c;
        int64_t v;
        int n;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                switch (c) {
                case 's':
                        o->socket_path = optarg;
                        break;
                case 'l':
                        /* At least 2 s: the lease's min_valid is in seconds. */
                        if (duration_parse(optarg, 2000, 7LL * 24 * 3600 * 1000, &o->lead_ms) < 0) {
                                fprintf(stderr, "credvault-refresher: --lead: expected 2s to 7 days, got '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'o':
                        o->once = true;
                        break;
                case 'n':
                        if (parse_int(optarg, 1, REFRESHER_CONCURRENT_MAX, &n) < 0) {
                                fprintf(stderr, "credvault-refresher: --max-concurrent: expected 1 to %d, got '%s'\n",
                                        REFRESHER_CONCURRENT_MAX, optarg);
                                return -EINVAL;
                        }
                        o->max_concurrent = (unsigned) n;
                        break;
                case 'c':
                        if (access(optarg, R_OK) < 0) {
                                fprintf(stderr, "credvault-refresher: --ca-file %s: %s\n", optarg, strerror(errno));
                                return -EINVAL;
                        }
                        o->ca_file = optarg;
                        break;
                case 't':
                        if (duration_parse(optarg, 100, REFRESHER_TIMEOUT_MAX_MS, &v) < 0) {
                                fprintf(stderr, "credvault-refresher: --timeout: expected 100ms to 45s, got '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        o->timeout_ms = (long) v;
                        break;
                case 'r':
                        if (duration_parse(optarg, 100, REFRESHER_RETRY_MAX_MS, &o->retry_min_ms) < 0) {
                                fprintf(stderr, "credvault-refresher: --retry-min: expected 100ms to 15m, got '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'p':
                        if (o->n_plugin_names >= REFRESHER_PLUGINS_MAX) {
                                fprintf(stderr, "credvault-refresher: --plugin: at most %d\n", REFRESHER_PLUGINS_MAX);
                                return -EINVAL;
                        }
                        o->plugin_names[o->n_plugin_names++] = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(EXIT_SUCCESS);
                case 'V':
                        printf("credvault-refresher %s\n", CREDVAULT_VERSION);
                        exit(EXIT_SUCCESS);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "credvault-refresher: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* Sleep until unix ms `until` or a signal. */
/* Sleep until unix ms `until` or SIGTERM/SIGINT. The signals are blocked
 * from the check of the flag into ppoll(), which unblocks them atomically:
 * one that arrives just before the sleep ends it rather than being noticed
 * only after it (which may be half a lead later). */
static void sleep_until(int64_t until) {
        sigset_t stop, old;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, &old);
        int64_t d = until - refresher_now_ms();
        if (d > 0 && !refresher_stopping()) {
                struct timespec ts = { .tv_sec = d / 1000, .tv_nsec = (d % 1000) * 1000000 };
                sigset_t during = old;
                sigdelset(&during, SIGTERM);
                sigdelset(&during, SIGINT);
                (void) ppoll(NULL, 0, &ts, &during);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
}

static void log_run(const Refresher *r, const RefresherStats *before, int64_t elapsed_ms) {
        const RefresherStats *s = &r->stats;
        uint64_t refreshed = s->refreshed - before->refreshed, fresh = s->already_fresh - before->already_fresh,
                 reauth = s->reauth - before->reauth, transient = s->transient - before->transient,
                 oauth = s->oauth_errors - before->oauth_errors, vault = s->vault_errors - before->vault_errors;
        if (refreshed + fresh + reauth + transient + oauth + vault == 0)
                return;
        refresher_log("run: %llu refreshed, %llu already fresh, %llu reauth_required, %llu transient failures, "
                      "%llu other OAuth errors, %llu vault errors in %lld ms (at most %u requests in flight)",
                      (unsigned long long) refreshed, (unsigned long long) fresh, (unsigned long long) reauth,
                      (unsigned long long) transient, (unsigned long long) oauth, (unsigned long long) vault,
                      (long long) elapsed_ms, s->max_in_flight);
}

static void log_refused(const Refresher *r) {
        for (size_t i = 0; i < r->n_plugins; i++)
                if (r->plugins[i].refused[0])
                        refresher_log("%s: not refreshed: %s", r->plugins[i].name, r->plugins[i].refused);
}

/* --once: one attempt for each set due now; a set someone else is
 * refreshing is waited for (its lease is short). */
static int run_once(Refresher *r) {
        int64_t start = refresher_now_ms();
        int k = refresher_scan(r, start);
        if (k < 0) {
                refresher_log("cannot list the token sets: %s", cv_client_error_message(r->client));
                return EXIT_FAILURE;
        }
        log_refused(r);
        RefresherStats before = r->stats;
        int failed = 0;
        for (;;) {
                k = refresher_run_due(r, refresher_now_ms());
                if (k < 0) {
                        refresher_log("run: %s", strerror(-k));
                        return EXIT_FAILURE;
                }
                failed += k;
                /* Waiting on someone else's lease: due again shortly. */
                int64_t next = INT64_MAX;
                for (size_t i = 0; i < r->n_sets; i++) {
                        TokenSet *s = &r->sets[i];
                        if (!s->handled && !s->dead && !r->plugins[s->plugin].refused[0] &&
                            s->expires_at * 1000 - r->opt.lead_ms <= start && s->due_ms < next)
                                next = s->due_ms;
                }
                if (next == INT64_MAX || refresher_stopping())
                        break;
                sleep_until(next);
        }
        /* Deleted sets' tokens due for revocation, once. */
        k = refresher_revoke_due(r, refresher_now_ms(), NULL);
        failed += k > 0 ? k : 0;
        /* A due set of a plugin whose endpoint is refused was not refreshed either. */
        for (size_t i = 0; i < r->n_sets; i++) {
                const TokenSet *s = &r->sets[i];
                if (!s->dead && r->plugins[s->plugin].refused[0] && s->expires_at * 1000 - r->opt.lead_ms <= start)
                        failed++;
        }
        log_run(r, &before, refresher_now_ms() - start);
        refresher_report(r);
        return failed > 0 ? EXIT_SOME_FAILED : EXIT_SUCCESS;
}

static int run_daemon(Refresher *r) {
        int64_t scan_every = r->opt.lead_ms / 2, next_scan = 0, next_revoke = 0, reported = 0;
        unsigned scan_failures = 0;
        while (!refresher_stopping()) {
                int64_t now = refresher_now_ms();
                /* After each scan, and after passes at most every
                 * REPORT_EVERY_MS: a report is an audited write. */
                bool scanned = false;
                if (now >= next_scan) {
                        int k = refresher_scan(r, now);
                        if (k < 0) {
                                /* The daemon is down or refused: keep what the
                                 * last scan knew, ask again soon. */
                                scan_failures++;
                                int64_t delay = refresher_backoff_ms(r, scan_failures);
                                refresher_log("cannot list the token sets: %s; again in %lld ms",
                                              cv_client_error_message(r->client), (long long) delay);
                                next_scan = now + (delay < scan_every ? delay : scan_every);
                        } else {
                                if (scan_failures > 0 || r->stats.runs == 0)
                                        log_refused(r);
                                scan_failures = 0;
                                next_scan = now + scan_every;
                                scanned = true;
                        }
                }
                /* Revocations: after each scan (deleted sets appear then),
                 * and when the earliest pending one is due. */
                if (now >= next_revoke) {
                        (void) refresher_revoke_due(r, now, &next_revoke);
                        if (next_revoke > next_scan)
                                next_revoke = next_scan;
                        if (next_revoke <= refresher_now_ms()) /* the daemon refused: not in a loop */
                                next_revoke = refresher_now_ms() + r->opt.retry_min_ms;
                }
                if (refresher_next_due(r) <= now) {
                        RefresherStats before = r->stats;
                        int k = refresher_run_due(r, now);
                        log_run(r, &before, refresher_now_ms() - now);
                        if (refresher_now_ms() - reported >= REPORT_EVERY_MS) {
                                refresher_report(r);
                                reported = refresher_now_ms();
                        }
                        if (k < 0) {
                                /* Out of memory, or curl broke: the sets are
                                 * still due; do not spin on them. */
                                refresher_log("run: %s", strerror(-k));
                                sleep_until(refresher_now_ms() + r->opt.retry_min_ms);
                        }
                        continue;
                }
                if (scanned) {
                        refresher_report(r);
                        reported = refresher_now_ms();
                }
                int64_t next = refresher_next_due(r);
                if (next_revoke < next)
                        next = next_revoke;
                sleep_until(next < next_scan ? next : next_scan);
        }
        refresher_report(r);
        return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        Refresher r = {};
        if (parse_options(argc, argv, &r.opt) < 0)
                return EXIT_FAILURE;
        /* Tokens and client secrets pass through this process: no core
         * dumps, nothing readable by others. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) setrlimit(RLIMIT_CORE, &(struct rlimit) { 0, 0 });
        umask(0077);
        json_wipe_install();
        srand48((long) (time_monotonic_usec() ^ (uint64_t) getpid()));

        struct sigaction sa = { .sa_handler = on_stop };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                refresher_log("curl_global_init failed");
                return EXIT_FAILURE;
        }
        int k = cv_client_new(r.opt.socket_path, 0, &r.client);
        if (k < 0) {
                refresher_log("cannot connect to credvaultd: %s", strerror(-k));
                curl_global_cleanup();
                return EXIT_FAILURE;
        }
        r.started_ms = refresher_now_ms();
        int status = r.opt.once ? run_once(&r) : run_daemon(&r);
        refresher_free_sets(&r);
        cv_client_free(r.client);
        curl_global_cleanup();
        return status;
}
