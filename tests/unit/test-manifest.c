/* test-manifest.c — proto/manifest.c: the auth block of a plugin manifest.
 *
 * Shows: a valid block of each auth type passes, bare or inside a whole
 * ai-plugin.json; each auth type's required fields are required; a field of
 * another auth type or of none is refused by name (cut on a character
 * boundary, so the message stays UTF-8); wrong types and strings
 * over their limits are refused; verification tokens are checked (consumer
 * names, count, length, printable ASCII) and never quoted in a message;
 * name_for_model and the host of api.url are read from a whole manifest;
 * manifest_auth_public() drops the verification tokens from a copy only.
 *
 * JSON in this file is written with ' for " to stay readable; parsef()
 * swaps them back. */
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

#include "macro.h"
#include "manifest.h"
#include "proto-limits.h"

static char errbuf[ERROR_MESSAGE_SIZE_MAX];
static char domain[DOMAIN_SIZE_MAX + 1];
static const char *name;
static ManifestAuth auth;

/* The JSON text with ' turned into ", parsed. */
_printf_(1, 2) static json_t *loadf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        json_error_t e;

        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
        if (!j)
                fail_msg("test JSON does not parse (%s): %s", e.text, s);
        free(s);
        return j;
}

/* manifest_parse() into the globals, poisoned first so that what it
 * leaves unset shows. auth and name borrow from m: keep m meanwhile. */
static int parse(json_t *m) {
        memset(errbuf, 0, sizeof(errbuf));
        memset(domain, 'X', sizeof(domain));
        name = (const char *) 1;
        auth = (ManifestAuth) { .type = _AUTH_TYPE_MAX };
        return manifest_parse(m, &auth, &name, domain, sizeof(domain), errbuf, sizeof(errbuf));
}

/* Expect a bare auth block to fail with a message containing field. */
#define assert_block_fails(field, ...)                                                                                 \
        do {                                                                                                           \
                json_t *_m = loadf(__VA_ARGS__);                                                                       \
                assert_int_equal(parse(_m), -EBADMSG);                                                                 \
                if (!strstr(errbuf, (field)))                                                                          \
                        fail_msg("message '%s' does not name '%s'", errbuf, (field));                                  \
                json_decref(_m);                                                                                       \
        } while (0)

#define assert_block_ok(want_type, ...)                                                                                \
        do {                                                                                                           \
                json_t *_m = loadf(__VA_ARGS__);                                                                       \
                int _r = parse(_m);                                                                                    \
                if (_r != 0)                                                                                           \
                        fail_msg("refused (%d): %s", _r, errbuf);                                                      \
                assert_int_equal(auth.type, (want_type));                                                              \
                assert_ptr_equal(auth.auth, _m);                                                                       \
                assert_null(name);                                                                                     \
                assert_string_equal(domain, "");                                                                       \
                json_decref(_m);                                                                                       \
        } while (0)

/* n copies of c, NUL-terminated, malloc'd. */
static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

static void test_auth_type_names(void **state) {
        (void) state;
        const char *names[] = { "none", "service_http", "user_http", "oauth" };
        for (int i = 0; i < _AUTH_TYPE_MAX; i++) {
                assert_string_equal(manifest_auth_type_to_string(i), names[i]);
                assert_int_equal(manifest_auth_type_from_string(names[i]), i);
        }
        assert_null(manifest_auth_type_to_string(_AUTH_TYPE_MAX));
        assert_null(manifest_auth_type_to_string(-1));
        assert_int_equal(manifest_auth_type_from_string("OAuth"), -EINVAL);
        assert_int_equal(manifest_auth_type_from_string(""), -EINVAL);
        assert_int_equal(manifest_auth_type_from_string("oauth2"), -EINVAL);
}

