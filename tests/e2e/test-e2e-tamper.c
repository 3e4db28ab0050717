/* test-e2e-tamper.c — the database changed behind a stopped daemon.
 *
 * Someone who can write the database file but has no root key edits it
 * while the daemon is stopped, and the restarted daemon must notice rather
 * than act on the change: a plugin's authorization_type flipped (its auth
 * block and its scheme column) makes secret.verify, manifest.auth and
 * plugin.get answer `corrupt`, never a match in the new scheme, until the
 * plugin is deleted and registered again; a token set's expiry moved
 * makes token.get `corrupt`; and the keyring's rows deleted while records
 * remain keep the daemon from starting (exit 6) under any root key,
 * leaving the file as it was. An upgraded vault made to look like one from
 * before metadata MACs (the key check of a backup from before the upgrade
 * put back, the MAC key and columns dropped, user_version 3) with a plugin
 * row altered is refused (exit 5, naming --trust-metadata-upgrade) and
 * left as it was; only with that option is it upgraded, the daemon saying
 * how many rows it trusted. The reviewer's PoCs (findings 1 and 2): a
 * backup copy with the recovery key's public half planted, or a trigger
 * that puts deleted secrets back, fails --verify-backup and --restore
 * (exit 6, saying which); a trigger, view, table or altered index in the
 * live file stops the start (exit 6, named in the log); recovery_public
 * planted in the live file makes key.rotate_root and key.recovery
 * `corrupt`, sealing nothing; a previous version's deadline moved makes
 * secret.verify `corrupt`, never a match, and the copy fail to verify.
 * The edits go through SQLite's own library, as a tool like sqlite3(1)
 * would make them. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "credvault.h"
#include "harness.h"

/* daemon/main.c's database file in the state directory. */
#define DB_FILE "credvault.db"
/* daemon/options.h: the database is unusable (or needs an upgrade not
 * asked for); it fails its integrity check. */
#define EXIT_STATE_DIR 5
#define EXIT_CORRUPT 6

#define BASIC_MANIFEST                                                                                                 \
        "{\"schema_version\":\"v1\",\"name_for_model\":\"svc\","                                                       \
        "\"auth\":{\"type\":\"service_http\",\"authorization_type\":\"basic\","                                        \
        "\"verification_tokens\":{\"openai\":\"vt-1\"}},"                                                              \
        "\"api\":{\"type\":\"openapi\",\"url\":\"https://svc.example.com/openapi.yaml\"}}"
#define TOKEN_VALUE "dXNlcjpwYXNzd29yZA=="

/* Run SQL on the stopped daemon's database; returns the rows changed. */
static int db_exec(const Harness *h, const char *sql) {
        char path[256];
        sqlite3 *db = NULL;
        char *err = NULL;

        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        int n = sqlite3_changes(db);
        sqlite3_close(db);
        return n;
}

static CvClient *client(const Harness *h) {
        CvClient *c = NULL;
        assert_int_equal(cv_client_new(h->socket_path, 5000, &c), 0);
        return c;
}

/* One request on a raw connection; the reply must carry this error code. */
static void assert_reply_code(const Harness *h, const char *request, const char *code) {
        char want[64], *reply = NULL;
        int fd = harness_connect_raw(h);
        assert_true(fd >= 0);
        assert_int_equal(harness_send_frame(fd, request, strlen(request)), 0);
        assert_int_equal(harness_recv_frame(fd, 5000, &reply), 0);
        snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
        if (!strstr(reply, want))
                fail_msg("%s: want %s, got %s", request, code, reply);
        free(reply);
        close(fd);
}

