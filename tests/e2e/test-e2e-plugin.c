/* test-e2e-plugin.c — plugins registered from real manifests, end to end.
 *
 * Every one of the 866 manifests of the plugin store corpus ($CV_CORPUS)
 * registers as a plugin of its own through libcredvault and the real
 * daemon, and manifest.auth renders its auth block back equal as JSON; the
 * list then holds exactly those plugins. A name_for_model taken by another
 * domain is refused and changes nothing; registering the same name and
 * domain again updates (verification tokens changed, added, removed).
 * Mutated real manifests are refused with a message naming the field, and
 * leave nothing behind. plugin.get never shows a verification token, and
 * deleting a plugin removes its secrets, token sets and API keys.
 *
 * Exits 77 (skipped) when the corpus is not there. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"

#define N_CORPUS_EXPECTED 866

static Harness h;
static CvClient *c;
static json_t *corpus;

static int group_setup(void **state) {
        (void) state;
        if (harness_start(&h) < 0)
                return -1;
        return cv_client_new(h.socket_path, 10000, &c) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(c);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

static json_t *load(const char *text) {
        json_error_t e;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!j)
                fail_msg("not JSON (%s): %.200s", e.text, text);
        return j;
}

static char *dump(const json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(s);
        return s;
}

static int count_plugins(void) {
        CvPluginInfo *items = NULL;
        int n = cv_plugin_list(c, &items);
        assert_true(n >= 0);
        cv_plugin_info_free(items, (size_t) n);
        return n;
}

static int count_secrets(const char *plugin) {
        CvSecretInfo *items = NULL;
        int n = cv_secret_list(c, plugin, &items);
        assert_true(n >= 0);
        cv_secret_info_free(items, (size_t) n);
        return n;
}

/* The version plugin.get reports for a registered plugin. */
static int64_t plugin_version(const char *name) {
        char *text = NULL;
        assert_int_equal(cv_plugin_show_json(c, name, 300, &text), 0);
        json_t *j = load(text);
        assert_true(json_is_true(json_object_get(j, "registered")));
        int64_t v = json_integer_value(json_object_get(j, "version"));
        json_decref(j);
        free(text);
        return v;
}

/* manifest.auth of a plugin, parsed. */
static json_t *manifest_auth(const char *name) {
        char *text = NULL;
        int r = cv_plugin_manifest_auth(c, name, &text);
        if (r < 0)
                fail_msg("manifest.auth of '%s': %d %s", name, r, cv_client_error_message(c));
        json_t *j = load(text);
        cv_free_wiped(text, (size_t) -1);
        return j;
}

/* The auth block plugin.get may show: verification token values nulled. */
static json_t *public_auth(const json_t *auth) {
        json_t *copy = json_deep_copy(auth), *tokens = json_object_get(copy, "verification_tokens");
        const char *consumer;
        json_t *v;
        json_object_foreach(tokens, consumer, v)
                json_object_set_new(tokens, consumer, json_null());
        return copy;
}

/* plugin.get shows the public auth block, and none of the tokens' values. */
static void assert_show_hides_tokens(const char *name, const json_t *auth) {
        char *text = NULL;
        const char *consumer;
        json_t *v;

        assert_int_equal(cv_plugin_show_json(c, name, 300, &text), 0);
        json_object_foreach(json_object_get(auth, "verification_tokens"), consumer, v) {
                if (strstr(text, json_string_value(v)))
                        fail_msg("plugin.get of '%s' shows the verification token of '%s'", name, consumer);
        }
        json_t *shown = load(text), *want = public_auth(auth);
        if (!json_equal(json_object_get(shown, "auth"), want))
                fail_msg("plugin.get of '%s' shows auth %s", name, text);
        json_decref(want);
        json_decref(shown);
        free(text);
}

/* ---- the corpus ---- */

typedef struct Registered {
        char *name;
        const char *domain;
        const char *auth_type;
        json_t *auth;
} Registered;

static Registered *registered;
static size_t n_registered;

static const Registered *registered_find(const char *name) {
        for (size_t i = 0; i < n_registered; i++)
                if (strcmp(registered[i].name, name) == 0)
                        return &registered[i];
        return NULL;
}

