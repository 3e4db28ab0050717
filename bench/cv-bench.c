/* cv-bench.c — latency and throughput of the hot calls against their floor.
 *
 * Owns: the bench client. Modes:
 *   put    store the bench data through libcredvault, so the bench needs no
 *          CLI: register the plugin (service_http, bearer), the secret
 *          s<size> (--value-size random characters of the base64url
 *          alphabet, so it can also travel in a header) and the token set
 *          of user u<size> (an access_token of --value-size characters, a
 *          refresh_token, expiry ten years ahead);
 *   get    cv_secret_get() of the bench secret in a loop;
 *   verify cv_secret_verify() of "Bearer <the bench secret>" in a loop; every
 *          call must match;
 *   token  cv_token_get_valid() of the bench token set (valid for 60 s more)
 *          in a loop;
 *   echo   raw frames against bench/echo-server with the same request and
 *          reply sizes as one real call of --op (get, verify, token): the
 *          floor, i.e. what one socket round trip of those bytes costs here;
 *   sizes  print the wire sizes of one call of --op and exit.
 * get, verify and token go through libcredvault: the real path a plugin
 * service takes, client library included. The sizes are measured, not
 * guessed: one request built exactly as libcredvault builds it (the same
 * writer, the same member order) is sent to the daemon (--probe-socket) and
 * its reply measured.
 *
 * Each call is timed with CLOCK_MONOTONIC around the call only; every
 * client thread has its own CvClient (or socket). One line per run:
 *   mode=get op=get clients=1 size=32 req_bytes=.. reply_bytes=.. calls=..
 *   p50_us=.. p99_us=.. mean_us=.. rps=..
 *
 * Never: writes to the daemon's state except in `put`, or prints a value. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "credvault.h"
#include "frame.h"
#include "json-out.h"
#include "proto-limits.h"

#define NSEC_PER_SEC 1000000000ULL
#define WARMUP_DEFAULT 2000
#define SECONDS_DEFAULT 5.0
#define CLIENTS_MAX 256
/* The request id the size probe uses: libcredvault counts ids from 1, so
 * a run of ~10^5 calls has 5-digit ids most of the time. */
#define PROBE_ID 10000
#define LATENCIES_INITIAL (64 * 1024)
/* token mode asks for a set still valid this long, as a plugin would
 * before it calls its provider's API. */
#define TOKEN_MIN_VALID_SEC 60
/* The bench token set: expiry this far ahead, a refresh token this long. */
#define TOKEN_LIFETIME_SEC (10LL * 365 * 86400)
#define TOKEN_REFRESH_SIZE 64
#define AUTHORIZATION_PREFIX "Bearer "
/* The bench plugin's registration: a service_http plugin with bearer
 * tokens, whose service token the verify mode presents. */
#define BENCH_AUTH_BLOCK "{\"type\":\"service_http\",\"authorization_type\":\"bearer\"}"

typedef enum {
        MODE_PUT,
        MODE_GET,
        MODE_VERIFY,
        MODE_TOKEN,
        MODE_ECHO,
        MODE_SIZES,
        _MODE_MAX,
} Mode;

/* The operation a run measures, or whose sizes echo mirrors. */
typedef enum {
        OP_GET,
        OP_VERIFY,
        OP_TOKEN,
        _OP_MAX,
} BenchOp;

static const char *const mode_names[_MODE_MAX] = {
        [MODE_PUT] = "put",     [MODE_GET] = "get",   [MODE_VERIFY] = "verify",
        [MODE_TOKEN] = "token", [MODE_ECHO] = "echo", [MODE_SIZES] = "sizes",
};
static const char *const op_names[_OP_MAX] = { [OP_GET] = "get", [OP_VERIFY] = "verify", [OP_TOKEN] = "token" };

