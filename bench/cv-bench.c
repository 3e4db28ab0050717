/* cv-bench.c — latency and throughput of secret.get against its floor.
 *
 * Owns: the bench client. Modes:
 *   put   store the bench secret (--value-size random bytes) through
 *         libcredvault, so the bench needs no CLI;
 *   get   cv_secret_get() in a loop through libcredvault: the real path a
 *         plugin service takes, client library included;
 *   echo  raw frames against bench/echo-server with the same request and
 *         reply sizes as a real secret.get of that value: the floor, i.e.
 *         what one socket round trip of those bytes costs on this machine;
 *   sizes print the wire sizes of one secret.get and exit.
 * The sizes are measured, not guessed: --probe-socket (the daemon) sends
 * one secret.get built exactly as libcredvault builds it and measures the
 * reply; without it they are modelled with the same jansson calls.
 *
 * Each call is timed with CLOCK_MONOTONIC around the call only; every
 * client thread has its own CvClient (or socket). One line per run:
 *   mode=get clients=1 size=32 req_bytes=.. reply_bytes=.. calls=..
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
#include "proto-limits.h"

#define NSEC_PER_SEC 1000000000ULL
#define WARMUP_DEFAULT 2000
#define SECONDS_DEFAULT 5.0
#define CLIENTS_MAX 256
/* The request id the size probe uses: libcredvault counts ids from 1, so
 * a run of ~10^5 calls has 5-digit ids most of the time. */
#define PROBE_ID 10000
#define LATENCIES_INITIAL (64 * 1024)

typedef enum {
        MODE_PUT,
        MODE_GET,
        MODE_ECHO,
        MODE_SIZES,
} Mode;

