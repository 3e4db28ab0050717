/* test-e2e-refresh.c — OAuth token responses and refresh without races.
 *
 * Against the real daemon through libcredvault: a token endpoint response
 * is stored with expires_in made absolute and its other fields kept, and
 * keeps the previous refresh token when it carries none; a set not valid
 * long enough is -ESTALE, -EALREADY while a refresh lease is held (with a
 * retry hint), -EKEYREVOKED after invalid_grant until a new response; a
 * caller whose lease was overtaken cannot commit and its invalid_grant
 * revokes nothing.
 *
 * The race: 16 processes share one user's token set for ~10 s, against a
 * fake provider in shared memory that rotates refresh tokens and rejects
 * an outdated one (the way real providers revoke on reuse). Access tokens
 * live 2 s, so the set expires about every 2 s; exactly one refresh must
 * happen per expiry, the provider must never see an outdated refresh token
 * (a lost rotation), the vault must end with the provider's current one,
 * and the losers must really have waited. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "credvault.h"
#include "harness.h"

static Harness h;
static CvClient *c;

static int group_setup(void **state) {
        (void) state;
        if (harness_start(&h) < 0)
                return -1;
        return cv_client_new(h.socket_path, 5000, &c) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        (void) state;
        cv_client_free(c);
        int r = harness_stop(&h);
        harness_cleanup(&h);
        return r == 0 ? 0 : -1;
}

static json_t *get_json(const char *plugin, const char *user, int min_valid) {
        char *text = NULL;
        int r = cv_token_get_json(c, plugin, user, min_valid, &text);
        if (r < 0)
                fail_msg("token.get %s/%s: %d %s", plugin, user, r, cv_client_error_message(c));
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        cv_free_wiped(text, (size_t) -1);
        return j;
}

static int64_t now_sec(void) {
        return (int64_t) time(NULL);
}

/* ---- ingestion ---- */

static void test_response_ingestion(void **state) {
        (void) state;
        CvToken *t = NULL;
        int64_t version = 0;

        int64_t before = now_sec();
        assert_int_equal(
                cv_token_put_response(c, "ing", "alice",
                                      "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                                      "\"refresh_token\":\"rt-1\",\"scope\":\"openid email\","
                                      "\"id_token\":\"eyJhbGciOiJSUzI1NiJ9.e30.sig\",\"ext_expires_in\":7200,"
                                      "\"extra\":{\"nested\":[1,true,null]}}",
                                      &version),
                0);
        int64_t after = now_sec();
        assert_int_equal(version, 1);

        assert_int_equal(cv_token_get(c, "ing", "alice", &t), 0);
        assert_string_equal(t->access_token, "at-1");
        assert_string_equal(t->token_type, "Bearer");
        assert_string_equal(t->refresh_token, "rt-1");
        assert_string_equal(t->scope, "openid email");
        assert_true(t->expires_at >= before + 3600 && t->expires_at <= after + 3600);
        cv_token_free(t);

        /* Other fields kept as they came; expires_in became expires_at. */
        json_t *j = get_json("ing", "alice", 0);
        assert_string_equal(json_string_value(json_object_get(j, "id_token")), "eyJhbGciOiJSUzI1NiJ9.e30.sig");
        assert_int_equal(json_integer_value(json_object_get(j, "ext_expires_in")), 7200);
        json_t *want_extra = json_pack("{s:[i,b,n]}", "nested", 1, 1);
        assert_true(json_equal(json_object_get(j, "extra"), want_extra));
        json_decref(want_extra);
        assert_null(json_object_get(j, "expires_in"));
        int64_t expires_at = json_integer_value(json_object_get(j, "expires_at"));
        assert_true(expires_at >= before + 3600 && expires_at <= after + 3600);
        json_decref(j);

        /* A response without a refresh token keeps the previous one. */
        assert_int_equal(cv_token_put_response(
                                 c, "ing", "alice",
                                 "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\",\"expires_in\":60}", &version),
                         0);
        assert_int_equal(version, 2);
        assert_int_equal(cv_token_get(c, "ing", "alice", &t), 0);
        assert_string_equal(t->access_token, "at-2");
        assert_string_equal(t->refresh_token, "rt-1");
        assert_null(t->scope);
        assert_true(t->expires_at >= before + 60 && t->expires_at <= now_sec() + 60);
        cv_token_free(t);
        /* ...and one with a new refresh token replaces it. */
        assert_int_equal(cv_token_put_response(c, "ing", "alice",
                                               "{\"access_token\":\"at-3\",\"token_type\":\"Bearer\","
                                               "\"refresh_token\":\"rt-3\"}",
                                               NULL),
                         0);
        assert_int_equal(cv_token_get(c, "ing", "alice", &t), 0);
        assert_string_equal(t->refresh_token, "rt-3");
        assert_int_equal(t->expires_at, -1); /* no expires_in: unknown */
        cv_token_free(t);

        /* A response without expires_in never goes stale by time. */
        assert_int_equal(cv_token_get_valid(c, "ing", "alice", 366 * 86400, &t), 0);
        cv_token_free(t);

        /* Responses that are not token responses change nothing. */
        const char *bad[] = {
                "{\"token_type\":\"Bearer\"}",
                "{\"access_token\":\"a\"}",
                "{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
                "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-1}",
                "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":\"3600\"}",
                "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1.5}",
                "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":60,\"expires_at\":99}",
                "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"refresh_token\":7}",
                "{\"access_token\":\"a b\\n\",\"token_type\":\"Bearer\"}",
                "{\"error\":\"invalid_grant\"}",
                "[\"access_token\"]",
                "not json",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = cv_token_put_response(c, "ing", "alice", bad[i], NULL);
                if (r != -EINVAL)
                        fail_msg("response %s: %d", bad[i], r);
        }
        assert_int_equal(cv_token_get(c, "ing", "alice", &t), 0);
        assert_string_equal(t->access_token, "at-3");
        assert_int_equal(t->version, 3);
        cv_token_free(t);
}

