/* test-store-plugin.c — daemon/store/store-plugin.c: registered plugins and
 * removing a plugin whole.
 *
 * Shows: a plugin row round-trips every field (domain may be NULL) and an
 * update keeps created_at; an auth type outside the schema's list is
 * refused; list is in name order and pages with the after cursor;
 * store_plugin_delete_all() removes the registration and every secret,
 * token set and API key (with its index row) of that plugin and of no
 * other, counts each, and is -ENOENT when there was nothing; the row's
 * MAC is kept as the opaque bytes given (none is NULL, and a blob of
 * another size is reported with its size), returned by get and list,
 * replaced alone by store_plugin_mac_set() (-ENOENT without a row);
 * migration 3 fills auth_scheme from a version-2 database's auth blocks,
 * and migration 4 adds the MAC column, NULL in the rows it finds;
 * store_secret_names() matches a prefix literally (no LIKE wildcards) in
 * order; the per-plugin counts count; store_is_empty() is true only while
 * no secret, token set, API key, index row or plugin row is there (KEK and
 * meta rows do not count). (The scheme secret.verify reads is
 * remembered by the vault, from checked rows: test-vault-credential.c.) */
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

static const uint8_t lookup_a[APIKEY_LOOKUP_SIZE] = { 0xaa, 1 };

static StoredPlugin plugin_row(const char *name, AuthScheme scheme, int64_t version, int64_t updated_at) {
        return (StoredPlugin) {
                .name = (char *) name,
                .domain = (char *) "api.example.com",
                .auth_type = (char *) "service_http",
                .auth_public = (char *) "{\"type\":\"service_http\"}",
                .scheme = scheme,
                .version = version,
                .updated_at = updated_at,
        };
}

/* The scheme of the plugin's row. */
static AuthScheme scheme_of(Store *s, const char *name) {
        StoredPlugin got = {};
        assert_int_equal(store_plugin_get(s, name, &got), 0);
        AuthScheme scheme = got.scheme;
        stored_plugin_done(&got);
        return scheme;
}

static RecordMac mac_of(uint8_t fill) {
        RecordMac m = { .size = RECORD_MAC_SIZE };
        memset(m.bytes, fill, sizeof(m.bytes));
        return m;
}

static void test_put_get(void **state) {
        Fixture *f = *state;
        StoredPlugin got = {};

        assert_int_equal(store_plugin_get(f->store, "todo", &got), -ENOENT);

        StoredPlugin p = {
                .name = (char *) "todo",
                .domain = (char *) "todo.example.com",
                .auth_type = (char *) "oauth",
                .auth_public = (char *) "{\"type\":\"oauth\",\"client_url\":\"https://todo.example.com/auth\"}",
                .scheme = AUTH_SCHEME_BASIC,
                .version = 1,
                .updated_at = 1000,
        };
        assert_int_equal(store_plugin_put(f->store, &p), 0);
        assert_int_equal(store_plugin_get(f->store, "todo", &got), 0);
        assert_string_equal(got.name, "todo");
        assert_string_equal(got.domain, "todo.example.com");
        assert_string_equal(got.auth_type, "oauth");
        assert_string_equal(got.auth_public, p.auth_public);
        assert_int_equal(got.scheme, AUTH_SCHEME_BASIC);
        assert_int_equal(got.version, 1);
        assert_int_equal(got.created_at, 1000);
        assert_int_equal(got.updated_at, 1000);
        stored_plugin_done(&got);

        /* An update: every field replaced but created_at; no domain. */
        p = (StoredPlugin) {
                .name = (char *) "todo",
                .auth_type = (char *) "none",
                .auth_public = (char *) "{\"type\":\"none\"}",
                .scheme = AUTH_SCHEME_BEARER,
                .version = 2,
                .updated_at = 2000,
        };
        assert_int_equal(store_plugin_put(f->store, &p), 0);
        assert_int_equal(store_plugin_get(f->store, "todo", &got), 0);
        assert_null(got.domain);
        assert_string_equal(got.auth_type, "none");
        assert_string_equal(got.auth_public, "{\"type\":\"none\"}");
        assert_int_equal(got.scheme, AUTH_SCHEME_BEARER);
        assert_int_equal(got.version, 2);
        assert_int_equal(got.created_at, 1000);
        assert_int_equal(got.updated_at, 2000);
        stored_plugin_done(&got);

        /* Names are exact: no prefix, no case folding. */
        assert_int_equal(store_plugin_get(f->store, "tod", &got), -ENOENT);
        assert_int_equal(store_plugin_get(f->store, "TODO", &got), -ENOENT);

        /* After a reopen, still there. */
        assert_int_equal(fixture_reopen(f), 0);
        assert_int_equal(store_plugin_get(f->store, "todo", &got), 0);
        assert_int_equal(got.version, 2);
        stored_plugin_done(&got);
}

