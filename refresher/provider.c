/* provider.c — one refresh request to a token endpoint; see provider.h. */
#include "provider.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "secret-buf.h"

struct ProviderRequest {
        CURL *easy;
        struct curl_slist *headers;
        SecretBuf *body;   /* the request body: holds the refresh token (and client secret with _post) */
        uint8_t *response; /* sodium_malloc'd: a token response */
        size_t response_size;
        bool response_too_large;
        char error[CURL_ERROR_SIZE];
        void *userdata;
};

static bool host_is_loopback(const char *host) {
        if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
                return true;
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        size_t n = strlen(host);
        if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
                char bare[64];
                if (n - 2 >= sizeof(bare))
                        return false;
                memcpy(bare, host + 1, n - 2);
                bare[n - 2] = '\0';
                struct in6_addr a6;
                return inet_pton(AF_INET6, bare, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
        }
        return false;
}

int provider_url_check(const char *url, char *why, size_t why_size) {
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *user = NULL;
        int r = -EPERM;
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
                snprintf(why, why_size, "not a URL");
                goto out;
        }
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
                snprintf(why, why_size, "credentials in the URL");
                goto out;
        }
        if (strcmp(scheme, "https") == 0)
                r = 0;
        else if (strcmp(scheme, "http") == 0 && host_is_loopback(host))
                r = 0;
        else
                snprintf(why, why_size, "%s://%s is neither https nor a loopback address", scheme, host);
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(user);
        curl_url_cleanup(u);
        return r;
}

/* scheme://host:port of url, the port made explicit (curl's default for
 * the scheme), malloc'd; NULL if it is no URL. */
static char *origin_of(const char *url) {
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *origin = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
            asprintf(&origin, "%s://%s:%s", scheme, host, port) < 0)
                origin = NULL;
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return origin;
}

int provider_same_origin(const char *url, const char *reference, char *why, size_t why_size) {
        char *a = origin_of(url), *b = origin_of(reference);
        int r = a && b && strcasecmp(a, b) == 0 ? 0 : -EPERM;
        if (r < 0)
                snprintf(why, why_size, "not on the token endpoint's origin (%s)", b ? b : "none");
        free(a);
        free(b);
        return r;
}

/* RFC 6749 appendix B: application/x-www-form-urlencoded, every byte but
 * the unreserved ones escaped. dst NULL: just count. */
static size_t form_encode(char *dst, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                             *p == '-' || *p == '.' || *p == '_' || *p == '~';
                if (plain) {
                        if (dst)
                                dst[n] = (char) *p;
                        n++;
                } else {
                        if (dst) {
                                dst[n] = '%';
                                dst[n + 1] = hex[*p >> 4];
                                dst[n + 2] = hex[*p & 15];
                        }
                        n += 3;
                }
        }
        return n;
}

/* "k1=v1&k2=v2..." from NULL-terminated pairs, into a SecretBuf. */
static int form_body(const char *const *kv, SecretBuf **ret) {
        size_t n = 0;
        for (size_t i = 0; kv[i]; i += 2)
                n += (i ? 1 : 0) + form_encode(NULL, kv[i]) + 1 + form_encode(NULL, kv[i + 1]);
        _cleanup_(secret_buf_freep) SecretBuf *b = NULL;
        int r = secret_buf_new(n, &b);
        if (r < 0)
                return r;
        char *p = (char *) b->data;
        for (size_t i = 0; kv[i]; i += 2) {
                if (i)
                        *p++ = '&';
                p += form_encode(p, kv[i]);
                *p++ = '=';
                p += form_encode(p, kv[i + 1]);
        }
        *ret = TAKE_PTR(b);
        return 0;
}

/* The same as a JSON object (jansson's allocator wipes what it frees). */
static int json_body(const char *const *kv, SecretBuf **ret) {
        json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; kv[i]; i += 2)
                if (json_object_set_new(o, kv[i], json_string(kv[i + 1])) < 0) {
                        json_decref(o);
                        return -EINVAL; /* not UTF-8 */
                }
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        size_t n = strlen(text);
        int r = secret_buf_new_copy(text, n, ret);
        sodium_memzero(text, n);
        free(text);
        return r;
}

/* "Authorization: Basic base64(urlencode(id):urlencode(secret))" (RFC 6749
 * section 2.3.1), added to the header list. curl copies the line: that copy
 * is wiped in provider_request_free(). */
