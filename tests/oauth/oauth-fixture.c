/* oauth-fixture.c — see oauth-fixture.h. */
#include "oauth-fixture.h"

#include <curl/curl.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or_fail(const char *name) {
        const char *v = getenv(name);
        if (!v || !*v)
                fail_msg("$%s not set (run through meson test)", name);
        return v;
}

int oauth_server_start(OAuthServer *s, int access_ttl, char *reason, size_t reason_size) {
        *s = (OAuthServer) { .pid = -1, .stdin_fd = -1 };
        const char *cache = getenv("OAUTH_CACHE"), *setup = getenv("OAUTH_SETUP"), *js = getenv("OAUTH_PROVIDER_JS");
        if (!cache || !setup || !js) {
                snprintf(reason, reason_size, "OAUTH_CACHE, OAUTH_SETUP, OAUTH_PROVIDER_JS not set");
                return -EINVAL;
        }
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "bash '%s' '%s' 2>&1", setup, cache);
        FILE *p = popen(cmd, "r");
        if (!p) {
                snprintf(reason, reason_size, "popen: %s", strerror(errno));
                return -errno;
        }
        char out[512] = "";
        size_t n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = '\0';
        if (pclose(p) != 0) {
                snprintf(reason, reason_size, "cannot install oidc-provider: %s", out);
                return -ENOENT;
        }

        int in[2], o[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0)
                return -errno;
        char ttl[16];
        snprintf(ttl, sizeof(ttl), "%d", access_ttl);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(o[1], 1);
                /* oidc-provider's warnings about its development defaults. */
                int devnull = open("/dev/null", O_WRONLY);
                if (devnull >= 0 && !getenv("OAUTH_VERBOSE"))
                        dup2(devnull, 2);
                execlp("node", "node", js, cache, ttl, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(o[1]);
        s->pid = pid;
        s->stdin_fd = in[1];
        char line[4096];
        size_t got = 0;
        long long deadline = now_ms() + 30000;
        while (got < sizeof(line) - 1 && (got == 0 || line[got - 1] != '\n')) {
                struct pollfd pfd = { .fd = o[0], .events = POLLIN };
                if (poll(&pfd, 1, (int) (deadline - now_ms())) <= 0)
                        break;
                ssize_t k = read(o[0], line + got, sizeof(line) - 1 - got);
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        close(o[0]);
        line[got] = '\0';
        s->info = json_loads(line, 0, NULL);
        const char *url = json_string_value(json_object_get(s->info, "token_url"));
        const char *control = json_string_value(json_object_get(s->info, "control"));
        if (!url || !control) {
                snprintf(reason, reason_size, "provider.js did not start (set OAUTH_VERBOSE=1 to see why): '%s'", line);
                oauth_server_stop(s);
                return -EIO;
        }
        snprintf(s->token_url, sizeof(s->token_url), "%s", url);
        snprintf(s->control, sizeof(s->control), "%s", control);
        return 0;
}

void oauth_server_stop(OAuthServer *s) {
        if (s->stdin_fd >= 0)
                close(s->stdin_fd);
        if (s->pid > 0) {
                int status;
                for (int i = 0; i < 50 && waitpid(s->pid, &status, WNOHANG) == 0; i++)
                        usleep(20000);
                if (kill(s->pid, 0) == 0) {
                        kill(s->pid, SIGKILL);
                        waitpid(s->pid, &status, 0);
                }
        }
        json_decref(s->info);
        *s = (OAuthServer) { .pid = -1, .stdin_fd = -1 };
}

typedef struct Buf {
        char *data;
        size_t size;
} Buf;

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata) {
        Buf *b = userdata;
        size_t n = size * nmemb;
        char *p = realloc(b->data, b->size + n + 1);
        if (!p)
                return 0;
        memcpy(p + b->size, data, n);
        b->data = p;
        b->size += n;
        p[b->size] = '\0';
        return n;
}

json_t *oauth_control(const OAuthServer *s, const char *path, const char *body) {
        char url[256];
        snprintf(url, sizeof(url), "%s%s", s->control, path);
        CURL *e = curl_easy_init();
        Buf b = {};
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        CURLcode r = curl_easy_perform(e);
        curl_easy_cleanup(e);
        json_t *j = r == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
        if (!j)
                fail_msg("control %s: %s (%s)", path, curl_easy_strerror(r), b.data ? b.data : "");
        free(b.data);
        return j;
}

void oauth_mode(const OAuthServer *s, const char *mode_json) {
        json_decref(oauth_control(s, "/mode", mode_json));
        json_decref(oauth_control(s, "/reset", NULL));
}

long long oauth_stat(const OAuthServer *s, const char *key) {
        json_t *j = oauth_control(s, "/stats", NULL);
        json_t *v = json_object_get(j, key);
        long long n = json_is_array(v) ? (long long) json_array_size(v) : json_integer_value(v);
        json_decref(j);
        return n;
}

