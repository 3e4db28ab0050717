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

static CvToken *token_from_json(json_t *t, const Reply *reply) {
        CvToken *tok = calloc(1, sizeof(CvToken));
        if (!tok)
                return NULL;
        tok->access_token = client_json_strdup(t, "access_token");
        tok->token_type = client_json_strdup(t, "token_type");
        tok->refresh_token = client_json_strdup(t, "refresh_token");
        tok->scope = client_json_strdup(t, "scope");
        json_t *exp = json_object_get(t, "expires_at");
        tok->expires_at = json_is_integer(exp) ? json_integer_value(exp) : -1;
        tok->version = client_reply_int(reply, "version", 0);
        tok->created = client_reply_int(reply, "created", 0);
        tok->updated = client_reply_int(reply, "updated", 0);
        if (!tok->access_token || !tok->token_type) {
                cv_token_free(tok);
                return NULL;
        }
        return tok;
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

/* A token set read in place from a reply whose "token" is a flat object:
 * the common case, without a jansson tree. */
static char *flat_strdup(const Reply *r, const FlatValue *object, const char *key) {
        const FlatValue *v = json_flat_member(r->flat, r->n_flat, object, key);
        return v && v->type == FLAT_STRING ? strdup(v->str) : NULL;
}

static CvToken *token_from_reply(const Reply *reply) {
        if (reply->json)
                return token_from_json(client_reply_json(reply, "token"), reply);
        const FlatValue *t = json_flat_get(reply->flat, reply->n_flat, "token");
        if (!t || t->type != FLAT_OBJECT)
                return NULL;
        CvToken *tok = calloc(1, sizeof(CvToken));
        if (!tok)
                return NULL;
        tok->access_token = flat_strdup(reply, t, "access_token");
        tok->token_type = flat_strdup(reply, t, "token_type");
        tok->refresh_token = flat_strdup(reply, t, "refresh_token");
        tok->scope = flat_strdup(reply, t, "scope");
        const FlatValue *exp = json_flat_member(reply->flat, reply->n_flat, t, "expires_at");
        tok->expires_at = exp && exp->type == FLAT_INTEGER ? exp->integer : -1;
        tok->version = client_reply_int(reply, "version", 0);
        tok->created = client_reply_int(reply, "created", 0);
        tok->updated = client_reply_int(reply, "updated", 0);
        if (!tok->access_token || !tok->token_type) {
                cv_token_free(tok);
                return NULL;
        }
        return tok;
}

int cv_token_get_valid(CvClient *c, const char *plugin, const char *user, int min_valid_sec, CvToken **ret) {
        Reply reply;
        if (!ret)
                return -EINVAL;
        int r = send_token_get(c, plugin, user, min_valid_sec, 1, &reply);
        if (r < 0)
                return r;
        CvToken *tok = token_from_reply(&reply);
        client_reply_done(&reply);
        if (!tok)
                return client_fail(c, -EPROTO, "protocol", "credvaultd sent an incomplete token set");
        *ret = tok;
        return 0;
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
        size_t n = token ? json_dumpb(token, NULL, 0, JSON_COMPACT) : 0;
        char *text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(token, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        client_reply_done(&reply);
        if (!text)
                return client_fail(c, token ? -ENOMEM : -EPROTO, token ? "internal" : "protocol",
                                   token ? "out of memory" : "credvaultd sent no token set");
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
        const char *user, *state = "valid";
        if (json_unpack(item, "{s:s s?s}", "user", &user, "state", &state) < 0)
                return -EPROTO;
        e->user = strdup(user);
        e->version = json_integer_value(json_object_get(item, "version"));
        e->created = json_integer_value(json_object_get(item, "created"));
        e->updated = json_integer_value(json_object_get(item, "updated"));
        json_t *exp = json_object_get(item, "expires_at");
        e->expires_at = json_is_integer(exp) ? json_integer_value(exp) : -1;
        snprintf(e->state, sizeof(e->state), "%s", state);
        return e->user ? 0 : -ENOMEM;
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
        return client_list_all(c, "token.list", plugin, "tokens", sizeof(CvTokenInfo), add_token_info, free_token_infos,
                               add_expiring, &expiring_sec, (void **) ret_items);
}

int cv_token_list(CvClient *c, const char *plugin, CvTokenInfo **ret_items) {
        return cv_token_list_expiring(c, plugin, 300, ret_items);
}

void cv_token_info_free(CvTokenInfo *items, size_t n_items) {
        for (size_t i = 0; items && i < n_items; i++)
                free(items[i].user);
        free(items);
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

        if (!client_reply_bool(&reply, "refresh")) {
                /* Someone refreshed it meanwhile: the current set. */
                CvToken *tok = token_from_json(client_reply_json(&reply, "token"), &reply);
                client_reply_done(&reply);
                if (!tok)
                        return client_fail(c, -EPROTO, "protocol", "credvaultd sent an incomplete token set");
                *ret_token = tok;
                *ret_lease = NULL;
                return 0;
        }
        const char *lease = client_reply_string(&reply, "lease", NULL);
        const char *rt = client_reply_string(&reply, "refresh_token", NULL);
        CvTokenLease *l = calloc(1, sizeof(CvTokenLease));
        if (!lease || strlen(lease) != 32 || !rt || !l) {
                free(l);
                client_reply_done(&reply);
                return client_fail(c, -EPROTO, "protocol", "credvaultd sent an invalid lease");
        }
        memcpy(l->lease, lease, 33);
        l->refresh_token = strdup(rt);
        l->lease_until_ms = client_reply_int(&reply, "lease_until", 0);
        l->version = client_reply_int(&reply, "version", 0);
        client_reply_done(&reply);
        if (!l->refresh_token) {
                free(l);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        *ret_lease = l;
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
        const char *state = client_reply_string(&reply, "state", NULL);
        r = state && strcmp(state, "reauth_required") == 0;
        client_reply_done(&reply);
        return r;
}

void cv_token_lease_free(CvTokenLease *l) {
        if (!l)
                return;
        cv_free_wiped(l->refresh_token, (size_t) -1);
        free(l);
}
