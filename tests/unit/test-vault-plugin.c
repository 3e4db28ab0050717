/* test-vault-plugin.c — daemon/vault/vault-plugin.c: plugins registered
 * from their manifests.
 *
 * Shows, through vault.h only, with auth blocks read by proto's
 * manifest_parse() from manifest text: register stores the public auth
 * block (each verification token's value null, the consumers kept), the
 * domain, the auth type and the scheme of authorization_type, and each
 * verification token as the secret "verification_token:CONSUMER"; no
 * token value is in the plugin row or the file; registering again is the
 * next version, keeps created_at, stores the new tokens and drops the ones
 * the manifest no longer has; a name registered for another domain is
 * -EEXIST naming that domain, and changes nothing; without a domain the
 * registered one stays; an auth block over AUTH_PUBLIC_SIZE_MAX is
 * -EMSGSIZE; a registration that fails half way leaves nothing of itself;
 * list is in name order; the summary counts secrets, token sets (by state)
 * and API keys, pages the secrets, and is -ENOENT for a plugin that is
 * neither registered nor holds anything; delete removes everything under
 * the name and counts it; manifest_auth gives the auth block back with
 * the verification tokens filled in, -ENOENT if not registered, -ENODATA
 * naming the consumer whose token was deleted. Every plugin row carries a
 * MAC: a row changed in the file behind the vault's back (its auth block,
 * scheme, domain, auth type, version, times, name, or its MAC nulled,
 * cut, or taken from another row) is -EUCLEAN to manifest_auth, list,
 * summary and a new registration, and delete still removes it, after
 * which the name registers afresh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "unit-sql.h"
#include "unit-vault.h"

/* A manifest read as plugin.register reads it. auth borrows from json. */
typedef struct Manifest {
        json_t *json;
        ManifestAuth auth;
        const char *name;
        char domain[DOMAIN_SIZE_MAX + 1];
} Manifest;

static void manifest_load(Manifest *m, const char *text) {
        char err[ERROR_MESSAGE_SIZE_MAX] = "";
        *m = (Manifest) { .json = json_quote(text) };
        int r = manifest_parse(m->json, &m->auth, &m->name, m->domain, sizeof(m->domain), err, sizeof(err));
        if (r != 0)
                fail_msg("test manifest refused (%d: %s): %s", r, err, text);
}

static void manifest_done(Manifest *m) {
        json_decref(m->json);
        *m = (Manifest) {};
}

#define TODO_MANIFEST(tokens)                                                                                          \
        "{'name_for_model':'todo','api':{'type':'openapi','url':'https://todo.example.com/openapi.yaml'},"             \
        "'auth':{'type':'service_http','authorization_type':'basic','verification_tokens':{" tokens "}}}"

/* Register the manifest under its name and domain; 0 or the error. */
static int register_manifest(Vault *v, const char *text, StoredPlugin *ret, char **ret_domain) {
        Manifest m;
        StoredPlugin p = {};
        manifest_load(&m, text);
        assert_non_null(m.name);
        int r = vault_plugin_register(v, m.name, m.domain[0] ? m.domain : NULL, &m.auth, &p, ret_domain);
        manifest_done(&m);
        if (ret)
                *ret = p;
        else
                stored_plugin_done(&p);
        return r;
}

static void assert_secret(Vault *v, const char *plugin, const char *name, const char *want) {
        SecretBuf *value = NULL;
        int r = vault_secret_get(v, plugin, name, &value, NULL);
        if (r != 0)
                fail_msg("%s/%s: %d", plugin, name, r);
        assert_secret_equal(value, want, strlen(want));
        secret_buf_free(value);
}

static void assert_no_secret(Vault *v, const char *plugin, const char *name) {
        SecretBuf *value = NULL;
        int r = vault_secret_get(v, plugin, name, &value, NULL);
        if (r != -ENOENT)
                fail_msg("%s/%s: want -ENOENT, got %d", plugin, name, r);
}

