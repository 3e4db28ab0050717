/* request-table.c — the schema of every request: the fields a request may
 * carry, with their JSON types, and the op table.
 *
 * Owns: which fields each op requires and allows, its OP_* flags and its
 * class. The decoder (request.c) checks every member against it; the
 * daemon's audit and policy and the client library's retry read it
 * through op_flags() and op_class(). Adding an op or a field is an entry
 * here, and its checks in request.c. */
#include <errno.h>
#include <string.h>

#include "request-internal.h"

#define FIELD(n, t)                                                                                                    \
        { n, sizeof(n) - 1, t }
const RequestField request_fields[_F_MAX] = {
        [F_V] = FIELD("v", JSON_INTEGER),
        [F_ID] = FIELD("id", JSON_INTEGER),
        [F_OP] = FIELD("op", JSON_STRING),
        [F_PLUGIN] = FIELD("plugin", JSON_STRING),
        [F_NAME] = FIELD("name", JSON_STRING),
        [F_USER] = FIELD("user", JSON_STRING),
        [F_AFTER] = FIELD("after", JSON_STRING),
        [F_LIMIT] = FIELD("limit", JSON_INTEGER),
        [F_VALUE] = FIELD("value", JSON_STRING),
        [F_TOKEN] = FIELD("token", JSON_OBJECT),
        [F_DOMAIN] = FIELD("domain", JSON_STRING),
        [F_MANIFEST] = FIELD("manifest", JSON_OBJECT),
        [F_AUTHORIZATION] = FIELD("authorization", JSON_STRING),
        [F_CLIENT_ID] = FIELD("client_id", JSON_STRING),
        [F_CLIENT_SECRET] = FIELD("client_secret", JSON_STRING),
        [F_MIN_VALID] = FIELD("min_valid", JSON_INTEGER),
        [F_LEASE] = FIELD("lease", JSON_STRING),
        [F_LEASE_SECONDS] = FIELD("lease_seconds", JSON_INTEGER),
        [F_ERROR] = FIELD("error", JSON_STRING),
        [F_BYTES] = FIELD("bytes", JSON_INTEGER),
        [F_EXPIRING] = FIELD("expiring", JSON_INTEGER),
        [F_SINCE] = FIELD("since", JSON_INTEGER),
        [F_UNTIL] = FIELD("until", JSON_INTEGER),
        [F_BEFORE] = FIELD("before", JSON_INTEGER),
        [F_PRINCIPAL] = FIELD("principal", JSON_STRING),
        [F_AUDIT_OP] = FIELD("audit_op", JSON_STRING),
        [F_VERSION] = FIELD("version", JSON_INTEGER),
        [F_STAGE] = FIELD("stage", JSON_STRING),
        [F_GRACE] = FIELD("grace", JSON_INTEGER),
        [F_REPLACE] = FIELD("replace", JSON_TRUE), /* true or false */
        [F_RETRY_AT] = FIELD("retry_at", JSON_INTEGER),
        [F_REPORT] = FIELD("report", JSON_OBJECT),
        [F_REVOCATION] = FIELD("revocation", JSON_INTEGER),
};

/* Every op: its name, the fields it requires and the ones it allows besides
 * v, id and op, its OP_* flags and its class (request.h). This is the one op table:
 * the daemon's audit and policy and the client library's retry read the
 * flags through op_flags(). A field not listed is refused. Where two fields
 * are alternatives (a presented value or an Authorization header), both
 * are optional here and the check after decoding wants exactly one. */
