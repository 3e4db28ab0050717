/* dispatch.h — one request frame in, one reply object out.
 *
 * Owns: the op table (op → handler, and what each op does: writes, reveals
 * a value), the shape of error replies, and the audit record of each
 * request. Never: socket I/O or framing; that is the connection's. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "peer.h"
#include "request.h"
#include "vault.h"

typedef struct Context {
        Vault *vault;
        uint64_t started_usec;  /* CLOCK_MONOTONIC */
        unsigned n_connections;
} Context;

/* Decode, check, run and audit one request. Returns the reply (never NULL
 * except when out of memory); bad input gets an error reply. */
json_t *dispatch_frame(Context *ctx, const Peer *peer, const uint8_t *body, size_t body_size);

/* An error reply for a frame that could not be decoded at all (zero
 * length, over the limit). */
json_t *dispatch_error_reply(bool has_id, uint64_t id, int error, const char *message);

/* Handlers, one per op (daemon/handlers.c). They add their answer's fields
 * to reply, or return a negative errno with a message in errbuf (never a
 * value). */
typedef int (*Handler)(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_health(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_secret_put(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_secret_get(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_secret_list(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_secret_delete(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_token_put(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_token_get(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_token_list(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
int handle_token_delete(Context *ctx, const Request *req, json_t *reply, char *errbuf, size_t errbuf_size);
