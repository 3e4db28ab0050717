/* client.c — libcredvault's connection and call path (see credvault.h).
 *
 * One request at a time per client: build the JSON, frame it in the
 * client's buffer, send, read one frame back, check its id. Timeouts are
 * socket timeouts (SO_SNDTIMEO/SO_RCVTIMEO), so a call costs exactly one
 * send and usually one recv. Buffers that held a frame are wiped. */
#include <errno.h>
#include <limits.h>
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
#include "json-wipe.h"
#include "macro.h"
#include "request.h"
#include "secret-buf.h"
#include "time-util.h"
#include "utf8.h"

_Static_assert(CV_NAME_SIZE_MAX == NAME_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_USER_ID_SIZE_MAX == USER_ID_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_SECRET_VALUE_SIZE_MAX == SECRET_VALUE_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_SECRET_SIZE_MAX == TOKEN_SECRET_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_TYPE_SIZE_MAX == TOKEN_TYPE_SIZE_MAX, "credvault.h and proto-limits.h disagree");
_Static_assert(CV_TOKEN_SCOPE_SIZE_MAX == TOKEN_SCOPE_SIZE_MAX, "credvault.h and proto-limits.h disagree");

int client_fail(CvClient *c, int error, const char *code, const char *message) {
        /* Cut on a character boundary: the daemon's words (or whoever
         * answered) may be longer than the buffer, and a caller may put
         * them in JSON of its own. */
        snprintf(c->error_code, sizeof(c->error_code), "%.*s", (int) utf8_prefix_size(code, sizeof(c->error_code) - 1),
                 code);
        snprintf(c->error_message, sizeof(c->error_message), "%.*s",
                 (int) utf8_prefix_size(message, sizeof(c->error_message) - 1), message);
        return error;
}

int client_fail_protocol(CvClient *c, const char *what) {
        char msg[ERROR_MESSAGE_SIZE_MAX];
        snprintf(msg, sizeof(msg), "credvaultd sent an invalid reply: %s", what);
        return client_fail(c, -EPROTO, "protocol", msg);
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
        c->last_used = time_monotonic_ms();
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
        c->pass_fd = -1;
        c->next_id = 1;
        c->timeout_ms = timeout_ms ?: CV_TIMEOUT_DEFAULT_MS;
        c->socket_path = strdup(socket_path);
        c->out_buf = calloc(1, FRAME_SIZE_MAX);
        c->in_buf = calloc(1, FRAME_SIZE_MAX + 1);
        if (!c->socket_path || !c->out_buf || !c->in_buf) {
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
        if (c->out_buf)
                sodium_memzero(c->out_buf, FRAME_SIZE_MAX);
        if (c->in_buf)
                sodium_memzero(c->in_buf, FRAME_SIZE_MAX + 1);
        free(c->out_buf);
        free(c->in_buf);
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
                json_object_foreach(j, key, v)
                        json_wipe(v);
        else if (json_is_array(j))
                json_array_foreach(j, i, v)
                        json_wipe(v);
}

void client_json_wipe_decref(json_t *j) {
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

/* The request frame, with c->pass_fd (if any) passed on its first byte:
 * the daemon hands a descriptor to the request whose frame it came with. */
static int send_frame(CvClient *c, const uint8_t *p, size_t n) {
        if (c->pass_fd >= 0) {
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = (void *) p, .iov_len = n };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                memset(&control, 0, sizeof(control));
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &c->pass_fd, sizeof(int));
                mh.msg_controllen = CMSG_SPACE(sizeof(int));
                ssize_t k;
                do
                        k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                p += k;
                n -= (size_t) k;
        }
        return send_all(c, p, n);
}

/* Read until `want` bytes are in buf, having `have` already. */
static int recv_until(CvClient *c, size_t *have, size_t want) {
        while (*have < want) {
                ssize_t k = recv(c->fd, c->in_buf + *have, FRAME_SIZE_MAX - *have, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
                }
                /* EOF, kept apart from a reset: see client_exchange(). */
                if (k == 0)
                        return -ENOTCONN;
                *have += (size_t) k;
        }
        return 0;
}