static void test_valid_block_of_each_type(void **state) {
        (void) state;
        assert_block_ok(AUTH_NONE, "{'type':'none'}");
        assert_null(auth.verification_tokens);

        assert_block_ok(AUTH_SERVICE_HTTP, "{'type':'service_http','authorization_type':'bearer'}");
        assert_block_ok(AUTH_SERVICE_HTTP, "{'type':'service_http','authorization_type':'basic','instructions':'',"
                                           "'verification_tokens':{'openai':'e40f04b1f2324d51954fe294e071a5bf'}}");
        assert_block_ok(AUTH_USER_HTTP, "{'type':'user_http','authorization_type':'bearer','instructions':'x'}");
        assert_block_ok(AUTH_OAUTH, "{'type':'oauth','client_url':'https://a.example/authorize',"
                                    "'authorization_url':'https://a.example/token','scope':''}");
        assert_block_ok(AUTH_OAUTH,
                        "{'type':'oauth','instructions':'','client_url':'https://auth.deployscript.com',"
                        "'scope':'app:create,app:read','authorization_url':'https://a.example/api/authorize',"
                        "'authorization_content_type':'application/json',"
                        "'verification_tokens':{'openai':'e40f','other-consumer.v2':'x'}}");

        /* The verification tokens are handed out as the object in the block. */
        json_t *m = loadf("{'type':'service_http','authorization_type':'bearer','verification_tokens':{'openai':'t'}}");
        assert_int_equal(parse(m), 0);
        assert_ptr_equal(auth.verification_tokens, json_object_get(m, "verification_tokens"));
        json_decref(m);
}

static void test_required_fields(void **state) {
        (void) state;
        assert_block_fails("authorization_type", "{'type':'service_http'}");
        assert_block_fails("authorization_type", "{'type':'service_http','instructions':'x'}");
        assert_block_fails("authorization_type", "{'type':'user_http'}");
        assert_block_fails("client_url", "{'type':'oauth','authorization_url':'u','scope':'s'}");
        assert_block_fails("authorization_url", "{'type':'oauth','client_url':'u','scope':'s'}");
        assert_block_fails("scope", "{'type':'oauth','client_url':'u','authorization_url':'u'}");
        /* Whole manifest: the path in the message is the full one. */
        assert_block_fails("manifest.auth.scope",
                           "{'name_for_model':'x','auth':{'type':'oauth','client_url':'u','authorization_url':'u'}}");
        assert_block_fails("manifest.auth.type", "{'name_for_model':'x','auth':{'client_url':'u'}}");
        assert_block_fails("manifest.auth", "{'name_for_model':'x'}");
        assert_block_fails("manifest.auth", "{'name_for_model':'x','api':{'url':'https://a.example/'}}");
}

static void test_unknown_and_foreign_fields(void **state) {
        (void) state;
        assert_block_fails("type", "{'type':'magic'}");
        assert_block_fails("type", "{'type':'OAUTH','client_url':'u','authorization_url':'u','scope':'s'}");
        assert_block_fails("pkce_required", "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'s',"
                                            "'pkce_required':'true'}");
        /* A field of another auth type is as unknown as a misspelt one. */
        assert_block_fails("client_url", "{'type':'service_http','authorization_type':'bearer','client_url':'u'}");
        assert_block_fails("authorization_type", "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'s',"
                                                 "'authorization_type':'bearer'}");
        assert_block_fails("instructions", "{'type':'none','instructions':'x'}");
        assert_block_fails("verification_tokens", "{'type':'none','verification_tokens':{'openai':'x'}}");
        assert_block_fails("authorization_type", "{'type':'service_http','authorization_type':'digest'}");
        assert_block_fails("authorization_type", "{'type':'user_http','authorization_type':''}");
        assert_block_fails("extra", "{'name_for_model':'x','auth':{'type':'none','extra':1}}");
        /* The message says which auth type the field is not part of. */
        assert_block_fails("service_http", "{'type':'service_http','authorization_type':'bearer','scope':'s'}");
}

/* Whether s is valid UTF-8, by jansson's check rather than proto's own. */
static bool utf8_valid(const char *s) {
        json_t *j = json_string(s);
        json_decref(j);
        return j != NULL;
}

/* An unknown field's name is quoted cut to ERROR_FIELD_NAME_SIZE_MAX bytes
 * on a character boundary, wherever the limit falls in a character of 2, 3
 * or 4 bytes: the message stays valid UTF-8. */
