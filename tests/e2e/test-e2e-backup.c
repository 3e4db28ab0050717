/* test-e2e-backup.c — online backup, verify and restore, through the real
 * daemon.
 *
 * A backup taken while several writers keep writing holds every value
 * acknowledged before it was asked for, byte for byte: restored into a
 * fresh state directory, a daemon started on it opens each one. --verify
 * passes a good copy and names what is wrong with a tampered one (a byte
 * flipped in a record) or a wrong key; --restore refuses while a daemon
 * runs and refuses a tampered copy, leaving the database as it was. The
 * descriptor is checked (none, a pipe, read-only, not empty: each a
 * precise bad_request, and no descriptor is leaked), a second backup
 * while one runs is busy, a client that hangs up mid-backup leaves
 * nothing behind. Then the crash rounds: SIGKILL at random moments while
 * backups and writes run; after each restart no temporary file is left,
 * the database passes PRAGMA integrity_check, every acknowledged value
 * opens and no KEK is lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "credvault.h"
#include "e2e-crash.h"
#include "harness.h"

#define DB_FILE "credvault.db"
#define TEMP_FILE "credvault.db.backup-tmp"
#define PLUGIN "bk"
#define EXIT_WRONG_KEY 4
#define EXIT_STATE_DIR 5
#define EXIT_CORRUPT 6

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void value_of(int i, char *buf, size_t size) {
        snprintf(buf, size, "base value %d, padded to the length of a credential: 0123456789abcdef", i);
}

typedef struct Fill {
        const char *socket;
        int from, to;
} Fill;

static void *fill_thread(void *arg) {
        Fill *f = arg;
        CvClient *c = NULL;
        if (cv_client_new(f->socket, 30000, &c) < 0)
                return (void *) 1;
        for (int i = f->from; i < f->to; i++) {
                char name[32], value[128];
                snprintf(name, sizeof(name), "s%06d", i);
                value_of(i, value, sizeof(value));
                if (cv_secret_put(c, PLUGIN, name, value, strlen(value), NULL) < 0) {
                        cv_client_free(c);
                        return (void *) 1;
                }
        }
        cv_client_free(c);
        return NULL;
}

/* Secrets [0, n), written by several connections at once (the daemon
 * commits each alone, so one connection would wait on every fsync). */