/* An expires_in so large that now + expires_in would overflow is refused
 * (or stored with a future expires_at): never a wrapped, negative one. */
static void test_huge_expires_in(void **state) {
        (void) state;
        CvToken *t = NULL;
        int r = cv_token_put_response(c, "ing", "huge",
                                      "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
                                      "\"expires_in\":9223372036854775807,\"refresh_token\":\"r\"}",
                                      NULL);
        if (r == -EINVAL) {
                /* Refused: nothing stored. */
                assert_int_equal(cv_token_get(c, "ing", "huge", &t), -ENOENT);
                return;
        }
        assert_int_equal(r, 0);
        assert_int_equal(cv_token_get_valid(c, "ing", "huge", 3600, &t), 0);
        if (t->expires_at <= now_sec())
                fail_msg("expires_in INT64_MAX stored as expires_at %" PRId64, t->expires_at);
        cv_token_free(t);
}

/* ---- staleness, leases, reauthorization ---- */

static void put_expiring(const char *plugin, const char *user, int expires_in, const char *at, const char *rt) {
        char response[256];
        snprintf(response, sizeof(response),
                 "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%d,\"refresh_token\":\"%s\"}", at,
                 expires_in, rt);
        assert_int_equal(cv_token_put_response(c, plugin, user, response, NULL), 0);
}

static const char *token_state(const char *plugin, const char *user) {
        static char state[16];
        CvTokenInfo *items = NULL;
        int n = cv_token_list(c, plugin, &items);
        state[0] = '\0';
        for (int i = 0; i < n; i++)
                if (strcmp(items[i].user, user) == 0)
                        snprintf(state, sizeof(state), "%s", items[i].state);
        cv_token_info_free(items, (size_t) n);
        return state;
}

