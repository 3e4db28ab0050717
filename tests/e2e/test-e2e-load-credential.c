/* test-e2e-load-credential.c — the credential socket (systemd's
 * LoadCredential=ID:PATH with PATH a socket) through the real daemon.
 *
 * The client does what systemd's service manager does: binds its socket
 * to the abstract address "\0" RANDOM "/unit/" UNIT "/" ID (RANDOM in
 * lowercase hex, "@%" PRIx64), connects, shuts down its write side and
 * reads to EOF. Covered: a unit the policy allows gets exactly the
 * secret's bytes (binary, and the largest value there is); a secret name
 * with '.' in it; a template's instance; a unit the policy does not name,
 * an unknown plugin, an unknown secret, an id that is not PLUGIN.SECRET,
 * an address systemd would not bind (none, a path, a leading zero, a
 * template) and a peer that is not uid 0 all get EOF with nothing; a
 * credential connection over the connection cap too; every one has its
 * audit record (op credential.load, the unit, plugin, secret, result).
 * And the socket as systemd passes it (FileDescriptorName=credentials,
 * through systemd-socket-activate), starting the daemon on demand.
 *
 * Needs root: only uid 0 may name a unit, so a test run as another user
 * has no allowed request to make (skipped, 77). The non-root peer is a
 * child that takes uid 65534 (nobody). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "e2e-raw.h"
#include "harness.h"

/* proto/proto-limits.h */
#define SECRET_VALUE_SIZE_MAX (32 * 1024)
#define NOBODY 65534

static const char POLICY[] =
        "{\"version\": 1, \"principals\": {"
        "  \"unit:todo-web.service\": {\"plugins\": {\"todo\": [\"read\"], \"ghost\": [\"read\"]}},"
        "  \"unit:todo-job@.service\": {\"plugins\": {\"todo\": [\"read\"]}},"
        "  \"unit:todo-writer.service\": {\"plugins\": {\"todo\": [\"write\"]}}}}";

static char cred_dir[] = "/tmp/cv-e2e-cred-XXXXXX";
static char cred_path[108];

/* Connect to path as systemd does, bound to the abstract address name
 * ('@' for its leading NUL; NULL: not bound, unnamed), and read to EOF
 * into buf. Returns the bytes read, or -errno. */
static ssize_t load_credential(const char *path, const char *name, uint8_t *buf, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX }, bsa = { .sun_family = AF_UNIX };
        size_t got = 0;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (name) {
                size_t n = strlen(name);
                assert_true(n <= sizeof(bsa.sun_path));
                memcpy(bsa.sun_path, name, n);
                if (name[0] == '@')
                        bsa.sun_path[0] = '\0';
                if (bind(fd, (struct sockaddr *) &bsa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0)
                        goto fail;
        }
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || shutdown(fd, SHUT_WR) < 0)
                goto fail;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, TIMEOUT_MS * harness_time_scale());
                if (r == 0) {
                        errno = ETIMEDOUT;
                        goto fail;
                }
                ssize_t k = read(fd, buf + got, size - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        goto fail;
                if (k == 0)
                        break;
                got += (size_t) k;
                if (got == size) {
                        errno = EFBIG;
                        goto fail;
                }
        }
        close(fd);
        return (ssize_t) got;
fail:;
        int e = errno;
        close(fd);
        return -e;
}

/* The name systemd binds for unit's credential id, with a random part. */
static void systemd_name(char *buf, size_t size, const char *unit, const char *id) {
        uint64_t random = ((uint64_t) randombytes_random() << 32) | randombytes_random();
        snprintf(buf, size, "@%" PRIx64 "/unit/%s/%s", random, unit, id);
}

static ssize_t load_as_unit(const char *unit, const char *id, uint8_t *buf, size_t size) {
        char name[256];
        systemd_name(name, sizeof(name), unit, id);
        return load_credential(cred_path, name, buf, size);
}

/* Refused: EOF with nothing written. */
static void expect_nothing(const char *name) {
        uint8_t buf[64];
        ssize_t n = load_credential(cred_path, name, buf, sizeof(buf));
        if (n != 0)
                fail_msg("%s: want EOF with nothing, got %zd", name ?: "(unbound)", n);
}

/* The same from a child running as uid (and gid) NOBODY: the bytes it
 * read, or -errno. */
static ssize_t load_as_nobody(const char *name) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                uint8_t buf[64];
                ssize_t n = -EPERM;
                if (setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0)
                        n = load_credential(cred_path, name, buf, sizeof(buf));
                (void) !write(p[1], &n, sizeof(n));
                _exit(0);
        }
        close(p[1]);
        ssize_t n = -EIO;
        assert_int_equal(read(p[0], &n, sizeof(n)), (ssize_t) sizeof(n));
        close(p[0]);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        return n;
}