static void test_plugin_scheme_flipped(void **state) {
        (void) state;
        Harness h = {};
        int64_t version = 0;

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_plugin_register(c, BASIC_MANIFEST, NULL, NULL, NULL), 1);
        assert_int_equal(cv_secret_put(c, "svc", "service_token", TOKEN_VALUE, strlen(TOKEN_VALUE), NULL), 0);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Basic " TOKEN_VALUE, &version), 1);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Bearer " TOKEN_VALUE, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        /* The plugin's authorization_type made bearer, in its auth block
         * and in the column the checks read. */
        assert_int_equal(db_exec(&h, "UPDATE plugin SET auth_scheme = 'bearer', "
                                     "auth_public = json_set(auth_public, '$.authorization_type', 'bearer') "
                                     "WHERE name = 'svc'"),
                         1);
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Bearer " TOKEN_VALUE, NULL), -EUCLEAN);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Basic " TOKEN_VALUE, NULL), -EUCLEAN);
        assert_reply_code(&h,
                          "{\"id\":1,\"op\":\"secret.verify\",\"plugin\":\"svc\",\"name\":\"service_token\","
                          "\"authorization\":\"Bearer " TOKEN_VALUE "\"}",
                          "corrupt");
        assert_reply_code(&h, "{\"id\":1,\"op\":\"manifest.auth\",\"plugin\":\"svc\"}", "corrupt");
        assert_reply_code(&h, "{\"id\":1,\"op\":\"plugin.get\",\"plugin\":\"svc\"}", "corrupt");

        /* Deleted and registered again, it is the registration's again. */
        assert_int_equal(cv_plugin_delete(c, "svc"), 0);
        assert_int_equal(cv_plugin_register(c, BASIC_MANIFEST, NULL, NULL, NULL), 1);
        assert_int_equal(cv_secret_put(c, "svc", "service_token", TOKEN_VALUE, strlen(TOKEN_VALUE), NULL), 0);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Basic " TOKEN_VALUE, NULL), 1);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Bearer " TOKEN_VALUE, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void test_token_expiry_moved(void **state) {
        (void) state;
        Harness h = {};
        CvToken *t = NULL;
        CvToken tok = { .access_token = "at-1", .token_type = "Bearer", .expires_at = 4102444800 };

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_token_put(c, "svc", "alice", &tok, NULL), 0);
        assert_int_equal(cv_token_get(c, "svc", "alice", &t), 0);
        cv_token_free(t);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        assert_int_equal(db_exec(&h, "UPDATE token SET expires_at = expires_at + 1 WHERE name = 'alice'"), 1);
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        t = NULL;
        assert_int_equal(cv_token_get(c, "svc", "alice", &t), -EUCLEAN);
        assert_null(t);
        assert_reply_code(&h, "{\"id\":1,\"op\":\"token.get\",\"plugin\":\"svc\",\"user\":\"alice\"}", "corrupt");
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* The whole file, to compare. */
static void read_db(const Harness *h, char **ret, size_t *ret_size) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        assert_int_equal(harness_read_file(path, ret, ret_size), 0);
}

static void test_keyring_rows_deleted(void **state) {
        (void) state;
        Harness h = {};
        char *before = NULL, *after = NULL;
        size_t before_size = 0, after_size = 0;

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_secret_put(c, "svc", "s", "v", 1, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        db_exec(&h, "PRAGMA foreign_keys = OFF; DELETE FROM meta; DELETE FROM kek");
        read_db(&h, &before, &before_size);
        /* Under its own root key and under a new one. */
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, EXIT_CORRUPT);
        uint8_t key[32];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, key, sizeof(key)), sizeof(key));
        close(fd);
        fd = open(h.key_file, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, key, sizeof(key)), sizeof(key));
        close(fd);
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, EXIT_CORRUPT);
        read_db(&h, &after, &after_size);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);
        harness_cleanup(&h);
}

/* The daemon's log since the last truncation, NUL-terminated. */
static char *daemon_log(const Harness *h) {
        char *data = NULL, *text;
        size_t size = 0;
        assert_int_equal(harness_read_file(h->log_file, &data, &size), 0);
        text = strndup(data, size);
        free(data);
        assert_non_null(text);
        return text;
}

static void assert_log_says(const Harness *h, const char *want) {
        char *log = daemon_log(h);
        if (!strstr(log, want))
                fail_msg("the daemon did not say '%s'; it said: %s", want, log);
        free(log);
}

