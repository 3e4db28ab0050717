/* connection.c — one client connection (see connection.h).
 *
 * The life of a request: on_io() reads what the socket has into `in`;
 * once a whole frame is there the connection is ready: it stops reading
 * and waits for its turn (scheduler.h). Frames are handled in turns only,
 * never from on_io(), not even when no one else seems to wait: sd-event
 * may hold other clients' readable sockets in its pending queue, behind
 * this one's event, where the scheduler cannot see them; a client handled
 * straight from its io events would run ahead of all of them (the review's
 * finding F2: 64 connections of 60 KB frames held another principal's
 * request for 150 ms). A lone client pays one loop iteration per request
 * for it (docs/benchmarks.md, "Fair shares").
 * In its turn, connection_process() cuts up to FRAMES_PER_TURN frames, and
 * no more than TURN_BYTES of frame bodies unless that is one frame, with
 * frame_parse() and hands each to cfg.on_frame (or a bad one to
 * cfg.on_frame_error), which writes the answer into the shared scratch
 * buffer; send_reply() frames it and writes it at once, queueing in `out`
 * only what the socket will not take. Bytes that carried a request or a
 * reply are wiped as soon as they are consumed or sent.
 *
 * Never: decides what a reply says, not even for a bad frame, nor reaches
 * into its owner; it knows only its ConnectionConfig. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connection.h"
#include "frame.h"
#include "log.h"
#include "macro.h"
#include "proto-limits.h"
#include "time-util.h"

#define IN_ALLOC_INITIAL 4096
/* While this much of a client's replies is unread, stop reading from it. */
#define OUT_PENDING_MAX (256 * 1024)
/* Frames handled per turn before the next principal's turn. Few, so
 * that a request of another principal waits for a few frames' work, not a
 * backlog's; more than one, so that a pipelining client does not pay a
 * loop iteration (an epoll_wait) per frame. Measured with bench/flood.c
 * (docs/benchmarks.md): 4 added 10 µs to the victim's p50 over 2, and 1
 * cost the flood a quarter of its throughput for no better p99. */
#define FRAMES_PER_TURN 2
/* And no more frame body bytes than this per turn, unless the turn's first
 * frame alone is larger: the cost of a frame (parsing its JSON) grows with
 * its size, so a turn of one 60 KB frame is already a few milliseconds,
 * and two frames fit a turn only when they are small. */
#define TURN_BYTES (16 * 1024)
/* io_events when setting them failed: differs from any events wanted. */
#define IO_EVENTS_UNKNOWN UINT32_MAX

static uint64_t now_usec(Connection *c) {
        uint64_t t = 0;
        sd_event_now(c->cfg.event, CLOCK_MONOTONIC, &t);
        return t;
}

static size_t out_pending(const Connection *c) {
        return c->out_size - c->out_sent;
}

/* realloc() would leave a copy of the old bytes behind; copy and wipe. */
static int buffer_grow(uint8_t **buf, size_t used, size_t *alloc, size_t want) {
        uint8_t *n = malloc(want);
        if (!n)
                return -ENOMEM;
        if (*buf) {
                memcpy(n, *buf, used);
                sodium_memzero(*buf, *alloc);
                free(*buf);
        }
        *buf = n;
        *alloc = want;
        return 0;
}

static void buffer_free(uint8_t **buf, size_t *alloc) {
        if (*buf)
                sodium_memzero(*buf, *alloc);
        free(*buf);
        *buf = NULL;
        *alloc = 0;
}

static int out_append(Connection *c, const uint8_t *data, size_t size) {
        if (c->out_sent > 0) {
                size_t pending = out_pending(c);
                memmove(c->out, c->out + c->out_sent, pending);
                sodium_memzero(c->out + pending, c->out_size - pending);
                c->out_size = pending;
                c->out_sent = 0;
        }
        if (c->out_alloc - c->out_size < size) {
                size_t want = c->out_alloc ? c->out_alloc : IN_ALLOC_INITIAL;
                while (want - c->out_size < size)
                        want *= 2;
                int r = buffer_grow(&c->out, c->out_size, &c->out_alloc, want);
                if (r < 0)
                        return r;
        }
        memcpy(c->out + c->out_size, data, size);
        c->out_size += size;
        return 0;
}

