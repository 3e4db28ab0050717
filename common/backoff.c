/* backoff.c — the retry schedule and log rate of failing background work
 * (see backoff.h). */
#include <limits.h>

#include "backoff.h"

uint64_t backoff_delay_usec(unsigned failures) {
        uint64_t delay = BACKOFF_FIRST_USEC;

        /* Doubling stops at the ceiling, long before the shift could
         * overflow, whatever the count. */
        for (unsigned i = 1; i < failures && delay < BACKOFF_MAX_USEC; i++)
                delay *= 2;
        return delay < BACKOFF_MAX_USEC ? delay : BACKOFF_MAX_USEC;
}

uint64_t backoff_failed(Backoff *b, uint64_t now_usec, bool *ret_log, unsigned *ret_unlogged) {
        if (b->failures < UINT_MAX)
                b->failures++;
        /* The first failure of a run is always said; later ones once per
         * interval, counting those in between. */
        if (b->failures == 1 || now_usec >= b->logged_usec + BACKOFF_LOG_INTERVAL_USEC) {
                *ret_log = true;
                *ret_unlogged = b->failures == 1 ? 0 : b->unlogged;
                b->unlogged = 0;
                b->logged_usec = now_usec;
        } else {
                *ret_log = false;
                *ret_unlogged = 0;
                b->unlogged++;
        }
        return backoff_delay_usec(b->failures);
}

unsigned backoff_succeeded(Backoff *b) {
        unsigned failures = b->failures;
        *b = (Backoff) {};
        return failures;
}
