/* test-store-cache.c — daemon/store/store-cache.c: records read while the
 * database is held exclusively, remembered.
 *
 * Shows, through the store's API after store_lock_exclusive(): a put, a
 * delete or a plugin's delete_all never leaves a stale record, and the two
 * kinds stay apart; a rolled-back write leaves the committed record, also
 * when the record was read inside the transaction after the write; a
 * token set's refresh state follows every lease and state change, a
 * rolled-back one included; a cached read returns the row's metadata as
 * the database does; records too big to cache, names longer than any
 * name, and more records than slots (so slots are shared) all read back
 * right after overwrites. */
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

/* A store with KEK rows, held exclusively: its reads are cached. */
static int setup_locked(void **state) {
        if (setup_store(state) < 0)
                return -1;
        Fixture *f = *state;
        return store_lock_exclusive(f->store) < 0 ? -1 : 0;
}

static void test_cache_never_stale(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        PluginRemoved removed;

        put_record(s, RECORD_SECRET, "p", "a", 1, 100, "one");
        assert_sealed(s, RECORD_SECRET, "p", "a", "one"); /* now cached */
        assert_sealed(s, RECORD_SECRET, "p", "a", "one");
        put_record(s, RECORD_SECRET, "p", "a", 2, 101, "two");
        assert_sealed(s, RECORD_SECRET, "p", "a", "two");
        /* The kinds are apart in the cache too. */
        put_record(s, RECORD_TOKEN, "p", "a", 1, 100, "token");
        put_record(s, RECORD_APIKEY, "p", "a", 1, 100, "apikey");
        assert_sealed(s, RECORD_TOKEN, "p", "a", "token");
        assert_sealed(s, RECORD_APIKEY, "p", "a", "apikey");
        assert_sealed(s, RECORD_SECRET, "p", "a", "two");
        assert_int_equal(store_record_delete(s, RECORD_TOKEN, "p", "a"), 0);
        assert_sealed(s, RECORD_TOKEN, "p", "a", NULL);
        assert_sealed(s, RECORD_SECRET, "p", "a", "two");
        assert_sealed(s, RECORD_APIKEY, "p", "a", "apikey");

        /* A rolled-back write leaves the committed value readable. */
        assert_int_equal(store_begin(s), 0);
        put_record(s, RECORD_SECRET, "p", "a", 3, 102, "three");
        store_rollback(s);
        assert_sealed(s, RECORD_SECRET, "p", "a", "two");

        assert_int_equal(store_record_delete(s, RECORD_SECRET, "p", "a"), 0);
        assert_sealed(s, RECORD_SECRET, "p", "a", NULL);
        /* A miss is not remembered as absent. */
        put_record(s, RECORD_SECRET, "p", "a", 1, 103, "again");
        assert_sealed(s, RECORD_SECRET, "p", "a", "again");

        put_record(s, RECORD_SECRET, "q", "b", 1, 100, "bee");
        put_record(s, RECORD_TOKEN, "q", "u", 1, 100, "tee");
        assert_sealed(s, RECORD_SECRET, "q", "b", "bee");
        assert_sealed(s, RECORD_TOKEN, "q", "u", "tee");
        assert_int_equal(store_plugin_delete_all(s, "q", &removed), 0);
        assert_sealed(s, RECORD_SECRET, "q", "b", NULL);
        assert_sealed(s, RECORD_TOKEN, "q", "u", NULL);
        assert_sealed(s, RECORD_SECRET, "p", "a", "again");
}

/* Read inside the transaction that wrote it, then rolled back: what is
 * read afterwards is the committed record, not the one rolled back. */
static void test_rolled_back_after_read(void **state) {
        Fixture *f = *state;
        Store *s = f->store;

        put_record(s, RECORD_SECRET, "p", "a", 1, 100, "committed");
        assert_sealed(s, RECORD_SECRET, "p", "a", "committed");

        assert_int_equal(store_begin(s), 0);
        put_record(s, RECORD_SECRET, "p", "a", 2, 101, "rolled-back");
        assert_sealed(s, RECORD_SECRET, "p", "a", "rolled-back"); /* inside: the new one */
        store_rollback(s);
        assert_sealed(s, RECORD_SECRET, "p", "a", "committed");

        /* A new record, read inside, rolled back: absent again. */
        assert_int_equal(store_begin(s), 0);
        put_record(s, RECORD_SECRET, "p", "new", 1, 101, "rolled-back");
        assert_sealed(s, RECORD_SECRET, "p", "new", "rolled-back");
        store_rollback(s);
        assert_sealed(s, RECORD_SECRET, "p", "new", NULL);

        /* A delete rolled back: present again. */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_record_delete(s, RECORD_SECRET, "p", "a"), 0);
        assert_sealed(s, RECORD_SECRET, "p", "a", NULL);
        store_rollback(s);
        assert_sealed(s, RECORD_SECRET, "p", "a", "committed");

        /* A plugin's delete_all rolled back. */
        PluginRemoved removed;
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_plugin_delete_all(s, "p", &removed), 0);
        assert_sealed(s, RECORD_SECRET, "p", "a", NULL);
        store_rollback(s);
        assert_sealed(s, RECORD_SECRET, "p", "a", "committed");

        /* And a committed one is what it says. */
        assert_int_equal(store_begin(s), 0);
        put_record(s, RECORD_SECRET, "p", "a", 2, 102, "second");
        assert_sealed(s, RECORD_SECRET, "p", "a", "second");
        assert_int_equal(store_commit(s), 0);
        assert_sealed(s, RECORD_SECRET, "p", "a", "second");
}

