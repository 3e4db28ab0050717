/* audit.h — the audit trail: who did what to which object, and the result.
 *
 * Owns: one structured record per request. Never: a value; only the op,
 * plugin, name or user id, the caller and the error code. */
#pragma once

#include "peer.h"
#include "request.h"

/* result: 0 or a negative errno. req may be a request that failed to decode
 * (then only what was decoded is recorded). */
void audit_record(const Peer *peer, const Request *req, int result);

/* Write the records gathered so far (stderr mode); the server calls it once
 * per event loop iteration and at exit. */
void audit_flush(void);
