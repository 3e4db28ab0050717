/* test-credential-conn.c — daemon/net/credential-conn.c: a value out to a
 * LoadCredential= peer without blocking the loop, then EOF.
 *
 * Shows: a value the socket takes at once (any secret: up to 32 KiB) is
 * written and the socket closed before credential_conn_new() returns, the
 * peer reading exactly it and EOF; a value larger than any socket buffer
 * (values are never that large, but a peer may read slowly) is finished
 * from the loop as the peer reads; a peer that stops reading is cut off
 * at the deadline, and one that is gone costs nothing. Over real
 * socketpairs and a real sd-event loop. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "credential-conn.h"

#define MSEC 1000ULL
/* A value over any socket buffer: the daemon raises SO_SNDBUF for the
 * value, up to net.core.wmem_max (doubled by the kernel), so four times
 * that and a MiB more. */
static size_t big_value_size;

static size_t big_size(void) {
        unsigned long wmem_max = 4 * 1024 * 1024;
        FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
        if (f) {
                if (fscanf(f, "%lu", &wmem_max) != 1)
                        wmem_max = 4 * 1024 * 1024;
                fclose(f);
        }
        return 4 * (size_t) wmem_max + 1024 * 1024;
}

typedef struct Peer {
        int fd;
        uint8_t *got;
        size_t got_size, got_alloc;
        bool eof;
        bool reading;
        int closed; /* on_closed calls */
        sd_event *event;
} Peer;

static void on_closed(void *userdata, CredentialConn *cc) {
        Peer *p = userdata;
        p->closed++;
        credential_conn_free(cc);
        if (!p->reading)
                sd_event_exit(p->event, 0);
}

/* Read all there is now; true at EOF. */
static bool peer_read(Peer *p) {
        for (;;) {
                if (p->got_size == p->got_alloc) {
                        p->got_alloc = p->got_alloc ? 2 * p->got_alloc : 65536;
                        p->got = realloc(p->got, p->got_alloc);
                        assert_non_null(p->got);
                }
                ssize_t n = read(p->fd, p->got + p->got_size, p->got_alloc - p->got_size);
                if (n < 0) {
                        assert_int_equal(errno, EAGAIN);
                        return false;
                }
                if (n == 0)
                        return p->eof = true;
                p->got_size += (size_t) n;
        }
}

static int on_peer_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Peer *p = userdata;
        (void) fd, (void) revents;
        if (peer_read(p)) {
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                sd_event_exit(p->event, 0);
        }
        return 0;
}

static SecretBuf *pattern(size_t size) {
        SecretBuf *b;
        assert_int_equal(secret_buf_new(size, &b), 0);
        for (size_t i = 0; i < size; i++)
                b->data[i] = (uint8_t) (i * 31 + (i >> 9));
        return b;
}

static void pair(int sv[2]) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
}

static void test_at_once(void **state) {
        sd_event *e;
        int sv[2];
        CredentialConn *cc = (CredentialConn *) 1;
        (void) state;

        assert_int_equal(sd_event_new(&e), 0);
        /* The largest secret, and binary bytes. */
        SecretBuf *v = pattern(32 * 1024), *copy;
        assert_int_equal(secret_buf_new_copy(v->data, v->size, &copy), 0);
        pair(sv);
        Peer p = { .fd = sv[1], .event = e };
        assert_int_equal(credential_conn_new(e, sv[0], v, 1000 * MSEC, on_closed, &p, &cc), 0);
        assert_null(cc);
        assert_true(peer_read(&p));
        assert_int_equal(p.got_size, copy->size);
        assert_memory_equal(p.got, copy->data, copy->size);
        assert_int_equal(p.closed, 0);
        /* Our end is closed: the descriptor number is free again. */
        assert_int_equal(fcntl(sv[0], F_GETFD), -1);
        close(sv[1]);
        free(p.got);
        secret_buf_free(copy);
        sd_event_unref(e);
}

