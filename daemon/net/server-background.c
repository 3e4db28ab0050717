/* server-background.c — the work the loop does besides taking turns at
 * frames (see server.h): the KEK rewrap's batches, the sweep of expired
 * previous secret versions, the steps of a deferred request (a backup),
 * and the commit of an open write group. Each has its event sources here:
 * set up by server_background_add(), switched on after a frame that
 * starts it (server_background_after_frame()), and given a share of the
 * loop however busy it is.
 *
 * Split from server.c (the loop's set-up and life) to keep each file to
 * one job. Never: decides what the work does (dispatch and the vault do);
 * this file only says when it runs. */
#include <string.h>

#include "frame.h"
#include "log.h"
#include "proto-limits.h"
#include "server-internal.h"
#include "time-util.h"

/* The sweep of expired previous secret versions runs at least this often,
 * besides at each deadline: a deadline is a query's business at once
 * (they treat the version as gone), the sweep's only to delete it. */
#define SWEEP_INTERVAL_USEC (60 * USEC_PER_SEC)
/* Background work (a deferred request's, the backup; the KEK rewrap) gets
 * at least one step this often, however busy the loop is: a backup step
 * holds the loop about a millisecond (handlers-backup.c), a rewrap batch
 * about 300 µs, so under full load a backup still gets a sixth of the
 * daemon and a rewrap a sixteenth, and requests wait at most one step. */
#define BACKGROUND_SHARE_USEC (5 * USEC_PER_MSEC)
/* The write group commits below the turns: after every request that
 * waits (on_group()). */
#define GROUP_PRIORITY (SCHEDULER_PRIORITY + 1)