/* The reviewer's downgrade (a database writer with a copy of the file from
 * before the metadata upgrade): the old key-check value put back, the MAC
 * key and the MAC columns dropped, user_version 3, and the plugin's scheme
 * changed. The daemon used to take that for a vault from before MACs and
 * MAC the altered row. Its root key makes the old key-check value here, as
 * a backup would hold it (keyring.h: BLAKE2b of the label, keyed by it). */
static void test_metadata_downgrade(void **state) {
        (void) state;
        Harness h = {};
        CvToken tok = { .access_token = "at-1", .token_type = "Bearer", .expires_at = 4102444800 };
        char *key = NULL, *before = NULL, *after = NULL, sql[1024], hex[2 * 32 + 1];
        size_t key_size = 0, before_size = 0, after_size = 0;
        uint8_t v1[32];

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_plugin_register(c, BASIC_MANIFEST, NULL, NULL, NULL), 1);
        assert_int_equal(cv_secret_put(c, "svc", "service_token", TOKEN_VALUE, strlen(TOKEN_VALUE), NULL), 0);
        assert_int_equal(cv_token_put(c, "svc", "alice", &tok, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        assert_int_equal(harness_read_file(h.key_file, &key, &key_size), 0);
        assert_int_equal(key_size, 32);
        crypto_generichash(v1, sizeof(v1), (const uint8_t *) "credvault key-check v1", 22, (const uint8_t *) key,
                           key_size);
        free(key);
        sodium_bin2hex(hex, sizeof(hex), v1, sizeof(v1));
        snprintf(sql, sizeof(sql),
                 "UPDATE meta SET value = X'%s' WHERE key = 'key_check'; DELETE FROM meta WHERE key = 'mac_key'; "
                 "DELETE FROM meta WHERE key = 'meta_mac'; "
                 /* what migration 9 added */
                 "DROP TABLE token_revocation; ALTER TABLE token DROP COLUMN refresh_tried_at; "
                 "ALTER TABLE token DROP COLUMN refresh_result; ALTER TABLE token DROP COLUMN refresh_next_at; "
                 "ALTER TABLE plugin DROP COLUMN mac; ALTER TABLE token DROP COLUMN mac; "
                 "DROP TABLE audit; DROP TABLE audit_anchor; "
                 "UPDATE plugin SET auth_scheme = 'bearer', "
                 "auth_public = json_set(auth_public, '$.authorization_type', 'bearer') WHERE name = 'svc'; "
                 "PRAGMA user_version = 3",
                 hex);
        db_exec(&h, sql);

        /* Refused, the file unchanged, the option named. */
        read_db(&h, &before, &before_size);
        assert_int_equal(truncate(h.log_file, 0), 0);
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, EXIT_STATE_DIR);
        read_db(&h, &after, &after_size);
        assert_int_equal(after_size, before_size);
        assert_memory_equal(after, before, before_size);
        free(before);
        free(after);
        assert_log_says(&h, "--trust-metadata-upgrade");
        assert_log_says(&h, DB_FILE);

        /* The operator vouches for the file: the rows are trusted as they
         * are, and counted. */
        h.extra_args[0] = "--trust-metadata-upgrade";
        assert_int_equal(truncate(h.log_file, 0), 0);
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        assert_int_equal(cv_secret_verify(c, "svc", "service_token", "Bearer " TOKEN_VALUE, NULL), 1);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_log_says(&h, "trusted 1 plugin rows and 1 token states");

        /* Given again, the option does nothing, and says so. */
        assert_int_equal(truncate(h.log_file, 0), 0);
        assert_int_equal(harness_restart(&h), 0);
        assert_int_equal(harness_stop(&h), 0);
        assert_log_says(&h, "needs no upgrade");
        harness_cleanup(&h);
}

/* ---- review findings 1 and 2: what a root key does not vouch for ---- */

/* credvaultd MODE FILE (--verify-backup, --restore) on the state
 * directory, under its key: the exit status, and what it said on stderr
 * in *ret_said (malloc'd). */
