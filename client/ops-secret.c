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
        const char *version = client_reply_string(&reply, "version", NULL);
        snprintf(ret->version, sizeof(ret->version), "%s", version ?: "");
        ret->uptime_sec = client_reply_int(&reply, "uptime", 0);
        ret->connections = client_reply_int(&reply, "connections", 0);
        json_t *keyring = client_reply_json(&reply, "keyring");
        ret->kek_primary = json_integer_value(json_object_get(keyring, "primary"));
        ret->keks = json_integer_value(json_object_get(keyring, "keks"));
        ret->secrets = client_reply_int(&reply, "secrets", 0);
        ret->tokens = client_reply_int(&reply, "tokens", 0);
        client_reply_done(&reply);
        return 0;
}

/* Start op on plugin's secret name with a value (secret.put, and
 * secret.verify of a bare value). */
static int request_with_value(CvClient *c, const char *op, const char *plugin, const char *name, const void *value,
                              size_t value_size) {
        JsonOut *o;

        if (!c || (!value && value_size > 0))
                return -EINVAL;
        int r = client_request_record(c, op, plugin, "name", name, &o);
        return r < 0 ? r : client_out_value(c, o, "value", value, value_size);
}

int cv_secret_put(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                  int64_t *ret_version) {
        int r = request_with_value(c, "secret.put", plugin, name, value, value_size);
        return r < 0 ? r : client_send_for_version(c, ret_version);
}

/* A CvSecret from a reply's base64 "value". */
static int secret_from_reply(CvClient *c, const Reply *reply, CvSecret **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        size_t b64_size = 0;
        const char *b64 = client_reply_string(reply, "value", &b64_size);

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
        s->version = client_reply_int(reply, "version", 0);
        s->created = client_reply_int(reply, "created", 0);
        s->updated = client_reply_int(reply, "updated", 0);
        *ret = s;
        return 0;
}

/* Send the request built and hand back the secret its reply carries. */
static int send_for_secret(CvClient *c, CvSecret **ret) {
        Reply reply;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = secret_from_reply(c, &reply, ret);
        client_reply_done(&reply);
        return r;
}

int cv_secret_get(CvClient *c, const char *plugin, const char *name, CvSecret **ret) {
        JsonOut *o;

        if (!c || !ret)
                return -EINVAL;
        int r = client_request_record(c, "secret.get", plugin, "name", name, &o);
        return r < 0 ? r : send_for_secret(c, ret);
}

int cv_secret_generate(CvClient *c, const char *plugin, const char *name, size_t bytes, CvSecret **ret) {
        JsonOut *o;

        if (!c || !ret)
                return -EINVAL;
        int r = client_request_record(c, "secret.generate", plugin, "name", name, &o);
        if (r < 0)
                return r;
        if (bytes > 0)
                json_out_int(o, "bytes", (int64_t) bytes);
        return send_for_secret(c, ret);
}

void cv_secret_free(CvSecret *s) {
        if (!s)
                return;
        cv_free_wiped(s->value, s->value_size);
        free(s);
}

/* Send the request built and read a verify-like reply: {"match": bool,
 * "version": N}. */
static int send_for_match(CvClient *c, int64_t *ret_version) {
        Reply reply;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        bool match = client_reply_bool(&reply, "match");
        if (ret_version)
                *ret_version = match ? client_reply_int(&reply, "version", 0) : 0;
        client_reply_done(&reply);
        return match ? 1 : 0;
}

int cv_secret_verify(CvClient *c, const char *plugin, const char *name, const char *authorization,
                     int64_t *ret_version) {
        JsonOut *o;

        if (!c || !authorization)
                return -EINVAL;
        int r = client_request_record(c, "secret.verify", plugin, "name", name, &o);
        if (r < 0)
                return r;
        json_out_cstring(o, "authorization", authorization);
        return send_for_match(c, ret_version);
}

int cv_secret_verify_value(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                           int64_t *ret_version) {
        int r = request_with_value(c, "secret.verify", plugin, name, value, value_size);
        return r < 0 ? r : send_for_match(c, ret_version);
}

int cv_secret_delete(CvClient *c, const char *plugin, const char *name) {
        return c ? client_delete_record(c, "secret.delete", plugin, "name", name) : -EINVAL;
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
                int r = client_check_name(c, "plugin", plugin);
                if (r < 0)
                        return r;
        }
        return client_list_all(c, "secret.list", plugin, "secrets", sizeof(CvSecretInfo), add_secret_info,
                               free_secret_infos, NULL, NULL, (void **) ret_items);
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
                client_json_wipe_decref(req);
                return client_fail(c, -EINVAL, "bad_request", "request is not a JSON object");
        }
        return client_call_text(c, req, ret_reply_json);
}