static void test_register(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredPlugin p = {};
        char *domain = (char *) 1;

        int64_t before = now_s();
        assert_int_equal(
                register_manifest(v, TODO_MANIFEST("'openai':'VT-OPENAI-123','zeta':'VT-ZETA-456'"), &p, &domain), 0);
        assert_null(domain);
        assert_string_equal(p.name, "todo");
        assert_string_equal(p.domain, "todo.example.com");
        assert_string_equal(p.auth_type, "service_http");
        assert_int_equal(p.scheme, AUTH_SCHEME_BASIC);
        assert_int_equal(p.version, 1);
        assert_true(p.created_at >= before && p.created_at <= now_s());
        assert_int_equal(p.updated_at, p.created_at);
        /* The public block: consumers kept, values null. */
        json_t *pub = json_loads(p.auth_public, 0, NULL);
        assert_non_null(pub);
        json_t *want = json_quote("{'type':'service_http','authorization_type':'basic',"
                                  "'verification_tokens':{'openai':null,'zeta':null}}");
        assert_true(json_equal(pub, want));
        json_decref(want);
        json_decref(pub);
        assert_null(strstr(p.auth_public, "VT-"));
        stored_plugin_done(&p);

        /* The tokens are secrets of the plugin. */
        assert_secret(v, "todo", "verification_token:openai", "VT-OPENAI-123");
        assert_secret(v, "todo", "verification_token:zeta", "VT-ZETA-456");

        /* The list shows the same row. */
        StoredPlugin *items = NULL;
        size_t n = 0;
        assert_int_equal(vault_plugin_list(v, NULL, 10, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].name, "todo");
        assert_null(strstr(items[0].auth_public, "VT-"));
        stored_plugins_free(items, n);

        /* Neither value is in the file (sealed as secrets). */
        vault_fixture_close_db(f);
        assert_false(file_contains(f->db_path, "VT-OPENAI", 9));
        assert_false(file_contains(f->db_path, "VT-ZETA", 7));
        assert_true(file_contains(f->db_path, "verification_token:openai", 25));
}

static void test_register_bare_block(void **state) {
        VaultFixture *f = *state;
        Manifest m;
        StoredPlugin p = {};

        manifest_load(&m, "{'type':'oauth','client_url':'https://a.example/authorize',"
                          "'authorization_url':'https://a.example/token','scope':'read',"
                          "'verification_tokens':{'openai':'VT-1'}}");
        assert_null(m.name);
        assert_int_equal(vault_plugin_register(f->vault, "bare", NULL, &m.auth, &p, NULL), 0);
        manifest_done(&m);
        assert_null(p.domain);
        assert_string_equal(p.auth_type, "oauth");
        assert_int_equal(p.scheme, AUTH_SCHEME_BEARER);
        stored_plugin_done(&p);
        assert_secret(f->vault, "bare", "verification_token:openai", "VT-1");

        manifest_load(&m, "{'type':'none'}");
        assert_int_equal(vault_plugin_register(f->vault, "none", NULL, &m.auth, &p, NULL), 0);
        manifest_done(&m);
        assert_string_equal(p.auth_type, "none");
        assert_string_equal(p.auth_public, "{\"type\":\"none\"}");
        stored_plugin_done(&p);
}

