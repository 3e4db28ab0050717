/* handlers-plugin.c — plugins registered from their manifests.
 *
 * A registration records the public part of the manifest's auth block in
 * the plugin row, and each verification token as a secret named
 * "verification_token:CONSUMER", sealed like any other; manifest.auth puts
 * the two back together. The whole registration is one transaction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "handlers.h"
#include "manifest.h"

#define VERIFICATION_PREFIX "verification_token:"

/* The auth block with each verification token's value replaced by null: the
 * consumers stay visible (and in their order), the values do not. */
static char *auth_public_text(const ManifestAuth *m) {
        json_t *copy = json_deep_copy(m->auth), *tokens = json_object_get(copy, "verification_tokens");
        const char *consumer;
        json_t *v;
        char *text;

        if (!copy)
                return NULL;
        json_object_foreach(tokens, consumer, v)
                json_object_set_new(tokens, consumer, json_null());
        /* Into malloc() memory of our own: jansson's allocator here is the
         * wiping one of hardening.c, and this text is freed with free(). */
        size_t n = json_dumpb(copy, NULL, 0, JSON_COMPACT);
        text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(copy, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        json_decref(copy);
        return text;
}

static int verification_name(char buf[static NAME_SIZE_MAX + 1], const char *consumer) {
        int n = snprintf(buf, NAME_SIZE_MAX + 1, VERIFICATION_PREFIX "%s", consumer);
        return n > 0 && n <= NAME_SIZE_MAX ? 0 : -EINVAL;
}

/* Store the new verification tokens and drop the ones the manifest no
 * longer has; inside the caller's transaction. */
static int verification_tokens_store(Vault *v, const char *plugin, json_t *tokens) {
        char name[NAME_SIZE_MAX + 1];
        char **old = NULL;
        size_t n_old = 0;
        const char *consumer;
        json_t *value;
        int r;

        json_object_foreach(tokens, consumer, value) {
                r = verification_name(name, consumer);
                if (r >= 0)
                        r = vault_put_locked(v, RECORD_SECRET, plugin, name, (const uint8_t *) json_string_value(value),
                                             json_string_length(value), -1, NULL);
                if (r < 0)
                        return r;
        }
        r = store_secret_names(v->store, plugin, VERIFICATION_PREFIX, &old, &n_old);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_old && r >= 0; i++)
                if (!json_object_get(tokens, old[i] + strlen(VERIFICATION_PREFIX)))
                        r = store_record_delete(v->store, RECORD_SECRET, plugin, old[i]);
        strv_free(old, n_old);
        return r;
}

static void reply_plugin(JsonOut *reply, const StoredPlugin *p) {
        json_out_cstring(reply, "plugin", p->name);
        json_out_cstring(reply, "domain", p->domain);
        json_out_cstring(reply, "auth_type", p->auth_type);
        json_out_int(reply, "version", p->version);
        json_out_int(reply, "created", p->created_at);
        json_out_int(reply, "updated", p->updated_at);
}

int handle_plugin_register(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        const char *name = req->plugin ?: req->manifest_name;
        const char *domain = req->domain ?: (req->manifest_domain[0] ? req->manifest_domain : NULL);
        StoredPlugin old = {}, now = {};
        char *auth_public = NULL;
        int r;

        auth_public = auth_public_text(&req->manifest);
        if (!auth_public)
                return -ENOMEM;
        /* plugin.get carries it along with a page of secrets: bounded so
         * that reply always fits a frame. */
        if (strlen(auth_public) > AUTH_PUBLIC_SIZE_MAX) {
                failure(f, "field 'manifest.auth': over %d bytes as JSON", AUTH_PUBLIC_SIZE_MAX);
                free(auth_public);
                return -EMSGSIZE;
        }
        r = store_begin(store);
        if (r < 0)
                goto finish;
        r = store_plugin_get(store, name, &old);
        if (r < 0 && r != -ENOENT)
                goto rollback;
        /* Names are not unique across real plugins: one registered for
         * another domain is a different plugin, never silently replaced. */
        if (r >= 0 && old.domain && domain && strcmp(old.domain, domain) != 0) {
                failure(f, "plugin '%s' is registered for domain '%s'; register this one under another name", name,
                        old.domain);
                r = -EEXIST;
                goto rollback;
        }
        StoredPlugin p = {
                .name = (char *) name,
                .domain = (char *) (domain ?: old.domain),
                .auth_type = (char *) auth_type_to_string(req->manifest.type),
                .auth_public = auth_public,
                .version = old.version + 1,
                .updated_at = time(NULL),
        };
        r = store_plugin_put(store, &p);
        if (r >= 0)
                r = verification_tokens_store(ctx->vault, name, req->manifest.verification_tokens);
        if (r >= 0)
                r = store_commit(store);
        if (r < 0)
                goto rollback;
        r = store_plugin_get(store, name, &now);
        if (r >= 0)
                reply_plugin(reply, &now);
        goto finish;

rollback:
        store_rollback(store);
finish:
        stored_plugin_done(&old);
        stored_plugin_done(&now);
        free(auth_public);
        return r;
}