/* One exchange on the current connection: the request is framed in
 * out_buf (frame_size bytes); the reply body is left in in_buf. */
static int exchange(CvClient *c, size_t frame_size, size_t *ret_body_size) {
        const uint8_t *body;
        size_t have = 0, body_size = 0;
        int r;

        int sent = send_frame(c, c->out_buf, frame_size);
        if (sent < 0 && sent != -EPIPE && sent != -ECONNRESET)
                return sent;
        /* Even when the daemon closed before reading our request, it may
         * have said why first (over a connection cap): read what it left. */
        r = recv_until(c, &have, FRAME_HEADER_SIZE);
        if (r < 0)
                return sent < 0 ? sent : r;
        /* With the header in, frame_parse() gives the body's length even
         * when the first read brought only part of the body. */
        r = frame_parse(c->in_buf, have, &body, &body_size);
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

/* Ops that change nothing (OP_RETRY_SAFE in proto's op table), and so may
 * be sent again after a broken connection. An unknown name (cv_call_json())
 * is not. */
static bool op_retry_safe(const char *op) {
        int o = op_from_string(op);
        return o >= 0 && (op_flags((Op) o) & OP_RETRY_SAFE);
}

JsonOut *client_request(CvClient *c, const char *op) {
        c->retry_safe = op_retry_safe(op);
        c->flat_depth = 0;
        c->error_code[0] = c->error_message[0] = '\0';
        c->retry_after_ms = -1;
        c->id = c->next_id++;
        json_out_init(&c->out, (char *) c->out_buf + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
        json_out_open_object(&c->out, NULL);
        json_out_int(&c->out, "v", PROTO_VERSION);
        json_out_int(&c->out, "id", (int64_t) c->id);
        json_out_cstring(&c->out, "op", op);
        return &c->out;
}

static void buffers_wipe(CvClient *c, size_t out_size, size_t in_size) {
        sodium_memzero(c->out_buf, out_size < FRAME_SIZE_MAX ? out_size : FRAME_SIZE_MAX);
        sodium_memzero(c->in_buf, in_size < FRAME_SIZE_MAX + 1 ? in_size : FRAME_SIZE_MAX + 1);
}

/* Whether the daemon closed this connection while it sat idle: a peek that
 * finds EOF. Only asked after a pause, as the daemon closes only idle
 * connections; a busy connection costs no extra system call. */
static bool connection_closed_while_idle(CvClient *c) {
        char b;
        if (time_monotonic_ms() - c->last_used < IDLE_CHECK_AFTER_MS)
                return false;
        ssize_t k = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        return k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR);
}

/* Frame and send what c->out holds, and read the reply body into in_buf
 * (NUL-terminated). A connection the daemon closed as idle is replaced
 * before sending. If it breaks after sending, only a request that changes
 * nothing is sent again: a write may have been carried out, and must not
 * be carried out twice. */
static int client_exchange(CvClient *c, size_t *ret_body_size) {
        bool fresh = false;
        int r;

        json_out_close_object(&c->out);
        if (json_out_finish(&c->out) < 0) {
                buffers_wipe(c, FRAME_SIZE_MAX, 0);
                return client_fail(c, -EMSGSIZE, "too_large", "request does not fit in a frame");
        }
        size_t frame_size = FRAME_HEADER_SIZE + c->out.size;
        frame_header_write(c->out_buf, (uint32_t) c->out.size);

        if (c->fd >= 0 && connection_closed_while_idle(c))
                client_disconnect(c);
        if (c->fd < 0) {
                r = client_connect(c);
                if (r < 0) {
                        buffers_wipe(c, frame_size, 0);
                        return r;
                }
                fresh = true;
        }
        r = exchange(c, frame_size, ret_body_size);
        /* A connection the daemon closed with our request unread (EPIPE on
         * send, ECONNRESET) carried nothing out: any request may go again.
         * EOF after the whole request was sent is ambiguous: only a
         * request that changes nothing may. */
        if (!fresh && (r == -EPIPE || r == -ECONNRESET || (r == -ENOTCONN && c->retry_safe))) {
                client_disconnect(c);
                r = client_connect(c);
                if (r >= 0)
                        r = exchange(c, frame_size, ret_body_size);
        }
        if (r == -ENOTCONN)
                r = -ECONNRESET; /* what credvault.h promises for a lost connection */
        sodium_memzero(c->out_buf, frame_size);
        if (r < 0) {
                buffers_wipe(c, 0, FRAME_SIZE_MAX + 1);
                return c->error_code[0] ? r : transport_error(c, r);
        }
        c->last_used = time_monotonic_ms();
        c->in_buf[FRAME_HEADER_SIZE + *ret_body_size] = '\0';
        return 0;
}

/* The error reply's code and message become the client's error. An error
 * object without a code and a message, or with a retry hint that is not a
 * number, says nothing a caller can act on: a protocol error. "id": null
 * means the daemon could not read our frame, and may have closed the
 * connection. */
static int reply_error(CvClient *c, json_t *reply) {
        json_t *error = json_object_get(reply, "error");
        json_t *code = json_object_get(error, "code"), *message = json_object_get(error, "message");
        json_t *retry = json_object_get(error, "retry_after_ms");
        bool id_null = json_is_null(json_object_get(reply, "id"));

        /* An empty code would leave the caller no error code to go by. */
        if (!json_is_string(code) || json_string_length(code) == 0 || !json_is_string(message) ||
            (retry && !json_is_integer(retry)))
                return transport_error(c, -EPROTO);
        int r = client_fail(c, error_errno_from_code(json_string_value(code)), json_string_value(code),
                            json_string_value(message));
        c->retry_after_ms = retry ? json_integer_value(retry) : -1;
        if (id_null)
                client_disconnect(c);
        return r;
}

/* The same for an error reply read in place. */
static int reply_error_flat(CvClient *c, const Reply *r, const FlatValue *error, bool id_null) {
        const FlatValue *code = json_flat_member(r->flat, r->n_flat, error, "code");
        const FlatValue *message = json_flat_member(r->flat, r->n_flat, error, "message");
        const FlatValue *retry = json_flat_member(r->flat, r->n_flat, error, "retry_after_ms");

        if (!code || code->type != FLAT_STRING || code->str_size == 0 || !message || message->type != FLAT_STRING ||
            (retry && retry->type != FLAT_INTEGER))
                return transport_error(c, -EPROTO);
        int e = client_fail(c, error_errno_from_code(code->str), code->str, message->str);
        c->retry_after_ms = retry ? retry->integer : -1;
        if (id_null)
                client_disconnect(c);
        return e;
}

int client_send(CvClient *c, Reply *ret) {
        size_t body_size = 0;
        char *body = (char *) c->in_buf + FRAME_HEADER_SIZE;
        int r;

        *ret = (Reply) { .client = c };
        r = client_exchange(c, &body_size);
        if (r < 0)
                return r;

        int n = json_flat_parse(body, body_size, ret->flat, c->flat_depth);
        if (n >= 0) {
                ret->n_flat = (size_t) n;
                ret->wipe_size = FRAME_HEADER_SIZE + body_size + 1;
                const FlatValue *id = json_flat_get(ret->flat, ret->n_flat, "id");
                const FlatValue *ok = json_flat_get(ret->flat, ret->n_flat, "ok");
                bool ours = id && id->type == FLAT_INTEGER && (uint64_t) id->integer == c->id;
                if (ours && ok && ok->type == FLAT_TRUE)
                        return 0;
                /* Read with nesting allowed, an error reply is flat too;
                 * one whose "error" is not an object is no error reply. */
                const FlatValue *error = json_flat_get(ret->flat, ret->n_flat, "error");
                if ((ours || (id && id->type == FLAT_NULL)) && ok && ok->type == FLAT_FALSE && error &&
                    error->type == FLAT_OBJECT) {
                        r = reply_error_flat(c, ret, error, id->type == FLAT_NULL);
                        client_reply_done(ret);
                        return r;
                }
                client_reply_done(ret);
                return transport_error(c, -EPROTO);
        }

        json_error_t e;
        json_t *reply = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &e);
        buffers_wipe(c, 0, FRAME_HEADER_SIZE + body_size + 1);
        json_t *jid = json_object_get(reply, "id"), *jok = json_object_get(reply, "ok");
        if (!json_is_object(reply) || !json_is_boolean(jok) ||
            (json_is_integer(jid) && (uint64_t) json_integer_value(jid) != c->id) ||
            (!json_is_integer(jid) && !json_is_null(jid)) || (json_is_true(jok) && !json_is_integer(jid))) {
                client_json_wipe_decref(reply);
                return transport_error(c, -EPROTO);
        }
        if (json_is_false(jok)) {
                r = reply_error(c, reply);
                client_json_wipe_decref(reply);
                return r;
        }
        ret->json = reply;
        return 0;
}

