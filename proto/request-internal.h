/* request-internal.h — what proto's request files share: the fields a
 * request may carry and the op table (request-table.c), for the decoder
 * (request.c). Not for other layers: they read the table through
 * op_flags(), op_class() and friends (request.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "request.h"

/* Every field any request may carry, with its JSON type. */
typedef enum Field {
        F_V,
        F_ID,
        F_OP,
        F_PLUGIN,
        F_NAME,
        F_USER,
        F_AFTER,
        F_LIMIT,
        F_VALUE,
        F_TOKEN,
        F_DOMAIN,
        F_MANIFEST,
        F_AUTHORIZATION,
        F_CLIENT_ID,
        F_CLIENT_SECRET,
        F_MIN_VALID,
        F_LEASE,
        F_LEASE_SECONDS,
        F_ERROR,
        F_BYTES,
        F_EXPIRING,
        F_SINCE,
        F_UNTIL,
        F_BEFORE,
        F_PRINCIPAL,
        F_AUDIT_OP,
        F_VERSION,
        F_STAGE,
        F_GRACE,
        F_REPLACE,
        F_RETRY_AT,
        F_REPORT,
        F_REVOCATION,
        _F_MAX,
} Field;

typedef struct RequestField {
        const char *name;
        size_t size;
        json_type type;
} RequestField;
/* Every field, by Field. */
extern const RequestField request_fields[_F_MAX];
_Static_assert(_F_MAX <= 64, "field sets are 64-bit masks");

#define F(x) (UINT64_C(1) << (x))

typedef struct RequestOp {
        const char *name;
        uint64_t required, optional; /* F() of each field */
        unsigned flags;
        OpClass op_class;
} RequestOp;
/* Every op, by Op. */
extern const RequestOp request_ops[_OP_MAX];

/* errbuf gets the message (naming a field, never a value); -EBADMSG. */
_printf_(3, 4) int request_bad(char *errbuf, size_t errbuf_size, const char *fmt, ...);
/* Every byte of s[0..n) is printable ASCII. */
bool request_printable_ascii(const char *s, size_t n);
