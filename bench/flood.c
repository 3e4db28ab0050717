/* flood.c — one principal's flood against another principal's latency.
 *
 * Owns: the fair-share bench (issue 8). Starts credvaultd on a throw-away
 * vault (temp dir, generated root key, its own socket, and a policy file
 * granting read on the plugin "bench" to two test users with rate limits
 * far above what the daemon can serve), stores the bench secret as root,
 * then measures cv_secret_get() of a victim user, one connection, one call
 * at a time:
 *   alone    with nothing else running;
 *   flooded  while a flooder user keeps --connections connections each
 *            with --pipeline secret.get requests in flight (raw frames,
 *            one process, epoll; every reply answered by a new request).
 *            With --big-frames[=KB] the flooder is a uid the policy does
 *            not name, and each request is instead a secret.put of about
 *            KB (60) kilobytes, its value written as \u0041 escapes:
 *            costly to parse, then denied (the review's finding F2).
 * With bench/echo-server and cv-bench beside it, it first measures the
 * transport floor of the same sizes (cv-bench echo). Each client is a
 * fork()ed child that drops to its user (setgroups, setgid, setuid) before
 * it connects: the daemon must see two principals, as in production.
 *
 * The test users are cvbench-flood and cvbench-victim; they are created
 * (useradd --system --no-create-home) if missing. Needs root for that and
 * to become them: otherwise it says so and exits 77.
 *
 * It runs --rounds rounds of alone then flooded, so that the machine's
 * other load (a shared 2-CPU VM wanders a lot) falls on both sides, and
 * judges the medians. One line per measurement, then the verdict:
 *   round=1 mode=alone clients=1 size=32 calls=.. p50_us=.. p99_us=..
 *           p999_us=.. max_us=.. mean_us=..
 *   round=1 mode=flooded ... flood_rps=.. flood_errors=..
 *   median of 3 rounds: alone p50_us=.. p99_us=.. flooded p50_us=.. p99_us=..
 *   p99 flooded/alone=.. p50 flooded/alone=.. target p99<=2x: met|NOT met
 *
 * Never: prints a value, or touches anything outside its temp dir but the
 * two test users. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "credvault.h"
#include "frame.h"
#include "proto-limits.h"

#define FLOOD_USER "cvbench-flood"
#define VICTIM_USER "cvbench-victim"
#define PLUGIN "bench"
#define BENCH_AUTH_BLOCK "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}"
/* Far above what one single-threaded daemon serves: the bench measures
 * scheduling, not the rate limit. 1,000,000 is the policy's maximum. */
#define RATE_LIMIT 1000000
#define SECONDS_DEFAULT 3.0
#define ROUNDS_DEFAULT 3
#define ROUNDS_MAX 99
#define WARMUP_DEFAULT 2000
/* The victim's warm-up stops after this long (when flooded, a call can
 * take milliseconds). */
#define WARMUP_MAX_NS 1000000000ULL
#define CONNECTIONS_DEFAULT 64
#define PIPELINE_DEFAULT 32
/* The flood starts this long before the victim's warm-up. */
#define RAMP_USEC 1000000ULL
#define STARTUP_TRIES 100 /* × 100 ms */
#define VALUE_SIZE_MAX 4096
/* A flooder connection's receive buffer: several replies of a value of
 * VALUE_SIZE_MAX (base64) fit. */
#define FLOOD_IN_SIZE (64 * 1024)
#define LATENCIES_INITIAL (64 * 1024)
/* --big-frames: a secret.put body of about this many KB (1000 bytes) by
 * default, at most BIG_FRAME_KB_MAX (under FRAME_BODY_MAX), its value
 * \u0041 escapes of 6 bytes each. */
#define BIG_FRAME_KB_DEFAULT 60
#define BIG_FRAME_KB_MAX 64

typedef struct Config {
        const char *daemon;
        const char *echo_server; /* NULL: no floor */
        const char *cv_bench;
        double seconds;
        unsigned n_rounds;
        unsigned warmup;
        unsigned n_connections;
        unsigned pipeline;
        size_t value_size;
        bool policy;           /* pass --policy (a daemon before issue 8 has none) */
        unsigned big_frame_kb; /* > 0: flood with denied secret.put frames this large */
        bool keep;
} Config;