static int basic_header(ProviderRequest *r, const char *client_id, const char *client_secret) {
        size_t n_id = form_encode(NULL, client_id), n_secret = form_encode(NULL, client_secret);
        _cleanup_(secret_buf_freep) SecretBuf *pair = NULL, *b64 = NULL, *line = NULL;
        int k = secret_buf_new(n_id + 1 + n_secret, &pair);
        if (k < 0)
                return k;
        form_encode((char *) pair->data, client_id);
        pair->data[n_id] = ':';
        form_encode((char *) pair->data + n_id + 1, client_secret);
        k = secret_buf_to_base64(pair->data, pair->size, &b64);
        if (k < 0)
                return k;
        static const char prefix[] = "Authorization: Basic ";
        k = secret_buf_new(sizeof(prefix) - 1 + b64->size, &line);
        if (k < 0)
                return k;
        memcpy(line->data, prefix, sizeof(prefix) - 1);
        memcpy(line->data + sizeof(prefix) - 1, b64->data, b64->size);
        struct curl_slist *l = curl_slist_append(r->headers, (const char *) line->data);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata) {
        ProviderRequest *r = userdata;
        size_t n = size * nmemb;
        if (n > PROVIDER_RESPONSE_SIZE_MAX - r->response_size) {
                r->response_too_large = true;
                return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
        }
        memcpy(r->response + r->response_size, data, n);
        r->response_size += n;
        return n;
}

static int add_header(ProviderRequest *r, const char *line) {
        struct curl_slist *l = curl_slist_append(r->headers, line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

/* The request's easy handle, for url and its body, with the limits every
 * request to a provider has. */
static int request_setup(ProviderRequest *r, const char *url, bool json, const RefresherOptions *opt) {
        int k = add_header(r,
                           json ? "Content-Type: application/json" : "Content-Type: application/x-www-form-urlencoded");
        if (k < 0 || (k = add_header(r, "Accept: application/json")) < 0)
                return k;
        char why[160];
        k = provider_url_check(url, why, sizeof(why));
        if (k < 0)
                return k;
        CURL *e = r->easy;
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            (opt->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, opt->ca_file) != CURLE_OK) ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, opt->timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, opt->timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
            /* Not COPYPOSTFIELDS: curl reads our wiping buffer, keeps no copy. */
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *) r->body->data) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body->size) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "credvault-refresher/" CREDVAULT_VERSION) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK)
                return -EINVAL;
        return 0;
}

