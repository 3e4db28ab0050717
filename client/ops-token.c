/* ops-token.c — users' OAuth token sets and their refresh (see credvault.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

static int put_token_json(CvClient *c, const char *op, const char *plugin, const char *user, const char *lease,
                          json_t *token, int64_t *ret_version) {
        JsonOut *o = client_request(c, op);
        json_out_cstring(o, "plugin", plugin);
        json_out_cstring(o, "user", user);
        if (lease)
                json_out_cstring(o, "lease", lease);
        json_out_json(o, "token", token);
        client_json_wipe_decref(token);
        return client_send_for_version(c, ret_version);
}

int cv_token_put(CvClient *c, const char *plugin, const char *user, const CvToken *token, int64_t *ret_version) {
        json_t *t;
        int r;

        if (!c || !token)
                return -EINVAL;
        r = client_check_plugin_user(c, plugin, user);
        if (r < 0)
                return r;
        if (!token->access_token || !token->token_type)
                return client_fail(c, -EINVAL, "bad_request", "token: access_token and token_type are required");
        if (token->expires_at < -1)
                return client_fail(c, -EINVAL, "bad_request", "token.expires_at: must be -1 (unknown) or >= 0");

        /* json_string() refuses invalid UTF-8 with NULL, and a NULL member
         * would quietly be left out: check every one. */
        t = json_pack("{s:s s:s}", "access_token", token->access_token, "token_type", token->token_type);
        if (t && token->refresh_token && json_object_set_new(t, "refresh_token", json_string(token->refresh_token)) < 0)
                client_json_wipe_decref(t), t = NULL;
        if (t && token->scope && json_object_set_new(t, "scope", json_string(token->scope)) < 0)
                client_json_wipe_decref(t), t = NULL;
        if (t && token->expires_at >= 0 && json_object_set_new(t, "expires_at", json_integer(token->expires_at)) < 0)
                client_json_wipe_decref(t), t = NULL;
        if (!t)
                return client_fail(c, -EINVAL, "bad_request", "token: fields must be valid UTF-8 strings");
        return put_token_json(c, "token.put", plugin, user, NULL, t, ret_version);
}

/* token.put or token.refresh_commit of the caller's token endpoint
 * response, checked to be a JSON object; the daemon checks its fields. */
static int put_response(CvClient *c, const char *op, const char *plugin, const char *user, const char *lease,
                        const char *response_json, int64_t *ret_version) {
        json_error_t e;
        int r = client_check_plugin_user(c, plugin, user);
        if (r < 0)
                return r;
        json_t *t = json_loads(response_json, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(t)) {
                client_json_wipe_decref(t);
                return client_fail(c, -EINVAL, "bad_request", "token: the response is not a JSON object");
        }
        return put_token_json(c, op, plugin, user, lease, t, ret_version);
}

int cv_token_put_response(CvClient *c, const char *plugin, const char *user, const char *response_json,
                          int64_t *ret_version) {
        if (!c || !response_json)
                return -EINVAL;
        return put_response(c, "token.put", plugin, user, NULL, response_json, ret_version);
}

static int send_token_get(CvClient *c, const char *plugin, const char *user, int min_valid_sec, unsigned flat_depth,
                          Reply *reply) {
        JsonOut *o;

        if (!c || min_valid_sec < 0)
                return -EINVAL;
        int r = client_request_record(c, "token.get", plugin, "user", user, &o);
        if (r < 0)
                return r;
        if (min_valid_sec > 0)
                json_out_int(o, "min_valid", min_valid_sec);
        c->flat_depth = flat_depth;
        return client_send(c, reply);
}

/* The reply's "token": an object, read in place (the common case, without
 * a jansson tree) or from the tree. */
typedef struct TokenObject {
        const Reply *reply;
        const FlatValue *flat;
        json_t *json;
} TokenObject;

static int token_object(const Reply *reply, TokenObject *ret) {
        *ret = (TokenObject) { .reply = reply };
        if (reply->json) {
                ret->json = client_reply_json(reply, "token");
                return json_is_object(ret->json) ? 0 : -EPROTO;
        }
        ret->flat = json_flat_get(reply->flat, reply->n_flat, "token");
        return ret->flat && ret->flat->type == FLAT_OBJECT ? 0 : -EPROTO;
}

/* A string member of the set, copied: -EPROTO if it is of another type, or
 * absent and required; -ENOMEM. */
