/* parse-util.h — numbers from the command line and configuration.
 *
 * Owns: strict decimal parsing: digits only (no sign, no spaces, no "0x"),
 * overflow checked, a range checked. Never: locale, partial matches. */
#pragma once

#include <stdint.h>

/* A decimal integer in [min, max]. -EINVAL for anything else, -ERANGE for
 * digits outside the range. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
int parse_int(const char *s, int min, int max, int *ret);