static int request_alloc(void *userdata, ProviderRequest **ret) {
        ProviderRequest *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->userdata = userdata;
        /* One extra byte: the body is NUL-terminated for the JSON parser. */
        r->response = sodium_malloc(PROVIDER_RESPONSE_SIZE_MAX + 1);
        r->easy = curl_easy_init();
        if (!r->response || !r->easy) {
                provider_request_free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

int provider_request_new(const PluginConf *conf, const char *refresh_token, const char *client_id,
                         const char *client_secret, const RefresherOptions *opt, void *userdata,
                         ProviderRequest **ret) {
        ProviderRequest *r = NULL;
        int k = request_alloc(userdata, &r);
        if (k < 0)
                return k;
        const char *kv[] = {
                "grant_type", "refresh_token", "refresh_token", refresh_token, conf->auth_post ? "client_id" : NULL,
                client_id,    "client_secret", client_secret,   NULL
        };
        k = conf->json_body ? json_body(kv, &r->body) : form_body(kv, &r->body);
        if (k >= 0 && !conf->auth_post)
                k = basic_header(r, client_id, client_secret);
        if (k >= 0)
                k = request_setup(r, conf->token_url, conf->json_body, opt);
        if (k < 0) {
                provider_request_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

int provider_revoke_new(const PluginConf *conf, const char *url, const char *token, const char *hint,
                        const char *client_id, const char *client_secret, const RefresherOptions *opt, void *userdata,
                        ProviderRequest **ret) {
        ProviderRequest *r = NULL;
        int k = request_alloc(userdata, &r);
        if (k < 0)
                return k;
        const char *kv[] = { "token",   token,           "token_type_hint", hint, conf->auth_post ? "client_id" : NULL,
                             client_id, "client_secret", client_secret,     NULL };
        k = form_body(kv, &r->body);
        if (k >= 0 && !conf->auth_post)
                k = basic_header(r, client_id, client_secret);
        if (k >= 0)
                k = request_setup(r, url, false, opt);
        if (k < 0) {
                provider_request_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void *provider_request_easy(ProviderRequest *r) {
        return r->easy;
}

void *provider_request_userdata(ProviderRequest *r) {
        return r->userdata;
}

/* The "error" of an OAuth error response (RFC 6749 section 5.2), if it is
 * one the wire accepts (1 to 64 of a-z _). */
static bool oauth_error_of(json_t *j, char *buf, size_t size) {
        const char *e = json_string_value(json_object_get(j, "error"));
        /* "ok" is what the vault notes for a success: a provider saying
         * it is no OAuth error (RFC 6749 has none such), but an answer
         * that makes no sense. */
        if (!e || !*e || strlen(e) >= size || strcmp(e, "ok") == 0)
                return false;
        for (const char *p = e; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                        return false;
        snprintf(buf, size, "%s", e);
        return true;
}

/* The transient kind of an answer that is no success nor OAuth error. */
static const char *transient_kind(int curl_code, long status) {
        if (curl_code == CURLE_OPERATION_TIMEDOUT)
                return "timeout";
        if (curl_code != CURLE_OK && status == 0)
                return "unreachable";
        if (status == 429)
                return "rate_limited";
        if (status >= 500)
                return "server_error";
        return "invalid_response";
}

/* The common part of both results: the status, Retry-After, and a
 * transfer that failed. false if it did (ret says how). */
static bool result_start(ProviderRequest *r, int curl_code, ProviderResult *ret) {
        *ret = (ProviderResult) { .outcome = PROVIDER_TRANSIENT, .retry_after_ms = -1 };
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &ret->http_status);
        curl_off_t retry_after = -1;
        /* Both forms of RFC 9110 section 10.2.3, seconds or an HTTP date. */
        if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
                ret->retry_after_ms = retry_after > REFRESHER_RETRY_AFTER_MAX_MS / 1000 ? REFRESHER_RETRY_AFTER_MAX_MS
                                                                                        : (int64_t) retry_after * 1000;
        if (curl_code != CURLE_OK) {
                if (r->response_too_large)
                        snprintf(ret->detail, sizeof(ret->detail), "response over %d bytes",
                                 PROVIDER_RESPONSE_SIZE_MAX);
                else if (curl_code == CURLE_OPERATION_TIMEDOUT)
                        snprintf(ret->detail, sizeof(ret->detail), "timeout");
                else
                        snprintf(ret->detail, sizeof(ret->detail), "%s",
                                 r->error[0] ? r->error : curl_easy_strerror((CURLcode) curl_code));
                ret->kind = r->response_too_large ? "invalid_response" : transient_kind(curl_code, ret->http_status);
                return false;
        }
        r->response[r->response_size] = '\0';
        return true;
}

void provider_request_result(ProviderRequest *r, int curl_code, ProviderResult *ret) {
        if (!result_start(r, curl_code, ret))
                return;
        json_t *j = json_loadb((const char *) r->response, r->response_size, 0, NULL);
        long s = ret->http_status;
        if (s == 200 && json_is_object(j) && json_is_string(json_object_get(j, "access_token"))) {
                ret->outcome = PROVIDER_OK;
                ret->body = (const char *) r->response;
                snprintf(ret->detail, sizeof(ret->detail), "HTTP 200");
        } else if (s >= 400 && s < 500 && s != 429 && json_is_object(j) &&
                   oauth_error_of(j, ret->oauth_error, sizeof(ret->oauth_error))) {
                ret->outcome = PROVIDER_OAUTH_ERROR;
                snprintf(ret->detail, sizeof(ret->detail), "HTTP %ld %s", s, ret->oauth_error);
        } else {
                snprintf(ret->detail, sizeof(ret->detail), "HTTP %ld%s", s,
                         s == 200 ? " without a token response" : "");
                ret->kind = transient_kind(CURLE_OK, s);
        }
        json_decref(j);
}

void provider_revoke_result(ProviderRequest *r, int curl_code, ProviderResult *ret) {
        if (!result_start(r, curl_code, ret))
                return;
        long s = ret->http_status;
        if (s == 200) {
                ret->outcome = PROVIDER_OK;
                snprintf(ret->detail, sizeof(ret->detail), "HTTP 200");
                return;
        }
        json_t *j = json_loadb((const char *) r->response, r->response_size, 0, NULL);
        if (s >= 400 && s < 500 && s != 429 && json_is_object(j) &&
            oauth_error_of(j, ret->oauth_error, sizeof(ret->oauth_error))) {
                ret->outcome = PROVIDER_OAUTH_ERROR;
                snprintf(ret->detail, sizeof(ret->detail), "HTTP %ld %s", s, ret->oauth_error);
        } else {
                snprintf(ret->detail, sizeof(ret->detail), "HTTP %ld", s);
                ret->kind = transient_kind(CURLE_OK, s);
        }
        json_decref(j);
}

void provider_request_free(ProviderRequest *r) {
        if (!r)
                return;
        if (r->easy)
                curl_easy_cleanup(r->easy);
        for (struct curl_slist *l = r->headers; l; l = l->next)
                sodium_memzero(l->data, strlen(l->data));
        curl_slist_free_all(r->headers);
        secret_buf_free(r->body);
        sodium_free(r->response); /* wipes */
        free(r);
}