static int registered_compare(const void *a, const void *b) {
        return strcmp(((const Registered *) a)->name, ((const Registered *) b)->name);
}

static void test_corpus_registers_and_renders(void **state) {
        (void) state;
        size_t n = json_array_size(corpus), n_refused_collisions = 0, n_renamed = 0;
        assert_int_equal(n, N_CORPUS_EXPECTED);
        registered = calloc(n, sizeof(Registered));
        assert_non_null(registered);

        for (size_t i = 0; i < n; i++) {
                json_t *entry = json_array_get(corpus, i), *manifest = json_object_get(entry, "manifest");
                const char *domain = json_string_value(json_object_get(entry, "domain"));
                const char *id = json_string_value(json_object_get(entry, "id"));
                const char *model_name = json_string_value(json_object_get(manifest, "name_for_model"));
                json_t *auth = json_object_get(manifest, "auth");
                char name[CV_NAME_SIZE_MAX + 1], *used = NULL;
                const Registered *taken = registered_find(model_name);
                assert_non_null(domain);
                assert_non_null(id);
                assert_non_null(model_name);

                char *text = dump(manifest);
                if (taken && strcmp(taken->domain, domain) != 0) {
                        /* Without a name, the taken name_for_model is
                         * refused, naming the domain that has it. */
                        int64_t before = plugin_version(taken->name);
                        int r = cv_plugin_register(c, text, NULL, domain, NULL);
                        if (r != -EEXIST)
                                fail_msg("entry %zu: '%s' for %s over %s: %d", i, model_name, domain, taken->domain, r);
                        assert_string_equal(cv_client_error_code(c), "conflict");
                        if (!strstr(cv_client_error_message(c), taken->domain))
                                fail_msg("message '%s' does not name %s", cv_client_error_message(c), taken->domain);
                        assert_int_equal(plugin_version(taken->name), before);
                        n_refused_collisions++;
                }
                if (!taken)
                        snprintf(name, sizeof(name), "%s", model_name);
                else {
                        snprintf(name, sizeof(name), "%s@%s", model_name, domain);
                        if (registered_find(name))
                                snprintf(name, sizeof(name), "%s@%s.%s", model_name, domain, id + strlen(id) - 8);
                        n_renamed++;
                }
                assert_null(registered_find(name));

                int r = cv_plugin_register(c, text, taken ? name : NULL, domain, &used);
                if (r != 1)
                        fail_msg("entry %zu (%s): register returned %d: %s", i, name, r, cv_client_error_message(c));
                assert_string_equal(used, name);
                free(used);
                free(text);
                registered[n_registered++] = (Registered) {
                        .name = strdup(name),
                        .domain = domain,
                        .auth_type = json_string_value(json_object_get(auth, "type")),
                        .auth = auth,
                };

                json_t *back = manifest_auth(name);
                if (!json_equal(back, auth)) {
                        char *want = dump(auth), *got = dump(back);
                        fail_msg("entry %zu (%s): auth renders back as\n%s\nnot\n%s", i, name, got, want);
                }
                json_decref(back);
                assert_show_hides_tokens(name, auth);
        }
        print_message("registered %zu manifests, %zu under another name, %zu collisions refused\n", n_registered,
                      n_renamed, n_refused_collisions);
        assert_true(n_renamed > 0);
        assert_true(n_refused_collisions > 0);

        /* The list: exactly these plugins, in name order, as registered. */
        CvPluginInfo *items = NULL;
        int k = cv_plugin_list(c, &items);
        assert_int_equal(k, N_CORPUS_EXPECTED);
        qsort(registered, n_registered, sizeof(Registered), registered_compare);
        for (int i = 0; i < k; i++) {
                assert_string_equal(items[i].name, registered[i].name);
                assert_non_null(items[i].domain);
                assert_string_equal(items[i].domain, registered[i].domain);
                assert_string_equal(items[i].auth_type, registered[i].auth_type);
                assert_int_equal(items[i].version, 1);
                assert_true(items[i].created > 0);
        }
        cv_plugin_info_free(items, (size_t) k);
}

/* The first manifest of the corpus with this auth type, and (optionally)
 * verification tokens: a deep copy. */
