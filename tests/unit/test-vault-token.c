/* test-vault-token.c — daemon/vault/vault-token.c: users' token sets and
 * their refresh leases.
 *
 * Shows, through vault.h only, with token responses that proto's
 * request_check_token_response() accepts: a put turns expires_in into an absolute
 * expires_at (in the stored set and its metadata) and keeps expires_at or
 * no expiry as given; a response without refresh_token keeps the previous
 * one, a response with one replaces it; get hands back the set only while
 * it stays valid for min_valid more seconds, else -ESTALE with the state
 * (expires_at itself is already expired); refresh_begin gives one caller a
 * lease (32 hex digits, lease_seconds long, on the current version) and
 * the refresh token, and tells a second caller -EALREADY with the lease's
 * deadline, as get does meanwhile; when the set was refreshed meanwhile it
 * hands that set back instead; commit with the lease stores the new set
 * (next version, lease gone), with a lease that is no longer the current
 * one (taken over, the set put anew, or its version moved behind the
 * lease) it is -EEXIST and changes nothing, and a lapsed lease nobody took
 * over still commits; refresh_fail
 * with invalid_grant by the lease holder makes the set reauth_required
 * (get and refresh_begin -EKEYREVOKED, until a new put), without it just
 * releases the lease, and from anyone else applies nothing; a set without
 * a refresh token cannot be refreshed (-EKEYREVOKED); -EMSGSIZE when the
 * carried-over refresh token pushes the set over TOKEN_SET_SIZE_MAX, for
 * put and commit alike, leaving the stored set (and the lease); list and
 * vault_token_state_name() describe the sets; delete removes one. Each
 * set's state carries a MAC: its version, expiry, reauth state or any part
 * of its lease changed in the file behind the vault's back, or its MAC
 * nulled, cut or swapped with another set's, is -EUCLEAN to get,
 * refresh_begin, commit, fail and list, and a new put makes it whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "request.h"
#include "unit-sql.h"
#include "unit-vault.h"

/* A token response from test text (' for "), checked as token.put checks
 * it before it reaches the vault. */
static json_t *response(const char *text) {
        char err[ERROR_MESSAGE_SIZE_MAX] = "";
        json_t *j = json_quote(text);
        int r = request_check_token_response(j, err, sizeof(err));
        if (r != 0)
                fail_msg("test response refused (%d: %s): %s", r, err, text);
        return j;
}

static int put(Vault *v, const char *user, const char *text, StoredRecord *ret_meta) {
        json_t *j = response(text);
        int r = vault_token_put(v, "todo", user, j, ret_meta);
        json_decref(j);
        return r;
}

/* The stored set, parsed; NULL and *ret_r set if get fails. */
static json_t *get_set(Vault *v, const char *user, int64_t min_valid, int *ret_r, TokenState *ret_state) {
        SecretBuf *text = NULL;
        StoredRecord meta = {};
        int r = vault_token_get(v, "todo", user, min_valid, &text, &meta, ret_state);
        if (ret_r)
                *ret_r = r;
        if (r < 0) {
                assert_null(text);
                return NULL;
        }
        assert_null(meta.sealed);
        json_error_t e;
        json_t *set = json_loadb((const char *) text->data, text->size, JSON_REJECT_DUPLICATES, &e);
        if (!set)
                fail_msg("stored set is not JSON: %s", e.text);
        secret_buf_free(text);
        return set;
}

static json_t *get_ok(Vault *v, const char *user) {
        int r = 0;
        json_t *set = get_set(v, user, 0, &r, NULL);
        if (!set)
                fail_msg("get %s: %d", user, r);
        return set;
}

static int get_fails(Vault *v, const char *user, int64_t min_valid, TokenState *ret_state) {
        int r = 0;
        json_t *set = get_set(v, user, min_valid, &r, ret_state);
        assert_null(set);
        return r;
}

static const char *str(json_t *set, const char *field) {
        return json_string_value(json_object_get(set, field));
}