static void fill(const Harness *h, int n) {
        enum { N_THREADS = 8 };
        pthread_t t[N_THREADS];
        Fill f[N_THREADS];
        for (int i = 0; i < N_THREADS; i++) {
                f[i] = (Fill) { h->socket_path, n * i / N_THREADS, n * (i + 1) / N_THREADS };
                assert_int_equal(pthread_create(&t[i], NULL, fill_thread, &f[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++) {
                void *ret;
                pthread_join(t[i], &ret);
                assert_null(ret);
        }
}

static void check_base(CvClient *c, int n) {
        for (int i = 0; i < n; i++) {
                char name[32], value[128];
                CvSecret *s = NULL;
                snprintf(name, sizeof(name), "s%06d", i);
                value_of(i, value, sizeof(value));
                int r = cv_secret_get(c, PLUGIN, name, &s);
                if (r != 0)
                        fail_msg("get %s: %d", name, r);
                assert_int_equal(s->value_size, strlen(value));
                assert_memory_equal(s->value, value, s->value_size);
                cv_secret_free(s);
        }
}

static int file_new(const char *dir, const char *name, char *path, size_t size) {
        snprintf(path, size, "%s/%s", dir, name);
        unlink(path);
        return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static bool exists(const char *dir, const char *name) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return access(path, F_OK) == 0;
}

static int n_open_fds(pid_t pid) {
        char path[64];
        int n = 0;
        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return -1;
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* Verify or restore a copy with credvaultd offline; its exit status. */
static int offline(const char *mode, const char *file, const char *state_dir, const char *key_file) {
        const char *argv[] = { harness_daemon_path(), mode,     file, "--state-dir", state_dir,
                               "--root-key-file",     key_file, NULL };
        return harness_run_daemon(argv, 60000 * harness_time_scale());
}

static void file_copy(const char *from, const char *to) {
        char *data = NULL;
        size_t size = 0;
        assert_int_equal(harness_read_file(from, &data, &size), 0);
        int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        close(fd);
        free(data);
}

/* Flip one bit in the middle of a secret's sealed bytes, as a disk or an
 * attacker would, leaving the file a valid database. */
static void tamper_record(const char *path, const char *name) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        uint8_t buf[4096];
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT sealed FROM secret WHERE name = ?1", -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int n = sqlite3_column_bytes(st, 0);
        assert_true(n > 0 && n <= (int) sizeof(buf));
        memcpy(buf, sqlite3_column_blob(st, 0), (size_t) n);
        sqlite3_finalize(st);
        buf[n / 2] ^= 0x01;
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE secret SET sealed = ?1 WHERE name = ?2", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_blob(st, 1, buf, n, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_close(db);
}

/* ---- raw requests with a descriptor ---- */

static int send_frame_fds(int sock, const char *body, const int *fds, size_t n_fds);

static int send_frame_fd(int sock, const char *body, int fd) {
        return send_frame_fds(sock, body, &fd, fd >= 0 ? 1 : 0);
}

/* body as one frame, with n_fds descriptors in one SCM_RIGHTS message. */
static int send_frame_fds(int sock, const char *body, const int *fds, size_t n_fds) {
        uint8_t frame[512];
        size_t n = strlen(body);
        frame[0] = (uint8_t) (n >> 24), frame[1] = (uint8_t) (n >> 16), frame[2] = (uint8_t) (n >> 8),
        frame[3] = (uint8_t) n;
        memcpy(frame + 4, body, n);
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(4 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = frame, .iov_len = n + 4 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        assert_true(n_fds <= 4);
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(cm), fds, n_fds * sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t) (n + 4) ? 0 : -errno;
}

/* A backup request with fd; the reply. */
static json_t *backup_raw(const Harness *h, int fd) {
        int sock = harness_connect_raw(h);
        char *reply = NULL;
        assert_true(sock >= 0);
        assert_int_equal(send_frame_fd(sock, "{\"v\":1,\"id\":9,\"op\":\"backup\"}", fd), 0);
        assert_int_equal(harness_recv_frame(sock, 60000, &reply), 0);
        close(sock);
        json_t *j = json_loads(reply, 0, NULL);
        free(reply);
        assert_non_null(j);
        return j;
}

static const char *error_message(const json_t *j) {
        return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

static const char *error_code(const json_t *j) {
        return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* ---- backup during a write burst, verify, restore ---- */

#define N_WRITERS 4
#define WRITES_MAX 200000

typedef struct Writer {
        const char *socket;
        int id;
        atomic_bool *stop;
        int n;              /* acknowledged */
        uint64_t *acked_at; /* when each write's answer came */
} Writer;

static void burst_value(int w, int k, uint8_t *buf, size_t size) {
        for (size_t i = 0; i < size; i++)
                buf[i] = (uint8_t) (w * 131 + k * 7 + (int) i * 13);
}

static void *writer_thread(void *arg) {
        Writer *w = arg;
        CvClient *c = NULL;
        if (cv_client_new(w->socket, 30000, &c) < 0)
                return (void *) 1;
        while (!atomic_load(w->stop) && w->n < WRITES_MAX) {
                char name[32];
                uint8_t value[96];
                snprintf(name, sizeof(name), "w%d-%06d", w->id, w->n);
                burst_value(w->id, w->n, value, sizeof(value));
                if (cv_secret_put(c, PLUGIN, name, value, sizeof(value), NULL) < 0) {
                        cv_client_free(c);
                        return (void *) 1;
                }
                w->acked_at[w->n++] = now_usec();
        }
        cv_client_free(c);
        return NULL;
}

static int n_base(void) {
        const char *e = getenv("CV_TEST_BACKUP_RECORDS");
        return e ? atoi(e) : 20000;
}

static void test_backup_during_writes_and_restore(void **state) {
        (void) state;
        Harness h = {}, h2 = {};
        CvClient *c = NULL;
        CvBackupInfo info;
        char copy[256], bad[256], other_key[256];
        int n = n_base();

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill(&h, n);

        atomic_bool stop = false;
        Writer w[N_WRITERS];
        pthread_t t[N_WRITERS];
        for (int i = 0; i < N_WRITERS; i++) {
                w[i] = (Writer) { .socket = h.socket_path, .id = i, .stop = &stop };
                w[i].acked_at = calloc(WRITES_MAX, sizeof(uint64_t));
                assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &w[i]), 0);
        }
        usleep(100 * 1000);
        int fd = file_new(h.dir, "copy.db", copy, sizeof(copy));
        assert_true(fd >= 0);
        uint64_t sent = now_usec();
        assert_int_equal(cv_backup_fd(c, fd, &info), 0);
        uint64_t answered = now_usec();
        close(fd);
        usleep(50 * 1000);
        atomic_store(&stop, true);
        int before = 0, during = 0;
        for (int i = 0; i < N_WRITERS; i++) {
                void *ret;
                pthread_join(t[i], &ret);
                assert_null(ret);
                for (int k = 0; k < w[i].n; k++) {
                        before += w[i].acked_at[k] < sent;
                        during += w[i].acked_at[k] >= sent && w[i].acked_at[k] < answered;
                }
        }
        struct stat st;
        assert_int_equal(stat(copy, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal((uint64_t) st.st_size, (uint64_t) info.bytes);
        assert_true(info.records >= n + before);
        print_message("backup: %" PRId64 " records, %" PRId64 " bytes in %" PRId64 " ms (%.1f ms seen by the "
                      "client); %d writes acknowledged before it, %d while it ran\n",
                      info.records, info.bytes, info.ms, (double) (answered - sent) / 1000.0, before, during);
        assert_true(before > 0);
        assert_false(exists(h.state_dir, TEMP_FILE));

        /* A good copy verifies; a wrong key does not open it. */
        assert_int_equal(offline("--verify-backup", copy, h.state_dir, h.key_file), 0);
        snprintf(other_key, sizeof(other_key), "%s/other.key", h.dir);
        int kfd = open(other_key, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(kfd >= 0);
        assert_int_equal(write(kfd, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 65), 65);
        close(kfd);
        assert_int_equal(offline("--verify-backup", copy, h.state_dir, other_key), EXIT_WRONG_KEY);

        /* One byte flipped in one record's ciphertext. */
        snprintf(bad, sizeof(bad), "%s/tampered.db", h.dir);
        file_copy(copy, bad);
        tamper_record(bad, "s000007");
        assert_int_equal(offline("--verify-backup", bad, h.state_dir, h.key_file), EXIT_CORRUPT);

        /* Restore refuses while a daemon runs on the state directory. */
        assert_int_equal(offline("--restore", copy, h.state_dir, h.key_file), EXIT_STATE_DIR);
        cv_client_free(c);

        /* Into a fresh state directory, under the same root key. */
        assert_int_equal(harness_start(&h2), 0);
        assert_int_equal(harness_stop(&h2), 0);
        file_copy(h.key_file, h2.key_file);
        assert_int_equal(offline("--restore", bad, h2.state_dir, h2.key_file), EXIT_CORRUPT);
        assert_int_equal(offline("--restore", copy, h2.state_dir, h2.key_file), 0);
        DIR *d = opendir(h2.state_dir);
        bool aside = false;
        for (struct dirent *e; (e = readdir(d));)
                aside |= strncmp(e->d_name, DB_FILE ".before-restore-", strlen(DB_FILE ".before-restore-")) == 0;
        closedir(d);
        assert_true(aside);
        assert_int_equal(harness_restart(&h2), 0);
        assert_int_equal(cv_client_new(h2.socket_path, 30000, &c), 0);
        check_base(c, n);
        for (int i = 0; i < N_WRITERS; i++) {
                for (int k = 0; k < w[i].n && w[i].acked_at[k] < sent; k++) {
                        char name[32];
                        uint8_t value[96];
                        CvSecret *s = NULL;
                        snprintf(name, sizeof(name), "w%d-%06d", i, k);
                        burst_value(i, k, value, sizeof(value));
                        int r = cv_secret_get(c, PLUGIN, name, &s);
                        if (r != 0)
                                fail_msg("%s, acknowledged before the backup, is not in it: %d", name, r);
                        assert_int_equal(s->value_size, sizeof(value));
                        assert_memory_equal(s->value, value, sizeof(value));
                        cv_secret_free(s);
                }
                free(w[i].acked_at);
        }
        cv_client_free(c);
        assert_int_equal(harness_stop(&h2), 0);
        harness_cleanup(&h2);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

/* ---- what the daemon refuses, busy, hang-ups ---- */

static void test_refusals(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        char path[256];

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill(&h, 100);
        /* A connection of ours, so the count below is the daemon's alone. */
        CvHealth health;
        assert_int_equal(cv_health(c, &health), 0);
        int fds_before = n_open_fds(h.pid);

        json_t *j = backup_raw(&h, -1);
        assert_string_equal(error_code(j), "bad_request");
        assert_string_equal(error_message(j), "backup needs a file descriptor passed with the request (SCM_RIGHTS)");
        json_decref(j);

        int p[2];
        assert_int_equal(pipe(p), 0);
        j = backup_raw(&h, p[1]);
        assert_string_equal(error_code(j), "bad_request");
        assert_non_null(strstr(error_message(j), "a pipe, not a regular file"));
        json_decref(j);
        close(p[0]), close(p[1]);

        int fd = file_new(h.dir, "ro", path, sizeof(path));
        close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        j = backup_raw(&h, fd);
        assert_string_equal(error_code(j), "bad_request");
        assert_non_null(strstr(error_message(j), "read-only"));
        json_decref(j);
        close(fd);

        fd = file_new(h.dir, "full", path, sizeof(path));
        assert_int_equal(write(fd, "x", 1), 1);
        j = backup_raw(&h, fd);
        assert_string_equal(error_code(j), "bad_request");
        assert_non_null(strstr(error_message(j), "not empty (1 bytes)"));
        json_decref(j);
        close(fd);
        /* Nothing was written into it. */
        struct stat st;
        int sock;
        char *reply = NULL;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 1);

        /* Four descriptors with one backup: the first is used, the
         * others (past the room for one, or in it) closed. */
        int four[4];
        char p4[4][256];
        for (int i = 0; i < 4; i++) {
                char name[16];
                snprintf(name, sizeof(name), "four-%d", i);
                four[i] = file_new(h.dir, name, p4[i], sizeof(p4[i]));
        }
        sock = harness_connect_raw(&h);
        assert_int_equal(send_frame_fds(sock, "{\"v\":1,\"id\":1,\"op\":\"backup\"}", four, 4), 0);
        assert_int_equal(harness_recv_frame(sock, 30000, &reply), 0);
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        close(sock);
        for (int i = 0; i < 4; i++) {
                assert_int_equal(stat(p4[i], &st), 0);
                assert_true(i == 0 ? st.st_size > 0 : st.st_size == 0);
                close(four[i]);
        }

        /* A descriptor sent with another op is closed, not kept. */
        fd = file_new(h.dir, "other", path, sizeof(path));
        sock = harness_connect_raw(&h);
        assert_int_equal(send_frame_fd(sock, "{\"v\":1,\"id\":1,\"op\":\"health\"}", fd), 0);
        assert_int_equal(harness_recv_frame(sock, 5000, &reply), 0);
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        close(sock);
        close(fd);

        usleep(100 * 1000);
        assert_int_equal(n_open_fds(h.pid), fds_before);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        harness_cleanup(&h);
}

static void test_busy_and_hangup(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        char path[256], path2[256];
        int busy = 0, cancelled = 0;

        assert_int_equal(harness_start(&h), 0);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill(&h, n_base());
        CvHealth health;
        assert_int_equal(cv_health(c, &health), 0);
        int fds_before = n_open_fds(h.pid);

        /* Two at once: the second is busy (tried a few times, in case the
         * first was done before the second arrived). */
        for (int round = 0; round < 5 && busy == 0; round++) {
                int fd1 = file_new(h.dir, "one.db", path, sizeof(path));
                int fd2 = file_new(h.dir, "two.db", path2, sizeof(path2));
                int s1 = harness_connect_raw(&h), s2 = harness_connect_raw(&h);
                char *r1 = NULL, *r2 = NULL;
                assert_int_equal(send_frame_fd(s1, "{\"v\":1,\"id\":1,\"op\":\"backup\"}", fd1), 0);
                assert_int_equal(send_frame_fd(s2, "{\"v\":1,\"id\":2,\"op\":\"backup\"}", fd2), 0);
                assert_int_equal(harness_recv_frame(s2, 60000, &r2), 0);
                assert_int_equal(harness_recv_frame(s1, 60000, &r1), 0);
                /* Either may be taken first: the loop reads both at once. */
                bool ok1 = strstr(r1, "\"ok\":true") != NULL;
                const char *other = ok1 ? r2 : r1;
                assert_true(ok1 || strstr(r2, "\"ok\":true"));
                if (strstr(other, "\"rate_limited\"")) {
                        assert_non_null(strstr(other, "a backup is running"));
                        busy++;
                } else
                        assert_non_null(strstr(other, "\"ok\":true"));
                free(r1), free(r2);
                close(s1), close(s2), close(fd1), close(fd2);
        }
        assert_true(busy > 0);

        /* Hang-ups mid-backup: cancelled, nothing left behind, and the
         * next backup runs. */
        for (int round = 0; round < 5; round++) {
                int fd = file_new(h.dir, "gone.db", path, sizeof(path));
                int s = harness_connect_raw(&h);
                assert_int_equal(send_frame_fd(s, "{\"v\":1,\"id\":1,\"op\":\"backup\"}", fd), 0);
                close(fd);
                usleep((useconds_t) (round * 2000));
                close(s);
        }
        usleep(300 * 1000);
        assert_false(exists(h.state_dir, TEMP_FILE));
        int fd = file_new(h.dir, "after.db", path, sizeof(path));
        CvBackupInfo info;
        assert_int_equal(cv_backup_fd(c, fd, &info), 0);
        close(fd);
        assert_int_equal(offline("--verify-backup", path, h.state_dir, h.key_file), 0);
        assert_int_equal(n_open_fds(h.pid), fds_before);

        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        char *log = NULL;
        size_t log_size = 0;
        assert_int_equal(harness_read_file(h.log_file, &log, &log_size), 0);
        for (const char *p = log; (p = strstr(p, "backup cancelled")); p++)
                cancelled++;
        print_message("%d of 5 hang-ups cancelled a running backup\n", cancelled);
        assert_true(cancelled > 0);
        free(log);
        harness_cleanup(&h);
}

/* ---- crash rounds ---- */

#define KILL_ROUNDS 30

static void test_kill_during_backup(void **state) {
        (void) state;
        Harness h = {};
        CvClient *c = NULL;
        int n = n_base() / 4;
        int64_t acked = 0, seen = 0;
        unsigned seed = (unsigned) time(NULL);
        int with_temp = 0;
        char db[256];

        print_message("seed %u\n", seed);
        assert_int_equal(harness_start(&h), 0);
        snprintf(db, sizeof(db), "%s/%s", h.state_dir, DB_FILE);
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        fill(&h, n);
        assert_int_equal(cv_secret_put(c, PLUGIN, "counter", "0", 1, NULL), 0);
        cv_client_free(c);

        for (int round = 0; round < KILL_ROUNDS; round++) {
                /* A writer acknowledging versions of one secret. */
                int wr_fd;
                pid_t writer = e2e_counter_writer_start(h.socket_path, PLUGIN, "counter", &wr_fd);
                /* Backups back to back. */
                pid_t backer = fork();
                assert_true(backer >= 0);
                if (backer == 0) {
                        CvClient *bc = NULL;
                        char path[256];
                        if (cv_client_new(h.socket_path, 5000, &bc) < 0)
                                _exit(1);
                        for (int k = 0;; k++) {
                                char name[32];
                                snprintf(name, sizeof(name), "crash-%d.db", k % 2);
                                int fd = file_new(h.dir, name, path, sizeof(path));
                                if (fd < 0 || cv_backup_fd(bc, fd, NULL) < 0)
                                        _exit(0);
                                close(fd);
                        }
                }
                usleep(20000 + (useconds_t) (rand_r(&seed) % 150000));
                assert_int_equal(harness_kill(&h), 128 + 9);
                with_temp += exists(h.state_dir, TEMP_FILE);
                acked = e2e_counter_acked(wr_fd, acked); /* to its end: the writer has exited */
                waitpid(writer, NULL, 0);
                waitpid(backer, NULL, 0);

                e2e_integrity_check(db);
                assert_int_equal(harness_restart(&h), 0);
                /* The restart removed what the killed backup left. */
                assert_false(exists(h.state_dir, TEMP_FILE));
                assert_false(exists(h.state_dir, TEMP_FILE "-journal"));
                assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
                check_base(c, n);
                e2e_counter_check(c, PLUGIN, "counter", acked, &seen);
                CvKeyRewrap rw;
                CvKek *keks = NULL;
                assert_int_equal(cv_key_status(c, &rw, &keks), 1);
                assert_int_equal(keks[0].version, 1);
                assert_string_equal(keks[0].state, "primary");
                assert_int_equal(keks[0].records, n + 1);
                free(keks);
                cv_client_free(c);
        }
        print_message("%d kills, %d of them with the backup's temporary database there\n", KILL_ROUNDS, with_temp);
        assert_true(with_temp > 0);
        /* And a backup after all that verifies. */
        assert_int_equal(cv_client_new(h.socket_path, 30000, &c), 0);
        char path[256];
        int fd = file_new(h.dir, "final.db", path, sizeof(path));
        assert_int_equal(cv_backup_fd(c, fd, NULL), 0);
        close(fd);
        cv_client_free(c);
        assert_int_equal(harness_stop(&h), 0);
        e2e_integrity_check(db);
        assert_int_equal(offline("--verify-backup", path, h.state_dir, h.key_file), 0);
        harness_cleanup(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backup_during_writes_and_restore),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_busy_and_hangup),
                cmocka_unit_test(test_kill_during_backup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
