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
#include "utf8.h"

int cv_health(CvClient *c, CvHealth *ret) {
        Reply reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        client_request(c, "health");
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        CvHealth h = {};
        const char *version;
        json_t *keyring = client_reply_json(&reply, "keyring");
        r = client_reply_string(&reply, "version", false, &version, NULL);
        if (r >= 0)
                r = client_reply_int(&reply, "uptime", &h.uptime_sec);
        if (r >= 0)
                r = client_reply_int(&reply, "connections", &h.connections);
        if (r >= 0)
                r = client_reply_int(&reply, "secrets", &h.secrets);
        if (r >= 0)
                r = client_reply_int(&reply, "tokens", &h.tokens);
        if (r >= 0 &&
            (client_json_int(keyring, "primary", &h.kek_primary) < 0 || client_json_int(keyring, "keks", &h.keks) < 0))
                r = client_fail_protocol(c, "member 'keyring' missing or incomplete");
        if (r >= 0)
                snprintf(h.version, sizeof(h.version), "%.*s", (int) utf8_prefix_size(version, sizeof(h.version) - 1),
                         version);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        *ret = h;
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

int client_secret_new(CvClient *c, const char *b64, size_t b64_size, int64_t version, int64_t created, int64_t updated,
                      CvSecret **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        if (secret_buf_from_base64(b64, b64_size, &value) < 0)
                return client_fail_protocol(c, "a value that is not base64");
        CvSecret *s = calloc(1, sizeof(CvSecret));
        if (s)
                s->value = malloc(value->size + 1);
        if (!s || !s->value) {
                free(s);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        memcpy(s->value, value->data, value->size + 1);
        s->value_size = value->size;
        s->version = version;
        s->created = created;
        s->updated = updated;
        *ret = s;
        return 0;
}

/* A CvSecret from a reply's base64 "value". */
static int secret_from_reply(CvClient *c, const Reply *reply, CvSecret **ret) {
        size_t b64_size = 0;
        const char *b64;
        int64_t version, created, updated;

        int r = client_reply_string(reply, "value", false, &b64, &b64_size);
        if (r >= 0)
                r = client_reply_meta(reply, &version, &created, &updated);
        if (r < 0)
                return r;
        return client_secret_new(c, b64, b64_size, version, created, updated, ret);
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
        int64_t version = 0;
        bool match;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_bool(&reply, "match", &match);
        if (r >= 0 && match)
                r = client_reply_int(&reply, "version", &version);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = version;
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
        int r = client_json_strdup(item, "plugin", false, &e->plugin);
        if (r >= 0)
                r = client_json_strdup(item, "name", false, &e->name);
        return r < 0 ? r : client_json_meta(item, &e->version, &e->created, &e->updated);
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
        return client_list_all(c, "secret.list", plugin, "secrets", LIST_KEY_PLUGIN_NAME, sizeof(CvSecretInfo),
                               add_secret_info, free_secret_infos, NULL, NULL, (void **) ret_items);
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
