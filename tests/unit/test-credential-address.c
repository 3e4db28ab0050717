/* test-credential-address.c — daemon/identity/credential-address.c: the
 * unit and credential id in the address systemd binds its end of a
 * LoadCredential= socket to, over a real socket (bound, connected and
 * accepted as the daemon sees it) and as a table of strings that systemd
 * would and would not make. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "credential-address.h"

/* The address of name (its first byte '@' for the abstract namespace's
 * NUL), size exactly its bytes, as systemd's sockaddr_un_set_path(). */
static socklen_t address_of(const char *name, size_t n, struct sockaddr_un *sa) {
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        assert_true(n <= sizeof(sa->sun_path));
        memcpy(sa->sun_path, name, n);
        if (name[0] == '@')
                sa->sun_path[0] = '\0';
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);
}

static int parse(const char *name, CredentialAddress *ret) {
        struct sockaddr_un sa;
        socklen_t size = address_of(name, strlen(name), &sa);
        return credential_address_parse(&sa, size, ret);
}

static void test_valid(void **state) {
        static const struct {
                const char *name, *unit, *id;
        } cases[] = {
                { "@1a2b3c4d5e6f7a8b/unit/todo-web.service/todo.client_secret", "todo-web.service",
                  "todo.client_secret" },
                { "@0/unit/a.service/x", "a.service", "x" },
                { "@f/unit/job@1.service/jobs.db.password", "job@1.service", "jobs.db.password" },
                { "@ffffffffffffffff/unit/foo\\x2dbar.service/p.s", "foo\\x2dbar.service", "p.s" },
                { "@9/unit/run-u7.scope/a-b_c@d.e", "run-u7.scope", "a-b_c@d.e" },
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                CredentialAddress a;
                if (parse(cases[i].name, &a) != 0)
                        fail_msg("%s: refused", cases[i].name);
                assert_string_equal(a.unit, cases[i].unit);
                assert_string_equal(a.id, cases[i].id);
        }
}

static void test_invalid(void **state) {
        static const char *const cases[] = {
                "/run/x/socket",                       /* a path */
                "@",                                   /* empty */
                "@/unit/a.service/x",                  /* no random part */
                "@01/unit/a.service/x",                /* a leading zero: not PRIx64 */
                "@1A/unit/a.service/x",                /* upper case */
                "@1ffffffffffffffff/unit/a.service/x", /* 17 digits */
                "@1g/unit/a.service/x",                /* not hex */
                "@1/units/a.service/x",
                "@1/unit/a.service",
                "@1/unit/a.service/",
                "@1/unit//x",
                "@1/unit/a/x",           /* no unit type */
                "@1/unit/a.service/x/y", /* '/' in the id */
                "@1/unit/a.service/a:b", /* ':' in the id */
                "@1/unit/a.service/.",
                "@1/unit/a.service/..",  /* not file names */
                "@1/unit/a.service/a b", /* a space */
                "@1/unit/a b.service/x",
                "@1/unit/@a.service/x", /* not unit names */
                "@1/unit/a@.service/x", /* a template never runs */
                "@1/unit/a@b@c.service/x",
        };
        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                CredentialAddress a;
                if (parse(cases[i], &a) != -EBADMSG)
                        fail_msg("%s: accepted", cases[i]);
        }
}

static void test_nul_and_size(void **state) {
        struct sockaddr_un sa;
        CredentialAddress a;
        const char *name = "@1/unit/a.service/x";
        (void) state;

        /* A trailing NUL (sizeof(sa) rather than the name's size) is
         * not systemd's. */
        socklen_t size = address_of(name, strlen(name) + 1, &sa);
        assert_int_equal(credential_address_parse(&sa, size, &a), -EBADMSG);
        size = address_of("@1/unit/a.service/x\0y", 21, &sa);
        assert_int_equal(credential_address_parse(&sa, size, &a), -EBADMSG);
        /* Unnamed (only the family), and a family that is not AF_UNIX. */
        assert_int_equal(credential_address_parse(&sa, offsetof(struct sockaddr_un, sun_path), &a), -EBADMSG);
        size = address_of(name, strlen(name), &sa);
        sa.sun_family = AF_INET;
        assert_int_equal(credential_address_parse(&sa, size, &a), -EBADMSG);
        /* An id at the limit, and one over it. */
        char big[sizeof(sa.sun_path) + 1];
        int n = snprintf(big, sizeof(big), "@1/unit/a.service/");
        memset(big + n, 'x', sizeof(big) - 1 - (size_t) n);
        big[sizeof(sa.sun_path)] = '\0';
        assert_int_equal(parse(big, &a), 0);
        assert_int_equal(strlen(a.id), sizeof(sa.sun_path) - (size_t) n);
        assert_int_equal(credential_id_check("x", 1), 0);
        char id[CREDENTIAL_ID_SIZE_MAX + 1];
        memset(id, 'x', sizeof(id));
        assert_int_equal(credential_id_check(id, CREDENTIAL_ID_SIZE_MAX), 0);
        assert_int_equal(credential_id_check(id, CREDENTIAL_ID_SIZE_MAX + 1), -EBADMSG);
}

/* What accept() says of a peer bound as systemd binds it. */
static void test_real_socket(void **state) {
        char path[] = "/tmp/cv-credaddr-XXXXXX";
        struct sockaddr_un sa = { .sun_family = AF_UNIX }, bsa, peer;
        const char *name = "@5eed/unit/todo-web.service/todo.client_secret";
        CredentialAddress a;
        (void) state;

        assert_non_null(mkdtemp(path));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", path);
        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(l >= 0 && c >= 0);
        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(l, 1), 0);
        socklen_t bsize = address_of(name, strlen(name), &bsa);
        assert_int_equal(bind(c, (struct sockaddr *) &bsa, bsize), 0);
        assert_int_equal(connect(c, (struct sockaddr *) &sa, sizeof(sa)), 0);
        socklen_t psize = sizeof(peer);
        int s = accept4(l, (struct sockaddr *) &peer, &psize, SOCK_CLOEXEC);
        assert_true(s >= 0);
        assert_int_equal(credential_address_parse(&peer, psize, &a), 0);
        assert_string_equal(a.unit, "todo-web.service");
        assert_string_equal(a.id, "todo.client_secret");
        /* getpeername() says the same. */
        psize = sizeof(peer);
        assert_int_equal(getpeername(s, (struct sockaddr *) &peer, &psize), 0);
        assert_int_equal(credential_address_parse(&peer, psize, &a), 0);
        close(s);
        close(c);

        /* An unbound client: unnamed. */
        c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(c, (struct sockaddr *) &sa, sizeof(sa)), 0);
        psize = sizeof(peer);
        s = accept4(l, (struct sockaddr *) &peer, &psize, SOCK_CLOEXEC);
        assert_true(s >= 0);
        assert_int_equal(credential_address_parse(&peer, psize, &a), -EBADMSG);
        close(s);
        close(c);
        close(l);
        unlink(sa.sun_path);
        rmdir(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_nul_and_size),
                cmocka_unit_test(test_real_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
