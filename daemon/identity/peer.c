/* peer.c — caller identity from the kernel (see peer.h). */
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-login.h>

#include "macro.h"
#include "peer.h"

int peer_from_socket(int fd, Peer *ret) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return negative_errno();
        *ret = (Peer) { .uid = cred.uid, .gid = cred.gid, .pid = cred.pid };
        /* Best effort: outside systemd (tests, development) there is no
         * unit, and that is not an error. */
        if (cred.pid > 0 && sd_pid_get_unit(cred.pid, &ret->unit) < 0)
                ret->unit = NULL;
        return 0;
}

void peer_done(Peer *p) {
        free(p->unit);
        p->unit = NULL;
}
