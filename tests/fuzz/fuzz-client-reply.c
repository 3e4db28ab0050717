/* fuzz-client-reply.c — libcredvault reading what a daemon answers.
 *
 * A reply comes from credvaultd, or from whoever holds the socket path (a
 * buggy or hostile daemon): each library call must turn any reply into a
 * result or a clean error, and leak nothing (LeakSanitizer checks each
 * input). The first byte of the input picks the call (its low 7 bits) and
 * how the replies come: with the top bit clear, the rest is one or more
 * reply bodies separated by a line "#" (FUZZ_SEPARATOR), each sent framed
 * as one reply; with it set, the rest is sent as raw bytes, header and
 * all. The library's connection is one end of a socket pair (SEQPACKET,
 * so each reply arrives alone); the other end holds the replies and then
 * is shut, so a call that wants more sees the daemon close.
 *
 * The client is the real library (its objects linked in), made once by
 * cv_client_new() against a listening socket that is removed right after,
 * so a reconnect fails at once. Only its connection is swapped per input,
 * through client-internal.h; the public API is driven as a program does. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "client-internal.h"
#include "credvault.h"
#include "frame.h"
#include "fuzz.h"
#include "proto-limits.h"
#include "time-util.h"

#define REPLIES_MAX 8

static CvClient *client;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char *path = NULL;

        cv_json_wipe_on_free();
        FUZZ_CHECK(asprintf(&path, "%s/socket", fuzz_tmpdir()) >= 0, "out of memory");
        FUZZ_CHECK(strlen(path) < sizeof(sa.sun_path), "socket path too long");
        strcpy(sa.sun_path, path);
        int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        FUZZ_CHECK(listener >= 0 && bind(listener, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
                           listen(listener, 1) == 0,
                   "listening socket: %s", strerror(errno));
        int r = cv_client_new(path, 1000, &client);
        FUZZ_CHECK(r >= 0, "cv_client_new: %s", strerror(-r));
        int accepted = accept(listener, NULL, NULL);
        if (accepted >= 0)
                close(accepted);
        close(listener);
        unlink(path);
        free(path);
        fuzz_tmpdir_remove(); /* the socket was all it held */
        return 0;
}

