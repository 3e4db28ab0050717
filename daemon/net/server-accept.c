/* server-accept.c — taking clients in (see server.h): accept() on the
 * protocol's and the credential socket, the connection caps (in all and
 * per uid), the refusal sent over a cap, and the pause when accept() runs
 * out of descriptors. Each accepted client joins the server's lists
 * (connections, credential_conns) here; server.c removes a connection
 * when it closes.
 *
 * Split from server.c (the loop's set-up and life) to keep each file to
 * one job. Never: reads a byte from a client (identity comes from the
 * socket, SO_PEERCRED; a refusal is written without reading), or writes
 * a reply's content (dispatch does). */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "credential.h"
#include "frame.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "proto-limits.h"
#include "server-internal.h"
#include "time-util.h"

#define ACCEPTS_PER_WAKEUP 64
/* When accept() fails for want of descriptors (or memory) the listener
 * stays readable, and retrying at once would spin on it. It is switched
 * off until a connection closes, or this long (the shortage may be the
 * system's, ENFILE, or the limit lowered under us). */
#define ACCEPT_RETRY_USEC (250 * 1000ULL)
/* At most one warning about it this often; the pauses in between are
 * counted in the next. */
#define ACCEPT_WARN_INTERVAL_USEC (10 * USEC_PER_SEC)

/* Connections of one uid, so that no single service can take every slot
 * and lock the others out (a scan: there are at most max_connections). */
static unsigned connections_of_uid(const Server *s, uid_t uid) {
        unsigned n = 0;
        for (const Connection *c = s->connections; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

/* A client over a connection cap gets one reply, sent without reading
 * anything from it, and is closed. The reply is small: if the socket will
 * not take it at once the client goes without, rather than hold a slot the
 * cap says we do not have. dispatch writes it, and audits the refusal. */
static void refuse_over_cap(Server *s, int fd, const Peer *peer) {
        JsonOut out;

        json_out_init(&out, (char *) s->scratch + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
        dispatch_refuse(&s->ctx, peer, &out);
        frame_header_write(s->scratch, (uint32_t) out.size);
        size_t n = FRAME_HEADER_SIZE + out.size;
        (void) send(fd, s->scratch, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        sodium_memzero(s->scratch, n);
        close(fd);
}

/* Stop accepting (clients wait in the listen backlog) and keep serving
 * the clients we have; see ACCEPT_RETRY_USEC. */
static void accept_pause(Server *s, int error) {
        uint64_t now = 0;

        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        s->n_accept_pauses++;
        if (s->accept_warned_usec == 0 || now >= s->accept_warned_usec + ACCEPT_WARN_INTERVAL_USEC) {
                if (s->n_accept_pauses > 1)
                        log_warning("cannot accept connections: %s (%u open); new clients wait until one closes "
                                    "(%u times since the last warning)",
                                    strerror(error), s->n_connections, s->n_accept_pauses);
                else
                        log_warning("cannot accept connections: %s (%u open); new clients wait until one closes",
                                    strerror(error), s->n_connections);
                s->accept_warned_usec = now;
                s->n_accept_pauses = 0;
        }
        s->accept_paused = true;
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
        if (s->credential_source)
                sd_event_source_set_enabled(s->credential_source, SD_EVENT_OFF);
        sd_event_source_set_time(s->accept_retry_source, now + ACCEPT_RETRY_USEC);
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_ONESHOT);
}

void server_accept_resume(Server *s) {
        if (!s->accept_paused)
                return;
        s->accept_paused = false;
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        if (s->credential_source)
                sd_event_source_set_enabled(s->credential_source, SD_EVENT_ON);
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        (void) source, (void) usec;
        server_accept_resume(userdata);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        (void) source, (void) revents;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ECONNABORTED)
                                continue; /* that client left; others may wait */
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything we
                         * cannot fix by trying again at once. */
                        accept_pause(s, errno);
                        return 0;
                }
                /* Read once, here: the per-uid cap needs it, then it moves
                 * into the connection (or the refusal's audit record). */
                _cleanup_(peer_done) Peer peer = {};
                int r = peer_from_socket(cfd, &peer);
                if (r < 0) {
                        log_warning("cannot set up connection: %s", strerror(-r));
                        close(cfd);
                        continue;
                }
                if (s->n_connections >= (unsigned) s->config.max_connections ||
                    connections_of_uid(s, peer.uid) >= (unsigned) s->config.max_connections_per_uid) {
                        refuse_over_cap(s, cfd, &peer);
                        continue;
                }

                Connection *c;
                r = connection_new(&s->connection_config, cfd, &peer, dispatch_principal(&s->ctx, &peer), &c);
                if (r < 0) {
                        log_warning("cannot set up connection: %s", strerror(-r));
                        continue;
                }
                c->next = s->connections;
                if (s->connections)
                        s->connections->prev = c;
                s->connections = c;
                s->ctx.n_connections = ++s->n_connections;
                server_idle_arm(s);
        }
        return 0;
}

