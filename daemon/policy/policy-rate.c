/* policy-rate.c — the token bucket behind a principal's rate limit (see
 * policy.h).
 *
 * Integer arithmetic in millionths of a token: a rate of R tokens a
 * second is R millionths a microsecond, so the refill of any elapsed time
 * is exact and no request is lost to rounding. The caller passes the
 * time, so the bucket costs no system call (the event loop already knows
 * "now") and tests can drive it. Refused requests take nothing: a client
 * that keeps knocking is not pushed further back. */
#include <errno.h>

#include "policy.h"

#define MICRO_PER_TOKEN 1000000ULL

static void rate_refill(PolicyRateBucket *b, PolicyRateLimit limit, uint64_t now_usec) {
        uint64_t cap = (uint64_t) limit.burst * MICRO_PER_TOKEN;

        if (b->micro_tokens > cap)
                b->micro_tokens = cap;
        /* A clock that goes back refills nothing, and the bucket waits for
         * it to pass the last time again. */
        if (now_usec <= b->last_usec)
                return;
        uint64_t elapsed = now_usec - b->last_usec, need = cap - b->micro_tokens;
        b->last_usec = now_usec;
        if (limit.rate == 0)
                return;
        /* Compared before multiplying: elapsed may be days, and
         * elapsed × rate would overflow; below the bound the product is at
         * most need (≤ 10^12 × 10^6). */
        if (elapsed > need / limit.rate)
                b->micro_tokens = cap;
        else
                b->micro_tokens += elapsed * limit.rate;
}

void policy_rate_init(PolicyRateBucket *b, PolicyRateLimit limit, uint64_t now_usec) {
        *b = (PolicyRateBucket) { .micro_tokens = (uint64_t) limit.burst * MICRO_PER_TOKEN, .last_usec = now_usec };
}

int policy_rate_take(PolicyRateBucket *b, PolicyRateLimit limit, uint64_t now_usec, uint64_t *ret_retry_after_ms) {
        rate_refill(b, limit, now_usec);
        if (b->micro_tokens >= MICRO_PER_TOKEN) {
                b->micro_tokens -= MICRO_PER_TOKEN;
                return 0;
        }
        uint64_t deficit = MICRO_PER_TOKEN - b->micro_tokens;
        /* Rounded up: asked to come back at retry_after_ms, a client must
         * find a token there. */
        uint64_t usec = limit.rate > 0 ? (deficit + limit.rate - 1) / limit.rate : MICRO_PER_TOKEN;
        uint64_t ms = (usec + 999) / 1000;
        *ret_retry_after_ms = ms > 0 ? ms : 1;
        return -EBUSY;
}
