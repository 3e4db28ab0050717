/* harness.h — start the real credvaultd for a test, and stop it.
 *
 * Owns: a temporary directory per daemon (state dir, socket, root key
 * file), spawning credvaultd from the build tree (path in $CREDVAULTD, set
 * by meson), waiting for its sd_notify READY=1 on a private NOTIFY_SOCKET,
 * and stopping it with SIGTERM or SIGKILL. Every end-to-end test, C or
 * shell (through cv-harness), starts the daemon through this file.
 *
 * Environment: CREDVAULTD_WRAPPER, words to run the daemon under (e.g.
 * "valgrind --error-exitcode=99 ..."); a daemon under a wrapper that exits
 * HARNESS_WRAPPER_ERROR_EXIT fails the test process even where the test
 * does not check the exit status. CV_TEST_TIME_SCALE, a factor for the
 * harness's timeouts and for tests that scale their work
 * (harness_time_scale()).
 *
 * Tests of the policy also run clients as other users: the test users
 * (harness_test_users_ensure()), a connection made as one of them
 * (harness_connect_as()), a policy file the daemon accepts (root's, mode
 * 0644, in a directory only root may write) and a socket they may reach. */
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
        /* RLIMIT_NOFILE for the daemon (soft, hard); 0: inherited. */
        unsigned long nofile_soft, nofile_hard;
        /* stderr is a pipe that nobody reads (log_file stays empty): the
         * read end is stderr_reader, open until harness_cleanup(). */
        bool stderr_stalled;
        int stderr_reader;
        /* RLIMIT_FSIZE for the daemon, with SIGXFSZ ignored, so that a
         * write past it fails with EFBIG (as on a full disk); 0: inherited. */
        unsigned long fsize_limit;
        /* The exit status of a daemon that exited before it was ready
         * (harness_start() then fails with -ECHILD), else -1. */
        int exit_status;
        /* Policy text: harness_start() writes it to policy_file (see
         * harness_policy_write()) and starts the daemon with --policy
         * policy_file, as harness_restart() does; NULL: no --policy. */
        const char *policy;
        char policy_file[108];
        /* Open the socket to every user once the daemon is ready: the
         * directory made 0711 and the socket 0666 (the daemon makes it
         * 0660, for its own group: here root's), so that the test users
         * connect and the policy alone decides. */
        bool socket_open;
        /* Start with --dev (the development key in the state directory)
         * instead of --root-key-file key_file. */
        bool dev;
} Harness;

/* The exit status of a wrapper that found errors. */
#define HARNESS_WRAPPER_ERROR_EXIT 99

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
/* True when the daemon runs under CREDVAULTD_WRAPPER. */
bool harness_wrapped(void);
/* CV_TEST_TIME_SCALE (1 to 100, default 1): how much slower than usual the
 * daemon runs here. Tests divide their work or multiply their deadlines. */
int harness_time_scale(void);

/* What the daemon process costs, from /proc: CPU time (user + system) in
 * milliseconds, and resident memory (VmRSS) in KiB. */
int harness_daemon_cpu_ms(const Harness *h, long *ret);
int harness_daemon_rss_kib(const Harness *h, long *ret);

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
/* One request on fd: send request as one frame, receive the reply. */
int harness_call(int fd, const char *request, int timeout_ms, char **ret_reply);

/* ---- other users ---- */

/* The test users and their group: cvtest-c is a member of cvtest-g. */
#define HARNESS_USER_A "cvtest-a"
#define HARNESS_USER_B "cvtest-b"
#define HARNESS_USER_C "cvtest-c"
#define HARNESS_GROUP_G "cvtest-g"

/* Create the system users HARNESS_USER_A/_B/_C (each with a group of its
 * own name, no home, no shell) and the group HARNESS_GROUP_G, and make
 * HARNESS_USER_C a member of it, whichever of them are missing (useradd,
 * groupadd, usermod; serialised between test processes by a lock file).
 * Returns 0, or negative errno with a reason in reason: -EPERM (not
 * root), -ENOENT (no useradd), or the tool's failure. A test that needs
 * them exits 77 (skipped) on failure, saying why. */
int harness_test_users_ensure(char *reason, size_t reason_size);
/* uid and primary gid of a user; -ENOENT if there is none. */
int harness_user_lookup(const char *name, uid_t *ret_uid, gid_t *ret_gid);
/* gid of a group; -ENOENT if there is none. */
int harness_group_lookup(const char *name, gid_t *ret_gid);

/* Connect to h's socket as uid/gid: a child process takes the user's
 * supplementary groups (the system's list for a uid that has a name,
 * none otherwise), then gid, then uid, connects, and hands the connected
 * socket back over a socketpair (SCM_RIGHTS), so the daemon sees that
 * uid, gid and those groups in SO_PEERCRED/SO_PEERGROUPS. Needs root and
 * h->socket_open. Returns the fd, or negative errno (the child's
 * connect() error, e.g. -EACCES). */
int harness_connect_as(const Harness *h, uid_t uid, gid_t gid);

/* Write text as h's policy file (h->policy_file, in h->dir) the way the
 * daemon accepts it: owned by the caller (root), mode 0644, replaced
 * atomically (a rename), so a reload never sees half a file. h->dir must
 * exist (after harness_start()). */
int harness_policy_write(Harness *h, const char *text);
/* SIGHUP: the daemon reloads its policy. */
int harness_reload(const Harness *h);