/* What a victim child reports through its pipe. */
typedef struct VictimResult {
        int error; /* 0, or the -errno that stopped it */
        uint64_t calls;
        double p50_us, p99_us, p999_us, max_us, mean_us;
} VictimResult;

/* What the flooder child reports when told to stop. */
typedef struct FloodResult {
        int error;
        uint64_t replies, errors;
        double seconds;
        char first_error[160]; /* the first error reply's body, cut */
} FloodResult;

static volatile sig_atomic_t flood_stop;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int spawn(const char *const argv[], const char *out_path, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        posix_spawn_file_actions_init(&fa);
        if (out_path) {
                posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
                posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        }
        r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        *ret_pid = pid;
        return 0;
}

static int wait_exit(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The test user, created if missing. */
static int user_ensure(const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        struct passwd *pw = getpwnam(name);
        if (!pw) {
                const char *argv[] = { "useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                       name,      NULL };
                pid_t pid;
                fprintf(stderr, "flood: creating the system user %s\n", name);
                if (spawn(argv, NULL, &pid) < 0 || wait_exit(pid) != 0 || !(pw = getpwnam(name))) {
                        fprintf(stderr, "flood: cannot create the user %s\n", name);
                        return -ENOENT;
                }
        }
        *ret_uid = pw->pw_uid;
        *ret_gid = pw->pw_gid;
        return 0;
}

static void become(uid_t uid, gid_t gid) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() != uid || geteuid() != uid) {
                fprintf(stderr, "flood: cannot become uid %u: %s\n", (unsigned) uid, strerror(errno));
                _exit(1);
        }
}

static int write_file(const char *path, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        ssize_t k = write(fd, data, size);
        int r = k == (ssize_t) size ? 0 : -EIO;
        close(fd);
        return r;
}

static char *random_text(size_t size) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        char *s = malloc(size + 1);
        if (!s || getrandom(s, size, 0) != (ssize_t) size) {
                free(s);
                return NULL;
        }
        for (size_t i = 0; i < size; i++)
                s[i] = alphabet[(uint8_t) s[i] % 64];
        s[size] = '\0';
        return s;
}

/* Wait for the daemon, then register the bench plugin and store the
 * bench secret, as root (an admin under the default admins). */
static int store_bench_secret(const char *socket_path, const char *name, size_t value_size, pid_t daemon_pid) {
        CvClient *c = NULL;
        int r = -ECONNREFUSED;

        for (int i = 0; i < STARTUP_TRIES && r < 0; i++) {
                if (waitpid(daemon_pid, NULL, WNOHANG) != 0)
                        return -ECHILD;
                r = cv_client_new(socket_path, 0, &c);
                if (r < 0)
                        usleep(100 * 1000);
        }
        if (r < 0)
                return r;
        char *value = random_text(value_size);
        int64_t version;
        if (!value)
                r = -ENOMEM;
        else if ((r = cv_plugin_register(c, BENCH_AUTH_BLOCK, PLUGIN, NULL, NULL)) < 0 ||
                 (r = cv_secret_put(c, PLUGIN, name, value, value_size, &version)) < 0)
                fprintf(stderr, "flood: storing the bench secret: %s\n", cv_client_error_message(c));
        if (value)
                memset(value, 0, value_size);
        free(value);
        cv_client_free(c);
        return r;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *sorted, size_t n, double p) {
        size_t i = (size_t) (p * (double) (n - 1) + 0.5);
        return (double) sorted[i] / 1000.0;
}