static json_t *corpus_manifest(const char *auth_type, bool with_tokens) {
        size_t i;
        json_t *entry;
        json_array_foreach(corpus, i, entry) {
                json_t *m = json_object_get(entry, "manifest"), *auth = json_object_get(m, "auth");
                if (strcmp(json_string_value(json_object_get(auth, "type")), auth_type) == 0 &&
                    (!with_tokens || json_object_size(json_object_get(auth, "verification_tokens")) > 0))
                        return json_deep_copy(m);
        }
        fail_msg("no %s manifest in the corpus", auth_type);
        return NULL;
}

static int register_json(const json_t *manifest, const char *name, const char *domain) {
        char *text = dump(manifest);
        int r = cv_plugin_register(c, text, name, domain, NULL);
        free(text);
        return r;
}

static void test_name_taken_by_other_domain(void **state) {
        (void) state;
        json_t *first = corpus_manifest("oauth", true), *second = corpus_manifest("service_http", true);
        json_object_set_new(first, "name_for_model", json_string("collision_probe"));
        json_object_set_new(second, "name_for_model", json_string("collision_probe"));
        int n_before = count_plugins();

        assert_int_equal(register_json(first, NULL, "first.example.com"), 1);
        assert_int_equal(register_json(second, NULL, "second.example.com"), -EEXIST);
        assert_string_equal(cv_client_error_code(c), "conflict");
        assert_non_null(strstr(cv_client_error_message(c), "first.example.com"));

        /* The domain from the manifest's api.url, when none is given: a
         * different one is as much a conflict. */
        json_object_set_new(
                second, "api",
                json_pack("{s:s s:s}", "type", "openapi", "url", "https://Other.Example.org:8443/openapi.yaml"));
        assert_int_equal(register_json(second, NULL, NULL), -EEXIST);
        assert_non_null(strstr(cv_client_error_message(c), "first.example.com"));

        /* Nothing changed: still the first, version 1, its own auth. */
        assert_int_equal(count_plugins(), n_before + 1);
        assert_int_equal(plugin_version("collision_probe"), 1);
        json_t *back = manifest_auth("collision_probe");
        assert_true(json_equal(back, json_object_get(first, "auth")));
        json_decref(back);
        CvPluginInfo *items = NULL;
        int n = cv_plugin_list(c, &items);
        bool found = false;
        for (int i = 0; i < n; i++)
                if (strcmp(items[i].name, "collision_probe") == 0) {
                        found = true;
                        assert_string_equal(items[i].domain, "first.example.com");
                        assert_string_equal(items[i].auth_type, "oauth");
                }
        assert_true(found);
        cv_plugin_info_free(items, (size_t) n);

        /* Under a name of its own it registers. */
        assert_int_equal(register_json(second, "collision_probe@other.example.org", NULL), 1);
        json_decref(first);
        json_decref(second);
}

