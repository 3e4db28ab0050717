/* handlers-secret.c — health and the secret ops: checked Request in, one
 * vault call, reply members out.
 *
 * A value leaves here base64-encoded straight into the reply buffer, which
 * the connection wipes once it is sent. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"
#include "time-util.h"
#include "version.h"

int handle_health(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        VaultStats stats;
        int r;

        (void) req, (void) f;
        r = vault_stats(ctx->vault, &stats);
        if (r < 0)
                return r;
        json_out_cstring(reply, "version", CREDVAULT_VERSION);
        json_out_int(reply, "uptime", (int64_t) ((time_monotonic_usec() - ctx->started_usec) / USEC_PER_SEC));
        json_out_int(reply, "connections", ctx->n_connections);
        json_out_open_object(reply, "keyring");
        json_out_int(reply, "primary", stats.kek_primary);
        json_out_int(reply, "keks", stats.n_keks);
        json_out_close_object(reply);
        json_out_int(reply, "secrets", stats.secrets);
        json_out_int(reply, "tokens", stats.tokens);
        /* Group commit at work: writes per commit (write-group.c). */
        json_out_open_object(reply, "write_groups");
        json_out_int(reply, "commits", (int64_t) ctx->group.commits);
        json_out_int(reply, "writes", (int64_t) ctx->group.writes);
        json_out_int(reply, "failed", (int64_t) ctx->group.failed);
        json_out_close_object(reply);
        refresher_reports_health(&ctx->refresher_reports, time_realtime_ms(), reply);
        r = handlers_reply_revocations(ctx, reply);
        if (r < 0)
                return r;
        handlers_reply_state(ctx, reply);
        return 0;
}

int handle_secret_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRecord meta = {};
        (void) f;
        int r = vault_secret_put(ctx->vault, req->plugin, req->name, req->value->data, req->value->size, &meta);
        if (r < 0)
                return r;
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_secret_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        StoredRecord meta = {};
        int r;

        if (req->stage != SECRET_STAGE_CURRENT)
                return handle_secret_get_stage(ctx, req, reply, f);
        r = vault_secret_get(ctx->vault, req->plugin, req->name, &value, &meta);
        if (r < 0)
                return handlers_not_found(r, f, "secret", req);
        r = handlers_reply_value(reply, "value", value);
        if (r < 0)
                return r;
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_secret_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) reply;
        return handlers_not_found(vault_secret_delete(ctx->vault, req->plugin, req->name), f, "secret", req);
}

int handle_secret_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        char after_plugin[NAME_SIZE_MAX + 1] = "";
        const char *after_name = NULL;

        if (req->after) {
                /* "plugin/name": '/' is not in the name alphabet, so the
                 * split is unambiguous. */
                const char *slash = strchr(req->after, '/');
                if (!slash || (size_t) (slash - req->after) > NAME_SIZE_MAX) {
                        failure_set(f, "field 'after': not a cursor from secret.list");
                        return -EBADMSG;
                }
                memcpy(after_plugin, req->after, (size_t) (slash - req->after));
                after_name = slash + 1;
        }
        return handlers_list_page(ctx, RECORD_SECRET, req, after_plugin, after_name, "secrets", reply);
}
