/* test-e2e-activation.c — credvaultd under systemd-socket-activate.
 *
 * The daemon takes its listening socket from sd_listen_fds (systemd's
 * activator binds it), announces READY=1, serves clients through the
 * library, and exits 0 by itself after --idle-exit seconds without them.
 * Skipped (77) where systemd-socket-activate is not installed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

static void test_serves_on_activation_socket(void **state) {
        (void) state;
        Harness h = { .socket_activate = true };
        CvClient *c = NULL;
        CvSecret *s = NULL;
        CvToken *t = NULL;
        CvToken tok = { .access_token = "activated", .token_type = "Bearer", .expires_at = -1 };
        char *log = NULL;
        size_t log_size;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_secret_put(c, "act", "s", "via systemd", 11, NULL), 0);
        assert_int_equal(cv_secret_get(c, "act", "s", &s), 0);
        assert_memory_equal(s->value, "via systemd", 11);
        cv_secret_free(s);
        assert_int_equal(cv_token_put(c, "act", "u", &tok, NULL), 0);
        assert_int_equal(cv_token_get(c, "act", "u", &t), 0);
        assert_string_equal(t->access_token, "activated");
        cv_token_free(t);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        /* It really used the inherited socket. */
        assert_int_equal(harness_read_file(h.log_file, &log, &log_size), 0);
        assert_non_null(memmem(log, log_size, "activation socket", 17));
        free(log);
        harness_cleanup(&h);
}

static void test_idle_exit(void **state) {
        (void) state;
        Harness h = { .socket_activate = true, .extra_args = { "--idle-exit", "1", NULL } };
        CvClient *c = NULL;
        CvHealth health;
        int status = -1;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_health(c, &health), 0);
        cv_client_free(c);
        /* No clients now: it must leave by itself, successfully. */
        for (int i = 0; i < 1000 && waitpid(h.pid, &status, WNOHANG) == 0; i++)
                usleep(10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        h.pid = 0;
        harness_cleanup(&h);
}

int main(void) {
        if (system("command -v systemd-socket-activate >/dev/null 2>&1") != 0) {
                printf("systemd-socket-activate not installed\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_serves_on_activation_socket),
                cmocka_unit_test(test_idle_exit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
