/* e2e-crash.h — what the crash tests share (e2e-keys, e2e-rootkey,
 * e2e-backup): a child process writing versions of one secret and
 * reporting each version acknowledged, the bound those reports put on
 * what a restarted daemon must hold, the integrity check of the file the
 * killed daemon left, and one request with its reply parsed. Header-only:
 * each test is one program. Include after cmocka.h. */
#pragma once

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "credvault.h"

/* One request through the client library; the reply parsed. */
static inline json_t *e2e_call(CvClient *c, const char *request) {
        char *reply = NULL;
        int r = cv_call_json(c, request, &reply);
        if (r < 0)
                fail_msg("%s: %d", request, r);
        json_t *j = json_loads(reply, 0, NULL);
        assert_non_null(j);
        free(reply);
        return j;
}

/* SQLite's full check of the database a killed daemon left: "ok". */
static inline void e2e_integrity_check(const char *db_path) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* A child putting versions of plugin/name, one at a time, writing each
 * acknowledged version to *ret_fd's pipe; it exits at the first failure
 * (the daemon killed). */
static inline pid_t e2e_counter_writer_start(const char *socket_path, const char *plugin, const char *name,
                                             int *ret_fd) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                CvClient *w = NULL;
                close(p[0]);
                if (cv_client_new(socket_path, 5000, &w) < 0)
                        _exit(0);
                for (;;) {
                        int64_t v = 0;
                        if (cv_secret_put(w, plugin, name, &v, sizeof(v), &v) < 0)
                                _exit(0);
                        if (write(p[1], &v, sizeof(v)) != sizeof(v))
                                _exit(1);
                }
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

/* The last version the writer reported (or acked if none), its pipe
 * read to the end and closed. */
static inline int64_t e2e_counter_acked(int fd, int64_t acked) {
        int64_t v;
        while (read(fd, &v, sizeof(v)) == sizeof(v))
                acked = v;
        close(fd);
        return acked;
}

/* After a restart: the counter is at most one write past what was last
 * known (acknowledged, or read after the last round: two rounds in a row
 * may each commit one write the kill kept from being acknowledged), and
 * not before it. *seen is updated. */
static inline void e2e_counter_check(CvClient *c, const char *plugin, const char *name, int64_t acked, int64_t *seen) {
        CvSecret *s = NULL;
        assert_int_equal(cv_secret_get(c, plugin, name, &s), 0);
        int64_t known = acked > *seen ? acked : *seen;
        if (s->version < known || s->version > known + 1)
                fail_msg("counter at version %lld, acknowledged %lld, read last round %lld", (long long) s->version,
                         (long long) acked, (long long) *seen);
        *seen = s->version;
        cv_secret_free(s);
}
