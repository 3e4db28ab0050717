/* vault-plugin.c — plugins registered from their manifests (see vault.h).
 *
 * Owns: how a manifest's auth block is kept. The public part goes into
 * the plugin row, with each verification token's value replaced by null;
 * each verification token is a secret named "verification_token:CONSUMER",
 * sealed like any other; manifest_auth puts the two back together. Also a
 * plugin's summary and removing a plugin whole, and the schemes of checked
 * rows that the credential checks ask for on every call. Every row written
 * carries its MAC (vault-mac.c), and every row read is checked before
 * anything is taken from it. Never: a verification token's value in the
 * plugin row, a registration half written (the row and its tokens are one
 * transaction), or a row whose MAC does not check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "time-util.h"
#include "vault-internal.h"

#define VERIFICATION_PREFIX "verification_token:"

/* store_plugin_get() of a row whose MAC checks; -EUCLEAN (and nothing in
 * *ret) if it does not. */
static int plugin_get_checked(Vault *v, const char *name, StoredPlugin *ret) {
        StoredPlugin p = {};
        int r = store_plugin_get(v->store, name, &p);
        if (r < 0)
                return r;
        r = vault_plugin_check(v->keyring, &p);
        if (r < 0) {
                stored_plugin_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static struct SchemeSlot *scheme_slot(Vault *v, const char *name) {
        uint64_t h = hash_fold(hash_fnv1a_string(HASH_FNV1A_INIT, name));
        return &v->schemes[h & (VAULT_SCHEME_SLOTS - 1)];
}

/* Before every change of the row: a rolled-back one then only misses. */
static void scheme_forget(Vault *v, const char *name) {
        struct SchemeSlot *slot = scheme_slot(v, name);
        if (slot->used && strcmp(slot->name, name) == 0)
                slot->used = false;
}

int vault_plugin_registered(Vault *v, const char *plugin) {
        StoredPlugin p = {};
        int r = plugin_get_checked(v, plugin, &p);
        stored_plugin_done(&p);
        return r;
}

int vault_plugin_scheme(Vault *v, const char *plugin, AuthScheme *ret) {
        struct SchemeSlot *slot = scheme_slot(v, plugin);
        StoredPlugin p = {};

        if (slot->used && strcmp(slot->name, plugin) == 0) {
                *ret = slot->scheme;
                return 0;
        }
        int r = plugin_get_checked(v, plugin, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        AuthScheme scheme = r >= 0 ? p.scheme : AUTH_SCHEME_BEARER;
        stored_plugin_done(&p);
        if (strlen(plugin) < sizeof(slot->name)) {
                slot->used = true;
                strcpy(slot->name, plugin);
                slot->scheme = scheme;
        }
        *ret = scheme;
        return 0;
}

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
         * wiping one (json-wipe.h), and this text is freed with free(). */
        size_t n = json_dumpb(copy, NULL, 0, JSON_COMPACT);
        text = n > 0 ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(copy, text, n, JSON_COMPACT);
                text[n] = '\0';
        }
        json_decref(copy);
        return text;
}

/* The manifest's authorization_type, as the plugin row keeps it for the
 * credential checks (vault-credential.c); bearer unless it says basic. */
static AuthScheme auth_scheme(const ManifestAuth *m) {
        const char *t = json_string_value(json_object_get(m->auth, "authorization_type"));
        return t && strcmp(t, "basic") == 0 ? AUTH_SCHEME_BASIC : AUTH_SCHEME_BEARER;
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
                        r = vault_record_put_locked(v, RECORD_SECRET, plugin, name,
                                                    (const uint8_t *) json_string_value(value),
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
        record_names_free(old, n_old);
        return r;
}

/* Inside the caller's transaction: the row and its verification tokens. */
static int plugin_register_locked(Vault *v, const char *name, const char *domain, const ManifestAuth *auth,
                                  const char *auth_public, char **ret_domain) {
        StoredPlugin old = {};
        int r;

        /* A tampered row is not replaced: its domain decides whether this
         * registration may take the name. */
        r = plugin_get_checked(v, name, &old);
        if (r < 0 && r != -ENOENT)
                return r;
        bool existed = r >= 0;
        /* Names are not unique across real plugins: one registered for
         * another domain is a different plugin, never silently replaced. */
        if (r >= 0 && old.domain && domain && strcmp(old.domain, domain) != 0) {
                r = -EEXIST;
                if (ret_domain) {
                        *ret_domain = strdup(old.domain);
                        if (!*ret_domain)
                                r = -ENOMEM;
                }
                stored_plugin_done(&old);
                return r;
        }
        StoredPlugin p = {
                .name = (char *) name,
                .domain = (char *) (domain ?: old.domain),
                .auth_type = (char *) manifest_auth_type_to_string(auth->type),
                .auth_public = (char *) auth_public,
                .scheme = auth_scheme(auth),
                .version = old.version + 1,
                .updated_at = time(NULL),
        };
        /* As the row will hold it: an update keeps created_at. */
        p.created_at = existed ? old.created_at : p.updated_at;
        r = vault_plugin_mac(v->keyring, &p);
        if (r >= 0)
                r = store_plugin_put(v->store, &p);
        if (r >= 0)
                r = verification_tokens_store(v, name, auth->verification_tokens);
        stored_plugin_done(&old);
        return r;
}

int vault_plugin_register(Vault *v, const char *name, const char *domain, const ManifestAuth *auth, StoredPlugin *ret,
                          char **ret_domain) {
        _cleanup_(freep) char *auth_public = NULL;
        int r;

        if (ret_domain)
                *ret_domain = NULL;
        auth_public = auth_public_text(auth);
        if (!auth_public)
                return -ENOMEM;
        /* plugin.get carries it along with a page of secrets: bounded so
         * that reply always fits a frame. */
        if (strlen(auth_public) > AUTH_PUBLIC_SIZE_MAX)
                return -EMSGSIZE;
        scheme_forget(v, name);
        r = store_begin(v->store);
        if (r < 0)
                return r;
        r = vault_end(v, plugin_register_locked(v, name, domain, auth, auth_public, ret_domain));
        if (r < 0)
                return r;
        /* Read back for created_at, which an update keeps. */
        return plugin_get_checked(v, name, ret);
}

int vault_plugin_list(Vault *v, const char *after, unsigned limit, StoredPlugin **ret, size_t *ret_n) {
        StoredPlugin *items = NULL;
        size_t n = 0;

        int r = store_plugin_list(v->store, after, limit, &items, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = vault_plugin_check(v->keyring, &items[i]);
        if (r < 0) {
                stored_plugins_free(items, n);
                return r;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

void vault_plugin_summary_done(PluginSummary *s) {
        stored_plugin_done(&s->plugin);
        stored_records_free(s->secrets, s->n_secrets_page);
        *s = (PluginSummary) {};
}

int vault_plugin_summary(Vault *v, const char *plugin, int64_t horizon, unsigned secrets_limit, PluginSummary *ret) {
        PluginSummary s = {};
        size_t n = 0;
        int r;

        r = plugin_get_checked(v, plugin, &s.plugin);
        if (r < 0 && r != -ENOENT)
                return r;
        s.registered = r >= 0;
        int64_t now_ms = time_realtime_ms();
        r = store_token_stats(v->store, plugin, now_ms / MSEC_PER_SEC, horizon, now_ms, &s.tokens);
        if (r >= 0)
                r = store_record_count_plugin(v->store, RECORD_SECRET, plugin, &s.n_secrets);
        if (r >= 0)
                r = store_record_count_plugin(v->store, RECORD_APIKEY, plugin, &s.n_apikeys);
        if (r >= 0 && !s.registered && s.n_secrets == 0 && s.tokens.total == 0 && s.n_apikeys == 0)
                r = -ENOENT;
        /* One more than the page tells whether there are more. */
        if (r >= 0)
                r = store_record_list(v->store, RECORD_SECRET, plugin, NULL, NULL, secrets_limit + 1, &s.secrets, &n);
        if (r < 0) {
                vault_plugin_summary_done(&s);
                return r;
        }
        s.secrets_truncated = n > secrets_limit;
        s.n_secrets_page = s.secrets_truncated ? secrets_limit : n;
        /* The extra one is not the caller's: free it now, so that the page
         * is all that vault_plugin_summary_done() has to free. */
        for (size_t i = s.n_secrets_page; i < n; i++)
                stored_record_done(&s.secrets[i]);
        *ret = s;
        return 0;
}

int vault_plugin_delete(Vault *v, const char *plugin, PluginRemoved *ret) {
        /* Needs no check of the row: deleting is how a tampered one goes. */
        scheme_forget(v, plugin);
        int r = store_begin(v->store);
        if (r < 0)
                return r;
        r = vault_end(v, store_plugin_delete_all(v->store, plugin, ret));
        (void) vault_stage_refresh(v);
        return r;
}

int vault_manifest_auth(Vault *v, const char *plugin, json_t **ret_auth, char **ret_consumer) {
        StoredPlugin p = {};
        const char *consumer;
        json_t *value;
        int r;

        if (ret_consumer)
                *ret_consumer = NULL;
        r = plugin_get_checked(v, plugin, &p);
        if (r < 0)
                return r;
        json_t *auth = json_loads(p.auth_public, 0, NULL);
        stored_plugin_done(&p);
        /* We wrote it as JSON: anything else was written by someone else. */
        if (!auth)
                return -EUCLEAN;
        json_t *tokens = json_object_get(auth, "verification_tokens");
        json_object_foreach(tokens, consumer, value) {
                _cleanup_(secret_buf_freep) SecretBuf *token = NULL;
                char name[NAME_SIZE_MAX + 1];
                r = verification_name(name, consumer);
                if (r >= 0)
                        r = vault_record_get(v, RECORD_SECRET, plugin, name, &token, NULL);
                /* The plugin is there but a token of it is not: not the
                 * -ENOENT of an unregistered plugin. */
                if (r == -ENOENT) {
                        r = -ENODATA;
                        if (ret_consumer) {
                                *ret_consumer = strdup(consumer);
                                if (!*ret_consumer)
                                        r = -ENOMEM;
                        }
                }
                if (r < 0)
                        break;
                /* jansson copies the string; the wiping allocator wipes it
                 * when the tree is freed. */
                json_object_set_new(tokens, consumer, json_stringn((const char *) token->data, token->size));
        }
        if (r < 0) {
                json_decref(auth);
                return r;
        }
        *ret_auth = auth;
        return 0;
}
