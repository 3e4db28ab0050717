/* handlers-secret.c — health and the secret ops: checked Request in, one
 * vault call, reply members out; and the reply pieces every handler file
 * shares (handlers.h).
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

void handlers_reply_meta(JsonOut *reply, const StoredRecord *m) {
        json_out_int(reply, "version", m->version);
        json_out_int(reply, "created", m->created_at);
        json_out_int(reply, "updated", m->updated_at);
        if (m->has_expires_at)
                json_out_int(reply, "expires_at", m->expires_at);
}

int handlers_not_found(int r, Failure *f, const char *what, const Request *req) {
        if (r == -ENOENT)
                failure_set(f, "no %s '%s' for plugin '%s'", what, req->name ?: req->user, req->plugin);
        return r;
}

int handlers_reply_value(JsonOut *reply, const char *key, const SecretBuf *value) {
        _cleanup_(secret_buf_freep) SecretBuf *b64 = NULL;
        int r = secret_buf_to_base64(value->data, value->size, &b64);
        if (r < 0)
                return r;
        json_out_string_plain(reply, key, (const char *) b64->data, b64->size);
        return 0;
}

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

int handlers_list_page(Context *ctx, RecordKind kind, const Request *req, const char *after_plugin,
                       const char *after_name, const char *items_key, JsonOut *reply) {
        StoredRecord *items = NULL;
        size_t n = 0;
        int r;

        /* One extra row says whether another page follows. */
        r = vault_record_list(ctx->vault, kind, req->plugin, after_plugin, after_name, req->limit + 1, &items, &n);
        if (r < 0)
                return r;

        json_out_open_array(reply, items_key);
        for (size_t i = 0; i < n && i < req->limit; i++) {
                json_out_open_object(reply, NULL);
                if (kind == RECORD_SECRET) {
                        json_out_cstring(reply, "plugin", items[i].plugin);
                        json_out_cstring(reply, "name", items[i].name);
                } else
                        json_out_cstring(reply, "user", items[i].name);
                handlers_reply_meta(reply, &items[i]);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        if (n > req->limit) {
                const StoredRecord *last = &items[req->limit - 1];
                char cursor[CURSOR_SIZE_MAX + 1];
                if (kind == RECORD_SECRET)
                        snprintf(cursor, sizeof(cursor), "%s/%s", last->plugin, last->name);
                else
                        snprintf(cursor, sizeof(cursor), "%s", last->name);
                json_out_cstring(reply, "next", cursor);
        } else
                json_out_null(reply, "next");
        stored_records_free(items, n);
        return 0;
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
