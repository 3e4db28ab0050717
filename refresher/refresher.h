/* refresher.h — credvault-refresher: keeps users' OAuth token sets fresh.
 *
 * Owns: the types the refresher's modules share. The refresher is a
 * client of credvaultd like any plugin service: it lists the token sets of
 * every registered oauth plugin (token.list), takes the refresh lease
 * (token.refresh_begin) when one nears expiry, calls the plugin's token
 * endpoint, and commits or fails the lease. It holds no state on disk: a
 * restart scans again, and the lease protocol keeps it from racing the
 * plugins (or a second refresher).
 *
 * Modules: main.c (options, the sleep-until-the-next-deadline loop),
 * scan.c (which sets exist and when each is due, back-off),
 * provider.c (one HTTP request to a token endpoint and what its answer
 * means), run.c (refreshing the due sets, at most N requests in flight),
 * revoke.c (revoking the tokens of deleted sets, RFC 7009).
 *
 * Never: logs a token or a client secret; calls a token endpoint over
 * plain http unless it is a loopback address. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credvault.h"

#define REFRESHER_LEAD_DEFAULT_MS (300 * 1000LL)
#define REFRESHER_TIMEOUT_MAX_MS (45 * 1000L) /* no request to a provider lasts longer */
#define REFRESHER_CONCURRENT_DEFAULT 4
#define REFRESHER_CONCURRENT_MAX 256
#define REFRESHER_RETRY_MIN_DEFAULT_MS (5 * 1000LL)
#define REFRESHER_RETRY_MAX_MS (15 * 60 * 1000LL)
/* A set someone else holds the lease on: look again after this at least. */
#define REFRESHER_LEASE_WAIT_MIN_MS 500
/* Retry-After honoured up to this; a provider asking for more gets this. */
#define REFRESHER_RETRY_AFTER_MAX_MS (3600 * 1000LL)
#define REFRESHER_PLUGINS_MAX 64 /* --plugin given this many times at most */

typedef struct RefresherOptions {
        const char *socket_path; /* NULL: $CREDVAULT_SOCKET or the default */
        int64_t lead_ms;         /* refresh this long before expiry */
        bool once;               /* refresh what is due now, then exit */
        unsigned max_concurrent; /* requests in flight to providers */
        const char *ca_file;     /* NULL: the system store */
        long timeout_ms;         /* per request, at most REFRESHER_TIMEOUT_MAX_MS */
        int64_t retry_min_ms;    /* first back-off after a transient failure */
        bool verbose;            /* a line per refreshed set */
        /* --plugin: only these, without plugin.list (which the policy grants
         * only with "read" on "*"); none: every registered oauth plugin. */
        const char *plugin_names[REFRESHER_PLUGINS_MAX];
        size_t n_plugin_names;
} RefresherOptions;

typedef struct RefresherStats {
        uint64_t runs;
        uint64_t refreshed;
        uint64_t already_fresh; /* someone else refreshed it first */
        uint64_t reauth;        /* invalid_grant: the user must authorize again */
        uint64_t transient;     /* timeouts, 5xx, 429, unreachable */
        uint64_t oauth_errors;  /* other OAuth errors (invalid_client, ...) */
        uint64_t vault_errors;
        unsigned max_in_flight;
        uint64_t revoked;             /* deleted sets' tokens revoked at the provider (RFC 7009) */
        uint64_t revocation_failures; /* revocations that failed (the daemon retries or gives up) */
} RefresherStats;

/* A registered oauth plugin: where and how to ask for tokens. */
typedef struct PluginConf {
        char *name;
        char *token_url;       /* the manifest's authorization_url */
        bool json_body;        /* authorization_content_type application/json */
        bool auth_post;        /* client_secret_post; else client_secret_basic */
        char refused[160];     /* not empty: its endpoint is not called, and why */
        int64_t hold_until_ms; /* unix ms: the provider asked us to wait (429, 5xx, down) */
        unsigned failures;     /* provider-wide transient failures in a row */
        /* The same for its revocation endpoint, apart: a failing (or
         * hostile) revocation endpoint must not hold the refreshes. */
        int64_t revoke_hold_until_ms;
        unsigned revoke_failures;
        RefresherStats stats; /* its sets' part of Refresher.stats, for its report */
        bool report_refused;  /* the daemon refused its report: not sent again until the next scan */
        /* What its last report said, and when: an unchanged one is sent
         * again only as a heartbeat. */
        RefresherStats reported;
        int64_t reported_hold, reported_at;
} PluginConf;

/* One user's token set of one plugin, as last listed. */
typedef struct TokenSet {
        size_t plugin; /* index into Refresher.plugins */
        char *user;
        int64_t version;
        int64_t expires_at; /* unix s */
        int64_t due_ms;     /* unix ms: when to try next */
        unsigned failures;  /* transient failures in a row */
        bool dead;          /* reauth_required, or nothing to refresh with: until the set changes */
        bool handled;       /* --once: this run has dealt with it */
} TokenSet;

typedef struct Refresher {
        RefresherOptions opt;
        CvClient *client;
        PluginConf *plugins;
        size_t n_plugins;
        TokenSet *sets;
        size_t n_sets;
        RefresherStats stats;
        int64_t started_ms;  /* unix ms */
        int64_t last_run_ms; /* the last refresher_run_due() */
} Refresher;

/* scan.c */
/* List the oauth plugins and their token sets again, keeping each set's
 * back-off while its version is unchanged. -errno (the daemon's). */
int refresher_scan(Refresher *r, int64_t now_ms);
/* Unix ms of the earliest due set (INT64_MAX if none). */
int64_t refresher_next_due(const Refresher *r);
/* The delay after the failures-th transient failure in a row, with
 * jitter: retry_min doubled each time, at most REFRESHER_RETRY_MAX_MS,
 * then between half and all of it. */
int64_t refresher_backoff_ms(const Refresher *r, unsigned failures);
void refresher_free_sets(Refresher *r);

/* run.c */
/* Refresh every set due at now_ms (with --once: every set due and not yet
 * handled), at most opt.max_concurrent requests at a time. Returns the
 * number of sets that failed (transiently or not), or -errno. */
int refresher_run_due(Refresher *r, int64_t now_ms);

/* report.c */
/* Tell the daemon, plugin by plugin, the lead, the counts and when each
 * plugin's sets are due next (refresher.report), for token.list and
 * status. A plugin whose report is refused (the policy) is not reported
 * again; other failures are logged and tried with the next report. */
void refresher_report(Refresher *r);

/* revoke.c */
/* Revoke the tokens of deleted sets that are due at now_ms, for every
 * plugin of the last scan with a revocation_endpoint secret, at most
 * opt.max_concurrent requests at a time. *ret_next_ms (may be NULL) gets
 * when the next pending one is due (INT64_MAX: none known). Returns the
 * number that failed, or -errno. */
int refresher_revoke_due(Refresher *r, int64_t now_ms, int64_t *ret_next_ms);

/* main.c */
void refresher_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t refresher_now_ms(void);
bool refresher_stopping(void);