static void test_stale_and_lease(void **state) {
        (void) state;
        CvClient *other = NULL;
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;
        int64_t version = 0;

        assert_int_equal(cv_client_new(h.socket_path, 5000, &other), 0);
        put_expiring("lease", "bob", 100, "at-1", "rt-1");

        /* Valid for 50 more seconds, not for 200. */
        assert_int_equal(cv_token_get_valid(c, "lease", "bob", 50, &t), 0);
        cv_token_free(t);
        t = NULL;
        assert_int_equal(cv_token_get_valid(c, "lease", "bob", 200, &t), -ESTALE);
        assert_null(t);
        assert_string_equal(cv_client_error_code(c), "refresh_required");
        assert_int_equal(cv_client_retry_after_ms(c), -1);
        char *text = NULL;
        assert_int_equal(cv_token_get_json(c, "lease", "bob", 200, &text), -ESTALE);
        assert_null(text);

        /* Valid for 50 more seconds: no refresh needed, here is the set. */
        assert_int_equal(cv_token_refresh_begin(c, "lease", "bob", 50, 0, &lease, &t), 0);
        assert_null(lease);
        assert_string_equal(t->access_token, "at-1");
        cv_token_free(t);
        t = NULL;

        /* Stale for 200 s: a lease, with the refresh token. */
        int64_t before_ms = now_sec() * 1000;
        assert_int_equal(cv_token_refresh_begin(c, "lease", "bob", 200, 0, &lease, &t), 1);
        assert_null(t);
        assert_non_null(lease);
        assert_string_equal(lease->refresh_token, "rt-1");
        assert_int_equal(strlen(lease->lease), 32);
        assert_int_equal(lease->version, 1);
        assert_true(lease->lease_until_ms >= before_ms + 29000 && lease->lease_until_ms <= before_ms + 32000);
        assert_string_equal(token_state("lease", "bob"), "refreshing");

        /* While it is held: everyone else waits, with a hint. */
        assert_int_equal(cv_token_get_valid(other, "lease", "bob", 200, &t), -EALREADY);
        assert_string_equal(cv_client_error_code(other), "refresh_in_progress");
        int64_t retry = cv_client_retry_after_ms(other);
        assert_true(retry > 0 && retry <= 30000);
        CvTokenLease *second = NULL;
        assert_int_equal(cv_token_refresh_begin(other, "lease", "bob", 200, 0, &second, &t), -EALREADY);
        assert_null(second);
        assert_true(cv_client_retry_after_ms(other) > 0);
        /* ...but a caller content with what is there still gets it. */
        assert_int_equal(cv_token_get_valid(other, "lease", "bob", 50, &t), 0);
        assert_string_equal(t->access_token, "at-1");
        cv_token_free(t);
        t = NULL;
        /* The retry hint is only for -EALREADY. */
        assert_int_equal(cv_token_get_valid(other, "lease", "nobody", 0, &t), -ENOENT);
        assert_int_equal(cv_client_retry_after_ms(other), -1);

        /* Commit: a new version, the lease gone, fresh for the waiters. */
        assert_int_equal(cv_token_refresh_commit(c, "lease", "bob", lease,
                                                 "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\","
                                                 "\"expires_in\":3600,\"refresh_token\":\"rt-2\"}",
                                                 &version),
                         0);
        assert_int_equal(version, 2);
        assert_int_equal(cv_token_get_valid(other, "lease", "bob", 200, &t), 0);
        assert_string_equal(t->access_token, "at-2");
        assert_string_equal(t->refresh_token, "rt-2");
        cv_token_free(t);
        t = NULL;
        assert_string_equal(token_state("lease", "bob"), "valid");
        /* The same lease cannot commit twice. */
        assert_int_equal(cv_token_refresh_commit(c, "lease", "bob", lease,
                                                 "{\"access_token\":\"at-X\",\"token_type\":\"Bearer\"}", NULL),
                         -EEXIST);
        assert_string_equal(cv_client_error_code(c), "conflict");
        cv_token_lease_free(lease);
        lease = NULL;

        /* A temporary provider error releases the lease without revoking. */
        assert_int_equal(cv_token_refresh_begin(c, "lease", "bob", 7200, 0, &lease, &t), 1);
        assert_int_equal(cv_token_refresh_fail(c, "lease", "bob", lease, "temporarily_unavailable"), 0);
        cv_token_lease_free(lease);
        lease = NULL;
        assert_string_equal(token_state("lease", "bob"), "valid");
        assert_int_equal(cv_token_refresh_begin(other, "lease", "bob", 7200, 0, &lease, &t), 1);
        assert_int_equal(cv_token_refresh_fail(other, "lease", "bob", lease, "server_error"), 0);
        cv_token_lease_free(lease);
        lease = NULL;

        /* No such set. */
        assert_int_equal(cv_token_refresh_begin(c, "lease", "nobody", 0, 0, &lease, &t), -ENOENT);
        cv_client_free(other);
}