static void test_put_expires_in(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        StoredRecord meta = {};

        int64_t before = now_s();
        assert_int_equal(put(v, "alice",
                             "{'access_token':'at-1','token_type':'Bearer','expires_in':3600,"
                             "'scope':'read write','id_token':'x.y.z'}",
                             &meta),
                         0);
        int64_t after = now_s();
        assert_int_equal(meta.version, 1);
        assert_true(meta.has_expires_at);
        assert_true(meta.expires_at >= before + 3600 && meta.expires_at <= after + 3600);
        assert_null(meta.sealed);

        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-1");
        assert_string_equal(str(set, "token_type"), "Bearer");
        assert_string_equal(str(set, "scope"), "read write");
        assert_string_equal(str(set, "id_token"), "x.y.z"); /* other fields kept */
        assert_null(json_object_get(set, "expires_in"));
        assert_int_equal(json_integer_value(json_object_get(set, "expires_at")), meta.expires_at);
        json_decref(set);

        /* expires_at as given. */
        assert_int_equal(put(v, "bob", "{'access_token':'at','token_type':'Bearer','expires_at':253402300799}", &meta),
                         0);
        assert_true(meta.has_expires_at);
        assert_int_equal(meta.expires_at, 253402300799);
        set = get_ok(v, "bob");
        assert_int_equal(json_integer_value(json_object_get(set, "expires_at")), 253402300799);
        json_decref(set);

        /* No expiry: valid for any min_valid. */
        assert_int_equal(put(v, "carol", "{'access_token':'at','token_type':'Bearer'}", &meta), 0);
        assert_false(meta.has_expires_at);
        int r = 0;
        set = get_set(v, "carol", TOKEN_EXPIRES_IN_MAX, &r, NULL);
        assert_int_equal(r, 0);
        assert_null(json_object_get(set, "expires_at"));
        json_decref(set);

        /* Each put is the next version; the metadata says so on get. */
        assert_int_equal(put(v, "alice", "{'access_token':'at-2','token_type':'Bearer'}", &meta), 0);
        assert_int_equal(meta.version, 2);
        assert_false(meta.has_expires_at);
}

static void test_refresh_token_carried_over(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        assert_int_equal(put(v, "alice", "{'access_token':'at-1','token_type':'Bearer','refresh_token':'rt-1'}", NULL),
                         0);
        /* A provider that does not rotate leaves it out: kept. */
        assert_int_equal(put(v, "alice", "{'access_token':'at-2','token_type':'Bearer','expires_in':60}", NULL), 0);
        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-2");
        assert_string_equal(str(set, "refresh_token"), "rt-1");
        json_decref(set);
        /* A rotated one replaces it. */
        assert_int_equal(put(v, "alice", "{'access_token':'at-3','token_type':'Bearer','refresh_token':'rt-2'}", NULL),
                         0);
        set = get_ok(v, "alice");
        assert_string_equal(str(set, "refresh_token"), "rt-2");
        json_decref(set);

        /* Another user's refresh token is not carried over. */
        assert_int_equal(put(v, "bob", "{'access_token':'at','token_type':'Bearer'}", NULL), 0);
        set = get_ok(v, "bob");
        assert_null(json_object_get(set, "refresh_token"));
        json_decref(set);

        /* Nor one of a deleted set. */
        assert_int_equal(vault_token_delete(v, "todo", "alice"), 0);
        assert_int_equal(put(v, "alice", "{'access_token':'at-4','token_type':'Bearer'}", NULL), 0);
        set = get_ok(v, "alice");
        assert_null(json_object_get(set, "refresh_token"));
        json_decref(set);
}

