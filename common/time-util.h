/* time-util.h — clocks and their units, the same in every layer.
 *
 * Owns: the unit constants and the two clocks the code reads: monotonic
 * (deadlines, idle checks) and real time in milliseconds (lease deadlines
 * that outlive a process). Never: sleeps or timers; those are sd-event's. */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define MSEC_PER_SEC 1000LL

static inline uint64_t time_monotonic_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static inline uint64_t time_monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Unix time in milliseconds: what a lease deadline is stored as. */
static inline int64_t time_realtime_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * MSEC_PER_SEC + ts.tv_nsec / 1000000;
}
