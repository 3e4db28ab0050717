/* test-e2e-audit.c — the audit table, through the real socket and on disk.
 *
 * Every request leaves one record, ok or failed, as do a denied request,
 * a frame that could not be cut and a connection refused over the per-uid
 * cap; audit.list finds them by plugin, principal, op and time. No record,
 * no line of the log and no byte of the database holds a value in clear.
 * A write's record is on disk when its reply is (SIGKILL right after),
 * a read's after the batch window. audit.verify finds the chain intact,
 * and broken, at the right record, after each kind of edit behind the
 * stopped daemon's back: a field changed, a record removed, two swapped,
 * one inserted, a prefix removed with the anchor moved to hide it; a
 * real audit.prune keeps it intact. A trigger planted on the audit table
 * (one that refuses inserts, or one that silently drops some records)
 * makes the daemon refuse to start, naming it; without it all works
 * again.
 * A prune refuses to remove records that do not verify, or a forged
 * anchor, and says where; it removes nothing then. audit.list pages stay
 * within a frame however large the records (a page ends early and goes
 * on), and a filter matching few of many records reads a bounded number a
 * call: pages of none that are not the last, and the walk ends. The edits
 * go through SQLite's own library, as a tool like sqlite3(1) would make
 * them.
 *
 * The tests that need other users (test users made by the harness) are
 * skipped where those cannot be made. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "e2e-raw.h"
#include "harness.h"
#include "proto-limits.h"

#define TIMEOUT_MS 5000
/* daemon/main.c's database file in the state directory. */
#define DB_FILE "credvault.db"
/* daemon/vault/vault.h: how long a read's record may wait in the batch. */
#define AUDIT_FLUSH_MS 250

static bool have_users;
static char users_reason[512];
static uid_t uid_a;
static gid_t gid_a;

/* Sleep into the next second of the wall clock; returns that second.
 * First wait out the read batch: a read's record (stamped before the
 * boundary) still waiting in it would otherwise be written, and numbered,
 * after a write that comes after the boundary, and a prune stops at the
 * first record not older than the boundary (seen under load in the full
 * suite: prune removed 4 of 12). */
static int64_t next_second(void) {
        struct timespec ts;
        sleep_ms(AUDIT_FLUSH_MS + 50);
        clock_gettime(CLOCK_REALTIME, &ts);
        sleep_ms(1000 - ts.tv_nsec / 1000000 + 20);
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec;
}

/* ---- requests ---- */

static void expect_code(int fd, const char *members, const char *code) {
        char *text = NULL;
        json_t *j = call_text(fd, members, &text);
        if (!error_code(j) || strcmp(error_code(j), code) != 0)
                fail_msg("{%s}: want %s, got %s", members, code, text);
        free(text);
        json_decref(j);
}

static int connect_root(const Harness *h) {
        int fd = harness_connect_raw(h);
        if (fd < 0)
                fail_msg("cannot connect: %s", strerror(-fd));
        return fd;
}

/* Every record audit.list gives for the filter (JSON members, "" for
 * none), all pages: a new array. */
static json_t *audit_list(int fd, const char *filter) {
        json_t *all = json_array();
        char cursor[64] = "", members[1024];
        for (int page = 0; page < 10000; page++) {
                snprintf(members, sizeof(members), "\"op\":\"audit.list\",\"limit\":100%s%s%s%s%s", *filter ? "," : "",
                         filter, *cursor ? ",\"after\":\"" : "", cursor, *cursor ? "\"" : "");
                json_t *j = expect_ok(fd, members);
                json_t *records = json_object_get(j, "records");
                assert_true(json_is_array(records));
                assert_true(json_array_size(records) <= 100);
                json_array_extend(all, records);
                json_t *next = json_object_get(j, "next");
                if (!json_is_string(next)) {
                        assert_true(json_is_null(next));
                        json_decref(j);
                        return all;
                }
                assert_true(strlen(json_string_value(next)) < sizeof(cursor));
                snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
                json_decref(j);
        }
        fail_msg("audit.list does not end");
        return NULL;
}

static const char *str_member(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static bool str_is(const json_t *o, const char *key, const char *want) {
        const char *s = str_member(o, key);
        return want ? s && strcmp(s, want) == 0 : json_is_null(json_object_get(o, key));
}

/* The first record in records with these op, plugin, object and result
 * (NULL: any), or NULL. */
static json_t *find_record(const json_t *records, const char *op, const char *plugin, const char *object,
                           const char *result) {
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) {
                if ((!op || str_is(r, "op", op)) && (!plugin || str_is(r, "plugin", plugin)) &&
                    (!object || str_is(r, "object", object)) && (!result || str_is(r, "result", result)))
                        return r;
        }
        return NULL;
}

#define ASSERT_RECORD(records, op, plugin, object, result)                                                             \
        do {                                                                                                           \
                if (!find_record(records, op, plugin, object, result)) {                                               \
                        char *dump_ = json_dumps(records, JSON_COMPACT);                                               \
                        fail_msg("no record op=%s plugin=%s object=%s result=%s in %.4000s", op, plugin ?: "-",        \
                                 object ?: "-", result ?: "-", dump_);                                                 \
                }                                                                                                      \
        } while (0)

/* ---- the database, with the daemon stopped ---- */

static sqlite3 *db_open(const Harness *h) {
        char path[256];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/%s", h->state_dir, DB_FILE);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        return db;
}