typedef struct Config {
        Mode mode;
        const char *socket_path;
        const char *probe_socket_path;
        const char *plugin;
        char name[CV_NAME_SIZE_MAX + 1];
        unsigned n_clients;
        double seconds;        /* used when iterations == 0 */
        uint64_t iterations;   /* per client */
        uint64_t warmup;       /* per client */
        size_t value_size;
        size_t req_size;       /* secret.get request body, bytes */
        size_t reply_size;     /* secret.get reply body, bytes */
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

/* ---- wire sizes of one secret.get ---- */

/* The request exactly as libcredvault builds it (client/ops.c and
 * client/client.c): json_pack of op/plugin/name, then "v" and "id". */
static char *get_request_json(const Config *cfg, uint64_t id) {
        json_t *req = json_pack("{s:s s:s s:s}", "op", "secret.get", "plugin", cfg->plugin, "name", cfg->name);
        if (!req)
                return NULL;
        json_object_set_new(req, "v", json_integer(PROTO_VERSION));
        json_object_set_new(req, "id", json_integer((json_int_t) id));
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        return text;
}

/* The reply the daemon's handler builds (daemon/dispatch.c, handlers.c),
 * for when there is no daemon to ask. */
static size_t get_reply_model_size(const Config *cfg, uint64_t id) {
        size_t b64_size = (cfg->value_size + 2) / 3 * 4;
        char *b64 = malloc(b64_size + 1);
        if (!b64)
                return 0;
        memset(b64, 'A', b64_size);
        b64[b64_size] = '\0';
        json_int_t t = (json_int_t) time(NULL);
        json_t *reply = json_pack("{s:I s:b s:s s:I s:I s:I}", "id", (json_int_t) id, "ok", 1, "value", b64,
                                  "version", (json_int_t) 1, "created", t, "updated", t);
        free(b64);
        size_t n = reply ? json_dumpb(reply, NULL, 0, JSON_COMPACT) : 0;
        json_decref(reply);
        return n;
}

/* One real secret.get on the daemon's socket: the reply's size is the
 * size the floor must answer with. */
static int probe_sizes(Config *cfg) {
        char *req = get_request_json(cfg, PROBE_ID);
        uint8_t *buf = malloc(FRAME_SIZE_MAX);
        size_t body_size = 0;
        int fd = -1, r;

        if (!req || !buf) {
                r = -ENOMEM;
                goto out;
        }
        cfg->req_size = strlen(req);
        if (!cfg->probe_socket_path) {
                cfg->reply_size = get_reply_model_size(cfg, PROBE_ID);
                r = cfg->reply_size > 0 ? 0 : -ENOMEM;
                goto out;
        }
        fd = r = unix_connect(cfg->probe_socket_path);
        if (r < 0) {
                fprintf(stderr, "cv-bench: cannot connect to %s: %s\n", cfg->probe_socket_path, strerror(-r));
                goto out;
        }
        frame_header_write(buf, (uint32_t) cfg->req_size);
        memcpy(buf + FRAME_HEADER_SIZE, req, cfg->req_size);
        r = send_all(fd, buf, FRAME_HEADER_SIZE + cfg->req_size);
        if (r >= 0)
                r = recv_frame(fd, buf, &body_size);
        if (r < 0) {
                fprintf(stderr, "cv-bench: size probe failed: %s\n", strerror(-r));
                goto out;
        }
        json_t *reply = json_loadb((const char *) buf + FRAME_HEADER_SIZE, body_size, 0, NULL);
        bool ok = json_is_true(json_object_get(reply, "ok"));
        json_decref(reply);
        if (!ok) {
                fprintf(stderr, "cv-bench: size probe: secret %s/%s not readable (run `cv-bench put` first)\n",
                        cfg->plugin, cfg->name);
                r = -ENOENT;
                goto out;
        }
        cfg->reply_size = body_size;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        if (buf)
                memset(buf, 0, FRAME_SIZE_MAX); /* held a (bench) secret */
        free(buf);
        free(req);
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

typedef struct GetState {
        Worker *w;
        CvClient *client;
} GetState;

static int call_get(void *userdata) {
        GetState *s = userdata;
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

typedef struct EchoState {
        Worker *w;
        int fd;
        uint8_t *request;       /* a whole frame, built once */
        size_t request_size;
        uint8_t *buf;           /* FRAME_SIZE_MAX, for the reply */
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

static void *worker_run(void *userdata) {
        Worker *w = userdata;
        const Config *cfg = w->cfg;
        int r;

        if (cfg->mode == MODE_GET) {
                GetState s = { .w = w };
                r = cv_client_new(cfg->socket_path, 0, &s.client);
                if (r < 0)
                        worker_fail(w, r, "connect", strerror(-r));
                else {
                        worker_measure(w, call_get, &s);
                        cv_client_free(s.client);
                }
        } else {
                EchoState s = { .w = w, .fd = -1 };
                s.request_size = FRAME_HEADER_SIZE + cfg->req_size;
                s.request = malloc(s.request_size);
                s.buf = malloc(FRAME_SIZE_MAX);
                if (!s.request || !s.buf)
                        worker_fail(w, -ENOMEM, "echo", "out of memory");
                else if ((s.fd = unix_connect(cfg->socket_path)) < 0)
                        worker_fail(w, s.fd, "connect", strerror(-s.fd));
                else {
                        /* Body: the reply size, then padding up to the size of
                         * a real secret.get request. */
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

static const char *mode_name(Mode m) {
        static const char *const names[] = {
                [MODE_PUT] = "put", [MODE_GET] = "get", [MODE_ECHO] = "echo", [MODE_SIZES] = "sizes"
        };
        return names[m];
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
                printf("mode=%s clients=%u size=%zu req_bytes=%zu reply_bytes=%zu calls=%zu seconds=%.2f "
                       "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f rps=%.0f\n",
                       mode_name(cfg->mode), cfg->n_clients, cfg->value_size, cfg->req_size, cfg->reply_size, n,
                       wall, percentile_us(all, n, 50), percentile_us(all, n, 90), percentile_us(all, n, 99),
                       percentile_us(all, n, 99.9), (double) all[n - 1] / 1000.0, sum / (double) n / 1000.0,
                       (double) n / wall);
                fflush(stdout);
        } else if (r >= 0)
                r = -ENOMEM;
        free(all);
        for (unsigned i = 0; i < cfg->n_clients; i++)
                free(workers[i].lat_ns);
        return r;
}

static int run_put(const Config *cfg) {
        uint8_t *value = malloc(cfg->value_size ?: 1);
        CvClient *c = NULL;
        int64_t version = 0;
        int r;

        if (!value)
                return -ENOMEM;
        for (size_t got = 0; got < cfg->value_size;) {
                ssize_t k = getrandom(value + got, cfg->value_size - got, 0);
                if (k < 0) {
                        free(value);
                        return -errno;
                }
                got += (size_t) k;
        }
        r = cv_client_new(cfg->socket_path, 0, &c);
        if (r >= 0) {
                r = cv_secret_put(c, cfg->plugin, cfg->name, value, cfg->value_size, &version);
                if (r < 0)
                        fprintf(stderr, "cv-bench: secret.put: %s\n", cv_client_error_message(c));
        } else
                fprintf(stderr, "cv-bench: cannot connect to %s: %s\n", cfg->socket_path ?: "(default)",
                        strerror(-r));
        cv_client_free(c);
        memset(value, 0, cfg->value_size);
        free(value);
        if (r >= 0)
                printf("mode=put plugin=%s name=%s size=%zu version=%lld\n", cfg->plugin, cfg->name,
                       cfg->value_size, (long long) version);
        return r;
}

static void help(void) {
        printf("Usage: cv-bench MODE [OPTIONS]\n"
               "\n"
               "Modes:\n"
               "  put    store the bench secret (random bytes of --value-size)\n"
               "  get    cv_secret_get() in a loop through libcredvault\n"
               "  echo   the same request/reply sizes as raw frames against echo-server\n"
               "  sizes  print the wire sizes of one secret.get\n"
               "\n"
               "  --socket PATH        daemon socket (put, get) or echo-server socket (echo)\n"
               "  --probe-socket PATH  daemon socket to measure the real secret.get sizes\n"
               "                       (echo, sizes; default for get: --socket)\n"
               "  --clients N          client threads, each with its own connection (1)\n"
               "  --seconds S          measured time (%.0f), or\n"
               "  --iterations N       measured calls per client\n"
               "  --warmup N           unmeasured calls per client first (%d)\n"
               "  --value-size BYTES   secret value size (32)\n"
               "  --plugin NAME        plugin of the bench secret (bench)\n"
               "  --name NAME          name of the bench secret (s<value-size>)\n",
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

static int parse_args(int argc, char **argv, Config *cfg) {
        enum { ARG_SOCKET = 0x100, ARG_PROBE, ARG_CLIENTS, ARG_SECONDS, ARG_ITER, ARG_WARMUP, ARG_SIZE,
               ARG_PLUGIN, ARG_NAME };
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
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *name = NULL;
        uint64_t v;
        int c, r = 0;

        *cfg = (Config) { .plugin = "bench", .n_clients = 1, .seconds = SECONDS_DEFAULT, .warmup = WARMUP_DEFAULT,
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
                fprintf(stderr, "cv-bench: expected one mode (put, get, echo, sizes); try --help\n");
                return -EINVAL;
        }
        const char *mode = argv[optind];
        if (strcmp(mode, "put") == 0)
                cfg->mode = MODE_PUT;
        else if (strcmp(mode, "get") == 0)
                cfg->mode = MODE_GET;
        else if (strcmp(mode, "echo") == 0)
                cfg->mode = MODE_ECHO;
        else if (strcmp(mode, "sizes") == 0)
                cfg->mode = MODE_SIZES;
        else {
                fprintf(stderr, "cv-bench: unknown mode '%s'\n", mode);
                return -EINVAL;
        }
        if (name)
                snprintf(cfg->name, sizeof(cfg->name), "%s", name);
        else
                snprintf(cfg->name, sizeof(cfg->name), "s%zu", cfg->value_size);
        if (cfg->mode == MODE_ECHO && !cfg->socket_path) {
                fprintf(stderr, "cv-bench: echo needs --socket (the echo-server's)\n");
                return -EINVAL;
        }
        if (cfg->mode == MODE_GET && !cfg->probe_socket_path)
                cfg->probe_socket_path = cfg->socket_path ?: getenv("CREDVAULT_SOCKET") ?: CV_SOCKET_DEFAULT;
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
                printf("mode=sizes size=%zu req_bytes=%zu reply_bytes=%zu measured=%s\n", cfg.value_size,
                       cfg.req_size, cfg.reply_size, cfg.probe_socket_path ? "yes" : "no");
                return 0;
        }
        if (cfg.req_size < 4) {
                fprintf(stderr, "cv-bench: request too small to carry the reply size\n");
                return 1;
        }
        return run_load(&cfg) < 0 ? 1 : 0;
}