const RequestOp request_ops[_OP_MAX] = {
        [OP_HEALTH] = { "health", 0, 0, OP_RETRY_SAFE, OP_CLASS_PUBLIC },
        [OP_SECRET_PUT] = { "secret.put", F(F_PLUGIN) | F(F_NAME) | F(F_VALUE), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_SECRET_GET] = { "secret.get", F(F_PLUGIN) | F(F_NAME), F(F_STAGE), OP_REVEALS | OP_RETRY_SAFE,
                            OP_CLASS_READ },
        [OP_SECRET_LIST] = { "secret.list", 0, F(F_PLUGIN) | F(F_AFTER) | F(F_LIMIT), OP_RETRY_SAFE, OP_CLASS_READ },
        [OP_SECRET_DELETE] = { "secret.delete", F(F_PLUGIN) | F(F_NAME), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_SECRET_GENERATE] = { "secret.generate", F(F_PLUGIN) | F(F_NAME), F(F_BYTES), OP_WRITES | OP_REVEALS,
                                 OP_CLASS_WRITE },
        [OP_SECRET_VERIFY] = { "secret.verify", F(F_PLUGIN) | F(F_NAME), F(F_VALUE) | F(F_AUTHORIZATION), OP_RETRY_SAFE,
                               OP_CLASS_VERIFY },
        [OP_TOKEN_PUT] = { "token.put", F(F_PLUGIN) | F(F_USER) | F(F_TOKEN), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_TOKEN_GET] = { "token.get", F(F_PLUGIN) | F(F_USER), F(F_MIN_VALID), OP_REVEALS | OP_RETRY_SAFE,
                           OP_CLASS_READ },
        [OP_TOKEN_LIST] = { "token.list", F(F_PLUGIN), F(F_AFTER) | F(F_LIMIT) | F(F_EXPIRING), OP_RETRY_SAFE,
                            OP_CLASS_READ },
        [OP_TOKEN_DELETE] = { "token.delete", F(F_PLUGIN) | F(F_USER), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_TOKEN_REFRESH_BEGIN] = { "token.refresh_begin", F(F_PLUGIN) | F(F_USER),
                                     F(F_MIN_VALID) | F(F_LEASE_SECONDS), OP_WRITES | OP_REVEALS, OP_CLASS_REFRESH },
        [OP_TOKEN_REFRESH_COMMIT] = { "token.refresh_commit", F(F_PLUGIN) | F(F_USER) | F(F_LEASE) | F(F_TOKEN), 0,
                                      OP_WRITES, OP_CLASS_REFRESH },
        [OP_TOKEN_REFRESH_FAIL] = { "token.refresh_fail", F(F_PLUGIN) | F(F_USER) | F(F_LEASE) | F(F_ERROR),
                                    F(F_RETRY_AT), OP_WRITES, OP_CLASS_REFRESH },
        [OP_PLUGIN_REGISTER] = { "plugin.register", F(F_MANIFEST), F(F_PLUGIN) | F(F_DOMAIN), OP_WRITES | OP_ADMIN,
                                 OP_CLASS_ADMIN },
        [OP_PLUGIN_LIST] = { "plugin.list", 0, F(F_AFTER) | F(F_LIMIT), OP_RETRY_SAFE, OP_CLASS_READ },
        [OP_PLUGIN_GET] = { "plugin.get", F(F_PLUGIN), F(F_EXPIRING), OP_RETRY_SAFE, OP_CLASS_READ },
        [OP_PLUGIN_DELETE] = { "plugin.delete", F(F_PLUGIN), 0, OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_MANIFEST_AUTH] = { "manifest.auth", F(F_PLUGIN), 0, OP_REVEALS | OP_RETRY_SAFE, OP_CLASS_READ },
        [OP_OAUTH_VERIFY_CLIENT] = { "oauth.verify_client", F(F_PLUGIN),
                                     F(F_AUTHORIZATION) | F(F_CLIENT_ID) | F(F_CLIENT_SECRET), OP_RETRY_SAFE,
                                     OP_CLASS_VERIFY },
        [OP_APIKEY_PUT] = { "apikey.put", F(F_PLUGIN) | F(F_USER) | F(F_VALUE), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_APIKEY_LOOKUP] = { "apikey.lookup", F(F_PLUGIN), F(F_VALUE) | F(F_AUTHORIZATION), OP_RETRY_SAFE,
                               OP_CLASS_VERIFY },
        [OP_APIKEY_LIST] = { "apikey.list", F(F_PLUGIN), F(F_AFTER) | F(F_LIMIT), OP_RETRY_SAFE, OP_CLASS_READ },
        [OP_APIKEY_DELETE] = { "apikey.delete", F(F_PLUGIN) | F(F_USER), 0, OP_WRITES, OP_CLASS_WRITE },
        [OP_WHOAMI] = { "whoami", 0, 0, OP_RETRY_SAFE, OP_CLASS_PUBLIC },
        [OP_AUDIT_LIST] = { "audit.list", 0,
                            F(F_SINCE) | F(F_UNTIL) | F(F_PLUGIN) | F(F_PRINCIPAL) | F(F_AUDIT_OP) | F(F_AFTER) |
                                    F(F_LIMIT),
                            OP_RETRY_SAFE | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_AUDIT_VERIFY] = { "audit.verify", 0, 0, OP_RETRY_SAFE | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_AUDIT_PRUNE] = { "audit.prune", F(F_BEFORE), 0, OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_KEY_ROTATE] = { "key.rotate", 0, 0, OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_KEY_REWRAP] = { "key.rewrap", 0, 0, OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_KEY_STATUS] = { "key.status", 0, 0, OP_RETRY_SAFE | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_KEY_RETIRE] = { "key.retire", F(F_VERSION), 0, OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        /* A generated staged value is in the reply. */
        [OP_SECRET_ROTATE] = { "secret.rotate", F(F_PLUGIN) | F(F_NAME), F(F_VALUE) | F(F_BYTES) | F(F_GRACE),
                               OP_WRITES | OP_REVEALS, OP_CLASS_WRITE },
        [OP_SECRET_PROMOTE] = { "secret.promote", F(F_PLUGIN) | F(F_NAME), F(F_GRACE), OP_WRITES, OP_CLASS_WRITE },
        [OP_SECRET_HISTORY] = { "secret.history", F(F_PLUGIN) | F(F_NAME), 0, OP_RETRY_SAFE, OP_CLASS_READ },
        /* The new root key is the value; without one, a development
         * vault's daemon makes it. */
        [OP_KEY_ROTATE_ROOT] = { "key.rotate_root", 0, F(F_VALUE), OP_WRITES | OP_ADMIN, OP_CLASS_ADMIN },
        [OP_KEY_RECOVERY] = { "key.recovery", 0, F(F_REPLACE), OP_WRITES | OP_REVEALS | OP_ADMIN, OP_CLASS_ADMIN },
        /* The copy goes to a descriptor passed with the request
         * (SCM_RIGHTS): never retried, the descriptor is used up. */
        [OP_BACKUP] = { "backup", 0, 0, OP_ADMIN, OP_CLASS_ADMIN },
        /* Kept in the daemon's memory (token.list, health), not in the
         * database; a write all the same: it changes what others read,
         * and its audit record is written at once. */
        [OP_REFRESHER_REPORT] = { "refresher.report", F(F_PLUGIN) | F(F_REPORT), 0, OP_WRITES, OP_CLASS_REFRESH },
        /* RFC 7009 revocation of deleted token sets, by the refresher. */
        [OP_TOKEN_REVOCATION_LIST] = { "token.revocation_list", F(F_PLUGIN), F(F_AFTER) | F(F_LIMIT), OP_RETRY_SAFE,
                                       OP_CLASS_REFRESH },
        [OP_TOKEN_REVOCATION_BEGIN] = { "token.revocation_begin", F(F_PLUGIN) | F(F_REVOCATION), 0,
                                        OP_WRITES | OP_REVEALS, OP_CLASS_REFRESH },
        [OP_TOKEN_REVOCATION_END] = { "token.revocation_end", F(F_PLUGIN) | F(F_REVOCATION), F(F_ERROR), OP_WRITES,
                                      OP_CLASS_REFRESH },
};

unsigned op_flags(Op op) {
        return op >= 0 && op < _OP_MAX ? request_ops[op].flags : 0;
}

OpClass op_class(Op op) {
        return op >= 0 && op < _OP_MAX ? request_ops[op].op_class : _OP_CLASS_INVALID;
}

const char *op_to_string(Op op) {
        return op >= 0 && op < _OP_MAX ? request_ops[op].name : NULL;
}

int op_from_string(const char *s) {
        for (int i = 0; i < _OP_MAX; i++)
                if (strcmp(request_ops[i].name, s) == 0)
                        return i;
        return -EOPNOTSUPP;
}
