/* test-e2e-stages.c — secret rotation with overlap, through the real
 * daemon and libcredvault.
 *
 * A service token is rotated (staged as pending, given or generated) and
 * promoted: secret.verify accepts the new value as current and the old
 * one as previous until the grace deadline (2 s here), then only the new
 * one; secret.get gives either stage on request, the expired one never;
 * the daemon's sweep deletes the expired row and writes one secret.expire
 * audit record for it; history lists versions, stages and deadlines and
 * never a value; delete and plugin.delete remove every stage. The same
 * for an OAuth client secret through oauth.verify_client. KEK rotation
 * covers the staged rows: key.status counts them, key.retire refuses a
 * KEK they still use, key.rewrap moves them. Then the crash loop: SIGKILL
 * at random moments while a client rotates and promotes; after each kill
 * the database passes PRAGMA integrity_check, holds exactly one current
 * value and versions unique across the stages, the last acknowledged
 * promote's result is there and every version left opens to the value
 * that was sent for it, byte for byte. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <sqlite3.h>
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

#define DB_FILE "credvault.db"
#define PLUGIN "svc"

/* The test's daemon, in static storage: the teardown stops it and
 * removes its directory after a failed test too. */
static Harness h;

static int teardown_daemon(void **state) {
        (void) state;
        harness_cleanup(&h);
        h = (Harness) {};
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static CvClient *client(const Harness *d) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(d->socket_path, 30000, &c), 0);
        return c;
}

static json_t *call(CvClient *c, const char *request) {
        char *reply = NULL;
        int r = cv_call_json(c, request, &reply);
        if (r < 0)
                fail_msg("%s: %d", request, r);
        json_t *j = json_loads(reply, 0, NULL);
        assert_non_null(j);
        free(reply);
        return j;
}

/* The value verify gives for a bare value: -1 no match, else the stage. */
static int verify(CvClient *c, const char *name, const char *value, int64_t *ret_version) {
        CvSecretStage stage;
        int r = cv_secret_verify_stage(c, PLUGIN, name, NULL, value, strlen(value), ret_version, &stage);
        assert_true(r >= 0);
        return r == 0 ? -1 : (int) stage;
}

static void get_is(CvClient *c, const char *name, CvSecretStage stage, const char *want, int64_t want_version) {
        CvSecret *s = NULL;
        int r = cv_secret_get_stage(c, PLUGIN, name, stage, &s);
        if (r < 0)
                fail_msg("get %s %s: %d %s", name, cv_secret_stage_name(stage), r, cv_client_error_message(c));
        assert_int_equal(s->value_size, strlen(want));
        assert_memory_equal(s->value, want, s->value_size);
        if (want_version > 0)
                assert_int_equal(s->version, want_version);
        cv_secret_free(s);
}

static json_t *history(CvClient *c, const char *name) {
        char *text = NULL;
        assert_int_equal(cv_secret_history_json(c, PLUGIN, name, &text), 0);
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        free(text);
        return json_object_get(j, "versions") ? j : NULL;
}

static const char *history_stage(const json_t *hist, size_t i, int64_t *ret_version) {
        json_t *v = json_array_get(json_object_get(hist, "versions"), i);
        if (!v)
                return NULL;
        if (ret_version)
                *ret_version = json_integer_value(json_object_get(v, "version"));
        assert_null(json_object_get(v, "value"));
        return json_string_value(json_object_get(v, "stage"));
}

/* The secret.expire records in the trail for plugin. */
static int expire_records(CvClient *c) {
        CvAuditFilter f = { .op = "secret.expire", .plugin = PLUGIN };
        char *records = NULL, *next = NULL;
        int n = cv_audit_list_json(c, &f, NULL, 0, &records, &next);
        assert_true(n >= 0);
        free(records);
        free(next);
        return n;
}

static int64_t kek_records(CvClient *c, int64_t version) {
        CvKek *keks = NULL;
        CvKeyRewrap w;
        int64_t records = -1;
        int n = cv_key_status(c, &w, &keks);
        assert_true(n > 0);
        for (int i = 0; i < n; i++)
                if (keks[i].version == version)
                        records = keks[i].records;
        free(keks);
        return records;
}

