/* dispatch.h — one request frame in, one reply out.
 *
 * Owns: the op table (op → handler, and what each op does: writes, reveals
 * a value), the shape of every reply's head and of error replies, and the
 * audit record of each request. Never: socket I/O or framing; that is the
 * connection's. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "json-out.h"
#include "peer.h"
#include "proto-limits.h"
#include "request.h"
#include "vault.h"

typedef struct Context {
        Vault *vault;
        uint64_t started_usec; /* CLOCK_MONOTONIC */
        unsigned n_connections;
} Context;

/* What a handler says about its failure, besides the errno: a message for
 * the client (never a value), and a retry hint where waiting helps. */
typedef struct Failure {
        char message[ERROR_MESSAGE_SIZE_MAX];
        int64_t retry_after_ms; /* -1: none */
        int64_t expires_at;     /* -1: none; for refresh_required */
} Failure;

/* Decode, check, run and audit one request, and write its reply (the JSON
 * body, unframed) into out. body is parsed in place. */
void dispatch_frame(Context *ctx, const Peer *peer, uint8_t *body, size_t body_size, JsonOut *out);

/* Write an error reply, e.g. for a frame that could not be decoded at all. */
void dispatch_error_reply(JsonOut *out, bool has_id, uint64_t id, int error, const Failure *f);

/* Handlers (daemon/handlers-*.c): each writes its answer's members into
 * reply (inside the object whose "id" and "ok" dispatch has written), or
 * returns a negative errno and fills f. */
typedef int (*Handler)(Context *ctx, const Request *req, JsonOut *reply, Failure *f);

_printf_(2, 3) int failure(Failure *f, const char *fmt, ...);

int handle_health(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_begin(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_commit(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_token_refresh_fail(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_generate(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_secret_verify(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_register(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_get(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_plugin_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_manifest_auth(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_oauth_verify_client(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_put(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_lookup(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_list(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
int handle_apikey_delete(Context *ctx, const Request *req, JsonOut *reply, Failure *f);
