/* credential-conn.c — the value out, then close (see credential-conn.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "credential-conn.h"
#include "log.h"
#include "macro.h"
#include "time-util.h"

/* Besides the value: the kernel's bookkeeping of the socket buffer. */
#define SNDBUF_SLACK 4096

/* Write what the socket takes now. 1 when everything is written, 0 when
 * the rest must wait for the peer to read, -errno if the peer is gone. */
static int write_some(int fd, const SecretBuf *value, size_t *sent) {
        while (*sent < value->size) {
                ssize_t n = send(fd, value->data + *sent, value->size - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : negative_errno();
                }
                *sent += (size_t) n;
        }
        return 1;
}

/* The end of a connection: the peer reads what was sent, then EOF. */
static void finish(int fd) {
        (void) shutdown(fd, SHUT_WR);
        close(fd);
}

static void conn_closed(CredentialConn *cc) {
        sd_event_source_set_enabled(cc->io_source, SD_EVENT_OFF);
        sd_event_source_set_enabled(cc->timer_source, SD_EVENT_OFF);
        cc->on_closed(cc->userdata, cc);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        CredentialConn *cc = userdata;
        (void) source, (void) fd, (void) revents;

        if (write_some(cc->fd, cc->value, &cc->sent) == 0)
                return 0;
        conn_closed(cc);
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        CredentialConn *cc = userdata;
        (void) source, (void) usec;
        log_warning("credential socket: the peer read %zu of %zu bytes in time, closing", cc->sent, cc->value->size);
        conn_closed(cc);
        return 0;
}

int credential_conn_new(sd_event *event, int fd, SecretBuf *value, uint64_t timeout_usec,
                        CredentialConnClosed on_closed, void *userdata, CredentialConn **ret) {
        _cleanup_(secret_buf_freep) SecretBuf *v = value;
        size_t sent = 0;

        /* Room for the whole value in one go: a Unix stream socket sends
         * at most half its buffer in one piece, and the kernel doubles
         * what is set. Never made smaller than the default. */
        int sndbuf = 0;
        socklen_t len = sizeof(sndbuf);
        size_t want = v->size + SNDBUF_SLACK;
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && (size_t) sndbuf < 2 * want) {
                int set = (int) want;
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &set, sizeof(set));
        }
        if (write_some(fd, v, &sent) != 0) {
                /* All of it, or the peer is gone: either way, done. */
                finish(fd);
                *ret = NULL;
                return 0;
        }
        CredentialConn *cc = calloc(1, sizeof(*cc));
        if (!cc) {
                close(fd);
                return -ENOMEM;
        }
        *cc = (CredentialConn) {
                .fd = fd, .value = TAKE_PTR(v), .sent = sent, .on_closed = on_closed, .userdata = userdata
        };
        int r = sd_event_add_io(event, &cc->io_source, fd, EPOLLOUT, on_io, cc);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &cc->timer_source, CLOCK_MONOTONIC, timeout_usec,
                                               USEC_PER_MSEC * 10, on_timeout, cc);
        if (r < 0) {
                credential_conn_free(cc);
                return r;
        }
        *ret = cc;
        return 0;
}

void credential_conn_free(CredentialConn *cc) {
        if (!cc)
                return;
        sd_event_source_disable_unref(cc->io_source);
        sd_event_source_disable_unref(cc->timer_source);
        /* A value not wholly written is cut short: the peer sees EOF
         * early, and systemd takes the credential as it came. */
        if (cc->fd >= 0)
                finish(cc->fd);
        secret_buf_free(cc->value);
        free(cc);
}