/* Run SQL on the stopped daemon's database. */
static void db_exec(const Harness *h, const char *sql) {
        sqlite3 *db = db_open(h);
        char *err = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
        sqlite3_close(db);
}

/* One integer from a query (its first column of its first row). */
static int64_t db_int(const Harness *h, const char *sql) {
        sqlite3 *db = db_open(h);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        if (sqlite3_step(st) != SQLITE_ROW)
                fail_msg("%s: no row", sql);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static const char *const db_suffixes[] = { "", "-wal", "-shm", "-journal" };

/* Copy the database's files (those there are) to DIR/backup*, or back;
 * a file the source lacks is removed at the destination. */
static void db_copy(const Harness *h, bool restore) {
        for (size_t i = 0; i < sizeof(db_suffixes) / sizeof(db_suffixes[0]); i++) {
                char live[256], saved[256], *data = NULL;
                size_t size;
                snprintf(live, sizeof(live), "%s/%s%s", h->state_dir, DB_FILE, db_suffixes[i]);
                snprintf(saved, sizeof(saved), "%s/backup%s", h->dir, db_suffixes[i]);
                const char *from = restore ? saved : live, *to = restore ? live : saved;
                int r = harness_read_file(from, &data, &size);
                if (r == -ENOENT) {
                        assert_true(unlink(to) == 0 || errno == ENOENT);
                        continue;
                }
                assert_int_equal(r, 0);
                int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, data, size), (ssize_t) size);
                assert_int_equal(close(fd), 0);
                free(data);
        }
}

/* ---- every request, every refusal ---- */

static void test_requests_are_recorded(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) { .extra_args = { "--max-connections-per-uid", "2", NULL } });
        char *reply = NULL, filter[128];

        assert_int_equal(harness_start(h), 0);
        int fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"rec\",\"name\":\"one\",\"value\":\"eA==\"");
        expect_ok_free(fd, "\"op\":\"secret.get\",\"plugin\":\"rec\",\"name\":\"one\"");
        expect_code(fd, "\"op\":\"secret.get\",\"plugin\":\"rec\",\"name\":\"missing\"", "not_found");
        expect_code(fd, "\"op\":\"secret.put\",\"plugin\":\"rec\",\"name\":\"bad\",\"value\":17", "bad_request");
        expect_code(fd, "\"op\":\"no.such.op\",\"plugin\":\"rec\"", "unknown_op");
        expect_ok_free(fd, "\"op\":\"health\"");

        /* Frames that are no request. */
        int raw = connect_root(h);
        assert_int_equal(harness_send_frame(raw, "", 0), 0);
        assert_int_equal(harness_recv_frame(raw, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"bad_request\""));
        free(reply);
        assert_int_equal(harness_send_frame(raw, "{not json", 9), 0);
        assert_int_equal(harness_recv_frame(raw, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"bad_request\""));
        free(reply);

        /* A third connection of this uid: refused, though it sends nothing. */
        int third = connect_root(h);
        assert_int_equal(harness_recv_frame(third, TIMEOUT_MS, &reply), 0);
        assert_non_null(strstr(reply, "\"unavailable\""));
        free(reply);
        close(third);
        close(raw);

        json_t *all = audit_list(fd, "");
        ASSERT_RECORD(all, "secret.put", "rec", "one", "ok");
        ASSERT_RECORD(all, "secret.get", "rec", "one", "ok");
        assert_true(json_is_true(json_object_get(find_record(all, "secret.get", "rec", "one", "ok"), "revealed")));
        assert_true(json_is_false(json_object_get(find_record(all, "secret.put", "rec", "one", "ok"), "revealed")));
        ASSERT_RECORD(all, "secret.get", "rec", "missing", "not_found");
        ASSERT_RECORD(all, "secret.put", NULL, NULL, "bad_request");
        ASSERT_RECORD(all, "invalid", NULL, NULL, "unknown_op");
        ASSERT_RECORD(all, "health", NULL, NULL, "ok");
        ASSERT_RECORD(all, "frame", NULL, NULL, "bad_request");
        ASSERT_RECORD(all, "invalid", NULL, NULL, "bad_request");
        ASSERT_RECORD(all, "connect", NULL, NULL, "unavailable");
        /* Every record names the caller, in seq order without gaps. */
        size_t i;
        json_t *r;
        json_int_t seq = 0;
        json_array_foreach(all, i, r) {
                assert_int_equal(json_integer_value(json_object_get(r, "uid")), getuid());
                assert_int_equal(json_integer_value(json_object_get(r, "gid")), getgid());
                assert_true(json_integer_value(json_object_get(r, "pid")) > 0);
                assert_true(json_integer_value(json_object_get(r, "time_us")) > 1700000000LL * 1000000);
                if (seq)
                        assert_int_equal(json_integer_value(json_object_get(r, "seq")), seq + 1);
                seq = json_integer_value(json_object_get(r, "seq"));
        }
        json_decref(all);

        /* Filters: plugin, op, principal. */
        all = audit_list(fd, "\"plugin\":\"rec\"");
        assert_true(json_array_size(all) >= 3);
        json_array_foreach(all, i, r)
                assert_true(str_is(r, "plugin", "rec"));
        ASSERT_RECORD(all, "secret.get", "rec", "missing", "not_found");
        json_decref(all);
        all = audit_list(fd, "\"audit_op\":\"secret.get\"");
        assert_int_equal(json_array_size(all), 2);
        json_array_foreach(all, i, r)
                assert_true(str_is(r, "op", "secret.get"));
        json_decref(all);
        all = audit_list(fd, "\"audit_op\":\"connect\"");
        assert_int_equal(json_array_size(all), 1);
        json_decref(all);
        snprintf(filter, sizeof(filter), "\"principal\":\"uid:%u\"", (unsigned) getuid());
        all = audit_list(fd, filter);
        assert_true(json_array_size(all) >= 10);
        json_decref(all);
        all = audit_list(fd, "\"principal\":\"uid:4242\"");
        assert_int_equal(json_array_size(all), 0);
        json_decref(all);
        all = audit_list(fd, "\"plugin\":\"no-such-plugin\"");
        assert_int_equal(json_array_size(all), 0);
        json_decref(all);

        /* since (inclusive) and until (exclusive), in unix seconds. */
        int64_t boundary = next_second();
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"rec\",\"name\":\"later\",\"value\":\"eA==\"");
        snprintf(filter, sizeof(filter), "\"plugin\":\"rec\",\"since\":%" PRId64, boundary);
        all = audit_list(fd, filter);
        ASSERT_RECORD(all, "secret.put", "rec", "later", "ok");
        assert_null(find_record(all, "secret.put", "rec", "one", NULL));
        json_array_foreach(all, i, r)
                assert_true(json_integer_value(json_object_get(r, "time_us")) >= boundary * 1000000);
        json_decref(all);
        snprintf(filter, sizeof(filter), "\"plugin\":\"rec\",\"until\":%" PRId64, boundary);
        all = audit_list(fd, filter);
        ASSERT_RECORD(all, "secret.put", "rec", "one", "ok");
        assert_null(find_record(all, "secret.put", "rec", "later", NULL));
        json_array_foreach(all, i, r)
                assert_true(json_integer_value(json_object_get(r, "time_us")) < boundary * 1000000);
        json_decref(all);
        snprintf(filter, sizeof(filter), "\"since\":%" PRId64 ",\"until\":%" PRId64, boundary - 3600, boundary - 1800);
        all = audit_list(fd, filter);
        assert_int_equal(json_array_size(all), 0);
        json_decref(all);

        close(fd);
        assert_int_equal(harness_stop(h), 0);
}

