/* client.c — libcredvault's connection and call path (see credvault.h).
 *
 * One request at a time per client: build the JSON, frame it in the
 * client's buffer, send, read one frame back, check its id. Timeouts are
 * socket timeouts (SO_SNDTIMEO/SO_RCVTIMEO), so a call costs exactly one
 * send and usually one recv. Buffers that held a frame are wiped. */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client-internal.h"
#include "errors.h"
#include "frame.h"
#include "macro.h"

_Static_assert(CV_NAME_SIZE_MAX == NAME_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_USER_ID_SIZE_MAX == USER_ID_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_SECRET_VALUE_SIZE_MAX == SECRET_VALUE_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_SECRET_SIZE_MAX == TOKEN_SECRET_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_TYPE_SIZE_MAX == TOKEN_TYPE_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_SCOPE_SIZE_MAX == TOKEN_SCOPE_SIZE_MAX, "credvault.h and proto-limits.h disagree");

int client_fail(CvClient *c, int error, const char *code, const char *message) {
        snprintf(c->error_code, sizeof(c->error_code), "%s", code);
        snprintf(c->error_message, sizeof(c->error_message), "%s", message);
        return error;
}

static void client_disconnect(CvClient *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
}

static int set_timeouts(int fd, int timeout_ms) {
        struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        return 0;
}

static int client_connect(CvClient *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -1;
        char msg[ERROR_MESSAGE_SIZE_MAX];

        if (strlen(c->socket_path) >= sizeof(sa.sun_path))
                return client_fail(c, -ENAMETOOLONG, "unreachable", "socket path too long");
        strcpy(sa.sun_path, c->socket_path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return client_fail(c, negative_errno(), "unreachable", "cannot create socket");
        /* A blocking AF_UNIX connect waits for backlog room up to the send
         * timeout, so this bounds the connect too. */
        int r = set_timeouts(fd, c->timeout_ms);
        if (r < 0)
                return client_fail(c, r, "unreachable", "cannot set socket timeouts");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : negative_errno();
                snprintf(msg, sizeof(msg), "cannot connect to credvaultd at %s: %s", c->socket_path, strerror(-r));
                return client_fail(c, r, "unreachable", msg);
        }
        c->fd = TAKE_FD(fd);
        return 0;
}