typedef struct Config {
        Mode mode;
        BenchOp op;
        const char *socket_path;
        const char *probe_socket_path;
        const char *plugin;
        char name[CV_NAME_SIZE_MAX + 1];    /* the bench secret */
        char user[CV_USER_ID_SIZE_MAX + 1]; /* the bench token set's user */
        unsigned n_clients;
        double seconds;      /* used when iterations == 0 */
        uint64_t iterations; /* per client */
        uint64_t warmup;     /* per client */
        size_t value_size;
        size_t req_size;   /* request body of one call of op, bytes */
        size_t reply_size; /* its reply body, bytes */
} Config;

typedef struct Worker {
        const Config *cfg;
        pthread_barrier_t *barrier;
        uint64_t *lat_ns;
        size_t n_lat, lat_alloc;
        uint64_t start_ns, end_ns;
        int error;
        char error_message[300];
} Worker;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Read one whole frame into buf (FRAME_SIZE_MAX bytes), as libcredvault
 * does: recv into the frame buffer until header and body are in. */
static int recv_frame(int fd, uint8_t *buf, size_t *ret_body_size) {
        const uint8_t *body;
        size_t have = 0, body_size = 0, want = FRAME_HEADER_SIZE;

        while (have < want) {
                ssize_t k = recv(fd, buf + have, FRAME_SIZE_MAX - have, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -ECONNRESET;
                have += (size_t) k;
                if (want == FRAME_HEADER_SIZE && have >= FRAME_HEADER_SIZE) {
                        if (frame_parse(buf, have, &body, &body_size) < 0)
                                return -EPROTO;
                        want = FRAME_HEADER_SIZE + body_size;
                        if (have >= want && frame_parse(buf, have, &body, &body_size) <= 0)
                                return -EPROTO;
                }
        }
        if (have != want)
                return -EPROTO;
        *ret_body_size = body_size;
        return 0;
}

/* ---- the bench data ---- */

/* n random characters of the base64url alphabet (what secret.generate
 * hands out), NUL-terminated. Random bytes would cost the same on the wire
 * (values travel as base64 either way), but a header needs text. */
static char *random_text(size_t n) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        char *s = malloc(n + 1);
        if (!s)
                return NULL;
        for (size_t got = 0; got < n;) {
                ssize_t k = getrandom(s + got, n - got, 0);
                if (k < 0) {
                        free(s);
                        return NULL;
                }
                got += (size_t) k;
        }
        for (size_t i = 0; i < n; i++)
                s[i] = alphabet[(unsigned char) s[i] % 64];
        s[n] = '\0';
        return s;
}

/* The header a verify call presents: "Bearer " and the bench secret, read
 * from the daemon once, before anything is timed. */
static int authorization_fetch(CvClient *c, const Config *cfg, char **ret) {
        CvSecret *s = NULL;
        int r = cv_secret_get(c, cfg->plugin, cfg->name, &s);
        if (r < 0)
                return r;
        size_t n = strlen(AUTHORIZATION_PREFIX) + s->value_size;
        char *h = s->value_size == cfg->value_size ? malloc(n + 1) : NULL;
        if (h) {
                memcpy(h, AUTHORIZATION_PREFIX, strlen(AUTHORIZATION_PREFIX));
                memcpy(h + strlen(AUTHORIZATION_PREFIX), s->value, s->value_size);
                h[n] = '\0';
        }
        r = h ? 0 : s->value_size != cfg->value_size ? -EBADMSG : -ENOMEM;
        cv_secret_free(s);
        if (r >= 0)
                *ret = h;
        return r;
}

/* ---- wire sizes of one call ---- */

/* The request exactly as libcredvault writes it (client/client.c
 * client_request() and client/ops-*.c): the same writer, the same members
 * in the same order. authorization is only read for OP_VERIFY. */
