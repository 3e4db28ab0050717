/* scheduler.h — fair shares of the event loop, by principal.
 *
 * Owns: which ready client runs next. Clients (entries) are grouped by a
 * key, the principal dispatch_principal() names; each principal with a
 * ready entry sits in a ring, and one defer source takes turns: the next
 * principal in the ring, and within it the next of its ready entries
 * (round-robin at both levels), whose run callback handles a small
 * quantum of work. A principal with 64 busy connections thus gets one
 * turn per round, like a principal with one. A principal that had
 * nothing waiting goes first when its request comes: it waits for the
 * turn in progress (plus the reads the loop does in between, see
 * scheduler.c for the event priorities), not for a round.
 *
 * O(1) per turn and per ready/unready change; attaching an entry looks
 * its principal up in a hash table.
 *
 * Never: reads, writes or decides anything about a client; an entry is
 * an opaque node embedded in its owner (a Connection), which says when it
 * is ready and does the work when its turn comes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Scheduler Scheduler;
typedef struct SchedulerShare SchedulerShare;
typedef struct SchedulerEntry SchedulerEntry;

/* A turn: handle at most a quantum of work, then say whether more is
 * ready (scheduler_set_ready()). The callback may detach the entry (its
 * owner may free itself); the scheduler touches neither afterwards. */
typedef void (*SchedulerRun)(void *userdata);

/* Embedded in the owner, zeroed; the fields are the scheduler's. */
struct SchedulerEntry {
        SchedulerShare *share;       /* NULL: not attached */
        SchedulerEntry *prev, *next; /* in the share's ring, while ready */
        bool ready;
        SchedulerRun run;
        void *userdata;
};

/* The turns run from a defer source on event at the priority
 * SCHEDULER_PRIORITY (scheduler.c says why). n_hint: about how many
 * entries there will be at most (sizes the hash table). */
#define SCHEDULER_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 1)
int scheduler_new(sd_event *event, size_t n_hint, Scheduler **ret);
/* All entries must be detached. Accepts NULL. */
void scheduler_free(Scheduler *s);

/* Add e, not ready, under the principal key. -ENOMEM. */
int scheduler_attach(Scheduler *s, SchedulerEntry *e, uint64_t key, SchedulerRun run, void *userdata);
/* Remove e (ready or not); accepts one never attached. */
void scheduler_detach(SchedulerEntry *e);
/* Move e under another key (after a policy reload), keeping its
 * readiness. -ENOMEM leaves it where it was. */
int scheduler_move(SchedulerEntry *e, uint64_t key);

/* e has work (or no longer has): join (leave) its principal's ring.
 * Idempotent. A newly ready entry runs after its principal's entries
 * already waiting; a principal that had none waiting takes the next turn. */
void scheduler_set_ready(SchedulerEntry *e, bool ready);
/* Whether any entry waits for a turn. Not a licence to work outside a
 * turn when none does: clients whose events the loop has not dispatched
 * yet wait too, unseen here (connection.c). */
bool scheduler_busy(const Scheduler *s);