static void test_get_min_valid(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenState st;

        assert_int_equal(get_fails(v, "nobody", 0, NULL), -ENOENT);

        assert_int_equal(put(v, "alice", "{'access_token':'at','token_type':'Bearer','expires_in':100}", NULL), 0);
        int r = 0;
        json_t *set = get_set(v, "alice", 50, &r, NULL);
        assert_int_equal(r, 0);
        json_decref(set);
        memset(&st, 0, sizeof(st));
        assert_int_equal(get_fails(v, "alice", 200, &st), -ESTALE);
        assert_true(st.has_expires_at);
        assert_true(st.expires_at >= now_s() + 90 && st.expires_at <= now_s() + 100);
        assert_false(st.reauth_required);
        assert_string_equal(st.lease_id, "");

        /* expires_in 0: expired at once (expires_at is exclusive). */
        assert_int_equal(put(v, "bob", "{'access_token':'at','token_type':'Bearer','expires_in':0}", NULL), 0);
        assert_int_equal(get_fails(v, "bob", 0, NULL), -ESTALE);
        /* Long expired. */
        assert_int_equal(put(v, "carol", "{'access_token':'at','token_type':'Bearer','expires_at':1}", NULL), 0);
        assert_int_equal(get_fails(v, "carol", 0, NULL), -ESTALE);
}

static bool is_lease_id(const char *s) {
        if (strlen(s) != LEASE_ID_SIZE)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* An expiring set of alice's with refresh token rt-1. */
static void put_expiring(Vault *v) {
        assert_int_equal(put(v, "alice",
                             "{'access_token':'at-1','token_type':'Bearer','expires_in':10,'refresh_token':'rt-1'}",
                             NULL),
                         0);
}

static void test_refresh_lease(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {}, t2 = {};
        TokenState st;

        put_expiring(v);
        int64_t before = now_ms();
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        int64_t after = now_ms();
        assert_true(t.refresh);
        assert_true(is_lease_id(t.lease));
        assert_true(t.lease_until >= before + 30000 && t.lease_until <= after + 30000);
        assert_int_equal(t.version, 1);
        assert_secret_equal(t.refresh_token, "rt-1", 4);
        assert_null(t.text);

        /* A second caller waits. */
        memset(&st, 0, sizeof(st));
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t2, &st), -EALREADY);
        assert_false(t2.refresh);
        assert_null(t2.refresh_token);
        assert_int_equal(st.lease_until, t.lease_until);
        /* So does get, for a set not valid long enough. */
        memset(&st, 0, sizeof(st));
        assert_int_equal(get_fails(v, "alice", 60, &st), -EALREADY);
        assert_int_equal(st.lease_until, t.lease_until);
        /* A get that is content with the set still has it. */
        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-1");
        json_decref(set);

        /* Commit with the lease: the new set, the next version, no lease. */
        StoredRecord meta = {};
        json_t *resp =
                response("{'access_token':'at-2','token_type':'Bearer','expires_in':3600,'refresh_token':'rt-2'}");
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, &meta), 0);
        assert_int_equal(meta.version, 2);
        assert_true(meta.expires_at >= now_s() + 3590);
        int r = 0;
        set = get_set(v, "alice", 60, &r, NULL);
        assert_int_equal(r, 0);
        assert_string_equal(str(set, "access_token"), "at-2");
        assert_string_equal(str(set, "refresh_token"), "rt-2");
        json_decref(set);
        /* The lease is spent. */
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, &meta), -EEXIST);
        json_decref(resp);
        TokenInfo *items = NULL;
        size_t n = 0;
        assert_int_equal(vault_token_list(v, "todo", NULL, 10, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(items[0].state.lease_until, 0);
        token_infos_free(items, n);

        /* Refreshed meanwhile: begin hands back the set, no lease. */
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t2, NULL), 0);
        assert_false(t2.refresh);
        assert_null(t2.refresh_token);
        assert_non_null(t2.text);
        assert_non_null(strstr((const char *) t2.text->data, "\"at-2\""));
        assert_int_equal(t2.meta.version, 2);
        vault_token_refresh_done(&t2);
        vault_token_refresh_done(&t);
        assert_null(t.refresh_token);
}

/* A refresh token left out of the refreshed response is carried over from
 * the set the lease was taken on. */
static void test_commit_carries_refresh_token(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {};

        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        json_t *resp = response("{'access_token':'at-2','token_type':'Bearer','expires_in':3600}");
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, NULL), 0);
        json_decref(resp);
        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-2");
        assert_string_equal(str(set, "refresh_token"), "rt-1");
        json_decref(set);
        vault_token_refresh_done(&t);
}

