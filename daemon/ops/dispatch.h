/* dispatch.h — one request frame in, one reply out.
 *
 * Owns: the handler of each op (what each op is, writes or reveals, is
 * proto's op table), the shape of every reply's head and of every error
 * reply, frame-level ones included, and the audit record of each request,
 * bad frame and refused connection. Never: socket I/O or framing; that is
 * the connection's. */
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
        uint64_t started_usec; /* CLOCK_MONOTONIC, as time_monotonic_usec() */
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
 * body, unframed) into out, finished (json_out_finish() done). body is
 * parsed in place. */
void dispatch_frame(Context *ctx, const Peer *peer, uint8_t *body, size_t body_size, JsonOut *out);

/* A frame that could not be cut from the stream: error is frame_parse()'s
 * -EMSGSIZE (declared length over the cap) or -EBADMSG (empty). Writes its
 * finished error reply and audits it. */
void dispatch_frame_error(Context *ctx, const Peer *peer, int error, JsonOut *out);

/* A connection refused before anything was read (over a connection cap):
 * writes the finished reply to send before closing, and audits it. */
void dispatch_refuse(Context *ctx, const Peer *peer, JsonOut *out);

/* Handlers (daemon/ops/handlers-*.c): each writes its answer's members into
 * reply (inside the object whose "id" and "ok" dispatch has written), or
 * returns a negative errno and fills f. */
typedef int (*Handler)(Context *ctx, const Request *req, JsonOut *reply, Failure *f);

_printf_(2, 3) int failure_set(Failure *f, const char *fmt, ...);

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