static void put_secret(int fd, const char *plugin, const char *name, const uint8_t *value, size_t size) {
        char *b64 = malloc(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL));
        assert_non_null(b64);
        sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), value, size,
                          sodium_base64_VARIANT_ORIGINAL);
        size_t rsize = strlen(b64) + 256;
        char *request = malloc(rsize), *reply = NULL;
        assert_non_null(request);
        snprintf(request, rsize,
                 "{\"v\":1,\"id\":1,\"op\":\"secret.put\",\"plugin\":\"%s\",\"name\":\"%s\",\"value\":\"%s\"}", plugin,
                 name, b64);
        assert_int_equal(harness_call(fd, request, TIMEOUT_MS * harness_time_scale(), &reply), 0);
        if (!strstr(reply, "\"ok\":true"))
                fail_msg("secret.put %s/%s: %s", plugin, name, reply);
        free(reply);
        free(request);
        free(b64);
}

/* The credential.load records, oldest first. */
static json_t *credential_records(int fd) {
        json_t *j = expect_ok(fd, "\"op\":\"audit.list\",\"audit_op\":\"credential.load\",\"limit\":100");
        json_t *records = json_incref(json_object_get(j, "records"));
        json_decref(j);
        assert_true(json_is_array(records));
        return records;
}

static bool str_is(const json_t *o, const char *key, const char *want) {
        const char *s = json_string_value(json_object_get(o, key));
        return want ? s && strcmp(s, want) == 0 : json_is_null(json_object_get(o, key));
}

/* A record with these unit, plugin, object and result (NULL: null in
 * the record), and the uid of the peer. */
static void expect_record(const json_t *records, const char *unit, const char *plugin, const char *object,
                          const char *result, unsigned uid, bool revealed) {
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) {
                if (str_is(r, "unit", unit) && str_is(r, "plugin", plugin) && str_is(r, "object", object) &&
                    str_is(r, "result", result) && json_integer_value(json_object_get(r, "uid")) == (json_int_t) uid &&
                    json_is_true(json_object_get(r, "revealed")) == revealed)
                        return;
        }
        char *dump = json_dumps(records, JSON_COMPACT);
        fail_msg("no credential.load record unit=%s plugin=%s object=%s result=%s uid=%u in %.4000s", unit ?: "null",
                 plugin ?: "null", object ?: "null", result, uid, dump);
}

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0) {
                print_message("skipped: only uid 0 may name a unit on the credential socket; run as root\n");
                exit(77);
        }
        assert_int_equal(sodium_init() >= 0, 1);
        assert_non_null(mkdtemp(cred_dir));
        snprintf(cred_path, sizeof(cred_path), "%s/credentials", cred_dir);
        return 0;
}

static int teardown_all(void **state) {
        teardown(state);
        unlink(cred_path);
        rmdir(cred_dir);
        return 0;
}