static void rewrap_enable(Server *s, bool on) {
        if (!s->rewrap_source || s->rewrap_on == on)
                return;
        s->rewrap_on = on;
        sd_event_source_set_enabled(s->rewrap_source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        if (on) {
                s->rewrap_last_usec = time_monotonic_usec();
                sd_event_source_set_time(s->rewrap_timer, s->rewrap_last_usec + BACKGROUND_SHARE_USEC);
        }
        sd_event_source_set_enabled(s->rewrap_timer, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void rewrap_step(Server *s) {
        s->rewrap_last_usec = time_monotonic_usec();
        if (key_rewrap_tick(&s->ctx) <= 0)
                rewrap_enable(s, false);
}

/* One batch; sd-event runs it only when nothing of higher priority (a
 * frame, a timer) is pending, so requests are answered between batches. */
static int on_rewrap(sd_event_source *source, void *userdata) {
        (void) source;
        rewrap_step(userdata);
        return 0;
}

/* Under a steady stream of requests the idle source never runs: at least
 * one batch (about 300 µs, handlers-key.c) every BACKGROUND_SHARE_USEC,
 * so a rewrap under full load still ends, and a request waits at most
 * one batch for it. */
static int on_rewrap_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) usec;
        if (time_monotonic_usec() >= s->rewrap_last_usec + BACKGROUND_SHARE_USEC)
                rewrap_step(s);
        if (s->rewrap_on) {
                sd_event_source_set_time(source, s->rewrap_last_usec + BACKGROUND_SHARE_USEC);
                sd_event_source_set_enabled(source, SD_EVENT_ON);
        }
        return 0;
}

/* The sweep timer at the next deadline, or at most SWEEP_INTERVAL_USEC
 * away; soon: at once (more were due than one sweep takes). Never before
 * the back-off after a failure ends: the overdue deadline that failed
 * would fire it again at once, and spin. */
static void sweep_arm(Server *s, bool soon) {
        uint64_t now = 0, at;
        if (!s->sweep_source)
                return;
        sd_event_now(s->event, CLOCK_REALTIME, &now);
        at = soon ? now : now + SWEEP_INTERVAL_USEC;
        int64_t next = secret_sweep_next(&s->ctx);
        if (next > 0 && (uint64_t) next * USEC_PER_SEC < at)
                at = (uint64_t) next * USEC_PER_SEC;
        if (at < s->sweep_retry_at)
                at = s->sweep_retry_at;
        if (at == s->sweep_at)
                return;
        s->sweep_at = at;
        sd_event_source_set_time(s->sweep_source, at);
        sd_event_source_set_enabled(s->sweep_source, SD_EVENT_ONESHOT);
}

/* A failed sweep (error: -errno, or 0: it removed nothing yet left
 * versions overdue): the next waits 1 s, doubling to 60 s, and the line
 * says so once, then once per ten minutes with the count. */
static void sweep_failed(Server *s, int error, uint64_t now) {
        unsigned unlogged = 0;
        bool log = false;

        uint64_t delay = backoff_failed(&s->sweep_backoff, time_monotonic_usec(), &log, &unlogged);
        s->sweep_retry_at = now + delay;
        if (!log)
                return;
        const char *why = error < 0 ? strerror(-error) : "they remain after a sweep";
        if (unlogged > 0)
                log_error("expired previous secret versions could not be deleted: %s; retrying in %llu s (%u failed "
                          "sweeps since the last message)",
                          why, (unsigned long long) (delay / USEC_PER_SEC), unlogged);
        else
                log_error("expired previous secret versions could not be deleted: %s; retrying in %llu s, then less "
                          "and less often (at most every %llu s)",
                          why, (unsigned long long) (delay / USEC_PER_SEC),
                          (unsigned long long) (BACKOFF_MAX_USEC / USEC_PER_SEC));
}

static int on_sweep(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        uint64_t now = 0;
        (void) source, (void) usec;

        s->sweep_at = 0;
        int r = secret_sweep_tick(&s->ctx);
        sd_event_now(s->event, CLOCK_REALTIME, &now);
        /* Overdue still, and not because the batch was full: the same
         * rows would be tried again at once. Only a sweep that removed
         * rows runs again at once. */
        int64_t next = secret_sweep_next(&s->ctx);
        if (r == 0 && next > 0 && (uint64_t) next * USEC_PER_SEC <= now)
                sweep_failed(s, 0, now);
        else if (r < 0)
                sweep_failed(s, r, now);
        else {
                unsigned failures = backoff_succeeded(&s->sweep_backoff);
                if (failures > 0)
                        log_info("expired previous secret versions are deleted again, after %u failed sweeps",
                                 failures);
                s->sweep_retry_at = 0;
        }
        sweep_arm(s, r > 0);
        return 0;
}

static void deferred_enable(Server *s, bool on) {
        if (!s->deferred_source || s->deferred_on == on)
                return;
        s->deferred_on = on;
        sd_event_source_set_enabled(s->deferred_source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        if (on) {
                s->deferred_last_usec = time_monotonic_usec();
                sd_event_source_set_time(s->deferred_timer, s->deferred_last_usec + BACKGROUND_SHARE_USEC);
        }
        sd_event_source_set_enabled(s->deferred_timer, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* One step of a deferred request's work (a backup). Once it is done its
 * reply goes to the connection that waits for it. */
static void deferred_step(Server *s) {
        JsonOut out;

        s->deferred_last_usec = time_monotonic_usec();
        if (dispatch_deferred_step(&s->ctx) > 0)
                return;
        deferred_enable(s, false);
        json_out_init(&out, (char *) s->scratch + FRAME_HEADER_SIZE, FRAME_BODY_MAX);
        Connection *c = dispatch_deferred_reply(&s->ctx, &out);
        if (c)
                connection_reply_deferred(c, &out);
}

/* Steps run at the lowest priority, as the rewrap's batches do: whenever
 * no request waits, back to back, so an idle daemon copies at full
 * speed, and requests are answered between steps. */
static int on_deferred(sd_event_source *source, void *userdata) {
        (void) source;
        deferred_step(userdata);
        return 0;
}

/* Under a steady stream of requests the loop is never idle, and the idle
 * source would never run (a backup during a write burst took 40 s for
 * 10 MB): at least one step every BACKGROUND_SHARE_USEC, whatever waits. */
static int on_deferred_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) usec;
        if (time_monotonic_usec() >= s->deferred_last_usec + BACKGROUND_SHARE_USEC)
                deferred_step(s);
        if (s->deferred_on) {
                sd_event_source_set_time(source, s->deferred_last_usec + BACKGROUND_SHARE_USEC);
                sd_event_source_set_enabled(source, SD_EVENT_ON);
        }
        return 0;
}

/* The open write group commits: sd-event runs this only when nothing of
 * higher priority is pending, that is once every socket found readable
 * has been read and every turn taken, so the group holds all the writes
 * that came together (write-group.c). */
static int on_group(sd_event_source *source, void *userdata) {
        Server *s = userdata;
        (void) source;
        dispatch_group_end(&s->ctx);
        return 0;
}

static void group_timer_arm(Server *s) {
        int on = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(s->group_timer, &on);
        if (on != SD_EVENT_OFF)
                return;
        sd_event_source_set_time(s->group_timer, s->ctx.group.opened_usec + DISPATCH_GROUP_WAIT_USEC);
        sd_event_source_set_enabled(s->group_timer, SD_EVENT_ONESHOT);
}

/* The bound on a group's wait: under a loop that never goes idle (a
 * client flooding it, even with requests that are refused), on_group()
 * would not run. A group opened since the timer was set waits for its
 * own time. */
static int on_group_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        (void) source;
        if (!dispatch_group_open(&s->ctx))
                return 0;
        if (usec >= s->ctx.group.opened_usec + DISPATCH_GROUP_WAIT_USEC)
                dispatch_group_end(&s->ctx);
        else
                group_timer_arm(s);
        return 0;
}

/* After each frame: what the request may have started (a write group,
 * a rewrap, an earlier sweep deadline, a deferred request) gets its
 * source switched on. */
void server_background_after_frame(Server *s) {
        /* A write group is open: it commits once no request waits, or
         * when it has waited long enough. */
        if (dispatch_group_open(&s->ctx)) {
                sd_event_source_set_enabled(s->group_source, SD_EVENT_ONESHOT);
                group_timer_arm(s);
        }
        /* key.rewrap may have started one. */
        if (!s->rewrap_on && key_rewrap_wanted(&s->ctx))
                rewrap_enable(s, true);
        /* secret.promote may have set an earlier deadline. */
        int64_t next = secret_sweep_next(&s->ctx);
        if (next > 0 && (uint64_t) next * USEC_PER_SEC < s->sweep_at)
                sweep_arm(s, false);
        /* And backup deferred work. */
        if (!s->deferred_on && dispatch_deferred_wanted(&s->ctx))
                deferred_enable(s, true);
}

/* The sources, each off until there is work. */
int server_background_add(Server *s) {
        int r;

        /* A rewrap the vault resumed at open starts at once. */
        r = sd_event_add_defer(s->event, &s->rewrap_source, on_rewrap, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->rewrap_source, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->rewrap_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->rewrap_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_rewrap_timer, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->rewrap_timer, SD_EVENT_OFF);
        rewrap_enable(s, key_rewrap_wanted(&s->ctx));
        /* Versions that expired while the daemon was stopped go at once. */
        r = sd_event_add_time(s->event, &s->sweep_source, CLOCK_REALTIME, 0, USEC_PER_SEC / 10, on_sweep, s);
        if (r < 0)
                return r;
        sweep_arm(s, false);
        r = sd_event_add_defer(s->event, &s->deferred_source, on_deferred, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->deferred_source, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->deferred_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->deferred_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_deferred_timer, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->deferred_timer, SD_EVENT_OFF);
        r = sd_event_add_defer(s->event, &s->group_source, on_group, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->group_source, GROUP_PRIORITY);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->group_source, SD_EVENT_OFF);
        r = sd_event_add_time(s->event, &s->group_timer, CLOCK_MONOTONIC, 0, 100, on_group_timer, s);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(s->group_timer, SD_EVENT_OFF);
        return 0;
}
