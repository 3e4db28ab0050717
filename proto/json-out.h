/* json-out.h — writing a protocol message straight into a frame buffer.
 *
 * Owns: JSON output without a tree: objects, arrays, strings (escaped),
 * integers, booleans, null, and an embedded jansson value where a message
 * carries one (a token set). Writing stops at the buffer's end and marks the
 * output as overflowed, so a caller checks once at the end. Strings must be
 * valid UTF-8, which every string the protocol carries has been checked to
 * be. Never: allocates. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_OUT_DEPTH_MAX 8

typedef struct JsonOut {
        char *buf;
        size_t size, capacity;
        bool overflow;
        unsigned depth;
        bool need_comma[JSON_OUT_DEPTH_MAX];
} JsonOut;

void json_out_init(JsonOut *o, char *buf, size_t capacity);
/* Forget what was written (wiping it: it may have held a value). */
void json_out_reset(JsonOut *o);

/* In an object, key names the member; in an array, pass NULL. */
void json_out_open_object(JsonOut *o, const char *key);
void json_out_close_object(JsonOut *o);
void json_out_open_array(JsonOut *o, const char *key);
void json_out_close_array(JsonOut *o);
void json_out_string(JsonOut *o, const char *key, const char *s, size_t size);
void json_out_cstring(JsonOut *o, const char *key, const char *s); /* NULL writes null */
/* A string known to need no escaping (base64 text: letters, digits, + / =
 * - _), written without looking at each byte. */
void json_out_string_plain(JsonOut *o, const char *key, const char *s, size_t size);
void json_out_int(JsonOut *o, const char *key, int64_t v);
void json_out_bool(JsonOut *o, const char *key, bool v);
void json_out_null(JsonOut *o, const char *key);
void json_out_json(JsonOut *o, const char *key, const json_t *v);
/* Text that is already one valid JSON value (e.g. a stored token set the
 * daemon wrote itself and authenticated on reading). */
void json_out_raw(JsonOut *o, const char *key, const char *json, size_t size);

/* 0, or -EMSGSIZE if the output did not fit. */
int json_out_finish(const JsonOut *o);
