/* rates.h — one token bucket per principal, for dispatch.
 *
 * Owns: finding the bucket of a principal key (dispatch_principal()):
 * policy entries by index, callers no entry names by uid. The bucket
 * arithmetic is the policy's (policy_rate_take()). Never: decides who is
 * limited or how much; dispatch asks the policy. */
#pragma once

#include <stdint.h>

#include "policy.h"

typedef struct DispatchRates DispatchRates;

/* Buckets for the n_principals entries of a policy, all full at first. */
int rates_new(size_t n_principals, DispatchRates **ret);
void rates_free(DispatchRates *r);

/* The bucket of principal key k, made (full, with limit) at first use.
 * NULL only when out of memory. */
PolicyRateBucket *rates_bucket(DispatchRates *r, uint64_t key, PolicyRateLimit limit, uint64_t now_usec);

/* A principal key: a policy entry's index, or a uid no entry names. */
#define RATES_KEY_ENTRY (UINT64_C(1) << 32)
static inline uint64_t rates_key_entry(int index) {
        return RATES_KEY_ENTRY | (uint32_t) index;
}
static inline uint64_t rates_key_uid(uint32_t uid) {
        return uid;
}