static void test_register_again(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredPlugin first = {}, p = {};

        assert_int_equal(register_manifest(v, TODO_MANIFEST("'openai':'VT-1','zeta':'VT-Z'"), &first, NULL), 0);
        assert_int_equal(vault_secret_put(v, "todo", "client_secret", (const uint8_t *) "cs", 2, NULL), 0);

        /* zeta gone, bing new, openai rotated; the scheme now bearer. */
        assert_int_equal(register_manifest(v,
                                           "{'name_for_model':'todo','api':{'url':'https://todo.example.com/x'},"
                                           "'auth':{'type':'service_http','authorization_type':'bearer',"
                                           "'verification_tokens':{'bing':'VT-B','openai':'VT-2'}}}",
                                           &p, NULL),
                         0);
        assert_int_equal(p.version, 2);
        assert_int_equal(p.created_at, first.created_at);
        assert_int_equal(p.scheme, AUTH_SCHEME_BEARER);
        assert_string_equal(p.domain, "todo.example.com");
        stored_plugin_done(&p);
        stored_plugin_done(&first);
        assert_secret(v, "todo", "verification_token:openai", "VT-2");
        assert_secret(v, "todo", "verification_token:bing", "VT-B");
        assert_no_secret(v, "todo", "verification_token:zeta");
        assert_secret(v, "todo", "client_secret", "cs"); /* not a verification token: kept */

        /* No tokens at all any more. */
        assert_int_equal(
                register_manifest(
                        v, "{'name_for_model':'todo','auth':{'type':'service_http','authorization_type':'basic'}}", &p,
                        NULL),
                0);
        assert_int_equal(p.version, 3);
        assert_string_equal(p.domain, "todo.example.com"); /* no api.url: the domain stays */
        stored_plugin_done(&p);
        assert_no_secret(v, "todo", "verification_token:openai");
        assert_no_secret(v, "todo", "verification_token:bing");
        assert_secret(v, "todo", "client_secret", "cs");
}

static void test_domain_conflict(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredPlugin p = {};
        char *domain = NULL;

        assert_int_equal(register_manifest(v, TODO_MANIFEST("'openai':'VT-1'"), NULL, NULL), 0);
        assert_int_equal(register_manifest(v,
                                           "{'name_for_model':'todo','api':{'url':'https://evil.example/api'},"
                                           "'auth':{'type':'service_http','authorization_type':'bearer',"
                                           "'verification_tokens':{'openai':'VT-EVIL','x':'VT-X'}}}",
                                           NULL, &domain),
                         -EEXIST);
        assert_non_null(domain);
        assert_string_equal(domain, "todo.example.com");
        free(domain);
        domain = NULL;

        /* Nothing changed. */
        PluginSummary s = {};
        assert_int_equal(vault_plugin_summary(v, "todo", 0, 10, &s), 0);
        assert_int_equal(s.plugin.version, 1);
        assert_int_equal(s.plugin.scheme, AUTH_SCHEME_BASIC);
        assert_string_equal(s.plugin.domain, "todo.example.com");
        vault_plugin_summary_done(&s);
        assert_secret(v, "todo", "verification_token:openai", "VT-1");
        assert_no_secret(v, "todo", "verification_token:x");

        /* A plugin first registered without a domain takes one later. */
        assert_int_equal(register_manifest(v, "{'name_for_model':'nodomain','auth':{'type':'none'}}", &p, &domain), 0);
        assert_null(p.domain);
        stored_plugin_done(&p);
        assert_int_equal(register_manifest(v,
                                           "{'name_for_model':'nodomain','api':{'url':'https://b.example/'},"
                                           "'auth':{'type':'none'}}",
                                           &p, &domain),
                         0);
        assert_string_equal(p.domain, "b.example");
        assert_null(domain);
        stored_plugin_done(&p);
}

/* An auth block no manifest_parse() would pass on (its strings are bounded
 * well below the limit) but the vault must bound on its own. */
static void test_auth_public_too_big(void **state) {
        VaultFixture *f = *state;
        StoredPlugin p = {};
        PluginSummary s = {};

        size_t size = AUTH_PUBLIC_SIZE_MAX;
        char *big = malloc(size + 1);
        assert_non_null(big);
        memset(big, 'x', size);
        big[size] = 0;
        json_t *auth = json_pack("{s:s, s:s}", "type", "none", "instructions", big);
        assert_non_null(auth);
        const ManifestAuth m = { .type = AUTH_NONE, .auth = auth };
        assert_int_equal(vault_plugin_register(f->vault, "big", NULL, &m, &p, NULL), -EMSGSIZE);
        assert_int_equal(vault_plugin_summary(f->vault, "big", 0, 10, &s), -ENOENT);
        /* Just under it fits. */
        json_object_set_new(auth, "instructions", json_string(big + 100));
        assert_int_equal(vault_plugin_register(f->vault, "big", NULL, &m, &p, NULL), 0);
        stored_plugin_done(&p);
        json_decref(auth);
        free(big);
}