static void test_unknown_field_cut_on_character(void **state) {
        (void) state;
        static const char *const wide_chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf4\x80\x80\x80" };
        for (size_t w = 0; w < ELEMENTSOF(wide_chars); w++)
                for (size_t n_ascii = ERROR_FIELD_NAME_SIZE_MAX - 8; n_ascii <= ERROR_FIELD_NAME_SIZE_MAX + 2;
                     n_ascii++) {
                        char key[128] = "";
                        memset(key, 'a', n_ascii);
                        for (int k = 0; k < 6; k++)
                                strcat(key, wide_chars[w]);
                        json_t *m = json_pack("{s:s s:s}", "type", "none", key, "x");
                        assert_non_null(m);
                        assert_int_equal(parse(m), -EBADMSG);
                        if (!utf8_valid(errbuf))
                                fail_msg("%zu + %zu-byte characters: message not UTF-8: %s", n_ascii, w + 2, errbuf);
                        assert_non_null(strstr(errbuf, "not a field of auth type none"));
                        const char *quoted = strstr(errbuf, "'manifest.") + strlen("'manifest.");
                        size_t n = (size_t) (strchr(quoted, '\'') - quoted);
                        assert_true(n <= ERROR_FIELD_NAME_SIZE_MAX);
                        assert_true(n + w + 2 > ERROR_FIELD_NAME_SIZE_MAX);
                        assert_memory_equal(quoted, key, n);
                        json_decref(m);
                }
}

static void test_wrong_types(void **state) {
        (void) state;
        assert_block_fails("manifest.type", "{'type':7}");
        assert_block_fails("manifest.type", "{'type':null}");
        assert_block_fails("client_url", "{'type':'oauth','client_url':42,'authorization_url':'u','scope':'s'}");
        assert_block_fails("scope", "{'type':'oauth','client_url':'u','authorization_url':'u','scope':['a','b']}");
        assert_block_fails("authorization_type", "{'type':'service_http','authorization_type':true}");
        assert_block_fails("instructions", "{'type':'user_http','authorization_type':'basic','instructions':{}}");
        assert_block_fails("verification_tokens",
                           "{'type':'service_http','authorization_type':'bearer','verification_tokens':['x']}");
        assert_block_fails("verification_tokens",
                           "{'type':'service_http','authorization_type':'bearer','verification_tokens':'x'}");
        assert_block_fails("verification_tokens",
                           "{'type':'service_http','authorization_type':'bearer','verification_tokens':null}");
        assert_block_fails("verification_tokens.openai",
                           "{'type':'service_http','authorization_type':'bearer','verification_tokens':{'openai':42}}");
        assert_block_fails("verification_tokens.openai", "{'type':'service_http','authorization_type':'bearer',"
                                                         "'verification_tokens':{'openai':{'v':'x'}}}");
        assert_block_fails("name_for_model", "{'name_for_model':12,'auth':{'type':'none'}}");

        /* Not an object at all. */
        json_t *j = json_string("oauth");
        assert_int_equal(parse(j), -EBADMSG);
        assert_non_null(strstr(errbuf, "manifest"));
        json_decref(j);
        j = json_array();
        assert_int_equal(parse(j), -EBADMSG);
        json_decref(j);
        assert_block_fails("manifest.auth", "{'name_for_model':'x','auth':'oauth'}");
        assert_block_fails("manifest.auth", "{'name_for_model':'x','auth':[{'type':'none'}]}");
        assert_block_fails("manifest.auth", "{'name_for_model':'x','auth':null}");
}

