/* ops.c — one function per daemon operation (see credvault.h).
 *
 * Each checks its arguments with the daemon's own rules (proto/request.c),
 * builds the request, calls client_call() and unpacks the reply. Values are
 * copied out of the reply into caller-owned memory before the reply is
 * wiped. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"
#include "request.h"
#include "secret-buf.h"

static int check_name(CvClient *c, const char *field, const char *value) {
        if (!value || name_check(value) < 0)
                return client_fail(c, -EINVAL, "bad_request",
                                   strcmp(field, "plugin") == 0
                                           ? "plugin: 1 to 128 characters of A-Z a-z 0-9 _ . : @ -"
                                           : "name: 1 to 128 characters of A-Z a-z 0-9 _ . : @ -");
        return 0;
}

static int check_user(CvClient *c, const char *user) {
        if (!user || user_id_check(user) < 0)
                return client_fail(c, -EINVAL, "bad_request", "user: 1 to 256 bytes without control characters");
        return 0;
}

static int64_t get_int(json_t *obj, const char *key, int64_t missing) {
        json_t *v = json_object_get(obj, key);
        return json_is_integer(v) ? (int64_t) json_integer_value(v) : missing;
}

int cv_health(CvClient *c, CvHealth *ret) {
        json_t *reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = client_call(c, json_pack("{s:s}", "op", "health"), &reply);
        if (r < 0)
                return r;
        *ret = (CvHealth) {};
        json_t *v = json_object_get(reply, "version");
        snprintf(ret->version, sizeof(ret->version), "%s", json_is_string(v) ? json_string_value(v) : "");
        ret->uptime_sec = get_int(reply, "uptime", 0);
        ret->connections = get_int(reply, "connections", 0);
        ret->kek_primary = get_int(json_object_get(reply, "keyring"), "primary", 0);
        ret->keks = get_int(json_object_get(reply, "keyring"), "keks", 0);
        ret->secrets = get_int(reply, "secrets", 0);
        ret->tokens = get_int(reply, "tokens", 0);
        json_decref(reply);
        return 0;
}

int cv_secret_put(CvClient *c, const char *plugin, const char *name, const void *value, size_t value_size,
                  int64_t *ret_version) {
        _cleanup_(secret_buf_freep) SecretBuf *b64 = NULL;
        json_t *reply;
        int r;

        if (!c || (!value && value_size > 0))
                return -EINVAL;
        r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_name(c, "name", name);
        if (r < 0)
                return r;
        if (value_size > CV_SECRET_VALUE_SIZE_MAX)
                return client_fail(c, -EMSGSIZE, "too_large", "value over 32768 bytes");
        r = secret_buf_to_base64(value, value_size, &b64);
        if (r < 0)
                return client_fail(c, r, "internal", "out of memory");

        r = client_call(c,
                        json_pack("{s:s s:s s:s s:s%}", "op", "secret.put", "plugin", plugin, "name", name, "value",
                                  (const char *) b64->data, b64->size),
                        &reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = get_int(reply, "version", 0);
        json_decref(reply);
        return 0;
}

int cv_secret_get(CvClient *c, const char *plugin, const char *name, CvSecret **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        json_t *reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_name(c, "name", name);
        if (r < 0)
                return r;
        r = client_call(c, json_pack("{s:s s:s s:s}", "op", "secret.get", "plugin", plugin, "name", name), &reply);
        if (r < 0)
                return r;

        json_t *v = json_object_get(reply, "value");
        r = json_is_string(v) ? secret_buf_from_base64(json_string_value(v), json_string_length(v), &value) : -EPROTO;
        CvSecret *s = r >= 0 ? calloc(1, sizeof(CvSecret)) : NULL;
        if (s) {
                s->value = malloc(value->size + 1);
                if (s->value) {
                        memcpy(s->value, value->data, value->size + 1);
                        s->value_size = value->size;
                        s->version = get_int(reply, "version", 0);
                        s->created = get_int(reply, "created", 0);
                        s->updated = get_int(reply, "updated", 0);
                } else {
                        free(s);
                        s = NULL;
                }
        }
        json_wipe_decref(reply);
        if (r < 0)
                return client_fail(c, -EPROTO, "protocol", "credvaultd sent a value that is not base64");
        if (!s)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret = s;
        return 0;
}

void cv_secret_free(CvSecret *s) {
        if (!s)
                return;
        cv_free_wiped(s->value, s->value_size);
        free(s);
}

static int delete_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key) {
        json_t *reply;
        int r = client_call(c, json_pack("{s:s s:s s:s}", "op", op, "plugin", plugin, key_field, key), &reply);
        if (r < 0)
                return r;
        json_decref(reply);
        return 0;
}

int cv_secret_delete(CvClient *c, const char *plugin, const char *name) {
        if (!c)
                return -EINVAL;
        int r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_name(c, "name", name);
        return r < 0 ? r : delete_record(c, "secret.delete", plugin, "name", name);
}

/* Walk every page of a list op; `add` turns one item into the caller's
 * array entry. Returns the count. */
