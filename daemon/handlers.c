/* handlers.c — one function per op: checked Request in, reply fields out.
 *
 * Handlers go down the path only: vault for values, store for metadata.
 * Plaintext they touch (a value being encoded, a token set being parsed)
 * lives in a SecretBuf or in jansson memory, both wiped on free. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "proto-limits.h"

#ifndef CREDVAULT_VERSION
#define CREDVAULT_VERSION "0"
#endif

static int set_new(json_t *obj, const char *key, json_t *value) {
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

static int set_meta(json_t *reply, const StoredRecord *m) {
        if (set_new(reply, "version", json_integer(m->version)) < 0 ||
            set_new(reply, "created", json_integer(m->created_at)) < 0 ||
            set_new(reply, "updated", json_integer(m->updated_at)) < 0)
                return -ENOMEM;
        if (m->has_expires_at && set_new(reply, "expires_at", json_integer(m->expires_at)) < 0)
                return -ENOMEM;
        return 0;
}

static int not_found(int r, char *errbuf, size_t errbuf_size, const char *what, const Request *req) {
        if (r == -ENOENT)
                snprintf(errbuf, errbuf_size, "no %s '%s' for plugin '%s'", what, req->name ?: req->user,
                         req->plugin);
        return r;
}

int handle_health(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        int64_t n_secrets = 0, n_tokens = 0;
        uint64_t now = 0;
        int r;

        (void) req, (void) errbuf, (void) errbuf_size;
        r = store_record_count(ctx->vault->store, RECORD_SECRET, &n_secrets);
        if (r >= 0)
                r = store_record_count(ctx->vault->store, RECORD_TOKEN, &n_tokens);
        if (r < 0)
                return r;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;

        json_t *info = json_pack("{s:s s:I s:I s:{s:I s:I} s:I s:I}", "version", CREDVAULT_VERSION, "uptime",
                                 (json_int_t) ((now - ctx->started_usec) / 1000000), "connections",
                                 (json_int_t) ctx->n_connections, "keyring", "primary",
                                 (json_int_t) keyring_primary(ctx->vault->keyring)->version, "keks",
                                 (json_int_t) keyring_size(ctx->vault->keyring), "secrets", (json_int_t) n_secrets,
                                 "tokens", (json_int_t) n_tokens);
        if (!info || json_object_update(reply, info) < 0) {
                json_decref(info);
                return -ENOMEM;
        }
        json_decref(info);
        return 0;
}

int handle_secret_put(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        StoredRecord meta = {};
        int r;

        (void) errbuf, (void) errbuf_size;
        r = vault_put(ctx->vault, RECORD_SECRET, req->plugin, req->name, req->value->data, req->value->size, -1,
                      &meta);
        if (r < 0)
                return r;
        return set_meta(reply, &meta);
}

int handle_secret_get(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL, *b64 = NULL;
        StoredRecord meta = {};
        int r;

        r = vault_get(ctx->vault, RECORD_SECRET, req->plugin, req->name, &value, &meta);
        if (r < 0)
                return not_found(r, errbuf, errbuf_size, "secret", req);
        r = secret_buf_to_base64(value->data, value->size, &b64);
        if (r < 0)
                return r;
        r = set_new(reply, "value", json_stringn((const char *) b64->data, b64->size));
        if (r < 0)
                return r;
        return set_meta(reply, &meta);
}

int handle_secret_delete(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        (void) reply;
        return not_found(vault_delete(ctx->vault, RECORD_SECRET, req->plugin, req->name), errbuf, errbuf_size,
                         "secret", req);
}

/* One page of metadata. The cursor of the last item is returned as "next"
 * when more may follow: one extra row is fetched to know. */
