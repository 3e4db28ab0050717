/* test-e2e-client-malformed.c — libcredvault against a daemon that answers
 * wrongly (a buggy credvaultd, or whoever holds the socket path).
 *
 * A fake daemon, a thread on a Unix socket in a temporary directory,
 * answers every request with the reply the test chose, the request's id
 * filled in. Shows: a reply with a member missing or of the wrong type, a
 * NUL byte, invalid UTF-8, another id, an error object without a code, or
 * list pages that never end fails the call cleanly with -EPROTO and the
 * error code "protocol": no output is handed back, nothing is leaked (the
 * leak checker runs after each case when built with ASan), and the client
 * serves the next call. Needs no credvaultd. */
#include <errno.h>
#include <pthread.h>
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

#include "credvault.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define TIMEOUT_MS 5000
/* Where the fake daemon's reply takes the request's id. */
#define ID "@ID@"

static struct {
        pthread_mutex_t lock;
        const char *reply; /* with ID, then reply_size bytes in all */
        size_t reply_size;
        const char *last_page;     /* after PAGES_MAX replies, this one instead */
        const char *const *script; /* else, if set: the n-th reply, the last one repeated */
        size_t script_size;
        unsigned n_replies;
        int listen_fd;
        char dir[64];
        char path[108];
        pthread_t thread;
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER, .listen_fd = -1 };

#define PAGES_MAX 50

static CvClient *c;

