/* test-peer.c — daemon/identity/peer.c: the caller's identity from the
 * kernel over real sockets, and the unit check that refuses a pid whose
 * process is gone (a pid that may name another process by now).
 *
 * Outside systemd (a container, a build chroot) no process has a unit:
 * the tests then check that none is invented, and what needs a unit is
 * skipped with the reason. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"
#include "unit-util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static int pidfd_open_pid(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Whether this kernel has SO_PEERPIDFD (Linux 6.5+). */
static bool kernel_has_peerpidfd(int fd) {
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                return false;
        close(pidfd);
        return true;
}

/* Our own unit, or NULL outside systemd. */
static char *self_unit(void) {
        char *unit = NULL;
        return sd_pid_get_unit(getpid(), &unit) < 0 ? NULL : unit;
}

static void test_socketpair_is_self(void **state) {
        int sv[2];
        Peer p = {};
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(peer_from_socket(sv[0], &p), 0);
        assert_int_equal(p.uid, geteuid());
        assert_int_equal(p.gid, getegid());
        assert_int_equal(p.pid, getpid());
        assert_true(peer_in_group(&p, getegid()));

        /* The supplementary groups are ours. */
        gid_t groups[256];
        int n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
        assert_true(n >= 0);
        assert_int_equal(p.n_groups, (size_t) n);
        for (int i = 0; i < n; i++)
                assert_true(peer_in_group(&p, groups[i]));

        /* The unit is ours, or none outside systemd; never made up. */
        char *unit = self_unit();
        if (unit) {
                assert_non_null(p.unit);
                assert_string_equal(p.unit, unit);
        } else
                assert_null(p.unit);
        free(unit);
        assert_int_equal(p.pidfd, kernel_has_peerpidfd(sv[0]) ? PEER_PIDFD_SOCKET : PEER_PIDFD_OPEN);
        assert_non_null(peer_pidfd_to_string(p.pidfd));

        peer_done(&p);
        assert_null(p.unit);
        assert_null(p.groups);
        peer_done(&p); /* a zeroed Peer is fine */
        close(sv[0]);
        close(sv[1]);
}

static void test_not_a_socket(void **state) {
        int fds[2];
        Peer p = { .uid = 4242 };
        (void) state;

        assert_int_equal(pipe(fds), 0);
        assert_int_equal(peer_from_socket(fds[0], &p), -ENOTSOCK);
        assert_int_equal(p.uid, 4242); /* untouched on failure */
        close(fds[0]);
        close(fds[1]);
}

/* A client that connects and is gone (exited and reaped) before the
 * accept is read: its uid and pid are known, but no unit can be vouched
 * for, since its pid is free for any other process. */
static void test_peer_gone_before_accept(void **state) {
        char *dir = tmpdir_new();
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Peer p = {};
        int status;
        (void) state;

        assert_non_null(dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(lfd, 4), 0);

        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                int c = socket(AF_UNIX, SOCK_STREAM, 0);
                _exit(c >= 0 && connect(c, (struct sockaddr *) &sa, sizeof(sa)) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(cfd >= 0);
        assert_int_equal(peer_from_socket(cfd, &p), 0);
        assert_int_equal(p.uid, geteuid());
        assert_int_equal(p.pid, child);
        assert_null(p.unit);
        peer_done(&p);

        close(cfd);
        close(lfd);
        tmpdir_remove(dir);
}

/* The pid-reuse case, made deterministic: a pidfd whose process is gone,
 * presented with a pid that names a live process (our own). Whatever that
 * live process's unit is, it must not be handed out. */
static void test_unit_refused_when_pidfd_process_gone(void **state) {
        int status;
        char *unit = NULL;
        (void) state;

        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pause();
                _exit(0);
        }
        int pidfd = pidfd_open_pid(child);
        assert_true(pidfd >= 0);
        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, &status, 0), child);

        assert_int_equal(peer_unit_from_pidfd(pidfd, getpid(), (uid_t) -1, &unit), -ESRCH);
        assert_null(unit);
        assert_int_equal(peer_unit_from_pidfd(pidfd, child, (uid_t) -1, &unit), -ESRCH);
        assert_null(unit);
        close(pidfd);

        assert_int_equal(peer_unit_from_pidfd(-1, getpid(), (uid_t) -1, &unit), -EINVAL);
        assert_int_equal(peer_unit_from_pidfd(0, 0, (uid_t) -1, &unit), -EINVAL);
}

/* Through pidfd_open (the path of kernels before 6.5): our own unit, and
 * the uid check that keeps a pid that came round to another user's
 * process from lending its unit. Needs a unit. */
static void test_unit_through_pidfd_open(void **state) {
        char *unit = NULL, *mine = self_unit();
        (void) state;

        int pidfd = pidfd_open_pid(getpid());
        assert_true(pidfd >= 0);
        if (!mine) {
                /* Not in a unit: an error, never a unit. */
                assert_true(peer_unit_from_pidfd(pidfd, getpid(), geteuid(), &unit) < 0);
                assert_null(unit);
                close(pidfd);
                skip(); /* needs to run inside a systemd unit */
        }
        assert_int_equal(peer_unit_from_pidfd(pidfd, getpid(), geteuid(), &unit), 0);
        assert_string_equal(unit, mine);
        free(unit);
        unit = NULL;
        assert_int_equal(peer_unit_from_pidfd(pidfd, getpid(), geteuid() + 1, &unit), -EPERM);
        assert_null(unit);
        assert_int_equal(peer_unit_from_pidfd(pidfd, getpid(), (uid_t) -1, &unit), 0);
        free(unit);
        free(mine);
        close(pidfd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socketpair_is_self),
                cmocka_unit_test(test_not_a_socket),
                cmocka_unit_test(test_peer_gone_before_accept),
                cmocka_unit_test(test_unit_refused_when_pidfd_process_gone),
                cmocka_unit_test(test_unit_through_pidfd_open),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