static void test_invalid_grant_revokes(void **state) {
        (void) state;
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;

        put_expiring("revoke", "carol", 100, "at-1", "rt-1");
        assert_int_equal(cv_token_refresh_begin(c, "revoke", "carol", 200, 0, &lease, &t), 1);
        assert_int_equal(cv_token_refresh_fail(c, "revoke", "carol", lease, "invalid_grant"), 1);

        /* Reauthorization required, for every way of asking. */
        assert_int_equal(cv_token_get(c, "revoke", "carol", &t), -EKEYREVOKED);
        assert_string_equal(cv_client_error_code(c), "reauth_required");
        assert_int_equal(cv_token_get_valid(c, "revoke", "carol", 0, &t), -EKEYREVOKED);
        CvTokenLease *again = NULL;
        assert_int_equal(cv_token_refresh_begin(c, "revoke", "carol", 200, 0, &again, &t), -EKEYREVOKED);
        assert_null(again);
        assert_string_equal(token_state("revoke", "carol"), "reauth_required");
        /* The old lease is spent. */
        assert_int_equal(cv_token_refresh_commit(c, "revoke", "carol", lease,
                                                 "{\"access_token\":\"late\",\"token_type\":\"Bearer\"}", NULL),
                         -EEXIST);
        assert_int_equal(cv_token_get(c, "revoke", "carol", &t), -EKEYREVOKED);
        cv_token_lease_free(lease);

        /* The user authorizes again: a new response clears it. */
        put_expiring("revoke", "carol", 3600, "at-new", "rt-new");
        assert_int_equal(cv_token_get(c, "revoke", "carol", &t), 0);
        assert_string_equal(t->access_token, "at-new");
        cv_token_free(t);
        assert_string_equal(token_state("revoke", "carol"), "valid");

        /* A set with no refresh token cannot be refreshed: reauthorize. */
        assert_int_equal(cv_token_put_response(c, "revoke", "dave",
                                               "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":10}",
                                               NULL),
                         0);
        assert_int_equal(cv_token_refresh_begin(c, "revoke", "dave", 60, 0, &lease, &t), -EKEYREVOKED);
}

/* A lease past its deadline that nobody took over still commits: the
 * provider has already rotated the refresh token, and refusing the commit
 * would lose it. */
static void test_late_commit_kept(void **state) {
        (void) state;
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;

        put_expiring("late", "frank", 100, "at-0", "rt-0");
        assert_int_equal(cv_token_refresh_begin(c, "late", "frank", 200, 1, &lease, &t), 1);
        usleep(1300 * 1000);
        assert_int_equal(cv_token_refresh_commit(c, "late", "frank", lease,
                                                 "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\","
                                                 "\"expires_in\":3600,\"refresh_token\":\"rt-1\"}",
                                                 NULL),
                         0);
        assert_int_equal(cv_token_get_valid(c, "late", "frank", 200, &t), 0);
        assert_string_equal(t->refresh_token, "rt-1");
        cv_token_free(t);
        cv_token_lease_free(lease);
}