static void test_put_checked_by_schema(void **state) {
        Fixture *f = *state;
        StoredPlugin got = {};

        StoredPlugin p = plugin_row("p", AUTH_SCHEME_BEARER, 1, 1);
        p.auth_type = (char *) "kerberos";
        assert_true(store_plugin_put(f->store, &p) < 0);
        p = plugin_row("p", AUTH_SCHEME_BEARER, 0, 1); /* versions start at 1 */
        assert_true(store_plugin_put(f->store, &p) < 0);
        assert_int_equal(store_plugin_get(f->store, "p", &got), -ENOENT);
        /* The statement is reusable after a failure. */
        p = plugin_row("p", AUTH_SCHEME_BEARER, 1, 1);
        assert_int_equal(store_plugin_put(f->store, &p), 0);
        assert_int_equal(store_plugin_get(f->store, "p", &got), 0);
        stored_plugin_done(&got);
}

static void test_list(void **state) {
        Fixture *f = *state;
        static const char *const sorted[] = { "A", "B", "a", "a.b", "ab", "b", "todo", "todo2" };
        const size_t n_sorted = ELEMENTSOF(sorted);
        StoredPlugin *items = NULL;
        size_t n = 0;

        assert_int_equal(store_plugin_list(f->store, NULL, 10, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_plugins_free(items, n);

        for (size_t i = 0; i < n_sorted; i++) {
                size_t j = (i * 3 + 1) % n_sorted; /* 3 is coprime with 8 */
                StoredPlugin p =
                        plugin_row(sorted[j], j % 2 ? AUTH_SCHEME_BASIC : AUTH_SCHEME_BEARER, 1, (int64_t) (100 + j));
                assert_int_equal(store_plugin_put(f->store, &p), 0);
        }
        assert_int_equal(store_plugin_list(f->store, NULL, 100, &items, &n), 0);
        assert_int_equal(n, n_sorted);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].name, sorted[i]);
                assert_int_equal(items[i].updated_at, 100 + (int64_t) i);
                assert_int_equal(items[i].scheme, i % 2 ? AUTH_SCHEME_BASIC : AUTH_SCHEME_BEARER);
                assert_string_equal(items[i].auth_type, "service_http");
        }
        stored_plugins_free(items, n);

        /* Every page size walks them all, once, in order. */
        for (unsigned limit = 1; limit <= 3; limit++) {
                char after[64] = "";
                size_t seen = 0;
                for (;;) {
                        assert_int_equal(store_plugin_list(f->store, after, limit, &items, &n), 0);
                        assert_true(n <= limit);
                        for (size_t i = 0; i < n; i++, seen++) {
                                assert_true(seen < n_sorted);
                                assert_string_equal(items[i].name, sorted[seen]);
                        }
                        if (n > 0)
                                snprintf(after, sizeof(after), "%s", items[n - 1].name);
                        stored_plugins_free(items, n);
                        if (n < limit)
                                break;
                }
                assert_int_equal(seen, n_sorted);
        }

        /* A cursor between names. */
        assert_int_equal(store_plugin_list(f->store, "a.a", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].name, "a.b");
        assert_string_equal(items[1].name, "ab");
        stored_plugins_free(items, n);
        assert_int_equal(store_plugin_list(f->store, "todo2", 2, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_plugins_free(items, n);
        assert_int_equal(store_plugin_list(f->store, NULL, 0, &items, &n), 0);
        assert_int_equal(n, 0);
        stored_plugins_free(items, n);
}

static void put_apikey(Store *s, const char *plugin, const char *user, const uint8_t lookup[static 32]) {
        put_record(s, RECORD_APIKEY, plugin, user, 1, 1, "sealed-key");
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_apikey_index_put(s, plugin, user, lookup), 0);
        assert_int_equal(store_commit(s), 0);
}

