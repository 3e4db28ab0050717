/* peer.h — who is on the other end of a connection.
 *
 * Owns: reading the caller's identity from the kernel, once, at accept:
 * SO_PEERCRED (uid, gid, pid) and the systemd unit of that pid. Never from
 * the request: a client cannot claim to be someone else. */
#pragma once

#include <sys/types.h>

typedef struct Peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        char *unit; /* NULL when the pid is not in a systemd unit */
} Peer;

/* -errno if the socket has no peer credentials. */
int peer_from_socket(int fd, Peer *ret);
void peer_done(Peer *p);
