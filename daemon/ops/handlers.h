/* handlers.h — helpers the handler files share.
 *
 * Owns: how record metadata, values and "not found" look in a reply, the
 * same for every op. */
#pragma once

#include "dispatch.h"

/* version, created, updated, expires_at (when known). */
void handlers_reply_meta(JsonOut *reply, const StoredRecord *m);
/* A value, base64-encoded. */
int handlers_reply_value(JsonOut *reply, const char *key, const SecretBuf *value);
/* Name the missing object in f when r is -ENOENT; returns r. */
int handlers_not_found(int r, Failure *f, const char *what, const Request *req);
/* One page of record metadata and its "next" cursor. */
int handlers_list_page(Context *ctx, RecordKind kind, const Request *req, const char *after_plugin,
                       const char *after_name, const char *items_key, JsonOut *reply);

/* health's "policy" and "audit" members: what is in force, and whether
 * records can be written (handlers-policy.c). */
void handlers_reply_state(Context *ctx, JsonOut *reply);
/* A few words for an audit-trail write error, for clients and status. */
const char *handlers_audit_error_text(const VaultAuditStatus *st, char *buf, size_t size);
#define HANDLERS_AUDIT_ERROR_SIZE 160

/* token.delete, queueing the set for revocation where the plugin is
 * configured for it (reply member "revocation": "pending"), and health's
 * "revocations" member (handlers-revocation.c). */
int handlers_token_delete(Context *ctx, const Request *req, JsonOut *reply);
int handlers_reply_revocations(Context *ctx, JsonOut *reply);
