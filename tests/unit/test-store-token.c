/* test-store-token.c — daemon/store/store-token.c: a token set's refresh
 * state and lease.
 *
 * Shows: a user without a token set has no state (-ENOENT); a stored set
 * is valid with no lease, and its version and expiry show in the state;
 * a lease set shows its id, deadline and the version it was taken on, and
 * a second one replaces it; reset makes the set valid with no lease;
 * release drops the lease and marks reauth_required as asked; a put does
 * not reset the state (that is the caller's reset); deleting the set drops
 * its state; list is in user order within one plugin, pages with the after
 * cursor and carries the metadata and state; stats give each set exactly
 * one state (reauth_required before refreshing before expired before
 * expiring), counted for one plugin. Each state writer stores the MAC it
 * is given (NULL: none) as opaque bytes, which state_get (cached or not)
 * and list return with the whole state; store_token_mac_set() replaces
 * only the MAC (-ENOENT without a set); store_token_foreach() walks every
 * set of every plugin in order and stops at a negative return.
 * Everything holds after a reopen. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-store.h"

#define LEASE_1 "0123456789abcdef0123456789abcdef"
#define LEASE_2 "fedcba9876543210fedcba9876543210"

/* A token set of KEK 1; expires_at < 0: none. */
static void put_token(Store *s, const char *plugin, const char *user, int64_t version, int64_t updated_at,
                      int64_t expires_at) {
        StoredRecord rec = {
                .version = version,
                .kek_version = 1,
                .sealed = (uint8_t *) "sealed",
                .sealed_size = 6,
                .updated_at = updated_at,
                .has_expires_at = expires_at >= 0,
                .expires_at = expires_at,
        };
        assert_int_equal(store_record_put(s, RECORD_TOKEN, plugin, user, &rec), 0);
}

static TokenState state_of(Store *s, const char *plugin, const char *user) {
        TokenState st;
        memset(&st, 0x5a, sizeof(st));
        int r = store_token_state_get(s, plugin, user, &st);
        if (r != 0)
                fail_msg("state of %s/%s: %d", plugin, user, r);
        return st;
}

static void assert_valid_no_lease(const TokenState *st) {
        assert_false(st->reauth_required);
        assert_string_equal(st->lease_id, "");
        assert_int_equal(st->lease_until, 0);
        assert_int_equal(st->lease_version, 0);
}

static void test_state_of_stored_set(void **state) {
        Fixture *f = *state;
        TokenState st;

        assert_int_equal(store_token_state_get(f->store, "p", "u", &st), -ENOENT);
        /* A secret of that name is not a token set. */
        put_record(f->store, RECORD_SECRET, "p", "u", 1, 1, "x");
        assert_int_equal(store_token_state_get(f->store, "p", "u", &st), -ENOENT);

        put_token(f->store, "p", "u", 3, 100, 5000);
        st = state_of(f->store, "p", "u");
        assert_int_equal(st.version, 3);
        assert_true(st.has_expires_at);
        assert_int_equal(st.expires_at, 5000);
        assert_valid_no_lease(&st);

        put_token(f->store, "p", "never", 1, 100, -1);
        st = state_of(f->store, "p", "never");
        assert_int_equal(st.version, 1);
        assert_false(st.has_expires_at);
        assert_valid_no_lease(&st);

        /* Another plugin's user of the same name has none. */
        assert_int_equal(store_token_state_get(f->store, "q", "u", &st), -ENOENT);
}

static void test_lease(void **state) {
        Fixture *f = *state;
        TokenState st;

        put_token(f->store, "p", "u", 4, 100, 5000);
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_1, 1700000000123, 4, NULL), 0);
        st = state_of(f->store, "p", "u");
        assert_string_equal(st.lease_id, LEASE_1);
        assert_int_equal(st.lease_until, 1700000000123);
        assert_int_equal(st.lease_version, 4);
        assert_false(st.reauth_required);
        assert_int_equal(st.version, 4);

        /* Taken over: the new lease replaces the old. */
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_2, 1700000030000, 4, NULL), 0);
        st = state_of(f->store, "p", "u");
        assert_string_equal(st.lease_id, LEASE_2);
        assert_int_equal(st.lease_until, 1700000030000);

        /* Durable: a reopened store sees it. */
        assert_int_equal(fixture_reopen(f), 0);
        st = state_of(f->store, "p", "u");
        assert_string_equal(st.lease_id, LEASE_2);
        assert_int_equal(st.lease_version, 4);

        /* The set moved on under the lease: the lease still says 4. */
        put_token(f->store, "p", "u", 5, 101, 6000);
        st = state_of(f->store, "p", "u");
        assert_int_equal(st.version, 5);
        assert_int_equal(st.lease_version, 4);
        assert_string_equal(st.lease_id, LEASE_2);

        /* Another user's set is untouched. */
        put_token(f->store, "p", "v", 1, 100, 5000);
        assert_valid_no_lease((TokenState[]) { state_of(f->store, "p", "v") });
}