static int list_all(CvClient *c, const char *op, const char *plugin, const char *items_key, size_t item_size,
                    int (*add)(json_t *item, void *entry), void (*free_all)(void *items, size_t n),
                    void **ret_items) {
        char *after = NULL;
        void *items = NULL;
        size_t n = 0;
        int r = 0;

        for (;;) {
                json_t *req = json_pack("{s:s}", "op", op), *reply;
                if (req && plugin)
                        json_object_set_new(req, "plugin", json_string(plugin));
                if (req && after)
                        json_object_set_new(req, "after", json_string(after));
                r = client_call(c, req, &reply);
                if (r < 0)
                        break;

                json_t *array = json_object_get(reply, items_key), *item;
                size_t i;
                void *grown = json_is_array(array)
                                      ? realloc(items, (n + json_array_size(array) + 1) * item_size)
                                      : NULL;
                if (!grown) {
                        json_decref(reply);
                        r = json_is_array(array) ? client_fail(c, -ENOMEM, "internal", "out of memory")
                                                 : client_fail(c, -EPROTO, "protocol", "invalid list reply");
                        break;
                }
                items = grown;
                json_array_foreach(array, i, item) {
                        memset((char *) items + n * item_size, 0, item_size);
                        r = add(item, (char *) items + n * item_size);
                        if (r < 0)
                                break;
                        n++;
                }
                json_t *next = json_object_get(reply, "next");
                free(after);
                after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
                json_decref(reply);
                if (r < 0) {
                        r = client_fail(c, r, "protocol", "invalid list reply");
                        break;
                }
                if (!after)
                        break;
        }
        free(after);
        if (r < 0) {
                free_all(items, n);
                return r;
        }
        if (!items)
                items = calloc(1, item_size);
        *ret_items = items;
        return (int) n;
}

static int add_secret_info(json_t *item, void *entry) {
        CvSecretInfo *e = entry;
        const char *plugin, *name;
        if (json_unpack(item, "{s:s s:s}", "plugin", &plugin, "name", &name) < 0)
                return -EPROTO;
        e->plugin = strdup(plugin);
        e->name = strdup(name);
        e->version = get_int(item, "version", 0);
        e->created = get_int(item, "created", 0);
        e->updated = get_int(item, "updated", 0);
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
        return list_all(c, "secret.list", plugin, "secrets", sizeof(CvSecretInfo), add_secret_info,
                        free_secret_infos, (void **) ret_items);
}

void cv_secret_info_free(CvSecretInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++) {
                free(items[i].plugin);
                free(items[i].name);
        }
        free(items);
}

