/* scale-write.c — cv-scale's writes: the plugins, the fill to each size
 * with SCALE_LOAD_CONNECTIONS requests in flight, and `secret.put` with
 * 1, 8 and 32 concurrent writers (see scale.h).
 *
 * Owns: the threads that write, one synchronous CvClient each (the
 * library has one request in flight per client, so in-flight requests
 * are connections), released together once all are connected, so that
 * their connects are not timed.
 *
 * Never: prints a value, or writes a name twice (a put of a new name is
 * what a fill does; the writers' names are new too). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scale.h"

#define THREAD_STACK (256 * 1024)
#define WRITER_LAT_INITIAL 4096

const unsigned scale_writer_counts[SCALE_N_WRITER_RUNS] = { 1, 8, 32 };

int scale_plugins_register(Scale *s) {
        char name[16];
        uint8_t value[SCALE_VALUE_SIZE];

        for (unsigned p = 0; p < SCALE_PLUGINS; p++) {
                scale_plugin_name(p, name, sizeof(name));
                int r = cv_plugin_register(s->client, SCALE_AUTH_BLOCK, name, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "scale: plugin.register %s: %s\n", name, cv_client_error_message(s->client));
                        return r;
                }
        }
        memset(value, 'o', sizeof(value));
        int r = cv_plugin_register(s->client, SCALE_AUTH_BLOCK, SCALE_ONE_PLUGIN, NULL, NULL);
        if (r >= 0)
                r = cv_secret_put(s->client, SCALE_ONE_PLUGIN, "only", value, sizeof(value), NULL);
        if (r < 0)
                fprintf(stderr, "scale: plugin %s: %s\n", SCALE_ONE_PLUGIN, cv_client_error_message(s->client));
        return r;
}

/* What the threads of one run share. */
typedef struct Writers {
        Scale *s;
        atomic_uint ready; /* threads connected (or failed to) */
        atomic_bool go;    /* set once deadline is */
        atomic_uint next;
        unsigned to;       /* the fill: its end (exclusive) */
        uint64_t deadline; /* the writers: when to stop; read after go */
        atomic_int error;
} Writers;

/* One writer's latencies, merged once it is joined. */
typedef struct Writer {
        Writers *w;
        uint64_t *ns;
        size_t n, alloc;
} Writer;

static void wait_go(Writers *w) {
        atomic_fetch_add(&w->ready, 1);
        while (!atomic_load(&w->go))
                usleep(100);
}

static void *fill_thread(void *arg) {
        Writers *w = arg;
        CvClient *c = NULL;
        char plugin[16], name[16];
        uint8_t value[SCALE_VALUE_SIZE];

        int r = cv_client_new(w->s->sock, 0, &c);
        if (r < 0)
                atomic_store(&w->error, r);
        wait_go(w);
        while (r >= 0 && atomic_load(&w->error) >= 0) {
                unsigned k = atomic_fetch_add(&w->next, 1);
                if (k >= w->to)
                        break;
                scale_plugin_name(w->s->plugin_of[k], plugin, sizeof(plugin));
                scale_secret_name(k, name, sizeof(name));
                scale_secret_value(k, value);
                r = cv_secret_put(c, plugin, name, value, sizeof(value), NULL);
                if (r < 0) {
                        fprintf(stderr, "scale: put %s/%s: %s\n", plugin, name, cv_client_error_message(c));
                        atomic_store(&w->error, r);
                }
        }
        cv_client_free(c);
        return NULL;
}

static void *writer_thread(void *arg) {
        Writer *me = arg;
        Writers *w = me->w;
        CvClient *c = NULL;
        char name[16];
        uint8_t value[SCALE_VALUE_SIZE];

        int r = cv_client_new(w->s->sock, 0, &c);
        if (r < 0)
                atomic_store(&w->error, r);
        wait_go(w);
        memset(value, 'w', sizeof(value));
        while (r >= 0 && atomic_load(&w->error) >= 0) {
                uint64_t t0 = scale_now_ns();
                if (t0 >= w->deadline)
                        break;
                snprintf(name, sizeof(name), "w%07u", atomic_fetch_add(&w->next, 1));
                r = cv_secret_put(c, SCALE_WRITE_PLUGIN, name, value, sizeof(value), NULL);
                if (r < 0) {
                        fprintf(stderr, "scale: put %s/%s: %s\n", SCALE_WRITE_PLUGIN, name, cv_client_error_message(c));
                        atomic_store(&w->error, r);
                        break;
                }
                if (me->n == me->alloc) {
                        size_t alloc = me->alloc ? 2 * me->alloc : WRITER_LAT_INITIAL;
                        uint64_t *more = realloc(me->ns, alloc * sizeof(uint64_t));
                        if (!more) {
                                atomic_store(&w->error, -ENOMEM);
                                break;
                        }
                        me->ns = more, me->alloc = alloc;
                }
                me->ns[me->n++] = scale_now_ns() - t0;
        }
        cv_client_free(c);
        return NULL;
}

/* n threads of fn (arg: args + i * arg_size), released together once
 * connected; *ret_ns gets the time from their release to the last join. */
