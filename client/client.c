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
#include "json-wipe.h"
#include "macro.h"
#include "request.h"
#include "secret-buf.h"
#include "time-util.h"

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

        int sent = send_all(c, c->out_buf, frame_size);
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

/* The error reply's code and message become the client's error. */
static int reply_error(CvClient *c, json_t *reply) {
        const char *code = "internal", *message = "";
        json_int_t retry = -1;
        json_unpack(reply, "{s:{s?s s?s s?I}}", "error", "code", &code, "message", &message, "retry_after_ms", &retry);
        int r = client_fail(c, error_errno_from_code(code), code, message);
        c->retry_after_ms = retry;
        /* "id": null: the daemon could not read our frame, and may have
         * closed the connection. */
        if (json_is_null(json_object_get(reply, "id")))
                client_disconnect(c);
        return r;
}

/* The same for an error reply read in place. */
static int reply_error_flat(CvClient *c, const Reply *r, const FlatValue *error, bool id_null) {
        const FlatValue *code = json_flat_member(r->flat, r->n_flat, error, "code");
        const FlatValue *message = json_flat_member(r->flat, r->n_flat, error, "message");
        const FlatValue *retry = json_flat_member(r->flat, r->n_flat, error, "retry_after_ms");
        const char *code_s = code && code->type == FLAT_STRING ? code->str : "internal";
        int e = client_fail(c, error_errno_from_code(code_s), code_s,
                            message && message->type == FLAT_STRING ? message->str : "");
        c->retry_after_ms = retry && retry->type == FLAT_INTEGER ? retry->integer : -1;
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
                /* Read with nesting allowed, an error reply is flat too. */
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

int64_t client_reply_int(const Reply *r, const char *key, int64_t missing) {
        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                return json_is_integer(v) ? (int64_t) json_integer_value(v) : missing;
        }
        const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
        return v && v->type == FLAT_INTEGER ? v->integer : missing;
}

const char *client_reply_string(const Reply *r, const char *key, size_t *ret_size) {
        if (r->json) {
                json_t *v = json_object_get(r->json, key);
                if (!json_is_string(v))
                        return NULL;
                if (ret_size)
                        *ret_size = json_string_length(v);
                return json_string_value(v);
        }
        const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
        if (!v || v->type != FLAT_STRING)
                return NULL;
        if (ret_size)
                *ret_size = v->str_size;
        return v->str;
}

bool client_reply_bool(const Reply *r, const char *key) {
        if (r->json)
                return json_is_true(json_object_get(r->json, key));
        const FlatValue *v = json_flat_get(r->flat, r->n_flat, key);
        return v && v->type == FLAT_TRUE;
}

json_t *client_reply_json(const Reply *r, const char *key) {
        return r->json ? json_object_get(r->json, key) : NULL;
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
        buffers_wipe(c, 0, FRAME_HEADER_SIZE + body_size + 1);
        if (!text)
                return client_fail(c, -ENOMEM, "internal", "out of memory");
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
        int r = client_send(c, &reply);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = client_reply_int(&reply, "version", 0);
        client_reply_done(&reply);
        return 0;
}

char *client_json_strdup(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
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

int client_list_all(CvClient *c, const char *op, const char *plugin, const char *items_key, size_t item_size,
                    ListAdd add, void (*free_all)(void *items, size_t n),
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

                json_t *array = client_reply_json(&reply, items_key), *item;
                size_t i;
                void *grown =
                        json_is_array(array) ? realloc(items, (n + json_array_size(array) + 1) * item_size) : NULL;
                if (!grown) {
                        r = json_is_array(array) ? client_fail(c, -ENOMEM, "internal", "out of memory")
                                                 : client_fail(c, -EPROTO, "protocol", "invalid list reply");
                        client_reply_done(&reply);
                        break;
                }
                items = grown;
                json_array_foreach(array, i, item) {
                        memset((char *) items + n * item_size, 0, item_size);
                        r = add(item, (char *) items + n * item_size);
                        if (r < 0)
                                break;
                        n++;
                }
                free(after);
                after = client_json_strdup(reply.json, "next");
                client_reply_done(&reply);
                if (r < 0) {
                        r = client_fail(c, r, "protocol", "invalid list reply");
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
        if (!items)
                items = calloc(1, item_size);
        *ret_items = items;
        return (int) n;
}

void cv_json_wipe_on_free(void) {
        json_wipe_install();
}
