/* rates.c — the buckets of principals (see rates.h).
 *
 * Entries of the policy are an array by index. Callers no entry names
 * are counted by uid in an open-addressed table that grows: uids are few
 * on a host, and only root can make more. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "rates.h"

typedef struct UidSlot {
        bool used;
        uint32_t uid;
        RateState state;
} UidSlot;

struct DispatchRates {
        size_t n_entries;
        RateState *entries;
        bool *entry_started;
        UidSlot *uids;
        size_t n_uids, uid_slots; /* uid_slots: a power of two, or 0 */
};

int rates_new(size_t n_principals, DispatchRates **ret) {
        DispatchRates *r = calloc(1, sizeof(DispatchRates));
        if (!r)
                return -ENOMEM;
        r->n_entries = n_principals;
        if (n_principals > 0) {
                r->entries = calloc(n_principals, sizeof(RateState));
                r->entry_started = calloc(n_principals, sizeof(bool));
                if (!r->entries || !r->entry_started) {
                        rates_free(r);
                        return -ENOMEM;
                }
        }
        *ret = r;
        return 0;
}

void rates_free(DispatchRates *r) {
        if (!r)
                return;
        free(r->entries);
        free(r->entry_started);
        free(r->uids);
        free(r);
}

static size_t uid_index(uint32_t uid, size_t slots) {
        return (size_t) ((uid * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (slots - 1);
}

static int uids_grow(DispatchRates *r) {
        size_t slots = r->uid_slots ? r->uid_slots * 2 : 16;
        UidSlot *n = calloc(slots, sizeof(UidSlot));
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < r->uid_slots; i++) {
                if (!r->uids[i].used)
                        continue;
                size_t k = uid_index(r->uids[i].uid, slots);
                while (n[k].used)
                        k = (k + 1) & (slots - 1);
                n[k] = r->uids[i];
        }
        free(r->uids);
        r->uids = n;
        r->uid_slots = slots;
        return 0;
}

RateState *rates_state(DispatchRates *r, uint64_t key, PolicyRateLimit limit, uint64_t now_usec) {
        if (key & RATES_KEY_ENTRY) {
                size_t i = (size_t) (uint32_t) key;
                if (i >= r->n_entries)
                        return NULL;
                if (!r->entry_started[i]) {
                        policy_rate_init(&r->entries[i].bucket, limit, now_usec);
                        r->entry_started[i] = true;
                }
                return &r->entries[i];
        }

        uint32_t uid = (uint32_t) key;
        if (r->uid_slots) {
                for (size_t k = uid_index(uid, r->uid_slots);; k = (k + 1) & (r->uid_slots - 1)) {
                        if (!r->uids[k].used)
                                break;
                        if (r->uids[k].uid == uid)
                                return &r->uids[k].state;
                }
        }
        /* At most half full, so that probes stay short. */
        if ((r->n_uids + 1) * 2 > r->uid_slots && uids_grow(r) < 0)
                return NULL;
        size_t k = uid_index(uid, r->uid_slots);
        while (r->uids[k].used)
                k = (k + 1) & (r->uid_slots - 1);
        r->uids[k] = (UidSlot) { .used = true, .uid = uid };
        policy_rate_init(&r->uids[k].state.bucket, limit, now_usec);
        r->n_uids++;
        return &r->uids[k].state;
}

void rates_foreach(DispatchRates *r, void (*f)(RateState *s, void *userdata), void *userdata) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_entries; i++)
                if (r->entry_started[i])
                        f(&r->entries[i], userdata);
        for (size_t k = 0; k < r->uid_slots; k++)
                if (r->uids[k].used)
                        f(&r->uids[k].state, userdata);
}
