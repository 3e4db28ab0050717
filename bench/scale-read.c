/* scale-read.c — cv-scale's reads: health, one page of a small plugin,
 * every page of the big one, secret.get over random keys and of one key,
 * and the real `credvault secret ls` (see scale.h).
 *
 * Owns: the timed loops on the main connection, one call at a time (a
 * few untimed calls first, to fill the caches the loop then meets), and
 * the CLI run. Lists go through cv_call_json(), the library's path for a
 * tool that pages itself, so their figures include its parse of the
 * reply, as a caller's would.
 *
 * Never: prints a value. Each value read is compared with the one the
 * fill wrote under that name: a wrong answer fails the bench. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scale.h"

#define WARMUP_CALLS 50
#define LOOP_CALLS_MAX 2000000
#define LAT_INITIAL 4096
#define PAGE_LIMIT 100

extern char **environ;

typedef int (*ReadCall)(Scale *s, uint64_t *rnd);

static int call_health(Scale *s, uint64_t *rnd) {
        CvHealth h;
        (void) rnd;
        return cv_health(s->client, &h);
}

static int call_page_one(Scale *s, uint64_t *rnd) {
        char *reply = NULL;
        (void) rnd;
        int r = cv_call_json(s->client, "{\"op\":\"secret.list\",\"plugin\":\"" SCALE_ONE_PLUGIN "\",\"limit\":100}",
                             &reply);
        if (r >= 0 && !strstr(reply, "\"ok\":true"))
                r = -EPROTO;
        cv_free_wiped(reply, (size_t) -1);
        return r;
}

static int get_check(Scale *s, unsigned k) {
        char plugin[16], name[16];
        uint8_t want[SCALE_VALUE_SIZE];
        CvSecret *secret = NULL;

        scale_plugin_name(s->plugin_of[k], plugin, sizeof(plugin));
        scale_secret_name(k, name, sizeof(name));
        int r = cv_secret_get(s->client, plugin, name, &secret);
        if (r >= 0) {
                scale_secret_value(k, want);
                if (secret->value_size != sizeof(want) || memcmp(secret->value, want, sizeof(want)) != 0) {
                        fprintf(stderr, "scale: %s/%s does not read back as written\n", plugin, name);
                        r = -EBADMSG;
                }
        }
        cv_secret_free(secret);
        return r;
}

static int call_get_random(Scale *s, uint64_t *rnd) {
        *rnd ^= *rnd << 13, *rnd ^= *rnd >> 7, *rnd ^= *rnd << 17;
        return get_check(s, (unsigned) (*rnd % s->n_loaded));
}

static int call_get_pinned(Scale *s, uint64_t *rnd) {
        (void) rnd;
        return get_check(s, s->n_loaded / 2);
}

/* call, one at a time, for cfg->seconds (at most LOOP_CALLS_MAX calls). */
static int timed_loop(Scale *s, const char *what, ReadCall call, ScaleLat *ret) {
        uint64_t rnd = 0x9e3779b97f4a7c15ULL, *ns = NULL;
        size_t n = 0, alloc = 0;
        int r = 0;

        for (int i = 0; i < WARMUP_CALLS && r >= 0; i++)
                r = call(s, &rnd);
        uint64_t from = scale_now_ns(), until = from + (uint64_t) (s->cfg->seconds * 1e9), t0 = from;
        while (r >= 0 && t0 < until && n < LOOP_CALLS_MAX) {
                r = call(s, &rnd);
                uint64_t t1 = scale_now_ns();
                if (n == alloc) {
                        alloc = alloc ? 2 * alloc : LAT_INITIAL;
                        uint64_t *more = realloc(ns, alloc * sizeof(uint64_t));
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        ns = more;
                }
                ns[n++] = t1 - t0;
                t0 = t1;
        }
        if (r < 0)
                fprintf(stderr, "scale: %s: %s\n", what, s->client ? cv_client_error_message(s->client) : "");
        else
                scale_lat_from(ns, n, (double) (t0 - from) / 1e9, ret);
        free(ns);
        return r;
}

