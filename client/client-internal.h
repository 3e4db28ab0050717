/* client-internal.h — what the library's files share and nothing exports.
 *
 * Owns: the CvClient structure and the one call path (client_call) that
 * every operation goes through. */
#pragma once

#include <jansson.h>

#include "credvault.h"
#include "proto-limits.h"

struct CvClient {
        char *socket_path;
        int fd;              /* -1 while disconnected */
        int timeout_ms;
        uint64_t next_id;
        uint8_t *buf;        /* one frame: requests are built and replies read here */
        char error_code[32];
        char error_message[ERROR_MESSAGE_SIZE_MAX];
};

/* Send request (consumed, wiped) and wait for its reply. On success
 * *ret_reply is the reply object with "ok": true; an error reply becomes a
 * negative errno with the client's error fields set. */
int client_call(CvClient *c, json_t *request, json_t **ret_reply);
/* The same, but an error reply is returned as a reply (the transport
 * worked); only transport failures are errors. */
int client_call_raw(CvClient *c, json_t *request, json_t **ret_reply);

/* Record a failure the library found itself (bad argument, transport). */
int client_fail(CvClient *c, int error, const char *code, const char *message);

/* Overwrite every string in a JSON tree, then drop the reference: replies
 * and requests may carry values, and jansson's free does not wipe. */
void json_wipe_decref(json_t *j);