static int connection_flush(Connection *c) {
        while (out_pending(c) > 0) {
                ssize_t k = send(c->fd, c->out + c->out_sent, out_pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return negative_errno();
                }
                c->out_sent += (size_t) k;
                c->last_activity = now_usec(c);
        }
        /* All sent: drop the bytes, and a buffer a large reply inflated. */
        if (c->out_alloc > IN_ALLOC_INITIAL)
                buffer_free(&c->out, &c->out_alloc);
        else if (c->out)
                sodium_memzero(c->out, c->out_size);
        c->out_size = c->out_sent = 0;
        return 0;
}

/* Send n bytes, or queue what the socket does not take now (all of them
 * when replies wait already: the order is kept). */
static int send_bytes(Connection *c, const uint8_t *buf, size_t n) {
        size_t sent = 0;
        int r = 0;
        if (out_pending(c) == 0) {
                ssize_t k = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k >= 0) {
                        sent = (size_t) k;
                        c->last_activity = now_usec(c);
                } else if (errno != EAGAIN && errno != EINTR)
                        r = negative_errno();
        }
        if (r >= 0 && sent < n)
                r = out_append(c, buf + sent, n - sent);
        return r;
}

/* Frame the reply a callback wrote into the scratch buffer and send it,
 * queueing what the socket does not take; then wipe the scratch buffer.
 * The callbacks leave out finished, so out->size bytes are the whole
 * reply; it was written within FRAME_BODY_MAX bytes (reply_init()). */
static int send_reply(Connection *c, const JsonOut *out) {
        uint8_t *buf = c->cfg.scratch;
        size_t n = FRAME_HEADER_SIZE + out->size;

        frame_header_write(buf, (uint32_t) out->size);
        int r = send_bytes(c, buf, n);
        sodium_memzero(buf, n);
        return r;
}

/* Keep the reply in the scratch buffer, framed, until the connection is
 * released (connection_release()); the scratch buffer is wiped. */
static int hold_reply(Connection *c, const JsonOut *out) {
        uint8_t *buf = c->cfg.scratch;
        size_t n = FRAME_HEADER_SIZE + out->size;

        frame_header_write(buf, (uint32_t) out->size);
        c->held = malloc(n);
        if (c->held) {
                memcpy(c->held, buf, n);
                c->held_size = n;
        }
        sodium_memzero(buf, n);
        return c->held ? 0 : -ENOMEM;
}

static void held_free(Connection *c) {
        if (c->held)
                sodium_memzero(c->held, c->held_size);
        free(c->held);
        c->held = NULL;
        c->held_size = 0;
}