static int token_string(const TokenObject *t, const char *key, bool required, char **ret) {
        const char *s = NULL;
        if (t->json) {
                json_t *v = json_object_get(t->json, key);
                if (v && !json_is_string(v))
                        return -EPROTO;
                s = json_string_value(v);
        } else {
                const FlatValue *v = json_flat_member(t->reply->flat, t->reply->n_flat, t->flat, key);
                if (v && v->type != FLAT_STRING)
                        return -EPROTO;
                s = v ? v->str : NULL;
        }
        if (!s)
                return required ? -EPROTO : 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* An optional integer member of the set; -1 when absent. */
static int token_int(const TokenObject *t, const char *key, int64_t *ret) {
        *ret = -1;
        if (t->json) {
                json_t *v = json_object_get(t->json, key);
                if (v && !json_is_integer(v))
                        return -EPROTO;
                if (v)
                        *ret = json_integer_value(v);
                return 0;
        }
        const FlatValue *v = json_flat_member(t->reply->flat, t->reply->n_flat, t->flat, key);
        if (v && v->type != FLAT_INTEGER)
                return -EPROTO;
        if (v)
                *ret = v->integer;
        return 0;
}

/* The CvToken of a reply that carries a set (token.get, token.refresh_begin
 * with refresh false) and its record's metadata. */
static int token_from_reply(CvClient *c, const Reply *reply, CvToken **ret) {
        TokenObject t;
        CvToken *tok = NULL;
        int r = token_object(reply, &t);
        if (r >= 0 && !(tok = calloc(1, sizeof(CvToken))))
                r = -ENOMEM;
        if (r >= 0)
                r = token_string(&t, "access_token", true, &tok->access_token);
        if (r >= 0)
                r = token_string(&t, "token_type", true, &tok->token_type);
        if (r >= 0)
                r = token_string(&t, "refresh_token", false, &tok->refresh_token);
        if (r >= 0)
                r = token_string(&t, "scope", false, &tok->scope);
        if (r >= 0)
                r = token_int(&t, "expires_at", &tok->expires_at);
        if (r < 0) {
                cv_token_free(tok);
                return r == -ENOMEM ? client_fail(c, r, "internal", "out of memory")
                                    : client_fail_protocol(c, "an incomplete token set");
        }
        r = client_reply_meta(reply, &tok->version, &tok->created, &tok->updated);
        if (r < 0) {
                cv_token_free(tok);
                return r;
        }
        *ret = tok;
        return 0;
}

int cv_token_get_valid(CvClient *c, const char *plugin, const char *user, int min_valid_sec, CvToken **ret) {
        Reply reply;
        if (!ret)
                return -EINVAL;
        int r = send_token_get(c, plugin, user, min_valid_sec, 1, &reply);
        if (r < 0)
                return r;
        r = token_from_reply(c, &reply, ret);
        client_reply_done(&reply);
        return r;
}

int cv_token_get(CvClient *c, const char *plugin, const char *user, CvToken **ret) {
        return cv_token_get_valid(c, plugin, user, 0, ret);
}

int cv_token_get_json(CvClient *c, const char *plugin, const char *user, int min_valid_sec, char **ret_json) {
        Reply reply;
        if (!ret_json)
                return -EINVAL;
        int r = send_token_get(c, plugin, user, min_valid_sec, 0, &reply);
        if (r < 0)
                return r;
        /* Into our own malloc() memory, whatever allocator jansson has. */
        json_t *token = client_reply_json(&reply, "token");
        if (!json_is_object(token)) {
                client_reply_done(&reply);
                return client_fail_protocol(c, "no token set");
        }
        size_t n = json_dumpb(token, NULL, 0, JSON_COMPACT);
        char *text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(token, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        client_reply_done(&reply);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret_json = text;
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
        return c ? client_delete_record(c, "token.delete", plugin, "user", user) : -EINVAL;
}

static int add_token_info(json_t *item, void *entry) {
        CvTokenInfo *e = entry;
        json_t *exp = json_object_get(item, "expires_at"), *state = json_object_get(item, "state");

        /* expires_at only when the set has one; a state name must fit. */
        if ((exp && !json_is_integer(exp)) ||
            (state && (!json_is_string(state) || json_string_length(state) >= sizeof(e->state))))
                return -EPROTO;
        int r = client_json_strdup(item, "user", false, &e->user);
        if (r >= 0)
                r = client_json_meta(item, &e->version, &e->created, &e->updated);
        if (r < 0)
                return r;
        e->expires_at = exp ? json_integer_value(exp) : -1;
        snprintf(e->state, sizeof(e->state), "%s", state ? json_string_value(state) : "valid");
        return 0;
}

static void free_token_infos(void *items, size_t n) {
        cv_token_info_free(items, n);
}

static void add_expiring(JsonOut *o, const void *userdata) {
        json_out_int(o, "expiring", *(const int64_t *) userdata);
}

int cv_token_list_expiring(CvClient *c, const char *plugin, int64_t expiring_sec, CvTokenInfo **ret_items) {
        if (!c || !ret_items || expiring_sec < 0)
                return -EINVAL;
        int r = client_check_name(c, "plugin", plugin);
        if (r < 0)
                return r;
        return client_list_all(c, "token.list", plugin, "tokens", LIST_KEY_USER, sizeof(CvTokenInfo), add_token_info,
                               free_token_infos, add_expiring, &expiring_sec, (void **) ret_items);
}

int cv_token_list(CvClient *c, const char *plugin, CvTokenInfo **ret_items) {
        return cv_token_list_expiring(c, plugin, 300, ret_items);
}

void cv_token_info_free(CvTokenInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++)
                free(items[i].user);
        free(items);
}

/* A lease id as the daemon hands them out: LEASE_ID_SIZE lowercase hex
 * digits. */
static bool lease_valid(const char *s) {
        _Static_assert(sizeof(((CvTokenLease *) NULL)->lease) == LEASE_ID_SIZE + 1, "credvault.h and proto-limits.h");
        if (strlen(s) != LEASE_ID_SIZE)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int cv_token_refresh_begin(CvClient *c, const char *plugin, const char *user, int min_valid_sec, int lease_sec,
                           CvTokenLease **ret_lease, CvToken **ret_token) {
        Reply reply;
        JsonOut *o;
        int r;

        if (!c || !ret_lease || !ret_token || min_valid_sec < 0 || lease_sec < 0)
                return -EINVAL;
        r = client_request_record(c, "token.refresh_begin", plugin, "user", user, &o);
        if (r < 0)
                return r;
        json_out_int(o, "min_valid", min_valid_sec);
        if (lease_sec > 0)
                json_out_int(o, "lease_seconds", lease_sec);
        r = client_send(c, &reply);
        if (r < 0)
                return r;

        bool refresh;
        r = client_reply_bool(&reply, "refresh", &refresh);
        if (r >= 0 && !refresh) {
                /* Someone refreshed it meanwhile: the current set. */
                CvToken *tok = NULL;
                r = token_from_reply(c, &reply, &tok);
                client_reply_done(&reply);
                if (r < 0)
                        return r;
                *ret_token = tok;
                *ret_lease = NULL;
                return 0;
        }
        const char *lease = NULL, *rt = NULL;
        CvTokenLease l = {};
        if (r >= 0)
                r = client_reply_string(&reply, "lease", false, &lease, NULL);
        if (r >= 0 && !lease_valid(lease))
                r = client_fail_protocol(c, "an invalid lease");
        if (r >= 0)
                memcpy(l.lease, lease, sizeof(l.lease));
        if (r >= 0)
                r = client_reply_string(&reply, "refresh_token", false, &rt, NULL);
        if (r >= 0)
                r = client_reply_int(&reply, "lease_until", &l.lease_until_ms);
        if (r >= 0)
                r = client_reply_int(&reply, "version", &l.version);
        CvTokenLease *ret = r >= 0 ? malloc(sizeof(CvTokenLease)) : NULL;
        char *rt_copy = ret ? strdup(rt) : NULL;
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (!rt_copy) {
                free(ret);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        *ret = l;
        ret->refresh_token = rt_copy;
        *ret_lease = ret;
        *ret_token = NULL;
        return 1;
}

int cv_token_refresh_commit(CvClient *c, const char *plugin, const char *user, const CvTokenLease *lease,
                            const char *response_json, int64_t *ret_version) {
        if (!c || !lease || !response_json)
                return -EINVAL;
        return put_response(c, "token.refresh_commit", plugin, user, lease->lease, response_json, ret_version);
}

int cv_token_refresh_fail(CvClient *c, const char *plugin, const char *user, const CvTokenLease *lease,
                          const char *oauth_error) {
        Reply reply;
        JsonOut *o;
        int r;

        if (!c || !lease || !oauth_error)
                return -EINVAL;
        r = client_request_record(c, "token.refresh_fail", plugin, "user", user, &o);
        if (r < 0)
                return r;
        json_out_cstring(o, "lease", lease->lease);
        json_out_cstring(o, "error", oauth_error);
        r = client_send(c, &reply);
        if (r < 0)
                return r;
        const char *state;
        r = client_reply_string(&reply, "state", false, &state, NULL);
        if (r >= 0)
                r = strcmp(state, "reauth_required") == 0;
        client_reply_done(&reply);
        return r;
}

void cv_token_lease_free(CvTokenLease *l) {
        if (!l)
                return;
        cv_free_wiped(l->refresh_token, (size_t) -1);
        free(l);
}
