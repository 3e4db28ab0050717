/* refresher-reports.c — refreshers' reports, one per plugin, and what
 * they mean for token.list and health (see refresher-reports.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refresher-reports.h"

static RefresherReportEntry *find(const RefresherReports *rr, const char *plugin) {
        for (size_t i = 0; i < rr->n; i++)
                if (strcmp(rr->items[i].plugin, plugin) == 0)
                        return &rr->items[i];
        return NULL;
}

int refresher_reports_put(RefresherReports *rr, const char *plugin, const RefresherReport *report, int64_t now_ms) {
        RefresherReportEntry *e = find(rr, plugin);
        if (!e && rr->n == REFRESHER_REPORTS_MAX) {
                /* Full: the one heard from longest ago goes. */
                e = &rr->items[0];
                for (size_t i = 1; i < rr->n; i++)
                        if (rr->items[i].received_at < e->received_at)
                                e = &rr->items[i];
        }
        if (!e) {
                if (rr->n == rr->allocated) {
                        size_t want = rr->allocated ? rr->allocated * 2 : 16;
                        RefresherReportEntry *grown = realloc(rr->items, want * sizeof(*grown));
                        if (!grown)
                                return -ENOMEM;
                        rr->items = grown;
                        rr->allocated = want;
                }
                e = &rr->items[rr->n++];
        }
        /* Names are checked by the protocol: at most NAME_SIZE_MAX. */
        snprintf(e->plugin, sizeof(e->plugin), "%s", plugin);
        e->received_at = now_ms;
        e->report = *report;
        return 0;
}

const RefresherReportEntry *refresher_reports_get(const RefresherReports *rr, const char *plugin) {
        return find(rr, plugin);
}

void refresher_reports_drop(RefresherReports *rr, const char *plugin) {
        RefresherReportEntry *e = find(rr, plugin);
        if (e)
                *e = rr->items[--rr->n];
}

void refresher_reports_done(RefresherReports *rr) {
        free(rr->items);
        *rr = (RefresherReports) {};
}

/* A refresher reports after every scan, every half lead: one that has
 * not for two leads and ten minutes has stopped, or stopped serving the
 * plugin, and its schedule says nothing any more. */
static bool report_stale(const RefresherReportEntry *e, int64_t now_ms) {
        return now_ms - e->received_at > 2 * e->report.lead * 1000 + 10 * 60 * 1000LL;
}

int64_t refresher_report_next_at(const RefresherReportEntry *e, const TokenInfo *t, int64_t now_ms) {
        if (e && report_stale(e, now_ms))
                e = NULL;
        if (t->state.reauth_required)
                return 0;
        /* A retry the caller said it will make holds without a report. */
        int64_t next = t->refresh_next_at;
        if (!next) {
                if (!e || !t->state.has_expires_at)
                        return 0;
                int64_t expires = t->state.expires_at * 1000;
                next = expires - e->report.lead * 1000;
                /* refresher/run.c: a token that lives less than the lead is
                 * refreshed at half its life, not at once again. */
                if (t->refresh_tried_at && next < t->refresh_tried_at + (expires - t->refresh_tried_at) / 2 &&
                    strcmp(t->refresh_result, "ok") == 0)
                        next = t->refresh_tried_at + (expires - t->refresh_tried_at) / 2;
        }
        if (e && e->report.hold_until > next)
                next = e->report.hold_until;
        return next;
}

void refresher_reports_health(const RefresherReports *rr, int64_t now_ms, JsonOut *reply) {
        RefresherReport sum = {};
        int64_t received = 0, oldest = INT64_MAX, held = 0, stale = 0;

        if (rr->n == 0)
                return;
        for (size_t i = 0; i < rr->n; i++) {
                const RefresherReport *r = &rr->items[i].report;
                if (rr->items[i].received_at > received)
                        received = rr->items[i].received_at;
                if (rr->items[i].received_at < oldest)
                        oldest = rr->items[i].received_at;
                if (report_stale(&rr->items[i], now_ms))
                        stale++;
                if (r->last_run > sum.last_run)
                        sum.last_run = r->last_run;
                if (r->next_run && (!sum.next_run || r->next_run < sum.next_run))
                        sum.next_run = r->next_run;
                if (r->hold_until > now_ms)
                        held++;
                sum.refreshed += r->refreshed;
                sum.already_fresh += r->already_fresh;
                sum.reauth += r->reauth;
                sum.transient += r->transient;
                sum.oauth_errors += r->oauth_errors;
                sum.vault_errors += r->vault_errors;
        }
        json_out_open_object(reply, "refresher");
        json_out_int(reply, "plugins", (int64_t) rr->n);
        json_out_int(reply, "reported_at", received);
        /* One plugin's refresher cannot hide another's silence. */
        json_out_int(reply, "oldest_report_at", oldest);
        json_out_int(reply, "stale", stale);
        if (sum.last_run)
                json_out_int(reply, "last_run", sum.last_run);
        if (sum.next_run)
                json_out_int(reply, "next_run", sum.next_run);
        json_out_int(reply, "refreshed", sum.refreshed);
        json_out_int(reply, "already_fresh", sum.already_fresh);
        json_out_open_object(reply, "failures");
        json_out_int(reply, "reauth_required", sum.reauth);
        json_out_int(reply, "transient", sum.transient);
        json_out_int(reply, "oauth", sum.oauth_errors);
        json_out_int(reply, "vault", sum.vault_errors);
        json_out_close_object(reply);
        json_out_int(reply, "held", held);
        json_out_close_object(reply);
}
