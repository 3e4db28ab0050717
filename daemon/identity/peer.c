/* peer.c — caller identity from the kernel (see peer.h).
 *
 * The unit is what a per-unit policy trusts, so it must belong to the
 * process that connected, not to whatever holds its pid now. systemd names
 * a process's unit from /proc/PID/cgroup, a read by pid; a pid is free for
 * reuse once its process has exited and been reaped. So the process is
 * pinned with a pidfd first, the unit read through the pid, and the pidfd
 * asked afterwards whether its process is still alive (a signal 0): if it
 * is, the pid was never free during the read, and the unit is that
 * process's. If it is not, the caller is seen without a unit: fewer rights,
 * never someone else's.
 *
 * The pidfd comes from SO_PEERPIDFD (Linux 6.5+), which names exactly the
 * process that connected. On older kernels it comes from pidfd_open(pid)
 * after accept: if the caller exited between connect and accept and its
 * pid came round to another process (the pid counter wrapping, pid_max
 * being 4194304 under systemd), that process would be pinned instead. For
 * that fallback the pinned process's effective uid must also equal the
 * socket's: a pid that came round cannot lend the unit of a service
 * running as another user. libsystemd 252 (Debian 12) has no
 * sd_pidfd_get_unit(); this check is what it would do. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "macro.h"
#include "peer.h"

/* Older libc headers lack these; the numbers are the same on every
 * architecture Linux has (the socket options of asm-generic, the
 * syscalls of the unified table). */
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open_pid(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static bool pidfd_alive(int pidfd) {
        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* The effective uid of pid from /proc/PID/status ("Uid: real effective
 * saved fs"). */
static int proc_euid(pid_t pid, uid_t *ret) {
        char path[64], line[256];
        unsigned long ruid, euid;
        int r = -EIO;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : negative_errno();
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Uid: %lu %lu", &ruid, &euid) == 2) {
                        *ret = (uid_t) euid;
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

int peer_unit_from_pidfd(int pidfd, pid_t pid, uid_t expect_uid, char **ret_unit) {
        _cleanup_(freep) char *unit = NULL;
        int r;

        if (pidfd < 0 || pid <= 0)
                return -EINVAL;
        r = sd_pid_get_unit(pid, &unit);
        if (r < 0)
                return pidfd_alive(pidfd) ? r : -ESRCH;
        if (expect_uid != (uid_t) -1) {
                uid_t euid;
                r = proc_euid(pid, &euid);
                if (r < 0)
                        return pidfd_alive(pidfd) ? r : -ESRCH;
                if (euid != expect_uid)
                        return -EPERM;
        }
        /* After both reads: alive now means the pid named this process
         * throughout them. */
        if (!pidfd_alive(pidfd))
                return -ESRCH;
        *ret_unit = TAKE_PTR(unit);
        return 0;
}

/* A pidfd for the process that connected to fd, and how it was had. Never
 * falls back to pidfd_open() when the kernel has SO_PEERPIDFD and says the
 * process is gone: its pid may already be someone else's. */
static int peer_pidfd_get(int fd, pid_t pid, PeerPidfd *ret_kind) {
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0 && len == sizeof(pidfd) && pidfd >= 0) {
                *ret_kind = PEER_PIDFD_SOCKET;
                return pidfd;
        }
        if (errno != ENOPROTOOPT)
                return negative_errno();
        pidfd = pidfd_open_pid(pid);
        if (pidfd < 0)
                return negative_errno();
        *ret_kind = PEER_PIDFD_OPEN;
        return pidfd;
}

/* The supplementary groups, capped at PEER_GROUPS_MAX. A socket without
 * them (not AF_UNIX, or a kernel before 4.13) gives none. */
static int peer_groups_get(int fd, gid_t **ret_groups, size_t *ret_n) {
        gid_t small[64];
        _cleanup_(freep) gid_t *big = NULL;
        gid_t *g = small;
        socklen_t len = sizeof(small);

        *ret_groups = NULL;
        *ret_n = 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) < 0) {
                if (errno != ERANGE)
                        return 0;
                /* len now says how much the kernel needs. */
                big = malloc(len);
                if (!big)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) < 0)
                        return 0;
                g = big;
        }
        size_t n = len / sizeof(gid_t);
        if (n > PEER_GROUPS_MAX)
                n = PEER_GROUPS_MAX;
        if (n == 0)
                return 0;
        gid_t *copy = malloc(n * sizeof(gid_t));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, g, n * sizeof(gid_t));
        *ret_groups = copy;
        *ret_n = n;
        return 0;
}

int peer_from_socket(int fd, Peer *ret) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        Peer p = {};
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        if (len != sizeof(cred))
                return -EIO;
        p = (Peer) { .uid = cred.uid, .gid = cred.gid, .pid = cred.pid };
        r = peer_groups_get(fd, &p.groups, &p.n_groups);
        if (r < 0)
                return r;

        /* pid 0: the caller is in a pid namespace we cannot see into. */
        if (cred.pid > 0) {
                PeerPidfd kind = PEER_PIDFD_NONE;
                _cleanup_(closep) int pidfd = peer_pidfd_get(fd, cred.pid, &kind);
                if (pidfd >= 0) {
                        p.pidfd = kind;
                        /* Outside systemd (tests, development) there is no
                         * unit, and that is not an error. */
                        r = peer_unit_from_pidfd(pidfd, cred.pid, kind == PEER_PIDFD_OPEN ? cred.uid : (uid_t) -1,
                                                 &p.unit);
                        if (r == -ENOMEM) {
                                peer_done(&p);
                                return r;
                        }
                }
        }
        *ret = p;
        return 0;
}

void peer_done(Peer *p) {
        free(p->unit);
        free(p->groups);
        *p = (Peer) {};
}

const char *peer_pidfd_to_string(PeerPidfd p) {
        switch (p) {
        case PEER_PIDFD_SOCKET:
                return "socket";
        case PEER_PIDFD_OPEN:
                return "pidfd_open";
        default:
                return NULL;
        }
}

bool peer_in_group(const Peer *p, gid_t gid) {
        if (p->gid == gid)
                return true;
        for (size_t i = 0; i < p->n_groups; i++)
                if (p->groups[i] == gid)
                        return true;
        return false;
}