int handle_plugin_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredPlugin *items = NULL;
        size_t n = 0;
        (void) f;

        int r = store_plugin_list(ctx->vault->store, req->after, req->limit + 1, &items, &n);
        if (r < 0)
                return r;
        json_out_open_array(reply, "plugins");
        for (size_t i = 0; i < n && i < req->limit; i++) {
                json_out_open_object(reply, NULL);
                reply_plugin(reply, &items[i]);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        if (n > req->limit)
                json_out_cstring(reply, "next", items[req->limit - 1].name);
        else
                json_out_null(reply, "next");
        stored_plugins_free(items, n);
        return 0;
}

/* Secrets are listed by name and version; at most one page of them. */
static int reply_secrets(Context *ctx, const char *plugin, JsonOut *reply) {
        StoredRecord *items = NULL;
        size_t n = 0;
        int r = store_record_list(ctx->vault->store, RECORD_SECRET, plugin, NULL, NULL, LIST_PAGE_MAX + 1, &items, &n);
        if (r < 0)
                return r;
        json_out_open_array(reply, "secrets");
        for (size_t i = 0; i < n && i < LIST_PAGE_MAX; i++) {
                json_out_open_object(reply, NULL);
                json_out_cstring(reply, "name", items[i].name);
                reply_meta(reply, &items[i]);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        json_out_bool(reply, "secrets_truncated", n > LIST_PAGE_MAX);
        stored_records_free(items, n);
        return 0;
}

int handle_plugin_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        StoredPlugin p = {};
        TokenStats tokens;
        int64_t n_secrets = 0, n_apikeys = 0;
        struct timespec ts;
        int r;

        r = store_plugin_get(store, req->plugin, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        bool registered = r >= 0;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = store_token_stats(store, req->plugin, ts.tv_sec, req->expiring, ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                              &tokens);
        if (r >= 0)
                r = store_record_count_plugin(store, RECORD_SECRET, req->plugin, &n_secrets);
        if (r >= 0)
                r = store_record_count_plugin(store, RECORD_APIKEY, req->plugin, &n_apikeys);
        if (r >= 0 && !registered && n_secrets == 0 && tokens.total == 0 && n_apikeys == 0) {
                failure(f, "no plugin '%s'", req->plugin);
                r = -ENOENT;
        }
        if (r < 0)
                goto finish;

        json_out_cstring(reply, "plugin", req->plugin);
        json_out_bool(reply, "registered", registered);
        if (registered) {
                json_out_cstring(reply, "domain", p.domain);
                json_out_cstring(reply, "auth_type", p.auth_type);
                json_out_int(reply, "version", p.version);
                json_out_int(reply, "created", p.created_at);
                json_out_int(reply, "updated", p.updated_at);
                /* Stored by us as JSON: verification tokens are nulls. */
                json_out_raw(reply, "auth", p.auth_public, strlen(p.auth_public));
        }
        r = reply_secrets(ctx, req->plugin, reply);
        if (r < 0)
                goto finish;
        json_out_open_object(reply, "tokens");
        json_out_int(reply, "total", tokens.total);
        json_out_int(reply, "expiring", tokens.expiring);
        json_out_int(reply, "expired", tokens.expired);
        json_out_int(reply, "reauth_required", tokens.reauth_required);
        json_out_int(reply, "refreshing", tokens.refreshing);
        json_out_int(reply, "expiring_within", req->expiring);
        json_out_close_object(reply);
        json_out_int(reply, "apikeys", n_apikeys);
finish:
        stored_plugin_done(&p);
        return r;
}

int handle_plugin_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        Store *store = ctx->vault->store;
        PluginRemoved removed;
        int r = store_begin(store);
        if (r < 0)
                return r;
        r = store_plugin_delete_all(store, req->plugin, &removed);
        if (r >= 0)
                r = store_commit(store);
        if (r < 0) {
                store_rollback(store);
                if (r == -ENOENT)
                        failure(f, "no plugin '%s'", req->plugin);
                return r;
        }
        json_out_bool(reply, "registered", removed.registered);
        json_out_int(reply, "secrets", removed.secrets);
        json_out_int(reply, "tokens", removed.tokens);
        json_out_int(reply, "apikeys", removed.apikeys);
        return 0;
}

int handle_manifest_auth(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredPlugin p = {};
        const char *consumer;
        json_t *v;
        int r;

        r = store_plugin_get(ctx->vault->store, req->plugin, &p);
        if (r < 0) {
                if (r == -ENOENT)
                        failure(f, "plugin '%s' is not registered", req->plugin);
                return r;
        }
        json_t *auth = json_loads(p.auth_public, 0, NULL);
        stored_plugin_done(&p);
        if (!auth)
                return -EUCLEAN;
        json_t *tokens = json_object_get(auth, "verification_tokens");
        json_object_foreach(tokens, consumer, v) {
                _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
                char name[NAME_SIZE_MAX + 1];
                r = verification_name(name, consumer);
                if (r >= 0)
                        r = vault_get(ctx->vault, RECORD_SECRET, req->plugin, name, &value, NULL);
                if (r == -ENOENT)
                        failure(f, "verification token of consumer '%s' was deleted; register the manifest again",
                                consumer);
                if (r < 0)
                        break;
                /* jansson copies the string; the daemon's allocator wipes it
                 * when the tree is freed. */
                json_object_set_new(tokens, consumer, json_stringn((const char *) value->data, value->size));
        }
        if (r >= 0)
                json_out_json(reply, "auth", auth);
        json_decref(auth);
        return r < 0 ? r : 0;
}
