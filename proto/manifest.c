/* manifest.c — checking plugin manifests' auth blocks (see manifest.h).
 *
 * Fields per auth type follow the plugin manifest format: unknown fields are
 * refused (a misspelt field would otherwise vanish from the rendered
 * manifest), required ones must be there, every string has a limit. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "manifest.h"
#include "proto-limits.h"
#include "utf8.h"

static const char *const auth_type_names[_AUTH_TYPE_MAX] = {
        [AUTH_NONE] = "none",
        [AUTH_SERVICE_HTTP] = "service_http",
        [AUTH_USER_HTTP] = "user_http",
        [AUTH_OAUTH] = "oauth",
};

const char *manifest_auth_type_to_string(AuthType t) {
        return t >= 0 && t < _AUTH_TYPE_MAX ? auth_type_names[t] : NULL;
}

int manifest_auth_type_from_string(const char *s) {
        for (int i = 0; i < _AUTH_TYPE_MAX; i++)
                if (strcmp(auth_type_names[i], s) == 0)
                        return i;
        return -EINVAL;
}

enum { REQUIRED = 1 << 0 };

typedef struct FieldRule {
        const char *name;
        size_t size_max;
        unsigned flags;
        unsigned types; /* auth types the field belongs to, 1 << AuthType */
} FieldRule;

#define T(x) (1u << (x))
static const FieldRule auth_fields[] = {
        { "type", 32, REQUIRED, T(AUTH_NONE) | T(AUTH_SERVICE_HTTP) | T(AUTH_USER_HTTP) | T(AUTH_OAUTH) },
        { "instructions", MANIFEST_TEXT_SIZE_MAX, 0, T(AUTH_SERVICE_HTTP) | T(AUTH_USER_HTTP) | T(AUTH_OAUTH) },
        { "authorization_type", 16, REQUIRED, T(AUTH_SERVICE_HTTP) | T(AUTH_USER_HTTP) },
        { "client_url", MANIFEST_URL_SIZE_MAX, REQUIRED, T(AUTH_OAUTH) },
        { "authorization_url", MANIFEST_URL_SIZE_MAX, REQUIRED, T(AUTH_OAUTH) },
        { "scope", TOKEN_SCOPE_SIZE_MAX, REQUIRED, T(AUTH_OAUTH) },
        { "authorization_content_type", 128, 0, T(AUTH_OAUTH) },
};
#undef T