static int request_write(const Config *cfg, uint64_t id, const char *authorization, char *buf, size_t size,
                         size_t *ret_size) {
        static const char *const op_wire[_OP_MAX] = {
                [OP_GET] = "secret.get", [OP_VERIFY] = "secret.verify", [OP_TOKEN] = "token.get"
        };
        JsonOut o;

        json_out_init(&o, buf, size);
        json_out_open_object(&o, NULL);
        json_out_int(&o, "v", PROTO_VERSION);
        json_out_int(&o, "id", (int64_t) id);
        json_out_cstring(&o, "op", op_wire[cfg->op]);
        json_out_cstring(&o, "plugin", cfg->plugin);
        switch (cfg->op) {
        case OP_GET:
                json_out_cstring(&o, "name", cfg->name);
                break;
        case OP_VERIFY:
                json_out_cstring(&o, "name", cfg->name);
                json_out_cstring(&o, "authorization", authorization);
                break;
        case OP_TOKEN:
                json_out_cstring(&o, "user", cfg->user);
                json_out_int(&o, "min_valid", TOKEN_MIN_VALID_SEC);
                break;
        default:
                return -EINVAL;
        }
        json_out_close_object(&o);
        if (json_out_finish(&o) < 0)
                return -EMSGSIZE;
        *ret_size = o.size;
        return 0;
}

/* One real call of cfg->op on the daemon's socket: its request's size and
 * its reply's are the sizes the floor must carry. The reply must be a
 * success (and for verify, a match), or the bench data is missing. */
static int probe_sizes(Config *cfg) {
        uint8_t *buf = malloc(FRAME_SIZE_MAX);
        char *authorization = NULL;
        CvClient *c = NULL;
        size_t body_size = 0;
        int fd = -1, r;

        if (!buf)
                return -ENOMEM;
        if (cfg->op == OP_VERIFY) {
                r = cv_client_new(cfg->probe_socket_path, 0, &c);
                if (r >= 0)
                        r = authorization_fetch(c, cfg, &authorization);
                if (r < 0) {
                        fprintf(stderr,
                                "cv-bench: size probe: cannot read secret %s/%s (run `cv-bench put` first): %s\n",
                                cfg->plugin, cfg->name, c ? cv_client_error_message(c) : strerror(-r));
                        goto out;
                }
        }
        r = request_write(cfg, PROBE_ID, authorization, (char *) buf + FRAME_HEADER_SIZE, FRAME_BODY_MAX,
                          &cfg->req_size);
        if (r < 0)
                goto out;
        fd = r = unix_connect(cfg->probe_socket_path);
        if (r < 0) {
                fprintf(stderr, "cv-bench: cannot connect to %s: %s\n", cfg->probe_socket_path, strerror(-r));
                goto out;
        }
        frame_header_write(buf, (uint32_t) cfg->req_size);
        r = send_all(fd, buf, FRAME_HEADER_SIZE + cfg->req_size);
        if (r >= 0)
                r = recv_frame(fd, buf, &body_size);
        if (r < 0) {
                fprintf(stderr, "cv-bench: size probe failed: %s\n", strerror(-r));
                goto out;
        }
        json_t *reply = json_loadb((const char *) buf + FRAME_HEADER_SIZE, body_size, 0, NULL);
        bool ok = json_is_true(json_object_get(reply, "ok")) &&
                  (cfg->op != OP_VERIFY || json_is_true(json_object_get(reply, "match")));
        json_decref(reply);
        if (!ok) {
                fprintf(stderr, "cv-bench: size probe: %s of %s/%s failed (run `cv-bench put` first)\n",
                        op_names[cfg->op], cfg->plugin, cfg->op == OP_TOKEN ? cfg->user : cfg->name);
                r = -ENOENT;
                goto out;
        }
        cfg->reply_size = body_size;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        memset(buf, 0, FRAME_SIZE_MAX); /* held a (bench) secret */
        free(buf);
        if (authorization) {
                memset(authorization, 0, strlen(authorization));
                free(authorization);
        }
        cv_client_free(c);
        return r;
}

/* ---- the measured loops ---- */

