/* test-vault-revocation.c — daemon/vault/vault-revocation.c and
 * daemon/store/store-revocation.c: token sets pending RFC 7009
 * revocation.
 *
 * Shows, through vault.h (and the file, read or altered while the vault
 * is closed): a delete queues the set only where the plugin has the
 * revocation_endpoint secret, and is a delete like any other otherwise;
 * the queued row is the token row's sealed bytes as they were (no token
 * in the file as text), listed in id order and paged; begin opens it as
 * the deleted set and hands out the refresh token, else the access token,
 * counting the attempt and holding the row off a minute; end without an
 * error drops it, with one backs it off from 30 s doubling to an hour and
 * gives it up at the tenth attempt, counted (across a reopen) and
 * audited; a row 7 days old is given up by the next write; ids of another
 * plugin are -ENOENT; a plugin's removal drops its rows; a KEK rotation's
 * rewrap moves the rows, the old KEK retires, and they still open; a
 * whole-vault verify opens them too. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "request.h"
#include "unit-sql.h"
#include "unit-vault.h"

#define P "idp"
#define ENDPOINT "https://idp.example/revoke"

static void configure(Vault *v, const char *plugin) {
        assert_int_equal(vault_secret_put(v, plugin, VAULT_REVOCATION_SECRET, (const uint8_t *) ENDPOINT,
                                          strlen(ENDPOINT), NULL),
                         0);
}

static void put_set(Vault *v, const char *plugin, const char *user, const char *text) {
        char err[ERROR_MESSAGE_SIZE_MAX];
        json_t *j = json_quote(text);
        assert_int_equal(request_check_token_response(j, err, sizeof(err)), 0);
        assert_int_equal(vault_token_put(v, plugin, user, j, NULL), 0);
        json_decref(j);
}

static void put_rt(Vault *v, const char *plugin, const char *user) {
        put_set(v, plugin, user,
                "{'access_token':'at-canary-1','token_type':'Bearer','expires_in':3600,'refresh_token':'rt-canary-1'}");
}

/* The plugin's rows (at most 16), metadata only. */
static size_t list(Vault *v, const char *plugin, StoredRevocation **ret) {
        size_t n = 0;
        assert_int_equal(vault_revocation_list(v, plugin, 0, 16, ret, &n), 0);
        return n;
}

static int64_t only_id(Vault *v, const char *plugin) {
        StoredRevocation *rows = NULL;
        assert_int_equal(list(v, plugin, &rows), 1);
        int64_t id = rows[0].id;
        stored_revocations_free(rows, 1);
        return id;
}

