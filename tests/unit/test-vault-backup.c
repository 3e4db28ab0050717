/* test-vault-backup.c — the vault's online backup and whole-vault check
 * (vault-backup.c, vault-verify.c, with store-backup.c and
 * store-verify.c under them).
 *
 * A backup made in small steps with writes between them holds those
 * writes; its temporary file is gone when it ends or is freed half-way;
 * the copy opens under the root key and vault_verify() passes it and
 * counts every kind of record. A flipped ciphertext byte, a plugin row
 * edited, an audit record removed are each -EUCLEAN with words saying
 * what. A table of staged versions this build does not know is opened
 * generically (as a secret's versions), or counted as unchecked. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit-sql.h"
#include "unit-vault.h"

static void put(Vault *v, const char *name, const char *value) {
        assert_int_equal(vault_secret_put(v, "p", name, (const uint8_t *) value, strlen(value), NULL), 0);
}

static void fill(Vault *v, int n) {
        for (int i = 0; i < n; i++) {
                char name[32], value[64];
                snprintf(name, sizeof(name), "s%05d", i);
                snprintf(value, sizeof(value), "value %d, long enough to fill pages", i);
                put(v, name, value);
        }
}

static bool temp_exists(const VaultFixture *f) {
        char path[512];
        snprintf(path, sizeof(path), "%s.backup-tmp", f->db_path);
        return access(path, F_OK) == 0;
}

/* A backup of f's vault into dir/name, n_pages a step, a write between
 * two steps that copy pages; returns the number of those writes. */