static void reply_init(Connection *c, JsonOut *out) {
        json_out_init(out, (char *) c->cfg.scratch + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
}

/* Drop the first `size` bytes of the input buffer, wiping them. */
static void in_consume(Connection *c, size_t size) {
        if (size == 0)
                return;
        size_t rest = c->in_size - size;
        memmove(c->in, c->in + size, rest);
        sodium_memzero(c->in + rest, c->in_size - rest);
        c->in_size = rest;
        if (rest == 0 && c->in_alloc > IN_ALLOC_INITIAL)
                buffer_free(&c->in, &c->in_alloc);
}

/* What `in` starts with: > 0 a whole frame, < 0 one that cannot be cut
 * (also work: it is answered), 0 nothing or a partial frame. */
static int in_head(const Connection *c) {
        const uint8_t *body;
        size_t body_size;
        return frame_parse(c->in, c->in_size, &body, &body_size);
}

/* Whether the connection has work for a turn: a frame to answer, and
 * room to queue the answer. */
static bool connection_ready(const Connection *c) {
        return !c->closing && !c->deferred && out_pending(c) <= OUT_PENDING_MAX && in_head(c) != 0;
}

static int passed_fd_take(Connection *c) {
        int fd = c->passed_fd;
        c->passed_fd = -1;
        return fd;
}

/* Handle the whole frames at the start of the input buffer, up to the
 * per-turn (FRAMES_PER_TURN, TURN_BYTES) and output limits. Returns the
 * number handled. */
static int connection_process(Connection *c) {
        size_t off = 0, n_bytes = 0;
        unsigned n_frames = 0;

        while (!c->closing && !c->deferred && off < c->in_size && n_frames < FRAMES_PER_TURN &&
               out_pending(c) <= OUT_PENDING_MAX) {
                const uint8_t *body;
                size_t body_size;
                JsonOut out;

                int k = frame_parse(c->in + off, c->in_size - off, &body, &body_size);
                if (k == 0)
                        break;
                if (k > 0) {
                        /* A frame that would take the turn over its byte
                         * budget waits for the next turn, unless it is
                         * the first: then it is the whole turn. */
                        if (n_frames > 0 && n_bytes + body_size > TURN_BYTES)
                                break;
                        n_bytes += body_size;
                }
                reply_init(c, &out);
                if (k == -EMSGSIZE || k == -EBADMSG) {
                        if (k == -EMSGSIZE) {
                                /* The stream cannot be resynchronised:
                                 * answer, then close this connection and
                                 * only this one. */
                                c->closing = true;
                                off = c->in_size;
                        } else
                                off += FRAME_HEADER_SIZE;
                        /* A descriptor that came with a frame that is
                         * no request goes with it. */
                        int fd = passed_fd_take(c);
                        if (fd >= 0)
                                close(fd);
                        c->cfg.on_frame_error(c->cfg.userdata, &c->peer, k, &out);
                } else {
                        /* The body is ours until in_consume(); it is
                         * parsed in place. */
                        int d = c->cfg.on_frame(c->cfg.userdata, c, &c->peer, c->principal, (uint8_t *) body, body_size,
                                                passed_fd_take(c), &out);
                        off += (size_t) k;
                        if (d > 0) {
                                /* Nothing to send now, and nothing more
                                 * handled until it is sent. */
                                c->deferred = true;
                                n_frames++;
                                if (d == CONNECTION_REPLY_HELD) {
                                        int q = hold_reply(c, &out);
                                        if (q < 0) {
                                                in_consume(c, off);
                                                return q;
                                        }
                                }
                                break;
                        }
                }
                n_frames++;
                int q = send_reply(c, &out);
                if (q < 0)
                        return q;
        }
        in_consume(c, off);
        return (int) n_frames;
}

/* Keep the first descriptor of the message if none is held; close every
 * other (CMSG_SPACE() rounds up: the buffer has room for two). */
static void passed_fds_take(Connection *c, struct msghdr *mh) {
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
                        continue;
                size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (c->passed_fd < 0)
                                c->passed_fd = fd;
                        else
                                close(fd);
                }
        }
}

static int connection_read(Connection *c) {
        if (c->in_size == c->in_alloc) {
                size_t want = c->in_alloc ? c->in_alloc * 2 : IN_ALLOC_INITIAL;
                if (want > FRAME_SIZE_MAX)
                        want = FRAME_SIZE_MAX;
                if (want == c->in_alloc)
                        return 0; /* a whole frame is buffered; process first */
                int r = buffer_grow(&c->in, c->in_size, &c->in_alloc, want);
                if (r < 0)
                        return r;
        }
        for (;;) {
                /* Room for one descriptor's message: what a client may
                 * pass (backup's file). The kernel drops (closes) those
                 * that do not fit and says MSG_CTRUNC. */
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = c->in + c->in_size, .iov_len = c->in_alloc - c->in_size };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                ssize_t k = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (k >= 0)
                        passed_fds_take(c, &mh);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return negative_errno();
                }
                if (k == 0)
                        c->eof = true;
                else {
                        c->in_size += (size_t) k;
                        c->last_activity = now_usec(c);
                }
                return 0;
        }
}

static uint64_t connection_deadline(const Connection *c) {
        if (c->deferred && out_pending(c) == 0)
                return UINT64_MAX; /* the daemon is the one who is late */
        if (out_pending(c) > 0)
                return c->last_activity + c->cfg.io_timeout_usec;
        if (c->frame_started)
                return c->frame_started + c->cfg.io_timeout_usec;
        return c->last_activity + c->cfg.idle_timeout_usec;
}