/* A request another user makes and the policy refuses is recorded under
 * that user's uid, with the result `denied`; the principal filter finds
 * exactly that user's records. */
static void test_denied_is_recorded(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) { .socket_open = true });
        char filter[64];

        if (!have_users) {
                print_message("skipped: %s\n", users_reason);
                skip();
        }
        assert_int_equal(harness_start(h), 0); /* no policy: cvtest-a may do nothing */
        int fd = harness_connect_as(h, uid_a, gid_a);
        assert_true(fd >= 0);
        expect_code(fd, "\"op\":\"secret.get\",\"plugin\":\"alpha\",\"name\":\"s1\"", "denied");
        expect_code(fd, "\"op\":\"audit.list\"", "denied");
        expect_ok_free(fd, "\"op\":\"whoami\"");
        close(fd);

        int root = connect_root(h);
        snprintf(filter, sizeof(filter), "\"principal\":\"uid:%u\"", (unsigned) uid_a);
        json_t *all = audit_list(root, filter);
        ASSERT_RECORD(all, "secret.get", "alpha", "s1", "denied");
        ASSERT_RECORD(all, "audit.list", NULL, NULL, "denied");
        ASSERT_RECORD(all, "whoami", NULL, NULL, "ok");
        size_t i;
        json_t *r;
        json_array_foreach(all, i, r) {
                assert_int_equal(json_integer_value(json_object_get(r, "uid")), uid_a);
                assert_int_equal(json_integer_value(json_object_get(r, "gid")), gid_a);
        }
        assert_int_equal(json_array_size(all), 3);
        json_decref(all);
        /* root's own records are not among them, and are found by uid:0 */
        all = audit_list(root, "\"principal\":\"uid:0\"");
        assert_null(find_record(all, "secret.get", "alpha", "s1", NULL));
        json_decref(all);
        close(root);
        assert_int_equal(harness_stop(h), 0);
}

/* ---- never a value ---- */

static bool file_contains(const char *path, const void *needle, size_t size) {
        char *data = NULL;
        size_t n;
        if (harness_read_file(path, &data, &n) < 0)
                return false;
        bool found = memmem(data, n, needle, size) != NULL;
        free(data);
        return found;
}