static void test_overtaken_lease(void **state) {
        (void) state;
        CvClient *slow = NULL, *fast = NULL;
        CvTokenLease *old = NULL, *fresh = NULL;
        CvToken *t = NULL;

        assert_int_equal(cv_client_new(h.socket_path, 5000, &slow), 0);
        assert_int_equal(cv_client_new(h.socket_path, 5000, &fast), 0);
        put_expiring("race", "erin", 100, "at-0", "rt-0");

        /* The slow caller takes a 1 s lease and lets it run out... */
        assert_int_equal(cv_token_refresh_begin(slow, "race", "erin", 200, 1, &old, &t), 1);
        assert_string_equal(old->refresh_token, "rt-0");
        usleep(1300 * 1000);

        /* ...and the fast caller takes it over and commits the rotation. */
        assert_int_equal(cv_token_refresh_begin(fast, "race", "erin", 200, 0, &fresh, &t), 1);
        assert_string_equal(fresh->refresh_token, "rt-0");
        assert_int_equal(cv_token_refresh_commit(fast, "race", "erin", fresh,
                                                 "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\","
                                                 "\"expires_in\":3600,\"refresh_token\":\"rt-1\"}",
                                                 NULL),
                         0);

        /* The slow caller's provider said invalid_grant (rt-0 was rotated):
         * a lost race, not a revocation. */
        assert_int_equal(cv_token_refresh_fail(slow, "race", "erin", old, "invalid_grant"), 0);
        assert_int_equal(cv_token_refresh_commit(slow, "race", "erin", old,
                                                 "{\"access_token\":\"slow\",\"token_type\":\"Bearer\"}", NULL),
                         -EEXIST);
        assert_int_equal(cv_token_get_valid(c, "race", "erin", 200, &t), 0);
        assert_string_equal(t->access_token, "at-1");
        assert_string_equal(t->refresh_token, "rt-1");
        cv_token_free(t);
        t = NULL;
        assert_string_equal(token_state("race", "erin"), "valid");
        cv_token_lease_free(old);
        cv_token_lease_free(fresh);
        old = fresh = NULL;

        /* Overtaken while the other's refresh is still running: the same. */
        assert_int_equal(cv_token_refresh_begin(slow, "race", "erin", 7200, 1, &old, &t), 1);
        usleep(1300 * 1000);
        assert_int_equal(cv_token_refresh_begin(fast, "race", "erin", 7200, 0, &fresh, &t), 1);
        assert_int_equal(cv_token_refresh_fail(slow, "race", "erin", old, "invalid_grant"), 0);
        assert_int_equal(cv_token_refresh_commit(slow, "race", "erin", old,
                                                 "{\"access_token\":\"slow\",\"token_type\":\"Bearer\"}", NULL),
                         -EEXIST);
        assert_string_equal(token_state("race", "erin"), "refreshing");
        assert_int_equal(cv_token_refresh_commit(fast, "race", "erin", fresh,
                                                 "{\"access_token\":\"at-2\",\"token_type\":\"Bearer\","
                                                 "\"expires_in\":3600,\"refresh_token\":\"rt-2\"}",
                                                 NULL),
                         0);
        assert_int_equal(cv_token_get(c, "race", "erin", &t), 0);
        assert_string_equal(t->access_token, "at-2");
        cv_token_free(t);
        cv_token_lease_free(old);
        cv_token_lease_free(fresh);
        old = fresh = NULL;

        /* A new put (the user authorized again) overtakes a lease too. */
        assert_int_equal(cv_token_refresh_begin(slow, "race", "erin", 7200, 0, &old, &t), 1);
        put_expiring("race", "erin", 3600, "at-user", "rt-user");
        assert_int_equal(cv_token_refresh_commit(slow, "race", "erin", old,
                                                 "{\"access_token\":\"slow\",\"token_type\":\"Bearer\"}", NULL),
                         -EEXIST);
        assert_int_equal(cv_token_refresh_fail(slow, "race", "erin", old, "invalid_grant"), 0);
        assert_int_equal(cv_token_get(c, "race", "erin", &t), 0);
        assert_string_equal(t->refresh_token, "rt-user");
        cv_token_free(t);
        cv_token_lease_free(old);

        cv_client_free(slow);
        cv_client_free(fast);
}

/* ---- the race ---- */

#define N_WORKERS 16
#define RUN_SECONDS 10
#define EXPIRES_IN 2
#define PROVIDER_LATENCY_MS 50
#define RETRY_MAX_MS 100
#define REFRESHES_MAX 256

/* The fake provider and the workers' reports, in memory shared across
 * fork(). */
typedef struct Shared {
        pthread_mutex_t lock;
        int64_t generation; /* rt-<generation> is the one valid refresh token */
        int64_t refreshes;
        int64_t lost; /* refreshes asked with an outdated refresh token */
        int64_t refresh_ms[REFRESHES_MAX];
        int64_t start_ms, end_ms;
        /* per worker */
        int64_t commits[N_WORKERS];
        int64_t already[N_WORKERS];
        int64_t fresh_from_begin[N_WORKERS];
        int64_t gets[N_WORKERS];
        int failures[N_WORKERS];
        char what[N_WORKERS][200];
} Shared;

static int64_t monotonic_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The provider's token endpoint: grant_type=refresh_token. Rotates the
 * refresh token and rejects a reused one (RFC 6819 §5.2.2.3). Returns 0
 * and the response JSON, or -1 for invalid_grant. */