/* Make the row due now, as the time after a begin's hold or a back-off. */
static void make_due(VaultFixture *f, int64_t id) {
        char sql[128];
        vault_fixture_close_db(f);
        snprintf(sql, sizeof(sql), "UPDATE token_revocation SET next_at = 0 WHERE id = %lld", (long long) id);
        assert_int_equal(sql_exec(f->db_path, sql), 1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
}

static void begin_expect(Vault *v, const char *plugin, int64_t id, const char *token, const char *hint) {
        int64_t retry_ms = 0;
        SecretBuf *t = NULL;
        const char *h = NULL;
        char *user = NULL;
        assert_int_equal(vault_revocation_begin(v, plugin, id, NULL, &t, &h, &user, &retry_ms), 0);
        assert_secret_equal(t, token, strlen(token));
        assert_string_equal(h, hint);
        assert_non_null(user);
        secret_buf_free(t);
        free(user);
}

static void test_delete_queues_where_configured(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRevocation *rows = NULL;
        bool pending = true;

        /* No endpoint: a plain delete. */
        put_rt(v, P, "alice");
        assert_int_equal(vault_token_delete_revoking(v, P, "alice", NULL, &pending), 0);
        assert_false(pending);
        assert_int_equal(list(v, P, &rows), 0);
        free(rows);
        assert_int_equal(vault_token_delete_revoking(v, P, "alice", NULL, &pending), -ENOENT);

        configure(v, P);
        assert_int_equal(vault_token_delete_revoking(v, P, "nobody", NULL, &pending), -ENOENT);
        put_rt(v, P, "alice");
        put_set(v, P, "bob", "{'access_token':'at-canary-2','token_type':'Bearer'}");
        int64_t t0 = now_s(), t0_ms = now_ms();
        assert_int_equal(vault_token_delete_revoking(v, P, "alice", NULL, &pending), 0);
        assert_true(pending);
        assert_int_equal(vault_token_delete_revoking(v, P, "bob", NULL, &pending), 0);
        assert_true(pending);
        SecretBuf *gone = NULL;
        assert_int_equal(vault_token_get(v, P, "alice", 0, &gone, NULL, NULL), -ENOENT);

        assert_int_equal(list(v, P, &rows), 2);
        assert_string_equal(rows[0].user, "alice");
        assert_string_equal(rows[1].user, "bob");
        assert_true(rows[0].id < rows[1].id);
        assert_int_equal(rows[0].attempts, 0);
        assert_true(rows[0].deleted_at >= t0 && rows[0].deleted_at <= t0 + 2);
        assert_true(rows[0].next_at >= t0_ms && rows[0].next_at <= now_ms());
        assert_null(rows[0].last_error);
        assert_null(rows[0].sealed);
        int64_t id_a = rows[0].id, id_b = rows[1].id;
        stored_revocations_free(rows, 2);
        /* Paged by id. */
        size_t n = 0;
        assert_int_equal(vault_revocation_list(v, P, id_a, 16, &rows, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(rows[0].id, id_b);
        stored_revocations_free(rows, n);

        /* begin: the refresh token, else the access token; held off a minute. */
        int64_t before = now_ms();
        begin_expect(v, P, id_a, "rt-canary-1", "refresh_token");
        begin_expect(v, P, id_b, "at-canary-2", "access_token");
        assert_int_equal(list(v, P, &rows), 2);
        assert_int_equal(rows[0].attempts, 1);
        assert_true(rows[0].next_at >= before + VAULT_REVOCATION_LEASE_MS &&
                    rows[0].next_at <= now_ms() + VAULT_REVOCATION_LEASE_MS);
        stored_revocations_free(rows, 2);

        /* Another plugin's id is not this one's. */
        int64_t retry_ms = 0;
        SecretBuf *t = NULL;
        const char *h = NULL;
        char *user = NULL;
        assert_int_equal(vault_revocation_begin(v, "other", id_a, NULL, &t, &h, &user, &retry_ms), -ENOENT);
        RevocationEnd e = {};
        assert_int_equal(vault_revocation_end(v, "other", id_a, NULL, NULL, &e), -ENOENT);

        /* end without an error: revoked, gone. */
        assert_int_equal(vault_revocation_end(v, P, id_a, NULL, NULL, &e), 0);
        assert_string_equal(e.state, "revoked");
        assert_string_equal(e.user, "alice");
        free(e.user);
        assert_int_equal(vault_revocation_end(v, P, id_a, NULL, NULL, &e), -ENOENT);

        RevocationStats st;
        assert_int_equal(vault_revocation_stats(v, &st), 0);
        assert_int_equal(st.pending, 1);
        assert_int_equal(st.given_up, 0);
        assert_true(st.next_at > 0);

        /* Sealed in the file: no token there as text. */
        vault_fixture_close_db(f);
        assert_false(db_files_contain(f->db_path, "at-canary-2"));
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM token_revocation"), 1);
        assert_int_equal(vault_fixture_reopen(f), 0);
        /* Begun a moment ago: not due again before its hold ends. */
        int64_t retry = 0;
        assert_int_equal(vault_revocation_begin(f->vault, P, id_b, NULL, &t, &h, &user, &retry), -EALREADY);
        assert_true(retry > 0 && retry <= VAULT_REVOCATION_LEASE_MS);
        make_due(f, id_b);
        begin_expect(f->vault, P, id_b, "at-canary-2", "access_token");

        /* A row holds only the token to revoke, under its own identity:
         * a live set's sealed bytes put in a row by a database writer do
         * not open as one. */
        put_set(f->vault, P, "frank", "{'access_token':'at-live','token_type':'Bearer','refresh_token':'rt-live'}");
        vault_fixture_close_db(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE token_revocation SET sealed = (SELECT sealed FROM token "
                                              "WHERE name = 'frank'), user = 'frank', next_at = 0"),
                         1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_int_equal(vault_revocation_begin(f->vault, P, id_b, NULL, &t, &h, &user, &retry), -EUCLEAN);
}

/* At most a few pending rows per user: the oldest are given up. */
static void test_per_user_cap(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        bool pending = false;
        StoredRevocation *rows = NULL;

        configure(v, P);
        for (int i = 0; i < 7; i++) {
                put_rt(v, P, "gina");
                assert_int_equal(vault_token_delete_revoking(v, P, "gina", NULL, &pending), 0);
                assert_true(pending);
        }
        assert_int_equal(list(v, P, &rows), 4);
        stored_revocations_free(rows, 4);
        RevocationStats st;
        assert_int_equal(vault_revocation_stats(v, &st), 0);
        assert_int_equal(st.given_up, 3);
}

static void test_backoff_and_give_up(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        AuditEntry tmpl = { .uid = 7, .gid = 7, .pid = 42 };
        bool pending = false;

        configure(v, P);
        put_rt(v, P, "carol");
        assert_int_equal(vault_token_delete_revoking(v, P, "carol", NULL, &pending), 0);
        int64_t id = only_id(v, P);
        static const int64_t want_s[] = { 30, 60, 120, 240, 480, 960, 1920, 3600, 3600 };
        for (size_t i = 0; i < sizeof(want_s) / sizeof(want_s[0]); i++) {
                if (i > 0) {
                        make_due(f, id); /* its back-off over */
                        v = f->vault;
                }
                begin_expect(v, P, id, "rt-canary-1", "refresh_token");
                RevocationEnd e = {};
                int64_t t0 = now_ms();
                assert_int_equal(vault_revocation_end(v, P, id, "server_error", &tmpl, &e), 0);
                assert_string_equal(e.state, "retrying");
                assert_int_equal(e.attempts, (int64_t) i + 1);
                assert_true(e.next_at >= t0 + want_s[i] * 1000 && e.next_at <= now_ms() + want_s[i] * 1000);
                free(e.user);
        }
        StoredRevocation *rows = NULL;
        assert_int_equal(list(v, P, &rows), 1);
        assert_string_equal(rows[0].last_error, "server_error");
        stored_revocations_free(rows, 1);

        make_due(f, id);
        v = f->vault;
        begin_expect(v, P, id, "rt-canary-1", "refresh_token");
        RevocationEnd e = {};
        assert_int_equal(vault_revocation_end(v, P, id, "timeout", &tmpl, &e), 0);
        assert_string_equal(e.state, "given_up");
        assert_int_equal(e.attempts, 10);
        free(e.user);
        assert_int_equal(list(v, P, &rows), 0);
        free(rows);

        /* Audited (after the commit, with the next flush), and counted
         * across a reopen. */
        AuditEntry *recs = NULL;
        size_t n = 0;
        int64_t next = 0;
        AuditFilter af = { .op = VAULT_REVOCATION_AUDIT_OP, .uid = -1 };
        assert_int_equal(vault_audit_list(v, &af, 0, 10, &recs, &n, &next), 0);
        assert_int_equal(n, 1);
        assert_string_equal(recs[0].plugin, P);
        assert_string_equal(recs[0].object, "carol");
        assert_int_equal(recs[0].uid, 7);
        free(recs);
        assert_int_equal(vault_fixture_reopen(f), 0);
        v = f->vault;
        RevocationStats st;
        assert_int_equal(vault_revocation_stats(v, &st), 0);
        assert_int_equal(st.pending, 0);
        assert_int_equal(st.given_up, 1);

        /* An end without a begin counts as one attempt. */
        put_rt(v, P, "dave");
        assert_int_equal(vault_token_delete_revoking(v, P, "dave", NULL, &pending), 0);
        id = only_id(v, P);
        assert_int_equal(vault_revocation_end(v, P, id, "unreachable", &tmpl, &e), 0);
        assert_string_equal(e.state, "retrying");
        assert_int_equal(e.attempts, 1);
        free(e.user);

        /* Deleted 7 days ago: the next write gives it up, whatever its attempts. */
        vault_fixture_close_db(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE token_revocation SET deleted_at = deleted_at - 7 * 86400"), 1);
        assert_int_equal(vault_fixture_reopen(f), 0);
        v = f->vault;
        put_rt(v, P, "erin");
        assert_int_equal(vault_token_delete_revoking(v, P, "erin", &tmpl, &pending), 0);
        assert_true(pending);
        assert_int_equal(list(v, P, &rows), 1);
        assert_string_equal(rows[0].user, "erin");
        stored_revocations_free(rows, 1);
        assert_int_equal(vault_revocation_stats(v, &st), 0);
        assert_int_equal(st.given_up, 2);
        assert_int_equal(vault_audit_list(v, &af, 0, 10, &recs, &n, &next), 0);
        assert_int_equal(n, 2);
        assert_string_equal(recs[1].object, "dave");
        free(recs);
}

static void test_plugin_delete_drops_them(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        bool pending = false;
        configure(v, P);
        configure(v, "keep");
        put_rt(v, P, "u1");
        put_rt(v, "keep", "u1");
        assert_int_equal(vault_token_delete_revoking(v, P, "u1", NULL, &pending), 0);
        assert_int_equal(vault_token_delete_revoking(v, "keep", "u1", NULL, &pending), 0);
        PluginRemoved removed = {};
        assert_int_equal(vault_plugin_delete(v, P, &removed), 0);
        assert_int_equal(removed.revocations, 1);
        StoredRevocation *rows = NULL;
        assert_int_equal(list(v, P, &rows), 0);
        free(rows);
        assert_int_equal(list(v, "keep", &rows), 1);
        stored_revocations_free(rows, 1);
        /* A plugin that held nothing but a pending revocation is found. */
        assert_int_equal(vault_secret_delete(v, "keep", VAULT_REVOCATION_SECRET), 0);
        assert_int_equal(vault_plugin_delete(v, "keep", &removed), 0);
        assert_int_equal(removed.revocations, 1);
        assert_int_equal(vault_plugin_delete(v, "keep", &removed), -ENOENT);
}

static void test_kek_rotation_and_verify(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        bool pending = false;
        configure(v, P);
        for (int i = 0; i < 5; i++) {
                char user[16];
                snprintf(user, sizeof(user), "k%d", i);
                put_rt(v, P, user);
                assert_int_equal(vault_token_delete_revoking(v, P, user, NULL, &pending), 0);
        }
        int64_t primary = 0, previous = 0, records = 0;
        assert_int_equal(vault_key_rotate(v, &primary, &previous), 0);
        assert_int_equal(primary, 2);
        /* KEK 1 wraps the secret and the five rows. */
        assert_int_equal(vault_key_retire(v, 1, &records), -EEXIST);
        assert_int_equal(records, 6);
        VaultRewrap rw;
        assert_int_equal(vault_key_rewrap_start(v, &rw), 0);
        assert_int_equal(rw.remaining, 6);
        int64_t done = 0, remaining = 0, total = 0;
        do {
                assert_int_equal(vault_key_rewrap_step(v, 2, &done, &remaining), 0);
                total += done;
        } while (vault_key_rewrap_running(v));
        assert_int_equal(total, 6);
        assert_int_equal(vault_key_retire(v, 1, &records), 0);
        vault_fixture_close_db(f);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM token_revocation WHERE kek_version = 2"), 5);
        assert_int_equal(vault_fixture_reopen(f), 0);
        v = f->vault;
        StoredRevocation *rows = NULL;
        assert_int_equal(list(v, P, &rows), 5);
        for (size_t i = 0; i < 5; i++)
                begin_expect(v, P, rows[i].id, "rt-canary-1", "refresh_token");
        stored_revocations_free(rows, 5);

        VaultVerify vv;
        assert_int_equal(vault_verify(v, &vv), 0);
        assert_int_equal(vv.others, 5);

        /* A row moved to another user's identity does not open. */
        vault_fixture_close_db(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE token_revocation SET user = 'mallory' WHERE user = 'k0'"), 1);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_int_equal(vault_verify(f->vault, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "token_revocation"));
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_delete_queues_where_configured, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_backoff_and_give_up, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_per_user_cap, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_plugin_delete_drops_them, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_kek_rotation_and_verify, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
