/* handlers-plugin.c — the plugin ops: register from a manifest, list, get,
 * delete, and manifest.auth. Checked Request in, one vault call, reply
 * members out.
 *
 * Never: touches storage or opens a transaction (a registration is one
 * vault call, atomic there), or puts a verification token into any reply
 * but manifest.auth's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "handlers.h"

static void reply_plugin(JsonOut *reply, const StoredPlugin *p) {
        json_out_cstring(reply, "plugin", p->name);
        json_out_cstring(reply, "domain", p->domain);
        json_out_cstring(reply, "auth_type", p->auth_type);
        json_out_int(reply, "version", p->version);
        json_out_int(reply, "created", p->created_at);
        json_out_int(reply, "updated", p->updated_at);
}

int handle_plugin_register(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        /* An explicit name or domain wins over the manifest's. */
        const char *name = req->plugin ?: req->manifest_name;
        const char *domain = req->domain ?: (req->manifest_domain[0] ? req->manifest_domain : NULL);
        _cleanup_(freep) char *old_domain = NULL;
        StoredPlugin now = {};
        int r;

        r = vault_plugin_register(ctx->vault, name, domain, &req->manifest, &now, &old_domain);
        if (r == -EMSGSIZE)
                failure_set(f, "field 'manifest.auth': over %d bytes as JSON", AUTH_PUBLIC_SIZE_MAX);
        if (r == -EEXIST && old_domain)
                failure_set(f, "plugin '%s' is registered for domain '%s'; register this one under another name", name,
                            old_domain);
        if (r < 0)
                return r;
        reply_plugin(reply, &now);
        stored_plugin_done(&now);
        return 0;
}

int handle_plugin_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        StoredPlugin *items = NULL;
        size_t n = 0;
        (void) f;

        /* One more than the page tells whether there is a next one. */
        int r = vault_plugin_list(ctx->vault, req->after, req->limit + 1, &items, &n);
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

int handle_plugin_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        PluginSummary s = {};
        int r;

        /* At most one page of secrets, by name and version. */
        r = vault_plugin_summary(ctx->vault, req->plugin, req->expiring, LIST_PAGE_MAX, &s);
        if (r < 0) {
                if (r == -ENOENT)
                        failure_set(f, "no plugin '%s'", req->plugin);
                return r;
        }

        json_out_cstring(reply, "plugin", req->plugin);
        json_out_bool(reply, "registered", s.registered);
        if (s.registered) {
                json_out_cstring(reply, "domain", s.plugin.domain);
                json_out_cstring(reply, "auth_type", s.plugin.auth_type);
                json_out_int(reply, "version", s.plugin.version);
                json_out_int(reply, "created", s.plugin.created_at);
                json_out_int(reply, "updated", s.plugin.updated_at);
                /* Stored by the vault as JSON: verification tokens are
                 * nulls. */
                json_out_raw(reply, "auth", s.plugin.auth_public, strlen(s.plugin.auth_public));
        }
        json_out_open_array(reply, "secrets");
        for (size_t i = 0; i < s.n_secrets_page; i++) {
                json_out_open_object(reply, NULL);
                json_out_cstring(reply, "name", s.secrets[i].name);
                handlers_reply_meta(reply, &s.secrets[i]);
                json_out_close_object(reply);
        }
        json_out_close_array(reply);
        json_out_bool(reply, "secrets_truncated", s.secrets_truncated);
        json_out_open_object(reply, "tokens");
        json_out_int(reply, "total", s.tokens.total);
        json_out_int(reply, "expiring", s.tokens.expiring);
        json_out_int(reply, "expired", s.tokens.expired);
        json_out_int(reply, "reauth_required", s.tokens.reauth_required);
        json_out_int(reply, "refreshing", s.tokens.refreshing);
        json_out_int(reply, "expiring_within", req->expiring);
        json_out_close_object(reply);
        json_out_int(reply, "apikeys", s.n_apikeys);
        vault_plugin_summary_done(&s);
        return 0;
}

int handle_plugin_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        PluginRemoved removed = {};
        int r;

        r = vault_plugin_delete(ctx->vault, req->plugin, &removed);
        if (r < 0) {
                if (r == -ENOENT)
                        failure_set(f, "no plugin '%s'", req->plugin);
                return r;
        }
        refresher_reports_drop(&ctx->refresher_reports, req->plugin);
        json_out_bool(reply, "registered", removed.registered);
        json_out_int(reply, "secrets", removed.secrets);
        json_out_int(reply, "tokens", removed.tokens);
        json_out_int(reply, "apikeys", removed.apikeys);
        json_out_int(reply, "revocations", removed.revocations);
        return 0;
}

int handle_manifest_auth(Context *ctx, const Request *req, JsonOut *reply, Failure *f) {
        _cleanup_(freep) char *consumer = NULL;
        json_t *auth = NULL;
        int r;

        r = vault_manifest_auth(ctx->vault, req->plugin, &auth, &consumer);
        if (r == -ENOENT)
                failure_set(f, "plugin '%s' is not registered", req->plugin);
        /* A deleted verification token: the client has always been told
         * handlers_not_found for it, so it stays -ENOENT on the wire. */
        if (r == -ENODATA) {
                failure_set(f, "verification token of consumer '%s' was deleted; register the manifest again",
                            consumer ?: "");
                return -ENOENT;
        }
        if (r < 0)
                return r;
        json_out_json(reply, "auth", auth);
        /* The tree carries the tokens: freed through the wiping allocator. */
        json_decref(auth);
        return 0;
}