static int read_exact(int fd, void *buf, size_t size) {
        for (char *p = buf; size > 0;) {
                ssize_t k = read(fd, p, size);
                if (k <= 0)
                        return -1;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* One request in, the chosen reply out, until the client hangs up. */
static void serve_connection(int fd) {
        static char body[70000], out[70000];
        unsigned char header[4];

        while (read_exact(fd, header, 4) == 0) {
                size_t size = (size_t) header[0] << 24 | (size_t) header[1] << 16 | (size_t) header[2] << 8 | header[3];
                if (size >= sizeof(body) || read_exact(fd, body, size) < 0)
                        break;
                body[size] = '\0';
                const char *id = strstr(body, "\"id\":");
                unsigned long long n = id ? strtoull(id + 5, NULL, 10) : 0;

                pthread_mutex_lock(&fake.lock);
                const char *reply = fake.reply;
                size_t reply_size = fake.reply_size;
                unsigned nth = fake.n_replies++;
                if (fake.script) {
                        reply = fake.script[nth < fake.script_size ? nth : fake.script_size - 1];
                        reply_size = strlen(reply);
                }
                if (fake.last_page && nth >= PAGES_MAX) {
                        reply = fake.last_page;
                        reply_size = strlen(reply);
                }
                /* The reply with its id in place of ID. */
                const char *at = memmem(reply, reply_size, ID, strlen(ID));
                size_t k = 4;
                if (at) {
                        memcpy(out + k, reply, (size_t) (at - reply));
                        k += (size_t) (at - reply);
                        k += (size_t) sprintf(out + k, "%llu", n);
                        size_t rest = reply_size - (size_t) (at - reply) - strlen(ID);
                        memcpy(out + k, at + strlen(ID), rest);
                        k += rest;
                } else {
                        memcpy(out + k, reply, reply_size);
                        k += reply_size;
                }
                pthread_mutex_unlock(&fake.lock);
                size_t len = k - 4;
                out[0] = (char) (len >> 24), out[1] = (char) (len >> 16), out[2] = (char) (len >> 8),
                out[3] = (char) len;
                if (write(fd, out, k) != (ssize_t) k)
                        break;
        }
        close(fd);
}

static void *fake_daemon(void *arg) {
        (void) arg;
        for (;;) {
                int fd = accept(fake.listen_fd, NULL, NULL);
                if (fd < 0)
                        return NULL; /* shut down */
                serve_connection(fd);
        }
}

/* Answer every request with reply (size bytes: it may hold a NUL). */
static void answer_bytes(const char *reply, size_t size) {
        pthread_mutex_lock(&fake.lock);
        fake.reply = reply;
        fake.reply_size = size;
        fake.last_page = NULL;
        fake.script = NULL;
        fake.script_size = 0;
        fake.n_replies = 0;
        pthread_mutex_unlock(&fake.lock);
}

/* Answer the n-th request with pages[n], and every later one with the
 * last page; then, after PAGES_MAX in all, with end (a last page, so a
 * client that would page forever ends instead and fails the test rather
 * than hang it). */
static void answer_pages(const char *const *pages, size_t n_pages, const char *end) {
        pthread_mutex_lock(&fake.lock);
        fake.reply = NULL;
        fake.reply_size = 0;
        fake.script = pages;
        fake.script_size = n_pages;
        fake.last_page = end;
        fake.n_replies = 0;
        pthread_mutex_unlock(&fake.lock);
}

static void answer(const char *reply) {
        answer_bytes(reply, strlen(reply));
}

/* The call failed as a protocol error, and nothing it allocated is left. */
static void assert_protocol_error(int r) {
        if (r != -EPROTO)
                fail_msg("returned %d (%s: %s), not -EPROTO", r, cv_client_error_code(c), cv_client_error_message(c));
        assert_string_equal(cv_client_error_code(c), "protocol");
#ifdef HAVE_LSAN
        if (__lsan_do_recoverable_leak_check() != 0)
                fail_msg("leaked memory (see the report above)");
#endif
}

/* The client still serves a correct reply. */
static void assert_client_usable(void) {
        CvHealth health;
        answer("{\"id\":" ID ",\"ok\":true,\"version\":\"9\",\"uptime\":1,\"connections\":1,"
               "\"keyring\":{\"primary\":1,\"keks\":1},\"secrets\":2,\"tokens\":3}");
        assert_int_equal(cv_health(c, &health), 0);
        assert_int_equal(health.secrets, 2);
        assert_int_equal(health.keks, 1);
}

static int setup(void **state) {
        (void) state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *tmp = getenv("TMPDIR");

        snprintf(fake.dir, sizeof(fake.dir), "%s/cv-fake.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fake.dir))
                return -1;
        snprintf(fake.path, sizeof(fake.path), "%s/socket", fake.dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fake.path);
        fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fake.listen_fd < 0 || bind(fake.listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            listen(fake.listen_fd, 8) < 0)
                return -1;
        if (pthread_create(&fake.thread, NULL, fake_daemon, NULL) != 0)
                return -1;
        return cv_client_new(fake.path, TIMEOUT_MS, &c) < 0 ? -1 : 0;
}

static int teardown(void **state) {
        (void) state;
        cv_client_free(c);
        shutdown(fake.listen_fd, SHUT_RDWR);
        close(fake.listen_fd);
        pthread_join(fake.thread, NULL);
        unlink(fake.path);
        rmdir(fake.dir);
        return 0;
}

#define PLUGIN_A                                                                                                       \
        "{\"plugin\":\"a\",\"domain\":\"a.example\",\"auth_type\":\"none\",\"version\":1,\"created\":1,\"updated\":1}"

/* Each entry but the first is broken in one way; the first is whole, so
 * its strings are allocated before the broken one is met. */
static void test_plugin_list_bad_entry(void **state) {
        (void) state;
        static const char *const bad[] = {
                "{\"plugin\":\"b\",\"domain\":\"b.example\",\"version\":1,\"created\":1,\"updated\":1}",
                "{\"plugin\":\"b\",\"domain\":\"b.example\",\"auth_type\":5,\"version\":1,\"created\":1,\"updated\":1}",
                "{\"domain\":\"b.example\",\"auth_type\":\"none\",\"version\":1,\"created\":1,\"updated\":1}",
                "{\"plugin\":\"b\",\"domain\":7,\"auth_type\":\"none\",\"version\":1,\"created\":1,\"updated\":1}",
                "{\"plugin\":\"b\",\"domain\":\"b.example\",\"auth_type\":\"none\",\"version\":\"1\",\"created\":1,"
                "\"updated\":1}",
                "{\"plugin\":\"b\",\"domain\":\"b.example\",\"auth_type\":\"none\",\"version\":1,\"created\":1}",
                "\"b\"",
                "null",
        };
        char reply[512];
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                CvPluginInfo *items = NULL;
                snprintf(reply, sizeof(reply),
                         "{\"id\":" ID ",\"ok\":true,\"plugins\":[" PLUGIN_A ",%s],\"next\":null}", bad[i]);
                answer(reply);
                assert_protocol_error(cv_plugin_list(c, &items));
                assert_null(items);
        }
        /* The page itself. */
        static const char *const pages[] = {
                "{\"id\":" ID ",\"ok\":true,\"plugins\":{},\"next\":null}",
                "{\"id\":" ID ",\"ok\":true,\"next\":null}",
                "{\"id\":" ID ",\"ok\":true,\"plugins\":[" PLUGIN_A "],\"next\":7}",
                "{\"id\":" ID ",\"ok\":true,\"plugins\":[" PLUGIN_A "]}",
        };
        for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
                CvPluginInfo *items = NULL;
                answer(pages[i]);
                assert_protocol_error(cv_plugin_list(c, &items));
                assert_null(items);
        }
        /* A null domain is a plugin without one. */
        CvPluginInfo *items = NULL;
        answer("{\"id\":" ID ",\"ok\":true,\"plugins\":[" PLUGIN_A ",{\"plugin\":\"b\",\"domain\":null,\"auth_type\":"
               "\"oauth\",\"version\":2,\"created\":3,\"updated\":4}],\"next\":null}");
        assert_int_equal(cv_plugin_list(c, &items), 2);
        assert_string_equal(items[1].name, "b");
        assert_null(items[1].domain);
        assert_int_equal(items[1].updated, 4);
        cv_plugin_info_free(items, 2);
        assert_client_usable();
}

/* Pages that never end: an empty page with a next cursor is refused, not
 * asked for again and again. */
static void test_list_without_end(void **state) {
        (void) state;
        CvPluginInfo *items = NULL;
        answer("{\"id\":" ID ",\"ok\":true,\"plugins\":[],\"next\":\"a\"}");
        pthread_mutex_lock(&fake.lock);
        fake.last_page = "{\"id\":" ID ",\"ok\":true,\"plugins\":[],\"next\":null}";
        pthread_mutex_unlock(&fake.lock);
        assert_protocol_error(cv_plugin_list(c, &items));
        assert_null(items);
        assert_client_usable();
}

#define PAGE(items_key, items, next) "{\"id\":" ID ",\"ok\":true,\"" items_key "\":[" items "],\"next\":" next "}"
#define META ",\"version\":1,\"created\":1,\"updated\":1}"
#define SECRET(plugin, name) "{\"plugin\":\"" plugin "\",\"name\":\"" name "\"" META
#define USER(user) "{\"user\":\"" user "\",\"state\":\"valid\"" META
#define PLUGIN(name) "{\"plugin\":\"" name "\",\"domain\":null,\"auth_type\":\"none\"" META

/* Each list call, given pages whose next cursor does not move forward (the
 * same cursor again, one before it, or one that is not the page's last
 * item), fails with -EPROTO at once instead of asking again and again. */
static void test_list_cursor_not_advancing(void **state) {
        (void) state;
        static const char *const plugin_same[] = { PAGE("plugins", PLUGIN("a"), "\"a\"") };
        static const char *const plugin_back[] = { PAGE("plugins", PLUGIN("b"), "\"b\""),
                                                   PAGE("plugins", PLUGIN("a"), "\"a\"") };
        static const char *const plugin_not_last[] = { PAGE("plugins", PLUGIN("a"), "\"a\""),
                                                       PAGE("plugins", PLUGIN("b"), "\"c\"") };
        static const char *const plugin_not_last_first[] = { PAGE("plugins", PLUGIN("b") "," PLUGIN("c"), "\"b\"") };
        static const char *const secret_same[] = { PAGE("secrets", SECRET("p", "n"), "\"p/n\"") };
        static const char *const secret_back[] = { PAGE("secrets", SECRET("p", "n"), "\"p/n\""),
                                                   PAGE("secrets", SECRET("p", "m"), "\"p/m\"") };
        static const char *const secret_not_last[] = { PAGE("secrets", SECRET("p", "n"), "\"p/m\"") };
        static const char *const token_same[] = { PAGE("tokens", USER("u"), "\"u\"") };
        static const char *const token_back[] = { PAGE("tokens", USER("v"), "\"v\""),
                                                  PAGE("tokens", USER("u"), "\"u\"") };
        static const char *const apikey_same[] = { PAGE("apikeys", USER("u"), "\"u\"") };
        static const char *const apikey_back[] = { PAGE("apikeys", USER("v"), "\"v\""),
                                                   PAGE("apikeys", USER("u"), "\"u\"") };
        static const struct {
                const char *const *pages;
                size_t n_pages;
                int list; /* 0 plugin, 1 secret, 2 token, 3 apikey */
        } cases[] = {
                { plugin_same, 1, 0 },           { plugin_back, 2, 0 }, { plugin_not_last, 2, 0 },
                { plugin_not_last_first, 1, 0 }, { secret_same, 1, 1 }, { secret_back, 2, 1 },
                { secret_not_last, 1, 1 },       { token_same, 1, 2 },  { token_back, 2, 2 },
                { apikey_same, 1, 3 },           { apikey_back, 2, 3 },
        };
        static const char *const ends[] = {
                PAGE("plugins", "", "null"),
                PAGE("secrets", "", "null"),
                PAGE("tokens", "", "null"),
                PAGE("apikeys", "", "null"),
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                CvPluginInfo *plugins = NULL;
                CvSecretInfo *secrets = NULL;
                CvTokenInfo *tokens = NULL;
                int r;
                answer_pages(cases[i].pages, cases[i].n_pages, ends[cases[i].list]);
                switch (cases[i].list) {
                case 0:
                        r = cv_plugin_list(c, &plugins);
                        break;
                case 1:
                        r = cv_secret_list(c, NULL, &secrets);
                        break;
                case 2:
                        r = cv_token_list(c, "p", &tokens);
                        break;
                default:
                        r = cv_apikey_list(c, "p", &secrets);
                        break;
                }
                if (r >= 0)
                        fail_msg("case %zu: %d items after %u pages, not -EPROTO", i, r, fake.n_replies);
                assert_protocol_error(r);
                assert_null(plugins);
                assert_null(secrets);
                assert_null(tokens);
                /* Refused at the first page that does not move on. */
                assert_true(fake.n_replies <= cases[i].n_pages + 1);
        }
        assert_client_usable();
}

/* Cursors that do move on are followed to the end, in the daemon's order:
 * secrets by plugin and then name, so "a/z" comes before "a-b/x" although
 * '-' sorts before '/'. */
static void test_list_cursor_advancing(void **state) {
        (void) state;
        static const char *const secret_pages[] = {
                PAGE("secrets", SECRET("a", "y") "," SECRET("a", "z"), "\"a/z\""),
                PAGE("secrets", SECRET("a-b", "x"), "\"a-b/x\""),
                PAGE("secrets", SECRET("a-b", "y"), "null"),
        };
        static const char *const token_pages[] = {
                PAGE("tokens", USER("u"), "\"u\""),
                PAGE("tokens", USER("u/2"), "\"u/2\""),
                PAGE("tokens", USER("v"), "null"),
        };
        CvSecretInfo *secrets = NULL;
        CvTokenInfo *tokens = NULL;

        answer_pages(secret_pages, 3, NULL);
        assert_int_equal(cv_secret_list(c, NULL, &secrets), 4);
        assert_string_equal(secrets[2].plugin, "a-b");
        assert_string_equal(secrets[3].name, "y");
        cv_secret_info_free(secrets, 4);
        answer_pages(token_pages, 3, NULL);
        assert_int_equal(cv_token_list(c, "p", &tokens), 3);
        assert_string_equal(tokens[1].user, "u/2");
        cv_token_info_free(tokens, 3);
        assert_client_usable();
}

static void test_other_lists_bad_entry(void **state) {
        (void) state;
        CvSecretInfo *secrets = NULL;
        CvTokenInfo *tokens = NULL;

        answer("{\"id\":" ID ",\"ok\":true,\"secrets\":[{\"plugin\":\"p\",\"name\":\"n\",\"version\":1,\"created\":1,"
               "\"updated\":1},{\"plugin\":\"p\",\"version\":1,\"created\":1,\"updated\":1}],\"next\":null}");
        assert_protocol_error(cv_secret_list(c, NULL, &secrets));
        assert_null(secrets);
        answer("{\"id\":" ID ",\"ok\":true,\"secrets\":[{\"plugin\":\"p\",\"name\":\"n\",\"version\":true,"
               "\"created\":1,\"updated\":1}],\"next\":null}");
        assert_protocol_error(cv_secret_list(c, NULL, &secrets));

        answer("{\"id\":" ID ",\"ok\":true,\"apikeys\":[{\"user\":\"u\",\"version\":1,\"created\":1,\"updated\":1},"
               "{\"user\":5,\"version\":1,\"created\":1,\"updated\":1}],\"next\":null}");
        assert_protocol_error(cv_apikey_list(c, "p", &secrets));
        assert_null(secrets);

        static const char *const bad_tokens[] = {
                "{\"user\":\"v\",\"version\":1,\"created\":1,\"updated\":1,\"state\":\"a state name over 15 bytes\"}",
                "{\"user\":\"v\",\"version\":1,\"created\":1,\"updated\":1,\"state\":1}",
                "{\"user\":\"v\",\"version\":1,\"created\":1,\"updated\":1,\"expires_at\":\"soon\"}",
                "{\"version\":1,\"created\":1,\"updated\":1}",
        };
        char reply[512];
        for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
                snprintf(reply, sizeof(reply),
                         "{\"id\":" ID
                         ",\"ok\":true,\"tokens\":[{\"user\":\"u\",\"version\":1,\"created\":1,\"updated\":1,"
                         "\"state\":\"valid\"},%s],\"next\":null}",
                         bad_tokens[i]);
                answer(reply);
                assert_protocol_error(cv_token_list(c, "p", &tokens));
                assert_null(tokens);
        }
        assert_client_usable();
}