static void test_commit_stale_lease(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t1 = {}, t2 = {};
        StoredRecord meta = {};

        /* A lease of no time lapses at once; a second caller takes over. */
        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 0, &t1, NULL), 0);
        assert_true(t1.refresh);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t2, NULL), 0);
        assert_true(t2.refresh);
        assert_string_not_equal(t1.lease, t2.lease);

        json_t *late = response("{'access_token':'at-late','token_type':'Bearer','expires_in':3600}");
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t1.lease, late, &meta), -EEXIST);
        /* Nothing changed: still the first set, still t2's lease. */
        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-1");
        json_decref(set);
        TokenState st;
        assert_int_equal(get_fails(v, "alice", 60, &st), -EALREADY);
        assert_string_equal(st.lease_id, t2.lease);

        /* A lease id that was never handed out. */
        assert_int_equal(
                vault_token_refresh_commit(v, "todo", "alice", "00000000000000000000000000000000", late, &meta),
                -EEXIST);
        assert_int_equal(vault_token_refresh_commit(v, "todo", "nobody", t2.lease, late, &meta), -ENOENT);

        /* The holder commits. */
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t2.lease, late, &meta), 0);
        assert_int_equal(meta.version, 2);

        /* A put while a lease is held: the lease's set is gone, commit
         * refused. */
        vault_token_refresh_done(&t1);
        vault_token_refresh_done(&t2);
        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t1, NULL), 0);
        assert_true(t1.refresh);
        assert_int_equal(put(v, "alice", "{'access_token':'at-put','token_type':'Bearer','expires_in':10}", NULL), 0);
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t1.lease, late, &meta), -EEXIST);
        set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-put");
        json_decref(set);
        json_decref(late);
        vault_token_refresh_done(&t1);
}

/* The compare-and-swap checks the version too: a set whose version moved
 * while its lease stayed (only possible behind the vault's back, as every
 * put clears the lease) takes neither a commit nor a revocation; with the
 * state's MAC, such a change is refused as damage before either. */
