/* scheduler.c — fair shares of the event loop, by principal (see
 * scheduler.h).
 *
 * Two levels of circular lists: the scheduler's ring of shares with a
 * ready entry, and each share's ring of its ready entries. A turn runs the
 * head of each and advances both heads first, so that whatever the run
 * callback does (set itself unready, detach, free its owner) the rings are
 * already where the next turn starts. Shares with no entry left are freed;
 * a hash table on the key finds a principal's share at attach.
 *
 * The event priorities matter: sd-event dispatches one source per loop
 * iteration, the pending one of highest priority (lowest value) first,
 * and polls epoll again before every iteration that has something
 * pending. The turn source runs one step below the default priority, at
 * which the connections' io and timer sources, the listener and the
 * signals run: so between two turns every socket that became readable
 * meanwhile is read (a victim's request joins the ring after at most the
 * turn in progress), and a flood of turns never delays accepting,
 * deadlines or SIGTERM. The reads cannot starve the turns in return: a
 * connection stops reading as soon as it has a whole frame buffered, so
 * each read hands a turn work and its source goes quiet until it is done
 * (after at most one more wakeup that reads nothing: connection.c drops
 * EPOLLIN lazily). This is also why a connection handles frames in its
 * turns only, never from its io callback: the sockets the loop has found
 * readable but not dispatched yet are known to sd-event alone, and only
 * the turn, run after all of them, sees their owners waiting.
 * (At equal priority sd-event would order the defer source by the
 * iteration it was created in, before every io source, which is how
 * per-connection defer sources let one client's backlog run ahead of
 * everyone's reads.) */
#include <errno.h>
#include <stdlib.h>

#include "scheduler.h"

#define BUCKETS_MIN 16

struct SchedulerShare {
        Scheduler *scheduler;
        uint64_t key;
        size_t n_entries;            /* attached, ready or not */
        SchedulerShare *bucket_next; /* in the hash chain */
        SchedulerShare *prev, *next; /* in the scheduler's ring, while an entry is ready */
        SchedulerEntry *ready;       /* the entry whose turn is next; NULL: none ready */
};

struct Scheduler {
        sd_event_source *turn_source;
        SchedulerShare *ready; /* the share whose turn is next; NULL: none */
        SchedulerShare **buckets;
        size_t n_buckets; /* a power of two */
};

static size_t bucket_of(const Scheduler *s, uint64_t key) {
        /* Fibonacci hashing: the keys are small integers (policy entries,
         * uids), which the multiplication spreads over the high bits. */
        return (size_t) ((key * 0x9E3779B97F4A7C15ULL) >> 32) & (s->n_buckets - 1);
}

/* The rings: insert before the head (the tail, the last to run), remove. */
#define RING_INSERT(head, x)                                                                                           \
        do {                                                                                                           \
                if (!(head)) {                                                                                         \
                        (x)->prev = (x)->next = (x);                                                                   \
                        (head) = (x);                                                                                  \
                } else {                                                                                               \
                        (x)->next = (head);                                                                            \
                        (x)->prev = (head)->prev;                                                                      \
                        (head)->prev->next = (x);                                                                      \
                        (head)->prev = (x);                                                                            \
                }                                                                                                      \
        } while (0)

#define RING_REMOVE(head, x)                                                                                           \
        do {                                                                                                           \
                if ((x)->next == (x))                                                                                  \
                        (head) = NULL;                                                                                 \
                else {                                                                                                 \
                        (x)->prev->next = (x)->next;                                                                   \
                        (x)->next->prev = (x)->prev;                                                                   \
                        if ((head) == (x))                                                                             \
                                (head) = (x)->next;                                                                    \
                }                                                                                                      \
                (x)->prev = (x)->next = NULL;                                                                          \
        } while (0)

static int on_turn(sd_event_source *source, void *userdata) {
        Scheduler *s = userdata;
        (void) source;

        SchedulerShare *share = s->ready;
        if (!share)
                return sd_event_source_set_enabled(s->turn_source, SD_EVENT_OFF);
        SchedulerEntry *e = share->ready;
        s->ready = share->next;
        share->ready = e->next;
        /* Last: e and share may be gone when it returns. */
        e->run(e->userdata);
        return 0;
}