/* The row and its tokens are one transaction: a token that cannot be
 * stored (a consumer name too long for a secret name, which
 * manifest_parse() would have refused) leaves no part of the registration. */
static void test_register_all_or_nothing(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredPlugin p = {};
        PluginSummary s = {};
        char consumer[NAME_SIZE_MAX + 1];

        memset(consumer, 'c', NAME_SIZE_MAX);
        consumer[NAME_SIZE_MAX] = 0;
        json_t *auth = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "service_http", "authorization_type", "basic",
                                 "verification_tokens", "aaa", "VT-A", consumer, "VT-LONG");
        assert_non_null(auth);
        const ManifestAuth m = { .type = AUTH_SERVICE_HTTP,
                                 .auth = auth,
                                 .verification_tokens = json_object_get(auth, "verification_tokens") };
        assert_true(vault_plugin_register(v, "half", NULL, &m, &p, NULL) < 0);
        assert_int_equal(vault_plugin_summary(v, "half", 0, 10, &s), -ENOENT);
        assert_no_secret(v, "half", "verification_token:aaa");

        /* Over a registered plugin: the old registration stays whole. */
        assert_int_equal(register_manifest(v,
                                           "{'name_for_model':'half','auth':{'type':'service_http',"
                                           "'authorization_type':'bearer','verification_tokens':{'old':'VT-OLD'}}}",
                                           NULL, NULL),
                         0);
        assert_true(vault_plugin_register(v, "half", NULL, &m, &p, NULL) < 0);
        assert_int_equal(vault_plugin_summary(v, "half", 0, 10, &s), 0);
        assert_int_equal(s.plugin.version, 1);
        assert_int_equal(s.plugin.scheme, AUTH_SCHEME_BEARER);
        vault_plugin_summary_done(&s);
        assert_secret(v, "half", "verification_token:old", "VT-OLD");
        assert_no_secret(v, "half", "verification_token:aaa");
        json_decref(auth);
}

