/* ops-plugin.c — plugins and the credentials their auth types need: the
 * registration from a manifest, oauth client credentials, user API keys
 * (see credvault.h). */
#include <errno.h>
#include <limits.h>
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
        /* The version is the return value: it must not pass for an errno. */
        int64_t version;
        const char *used;
        r = client_reply_int(&reply, "version", &version);
        if (r >= 0 && (version < 1 || version > INT_MAX))
                r = client_fail_protocol(c, "member 'version' out of range");
        if (r >= 0)
                r = client_reply_string(&reply, "plugin", false, &used, NULL);
        char *copy = r >= 0 && ret_name ? strdup(used) : NULL;
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_name) {
                if (!copy)
                        return client_fail(c, -ENOMEM, "internal", "out of memory");
                *ret_name = copy;
        }
        return (int) version;
}

static int add_plugin_info(json_t *item, void *entry) {
        CvPluginInfo *e = entry;
        int r = client_json_strdup(item, "plugin", false, &e->name);
        if (r >= 0)
                r = client_json_strdup(item, "domain", true, &e->domain);
        if (r >= 0)
                r = client_json_strdup(item, "auth_type", false, &e->auth_type);
        return r < 0 ? r : client_json_meta(item, &e->version, &e->created, &e->updated);
}

static void free_plugin_infos(void *items, size_t n) {
        cv_plugin_info_free(items, n);
}

int cv_plugin_list(CvClient *c, CvPluginInfo **ret_items) {
        if (!c || !ret_items)
                return -EINVAL;
        return client_list_all(c, "plugin.list", NULL, "plugins", LIST_KEY_PLUGIN, sizeof(CvPluginInfo),
                               add_plugin_info, free_plugin_infos, NULL, NULL, (void **) ret_items);
}

void cv_plugin_info_free(CvPluginInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++) {
                free(items[i].name);
                free(items[i].domain);
                free(items[i].auth_type);
        }
        free(items);
}

/* A reply's member that is an object (key NULL: the whole reply), as
 * malloc'd JSON text. */
static int member_text(CvClient *c, Reply *reply, const char *key, char **ret) {
        json_t *v = key ? client_reply_json(reply, key) : reply->json;
        if (!json_is_object(v)) {
                client_reply_done(reply);
                return client_fail_protocol(c, "an object missing");
        }
        size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
        char *text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(v, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        client_reply_done(reply);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
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
        bool match;
        r = client_reply_bool(&reply, "match", &match);
        client_reply_done(&reply);
        return r < 0 ? r : match;
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
        const char *user;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        /* "user": null when the key is nobody's. */
        r = client_reply_string(&reply, "user", true, &user, NULL);
        char *copy = r >= 0 && user ? strdup(user) : NULL;
        client_reply_done(&reply);
        if (r < 0 || !user)
                return r < 0 ? r : 0;
        if (!copy)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret_user = copy;
        return 1;
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
        int r = client_json_strdup(item, "user", false, &e->name);
        return r < 0 ? r : client_json_meta(item, &e->version, &e->created, &e->updated);
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
        CvSecretInfo *items = NULL;
        int n = client_list_all(c, "apikey.list", plugin, "apikeys", LIST_KEY_USER, sizeof(CvSecretInfo),
                                add_apikey_info, free_apikey_infos, NULL, NULL, (void **) &items);
        for (int i = 0; i < n; i++)
                if (!(items[i].plugin = strdup(plugin))) {
                        cv_secret_info_free(items, (size_t) n);
                        return client_fail(c, -ENOMEM, "internal", "out of memory");
                }
        if (n >= 0)
                *ret_items = items;
        return n;
}