static void assert_nowhere(const Harness *h, const char *needle) {
        char path[256];
        for (size_t i = 0; i < sizeof(db_suffixes) / sizeof(db_suffixes[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s%s", h->state_dir, DB_FILE, db_suffixes[i]);
                if (file_contains(path, needle, strlen(needle)))
                        fail_msg("%s holds \"%s\"", path, needle);
        }
        if (file_contains(h->log_file, needle, strlen(needle)))
                fail_msg("the log %s holds \"%s\"", h->log_file, needle);
}

static void test_no_value_in_records_log_or_file(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});
        unsigned char random[12];
        char value[64], value_b64[128], members[512], apikey[64], apikey_b64[128], access[64];

        randombytes_buf(random, sizeof(random));
        snprintf(value, sizeof(value), "needle-value-");
        sodium_bin2hex(value + strlen(value), sizeof(value) - strlen(value), random, sizeof(random));
        sodium_bin2base64(value_b64, sizeof(value_b64), (const unsigned char *) value, strlen(value),
                          sodium_base64_VARIANT_ORIGINAL);
        randombytes_buf(random, sizeof(random));
        snprintf(apikey, sizeof(apikey), "needle-key-");
        sodium_bin2hex(apikey + strlen(apikey), sizeof(apikey) - strlen(apikey), random, sizeof(random));
        sodium_bin2base64(apikey_b64, sizeof(apikey_b64), (const unsigned char *) apikey, strlen(apikey),
                          sodium_base64_VARIANT_ORIGINAL);
        randombytes_buf(random, sizeof(random));
        snprintf(access, sizeof(access), "needle-at-");
        sodium_bin2hex(access + strlen(access), sizeof(access) - strlen(access), random, sizeof(random));

        assert_int_equal(harness_start(h), 0);
        int fd = connect_root(h);
        snprintf(members, sizeof(members), "\"op\":\"secret.put\",\"plugin\":\"p\",\"name\":\"s\",\"value\":\"%s\"",
                 value_b64);
        expect_ok_free(fd, members);
        expect_ok_free(fd, "\"op\":\"secret.get\",\"plugin\":\"p\",\"name\":\"s\"");
        snprintf(members, sizeof(members), "\"op\":\"secret.verify\",\"plugin\":\"p\",\"name\":\"s\",\"value\":\"%s\"",
                 value_b64);
        expect_ok_free(fd, members);
        snprintf(members, sizeof(members),
                 "\"op\":\"secret.verify\",\"plugin\":\"p\",\"name\":\"s\","
                 "\"authorization\":\"Bearer %s\"",
                 value);
        expect_ok_free(fd, members);
        snprintf(members, sizeof(members), "\"op\":\"apikey.put\",\"plugin\":\"p\",\"user\":\"u\",\"value\":\"%s\"",
                 apikey_b64);
        expect_ok_free(fd, members);
        snprintf(members, sizeof(members), "\"op\":\"apikey.lookup\",\"plugin\":\"p\",\"value\":\"%s\"", apikey_b64);
        expect_ok_free(fd, members);
        snprintf(members, sizeof(members),
                 "\"op\":\"token.put\",\"plugin\":\"p\",\"user\":\"u\",\"token\":{\"access_token\":\"%s\","
                 "\"token_type\":\"Bearer\",\"expires_in\":3600}",
                 access);
        expect_ok_free(fd, members);
        expect_ok_free(fd, "\"op\":\"token.get\",\"plugin\":\"p\",\"user\":\"u\"");
        json_t *gen = expect_ok(fd, "\"op\":\"secret.generate\",\"plugin\":\"p\",\"name\":\"g\"");
        char generated[128];
        snprintf(generated, sizeof(generated), "%s", str_member(gen, "value"));
        json_decref(gen);
        /* A failing request carrying a value is recorded too, without it. */
        snprintf(members, sizeof(members),
                 "\"op\":\"secret.put\",\"plugin\":\"bad plugin\",\"name\":\"s\",\"value\":\"%s\"", value_b64);
        expect_code(fd, members, "bad_request");

        json_t *all = audit_list(fd, "");
        char *dump = json_dumps(all, JSON_COMPACT);
        assert_true(json_array_size(all) >= 10);
        assert_null(strstr(dump, value));
        assert_null(strstr(dump, value_b64));
        assert_null(strstr(dump, apikey));
        assert_null(strstr(dump, access));
        assert_null(strstr(dump, generated));
        free(dump);
        json_decref(all);
        close(fd);

        /* Everything written and flushed: nothing in the files either. */
        assert_int_equal(harness_stop(h), 0);
        const char *needles[] = { value, value_b64, apikey, apikey_b64, access, generated };
        for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
                assert_nowhere(h, needles[i]);
        /* The records are there, so the search looked at the right file. */
        assert_true(db_int(h, "SELECT count(*) FROM audit WHERE plugin = 'p' AND op = 'secret.put'") >= 1);
}

/* ---- audit.list: pages that fit, scans that end ---- */

/* One audit.list page: the reply, its text's size in *ret_size. */
static json_t *list_page(int fd, const char *filter, const char *after, size_t *ret_size) {
        char members[1024], *text = NULL;
        snprintf(members, sizeof(members), "\"op\":\"audit.list\",\"limit\":100%s%s%s%s%s", *filter ? "," : "", filter,
                 after ? ",\"after\":\"" : "", after ? after : "", after ? "\"" : "");
        json_t *j = call_text(fd, members, &text);
        if (!json_is_true(json_object_get(j, "ok")))
                fail_msg("{%s}: want ok, got %.300s", members, text);
        *ret_size = strlen(text);
        free(text);
        return j;
}

/* Records of ~950 bytes as JSON (a 128-byte plugin name, a user id of
 * 256 '"', each escaped): 100 of them would not fit a 64 KB frame. Anyone
 * who may connect can leave them, with requests that are refused. (The
 * policy names the user, for the default rate limit rather than a
 * stranger's, and grants it nothing on the plugin asked for.) */
