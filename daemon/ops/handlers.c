/* handlers.c — the reply pieces every handler file shares (see
 * handlers.h): record metadata, values, "not found" and list pages, the
 * same for every op. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "handlers.h"

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
