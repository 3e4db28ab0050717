/* handlers-policy.c — how the daemon sees its callers: whoami, and the
 * policy's and the audit trail's state in health. */
#include <errno.h>

#include "dispatch.h"
#include "handlers.h"

int handle_whoami(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        json_t *d = NULL;
        const char *key;
        json_t *v;

        (void) req, (void) f;
        int r = policy_describe(ctx->policy, ctx->peer, &d);
        if (r < 0)
                return r;
        /* Admins no entry names are not rate-limited (dispatch.c's
         * admit()): say so rather than show the default they escape. */
        if (policy_is_admin(ctx->policy, ctx->peer) && policy_principal_find(ctx->policy, ctx->peer) < 0)
                json_object_set_new(d, "rate_limit", json_null());
        json_object_foreach(d, key, v)
                json_out_json(reply, key, v);
        json_decref(d);
        json_out_open_object(reply, "policy");
        json_out_cstring(reply, "file", ctx->policy_path);
        json_out_bool(reply, "admins_only", !ctx->policy_path);
        json_out_close_object(reply);
        return 0;
}

void handlers_reply_state(Context *ctx, JsonOut *reply) {
        char buf[HANDLERS_AUDIT_ERROR_SIZE];
        VaultAuditStatus st;

        json_out_open_object(reply, "policy");
        json_out_cstring(reply, "file", ctx->policy_path);
        json_out_bool(reply, "admins_only", !ctx->policy_path);
        json_out_int(reply, "loaded_at", ctx->policy_loaded_at);
        json_out_int(reply, "principals", (int64_t) policy_principal_count(ctx->policy));
        if (ctx->policy_error[0])
                json_out_cstring(reply, "reload_error", ctx->policy_error);
        json_out_close_object(reply);

        vault_audit_status(ctx->vault, &st);
        json_out_open_object(reply, "audit");
        json_out_bool(reply, "ok", !st.failing);
        if (st.failing)
                json_out_cstring(reply, "error", handlers_audit_error_text(&st, buf, sizeof(buf)));
        json_out_int(reply, "queued", (int64_t) st.queued);
        json_out_int(reply, "last_seq", st.last_seq);
        json_out_close_object(reply);
}