static void test_commit_version_moved(void **state) {
        VaultFixture *f = *state;
        TokenRefresh t = {};
        TokenRefreshFail fail = {};

        put_expiring(f->vault);
        assert_int_equal(vault_token_refresh_begin(f->vault, "todo", "alice", 60, 300, &t, NULL), 0);
        assert_true(t.refresh);
        vault_fixture_close_db(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE token SET version = version + 1 WHERE name = 'alice'"), 1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);

        json_t *resp = response("{'access_token':'at-2','token_type':'Bearer','refresh_token':'rt-2'}");
        assert_int_equal(vault_token_refresh_commit(f->vault, "todo", "alice", t.lease, resp, NULL), -EUCLEAN);
        json_decref(resp);
        assert_int_equal(vault_token_refresh_fail(f->vault, "todo", "alice", t.lease, "invalid_grant", 0, &fail),
                         -EUCLEAN);
        vault_token_refresh_done(&t);
}

/* Issue 7 #9: a token set's state is bound to the keyring. */
static void test_state_tampered(void **state) {
        VaultFixture *f = *state;
        static const char *const tamper[] = {
                /* extended, shortened, made eternal */
                "UPDATE token SET expires_at = expires_at + 86400 WHERE name = 'alice'",
                "UPDATE token SET expires_at = 1 WHERE name = 'alice'",
                "UPDATE token SET expires_at = NULL WHERE name = 'alice'",
                /* revoked, or a revocation lifted (see below) */
                "UPDATE token SET state = 'reauth_required' WHERE name = 'alice'",
                /* a lease dropped, moved, extended, or put on another version */
                "UPDATE token SET lease_id = NULL, lease_until = NULL, lease_version = NULL WHERE name = 'alice'",
                "UPDATE token SET lease_id = '0123456789abcdef0123456789abcdef' WHERE name = 'alice'",
                "UPDATE token SET lease_until = lease_until + 3600000 WHERE name = 'alice'",
                "UPDATE token SET lease_version = lease_version + 1 WHERE name = 'alice'",
                "UPDATE token SET version = version + 1 WHERE name = 'alice'",
                /* the MAC itself */
                "UPDATE token SET mac = NULL WHERE name = 'alice'",
                "UPDATE token SET mac = substr(mac, 1, 16) WHERE name = 'alice'",
                "UPDATE token SET mac = randomblob(32) WHERE name = 'alice'",
                /* two sets' MACs swapped, or the state and MAC of another set copied */
                "UPDATE token SET mac = CASE name WHEN 'alice' THEN (SELECT mac FROM token WHERE name = 'bob') "
                "ELSE (SELECT mac FROM token WHERE name = 'alice') END",
                "UPDATE token SET (expires_at, state, lease_id, lease_until, lease_version, mac) = "
                "(SELECT expires_at, state, lease_id, lease_until, lease_version, mac FROM token WHERE name = 'bob') "
                "WHERE name = 'alice'",
        };

        for (size_t i = 0; i < ELEMENTSOF(tamper); i++) {
                TokenRefresh t = {};
                TokenRefreshFail fail = {};
                TokenInfo *items = NULL;
                size_t n = 0;
                const char *what = tamper[i];

                put_expiring(f->vault);
                assert_int_equal(put(f->vault, "bob",
                                     "{'access_token':'at-b','token_type':'Bearer','expires_in':10,"
                                     "'refresh_token':'rt-b'}",
                                     NULL),
                                 0);
                /* Alice's lease held. */
                assert_int_equal(vault_token_refresh_begin(f->vault, "todo", "alice", 60, 300, &t, NULL), 0);
                assert_true(t.refresh);
                vault_fixture_close_db(f);
                assert_true(sql_exec(f->db_path, what) > 0);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);

                int r = get_fails(f->vault, "alice", 0, NULL);
                if (r != -EUCLEAN)
                        fail_msg("%s: get %d", what, r);
                TokenRefresh t2 = {};
                r = vault_token_refresh_begin(f->vault, "todo", "alice", 60, 300, &t2, NULL);
                if (r != -EUCLEAN)
                        fail_msg("%s: refresh_begin %d", what, r);
                json_t *resp = response("{'access_token':'at-2','token_type':'Bearer','refresh_token':'rt-2'}");
                r = vault_token_refresh_commit(f->vault, "todo", "alice", t.lease, resp, NULL);
                json_decref(resp);
                if (r != -EUCLEAN)
                        fail_msg("%s: commit %d", what, r);
                r = vault_token_refresh_fail(f->vault, "todo", "alice", t.lease, "invalid_grant", 0, &fail);
                if (r != -EUCLEAN)
                        fail_msg("%s: fail %d", what, r);
                r = vault_token_list(f->vault, "todo", NULL, 10, &items, &n);
                if (r != -EUCLEAN)
                        fail_msg("%s: list %d", what, r);
                vault_token_refresh_done(&t);

                /* A new put makes it whole; Bob's set is his own. */
                put_expiring(f->vault);
                json_t *set = get_ok(f->vault, "alice");
                json_decref(set);
                if (!strstr(what, "bob")) {
                        set = get_ok(f->vault, "bob");
                        json_decref(set);
                }
                assert_int_equal(vault_token_delete(f->vault, "todo", "alice"), 0);
                assert_int_equal(vault_token_delete(f->vault, "todo", "bob"), 0);
        }

        /* A revocation lifted in the file does not lift it. */
        TokenRefresh t = {};
        TokenRefreshFail fail = {};
        put_expiring(f->vault);
        assert_int_equal(vault_token_refresh_begin(f->vault, "todo", "alice", 60, 300, &t, NULL), 0);
        assert_int_equal(vault_token_refresh_fail(f->vault, "todo", "alice", t.lease, "invalid_grant", 0, &fail), 0);
        assert_true(fail.applied);
        vault_token_refresh_done(&t);
        assert_int_equal(get_fails(f->vault, "alice", 0, NULL), -EKEYREVOKED);
        vault_fixture_close_db(f);
        assert_int_equal(sql_exec(f->db_path, "UPDATE token SET state = 'valid' WHERE name = 'alice'"), 1);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_int_equal(get_fails(f->vault, "alice", 0, NULL), -EUCLEAN);
}