static int worker_record(Worker *w, uint64_t ns) {
        if (w->n_lat == w->lat_alloc) {
                size_t want = w->lat_alloc ? w->lat_alloc * 2 : LATENCIES_INITIAL;
                uint64_t *n = realloc(w->lat_ns, want * sizeof(uint64_t));
                if (!n)
                        return -ENOMEM;
                w->lat_ns = n;
                w->lat_alloc = want;
        }
        w->lat_ns[w->n_lat++] = ns;
        return 0;
}

static int worker_fail(Worker *w, int r, const char *what, const char *detail) {
        w->error = r;
        snprintf(w->error_message, sizeof(w->error_message), "%s: %s", what, detail);
        return r;
}

/* The measured phase, shared by both modes: `call` is one timed call. */
typedef int (*CallFunc)(void *userdata);

static int worker_measure(Worker *w, CallFunc call, void *userdata) {
        const Config *cfg = w->cfg;
        int r;

        for (uint64_t i = 0; i < cfg->warmup; i++) {
                r = call(userdata);
                if (r < 0)
                        return r;
        }
        if (cfg->iterations > 0) {
                w->lat_alloc = cfg->iterations;
                w->lat_ns = malloc(w->lat_alloc * sizeof(uint64_t));
                if (!w->lat_ns)
                        return worker_fail(w, -ENOMEM, "bench", "out of memory");
        }
        pthread_barrier_wait(w->barrier);

        w->start_ns = now_ns();
        uint64_t deadline = w->start_ns + (uint64_t) (cfg->seconds * (double) NSEC_PER_SEC);
        for (uint64_t i = 0;; i++) {
                uint64_t t0 = now_ns();
                if (cfg->iterations > 0 ? i >= cfg->iterations : t0 >= deadline)
                        break;
                r = call(userdata);
                uint64_t t1 = now_ns();
                if (r < 0)
                        return r;
                r = worker_record(w, t1 - t0);
                if (r < 0)
                        return worker_fail(w, r, "bench", "out of memory");
        }
        w->end_ns = now_ns();
        return 0;
}

/* get, verify and token: one libcredvault call each. */
typedef struct ClientState {
        Worker *w;
        CvClient *client;
        char *authorization; /* verify: "Bearer <secret>" */
} ClientState;

static int call_get(void *userdata) {
        ClientState *s = userdata;
        CvSecret *secret = NULL;
        int r = cv_secret_get(s->client, s->w->cfg->plugin, s->w->cfg->name, &secret);
        if (r < 0)
                return worker_fail(s->w, r, "secret.get", cv_client_error_message(s->client));
        bool right_size = secret->value_size == s->w->cfg->value_size;
        cv_secret_free(secret);
        if (!right_size)
                return worker_fail(s->w, -EBADMSG, "secret.get", "value has the wrong size (re-run put)");
        return 0;
}

static int call_verify(void *userdata) {
        ClientState *s = userdata;
        int r = cv_secret_verify(s->client, s->w->cfg->plugin, s->w->cfg->name, s->authorization, NULL);
        if (r < 0)
                return worker_fail(s->w, r, "secret.verify", cv_client_error_message(s->client));
        if (r != 1)
                return worker_fail(s->w, -EBADMSG, "secret.verify", "no match (re-run put)");
        return 0;
}

static int call_token(void *userdata) {
        ClientState *s = userdata;
        CvToken *token = NULL;
        int r = cv_token_get_valid(s->client, s->w->cfg->plugin, s->w->cfg->user, TOKEN_MIN_VALID_SEC, &token);
        if (r < 0)
                return worker_fail(s->w, r, "token.get", cv_client_error_message(s->client));
        bool right_size = strlen(token->access_token) == s->w->cfg->value_size;
        cv_token_free(token);
        if (!right_size)
                return worker_fail(s->w, -EBADMSG, "token.get", "access_token has the wrong size (re-run put)");
        return 0;
}

typedef struct EchoState {
        Worker *w;
        int fd;
        uint8_t *request; /* a whole frame, built once */
        size_t request_size;
        uint8_t *buf; /* FRAME_SIZE_MAX, for the reply */
} EchoState;

