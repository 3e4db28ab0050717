/* provider.h — one refresh request to a plugin's token endpoint, or one
 * revocation request to its revocation endpoint (RFC 7009).
 *
 * Owns: which endpoints may be called (https, or plain http to a loopback
 * address), the refresh request (RFC 6749 section 6: grant_type=refresh_token, as
 * a form or as JSON, with the client authenticated by HTTP Basic or in the
 * body), its limits (time, response size, no redirects, certificates
 * verified), and what the answer means: a token response, an OAuth error,
 * or a transient failure with the provider's Retry-After.
 *
 * Never: logs or keeps a secret. The request body, the Authorization
 * header and the response are wiped when the request is freed. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refresher.h"

#define PROVIDER_RESPONSE_SIZE_MAX (64 * 1024) /* a token response is a few KiB */
#define PROVIDER_OAUTH_ERROR_SIZE 65           /* the wire's refresh_fail error: 1 to 64 of a-z _ */

typedef enum ProviderOutcome {
        PROVIDER_OK,          /* a token response: commit it */
        PROVIDER_OAUTH_ERROR, /* the provider refused with an OAuth error code */
        PROVIDER_TRANSIENT,   /* timeout, unreachable, 5xx, 429, garbage: try again later */
} ProviderOutcome;

typedef struct ProviderResult {
        ProviderOutcome outcome;
        long http_status;                            /* 0: no HTTP answer */
        char oauth_error[PROVIDER_OAUTH_ERROR_SIZE]; /* PROVIDER_OAUTH_ERROR */
        int64_t retry_after_ms;                      /* -1: the provider said nothing */
        /* PROVIDER_TRANSIENT: "timeout", "unreachable", "rate_limited",
         * "server_error" or "invalid_response", as the wire takes error codes. */
        const char *kind;
        char detail[CURL_ERROR_SIZE + 32]; /* for the log: never a secret */
        const char *body;                  /* PROVIDER_OK: the response, owned by the request */
} ProviderResult;

typedef struct ProviderRequest ProviderRequest;

/* May url be called? 0, or -EPERM with why filled (not https and not a
 * loopback address, userinfo in it, not a URL). */
int provider_url_check(const char *url, char *why, size_t why_size);

/* Is url on the same origin (scheme, host, port) as reference? 0, or
 * -EPERM with why filled. The revocation endpoint is a plugin secret,
 * which a principal with only write on the plugin may set; the client
 * credentials go only where an admin pointed the plugin (its manifest's
 * token endpoint). */
int provider_same_origin(const char *url, const char *reference, char *why, size_t why_size);

/* A request for conf's endpoint with refresh_token and the client's
 * credentials, ready to add to a multi handle (provider_request_easy()).
 * userdata is given back by provider_request_userdata(). -ENOMEM,
 * -EINVAL (a credential that cannot be sent). */
int provider_request_new(const PluginConf *conf, const char *refresh_token, const char *client_id,
                         const char *client_secret, const RefresherOptions *opt, void *userdata, ProviderRequest **ret);
void *provider_request_easy(ProviderRequest *r);
void *provider_request_userdata(ProviderRequest *r);
/* What the finished transfer (curl's result code) means. ret->body stays
 * valid until the request is freed. */
void provider_request_result(ProviderRequest *r, int curl_code, ProviderResult *ret);
/* A revocation request (RFC 7009 section 2.1) to url for token, with its
 * token_type_hint ("refresh_token" or "access_token"), the client
 * authenticated as conf says (client_secret_basic or _post); always a
 * form, as RFC 7009 requires. Errors as provider_request_new(). */
int provider_revoke_new(const PluginConf *conf, const char *url, const char *token, const char *hint,
                        const char *client_id, const char *client_secret, const RefresherOptions *opt, void *userdata,
                        ProviderRequest **ret);
/* What a revocation's answer means (RFC 7009 section 2.2): HTTP 200 is
 * PROVIDER_OK whatever the body (an invalid token is answered 200 too),
 * 400 with an OAuth error (unsupported_token_type, invalid_client, ...)
 * PROVIDER_OAUTH_ERROR; 503 (section 2.2.1), other 5xx, 429, timeouts and
 * unreachable endpoints PROVIDER_TRANSIENT. */
void provider_revoke_result(ProviderRequest *r, int curl_code, ProviderResult *ret);
/* Wipe and free; accepts NULL. Remove it from its multi handle first. */
void provider_request_free(ProviderRequest *r);
