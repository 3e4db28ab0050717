/* test-e2e-durability.c — what an acknowledged write survives.
 *
 * kill -9 right after an acknowledged write keeps it; a burst of writes
 * killed mid-stream keeps every acknowledged one; 100 kills during
 * concurrent writes lose none, byte for byte; SIGTERM exits 0 and a
 * restart serves everything; the database and WAL never hold a value in
 * the clear, and neither does the daemon's log. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "harness.h"

static void test_kill9_after_ack_keeps_write(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        CvSecret *s = NULL;
        CvToken *t = NULL;

        assert_int_equal(harness_start(&h), 0);
        for (int round = 0; round < 5; round++) {
                char value[64];
                int n = snprintf(value, sizeof(value), "acknowledged before the crash, round %d", round);
                CvToken tok = { .access_token = value, .token_type = "Bearer", .expires_at = 4102444800 + round };

                assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
                assert_int_equal(cv_secret_put(c, "crash", "s", value, (size_t) n, NULL), 0);
                assert_int_equal(cv_token_put(c, "crash", "u", &tok, NULL), 0);
                assert_int_equal(harness_kill(&h), 128 + 9);
                cv_client_free(c);

                assert_int_equal(harness_restart(&h), 0);
                assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
                assert_int_equal(cv_secret_get(c, "crash", "s", &s), 0);
                assert_int_equal(s->value_size, (size_t) n);
                assert_memory_equal(s->value, value, (size_t) n);
                assert_int_equal(s->version, round + 1);
                cv_secret_free(s);
                assert_int_equal(cv_token_get(c, "crash", "u", &t), 0);
                assert_string_equal(t->access_token, value);
                cv_token_free(t);
                cv_client_free(c);
        }
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* A writer in a child process records each acknowledged version to a pipe;
 * the daemon is killed while it writes. Every acknowledged version must be
 * there afterwards (the last one, or a later one that was committed but
 * whose answer was lost). */