int scale_reads(Scale *s, ScaleRow *row) {
        ScaleLat lat;
        CvHealth h;

        int r = cv_health(s->client, &h);
        if (r < 0)
                return r;
        row->secrets = (double) h.secrets;
        if ((r = timed_loop(s, "health", call_health, &lat)) < 0)
                return r;
        row->health_p50 = lat.p50, row->health_p99 = lat.p99;
        if ((r = timed_loop(s, "secret.list " SCALE_ONE_PLUGIN, call_page_one, &lat)) < 0)
                return r;
        row->page_one_p50 = lat.p50;
        if ((r = timed_loop(s, "secret.get (random)", call_get_random, &lat)) < 0)
                return r;
        row->get_p50 = lat.p50, row->get_p99 = lat.p99;
        if ((r = timed_loop(s, "secret.get (pinned)", call_get_pinned, &lat)) < 0)
                return r;
        row->pinned_p50 = lat.p50;
        return 0;
}

/* One page of p000 after cursor (NULL: the first); *ret_next gets the next
 * cursor (free()) or NULL, *ret_n the page's secrets. */
static int big_page(Scale *s, const char *after, char **ret_next, size_t *ret_n) {
        char plugin[16], *text = NULL, *reply = NULL;

        scale_plugin_name(SCALE_BIG_PLUGIN, plugin, sizeof(plugin));
        json_t *req = json_pack("{s:s, s:s, s:i}", "op", "secret.list", "plugin", plugin, "limit", PAGE_LIMIT);
        if (req && after)
                json_object_set_new(req, "after", json_string(after));
        text = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!text)
                return -ENOMEM;
        int r = cv_call_json(s->client, text, &reply);
        free(text);
        if (r < 0)
                return r;
        json_t *rep = json_loads(reply, 0, NULL);
        cv_free_wiped(reply, (size_t) -1);
        json_t *secrets = json_object_get(rep, "secrets"), *next = json_object_get(rep, "next");
        if (!json_is_true(json_object_get(rep, "ok")) || !json_is_array(secrets) ||
            !(json_is_null(next) || json_is_string(next)))
                r = -EPROTO;
        else {
                *ret_n = json_array_size(secrets);
                *ret_next = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
                if (json_is_string(next) && !*ret_next)
                        r = -ENOMEM;
        }
        json_decref(rep);
        return r;
}

int scale_big_pages(Scale *s, ScaleRow *row) {
        char *after = NULL;
        size_t total = 0, pages = 0;
        /* The last full page: a short last page costs less for its size. */
        uint64_t from = scale_now_ns(), last = 0, last_full = 0;

        do {
                char *next = NULL;
                size_t n = 0;
                uint64_t t0 = scale_now_ns();
                int r = big_page(s, after, &next, &n);
                last = scale_now_ns() - t0;
                free(after);
                after = next;
                if (r < 0) {
                        fprintf(stderr, "scale: secret.list p000 page %zu: %s\n", pages,
                                cv_client_error_message(s->client));
                        free(after);
                        return r;
                }
                if (pages++ == 0)
                        row->big_first = (double) last / 1e9;
                if (n == PAGE_LIMIT)
                        last_full = last;
                total += n;
        } while (after);
        row->big_total = (double) (scale_now_ns() - from) / 1e9;
        row->big_last = (double) last_full / 1e9;
        row->big_n = (double) total;
        row->big_pages = (double) pages;
        if (total != s->n_big) {
                fprintf(stderr, "scale: p000's pages held %zu secrets, not %u\n", total, s->n_big);
                return -EBADMSG;
        }
        return 0;
}

int scale_cli_ls(Scale *s, ScaleRow *row) {
        const char *argv[] = { s->cfg->cli, "--socket", s->sock, "secret", "ls", NULL };
        posix_spawn_file_actions_t fa;
        int pipefd[2], status = 0;
        pid_t pid;
        char buf[65536];
        size_t lines = 0;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        uint64_t t0 = scale_now_ns();
        int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                fprintf(stderr, "scale: cannot run %s: %s\n", argv[0], strerror(r));
                return -r;
        }
        for (ssize_t k; (k = read(pipefd[0], buf, sizeof(buf))) != 0;) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        break;
                for (ssize_t i = 0; i < k; i++)
                        lines += buf[i] == '\n';
        }
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        row->ls = (double) (scale_now_ns() - t0) / 1e9;
        row->ls_lines = (double) lines;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "scale: `credvault secret ls` failed (status 0x%x)\n", (unsigned) status);
                return -EIO;
        }
        return 0;
}