static int64_t count_plugin(Store *s, RecordKind kind, const char *plugin) {
        int64_t n = -1;
        assert_int_equal(store_record_count_plugin(s, kind, plugin, &n), 0);
        return n;
}

/* Everything of "p"; "p2" and "p.x" (names that start the same) and a
 * registered "q" hold things too. */
static void fill(Store *s) {
        StoredPlugin p = plugin_row("p", AUTH_SCHEME_BASIC, 1, 1), q = plugin_row("q", AUTH_SCHEME_BEARER, 1, 1);
        uint8_t other[APIKEY_LOOKUP_SIZE] = { 0xbb };

        assert_int_equal(store_plugin_put(s, &p), 0);
        assert_int_equal(store_plugin_put(s, &q), 0);
        put_record(s, RECORD_SECRET, "p", "client_id", 1, 1, "s1");
        put_record(s, RECORD_SECRET, "p", "client_secret", 1, 1, "s2");
        put_record(s, RECORD_SECRET, "p", "verification_token:openai", 1, 1, "s3");
        put_record(s, RECORD_TOKEN, "p", "u1", 1, 1, "t1");
        put_record(s, RECORD_TOKEN, "p", "u2", 1, 1, "t2");
        put_apikey(s, "p", "u1", lookup_a);
        put_record(s, RECORD_SECRET, "p2", "client_id", 1, 1, "x");
        put_record(s, RECORD_TOKEN, "p.x", "u1", 1, 1, "x");
        put_apikey(s, "p2", "u1", lookup_a);
        put_apikey(s, "q", "u9", other);
}

static void assert_others_intact(Store *s) {
        StoredPlugin got = {};
        char *user = NULL;
        uint8_t other[APIKEY_LOOKUP_SIZE] = { 0xbb };

        assert_sealed(s, RECORD_SECRET, "p2", "client_id", "x");
        assert_sealed(s, RECORD_TOKEN, "p.x", "u1", "x");
        assert_sealed(s, RECORD_APIKEY, "p2", "u1", "sealed-key");
        assert_int_equal(store_apikey_index_find(s, "p2", lookup_a, &user), 0);
        assert_string_equal(user, "u1");
        free(user);
        assert_int_equal(store_apikey_index_find(s, "q", other, &user), 0);
        assert_string_equal(user, "u9");
        free(user);
        assert_int_equal(store_plugin_get(s, "q", &got), 0);
        stored_plugin_done(&got);
}

static void test_delete_all(void **state) {
        Fixture *f = *state;
        PluginRemoved removed = { .secrets = -1 };
        StoredPlugin got = {};
        char *user = NULL;

        fill(f->store);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p"), 3);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p"), 2);
        assert_int_equal(count_plugin(f->store, RECORD_APIKEY, "p"), 1);

        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_plugin_delete_all(f->store, "p", &removed), 0);
        assert_int_equal(store_commit(f->store), 0);
        assert_true(removed.registered);
        assert_int_equal(removed.secrets, 3);
        assert_int_equal(removed.tokens, 2);
        assert_int_equal(removed.apikeys, 1);

        assert_int_equal(store_plugin_get(f->store, "p", &got), -ENOENT);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p"), 0);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p"), 0);
        assert_int_equal(count_plugin(f->store, RECORD_APIKEY, "p"), 0);
        assert_sealed(f->store, RECORD_SECRET, "p", "client_id", NULL);
        assert_sealed(f->store, RECORD_TOKEN, "p", "u1", NULL);
        /* The index row went with the key. */
        assert_int_equal(store_apikey_index_find(f->store, "p", lookup_a, &user), -ENOENT);
        assert_others_intact(f->store);

        /* Nothing left: -ENOENT, and nothing else touched. */
        assert_int_equal(store_plugin_delete_all(f->store, "p", &removed), -ENOENT);
        assert_int_equal(store_plugin_delete_all(f->store, "never", &removed), -ENOENT);
        assert_others_intact(f->store);

        /* Not registered but holding records: removed, registered false. */
        removed = (PluginRemoved) { .registered = true };
        assert_int_equal(store_plugin_delete_all(f->store, "p.x", &removed), 0);
        assert_false(removed.registered);
        assert_int_equal(removed.secrets, 0);
        assert_int_equal(removed.tokens, 1);
        assert_int_equal(removed.apikeys, 0);

        /* Registered and holding nothing: removed, all counts zero. */
        removed = (PluginRemoved) { .secrets = -1 };
        StoredPlugin bare = plugin_row("bare", AUTH_SCHEME_BEARER, 1, 1);
        assert_int_equal(store_plugin_put(f->store, &bare), 0);
        assert_int_equal(store_plugin_delete_all(f->store, "bare", &removed), 0);
        assert_true(removed.registered);
        assert_int_equal(removed.secrets + removed.tokens + removed.apikeys, 0);
        assert_int_equal(store_plugin_get(f->store, "bare", &got), -ENOENT);
}