int cv_client_new(const char *socket_path, int timeout_ms, CvClient **ret) {
        CvClient *c;
        int r;

        if (!ret || timeout_ms < 0)
                return -EINVAL;
        if (sodium_init() < 0)
                return -EIO;
        if (!socket_path)
                socket_path = getenv("CREDVAULT_SOCKET");
        if (!socket_path || !*socket_path)
                socket_path = CV_SOCKET_DEFAULT;

        c = calloc(1, sizeof(CvClient));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->next_id = 1;
        c->timeout_ms = timeout_ms ?: CV_TIMEOUT_DEFAULT_MS;
        c->socket_path = strdup(socket_path);
        c->buf = malloc(FRAME_SIZE_MAX);
        if (!c->socket_path || !c->buf) {
                cv_client_free(c);
                return -ENOMEM;
        }
        r = client_connect(c);
        if (r < 0) {
                cv_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void cv_client_free(CvClient *c) {
        if (!c)
                return;
        client_disconnect(c);
        if (c->buf)
                sodium_memzero(c->buf, FRAME_SIZE_MAX);
        free(c->buf);
        free(c->socket_path);
        free(c);
}

int cv_client_set_timeout(CvClient *c, int timeout_ms) {
        if (!c || timeout_ms <= 0)
                return -EINVAL;
        c->timeout_ms = timeout_ms;
        return c->fd >= 0 ? set_timeouts(c->fd, timeout_ms) : 0;
}

const char *cv_client_error_code(const CvClient *c) {
        return c ? c->error_code : "";
}

const char *cv_client_error_message(const CvClient *c) {
        return c ? c->error_message : "";
}

static void json_wipe(json_t *j) {
        const char *key;
        json_t *v;
        size_t i;

        if (json_is_string(j))
                sodium_memzero((char *) json_string_value(j), json_string_length(j));
        else if (json_is_object(j))
                json_object_foreach(j, key, v) json_wipe(v);
        else if (json_is_array(j))
                json_array_foreach(j, i, v) json_wipe(v);
}

void json_wipe_decref(json_t *j) {
        if (j && j->refcount == 1)
                json_wipe(j);
        json_decref(j);
}

static int send_all(CvClient *c, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Read until `want` bytes are in buf, having `have` already. */
static int recv_until(CvClient *c, size_t *have, size_t want) {
        while (*have < want) {
                ssize_t k = recv(c->fd, c->buf + *have, FRAME_SIZE_MAX - *have, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                }
                if (k == 0)
                        return -ECONNRESET;
                *have += (size_t) k;
        }
        return 0;
}

/* One exchange on the current connection: the request is already framed
 * in buf (frame_size bytes). Leaves the reply body in buf. */
static int exchange(CvClient *c, size_t frame_size, size_t *ret_body_size) {
        const uint8_t *body;
        size_t have = 0, body_size;
        int r;

        r = send_all(c, c->buf, frame_size);
        sodium_memzero(c->buf, frame_size);
        if (r < 0)
                return r;
        r = recv_until(c, &have, FRAME_HEADER_SIZE);
        if (r < 0)
                return r;
        r = frame_parse(c->buf, have, &body, &body_size);
        if (r < 0)
                return -EPROTO;
        r = recv_until(c, &have, FRAME_HEADER_SIZE + body_size);
        if (r < 0)
                return r;
        /* One request in flight, so nothing may follow the reply. */
        if (have != FRAME_HEADER_SIZE + body_size)
                return -EPROTO;
        *ret_body_size = body_size;
        return 0;
}

static int transport_error(CvClient *c, int r) {
        char msg[ERROR_MESSAGE_SIZE_MAX];
        client_disconnect(c);
        switch (r) {
        case -ETIMEDOUT:
                return client_fail(c, r, "timeout", "no answer from credvaultd in time");
        case -EPROTO:
                return client_fail(c, r, "protocol", "credvaultd sent an invalid reply");
        default:
                snprintf(msg, sizeof(msg), "connection to credvaultd lost: %s", strerror(-r));
                return client_fail(c, r, "unreachable", msg);
        }
}

int client_call_raw(CvClient *c, json_t *request, json_t **ret_reply) {
        uint64_t id = c->next_id++;
        size_t body_size = 0;
        bool fresh = false;
        json_t *reply;
        json_error_t e;
        int r;

        c->error_code[0] = c->error_message[0] = '\0';
        if (!request)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        if (json_object_set_new(request, "v", json_integer(PROTO_VERSION)) < 0 ||
            json_object_set_new(request, "id", json_integer((json_int_t) id)) < 0) {
                json_wipe_decref(request);
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        }
        size_t n = json_dumpb(request, (char *) c->buf + FRAME_HEADER_SIZE, FRAME_BODY_MAX, JSON_COMPACT);
        json_wipe_decref(request);
        if (n == 0 || n > FRAME_BODY_MAX) {
                sodium_memzero(c->buf, FRAME_SIZE_MAX);
                return client_fail(c, -EMSGSIZE, "too_large", "request does not fit in a frame");
        }
        frame_header_write(c->buf, (uint32_t) n);

        if (c->fd < 0) {
                r = client_connect(c);
                if (r < 0) {
                        sodium_memzero(c->buf, FRAME_HEADER_SIZE + n);
                        return r;
                }
                fresh = true;
        }
        /* Keep a copy of the frame for one retry: a reused connection may
         * have been closed by the daemon as idle. */
        uint8_t *copy = fresh ? NULL : malloc(FRAME_HEADER_SIZE + n);
        if (copy)
                memcpy(copy, c->buf, FRAME_HEADER_SIZE + n);
        r = exchange(c, FRAME_HEADER_SIZE + n, &body_size);
        if ((r == -ECONNRESET || r == -EPIPE) && copy) {
                client_disconnect(c);
                memcpy(c->buf, copy, FRAME_HEADER_SIZE + n);
                r = client_connect(c);
                if (r >= 0)
                        r = exchange(c, FRAME_HEADER_SIZE + n, &body_size);
        }
        if (copy)
                cv_free_wiped(copy, FRAME_HEADER_SIZE + n);
        if (r < 0) {
                sodium_memzero(c->buf, FRAME_SIZE_MAX);
                return c->error_code[0] ? r : transport_error(c, r);
        }

        reply = json_loadb((const char *) c->buf + FRAME_HEADER_SIZE, body_size, JSON_REJECT_DUPLICATES, &e);
        sodium_memzero(c->buf, FRAME_HEADER_SIZE + body_size);
        json_t *jid = json_object_get(reply, "id"), *jok = json_object_get(reply, "ok");
        if (!json_is_object(reply) || !json_is_boolean(jok) ||
            (json_is_integer(jid) && (uint64_t) json_integer_value(jid) != id) ||
            (!json_is_integer(jid) && !json_is_null(jid))) {
                json_wipe_decref(reply);
                return transport_error(c, -EPROTO);
        }
        *ret_reply = reply;
        return 0;
}

int client_call(CvClient *c, json_t *request, json_t **ret_reply) {
        json_t *reply;
        int r = client_call_raw(c, request, &reply);
        if (r < 0)
                return r;
        json_t *jid = json_object_get(reply, "id");
        if (json_is_false(json_object_get(reply, "ok"))) {
                const char *code = "internal", *message = "";
                json_unpack(reply, "{s:{s?s s?s}}", "error", "code", &code, "message", &message);
                r = client_fail(c, error_errno_from_code(code), code, message);
                /* "id": null: the daemon could not read our frame, and may
                 * have closed the connection. */
                if (json_is_null(jid))
                        client_disconnect(c);
                json_wipe_decref(reply);
                return r;
        }
        if (!json_is_integer(jid)) {
                json_wipe_decref(reply);
                return transport_error(c, -EPROTO);
        }
        *ret_reply = reply;
        return 0;
}

void cv_free_wiped(void *p, size_t size) {
        if (!p)
                return;
        sodium_memzero(p, size == (size_t) -1 ? strlen(p) : size);
        free(p);
}
