/* test-vault-stage.c — daemon/vault/vault-stage.c: rotation with
 * overlap.
 *
 * Shows, through vault.h only: rotate stages a pending version above
 * every version of the secret (given or generated), replacing a pending
 * one, with or without a current version; promote moves pending →
 * current → previous (deadline now + grace, the staged grace or the one
 * given), drops an older previous, and is -ENOENT without a pending
 * version; get of a stage opens that version, a previous one only before
 * its deadline; verify accepts the current and an in-grace previous value
 * and says which, never a pending one; the OAuth client check accepts an
 * in-grace previous client secret; history lists the stages newest first,
 * metadata only; delete removes every stage; the sweep deletes previous
 * versions due, each with its audit record, and nothing else; all of it
 * survives a reopen. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-limits.h"
#include "unit-vault.h"

#define P "svc"

static void put(Vault *v, const char *name, const char *value) {
        assert_int_equal(vault_secret_put(v, P, name, (const uint8_t *) value, strlen(value), NULL), 0);
}

static int64_t rotate(Vault *v, const char *name, const char *value, int64_t grace) {
        StoredStage meta = {};
        assert_int_equal(vault_secret_rotate(v, P, name, (const uint8_t *) value, strlen(value), 0, grace, NULL, &meta),
                         0);
        assert_int_equal(meta.stage, RECORD_STAGE_PENDING);
        assert_int_equal(meta.grace, grace);
        assert_null(meta.sealed);
        return meta.version;
}

static void assert_stage(Vault *v, const char *name, RecordStage stage, const char *want, int64_t want_version) {
        SecretBuf *value = NULL;
        StoredStage meta = {};
        int r = stage == RECORD_STAGE_CURRENT ? vault_secret_get(v, P, name, &value, NULL)
                                              : vault_secret_get_stage(v, P, name, stage, &value, &meta);
        if (!want) {
                assert_int_equal(r, -ENOENT);
                return;
        }
        if (r != 0)
                fail_msg("get %s stage %d: %d", name, stage, r);
        assert_secret_equal(value, want, strlen(want));
        if (stage != RECORD_STAGE_CURRENT)
                assert_int_equal(meta.version, want_version);
        secret_buf_free(value);
}

/* -1 no match, else the stage that matched. */
static int verify(Vault *v, const char *name, const char *value) {
        Presented p = { .value = (const uint8_t *) value, .size = strlen(value) };
        RecordStage stage = _RECORD_STAGE_MAX;
        bool match = false;
        assert_int_equal(vault_secret_verify_stage(v, P, name, &p, &match, NULL, &stage), 0);
        return match ? (int) stage : -1;
}