/* The victim: warm-up, then secret.get one at a time for cfg->seconds. */
static void victim_run(const Config *cfg, const char *socket_path, const char *name, VictimResult *res) {
        uint64_t *lat = malloc(LATENCIES_INITIAL * sizeof(uint64_t));
        size_t n = 0, alloc = LATENCIES_INITIAL;
        CvClient *c = NULL;
        CvSecret *s;
        int r;

        *res = (VictimResult) {};
        if (!lat) {
                res->error = -ENOMEM;
                return;
        }
        r = cv_client_new(socket_path, 0, &c);
        uint64_t start = now_ns();
        for (unsigned i = 0; r >= 0 && i < cfg->warmup && now_ns() < start + WARMUP_MAX_NS; i++)
                if ((r = cv_secret_get(c, PLUGIN, name, &s)) >= 0)
                        cv_secret_free(s);
        start = now_ns();
        uint64_t end = start + (uint64_t) (cfg->seconds * 1e9), sum = 0;
        while (r >= 0) {
                uint64_t t0 = now_ns();
                if (t0 >= end)
                        break;
                r = cv_secret_get(c, PLUGIN, name, &s);
                uint64_t t1 = now_ns();
                if (r < 0)
                        break;
                cv_secret_free(s);
                if (n == alloc) {
                        uint64_t *m = realloc(lat, 2 * alloc * sizeof(uint64_t));
                        if (!m) {
                                r = -ENOMEM;
                                break;
                        }
                        lat = m;
                        alloc *= 2;
                }
                lat[n++] = t1 - t0;
                sum += t1 - t0;
        }
        if (r < 0) {
                fprintf(stderr, "flood: victim: secret.get: %s\n", c ? cv_client_error_message(c) : strerror(-r));
                res->error = r;
        } else if (n > 0) {
                qsort(lat, n, sizeof(uint64_t), compare_u64);
                res->calls = n;
                res->p50_us = percentile_us(lat, n, 0.50);
                res->p99_us = percentile_us(lat, n, 0.99);
                res->p999_us = percentile_us(lat, n, 0.999);
                res->max_us = (double) lat[n - 1] / 1000.0;
                res->mean_us = (double) sum / (double) n / 1000.0;
        }
        cv_client_free(c);
        free(lat);
}

typedef struct FloodConn {
        int fd;
        uint8_t in[FLOOD_IN_SIZE];
        size_t in_size;
        unsigned to_send;   /* whole requests owed (one per reply, pipeline at first) */
        size_t partial_off; /* bytes of the next request already sent */
        bool want_out;
} FloodConn;

static int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Send what c owes, from batch (pipeline requests back to back). */
static int flood_send(FloodConn *c, const uint8_t *batch, size_t req_size, unsigned pipeline) {
        while (c->to_send > 0) {
                unsigned n = c->to_send < pipeline ? c->to_send : pipeline;
                size_t len = (size_t) n * req_size - c->partial_off;
                ssize_t k = send(c->fd, batch + c->partial_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EAGAIN) {
                                c->want_out = true;
                                return 0;
                        }
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                size_t done = c->partial_off + (size_t) k;
                c->to_send -= (unsigned) (done / req_size);
                c->partial_off = done % req_size;
        }
        c->want_out = false;
        return 0;
}

static void on_flood_stop(int sig) {
        (void) sig;
        flood_stop = 1;
}

/* The flooder: n_connections connections, each keeping pipeline requests
 * in flight, until SIGTERM. */
