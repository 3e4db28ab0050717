/* backoff.h — retrying background work that fails, and saying so rarely.
 *
 * Owns: the delay before the next attempt after failures in a row (1 s,
 * doubling, at most 60 s) and which failures are worth a log line (the
 * first of a run, then at most one per BACKOFF_LOG_INTERVAL_USEC, with the
 * count of those not logged). A job that fails at once every time (the
 * expiry sweep on a full disk) thus costs one attempt a minute and a line
 * every ten, not a spinning loop and hundreds of lines a second.
 *
 * Never: arms a timer or writes the line; the caller does both, with
 * times it reads (so that the schedule can be tested without waiting). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

#define BACKOFF_FIRST_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
#define BACKOFF_LOG_INTERVAL_USEC (600 * USEC_PER_SEC)

typedef struct Backoff {
        unsigned failures;    /* in a row; 0: the last attempt worked */
        unsigned unlogged;    /* failures since the last line */
        uint64_t logged_usec; /* when that line was written */
} Backoff;

/* The delay after the failures-th failure in a row (failures >= 1):
 * BACKOFF_FIRST_USEC, doubling, at most BACKOFF_MAX_USEC. */
uint64_t backoff_delay_usec(unsigned failures);

/* One more failure, at now_usec (any clock, the same each call): returns
 * the delay until the next attempt. *ret_log: whether to write a line for
 * this one; if so, *ret_unlogged is how many failures since the last line
 * were not (0 for the first of a run). */
uint64_t backoff_failed(Backoff *b, uint64_t now_usec, bool *ret_log, unsigned *ret_unlogged);

/* The attempt worked: returns the number of failures in a row it ends
 * (0: none, nothing to say), and b starts afresh. */
unsigned backoff_succeeded(Backoff *b);
