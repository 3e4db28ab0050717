/* dispatch-deferred.c — requests whose reply waits for work done in steps
 * between other requests (a backup; see dispatch.h, DeferredWork). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dispatch-internal.h"
#include "log.h"
#include "rates.h"

int dispatch_defer(Context *ctx, const DeferredWork *work, void *data) {
        if (ctx->deferred.work || !ctx->request_tag) {
                work->free(data);
                return ctx->deferred.work ? -EBUSY : -EOPNOTSUPP;
        }
        ctx->deferred = (DispatchDeferred) { .work = work, .data = data, .tag = ctx->request_tag, .result = 1 };
        return 0;
}

bool dispatch_deferred_wanted(const Context *ctx) {
        return ctx->deferred.work && ctx->deferred.result > 0;
}

int dispatch_deferred_step(Context *ctx) {
        DispatchDeferred *d = &ctx->deferred;
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };

        if (!dispatch_deferred_wanted(ctx))
                return 0;
        dispatch_group_end(ctx);
        int r = d->work->step(ctx, d->data, &f);
        if (r < 0)
                snprintf(d->message, sizeof(d->message), "%s", f.message);
        d->result = r > 0 ? 1 : r;
        return r > 0;
}

static void deferred_end(DispatchDeferred *d) {
        d->work->free(d->data);
        *d = (DispatchDeferred) {};
}

void *dispatch_deferred_reply(Context *ctx, JsonOut *out) {
        DispatchDeferred *d = &ctx->deferred;
        Failure f = { .retry_after_ms = -1, .expires_at = -1 };

        if (!d->work || d->result > 0)
                return NULL;
        int r = d->result;
        if (r < 0)
                snprintf(f.message, sizeof(f.message), "%s", d->message);
        else {
                json_out_open_object(out, NULL);
                json_out_int(out, "id", (int64_t) d->id);
                json_out_bool(out, "ok", true);
                r = d->work->reply(ctx, d->data, out, &f);
                json_out_close_object(out);
                if (r >= 0 && json_out_finish(out) < 0) {
                        failure_set(&f, "reply too large");
                        r = -EIO;
                }
        }
        dispatch_entry_result(&d->entry, r, false);
        int q = dispatch_record(ctx, NULL, r, &d->entry, true, false);
        /* A copy of the whole vault whose record is not on disk is not
         * given: its record is written now, before the answer (fail
         * closed, as a request's own write is refused without its
         * record). The file holds the copy, but the client is told to
         * remove it. */
        if (q >= 0 && r >= 0)
                q = vault_audit_flush(ctx->vault);
        if (q < 0 && r >= 0) {
                log_error("%s: the audit trail cannot record it: %s; the copy is refused", d->entry.op, strerror(-q));
                failure_set(&f, "the audit trail cannot record the %s (%s): remove the file", d->entry.op,
                            strerror(-q));
                r = -EIO;
        }
        if (r < 0) {
                if (!dispatch_error_is_expected(r))
                        log_error("%s failed: %s", d->entry.op, strerror(-r));
                dispatch_error_reply(out, d->has_id, d->id, r, &f);
        }
        void *tag = d->tag;
        deferred_end(d);
        return tag;
}

void dispatch_deferred_cancel(Context *ctx, void *tag) {
        DispatchDeferred *d = &ctx->deferred;

        if (!d->work || d->tag != tag)
                return;
        log_info("%s cancelled: the client is gone", d->entry.op);
        dispatch_entry_set(d->entry.result, sizeof(d->entry.result), "cancelled");
        (void) dispatch_record(ctx, NULL, -ECANCELED, &d->entry, true, false);
        deferred_end(d);
}
