/* hardening.h — process-wide protections set once at start.
 *
 * Owns: no core dumps, a private umask, memory locked against swap, and a
 * jansson allocator that wipes every JSON buffer on free (JSON text and
 * trees carry secret values through the daemon). */
#pragma once

/* Returns 0, or a negative errno for a protection that could not be set
 * (the caller decides whether that is fatal). *ret_mlock_error is set to
 * the mlockall() error, 0 if memory is locked. */
int hardening_apply(int *ret_mlock_error);
