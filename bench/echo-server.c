/* echo-server.c — the transport floor for cv-bench: a bare Unix-socket
 * frame server with the daemon's shape and none of its work.
 *
 * Owns: accepting on one Unix stream socket, reading frames (4-byte
 * big-endian length + body, as proto/frame.h) and answering each with a
 * frame whose body size the request names in its first 4 body bytes
 * (big-endian). It is single-threaded over epoll with non-blocking sockets,
 * like credvaultd, so "echo vs get" compares the same syscalls and wakeups
 * and differs only by what the daemon does with a frame.
 *
 * Never: parses JSON, allocates per request, logs per request, or touches
 * anything but its own socket. It is a benchmark tool, not a server: a
 * client that sends a malformed frame is simply disconnected. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "proto-limits.h"

#define EVENTS_MAX 64
/* The request names its reply size in its first body bytes. */
#define ECHO_SIZE_FIELD 4

typedef struct EchoConn {
        int fd;
        uint8_t in[FRAME_SIZE_MAX];
        size_t in_size;
} EchoConn;

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static int listen_on(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "echo-server: socket path too long\n");
                return -1;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
                fprintf(stderr, "echo-server: cannot listen on %s: %s\n", path, strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

/* Write all of buf. The socket is non-blocking; a full socket buffer
 * (only with replies larger than it) is waited out with poll() rather than
 * queued: the bench has one request in flight per client. */
static int send_all(int fd, const uint8_t *buf, size_t size) {
        while (size > 0) {
                ssize_t k = send(fd, buf, size, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                (void) poll(&p, 1, -1);
                                continue;
                        }
                        return -1;
                }
                buf += k;
                size -= (size_t) k;
        }
        return 0;
}

/* Answer every whole frame in the input buffer. < 0: drop the client. */
static int conn_process(EchoConn *c, uint8_t *reply) {
        size_t off = 0;

        for (;;) {
                const uint8_t *body;
                size_t body_size;
                int k = frame_parse(c->in + off, c->in_size - off, &body, &body_size);
                if (k == 0)
                        break;
                if (k < 0 || body_size < ECHO_SIZE_FIELD)
                        return -1;
                uint32_t reply_size = get_be32(body);
                if (reply_size == 0 || reply_size > FRAME_BODY_MAX)
                        return -1;
                frame_header_write(reply, reply_size);
                if (send_all(c->fd, reply, FRAME_HEADER_SIZE + reply_size) < 0)
                        return -1;
                off += (size_t) k;
        }
        if (off > 0) {
                memmove(c->in, c->in + off, c->in_size - off);
                c->in_size -= off;
        }
        return 0;
}

static int conn_read(EchoConn *c, uint8_t *reply) {
        for (;;) {
                ssize_t k = recv(c->fd, c->in + c->in_size, sizeof(c->in) - c->in_size, MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -1;
                }
                if (k == 0)
                        return -1;
                c->in_size += (size_t) k;
                /* One read per wakeup, like the daemon; a client with one
                 * request in flight has sent it whole by now. */
                return conn_process(c, reply);
        }
}

static void help(void) {
        printf("Usage: echo-server --socket PATH\n"
               "\n"
               "Answer each frame with a frame of the size named by the request's\n"
               "first 4 body bytes (big-endian). Runs until SIGTERM or SIGINT.\n");
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *path = NULL;
        struct epoll_event ev, events[EVENTS_MAX];
        uint8_t *reply;
        int c, lfd, efd;

        while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        path = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (!path) {
                fprintf(stderr, "echo-server: --socket is required\n");
                return 2;
        }

        reply = malloc(FRAME_SIZE_MAX);
        if (!reply)
                return 1;
        /* Reply bodies are 'x's: what matters is their size, not content. */
        memset(reply, 'x', FRAME_SIZE_MAX);

        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        lfd = listen_on(path);
        if (lfd < 0)
                return 1;
        efd = epoll_create1(EPOLL_CLOEXEC);
        if (efd < 0)
                return 1;
        ev = (struct epoll_event) { .events = EPOLLIN, .data.ptr = NULL };
        if (epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev) < 0)
                return 1;

        while (!stop) {
                int n = epoll_wait(efd, events, EVENTS_MAX, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < n; i++) {
                        EchoConn *conn = events[i].data.ptr;
                        if (!conn) {
                                int cfd;
                                while ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                                        EchoConn *nc = malloc(sizeof(EchoConn));
                                        if (!nc) {
                                                close(cfd);
                                                continue;
                                        }
                                        nc->fd = cfd;
                                        nc->in_size = 0;
                                        ev = (struct epoll_event) { .events = EPOLLIN, .data.ptr = nc };
                                        if (epoll_ctl(efd, EPOLL_CTL_ADD, cfd, &ev) < 0) {
                                                close(cfd);
                                                free(nc);
                                        }
                                }
                                continue;
                        }
                        if (conn_read(conn, reply) < 0) {
                                epoll_ctl(efd, EPOLL_CTL_DEL, conn->fd, NULL);
                                close(conn->fd);
                                free(conn);
                        }
                }
        }
        close(efd);
        close(lfd);
        unlink(path);
        free(reply);
        return 0;
}
