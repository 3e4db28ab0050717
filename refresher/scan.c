/* scan.c — which token sets there are and when each is due.
 *
 * A scan lists the registered oauth plugins (their token endpoint and how
 * to call it) and every token set of each, and gives each set its due
 * time: expires_at minus the lead. Sets the last scan knew keep their
 * back-off while their version is unchanged; a set whose version changed
 * (someone stored a new token set) starts afresh. Sets without an expiry
 * are not scheduled: nothing says when they need a refresh. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "provider.h"
#include "refresher.h"

/* Where a plugin's client authentication method is configured: a plugin
 * secret (its value client_secret_basic or client_secret_post, as RFC 7591
 * names them), because the manifest's auth block has no such field. */
#define AUTH_METHOD_SECRET "token_endpoint_auth_method"

static void plugin_conf_clear(PluginConf *p) {
        free(p->name);
        free(p->token_url);
}

void refresher_free_sets(Refresher *r) {
        for (size_t i = 0; i < r->n_sets; i++)
                free(r->sets[i].user);
        free(r->sets);
        r->sets = NULL;
        r->n_sets = 0;
        for (size_t i = 0; i < r->n_plugins; i++)
                plugin_conf_clear(&r->plugins[i]);
        free(r->plugins);
        r->plugins = NULL;
        r->n_plugins = 0;
}

int64_t refresher_backoff_ms(const Refresher *r, unsigned failures) {
        int64_t d = r->opt.retry_min_ms;
        for (unsigned i = 1; i < failures && d < REFRESHER_RETRY_MAX_MS; i++)
                d *= 2;
        if (d > REFRESHER_RETRY_MAX_MS)
                d = REFRESHER_RETRY_MAX_MS;
        /* Half fixed, half random: sets that failed together spread out
         * instead of coming back to the provider in one burst. */
        return d / 2 + (int64_t) (drand48() * (double) (d / 2 + 1));
}

static int plugin_conf_load(Refresher *r, const char *name, PluginConf *ret) {
        char *text = NULL;
        int k = cv_plugin_show_json(r->client, name, 0, &text);
        if (k < 0)
                return k;
        json_t *j = json_loads(text, 0, NULL);
        free(text);
        if (!j)
                return -EPROTO;
        json_t *auth = json_object_get(j, "auth");
        const char *type = json_string_value(json_object_get(j, "auth_type"));
        bool oauth = type && strcmp(type, "oauth") == 0;
        const char *url = json_string_value(json_object_get(auth, "authorization_url"));
        const char *ctype = json_string_value(json_object_get(auth, "authorization_content_type"));
        *ret = (PluginConf) { .name = strdup(name), .token_url = url ? strdup(url) : NULL };
        if (ctype && strncasecmp(ctype, "application/json", 16) == 0)
                ret->json_body = true;
        else if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
                snprintf(ret->refused, sizeof(ret->refused), "authorization_content_type %s not supported", ctype);
        bool has_url = url != NULL;
        json_decref(j); /* url and ctype die with it */
        if (!ret->name || (has_url && !ret->token_url)) {
                plugin_conf_clear(ret);
                return -ENOMEM;
        }
        if (!oauth)
                snprintf(ret->refused, sizeof(ret->refused), "not a registered oauth plugin");
        else if (!has_url)
                snprintf(ret->refused, sizeof(ret->refused), "no authorization_url");
        else if (!ret->refused[0])
                (void) provider_url_check(ret->token_url, ret->refused, sizeof(ret->refused));

        CvSecret *m = NULL;
        k = cv_secret_get(r->client, name, AUTH_METHOD_SECRET, &m);
        if (k >= 0) {
                if (strcmp((const char *) m->value, "client_secret_post") == 0)
                        ret->auth_post = true;
                else if (strcmp((const char *) m->value, "client_secret_basic") != 0)
                        snprintf(ret->refused, sizeof(ret->refused),
                                 "secret " AUTH_METHOD_SECRET ": not client_secret_basic or client_secret_post");
                cv_secret_free(m);
        } else if (k != -ENOENT) {
                plugin_conf_clear(ret);
                return k;
        }
        return 0;
}

static int set_compare(const void *a, const void *b, void *plugins) {
        const TokenSet *x = a, *y = b;
        const PluginConf *p = plugins;
        int c = strcmp(p[x->plugin].name, p[y->plugin].name);
        return c ? c : strcmp(x->user, y->user);
}

/* The set of the previous scan with the same plugin and user, or NULL. The
 * lists come sorted by plugin name, then user id. */