static void test_rotate_promote_verify(void **state) {
        (void) state;
        h = (Harness) {};
        CvSecretPromoted p;
        CvSecret *gen = NULL;
        int64_t v = 0;

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);

        assert_int_equal(cv_secret_put(c, PLUGIN, "tok", "old-token", 9, &v), 0);
        assert_int_equal(v, 1);
        /* Nothing pending yet. */
        assert_int_equal(cv_secret_promote(c, PLUGIN, "tok", -1, &p), -ENOENT);
        assert_string_equal(cv_client_error_message(c), "no pending version of secret 'tok' for plugin 'svc'");
        assert_int_equal(cv_secret_get_stage(c, PLUGIN, "tok", CV_SECRET_STAGE_PENDING, &gen), -ENOENT);

        /* Staged: not yet accepted, but readable as pending. */
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "tok", "new-token", 9, 0, 2, &v, NULL), 0);
        assert_int_equal(v, 2);
        get_is(c, "tok", CV_SECRET_STAGE_PENDING, "new-token", 2);
        get_is(c, "tok", CV_SECRET_STAGE_CURRENT, "old-token", 1);
        assert_int_equal(verify(c, "tok", "new-token", NULL), -1);
        assert_int_equal(verify(c, "tok", "old-token", &v), CV_SECRET_STAGE_CURRENT);
        json_t *hist = history(c, "tok");
        assert_string_equal(history_stage(hist, 0, &v), "pending");
        assert_int_equal(v, 2);
        assert_string_equal(history_stage(hist, 1, &v), "current");
        assert_null(history_stage(hist, 2, NULL));
        json_decref(hist);

        /* Promoted: both accepted, each says which it is. */
        uint64_t promoted = now_usec();
        assert_int_equal(cv_secret_promote(c, PLUGIN, "tok", -1, &p), 0);
        assert_int_equal(p.version, 2);
        assert_int_equal(p.previous_version, 1);
        assert_true(p.previous_deadline >= (int64_t) (promoted / 1000000) + 2);
        assert_true(p.previous_deadline <= (int64_t) (promoted / 1000000) + 3);
        assert_int_equal(verify(c, "tok", "new-token", &v), CV_SECRET_STAGE_CURRENT);
        assert_int_equal(v, 2);
        assert_int_equal(verify(c, "tok", "old-token", &v), CV_SECRET_STAGE_PREVIOUS);
        assert_int_equal(v, 1);
        assert_int_equal(cv_secret_verify(c, PLUGIN, "tok", "Bearer old-token", &v), 1);
        assert_int_equal(verify(c, "tok", "other", NULL), -1);
        get_is(c, "tok", CV_SECRET_STAGE_CURRENT, "new-token", 2);
        get_is(c, "tok", CV_SECRET_STAGE_PREVIOUS, "old-token", 1);
        hist = history(c, "tok");
        assert_string_equal(history_stage(hist, 0, NULL), "current");
        assert_string_equal(history_stage(hist, 1, NULL), "previous");
        assert_int_equal(
                json_integer_value(json_object_get(json_array_get(json_object_get(hist, "versions"), 1), "deadline")),
                p.previous_deadline);
        json_decref(hist);

        /* An OAuth client secret rotated the same way. */
        assert_int_equal(cv_secret_put(c, PLUGIN, "client_id", "the-client", 10, NULL), 0);
        assert_int_equal(cv_secret_put(c, PLUGIN, "client_secret", "cs-old", 6, NULL), 0);
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "client_secret", NULL, 0, 16, 3600, &v, &gen), 0);
        assert_int_equal(gen->value_size, 22);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", (const char *) gen->value), 0);
        assert_int_equal(cv_secret_promote(c, PLUGIN, "client_secret", 2, &p), 0);
        assert_int_equal(p.previous_version, 1);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", (const char *) gen->value), 1);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", "cs-old"), 1);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", "cs-other"), 0);
        int64_t kek_before = kek_records(c, 1);
        assert_int_equal(kek_before, 5); /* tok, client_id, client_secret; two previous */

        /* Past the deadline: gone for every call at once. */
        while (now_usec() < (uint64_t) p.previous_deadline * 1000000 + 100000)
                usleep(50000);
        assert_int_equal(verify(c, "tok", "old-token", NULL), -1);
        assert_int_equal(verify(c, "tok", "new-token", NULL), CV_SECRET_STAGE_CURRENT);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", "cs-old"), 0);
        assert_int_equal(cv_oauth_verify_client(c, PLUGIN, NULL, "the-client", (const char *) gen->value), 1);
        cv_secret_free(gen);
        CvSecret *s = NULL;
        assert_int_equal(cv_secret_get_stage(c, PLUGIN, "tok", CV_SECRET_STAGE_PREVIOUS, &s), -ENOENT);
        assert_string_equal(cv_client_error_message(c), "no previous version of secret 'tok' for plugin 'svc'");
        hist = history(c, "tok");
        assert_string_equal(history_stage(hist, 0, NULL), "current");
        assert_null(history_stage(hist, 1, NULL));
        json_decref(hist);

        /* The sweep deletes both rows, each with its audit record. */
        uint64_t until = now_usec() + 5000000ULL * (uint64_t) harness_time_scale();
        while (expire_records(c) < 2 && now_usec() < until)
                usleep(50000);
        assert_int_equal(expire_records(c), 2);
        assert_int_equal(kek_records(c, 1), kek_before - 2);

        /* A rotation reveals a value only when the vault made it. */
        CvAuditFilter af = { .op = "secret.rotate", .plugin = PLUGIN };
        char *records = NULL, *next = NULL;
        assert_int_equal(cv_audit_list_json(c, &af, NULL, 0, &records, &next), 2);
        json_t *rj = json_loads(records, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(json_array_get(rj, 0), "object")), "tok");
        assert_true(json_is_false(json_object_get(json_array_get(rj, 0), "revealed")));
        assert_string_equal(json_string_value(json_object_get(json_array_get(rj, 1), "object")), "client_secret");
        assert_true(json_is_true(json_object_get(json_array_get(rj, 1), "revealed")));
        json_decref(rj);
        free(records);
        free(next);

        /* A first version by rotation: promoted with no previous. */
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "fresh", "first", 5, 0, -1, &v, NULL), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cv_secret_get(c, PLUGIN, "fresh", &s), -ENOENT);
        assert_int_equal(cv_secret_promote(c, PLUGIN, "fresh", -1, &p), 0);
        assert_int_equal(p.version, 1);
        assert_int_equal(p.previous_version, 0);
        assert_int_equal(p.previous_deadline, 0);
        get_is(c, "fresh", CV_SECRET_STAGE_CURRENT, "first", 1);

        /* Versions stay unique across stages: a put while one is pending
         * goes above it, and a rotate above both. */
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "fresh", "second", 6, 0, 3600, &v, NULL), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cv_secret_put(c, PLUGIN, "fresh", "put", 3, &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(cv_secret_promote(c, PLUGIN, "fresh", -1, &p), 0);
        assert_int_equal(p.version, 2);
        assert_int_equal(p.previous_version, 3);
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "fresh", "third", 5, 0, 3600, &v, NULL), 0);
        assert_int_equal(v, 4);
        get_is(c, "fresh", CV_SECRET_STAGE_PREVIOUS, "put", 3);

        /* Delete removes every stage. */
        assert_int_equal(cv_secret_delete(c, PLUGIN, "fresh"), 0);
        assert_int_equal(cv_secret_history_json(c, PLUGIN, "fresh", &(char *) { NULL }), -ENOENT);
        assert_int_equal(cv_secret_get_stage(c, PLUGIN, "fresh", CV_SECRET_STAGE_PENDING, &s), -ENOENT);
        assert_int_equal(cv_secret_get_stage(c, PLUGIN, "fresh", CV_SECRET_STAGE_PREVIOUS, &s), -ENOENT);
        assert_int_equal(cv_secret_delete(c, PLUGIN, "fresh"), -ENOENT);
        /* A secret with nothing but a pending version is still deleted. */
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "only-pending", "x", 1, 0, -1, NULL, NULL), 0);
        assert_int_equal(cv_secret_delete(c, PLUGIN, "only-pending"), 0);
        /* And plugin.delete takes the staged rows with the rest. */
        assert_int_equal(cv_secret_rotate(c, "other", "t", "x", 1, 0, -1, NULL, NULL), 0);
        assert_int_equal(cv_plugin_delete(c, "other"), 0);
        assert_int_equal(cv_secret_history_json(c, "other", "t", &(char *) { NULL }), -ENOENT);

        /* Bad input changes nothing. */
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "tok", "x", 1, 0, CV_SECRET_GRACE_MAX_SEC + 1, NULL, NULL),
                         -EINVAL);
        json_t *j = call(c, "{\"op\":\"secret.get\",\"plugin\":\"svc\",\"name\":\"tok\",\"stage\":\"older\"}");
        assert_false(json_is_true(json_object_get(j, "ok")));
        json_decref(j);
        get_is(c, "tok", CV_SECRET_STAGE_CURRENT, "new-token", 2);

        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        /* The expired rows are gone from the file, not only hidden. */
        char path[256];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        snprintf(path, sizeof(path), "%s/%s", h.state_dir, DB_FILE);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(
                sqlite3_prepare_v2(db, "SELECT count(*) FROM secret_stage WHERE plugin = 'svc'", -1, &st, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        harness_cleanup(&h);
}

/* KEK rotation with staged rows: counted, kept from retirement, moved. */
static void test_kek_with_stages(void **state) {
        (void) state;
        h = (Harness) {};
        CvSecretPromoted p;
        CvKeyRewrap w;
        int64_t primary = 0, previous = 0;

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_secret_put(c, PLUGIN, "k", "v1", 2, NULL), 0);
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "k", "v2", 2, 0, 3600, NULL, NULL), 0);
        assert_int_equal(kek_records(c, 1), 2);

        assert_int_equal(cv_key_rotate(c, &primary, &previous), 0);
        assert_int_equal(primary, 2);
        /* The current version moves to KEK 2 by a put; the pending one
         * alone keeps KEK 1 in use. */
        assert_int_equal(cv_secret_put(c, PLUGIN, "k", "v3", 2, NULL), 0);
        assert_int_equal(kek_records(c, 1), 1);
        assert_int_equal(kek_records(c, 2), 1);
        assert_int_equal(cv_key_retire(c, 1), -EEXIST);
        /* Promoted: the KEK 1 blob is current now, v3 previous. */
        assert_int_equal(cv_secret_promote(c, PLUGIN, "k", -1, &p), 0);
        assert_int_equal(p.version, 2);
        assert_int_equal(p.previous_version, 3);
        assert_int_equal(cv_secret_rotate(c, PLUGIN, "k", "v4", 2, 0, 3600, NULL, NULL), 0);
        assert_int_equal(kek_records(c, 1), 1);
        assert_int_equal(kek_records(c, 2), 2);

        /* Rewrap: every stage onto KEK 2; then KEK 1 can go. */
        assert_int_equal(cv_key_rewrap(c, NULL, NULL), 0);
        uint64_t until = now_usec() + 30000000ULL * (uint64_t) harness_time_scale();
        do {
                usleep(20000);
                assert_true(cv_key_status(c, &w, NULL) > 0);
        } while ((w.running || w.remaining > 0) && now_usec() < until);
        assert_int_equal(w.remaining, 0);
        assert_int_equal(kek_records(c, 1), 0);
        assert_int_equal(kek_records(c, 2), 3);
        assert_int_equal(cv_key_retire(c, 1), 0);
        get_is(c, "k", CV_SECRET_STAGE_CURRENT, "v2", 2);
        get_is(c, "k", CV_SECRET_STAGE_PREVIOUS, "v3", 3);
        get_is(c, "k", CV_SECRET_STAGE_PENDING, "v4", 4);
        cv_client_free(c);

        /* After a restart, with KEK 1 gone, all three still open. */
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        get_is(c, "k", CV_SECRET_STAGE_CURRENT, "v2", 2);
        get_is(c, "k", CV_SECRET_STAGE_PREVIOUS, "v3", 3);
        get_is(c, "k", CV_SECRET_STAGE_PENDING, "v4", 4);
        assert_int_equal(cv_secret_promote(c, PLUGIN, "k", -1, &p), 0);
        assert_int_equal(verify(c, "k", "v2", NULL), CV_SECRET_STAGE_PREVIOUS);
        assert_int_equal(verify(c, "k", "v4", NULL), CV_SECRET_STAGE_CURRENT);
        assert_int_equal(verify(c, "k", "v3", NULL), -1);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* ---- the crash loop ---- */