static void test_size_limits(void **state) {
        (void) state;
        char *url = repeat('u', MANIFEST_URL_SIZE_MAX + 1);
        char *text = repeat('t', MANIFEST_TEXT_SIZE_MAX + 1);
        char *scope = repeat('s', TOKEN_SCOPE_SIZE_MAX + 1);
        char *token = repeat('v', VERIFICATION_TOKEN_SIZE_MAX + 1);
        char *ctype = repeat('c', 129);

        /* At the limit: fine. One over: refused, naming the field. */
        url[MANIFEST_URL_SIZE_MAX] = 0;
        assert_block_ok(AUTH_OAUTH, "{'type':'oauth','client_url':'%s','authorization_url':'%s','scope':'s'}", url,
                        url);
        url[MANIFEST_URL_SIZE_MAX] = 'u';
        assert_block_fails("client_url", "{'type':'oauth','client_url':'%s','authorization_url':'u','scope':'s'}", url);
        assert_block_fails("authorization_url",
                           "{'type':'oauth','client_url':'u','authorization_url':'%s','scope':'s'}", url);

        text[MANIFEST_TEXT_SIZE_MAX] = 0;
        assert_block_ok(AUTH_USER_HTTP, "{'type':'user_http','authorization_type':'bearer','instructions':'%s'}", text);
        text[MANIFEST_TEXT_SIZE_MAX] = 't';
        assert_block_fails("instructions", "{'type':'user_http','authorization_type':'bearer','instructions':'%s'}",
                           text);

        scope[TOKEN_SCOPE_SIZE_MAX] = 0;
        assert_block_ok(AUTH_OAUTH, "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'%s'}", scope);
        scope[TOKEN_SCOPE_SIZE_MAX] = 's';
        assert_block_fails("scope", "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'%s'}", scope);

        ctype[128] = 0;
        assert_block_ok(AUTH_OAUTH,
                        "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'s',"
                        "'authorization_content_type':'%s'}",
                        ctype);
        ctype[128] = 'c';
        assert_block_fails("authorization_content_type",
                           "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'s',"
                           "'authorization_content_type':'%s'}",
                           ctype);

        /* A 100 KB string is only a longer case of the same. */
        char *huge = repeat('h', 100 * 1024);
        assert_block_fails("instructions",
                           "{'type':'oauth','client_url':'u','authorization_url':'u','scope':'s',"
                           "'instructions':'%s'}",
                           huge);

        token[VERIFICATION_TOKEN_SIZE_MAX] = 0;
        assert_block_ok(AUTH_SERVICE_HTTP,
                        "{'type':'service_http','authorization_type':'bearer',"
                        "'verification_tokens':{'openai':'%s'}}",
                        token);
        token[VERIFICATION_TOKEN_SIZE_MAX] = 'v';
        assert_block_fails("verification_tokens.openai",
                           "{'type':'service_http','authorization_type':'bearer',"
                           "'verification_tokens':{'openai':'%s'}}",
                           token);
        assert_block_fails("verification_tokens.openai", "{'type':'service_http','authorization_type':'bearer',"
                                                         "'verification_tokens':{'openai':''}}");
        free(url);
        free(text);
        free(scope);
        free(token);
        free(ctype);
        free(huge);
}

/* A service_http block with the given verification_tokens object text. */
static json_t *with_tokens(const char *tokens) {
        return loadf("{'type':'service_http','authorization_type':'bearer','verification_tokens':%s}", tokens);
}

