/* server.h — the listening socket, the event loop and the set of clients
 * (server.c; accepting in server-accept.c, the background work's sources in
 * server-background.c).
 *
 * Owns: socket activation or binding our own sockets (listen.h),
 * accepting under a connection cap (on the credential socket too: each
 * request decided by daemon/ops/credential.c, its value written by a
 * CredentialConn), reading each client's identity once at
 * accept (and the principal it counts as, again after SIGHUP reloads the
 * policy), the scheduler that gives principals their turns (scheduler.h),
 * the audit flush timer, the KEK rewrap's background batches, exit on idle, SIGTERM/SIGINT, and sd_notify; the
 * file descriptor budget (a connection cap the descriptor limit can serve)
 * and backing off when accept() runs out of descriptors anyway. Each
 * accepted socket becomes a Connection (connection.h), wired to dispatch
 * through callbacks; the server keeps the list and frees each connection
 * when it reports itself closed.
 *
 * Never: writes a reply's content, not even a refusal (dispatch does), or
 * touches a connection's buffers and deadlines (the connection's). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "backoff.h"
#include "connection.h"
#include "credential-conn.h"
#include "dispatch.h"

/* Descriptors the daemon needs besides one per connection: stdio, the
 * database with its WAL and shared memory, the listeners (the protocol's
 * and the credential socket), the event loop's
 * epoll, signal and timer descriptors, the journal, what reading a peer's
 * identity opens for a moment (pidfd, /proc files), the connection refused
 * at the cap, and room for SQLite's temporary files. */
#define SERVER_FDS_RESERVED 32
/* Each connection holds its socket and, from the frame that brought it
 * until its request is done, the one descriptor a client may pass
 * (backup's file: connection.c keeps the first and closes the rest). */
#define SERVER_FDS_PER_CONNECTION 2
#define SERVER_FDS_NEEDED(max_connections)                                                                             \
        (SERVER_FDS_PER_CONNECTION * (uint64_t) (max_connections) + SERVER_FDS_RESERVED)

/* What the server is told by its owner (main.c, from the command line). */
typedef struct ServerConfig {
        const char *socket_path; /* bound when not socket-activated */
        unsigned socket_mode;    /* and given this mode (0660 by default) */
        /* The LoadCredential= socket, bound (mode 0600) when systemd
         * passes none; NULL: none. */
        const char *credential_socket_path;
        const char *policy_path; /* NULL: none, admins only (dispatch_policy_init()) */
        int idle_exit_sec;       /* -1: default (300 when socket-activated, else never) */
        int max_connections;
        int max_connections_per_uid;
        int client_idle_sec; /* close a client connection idle this long */
        int io_timeout_sec;  /* a started frame must arrive, a reply drain, this fast */
        /* The root key is the development key at this path; else NULL. */
        const char *dev_key_path;
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
        /* The KEK rewrap's batches (key_rewrap_tick()): a defer source at
         * idle priority, so a batch runs only when no request waits, and
         * on only while a rewrap runs. */
        sd_event_source *rewrap_source;
        sd_event_source *rewrap_timer; /* its minimum share under load */
        uint64_t rewrap_last_usec;     /* the last batch (monotonic) */
        bool rewrap_on;
        /* The sweep of expired previous secret versions
         * (secret_sweep_tick()): a CLOCK_REALTIME timer at the next
         * deadline, or SWEEP_INTERVAL_USEC from now if that is sooner. */
        sd_event_source *sweep_source;
        uint64_t sweep_at; /* realtime usec it is armed for */
        /* After a failed sweep, none before sweep_retry_at (realtime
         * usec; 0: no failure), however overdue a deadline is. */
        Backoff sweep_backoff;
        uint64_t sweep_retry_at;
        /* Steps of a deferred request's work (backup), at idle priority. */
        sd_event_source *deferred_source;
        sd_event_source *deferred_timer; /* its minimum share under load */
        uint64_t deferred_last_usec;     /* the last step (monotonic) */
        bool deferred_on;
        /* The open write group's commit (dispatch_group_end()): a defer
         * source below the turns' priority (GROUP_PRIORITY), on while a
         * group is open. */
        sd_event_source *group_source;
        sd_event_source *group_timer; /* and the bound on its wait (DISPATCH_GROUP_WAIT_USEC) */
        /* accept() ran out of descriptors (or memory): the listener is off
         * until a connection closes or this timer fires. */
        sd_event_source *accept_retry_source;
        bool accept_paused;
        uint64_t accept_warned_usec; /* when the last such warning was logged */
        unsigned n_accept_pauses;    /* pauses since that warning */
        Connection *connections;     /* doubly linked list */
        /* The credential socket (credential-conn.h), -1 if none, and its
         * connections still writing a value; they count in
         * n_connections. */
        int credential_fd;
        bool owns_credential_path;
        sd_event_source *credential_source;
        CredentialConn *credential_conns;
        unsigned n_connections;
        /* Turns among the connections with frames to handle, by
         * principal. */
        Scheduler *scheduler;
        /* Replies are serialised here, then written or queued; one buffer
         * serves every connection since the daemon is single-threaded. */
        uint8_t *scratch;
        /* Handed to every new connection: the loop, the scratch buffer,
         * the timeouts and the callbacks into dispatch. */
        ConnectionConfig connection_config;
} Server;

/* Raise the soft RLIMIT_NOFILE to the hard limit (the daemon never calls
 * select(), so high descriptors are harmless) and check that
 * max_connections connections fit, each with a descriptor passed, with
 * SERVER_FDS_RESERVED more (SERVER_FDS_NEEDED()). *ret_limit
 * is the soft limit afterwards; -EMFILE if max_connections do not fit it. */
int server_fds_reserve(unsigned max_connections, uint64_t *ret_limit);

/* Load the policy (config->policy_path), set up the listener (socket
 * activation or config->socket_path; both paths must outlive the server)
 * on the default event loop. -EADDRINUSE if another daemon serves the
 * path; dispatch_policy_init()'s error if the policy does not load. */
int server_new(const ServerConfig *config, Vault *vault, Server **ret);
/* Run until SIGTERM, SIGINT or idle exit; SIGHUP reloads the policy. */
int server_run(Server *s);
void server_free(Server *s);