/* Rolled back, a delete_all removed nothing. */
static void test_delete_all_rolled_back(void **state) {
        Fixture *f = *state;
        PluginRemoved removed;
        StoredPlugin got = {};

        fill(f->store);
        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_plugin_delete_all(f->store, "p", &removed), 0);
        store_rollback(f->store);
        assert_int_equal(store_plugin_get(f->store, "p", &got), 0);
        stored_plugin_done(&got);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p"), 3);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p"), 2);
        assert_int_equal(count_plugin(f->store, RECORD_APIKEY, "p"), 1);
        assert_int_equal(scheme_of(f->store, "p"), AUTH_SCHEME_BASIC);
}

/* The MAC is opaque bytes beside the row: kept, returned, replaced. */
static void test_mac_kept(void **state) {
        Fixture *f = *state;
        StoredPlugin got = {}, *items = NULL;
        size_t n = 0;

        StoredPlugin p = plugin_row("svc", AUTH_SCHEME_BASIC, 1, 100);
        p.mac = mac_of(0xa5);
        assert_int_equal(store_plugin_put(f->store, &p), 0);
        assert_int_equal(store_plugin_get(f->store, "svc", &got), 0);
        assert_int_equal(got.mac.size, RECORD_MAC_SIZE);
        assert_memory_equal(got.mac.bytes, p.mac.bytes, RECORD_MAC_SIZE);
        stored_plugin_done(&got);
        assert_int_equal(store_plugin_list(f->store, NULL, 10, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_memory_equal(items[0].mac.bytes, p.mac.bytes, RECORD_MAC_SIZE);
        stored_plugins_free(items, n);

        /* An update replaces it; none is NULL in the file. */
        p = plugin_row("svc", AUTH_SCHEME_BASIC, 2, 101);
        assert_int_equal(store_plugin_put(f->store, &p), 0);
        assert_int_equal(sql_file_int(f->db_path, "SELECT mac IS NULL FROM plugin WHERE name = 'svc'"), 1);
        assert_int_equal(store_plugin_get(f->store, "svc", &got), 0);
        assert_int_equal(got.mac.size, 0);
        stored_plugin_done(&got);

        /* Replaced alone. */
        RecordMac m = mac_of(0x3c);
        assert_int_equal(store_plugin_mac_set(f->store, "svc", &m), 0);
        assert_int_equal(store_plugin_get(f->store, "svc", &got), 0);
        assert_memory_equal(got.mac.bytes, m.bytes, RECORD_MAC_SIZE);
        assert_int_equal(got.version, 2);
        assert_int_equal(got.updated_at, 101);
        stored_plugin_done(&got);
        assert_int_equal(store_plugin_mac_set(f->store, "nobody", &m), -ENOENT);

        /* What someone else wrote is reported as it is, by its size. */
        assert_int_equal(sql_exec(f->db_path, "UPDATE plugin SET mac = zeroblob(33)"), 1);
        assert_int_equal(store_plugin_get(f->store, "svc", &got), 0);
        assert_int_equal(got.mac.size, 33);
        stored_plugin_done(&got);
        assert_int_equal(sql_exec(f->db_path, "UPDATE plugin SET mac = x'0102'"), 1);
        assert_int_equal(store_plugin_get(f->store, "svc", &got), 0);
        assert_int_equal(got.mac.size, 2);
        assert_int_equal(got.mac.bytes[1], 2);
        stored_plugin_done(&got);
}

/* A version-2 database (no auth_scheme column) whose plugins were
 * registered with basic, bearer and no authorization_type: migration 3
 * adds the column from the auth blocks. */
static void test_migration_3_backfill(void **state) {
        Fixture *f = *state;
        StoredPlugin got = {};

        assert_int_equal(fixture_open_store(f), 0);
        fixture_close_db(f);
        /* Back to schema 2, as an older credvaultd left it. */
        sql_exec(f->db_path, SQL_UNDO_SCHEMA_9 "ALTER TABLE plugin DROP COLUMN mac; ALTER TABLE token DROP COLUMN mac; "
                                               "DROP TABLE audit; DROP TABLE audit_anchor; "
                                               "ALTER TABLE plugin DROP COLUMN auth_scheme; PRAGMA user_version = 2;");
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM pragma_table_info('plugin') "
                                                  "WHERE name = 'auth_scheme'"),
                         0);
        sql_exec(f->db_path,
                 "INSERT INTO plugin(name, domain, auth_type, auth_public, version, created_at, updated_at) VALUES"
                 " ('basic', NULL, 'service_http', '{\"type\":\"service_http\",\"authorization_type\":\"basic\"}', "
                 "1, 10, 10),"
                 " ('bearer', NULL, 'user_http', '{\"type\":\"user_http\",\"authorization_type\":\"bearer\"}', "
                 "1, 10, 10),"
                 " ('none', NULL, 'none', '{\"type\":\"none\"}', 1, 10, 10),"
                 " ('nested', NULL, 'oauth', '{\"type\":\"oauth\",\"x\":{\"authorization_type\":\"basic\"}}', "
                 "1, 10, 10),"
                 /* not JSON (a damaged row): the migration must not stop on it */
                 " ('broken', NULL, 'none', 'not json', 1, 10, 10)");

        assert_int_equal(store_open(f->db_path, &f->store), 0);
        assert_int_equal(store_schema_version(f->store), 2);
        assert_int_equal(store_migrate(f->store), 0);
        assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);

        assert_int_equal(scheme_of(f->store, "basic"), AUTH_SCHEME_BASIC);
        assert_int_equal(scheme_of(f->store, "bearer"), AUTH_SCHEME_BEARER);
        assert_int_equal(scheme_of(f->store, "none"), AUTH_SCHEME_BEARER);
        assert_int_equal(scheme_of(f->store, "nested"), AUTH_SCHEME_BEARER);
        assert_int_equal(scheme_of(f->store, "broken"), AUTH_SCHEME_BEARER);
        assert_int_equal(store_plugin_get(f->store, "basic", &got), 0);
        assert_int_equal(got.scheme, AUTH_SCHEME_BASIC);
        assert_int_equal(got.created_at, 10);
        stored_plugin_done(&got);
        /* The rows are otherwise as they were. */
        assert_int_equal(store_plugin_get(f->store, "bearer", &got), 0);
        assert_string_equal(got.auth_public, "{\"type\":\"user_http\",\"authorization_type\":\"bearer\"}");
        assert_int_equal(got.scheme, AUTH_SCHEME_BEARER);
        /* Migration 4: no MAC yet (the vault makes them). */
        assert_int_equal(got.mac.size, 0);
        stored_plugin_done(&got);
}

