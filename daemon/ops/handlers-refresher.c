/* handlers-refresher.c — refresher.report: a refresher's word on one
 * plugin's schedule and counts, kept in memory (refresher-reports.h) for
 * token.list's next attempts and health.
 *
 * The policy's refresh class on the plugin admits it, as it admits the
 * refresh itself: whoever may refresh a plugin's sets may say when it
 * will. */
#include <errno.h>

#include "dispatch.h"
#include "handlers.h"
#include "time-util.h"

int handle_refresher_report(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        int64_t now = time_realtime_ms();
        /* A report of a plugin that is not registered would sit in memory
         * for nothing, and hides a refresher's wrong configuration. */
        int r = vault_plugin_registered(ctx->vault, req->plugin);
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