static void on_credential_closed(void *userdata, CredentialConn *cc) {
        Server *s = userdata;
        if (cc->prev)
                cc->prev->next = cc->next;
        else
                s->credential_conns = cc->next;
        if (cc->next)
                cc->next->prev = cc->prev;
        credential_conn_free(cc);
        s->ctx.n_connections = --s->n_connections;
        server_idle_arm(s);
        server_accept_resume(s);
}

/* One LoadCredential= request: the peer's identity and its bound address
 * at once, the decision (credential.c), then the value out or the
 * connection closed with nothing written. Nothing is read from the peer,
 * so nothing it sends can hold the loop. */
static void credential_accept_one(Server *s, int cfd, const struct sockaddr_un *sa, socklen_t sa_size) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        _cleanup_(peer_done) Peer peer = {};
        CredentialConn *cc = NULL;

        int r = peer_from_socket(cfd, &peer);
        if (r < 0) {
                log_warning("credential socket: cannot set up connection: %s", strerror(-r));
                close(cfd);
                return;
        }
        /* It counts against the cap like any client (it holds a
         * descriptor and, while writing, a value); over it, the peer gets
         * EOF and the unit fails to start, which says more than a wait. */
        if (s->n_connections >= (unsigned) s->config.max_connections) {
                (void) dispatch_audit_record(&s->ctx, &peer, peer.unit, "connect", NULL, "too many connections",
                                             -ESHUTDOWN, false);
                close(cfd);
                return;
        }
        if (credential_serve(&s->ctx, &peer, sa, sa_size, &value) < 0) {
                close(cfd);
                return;
        }
        r = credential_conn_new(s->event, cfd, TAKE_PTR(value), s->connection_config.io_timeout_usec,
                                on_credential_closed, s, &cc);
        if (r < 0) {
                log_warning("credential socket: cannot write the value: %s", strerror(-r));
                return;
        }
        if (!cc)
                return;
        cc->next = s->credential_conns;
        if (s->credential_conns)
                s->credential_conns->prev = cc;
        s->credential_conns = cc;
        s->ctx.n_connections = ++s->n_connections;
        server_idle_arm(s);
}

static int on_credential_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        (void) source, (void) revents;

        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                /* The peer's bound address (what getpeername() would say)
                 * names the unit and the credential. */
                struct sockaddr_un sa = {};
                socklen_t sa_size = sizeof(sa);
                int cfd = accept4(fd, (struct sockaddr *) &sa, &sa_size, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ECONNABORTED)
                                continue;
                        accept_pause(s, errno);
                        return 0;
                }
                credential_accept_one(s, cfd, &sa, sa_size);
        }
        return 0;
}

/* The listeners' sources (the credential socket's if there is one) and
 * the timer that ends a pause, off until one starts. */
int server_accept_add(Server *s) {
        int r;

        if (s->credential_fd >= 0) {
                r = sd_event_add_io(s->event, &s->credential_source, s->credential_fd, EPOLLIN, on_credential_accept,
                                    s);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_io(s->event, &s->listen_source, s->listen_fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        r = sd_event_add_time(s->event, &s->accept_retry_source, CLOCK_MONOTONIC, 0, ACCEPT_RETRY_USEC / 10,
                              on_accept_retry, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->accept_retry_source, SD_EVENT_OFF);
        return 0;
}
