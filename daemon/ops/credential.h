/* credential.h — one LoadCredential= request of the credential socket:
 * whose it is, whether it is allowed, the secret's bytes, the audit
 * record.
 *
 * Owns: believing the unit in the peer's address only from the service
 * manager (uid 0), the credential id's syntax ("PLUGIN.SECRET", split at
 * the first '.'), the policy check of the unit, reading the secret and
 * auditing every request, refused ones included. Never: socket I/O (the
 * server's, daemon/net/credential-conn.c), anything sent to a refused
 * peer: a refusal is the connection closed with nothing written, so that
 * the unit fails to start rather than run with a wrong secret. */
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include "dispatch.h"
#include "peer.h"
#include "secret-buf.h"

/* Split a credential id: the plugin is what comes before the first '.',
 * the secret name the rest (which may contain '.': plugin names from
 * manifests do not, so the first '.' is the one that separates). Both
 * must be valid names (request_check_name()). plugin and name have room
 * for NAME_SIZE_MAX bytes and a NUL. 0, or -EBADMSG. */
int credential_id_split(const char *id, char *ret_plugin, char *ret_name);

/* The request of peer, whose end of the socket is bound to sa (size
 * bytes, getpeername()): 0 and *ret_value, the secret's bytes, to be
 * written as they are; or -errno, with nothing to write: -EPERM (the peer
 * is not uid 0, or the policy does not allow the unit to read the plugin's
 * secrets), -EBADMSG (not systemd's address, or not a credential id),
 * -ENOENT (no such plugin or secret), -ESHUTDOWN (the audit trail cannot
 * be written), or the vault's error. Each is audited and logged. */
int credential_serve(Context *ctx, const Peer *peer, const struct sockaddr_un *sa, socklen_t size,
                     SecretBuf **ret_value);