void fixture_plugin_add(CvClient *c, const OAuthServer *s, const char *plugin, const char *url,
                        const char *content_type, const char *client) {
        json_t *auth = json_pack("{s:s, s:s, s:s, s:s}", "type", "oauth", "client_url", "http://127.0.0.1/authorize",
                                 "authorization_url", url ? url : s->token_url, "scope", "offline_access api");
        if (content_type)
                json_object_set_new(auth, "authorization_content_type", json_string(content_type));
        char *text = json_dumps(auth, JSON_COMPACT);
        json_decref(auth);
        int r = cv_plugin_register(c, text, plugin, NULL, NULL);
        free(text);
        if (r < 0)
                fail_msg("plugin.register %s: %s", plugin, cv_client_error_message(c));
        json_t *cl = json_object_get(json_object_get(s->info, "clients"), client);
        const char *id = json_string_value(json_object_get(cl, "client_id"));
        const char *secret = json_string_value(json_object_get(cl, "client_secret"));
        const char *method = json_string_value(json_object_get(cl, "token_endpoint_auth_method"));
        assert_non_null(method);
        assert_int_equal(cv_secret_put(c, plugin, "client_id", id, strlen(id), NULL), 0);
        assert_int_equal(cv_secret_put(c, plugin, "client_secret", secret, strlen(secret), NULL), 0);
        assert_int_equal(cv_secret_put(c, plugin, "token_endpoint_auth_method", method, strlen(method), NULL), 0);
}

void fixture_token_mint(CvClient *c, const OAuthServer *s, const char *plugin, const char *user, int expires_in,
                        const char *client, char **ret_refresh_token) {
        char body[512];
        snprintf(body, sizeof(body), "{\"user\":\"%s\",\"client\":\"%s\"}", user, client);
        json_t *j = oauth_control(s, "/mint", body);
        json_t *token = json_object_get(json_array_get(j, 0), "token");
        assert_non_null(token);
        json_object_set_new(token, "expires_in", json_integer(expires_in));
        char *text = json_dumps(token, JSON_COMPACT);
        int r = cv_token_put_response(c, plugin, user, text, NULL);
        free(text);
        if (r < 0)
                fail_msg("token.put %s/%s: %s", plugin, user, cv_client_error_message(c));
        if (ret_refresh_token)
                *ret_refresh_token = strdup(json_string_value(json_object_get(token, "refresh_token")));
        json_decref(j);
}

pid_t refresher_spawn(const char *socket, const char *log_path, const char *const *args) {
        return refresher_spawn_as(socket, log_path, args, (uid_t) -1, (gid_t) -1);
}

pid_t refresher_spawn_as(const char *socket, const char *log_path, const char *const *args, uid_t uid, gid_t gid) {
        const char *bin = env_or_fail("CREDVAULT_REFRESHER");
        const char *argv[32] = { bin, "--socket", socket };
        size_t n = 3;
        for (size_t i = 0; args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (log_path) {
                        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
                        if (fd >= 0)
                                dup2(fd, 2);
                }
                if (uid != (uid_t) -1 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
                        _exit(126);
                execv(bin, (char *const *) argv);
                _exit(127);
        }
        return pid;
}

long refresher_last_cpu_ms;

int refresher_wait(pid_t pid, int timeout_ms) {
        long long deadline = now_ms() + timeout_ms;
        int status;
        for (;;) {
                struct rusage ru;
                pid_t w = wait4(pid, &status, WNOHANG, &ru);
                if (w == pid) {
                        refresher_last_cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
                                                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
                }
                if (w == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                if (now_ms() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        return -ETIME;
                }
                usleep(10000);
        }
}

int refresher_run(const char *socket, const char *const *args, int timeout_ms) {
        return refresher_wait(refresher_spawn(socket, NULL, args), timeout_ms);
}

int fixture_daemon_start(Harness *h, CvClient **ret_client) {
        if (harness_start(h) < 0)
                return -1;
        return cv_client_new(h->socket_path, 10000, ret_client) < 0 ? -1 : 0;
}

int fixture_daemon_stop(Harness *h, CvClient *client) {
        cv_client_free(client);
        int r = harness_stop(h);
        harness_cleanup(h);
        return r == 0 ? 0 : -1;
}

void fixture_reset(CvClient *c, const OAuthServer *s) {
        CvPluginInfo *items = NULL;
        int n = cv_plugin_list(c, &items);
        for (int i = 0; i < n; i++)
                cv_plugin_delete(c, items[i].name);
        cv_plugin_info_free(items, n > 0 ? (size_t) n : 0);
        oauth_mode(s, "{\"mode\":\"pass\"}");
}
