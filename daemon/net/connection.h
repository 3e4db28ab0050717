/* connection.h — one client connection.
 *
 * Owns: that client's input and output buffers, its deadlines and its
 * peer identity. Reads bytes, cuts frames, hands each frame to the owner's
 * on_frame callback, frames and queues the reply. A slow or hostile client
 * only ever costs its own buffers: reads are bounded per wakeup, replies are
 * bounded per connection, and every partial frame or unread reply has a
 * deadline. A busy client does not cost others their turn either: frames
 * are handled only when the scheduler (scheduler.h) gives the connection's
 * principal its turn, two small ones or one large one a turn, and a
 * connection reads nothing more while it has a whole frame waiting, so a
 * flood waits in its own socket.
 *
 * Never: knows who owns it (everything it needs comes in a ConnectionConfig
 * at creation), reads the peer's credentials (the owner read them at
 * accept), writes a reply's content (the callbacks do; the connection only
 * frames it), or frees itself (on_closed hands it back to the owner). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "json-out.h"
#include "peer.h"
#include "scheduler.h"

typedef struct Connection Connection;

#define CONNECTION_REPLY_DEFERRED 1
#define CONNECTION_REPLY_HELD 2

typedef struct ConnectionConfig {
        sd_event *event;
        /* FRAME_SIZE_MAX bytes, shared by every connection of one event
         * loop: replies are serialised here and wiped once sent or queued. */
        uint8_t *scratch;
        /* Takes turns among the connections of one event loop, by
         * principal; shared like scratch. */
        Scheduler *scheduler;
        uint64_t io_timeout_usec;   /* a started frame must arrive, a reply drain, this fast */
        uint64_t idle_timeout_usec; /* close a connection idle this long */

        /* A whole frame. body is the connection's until the callback
         * returns and may be parsed in place. principal is the
         * connection's (below). fd is the descriptor the client passed
         * (SCM_RIGHTS) since the last frame, or -1: the callback takes
         * it. out is set up over the scratch buffer; the callback leaves
         * it finished (json_out_finish() done, and out->size within the
         * frame) and returns 0, or returns CONNECTION_REPLY_DEFERRED when
         * the reply comes later (connection_reply_deferred()), or
         * CONNECTION_REPLY_HELD when out is the reply but is to be kept
         * until connection_release(): the connection then handles no
         * further frame until it has sent it. */
        int (*on_frame)(void *userdata, Connection *c, const Peer *peer, uint64_t principal, uint8_t *body, size_t size,
                        int fd, JsonOut *out);
        /* A frame that could not be cut: error is frame_parse()'s -EMSGSIZE
         * or -EBADMSG. out as for on_frame. */
        void (*on_frame_error)(void *userdata, const Peer *peer, int error, JsonOut *out);
        /* The connection is finished (closed by either side, timed out or
         * failed): the owner unlinks and connection_free()s it. Called at
         * most once, from the connection's own event sources; the
         * connection does not touch c after it. */
        void (*on_closed)(void *userdata, Connection *c);
        void *userdata;
} ConnectionConfig;

struct Connection {
        ConnectionConfig cfg; /* a copy: the caller's may go away */
        /* Links of the owner's list; the connection never touches them. */
        Connection *prev, *next;
        int fd;
        Peer peer;
        /* The owner's key for the peer: its turns are its principal's
         * (the scheduler's key), and each frame is handed over with it. */
        uint64_t principal;
        SchedulerEntry turn;
        sd_event_source *io_source, *timer_source;
        uint32_t io_events; /* what io_source waits for; 0: off */

        uint8_t *in; /* received, not yet dispatched */
        size_t in_size, in_alloc;
        uint8_t *out; /* replies not yet written */
        size_t out_size, out_sent, out_alloc;

        uint64_t last_activity; /* CLOCK_MONOTONIC usec of the last read or write */
        uint64_t frame_started; /* when the first byte of a partial frame came; 0 if none */
        uint64_t timer_armed;   /* the time the timer is set to */
        bool eof;               /* the client shut down its writing side */
        bool closing;           /* answer what is queued, then close */
        /* A request's reply is deferred: no frame is handled, no timeout
         * runs, and a hang-up closes the connection (cancelling it). */
        bool deferred;
        /* Deferred with its reply made, framed, held until released
         * (a write waiting for its group's commit); NULL if none. */
        uint8_t *held;
        size_t held_size;
        /* A descriptor the client passed (SCM_RIGHTS), for its next
         * frame; -1 if none. Never more than one is held. */
        int passed_fd;
};

/* Take over an accepted socket and its peer, read by the caller, whose
 * turns are taken as principal's. fd and *peer are taken on every path,
 * failure included: the socket is closed and *peer is left empty
 * (peer_done() on it is harmless). */
int connection_new(const ConnectionConfig *cfg, int fd, Peer *peer, uint64_t principal, Connection **ret);
/* The peer counts as another principal from now on (a policy reload):
 * its next frames are handed over with it, and its turns move to it.
 * -ENOMEM: the frames are, but the turns stay with the old principal's. */
int connection_set_principal(Connection *c, uint64_t principal);
void connection_free(Connection *c);
/* Send the reply of the connection's deferred request: out is set up over
 * the scratch buffer (FRAME_HEADER_SIZE bytes in) and finished. The
 * connection handles frames again; if it fails, it is finished (on_closed)
 * before this returns. */
void connection_reply_deferred(Connection *c, const JsonOut *out);
/* Send the held reply (CONNECTION_REPLY_HELD), or replacement instead
 * (finished, in any buffer) when it is not NULL; then as
 * connection_reply_deferred(). */
void connection_release(Connection *c, const JsonOut *replacement);