static void test_verification_tokens(void **state) {
        (void) state;
        const char *good[] = { "openai", "A", "a_b.c-D9", "0" };
        const char *bad_names[] = { "", "open ai", "open/ai", "open:ai", "opén", "a@b" };
        char buf[512];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(buf, sizeof(buf), "{'%s':'tok'}", good[i]);
                json_t *m = with_tokens(buf);
                if (parse(m) != 0)
                        fail_msg("consumer '%s' refused: %s", good[i], errbuf);
                json_decref(m);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                snprintf(buf, sizeof(buf), "{'%s':'tok'}", bad_names[i]);
                json_t *m = with_tokens(buf);
                assert_int_equal(parse(m), -EBADMSG);
                assert_non_null(strstr(errbuf, "verification_tokens"));
                json_decref(m);
        }

        /* Consumer names: 64 characters at most. */
        char *c64 = repeat('c', 64), *c65 = repeat('c', 65);
        snprintf(buf, sizeof(buf), "{'%s':'tok'}", c64);
        json_t *m = with_tokens(buf);
        assert_int_equal(parse(m), 0);
        json_decref(m);
        snprintf(buf, sizeof(buf), "{'%s':'tok'}", c65);
        m = with_tokens(buf);
        assert_int_equal(parse(m), -EBADMSG);
        json_decref(m);
        assert_int_equal(manifest_check_consumer(c64), 0);
        assert_int_equal(manifest_check_consumer(c65), -EINVAL);
        free(c64);
        free(c65);

        /* At most VERIFICATION_TOKENS_MAX consumers. */
        int n = snprintf(buf, sizeof(buf), "{");
        for (int i = 0; i < VERIFICATION_TOKENS_MAX; i++)
                n += snprintf(buf + n, sizeof(buf) - (size_t) n, "%s'c%d':'t'", i ? "," : "", i);
        snprintf(buf + n, sizeof(buf) - (size_t) n, "}");
        m = with_tokens(buf);
        assert_int_equal(parse(m), 0);
        assert_int_equal(json_object_size(auth.verification_tokens), VERIFICATION_TOKENS_MAX);
        json_decref(m);
        snprintf(buf + n, sizeof(buf) - (size_t) n, ",'one_more':'t'}");
        m = with_tokens(buf);
        assert_int_equal(parse(m), -EBADMSG);
        assert_non_null(strstr(errbuf, "verification_tokens"));
        json_decref(m);

        /* Values are printable ASCII; the message never quotes one. */
        const char *bad_values[] = { "SECRETVALUE with space", "SECRETVALUE\\ttab", "SECRETVALUE\\u00e9",
                                     "SECRETVALUE\\u007f" };
        for (size_t i = 0; i < ELEMENTSOF(bad_values); i++) {
                snprintf(buf, sizeof(buf), "{'openai':'%s'}", bad_values[i]);
                m = with_tokens(buf);
                assert_int_equal(parse(m), -EBADMSG);
                assert_non_null(strstr(errbuf, "verification_tokens.openai"));
                assert_null(strstr(errbuf, "SECRETVALUE"));
                json_decref(m);
        }
        m = with_tokens("{'openai':'!~'}");
        assert_int_equal(parse(m), 0);
        json_decref(m);
}

static void test_messages_never_quote_values(void **state) {
        (void) state;
        assert_block_fails("client_url", "{'type':'oauth','client_url':%s,'authorization_url':'u','scope':'s'}",
                           "12345678901");
        assert_null(strstr(errbuf, "12345678901"));
        char *u = repeat('Q', MANIFEST_URL_SIZE_MAX + 1);
        assert_block_fails("client_url", "{'type':'oauth','client_url':'%s','authorization_url':'u','scope':'s'}", u);
        assert_null(strstr(errbuf, "QQQQ"));
        free(u);
        assert_block_fails("authorization_type", "{'type':'service_http','authorization_type':'SECRETdigest'}");
        assert_null(strstr(errbuf, "SECRET"));
        assert_block_fails("type", "{'type':'SECRETtype'}");
        assert_null(strstr(errbuf, "SECRET"));
}

static void test_bare_block_and_whole_manifest(void **state) {
        (void) state;
        json_t *m;

        /* A whole manifest: name_for_model and the host of api.url. */
        m = loadf("{'schema_version':'v1','name_for_model':'todo_list','name_for_human':'Todo',"
                  "'auth':{'type':'service_http','authorization_type':'bearer','verification_tokens':{'openai':'t'}},"
                  "'api':{'type':'openapi','url':'https://todo.example.com/openapi.yaml'},'logo_url':'x'}");
        assert_int_equal(parse(m), 0);
        assert_int_equal(auth.type, AUTH_SERVICE_HTTP);
        assert_ptr_equal(auth.auth, json_object_get(m, "auth"));
        assert_string_equal(name, "todo_list");
        assert_string_equal(domain, "todo.example.com");
        json_decref(m);

        /* Without name_for_model or api: no name, no domain. */
        m = loadf("{'auth':{'type':'none'}}");
        assert_int_equal(parse(m), 0);
        assert_null(name);
        assert_string_equal(domain, "");
        json_decref(m);

        /* "auth" wins over a top-level "type" (api.type is common, and so
         * may be a stray "type" in a whole manifest). */
        m = loadf("{'type':'openapi','auth':{'type':'none'},'name_for_model':'n'}");
        assert_int_equal(parse(m), 0);
        assert_int_equal(auth.type, AUTH_NONE);
        assert_ptr_equal(auth.auth, json_object_get(m, "auth"));
        assert_string_equal(name, "n");
        json_decref(m);

        /* A bare block has no name and no domain. */
        m = loadf("{'type':'oauth','client_url':'https://x.example/a','authorization_url':'https://x.example/t',"
                  "'scope':'s'}");
        assert_int_equal(parse(m), 0);
        assert_null(name);
        assert_string_equal(domain, "");
        json_decref(m);

        /* A bare block is checked as completely as an embedded one. */
        assert_block_fails("manifest.name_for_model", "{'type':'none','name_for_model':'x'}");
        assert_block_fails("manifest.api", "{'type':'none','api':{'url':'https://x.example/'}}");

        /* An api that is not an object, or a url that is not a string,
         * gives no domain and is no error. */
        m = loadf("{'auth':{'type':'none'},'api':'https://x.example/'}");
        assert_int_equal(parse(m), 0);
        assert_string_equal(domain, "");
        json_decref(m);
        m = loadf("{'auth':{'type':'none'},'api':{'url':7}}");
        assert_int_equal(parse(m), 0);
        assert_string_equal(domain, "");
        json_decref(m);
}

