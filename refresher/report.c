/* report.c — telling the daemon what the refresher is doing.
 *
 * After each pass and each scan, one refresher.report per plugin: the
 * lead (so that the daemon can say when each set is due), when the
 * refresher last ran and when it runs next for the plugin, any hold the
 * provider asked for, and the plugin's counts since the refresher
 * started. `credvault token ls` and `credvault status` show them. A report
 * carries no token; losing one loses nothing but the view, so a failure
 * is logged and the next report tries again. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "refresher.h"

/* When the plugin's sets are next due (unix ms), 0 if none is. */
static int64_t plugin_next_due(const Refresher *r, size_t plugin) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < r->n_sets; i++) {
                const TokenSet *s = &r->sets[i];
                if (s->plugin == plugin && !s->dead && s->due_ms < next)
                        next = s->due_ms;
        }
        if (next == INT64_MAX)
                return 0;
        return next > r->plugins[plugin].hold_until_ms ? next : r->plugins[plugin].hold_until_ms;
}

static json_t *report_new(const Refresher *r, size_t plugin, int64_t now_ms) {
        const PluginConf *p = &r->plugins[plugin];
        const RefresherStats *s = &p->stats;
        int64_t next = plugin_next_due(r, plugin);
        return json_pack("{s:i s:s s:s s:{s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I}}", "v", 1, "op",
                         "refresher.report", "plugin", p->name, "report", "lead", (json_int_t) (r->opt.lead_ms / 1000),
                         "started", (json_int_t) r->started_ms, "last_run", (json_int_t) r->last_run_ms, "next_run",
                         (json_int_t) (next > 0 && next < now_ms ? now_ms : next), "hold_until",
                         (json_int_t) (p->hold_until_ms > now_ms ? p->hold_until_ms : 0), "refreshed",
                         (json_int_t) s->refreshed, "already_fresh", (json_int_t) s->already_fresh, "reauth",
                         (json_int_t) s->reauth, "transient", (json_int_t) s->transient, "oauth_errors",
                         (json_int_t) s->oauth_errors, "vault_errors", (json_int_t) s->vault_errors);
}

/* Whether the plugin's report would say something new: its counts or its
 * provider's hold changed, or the last one is older than a scan interval
 * (a heartbeat: the daemon takes a report not renewed as a stopped
 * refresher). Every report is an audited request: unchanged ones are not
 * sent after every pass. */
static bool report_wanted(const Refresher *r, const PluginConf *p, int64_t now) {
        return memcmp(&p->stats, &p->reported, sizeof(p->stats)) != 0 || p->hold_until_ms != p->reported_hold ||
               now - p->reported_at >= r->opt.lead_ms / 2;
}

void refresher_report(Refresher *r) {
        int64_t now = refresher_now_ms();
        for (size_t i = 0; i < r->n_plugins; i++) {
                PluginConf *p = &r->plugins[i];
                if (p->report_refused || !report_wanted(r, p, now))
                        continue;
                json_t *req = report_new(r, i, now);
                char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *reply = NULL;
                json_decref(req);
                int k = text ? cv_call_json(r->client, text, &reply) : -ENOMEM;
                free(text);
                if (k < 0) {
                        refresher_log("%s: refresher.report: %s", p->name, strerror(-k));
                        continue;
                }
                json_t *j = json_loads(reply, 0, NULL);
                free(reply); /* counts and times only */
                json_t *error = json_object_get(j, "error");
                if (error) {
                        /* denied: the policy; unknown_op: a credvaultd from
                         * before reports. Either way, not again before the
                         * next scan. */
                        const char *code = json_string_value(json_object_get(error, "code"));
                        bool refused = code && (strcmp(code, "denied") == 0 || strcmp(code, "unknown_op") == 0);
                        refresher_log("%s: refresher.report: %s%s", p->name,
                                      json_string_value(json_object_get(error, "message")) ?: "invalid reply",
                                      refused ? "; not reported again before the next scan" : "");
                        p->report_refused = refused;
                } else {
                        p->reported = p->stats;
                        p->reported_hold = p->hold_until_ms;
                        p->reported_at = now;
                }
                json_decref(j);
        }
}
