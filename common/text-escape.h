/* text-escape.h — bytes from an untrusted source made safe to print.
 *
 * A damaged or altered database can hold any bytes in a name; written raw
 * to a terminal they could be escape sequences (move the cursor, rewrite
 * the line, retitle the window). Never: lets through a byte outside
 * printable ASCII. */
#pragma once

#include <stddef.h>

/* Write `in` to `out` (NUL-terminated, truncated to out_size) with every
 * byte outside 0x20..0x7e, and the backslash, as \xNN. Returns out. */
char *text_escape(const char *in, char *out, size_t out_size);