_printf_(3, 4) static int bad(char *errbuf, size_t errbuf_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errbuf_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static bool chars_in(const char *s, size_t min, size_t max, const char *extra, bool upper) {
        size_t n = strlen(s);
        if (n < min || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (!(islower(c) || isdigit(c) || (upper && isupper(c)) || strchr(extra, c)))
                        return false;
        }
        return true;
}

int manifest_check_domain(const char *s) {
        return chars_in(s, 1, DOMAIN_SIZE_MAX, ".-", false) ? 0 : -EINVAL;
}

int manifest_check_consumer(const char *s) {
        return chars_in(s, 1, 64, "_.-", true) ? 0 : -EINVAL;
}

static int check_verification_tokens(json_t *tokens, const char *where, char *errbuf, size_t errbuf_size) {
        const char *consumer;
        json_t *v;

        if (!json_is_object(tokens))
                return bad(errbuf, errbuf_size, "field '%s.verification_tokens': expected an object", where);
        if (json_object_size(tokens) > VERIFICATION_TOKENS_MAX)
                return bad(errbuf, errbuf_size, "field '%s.verification_tokens': more than %d consumers", where,
                           VERIFICATION_TOKENS_MAX);
        json_object_foreach(tokens, consumer, v) {
                if (manifest_check_consumer(consumer) < 0)
                        return bad(errbuf, errbuf_size,
                                   "field '%s.verification_tokens': consumer names are 1 to 64 of A-Z a-z 0-9 _ . -",
                                   where);
                if (!json_is_string(v))
                        return bad(errbuf, errbuf_size, "field '%s.verification_tokens.%s': expected a string", where,
                                   consumer);
                size_t n = json_string_length(v);
                const char *s = json_string_value(v);
                if (n == 0 || n > VERIFICATION_TOKEN_SIZE_MAX)
                        return bad(errbuf, errbuf_size, "field '%s.verification_tokens.%s': 1 to %d characters", where,
                                   consumer, VERIFICATION_TOKEN_SIZE_MAX);
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
                                return bad(errbuf, errbuf_size,
                                           "field '%s.verification_tokens.%s': must be printable ASCII", where,
                                           consumer);
        }
        return 0;
}

static int check_auth(json_t *auth, const char *where, ManifestAuth *ret, char *errbuf, size_t errbuf_size) {
        const char *key;
        json_t *v;

        if (!json_is_object(auth))
                return bad(errbuf, errbuf_size, "field '%s': expected an object", where);
        json_t *type = json_object_get(auth, "type");
        if (!type)
                return bad(errbuf, errbuf_size, "field '%s.type': missing", where);
        if (!json_is_string(type))
                return bad(errbuf, errbuf_size, "field '%s.type': expected a string", where);
        int t = manifest_auth_type_from_string(json_string_value(type));
        if (t < 0)
                return bad(errbuf, errbuf_size,
                           "field '%s.type': unknown auth type (none, service_http, user_http, oauth)", where);

        json_object_foreach(auth, key, v) {
                if (strcmp(key, "verification_tokens") == 0) {
                        if (t == AUTH_NONE)
                                return bad(errbuf, errbuf_size,
                                           "field '%s.verification_tokens': not for auth type none", where);
                        int r = check_verification_tokens(v, where, errbuf, errbuf_size);
                        if (r < 0)
                                return r;
                        continue;
                }
                const FieldRule *rule = NULL;
                for (size_t i = 0; i < ELEMENTSOF(auth_fields); i++)
                        if (strcmp(auth_fields[i].name, key) == 0 && (auth_fields[i].types & (1u << t)))
                                rule = &auth_fields[i];
                if (!rule)
                        return bad(errbuf, errbuf_size, "field '%s.%.*s': not a field of auth type %s", where,
                                   (int) utf8_prefix_size(key, ERROR_FIELD_NAME_SIZE_MAX), key, auth_type_names[t]);
                if (!json_is_string(v))
                        return bad(errbuf, errbuf_size, "field '%s.%s': expected a string", where, key);
                if (json_string_length(v) > rule->size_max)
                        return bad(errbuf, errbuf_size, "field '%s.%s': longer than %zu bytes", where, key,
                                   rule->size_max);
        }
        for (size_t i = 0; i < ELEMENTSOF(auth_fields); i++)
                if ((auth_fields[i].flags & REQUIRED) && (auth_fields[i].types & (1u << t)) &&
                    !json_object_get(auth, auth_fields[i].name))
                        return bad(errbuf, errbuf_size, "field '%s.%s': missing (required for auth type %s)", where,
                                   auth_fields[i].name, auth_type_names[t]);

        json_t *at = json_object_get(auth, "authorization_type");
        if (at && strcmp(json_string_value(at), "bearer") != 0 && strcmp(json_string_value(at), "basic") != 0)
                return bad(errbuf, errbuf_size, "field '%s.authorization_type': must be bearer or basic", where);

        *ret = (ManifestAuth) { .type = t,
                                .auth = auth,
                                .verification_tokens = json_object_get(auth, "verification_tokens") };
        return 0;
}

/* The host of an http(s) URL, lower-cased; "" if there is none or it is
 * not a plain host name (userinfo, IPv6 literal, over DOMAIN_SIZE_MAX or
 * over the buffer). The domain tells plugins of one name apart, so a URL
 * that could name two hosts names none. */
static void url_host(const char *url, char *ret, size_t size) {
        const char *p;
        ret[0] = '\0';
        if (strncasecmp(url, "https://", 8) == 0)
                p = url + 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else
                return;
        size_t authority = strcspn(p, "/?#");
        if (memchr(p, '@', authority) || memchr(p, '[', authority))
                return;
        const char *colon = memchr(p, ':', authority);
        size_t n = colon ? (size_t) (colon - p) : authority;
        if (n == 0 || n > DOMAIN_SIZE_MAX || n >= size)
                return;
        for (size_t i = 0; i < n; i++)
                ret[i] = (char) tolower((unsigned char) p[i]);
        ret[n] = '\0';
        if (manifest_check_domain(ret) < 0)
                ret[0] = '\0';
}

int manifest_parse(json_t *manifest, ManifestAuth *ret_auth, const char **ret_name, char *ret_domain,
                   size_t domain_size, char *errbuf, size_t errbuf_size) {
        if (!json_is_object(manifest))
                return bad(errbuf, errbuf_size, "field 'manifest': expected an object");

        ret_domain[0] = '\0';
        *ret_name = NULL;
        /* A bare auth block has "type" and no "auth". */
        if (!json_object_get(manifest, "auth") && json_object_get(manifest, "type"))
                return check_auth(manifest, "manifest", ret_auth, errbuf, errbuf_size);

        json_t *auth = json_object_get(manifest, "auth");
        if (!auth)
                return bad(errbuf, errbuf_size, "field 'manifest.auth': missing");
        json_t *name = json_object_get(manifest, "name_for_model");
        if (name && !json_is_string(name))
                return bad(errbuf, errbuf_size, "field 'manifest.name_for_model': expected a string");
        *ret_name = name ? json_string_value(name) : NULL;

        json_t *url = json_object_get(json_object_get(manifest, "api"), "url");
        if (json_is_string(url))
                url_host(json_string_value(url), ret_domain, domain_size);
        return check_auth(auth, "manifest.auth", ret_auth, errbuf, errbuf_size);
}

json_t *manifest_auth_public(const ManifestAuth *a) {
        json_t *copy = json_deep_copy(a->auth);
        if (copy)
                json_object_del(copy, "verification_tokens");
        return copy;
}