void client_reply_done(Reply *r) {
        if (!r->client)
                return;
        if (r->json)
                client_json_wipe_decref(r->json);
        else
                buffers_wipe(r->client, 0, r->wipe_size);
        *r = (Reply) {};
}

/* A member that is missing or of the wrong type. */
static int reply_member_invalid(const Reply *r, const char *key, const char *want) {
        char what[128];
        snprintf(what, sizeof(what), "member '%s' missing or not %s", key, want);
        return client_fail_protocol(r->client, what);
}

int client_reply_int(const Reply *r, const char *key, int64_t *ret) {
        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                if (!json_is_integer(v))
                        return reply_member_invalid(r, key, "an integer");
                *ret = json_integer_value(v);
                return 0;
        }
        const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
        if (!v || v->type != FLAT_INTEGER)
                return reply_member_invalid(r, key, "an integer");
        *ret = v->integer;
        return 0;
}

int client_reply_string(const Reply *r, const char *key, bool nullable, const char **ret, size_t *ret_size) {
        const char *s = NULL;
        size_t size = 0;

        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                if (json_is_string(v))
                        s = json_string_value(v), size = json_string_length(v);
                else if (!(nullable && json_is_null(v)))
                        return reply_member_invalid(r, key, "a string");
        } else {
                const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
                if (v && v->type == FLAT_STRING)
                        s = v->str, size = v->str_size;
                else if (!(nullable && v && v->type == FLAT_NULL))
                        return reply_member_invalid(r, key, "a string");
        }
        *ret = s;
        if (ret_size)
                *ret_size = size;
        return 0;
}