static void send_message(int fd, const void *p, size_t n) {
        if (n > 0)
                (void) send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* A call that failed says why; none may claim to be out of memory. */
static void check_result(int r, const char *call) {
        FUZZ_CHECK(r != -ENOMEM, "%s: out of memory reported for a reply (%s: %s)", call, cv_client_error_code(client),
                   cv_client_error_message(client));
        if (r < 0)
                FUZZ_CHECK(cv_client_error_code(client)[0], "%s failed (%d) without an error code", call, r);
}

static void check_string(const char *s, const char *what) {
        FUZZ_CHECK(s, "%s missing from a successful result", what);
}

static const CvTokenLease lease = {
        .lease = "d440e08266bb83dc7ee4bc413c093d12",
        .lease_until_ms = 1795830270516,
        .version = 1,
};

static void call(unsigned which) {
        CvSecret *secret = NULL;
        CvSecretInfo *secrets = NULL;
        CvToken *token = NULL;
        CvTokenInfo *tokens = NULL;
        CvTokenLease *new_lease = NULL;
        CvPluginInfo *plugins = NULL;
        CvHealth health;
        char *text = NULL;
        int64_t version = 0;
        int r;

        switch (which % 31) {
        case 0:
                r = cv_health(client, &health);
                check_result(r, "cv_health");
                if (r >= 0)
                        FUZZ_CHECK(memchr(health.version, '\0', sizeof(health.version)), "version not terminated");
                break;
        case 1:
                check_result(cv_secret_put(client, "todo", "client_secret", "s3cr3t", 6, &version), "cv_secret_put");
                break;
        case 2:
                r = cv_secret_get(client, "calendar", "client_secret", &secret);
                check_result(r, "cv_secret_get");
                if (r >= 0) {
                        FUZZ_CHECK(secret && secret->value, "cv_secret_get without a value");
                        FUZZ_CHECK(secret->value_size <= CV_SECRET_VALUE_SIZE_MAX &&
                                           secret->value[secret->value_size] == 0,
                                   "cv_secret_get value");
                }
                cv_secret_free(secret);
                break;
        case 3:
                check_result(cv_secret_delete(client, "todo", "client_secret"), "cv_secret_delete");
                break;
        case 4:
                r = cv_secret_generate(client, "todo", "service_token", 32, &secret);
                check_result(r, "cv_secret_generate");
                if (r >= 0)
                        FUZZ_CHECK(secret && secret->value, "cv_secret_generate without a value");
                cv_secret_free(secret);
                break;
        case 5:
                check_result(cv_secret_verify(client, "todo", "service_token", "Bearer czNjcjN0", &version),
                             "cv_secret_verify");
                break;
        case 6:
                check_result(cv_secret_verify_value(client, "todo", "service_token", "s3cr3t", 6, &version),
                             "cv_secret_verify_value");
                break;
        case 7:
                r = cv_secret_list(client, which & 0x40 ? NULL : "calendar", &secrets);
                check_result(r, "cv_secret_list");
                for (int i = 0; i < r; i++) {
                        check_string(secrets[i].plugin, "secret.list plugin");
                        check_string(secrets[i].name, "secret.list name");
                }
                if (r >= 0)
                        cv_secret_info_free(secrets, (size_t) r);
                break;
        case 8: {
                CvToken t = {
                        .access_token = "at-1", .token_type = "Bearer", .refresh_token = "rt-1", .expires_at = -1
                };
                check_result(cv_token_put(client, "calendar", "alice@example.com", &t, &version), "cv_token_put");
                break;
        }
        case 9:
                check_result(cv_token_put_response(
                                     client, "calendar", "alice@example.com",
                                     "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
                                     &version),
                             "cv_token_put_response");
                break;
        case 10:
        case 11:
                r = which % 31 == 10 ? cv_token_get(client, "calendar", "alice@example.com", &token)
                                     : cv_token_get_valid(client, "calendar", "alice@example.com", 300, &token);
                check_result(r, "cv_token_get");
                if (r >= 0) {
                        check_string(token ? token->access_token : NULL, "access_token");
                        check_string(token->token_type, "token_type");
                }
                cv_token_free(token);
                break;
        case 12:
                r = cv_token_get_json(client, "calendar", "alice@example.com", 0, &text);
                check_result(r, "cv_token_get_json");
                if (r >= 0)
                        check_string(text, "token set text");
                cv_free_wiped(text, (size_t) -1);
                break;
        case 13:
                r = cv_token_refresh_begin(client, "calendar", "alice@example.com", 300, 10, &new_lease, &token);
                check_result(r, "cv_token_refresh_begin");
                if (r == 1)
                        FUZZ_CHECK(new_lease && new_lease->refresh_token && strlen(new_lease->lease) == LEASE_ID_SIZE,
                                   "a lease without its id or refresh token");
                if (r == 0)
                        FUZZ_CHECK(token && token->access_token, "no lease and no token set");
                cv_token_lease_free(new_lease);
                cv_token_free(token);
                break;
        case 14:
                check_result(cv_token_refresh_commit(client, "calendar", "alice@example.com", &lease,
                                                     "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\"}", &version),
                             "cv_token_refresh_commit");
                break;
        case 15:
                check_result(cv_token_refresh_fail(client, "calendar", "alice@example.com", &lease, "invalid_grant"),
                             "cv_token_refresh_fail");
                break;
        case 16:
                check_result(cv_token_delete(client, "calendar", "user-42"), "cv_token_delete");
                break;
        case 17:
        case 18:
                r = which % 31 == 17 ? cv_token_list(client, "calendar", &tokens)
                                     : cv_token_list_expiring(client, "calendar", 7200, &tokens);
                check_result(r, "cv_token_list");
                for (int i = 0; i < r; i++) {
                        check_string(tokens[i].user, "token.list user");
                        FUZZ_CHECK(memchr(tokens[i].state, '\0', sizeof(tokens[i].state)), "state not terminated");
                }
                if (r >= 0)
                        cv_token_info_free(tokens, (size_t) r);
                break;
        case 19:
                r = cv_plugin_register(client, "{\"type\":\"none\"}", "todo", which & 0x40 ? NULL : "todo.example.com",
                                       &text);
                check_result(r, "cv_plugin_register");
                if (r >= 0)
                        check_string(text, "the registered name");
                free(text);
                break;
        case 20:
                r = cv_plugin_list(client, &plugins);
                check_result(r, "cv_plugin_list");
                for (int i = 0; i < r; i++) {
                        check_string(plugins[i].name, "plugin.list name");
                        check_string(plugins[i].auth_type, "plugin.list auth_type");
                }
                if (r >= 0)
                        cv_plugin_info_free(plugins, (size_t) r);
                break;
        case 21:
                r = cv_plugin_show_json(client, "calendar", 7200, &text);
                check_result(r, "cv_plugin_show_json");
                free(text);
                break;
        case 22:
                check_result(cv_plugin_delete(client, "legacy-crm"), "cv_plugin_delete");
                break;
        case 23:
                r = cv_plugin_manifest_auth(client, "todo", &text);
                check_result(r, "cv_plugin_manifest_auth");
                if (r >= 0)
                        check_string(text, "the auth block");
                cv_free_wiped(text, (size_t) -1);
                break;
        case 24:
                check_result(cv_oauth_verify_client(client, "calendar", which & 0x40 ? "Basic dXNlcjpwYXNz" : NULL,
                                                    which & 0x40 ? NULL : "client", which & 0x40 ? NULL : "secret"),
                             "cv_oauth_verify_client");
                break;
        case 25:
                check_result(cv_apikey_put(client, "weather", "user-42", "key-1", 5, &version), "cv_apikey_put");
                break;
        case 26:
        case 27:
                r = which % 31 == 26 ? cv_apikey_lookup(client, "weather", "key-1", 5, &text)
                                     : cv_apikey_lookup_header(client, "weather", "Bearer key-1", &text);
                check_result(r, "cv_apikey_lookup");
                if (r == 1)
                        check_string(text, "the user of a key");
                free(text);
                break;
        case 28:
                check_result(cv_apikey_delete(client, "weather", "user-42"), "cv_apikey_delete");
                break;
        case 29:
                r = cv_apikey_list(client, "weather", &secrets);
                check_result(r, "cv_apikey_list");
                for (int i = 0; i < r; i++)
                        check_string(secrets[i].name, "apikey.list user");
                if (r >= 0)
                        cv_secret_info_free(secrets, (size_t) r);
                break;
        default:
                r = cv_call_json(client, "{\"op\":\"health\"}", &text);
                check_result(r, "cv_call_json");
                if (r >= 0) {
                        check_string(text, "the reply text");
                        FUZZ_CHECK(strlen(text) == (size_t) r, "cv_call_json: a reply of %d bytes with a NUL inside",
                                   r);
                }
                if (text)
                        cv_free_wiped(text, (size_t) r);
                break;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t frame[FRAME_SIZE_MAX];
        struct timeval tv = { .tv_sec = 1 };
        int sv[2];

        if (size < 1 || size - 1 > FRAME_SIZE_MAX)
                return 0;
        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
        (void) setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

        if (data[0] & 0x80)
                send_message(sv[1], data + 1, size - 1);
        else {
                const uint8_t *body;
                size_t pos = 1, body_size, n = 0;
                while (n++ < REPLIES_MAX && fuzz_next_part(data, size, &pos, &body, &body_size)) {
                        frame_header_write(frame, (uint32_t) body_size);
                        memcpy(frame + FRAME_HEADER_SIZE, body, body_size);
                        send_message(sv[1], frame, FRAME_HEADER_SIZE + body_size);
                }
        }
        shutdown(sv[1], SHUT_WR);

        /* The library's connection is now sv[0]; request ids start at 1. */
        if (client->fd >= 0)
                close(client->fd);
        client->fd = sv[0];
        client->next_id = 1;
        client->last_used = time_monotonic_ms();
        call(data[0] & 0x7f);
        close(sv[1]);
        return 0;
}