static void test_update_same_name_and_domain(void **state) {
        (void) state;
        json_t *m = corpus_manifest("service_http", true);
        json_t *tokens = json_object_get(json_object_get(m, "auth"), "verification_tokens");
        const char *consumer = NULL;
        json_t *v = NULL;
        json_object_foreach(tokens, consumer, v)
                break;
        assert_non_null(consumer);
        assert_non_null(v);
        char *first_consumer = strdup(consumer);
        char *old_value = strdup(json_string_value(v));

        assert_int_equal(register_json(m, "update_probe", "update.example.com"), 1);
        assert_int_equal(plugin_version("update_probe"), 1);

        /* A changed token is rendered back changed. */
        json_object_set_new(tokens, first_consumer, json_string("changed-verification-token-0001"));
        assert_int_equal(register_json(m, "update_probe", "update.example.com"), 2);
        assert_int_equal(plugin_version("update_probe"), 2);
        json_t *back = manifest_auth("update_probe");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        char *text = dump(back);
        assert_null(strstr(text, old_value));
        free(text);
        json_decref(back);
        assert_show_hides_tokens("update_probe", json_object_get(m, "auth"));

        /* A second consumer appears; then the first is removed and is gone,
         * from the rendered block and from the stored secrets. */
        json_object_set_new(tokens, "second_consumer", json_string("second-consumer-token"));
        assert_int_equal(register_json(m, "update_probe", "update.example.com"), 3);
        back = manifest_auth("update_probe");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        json_decref(back);
        assert_int_equal(count_secrets("update_probe"), 2);

        json_object_del(tokens, first_consumer);
        assert_int_equal(register_json(m, "update_probe", "update.example.com"), 4);
        back = manifest_auth("update_probe");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        assert_null(json_object_get(json_object_get(back, "verification_tokens"), first_consumer));
        json_decref(back);
        CvSecretInfo *secrets = NULL;
        int n = cv_secret_list(c, "update_probe", &secrets);
        assert_int_equal(n, 1);
        assert_string_equal(secrets[0].name, "verification_token:second_consumer");
        cv_secret_info_free(secrets, (size_t) n);

        /* No verification tokens at all: none stored. */
        json_object_del(json_object_get(m, "auth"), "verification_tokens");
        assert_int_equal(register_json(m, "update_probe", "update.example.com"), 5);
        back = manifest_auth("update_probe");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        json_decref(back);
        assert_int_equal(count_secrets("update_probe"), 0);

        /* Another auth type entirely, same name and domain: an update. */
        json_t *o = corpus_manifest("oauth", true);
        assert_int_equal(register_json(o, "update_probe", "update.example.com"), 6);
        back = manifest_auth("update_probe");
        assert_true(json_equal(back, json_object_get(o, "auth")));
        json_decref(back);
        json_decref(o);

        free(first_consumer);
        free(old_value);
        json_decref(m);
}

/* ---- mutated manifests ---- */

typedef enum Base { BASE_NONE, BASE_SERVICE, BASE_OAUTH } Base;

typedef struct Mutation {
        Base base;
        const char *what;       /* "set" a field of auth to a value, "del" it, or "special" */
        const char *field;      /* auth field; for "special", which */
        const char *value_json; /* for "set" */
        const char *in_message; /* the message names this */
} Mutation;

static char *string_json(char fill, size_t n) {
        char *s = malloc(n + 3);
        assert_non_null(s);
        s[0] = '"';
        memset(s + 1, fill, n);
        s[n + 1] = '"';
        s[n + 2] = '\0';
        return s;
}