static void flood_run(const Config *cfg, const char *socket_path, const char *name, FloodResult *res) {
        static char body[FRAME_BODY_MAX];
        int body_size;
        if (cfg->big_frame_kb > 0) {
                body_size = snprintf(body, sizeof(body),
                                     "{\"v\":1,\"id\":1,\"op\":\"secret.put\",\"plugin\":\"%s\",\"name\":\"%s\","
                                     "\"value\":\"",
                                     PLUGIN, name);
                /* The escapes, less the ~90 bytes of the rest; a
                 * multiple of 4, so the value is valid base64 and the
                 * request reaches the policy check. */
                unsigned n_escapes = (cfg->big_frame_kb * 1000 / 6 - 15) & ~3U;
                for (unsigned i = 0; i < n_escapes; i++)
                        body_size += snprintf(body + body_size, sizeof(body) - (size_t) body_size, "\\u0041");
                body_size += snprintf(body + body_size, sizeof(body) - (size_t) body_size, "\"}");
        } else
                body_size = snprintf(body, sizeof(body),
                                     "{\"v\":1,\"id\":1,\"op\":\"secret.get\",\"plugin\":\"%s\",\"name\":\"%s\"}",
                                     PLUGIN, name);
        size_t req_size = FRAME_HEADER_SIZE + (size_t) body_size;
        uint8_t *batch = malloc(req_size * cfg->pipeline);
        FloodConn *conns = calloc(cfg->n_connections, sizeof(FloodConn));
        struct epoll_event events[64];
        int ep = epoll_create1(EPOLL_CLOEXEC);
        int r = 0;

        *res = (FloodResult) {};
        if (!batch || !conns || ep < 0) {
                res->error = -ENOMEM;
                return;
        }
        for (unsigned i = 0; i < cfg->pipeline; i++) {
                frame_header_write(batch + i * req_size, (uint32_t) body_size);
                memcpy(batch + i * req_size + FRAME_HEADER_SIZE, body, (size_t) body_size);
        }
        for (unsigned i = 0; i < cfg->n_connections && r >= 0; i++) {
                FloodConn *c = &conns[i];
                c->fd = unix_connect(socket_path);
                if (c->fd < 0) {
                        r = c->fd;
                        break;
                }
                fcntl(c->fd, F_SETFL, O_NONBLOCK);
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                        r = -errno;
        }
        uint64_t start = now_ns();
        for (unsigned i = 0; i < cfg->n_connections && r >= 0; i++) {
                conns[i].to_send = cfg->pipeline;
                r = flood_send(&conns[i], batch, req_size, cfg->pipeline);
        }
        while (r >= 0 && !flood_stop) {
                int n = epoll_wait(ep, events, (int) (sizeof(events) / sizeof(events[0])), 100);
                if (n < 0) {
                        if (errno != EINTR)
                                r = -errno;
                        continue;
                }
                for (int i = 0; i < n && r >= 0; i++) {
                        FloodConn *c = events[i].data.ptr;
                        bool had_out = c->want_out;
                        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                                ssize_t k = recv(c->fd, c->in + c->in_size, sizeof(c->in) - c->in_size, MSG_DONTWAIT);
                                if (k == 0)
                                        r = -ECONNRESET;
                                else if (k < 0 && errno != EAGAIN && errno != EINTR)
                                        r = -errno;
                                if (r < 0) {
                                        fprintf(stderr, "flood: flooder: connection closed by the daemon\n");
                                        break;
                                }
                                if (k > 0)
                                        c->in_size += (size_t) k;
                                size_t off = 0;
                                for (;;) {
                                        const uint8_t *reply;
                                        size_t reply_size;
                                        int f = frame_parse(c->in + off, c->in_size - off, &reply, &reply_size);
                                        if (f == 0)
                                                break;
                                        if (f < 0) {
                                                r = -EPROTO;
                                                break;
                                        }
                                        res->replies++;
                                        if (!memmem(reply, reply_size, "\"ok\":true", 9)) {
                                                if (res->errors++ == 0)
                                                        snprintf(res->first_error, sizeof(res->first_error), "%.*s",
                                                                 (int) reply_size, (const char *) reply);
                                        }
                                        c->to_send++;
                                        off += (size_t) f;
                                }
                                memmove(c->in, c->in + off, c->in_size - off);
                                c->in_size -= off;
                        }
                        if (r >= 0)
                                r = flood_send(c, batch, req_size, cfg->pipeline);
                        if (r >= 0 && had_out != c->want_out) {
                                struct epoll_event ev = { .events = EPOLLIN | (c->want_out ? EPOLLOUT : 0),
                                                          .data.ptr = c };
                                if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                                        r = -errno;
                        }
                }
        }
        res->seconds = (double) (now_ns() - start) / 1e9;
        res->error = r;
        for (unsigned i = 0; i < cfg->n_connections; i++)
                if (conns[i].fd > 0)
                        close(conns[i].fd);
        close(ep);
        free(conns);
        free(batch);
}

/* Fork a child that drops to uid/gid; for the victim, wait for its
 * result. For the flooder, *ret_pid is set and the result is read later. */