/* Pull the timer in when the deadline comes earlier; a later deadline is
 * found when the timer fires, which saves a timer update per request. */
static void connection_arm(Connection *c) {
        uint64_t d = connection_deadline(c);
        if (d < c->timer_armed) {
                sd_event_source_set_time(c->timer_source, d);
                sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
                c->timer_armed = d;
        }
}

/* Work out which events to wait for; > 0 if the connection is finished.
 * idle_wakeup: the socket was reported readable while a whole frame
 * already waited. */
static int connection_update(Connection *c, bool ready, bool idle_wakeup) {
        uint32_t events = 0;

        /* A ready connection reads no more until its frames are handled:
         * what a busy client sends meanwhile waits in its socket buffer,
         * and it does not get more than its turns. Its EPOLLIN is dropped
         * lazily, once it reports the socket readable again (at most one
         * wakeup more, which reads nothing): a client that sends one
         * request and waits for the answer never does, and its source is
         * not taken out of epoll and put back (two epoll_ctl) for each
         * request. Not added back while ready, either. */
        /* Deferred, only a hang-up, which cancels it; held (its group
         * commits in a moment), nothing: a client that shut down its
         * writing side after its request still gets the reply. */
        if (c->deferred && !c->held)
                events |= EPOLLRDHUP;
        else if (!c->deferred && !c->eof && !c->closing && out_pending(c) <= OUT_PENDING_MAX &&
                 (!ready || ((c->io_events & EPOLLIN) && !idle_wakeup)))
                events |= EPOLLIN;
        if (out_pending(c) > 0)
                events |= EPOLLOUT;
        scheduler_set_ready(&c->turn, ready);

        if (events == 0 && !ready && !c->held)
                return 1; /* eof or closing, nothing left to send */
        if (events != c->io_events) {
                int q = events ? sd_event_source_set_io_events(c->io_source, events) : 0;
                if (q >= 0)
                        q = sd_event_source_set_enabled(c->io_source, events ? SD_EVENT_ON : SD_EVENT_OFF);
                /* If epoll refused, try again at the next step. */
                c->io_events = q >= 0 ? events : IO_EVENTS_UNKNOWN;
        }
        connection_arm(c);
        return 0;
}

/* Write what is queued, read, and handle frames if it is the
 * connection's turn (and only then: see the top of this file); then work
 * out what to wait for. */
static int connection_step(Connection *c, bool readable, bool writable, bool turn) {
        bool idle_wakeup = false;
        int r, n_frames = 0;

        if (writable) {
                r = connection_flush(c);
                if (r < 0)
                        return r;
        }
        /* Not while a whole frame waits (a hang-up is noticed once it
         * is handled). */
        if (readable && !c->closing) {
                if (in_head(c) != 0)
                        idle_wakeup = true;
                else {
                        r = connection_read(c);
                        if (r < 0)
                                return r;
                }
        }
        if (turn) {
                n_frames = connection_process(c);
                if (n_frames < 0)
                        return n_frames;
        }

        /* The io timeout runs from the first byte of a partial frame;
         * whole frames waiting for a turn are ours to be late with. */
        bool partial = c->in_size > 0 && in_head(c) == 0;
        if (!partial)
                c->frame_started = 0;
        else if (n_frames > 0 || c->frame_started == 0)
                c->frame_started = now_usec(c);
        if (c->eof && partial)
                c->closing = true; /* a partial frame that can never complete */
        return connection_update(c, connection_ready(c), idle_wakeup);
}

