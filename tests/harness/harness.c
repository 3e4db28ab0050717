/* harness.c — start and stop the real daemon for tests (see harness.h).
 *
 * Readiness is the daemon's own sd_notify("READY=1"): the harness binds a
 * datagram socket, passes it as NOTIFY_SOCKET, and waits for the message,
 * so a test never races the daemon's start and never sleeps.
 *
 * Other users: the test users are made with the system's own tools
 * (useradd, groupadd, usermod); a connection as one of them is made by a
 * child that drops to that user and passes the socket back. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define READY_TIMEOUT_MS 20000
#define EXIT_TIMEOUT_MS 20000
#define WRAPPER_WORDS_MAX 24

const char *harness_daemon_path(void) {
        const char *p = getenv("CREDVAULTD");
        return p && *p ? p : "credvaultd";
}

int harness_time_scale(void) {
        const char *e = getenv("CV_TEST_TIME_SCALE");
        int scale = e ? atoi(e) : 1;
        return scale < 1 ? 1 : scale > 100 ? 100 : scale;
}

/* CREDVAULTD_WRAPPER split on spaces, once; NULL-terminated. */
static char *const *wrapper_words(void) {
        static char *words[WRAPPER_WORDS_MAX + 1];
        static char *copy;
        const char *e = getenv("CREDVAULTD_WRAPPER");

        if (!copy && e && *e) {
                copy = strdup(e);
                int n = 0;
                for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && n < WRAPPER_WORDS_MAX;
                     w = strtok_r(NULL, " ", &save))
                        words[n++] = w;
        }
        return words;
}

bool harness_wrapped(void) {
        return wrapper_words()[0] != NULL;
}

/* A daemon under a wrapper that reported errors fails the test process at
 * exit, even if the test never looked at the exit status (a daemon stopped
 * by harness_cleanup() after a passing test). */
static bool wrapper_failed;

static void wrapper_check_at_exit(void) {
        if (!wrapper_failed)
                return;
        fprintf(stderr, "harness: credvaultd under CREDVAULTD_WRAPPER exited %d: the wrapper found errors\n",
                HARNESS_WRAPPER_ERROR_EXIT);
        fflush(NULL);
        _exit(HARNESS_WRAPPER_ERROR_EXIT);
}

/* Put the wrapper's words into argv at *n, if there is a wrapper. */
static void argv_add_wrapper(const char **argv, int *n) {
        static bool registered;
        char *const *w = wrapper_words();
        if (!w[0])
                return;
        if (!registered) {
                atexit(wrapper_check_at_exit);
                registered = true;
        }
        for (; *w; w++)
                argv[(*n)++] = *w;
}

static void exit_status_note(int status) {
        if (harness_wrapped() && status == HARNESS_WRAPPER_ERROR_EXIT)
                wrapper_failed = true;
}

static int write_key(const char *path) {
        unsigned char key[32];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, key, sizeof(key)) != (ssize_t) sizeof(key)) {
                if (fd >= 0)
                        close(fd);
                return -EIO;
        }
        close(fd);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int ok = write(fd, key, sizeof(key)) == (ssize_t) sizeof(key);
        close(fd);
        return ok ? 0 : -EIO;
}

static int wait_ready(Harness *h, int notify_fd, pid_t pid) {
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);

        for (;;) {
                char buf[512];
                int status;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                if (elapsed > (long) READY_TIMEOUT_MS * harness_time_scale())
                        return -ETIMEDOUT;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        /* It exited before becoming ready. */
                        h->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        exit_status_note(h->exit_status);
                        return -ECHILD;
                }
                struct pollfd p = { .fd = notify_fd, .events = POLLIN };
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
                if (n <= 0)
                        continue;
                buf[n] = '\0';
                if (strstr(buf, "READY=1"))
                        return 0;
        }
}

/* systemd-socket-activate binds the socket, then execs the daemon only when
 * the first client connects: wait for the socket, connect once to start the
 * daemon, and let readiness come from its READY=1 as usual. */