int client_reply_bool(const Reply *r, const char *key, bool *ret) {
        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                if (!json_is_boolean(v))
                        return reply_member_invalid(r, key, "a boolean");
                *ret = json_is_true(v);
                return 0;
        }
        const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
        if (!v || (v->type != FLAT_TRUE && v->type != FLAT_FALSE))
                return reply_member_invalid(r, key, "a boolean");
        *ret = v->type == FLAT_TRUE;
        return 0;
}

int client_reply_meta(const Reply *r, int64_t *ret_version, int64_t *ret_created, int64_t *ret_updated) {
        int64_t version, created, updated;
        int e = client_reply_int(r, "version", &version);
        if (e >= 0)
                e = client_reply_int(r, "created", &created);
        if (e >= 0)
                e = client_reply_int(r, "updated", &updated);
        if (e < 0)
                return e;
        *ret_version = version;
        *ret_created = created;
        *ret_updated = updated;
        return 0;
}

json_t *client_reply_json(const Reply *r, const char *key) {
        return r->json ? json_object_get(r->json, key) : NULL;
}

/* Whether body is a reply to the request in flight, as client_send() takes
 * one: one JSON object (so valid UTF-8, and without a NUL byte, which
 * would stop the caller's cv_free_wiped(p, (size_t) -1) short), "ok" a
 * boolean, "id" ours (or null on an error reply). body is read in place:
 * it is no longer JSON afterwards. */