/* A token set's refresh state is cached with its record, and follows every
 * lease and state change, a rolled-back one included. */
static void test_token_state_cache(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        TokenState st;

        put_record(s, RECORD_TOKEN, "p", "u", 1, 100, "sealed");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, "");
        assert_int_equal(store_token_lease_set(s, "p", "u", LEASE_1, 5000, 1, NULL), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, LEASE_1);
        assert_int_equal(st.lease_until, 5000);

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_token_release(s, "p", "u", true, NULL), 0);
        store_rollback(s);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_false(st.reauth_required);
        assert_int_equal(st.lease_until, 5000);

        assert_int_equal(store_token_release(s, "p", "u", true, NULL), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_true(st.reauth_required);
        assert_string_equal(st.lease_id, "");

        put_record(s, RECORD_TOKEN, "p", "u", 2, 101, "sealed2");
        assert_int_equal(store_token_reset(s, "p", "u", NULL), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_false(st.reauth_required);
        assert_int_equal(st.version, 2);
        assert_int_equal(store_record_delete(s, RECORD_TOKEN, "p", "u"), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), -ENOENT);
}

/* The record and the state of one token set share a slot: changing one
 * leaves the other right. */
static void test_token_state_and_record(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        TokenState st;

        put_record(s, RECORD_TOKEN, "p", "u", 1, 100, "v1");
        assert_sealed(s, RECORD_TOKEN, "p", "u", "v1");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_int_equal(store_token_lease_set(s, "p", "u", LEASE_1, 5000, 1, NULL), 0);
        assert_sealed(s, RECORD_TOKEN, "p", "u", "v1");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, LEASE_1);
        put_record(s, RECORD_TOKEN, "p", "u", 2, 101, "v2");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_int_equal(st.version, 2);
        assert_string_equal(st.lease_id, LEASE_1); /* the put keeps the lease */
        assert_sealed(s, RECORD_TOKEN, "p", "u", "v2");
        assert_int_equal(store_token_reset(s, "p", "u", NULL), 0);
        assert_sealed(s, RECORD_TOKEN, "p", "u", "v2");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, "");
}

/* A lease set inside a transaction and read there, then rolled back: the
 * committed state (no lease) is what is read afterwards. */
static void test_token_state_rolled_back_after_read(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        TokenState st;

        put_record(s, RECORD_TOKEN, "p", "u", 1, 100, "sealed");
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_token_lease_set(s, "p", "u", LEASE_1, 5000, 1, NULL), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, LEASE_1); /* inside: the lease */
        store_rollback(s);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_string_equal(st.lease_id, "");
        assert_int_equal(st.lease_until, 0);

        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_token_release(s, "p", "u", true, NULL), 0);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_true(st.reauth_required);
        store_rollback(s);
        assert_int_equal(store_token_state_get(s, "p", "u", &st), 0);
        assert_false(st.reauth_required);
}

/* A cached read gives what a read from the database gives. */
static void test_cached_metadata(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        StoredRecord first = {}, second = {};

        StoredRecord rec = { .version = 7,
                             .kek_version = 2,
                             .sealed = (uint8_t *) "\x00\x01\x02\x03",
                             .sealed_size = 4,
                             .updated_at = 1234,
                             .has_expires_at = true,
                             .expires_at = 99999 };
        assert_int_equal(store_record_put(s, RECORD_TOKEN, "p", "u", &rec), 0);
        assert_int_equal(store_record_get(s, RECORD_TOKEN, "p", "u", &first), 0);
        assert_int_equal(store_record_get(s, RECORD_TOKEN, "p", "u", &second), 0);
        assert_ptr_not_equal(first.sealed, second.sealed); /* each caller its own copy */
        for (StoredRecord *g = &first; g; g = g == &first ? &second : NULL) {
                assert_int_equal(g->version, 7);
                assert_int_equal(g->kek_version, 2);
                assert_int_equal(g->created_at, 1234);
                assert_int_equal(g->updated_at, 1234);
                assert_true(g->has_expires_at);
                assert_int_equal(g->expires_at, 99999);
                assert_int_equal(g->sealed_size, 4);
                assert_memory_equal(g->sealed, "\x00\x01\x02\x03", 4);
                assert_null(g->plugin);
                assert_null(g->name);
        }
        /* Freeing one copy leaves the cache's. */
        stored_record_done(&first);
        stored_record_done(&second);
        assert_int_equal(store_record_get(s, RECORD_TOKEN, "p", "u", &first), 0);
        assert_memory_equal(first.sealed, "\x00\x01\x02\x03", 4);
        stored_record_done(&first);
}