static int trigger_activation(Harness *h, pid_t pid) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->socket_path);

        for (int i = 0; i < READY_TIMEOUT_MS / 10 * harness_time_scale(); i++) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        h->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        return -ECHILD;
                }
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                int ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
                close(fd);
                if (ok)
                        return 0;
                usleep(10000);
        }
        return -ETIMEDOUT;
}

static int spawn(Harness *h) {
        char notify_path[108];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r, stalled[2] = { -1, -1 };

        h->exit_status = -1;
        if (h->stderr_stalled) {
                if (h->stderr_reader > 0)
                        close(h->stderr_reader);
                h->stderr_reader = -1;
                if (pipe2(stalled, O_CLOEXEC) < 0)
                        return -errno;
                h->stderr_reader = stalled[0];
        }
        snprintf(notify_path, sizeof(notify_path), "%s/notify", h->dir);
        unlink(notify_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }

        const char *argv[32 + WRAPPER_WORDS_MAX];
        int n = 0;
        if (h->socket_activate) {
                argv[n++] = "systemd-socket-activate";
                argv[n++] = "-l";
                argv[n++] = h->socket_path;
                argv[n++] = "-E";
                argv[n++] = "NOTIFY_SOCKET";
        }
        argv_add_wrapper(argv, &n);
        argv[n++] = harness_daemon_path();
        argv[n++] = "--state-dir";
        argv[n++] = h->state_dir;
        if (h->dev)
                argv[n++] = "--dev";
        else {
                argv[n++] = "--root-key-file";
                argv[n++] = h->key_file;
        }
        if (!h->socket_activate) {
                argv[n++] = "--socket";
                argv[n++] = h->socket_path;
        }
        for (int i = 0; i < 8 && h->extra_args[i]; i++)
                argv[n++] = h->extra_args[i];
        if (h->policy) {
                argv[n++] = "--policy";
                argv[n++] = h->policy_file;
        }
        argv[n] = NULL;

        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fd);
                if (stalled[1] >= 0)
                        close(stalled[1]);
                return r;
        }
        if (pid == 0) {
                int log = open(h->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (log >= 0) {
                        dup2(log, STDERR_FILENO);
                        dup2(log, STDOUT_FILENO);
                }
                if (stalled[1] >= 0)
                        dup2(stalled[1], STDERR_FILENO);
                if (h->nofile_soft || h->nofile_hard) {
                        struct rlimit rl;
                        getrlimit(RLIMIT_NOFILE, &rl);
                        if (h->nofile_hard)
                                rl.rlim_max = h->nofile_hard;
                        if (h->nofile_soft)
                                rl.rlim_cur = h->nofile_soft;
                        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                                _exit(126);
                }
                if (h->fsize_limit) {
                        struct rlimit rl = { h->fsize_limit, h->fsize_limit };
                        signal(SIGXFSZ, SIG_IGN);
                        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                                _exit(126);
                }
                setenv("NOTIFY_SOCKET", notify_path, 1);
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("JOURNAL_STREAM");
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        if (stalled[1] >= 0)
                close(stalled[1]);
        h->pid = pid;
        r = h->socket_activate ? trigger_activation(h, pid) : 0;
        if (r >= 0)
                r = wait_ready(h, fd, pid);
        close(fd);
        /* The daemon made its socket 0660 before it said it was ready. */
        if (r >= 0 && h->socket_open && (chmod(h->dir, 0711) < 0 || chmod(h->socket_path, 0666) < 0))
                r = -errno;
        if (r < 0) {
                if (r != -ECHILD)
                        harness_kill(h);
                h->pid = 0;
        }
        return r;
}

int harness_start(Harness *h) {
        const char *tmp = getenv("TMPDIR");
        int r;

        snprintf(h->dir, sizeof(h->dir), "%s/credvault-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(h->dir))
                return -errno;
        snprintf(h->socket_path, sizeof(h->socket_path), "%s/socket", h->dir);
        snprintf(h->state_dir, sizeof(h->state_dir), "%s/state", h->dir);
        snprintf(h->key_file, sizeof(h->key_file), "%s/root.key", h->dir);
        snprintf(h->log_file, sizeof(h->log_file), "%s/credvaultd.log", h->dir);
        snprintf(h->policy_file, sizeof(h->policy_file), "%s/policy.json", h->dir);
        r = write_key(h->key_file);
        if (r < 0)
                return r;
        if (h->policy) {
                r = harness_policy_write(h, h->policy);
                if (r < 0)
                        return r;
        }
        if (h->socket_activate)
                return harness_restart(h);
        return spawn(h);
}

int harness_restart(Harness *h) {
        if (h->pid > 0)
                return -EBUSY;
        return spawn(h);
}

static int wait_exit(Harness *h) {
        int status;
        for (int i = 0; i < EXIT_TIMEOUT_MS / 10 * harness_time_scale(); i++) {
                pid_t p = waitpid(h->pid, &status, WNOHANG);
                if (p == h->pid) {
                        h->pid = 0;
                        int r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        exit_status_note(r);
                        return r;
                }
                if (p < 0)
                        return -errno;
                usleep(10000);
        }
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        h->pid = 0;
        return -ETIMEDOUT;
}

int harness_stop(Harness *h) {
        if (h->pid <= 0)
                return -ESRCH;
        kill(h->pid, SIGTERM);
        return wait_exit(h);
}

int harness_kill(Harness *h) {
        if (h->pid <= 0)
                return -ESRCH;
        kill(h->pid, SIGKILL);
        return wait_exit(h);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

void harness_cleanup(Harness *h) {
        if (h->pid > 0)
                harness_stop(h);
        if (h->stderr_stalled && h->stderr_reader > 0) {
                close(h->stderr_reader);
                h->stderr_reader = -1;
        }
        if (h->dir[0] && !getenv("CV_KEEP_TEST_DIR"))
                nftw(h->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int harness_run_daemon(const char *const *argv, int timeout_ms) {
        const char *wrapped[64 + WRAPPER_WORDS_MAX];
        int status, n = 0;

        /* The daemon itself runs under the wrapper, other commands not. */
        if (strcmp(argv[0], harness_daemon_path()) == 0)
                argv_add_wrapper(wrapped, &n);
        for (int i = 0; argv[i] && n < 63 + WRAPPER_WORDS_MAX; i++)
                wrapped[n++] = argv[i];
        wrapped[n] = NULL;
        argv = wrapped;
        timeout_ms *= harness_time_scale();

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0 && !getenv("CV_TEST_VERBOSE"))
                        dup2(null, STDERR_FILENO);
                unsetenv("NOTIFY_SOCKET");
                unsetenv("LISTEN_FDS");
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        for (int waited = 0; waited < timeout_ms; waited += 10) {
                pid_t p = waitpid(pid, &status, WNOHANG);
                if (p == pid) {
                        int r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        exit_status_note(r);
                        return r;
                }
                usleep(10000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -ETIME;
}

int harness_connect_raw(const Harness *h) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->socket_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int harness_send_raw(int fd, const void *data, size_t size) {
        const char *p = data;
        while (size > 0) {
                ssize_t k = send(fd, p, size, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

int harness_send_frame(int fd, const char *body, size_t size) {
        unsigned char header[4] = { (unsigned char) (size >> 24), (unsigned char) (size >> 16),
                                    (unsigned char) (size >> 8), (unsigned char) size };
        int r = harness_send_raw(fd, header, 4);
        return r < 0 ? r : harness_send_raw(fd, body, size);
}

static int recv_exact(int fd, void *buf, size_t size, int timeout_ms) {
        char *p = buf;
        while (size > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int n = poll(&pfd, 1, timeout_ms);
                if (n == 0)
                        return -ETIMEDOUT;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                ssize_t k = recv(fd, p, size, 0);
                if (k == 0)
                        return -ECONNRESET;
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* The offset of the first byte that does not begin a valid UTF-8 sequence
 * (RFC 3629: no overlong form, surrogate or code point past U+10FFFF), or
 * size if there is none. Written apart from proto/ on purpose: it checks
 * the daemon's replies, so it must not share the daemon's code. */
static size_t utf8_invalid_at(const unsigned char *p, size_t size) {
        for (size_t i = 0; i < size;) {
                unsigned c = p[i], n, v, min;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 2, v = c & 0x1f, min = 0x80;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 3, v = c & 0x0f, min = 0x800;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 4, v = c & 0x07, min = 0x10000;
                else
                        return i;
                if (size - i < n)
                        return i;
                for (unsigned k = 1; k < n; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return i;
                        v = v << 6 | (p[i + k] & 0x3f);
                }
                if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                        return i;
                i += n;
        }
        return size;
}

int harness_recv_frame(int fd, int timeout_ms, char **ret_body) {
        unsigned char header[4];
        int r = recv_exact(fd, header, 4, timeout_ms);
        if (r < 0)
                return r;
        size_t size = (size_t) header[0] << 24 | (size_t) header[1] << 16 | (size_t) header[2] << 8 | header[3];
        if (size > 65536)
                return -EBADMSG;
        char *body = malloc(size + 1);
        if (!body)
                return -ENOMEM;
        r = recv_exact(fd, body, size, timeout_ms);
        if (r < 0) {
                free(body);
                return r;
        }
        body[size] = '\0';
        /* Every reply must be valid UTF-8, or no JSON parser takes it: say
         * so loudly, whatever the test expected. */
        size_t bad = utf8_invalid_at((const unsigned char *) body, size);
        if (bad < size) {
                fprintf(stderr, "harness: reply frame is not valid UTF-8 at byte %zu of %zu\n", bad, size);
                free(body);
                return -EILSEQ;
        }
        *ret_body = body;
        return 0;
}

bool harness_wait_closed(int fd, int timeout_ms) {
        char buf[4096];
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int n = poll(&pfd, 1, timeout_ms);
                if (n <= 0)
                        return false;
                ssize_t k = recv(fd, buf, sizeof(buf), 0);
                if (k == 0 || (k < 0 && errno == ECONNRESET))
                        return true;
                if (k < 0)
                        return false;
        }
}

int harness_read_file(const char *path, char **ret, size_t *ret_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t size = 0, alloc = 65536;
        char *buf = malloc(alloc);
        for (;;) {
                if (!buf) {
                        close(fd);
                        return -ENOMEM;
                }
                ssize_t k = read(fd, buf + size, alloc - size);
                if (k < 0) {
                        int r = -errno;
                        free(buf);
                        close(fd);
                        return r;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size == alloc) {
                        alloc *= 2;
                        char *n = realloc(buf, alloc);
                        if (!n)
                                free(buf);
                        buf = n;
                }
        }
        close(fd);
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* Fields 14 and 15 of /proc/PID/stat, after the command name in
 * parentheses (which may hold spaces). */
int harness_daemon_cpu_ms(const Harness *h, long *ret) {
        char path[64], *data = NULL;
        size_t size;
        unsigned long utime, stime;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) h->pid);
        int r = harness_read_file(path, &data, &size);
        if (r < 0)
                return r;
        data[size] = '\0'; /* harness_read_file() leaves room */
        const char *p = strrchr(data, ')');
        r = p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2 ? 0
                                                                                                           : -EBADMSG;
        free(data);
        if (r < 0)
                return r;
        *ret = (long) ((utime + stime) * 1000 / (unsigned long) sysconf(_SC_CLK_TCK));
        return 0;
}

int harness_daemon_rss_kib(const Harness *h, long *ret) {
        char path[64], *data = NULL;
        size_t size;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) h->pid);
        int r = harness_read_file(path, &data, &size);
        if (r < 0)
                return r;
        data[size] = '\0'; /* harness_read_file() leaves room */
        const char *p = strstr(data, "\nVmRSS:");
        r = p && sscanf(p + 8, "%ld", ret) == 1 ? 0 : -EBADMSG;
        free(data);
        return r;
}

int harness_call(int fd, const char *request, int timeout_ms, char **ret_reply) {
        int r = harness_send_frame(fd, request, strlen(request));
        return r < 0 ? r : harness_recv_frame(fd, timeout_ms, ret_reply);
}

int harness_policy_write(Harness *h, const char *text) {
        char tmp[128];
        size_t size = strlen(text);
        int r = 0;

        if (!h->dir[0])
                return -EINVAL;
        snprintf(h->policy_file, sizeof(h->policy_file), "%s/policy.json", h->dir);
        snprintf(tmp, sizeof(tmp), "%s/policy.json.new", h->dir);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        /* 0644 whatever the umask: readable, writable by its owner only. */
        if (fchmod(fd, 0644) < 0 || write(fd, text, size) != (ssize_t) size)
                r = errno ? -errno : -EIO;
        close(fd);
        if (r == 0 && rename(tmp, h->policy_file) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int harness_reload(const Harness *h) {
        if (h->pid <= 0)
                return -ESRCH;
        return kill(h->pid, SIGHUP) < 0 ? -errno : 0;
}

int harness_user_lookup(const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        struct passwd pw, *found = NULL;
        char buf[4096];
        if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) != 0 || !found)
                return -ENOENT;
        *ret_uid = pw.pw_uid;
        *ret_gid = pw.pw_gid;
        return 0;
}

int harness_group_lookup(const char *name, gid_t *ret_gid) {
        struct group gr, *found = NULL;
        char buf[16384];
        if (getgrnam_r(name, &gr, buf, sizeof(buf), &found) != 0 || !found)
                return -ENOENT;
        *ret_gid = gr.gr_gid;
        return 0;
}

/* Whether user is listed as a member of group. */
static bool group_has_member(const char *group, const char *user) {
        struct group gr, *found = NULL;
        char buf[16384];
        if (getgrnam_r(group, &gr, buf, sizeof(buf), &found) != 0 || !found)
                return false;
        for (char **m = gr.gr_mem; m && *m; m++)
                if (strcmp(*m, user) == 0)
                        return true;
        return false;
}

/* The path of a system tool, looked up where root's PATH has it. */
static const char *tool_find(const char *name, char *buf, size_t size) {
        static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(buf, size, "%s/%s", dirs[i], name);
                if (access(buf, X_OK) == 0)
                        return buf;
        }
        return NULL;
}

/* Run a tool (argv[0] a name) to its end; its exit status, or -errno. */
static int tool_run(const char *const *argv, char *reason, size_t reason_size) {
        char path[256];
        int status;

        if (!tool_find(argv[0], path, sizeof(path))) {
                snprintf(reason, reason_size, "%s not found (in /usr/sbin, /sbin, /usr/bin, /bin)", argv[0]);
                return -ENOENT;
        }
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
                execv(path, (char *const *) argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        int r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r != 0) {
                size_t k = 0;
                for (int i = 0; argv[i] && k < reason_size; i++)
                        k += (size_t) snprintf(reason + k, reason_size - k, "%s ", argv[i]);
                if (k < reason_size)
                        snprintf(reason + k, reason_size - k, "exited with status %d", r);
        }
        return r == 0 ? 0 : -EIO;
}

/* Who has which user made: test processes may run at once (meson runs
 * tests in parallel), and useradd of the same name twice fails. */
#define USERS_LOCK_FILE "/run/credvault-test-users.lock"

static int users_ensure_locked(char *reason, size_t reason_size) {
        static const char *const users[] = { HARNESS_USER_A, HARNESS_USER_B, HARNESS_USER_C };
        uid_t uid;
        gid_t gid;
        int r;

        if (harness_group_lookup(HARNESS_GROUP_G, &gid) < 0) {
                const char *argv[] = { "groupadd", "--system", HARNESS_GROUP_G, NULL };
                r = tool_run(argv, reason, reason_size);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
                if (harness_user_lookup(users[i], &uid, &gid) == 0)
                        continue;
                const char *argv[] = { "useradd", "--system",          "--no-create-home", "--home-dir", "/nonexistent",
                                       "--shell", "/usr/sbin/nologin", "--user-group",     users[i],     NULL };
                r = tool_run(argv, reason, reason_size);
                if (r < 0)
                        return r;
        }
        if (!group_has_member(HARNESS_GROUP_G, HARNESS_USER_C)) {
                const char *argv[] = { "usermod", "--append", "--groups", HARNESS_GROUP_G, HARNESS_USER_C, NULL };
                r = tool_run(argv, reason, reason_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int harness_test_users_ensure(char *reason, size_t reason_size) {
        char path[256];
        int r;

        snprintf(reason, reason_size, "%s", "");
        if (geteuid() != 0) {
                snprintf(reason, reason_size,
                         "needs root to create the test users %s, %s, %s and group %s, and to "
                         "connect as them",
                         HARNESS_USER_A, HARNESS_USER_B, HARNESS_USER_C, HARNESS_GROUP_G);
                return -EPERM;
        }
        if (!tool_find("useradd", path, sizeof(path)) || !tool_find("groupadd", path, sizeof(path)) ||
            !tool_find("usermod", path, sizeof(path))) {
                snprintf(reason, reason_size, "useradd, groupadd or usermod missing: cannot create the test users");
                return -ENOENT;
        }
        int lock = open(USERS_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock < 0) {
                r = -errno;
                snprintf(reason, reason_size, "cannot open %s: %s", USERS_LOCK_FILE, strerror(-r));
                return r;
        }
        while (flock(lock, LOCK_EX) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        close(lock);
                        snprintf(reason, reason_size, "cannot lock %s: %s", USERS_LOCK_FILE, strerror(-r));
                        return r;
                }
        r = users_ensure_locked(reason, reason_size);
        close(lock);
        return r;
}

/* The child of harness_connect_as(): become the user, connect, send the
 * socket to the parent. Its exit status is the errno of what failed. */
static _Noreturn void connect_as_child(const Harness *h, int channel, uid_t uid, gid_t gid, const gid_t *groups,
                                       int n_groups) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (setgroups((size_t) n_groups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                _exit(errno);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->socket_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                _exit(errno);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                _exit(errno);

        char byte = 0;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        if (sendmsg(channel, &msg, MSG_NOSIGNAL) != 1)
                _exit(errno ? errno : EIO);
        _exit(0);
}

#define GROUPS_MAX 64

int harness_connect_as(const Harness *h, uid_t uid, gid_t gid) {
        gid_t groups[GROUPS_MAX];
        int n_groups = 0, pair[2], status, fd = -1;
        struct passwd pw, *found = NULL;
        char buf[4096];

        /* Looked up here, before the fork: the groups the user would have
         * after logging in. */
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
                n_groups = GROUPS_MAX;
                if (getgrouplist(pw.pw_name, gid, groups, &n_groups) < 0)
                        return -E2BIG;
        }
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(pair[0]);
                close(pair[1]);
                return r;
        }
        if (pid == 0) {
                close(pair[0]);
                connect_as_child(h, pair[1], uid, gid, groups, n_groups);
        }
        close(pair[1]);
        if (waitpid(pid, &status, 0) < 0) {
                int r = -errno;
                close(pair[0]);
                return r;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                close(pair[0]);
                return WIFEXITED(status) ? -WEXITSTATUS(status) : -ECHILD;
        }

        char byte;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
        };
        ssize_t k = recvmsg(pair[0], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        int r = k == 1 ? 0 : k < 0 ? -errno : -EPROTO;
        close(pair[0]);
        if (r < 0)
                return r;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                return -EPROTO;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}