static int child_start(const Config *cfg, bool flooder, uid_t uid, gid_t gid, const char *socket_path, const char *name,
                       int *ret_fd, pid_t *ret_pid) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return -errno;
        }
        if (pid == 0) {
                close(p[0]);
                become(uid, gid);
                if (flooder) {
                        FloodResult res;
                        signal(SIGTERM, on_flood_stop);
                        flood_run(cfg, socket_path, name, &res);
                        _exit(write(p[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
                }
                VictimResult res;
                victim_run(cfg, socket_path, name, &res);
                _exit(write(p[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
        }
        close(p[1]);
        *ret_fd = p[0];
        *ret_pid = pid;
        return 0;
}

static int child_result(int fd, pid_t pid, void *res, size_t size) {
        ssize_t k;
        while ((k = read(fd, res, size)) < 0 && errno == EINTR)
                ;
        close(fd);
        int status = wait_exit(pid);
        return k == (ssize_t) size && status == 0 ? 0 : -EIO;
}

static int victim_measure(const Config *cfg, uid_t uid, gid_t gid, const char *socket_path, const char *name,
                          VictimResult *res) {
        int fd;
        pid_t pid;
        int r = child_start(cfg, false, uid, gid, socket_path, name, &fd, &pid);
        if (r < 0)
                return r;
        r = child_result(fd, pid, res, sizeof(*res));
        return r < 0 ? r : res->error;
}

/* The median of one field (a double at offset) over n results. */
static double median_of(const VictimResult *v, unsigned n, size_t offset) {
        double x[ROUNDS_MAX];
        for (unsigned i = 0; i < n; i++)
                x[i] = *(const double *) ((const char *) &v[i] + offset);
        for (unsigned i = 1; i < n; i++)
                for (unsigned j = i; j > 0 && x[j - 1] > x[j]; j--) {
                        double t = x[j];
                        x[j] = x[j - 1];
                        x[j - 1] = t;
                }
        return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

static void victim_print(const char *mode, const Config *cfg, const VictimResult *v) {
        printf("mode=%s clients=1 size=%zu calls=%llu p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
               "mean_us=%.1f",
               mode, cfg->value_size, (unsigned long long) v->calls, v->p50_us, v->p99_us, v->p999_us, v->max_us,
               v->mean_us);
}

/* The floor: cv-bench echo against echo-server, with the sizes of one
 * secret.get of this value size. */
static void floor_measure(const Config *cfg, const char *dir, const char *socket_path) {
        char echo_sock[PATH_MAX], log[PATH_MAX], seconds[32], warmup[32], size[32];
        pid_t epid, bpid;

        snprintf(echo_sock, sizeof(echo_sock), "%s/echo.sock", dir);
        snprintf(log, sizeof(log), "%s/echo.log", dir);
        const char *eargv[] = { cfg->echo_server, "--socket", echo_sock, NULL };
        if (spawn(eargv, log, &epid) < 0)
                return;
        for (int i = 0; i < STARTUP_TRIES && access(echo_sock, F_OK) < 0; i++)
                usleep(100 * 1000);
        snprintf(seconds, sizeof(seconds), "%g", cfg->seconds);
        snprintf(warmup, sizeof(warmup), "%u", cfg->warmup);
        snprintf(size, sizeof(size), "%zu", cfg->value_size);
        const char *bargv[] = { cfg->cv_bench, "echo",           "--op",         "get",       "--socket",
                                echo_sock,     "--probe-socket", socket_path,    "--seconds", seconds,
                                "--warmup",    warmup,           "--value-size", size,        NULL };
        fflush(stdout);
        if (spawn(bargv, NULL, &bpid) == 0)
                (void) wait_exit(bpid);
        kill(epid, SIGTERM);
        (void) wait_exit(epid);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st, (void) type, (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

static char *sibling(const char *name) {
        char self[PATH_MAX], *p;
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k <= 0)
                return NULL;
        self[k] = '\0';
        p = strrchr(self, '/');
        if (!p)
                return NULL;
        *p = '\0';
        if (asprintf(&p, "%s/%s", self, name) < 0)
                return NULL;
        return p;
}

static void usage(void) {
        printf("usage: flood [OPTIONS]\n"
               "  --daemon PATH        credvaultd (default: ../daemon/credvaultd beside this program)\n"
               "  --seconds S          measured time of each victim run (%.0f)\n"
               "  --rounds N           rounds of alone, then flooded (%d)\n"
               "  --warmup N           unmeasured victim calls first, at most 1 s of them (%d)\n"
               "  --connections N      flooder connections (%d)\n"
               "  --pipeline N         requests in flight on each (%d)\n"
               "  --value-size BYTES   the bench secret's size (32)\n"
               "  --big-frames[=KB]    flood as a uid the policy does not name, with secret.put frames\n"
               "                       of KB (%d) kilobytes of \\u0041 escapes (costly to parse, then denied)\n"
               "  --no-policy          start the daemon without --policy (one that has none)\n"
               "  --no-floor           skip the echo floor\n"
               "  --keep               keep the temp dir (daemon log)\n",
               SECONDS_DEFAULT, ROUNDS_DEFAULT, WARMUP_DEFAULT, CONNECTIONS_DEFAULT, PIPELINE_DEFAULT,
               BIG_FRAME_KB_DEFAULT);
}

static int parse_args(int argc, char **argv, Config *cfg) {
        enum {
                ARG_DAEMON = 0x100,
                ARG_SECONDS,
                ARG_ROUNDS,
                ARG_WARMUP,
                ARG_CONNS,
                ARG_PIPELINE,
                ARG_SIZE,
                ARG_BIG_FRAMES,
                ARG_NO_POLICY,
                ARG_NO_FLOOR,
                ARG_KEEP
        };
        static const struct option longopts[] = {
                { "daemon", required_argument, NULL, ARG_DAEMON },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "connections", required_argument, NULL, ARG_CONNS },
                { "pipeline", required_argument, NULL, ARG_PIPELINE },
                { "value-size", required_argument, NULL, ARG_SIZE },
                { "big-frames", optional_argument, NULL, ARG_BIG_FRAMES },
                { "no-policy", no_argument, NULL, ARG_NO_POLICY },
                { "no-floor", no_argument, NULL, ARG_NO_FLOOR },
                { "keep", no_argument, NULL, ARG_KEEP },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool floor = true;
        long v;
        int c;

        *cfg = (Config) { .seconds = SECONDS_DEFAULT,
                          .n_rounds = ROUNDS_DEFAULT,
                          .warmup = WARMUP_DEFAULT,
                          .n_connections = CONNECTIONS_DEFAULT,
                          .pipeline = PIPELINE_DEFAULT,
                          .value_size = 32,
                          .policy = true };
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case ARG_DAEMON:
                        cfg->daemon = optarg;
                        break;
                case ARG_SECONDS:
                        cfg->seconds = strtod(optarg, NULL);
                        if (!(cfg->seconds > 0 && cfg->seconds < 3600))
                                return -EINVAL;
                        break;
                case ARG_ROUNDS:
                        v = strtol(optarg, NULL, 10);
                        if (v < 1 || v > ROUNDS_MAX)
                                return -EINVAL;
                        cfg->n_rounds = (unsigned) v;
                        break;
                case ARG_WARMUP:
                case ARG_CONNS:
                case ARG_PIPELINE:
                case ARG_SIZE:
                        v = strtol(optarg, NULL, 10);
                        if (v < (c == ARG_WARMUP ? 0 : 1) || v > (c == ARG_SIZE ? VALUE_SIZE_MAX : 100000))
                                return -EINVAL;
                        if (c == ARG_WARMUP)
                                cfg->warmup = (unsigned) v;
                        else if (c == ARG_CONNS)
                                cfg->n_connections = (unsigned) v;
                        else if (c == ARG_PIPELINE)
                                cfg->pipeline = (unsigned) v;
                        else
                                cfg->value_size = (size_t) v;
                        break;
                case ARG_BIG_FRAMES:
                        v = optarg ? strtol(optarg, NULL, 10) : BIG_FRAME_KB_DEFAULT;
                        if (v < 1 || v > BIG_FRAME_KB_MAX)
                                return -EINVAL;
                        cfg->big_frame_kb = (unsigned) v;
                        break;
                case ARG_NO_POLICY:
                        cfg->policy = false;
                        break;
                case ARG_NO_FLOOR:
                        floor = false;
                        break;
                case ARG_KEEP:
                        cfg->keep = true;
                        break;
                case 'h':
                        usage();
                        exit(0);
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc)
                return -EINVAL;
        if (!cfg->daemon)
                cfg->daemon = sibling("../daemon/credvaultd");
        if (floor) {
                char *e = sibling("echo-server"), *b = sibling("cv-bench");
                if (e && b && access(e, X_OK) == 0 && access(b, X_OK) == 0) {
                        cfg->echo_server = e;
                        cfg->cv_bench = b;
                } else {
                        free(e);
                        free(b);
                }
        }
        return cfg->daemon ? 0 : -ENOMEM;
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/cv-flood.XXXXXX", path[PATH_MAX], socket_path[PATH_MAX], log[PATH_MAX], name[32];
        char caps[32];
        uid_t flood_uid, victim_uid;
        gid_t flood_gid, victim_gid;
        VictimResult alone[ROUNDS_MAX], flooded[ROUNDS_MAX];
        FloodResult flood;
        pid_t dpid = 0, fpid;
        int ffd, r;
        Config cfg;

        if (parse_args(argc, argv, &cfg) < 0) {
                usage();
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "flood: needs root, to create the test users and run a client as each; skipped\n");
                return 77;
        }
        if (user_ensure(FLOOD_USER, &flood_uid, &flood_gid) < 0 ||
            user_ensure(VICTIM_USER, &victim_uid, &victim_gid) < 0)
                return 77;
        if (!mkdtemp(dir) || chmod(dir, 0711) < 0) {
                perror("flood: temp dir");
                return 1;
        }
        snprintf(socket_path, sizeof(socket_path), "%s/cv.sock", dir);
        snprintf(log, sizeof(log), "%s/daemon.log", dir);
        snprintf(name, sizeof(name), "s%zu", cfg.value_size);

        uint8_t key[32];
        snprintf(path, sizeof(path), "%s/key", dir);
        if (getrandom(key, sizeof(key), 0) != sizeof(key) || write_file(path, key, sizeof(key)) < 0) {
                fprintf(stderr, "flood: cannot write the root key\n");
                r = 1;
                goto out;
        }
        char keyfile[PATH_MAX], statedir[PATH_MAX], policyfile[PATH_MAX];
        snprintf(keyfile, sizeof(keyfile), "%s", path);
        snprintf(statedir, sizeof(statedir), "%s/state", dir);
        snprintf(policyfile, sizeof(policyfile), "%s/policy.json", dir);
        if (cfg.policy) {
                /* With --big-frames the flooder is a uid no entry names,
                 * as in the review: every frame it sends is denied. */
                char policy[1024], flooder[256] = "";
                if (cfg.big_frame_kb == 0)
                        snprintf(flooder, sizeof(flooder),
                                 "\"uid:%u\":{\"plugins\":{\"" PLUGIN "\":[\"read\"]},"
                                 "\"rate_limit\":{\"rate\":%d,\"burst\":%d}},",
                                 (unsigned) flood_uid, RATE_LIMIT, RATE_LIMIT);
                int n = snprintf(policy, sizeof(policy),
                                 "{\"version\":1,\"principals\":{%s"
                                 "\"uid:%u\":{\"plugins\":{\"" PLUGIN "\":[\"read\"]},"
                                 "\"rate_limit\":{\"rate\":%d,\"burst\":%d}}}}\n",
                                 flooder, (unsigned) victim_uid, RATE_LIMIT, RATE_LIMIT);
                if (write_file(policyfile, policy, (size_t) n) < 0) {
                        fprintf(stderr, "flood: cannot write the policy\n");
                        r = 1;
                        goto out;
                }
        }
        /* The flooder may take every connection it asks for. */
        snprintf(caps, sizeof(caps), "%u", cfg.n_connections > 64 ? cfg.n_connections : 64);
        const char *dargv[] = { cfg.daemon,  "--root-key-file",
                                keyfile,     "--state-dir",
                                statedir,    "--socket",
                                socket_path, "--max-connections-per-uid",
                                caps,        cfg.policy ? "--policy" : NULL,
                                policyfile,  NULL };
        r = spawn(dargv, log, &dpid);
        if (r < 0) {
                fprintf(stderr, "flood: cannot start %s: %s\n", cfg.daemon, strerror(-r));
                r = 1;
                goto out;
        }
        r = store_bench_secret(socket_path, name, cfg.value_size, dpid);
        /* The test users are in neither the socket's owner nor its group. */
        if (r < 0 || chmod(socket_path, 0666) < 0) {
                fprintf(stderr, "flood: the daemon did not start or refused the bench secret (log: %s)\n", log);
                cfg.keep = true;
                r = 1;
                goto out;
        }

        char what[64] = "secret.get";
        if (cfg.big_frame_kb > 0)
                snprintf(what, sizeof(what), "%u KB secret.put (denied)", cfg.big_frame_kb);
        printf("# credvault flood bench: victim uid %u, flooder uid %u: %u connections x %u pipelined "
               "%s; %u rounds of %g s alone, then %g s flooded; %u warm-up calls; nproc=%ld\n",
               (unsigned) victim_uid, (unsigned) flood_uid, cfg.n_connections, cfg.pipeline, what, cfg.n_rounds,
               cfg.seconds, cfg.seconds, cfg.warmup, sysconf(_SC_NPROCESSORS_ONLN));
        if (cfg.echo_server)
                floor_measure(&cfg, dir, socket_path);

        /* Rounds of alone then flooded, so that a change in the machine's
         * other load hits both sides; the verdict takes the medians. */
        for (unsigned round = 0; round < cfg.n_rounds; round++) {
                r = victim_measure(&cfg, victim_uid, victim_gid, socket_path, name, &alone[round]);
                if (r < 0)
                        goto fail;
                printf("round=%u ", round + 1);
                victim_print("alone", &cfg, &alone[round]);
                printf("\n");
                fflush(stdout);

                r = child_start(&cfg, true, flood_uid, flood_gid, socket_path, name, &ffd, &fpid);
                if (r < 0)
                        goto fail;
                usleep(RAMP_USEC);
                r = victim_measure(&cfg, victim_uid, victim_gid, socket_path, name, &flooded[round]);
                kill(fpid, SIGTERM);
                int q = child_result(ffd, fpid, &flood, sizeof(flood));
                if (r < 0)
                        goto fail;
                if (q < 0 || flood.error < 0) {
                        fprintf(stderr, "flood: the flooder failed: %s\n", strerror(q < 0 ? -q : -flood.error));
                        r = q < 0 ? q : flood.error;
                        goto fail;
                }
                printf("round=%u ", round + 1);
                victim_print("flooded", &cfg, &flooded[round]);
                printf(" flood_rps=%.0f flood_errors=%llu\n", (double) flood.replies / flood.seconds,
                       (unsigned long long) flood.errors);
                if (flood.errors > 0 && (cfg.big_frame_kb == 0 || round == 0))
                        printf("# first flooder error reply%s: %s\n", cfg.big_frame_kb > 0 ? " (expected)" : "",
                               flood.first_error);
                fflush(stdout);
        }
        double a50 = median_of(alone, cfg.n_rounds, offsetof(VictimResult, p50_us));
        double a99 = median_of(alone, cfg.n_rounds, offsetof(VictimResult, p99_us));
        double f50 = median_of(flooded, cfg.n_rounds, offsetof(VictimResult, p50_us));
        double f99 = median_of(flooded, cfg.n_rounds, offsetof(VictimResult, p99_us));
        printf("median of %u rounds: alone p50_us=%.1f p99_us=%.1f flooded p50_us=%.1f p99_us=%.1f\n", cfg.n_rounds,
               a50, a99, f50, f99);
        printf("p99 flooded/alone=%.2f p50 flooded/alone=%.2f target p99<=2x: %s\n", f99 / a99, f50 / a50,
               f99 / a99 <= 2.0 ? "met" : "NOT met");
        r = 0;
        goto out;
fail:
        fprintf(stderr, "flood: %s (daemon log: %s)\n", strerror(-r), log);
        cfg.keep = true;
        r = 1;
out:
        if (dpid > 0) {
                kill(dpid, SIGTERM);
                (void) wait_exit(dpid);
        }
        if (cfg.keep)
                fprintf(stderr, "flood: kept %s\n", dir);
        else
                nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        return r;
}