int cv_token_put(CvClient *c, const char *plugin, const char *user, const CvToken *token, int64_t *ret_version) {
        json_t *reply, *t;
        int r;

        if (!c || !token)
                return -EINVAL;
        r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_user(c, user);
        if (r < 0)
                return r;
        if (!token->access_token || !token->token_type)
                return client_fail(c, -EINVAL, "bad_request", "token: access_token and token_type are required");
        if (token->expires_at < -1)
                return client_fail(c, -EINVAL, "bad_request", "token.expires_at: must be -1 (unknown) or >= 0");

        t = json_pack("{s:s s:s}", "access_token", token->access_token, "token_type", token->token_type);
        if (t && token->refresh_token)
                json_object_set_new(t, "refresh_token", json_string(token->refresh_token));
        if (t && token->scope)
                json_object_set_new(t, "scope", json_string(token->scope));
        if (t && token->expires_at >= 0)
                json_object_set_new(t, "expires_at", json_integer(token->expires_at));
        if (!t)
                return client_fail(c, -EINVAL, "bad_request", "token: fields must be valid UTF-8 strings");
        r = client_call(c, json_pack("{s:s s:s s:s s:o}", "op", "token.put", "plugin", plugin, "user", user, "token", t),
                        &reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = get_int(reply, "version", 0);
        json_decref(reply);
        return 0;
}

static char *dup_field(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int cv_token_get(CvClient *c, const char *plugin, const char *user, CvToken **ret) {
        json_t *reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_user(c, user);
        if (r < 0)
                return r;
        r = client_call(c, json_pack("{s:s s:s s:s}", "op", "token.get", "plugin", plugin, "user", user), &reply);
        if (r < 0)
                return r;

        json_t *t = json_object_get(reply, "token");
        CvToken *tok = calloc(1, sizeof(CvToken));
        if (tok) {
                tok->access_token = dup_field(t, "access_token");
                tok->token_type = dup_field(t, "token_type");
                tok->refresh_token = dup_field(t, "refresh_token");
                tok->scope = dup_field(t, "scope");
                tok->expires_at = get_int(t, "expires_at", -1);
                tok->version = get_int(reply, "version", 0);
                tok->created = get_int(reply, "created", 0);
                tok->updated = get_int(reply, "updated", 0);
        }
        json_wipe_decref(reply);
        if (!tok || !tok->access_token || !tok->token_type) {
                cv_token_free(tok);
                return client_fail(c, -EPROTO, "protocol", "credvaultd sent an incomplete token set");
        }
        *ret = tok;
        return 0;
}

void cv_token_free(CvToken *t) {
        if (!t)
                return;
        cv_free_wiped(t->access_token, (size_t) -1);
        cv_free_wiped(t->refresh_token, (size_t) -1);
        cv_free_wiped(t->token_type, (size_t) -1);
        cv_free_wiped(t->scope, (size_t) -1);
        free(t);
}

int cv_token_delete(CvClient *c, const char *plugin, const char *user) {
        if (!c)
                return -EINVAL;
        int r = check_name(c, "plugin", plugin);
        if (r >= 0)
                r = check_user(c, user);
        return r < 0 ? r : delete_record(c, "token.delete", plugin, "user", user);
}

static int add_token_info(json_t *item, void *entry) {
        CvTokenInfo *e = entry;
        const char *user;
        if (json_unpack(item, "{s:s}", "user", &user) < 0)
                return -EPROTO;
        e->user = strdup(user);
        e->version = get_int(item, "version", 0);
        e->created = get_int(item, "created", 0);
        e->updated = get_int(item, "updated", 0);
        e->expires_at = get_int(item, "expires_at", -1);
        return e->user ? 0 : -ENOMEM;
}

static void free_token_infos(void *items, size_t n) {
        cv_token_info_free(items, n);
}

int cv_token_list(CvClient *c, const char *plugin, CvTokenInfo **ret_items) {
        if (!c || !ret_items)
                return -EINVAL;
        int r = check_name(c, "plugin", plugin);
        if (r < 0)
                return r;
        return list_all(c, "token.list", plugin, "tokens", sizeof(CvTokenInfo), add_token_info, free_token_infos,
                        (void **) ret_items);
}

void cv_token_info_free(CvTokenInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++)
                free(items[i].user);
        free(items);
}

int cv_call_json(CvClient *c, const char *request_json, char **ret_reply_json) {
        json_t *req, *reply;
        json_error_t e;
        int r;

        if (!c || !request_json || !ret_reply_json)
                return -EINVAL;
        req = json_loads(request_json, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(req)) {
                json_wipe_decref(req);
                return client_fail(c, -EINVAL, "bad_request", "request is not a JSON object");
        }
        r = client_call_raw(c, req, &reply);
        if (r < 0)
                return r;
        /* Serialise into our own malloc'd buffer: the caller frees it with
         * cv_free_wiped(), whatever allocator jansson was given. */
        size_t size = json_dumpb(reply, NULL, 0, JSON_COMPACT);
        char *text = size > 0 ? malloc(size + 1) : NULL;
        if (text) {
                json_dumpb(reply, text, size, JSON_COMPACT);
                text[size] = '\0';
        }
        json_wipe_decref(reply);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret_reply_json = text;
        return (int) size;
}
