/* harness.h — start the real credvaultd for a test, and stop it.
 *
 * Owns: a temporary directory per daemon (state dir, socket, root key
 * file), spawning credvaultd from the build tree (path in $CREDVAULTD, set
 * by meson), waiting for its sd_notify READY=1 on a private NOTIFY_SOCKET,
 * and stopping it with SIGTERM or SIGKILL. Every end-to-end test, C or
 * shell (through cv-harness), starts the daemon through this file. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct Harness {
        char dir[80]; /* temporary root, removed by harness_cleanup() */
        char socket_path[108];
        char state_dir[108];
        char key_file[108];
        char log_file[108];        /* the daemon's stderr */
        pid_t pid;                 /* 0 when not running */
        bool socket_activate;      /* start under systemd-socket-activate */
        const char *extra_args[8]; /* more credvaultd arguments, NULL-terminated */
} Harness;

/* Create the directory and a root key, then start the daemon. Options are
 * read from h (socket_activate, extra_args); zero-initialise it first.
 * Returns 0 once the daemon is ready, negative errno otherwise. */
int harness_start(Harness *h);
/* Start again on the same state directory and socket (after stop/kill). */
int harness_restart(Harness *h);
/* SIGTERM and wait. Returns the daemon's exit status (0..255), or -errno. */
int harness_stop(Harness *h);
/* SIGKILL and wait: a crash. */
int harness_kill(Harness *h);
/* Stop if running and remove the directory. */
void harness_cleanup(Harness *h);

/* Run credvaultd with these arguments (NULL-terminated) in the foreground
 * and return its exit status: for tests of start-up refusals. The daemon
 * is killed if it is still running after timeout_ms (then returns -ETIME). */
int harness_run_daemon(const char *const *argv, int timeout_ms);

/* Path of the credvaultd binary under test. */
const char *harness_daemon_path(void);

/* Raw protocol access for tests that must send what the library never
 * would. All return negative errno on failure. */
int harness_connect_raw(const Harness *h);
/* Send bytes as they are. */
int harness_send_raw(int fd, const void *data, size_t size);
/* Send body as one frame. */
int harness_send_frame(int fd, const char *body, size_t size);
/* Receive one frame into a malloc'd NUL-terminated body; -ECONNRESET on
 * EOF, -ETIMEDOUT after timeout_ms. */
int harness_recv_frame(int fd, int timeout_ms, char **ret_body);
/* True if the peer has closed the connection (EOF within timeout_ms). */
bool harness_wait_closed(int fd, int timeout_ms);
/* Read a whole file (malloc'd); -errno. */
int harness_read_file(const char *path, char **ret, size_t *ret_size);