static void test_mutated_manifests_refused(void **state) {
        (void) state;
        char *s100k = string_json('i', 100 * 1024), *s3k = string_json('u', 3 * 1024);
        char *s9k = string_json('t', 9000);
        char many_tokens[1024];
        int k = snprintf(many_tokens, sizeof(many_tokens), "{");
        for (int i = 0; i < 17; i++)
                k += snprintf(many_tokens + k, sizeof(many_tokens) - (size_t) k, "%s\"c%d\":\"t%d\"", i ? "," : "", i,
                              i);
        snprintf(many_tokens + k, sizeof(many_tokens) - (size_t) k, "}");

        const Mutation mutations[] = {
                { BASE_OAUTH, "set", "type", "\"kerberos\"", "type" },
                { BASE_SERVICE, "set", "type", "\"Service_HTTP\"", "type" },
                { BASE_SERVICE, "del", "authorization_type", NULL, "authorization_type" },
                { BASE_SERVICE, "set", "type", "\"user_http\"", NULL }, /* still valid: see below */
                { BASE_OAUTH, "del", "client_url", NULL, "client_url" },
                { BASE_OAUTH, "del", "authorization_url", NULL, "authorization_url" },
                { BASE_OAUTH, "del", "scope", NULL, "scope" },
                { BASE_OAUTH, "del", "type", NULL, "type" },
                { BASE_OAUTH, "set", "client_url", "42", "client_url" },
                { BASE_OAUTH, "set", "scope", "[\"read\",\"write\"]", "scope" },
                { BASE_SERVICE, "set", "instructions", "7", "instructions" },
                { BASE_SERVICE, "set", "authorization_type", "null", "authorization_type" },
                { BASE_SERVICE, "set", "verification_tokens", "[\"tok\"]", "verification_tokens" },
                { BASE_SERVICE, "set", "verification_tokens", "{\"openai\":42}", "verification_tokens" },
                { BASE_SERVICE, "set", "verification_tokens", "{\"openai\":\"has space\"}", "verification_tokens" },
                { BASE_SERVICE, "set", "verification_tokens", "{\"open ai\":\"tok\"}", "verification_tokens" },
                { BASE_SERVICE, "set", "verification_tokens", many_tokens, "verification_tokens" },
                { BASE_NONE, "set", "verification_tokens", "{\"openai\":\"tok\"}", "verification_tokens" },
                { BASE_OAUTH, "set", "pkce_required", "true", "pkce_required" },
                { BASE_SERVICE, "set", "client_url", "\"https://x.example/\"", "client_url" },
                { BASE_NONE, "set", "instructions", "\"\"", "instructions" },
                { BASE_OAUTH, "set", "instructions", s100k, "instructions" },
                { BASE_OAUTH, "set", "client_url", s3k, "client_url" },
                { BASE_SERVICE, "set", "instructions", s9k, "instructions" },
                { BASE_SERVICE, "set", "authorization_type", "\"digest\"", "authorization_type" },
                { BASE_SERVICE, "set", "authorization_type", "\"\"", "authorization_type" },
                { BASE_NONE, "special", "auth-string", NULL, "auth" },
                { BASE_NONE, "special", "auth-array", NULL, "auth" },
                { BASE_NONE, "special", "auth-missing", NULL, "auth" },
                { BASE_NONE, "special", "manifest-array", NULL, "manifest" },
                { BASE_NONE, "special", "manifest-string", NULL, "manifest" },
                { BASE_NONE, "special", "manifest-not-json", NULL, "manifest" },
                { BASE_NONE, "special", "name-number", NULL, "name_for_model" },
                { BASE_NONE, "special", "name-bad-chars", NULL, "name_for_model" },
        };
        json_t *bases[] = { corpus_manifest("none", false), corpus_manifest("service_http", true),
                            corpus_manifest("oauth", true) };
        int n_before = count_plugins();

        for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
                const Mutation *mu = &mutations[i];
                json_t *m = json_deep_copy(bases[mu->base]), *auth = json_object_get(m, "auth");
                char name[32], *text = NULL;
                const char *pass_name = name;
                snprintf(name, sizeof(name), "mutant_%zu", i);

                if (strcmp(mu->what, "set") == 0)
                        json_object_set_new(auth, mu->field, load(mu->value_json));
                else if (strcmp(mu->what, "del") == 0)
                        assert_int_equal(json_object_del(auth, mu->field), 0);
                else if (strcmp(mu->field, "auth-string") == 0)
                        json_object_set_new(m, "auth", json_string("none"));
                else if (strcmp(mu->field, "auth-array") == 0)
                        json_object_set_new(m, "auth", json_pack("[{s:s}]", "type", "none"));
                else if (strcmp(mu->field, "auth-missing") == 0)
                        json_object_del(m, "auth");
                else if (strcmp(mu->field, "manifest-array") == 0)
                        text = strdup("[{\"auth\":{\"type\":\"none\"}}]");
                else if (strcmp(mu->field, "manifest-string") == 0)
                        text = strdup("\"ai-plugin.json\"");
                else if (strcmp(mu->field, "manifest-not-json") == 0)
                        text = strdup("{\"auth\":{\"type\":\"none\"}");
                else if (strcmp(mu->field, "name-number") == 0) {
                        json_object_set_new(m, "name_for_model", json_integer(5));
                        pass_name = NULL;
                } else if (strcmp(mu->field, "name-bad-chars") == 0) {
                        json_object_set_new(m, "name_for_model", json_string("mutant name/with spaces"));
                        pass_name = NULL;
                } else
                        fail_msg("unknown mutation %s", mu->field);
                if (!text)
                        text = dump(m);

                int r = cv_plugin_register(c, text, pass_name, "mutant.example.com", NULL);
                const char *msg = cv_client_error_message(c);
                if (!mu->in_message) {
                        /* A service_http block is also a valid user_http one. */
                        assert_int_equal(r, 1);
                        assert_int_equal(cv_plugin_delete(c, name), 0);
                } else if (strcmp(mu->field, "instructions") == 0 && r == -EMSGSIZE) {
                        /* Too large for a frame: refused before it is sent. */
                        assert_string_equal(cv_client_error_code(c), "too_large");
                } else {
                        if (r != -EINVAL)
                                fail_msg("mutation %zu (%s %s): %d, %s", i, mu->what, mu->field, r, msg);
                        assert_string_equal(cv_client_error_code(c), "bad_request");
                        if (!strstr(msg, mu->in_message))
                                fail_msg("mutation %zu (%s %s): message '%s' does not name %s", i, mu->what, mu->field,
                                         msg, mu->in_message);
                }

                /* Nothing stored. */
                char *shown = NULL;
                assert_int_equal(cv_plugin_show_json(c, name, 300, &shown), -ENOENT);
                assert_int_equal(count_secrets(name), 0);
                assert_int_equal(count_plugins(), n_before);
                free(text);
                json_decref(m);
        }
        for (size_t i = 0; i < 3; i++)
                json_decref(bases[i]);
        free(s100k);
        free(s3k);
        free(s9k);
}

