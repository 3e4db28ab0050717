/* rates.h — one token bucket per principal, for dispatch.
 *
 * Owns: finding the bucket of a principal key (dispatch_principal()):
 * policy entries by index, callers no entry names by uid; and, beside
 * each bucket, how many of the principal's requests were refused for its
 * rate since one was last recorded. The bucket arithmetic is the
 * policy's (policy_rate_take()). Never: decides who is limited or how
 * much; dispatch asks the policy. */
#pragma once

#include <stdint.h>

#include "policy.h"
#include "record.h"

typedef struct RateState {
        PolicyRateBucket bucket;
        /* Refusals for the rate not recorded one by one: a flood over
         * the limit leaves one record saying how many, not one each. */
        uint64_t refused;
        /* Who the last recorded refusal was from, for the record that
         * counts the rest if the principal does not come back. */
        uint32_t uid, gid;
        int32_t pid;
        char unit[AUDIT_UNIT_SIZE_MAX + 1];
} RateState;

typedef struct DispatchRates DispatchRates;

/* Buckets for the n_principals entries of a policy, all full at first. */
int rates_new(size_t n_principals, DispatchRates **ret);
void rates_free(DispatchRates *r);

/* The state of principal key k, made (a full bucket of limit) at first
 * use. NULL only when out of memory. */
RateState *rates_state(DispatchRates *r, uint64_t key, PolicyRateLimit limit, uint64_t now_usec);

/* Call f on every principal's state. */
void rates_foreach(DispatchRates *r, void (*f)(RateState *s, void *userdata), void *userdata);

/* A principal key: a policy entry's index, or a uid no entry names. */
#define RATES_KEY_ENTRY (UINT64_C(1) << 32)
static inline uint64_t rates_key_entry(int index) {
        return RATES_KEY_ENTRY | (uint32_t) index;
}
static inline uint64_t rates_key_uid(uint32_t uid) {
        return uid;
}