/* The domain manifest_parse() reads from this api.url. */
static const char *domain_of(const char *url) {
        json_t *m = json_pack("{s:{s:s}s:{s:s}}", "auth", "type", "none", "api", "url", url);
        assert_non_null(m);
        assert_int_equal(parse(m), 0);
        json_decref(m);
        return domain;
}

static void test_domain_from_api_url(void **state) {
        (void) state;
        assert_string_equal(domain_of("https://api.example.com/openapi.yaml"), "api.example.com");
        assert_string_equal(domain_of("http://api.example.com"), "api.example.com");
        assert_string_equal(domain_of("https://api.example.com:8443/openapi.yaml"), "api.example.com");
        assert_string_equal(domain_of("http://localhost:3333/openapi.yaml"), "localhost");
        assert_string_equal(domain_of("https://API.Example.COM/x"), "api.example.com");
        assert_string_equal(domain_of("HTTPS://API.EXAMPLE.COM:443"), "api.example.com");
        assert_string_equal(domain_of("https://a.example?x=1"), "a.example");
        assert_string_equal(domain_of("https://a.example#frag"), "a.example");
        assert_string_equal(domain_of("https://127.0.0.1:8080/openapi.json"), "127.0.0.1");

        /* No scheme, no host: nothing to read a domain from. */
        assert_string_equal(domain_of("api.example.com/openapi.yaml"), "");
        assert_string_equal(domain_of("//api.example.com/openapi.yaml"), "");
        assert_string_equal(domain_of("/openapi.yaml"), "");
        assert_string_equal(domain_of(""), "");
        /* Hosts outside the domain alphabet are no domain. */
        assert_string_equal(domain_of("https://"), "");
        assert_string_equal(domain_of("https://user@api.example.com/"), "");
        assert_string_equal(domain_of("https://[::1]:8080/"), "");
        assert_string_equal(domain_of("https://under_score.example/"), "");
        assert_string_equal(domain_of("https://exämple.com/"), "");

        /* The longest host name that is one. */
        char url[400];
        char *host = repeat('a', DOMAIN_SIZE_MAX);
        snprintf(url, sizeof(url), "https://%s/openapi.yaml", host);
        assert_string_equal(domain_of(url), host);
        free(host);
}

/* The domain comes only from a scheme at the start of api.url and a plain
 * host: not from a URL inside the query, not from userinfo. The domain is
 * what tells two plugins of the same name apart. */
static void test_domain_scheme_only_at_start(void **state) {
        (void) state;
        assert_string_equal(domain_of("api.example.com/openapi.yaml?next=https://evil.example/"), "");
        assert_string_equal(domain_of("/openapi.yaml#https://evil.example"), "");
        assert_string_not_equal(domain_of("https://user:pw@api.example.com/"), "user");
        assert_string_not_equal(domain_of("https://good.example:x@evil.example/"), "good.example");
}

/* A host over 253 bytes, or over the caller's buffer, is no domain at
 * all, never a prefix of one. */
