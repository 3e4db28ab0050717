/* test-scheduler.c — daemon/net/scheduler.c: turns by principal.
 *
 * Shows: principals take turns round-robin, and each principal's ready
 * entries round-robin among themselves, so a principal with three busy
 * entries gets no more turns than one with one; a principal that had
 * nothing waiting takes the next turn; an entry detached (its connection
 * freed) while it waits gets no turn and its principal is dropped with its
 * last entry; a move (policy reload) keeps an entry's readiness and
 * carries it to the other principal's ring; the turn source is off once
 * nothing is ready; every socket the loop found readable is read before
 * the next turn, so a request whose io event sd-event dispatches after a
 * flood's still takes the first turn (what makes handling frames only in
 * turns fair: connection.c). Turns run from a real sd-event loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "scheduler.h"

typedef struct Fake {
        SchedulerEntry entry;
        int id;
        int frames; /* turns of work left */
} Fake;

static char trace[256];

/* One turn: one frame of work, noted in the trace. */
static void fake_run(void *userdata) {
        Fake *f = userdata;
        size_t n = strlen(trace);
        snprintf(trace + n, sizeof(trace) - n, "%d ", f->id);
        if (--f->frames <= 0)
                scheduler_set_ready(&f->entry, false);
}

static void run_until_idle(sd_event *event, Scheduler *s) {
        for (int i = 0; i < 100 && scheduler_busy(s); i++)
                assert_true(sd_event_run(event, 0) > 0);
        assert_false(scheduler_busy(s));
        /* Off: nothing is dispatched any more. */
        assert_int_equal(sd_event_run(event, 0), 0);
}

typedef struct Fixture {
        sd_event *event;
        Scheduler *s;
} Fixture;

static int setup(void **state) {
        static Fixture fx;
        trace[0] = '\0';
        if (sd_event_new(&fx.event) < 0 || scheduler_new(fx.event, 4, &fx.s) < 0)
                return -1;
        *state = &fx;
        return 0;
}

static int teardown(void **state) {
        Fixture *fx = *state;
        scheduler_free(fx->s);
        sd_event_unref(fx->event);
        return 0;
}

static void test_round_robin_by_principal(void **state) {
        Fixture *fx = *state;
        /* Principal 1 has three entries, principal 2 one; three turns of
         * work each. */
        Fake f[] = { { .id = 10, .frames = 3 },
                     { .id = 11, .frames = 3 },
                     { .id = 12, .frames = 3 },
                     { .id = 20, .frames = 3 } };
        for (int i = 0; i < 4; i++)
                assert_int_equal(scheduler_attach(fx->s, &f[i].entry, i < 3 ? 1 : 2, fake_run, &f[i]), 0);
        assert_false(scheduler_busy(fx->s));
        for (int i = 0; i < 4; i++)
                scheduler_set_ready(&f[i].entry, true);
        scheduler_set_ready(&f[0].entry, true); /* idempotent */
        assert_true(scheduler_busy(fx->s));
        run_until_idle(fx->event, fx->s);
        /* 20's principal came in last with nothing waiting: it goes first;
         * then the two alternate until 20 is done. */
        assert_string_equal(trace, "20 10 20 11 20 12 10 11 12 10 11 12 ");
        for (int i = 0; i < 4; i++)
                scheduler_detach(&f[i].entry);
}

static void test_new_principal_goes_next(void **state) {
        Fixture *fx = *state;
        Fake flood = { .id = 1, .frames = 5 }, victim = { .id = 2, .frames = 1 };
        assert_int_equal(scheduler_attach(fx->s, &flood.entry, 1, fake_run, &flood), 0);
        assert_int_equal(scheduler_attach(fx->s, &victim.entry, 2, fake_run, &victim), 0);
        scheduler_set_ready(&flood.entry, true);
        assert_true(sd_event_run(fx->event, 0) > 0);
        assert_true(sd_event_run(fx->event, 0) > 0);
        scheduler_set_ready(&victim.entry, true);
        run_until_idle(fx->event, fx->s);
        assert_string_equal(trace, "1 1 2 1 1 1 ");
        scheduler_detach(&flood.entry);
        scheduler_detach(&victim.entry);
}

