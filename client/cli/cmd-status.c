/* cmd-status.c — credvault status and credvault whoami.
 *
 * Owns: printing the daemon's health (cv_health_json: counts, the policy
 * in force, the audit trail's state) and what the daemon knows of the
 * caller (cv_whoami_json: identity, principals, grants, rate limit), as
 * text or as the daemon's JSON.
 * Never: print anything the replies do not carry; they hold no secrets
 * and the commands must not ask for any. The library has checked every
 * member read here to be there with its type. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int64_t member_int(json_t *obj, const char *key) {
        return (int64_t) json_integer_value(json_object_get(obj, key));
}

/* A string member, or NULL if null or absent. */
static const char *member_string(json_t *obj, const char *key) {
        return json_string_value(json_object_get(obj, key));
}

/* The text the library handed out, as JSON to read (the caller drops
 * it), or NULL after saying why. */
static json_t *text_load(const char *text) {
        json_t *j = json_loads(text, 0, NULL);
        if (!j)
                cli_error(-ENOMEM, "out of memory");
        return j;
}

static void status_print_policy(json_t *policy) {
        char when[CLI_TIME_SIZE];
        const char *file = member_string(policy, "file");
        const char *reload_error = member_string(policy, "reload_error");
        int64_t n = member_int(policy, "principals");

        if (file)
                printf("policy:      %s (%" PRId64 " principal%s), loaded %s%s\n", file, n, n == 1 ? "" : "s",
                       cli_time_format_usec(member_int(policy, "loaded_at") * 1000000, false, when),
                       json_is_true(json_object_get(policy, "admins_only")) ? "; only admins are served" : "");
        else
                printf("policy:      none — only admins (root and the daemon's uid) are served\n");
        if (reload_error)
                printf("             last reload failed: %s\n", reload_error);
}

static void status_print_audit(json_t *audit) {
        if (json_is_true(json_object_get(audit, "ok")))
                printf("audit:       ok (last record %" PRId64 ")\n", member_int(audit, "last_seq"));
        else {
                int64_t n = member_int(audit, "queued");
                printf("audit:       FAILING: %s — requests are refused (%" PRId64 " record%s waiting)\n",
                       member_string(audit, "error"), n, n == 1 ? "" : "s");
        }
}

/* The refresher's reports, summed by the daemon (health "refresher"):
 * what it did since it started, and when it runs. */
static void status_print_refresher(json_t *r) {
        char reported[CLI_TIME_SIZE], last[CLI_TIME_SIZE], next[CLI_TIME_SIZE];
        if (!r) {
                printf("refresher:   no report since credvaultd started\n");
                return;
        }
        int64_t plugins = member_int(r, "plugins"), held = member_int(r, "held");
        json_t *f = json_object_get(r, "failures");
        json_t *last_run = json_object_get(r, "last_run"), *next_run = json_object_get(r, "next_run");
        printf("refresher:   %" PRId64 " plugin%s, last report %s", plugins, plugins == 1 ? "" : "s",
               cli_time_format_usec(member_int(r, "reported_at") * 1000, false, reported));
        printf("; last run %s, next %s\n",
               last_run ? cli_time_format_usec(json_integer_value(last_run) * 1000, false, last) : "never",
               next_run ? cli_time_format_usec(json_integer_value(next_run) * 1000, false, next) : "none due");
        printf("             %" PRId64 " refreshed, %" PRId64 " already fresh; failures: %" PRId64
               " reauth_required, %" PRId64 " transient, %" PRId64 " oauth, %" PRId64 " vault\n",
               member_int(r, "refreshed"), member_int(r, "already_fresh"), member_int(f, "reauth_required"),
               member_int(f, "transient"), member_int(f, "oauth"), member_int(f, "vault"));
        int64_t stale = member_int(r, "stale");
        if (stale > 0)
                printf("             %" PRId64 " plugin%s not reported for two leads: is the refresher running?\n",
                       stale, stale == 1 ? "" : "s");
        if (held > 0)
                printf("             %" PRId64
                       " plugin%s held back: the provider is down or asked to wait (429, 5xx)\n",
                       held, held == 1 ? "" : "s");
}

static void status_print_text(json_t *h) {
        json_t *keyring = json_object_get(h, "keyring");

        printf("version:     %s\n", member_string(h, "version"));
        printf("uptime:      %" PRId64 "s\n", member_int(h, "uptime"));
        printf("connections: %" PRId64 "\n", member_int(h, "connections"));
        printf("primary KEK: version %" PRId64 "\n", member_int(keyring, "primary"));
        printf("KEKs:        %" PRId64 "\n", member_int(keyring, "keks"));
        printf("secrets:     %" PRId64 "\n", member_int(h, "secrets"));
        printf("tokens:      %" PRId64 "\n", member_int(h, "tokens"));
        json_t *groups = json_object_get(h, "write_groups");
        int64_t commits = member_int(groups, "commits"), writes = member_int(groups, "writes");
        int64_t failed = member_int(groups, "failed");
        printf("writes:      %" PRId64 " in %" PRId64 " commit%s%s", writes, commits, commits == 1 ? "" : "s",
               failed > 0 ? "" : "\n");
        if (failed > 0)
                printf(" (%" PRId64 " group%s failed to commit)\n", failed, failed == 1 ? "" : "s");
        status_print_refresher(json_object_get(h, "refresher"));
        json_t *rev = json_object_get(h, "revocations");
        if (rev)
                printf("revocations: %" PRId64 " pending, %" PRId64 " given up\n", member_int(rev, "pending"),
                       member_int(rev, "given_up"));
        status_print_policy(json_object_get(h, "policy"));
        status_print_audit(json_object_get(h, "audit"));
}