static void test_rotate_promote(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        VaultPromoted pr;
        int64_t now = now_s();

        put(v, "tok", "one");
        assert_int_equal(vault_secret_promote(v, P, "tok", -1, &pr), -ENOENT);
        assert_int_equal(rotate(v, "tok", "two", 600), 2);
        /* A second rotation replaces the pending one, above it. */
        assert_int_equal(rotate(v, "tok", "three", 900), 3);
        assert_stage(v, "tok", RECORD_STAGE_PENDING, "three", 3);
        assert_stage(v, "tok", RECORD_STAGE_CURRENT, "one", 1);
        assert_int_equal(verify(v, "tok", "three"), -1);
        assert_int_equal(verify(v, "tok", "one"), RECORD_STAGE_CURRENT);

        /* The staged grace applies. */
        assert_int_equal(vault_secret_promote(v, P, "tok", -1, &pr), 0);
        assert_int_equal(pr.version, 3);
        assert_int_equal(pr.previous_version, 1);
        assert_int_equal(pr.grace, 900);
        assert_true(pr.previous_deadline >= now + 900 && pr.previous_deadline <= now_s() + 900);
        assert_stage(v, "tok", RECORD_STAGE_CURRENT, "three", 3);
        assert_stage(v, "tok", RECORD_STAGE_PREVIOUS, "one", 1);
        assert_stage(v, "tok", RECORD_STAGE_PENDING, NULL, 0);
        assert_int_equal(verify(v, "tok", "three"), RECORD_STAGE_CURRENT);
        assert_int_equal(verify(v, "tok", "one"), RECORD_STAGE_PREVIOUS);
        assert_int_equal(verify(v, "tok", "two"), -1);

        /* Next rotation: the old previous goes, the grace given wins. */
        assert_int_equal(rotate(v, "tok", "four", 900), 4);
        assert_int_equal(vault_secret_promote(v, P, "tok", 60, &pr), 0);
        assert_int_equal(pr.previous_version, 3);
        assert_int_equal(pr.grace, 60);
        assert_int_equal(verify(v, "tok", "one"), -1);
        assert_int_equal(verify(v, "tok", "three"), RECORD_STAGE_PREVIOUS);

        /* History: newest first, no values. */
        assert_int_equal(rotate(v, "tok", "five", 30), 5);
        StoredStage h[3];
        size_t n = 0;
        assert_int_equal(vault_secret_history(v, P, "tok", h, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(h[0].stage, RECORD_STAGE_PENDING);
        assert_int_equal(h[0].version, 5);
        assert_int_equal(h[0].grace, 30);
        assert_int_equal(h[1].stage, RECORD_STAGE_CURRENT);
        assert_int_equal(h[1].version, 4);
        assert_int_equal(h[2].stage, RECORD_STAGE_PREVIOUS);
        assert_int_equal(h[2].version, 3);
        assert_int_equal(h[2].deadline, pr.previous_deadline);
        for (size_t i = 0; i < n; i++)
                assert_null(h[i].sealed);

        /* Everything as it was after a reopen. */
        vault_fixture_close_db(f);
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        v = f->vault;
        assert_stage(v, "tok", RECORD_STAGE_PENDING, "five", 5);
        assert_stage(v, "tok", RECORD_STAGE_CURRENT, "four", 4);
        assert_stage(v, "tok", RECORD_STAGE_PREVIOUS, "three", 3);
        assert_int_equal(verify(v, "tok", "three"), RECORD_STAGE_PREVIOUS);

        /* Delete takes every stage. */
        assert_int_equal(vault_secret_delete(v, P, "tok"), 0);
        assert_stage(v, "tok", RECORD_STAGE_PENDING, NULL, 0);
        assert_stage(v, "tok", RECORD_STAGE_PREVIOUS, NULL, 0);
        assert_int_equal(vault_secret_history(v, P, "tok", h, &n), -ENOENT);
        assert_int_equal(vault_secret_delete(v, P, "tok"), -ENOENT);
}

static void test_first_version_and_generate(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        SecretBuf *gen = NULL;
        StoredStage meta = {};
        VaultPromoted pr;

        assert_int_equal(vault_secret_rotate(v, P, "new", NULL, 0, 32, 10, &gen, &meta), 0);
        assert_int_equal(meta.version, 1);
        assert_int_equal(gen->size, 43);
        assert_int_equal(vault_secret_promote(v, P, "new", -1, &pr), 0);
        assert_int_equal(pr.version, 1);
        assert_int_equal(pr.previous_version, 0);
        assert_int_equal(pr.previous_deadline, 0);
        assert_stage(v, "new", RECORD_STAGE_PREVIOUS, NULL, 0);
        Presented p = { .value = gen->data, .size = gen->size };
        bool match = false;
        assert_int_equal(vault_secret_verify(v, P, "new", &p, &match, NULL), 0);
        assert_true(match);
        secret_buf_free(gen);

        /* A put while a version is pending goes above it. */
        assert_int_equal(rotate(v, "new", "pending", 10), 2);
        StoredRecord m = {};
        assert_int_equal(vault_secret_put(v, P, "new", (const uint8_t *) "put", 3, &m), 0);
        assert_int_equal(m.version, 3);
        assert_int_equal(rotate(v, "new", "again", 10), 4);
}

static void test_deadline_and_sweep(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        VaultPromoted pr, pra;
        AuditEntry tmpl = { .op = "secret.expire" }, *removed = NULL;
        size_t n = 0;

        put(v, "a", "a1");
        rotate(v, "a", "a2", 0);
        put(v, "b", "b1");
        rotate(v, "b", "b2", 3600);
        assert_int_equal(vault_secret_next_deadline(v), 0);
        /* Grace 0: the previous version is gone at once. */
        assert_int_equal(vault_secret_promote(v, P, "a", -1, &pra), 0);
        assert_int_equal(vault_secret_promote(v, P, "b", -1, &pr), 0);
        assert_int_equal(vault_secret_next_deadline(v), pra.previous_deadline);
        assert_int_equal(verify(v, "a", "a1"), -1);
        assert_stage(v, "a", RECORD_STAGE_PREVIOUS, NULL, 0);
        assert_int_equal(verify(v, "b", "b1"), RECORD_STAGE_PREVIOUS);

        /* Not due yet: nothing. */
        assert_int_equal(vault_secret_sweep(v, pra.previous_deadline - 1, 10, &tmpl, &removed, &n), 0);
        assert_int_equal(n, 0);
        /* Due: a's previous goes, with its record; b's stays. */
        assert_int_equal(vault_secret_sweep(v, now_s(), 10, &tmpl, &removed, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(removed[0].plugin, P);
        assert_string_equal(removed[0].object, "a");
        assert_string_equal(removed[0].result, "ok");
        free(removed);
        assert_int_equal(vault_secret_next_deadline(v), pr.previous_deadline);
        AuditFilter af = { .op = "secret.expire", .uid = -1 };
        AuditEntry *records = NULL;
        size_t n_records = 0;
        int64_t next = 0;
        assert_int_equal(vault_audit_list(v, &af, 0, 10, &records, &n_records, &next), 0);
        assert_int_equal(n_records, 1);
        assert_string_equal(records[0].object, "a");
        free(records);
        assert_stage(v, "a", RECORD_STAGE_CURRENT, "a2", 2);
        assert_int_equal(verify(v, "b", "b1"), RECORD_STAGE_PREVIOUS);

        /* An hour on, b's too. */
        assert_int_equal(vault_secret_sweep(v, pr.previous_deadline, 10, &tmpl, &removed, &n), 0);
        assert_int_equal(n, 1);
        free(removed);
        assert_int_equal(vault_secret_next_deadline(v), 0);
        AuditVerify av;
        assert_int_equal(vault_audit_verify(v, &av), 0);
}

static void test_oauth_client_secret(void **state) {
        VaultFixture *f = *state;
        Vault *v = f->vault;
        VaultPromoted pr;
        bool match = false;

        put(v, "client_id", "cid");
        put(v, "client_secret", "old-cs");
        rotate(v, "client_secret", "new-cs", 600);
        assert_int_equal(vault_oauth_client_check(v, P, "cid", "new-cs", NULL, &match, NULL), 0);
        assert_false(match);
        assert_int_equal(vault_secret_promote(v, P, "client_secret", -1, &pr), 0);
        assert_int_equal(vault_oauth_client_check(v, P, "cid", "new-cs", NULL, &match, NULL), 0);
        assert_true(match);
        assert_int_equal(vault_oauth_client_check(v, P, "cid", "old-cs", NULL, &match, NULL), 0);
        assert_true(match);
        assert_int_equal(vault_oauth_client_check(v, P, "other", "old-cs", NULL, &match, NULL), 0);
        assert_false(match);
        /* Basic: "cid:old-cs". */
        assert_int_equal(vault_oauth_client_check(v, P, NULL, NULL, "Basic Y2lkOm9sZC1jcw==", &match, NULL), 0);
        assert_true(match);
        /* Promoted again with no grace: the old one no longer. */
        rotate(v, "client_secret", "newer-cs", 0);
        assert_int_equal(vault_secret_promote(v, P, "client_secret", -1, &pr), 0);
        assert_int_equal(vault_oauth_client_check(v, P, "cid", "old-cs", NULL, &match, NULL), 0);
        assert_false(match);
        assert_int_equal(vault_oauth_client_check(v, P, "cid", "new-cs", NULL, &match, NULL), 0);
        assert_false(match);
}

int main(void) {
        if (unit_vault_init() < 0)
                return 1;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_rotate_promote, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_first_version_and_generate, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_deadline_and_sweep, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_oauth_client_secret, setup_vault, teardown_vault),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
