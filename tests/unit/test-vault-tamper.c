/* test-vault-tamper.c — what a database writer without the root key can no
 * longer do (review findings 1 and 2): daemon/store/store-schema.c,
 * daemon/vault/vault-meta-mac.c and the staged rows' MAC in vault-mac.c.
 *
 * Shows: a vault does not open (-EUCLEAN at VAULT_OPEN_SCHEMA, the problem
 * naming the object) with a trigger, view, table or index the migrations
 * did not make, one of theirs altered, or one missing; the recovery key's
 * public half swapped, or planted in a vault that had none, makes a root
 * key rotation, a new recovery key without --replace and vault_verify()
 * refuse (-EUCLEAN), and nothing is sealed to it; the vault's own rows
 * keep working across rotations; a staged row's deadline, grace or stage
 * edited is never used (get, verify, history) and is -EUCLEAN. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit-sql.h"
#include "unit-vault.h"

#define P "svc"

static void tamper_closed(VaultFixture *f, const char *sql) {
        vault_fixture_close_db(f);
        sql_exec(f->db_path, sql);
}

static void assert_open_refused(VaultFixture *f, const char *want_problem) {
        VaultOpenStep step = (VaultOpenStep) -1;
        int r = vault_fixture_open_with(f, f->root, &step);
        if (r != -EUCLEAN || step != VAULT_OPEN_SCHEMA)
                fail_msg("want -EUCLEAN at the schema step, got %d at step %d", r, (int) step);
        if (!strstr(f->opened.problem, want_problem))
                fail_msg("problem: want \"%s\" in \"%s\"", want_problem, f->opened.problem);
        assert_null(f->vault);
}

static void test_schema_objects(void **state) {
        VaultFixture *f = *state;
        static const struct {
                const char *plant, *undo, *problem;
        } cases[] = {
                { "CREATE TRIGGER keep_secret AFTER DELETE ON secret BEGIN INSERT INTO secret(id, plugin, name, "
                  "version, kek_version, sealed, created_at, updated_at) VALUES(old.id, old.plugin, old.name, "
                  "old.version, old.kek_version, old.sealed, old.created_at, old.updated_at); END",
                  "DROP TRIGGER keep_secret", "trigger keep_secret is not one" },
                { "CREATE VIEW v AS SELECT * FROM secret", "DROP VIEW v", "view v is not one" },
                { "CREATE TABLE extra(x)", "DROP TABLE extra", "table extra is not one" },
                { "CREATE INDEX extra_i ON secret(name)", "DROP INDEX extra_i", "index extra_i is not one" },
                { "DROP INDEX secret_kek", "CREATE INDEX secret_kek ON secret(kek_version)",
                  "index secret_kek is missing" },
                { "DROP INDEX secret_kek; CREATE INDEX secret_kek ON secret(version)",
                  "DROP INDEX secret_kek; CREATE INDEX secret_kek ON secret(kek_version)", "index secret_kek differs" },
                { "DROP TRIGGER apikey_lookup_forget", APIKEY_LOOKUP_FORGET,
                  "trigger apikey_lookup_forget is missing" },
                { "CREATE TRIGGER \"odd\x01name\" AFTER DELETE ON secret BEGIN SELECT 1; END",
                  "DROP TRIGGER \"odd\x01name\"", "trigger odd\\x01name is not one" },
                /* Named like ANALYZE's tables: SQLite refuses to CREATE it,
                 * but loads it from a written sqlite_schema row and runs
                 * it (the re-review's bypass of the first allowlist). */
                { "PRAGMA writable_schema = ON; INSERT INTO sqlite_schema VALUES ('trigger', 'sqlite_stat_keep', "
                  "'secret', 0, 'CREATE TRIGGER sqlite_stat_keep AFTER DELETE ON secret BEGIN SELECT 1; END')",
                  "PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'sqlite_stat_keep'",
                  "trigger sqlite_stat_keep is not one" },
                { "PRAGMA writable_schema = ON; INSERT INTO sqlite_schema VALUES ('view', 'sqlite_stat1', "
                  "'sqlite_stat1', 0, 'CREATE VIEW sqlite_stat1 AS SELECT 1 AS tbl, 2 AS idx, 3 AS stat')",
                  "PRAGMA writable_schema = ON; DELETE FROM sqlite_schema WHERE name = 'sqlite_stat1'",
                  "view sqlite_stat1 is not one" },
        };

        assert_int_equal(vault_secret_put(f->vault, P, "s", (const uint8_t *) "v", 1, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tamper_closed(f, cases[i].plant);
                assert_open_refused(f, cases[i].problem);
                /* Put back as the migrations made it: opens again. */
                sql_exec(f->db_path, cases[i].undo);
                assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        }
        /* The statistics ANALYZE keeps change plans only. */
        tamper_closed(f, "ANALYZE");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
}