static void connection_finish(Connection *c, int r) {
        if (r < 0 && r != -ECONNRESET && r != -EPIPE)
                log_warning("closing connection of uid %u pid %d: %s", (unsigned) c->peer.uid, (int) c->peer.pid,
                            strerror(-r));
        c->cfg.on_closed(c->cfg.userdata, c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        (void) s, (void) fd;
        if (c->deferred && (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                /* The client hung up (or shut down its side) while its
                 * reply was being made: there is no one to send it to. */
                connection_finish(c, -ECONNRESET);
                return 0;
        }
        int r = connection_step(c, revents & (EPOLLIN | EPOLLHUP | EPOLLERR), revents & EPOLLOUT, false);
        if (r != 0)
                connection_finish(c, r);
        return 0;
}

/* The scheduler's call: the connection's turn. */
static void on_turn(void *userdata) {
        Connection *c = userdata;
        int r = connection_step(c, false, false, true);
        if (r != 0)
                connection_finish(c, r);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Connection *c = userdata;
        uint64_t d = connection_deadline(c);

        if (d == UINT64_MAX) {
                /* Deferred: no deadline until the reply is sent. */
                c->timer_armed = d;
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        if (usec >= d) {
                log_info("closing connection of uid %u pid %d: %s", (unsigned) c->peer.uid, (int) c->peer.pid,
                         out_pending(c) > 0 ? "replies not read in time"
                         : c->frame_started ? "request not completed in time"
                                            : "idle");
                c->cfg.on_closed(c->cfg.userdata, c);
                return 0;
        }
        c->timer_armed = d;
        sd_event_source_set_time(s, d);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int connection_new(const ConnectionConfig *cfg, int fd, Peer *peer, uint64_t principal, Connection **ret) {
        Connection *c;
        int r;

        c = calloc(1, sizeof(Connection));
        if (!c) {
                close(fd);
                peer_done(peer);
                return -ENOMEM;
        }
        c->cfg = *cfg;
        c->fd = fd;
        c->passed_fd = -1;
        /* Move, not copy: the unit string is ours now, and the caller's
         * peer_done() must not free it. */
        c->peer = *peer;
        *peer = (Peer) {};
        c->principal = principal;

        c->last_activity = now_usec(c);
        c->timer_armed = connection_deadline(c);
        r = sd_event_add_io(cfg->event, &c->io_source, fd, EPOLLIN, on_io, c);
        if (r < 0)
                goto fail;
        c->io_events = EPOLLIN;
        r = sd_event_add_time(cfg->event, &c->timer_source, CLOCK_MONOTONIC, c->timer_armed, USEC_PER_SEC / 10,
                              on_timer, c);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
        r = scheduler_attach(cfg->scheduler, &c->turn, principal, on_turn, c);
        if (r < 0)
                goto fail;

        *ret = c;
        return 0;
fail:
        connection_free(c);
        return r;
}

int connection_set_principal(Connection *c, uint64_t principal) {
        c->principal = principal;
        return scheduler_move(&c->turn, principal);
}

void connection_free(Connection *c) {
        if (!c)
                return;
        /* Out of the scheduler's rings before anything else goes: a
         * connection freed while it waits for a turn must not get one. */
        scheduler_detach(&c->turn);
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        if (c->fd >= 0)
                close(c->fd);
        if (c->passed_fd >= 0)
                close(c->passed_fd);
        buffer_free(&c->in, &c->in_alloc);
        buffer_free(&c->out, &c->out_alloc);
        held_free(c);
        peer_done(&c->peer);
        free(c);
}

void connection_reply_deferred(Connection *c, const JsonOut *out) {
        c->deferred = false;
        c->last_activity = now_usec(c);
        int r = send_reply(c, out);
        /* Frames may wait (sent while the reply was made): they are
         * handled in the connection's next turns. */
        if (r >= 0)
                r = connection_step(c, false, false, false);
        if (r != 0)
                connection_finish(c, r);
}

void connection_release(Connection *c, const JsonOut *replacement) {
        int r;

        c->deferred = false;
        c->last_activity = now_usec(c);
        if (replacement) {
                uint8_t head[FRAME_HEADER_SIZE];
                frame_header_write(head, (uint32_t) replacement->size);
                r = send_bytes(c, head, sizeof(head));
                if (r >= 0)
                        r = send_bytes(c, (const uint8_t *) replacement->buf, replacement->size);
        } else
                r = c->held ? send_bytes(c, c->held, c->held_size) : 0;
        held_free(c);
        /* As connection_reply_deferred(): frames that came meanwhile are
         * handled in the next turns. */
        if (r >= 0)
                r = connection_step(c, false, false, false);
        if (r != 0)
                connection_finish(c, r);
}
