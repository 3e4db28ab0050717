/* server.h — the listening socket, the event loop and the set of clients.
 *
 * Owns: socket activation (sd_listen_fds) or binding our own socket,
 * accepting under a connection cap, reading each client's identity once at
 * accept, exit on idle, SIGTERM/SIGINT, and sd_notify. Each accepted socket
 * becomes a Connection (connection.h), wired to dispatch through callbacks;
 * the server keeps the list and frees each connection when it reports
 * itself closed.
 *
 * Never: writes a reply's content, not even a refusal (dispatch does), or
 * touches a connection's buffers and deadlines (the connection's). */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "connection.h"
#include "dispatch.h"

/* What the server is told by its owner (main.c, from the command line). */
typedef struct ServerConfig {
        const char *socket_path; /* bound when not socket-activated */
        int idle_exit_sec;       /* -1: default (300 when socket-activated, else never) */
        int max_connections;
        int max_connections_per_uid;
        int client_idle_sec; /* close a client connection idle this long */
        int io_timeout_sec;  /* a started frame must arrive, a reply drain, this fast */
} ServerConfig;

typedef struct Server {
        sd_event *event;
        ServerConfig config;
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
        /* Handed to every new connection: the loop, the scratch buffer,
         * the timeouts and the callbacks into dispatch. */
        ConnectionConfig connection_config;
} Server;

/* Set up the listener (socket activation or config->socket_path, which
 * must outlive the server) on the default event loop. -EADDRINUSE if
 * another daemon serves the path. */
int server_new(const ServerConfig *config, Vault *vault, Server **ret);
/* Run until SIGTERM, SIGINT or idle exit. */
int server_run(Server *s);
void server_free(Server *s);