#define KILL_ROUNDS 32
#define CRASH_NAME "crash"

/* The value sent for rotation number i: its number inside, so that any
 * version found can be checked against what was sent for it. */
static void crash_value(int64_t i, char *buf, size_t size) {
        snprintf(buf, size, "rotation %" PRId64 " of the crash loop, padded like a real service token", i);
}

/* What the writer acknowledged: a rotation (i, version) or a promotion
 * (version, previous version). */
typedef struct Ack {
        char kind; /* 'r' or 'p' */
        int64_t a, b;
} Ack;

static void integrity_and_shape(const Harness *d) {
        char path[256];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        snprintf(path, sizeof(path), "%s/%s", d->state_dir, DB_FILE);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        static const struct {
                const char *sql;
                int want; /* -1: the text "ok" */
        } checks[] = {
                { "PRAGMA integrity_check", -1 },
                { "SELECT count(*) FROM secret WHERE plugin = 'svc' AND name = '" CRASH_NAME "'", 1 },
                /* No version twice across the stages. */
                { "SELECT count(*) - count(DISTINCT v) FROM (SELECT version v FROM secret WHERE name = '" CRASH_NAME
                  "' UNION ALL SELECT version FROM secret_stage WHERE name = '" CRASH_NAME "')",
                  0 },
        };
        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                assert_int_equal(sqlite3_prepare_v2(db, checks[i].sql, -1, &st, NULL), SQLITE_OK);
                assert_int_equal(sqlite3_step(st), SQLITE_ROW);
                if (checks[i].want < 0)
                        assert_string_equal((const char *) sqlite3_column_text(st, 0), "ok");
                else
                        assert_int_equal(sqlite3_column_int(st, 0), checks[i].want);
                sqlite3_finalize(st);
        }
        sqlite3_close(db);
}