static int64_t meta_size(VaultFixture *f, const char *key) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT coalesce((SELECT length(value) FROM meta WHERE key = '%s'), -1)", key);
        return sql_file_int(f->db_path, sql);
}

static uint8_t *other_key(void) {
        uint8_t raw[TEST_ROOT_KEY_SIZE];
        randombytes_buf(raw, sizeof(raw));
        return root_key_dup(raw);
}

/* The vault does not open: the MAC is checked at open (so nothing is
 * ever sealed to a planted key), before anything else uses the rows. */
static void assert_meta_refused(VaultFixture *f) {
        VaultOpenStep step = (VaultOpenStep) -1;
        assert_int_equal(vault_fixture_open_with(f, f->root, &step), -EUCLEAN);
        assert_int_equal(step, VAULT_OPEN_META);
}

/* A public key of 32 bytes of the attacker's. */
#define PLANT_PUBLIC "INSERT OR REPLACE INTO meta(key, value) VALUES('recovery_public', zeroblob(32))"

static void test_recovery_public_swapped(void **state) {
        VaultFixture *f = *state;
        SecretBuf *text = NULL;
        VaultVerify vv;

        /* The vault's own recovery key and rotations keep working. */
        assert_int_equal(vault_recovery_create(f->vault, false, &text), 0);
        secret_buf_free(text);
        text = NULL;
        assert_int_equal(vault_recovery_create(f->vault, false, &text), -EEXIST);
        uint8_t *next = other_key();
        uint8_t saved[TEST_ROOT_KEY_SIZE];
        memcpy(saved, next, sizeof(saved));
        assert_int_equal(vault_root_rotate_to(f->vault, next, NULL), 0);
        memcpy(f->root, saved, sizeof(saved));
        assert_int_equal(vault_verify(f->vault, &vv), 0);
        assert_int_equal(vault_fixture_reopen(f), 0);
        assert_int_equal(vault_recovery_create(f->vault, true, &text), 0);
        secret_buf_free(text);
        assert_int_equal(vault_verify(f->vault, &vv), 0);

        /* Swapped: refused, and nothing is sealed to it. */
        tamper_closed(f, PLANT_PUBLIC);
        assert_meta_refused(f);
        assert_int_equal(sql_file_int(f->db_path, "SELECT count(*) FROM meta WHERE key = 'recovery_public' AND "
                                                  "value = zeroblob(32)"),
                         1);
}

static void test_recovery_public_planted(void **state) {
        VaultFixture *f = *state;

        /* A vault that never had a recovery key: its MAC row covers the
         * rows' absence (made at creation). */
        vault_fixture_close_db(f);
        assert_int_equal(meta_size(f, "meta_mac"), 32);
        tamper_closed(f, PLANT_PUBLIC);
        assert_meta_refused(f);
        assert_int_equal(meta_size(f, "recovery_root"), -1);
}