static int backup(VaultFixture *f, const char *name, unsigned n_pages, char **ret_path) {
        char *path = path_join(f->dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        VaultBackup *b = NULL;
        int steps = 0, r;

        assert_true(fd >= 0);
        assert_int_equal(vault_backup_start(f->vault, fd, &b), 0);
        while ((r = vault_backup_step(b, n_pages)) > 0) {
                VaultBackupInfo p;
                vault_backup_progress(b, &p);
                /* Once the pages are copied, the copy is what it is. */
                if (p.copying_file)
                        continue;
                char w[32];
                snprintf(w, sizeof(w), "during-%d", steps++);
                put(f->vault, w, w);
        }
        assert_int_equal(r, 0);
        VaultBackupInfo info;
        vault_backup_progress(b, &info);
        assert_true(info.copying_file);
        assert_int_equal(info.bytes, info.bytes_done);
        assert_true(info.records > 0);
        vault_backup_free(b);
        assert_false(temp_exists(f));
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((uint64_t) st.st_size, info.bytes);
        *ret_path = path;
        return steps;
}

/* Open path (a copy) under f's root key and check it. */
static int copy_verify(VaultFixture *f, const char *path, VaultVerify *ret) {
        Vault *v = NULL;
        uint8_t *key = root_key_dup(f->root);
        assert_non_null(key);
        int r = vault_open(path, key, 0, &v, NULL);
        if (r < 0)
                return r;
        r = vault_verify(v, ret);
        vault_free(v);
        return r;
}

static void test_backup_in_steps(void **state) {
        VaultFixture *f = *state;
        char *path = NULL;
        VaultVerify vv;

        fill(f->vault, 2000);
        assert_int_equal(vault_apikey_put(f->vault, "p", "alice", (const uint8_t *) "key-a", 5, NULL), 0);
        int steps = backup(f, "copy.db", 4, &path);
        assert_true(steps > 3);
        assert_int_equal(copy_verify(f, path, &vv), 0);
        /* Every write made between steps is in the copy. */
        assert_int_equal(vv.secrets, 2000 + steps);
        assert_int_equal(vv.apikeys, 1);
        assert_int_equal(vv.keks, 1);
        assert_true(vv.audit.records >= 0);
        assert_int_equal(vv.others, 0);
        free(path);
}

static void test_backup_freed_halfway(void **state) {
        VaultFixture *f = *state;
        VaultBackup *b = NULL;

        fill(f->vault, 500);
        char *path = path_join(f->dir, "half.db");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_int_equal(vault_backup_start(f->vault, fd, &b), 0);
        assert_int_equal(vault_backup_step(b, 1), 1);
        assert_true(temp_exists(f));
        vault_backup_free(b);
        assert_false(temp_exists(f));
        /* A start after a crash: what a killed backup left is removed. */
        char *temp = NULL;
        assert_true(asprintf(&temp, "%s.backup-tmp", f->db_path) > 0);
        assert_int_equal(file_write_all(temp, "junk", 4, 0600), 0);
        assert_int_equal(vault_backup_clean(f->db_path), 1);
        assert_int_equal(vault_backup_clean(f->db_path), 0);
        free(temp);
        free(path);
}

static void test_verify_finds_tampering(void **state) {
        VaultFixture *f = *state;
        char *path = NULL, *bad = NULL;
        VaultVerify vv;
        uint8_t *data = NULL;
        size_t size = 0;

        fill(f->vault, 50);
        for (int i = 0; i < 5; i++) {
                AuditEntry e = { .time_usec = 1000 + i };
                snprintf(e.op, sizeof(e.op), "health");
                snprintf(e.result, sizeof(e.result), "ok");
                assert_int_equal(vault_audit_add(f->vault, &e), 0);
        }
        assert_int_equal(vault_audit_flush(f->vault), 0);
        backup(f, "good.db", 1000, &path);
        assert_int_equal(file_read_all(path, &data, &size), 0);
        bad = path_join(f->dir, "bad.db");

        /* A ciphertext byte. */
        assert_int_equal(file_write_all(bad, data, size, 0600), 0);
        sqlite3 *db = db_open_independent(bad);
        sqlite3_stmt *st = NULL;
        uint8_t sealed[512];
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT sealed FROM secret WHERE name = 's00007'", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int n = sqlite3_column_bytes(st, 0);
        memcpy(sealed, sqlite3_column_blob(st, 0), (size_t) n);
        sqlite3_finalize(st);
        sealed[n - 3] ^= 0x80;
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE secret SET sealed = ?1 WHERE name = 's00007'", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_blob(st, 1, sealed, n, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqlite3_close(db);
        assert_int_equal(copy_verify(f, bad, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "secret p/s00007 version 1 does not decrypt"));

        /* A record moved under another name. */
        assert_int_equal(unlink(bad), 0);
        assert_int_equal(file_write_all(bad, data, size, 0600), 0);
        assert_int_equal(sql_exec(bad, "UPDATE secret SET name = 's99999' WHERE name = 's00003'"), 1);
        assert_int_equal(copy_verify(f, bad, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "s99999"));

        /* An audit record removed. */
        assert_int_equal(unlink(bad), 0);
        assert_int_equal(file_write_all(bad, data, size, 0600), 0);
        assert_int_equal(sql_exec(bad, "DELETE FROM audit WHERE seq = (SELECT min(seq) + 1 FROM audit)"), 1);
        assert_int_equal(copy_verify(f, bad, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "audit trail"));

        /* A count edited (what health and status would report). */
        assert_int_equal(unlink(bad), 0);
        assert_int_equal(file_write_all(bad, data, size, 0600), 0);
        assert_int_equal(sql_exec(bad, "UPDATE record_count SET n = n + 1 WHERE kind = 'secret'"), 1);
        assert_int_equal(copy_verify(f, bad, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "the secret count says 51, the table holds 50"));

        /* Another root key. */
        uint8_t other[TEST_ROOT_KEY_SIZE];
        randombytes_buf(other, sizeof(other));
        Vault *v = NULL;
        assert_int_equal(vault_open(path, root_key_dup(other), 0, &v, NULL), -EKEYREJECTED);
        free(data);
        free(bad);
        free(path);
}

/* Staged versions (secret_stage) are opened as their secret's version,
 * and their rows (stage, deadline, grace) authenticated. */
static void test_verify_other_tables(void **state) {
        VaultFixture *f = *state;
        char *path = NULL;
        VaultVerify vv;
        VaultPromoted p;

        fill(f->vault, 20);
        for (int i = 0; i < 5; i++) {
                char name[32];
                snprintf(name, sizeof(name), "s%05d", i);
                assert_int_equal(
                        vault_secret_rotate(f->vault, "p", name, (const uint8_t *) "next", 4, 0, 60, NULL, NULL), 0);
        }
        /* One promoted: a previous version with a deadline. */
        assert_int_equal(vault_secret_promote(f->vault, "p", "s00004", 2, &p), 0);
        backup(f, "stage.db", 1000, &path);
        assert_int_equal(copy_verify(f, path, &vv), 0);
        assert_int_equal(vv.others, 5);
        /* One of them altered: damaged. */
        sql_exec(path, "UPDATE secret_stage SET version = 7 WHERE name = 's00002'");
        assert_int_equal(copy_verify(f, path, &vv), -EUCLEAN);
        assert_non_null(strstr(vv.problem, "secret_stage"));
        /* All of them moved: damaged as well. */
        sql_exec(path, "UPDATE secret_stage SET version = version + 100");
        assert_int_equal(copy_verify(f, path, &vv), -EUCLEAN);
        free(path);

        /* A previous version's deadline pushed out, or a pending one's
         * grace changed: the bytes still open, the row's MAC does not. */
        static const char *const edits[] = {
                "UPDATE secret_stage SET deadline = 4102444800 WHERE stage = 'previous'",
                "UPDATE secret_stage SET grace = 0 WHERE name = 's00001'",
                "UPDATE secret_stage SET created_at = 1 WHERE name = 's00001'",
        };
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                char name[32];
                snprintf(name, sizeof(name), "stage-%zu.db", i);
                backup(f, name, 1000, &path);
                sql_exec(path, edits[i]);
                assert_int_equal(copy_verify(f, path, &vv), -EUCLEAN);
                if (!strstr(vv.problem, "fails its MAC"))
                        fail_msg("%s: %s", edits[i], vv.problem);
                free(path);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_backup_in_steps, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_backup_freed_halfway, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_verify_finds_tampering, setup_vault, teardown_vault),
                cmocka_unit_test_setup_teardown(test_verify_other_tables, setup_vault, teardown_vault),
        };
        if (unit_vault_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