/* The value of a stage, if there is one, is the one sent for its version
 * (acknowledged or not: then its number says which it was). Returns its
 * version, 0 if there is none. */
static int64_t stage_checked(CvClient *c, CvSecretStage stage, const int64_t *sent_for_version, size_t n_sent) {
        CvSecret *s = NULL;
        char want[128];
        int r = cv_secret_get_stage(c, PLUGIN, CRASH_NAME, stage, &s);
        if (r == -ENOENT)
                return 0;
        assert_int_equal(r, 0);
        int64_t i = -1;
        if ((size_t) s->version < n_sent && sent_for_version[s->version] > 0)
                i = sent_for_version[s->version];
        else
                assert_int_equal(sscanf((const char *) s->value, "rotation %" SCNd64, &i), 1);
        crash_value(i, want, sizeof(want));
        if (s->value_size != strlen(want) || memcmp(s->value, want, s->value_size) != 0)
                fail_msg("%s version %" PRId64 " does not hold what was sent for it", cv_secret_stage_name(stage),
                         s->version);
        int64_t v = s->version;
        cv_secret_free(s);
        return v;
}

static void test_kill_during_promote(void **state) {
        (void) state;
        h = (Harness) {};
        unsigned seed = (unsigned) time(NULL);
        enum { MAX_VERSIONS = 1 << 16 };
        int64_t *sent_for = calloc(MAX_VERSIONS, sizeof(int64_t)); /* version → rotation number, when acked */
        int64_t last_promoted = 1, last_previous = 0, last_rotated = 0, next_i = 1;
        char value[128];
        int promotes_seen = 0;

        assert_non_null(sent_for);
        print_message("seed %u\n", seed);
        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        crash_value(0, value, sizeof(value));
        assert_int_equal(cv_secret_put(c, PLUGIN, CRASH_NAME, value, strlen(value), NULL), 0);
        sent_for[1] = 0;
        /* Other secrets written meanwhile, to be found intact too. */
        for (int i = 0; i < 50; i++) {
                char name[16];
                snprintf(name, sizeof(name), "other%02d", i);
                assert_int_equal(cv_secret_put(c, PLUGIN, name, name, strlen(name), NULL), 0);
        }
        cv_client_free(c);

        for (int round = 0; round < KILL_ROUNDS; round++) {
                int pipefd[2];
                assert_int_equal(pipe(pipefd), 0);
                int64_t first_i = next_i;
                pid_t child = fork();
                assert_true(child >= 0);
                if (child == 0) {
                        CvClient *w = NULL;
                        close(pipefd[0]);
                        if (cv_client_new(h.socket_path, 5000, &w) < 0)
                                _exit(1);
                        for (int64_t i = first_i;; i++) {
                                char v[128];
                                int64_t version;
                                CvSecretPromoted pr;
                                crash_value(i, v, sizeof(v));
                                if (cv_secret_rotate(w, PLUGIN, CRASH_NAME, v, strlen(v), 0, 3600, &version, NULL) < 0)
                                        _exit(0);
                                Ack a = { 'r', i, version };
                                if (write(pipefd[1], &a, sizeof(a)) != sizeof(a))
                                        _exit(1);
                                /* Every other rotation is promoted, so that a
                                 * kill finds pending rows as well. */
                                if (i % 2 == 0)
                                        continue;
                                if (cv_secret_promote(w, PLUGIN, CRASH_NAME, -1, &pr) < 0)
                                        _exit(0);
                                a = (Ack) { 'p', pr.version, pr.previous_version };
                                if (write(pipefd[1], &a, sizeof(a)) != sizeof(a))
                                        _exit(1);
                        }
                }
                close(pipefd[1]);
                usleep((useconds_t) (rand_r(&seed) % 300000));
                assert_int_equal(harness_kill(&h), 128 + 9);
                Ack a;
                while (read(pipefd[0], &a, sizeof(a)) == sizeof(a)) {
                        if (a.kind == 'r') {
                                assert_true(a.b > 0 && a.b < MAX_VERSIONS);
                                sent_for[a.b] = a.a;
                                last_rotated = a.b;
                                if (a.a >= next_i)
                                        next_i = a.a + 1;
                        } else {
                                last_promoted = a.a;
                                last_previous = a.b;
                                promotes_seen++;
                        }
                }
                close(pipefd[0]);
                waitpid(child, NULL, 0);
                /* An unacknowledged rotation may have committed: its number
                 * is not used again. */
                next_i += 2;

                integrity_and_shape(&h);
                assert_int_equal(harness_restart(&h), 0);
                c = client(&h);
                int64_t cur = stage_checked(c, CV_SECRET_STAGE_CURRENT, sent_for, MAX_VERSIONS);
                int64_t prev = stage_checked(c, CV_SECRET_STAGE_PREVIOUS, sent_for, MAX_VERSIONS);
                int64_t pend = stage_checked(c, CV_SECRET_STAGE_PENDING, sent_for, MAX_VERSIONS);
                /* The last acknowledged promote is there, or a later one
                 * that committed unacknowledged. */
                assert_true(cur >= last_promoted);
                if (cur == last_promoted && last_previous > 0)
                        assert_int_equal(prev, last_previous);
                /* The last acknowledged rotation is pending, or promoted. */
                if (last_rotated > cur)
                        assert_true(pend >= last_rotated);
                assert_true(pend == 0 || pend > cur);
                assert_true(prev == 0 || prev < cur);
                /* Both accepted, as the stages say. */
                if (prev > 0 && sent_for[prev] > 0) {
                        crash_value(sent_for[prev], value, sizeof(value));
                        assert_int_equal(verify(c, CRASH_NAME, value, NULL), CV_SECRET_STAGE_PREVIOUS);
                }
                for (int i = 0; i < 50; i += 7) {
                        char name[16];
                        snprintf(name, sizeof(name), "other%02d", i);
                        get_is(c, name, CV_SECRET_STAGE_CURRENT, name, 0);
                }
                cv_client_free(c);
        }
        print_message("%d kills, %d promotes acknowledged, current version %" PRId64 "\n", KILL_ROUNDS, promotes_seen,
                      last_promoted);
        assert_true(promotes_seen >= KILL_ROUNDS);
        assert_int_equal(harness_stop(&h), 0);
        integrity_and_shape(&h);
        harness_cleanup(&h);
        free(sent_for);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_rotate_promote_verify, teardown_daemon),
                cmocka_unit_test_teardown(test_kek_with_stages, teardown_daemon),
                cmocka_unit_test_teardown(test_kill_during_promote, teardown_daemon),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
