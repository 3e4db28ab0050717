/* credential-conn.h — one connection of the credential socket, once its
 * request is decided: the secret's bytes out, then the connection closed.
 *
 * Owns: writing the value without blocking the loop: at once if the
 * socket takes it (a value is at most SECRET_VALUE_SIZE_MAX bytes, within
 * a Unix socket's default buffer, so nearly always), else as the peer
 * reads, within a deadline; shutting down the write side and closing, so
 * that the peer reads exactly the value and then EOF. The value is wiped
 * when the connection ends, however it ends.
 *
 * Never: reads from the peer (systemd sends nothing), decides anything
 * (daemon/ops/credential.c did), or frees itself (on_closed hands it back
 * to the owner, who unlinks and frees it). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "secret-buf.h"

typedef struct CredentialConn CredentialConn;

/* Told the connection is finished (written, failed or timed out): the
 * owner unlinks and credential_conn_free()s it. Called at most once, from
 * the connection's own event sources. */
typedef void (*CredentialConnClosed)(void *userdata, CredentialConn *cc);

struct CredentialConn {
        CredentialConn *prev, *next; /* the owner's list; never touched here */
        int fd;
        SecretBuf *value;
        size_t sent;
        sd_event_source *io_source, *timer_source;
        CredentialConnClosed on_closed;
        void *userdata;
};

/* Write value (taken, and wiped, on every path) to the accepted socket fd
 * (taken too). 0 and *ret NULL when it is all written and fd closed (or
 * the peer is gone: nothing more to do); 0 and *ret a connection that
 * finishes the write from event's loop, within timeout_usec, then calls
 * on_closed; -errno (fd closed) if it cannot be set up. */
int credential_conn_new(sd_event *event, int fd, SecretBuf *value, uint64_t timeout_usec,
                        CredentialConnClosed on_closed, void *userdata, CredentialConn **ret);
/* Close without a callback; accepts NULL. */
void credential_conn_free(CredentialConn *cc);
