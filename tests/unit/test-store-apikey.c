/* test-store-apikey.c — daemon/store/store-apikey.c: the API key lookup
 * index.
 *
 * Shows: an indexed hash finds its user, and only in its plugin; an
 * unknown hash is -ENOENT; the same hash for another user of the plugin is
 * -EEXIST and leaves the first user's entry (and the transaction) usable;
 * the same hash in another plugin is another entry; a user's new key
 * replaces the old one's entry; deleting the user's API key record drops
 * its index row (the trigger), overwriting the record does not; the index
 * is in the file (a reopened store finds it), and holds the hash, user and
 * plugin only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-sql.h"
#include "unit-store.h"

static uint8_t hash_a[APIKEY_LOOKUP_SIZE], hash_b[APIKEY_LOOKUP_SIZE], hash_c[APIKEY_LOOKUP_SIZE];

/* The API key record and its index entry, in one transaction as the vault
 * writes them. */
static int put_key(Store *s, const char *plugin, const char *user, const uint8_t hash[static APIKEY_LOOKUP_SIZE]) {
        int64_t version = 0;
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_record_version(s, RECORD_APIKEY, plugin, user, &version), 0);
        put_record(s, RECORD_APIKEY, plugin, user, version + 1, 1, "sealed-key");
        int r = store_apikey_index_put(s, plugin, user, hash);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        assert_int_equal(store_commit(s), 0);
        return 0;
}

static void assert_finds(Store *s, const char *plugin, const uint8_t hash[static APIKEY_LOOKUP_SIZE],
                         const char *want) {
        char *user = NULL;
        int r = store_apikey_index_find(s, plugin, hash, &user);
        if (!want) {
                if (r != -ENOENT)
                        fail_msg("%s: want -ENOENT, got %d (%s)", plugin, r, r == 0 ? user : "");
                free(user);
                return;
        }
        if (r != 0)
                fail_msg("%s: want %s, got %d", plugin, want, r);
        assert_string_equal(user, want);
        free(user);
}

static void test_put_find(void **state) {
        Fixture *f = *state;

        assert_finds(f->store, "p", hash_a, NULL);
        assert_int_equal(put_key(f->store, "p", "alice", hash_a), 0);
        assert_int_equal(put_key(f->store, "p", "bob", hash_b), 0);
        assert_finds(f->store, "p", hash_a, "alice");
        assert_finds(f->store, "p", hash_b, "bob");
        assert_finds(f->store, "p", hash_c, NULL);
        /* Only in its plugin. */
        assert_finds(f->store, "q", hash_a, NULL);
        assert_finds(f->store, "P", hash_a, NULL);
        /* One byte off is another hash. */
        uint8_t near[APIKEY_LOOKUP_SIZE];
        memcpy(near, hash_a, sizeof(near));
        near[APIKEY_LOOKUP_SIZE - 1] ^= 1;
        assert_finds(f->store, "p", near, NULL);

        /* In the file: a reopened store finds them. */
        assert_int_equal(fixture_reopen(f), 0);
        assert_finds(f->store, "p", hash_a, "alice");
        assert_finds(f->store, "p", hash_b, "bob");
        /* Only the hash, the plugin and the user are indexed. */
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM apikey_lookup"), 2);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM pragma_table_info('apikey_lookup')"), 3);
        assert_int_equal(sql_file_int(f->db_path, "SELECT min(length(lookup)) = 32 AND max(length(lookup)) = 32 "
                                                  "FROM apikey_lookup"),
                         1);
}

static void test_same_key_other_user(void **state) {
        Fixture *f = *state;

        assert_int_equal(put_key(f->store, "p", "alice", hash_a), 0);
        /* Inside one transaction: the failed put does not end it. */
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_apikey_index_put(f->store, "p", "mallory", hash_a), -EEXIST);
        assert_int_equal(store_apikey_index_put(f->store, "p", "bob", hash_b), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_finds(f->store, "p", hash_a, "alice");
        assert_finds(f->store, "p", hash_b, "bob");
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM apikey_lookup WHERE user = 'mallory'"), 0);

        /* The same user storing the same key again is no conflict. */
        assert_int_equal(put_key(f->store, "p", "alice", hash_a), 0);
        assert_finds(f->store, "p", hash_a, "alice");

        /* The same hash in another plugin is another entry. */
        assert_int_equal(put_key(f->store, "q", "mallory", hash_a), 0);
        assert_finds(f->store, "q", hash_a, "mallory");
        assert_finds(f->store, "p", hash_a, "alice");
}

static void test_new_key_replaces_old(void **state) {
        Fixture *f = *state;

        assert_int_equal(put_key(f->store, "p", "alice", hash_a), 0);
        assert_int_equal(put_key(f->store, "p", "alice", hash_c), 0);
        assert_finds(f->store, "p", hash_c, "alice");
        assert_finds(f->store, "p", hash_a, NULL);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM apikey_lookup WHERE user = 'alice'"), 1);
        /* The old hash is free for someone else now. */
        assert_int_equal(put_key(f->store, "p", "bob", hash_a), 0);
        assert_finds(f->store, "p", hash_a, "bob");
}

/* The index row goes with the key: the trigger on apikey. */
static void test_delete_drops_index(void **state) {
        Fixture *f = *state;

        assert_int_equal(put_key(f->store, "p", "alice", hash_a), 0);
        assert_int_equal(put_key(f->store, "p", "bob", hash_b), 0);
        assert_int_equal(put_key(f->store, "q", "alice", hash_c), 0);

        /* Overwriting the record keeps the entry (an update, not a delete). */
        put_record(f->store, RECORD_APIKEY, "p", "alice", 2, 2, "sealed-key-2");
        assert_finds(f->store, "p", hash_a, "alice");

        /* A secret or a token set of the same name is another record. */
        put_record(f->store, RECORD_SECRET, "p", "alice", 1, 1, "x");
        put_record(f->store, RECORD_TOKEN, "p", "alice", 1, 1, "x");
        assert_int_equal(store_record_delete(f->store, RECORD_SECRET, "p", "alice"), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_TOKEN, "p", "alice"), 0);
        assert_finds(f->store, "p", hash_a, "alice");

        assert_int_equal(store_record_delete(f->store, RECORD_APIKEY, "p", "alice"), 0);
        assert_finds(f->store, "p", hash_a, NULL);
        assert_finds(f->store, "p", hash_b, "bob");
        assert_finds(f->store, "q", hash_c, "alice");
        assert_int_equal(store_record_delete(f->store, RECORD_APIKEY, "p", "alice"), -ENOENT);

        /* A rolled-back delete keeps both. */
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_record_delete(f->store, RECORD_APIKEY, "p", "bob"), 0);
        assert_finds(f->store, "p", hash_b, NULL);
        store_rollback(f->store);
        assert_finds(f->store, "p", hash_b, "bob");
        assert_sealed(f->store, RECORD_APIKEY, "p", "bob", "sealed-key");
}

int main(void) {
        memset(hash_a, 0xa1, sizeof(hash_a));
        memset(hash_b, 0xb2, sizeof(hash_b));
        for (size_t i = 0; i < sizeof(hash_c); i++)
                hash_c[i] = (uint8_t) (i * 7);

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_find, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_same_key_other_user, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_new_key_replaces_old, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_delete_drops_index, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