/* Bigger than the cache takes, and names longer than any name: read from
 * SQLite, right through overwrites. */
static void test_uncacheable(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        static char big[3][8192];
        char long_plugin[NAME_SIZE_MAX + 10], long_name[USER_ID_SIZE_MAX + 10];

        for (int i = 0; i < 3; i++) {
                memset(big[i], 'a' + i, sizeof(big[i]) - 1);
                big[i][sizeof(big[i]) - 1] = 0;
        }
        big[2][4096] = 0; /* 4096 bytes: the largest the cache takes */
        put_record(s, RECORD_SECRET, "p", "big", 1, 1, big[0]);
        assert_sealed(s, RECORD_SECRET, "p", "big", big[0]);
        put_record(s, RECORD_SECRET, "p", "big", 2, 2, big[1]);
        assert_sealed(s, RECORD_SECRET, "p", "big", big[1]);
        put_record(s, RECORD_SECRET, "p", "big", 3, 3, big[2]); /* small enough now */
        assert_sealed(s, RECORD_SECRET, "p", "big", big[2]);
        put_record(s, RECORD_SECRET, "p", "big", 4, 4, big[0]);
        assert_sealed(s, RECORD_SECRET, "p", "big", big[0]);

        memset(long_plugin, 'p', sizeof(long_plugin) - 1);
        long_plugin[sizeof(long_plugin) - 1] = 0;
        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        put_record(s, RECORD_SECRET, long_plugin, "n", 1, 1, "one");
        put_record(s, RECORD_TOKEN, "p", long_name, 1, 1, "one");
        assert_sealed(s, RECORD_SECRET, long_plugin, "n", "one");
        assert_sealed(s, RECORD_TOKEN, "p", long_name, "one");
        TokenState st;
        assert_int_equal(store_token_state_get(s, "p", long_name, &st), 0);
        put_record(s, RECORD_SECRET, long_plugin, "n", 2, 2, "two");
        put_record(s, RECORD_TOKEN, "p", long_name, 2, 2, "two");
        assert_int_equal(store_token_lease_set(s, "p", long_name, LEASE_1, 77, 2, NULL), 0);
        assert_sealed(s, RECORD_SECRET, long_plugin, "n", "two");
        assert_sealed(s, RECORD_TOKEN, "p", long_name, "two");
        assert_int_equal(store_token_state_get(s, "p", long_name, &st), 0);
        assert_int_equal(st.lease_until, 77);
}

/* More records than slots: slots are shared, every record still reads as
 * its own, through an overwrite of half of them. */
static void test_many_records(void **state) {
        Fixture *f = *state;
        Store *s = f->store;
        char name[32], value[48];
        const int n = 3000;

        assert_int_equal(store_begin(s), 0);
        for (int i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "name-%d", i);
                snprintf(value, sizeof(value), "value-%d", i);
                put_record(s, i % 2 ? RECORD_SECRET : RECORD_TOKEN, "p", name, 1, 1, value);
        }
        assert_int_equal(store_commit(s), 0);
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < n; i++) {
                        snprintf(name, sizeof(name), "name-%d", i);
                        snprintf(value, sizeof(value), "value-%d%s", i, round > 0 && i % 3 == 0 ? "-new" : "");
                        assert_sealed(s, i % 2 ? RECORD_SECRET : RECORD_TOKEN, "p", name, value);
                        assert_sealed(s, i % 2 ? RECORD_TOKEN : RECORD_SECRET, "p", name, NULL);
                }
                if (round == 0)
                        for (int i = 0; i < n; i += 3) {
                                snprintf(name, sizeof(name), "name-%d", i);
                                snprintf(value, sizeof(value), "value-%d-new", i);
                                put_record(s, i % 2 ? RECORD_SECRET : RECORD_TOKEN, "p", name, 2, 2, value);
                        }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cache_never_stale, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_rolled_back_after_read, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_token_state_cache, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_token_state_and_record, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_token_state_rolled_back_after_read, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_cached_metadata, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_uncacheable, setup_locked, teardown),
                cmocka_unit_test_setup_teardown(test_many_records, setup_locked, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
