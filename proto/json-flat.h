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

/* Members in all, nested ones included. */
#define FLAT_FIELDS_MAX 32
/* The parent of a top-level member. */
#define FLAT_TOP ((size_t) -1)

typedef enum FlatType {
        FLAT_STRING,
        FLAT_INTEGER,
        FLAT_TRUE,
        FLAT_FALSE,
        FLAT_NULL,
        FLAT_OBJECT, /* only with max_depth > 0 */
} FlatType;

typedef struct FlatValue {
        const char *key; /* NUL-terminated, inside text */
        size_t key_size;
        FlatType type;
        const char *str; /* FLAT_STRING: NUL-terminated, inside text */
        size_t str_size;
        int64_t integer;  /* FLAT_INTEGER */
        size_t parent;    /* index of the object it is a member of, or FLAT_TOP */
        size_t n_members; /* FLAT_OBJECT: its members follow it in the array */
} FlatValue;

/* Parse text[0..size) as one object. max_depth 0 takes a flat object only;
 * 1 also objects one level down, themselves flat (a reply carrying a token
 * set). On success returns the number of entries (0..FLAT_FIELDS_MAX) in
 * ret[], nested members after their object's entry, and has written a NUL
 * over the closing quote of every key and string so they can be used as C
 * strings: text is no longer JSON afterwards. On -ENOTSUP text is
 * unchanged. */
int json_flat_parse(char *text, size_t size, FlatValue ret[static FLAT_FIELDS_MAX], unsigned max_depth);

/* The top-level member key, or NULL. */
const FlatValue *json_flat_get(const FlatValue *values, size_t n, const char *key);
/* The member key of a FLAT_OBJECT entry, or NULL. */
const FlatValue *json_flat_member(const FlatValue *values, size_t n, const FlatValue *object, const char *key);