static bool reply_text_valid(CvClient *c, char *body, size_t size, bool *ret_failed) {
        FlatValue flat[FLAT_FIELDS_MAX];

        if (memchr(body, '\0', size))
                return false;
        int n = json_flat_parse(body, size, flat, 1);
        if (n >= 0) {
                const FlatValue *id = json_flat_get(flat, (size_t) n, "id");
                const FlatValue *ok = json_flat_get(flat, (size_t) n, "ok");
                if (!id || !ok || (ok->type != FLAT_TRUE && ok->type != FLAT_FALSE))
                        return false;
                *ret_failed = ok->type == FLAT_FALSE;
                return (id->type == FLAT_INTEGER && (uint64_t) id->integer == c->id) ||
                       (id->type == FLAT_NULL && ok->type == FLAT_FALSE);
        }
        json_t *reply = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
        json_t *id = json_object_get(reply, "id"), *ok = json_object_get(reply, "ok");
        bool valid = json_is_object(reply) && json_is_boolean(ok) &&
                     ((json_is_integer(id) && (uint64_t) json_integer_value(id) == c->id) ||
                      (json_is_null(id) && json_is_false(ok)));
        *ret_failed = json_is_false(ok);
        client_json_wipe_decref(reply);
        return valid;
}

int client_call_text(CvClient *c, json_t *request, char **ret_text) {
        size_t body_size = 0;
        int r;

        JsonOut *o = client_request(c, "");
        /* The caller's members follow v and id; its "op" replaces ours. */
        json_out_reset(o);
        json_out_open_object(o, NULL);
        json_out_int(o, "v", PROTO_VERSION);
        json_out_int(o, "id", (int64_t) c->id);
        const char *key;
        json_t *v;
        json_object_foreach(request, key, v) {
                if (strcmp(key, "v") != 0 && strcmp(key, "id") != 0)
                        json_out_json(o, key, v);
        }
        client_json_wipe_decref(request);
        r = client_exchange(c, &body_size);
        if (r < 0)
                return r;
        char *text = malloc(body_size + 1);
        if (text)
                memcpy(text, c->in_buf + FRAME_HEADER_SIZE, body_size + 1);
        /* Checked in the buffer (read in place, which changes it) after
         * the copy is taken. */
        bool failed = false;
        bool valid = reply_text_valid(c, (char *) c->in_buf + FRAME_HEADER_SIZE, body_size, &failed);
        buffers_wipe(c, 0, FRAME_HEADER_SIZE + body_size + 1);
        if (!valid) {
                cv_free_wiped(text, body_size);
                return transport_error(c, -EPROTO);
        }
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        /* An error reply is the caller's to read, and, as after any call,
         * cv_client_error_code() and _message() say what it was (an error
         * object that is not one is a protocol error there). */
        if (failed) {
                json_t *reply = json_loadb(text, body_size, 0, NULL);
                (void) reply_error(c, reply);
                client_json_wipe_decref(reply);
        }
        *ret_text = text;
        return (int) body_size;
}

void cv_free_wiped(void *p, size_t size) {
        if (!p)
                return;
        sodium_memzero(p, size == (size_t) -1 ? strlen(p) : size);
        free(p);
}

int64_t cv_client_retry_after_ms(const CvClient *c) {
        return c ? c->retry_after_ms : -1;
}

int client_check_name(CvClient *c, const char *field, const char *value) {
        char msg[ERROR_MESSAGE_SIZE_MAX];
        if (value && request_check_name(value) >= 0)
                return 0;
        snprintf(msg, sizeof(msg), "%s: 1 to 128 characters of A-Z a-z 0-9 _ . : @ -", field);
        return client_fail(c, -EINVAL, "bad_request", msg);
}

int client_check_user(CvClient *c, const char *user) {
        if (user && request_check_user_id(user) >= 0)
                return 0;
        return client_fail(c, -EINVAL, "bad_request", "user: 1 to 256 bytes without control characters");
}

int client_check_plugin_user(CvClient *c, const char *plugin, const char *user) {
        int r = client_check_name(c, "plugin", plugin);
        return r < 0 ? r : client_check_user(c, user);
}

