/* server.h — the listening socket, the event loop and the set of clients.
 *
 * Owns: socket activation (sd_listen_fds) or binding our own socket,
 * accepting under a connection cap, exit on idle, SIGTERM/SIGINT, and
 * sd_notify. Each accepted socket becomes a Connection (connection.h). */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "dispatch.h"
#include "options.h"

typedef struct Connection Connection;

typedef struct Server {
        sd_event *event;
        const Options *options;
        Context ctx;
        int listen_fd;
        bool socket_activated;
        bool owns_socket_path; /* we bound it, we unlink it at exit */
        sd_event_source *listen_source;
        sd_event_source *idle_source;
        sd_event_source *audit_source;
        Connection *connections; /* doubly linked list */
        unsigned n_connections;
        /* Replies are serialised here, then written or queued; one buffer
         * serves every connection since the daemon is single-threaded. */
        uint8_t *scratch;
} Server;

/* Set up the listener (socket activation or options->socket_path) on the
 * default event loop. -EADDRINUSE if another daemon serves the path. */
int server_new(const Options *options, Vault *vault, Server **ret);
/* Run until SIGTERM, SIGINT or idle exit. */
int server_run(Server *s);
void server_free(Server *s);

/* Called by connections as they come and go. */
void server_connection_closed(Server *s, Connection *c);