static void test_finished_from_the_loop(void **state) {
        sd_event *e;
        sd_event_source *src;
        int sv[2];
        CredentialConn *cc = NULL;
        (void) state;

        assert_int_equal(sd_event_new(&e), 0);
        SecretBuf *v = pattern(big_value_size), *copy;
        assert_int_equal(secret_buf_new_copy(v->data, v->size, &copy), 0);
        pair(sv);
        Peer p = { .fd = sv[1], .event = e, .reading = true };
        assert_int_equal(credential_conn_new(e, sv[0], v, 5000 * MSEC, on_closed, &p, &cc), 0);
        assert_non_null(cc); /* more than a socket buffer */
        assert_int_equal(sd_event_add_io(e, &src, sv[1], EPOLLIN, on_peer_readable, &p), 0);
        assert_int_equal(sd_event_loop(e), 0);
        assert_true(p.eof);
        assert_int_equal(p.closed, 1);
        assert_int_equal(p.got_size, copy->size);
        assert_memory_equal(p.got, copy->data, copy->size);
        sd_event_source_unref(src);
        close(sv[1]);
        free(p.got);
        secret_buf_free(copy);
        sd_event_unref(e);
}

static void test_peer_not_reading(void **state) {
        sd_event *e;
        int sv[2];
        CredentialConn *cc = NULL;
        (void) state;

        assert_int_equal(sd_event_new(&e), 0);
        pair(sv);
        Peer p = { .fd = sv[1], .event = e };
        assert_int_equal(credential_conn_new(e, sv[0], pattern(big_value_size), 100 * MSEC, on_closed, &p, &cc), 0);
        assert_non_null(cc);
        uint64_t t0, t1;
        sd_event_now(e, CLOCK_MONOTONIC, &t0);
        assert_int_equal(sd_event_loop(e), 0);
        sd_event_now(e, CLOCK_MONOTONIC, &t1);
        assert_int_equal(p.closed, 1);
        assert_true(t1 - t0 >= 90 * MSEC && t1 - t0 < 2000 * MSEC);
        /* What was sent, then EOF: short of the value. */
        assert_true(peer_read(&p));
        assert_true(p.got_size > 0 && p.got_size < big_value_size);
        close(sv[1]);
        free(p.got);
        sd_event_unref(e);
}

static void test_peer_gone(void **state) {
        sd_event *e;
        int sv[2];
        CredentialConn *cc = (CredentialConn *) 1;
        (void) state;

        assert_int_equal(sd_event_new(&e), 0);
        pair(sv);
        close(sv[1]);
        Peer p = { .fd = -1, .event = e };
        assert_int_equal(credential_conn_new(e, sv[0], pattern(100), 1000 * MSEC, on_closed, &p, &cc), 0);
        assert_null(cc);
        assert_int_equal(p.closed, 0);
        assert_int_equal(fcntl(sv[0], F_GETFD), -1);
        sd_event_unref(e);
}

/* Freed while it waits (the daemon stopping): no callback, no leak. */
static void test_free_while_writing(void **state) {
        sd_event *e;
        int sv[2];
        CredentialConn *cc = NULL;
        (void) state;

        assert_int_equal(sd_event_new(&e), 0);
        pair(sv);
        Peer p = { .fd = sv[1], .event = e };
        assert_int_equal(credential_conn_new(e, sv[0], pattern(big_value_size), 1000 * MSEC, on_closed, &p, &cc), 0);
        assert_non_null(cc);
        credential_conn_free(cc);
        assert_int_equal(p.closed, 0);
        assert_true(peer_read(&p));
        close(sv[1]);
        free(p.got);
        sd_event_unref(e);
}

int main(void) {
        big_value_size = big_size();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_at_once),
                cmocka_unit_test(test_finished_from_the_loop),
                cmocka_unit_test(test_peer_not_reading),
                cmocka_unit_test(test_peer_gone),
                cmocka_unit_test(test_free_while_writing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
