/* handlers-credential.c — the credential ops: checking service tokens
 * (secret.verify), OAuth client credentials and users' API keys, and
 * generating fresh service tokens. Checked Request in, one vault call,
 * reply members out.
 *
 * Never: compares, hashes or sees a stored value (the vault does, and
 * answers match or no match), touches storage or opens a transaction. */
#include <errno.h>
#include <stdlib.h>

#include "dispatch.h"
#include "handlers.h"

/* What the request presents: its value, or else its Authorization header,
 * which the vault reads in the plugin's scheme. */
static Presented request_presented(const Request *req) {
        return (Presented) {
                .value = req->value ? req->value->data : NULL,
                .size = req->value ? req->value->size : 0,
                .authorization = req->authorization,
        };
}

int handle_secret_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Presented p = request_presented(req);
        StoredRecord meta = {};
        RecordStage stage = RECORD_STAGE_CURRENT;
        bool match = false;
        int r;

        r = vault_secret_verify_stage(ctx->vault, req->plugin, req->name, &p, &match, &meta, &stage);
        if (r < 0)
                return handlers_not_found(r, f, "secret", req);
        json_out_bool(reply, "match", match);
        if (match) {
                json_out_int(reply, "version", meta.version);
                json_out_cstring(reply, "stage", stage == RECORD_STAGE_PREVIOUS ? "previous" : "current");
        }
        return 0;
}

int handle_secret_generate(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        int r;

        (void) f;
        r = vault_secret_generate(ctx->vault, req->plugin, req->name, (size_t) req->bytes, &text, &meta);
        if (r < 0)
                return r;
        r = handlers_reply_value(reply, "value", text);
        if (r < 0)
                return r;
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_oauth_verify_client(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        const char *missing = NULL;
        bool match = false;
        int r;

        r = vault_oauth_client_check(ctx->vault, req->plugin, req->client_id, req->client_secret, req->authorization,
                                     &match, &missing);
        if (r < 0) {
                if (r == -ENOENT && missing)
                        failure_set(f, "plugin '%s' has no %s stored", req->plugin, missing);
                return r;
        }
        json_out_bool(reply, "match", match);
        return 0;
}

int handle_apikey_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredRecord meta = {};
        int r;

        r = vault_apikey_put(ctx->vault, req->plugin, req->user, req->value->data, req->value->size, &meta);
        /* The vault's -EINVAL is an empty key, a malformed request: the
         * same bad_request as ever, with its -EBADMSG in the audit log. */
        if (r == -EINVAL) {
                failure_set(f, "field 'value': an API key must not be empty");
                return -EBADMSG;
        }
        if (r == -EEXIST)
                failure_set(f, "this key already belongs to another user of plugin '%s'", req->plugin);
        if (r < 0)
                return r;
        handlers_reply_meta(reply, &meta);
        return 0;
}

int handle_apikey_lookup(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Presented p = request_presented(req);
        _cleanup_(freep) char *user = NULL;
        int r;

        (void) f;
        r = vault_apikey_lookup(ctx->vault, req->plugin, &p, &user);
        if (r < 0)
                return r;
        json_out_cstring(reply, "user", user);
        return 0;
}

int handle_apikey_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) f;
        return handlers_list_page(ctx, RECORD_APIKEY, req, req->after ? req->plugin : NULL, req->after, "apikeys",
                                  reply);
}

int handle_apikey_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        (void) reply;
        return handlers_not_found(vault_apikey_delete(ctx->vault, req->plugin, req->user), f, "API key for user", req);
}