static int threads_run(Writers *w, unsigned n, void *(*fn)(void *), void *args, size_t arg_size, uint64_t seconds_ns,
                       uint64_t *ret_ns) {
        pthread_t *t = calloc(n, sizeof(pthread_t));
        pthread_attr_t attr;
        unsigned started = 0;

        if (!t)
                return -ENOMEM;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, THREAD_STACK);
        for (; started < n; started++)
                if (pthread_create(&t[started], &attr, fn, (char *) args + started * arg_size) != 0)
                        break;
        if (started < n) {
                fprintf(stderr, "scale: cannot start %u threads\n", n);
                atomic_store(&w->error, -EAGAIN); /* those started stop at once */
        }
        while (atomic_load(&w->ready) < started)
                usleep(1000);
        uint64_t t0 = scale_now_ns();
        w->deadline = t0 + seconds_ns;
        atomic_store(&w->go, true);
        for (unsigned i = 0; i < started; i++)
                pthread_join(t[i], NULL);
        *ret_ns = scale_now_ns() - t0;
        pthread_attr_destroy(&attr);
        free(t);
        return atomic_load(&w->error);
}

int scale_fill(Scale *s, unsigned to, ScaleRow *row) {
        unsigned from = s->n_loaded;
        uint64_t ns = 0;

        if (to <= from)
                return 0;
        uint16_t *more = realloc(s->plugin_of, to * sizeof(uint16_t));
        if (!more)
                return -ENOMEM;
        s->plugin_of = more;
        /* Round robin; a fill to SCALE_BIG or more tops p000 up first. */
        for (unsigned k = from; k < to; k++) {
                if (to >= SCALE_BIG)
                        s->plugin_of[k] =
                                s->n_big < SCALE_BIG ? SCALE_BIG_PLUGIN : (uint16_t) (1 + k % (SCALE_PLUGINS - 1));
                else
                        s->plugin_of[k] = (uint16_t) (k % SCALE_PLUGINS);
                if (s->plugin_of[k] == SCALE_BIG_PLUGIN)
                        s->n_big++;
        }
        Writers w = { .s = s, .to = to };
        atomic_init(&w.ready, 0);
        atomic_init(&w.go, false);
        atomic_init(&w.next, from);
        atomic_init(&w.error, 0);
        /* Fewer threads than secrets left would be idle connections. */
        unsigned n = to - from < SCALE_LOAD_CONNECTIONS ? to - from : SCALE_LOAD_CONNECTIONS;
        int r = threads_run(&w, n, fill_thread, &w, 0, UINT64_MAX / 2, &ns);
        if (r < 0) {
                fprintf(stderr, "scale: the fill to %u failed: %s\n", to, strerror(-r));
                return r;
        }
        s->n_loaded = to;
        row->load_n = to - from;
        row->load_s = (double) ns / 1e9;
        row->load_rate = row->load_n / row->load_s;
        return 0;
}

static int writers_once(Scale *s, unsigned n, ScaleRow *row, size_t run) {
        Writer *ws = calloc(n, sizeof(Writer));
        uint64_t ns = 0;
        int r;

        if (!ws)
                return -ENOMEM;
        Writers w = { .s = s };
        atomic_init(&w.ready, 0);
        atomic_init(&w.go, false);
        atomic_init(&w.next, s->n_written);
        atomic_init(&w.error, 0);
        for (unsigned i = 0; i < n; i++)
                ws[i].w = &w;
        r = threads_run(&w, n, writer_thread, ws, sizeof(Writer), (uint64_t) (s->cfg->seconds * 1e9), &ns);
        s->n_written = atomic_load(&w.next);
        size_t total = 0;
        for (unsigned i = 0; i < n; i++)
                total += ws[i].n;
        uint64_t *all = malloc((total ?: 1) * sizeof(uint64_t));
        if (r >= 0 && !all)
                r = -ENOMEM;
        if (r >= 0) {
                ScaleLat lat;
                size_t at = 0;
                for (unsigned i = 0; i < n; i++) {
                        memcpy(all + at, ws[i].ns, ws[i].n * sizeof(uint64_t));
                        at += ws[i].n;
                }
                scale_lat_from(all, total, (double) ns / 1e9, &lat);
                row->put_rate[run] = (double) total / lat.seconds;
                row->put_p50[run] = lat.p50;
        }
        free(all);
        for (unsigned i = 0; i < n; i++)
                free(ws[i].ns);
        free(ws);
        return r;
}

int scale_writers(Scale *s, ScaleRow *row) {
        int r = cv_plugin_register(s->client, SCALE_AUTH_BLOCK, SCALE_WRITE_PLUGIN, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "scale: plugin.register %s: %s\n", SCALE_WRITE_PLUGIN,
                        cv_client_error_message(s->client));
                return r;
        }
        for (size_t i = 0; i < SCALE_N_WRITER_RUNS && r >= 0; i++)
                r = writers_once(s, scale_writer_counts[i], row, i);
        if (r < 0) {
                fprintf(stderr, "scale: the writers failed: %s\n", strerror(-r));
                return r;
        }
        /* The next size counts only the fill's secrets. */
        r = cv_plugin_delete(s->client, SCALE_WRITE_PLUGIN);
        if (r < 0)
                fprintf(stderr, "scale: plugin.delete %s: %s\n", SCALE_WRITE_PLUGIN,
                        cv_client_error_message(s->client));
        return r;
}