static void test_plugin_register_without_plugin(void **state) {
        (void) state;
        static const char *const bad[] = {
                "{\"id\":" ID
                ",\"ok\":true,\"domain\":null,\"auth_type\":\"none\",\"version\":1,\"created\":1,\"updated\":1}",
                "{\"id\":" ID ",\"ok\":true,\"plugin\":5,\"domain\":null,\"auth_type\":\"none\",\"version\":1,"
                "\"created\":1,\"updated\":1}",
                "{\"id\":" ID ",\"ok\":true,\"plugin\":\"p\",\"domain\":null,\"auth_type\":\"none\",\"created\":1,"
                "\"updated\":1}",
                "{\"id\":" ID ",\"ok\":true,\"plugin\":\"p\",\"domain\":null,\"auth_type\":\"none\",\"version\":"
                "4294967296,\"created\":1,\"updated\":1}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *name = NULL;
                answer(bad[i]);
                assert_protocol_error(cv_plugin_register(c, "{\"type\":\"none\"}", "p", NULL, &name));
                assert_null(name);
        }
        char *name = NULL;
        answer("{\"id\":" ID ",\"ok\":true,\"plugin\":\"p\",\"domain\":null,\"auth_type\":\"none\",\"version\":3,"
               "\"created\":1,\"updated\":1}");
        assert_int_equal(cv_plugin_register(c, "{\"type\":\"none\"}", "p", NULL, &name), 3);
        assert_string_equal(name, "p");
        free(name);
        assert_client_usable();
}