/* The reply of call as JSON text: with --json printed as it is, else
 * loaded into *ret_json for the caller to print as text. Returns 1 when
 * the caller has to print, 0 when printed, or a negative errno. */
static int call_json(Cli *cli, int (*call)(CvClient *c, char **ret_json), json_t **ret_json) {
        _cleanup_(freep) char *text = NULL;
        CvClient *c;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = call(c, &text);
        if (r < 0)
                return cli_error_call(c, r);
        if (cli->json) {
                printf("%s\n", text);
                return 0;
        }
        *ret_json = text_load(text);
        return *ret_json ? 1 : -ENOMEM;
}

int cmd_status(Cli *cli, char **args) {
        _cleanup_(cli_json_decrefp) json_t *h = NULL;
        int r = call_json(cli, cv_health_json, &h);
        if (r <= 0)
                return r;
        status_print_text(h);
        return 0;
}

/* "0 (root)", or the bare number where the name is unknown. */
static void id_print(const char *label, int64_t id, bool group) {
        const char *name = NULL;
        if (group) {
                struct group *g = getgrgid((gid_t) id);
                name = g ? g->gr_name : NULL;
        } else {
                struct passwd *p = getpwuid((uid_t) id);
                name = p ? p->pw_name : NULL;
        }
        printf("%-12s %" PRId64 "%s%s%s\n", label, id, name ? " (" : "", name ?: "", name ? ")" : "");
}

/* The strings of an array, comma-separated; "none" if there are none. */
static void strings_print(json_t *array) {
        size_t i;
        json_t *v;

        if (json_array_size(array) == 0)
                fputs("none", stdout);
        json_array_foreach(array, i, v)
                printf("%s%s", i > 0 ? ", " : "", json_string_value(v));
        putchar('\n');
}

static void whoami_print_grants(json_t *grants) {
        size_t i, width = strlen("PLUGINS");
        json_t *g;

        if (json_array_size(grants) == 0) {
                printf("%-12s none\n", "grants:");
                return;
        }
        json_array_foreach(grants, i, g) {
                size_t n = strlen(member_string(g, "plugins"));
                width = n > width ? n : width;
        }
        printf("grants:\n  %-*s  CLASSES\n", (int) width, "PLUGINS");
        json_array_foreach(grants, i, g) {
                printf("  %-*s  ", (int) width, member_string(g, "plugins"));
                strings_print(json_object_get(g, "classes"));
        }
}

static void whoami_print_text(json_t *w) {
        json_t *rate = json_object_get(w, "rate_limit"), *groups = json_object_get(w, "groups"), *v;
        const char *pidfd = member_string(w, "pidfd"), *admin_by = member_string(w, "admin_by");
        const char *rate_principal = member_string(rate, "principal");
        const char *file = member_string(json_object_get(w, "policy"), "file");
        size_t i;

        id_print("uid:", member_int(w, "uid"), false);
        id_print("gid:", member_int(w, "gid"), true);
        printf("%-12s", "groups:");
        if (json_array_size(groups) == 0)
                fputs(" none", stdout);
        json_array_foreach(groups, i, v)
                printf(" %" PRId64, (int64_t) json_integer_value(v));
        putchar('\n');
        printf("%-12s %" PRId64 "%s%s%s\n", "pid:", member_int(w, "pid"), pidfd ? " (pidfd: " : "", pidfd ?: "",
               pidfd ? ")" : "");
        printf("%-12s %s\n", "unit:", member_string(w, "unit") ?: "-");
        printf("%-12s ", "principals:");
        strings_print(json_object_get(w, "principals"));
        if (json_is_true(json_object_get(w, "admin")))
                printf("%-12s yes%s%s\n", "admin:", admin_by ? ", as " : "", admin_by ?: "");
        else
                printf("%-12s no\n", "admin:");
        whoami_print_grants(json_object_get(w, "grants"));
        if (json_is_null(rate))
                printf("%-12s none (an admin no policy entry names)\n", "rate limit:");
        else
                printf("%-12s %" PRId64 " requests/s, burst %" PRId64 " (%s%s)\n",
                       "rate limit:", member_int(rate, "rate"), member_int(rate, "burst"),
                       rate_principal ? "as " : "counted by uid", rate_principal ?: "");
        if (file)
                printf("%-12s %s\n", "policy:", file);
        else
                printf("%-12s no policy file: only admins are served\n", "policy:");
}

int cmd_whoami(Cli *cli, char **args) {
        _cleanup_(cli_json_decrefp) json_t *w = NULL;
        int r = call_json(cli, cv_whoami_json, &w);
        if (r <= 0)
                return r;
        whoami_print_text(w);
        return 0;
}