static void test_kill9_during_burst(void **state) {
        (void) state;
        Harness h = {};
        int pipefd[2];
        int64_t acked = 0, v;
        CvClient *c = NULL;
        CvSecret *s = NULL;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(pipe(pipefd), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                close(pipefd[0]);
                if (cv_client_new(h.socket_path, 5000, &c) < 0)
                        _exit(1);
                for (int i = 0; i < 100000; i++) {
                        if (cv_secret_put(c, "burst", "counter", &i, sizeof(i), &v) < 0)
                                _exit(0);
                        if (write(pipefd[1], &v, sizeof(v)) != sizeof(v))
                                _exit(1);
                }
                _exit(0);
        }
        close(pipefd[1]);
        /* Let some writes land, then crash the daemon mid-burst. */
        while (acked < 50 && read(pipefd[0], &v, sizeof(v)) == sizeof(v))
                acked = v;
        assert_int_equal(harness_kill(&h), 128 + 9);
        while (read(pipefd[0], &v, sizeof(v)) == sizeof(v))
                acked = v;
        close(pipefd[0]);
        waitpid(child, NULL, 0);

        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        assert_int_equal(cv_secret_get(c, "burst", "counter", &s), 0);
        assert_true(s->version >= acked);
        assert_true(s->version <= acked + 1);
        int stored;
        memcpy(&stored, s->value, sizeof(stored));
        assert_int_equal(stored, s->version - 1);
        cv_secret_free(s);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

#define KILL_ROUNDS 100
#define KILL_WRITERS 4
#define KILL_KEYS 8            /* per writer, overwritten in turn */
#define KILL_FRESH_MAX 65536   /* per writer, each written once */
#define KILL_ACKS_PER_ROUND 40 /* acknowledged writes before the kill, at least */

/* Each writer owns its keys, so it alone knows what was acknowledged. */
typedef struct KillWriter {
        const Harness *h;
        int index;
        /* Overwritten keys: the version last acknowledged (or seen after a
         * restart), and whether a write of the next was cut off. */
        int64_t version[KILL_KEYS];
        bool in_flight[KILL_KEYS];
        int next_key;
        /* Keys written once: 0 unwritten, 1 acknowledged, 2 cut off,
         * 3 cut off and found absent. Those below n_checked were checked
         * after a restart. */
        unsigned char fresh[KILL_FRESH_MAX];
        int n_fresh, n_checked;
        bool fresh_turn;
        long n_acked;
        char error[200];
} KillWriter;

static atomic_bool killing;
static atomic_long round_acks;

/* The value written as `version` of a key: 1 to 2048 bytes that depend on
 * the writer, the key and the version, so that any mix-up shows. */
static size_t kill_value(const KillWriter *w, bool fresh, int key, int64_t version, uint8_t *buf) {
        uint32_t x = 2166136261u;
        uint32_t seed[4] = { (uint32_t) w->index, fresh, (uint32_t) key, (uint32_t) version };
        for (int i = 0; i < 4; i++)
                x = (x ^ seed[i]) * 16777619u;
        size_t size = 1 + x % 2048;
        for (size_t i = 0; i < size; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                buf[i] = (uint8_t) x;
        }
        return size;
}

static void kill_name(bool fresh, int key, char *buf, size_t size) {
        snprintf(buf, size, fresh ? "fresh-%d" : "key-%d", key);
}

static void kill_plugin(const KillWriter *w, char *buf, size_t size) {
        snprintf(buf, size, "writer-%d", w->index);
}

/* Write until the daemon dies. A failure before the kill is a defect. */
static void *kill_writer_run(void *userdata) {
        KillWriter *w = userdata;
        CvClient *c = NULL;
        char plugin[32], name[32];
        uint8_t value[2048];

        kill_plugin(w, plugin, sizeof(plugin));
        if (cv_client_new(w->h->socket_path, 5000, &c) < 0) {
                /* On a loaded machine a writer may start only after the
                 * others' acknowledgements brought the kill: then there
                 * was no daemon to connect to, and nothing to check. */
                if (!atomic_load(&killing))
                        snprintf(w->error, sizeof(w->error), "cannot connect");
                return NULL;
        }
        for (;;) {
                bool fresh = w->fresh_turn = !w->fresh_turn;
                int key;
                int64_t expected, v = 0;
                if (fresh) {
                        if (w->n_fresh == KILL_FRESH_MAX)
                                continue;
                        key = w->n_fresh++;
                        w->fresh[key] = 2;
                        expected = 1;
                } else {
                        key = w->next_key++ % KILL_KEYS;
                        w->in_flight[key] = true;
                        expected = w->version[key] + 1;
                }
                kill_name(fresh, key, name, sizeof(name));
                size_t size = kill_value(w, fresh, key, expected, value);
                if (cv_secret_put(c, plugin, name, value, size, &v) < 0) {
                        if (!atomic_load(&killing))
                                snprintf(w->error, sizeof(w->error), "put %s before the kill: %s %s", name,
                                         cv_client_error_code(c), cv_client_error_message(c));
                        break;
                }
                if (v != expected) {
                        snprintf(w->error, sizeof(w->error), "put %s: version %lld, expected %lld", name, (long long) v,
                                 (long long) expected);
                        break;
                }
                if (fresh)
                        w->fresh[key] = 1;
                else {
                        w->version[key] = v;
                        w->in_flight[key] = false;
                }
                w->n_acked++;
                atomic_fetch_add(&round_acks, 1);
        }
        cv_client_free(c);
        return NULL;
}

/* One key after a restart: there, with the acknowledged version (or the
 * next, if a write of it was cut off after its commit), byte for byte the
 * value written as that version. Returns the version found, 0 if none. */
static int64_t kill_check_key(CvClient *c, const KillWriter *w, bool fresh, int key, int64_t acked, bool cut_off) {
        char plugin[32], name[32];
        uint8_t value[2048];
        CvSecret *s = NULL;

        kill_plugin(w, plugin, sizeof(plugin));
        kill_name(fresh, key, name, sizeof(name));
        int r = cv_secret_get(c, plugin, name, &s);
        if (r == -ENOENT && acked == 0)
                return 0;
        if (r < 0)
                fail_msg("%s/%s (acknowledged version %lld) lost: %s", plugin, name, (long long) acked,
                         cv_client_error_message(c));
        if (s->version != acked && !(cut_off && s->version == acked + 1))
                fail_msg("%s/%s: version %lld, acknowledged %lld%s", plugin, name, (long long) s->version,
                         (long long) acked, cut_off ? " and one cut off" : "");
        size_t size = kill_value(w, fresh, key, s->version, value);
        if (s->value_size != size || memcmp(s->value, value, size) != 0)
                fail_msg("%s/%s version %lld: value differs from the one written", plugin, name,
                         (long long) s->version);
        int64_t version = s->version;
        cv_secret_free(s);
        return version;
}

/* After a restart: every key a writer overwrites, and every key written
 * once since the last check (all of them when `all`). */
static void kill_check_writer(CvClient *c, KillWriter *w, bool all) {
        for (int k = 0; k < KILL_KEYS; k++) {
                w->version[k] = kill_check_key(c, w, false, k, w->version[k], w->in_flight[k]);
                w->in_flight[k] = false;
        }
        for (int k = all ? 0 : w->n_checked; k < w->n_fresh; k++) {
                if (w->fresh[k] == 1)
                        kill_check_key(c, w, true, k, 1, false);
                else if (w->fresh[k] == 2)
                        w->fresh[k] = kill_check_key(c, w, true, k, 0, true) ? 1 : 3;
        }
        w->n_checked = w->n_fresh;
}

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* KILL_WRITERS threads write (each its own keys, overwritten and new)
 * while the daemon is killed with SIGKILL, KILL_ROUNDS times, at a random
 * moment after at least KILL_ACKS_PER_ROUND acknowledgements. After each
 * restart, everything acknowledged since the last one is read back and
 * compared byte for byte; at the end, everything ever acknowledged. */
static void test_kill9_during_concurrent_writes(void **state) {
        (void) state;
        static KillWriter writers[KILL_WRITERS];
        pthread_t threads[KILL_WRITERS];
        Harness h = {};
        CvClient *c = NULL;
        long total = 0, t0 = now_ms();
        int rounds = KILL_ROUNDS / harness_time_scale();
        unsigned seed = (unsigned) time(NULL);

        if (rounds < 10)
                rounds = 10;
        print_message("seed %u, %d rounds\n", seed, rounds);
        srand(seed);
        memset(writers, 0, sizeof(writers));
        assert_int_equal(harness_start(&h), 0);
        for (int round = 0; round <= rounds; round++) {
                if (round > 0) {
                        assert_int_equal(harness_restart(&h), 0);
                        assert_int_equal(cv_client_new(h.socket_path, 5000 * harness_time_scale(), &c), 0);
                        for (int i = 0; i < KILL_WRITERS; i++)
                                kill_check_writer(c, &writers[i], round == rounds);
                        cv_client_free(c);
                }
                if (round == rounds)
                        break;

                atomic_store(&killing, false);
                atomic_store(&round_acks, 0);
                for (int i = 0; i < KILL_WRITERS; i++) {
                        writers[i].h = &h;
                        writers[i].index = i;
                        assert_int_equal(pthread_create(&threads[i], NULL, kill_writer_run, &writers[i]), 0);
                }
                long deadline = now_ms() + 20000L * harness_time_scale();
                while (atomic_load(&round_acks) < KILL_ACKS_PER_ROUND && now_ms() < deadline)
                        usleep(1000);
                usleep((useconds_t) (rand() % 20000));
                atomic_store(&killing, true);
                assert_int_equal(harness_kill(&h), 128 + 9);
                for (int i = 0; i < KILL_WRITERS; i++) {
                        pthread_join(threads[i], NULL);
                        if (writers[i].error[0])
                                fail_msg("round %d, writer %d: %s", round, i, writers[i].error);
                }
        }
        for (int i = 0; i < KILL_WRITERS; i++)
                total += writers[i].n_acked;
        print_message("%d SIGKILLs, %ld acknowledged writes, all read back intact, in %ld ms\n", rounds, total,
                      now_ms() - t0);
        assert_true(total >= (long) rounds * KILL_ACKS_PER_ROUND);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void assert_file_lacks(const char *path, const char *needle) {
        char *data = NULL;
        size_t size = 0;
        int r = harness_read_file(path, &data, &size);
        if (r == -ENOENT)
                return;
        assert_int_equal(r, 0);
        if (memmem(data, size, needle, strlen(needle)))
                fail_msg("%s contains a stored value", path);
        free(data);
}

/* Values are recognisable strings of several sizes; after writes, reads,
 * overwrites and deletes, neither the database, its WAL and shared-memory
 * files, nor the daemon's log contain any of them. Checked while the daemon
 * runs (WAL not yet checkpointed) and after it stops. */
static void test_no_value_in_files_or_log(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        char values[4][2048];
        const size_t sizes[] = { 16, 100, 700, 2000 };
        char path[512];

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &c), 0);
        for (int i = 0; i < 4; i++) {
                memset(values[i], 'a' + i, sizeof(values[i]));
                memcpy(values[i], "PLAINTEXT-CANARY", 16);
                values[i][sizes[i]] = '\0';
                CvToken tok = {
                        .access_token = values[i], .token_type = "Bearer", .refresh_token = values[i], .expires_at = -1
                };
                char name[8];
                snprintf(name, sizeof(name), "v%d", i);
                assert_int_equal(cv_secret_put(c, "canary", name, values[i], sizes[i], NULL), 0);
                assert_int_equal(cv_token_put(c, "canary", name, &tok, NULL), 0);
                CvSecret *s = NULL;
                assert_int_equal(cv_secret_get(c, "canary", name, &s), 0);
                cv_secret_free(s);
        }
        assert_int_equal(cv_secret_delete(c, "canary", "v0"), 0);
        cv_client_free(c);

        for (int pass = 0; pass < 2; pass++) {
                const char *files[] = { "credvault.db", "credvault.db-wal", "credvault.db-shm" };
                for (size_t f = 0; f < 3; f++) {
                        snprintf(path, sizeof(path), "%s/%s", h.state_dir, files[f]);
                        assert_file_lacks(path, "PLAINTEXT-CANARY");
                }
                assert_file_lacks(h.log_file, "PLAINTEXT-CANARY");
                if (pass == 0)
                        assert_int_equal(harness_stop(&h), 0);
        }
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kill9_after_ack_keeps_write),
                cmocka_unit_test(test_kill9_during_burst),
                cmocka_unit_test(test_kill9_during_concurrent_writes),
                cmocka_unit_test(test_no_value_in_files_or_log),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