/* cv_call_json() hands back the reply as text: only a reply that is one
 * valid JSON object answering this request, with no NUL byte inside that
 * would stop cv_free_wiped(p, (size_t) -1) short. */
static void test_call_json_bad_replies(void **state) {
        (void) state;
        static const char nul[] = "{\"id\":" ID ",\"ok\":true,\"value\":\"s3cr\0t-after-the-NUL\"}";
        static const char nul_outside[] = "{\"id\":" ID ",\"ok\":true}\0";
        static const char *const bad[] = {
                "{\"id\":" ID ",\"ok\":true,\"value\":\"\xff\"}",
                "{\"id\":" ID ",\"ok\":true,\"k\xf4\x80\":1}",
                "not json",
                "[1,2]",
                "{\"id\":" ID ",\"ok\":true",
                "{\"id\":999999,\"ok\":true}",
                "{\"id\":null,\"ok\":true}",
                "{\"id\":" ID ",\"ok\":\"yes\"}",
                "{\"id\":" ID "}",
        };
        char *text = NULL;

        answer_bytes(nul, sizeof(nul) - 1);
        assert_protocol_error(cv_call_json(c, "{\"op\":\"health\"}", &text));
        assert_null(text);
        answer_bytes(nul_outside, sizeof(nul_outside) - 1);
        assert_protocol_error(cv_call_json(c, "{\"op\":\"health\"}", &text));
        assert_null(text);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                answer(bad[i]);
                assert_protocol_error(cv_call_json(c, "{\"op\":\"health\"}", &text));
                assert_null(text);
        }
        /* An error reply, even one the daemon could not give an id, is an
         * answer like any other. */
        answer("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":\"empty frame\"}}");
        assert_true(cv_call_json(c, "{\"op\":\"health\"}", &text) > 0);
        assert_non_null(strstr(text, "empty frame"));
        cv_free_wiped(text, (size_t) -1);
        assert_client_usable();
}