static void test_detach_and_move(void **state) {
        Fixture *fx = *state;
        Fake f[] = { { .id = 10, .frames = 2 },
                     { .id = 11, .frames = 2 },
                     { .id = 12, .frames = 2 },
                     { .id = 20, .frames = 2 } };
        for (int i = 0; i < 4; i++) {
                assert_int_equal(scheduler_attach(fx->s, &f[i].entry, i < 3 ? 1 : 2, fake_run, &f[i]), 0);
                scheduler_set_ready(&f[i].entry, true);
        }
        /* Freed while it waits: no turn. */
        scheduler_detach(&f[1].entry);
        scheduler_detach(&f[1].entry); /* twice: harmless */
        /* 20 joins principal 1 (principal 2 has no entry left), ready
         * still, behind 10 and 12; 12 moves alone to principal 3, which
         * had nothing waiting and goes first. */
        assert_int_equal(scheduler_move(&f[3].entry, 1), 0);
        assert_int_equal(scheduler_move(&f[2].entry, 3), 0);
        assert_int_equal(scheduler_move(&f[2].entry, 3), 0); /* same key: nothing */
        run_until_idle(fx->event, fx->s);
        assert_string_equal(trace, "12 10 12 20 10 20 ");
        scheduler_detach(&f[0].entry);
        scheduler_detach(&f[2].entry);
        scheduler_detach(&f[3].entry);
}

/* The run callback may detach its own entry (the connection closes and is
 * freed in its turn); the next turn is another's. */
static void fake_run_and_detach(void *userdata) {
        Fake *f = userdata;
        fake_run(f);
        scheduler_detach(&f->entry);
}

static void test_detach_in_own_turn(void **state) {
        Fixture *fx = *state;
        Fake a = { .id = 1, .frames = 9 }, b = { .id = 2, .frames = 2 }, c = { .id = 3, .frames = 1 };
        assert_int_equal(scheduler_attach(fx->s, &a.entry, 7, fake_run_and_detach, &a), 0);
        assert_int_equal(scheduler_attach(fx->s, &b.entry, 7, fake_run, &b), 0);
        assert_int_equal(scheduler_attach(fx->s, &c.entry, 8, fake_run, &c), 0);
        scheduler_set_ready(&a.entry, true);
        scheduler_set_ready(&b.entry, true);
        scheduler_set_ready(&c.entry, true);
        run_until_idle(fx->event, fx->s);
        assert_string_equal(trace, "3 1 2 2 ");
        scheduler_detach(&b.entry);
        scheduler_detach(&c.entry);
}

/* A connection as connection.c has it: its io callback reads a request
 * (a byte here), becomes ready and stops reading; its turn does the work. */
typedef struct FakeConn {
        Fake fake;
        int fds[2];
        sd_event_source *io;
} FakeConn;

static int fake_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        FakeConn *c = userdata;
        char byte;
        (void) revents;
        assert_int_equal(read(fd, &byte, 1), 1);
        c->fake.frames = 2;
        scheduler_set_ready(&c->fake.entry, true);
        return sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

static void test_reads_before_turns(void **state) {
        Fixture *fx = *state;
        /* Eight connections of principal 1 and one of principal 2, each
         * with a request readable when the loop polls: the flood's io
         * events may be dispatched first, the victim's last. */
        FakeConn c[9];
        for (int i = 0; i < 9; i++) {
                c[i] = (FakeConn) { .fake = { .id = i < 8 ? 10 + i : 2 } };
                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c[i].fds), 0);
                assert_int_equal(scheduler_attach(fx->s, &c[i].fake.entry, i < 8 ? 1 : 2, fake_run, &c[i].fake), 0);
                assert_int_equal(sd_event_add_io(fx->event, &c[i].io, c[i].fds[0], EPOLLIN, fake_on_io, &c[i]), 0);
                assert_int_equal(write(c[i].fds[1], "x", 1), 1);
        }
        /* One io event dispatched: principal 1 is ready, the other eight
         * io events still pending, at a higher priority than the turns. */
        assert_true(sd_event_run(fx->event, 0) > 0);
        assert_true(scheduler_busy(fx->s));
        run_until_idle(fx->event, fx->s);
        /* All read first; then principal 2, which had nothing waiting,
         * before any turn of the flood, whatever order sd-event read
         * them in. */
        assert_memory_equal(trace, "2 ", 2);
        assert_int_equal(strlen(trace), 3 * 16 + 2 * 2);
        for (int i = 0; i < 9; i++) {
                scheduler_detach(&c[i].fake.entry);
                sd_event_source_disable_unref(c[i].io);
                close(c[i].fds[0]);
                close(c[i].fds[1]);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_robin_by_principal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_principal_goes_next, setup, teardown),
                cmocka_unit_test_setup_teardown(test_detach_and_move, setup, teardown),
                cmocka_unit_test_setup_teardown(test_detach_in_own_turn, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reads_before_turns, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
