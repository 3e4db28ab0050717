/* client-internal.h — what the library's files share and nothing exports.
 *
 * Owns: the CvClient structure and the one call path (client_call) that
 * every operation goes through. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "credvault.h"
#include "json-flat.h"
#include "json-out.h"
#include "proto-limits.h"

struct CvClient {
        char *socket_path;
        int fd; /* -1 while disconnected */
        int timeout_ms;
        uint64_t next_id;
        uint64_t id;      /* of the request being built */
        uint8_t *out_buf; /* the request frame being built and sent */
        uint8_t *in_buf;  /* the reply frame */
        JsonOut out;
        char error_code[32];
        char error_message[ERROR_MESSAGE_SIZE_MAX];
        int64_t retry_after_ms;
        bool retry_safe;     /* the request being built changes nothing (OP_RETRY_SAFE) */
        unsigned flat_depth; /* nesting the reply may be read in place with: 0 or 1 */
        uint64_t last_used;  /* CLOCK_MONOTONIC ms of the last exchange */
        /* A descriptor to pass (SCM_RIGHTS) with the request being sent,
         * on its first byte; -1 if none. The caller's: never closed here. */
        int pass_fd;
};

/* After this long unused, check that the daemon has not closed the
 * connection before sending on it. */
#define IDLE_CHECK_AFTER_MS 1000

/* A reply with "ok": true. A flat reply (the common case) is read in place
 * in the client's buffer, without a tree; any other in a jansson tree. */
typedef struct Reply {
        CvClient *client;
        FlatValue flat[FLAT_FIELDS_MAX];
        size_t n_flat;
        json_t *json;     /* NULL for a flat reply */
        size_t wipe_size; /* flat reply: bytes of in_buf to wipe */
} Reply;

/* Start a request: {"v":1,"id":N,"op":OP — add members to the returned
 * writer, then client_send(). The reply is read in place if it is flat; an
 * op whose caller reads a nested object from a flat reply (token.get) sets
 * c->flat_depth = 1 after this call. */
JsonOut *client_request(CvClient *c, const char *op);
/* Send the request built and read its reply. An error reply becomes a
 * negative errno with the client's error fields set. Call
 * client_reply_done() on success. Both buffers are wiped by the time
 * client_reply_done() returns. */
int client_send(CvClient *c, Reply *ret);
void client_reply_done(Reply *r);

/* Reply members, type-checked: every member a call reads goes through one
 * of these, so a reply from a buggy daemon (or whoever holds the socket
 * path) that lacks a member or has one of another type is a clean
 * -EPROTO ("protocol" set as the client's error), never a silent default.
 * A string stays in the reply: copy it before client_reply_done(). */
int client_reply_int(const Reply *r, const char *key, int64_t *ret);
/* nullable: null gives *ret NULL (e.g. apikey.lookup's user); absent is
 * still an error. */
int client_reply_string(const Reply *r, const char *key, bool nullable, const char **ret, size_t *ret_size);
int client_reply_bool(const Reply *r, const char *key, bool *ret);
/* version, created and updated, which every reply about a record has. */
int client_reply_meta(const Reply *r, int64_t *ret_version, int64_t *ret_created, int64_t *ret_updated);
/* A member that is an object or array (only non-flat replies have any);
 * NULL if absent. */
json_t *client_reply_json(const Reply *r, const char *key);
/* The reply did not say what the protocol says it must: -EPROTO with the
 * error "protocol" and a message saying what was wrong. */
int client_fail_protocol(CvClient *c, const char *what);

/* Send a request given as a jansson object (consumed) and return the whole
 * reply as text, error replies included; for cv_call_json(). */
int client_call_text(CvClient *c, json_t *request, char **ret_text);

/* Record a failure the library found itself (bad argument, transport). */
int client_fail(CvClient *c, int error, const char *code, const char *message);

/* Overwrite every string in a JSON tree, then drop the reference: replies
 * and requests may carry values, and jansson's free does not wipe. */
void client_json_wipe_decref(json_t *j);

/* Argument checks with the daemon's own rules (proto/request.c), so a bad
 * argument fails before anything is sent. 0 or -EINVAL with the error set. */
int client_check_name(CvClient *c, const char *field, const char *value);
int client_check_user(CvClient *c, const char *user);
int client_check_plugin_user(CvClient *c, const char *plugin, const char *user);

/* Send the request built and hand back the "version" of the record it
 * wrote (ret_version may be NULL). */
int client_send_for_version(CvClient *c, int64_t *ret_version);

/* Walk every page of a list op. `add` turns one item of the reply's
 * items_key array (an object) into the caller's array entry, zeroed
 * before; it returns -EPROTO or -ENOMEM for an item it cannot take, and
 * what it allocated for that entry is freed with the rest by free_all.
 * extra (may be NULL) adds members to each page's request. Returns the
 * count; on failure nothing is left allocated. */
typedef int (*ListAdd)(json_t *item, void *entry);
/* The key of a list item, which the daemon makes the "next" cursor of a
 * page from its last item: secret.list "plugin/name" (the item's plugin
 * and name), token.list and apikey.list the item's user, plugin.list the
 * item's plugin (the name). A page whose "next" is not its last item's
 * key, or does not sort strictly after the cursor the page was asked
 * with, is -EPROTO: otherwise a daemon (or whoever holds the socket path)
 * could keep the walk going forever. */
typedef enum ListKey {
        LIST_KEY_PLUGIN_NAME,
        LIST_KEY_USER,
        LIST_KEY_PLUGIN,
} ListKey;
/* A walk stops with -EPROTO ("protocol") past this many items in all; the
 * count is returned as an int. At some 100 bytes an item, 10 million
 * items are about 1 GB: no vault is near that, and a daemon handing out
 * pages with ever-larger cursors cannot grow the caller beyond it. */
#define LIST_ITEMS_MAX 10000000
int client_list_all(CvClient *c, const char *op, const char *plugin, const char *items_key, ListKey key,
                    size_t item_size, ListAdd add, void (*free_all)(void *items, size_t n),
                    void (*extra)(JsonOut *o, const void *userdata), const void *userdata, void **ret_items);

/* Members of a JSON object (a list item), type-checked: -EPROTO if absent
 * or of another type (nullable: null gives *ret NULL), -ENOMEM.
 * They set no error: client_list_all() says what failed. */
int client_json_int(json_t *obj, const char *key, int64_t *ret);
int client_json_strdup(json_t *obj, const char *key, bool nullable, char **ret);
int client_json_meta(json_t *obj, int64_t *ret_version, int64_t *ret_created, int64_t *ret_updated);
/* A value as base64, into the request; -EMSGSIZE over the value limit. */
int client_out_value(CvClient *c, JsonOut *o, const char *key, const void *value, size_t size);
/* Check a plugin and the key of one of its records with the daemon's rules
 * (key_field "user": a user id; any other a name; NULL: the plugin alone),
 * then start op with "plugin" and key_field as its first members. 0 and
 * *ret the writer for more members, or -EINVAL with the error set and
 * nothing started. */
int client_request_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key,
                          JsonOut **ret);
/* A delete op of one record (see client_request_record()), the whole
 * call. */
int client_delete_record(CvClient *c, const char *op, const char *plugin, const char *key_field, const char *key);

/* A CvSecret from a reply's base64 value (ops-secret.c): a protocol error
 * for text that is not base64; the decoded copy is wiped. */
int client_secret_new(CvClient *c, const char *b64, size_t b64_size, int64_t version, int64_t created, int64_t updated,
                      CvSecret **ret);