static void test_domain_overlong_host(void **state) {
        (void) state;
        char url[400];
        char *host = repeat('a', 300);
        snprintf(url, sizeof(url), "https://%s.example/openapi.yaml", host);
        assert_string_equal(domain_of(url), "");
        free(host);

        char small[5];
        const char *n = NULL;
        json_t *m = json_pack("{s:{s:s}s:{s:s}}", "auth", "type", "none", "api", "url", "https://example.com/");
        assert_int_equal(manifest_parse(m, &auth, &n, small, sizeof(small), errbuf, sizeof(errbuf)), 0);
        assert_string_equal(small, "");
        json_decref(m);
}

static void test_domain_and_name_checks(void **state) {
        (void) state;
        char *d253 = repeat('d', DOMAIN_SIZE_MAX), *d254 = repeat('d', DOMAIN_SIZE_MAX + 1);
        assert_int_equal(manifest_check_domain("api.example.com"), 0);
        assert_int_equal(manifest_check_domain("xn--bcher-kva.example"), 0);
        assert_int_equal(manifest_check_domain(d253), 0);
        assert_int_equal(manifest_check_domain(d254), -EINVAL);
        assert_int_equal(manifest_check_domain(""), -EINVAL);
        assert_int_equal(manifest_check_domain("Api.example.com"), -EINVAL);
        assert_int_equal(manifest_check_domain("a_b.example"), -EINVAL);
        assert_int_equal(manifest_check_domain("a.example:80"), -EINVAL);
        assert_int_equal(manifest_check_domain("a example"), -EINVAL);
        free(d253);
        free(d254);
}

static void test_auth_public(void **state) {
        (void) state;
        json_t *m = loadf("{'name_for_model':'n','auth':{'type':'oauth','client_url':'https://c.example/',"
                          "'authorization_url':'https://c.example/t','scope':'a b','instructions':'',"
                          "'authorization_content_type':'application/json',"
                          "'verification_tokens':{'openai':'SECRET-VT-1','other':'SECRET-VT-2'}}}");
        json_t *before = json_deep_copy(m);
        assert_int_equal(parse(m), 0);

        json_t *pub = manifest_auth_public(&auth);
        assert_non_null(pub);
        assert_null(json_object_get(pub, "verification_tokens"));
        assert_int_equal(json_object_size(pub), json_object_size(auth.auth) - 1);
        json_t *expect = loadf("{'type':'oauth','client_url':'https://c.example/','authorization_url':"
                               "'https://c.example/t','scope':'a b','instructions':'',"
                               "'authorization_content_type':'application/json'}");
        assert_true(json_equal(pub, expect));
        char *text = json_dumps(pub, JSON_COMPACT);
        assert_null(strstr(text, "SECRET-VT"));
        free(text);

        /* A copy: the parsed manifest keeps its tokens. */
        assert_true(json_equal(m, before));
        assert_non_null(auth.verification_tokens);
        assert_int_equal(json_object_size(auth.verification_tokens), 2);

        json_decref(expect);
        json_decref(pub);
        json_decref(before);
        json_decref(m);

        /* Without tokens: an equal copy. */
        m = loadf("{'type':'user_http','authorization_type':'basic'}");
        assert_int_equal(parse(m), 0);
        pub = manifest_auth_public(&auth);
        assert_true(json_equal(pub, m));
        assert_ptr_not_equal(pub, m);
        json_decref(pub);
        json_decref(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auth_type_names),
                cmocka_unit_test(test_valid_block_of_each_type),
                cmocka_unit_test(test_required_fields),
                cmocka_unit_test(test_unknown_and_foreign_fields),
                cmocka_unit_test(test_unknown_field_cut_on_character),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_size_limits),
                cmocka_unit_test(test_verification_tokens),
                cmocka_unit_test(test_messages_never_quote_values),
                cmocka_unit_test(test_bare_block_and_whole_manifest),
                cmocka_unit_test(test_domain_from_api_url),
                cmocka_unit_test(test_domain_scheme_only_at_start),
                cmocka_unit_test(test_domain_overlong_host),
                cmocka_unit_test(test_domain_and_name_checks),
                cmocka_unit_test(test_auth_public),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
