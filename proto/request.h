/* request.h — strict decoding of one request frame into a typed Request.
 *
 * Owns: the schema of every operation: which fields, which types, which
 * lengths and characters. A Request that decodes is fully checked; handlers
 * never look at JSON again except for the validated token object.
 * Never: I/O, crypto, storage, logging. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret-buf.h"

typedef enum Op {
        OP_HEALTH,
        OP_SECRET_PUT,
        OP_SECRET_GET,
        OP_SECRET_LIST,
        OP_SECRET_DELETE,
        OP_TOKEN_PUT,
        OP_TOKEN_GET,
        OP_TOKEN_LIST,
        OP_TOKEN_DELETE,
        _OP_MAX,
} Op;

typedef struct Request {
        json_t *root;          /* owns every borrowed string below */
        bool has_id;           /* false: the answer carries "id": null */
        uint64_t id;
        Op op;                 /* _OP_MAX until the op is known */
        const char *plugin;    /* NULL when absent (secret.list over all) */
        const char *name;
        const char *user;
        const char *after;     /* list cursor, NULL for the first page */
        unsigned limit;        /* list page size, 1..LIST_PAGE_MAX */
        SecretBuf *value;      /* secret.put: the decoded value, owned */
        json_t *token;         /* token.put: the checked token set, borrowed */
        bool has_expires_at;
        int64_t expires_at;    /* token.put: copied out of token */
} Request;

/* Decode and check one frame body. On failure returns -EBADMSG (bad shape or
 * values) or -EOPNOTSUPP (unknown op), writes a message naming the problem
 * (never a value) into errbuf, and still fills ret->has_id / ret->id where
 * the id could be read. Call request_done() on ret in every case. */
int request_decode(const uint8_t *body, size_t body_size, Request *ret, char *errbuf, size_t errbuf_size);
void request_done(Request *r);

const char *op_to_string(Op op);
/* -EOPNOTSUPP for an unknown name. */
int op_from_string(const char *s);

/* Checks shared with the client library: name charset and length, user id
 * characters and length. Return 0 or -EINVAL. */
int name_check(const char *s);
int user_id_check(const char *s);
/* A token set object as token.put takes it; fills *ret_expires_at when the
 * set has expires_at. -EBADMSG with a message naming the field. */
int token_set_check(json_t *token, bool *ret_has_expires_at, int64_t *ret_expires_at, char *errbuf,
                    size_t errbuf_size);