/* An error reply must say which error: an error object with a code. */
static void test_error_reply_without_code(void **state) {
        (void) state;
        static const char *const bad[] = {
                "{\"id\":" ID ",\"ok\":false}",
                "{\"id\":" ID ",\"ok\":false,\"error\":\"not_found\"}",
                "{\"id\":" ID ",\"ok\":false,\"error\":{\"message\":\"m\"}}",
                "{\"id\":" ID ",\"ok\":false,\"error\":{\"code\":5,\"message\":\"m\"}}",
                "{\"id\":" ID ",\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":7}}",
                "{\"id\":" ID ",\"ok\":false,\"error\":{\"code\":\"refresh_in_progress\",\"message\":\"m\","
                "\"retry_after_ms\":\"soon\"}}",
                /* The same through jansson (an escape). */
                "{\"id\":" ID ",\"ok\":false,\"error\":{\"message\":\"\\u00e9\"}}",
                "{\"id\":" ID ",\"ok\":false,\"error\":[\"\\u00e9\"]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                CvSecret *s = NULL;
                answer(bad[i]);
                assert_protocol_error(cv_secret_get(c, "p", "n", &s));
                assert_null(s);
        }
        /* token.get reads its replies in place, error replies too. */
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                CvToken *tok = NULL;
                answer(bad[i]);
                assert_protocol_error(cv_token_get(c, "p", "u", &tok));
                assert_null(tok);
        }
        CvSecret *s = NULL;
        answer("{\"id\":" ID ",\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"no secret\"}}");
        assert_int_equal(cv_secret_get(c, "p", "n", &s), -ENOENT);
        assert_string_equal(cv_client_error_message(c), "no secret");
        assert_client_usable();
}