static void test_large_records_page(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {
                .socket_open = true,
                .policy = "{\"version\":1,\"principals\":{\"user:" HARNESS_USER_A "\":{\"plugins\":"
                          "{\"other\":[\"read\"]}}}}\n",
        });
        char plugin[NAME_SIZE_MAX + 1], user[2 * USER_ID_SIZE_MAX + 1], members[2048], filter[256];

        memset(plugin, 'p', NAME_SIZE_MAX);
        plugin[NAME_SIZE_MAX] = 0;
        for (size_t i = 0; i < USER_ID_SIZE_MAX; i++)
                memcpy(user + 2 * i, "\\\"", 2);
        user[2 * USER_ID_SIZE_MAX] = 0;
        snprintf(members, sizeof(members), "\"op\":\"token.get\",\"plugin\":\"%s\",\"user\":\"%s\"", plugin, user);

        assert_int_equal(harness_start(h), 0);
        /* As a user without a grant where there are test users; else as
         * root, whose miss makes a record of the same size. */
        int fd = have_users ? harness_connect_as(h, uid_a, gid_a) : connect_root(h);
        assert_true(fd >= 0);
        for (int i = 0; i < 120; i++)
                expect_code(fd, members, have_users ? "denied" : "not_found");
        close(fd);

        fd = connect_root(h);
        snprintf(filter, sizeof(filter), "\"plugin\":\"%s\",\"audit_op\":\"token.get\"", plugin);
        /* Page by page: each reply fits a frame, the first stops short of
         * the limit and goes on, and the walk finds every record. */
        char after[64] = "";
        size_t found = 0, size;
        int pages = 0;
        for (;;) {
                json_t *j = list_page(fd, filter, *after ? after : NULL, &size);
                json_t *records = json_object_get(j, "records"), *next = json_object_get(j, "next"), *r;
                size_t i;
                assert_true(size <= FRAME_BODY_MAX);
                json_array_foreach(records, i, r) {
                        if (!str_is(r, "plugin", plugin) || !str_member(r, "object") ||
                            strlen(str_member(r, "object")) != USER_ID_SIZE_MAX)
                                fail_msg("not a record of the requests: %.300s", json_dumps(r, JSON_COMPACT));
                }
                found += json_array_size(records);
                if (pages++ == 0) {
                        print_message("first page: %zu records, %zu bytes\n", json_array_size(records), size);
                        assert_true(json_array_size(records) > 0 && json_array_size(records) < 100);
                        assert_true(json_is_string(next));
                }
                if (!json_is_string(next)) {
                        json_decref(j);
                        break;
                }
                snprintf(after, sizeof(after), "%s", json_string_value(next));
                json_decref(j);
                assert_true(pages < 100);
        }
        assert_int_equal(found, 120);
        /* And unfiltered, as `credvault audit` asks. */
        json_t *all = audit_list(fd, "");
        assert_true(json_array_size(all) >= 120);
        json_decref(all);
        close(fd);
        assert_int_equal(harness_stop(h), 0);
}

/* With the daemon stopped, n records of another op after the last one
 * (audit.list does not check MACs, so made-up ones do). */
static void db_add_noise(const Harness *h, int n) {
        char sql[1024];
        int64_t last = db_int(h, "SELECT max(seq) FROM audit");
        int64_t t = db_int(h, "SELECT max(time_usec) FROM audit");
        snprintf(sql, sizeof(sql),
                 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
                 "INSERT INTO audit(seq, time_usec, uid, gid, pid, unit, op, plugin, object, result, revealed, mac) "
                 "SELECT %" PRId64 " + i, %" PRId64 ", 0, 0, 1, NULL, 'health', NULL, NULL, 'ok', 0, zeroblob(32) "
                 "FROM c;",
                 n, last, t);
        db_exec(h, sql);
}

/* A filter that matches two records among 45,000: each call reads a
 * bounded number of rows, so pages come with none and a cursor. */
static void test_list_scan_bounded(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});

        assert_int_equal(harness_start(h), 0);
        int fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"needle\",\"name\":\"one\",\"value\":\"eA==\"");
        close(fd);
        assert_int_equal(harness_stop(h), 0);
        db_add_noise(h, 45000);
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"needle\",\"name\":\"two\",\"value\":\"eA==\"");

        /* Nothing matches: not one call reads them all. */
        size_t size;
        json_t *j = list_page(fd, "\"plugin\":\"nothing\"", NULL, &size);
        assert_int_equal(json_array_size(json_object_get(j, "records")), 0);
        if (!json_is_string(json_object_get(j, "next")))
                fail_msg("a page of none over 45000 records: want a cursor, got %s", json_dumps(j, JSON_COMPACT));
        json_decref(j);

        char after[64] = "";
        int pages = 0, empty = 0;
        size_t found = 0;
        int64_t prev = 0;
        for (;;) {
                j = list_page(fd, "\"plugin\":\"needle\",\"audit_op\":\"secret.put\"", *after ? after : NULL, &size);
                json_t *records = json_object_get(j, "records"), *next = json_object_get(j, "next");
                found += json_array_size(records);
                pages++;
                if (!json_is_string(next)) {
                        json_decref(j);
                        break;
                }
                empty += json_array_size(records) == 0;
                int64_t cursor = strtoll(json_string_value(next), NULL, 10);
                assert_true(cursor > prev);
                prev = cursor;
                snprintf(after, sizeof(after), "%s", json_string_value(next));
                json_decref(j);
                assert_true(pages < 100);
        }
        print_message("%d pages, %d of them empty\n", pages, empty);
        assert_int_equal(found, 2);
        assert_true(empty >= 1);
        close(fd);
        assert_int_equal(harness_stop(h), 0);
}

/* ---- durability ---- */