static int call_echo(void *userdata) {
        EchoState *s = userdata;
        size_t body_size = 0;
        int r = send_all(s->fd, s->request, s->request_size);
        if (r >= 0)
                r = recv_frame(s->fd, s->buf, &body_size);
        if (r < 0)
                return worker_fail(s->w, r, "echo", strerror(-r));
        if (body_size != s->w->cfg->reply_size)
                return worker_fail(s->w, -EPROTO, "echo", "reply of the wrong size");
        return 0;
}

static void worker_run_client(Worker *w) {
        static const CallFunc calls[_OP_MAX] = {
                [OP_GET] = call_get, [OP_VERIFY] = call_verify, [OP_TOKEN] = call_token
        };
        const Config *cfg = w->cfg;
        ClientState s = { .w = w };
        int r;

        r = cv_client_new(cfg->socket_path, 0, &s.client);
        if (r < 0) {
                worker_fail(w, r, "connect", strerror(-r));
                return;
        }
        if (cfg->op == OP_VERIFY && (r = authorization_fetch(s.client, cfg, &s.authorization)) < 0)
                worker_fail(w, r, "secret.get", cv_client_error_message(s.client));
        else
                worker_measure(w, calls[cfg->op], &s);
        if (s.authorization) {
                memset(s.authorization, 0, strlen(s.authorization));
                free(s.authorization);
        }
        cv_client_free(s.client);
}

static void worker_run_echo(Worker *w) {
        const Config *cfg = w->cfg;
        EchoState s = { .w = w, .fd = -1 };

        s.request_size = FRAME_HEADER_SIZE + cfg->req_size;
        s.request = malloc(s.request_size);
        s.buf = malloc(FRAME_SIZE_MAX);
        if (!s.request || !s.buf)
                worker_fail(w, -ENOMEM, "echo", "out of memory");
        else if ((s.fd = unix_connect(cfg->socket_path)) < 0)
                worker_fail(w, s.fd, "connect", strerror(-s.fd));
        else {
                /* Body: the reply size, then padding up to the size of a
                 * real request. */
                frame_header_write(s.request, (uint32_t) cfg->req_size);
                memset(s.request + FRAME_HEADER_SIZE, ' ', cfg->req_size);
                put_be32(s.request + FRAME_HEADER_SIZE, (uint32_t) cfg->reply_size);
                worker_measure(w, call_echo, &s);
        }
        if (s.fd >= 0)
                close(s.fd);
        free(s.request);
        free(s.buf);
}

