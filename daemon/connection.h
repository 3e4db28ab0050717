/* connection.h — one client connection.
 *
 * Owns: that client's input and output buffers, its deadlines and its
 * peer identity. Reads bytes, cuts frames, hands each frame to dispatch,
 * queues the reply. A slow or hostile client only ever costs its own
 * buffers: reads are bounded per wakeup, replies are bounded per
 * connection, and every partial frame or unread reply has a deadline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "peer.h"

typedef struct Server Server;

typedef struct Connection {
        Server *server;
        struct Connection *prev, *next;
        int fd;
        Peer peer;
        sd_event_source *io_source, *timer_source, *defer_source;

        uint8_t *in; /* received, not yet dispatched */
        size_t in_size, in_alloc;
        uint8_t *out; /* replies not yet written */
        size_t out_size, out_sent, out_alloc;

        uint64_t last_activity; /* CLOCK_MONOTONIC usec of the last read or write */
        uint64_t frame_started; /* when the first byte of a partial frame came; 0 if none */
        uint64_t timer_armed;   /* the time the timer is set to */
        bool eof;               /* the client shut down its writing side */
        bool closing;           /* answer what is queued, then close */
} Connection;

/* Take over an accepted socket. */
int connection_new(Server *s, int fd, Connection **ret);
void connection_free(Connection *c);