static int list_page(Context *ctx, RecordKind kind, const Request *req, const char *after_plugin,
                     const char *after_name, const char *items_key, json_t *reply) {
        StoredRecord *items = NULL;
        size_t n = 0;
        int r;

        r = store_record_list(ctx->vault->store, kind, req->plugin, after_plugin, after_name, req->limit + 1,
                              &items, &n);
        if (r < 0)
                return r;

        json_t *array = json_array();
        r = set_new(reply, items_key, array);
        for (size_t i = 0; r >= 0 && i < n && i < req->limit; i++) {
                json_t *item = json_object();
                r = json_array_append_new(array, item) < 0 ? -ENOMEM : 0;
                if (r >= 0 && kind == RECORD_SECRET)
                        r = set_new(item, "plugin", json_string(items[i].plugin)) ?:
                                set_new(item, "name", json_string(items[i].name));
                else if (r >= 0)
                        r = set_new(item, "user", json_string(items[i].name));
                if (r >= 0)
                        r = set_meta(item, &items[i]);
        }
        if (r >= 0) {
                json_t *next = json_null();
                if (n > req->limit) {
                        const StoredRecord *last = &items[req->limit - 1];
                        char cursor[CURSOR_SIZE_MAX + 1];
                        if (kind == RECORD_SECRET)
                                snprintf(cursor, sizeof(cursor), "%s/%s", last->plugin, last->name);
                        else
                                snprintf(cursor, sizeof(cursor), "%s", last->name);
                        next = json_string(cursor);
                }
                r = set_new(reply, "next", next);
        }
        stored_records_free(items, n);
        return r;
}

int handle_secret_list(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        char after_plugin[NAME_SIZE_MAX + 1] = "", *after_name = NULL;

        if (req->after) {
                /* "plugin/name": '/' is not in the name alphabet, so the
                 * split is unambiguous. */
                const char *slash = strchr(req->after, '/');
                if (!slash || (size_t) (slash - req->after) > NAME_SIZE_MAX) {
                        snprintf(errbuf, errbuf_size, "field 'after': not a cursor from secret.list");
                        return -EBADMSG;
                }
                memcpy(after_plugin, req->after, (size_t) (slash - req->after));
                after_name = (char *) slash + 1;
        }
        return list_page(ctx, RECORD_SECRET, req, after_plugin, after_name, "secrets", reply);
}

int handle_token_put(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        int r;

        (void) errbuf, (void) errbuf_size;
        size_t size = json_dumpb(req->token, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
        r = secret_buf_new(size, &text);
        if (r < 0)
                return r;
        if (json_dumpb(req->token, (char *) text->data, size, JSON_COMPACT | JSON_SORT_KEYS) != size)
                return -EIO;
        r = vault_put(ctx->vault, RECORD_TOKEN, req->plugin, req->user, text->data, text->size,
                      json_is_integer(json_object_get(req->token, "expires_at"))
                              ? json_integer_value(json_object_get(req->token, "expires_at"))
                              : -1,
                      &meta);
        if (r < 0)
                return r;
        return set_meta(reply, &meta);
}

int handle_token_get(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        _cleanup_(secret_buf_freep) SecretBuf *text = NULL;
        StoredRecord meta = {};
        int r;

        r = vault_get(ctx->vault, RECORD_TOKEN, req->plugin, req->user, &text, &meta);
        if (r < 0)
                return not_found(r, errbuf, errbuf_size, "token set for user", req);
        json_t *token = json_loadb((const char *) text->data, text->size, 0, NULL);
        if (!token)
                return -EUCLEAN; /* authenticated but unparsable: not ours */
        r = set_new(reply, "token", token);
        if (r < 0)
                return r;
        return set_meta(reply, &meta);
}

int handle_token_list(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        (void) errbuf, (void) errbuf_size;
        return list_page(ctx, RECORD_TOKEN, req, req->after ? req->plugin : NULL, req->after, "tokens", reply);
}

int handle_token_delete(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size) {
        (void) reply;
        return not_found(vault_delete(ctx->vault, RECORD_TOKEN, req->plugin, req->user), errbuf, errbuf_size,
                         "token set for user", req);
}