static void test_show_hides_and_delete_removes_all(void **state) {
        (void) state;
        json_t *m = corpus_manifest("service_http", true);
        const char *consumer;
        json_t *v;
        CvToken tok = { .access_token = "AT-SECRET-of-doomed",
                        .token_type = "Bearer",
                        .refresh_token = "RT-SECRET-of-doomed",
                        .expires_at = 4102444800 };
        int n_before = count_plugins();

        assert_int_equal(register_json(m, "doomed", "doomed.example.com"), 1);
        assert_int_equal(cv_secret_put(c, "doomed", "service_token", "SVC-SECRET-of-doomed", 20, NULL), 0);
        assert_int_equal(cv_token_put(c, "doomed", "user-1", &tok, NULL), 0);
        assert_int_equal(cv_apikey_put(c, "doomed", "user-2", "KEY-SECRET-of-doomed", 20, NULL), 0);
        /* A neighbour whose name starts the same keeps everything. */
        assert_int_equal(register_json(m, "doomed2", "doomed2.example.com"), 1);
        assert_int_equal(cv_secret_put(c, "doomed2", "service_token", "x", 1, NULL), 0);
        assert_int_equal(cv_token_put(c, "doomed2", "user-1", &tok, NULL), 0);
        assert_int_equal(cv_apikey_put(c, "doomed2", "user-2", "other key", 9, NULL), 0);

        char *text = NULL;
        assert_int_equal(cv_plugin_show_json(c, "doomed", 300, &text), 0);
        json_object_foreach(json_object_get(json_object_get(m, "auth"), "verification_tokens"), consumer, v)
                assert_null(strstr(text, json_string_value(v)));
        assert_null(strstr(text, "SECRET"));
        json_t *shown = load(text);
        assert_true(json_is_true(json_object_get(shown, "registered")));
        assert_string_equal(json_string_value(json_object_get(shown, "domain")), "doomed.example.com");
        assert_string_equal(json_string_value(json_object_get(shown, "auth_type")), "service_http");
        assert_int_equal(json_array_size(json_object_get(shown, "secrets")),
                         1 + json_object_size(json_object_get(json_object_get(m, "auth"), "verification_tokens")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(shown, "tokens"), "total")), 1);
        assert_int_equal(json_integer_value(json_object_get(shown, "apikeys")), 1);
        json_decref(shown);
        free(text);

        /* The raw reply, too. */
        char *reply = NULL;
        assert_true(cv_call_json(c, "{\"op\":\"plugin.get\",\"plugin\":\"doomed\"}", &reply) > 0);
        json_object_foreach(json_object_get(json_object_get(m, "auth"), "verification_tokens"), consumer, v)
                assert_null(strstr(reply, json_string_value(v)));
        cv_free_wiped(reply, (size_t) -1);

        assert_int_equal(cv_plugin_delete(c, "doomed"), 0);
        CvSecretInfo *secrets = NULL;
        CvTokenInfo *tokens = NULL;
        assert_int_equal(cv_secret_list(c, "doomed", &secrets), 0);
        cv_secret_info_free(secrets, 0);
        assert_int_equal(cv_token_list(c, "doomed", &tokens), 0);
        cv_token_info_free(tokens, 0);
        assert_int_equal(cv_apikey_list(c, "doomed", &secrets), 0);
        cv_secret_info_free(secrets, 0);
        char *user = NULL;
        assert_int_equal(cv_apikey_lookup(c, "doomed", "KEY-SECRET-of-doomed", 20, &user), 0);
        /* The key's lookup entry went with it: the key is free again. */
        assert_int_equal(cv_apikey_put(c, "doomed", "someone-else", "KEY-SECRET-of-doomed", 20, NULL), 0);
        assert_int_equal(cv_apikey_lookup(c, "doomed", "KEY-SECRET-of-doomed", 20, &user), 1);
        assert_string_equal(user, "someone-else");
        free(user);
        user = NULL;
        assert_int_equal(cv_plugin_delete(c, "doomed"), 0);
        assert_int_equal(cv_plugin_show_json(c, "doomed", 300, &text), -ENOENT);
        assert_int_equal(cv_plugin_manifest_auth(c, "doomed", &text), -ENOENT);
        assert_int_equal(cv_plugin_delete(c, "doomed"), -ENOENT);
        assert_int_equal(count_plugins(), n_before + 1);

        /* The neighbour is whole. */
        assert_int_equal(count_secrets("doomed2"), 2);
        assert_int_equal(cv_token_list(c, "doomed2", &tokens), 1);
        cv_token_info_free(tokens, 1);
        assert_int_equal(cv_apikey_lookup(c, "doomed2", "other key", 9, &user), 1);
        assert_string_equal(user, "user-2");
        free(user);
        json_t *back = manifest_auth("doomed2");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        json_decref(back);

        /* A name never registered but holding secrets is deleted too. */
        assert_int_equal(cv_secret_put(c, "unregistered", "s", "v", 1, NULL), 0);
        assert_int_equal(cv_plugin_delete(c, "unregistered"), 0);
        assert_int_equal(count_secrets("unregistered"), 0);
        assert_int_equal(cv_plugin_delete(c, "unregistered"), -ENOENT);
        json_decref(m);
}