static void test_write_record_durable_with_reply(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});

        assert_int_equal(harness_start(h), 0);
        int fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"dur\",\"name\":\"killed-put\",\"value\":\"eA==\"");
        assert_true(harness_kill(h) >= 0);
        close(fd);
        assert_int_equal(db_int(h, "SELECT count(*) FROM audit WHERE op = 'secret.put' AND plugin = 'dur' AND "
                                   "object = 'killed-put' AND result = 'ok'"),
                         1);

        /* A read waits in the batch, at most the window. */
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.get\",\"plugin\":\"dur\",\"name\":\"killed-put\"");
        sleep_ms((AUDIT_FLUSH_MS + 750) * harness_time_scale());
        assert_true(harness_kill(h) >= 0);
        close(fd);
        assert_int_equal(db_int(h, "SELECT count(*) FROM audit WHERE op = 'secret.get' AND plugin = 'dur' AND "
                                   "object = 'killed-put' AND result = 'ok' AND revealed = 1"),
                         1);

        /* And the chain goes on after both crashes. */
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        json_t *all = audit_list(fd, "\"plugin\":\"dur\"");
        assert_int_equal(json_array_size(all), 2);
        json_decref(all);
        json_t *v = expect_ok(fd, "\"op\":\"audit.verify\"");
        assert_true(json_is_true(json_object_get(v, "intact")));
        json_decref(v);
        close(fd);
        assert_int_equal(harness_stop(h), 0);
}

/* ---- the chain ---- */

/* audit.verify on a running daemon; returns the reply. */
static json_t *verify(const Harness *h) {
        int fd = connect_root(h);
        json_t *v = expect_ok(fd, "\"op\":\"audit.verify\"");
        close(fd);
        return v;
}

static void assert_intact(const Harness *h) {
        json_t *v = verify(h);
        if (!json_is_true(json_object_get(v, "intact"))) {
                char *dump = json_dumps(v, JSON_COMPACT);
                fail_msg("audit.verify: want intact, got %s", dump);
        }
        json_decref(v);
}

/* Records of several kinds, n of them at least. */
static void make_records(const Harness *h, int n) {
        int fd = connect_root(h);
        char members[256];
        for (int i = 0; i < n; i++) {
                if (i % 3 == 0)
                        snprintf(members, sizeof(members),
                                 "\"op\":\"secret.put\",\"plugin\":\"chain\",\"name\":\"s%d\",\"value\":\"eA==\"", i);
                else /* found, or not */
                        snprintf(members, sizeof(members),
                                 "\"op\":\"secret.get\",\"plugin\":\"chain\",\"name\":\"s%d\"",
                                 i - i % 3 + (i % 3 - 1) * 1000);
                json_decref(call_text(fd, members, NULL));
        }
        close(fd);
}

/* Restore the backup, edit, restart: audit.verify must find the chain
 * broken at bad_seq. */
static void tamper_and_expect(Harness *h, const char *what, const char *sql, int64_t bad_seq) {
        db_copy(h, true);
        db_exec(h, sql);
        int r = harness_restart(h);
        if (r < 0)
                fail_msg("%s: the daemon does not start after the edit: %s (log %s)", what, strerror(-r), h->log_file);
        json_t *v = verify(h);
        char *dump = json_dumps(v, JSON_COMPACT);
        print_message("%s: %s\n", what, dump);
        if (!json_is_false(json_object_get(v, "intact")))
                fail_msg("%s: not detected: %s", what, dump);
        if (json_integer_value(json_object_get(v, "bad_seq")) != bad_seq)
                fail_msg("%s: want bad_seq %" PRId64 ", got %s", what, bad_seq, dump);
        assert_true(json_is_string(json_object_get(v, "problem")));
        free(dump);
        json_decref(v);
        assert_int_equal(harness_stop(h), 0);
}

#define K 7 /* the record edited */

static void test_tampering_is_detected(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});

        assert_int_equal(harness_start(h), 0);
        make_records(h, 30);
        json_t *v = verify(h);
        assert_true(json_is_true(json_object_get(v, "intact")));
        assert_true(json_integer_value(json_object_get(v, "records")) >= 30);
        assert_int_equal(json_integer_value(json_object_get(v, "first_seq")), 1);
        assert_int_equal(json_integer_value(json_object_get(v, "anchor_seq")), 0);
        json_decref(v);
        assert_int_equal(harness_stop(h), 0);
        int64_t last = db_int(h, "SELECT max(seq) FROM audit");
        assert_true(last >= 30);
        assert_int_equal(db_int(h, "SELECT count(*) FROM audit"), last);
        db_copy(h, false);

        tamper_and_expect(
                h, "a result edited",
                "UPDATE audit SET result = CASE result WHEN 'ok' THEN 'not_found' ELSE 'ok' END WHERE seq = 7", K);
        tamper_and_expect(h, "an object edited", "UPDATE audit SET object = 'edited' WHERE seq = 7", K);
        tamper_and_expect(h, "a uid edited", "UPDATE audit SET uid = uid + 1 WHERE seq = 7", K);
        tamper_and_expect(h, "a time edited", "UPDATE audit SET time_usec = time_usec - 1000000 WHERE seq = 7", K);
        tamper_and_expect(h, "the revealed flag cleared", "UPDATE audit SET revealed = 1 - revealed WHERE seq = 7", K);
        tamper_and_expect(h, "a middle record deleted", "DELETE FROM audit WHERE seq = 7", K);
        tamper_and_expect(h, "two records swapped",
                          "UPDATE audit SET seq = 1000000 WHERE seq = 7;"
                          "UPDATE audit SET seq = 7 WHERE seq = 10;"
                          "UPDATE audit SET seq = 10 WHERE seq = 1000000;",
                          K);
        /* A forged record after K, the rest moved up one: a copy of K with
         * another object and K's own MAC. */
        tamper_and_expect(
                h, "a record inserted",
                "UPDATE audit SET seq = -(seq + 1) WHERE seq > 7;"
                "UPDATE audit SET seq = -seq WHERE seq < 0;"
                "INSERT INTO audit(seq, time_usec, uid, gid, pid, unit, op, plugin, object, result, revealed, mac)"
                " SELECT 8, time_usec, uid, gid, pid, unit, op, plugin, 'forged', result, revealed, mac"
                " FROM audit WHERE seq = 7;",
                K + 1);
        /* The first K records removed and the anchor set to the last of
         * them, as a prune would: but no prune said so. */
        tamper_and_expect(h, "a prefix deleted, the anchor moved",
                          "INSERT INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = 7;"
                          "DELETE FROM audit WHERE seq <= 7;",
                          K);

        /* The backup itself was intact: it was the edits. */
        db_copy(h, true);
        assert_int_equal(harness_restart(h), 0);
        assert_intact(h);
        assert_int_equal(harness_stop(h), 0);
}