static void test_load_credential(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {
                .policy = POLICY,
                .extra_args = { "--credential-socket", cred_path, "--max-connections", "3", NULL },
        });
        static uint8_t big[SECRET_VALUE_SIZE_MAX], buf[SECRET_VALUE_SIZE_MAX + 1];
        const uint8_t binary[] = { 's', 0, 0xff, '\n', 0x80, 'x', 0 };

        assert_int_equal(harness_start(h), 0);
        struct stat st;
        assert_int_equal(stat(cred_path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        int fd = harness_connect_raw(h);
        assert_true(fd >= 0);
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t) (i * 7 + i / 256);
        put_secret(fd, "todo", "client_secret", binary, sizeof(binary));
        put_secret(fd, "todo", "db.password", big, sizeof(big));

        /* Allowed: exactly the bytes, then EOF. */
        ssize_t n = load_as_unit("todo-web.service", "todo.client_secret", buf, sizeof(buf));
        assert_int_equal(n, sizeof(binary));
        assert_memory_equal(buf, binary, sizeof(binary));
        n = load_as_unit("todo-web.service", "todo.db.password", buf, sizeof(buf));
        assert_int_equal(n, sizeof(big));
        assert_memory_equal(buf, big, sizeof(big));
        n = load_as_unit("todo-job@nightly.service", "todo.client_secret", buf, sizeof(buf));
        assert_int_equal(n, sizeof(binary));
        /* Random parts as PRIx64 writes them: "0" and 16 digits. */
        assert_int_equal(load_credential(cred_path, "@0/unit/todo-web.service/todo.client_secret", buf, sizeof(buf)),
                         sizeof(binary));
        assert_int_equal(load_credential(cred_path, "@ffffffffffffffff/unit/todo-web.service/todo.client_secret", buf,
                                         sizeof(buf)),
                         sizeof(binary));

        /* Refused: EOF, nothing written. */
        char name[256];
        systemd_name(name, sizeof(name), "other.service", "todo.client_secret");
        expect_nothing(name); /* a unit the policy does not name */
        systemd_name(name, sizeof(name), "todo-writer.service", "todo.client_secret");
        expect_nothing(name); /* write does not include read */
        systemd_name(name, sizeof(name), "todo-web.service", "ghost.client_secret");
        expect_nothing(name); /* unknown plugin */
        systemd_name(name, sizeof(name), "todo-job@x.service", "ghost.client_secret");
        expect_nothing(name); /* unknown plugin, and not granted: denied first */
        systemd_name(name, sizeof(name), "todo-web.service", "todo.nope");
        expect_nothing(name); /* unknown secret */
        systemd_name(name, sizeof(name), "todo-web.service", "client_secret");
        expect_nothing(name); /* not PLUGIN.SECRET */
        expect_nothing(NULL); /* not bound */
        expect_nothing("@01/unit/todo-web.service/todo.client_secret");
        expect_nothing("@1/unit/todo-job@.service/todo.client_secret");
        expect_nothing("@1/unit/todo-web.service/todo.client_secret/x");
        char path_name[108];
        snprintf(path_name, sizeof(path_name), "%s/client", cred_dir);
        expect_nothing(path_name); /* a path, not the abstract namespace */
        unlink(path_name);

        /* Not the service manager: nothing, whatever it claims. */
        assert_int_equal(chmod(cred_dir, 0711), 0);
        assert_int_equal(chmod(cred_path, 0666), 0);
        systemd_name(name, sizeof(name), "todo-web.service", "todo.client_secret");
        assert_int_equal(load_as_nobody(name), 0);
        assert_int_equal(chmod(cred_path, 0600), 0);

        /* Over the connection cap (3: this one and two more): nothing. */
        int more[2] = { harness_connect_raw(h), harness_connect_raw(h) };
        assert_true(more[0] >= 0 && more[1] >= 0);
        json_decref(expect_ok(more[1], "\"op\":\"health\"")); /* both accepted */
        json_decref(expect_ok(more[0], "\"op\":\"health\""));
        expect_nothing(name);
        close(more[0]);
        close(more[1]);
        for (int i = 0; i < 100 && load_as_unit("todo-web.service", "todo.client_secret", buf, sizeof(buf)) == 0; i++)
                sleep_ms(10); /* until the daemon has seen them close */
        assert_int_equal(load_as_unit("todo-web.service", "todo.client_secret", buf, sizeof(buf)), sizeof(binary));

        /* Every request has its record. */
        json_t *records = credential_records(fd);
        expect_record(records, "todo-web.service", "todo", "client_secret", "ok", 0, true);
        expect_record(records, "todo-web.service", "todo", "db.password", "ok", 0, true);
        expect_record(records, "todo-job@nightly.service", "todo", "client_secret", "ok", 0, true);
        expect_record(records, "other.service", "todo", "client_secret", "denied", 0, false);
        expect_record(records, "todo-writer.service", "todo", "client_secret", "denied", 0, false);
        expect_record(records, "todo-web.service", "ghost", "client_secret", "not_found", 0, false);
        expect_record(records, "todo-job@x.service", "ghost", "client_secret", "denied", 0, false);
        expect_record(records, "todo-web.service", "todo", "nope", "not_found", 0, false);
        expect_record(records, "todo-web.service", NULL, "client_secret", "bad_request", 0, false);
        expect_record(records, NULL, NULL, NULL, "bad_request", 0, false);
        expect_record(records, NULL, "todo", "client_secret", "denied", NOBODY, false);
        json_decref(records);
        json_t *j = expect_ok(fd, "\"op\":\"audit.list\",\"audit_op\":\"connect\"");
        char *dump = json_dumps(j, JSON_COMPACT);
        assert_non_null(strstr(dump, "too many connections"));
        free(dump);
        json_decref(j);
        close(fd);
}

/* The credential socket as systemd passes it: named "credentials"
 * (FileDescriptorName=), beside the protocol's, the daemon started by
 * the first connection to it. */
static void test_activation(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) { .policy = POLICY });
        uint8_t buf[64];
        const uint8_t value[] = "activated";

        if (access("/usr/bin/systemd-socket-activate", X_OK) < 0 && access("/bin/systemd-socket-activate", X_OK) < 0)
                skip();
        assert_int_equal(harness_start(h), 0);
        int fd = harness_connect_raw(h);
        assert_true(fd >= 0);
        put_secret(fd, "todo", "token", value, sizeof(value) - 1);
        close(fd);
        assert_int_equal(harness_stop(h), 0);
        unlink(h->socket_path);
        unlink(cred_path);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execlp("systemd-socket-activate", "systemd-socket-activate", "-l", h->socket_path, "-l", cred_path,
                       "--fdname=credvault.socket:credentials", harness_daemon_path(), "--state-dir", h->state_dir,
                       "--root-key-file", h->key_file, "--policy", h->policy_file, "--idle-exit", "0", (char *) NULL);
                _exit(127);
        }
        ssize_t n = -1;
        for (int i = 0; i < 500 * harness_time_scale() && n < 0; i++) {
                n = load_as_unit("todo-web.service", "todo.token", buf, sizeof(buf));
                if (n < 0)
                        sleep_ms(10); /* not listening yet */
        }
        kill(pid, SIGTERM);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(n, sizeof(value) - 1);
        assert_memory_equal(buf, value, sizeof(value) - 1);
        unlink(h->socket_path);
        unlink(cred_path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_load_credential, teardown),
                cmocka_unit_test_teardown(test_activation, teardown),
        };
        return cmocka_run_group_tests(tests, setup, teardown_all);
}