/* A lease past its deadline that nobody took over still commits: the
 * provider may already have rotated the refresh token. */
static void test_commit_lapsed_lease(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {};

        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 0, &t, NULL), 0);
        json_t *resp = response("{'access_token':'at-2','token_type':'Bearer','refresh_token':'rt-rotated'}");
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, NULL), 0);
        json_decref(resp);
        json_t *set = get_ok(v, "alice");
        assert_string_equal(str(set, "refresh_token"), "rt-rotated");
        json_decref(set);
        vault_token_refresh_done(&t);
}

static void test_refresh_fail(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {}, t2 = {};
        TokenRefreshFail fail = {};

        /* Without invalid_grant: the lease is released, nothing revoked. */
        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        assert_int_equal(vault_token_refresh_fail(v, "todo", "alice", t.lease, "temporarily_unavailable", 0, &fail), 0);
        assert_true(fail.applied);
        assert_string_equal(fail.state, "valid");
        assert_int_equal(get_fails(v, "alice", 60, NULL), -ESTALE); /* no lease now */
        vault_token_refresh_done(&t);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        assert_true(t.refresh);

        /* From someone who does not hold the lease: nothing applied. */
        fail = (TokenRefreshFail) { .applied = true };
        assert_int_equal(vault_token_refresh_fail(v, "todo", "alice", "00000000000000000000000000000000",
                                                  "invalid_grant", 0, &fail),
                         0);
        assert_false(fail.applied);
        assert_string_equal(fail.state, "refreshing");
        json_t *set = get_ok(v, "alice");
        json_decref(set);

        /* invalid_grant from the holder: reauth required. */
        assert_int_equal(vault_token_refresh_fail(v, "todo", "alice", t.lease, "invalid_grant", 0, &fail), 0);
        assert_true(fail.applied);
        assert_string_equal(fail.state, "reauth_required");
        assert_int_equal(get_fails(v, "alice", 0, NULL), -EKEYREVOKED);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t2, NULL), -EKEYREVOKED);
        assert_false(t2.refresh);
        /* A late fail of the same lease changes nothing more. */
        assert_int_equal(vault_token_refresh_fail(v, "todo", "alice", t.lease, "temporarily_unavailable", 0, &fail), 0);
        assert_false(fail.applied);
        assert_string_equal(fail.state, "reauth_required");
        assert_int_equal(get_fails(v, "alice", 0, NULL), -EKEYREVOKED);
        vault_token_refresh_done(&t);

        /* The user authorizes again: a put makes it valid. */
        assert_int_equal(
                put(v, "alice", "{'access_token':'at-new','token_type':'Bearer','refresh_token':'rt-new'}", NULL), 0);
        set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-new");
        json_decref(set);

        /* A fail for a set that changed since the lease was taken (the
         * lease's refresh token lost a race against a rotation). */
        put_expiring(v);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        assert_int_equal(put(v, "alice", "{'access_token':'at-rotated','token_type':'Bearer','expires_in':3600}", NULL),
                         0);
        assert_int_equal(vault_token_refresh_fail(v, "todo", "alice", t.lease, "invalid_grant", 0, &fail), 0);
        assert_false(fail.applied);
        assert_string_equal(fail.state, "valid");
        set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-rotated");
        json_decref(set);
        vault_token_refresh_done(&t);

        assert_int_equal(vault_token_refresh_fail(v, "todo", "nobody", t.lease, "invalid_grant", 0, &fail), -ENOENT);
}

static void test_refresh_needs_refresh_token(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {};

        assert_int_equal(vault_token_refresh_begin(v, "todo", "nobody", 60, 30, &t, NULL), -ENOENT);
        assert_int_equal(put(v, "alice", "{'access_token':'at','token_type':'Bearer','expires_in':10}", NULL), 0);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), -EKEYREVOKED);
        assert_false(t.refresh);
        /* No lease was left behind. */
        assert_int_equal(get_fails(v, "alice", 60, NULL), -ESTALE);
}

/* A response with a fresh big field, stored with the previous 8 KiB
 * refresh token carried over, is over TOKEN_SET_SIZE_MAX though the
 * response alone is not. */
