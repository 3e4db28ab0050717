/* dispatch-internal.h — what dispatch.c shares with write-group.c; no
 * other file includes it. */
#pragma once

#include "dispatch.h"
#include "rates.h"

/* The finished error reply of a request (has_id: the request's id, else
 * null): f's message, or a default one for error. */
void dispatch_error_reply(JsonOut *out, bool has_id, uint64_t id, int error, const Failure *f);
/* A bounded copy into an entry's field (cut short if need be). */
void dispatch_entry_set(char *dst, size_t size, const char *src);
/* Set e's result ("ok" or error's code) and whether it revealed a value. */
void dispatch_entry_result(AuditEntry *e, int result, bool revealed);

/* The record of a request for the audit table and the journal (rs: the
 * principal's rate state, NULL for none; see dispatch.c). Returns
 * vault_audit_add()'s answer. */
int dispatch_record(Context *ctx, RateState *rs, int result, AuditEntry *e, bool flush_now, bool reserved);
/* Errors that are the client's or the state of what it asked: not logged. */
bool dispatch_error_is_expected(int r);

/* write-group.c: whether a request of op, from a connection that can
 * hold its reply (tag), joins a write group. */
bool dispatch_group_joins(const Context *ctx, Op op, const void *tag);
/* Open a group if none is (or end a full one and open the next): 0 when
 * the request's write is to run in the group, -errno when it runs alone
 * (the group could not be begun). */
int dispatch_group_enter(Context *ctx);
/* Keep the reply of a request handled in the group (result: its own
 * outcome; e: its record, to journal when the group ends). */
void dispatch_group_hold(Context *ctx, void *tag, bool has_id, uint64_t id, int result, bool reserved,
                         const AuditEntry *e);