static void test_reset_and_release(void **state) {
        Fixture *f = *state;
        TokenState st;

        put_token(f->store, "p", "u", 2, 100, 5000);
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_1, 9000, 2, NULL), 0);
        assert_int_equal(store_token_reset(f->store, "p", "u", NULL), 0);
        st = state_of(f->store, "p", "u");
        assert_valid_no_lease(&st);
        assert_int_equal(st.version, 2);

        /* Released without invalid_grant: valid, no lease. */
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_1, 9000, 2, NULL), 0);
        assert_int_equal(store_token_release(f->store, "p", "u", false, NULL), 0);
        assert_valid_no_lease((TokenState[]) { state_of(f->store, "p", "u") });

        /* Released with it: reauth_required, no lease. */
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_1, 9000, 2, NULL), 0);
        assert_int_equal(store_token_release(f->store, "p", "u", true, NULL), 0);
        st = state_of(f->store, "p", "u");
        assert_true(st.reauth_required);
        assert_string_equal(st.lease_id, "");
        assert_int_equal(st.lease_until, 0);

        /* A put alone does not clear it: the caller resets. */
        put_token(f->store, "p", "u", 3, 101, 7000);
        st = state_of(f->store, "p", "u");
        assert_true(st.reauth_required);
        assert_int_equal(st.version, 3);
        assert_int_equal(store_token_reset(f->store, "p", "u", NULL), 0);
        assert_valid_no_lease((TokenState[]) { state_of(f->store, "p", "u") });

        /* Deleted and stored again: a fresh set, valid. */
        assert_int_equal(store_token_release(f->store, "p", "u", true, NULL), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "p", "u"), 0);
        assert_int_equal(store_token_state_get(f->store, "p", "u", &st), -ENOENT);
        put_token(f->store, "p", "u", 1, 102, -1);
        st = state_of(f->store, "p", "u");
        assert_valid_no_lease(&st);
        assert_int_equal(st.version, 1);
}

