/* ops-secret.c — health and the secret operations (see credvault.h).
 *
 * Each checks its arguments with the daemon's own rules, writes its request
 * straight into the client's frame buffer, and reads the reply in place.
 * A value is copied out into caller-owned memory before the buffers are
 * wiped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"
#include "secret-buf.h"

int cv_health(CvClient *c, CvHealth *ret) {
        Reply reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        client_request(c, "health");
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        *ret = (CvHealth) {};
        const char *version = reply_string(&reply, "version", NULL);
        snprintf(ret->version, sizeof(ret->version), "%s", version ?: "");
        ret->uptime_sec = reply_int(&reply, "uptime", 0);
        ret->connections = reply_int(&reply, "connections", 0);
        json_t *keyring = reply_json(&reply, "keyring");
        ret->kek_primary = json_integer_value(json_object_get(keyring, "primary"));
        ret->keks = json_integer_value(json_object_get(keyring, "keks"));
        ret->secrets = reply_int(&reply, "secrets", 0);
        ret->tokens = reply_int(&reply, "tokens", 0);
        reply_done(&reply);
        return 0;
}

static int check_plugin_name(CvClient *c, const char *plugin, const char *name) {
        int r = check_name(c, "plugin", plugin);
        return r < 0 ? r : check_name(c, "name", name);
}

int cv_secret_put(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                  int64_t *ret_version) {
        int r;

        if (!c || (!value && value_size > 0))
                return -EINVAL;
        r = check_plugin_name(c, plugin, name);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, "secret.put");
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "name", name);
        r = out_value(c, o, "value", value, value_size);
        return r < 0 ? r : send_for_version(c, ret_version);
}

/* A CvSecret from a reply's base64 "value". */
static int secret_from_reply(CvClient *c, const Reply *reply, CvSecret **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        size_t b64_size = 0;
        const char *b64 = reply_string(reply, "value", &b64_size);

        if (!b64 || secret_buf_from_base64(b64, b64_size, &value) < 0)
                return client_fail(c, -EPROTO, "protocol", "credvaultd sent a value that is not base64");
        CvSecret *s = calloc(1, sizeof(CvSecret));
        if (s)
                s->value = malloc(value->size + 1);
        if (!s || !s->value) {
                free(s);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        memcpy(s->value, value->data, value->size + 1);
        s->value_size = value->size;
        s->version = reply_int(reply, "version", 0);
        s->created = reply_int(reply, "created", 0);
        s->updated = reply_int(reply, "updated", 0);
        *ret = s;
        return 0;
}

int cv_secret_get(CvClient *c, const char *plugin, const char *name, CvSecret **ret) {
        Reply reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = check_plugin_name(c, plugin, name);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, "secret.get");
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "name", name);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = secret_from_reply(c, &reply, ret);
        reply_done(&reply);
        return r;
}

int cv_secret_generate(CvClient *c, const char *plugin, const char *name, size_t bytes, CvSecret **ret) {
        Reply reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = check_plugin_name(c, plugin, name);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, "secret.generate");
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "name", name);
        if (bytes > 0)
                json_out_int(o, "bytes", (int64_t) bytes);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = secret_from_reply(c, &reply, ret);
        reply_done(&reply);
        return r;
}

void cv_secret_free(CvSecret *s) {
        if (!s)
                return;
        cv_free_wiped(s->value, s->value_size);
        free(s);
}

/* A verify-like reply: {"match": bool, "version": N}. */
static int match_from_reply(CvClient *c, int r, Reply *reply, int64_t *ret_version) {
        if (r < 0)
                return r;
        bool match = reply_bool(reply, "match");
        if (ret_version)
                *ret_version = match ? reply_int(reply, "version", 0) : 0;
        reply_done(reply);
        (void) c;
        return match ? 1 : 0;
}

int cv_secret_verify(CvClient *c, const char *plugin, const char *name, const char *authorization,
                     int64_t *ret_version) {
        Reply reply;
        int r;

        if (!c || !authorization)
                return -EINVAL;
        r = check_plugin_name(c, plugin, name);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, "secret.verify");
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "name", name);
        json_out_cstring(o, "authorization", authorization);
        r = client_send(c, &reply);
        return match_from_reply(c, r, &reply, ret_version);
}

int cv_secret_verify_value(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                           int64_t *ret_version) {
        Reply reply;
        int r;

        if (!c || (!value && value_size > 0))
                return -EINVAL;
        r = check_plugin_name(c, plugin, name);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, "secret.verify");
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "name", name);
        r = out_value(c, o, "value", value, value_size);
        if (r < 0)
                return r;
        r = client_send(c, &reply);
        return match_from_reply(c, r, &reply, ret_version);
}

int delete_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key) {
        Reply reply;
        JsonOut *o = client_request(c, op);
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, key_field, key);
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        reply_done(&reply);
        return 0;
}

int cv_secret_delete(CvClient *c, const char *plugin, const char *name) {
        if (!c)
                return -EINVAL;
        int r = check_plugin_name(c, plugin, name);
        return r < 0 ? r : delete_record(c, "secret.delete", plugin, "name", name);
}

static int add_secret_info(json_t *item, void *entry) {
        CvSecretInfo *e = entry;
        const char *plugin, *name;
        if (json_unpack(item, "{s:s s:s}", "plugin", &plugin, "name", &name) < 0)
                return -EPROTO;
        e->plugin = strdup(plugin);
        e->name = strdup(name);
        e->version = json_integer_value(json_object_get(item, "version"));
        e->created = json_integer_value(json_object_get(item, "created"));
        e->updated = json_integer_value(json_object_get(item, "updated"));
        return e->plugin && e->name ? 0 : -ENOMEM;
}

static void free_secret_infos(void *items, size_t n) {
        cv_secret_info_free(items, n);
}

int cv_secret_list(CvClient *c, const char *plugin, CvSecretInfo **ret_items) {
        if (!c || !ret_items)
                return -EINVAL;
        if (plugin) {
                int r = check_name(c, "plugin", plugin);
                if (r < 0)
                        return r;
        }
        return list_all(c, "secret.list", plugin, "secrets", sizeof(CvSecretInfo), add_secret_info, free_secret_infos,
                        NULL, NULL, (void **) ret_items);
}

void cv_secret_info_free(CvSecretInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++) {
                free(items[i].plugin);
                free(items[i].name);
        }
        free(items);
}

int cv_call_json(CvClient *c, const char *request_json, char **ret_reply_json) {
        json_t *req;
        json_error_t e;

        if (!c || !request_json || !ret_reply_json)
                return -EINVAL;
        req = json_loads(request_json, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(req)) {
                json_wipe_decref(req);
                return client_fail(c, -EINVAL, "bad_request", "request is not a JSON object");
        }
        return client_call_text(c, req, ret_reply_json);
}