static int offline_said(const Harness *h, const char *mode, const char *file, char **ret_said) {
        char out[256];
        const char *argv[] = { harness_daemon_path(), mode,        file, "--state-dir", h->state_dir,
                               "--root-key-file",     h->key_file, NULL };

        snprintf(out, sizeof(out), "%s/offline.err", h->dir);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        /* The harness sends the daemon's stderr to /dev/null unless asked
         * to keep it: kept here, in the file, for this call only. */
        bool verbose = getenv("CV_TEST_VERBOSE");
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        setenv("CV_TEST_VERBOSE", "1", 1);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        int r = harness_run_daemon(argv, 60000);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        if (!verbose)
                unsetenv("CV_TEST_VERBOSE");
        char *data = NULL;
        size_t size = 0;
        assert_int_equal(harness_read_file(out, &data, &size), 0);
        *ret_said = strndup(data, size);
        free(data);
        assert_non_null(*ret_said);
        return r;
}

static void assert_offline_refused(const Harness *h, const char *mode, const char *file, const char *want) {
        char *said = NULL;
        int r = offline_said(h, mode, file, &said);
        print_message("%s %s: exit %d: %s", mode, file, r, said);
        if (r != EXIT_CORRUPT || !strstr(said, want))
                fail_msg("%s of an altered copy: want exit %d saying '%s'; got exit %d: %s", mode, EXIT_CORRUPT, want,
                         r, said);
        free(said);
}

/* A copy of the stopped daemon's database, as a backup would be, with sql
 * run on it. */