static void *worker_run(void *userdata) {
        Worker *w = userdata;

        if (w->cfg->mode == MODE_ECHO)
                worker_run_echo(w);
        else
                worker_run_client(w);
        /* A worker that failed before the barrier must still reach it, or
         * the others wait forever; the run is then reported as failed. */
        if (w->error && w->start_ns == 0)
                pthread_barrier_wait(w->barrier);
        return NULL;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double percentile_us(const uint64_t *sorted, size_t n, double p) {
        size_t rank = (size_t) (p / 100.0 * (double) n + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return (double) sorted[rank - 1] / 1000.0;
}

static int run_load(const Config *cfg) {
        pthread_t threads[CLIENTS_MAX];
        Worker workers[CLIENTS_MAX] = {};
        pthread_barrier_t barrier;
        int r = 0;

        /* Warm-up and connections happen before the barrier; the clock
         * starts when every client is ready. */
        pthread_barrier_init(&barrier, NULL, cfg->n_clients);
        for (unsigned i = 0; i < cfg->n_clients; i++) {
                workers[i] = (Worker) { .cfg = cfg, .barrier = &barrier };
                if (pthread_create(&threads[i], NULL, worker_run, &workers[i]) != 0) {
                        fprintf(stderr, "cv-bench: cannot start thread %u\n", i);
                        exit(1);
                }
        }
        for (unsigned i = 0; i < cfg->n_clients; i++)
                pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&barrier);

        size_t n = 0;
        uint64_t start = UINT64_MAX, end = 0;
        for (unsigned i = 0; i < cfg->n_clients; i++) {
                if (workers[i].error) {
                        fprintf(stderr, "cv-bench: client %u: %s\n", i, workers[i].error_message);
                        r = workers[i].error;
                }
                n += workers[i].n_lat;
                if (workers[i].start_ns && workers[i].start_ns < start)
                        start = workers[i].start_ns;
                if (workers[i].end_ns > end)
                        end = workers[i].end_ns;
        }
        uint64_t *all = r >= 0 && n > 0 ? malloc(n * sizeof(uint64_t)) : NULL;
        if (all) {
                size_t k = 0;
                double sum = 0;
                for (unsigned i = 0; i < cfg->n_clients; i++) {
                        memcpy(all + k, workers[i].lat_ns, workers[i].n_lat * sizeof(uint64_t));
                        k += workers[i].n_lat;
                }
                qsort(all, n, sizeof(uint64_t), cmp_u64);
                for (size_t i = 0; i < n; i++)
                        sum += (double) all[i];
                double wall = (double) (end - start) / (double) NSEC_PER_SEC;
                printf("mode=%s op=%s clients=%u size=%zu req_bytes=%zu reply_bytes=%zu calls=%zu seconds=%.2f "
                       "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f rps=%.0f\n",
                       mode_names[cfg->mode], op_names[cfg->op], cfg->n_clients, cfg->value_size, cfg->req_size,
                       cfg->reply_size, n, wall, percentile_us(all, n, 50), percentile_us(all, n, 90),
                       percentile_us(all, n, 99), percentile_us(all, n, 99.9), (double) all[n - 1] / 1000.0,
                       sum / (double) n / 1000.0, (double) n / wall);
                fflush(stdout);
        } else if (r >= 0)
                r = -ENOMEM;
        free(all);
        for (unsigned i = 0; i < cfg->n_clients; i++)
                free(workers[i].lat_ns);
        return r;
}

/* Register the bench plugin, store the bench secret and, where the size
 * makes a valid access token (1..CV_TOKEN_SECRET_SIZE_MAX), the bench token
 * set. The registration matters: secret.verify reads it on every call for
 * the header scheme, as it does for a real service_http plugin. */
static int run_put(const Config *cfg) {
        char *value = random_text(cfg->value_size), *access = NULL, *refresh = NULL;
        bool with_token = cfg->value_size >= 1 && cfg->value_size <= CV_TOKEN_SECRET_SIZE_MAX;
        int64_t version = 0, token_version = 0;
        CvClient *c = NULL;
        int r;

        if (with_token) {
                access = random_text(cfg->value_size);
                refresh = random_text(TOKEN_REFRESH_SIZE);
        }
        if (!value || (with_token && (!access || !refresh))) {
                r = -ENOMEM;
                goto out;
        }
        r = cv_client_new(cfg->socket_path, 0, &c);
        if (r < 0) {
                fprintf(stderr, "cv-bench: cannot connect to %s: %s\n", cfg->socket_path ?: "(default)", strerror(-r));
                goto out;
        }
        r = cv_plugin_register(c, BENCH_AUTH_BLOCK, cfg->plugin, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "cv-bench: plugin.register: %s\n", cv_client_error_message(c));
                goto out;
        }
        r = cv_secret_put(c, cfg->plugin, cfg->name, value, cfg->value_size, &version);
        if (r < 0) {
                fprintf(stderr, "cv-bench: secret.put: %s\n", cv_client_error_message(c));
                goto out;
        }
        if (with_token) {
                CvToken t = { .access_token = access,
                              .token_type = "Bearer",
                              .refresh_token = refresh,
                              .scope = "read write",
                              .expires_at = (int64_t) time(NULL) + TOKEN_LIFETIME_SEC };
                r = cv_token_put(c, cfg->plugin, cfg->user, &t, &token_version);
                if (r < 0) {
                        fprintf(stderr, "cv-bench: token.put: %s\n", cv_client_error_message(c));
                        goto out;
                }
        }
        printf("mode=put plugin=%s name=%s size=%zu version=%lld user=%s token_version=%lld\n", cfg->plugin, cfg->name,
               cfg->value_size, (long long) version, with_token ? cfg->user : "-", (long long) token_version);
out:
        cv_client_free(c);
        if (value)
                memset(value, 0, cfg->value_size);
        if (access)
                memset(access, 0, cfg->value_size);
        if (refresh)
                memset(refresh, 0, TOKEN_REFRESH_SIZE);
        free(value);
        free(access);
        free(refresh);
        return r;
}

