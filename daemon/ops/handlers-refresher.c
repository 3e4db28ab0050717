/* handlers-refresher.c — refresher.report: a refresher's word on one
 * plugin's schedule and counts, kept in memory (refresher-reports.h) for
 * token.list's next attempts and health.
 *
 * The policy's refresh class on the plugin admits it, as it admits the
 * refresh itself: whoever may refresh a plugin's sets may say when it
 * will. */
#include <errno.h>

#include "macro.h"
#include "dispatch.h"
#include "handlers.h"
#include "time-util.h"

/* Clocks differ a little between processes; more than this ahead is a
 * lie or a broken clock. */
#define SKEW_MS (5 * 60 * 1000LL)
/* The furthest a next pass can be: a lead before an expiry a year away. */
#define NEXT_RUN_AHEAD_MAX_MS (366 * 86400 * 1000LL)
/* The longest wait a provider can impose on the refresher: its longest
 * Retry-After (an hour) and back-off (15 minutes), well within a day. */
#define HOLD_AHEAD_MAX_MS (86400 * 1000LL)

/* The report's times against the daemon's clock: none of the past ones
 * in the future, none of the future ones beyond what a refresher can
 * mean. A report is shown to every caller of health and token.list, so a
 * time that would make a dead refresher look alive (a last run in 9999)
 * is refused rather than shown. */
static int report_times_check(const RefresherReport *r, int64_t now, Failure *f) {
        const struct {
                const char *name;
                int64_t value, max;
        } times[] = {
                { "started", r->started, now + SKEW_MS },
                { "last_run", r->last_run, now + SKEW_MS },
                { "next_run", r->next_run, now + NEXT_RUN_AHEAD_MAX_MS },
                { "hold_until", r->hold_until, now + HOLD_AHEAD_MAX_MS },
        };
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                if (times[i].value > times[i].max) {
                        failure_set(f, "field 'report.%s': later than the daemon's clock allows", times[i].name);
                        return -EBADMSG;
                }
        return 0;
}

int handle_refresher_report(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        int64_t now = time_realtime_ms();
        int r = report_times_check(&req->report, now, f);
        if (r < 0)
                return r;
        /* A report of a plugin that is not registered would sit in memory
         * for nothing, and hides a refresher's wrong configuration. */
        r = vault_plugin_registered(ctx->vault, req->plugin);
        if (r == -ENOENT)
                failure_set(f, "plugin '%s' is not registered", req->plugin);
        if (r < 0)
                return r;
        r = refresher_reports_put(&ctx->refresher_reports, req->plugin, &req->report, now);
        if (r < 0)
                return r;
        json_out_int(reply, "received_at", now);
        return 0;
}