static void test_too_big_with_carried_refresh_token(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {};
        char *text = NULL;

        char *rt = malloc(TOKEN_SECRET_SIZE_MAX + 1);
        assert_non_null(rt);
        memset(rt, 'r', TOKEN_SECRET_SIZE_MAX);
        rt[TOKEN_SECRET_SIZE_MAX] = 0;
        assert_true(asprintf(&text,
                             "{'access_token':'at-1','token_type':'Bearer','expires_in':10,'refresh_token':'%s'}",
                             rt) > 0);
        assert_int_equal(put(v, "alice", text, NULL), 0);
        free(text);

        size_t big_size = TOKEN_SET_SIZE_MAX - 200;
        char *big = malloc(big_size + 1);
        assert_non_null(big);
        memset(big, 'i', big_size);
        big[big_size] = 0;
        assert_true(asprintf(&text, "{'access_token':'at-2','token_type':'Bearer','id_token':'%s'}", big) > 0);
        json_t *resp = response(text); /* fits on its own */
        free(text);

        assert_int_equal(vault_token_put(v, "todo", "alice", resp, NULL), -EMSGSIZE);
        json_t *set = get_set(v, "alice", 0, &(int) { 0 }, NULL);
        assert_non_null(set);
        assert_string_equal(str(set, "access_token"), "at-1");
        assert_string_equal(str(set, "refresh_token"), rt);
        json_decref(set);

        /* The same through a refresh: refused, and the lease stays. */
        assert_int_equal(vault_token_refresh_begin(v, "todo", "alice", 60, 30, &t, NULL), 0);
        assert_true(t.refresh);
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, NULL), -EMSGSIZE);
        TokenState st;
        assert_int_equal(get_fails(v, "alice", 60, &st), -EALREADY);
        assert_string_equal(st.lease_id, t.lease);
        /* With its own (short) refresh token it fits, and commits. */
        json_object_set_new(resp, "refresh_token", json_string("rt-2"));
        assert_int_equal(vault_token_refresh_commit(v, "todo", "alice", t.lease, resp, NULL), 0);
        set = get_ok(v, "alice");
        assert_string_equal(str(set, "access_token"), "at-2");
        assert_string_equal(str(set, "refresh_token"), "rt-2");
        json_decref(set);
        vault_token_refresh_done(&t);
        json_decref(resp);
        free(big);
        free(rt);
}