int scheduler_new(sd_event *event, size_t n_hint, Scheduler **ret) {
        Scheduler *s;
        int r;

        s = calloc(1, sizeof(Scheduler));
        if (!s)
                return -ENOMEM;
        s->n_buckets = BUCKETS_MIN;
        while (s->n_buckets < n_hint && s->n_buckets < ((size_t) 1 << 24))
                s->n_buckets *= 2;
        s->buckets = calloc(s->n_buckets, sizeof(SchedulerShare *));
        if (!s->buckets) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_defer(event, &s->turn_source, on_turn, s);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_priority(s->turn_source, SCHEDULER_PRIORITY);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(s->turn_source, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        scheduler_free(s);
        return r;
}

void scheduler_free(Scheduler *s) {
        if (!s)
                return;
        sd_event_source_disable_unref(s->turn_source);
        /* Every entry is detached by now, so every share is freed; a
         * leftover one (an owner that forgot) is freed with the table. */
        for (size_t i = 0; s->buckets && i < s->n_buckets; i++)
                while (s->buckets[i]) {
                        SchedulerShare *share = s->buckets[i];
                        s->buckets[i] = share->bucket_next;
                        free(share);
                }
        free(s->buckets);
        free(s);
}

static SchedulerShare *share_find(Scheduler *s, uint64_t key) {
        for (SchedulerShare *share = s->buckets[bucket_of(s, key)]; share; share = share->bucket_next)
                if (share->key == key)
                        return share;
        return NULL;
}

static SchedulerShare *share_get(Scheduler *s, uint64_t key) {
        SchedulerShare *share = share_find(s, key);
        if (share)
                return share;
        share = calloc(1, sizeof(SchedulerShare));
        if (!share)
                return NULL;
        share->scheduler = s;
        share->key = key;
        size_t b = bucket_of(s, key);
        share->bucket_next = s->buckets[b];
        s->buckets[b] = share;
        return share;
}

/* Drop a share whose last entry left (it is in no ring: no entry of it
 * is ready). */
static void share_unref(SchedulerShare *share) {
        if (--share->n_entries > 0)
                return;
        Scheduler *s = share->scheduler;
        SchedulerShare **p = &s->buckets[bucket_of(s, share->key)];
        while (*p != share)
                p = &(*p)->bucket_next;
        *p = share->bucket_next;
        free(share);
}

bool scheduler_busy(const Scheduler *s) {
        return s->ready != NULL;
}

void scheduler_set_ready(SchedulerEntry *e, bool ready) {
        SchedulerShare *share = e->share;

        if (!share || e->ready == ready)
                return;
        Scheduler *s = share->scheduler;
        e->ready = ready;
        if (ready) {
                bool share_was_idle = !share->ready;
                RING_INSERT(share->ready, e);
                if (share_was_idle) {
                        if (!s->ready)
                                sd_event_source_set_enabled(s->turn_source, SD_EVENT_ON);
                        /* A principal that had nothing waiting takes the
                         * next turn, then goes behind the others: its
                         * request waits for the turn in progress only.
                         * Only a principal all of whose connections were
                         * idle or waiting on us comes in first, so a flood
                         * (never idle) does not, and each time it gets one
                         * turn; the principals with work waiting still get
                         * theirs in ring order. */
                        RING_INSERT(s->ready, share);
                        s->ready = share;
                }
        } else {
                RING_REMOVE(share->ready, e);
                if (!share->ready) {
                        RING_REMOVE(s->ready, share);
                        if (!s->ready)
                                sd_event_source_set_enabled(s->turn_source, SD_EVENT_OFF);
                }
        }
}

int scheduler_attach(Scheduler *s, SchedulerEntry *e, uint64_t key, SchedulerRun run, void *userdata) {
        SchedulerShare *share = share_get(s, key);
        if (!share)
                return -ENOMEM;
        share->n_entries++;
        *e = (SchedulerEntry) { .share = share, .run = run, .userdata = userdata };
        return 0;
}

void scheduler_detach(SchedulerEntry *e) {
        if (!e->share)
                return;
        scheduler_set_ready(e, false);
        share_unref(e->share);
        e->share = NULL;
}

int scheduler_move(SchedulerEntry *e, uint64_t key) {
        SchedulerShare *old = e->share;

        if (!old || old->key == key)
                return 0;
        /* Get the new share first: on failure e stays where it was. */
        SchedulerShare *share = share_get(old->scheduler, key);
        if (!share)
                return -ENOMEM;
        bool ready = e->ready;
        scheduler_set_ready(e, false);
        share->n_entries++;
        share_unref(old);
        e->share = share;
        scheduler_set_ready(e, ready);
        return 0;
}
