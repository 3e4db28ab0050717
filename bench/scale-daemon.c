/* scale-daemon.c — cv-scale's credvaultd: started, stopped, socket-activated,
 * and what it holds in memory and on disk (see scale.h).
 *
 * Owns: the temp dir and its root key (bench-vault.c's helpers); the
 * daemon on DIR/cv.sock with room for the fill's connections; the
 * socket-activated starts on DIR/act.sock under systemd-socket-activate,
 * timed over a raw socket so that nothing but the connect and one health
 * frame is measured; VmRSS/VmHWM and the database's size.
 *
 * Never: stops a process it did not start, or touches anything outside
 * its directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-vault.h"
#include "scale.h"

/* × 100 ms: a daemon that finds an unclean file checks it first. */
#define STARTUP_TRIES 600
/* Calls may wait for a whole fill's queue, or a slow page before issue 9. */
#define CLIENT_TIMEOUT_MS 120000
/* The fill's connections or the writers', the main one, the CLI's and a
 * margin. */
#define MAX_CONNECTIONS ((SCALE_LOAD_CONNECTIONS > SCALE_WRITERS_MAX ? SCALE_LOAD_CONNECTIONS : SCALE_WRITERS_MAX) + 16)
#define ACTIVATION_CONNECT_TRIES 5000 /* × 1 ms */
#define FRAME_HEADER 4
#define REPLY_MAX 4096
#define HEALTH_REQUEST "{\"v\":1,\"id\":1,\"op\":\"health\"}"

extern char **environ;

int scale_dir_make(Scale *s) {
        char dir[sizeof(s->dir)] = "/tmp/cv-scale.XXXXXX";

        if (!mkdtemp(dir)) {
                fprintf(stderr, "scale: mkdtemp: %s\n", strerror(errno));
                return -errno;
        }
        /* Only now, so that the clean-up removes only what was made. */
        memcpy(s->dir, dir, sizeof(dir));
        snprintf(s->keyfile, sizeof(s->keyfile), "%s/root.key", dir);
        snprintf(s->statedir, sizeof(s->statedir), "%s/state", dir);
        snprintf(s->sock, sizeof(s->sock), "%s/cv.sock", dir);
        snprintf(s->act_sock, sizeof(s->act_sock), "%s/act.sock", dir);
        snprintf(s->log, sizeof(s->log), "%s/daemon.log", dir);
        int r = bench_key_write(s->keyfile);
        if (r < 0)
                fprintf(stderr, "scale: cannot write the root key: %s\n", strerror(-r));
        return r;
}

/* argv (NULL-terminated) with stdout and stderr appended to the log. */
static int spawn_logged(Scale *s, const char *const *argv, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        int r = posix_spawnp(ret_pid, argv[0], &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "scale: cannot start %s: %s\n", argv[0], strerror(r));
                return -r;
        }
        return 0;
}

/* SIGTERM, then wait: a clean stop, so the next start has nothing to check. */
static int stop_pid(pid_t pid, const char *what) {
        int status = 0;

        kill(pid, SIGTERM);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "scale: %s did not stop cleanly (status 0x%x)\n", what, (unsigned) status);
                return -EIO;
        }
        return 0;
}

int scale_daemon_start(Scale *s) {
        char caps[16];

        snprintf(caps, sizeof(caps), "%d", MAX_CONNECTIONS);
        const char *argv[] = { s->cfg->daemon, "--root-key-file",
                               s->keyfile,     "--state-dir",
                               s->statedir,    "--socket",
                               s->sock,        "--max-connections",
                               caps,           "--max-connections-per-uid",
                               caps,           NULL };
        int r = spawn_logged(s, argv, &s->pid);
        if (r < 0) {
                s->pid = -1;
                return r;
        }
        r = -ECONNREFUSED;
        for (int i = 0; i < STARTUP_TRIES && r < 0; i++) {
                if (waitpid(s->pid, NULL, WNOHANG) != 0) {
                        s->pid = -1;
                        break;
                }
                r = cv_client_new(s->sock, CLIENT_TIMEOUT_MS, &s->client);
                if (r < 0)
                        usleep(100 * 1000);
        }
        if (r < 0)
                fprintf(stderr, "scale: the daemon did not start (log: %s)\n", s->log);
        return r;
}

int scale_daemon_stop(Scale *s) {
        cv_client_free(s->client);
        s->client = NULL;
        if (s->pid <= 0)
                return 0;
        int r = stop_pid(s->pid, "credvaultd");
        s->pid = -1;
        return r;
}

static int write_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;
        while (n > 0) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                b += k, n -= (size_t) k;
        }
        return 0;
}