/* A verification token deleted as a secret is reported, not rendered as
 * null or as an empty block. */
static void test_manifest_auth_with_deleted_token(void **state) {
        (void) state;
        json_t *m = corpus_manifest("oauth", true);
        const char *consumer = NULL;
        json_t *v;
        char secret_name[CV_NAME_SIZE_MAX + 1], *text = NULL;
        json_object_foreach(json_object_get(json_object_get(m, "auth"), "verification_tokens"), consumer, v)
                break;
        assert_int_equal(register_json(m, "lost_token", "lost.example.com"), 1);
        snprintf(secret_name, sizeof(secret_name), "verification_token:%s", consumer);
        assert_int_equal(cv_secret_delete(c, "lost_token", secret_name), 0);
        assert_int_equal(cv_plugin_manifest_auth(c, "lost_token", &text), -ENOENT);
        assert_non_null(strstr(cv_client_error_message(c), consumer));
        /* Registering again heals it. */
        assert_int_equal(register_json(m, "lost_token", "lost.example.com"), 2);
        json_t *back = manifest_auth("lost_token");
        assert_true(json_equal(back, json_object_get(m, "auth")));
        json_decref(back);
        json_decref(m);
}

int main(void) {
        const char *path = getenv("CV_CORPUS");
        json_error_t e;

        if (!path || !(corpus = json_load_file(path, JSON_REJECT_DUPLICATES, &e))) {
                fprintf(stderr, "corpus %s not available, skipping\n", path ?: "(CV_CORPUS unset)");
                return 77;
        }
        if (!json_is_array(corpus)) {
                fprintf(stderr, "corpus %s is not a JSON array\n", path);
                return 1;
        }

        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus_registers_and_renders),
                cmocka_unit_test(test_name_taken_by_other_domain),
                cmocka_unit_test(test_update_same_name_and_domain),
                cmocka_unit_test(test_mutated_manifests_refused),
                cmocka_unit_test(test_show_hides_and_delete_removes_all),
                cmocka_unit_test(test_manifest_auth_with_deleted_token),
        };
        int r = cmocka_run_group_tests(tests, group_setup, group_teardown);
        for (size_t i = 0; i < n_registered; i++)
                free(registered[i].name);
        free(registered);
        json_decref(corpus);
        return r;
}
