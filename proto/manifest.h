/* manifest.h — the auth block of a plugin manifest (ai-plugin.json).
 *
 * Owns: what a valid auth block is for each auth type (none, service_http,
 * user_http, oauth), which of its fields are public and which are secrets
 * (verification_tokens), and how a plugin's name and domain are read from a
 * whole manifest. Never: stores anything or logs; error messages name the
 * field, never its value. */
#pragma once

#include <jansson.h>
#include <stddef.h>

typedef enum AuthType {
        AUTH_NONE,
        AUTH_SERVICE_HTTP,
        AUTH_USER_HTTP,
        AUTH_OAUTH,
        _AUTH_TYPE_MAX,
} AuthType;

const char *manifest_auth_type_to_string(AuthType t);
/* -EINVAL for an unknown name. */
int manifest_auth_type_from_string(const char *s);

typedef struct ManifestAuth {
        AuthType type;
        json_t *auth;                /* the checked auth block, borrowed */
        json_t *verification_tokens; /* consumer → token, borrowed; NULL if none */
} ManifestAuth;

/* Read a register request's manifest: either a whole ai-plugin.json (with
 * "auth" and "name_for_model") or a bare auth block (with "type"). Checks
 * the auth block completely. ret_name gets name_for_model (NULL for a bare
 * auth block); ret_domain the host of api.url (NULL if absent).
 * -EBADMSG with a message naming the field ("manifest.auth.scope: ..."). */
int manifest_parse(json_t *manifest, ManifestAuth *ret_auth, const char **ret_name, char *ret_domain,
                   size_t domain_size, char *errbuf, size_t errbuf_size);

/* A copy of the auth block without verification_tokens: what may be shown. */
json_t *manifest_auth_public(const ManifestAuth *a);

/* Hostnames: 1..253 of [a-z0-9.-]. */
int manifest_check_domain(const char *s);
/* Verification token consumer names ("openai"): 1..64 of [A-Za-z0-9_.-]. */
int manifest_check_consumer(const char *s);