/* Replies of single calls with a member missing or of the wrong type. */
static void test_reply_members_checked(void **state) {
        (void) state;
        CvHealth health;
        CvSecret *s = NULL;
        CvToken *tok = NULL;
        CvTokenLease *lease = NULL;
        char *text = NULL, *user = NULL;
        int64_t version = -1;

        answer("{\"id\":" ID ",\"ok\":true,\"version\":\"9\",\"uptime\":\"1\",\"connections\":1,"
               "\"keyring\":{\"primary\":1,\"keks\":1},\"secrets\":2,\"tokens\":3}");
        assert_protocol_error(cv_health(c, &health));
        answer("{\"id\":" ID ",\"ok\":true,\"version\":\"9\",\"uptime\":1,\"connections\":1,\"keyring\":[],"
               "\"secrets\":2,\"tokens\":3}");
        assert_protocol_error(cv_health(c, &health));

        answer("{\"id\":" ID ",\"ok\":true,\"value\":\"YQ==\",\"created\":1,\"updated\":1}");
        assert_protocol_error(cv_secret_get(c, "p", "n", &s));
        assert_null(s);
        answer("{\"id\":" ID ",\"ok\":true,\"created\":1,\"updated\":1}");
        assert_protocol_error(cv_secret_put(c, "p", "n", "v", 1, &version));
        assert_int_equal(version, -1);
        answer("{\"id\":" ID ",\"ok\":true,\"version\":1}");
        assert_protocol_error(cv_secret_verify(c, "p", "n", "Bearer x", NULL));
        answer("{\"id\":" ID ",\"ok\":true,\"match\":\"yes\"}");
        assert_protocol_error(cv_oauth_verify_client(c, "p", "Basic eDp5", NULL, NULL));

        answer("{\"id\":" ID ",\"ok\":true,\"user\":5}");
        assert_protocol_error(cv_apikey_lookup(c, "p", "k", 1, &user));
        assert_null(user);
        answer("{\"id\":" ID ",\"ok\":true}");
        assert_protocol_error(cv_apikey_lookup(c, "p", "k", 1, &user));
        answer("{\"id\":" ID ",\"ok\":true,\"user\":null}");
        assert_int_equal(cv_apikey_lookup(c, "p", "k", 1, &user), 0);
        assert_null(user);

        /* A token set read in place and through jansson. */
        static const char *const bad_tokens[] = {
                "{\"access_token\":\"a\",\"token_type\":\"b\",\"refresh_token\":5}",
                "{\"access_token\":\"a\",\"token_type\":\"b\",\"scope\":true}",
                "{\"access_token\":\"a\",\"token_type\":\"b\",\"expires_at\":\"later\"}",
                "{\"access_token\":\"a\",\"refresh_token\":\"r\"}",
                "{\"access_token\":\"a\\u00e9\",\"refresh_token\":\"r\"}",
                "{\"access_token\":\"a\",\"token_type\":\"b\",\"refresh_token\":[\"r\"]}",
                "\"a\"",
        };
        char reply[512];
        for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
                snprintf(reply, sizeof(reply),
                         "{\"id\":" ID ",\"ok\":true,\"token\":%s,\"version\":1,\"created\":1,\"updated\":1}",
                         bad_tokens[i]);
                answer(reply);
                assert_protocol_error(cv_token_get(c, "p", "u", &tok));
                assert_null(tok);
        }
        answer("{\"id\":" ID ",\"ok\":true,\"token\":{\"access_token\":\"a\",\"token_type\":\"b\"},\"created\":1,"
               "\"updated\":1}");
        assert_protocol_error(cv_token_get(c, "p", "u", &tok));
        answer("{\"id\":" ID ",\"ok\":true,\"token\":\"a\",\"version\":1,\"created\":1,\"updated\":1}");
        assert_protocol_error(cv_token_get_json(c, "p", "u", 0, &text));
        assert_null(text);
        answer("{\"id\":" ID ",\"ok\":true,\"auth\":\"none\"}");
        assert_protocol_error(cv_plugin_manifest_auth(c, "p", &text));
        assert_null(text);

        static const char *const bad_leases[] = {
                "{\"id\":" ID ",\"ok\":true,\"lease\":\"0123456789abcdef0123456789abcdef\",\"lease_until\":1,"
                "\"refresh_token\":\"r\",\"version\":1}",
                "{\"id\":" ID ",\"ok\":true,\"refresh\":true,\"lease\":\"0123456789ABCDEF0123456789ABCDEF\","
                "\"lease_until\":1,\"refresh_token\":\"r\",\"version\":1}",
                "{\"id\":" ID ",\"ok\":true,\"refresh\":true,\"lease\":\"0123456789abcdef0123456789abcdef\","
                "\"lease_until\":\"1\",\"refresh_token\":\"r\",\"version\":1}",
                "{\"id\":" ID ",\"ok\":true,\"refresh\":true,\"lease\":\"0123456789abcdef0123456789abcdef\","
                "\"lease_until\":1,\"version\":1}",
                "{\"id\":" ID ",\"ok\":true,\"refresh\":false,\"version\":1,\"created\":1,\"updated\":1}",
        };
        for (size_t i = 0; i < sizeof(bad_leases) / sizeof(bad_leases[0]); i++) {
                answer(bad_leases[i]);
                assert_protocol_error(cv_token_refresh_begin(c, "p", "u", 60, 0, &lease, &tok));
                assert_null(lease);
                assert_null(tok);
        }
        CvTokenLease l = { .lease = "0123456789abcdef0123456789abcdef" };
        answer("{\"id\":" ID ",\"ok\":true,\"applied\":true}");
        assert_protocol_error(cv_token_refresh_fail(c, "p", "u", &l, "invalid_grant"));
        assert_client_usable();
}

int main(void) {
        /* A client that pages forever fails the test instead of hanging it. */
        alarm(60);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plugin_list_bad_entry),     cmocka_unit_test(test_list_without_end),
                cmocka_unit_test(test_list_cursor_not_advancing), cmocka_unit_test(test_list_cursor_advancing),
                cmocka_unit_test(test_other_lists_bad_entry),     cmocka_unit_test(test_plugin_register_without_plugin),
                cmocka_unit_test(test_call_json_bad_replies),     cmocka_unit_test(test_error_reply_without_code),
                cmocka_unit_test(test_reply_members_checked),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
