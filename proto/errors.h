/* errors.h — the closed set of wire error codes and their errno mapping.
 *
 * Owns: the one table between negative errno values (how every function
 * fails) and the error codes a client sees. Handlers return errno; only this
 * table turns them into words. */
#pragma once

/* Wire code for a negative errno; unknown values map to "internal". */
const char *error_code_from_errno(int error);

/* Negative errno for a wire code; unknown codes map to -EPROTO. */
int error_errno_from_code(const char *code);

/* True if the string is one of the documented codes. */
int error_code_is_known(const char *code);