int client_request_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key,
                          JsonOut **ret) {
        int r = client_check_name(c, "plugin", plugin);
        if (r >= 0 && key_field)
                r = strcmp(key_field, "user") == 0 ? client_check_user(c, key) : client_check_name(c, key_field, key);
        if (r < 0)
                return r;
        JsonOut *o = client_request(c, op);
        json_out_cstring(o, "plugin", plugin);
        if (key_field)
                json_out_cstring(o, key_field, key);
        *ret = o;
        return 0;
}

int client_delete_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key) {
        Reply reply;
        JsonOut *o;
        int r = client_request_record(c, op, plugin, key_field, key, &o);
        if (r >= 0)
                r = client_send(c, &reply);
        if (r < 0)
                return r;
        client_reply_done(&reply);
        return 0;
}

int client_send_for_version(CvClient *c, int64_t *ret_version) {
        Reply reply;
        int64_t version;
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        r = client_reply_int(&reply, "version", &version);
        client_reply_done(&reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = version;
        return 0;
}

int client_json_int(json_t *obj, const char *key, int64_t *ret) {
        json_t *v = json_object_get(obj, key);
        if (!json_is_integer(v))
                return -EPROTO;
        *ret = json_integer_value(v);
        return 0;
}

int client_json_strdup(json_t *obj, const char *key, bool nullable, char **ret) {
        json_t *v = json_object_get(obj, key);
        if (!json_is_string(v)) {
                if (!nullable || !json_is_null(v))
                        return -EPROTO;
                *ret = NULL;
                return 0;
        }
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

int client_json_meta(json_t *obj, int64_t *ret_version, int64_t *ret_created, int64_t *ret_updated) {
        int r = client_json_int(obj, "version", ret_version);
        if (r >= 0)
                r = client_json_int(obj, "created", ret_created);
        return r < 0 ? r : client_json_int(obj, "updated", ret_updated);
}

int client_out_value(CvClient *c, JsonOut *o, const char *key, const void *value, size_t size) {
        _cleanup_(secret_buf_freep) SecretBuf *b64 = NULL;
        if (size > CV_SECRET_VALUE_SIZE_MAX)
                return client_fail(c, -EMSGSIZE, "too_large", "value over 32768 bytes");
        int r = secret_buf_to_base64(value, size, &b64);
        if (r < 0)
                return client_fail(c, r, "internal", "out of memory");
        json_out_string_plain(o, key, (const char *) b64->data, b64->size);
        return 0;
}

_Static_assert(LIST_ITEMS_MAX == 10000000 && LIST_ITEMS_MAX <= INT_MAX,
               "the message in client_list_all() and the int count");

/* A list item's key, as the daemon forms its cursor from the last item of
 * a page: "plugin/name" for secret.list, "user" for token.list and
 * apikey.list, "plugin" for plugin.list. NULL if the item has no such key
 * (add() has then already refused it) or on ENOMEM (*ret_enomem set). */
static char *list_item_key(json_t *item, ListKey key, bool *ret_enomem) {
        const char *field = key == LIST_KEY_USER ? "user" : key == LIST_KEY_PLUGIN ? "plugin" : "name";
        json_t *v = json_object_get(item, field);
        char *s = NULL;
        if (!json_is_string(v))
                return NULL;
        if (key != LIST_KEY_PLUGIN_NAME)
                s = strdup(json_string_value(v));
        else {
                json_t *p = json_object_get(item, "plugin");
                if (!json_is_string(p))
                        return NULL;
                if (asprintf(&s, "%s/%s", json_string_value(p), json_string_value(v)) < 0)
                        s = NULL;
        }
        if (!s)
                *ret_enomem = true;
        return s;
}

/* Cursors in the daemon's order: "plugin/name" by plugin, then by name
 * (the store's ORDER BY plugin, name; '/' is in neither alphabet, and '-'
 * and '.' sort before it, so the whole strings would compare otherwise);
 * any other byte-wise, as SQLite's BINARY collation does. */
static int list_cursor_cmp(ListKey key, const char *a, const char *b) {
        if (key == LIST_KEY_PLUGIN_NAME) {
                size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
                int d = memcmp(a, b, na < nb ? na : nb);
                if (d != 0)
                        return d;
                if (na != nb)
                        return na < nb ? -1 : 1;
                a += na + (a[na] == '/');
                b += nb + (b[nb] == '/');
        }
        return strcmp(a, b);
}

int client_list_all(CvClient *c, const char *op, const char *plugin, const char *items_key, ListKey key,
                    size_t item_size, ListAdd add, void (*free_all)(void *items, size_t n),
                    void (*extra)(JsonOut *o, const void *userdata), const void *userdata, void **ret_items) {
        char *after = NULL;
        void *items = NULL;
        size_t n = 0;
        int r = 0;

        for (;;) {
                JsonOut *o = client_request(c, op);
                Reply reply;
                if (plugin)
                        json_out_cstring(o, "plugin", plugin);
                if (after)
                        json_out_cstring(o, "after", after);
                if (extra)
                        extra(o, userdata);
                r = client_send(c, &reply);
                if (r < 0)
                        break;

                /* An array of items, and "next": a cursor or null. A page
                 * that is empty yet says more follow would be asked for
                 * again without end; so would one whose cursor does not
                 * move forward. */
                json_t *array = client_reply_json(&reply, items_key), *item;
                json_t *next = client_reply_json(&reply, "next");
                size_t i;
                if (!json_is_array(array) || !(json_is_string(next) || json_is_null(next)) ||
                    (json_is_string(next) && json_array_size(array) == 0)) {
                        client_reply_done(&reply);
                        r = client_fail_protocol(c, "not a list page");
                        break;
                }
                if (json_array_size(array) > LIST_ITEMS_MAX - n) {
                        client_reply_done(&reply);
                        r = client_fail_protocol(c, "a list of more than 10000000 items");
                        break;
                }
                void *grown = realloc(items, (n + json_array_size(array) + 1) * item_size);
                if (!grown) {
                        client_reply_done(&reply);
                        r = client_fail(c, -ENOMEM, "internal", "out of memory");
                        break;
                }
                items = grown;
                json_array_foreach(array, i, item) {
                        /* Counted before it is filled: what add() leaves
                         * in a half-filled entry is freed with the rest. */
                        void *entry = (char *) items + n++ * item_size;
                        memset(entry, 0, item_size);
                        r = json_is_object(item) ? add(item, entry) : -EPROTO;
                        if (r < 0)
                                break;
                }
                /* The next cursor is the last item's key, as the daemon
                 * forms it, and sorts strictly after the one asked with. */
                bool cursor_bad = false;
                if (r >= 0 && json_is_string(next)) {
                        bool enomem = false;
                        char *last = list_item_key(json_array_get(array, json_array_size(array) - 1), key, &enomem);
                        const char *cursor = json_string_value(next);
                        if (enomem)
                                r = -ENOMEM;
                        else if (!last || strcmp(last, cursor) != 0 ||
                                 (after && list_cursor_cmp(key, cursor, after) <= 0))
                                cursor_bad = true;
                        free(last);
                }
                free(after);
                after = NULL;
                if (r >= 0 && !cursor_bad && json_is_string(next) && !(after = strdup(json_string_value(next))))
                        r = -ENOMEM;
                client_reply_done(&reply);
                if (cursor_bad) {
                        r = client_fail_protocol(
                                c, "a list page's next cursor is not its last item's key, after the previous cursor");
                        break;
                }
                if (r < 0) {
                        r = r == -ENOMEM
                                    ? client_fail(c, r, "internal", "out of memory")
                                    : client_fail_protocol(c, "a list item lacks a member or has one of another type");
                        break;
                }
                if (!after)
                        break;
        }
        free(after);
        if (r < 0) {
                free_all(items, n);
                return r;
        }
        if (!items && !(items = calloc(1, item_size)))
                return client_fail(c, -ENOMEM, "internal", "out of memory");
        *ret_items = items;
        return (int) n; /* n <= LIST_ITEMS_MAX <= INT_MAX */
}

void cv_json_wipe_on_free(void) {
        json_wipe_install();
}