static void test_list(void **state) {
        Fixture *f = *state;
        static const char *const users[] = { "Bob", "alice", "alice@example.com", "bob", "carol", "z" };
        const size_t n_users = ELEMENTSOF(users);
        TokenInfo *items = NULL;
        size_t n = 0;

        assert_int_equal(store_token_list(f->store, "p", NULL, 10, &items, &n), 0);
        assert_int_equal(n, 0);
        token_infos_free(items, n);

        for (size_t i = 0; i < n_users; i++) {
                size_t j = (i * 5 + 2) % n_users; /* 5 is coprime with 6 */
                put_token(f->store, "p", users[j], (int64_t) j + 1, (int64_t) (100 + j),
                          j % 2 ? -1 : (int64_t) (1000 + j));
        }
        put_token(f->store, "q", "alice", 1, 1, -1);
        put_token(f->store, "p.q", "alice", 1, 1, -1);
        put_record(f->store, RECORD_SECRET, "p", "secret-not-user", 1, 1, "x");
        assert_int_equal(store_token_release(f->store, "p", "bob", true, NULL), 0);
        assert_int_equal(store_token_lease_set(f->store, "p", "carol", LEASE_1, 4242, 5, NULL), 0);

        assert_int_equal(store_token_list(f->store, "p", NULL, 100, &items, &n), 0);
        assert_int_equal(n, n_users);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].user, users[i]);
                assert_int_equal(items[i].state.version, (int64_t) i + 1);
                assert_int_equal(items[i].created_at, 100 + (int64_t) i);
                assert_int_equal(items[i].updated_at, 100 + (int64_t) i);
                assert_int_equal(items[i].state.has_expires_at, i % 2 == 0);
                if (i % 2 == 0)
                        assert_int_equal(items[i].state.expires_at, 1000 + (int64_t) i);
                assert_int_equal(items[i].state.reauth_required, strcmp(users[i], "bob") == 0);
                assert_int_equal(items[i].state.lease_until, strcmp(users[i], "carol") == 0 ? 4242 : 0);
        }
        token_infos_free(items, n);

        /* Pages: every size walks them all, once, in order. */
        for (unsigned limit = 1; limit <= 4; limit++) {
                char after[64] = "";
                size_t seen = 0;
                for (;;) {
                        assert_int_equal(store_token_list(f->store, "p", after, limit, &items, &n), 0);
                        assert_true(n <= limit);
                        for (size_t i = 0; i < n; i++, seen++) {
                                assert_true(seen < n_users);
                                assert_string_equal(items[i].user, users[seen]);
                        }
                        if (n > 0)
                                snprintf(after, sizeof(after), "%s", items[n - 1].user);
                        token_infos_free(items, n);
                        if (n < limit)
                                break;
                }
                assert_int_equal(seen, n_users);
        }
        /* A cursor between users. */
        assert_int_equal(store_token_list(f->store, "p", "alice@", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].user, "alice@example.com");
        assert_string_equal(items[1].user, "bob");
        token_infos_free(items, n);

        assert_int_equal(store_token_list(f->store, "q", NULL, 100, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(items[0].user, "alice");
        token_infos_free(items, n);
}

static void assert_stats(Store *s, const char *plugin, int64_t now, int64_t horizon, int64_t now_ms, TokenStats want) {
        TokenStats got;
        memset(&got, 0x5a, sizeof(got));
        assert_int_equal(store_token_stats(s, plugin, now, horizon, now_ms, &got), 0);
        if (memcmp(&got, &want, sizeof(got)) != 0)
                fail_msg("%s stats: total %lld expired %lld expiring %lld reauth %lld refreshing %lld; "
                         "want %lld %lld %lld %lld %lld",
                         plugin, (long long) got.total, (long long) got.expired, (long long) got.expiring,
                         (long long) got.reauth_required, (long long) got.refreshing, (long long) want.total,
                         (long long) want.expired, (long long) want.expiring, (long long) want.reauth_required,
                         (long long) want.refreshing);
}

static void test_stats(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        const int64_t now = 1000, horizon = 100, now_ms = 1000000;

        assert_stats(s, "p", now, horizon, now_ms, (TokenStats) {});

        put_token(s, "p", "expired-before", 1, 1, 900);
        put_token(s, "p", "expired-now", 1, 1, 1000); /* expires_at <= now */
        put_token(s, "p", "expiring", 1, 1, 1050);
        put_token(s, "p", "expiring-edge", 1, 1, 1100); /* <= now + horizon */
        put_token(s, "p", "valid", 1, 1, 1101);
        put_token(s, "p", "valid-forever", 1, 1, -1);
        put_token(s, "p", "reauth", 1, 1, 900);
        assert_int_equal(store_token_release(s, "p", "reauth", true, NULL), 0);
        put_token(s, "p", "refreshing", 1, 1, 900);
        assert_int_equal(store_token_lease_set(s, "p", "refreshing", LEASE_1, now_ms + 1, 1, NULL), 0);
        /* A lease whose deadline is now is no longer held. */
        put_token(s, "p", "lease-lapsed", 1, 1, 1050);
        assert_int_equal(store_token_lease_set(s, "p", "lease-lapsed", LEASE_1, now_ms, 1, NULL), 0);
        /* Reauth required and leased (a lease taken on a revoked set):
         * reauth_required comes first. */
        put_token(s, "p", "reauth-leased", 1, 1, -1);
        assert_int_equal(store_token_release(s, "p", "reauth-leased", true, NULL), 0);
        assert_int_equal(store_token_lease_set(s, "p", "reauth-leased", LEASE_2, now_ms + 5000, 1, NULL), 0);
        /* Another plugin's sets do not count. */
        put_token(s, "q", "expired", 1, 1, 1);
        put_token(s, "p2", "expired", 1, 1, 1);

        assert_stats(s, "p", now, horizon, now_ms,
                     (TokenStats) { .total = 10, .expired = 2, .expiring = 3, .reauth_required = 2, .refreshing = 1 });
        assert_stats(s, "q", now, horizon, now_ms, (TokenStats) { .total = 1, .expired = 1 });
        /* No horizon: nothing is expiring. */
        assert_stats(s, "p", now, 0, now_ms,
                     (TokenStats) { .total = 10, .expired = 2, .reauth_required = 2, .refreshing = 1 });
        /* Later: the lease has lapsed, and more has expired. */
        assert_stats(s, "p", 1100, horizon, now_ms + 10000,
                     (TokenStats) { .total = 10, .expired = 6, .expiring = 1, .reauth_required = 2 });
}

static RecordMac mac_of(uint8_t fill) {
        RecordMac m = { .size = RECORD_MAC_SIZE };
        memset(m.bytes, fill, sizeof(m.bytes));
        return m;
}

static void assert_mac(const RecordMac *got, const RecordMac *want) {
        assert_int_equal(got->size, want ? want->size : 0);
        if (want)
                assert_memory_equal(got->bytes, want->bytes, want->size);
}

static void test_mac_kept(void **state) {
        Fixture *f = *state;
        RecordMac m1 = mac_of(1), m2 = mac_of(2), m3 = mac_of(3), m4 = mac_of(4);
        TokenInfo *items = NULL;
        size_t n = 0;

        /* A new set has none (the vault's reset gives it one). */
        put_token(f->store, "p", "u", 1, 100, 5000);
        assert_mac(&((TokenState[]) { state_of(f->store, "p", "u") })[0].mac, NULL);
        assert_int_equal(store_token_reset(f->store, "p", "u", &m1), 0);
        assert_mac(&((TokenState[]) { state_of(f->store, "p", "u") })[0].mac, &m1);

        /* Each writer stores its own, with the state, past the cache. */
        assert_int_equal(store_lock_exclusive(f->store), 0);
        assert_int_equal(store_token_lease_set(f->store, "p", "u", LEASE_1, 9000, 1, &m2), 0);
        TokenState st = state_of(f->store, "p", "u");
        assert_mac(&st.mac, &m2);
        st = state_of(f->store, "p", "u"); /* cached: the same */
        assert_mac(&st.mac, &m2);
        assert_string_equal(st.lease_id, LEASE_1);
        assert_int_equal(store_token_release(f->store, "p", "u", true, &m3), 0);
        assert_mac(&((TokenState[]) { state_of(f->store, "p", "u") })[0].mac, &m3);

        /* Only the MAC. */
        assert_int_equal(store_token_mac_set(f->store, "p", "u", &m4), 0);
        st = state_of(f->store, "p", "u");
        assert_mac(&st.mac, &m4);
        assert_true(st.reauth_required);
        assert_int_equal(st.version, 1);
        assert_int_equal(store_token_mac_set(f->store, "p", "nobody", &m4), -ENOENT);

        /* list carries the whole state and the MAC. */
        put_token(f->store, "p", "v", 7, 100, -1);
        assert_int_equal(store_token_lease_set(f->store, "p", "v", LEASE_2, 4242, 7, &m1), 0);
        assert_int_equal(store_token_list(f->store, "p", NULL, 10, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_mac(&items[0].state.mac, &m4);
        assert_string_equal(items[0].state.lease_id, "");
        assert_int_equal(items[0].state.lease_version, 0);
        assert_mac(&items[1].state.mac, &m1);
        assert_string_equal(items[1].state.lease_id, LEASE_2);
        assert_int_equal(items[1].state.lease_until, 4242);
        assert_int_equal(items[1].state.lease_version, 7);
        token_infos_free(items, n);

        /* NULL writes none. */
        assert_int_equal(store_token_reset(f->store, "p", "v", NULL), 0);
        assert_mac(&((TokenState[]) { state_of(f->store, "p", "v") })[0].mac, NULL);
        assert_int_equal(fixture_reopen(f), 0);
        assert_mac(&((TokenState[]) { state_of(f->store, "p", "u") })[0].mac, &m4);
}

typedef struct Walk {
        char seen[8][32];
        int64_t versions[8];
        size_t n;
        size_t stop_after;
} Walk;

static int walk_one(const char *plugin, const char *user, const TokenState *st, void *userdata) {
        Walk *w = userdata;
        if (w->n == w->stop_after)
                return -ECANCELED;
        assert_true(w->n < ELEMENTSOF(w->seen));
        snprintf(w->seen[w->n], sizeof(w->seen[w->n]), "%s/%s", plugin, user);
        w->versions[w->n++] = st->version;
        return 0;
}

static void test_foreach(void **state) {
        Fixture *f = *state;
        Walk w = { .stop_after = SIZE_MAX };

        assert_int_equal(store_token_foreach(f->store, walk_one, &w), 0);
        assert_int_equal(w.n, 0);
        put_token(f->store, "q", "a", 3, 1, -1);
        put_token(f->store, "p", "b", 2, 1, 10);
        put_token(f->store, "p", "a", 1, 1, -1);
        put_record(f->store, RECORD_SECRET, "p", "c", 1, 1, "x");
        assert_int_equal(store_token_foreach(f->store, walk_one, &w), 0);
        assert_int_equal(w.n, 3);
        assert_string_equal(w.seen[0], "p/a");
        assert_string_equal(w.seen[1], "p/b");
        assert_string_equal(w.seen[2], "q/a");
        assert_int_equal(w.versions[1], 2);
        assert_int_equal(w.versions[2], 3);

        /* A negative return stops the walk and is returned. */
        w = (Walk) { .stop_after = 1 };
        assert_int_equal(store_token_foreach(f->store, walk_one, &w), -ECANCELED);
        assert_int_equal(w.n, 1);
        /* And the statement is reusable. */
        w = (Walk) { .stop_after = SIZE_MAX };
        assert_int_equal(store_token_foreach(f->store, walk_one, &w), 0);
        assert_int_equal(w.n, 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_state_of_stored_set, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_lease, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_reset_and_release, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_stats, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_mac_kept, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_foreach, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
