/* peer.h — who is on the other end of a connection.
 *
 * Owns: reading the caller's identity from the kernel, once, at accept:
 * SO_PEERCRED (uid, gid, pid), SO_PEERGROUPS (supplementary groups) and
 * the systemd unit of that process, resolved through a pidfd so that a
 * pid reused by another process cannot lend it its unit. Never from the
 * request: a client cannot claim to be someone else. Never: policy (what
 * the caller may do is daemon/policy/'s), logging.
 *
 * A Peer is moved by plain struct copy (the connection takes it over and
 * zeroes the original); it holds no file descriptor, so a zeroed Peer is
 * safe to peer_done(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How the process behind the socket was pinned while its unit was read. */
typedef enum PeerPidfd {
        PEER_PIDFD_NONE,   /* not at all: the process was gone, or pid 0 (another pid namespace) */
        PEER_PIDFD_SOCKET, /* SO_PEERPIDFD (Linux 6.5+): the process that connected, exactly */
        PEER_PIDFD_OPEN,   /* pidfd_open(pid) on older kernels: see peer.c for the window left */
} PeerPidfd;

/* The most supplementary groups a Peer keeps (the kernel allows 65536;
 * a caller with more is seen with its first PEER_GROUPS_MAX). */
#define PEER_GROUPS_MAX 1024

typedef struct Peer {
        uid_t uid; /* effective ids at connect time */
        gid_t gid;
        pid_t pid;
        gid_t *groups; /* supplementary groups at connect time, owned; NULL when none */
        size_t n_groups;
        /* The system unit (service or scope) of pid, only when it was read
         * while the pidfd proved the pid still named the same process;
         * NULL otherwise (not in a unit, process gone, not verifiable). A
         * process of a user manager shows up as "user@UID.service". */
        char *unit;
        PeerPidfd pidfd;
} Peer;

/* Fill ret from the kernel's view of the connected socket fd. -errno
 * (from getsockopt) if the socket has no peer credentials, -ENOMEM; an
 * unknown unit or a missing group list is not an error. On failure ret is
 * untouched. Call peer_done() on it afterwards. */
int peer_from_socket(int fd, Peer *ret);

/* Free what a Peer owns and zero it. Accepts a zeroed Peer. */
void peer_done(Peer *p);

/* The system unit of the process pidfd refers to, whose pid (in our pid
 * namespace) is pid. The unit is read through the pid (/proc/PID/cgroup);
 * afterwards the pidfd must still name a live process, which proves the
 * pid was not reused during the read. With expect_uid other than
 * (uid_t) -1, the process's effective uid must also be expect_uid (read
 * before that same liveness check). 0 and *ret_unit (malloc'd) on
 * success; -ESRCH if the process is gone, -EPERM on a uid mismatch, or
 * sd_pid_get_unit()'s error (-ENODATA, -ENXIO: not in a unit). */
int peer_unit_from_pidfd(int pidfd, pid_t pid, uid_t expect_uid, char **ret_unit);

/* "socket", "pidfd_open" or NULL (PEER_PIDFD_NONE), for `whoami`. */
const char *peer_pidfd_to_string(PeerPidfd p);

/* Whether the peer is in group gid: its gid or one of its supplementary
 * groups (a linear scan: a few groups, no system call). */
bool peer_in_group(const Peer *p, gid_t gid);
