/* ops-plugin.c — plugins and the credentials their auth types need: the
 * registration from a manifest, oauth client credentials, user API keys
 * (see credvault.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

int cv_plugin_register(CvClient *c, const char *manifest_json, const char *name, const char *domain, char **ret_name) {
        json_error_t e;
        Reply reply;
        int r;

        if (!c || !manifest_json)
                return -EINVAL;
        if (name && (r = client_check_name(c, "name", name)) < 0)
                return r;
        json_t *manifest = json_loads(manifest_json, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(manifest)) {
                client_json_wipe_decref(manifest);
                return client_fail(c, -EINVAL, "bad_request", "manifest: not a JSON object");
        }
        JsonOut *o = client_request(c, "plugin.register");
        if (name)
                json_out_cstring(o, "plugin", name);
        if (domain)
                json_out_cstring(o, "domain", domain);
        json_out_json(o, "manifest", manifest);
        client_json_wipe_decref(manifest);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        int64_t version = client_reply_int(&reply, "version", 0);
        if (ret_name) {
                const char *used = client_reply_string(&reply, "plugin", NULL);
                *ret_name = used ? strdup(used) : NULL;
                if (!*ret_name) {
                        client_reply_done(&reply);
                        return client_fail(c, -ENOMEM, "internal", "out of memory");
                }
        }
        client_reply_done(&reply);
        return (int) version;
}

static int add_plugin_info(json_t *item, void *entry) {
        CvPluginInfo *e = entry;
        e->name = client_json_strdup(item, "plugin");
        e->domain = client_json_strdup(item, "domain");
        e->auth_type = client_json_strdup(item, "auth_type");
        e->version = json_integer_value(json_object_get(item, "version"));
        e->created = json_integer_value(json_object_get(item, "created"));
        e->updated = json_integer_value(json_object_get(item, "updated"));
        return e->name && e->auth_type ? 0 : -EPROTO;
}

static void free_plugin_infos(void *items, size_t n) {
        cv_plugin_info_free(items, n);
}

int cv_plugin_list(CvClient *c, CvPluginInfo **ret_items) {
        if (!c || !ret_items)
                return -EINVAL;
        return client_list_all(c, "plugin.list", NULL, "plugins", sizeof(CvPluginInfo), add_plugin_info,
                               free_plugin_infos, NULL, NULL, (void **) ret_items);
}

void cv_plugin_info_free(CvPluginInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++) {
                free(items[i].name);
                free(items[i].domain);
                free(items[i].auth_type);
        }
        free(items);
}

/* A reply's member as malloc'd JSON text. */
static int member_text(CvClient *c, Reply *reply, const char *key, char **ret) {
        json_t *v = key ? client_reply_json(reply, key) : reply->json;
        size_t n = v ? json_dumpb(v, NULL, 0, JSON_COMPACT) : 0;
        char *text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(v, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        client_reply_done(reply);
        if (!text)
                return client_fail(c, v ? -ENOMEM : -EPROTO, v ? "internal" : "protocol",
                                   v ? "out of memory" : "credvaultd sent an incomplete reply");
        *ret = text;
        return 0;
}

int cv_plugin_show_json(CvClient *c, const char *name, int64_t expiring_sec, char **ret_json) {
        Reply reply;
        JsonOut *o;
        int r;

        if (!c || !ret_json || expiring_sec < 0)
                return -EINVAL;
        r = client_request_record(c, "plugin.get", name, NULL, NULL, &o);
        if (r < 0)
                return r;
        json_out_int(o, "expiring", expiring_sec);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        if (reply.json) {
                /* The reply minus the protocol's own members. */
                json_object_del(reply.json, "id");
                json_object_del(reply.json, "ok");
        }
        return member_text(c, &reply, NULL, ret_json);
}

int cv_plugin_delete(CvClient *c, const char *name) {
        return c ? client_delete_record(c, "plugin.delete", name, NULL, NULL) : -EINVAL;
}

int cv_plugin_manifest_auth(CvClient *c, const char *name, char **ret_json) {
        Reply reply;
        JsonOut *o;
        int r;

        if (!c || !ret_json)
                return -EINVAL;
        r = client_request_record(c, "manifest.auth", name, NULL, NULL, &o);
        if (r >= 0)
                r = client_send(c, &reply);
        if (r < 0)
                return r;
        return member_text(c, &reply, "auth", ret_json);
}

int cv_oauth_verify_client(CvClient *c, const char *plugin, const char *authorization, const char *client_id,
                           const char *client_secret) {
        Reply reply;
        JsonOut *o;
        int r;

        if (!c || (!authorization == !(client_id && client_secret)))
                return -EINVAL;
        r = client_request_record(c, "oauth.verify_client", plugin, NULL, NULL, &o);
        if (r < 0)
                return r;
        if (authorization)
                json_out_cstring(o, "authorization", authorization);
        else {
                json_out_cstring(o, "client_id", client_id);
                json_out_cstring(o, "client_secret", client_secret);
        }
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_bool(&reply, "match");
        client_reply_done(&reply);
        return r;
}

int cv_apikey_put(CvClient *c, const char *plugin, const char *user, const void *key, size_t key_size,
                  int64_t *ret_version) {
        JsonOut *o;
        int r;

        if (!c || !key || key_size == 0)
                return -EINVAL;
        r = client_request_record(c, "apikey.put", plugin, "user", user, &o);
        if (r >= 0)
                r = client_out_value(c, o, "value", key, key_size);
        return r < 0 ? r : client_send_for_version(c, ret_version);
}

static int lookup_reply(CvClient *c, char **ret_user) {
        Reply reply;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        const char *user = client_reply_string(&reply, "user", NULL);
        if (!user) {
                client_reply_done(&reply);
                return 0;
        }
        *ret_user = strdup(user);
        client_reply_done(&reply);
        return *ret_user ? 1 : client_fail(c, -ENOMEM, "internal", "out of memory");
}

int cv_apikey_lookup(CvClient *c, const char *plugin, const void *key, size_t key_size, char **ret_user) {
        if (!c || !key || !ret_user)
                return -EINVAL;
        int r = client_check_name(c, "plugin", plugin);
        if (r < 0)
                return r;
        if (key_size == 0 || key_size > CV_SECRET_VALUE_SIZE_MAX)
                return 0; /* nobody's key */
        JsonOut *o = client_request(c, "apikey.lookup");
        json_out_cstring(o, "plugin", plugin);
        r = client_out_value(c, o, "value", key, key_size);
        if (r < 0)
                return r;
        return lookup_reply(c, ret_user);
}

int cv_apikey_lookup_header(CvClient *c, const char *plugin, const char *authorization, char **ret_user) {
        JsonOut *o;

        if (!c || !authorization || !ret_user)
                return -EINVAL;
        int r = client_request_record(c, "apikey.lookup", plugin, NULL, NULL, &o);
        if (r < 0)
                return r;
        json_out_cstring(o, "authorization", authorization);
        return lookup_reply(c, ret_user);
}

int cv_apikey_delete(CvClient *c, const char *plugin, const char *user) {
        return c ? client_delete_record(c, "apikey.delete", plugin, "user", user) : -EINVAL;
}

static int add_apikey_info(json_t *item, void *entry) {
        CvSecretInfo *e = entry;
        const char *user;
        if (json_unpack(item, "{s:s}", "user", &user) < 0)
                return -EPROTO;
        e->name = strdup(user);
        e->version = json_integer_value(json_object_get(item, "version"));
        e->created = json_integer_value(json_object_get(item, "created"));
        e->updated = json_integer_value(json_object_get(item, "updated"));
        return e->name ? 0 : -ENOMEM;
}

static void free_apikey_infos(void *items, size_t n) {
        cv_secret_info_free(items, n);
}

int cv_apikey_list(CvClient *c, const char *plugin, CvSecretInfo **ret_items) {
        if (!c || !ret_items)
                return -EINVAL;
        int r = client_check_name(c, "plugin", plugin);
        if (r < 0)
                return r;
        int n = client_list_all(c, "apikey.list", plugin, "apikeys", sizeof(CvSecretInfo), add_apikey_info,
                                free_apikey_infos, NULL, NULL, (void **) ret_items);
        for (int i = 0; i < n; i++)
                (*ret_items)[i].plugin = strdup(plugin);
        return n;
}