static int read_all(int fd, void *p, size_t n) {
        uint8_t *b = p;
        while (n > 0) {
                ssize_t k = recv(fd, b, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                b += k, n -= (size_t) k;
        }
        return 0;
}

/* One health request on fd, its reply read whole; -EPROTO unless ok. */
static int health_raw(int fd) {
        uint8_t frame[FRAME_HEADER + sizeof(HEALTH_REQUEST) - 1], hdr[FRAME_HEADER];
        char reply[REPLY_MAX + 1];
        uint32_t n = sizeof(HEALTH_REQUEST) - 1;

        frame[0] = (uint8_t) (n >> 24), frame[1] = (uint8_t) (n >> 16), frame[2] = (uint8_t) (n >> 8);
        frame[3] = (uint8_t) n;
        memcpy(frame + FRAME_HEADER, HEALTH_REQUEST, n);
        int r = write_all(fd, frame, sizeof(frame));
        if (r >= 0)
                r = read_all(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        n = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16 | (uint32_t) hdr[2] << 8 | hdr[3];
        if (n > REPLY_MAX)
                return -EPROTO;
        r = read_all(fd, reply, n);
        if (r < 0)
                return r;
        reply[n] = '\0';
        return strstr(reply, "\"ok\":true") ? 0 : -EPROTO;
}

/* A connection to the activation socket once systemd-socket-activate
 * listens on it; *ret_t0 gets the time the successful connect began. */
static int activation_connect(Scale *s, pid_t pid, uint64_t *ret_t0) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        size_t len = strlen(s->act_sock);
        if (len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, s->act_sock, len + 1);
        for (int i = 0; i < ACTIVATION_CONNECT_TRIES; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                uint64_t t0 = scale_now_ns();
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                        *ret_t0 = t0;
                        return fd;
                }
                close(fd);
                if (waitpid(pid, NULL, WNOHANG) != 0)
                        return -ECHILD;
                usleep(1000);
        }
        return -ETIMEDOUT;
}

static int activation_once(Scale *s, uint64_t *ret_ns) {
        const char *argv[] = { "systemd-socket-activate",
                               "-l",
                               s->act_sock,
                               s->cfg->daemon,
                               "--root-key-file",
                               s->keyfile,
                               "--state-dir",
                               s->statedir,
                               NULL };
        pid_t pid;
        uint64_t t0 = 0;

        unlink(s->act_sock); /* the last run's: systemd-socket-activate leaves it */
        int r = spawn_logged(s, argv, &pid);
        if (r < 0)
                return r;
        int fd = activation_connect(s, pid, &t0);
        if (fd < 0) {
                r = fd;
                fprintf(stderr, "scale: cannot connect to %s: %s\n", s->act_sock, strerror(-r));
        } else {
                r = health_raw(fd);
                *ret_ns = scale_now_ns() - t0;
                close(fd);
                if (r < 0)
                        fprintf(stderr, "scale: the socket-activated health failed: %s (log: %s)\n", strerror(-r),
                                s->log);
        }
        if (r == -ECHILD) {
                waitpid(pid, NULL, 0);
                return r;
        }
        int k = stop_pid(pid, "socket-activated credvaultd");
        return r < 0 ? r : k;
}

int scale_activations(Scale *s, ScaleRow *row) {
        unsigned n = s->cfg->activations;
        uint64_t *ns = calloc(n ?: 1, sizeof(uint64_t));
        ScaleLat lat;

        if (!ns)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                int r = activation_once(s, &ns[i]);
                if (r < 0) {
                        free(ns);
                        return r;
                }
        }
        scale_lat_from(ns, n, NAN, &lat);
        free(ns);
        row->act_p50 = lat.p50;
        row->act_max = lat.max;
        return 0;
}

static double status_kb(pid_t pid, const char *key) {
        char path[64], line[256];
        size_t len = strlen(key);
        double kb = NAN;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return NAN;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, len) == 0 && line[len] == ':') {
                        kb = strtod(line + len + 1, NULL);
                        break;
                }
        fclose(f);
        return kb;
}

static double file_bytes(const char *dir, const char *name) {
        char path[PATH_MAX + 32];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return stat(path, &st) == 0 ? (double) st.st_size : 0;
}

void scale_daemon_usage(Scale *s, ScaleRow *row) {
        row->rss_kb = status_kb(s->pid, "VmRSS");
        row->hwm_kb = status_kb(s->pid, "VmHWM");
        row->db_bytes = file_bytes(s->statedir, "credvault.db");
        row->wal_bytes = file_bytes(s->statedir, "credvault.db-wal");
}