static void test_list(void **state) {
        VaultFixture *f = *state;
        static const char *const names[] = { "alpha", "beta", "beta.two", "gamma" };
        StoredPlugin *items = NULL;
        size_t n = 0;

        assert_int_equal(vault_plugin_list(f->vault, NULL, 10, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_plugins_free(items, n);
        for (size_t i = ELEMENTSOF(names); i-- > 0;) {
                char text[128];
                snprintf(text, sizeof(text), "{'name_for_model':'%s','auth':{'type':'none'}}", names[i]);
                assert_int_equal(register_manifest(f->vault, text, NULL, NULL), 0);
        }
        assert_int_equal(vault_plugin_list(f->vault, NULL, 10, &items, &n), 0);
        assert_int_equal(n, ELEMENTSOF(names));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(items[i].name, names[i]);
        stored_plugins_free(items, n);
        assert_int_equal(vault_plugin_list(f->vault, "beta", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].name, "beta.two");
        assert_string_equal(items[1].name, "gamma");
        stored_plugins_free(items, n);
}

static void put_token(Vault *v, const char *plugin, const char *user, const char *text) {
        json_t *j = json_quote(text);
        assert_int_equal(vault_token_put(v, plugin, user, j, NULL), 0);
        json_decref(j);
}

/* todo: registered, 3 secrets (one a verification token), 3 token sets
 * (valid, expiring, expired), 2 API keys. */
static void fill_todo(Vault *v) {
        assert_int_equal(register_manifest(v, TODO_MANIFEST("'openai':'VT-1'"), NULL, NULL), 0);
        assert_int_equal(vault_secret_put(v, "todo", "client_id", (const uint8_t *) "id", 2, NULL), 0);
        assert_int_equal(vault_secret_put(v, "todo", "client_secret", (const uint8_t *) "cs", 2, NULL), 0);
        put_token(v, "todo", "alice", "{'access_token':'a','token_type':'Bearer','expires_in':86400}");
        put_token(v, "todo", "bob", "{'access_token':'b','token_type':'Bearer','expires_in':60}");
        put_token(v, "todo", "carol", "{'access_token':'c','token_type':'Bearer','expires_at':1}");
        assert_int_equal(vault_apikey_put(v, "todo", "alice", (const uint8_t *) "key-a", 5, NULL), 0);
        assert_int_equal(vault_apikey_put(v, "todo", "bob", (const uint8_t *) "key-b", 5, NULL), 0);
        /* Another plugin's things, and one named like it. */
        assert_int_equal(vault_secret_put(v, "todo2", "client_id", (const uint8_t *) "x", 1, NULL), 0);
        put_token(v, "todo2", "alice", "{'access_token':'x','token_type':'Bearer'}");
}

static void test_summary(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        PluginSummary s = {};

        assert_int_equal(vault_plugin_summary(v, "todo", 600, 10, &s), -ENOENT);
        fill_todo(v);

        assert_int_equal(vault_plugin_summary(v, "todo", 600, 10, &s), 0);
        assert_true(s.registered);
        assert_string_equal(s.plugin.name, "todo");
        assert_int_equal(s.n_secrets, 3);
        assert_int_equal(s.n_apikeys, 2);
        assert_int_equal(s.tokens.total, 3);
        assert_int_equal(s.tokens.expiring, 1);
        assert_int_equal(s.tokens.expired, 1);
        assert_int_equal(s.tokens.reauth_required, 0);
        assert_int_equal(s.tokens.refreshing, 0);
        assert_int_equal(s.n_secrets_page, 3);
        assert_false(s.secrets_truncated);
        assert_string_equal(s.secrets[0].name, "client_id");
        assert_string_equal(s.secrets[1].name, "client_secret");
        assert_string_equal(s.secrets[2].name, "verification_token:openai");
        for (size_t i = 0; i < s.n_secrets_page; i++) {
                assert_null(s.secrets[i].sealed);
                assert_string_equal(s.secrets[i].plugin, "todo");
        }
        vault_plugin_summary_done(&s);

        /* A page of two: truncated. And of three exactly: not. */
        assert_int_equal(vault_plugin_summary(v, "todo", 0, 2, &s), 0);
        assert_int_equal(s.n_secrets_page, 2);
        assert_true(s.secrets_truncated);
        assert_int_equal(s.n_secrets, 3);
        assert_int_equal(s.tokens.expiring, 0); /* no horizon */
        vault_plugin_summary_done(&s);
        assert_int_equal(vault_plugin_summary(v, "todo", 0, 3, &s), 0);
        assert_int_equal(s.n_secrets_page, 3);
        assert_false(s.secrets_truncated);
        vault_plugin_summary_done(&s);

        /* Holding things without a registration. */
        assert_int_equal(vault_plugin_summary(v, "todo2", 600, 10, &s), 0);
        assert_false(s.registered);
        assert_null(s.plugin.name);
        assert_int_equal(s.n_secrets, 1);
        assert_int_equal(s.tokens.total, 1);
        assert_int_equal(s.n_apikeys, 0);
        vault_plugin_summary_done(&s);
}

static void test_delete(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        PluginRemoved removed = {};
        PluginSummary s = {};
        json_t *auth = NULL;
        char *user = NULL;

        assert_int_equal(vault_plugin_delete(v, "todo", &removed), -ENOENT);
        fill_todo(v);
        assert_int_equal(vault_plugin_delete(v, "todo", &removed), 0);
        assert_true(removed.registered);
        assert_int_equal(removed.secrets, 3);
        assert_int_equal(removed.tokens, 3);
        assert_int_equal(removed.apikeys, 2);

        assert_int_equal(vault_plugin_summary(v, "todo", 600, 10, &s), -ENOENT);
        assert_int_equal(vault_manifest_auth(v, "todo", &auth, NULL), -ENOENT);
        assert_null(auth);
        assert_no_secret(v, "todo", "verification_token:openai");
        assert_no_secret(v, "todo", "client_secret");
        SecretBuf *text = NULL;
        assert_int_equal(vault_token_get(v, "todo", "alice", 0, &text, NULL, NULL), -ENOENT);
        const Presented p = { .value = (const uint8_t *) "key-a", .size = 5 };
        assert_int_equal(vault_apikey_lookup(v, "todo", &p, &user), 0);
        assert_null(user);
        assert_int_equal(vault_plugin_delete(v, "todo", &removed), -ENOENT);

        /* todo2 untouched; deleted too, it was not registered. */
        assert_int_equal(vault_plugin_summary(v, "todo2", 600, 10, &s), 0);
        vault_plugin_summary_done(&s);
        assert_int_equal(vault_plugin_delete(v, "todo2", &removed), 0);
        assert_false(removed.registered);
        assert_int_equal(removed.secrets, 1);
        assert_int_equal(removed.tokens, 1);

        /* Durable. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_int_equal(vault_plugin_summary(f->vault, "todo", 600, 10, &s), -ENOENT);
}

static void test_manifest_auth(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        json_t *auth = NULL;
        char *consumer = (char *) 1;
        Manifest m;

        assert_int_equal(vault_manifest_auth(v, "todo", &auth, &consumer), -ENOENT);
        assert_null(auth);
        assert_null(consumer);

        const char *text = TODO_MANIFEST("'openai':'VT-OPENAI','zeta':'VT-ZETA'");
        assert_int_equal(register_manifest(v, text, NULL, NULL), 0);
        assert_int_equal(vault_manifest_auth(v, "todo", &auth, &consumer), 0);
        assert_null(consumer);
        /* The auth block as registered, token values and all. */
        manifest_load(&m, text);
        if (!json_equal(auth, m.auth.auth)) {
                char *got = json_dumps(auth, JSON_COMPACT);
                fail_msg("manifest_auth gave %s", got);
        }
        manifest_done(&m);
        json_decref(auth);
        auth = NULL;

        /* A verification token deleted behind the registration's back. */
        assert_int_equal(vault_secret_delete(v, "todo", "verification_token:zeta"), 0);
        assert_int_equal(vault_manifest_auth(v, "todo", &auth, &consumer), -ENODATA);
        assert_null(auth);
        assert_non_null(consumer);
        assert_string_equal(consumer, "zeta");
        free(consumer);
        consumer = NULL;
        /* The caller may not care which. */
        assert_int_equal(vault_manifest_auth(v, "todo", &auth, NULL), -ENODATA);

        /* No tokens at all: the block as it is. */
        assert_int_equal(register_manifest(v, "{'name_for_model':'plain','auth':{'type':'none'}}", NULL, NULL), 0);
        assert_int_equal(vault_manifest_auth(v, "plain", &auth, &consumer), 0);
        json_t *want = json_quote("{'type':'none'}");
        assert_true(json_equal(auth, want));
        json_decref(want);
        json_decref(auth);
}

static void assert_plugin_refused(Vault *v, const char *name, const char *what) {
        json_t *auth = NULL;
        StoredPlugin *items = NULL;
        size_t n = 0;
        PluginSummary sum = {};
        char *domain = NULL;

        int r = vault_manifest_auth(v, name, &auth, NULL);
        if (r != -EUCLEAN)
                fail_msg("%s: manifest_auth %d", what, r);
        assert_null(auth);
        r = vault_plugin_list(v, NULL, 10, &items, &n);
        if (r != -EUCLEAN)
                fail_msg("%s: list %d", what, r);
        r = vault_plugin_summary(v, name, 600, 10, &sum);
        if (r != -EUCLEAN)
                fail_msg("%s: summary %d", what, r);
        /* Not replaced either: its domain decides who may take the name. */
        if (strcmp(name, "todo") == 0) {
                r = register_manifest(v, TODO_MANIFEST("'openai':'VT-2'"), NULL, &domain);
                if (r != -EUCLEAN)
                        fail_msg("%s: register again %d", what, r);
                assert_null(domain);
        }
}

/* Issue 7 #9: the plugin row is bound to the keyring. */
static void test_row_tampered(void **state) {
        VaultFixture *f = *state;
        static const struct {
                const char *sql, *victim;
        } tamper[] = {
                /* what secret.verify and the assistant are given */
                { "UPDATE plugin SET auth_public = json_set(auth_public, '$.authorization_type', 'bearer') "
                  "WHERE name = 'todo'",
                  "todo" },
                { "UPDATE plugin SET auth_public = json_set(auth_public, '$.verification_tokens.evil', NULL) "
                  "WHERE name = 'todo'",
                  "todo" },
                { "UPDATE plugin SET auth_scheme = 'bearer' WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET domain = 'evil.example.com' WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET domain = NULL WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET auth_type = 'none' WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET version = version + 1 WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET created_at = created_at - 1 WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET updated_at = updated_at + 1 WHERE name = 'todo'", "todo" },
                /* the MAC itself */
                { "UPDATE plugin SET mac = NULL WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET mac = x'' WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET mac = substr(mac, 1, 31) WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET mac = CAST(mac || x'00' AS BLOB) WHERE name = 'todo'", "todo" },
                { "UPDATE plugin SET mac = zeroblob(32) WHERE name = 'todo'", "todo" },
                /* two rows' MACs swapped */
                { "UPDATE plugin SET mac = CASE name WHEN 'todo' THEN (SELECT mac FROM plugin WHERE name = 'other') "
                  "ELSE (SELECT mac FROM plugin WHERE name = 'todo') END",
                  "todo" },
                /* a whole row under another name */
                { "DELETE FROM plugin WHERE name = 'other'; UPDATE plugin SET name = 'other' WHERE name = 'todo'",
                  "other" },
        };
        PluginRemoved removed;

        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                assert_int_equal(register_manifest(f->vault, TODO_MANIFEST("'openai':'VT-1'"), NULL, NULL), 0);
                assert_int_equal(
                        register_manifest(f->vault, "{'name_for_model':'other','auth':{'type':'none'}}", NULL, NULL),
                        0);
                vault_fixture_close_db(f);
                assert_true(sql_exec(f->db_path, tamper[i].sql) > 0);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
                assert_plugin_refused(f->vault, tamper[i].victim, tamper[i].sql);
                /* Deleting is how it goes; then the name is free again. */
                assert_int_equal(vault_plugin_delete(f->vault, tamper[i].victim, &removed), 0);
                assert_true(removed.registered);
                vault_plugin_delete(f->vault, "todo", &removed);
                vault_plugin_delete(f->vault, "other", &removed);
        }
        StoredPlugin p = {};
        assert_int_equal(register_manifest(f->vault, TODO_MANIFEST("'openai':'VT-3'"), &p, NULL), 0);
        assert_int_equal(p.version, 1);
        stored_plugin_done(&p);
        json_t *auth = NULL;
        assert_int_equal(vault_manifest_auth(f->vault, "todo", &auth, NULL), 0);
        json_decref(auth);
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_register, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_register_bare_block, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_register_again, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_domain_conflict, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_auth_public_too_big, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_register_all_or_nothing, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_list, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_summary, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_delete, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_manifest_auth, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_row_tampered, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