static void test_prune_keeps_chain(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});
        char members[128];

        assert_int_equal(harness_start(h), 0);
        make_records(h, 12);
        int64_t boundary = next_second();
        make_records(h, 6);
        int fd = connect_root(h);
        json_t *before = audit_list(fd, "");
        size_t n_before = json_array_size(before);
        size_t n_old = 0, i;
        json_t *r;
        json_array_foreach(before, i, r)
                n_old += json_integer_value(json_object_get(r, "time_us")) < boundary * 1000000;
        assert_true(n_old >= 12);
        json_decref(before);

        expect_code(fd, "\"op\":\"audit.prune\",\"before\":99999999999", "bad_request");
        snprintf(members, sizeof(members), "\"op\":\"audit.prune\",\"before\":%" PRId64, boundary);
        json_t *p = expect_ok(fd, members);
        int64_t anchor = json_integer_value(json_object_get(p, "anchor_seq"));
        assert_int_equal(json_integer_value(json_object_get(p, "removed")), (json_int_t) n_old);
        assert_int_equal(anchor, (int64_t) n_old);
        json_decref(p);

        json_t *after = audit_list(fd, "");
        assert_true(json_array_size(after) >= n_before - n_old);
        json_array_foreach(after, i, r) {
                assert_true(json_integer_value(json_object_get(r, "seq")) > anchor);
                assert_true(json_integer_value(json_object_get(r, "time_us")) >= boundary * 1000000);
        }
        ASSERT_RECORD(after, "audit.prune", NULL, NULL, "ok");
        json_decref(after);
        json_t *v = expect_ok(fd, "\"op\":\"audit.verify\"");
        if (!json_is_true(json_object_get(v, "intact")))
                fail_msg("audit.verify after a prune: %s", json_dumps(v, JSON_COMPACT));
        assert_int_equal(json_integer_value(json_object_get(v, "anchor_seq")), anchor);
        assert_int_equal(json_integer_value(json_object_get(v, "first_seq")), anchor + 1);
        json_decref(v);
        close(fd);
        assert_int_equal(harness_stop(h), 0);

        /* Pruning by hand past the real prune is not a prune. */
        db_copy(h, false);
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT OR REPLACE INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = %" PRId64
                 ";DELETE FROM audit WHERE seq <= %" PRId64 ";",
                 anchor + 3, anchor + 3);
        tamper_and_expect(h, "more removed after a prune, the anchor moved", sql, anchor + 3);
}

/* ---- a trigger planted on the audit table ---- */

#define EXIT_CORRUPT 6

/* A trigger on audit added with the daemon stopped, by whoever can write
 * the file: the daemon refuses to start (the schema is not the one the
 * migrations make), naming it, and changes nothing; without it, all is
 * as before. (A table that fails at run time is refused as it was: see
 * test-vault-audit.c, which makes one through the vault's own
 * connection.) */
static void trigger_refused(const char *create, const char *drop, const char *want_in_log) {
        Harness *h = daemon_new(&(Harness) {});
        static const char get_s[] = "\"op\":\"secret.get\",\"plugin\":\"fc\",\"name\":\"s\"";
        char *log = NULL;
        size_t log_size = 0;

        assert_int_equal(harness_start(h), 0);
        int fd = connect_root(h);
        expect_ok_free(fd, "\"op\":\"secret.put\",\"plugin\":\"fc\",\"name\":\"s\",\"value\":\"b2xk\"");
        close(fd);
        assert_int_equal(harness_stop(h), 0);
        int64_t rows = db_int(h, "SELECT count(*) FROM audit");
        db_exec(h, create);

        int r = harness_restart(h);
        if (r != -ECHILD || h->exit_status != EXIT_CORRUPT)
                fail_msg("a start with a planted trigger: want exit %d, got %d (status %d)", EXIT_CORRUPT, r,
                         h->exit_status);
        assert_int_equal(harness_read_file(h->log_file, &log, &log_size), 0);
        print_message("log: %s", log);
        if (!strstr(log, want_in_log))
                fail_msg("the log does not name the trigger (\"%s\"): %s", want_in_log, log);
        free(log);
        assert_int_equal(db_int(h, "SELECT count(*) FROM audit"), rows);

        db_exec(h, drop);
        assert_int_equal(harness_restart(h), 0);
        fd = connect_root(h);
        json_t *j = expect_ok(fd, get_s);
        assert_string_equal(str_member(j, "value"), "b2xk");
        json_decref(j);
        close(fd);
        assert_intact(h);
        assert_int_equal(harness_stop(h), 0);
}