static void test_secret_names(void **state) {
        Fixture *f = *state;
        char **names = NULL;
        size_t n = 0;

        put_record(f->store, RECORD_SECRET, "p", "verification_token:zeta", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "p", "verification_token:openai", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "p", "verification_token:", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "p", "verificationXtoken:like", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "p", "verification_token", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "p", "client_secret", 1, 1, "x");
        put_record(f->store, RECORD_SECRET, "q", "verification_token:other", 1, 1, "x");
        put_record(f->store, RECORD_TOKEN, "p", "verification_token:user", 1, 1, "x");

        assert_int_equal(store_secret_names(f->store, "p", "verification_token:", &names, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(names[0], "verification_token:");
        assert_string_equal(names[1], "verification_token:openai");
        assert_string_equal(names[2], "verification_token:zeta");
        record_names_free(names, n);

        /* LIKE's wildcards are plain characters here. */
        assert_int_equal(store_secret_names(f->store, "p", "verification%", &names, &n), 0);
        assert_int_equal(n, 0);
        record_names_free(names, n);
        assert_int_equal(store_secret_names(f->store, "p", "verificatio_", &names, &n), 0);
        assert_int_equal(n, 0);
        record_names_free(names, n);

        /* The empty prefix: every secret of the plugin, in order. */
        assert_int_equal(store_secret_names(f->store, "p", "", &names, &n), 0);
        assert_int_equal(n, 6);
        assert_string_equal(names[0], "client_secret");
        assert_string_equal(names[1], "verificationXtoken:like"); /* 'X' < '_' */
        assert_string_equal(names[2], "verification_token");
        assert_string_equal(names[5], "verification_token:zeta");
        record_names_free(names, n);
        assert_int_equal(store_secret_names(f->store, "none", "", &names, &n), 0);
        assert_int_equal(n, 0);
        record_names_free(names, n);
}

static void test_count_plugin(void **state) {
        Fixture *f = *state;

        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p"), 0);
        fill(f->store);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p"), 3);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p"), 2);
        assert_int_equal(count_plugin(f->store, RECORD_APIKEY, "p"), 1);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "p2"), 1);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p2"), 0);
        assert_int_equal(count_plugin(f->store, RECORD_TOKEN, "p.x"), 1);
        assert_int_equal(count_plugin(f->store, RECORD_APIKEY, "q"), 1);
        assert_int_equal(count_plugin(f->store, RECORD_SECRET, "P"), 0);
}

