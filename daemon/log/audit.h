/* audit.h — the audit trail: who did what to which object, and the result.
 *
 * Owns: one structured record per request. Never: a value; only the op,
 * plugin, name or user id, the caller and the error code. The journal or
 * stderr copy; the audit table (vault-audit.c) is the one that is chained. */
#pragma once

#include <stdbool.h>

#include "peer.h"
#include "record.h"

/* The journal's (or stderr's) copy of a record the audit table gets too.
 * flush_now: write it at once rather than with the next timed flush
 * (writes and failures). reserved: a record of a successful write or of
 * a read that revealed a value, which may use the log queue's reserve
 * (see log.h). */
void audit_record(const AuditEntry *e, bool flush_now, bool reserved);

/* Write the records gathered so far (stderr mode), as far as stderr takes
 * them without blocking (log_flush()); the server calls it from a timer and
 * at exit. */
void audit_flush(void);