static void test_list_and_state_names(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        TokenRefresh t = {};
        TokenRefreshFail fail;
        TokenInfo *items = NULL;
        size_t n = 0;

        assert_int_equal(put(v, "a-valid", "{'access_token':'at','token_type':'Bearer','expires_in':3600}", NULL), 0);
        assert_int_equal(put(v, "b-expiring", "{'access_token':'at','token_type':'Bearer','expires_in':100}", NULL), 0);
        assert_int_equal(put(v, "c-expired", "{'access_token':'at','token_type':'Bearer','expires_at':1}", NULL), 0);
        assert_int_equal(put(v, "d-refreshing",
                             "{'access_token':'at','token_type':'Bearer','expires_in':10,'refresh_token':'rt'}", NULL),
                         0);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "d-refreshing", 60, 30, &t, NULL), 0);
        vault_token_refresh_done(&t);
        assert_int_equal(put(v, "e-reauth",
                             "{'access_token':'at','token_type':'Bearer','expires_in':10,'refresh_token':'rt'}", NULL),
                         0);
        assert_int_equal(vault_token_refresh_begin(v, "todo", "e-reauth", 60, 30, &t, NULL), 0);
        assert_int_equal(vault_token_refresh_fail(v, "todo", "e-reauth", t.lease, "invalid_grant", 0, &fail), 0);
        vault_token_refresh_done(&t);
        assert_int_equal(put(v, "f-forever", "{'access_token':'at','token_type':'Bearer'}", NULL), 0);
        json_t *other = response("{'access_token':'at','token_type':'Bearer'}");
        assert_int_equal(vault_token_put(v, "other", "a-valid", other, NULL), 0);
        json_decref(other);

        static const char *const want[][2] = {
                { "a-valid", "valid" },           { "b-expiring", "expiring" },      { "c-expired", "expired" },
                { "d-refreshing", "refreshing" }, { "e-reauth", "reauth_required" }, { "f-forever", "valid" },
        };
        assert_int_equal(vault_token_list(v, "todo", NULL, 100, &items, &n), 0);
        assert_int_equal(n, ELEMENTSOF(want));
        int64_t now = now_s(), ms = now_ms();
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(items[i].user, want[i][0]);
                assert_string_equal(vault_token_state_name(&items[i], now, ms, 600), want[i][1]);
                assert_int_equal(items[i].state.version, 1);
        }
        /* With no horizon nothing is expiring. */
        assert_string_equal(vault_token_state_name(&items[1], now, ms, 0), "valid");
        token_infos_free(items, n);

        /* Pages with the cursor. */
        assert_int_equal(vault_token_list(v, "todo", "c-expired", 2, &items, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(items[0].user, "d-refreshing");
        assert_string_equal(items[1].user, "e-reauth");
        token_infos_free(items, n);
}

static void test_delete(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;

        assert_int_equal(vault_token_delete(v, "todo", "alice"), -ENOENT);
        assert_int_equal(put(v, "alice", "{'access_token':'at','token_type':'Bearer'}", NULL), 0);
        assert_int_equal(put(v, "bob", "{'access_token':'at','token_type':'Bearer'}", NULL), 0);
        assert_int_equal(vault_token_delete(v, "todo", "alice"), 0);
        assert_int_equal(get_fails(v, "alice", 0, NULL), -ENOENT);
        assert_int_equal(vault_token_delete(v, "todo", "alice"), -ENOENT);
        json_t *set = get_ok(v, "bob");
        json_decref(set);
        /* Durable. */
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_int_equal(get_fails(f->vault, "alice", 0, NULL), -ENOENT);
        set = get_ok(f->vault, "bob");
        json_decref(set);
}

/* The refresh notes are outside the MAC: what a database writer puts
 * there (bytes that are not an error code, times no reply can carry) is
 * listed as nothing, and a note the vault wrote as it is. */
static void test_refresh_notes_checked(void **state) {
        VaultFixture *f = *state;
        TokenInfo *items = NULL;
        size_t n = 0;
        static const struct {
                const char *sql;
                const char *result;
                int64_t tried, next;
        } cases[] = {
                { "UPDATE token SET refresh_result = 'server_error', refresh_tried_at = 1795830240000, "
                  "refresh_next_at = 1795830300000",
                  "server_error", 1795830240000, 1795830300000 },
                { "UPDATE token SET refresh_result = CAST(X'C3' AS TEXT)", "", 1795830240000, 1795830300000 },
                { "UPDATE token SET refresh_result = char(27) || '[31m'", "", 1795830240000, 1795830300000 },
                { "UPDATE token SET refresh_result = '', refresh_tried_at = -9223372036854775807, "
                  "refresh_next_at = 253402300799001",
                  "", 0, 0 },
        };

        assert_int_equal(put(f->vault, "alice", "{'access_token':'at','token_type':'Bearer','expires_in':60}", NULL),
                         0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                vault_fixture_close_db(f);
                assert_int_equal(sql_exec(f->db_path, cases[i].sql), 1);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
                assert_int_equal(vault_token_list(f->vault, "todo", NULL, 10, &items, &n), 0);
                assert_int_equal(n, 1);
                assert_string_equal(items[0].refresh_result, cases[i].result);
                assert_int_equal(items[0].refresh_tried_at, cases[i].tried);
                assert_int_equal(items[0].refresh_next_at, cases[i].next);
                token_infos_free(items, n);
        }
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_expires_in, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_refresh_token_carried_over, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_get_min_valid, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_refresh_lease, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_commit_carries_refresh_token, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_commit_stale_lease, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_commit_version_moved, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_state_tampered, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_commit_lapsed_lease, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_refresh_fail, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_refresh_needs_refresh_token, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_too_big_with_carried_refresh_token, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_list_and_state_names, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_delete, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_refresh_notes_checked, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