static void assert_empty(Store *s, bool want) {
        bool empty = !want;
        assert_int_equal(store_is_empty(s, &empty), 0);
        assert_int_equal(empty, want);
}

static void test_is_empty(void **state) {
        Fixture *f = *state;
        static const char *const rows[] = {
                "INSERT INTO secret(plugin, name, version, kek_version, sealed, created_at, updated_at) "
                "VALUES('p', 'n', 1, 1, x'00', 1, 1)",
                "INSERT INTO token(plugin, name, version, kek_version, sealed, created_at, updated_at) "
                "VALUES('p', 'n', 1, 1, x'00', 1, 1)",
                "INSERT INTO apikey(plugin, name, version, kek_version, sealed, created_at, updated_at) "
                "VALUES('p', 'n', 1, 1, x'00', 1, 1)",
                "INSERT INTO apikey_lookup(plugin, lookup, user) VALUES('p', x'00', 'u')",
                "INSERT INTO plugin(name, auth_type, auth_public, version, created_at, updated_at) "
                "VALUES('p', 'none', '{}', 1, 1, 1)",
        };

        /* KEK rows (the fixture's) and meta rows are not records. */
        assert_int_equal(store_meta_set(f->store, "key_check", (const uint8_t *) "x", 1), 0);
        assert_empty(f->store, true);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                assert_int_equal(sql_exec(f->db_path, rows[i]), 1);
                assert_empty(f->store, false);
                sql_exec(f->db_path, "DELETE FROM apikey_lookup; DELETE FROM apikey; DELETE FROM token; "
                                     "DELETE FROM secret; DELETE FROM plugin");
                assert_empty(f->store, true);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_get, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_put_checked_by_schema, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_delete_all, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_delete_all_rolled_back, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_mac_kept, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_migration_3_backfill, setup_empty, teardown),
                cmocka_unit_test_setup_teardown(test_secret_names, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_count_plugin, setup_store, teardown),
                cmocka_unit_test_setup_teardown(test_is_empty, setup_store, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