static int provider_refresh(Shared *s, const char *refresh_token, char *ret_response, size_t size) {
        int64_t n = -1;
        int r;

        sleep_ms(PROVIDER_LATENCY_MS); /* the network */
        pthread_mutex_lock(&s->lock);
        if (sscanf(refresh_token, "rt-%" SCNd64, &n) != 1 || n != s->generation) {
                s->lost++;
                r = -1;
        } else {
                n = ++s->generation;
                if (s->refreshes < REFRESHES_MAX)
                        s->refresh_ms[s->refreshes] = monotonic_ms();
                s->refreshes++;
                snprintf(ret_response, size,
                         "{\"access_token\":\"at-%" PRId64 "\",\"token_type\":\"Bearer\",\"expires_in\":%d,"
                         "\"refresh_token\":\"rt-%" PRId64 "\",\"scope\":\"read\"}",
                         n, EXPIRES_IN, n);
                r = 0;
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

static int64_t provider_generation(Shared *s) {
        pthread_mutex_lock(&s->lock);
        int64_t g = s->generation;
        pthread_mutex_unlock(&s->lock);
        return g;
}

#define WORKER_FAIL(...)                                                                                               \
        do {                                                                                                           \
                if (!s->failures[index]++)                                                                             \
                        snprintf(s->what[index], sizeof(s->what[index]), __VA_ARGS__);                                 \
        } while (0)

/* A token handed out must be the provider's current or previous one: the
 * previous when a refresh landed between the answer and this check. */
static void check_token(Shared *s, int index, const CvToken *t) {
        int64_t n = -1, g = provider_generation(s);
        if (sscanf(t->access_token, "at-%" SCNd64, &n) != 1 || (n != g && n != g - 1))
                WORKER_FAIL("got access token %s while the provider is at %" PRId64, t->access_token, g);
}

static void retry_wait(CvClient *w) {
        int64_t ms = cv_client_retry_after_ms(w);
        sleep_ms(ms <= 0 ? 1 : ms > RETRY_MAX_MS ? RETRY_MAX_MS : ms);
}

static void worker_run(Shared *s, int index, const char *socket_path) {
        CvClient *w = NULL;
        char response[256];

        if (cv_client_new(socket_path, 5000, &w) < 0) {
                WORKER_FAIL("cannot connect");
                return;
        }
        while (monotonic_ms() < s->end_ms) {
                CvToken *t = NULL;
                CvTokenLease *lease = NULL;
                int r = cv_token_get_valid(w, "race16", "shared-user", 1, &t);
                if (r == 0) {
                        check_token(s, index, t);
                        cv_token_free(t);
                        s->gets[index]++;
                        sleep_ms(2);
                        continue;
                }
                if (r == -EALREADY) {
                        s->already[index]++;
                        retry_wait(w);
                        continue;
                }
                if (r != -ESTALE) {
                        WORKER_FAIL("token.get: %d %s", r, cv_client_error_message(w));
                        break;
                }

                r = cv_token_refresh_begin(w, "race16", "shared-user", 1, 0, &lease, &t);
                if (r == 1) {
                        if (provider_refresh(s, lease->refresh_token, response, sizeof(response)) < 0) {
                                WORKER_FAIL("provider refused refresh token %s", lease->refresh_token);
                                cv_token_refresh_fail(w, "race16", "shared-user", lease, "invalid_grant");
                        } else {
                                int64_t version = 0;
                                r = cv_token_refresh_commit(w, "race16", "shared-user", lease, response, &version);
                                if (r < 0)
                                        WORKER_FAIL("commit: %d %s", r, cv_client_error_message(w));
                                else
                                        s->commits[index]++;
                        }
                        cv_token_lease_free(lease);
                } else if (r == 0) {
                        s->fresh_from_begin[index]++;
                        check_token(s, index, t);
                        cv_token_free(t);
                } else if (r == -EALREADY) {
                        s->already[index]++;
                        retry_wait(w);
                } else {
                        WORKER_FAIL("refresh_begin: %d %s", r, cv_client_error_message(w));
                        break;
                }
        }
        cv_client_free(w);
}

static void test_sixteen_processes_one_token_set(void **state) {
        (void) state;
        Shared *s = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        pthread_mutexattr_t attr;
        pid_t pids[N_WORKERS];

        assert_true(s != MAP_FAILED);
        memset(s, 0, sizeof(*s));
        assert_int_equal(pthread_mutexattr_init(&attr), 0);
        assert_int_equal(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), 0);
        assert_int_equal(pthread_mutex_init(&s->lock, &attr), 0);
        pthread_mutexattr_destroy(&attr);

        /* Generation 0, as the user's authorization left it. */
        char initial[256];
        snprintf(initial, sizeof(initial),
                 "{\"access_token\":\"at-0\",\"token_type\":\"Bearer\",\"expires_in\":%d,\"refresh_token\":\"rt-0\"}",
                 EXPIRES_IN);
        s->start_ms = monotonic_ms();
        s->end_ms = s->start_ms + RUN_SECONDS * 1000;
        assert_int_equal(cv_token_put_response(c, "race16", "shared-user", initial, NULL), 0);

        for (int i = 0; i < N_WORKERS; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        worker_run(s, i, h.socket_path);
                        _exit(s->failures[i] ? 1 : 0);
                }
        }
        int n_exited_badly = 0;
        for (int i = 0; i < N_WORKERS; i++) {
                int status = 0;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        n_exited_badly++;
        }
        int64_t elapsed_ms = monotonic_ms() - s->start_ms;

        int64_t commits = 0, already = 0, gets = 0, fresh = 0;
        int waited = 0;
        for (int i = 0; i < N_WORKERS; i++) {
                if (s->failures[i])
                        print_error("worker %d: %d failures, first: %s\n", i, s->failures[i], s->what[i]);
                commits += s->commits[i];
                already += s->already[i];
                gets += s->gets[i];
                fresh += s->fresh_from_begin[i];
                waited += s->already[i] > 0;
        }
        print_message("%" PRId64 " ms: %" PRId64 " refreshes, %" PRId64 " lost refresh tokens, %" PRId64
                      " commits, %" PRId64 " valid gets, %" PRId64 " fresh from begin, %" PRId64
                      " refresh_in_progress seen by %d workers\n",
                      elapsed_ms, s->refreshes, s->lost, commits, gets, fresh, already, waited);
        for (int64_t i = 1; i < s->refreshes && i < REFRESHES_MAX; i++)
                print_message("  refresh %" PRId64 " at +%" PRId64 " ms (gap %" PRId64 " ms)\n", i,
                              s->refresh_ms[i] - s->start_ms, s->refresh_ms[i] - s->refresh_ms[i - 1]);

        assert_int_equal(n_exited_badly, 0);
        /* The provider never saw an outdated refresh token. */
        assert_int_equal(s->lost, 0);
        /* Every refresh was committed, exactly one per expiry. */
        assert_int_equal(commits, s->refreshes);
        int64_t expected = RUN_SECONDS / EXPIRES_IN;
        if (s->refreshes < expected - 2 || s->refreshes > expected + 2)
                fail_msg("%" PRId64 " refreshes in %d s of %d s tokens", s->refreshes, RUN_SECONDS, EXPIRES_IN);
        /* No two refreshes in the same expiry window: the first comes no
         * sooner than 1 s after the initial put, every next one at least
         * 1 s after the one before. */
        assert_true(s->refreshes > 0);
        assert_true(s->refresh_ms[0] - s->start_ms >= 1000 - 50);
        for (int64_t i = 1; i < s->refreshes && i < REFRESHES_MAX; i++)
                if (s->refresh_ms[i] - s->refresh_ms[i - 1] < 1000)
                        fail_msg("refreshes %" PRId64 " and %" PRId64 " only %" PRId64 " ms apart", i - 1, i,
                                 s->refresh_ms[i] - s->refresh_ms[i - 1]);
        /* The losers really waited. */
        assert_true(waited >= 1);
        assert_true(gets > 0);

        /* The vault ends with the provider's current refresh token: read
         * it through a lease (then release it). */
        CvTokenLease *lease = NULL;
        CvToken *t = NULL;
        char want[32];
        snprintf(want, sizeof(want), "rt-%" PRId64, s->generation);
        assert_int_equal(cv_token_refresh_begin(c, "race16", "shared-user", 3600, 0, &lease, &t), 1);
        assert_string_equal(lease->refresh_token, want);
        assert_int_equal(lease->version, 1 + s->refreshes);
        assert_int_equal(cv_token_refresh_fail(c, "race16", "shared-user", lease, "temporarily_unavailable"), 0);
        cv_token_lease_free(lease);
        assert_string_not_equal(token_state("race16", "shared-user"), "reauth_required");

        pthread_mutex_destroy(&s->lock);
        munmap(s, sizeof(Shared));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_response_ingestion),
                cmocka_unit_test(test_huge_expires_in),
                cmocka_unit_test(test_stale_and_lease),
                cmocka_unit_test(test_invalid_grant_revokes),
                cmocka_unit_test(test_overtaken_lease),
                cmocka_unit_test(test_late_commit_kept),
                cmocka_unit_test(test_sixteen_processes_one_token_set),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