static void test_unwritable_audit_table_refused(void **state) {
        (void) state;
        trigger_refused("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(FAIL, 'audit table "
                        "read-only'); END;",
                        "DROP TRIGGER no_audit;", "schema's trigger no_audit is not one this version");
}

static void test_dropped_records_refused(void **state) {
        (void) state;
        trigger_refused("CREATE TRIGGER t BEFORE INSERT ON audit WHEN new.plugin = 'beta' "
                        "BEGIN SELECT RAISE(IGNORE); END;",
                        "DROP TRIGGER t;", "schema's trigger t is not one this version");
}

/* ---- a prune that would erase evidence ---- */

/* audit.prune before `before`: refused as corrupt, naming bad_seq and
 * problem; nothing removed, and verify still finds it. */
static void expect_prune_refused(Harness *h, int64_t before, int64_t bad_seq, const char *problem) {
        char members[128], want[256], *text = NULL;

        int64_t rows = db_int(h, "SELECT count(*) FROM audit");
        int r = harness_restart(h);
        if (r < 0)
                fail_msg("the daemon does not start after the edit: %s", strerror(-r));
        int fd = connect_root(h);
        snprintf(members, sizeof(members), "\"op\":\"audit.prune\",\"before\":%" PRId64, before);
        json_t *j = call_text(fd, members, &text);
        print_message("prune: %s\n", text);
        snprintf(want, sizeof(want),
                 "the audit trail does not verify at record %" PRId64
                 " (%s); prune would erase the evidence: run credvault audit verify",
                 bad_seq, problem);
        const char *message = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (!error_code(j) || strcmp(error_code(j), "corrupt") != 0 || !message || strcmp(message, want) != 0)
                fail_msg("a prune over a broken trail: want corrupt, \"%s\"; got %s", want, text);
        free(text);
        json_decref(j);
        close(fd);
        json_t *v = verify(h);
        assert_true(json_is_false(json_object_get(v, "intact")));
        assert_int_equal(json_integer_value(json_object_get(v, "bad_seq")), bad_seq);
        json_decref(v);
        assert_int_equal(harness_stop(h), 0);
        /* Every row still there, and the records of these requests. */
        assert_true(db_int(h, "SELECT count(*) FROM audit") > rows);
        assert_int_equal(db_int(h, "SELECT min(seq) FROM audit"), db_int(h, "SELECT coalesce(max(seq), 0) FROM "
                                                                            "audit_anchor") +
                                                                          1);
}

static void test_prune_refuses_to_erase_evidence(void **state) {
        (void) state;
        Harness *h = daemon_new(&(Harness) {});
        char members[128];

        assert_int_equal(harness_start(h), 0);
        make_records(h, 12);
        int64_t boundary = next_second();
        make_records(h, 6);
        assert_int_equal(harness_stop(h), 0);
        db_copy(h, false);

        /* A record it would remove edited. */
        db_exec(h, "UPDATE audit SET object = 'edited' WHERE seq = 3;");
        expect_prune_refused(h, boundary, 3, "edited, inserted or reordered");
        /* The oldest removed behind its back, the anchor forged. */
        db_copy(h, true);
        db_exec(h, "INSERT INTO audit_anchor(id, seq, mac) SELECT 1, seq, mac FROM audit WHERE seq = 5;"
                   "DELETE FROM audit WHERE seq <= 5;");
        expect_prune_refused(h, boundary, 5, "records up to the anchor removed without a prune");

        /* Intact, the same prune removes them. */
        db_copy(h, true);
        assert_int_equal(harness_restart(h), 0);
        int fd = connect_root(h);
        snprintf(members, sizeof(members), "\"op\":\"audit.prune\",\"before\":%" PRId64, boundary);
        json_t *p = expect_ok(fd, members);
        assert_true(json_integer_value(json_object_get(p, "removed")) >= 12);
        json_decref(p);
        close(fd);
        assert_intact(h);
        assert_int_equal(harness_stop(h), 0);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        have_users = harness_test_users_ensure(users_reason, sizeof(users_reason)) == 0 &&
                     harness_user_lookup(HARNESS_USER_A, &uid_a, &gid_a) == 0;

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_requests_are_recorded, teardown),
                cmocka_unit_test_teardown(test_denied_is_recorded, teardown),
                cmocka_unit_test_teardown(test_no_value_in_records_log_or_file, teardown),
                cmocka_unit_test_teardown(test_write_record_durable_with_reply, teardown),
                cmocka_unit_test_teardown(test_tampering_is_detected, teardown),
                cmocka_unit_test_teardown(test_prune_keeps_chain, teardown),
                cmocka_unit_test_teardown(test_unwritable_audit_table_refused, teardown),
                cmocka_unit_test_teardown(test_large_records_page, teardown),
                cmocka_unit_test_teardown(test_list_scan_bounded, teardown),
                cmocka_unit_test_teardown(test_dropped_records_refused, teardown),
                cmocka_unit_test_teardown(test_prune_refuses_to_erase_evidence, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