static void test_meta_rows_edited(void **state) {
        VaultFixture *f = *state;
        static const char *const edits[] = {
                "UPDATE meta SET value = CAST('1' AS BLOB) WHERE key = 'root_rotated_at'",
                "DELETE FROM meta WHERE key = 'previous_key_check'",
                "DELETE FROM meta WHERE key = 'meta_mac'",
                "UPDATE meta SET value = zeroblob(length(value)) WHERE key = 'recovery_root'",
                /* Everything the MAC covers removed, the MAC too: the
                 * operator's recovery key would silently stop being sealed
                 * to (the re-review's finding). */
                "DELETE FROM meta WHERE key IN ('recovery_public', 'recovery_root', 'previous_key_check', "
                "'root_rotated_at', 'meta_mac')",
        };
        SecretBuf *text = NULL;

        assert_int_equal(vault_recovery_create(f->vault, false, &text), 0);
        secret_buf_free(text);
        uint8_t *next = other_key();
        memcpy(f->root, next, TEST_ROOT_KEY_SIZE);
        assert_int_equal(vault_root_rotate_to(f->vault, next, NULL), 0);
        vault_fixture_close_db(f);
        /* Each edit on its own, on the file as the vault left it. */
        uint8_t *pristine = NULL;
        size_t pristine_size = 0;
        assert_int_equal(file_read_all(f->db_path, &pristine, &pristine_size), 0);
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                assert_int_equal(file_write_all(f->db_path, pristine, pristine_size, 0600), 0);
                sql_exec(f->db_path, edits[i]);
                assert_meta_refused(f);
        }
        free(pristine);
}

/* ---- staged rows ---- */

static void test_stage_row_edited(void **state) {
        VaultFixture *f = *state;
        VaultPromoted p;
        SecretBuf *value = NULL;
        StoredStage meta = {};
        StoredStage hist[3];
        size_t n = 0;
        bool match = true;
        const Presented old = { .value = (const uint8_t *) "old", .size = 3 };

        assert_int_equal(vault_secret_put(f->vault, P, "s", (const uint8_t *) "old", 3, NULL), 0);
        assert_int_equal(vault_secret_rotate(f->vault, P, "s", (const uint8_t *) "new", 3, 0, 2, NULL, NULL), 0);
        assert_int_equal(vault_secret_promote(f->vault, P, "s", -1, &p), 0);
        assert_int_equal(vault_secret_verify(f->vault, P, "s", &old, &match, NULL), 0);
        assert_true(match);
        assert_int_equal(vault_secret_rotate(f->vault, P, "s", (const uint8_t *) "next", 4, 0, 5, NULL, NULL), 0);

        /* The previous version's deadline pushed out (the PoC): never
         * accepted again, whatever the clock says. */
        tamper_closed(f, "UPDATE secret_stage SET deadline = 4102444800 WHERE stage = 'previous'");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        match = true;
        int r = vault_secret_verify(f->vault, P, "s", &old, &match, NULL);
        if (r != -EUCLEAN)
                fail_msg("verify with an edited deadline: want -EUCLEAN, got %d (match %d)", r, match);
        assert_int_equal(vault_secret_get_stage(f->vault, P, "s", RECORD_STAGE_PREVIOUS, &value, &meta), -EUCLEAN);
        assert_null(value);
        assert_int_equal(vault_secret_history(f->vault, P, "s", hist, &n), -EUCLEAN);

        /* The pending one's grace edited: promote refuses, nothing moves. */
        tamper_closed(f, "DELETE FROM secret_stage WHERE version = 3; UPDATE secret_stage SET deadline = NULL, "
                         "stage = 'pending', grace = 0 WHERE stage = 'previous'");
        assert_int_equal(vault_fixture_open_with(f, f->root, NULL), 0);
        assert_int_equal(vault_secret_get_stage(f->vault, P, "s", RECORD_STAGE_PENDING, &value, &meta), -EUCLEAN);
        assert_int_equal(vault_secret_promote(f->vault, P, "s", -1, &p), -EUCLEAN);
        assert_int_equal(vault_secret_get(f->vault, P, "s", &value, NULL), 0);
        assert_secret_equal(value, "new", 3);
        secret_buf_free(value);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_objects, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_recovery_public_swapped, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_recovery_public_planted, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_meta_rows_edited, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_stage_row_edited, setup_vault, teardown_vault),
        };
        if (unit_vault_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
