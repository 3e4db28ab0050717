/* listen.h — the daemon's listening sockets: passed by systemd (socket
 * activation), or bound by the daemon itself.
 *
 * Owns: telling the passed sockets apart by their FileDescriptorName=
 * (sd_listen_fds_with_names()): LISTEN_NAME_CREDENTIALS is the
 * LoadCredential= socket (credvault-credentials.socket), any other name
 * (credvault.socket's is its unit name) the protocol's; checking each is
 * a listening Unix stream socket; binding a path without taking it from a
 * live daemon. Never: accepts, or knows what is spoken on a socket. */
#pragma once

/* FileDescriptorName= of the credential socket's unit. */
#define LISTEN_NAME_CREDENTIALS "credentials"

/* The sockets systemd passed, made non-blocking and close-on-exec: the
 * protocol's in *ret_main_fd and the credential socket in
 * *ret_credential_fd, -1 each if not passed. Returns how many were passed
 * (0: not socket-activated), or -EINVAL (logged) if one is not a
 * listening Unix stream socket, two have the same role, or only the
 * credential socket was passed. */
int listen_fds_activated(int *ret_main_fd, int *ret_credential_fd);

/* Bind and listen on path with mode. A socket file left by a dead daemon
 * is replaced; one a live daemon answers on is not (-EADDRINUSE); a file
 * that is not a socket neither (-EEXIST). */
int listen_on_path(const char *path, unsigned mode, int *ret_fd);