static void copy_altered(const Harness *h, const char *copy, const char *sql) {
        char vacuum[512];
        unlink(copy);
        snprintf(vacuum, sizeof(vacuum), "VACUUM INTO '%s'", copy);
        db_exec(h, vacuum);
        sqlite3 *db = NULL;
        char *err = NULL;
        assert_int_equal(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        sqlite3_close(db);
}

#define PLANT_PUBLIC "INSERT OR REPLACE INTO meta(key, value) VALUES('recovery_public', randomblob(32));"
#define KEEP_SECRET                                                                                                    \
        "CREATE TRIGGER keep_secret AFTER DELETE ON secret BEGIN INSERT INTO secret(id, plugin, name, version, "       \
        "kek_version, sealed, created_at, updated_at, expires_at) VALUES(old.id, old.plugin, old.name, old.version, "  \
        "old.kek_version, old.sealed, old.created_at, old.updated_at, old.expires_at); END;"

/* The reviewer's PoC: a backup with the recovery key's public half
 * replaced by an attacker's and a trigger that puts deleted secrets back.
 * Neither copy verifies nor restores; the daemon does not start on a
 * database with a trigger, view or table it did not make, and names it. */
static void test_altered_backup_refused(void **state) {
        (void) state;
        Harness h = {};
        char copy[256];

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_secret_put(c, "p1", "api", "sekrit-1", 8, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        snprintf(copy, sizeof(copy), "%s/altered.db", h.dir);

        /* A good copy verifies. */
        copy_altered(&h, copy, "SELECT 1");
        char *said = NULL;
        assert_int_equal(offline_said(&h, "--verify-backup", copy, &said), 0);
        free(said);

        copy_altered(&h, copy, PLANT_PUBLIC);
        assert_offline_refused(&h, "--verify-backup", copy, "recovery_public");
        assert_offline_refused(&h, "--restore", copy, "recovery_public");

        copy_altered(&h, copy, KEEP_SECRET);
        assert_offline_refused(&h, "--verify-backup", copy, "schema's trigger keep_secret");
        assert_offline_refused(&h, "--restore", copy, "schema's trigger keep_secret");

        /* Both at once, as in the PoC: the schema is checked first. */
        copy_altered(&h, copy, PLANT_PUBLIC KEEP_SECRET);
        assert_offline_refused(&h, "--restore", copy, "was altered");

        /* The daemon refuses such objects in its own database. */
        static const struct {
                const char *plant, *undo, *named;
        } objects[] = {
                { KEEP_SECRET, "DROP TRIGGER keep_secret", "trigger keep_secret is not one" },
                { "CREATE VIEW secrets AS SELECT plugin, name FROM secret", "DROP VIEW secrets",
                  "view secrets is not one" },
                { "CREATE TABLE loot(x)", "DROP TABLE loot", "table loot is not one" },
                { "DROP INDEX secret_kek; CREATE INDEX secret_kek ON secret(name)",
                  "DROP INDEX secret_kek; CREATE INDEX secret_kek ON secret(kek_version)", "index secret_kek differs" },
        };
        for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
                db_exec(&h, objects[i].plant);
                int r = harness_restart(&h);
                if (r != -ECHILD || h.exit_status != EXIT_CORRUPT)
                        fail_msg("a start with %s: want exit %d, got %d (status %d)", objects[i].plant, EXIT_CORRUPT, r,
                                 h.exit_status);
                assert_log_says(&h, objects[i].named);
                db_exec(&h, objects[i].undo);
        }
        /* Nothing was restored: a delete stays done. */
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        assert_int_equal(cv_secret_delete(c, "p1", "api"), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        CvSecret *sec = NULL;
        assert_int_equal(cv_secret_get(c, "p1", "api", &sec), -ENOENT);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* The PoC's second half: with recovery_public planted in the live file,
 * the daemon does not start (exit 6, the rows named), so no root key
 * rotation can seal anything to it; the file keeps no sealed root key. */
static void test_recovery_public_planted(void **state) {
        (void) state;
        Harness h = { .dev = true };

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_secret_put(c, "p1", "api", "sekrit-1", 8, NULL), 0);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        assert_int_equal(db_exec(&h, PLANT_PUBLIC), 1);

        assert_int_equal(truncate(h.log_file, 0), 0);
        assert_int_equal(harness_restart(&h), -ECHILD);
        assert_int_equal(h.exit_status, EXIT_CORRUPT);
        assert_log_says(&h, "recovery_public");
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", h.state_dir, DB_FILE);
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM meta WHERE key = 'recovery_root'", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        harness_cleanup(&h);
}

/* Finding 2's PoC: a previous version's deadline pushed out in the file
 * (or a copy): secret.verify never accepts the old value for it, and the
 * copy does not verify. */
static void test_stage_deadline_moved(void **state) {
        (void) state;
        Harness h = {};
        CvSecretPromoted promoted;
        int64_t version = 0;
        char copy[256];

        assert_int_equal(harness_start(&h), 0);
        CvClient *c = client(&h);
        assert_int_equal(cv_secret_put(c, "svc", "key", "old-value", 9, NULL), 0);
        assert_int_equal(cv_secret_rotate(c, "svc", "key", "new-value", 9, 0, 2, NULL, NULL), 0);
        assert_int_equal(cv_secret_promote(c, "svc", "key", -1, &promoted), 0);
        assert_int_equal(cv_secret_verify_value(c, "svc", "key", "old-value", 9, &version), 1);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);

        assert_int_equal(db_exec(&h, "UPDATE secret_stage SET deadline = 4102444800 WHERE stage = 'previous'"), 1);
        snprintf(copy, sizeof(copy), "%s/stage.db", h.dir);
        copy_altered(&h, copy, "SELECT 1");
        assert_offline_refused(&h, "--verify-backup", copy, "previous version's row");

        assert_int_equal(harness_restart(&h), 0);
        c = client(&h);
        int r = cv_secret_verify_value(c, "svc", "key", "old-value", 9, &version);
        if (r == 1)
                fail_msg("the old value verifies with its deadline moved");
        assert_int_equal(r, -EUCLEAN);
        assert_reply_code(&h,
                          "{\"id\":1,\"op\":\"secret.verify\",\"plugin\":\"svc\",\"name\":\"key\","
                          "\"value\":\"b2xkLXZhbHVl\"}",
                          "corrupt");
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plugin_scheme_flipped),  cmocka_unit_test(test_token_expiry_moved),
                cmocka_unit_test(test_keyring_rows_deleted),   cmocka_unit_test(test_metadata_downgrade),
                cmocka_unit_test(test_altered_backup_refused), cmocka_unit_test(test_recovery_public_planted),
                cmocka_unit_test(test_stage_deadline_moved),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