static const TokenSet *old_find(const Refresher *old, const char *plugin, const char *user) {
        size_t lo = 0, hi = old->n_sets;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                const TokenSet *s = &old->sets[mid];
                int c = strcmp(old->plugins[s->plugin].name, plugin);
                if (!c)
                        c = strcmp(s->user, user);
                if (!c)
                        return s;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static const PluginConf *old_plugin(const Refresher *old, const char *name) {
        for (size_t i = 0; i < old->n_plugins; i++)
                if (strcmp(old->plugins[i].name, name) == 0)
                        return &old->plugins[i];
        return NULL;
}

static int append_sets(Refresher *r, const Refresher *old, size_t plugin, CvTokenInfo *items, size_t n,
                       int64_t now_ms) {
        TokenSet *sets = realloc(r->sets, (r->n_sets + n) * sizeof(TokenSet));
        if (!sets && r->n_sets + n > 0)
                return -ENOMEM;
        r->sets = sets;
        for (size_t i = 0; i < n; i++) {
                if (items[i].expires_at < 0)
                        continue;
                TokenSet s = {
                        .plugin = plugin,
                        .user = strdup(items[i].user),
                        .version = items[i].version,
                        .expires_at = items[i].expires_at,
                        .due_ms = items[i].expires_at * 1000 - r->opt.lead_ms,
                        .dead = strcmp(items[i].state, "reauth_required") == 0,
                };
                if (!s.user)
                        return -ENOMEM;
                const TokenSet *o = old_find(old, r->plugins[plugin].name, s.user);
                if (o && o->version == s.version) {
                        /* The same set: keep its back-off and what it taught us. */
                        s.failures = o->failures;
                        s.dead = s.dead || o->dead;
                        s.handled = o->handled;
                        if (o->failures > 0 || o->due_ms > s.due_ms)
                                s.due_ms = o->due_ms;
                }
                (void) now_ms;
                r->sets[r->n_sets++] = s;
        }
        return 0;
}

int refresher_scan(Refresher *r, int64_t now_ms) {
        Refresher old = *r;
        r->plugins = NULL;
        r->n_plugins = 0;
        r->sets = NULL;
        r->n_sets = 0;

        CvPluginInfo *plugins = NULL;
        int n = 0, k = 0;
        if (r->opt.n_plugin_names == 0) {
                n = cv_plugin_list(r->client, &plugins);
                if (n < 0) {
                        k = n;
                        goto fail;
                }
        } else
                n = (int) r->opt.n_plugin_names;
        for (int i = 0; i < n; i++) {
                const char *name = plugins ? plugins[i].name : r->opt.plugin_names[i];
                if (plugins && (!plugins[i].auth_type || strcmp(plugins[i].auth_type, "oauth") != 0))
                        continue;
                PluginConf conf;
                k = plugin_conf_load(r, name, &conf);
                if (k == -ENOENT)
                        continue; /* deleted meanwhile */
                if (k == -EPERM) {
                        /* A --plugin the policy does not grant us: the others may be. */
                        refresher_log("%s: %s", name, cv_client_error_message(r->client));
                        continue;
                }
                if (k < 0)
                        goto fail;
                const PluginConf *o = old_plugin(&old, conf.name);
                if (o) {
                        conf.hold_until_ms = o->hold_until_ms;
                        conf.failures = o->failures;
                        conf.revoke_hold_until_ms = o->revoke_hold_until_ms;
                        conf.revoke_failures = o->revoke_failures;
                        conf.stats = o->stats;
                        /* report_refused is not kept: a policy reloaded
                         * since may allow the report now. */
                        conf.reported = o->reported;
                        conf.reported_hold = o->reported_hold;
                        conf.reported_at = o->reported_at;
                }
                PluginConf *p = realloc(r->plugins, (r->n_plugins + 1) * sizeof(PluginConf));
                if (!p) {
                        plugin_conf_clear(&conf);
                        k = -ENOMEM;
                        goto fail;
                }
                r->plugins = p;
                r->plugins[r->n_plugins++] = conf;

                CvTokenInfo *items = NULL;
                int m = cv_token_list_expiring(r->client, conf.name, r->opt.lead_ms / 1000, &items);
                if (m == -ENOENT || m == -EPERM) {
                        if (m == -EPERM)
                                refresher_log("%s: %s", conf.name, cv_client_error_message(r->client));
                        continue;
                }
                if (m < 0) {
                        k = m;
                        goto fail;
                }
                k = append_sets(r, &old, r->n_plugins - 1, items, (size_t) m, now_ms);
                cv_token_info_free(items, (size_t) m);
                if (k < 0)
                        goto fail;
        }
        if (plugins)
                cv_plugin_info_free(plugins, (size_t) n);
        /* The daemon lists in byte order already; sort anyway, as old_find() relies on it. */
        if (r->n_sets > 1) /* none: sets is NULL, which qsort_r() must not get */
                qsort_r(r->sets, r->n_sets, sizeof(TokenSet), set_compare, r->plugins);
        refresher_free_sets(&old);
        return 0;
fail:
        if (plugins)
                cv_plugin_info_free(plugins, (size_t) n);
        refresher_free_sets(r);
        *r = (Refresher) { .opt = old.opt, .client = old.client, .stats = old.stats };
        r->plugins = old.plugins;
        r->n_plugins = old.n_plugins;
        r->sets = old.sets;
        r->n_sets = old.n_sets;
        return k;
}

int64_t refresher_next_due(const Refresher *r) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < r->n_sets; i++) {
                const TokenSet *s = &r->sets[i];
                if (s->dead || r->plugins[s->plugin].refused[0])
                        continue;
                int64_t due = s->due_ms;
                if (r->plugins[s->plugin].hold_until_ms > due)
                        due = r->plugins[s->plugin].hold_until_ms;
                if (due < next)
                        next = due;
        }
        return next;
}