static void help(void) {
        printf("Usage: cv-bench MODE [OPTIONS]\n"
               "\n"
               "Modes:\n"
               "  put     store the bench secret and token set (--value-size characters)\n"
               "  get     cv_secret_get() of the bench secret in a loop\n"
               "  verify  cv_secret_verify() of \"Bearer <bench secret>\" in a loop (must match)\n"
               "  token   cv_token_get_valid() of the bench token set in a loop\n"
               "  echo    the request/reply sizes of one --op as raw frames against echo-server\n"
               "  sizes   print the wire sizes of one call of --op\n"
               "\n"
               "  --socket PATH        daemon socket (put, get, verify, token) or echo-server\n"
               "                       socket (echo)\n"
               "  --probe-socket PATH  daemon socket to measure the real sizes (default: the\n"
               "                       daemon's --socket, else $CREDVAULT_SOCKET, else\n"
               "                       " CV_SOCKET_DEFAULT ")\n"
               "  --op OP              echo, sizes: whose sizes to use: get, verify, token (get)\n"
               "  --clients N          client threads, each with its own connection (1)\n"
               "  --seconds S          measured time (%.0f), or\n"
               "  --iterations N       measured calls per client\n"
               "  --warmup N           unmeasured calls per client first (%d)\n"
               "  --value-size BYTES   secret value and access token size (32)\n"
               "  --plugin NAME        plugin of the bench data (bench)\n"
               "  --name NAME          name of the bench secret (s<value-size>)\n"
               "  --user USER          user of the bench token set (u<value-size>)\n",
               SECONDS_DEFAULT, WARMUP_DEFAULT);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int name_from(const char *s, const char *const names[], int n) {
        for (int i = 0; i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return i;
        return -EINVAL;
}

static int parse_args(int argc, char **argv, Config *cfg) {
        /* In the order of longopts: an option's message names longopts[c - ARG_SOCKET]. */
        enum {
                ARG_SOCKET = 0x100,
                ARG_PROBE,
                ARG_CLIENTS,
                ARG_SECONDS,
                ARG_ITER,
                ARG_WARMUP,
                ARG_SIZE,
                ARG_PLUGIN,
                ARG_NAME,
                ARG_USER,
                ARG_OP
        };
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "probe-socket", required_argument, NULL, ARG_PROBE },
                { "clients", required_argument, NULL, ARG_CLIENTS },
                { "seconds", required_argument, NULL, ARG_SECONDS },
                { "iterations", required_argument, NULL, ARG_ITER },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "value-size", required_argument, NULL, ARG_SIZE },
                { "plugin", required_argument, NULL, ARG_PLUGIN },
                { "name", required_argument, NULL, ARG_NAME },
                { "user", required_argument, NULL, ARG_USER },
                { "op", required_argument, NULL, ARG_OP },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *name = NULL, *user = NULL;
        int op = -1;
        uint64_t v;
        int c, r = 0;

        *cfg = (Config) { .plugin = "bench",
                          .n_clients = 1,
                          .seconds = SECONDS_DEFAULT,
                          .warmup = WARMUP_DEFAULT,
                          .value_size = 32 };
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case ARG_SOCKET:
                        cfg->socket_path = optarg;
                        break;
                case ARG_PROBE:
                        cfg->probe_socket_path = optarg;
                        break;
                case ARG_CLIENTS:
                        r = parse_u64(optarg, 1, CLIENTS_MAX, &v);
                        cfg->n_clients = (unsigned) v;
                        break;
                case ARG_SECONDS: {
                        char *end;
                        cfg->seconds = strtod(optarg, &end);
                        if (end == optarg || *end || !(cfg->seconds > 0 && cfg->seconds <= 3600))
                                r = -EINVAL;
                        break;
                }
                case ARG_ITER:
                        r = parse_u64(optarg, 1, UINT64_C(1) << 32, &cfg->iterations);
                        break;
                case ARG_WARMUP:
                        r = parse_u64(optarg, 0, UINT64_C(1) << 32, &cfg->warmup);
                        break;
                case ARG_SIZE:
                        r = parse_u64(optarg, 0, CV_SECRET_VALUE_SIZE_MAX, &v);
                        cfg->value_size = (size_t) v;
                        break;
                case ARG_PLUGIN:
                        cfg->plugin = optarg;
                        break;
                case ARG_NAME:
                        name = optarg;
                        break;
                case ARG_USER:
                        user = optarg;
                        break;
                case ARG_OP:
                        r = op = name_from(optarg, op_names, _OP_MAX);
                        break;
                case 'h':
                        help();
                        exit(0);
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "cv-bench: invalid value '%s' for --%s\n", optarg,
                                longopts[c - ARG_SOCKET].name);
                        return r;
                }
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "cv-bench: expected one mode (put, get, verify, token, echo, sizes); try --help\n");
                return -EINVAL;
        }
        r = name_from(argv[optind], mode_names, _MODE_MAX);
        if (r < 0) {
                fprintf(stderr, "cv-bench: unknown mode '%s'\n", argv[optind]);
                return -EINVAL;
        }
        cfg->mode = r;
        switch (cfg->mode) {
        case MODE_GET:
        case MODE_VERIFY:
        case MODE_TOKEN:
                if (op >= 0) {
                        fprintf(stderr, "cv-bench: --op is for echo and sizes; %s measures itself\n",
                                mode_names[cfg->mode]);
                        return -EINVAL;
                }
                cfg->op = cfg->mode == MODE_GET ? OP_GET : cfg->mode == MODE_VERIFY ? OP_VERIFY : OP_TOKEN;
                break;
        default:
                cfg->op = op >= 0 ? op : OP_GET;
        }
        if (name)
                snprintf(cfg->name, sizeof(cfg->name), "%s", name);
        else
                snprintf(cfg->name, sizeof(cfg->name), "s%zu", cfg->value_size);
        if (user)
                snprintf(cfg->user, sizeof(cfg->user), "%s", user);
        else
                snprintf(cfg->user, sizeof(cfg->user), "u%zu", cfg->value_size);
        if (cfg->mode == MODE_ECHO && !cfg->socket_path) {
                fprintf(stderr, "cv-bench: echo needs --socket (the echo-server's)\n");
                return -EINVAL;
        }
        if (!cfg->probe_socket_path)
                cfg->probe_socket_path = (cfg->mode != MODE_ECHO ? cfg->socket_path : NULL)
                                                 ?: getenv("CREDVAULT_SOCKET") ?: CV_SOCKET_DEFAULT;
        return 0;
}

int main(int argc, char **argv) {
        Config cfg;
        int r;

        if (parse_args(argc, argv, &cfg) < 0)
                return 2;
        if (cfg.mode == MODE_PUT)
                return run_put(&cfg) < 0 ? 1 : 0;

        r = probe_sizes(&cfg);
        if (r < 0)
                return 1;
        if (cfg.mode == MODE_SIZES) {
                printf("mode=sizes op=%s size=%zu req_bytes=%zu reply_bytes=%zu\n", op_names[cfg.op], cfg.value_size,
                       cfg.req_size, cfg.reply_size);
                return 0;
        }
        if (cfg.req_size < 4) {
                fprintf(stderr, "cv-bench: request too small to carry the reply size\n");
                return 1;
        }
        return run_load(&cfg) < 0 ? 1 : 0;
}
