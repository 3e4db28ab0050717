/* json-flat.h — a fast reader for the common shape of a protocol message.
 *
 * Owns: recognising a flat JSON object (string values without escapes,
 * integers, true, false, null) without building a tree, in place. Most
 * requests and the hot replies (secret.get) have this shape, and a jansson
 * tree costs more than the rest of a secret.get together.
 *
 * It accepts a strict subset of what jansson accepts, never more: nested
 * values, escapes, fractions, exponents, duplicate keys, invalid UTF-8,
 * control characters, integers out of range all return -ENOTSUP, and the
 * caller parses with jansson instead, which then gives the precise error.
 * Never: allocates. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FLAT_FIELDS_MAX 16

typedef enum FlatType {
        FLAT_STRING,
        FLAT_INTEGER,
        FLAT_TRUE,
        FLAT_FALSE,
        FLAT_NULL,
} FlatType;

typedef struct FlatValue {
        const char *key; /* NUL-terminated, inside text */
        size_t key_size;
        FlatType type;
        const char *str; /* FLAT_STRING: NUL-terminated, inside text */
        size_t str_size;
        int64_t integer; /* FLAT_INTEGER */
} FlatValue;

/* Parse text[0..size) as one flat object. On success returns the number of
 * members (0..FLAT_FIELDS_MAX) in ret[], and has written a NUL over the
 * closing quote of every key and string so they can be used as C strings:
 * text is no longer JSON afterwards. On -ENOTSUP text is unchanged. */
int json_flat_parse(char *text, size_t size, FlatValue ret[static FLAT_FIELDS_MAX]);

/* The value of key, or NULL. */
const FlatValue *json_flat_get(const FlatValue *values, size_t n, const char *key);
