/* log.c — log lines to the journal or stderr (see log.h).
 *
 * JOURNAL_STREAM is how systemd tells a service that its stderr is the
 * journal; then sd_journal_send() gives the same lines with fields.
 *
 * stderr is written without ever waiting for its reader: a daemon whose
 * log reader stalls (a pipe nobody drains, a terminal on hold) must go on
 * serving. O_NONBLOCK on fd 2 itself would change the file description
 * every other holder of it shares (the shell, the supervisor), so:
 *   - a socket is written with send(MSG_DONTWAIT);
 *   - a pipe, FIFO or terminal is reopened through /proc/self/fd/2, which
 *     gives a file description of our own, with O_NONBLOCK;
 *   - a regular file is written as it is (its writes do not wait for a
 *     reader);
 *   - anything else (no /proc) is written only when poll() says it has
 *     room, in pieces of at most PIPE_BUF bytes.
 * What stderr does not take stays queued, a line cut by a short write
 * included, so the reader sees whole lines; when the queue is full, new
 * lines are dropped and counted. The queue is one buffer of
 * LOG_QUEUE_SIZE + LOG_RESERVE_SIZE bytes of which a line that is not
 * reserved may only fill the first LOG_QUEUE_SIZE: so the reserve is
 * never taken by other lines, nothing queued is ever pushed out, and the
 * order of lines is kept. A write error other than EAGAIN (a reader gone,
 * ENOSPC on a file) loses what is queued: those lines are counted too,
 * and the note that follows says why. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

typedef enum LogOutput {
        LOG_OUTPUT_NONE,   /* stderr is closed: lines go nowhere */
        LOG_OUTPUT_WRITE,  /* write() to out_fd, which does not block */
        LOG_OUTPUT_SOCKET, /* send(MSG_DONTWAIT) to fd 2 */
        LOG_OUTPUT_POLL,   /* write() to fd 2 when poll() says it has room */
} LogOutput;

static int journal = -1;
static LogOutput output = LOG_OUTPUT_NONE;
static int out_fd = -1;

static char queue[LOG_QUEUE_SIZE + LOG_RESERVE_SIZE];
static size_t queue_size;
static unsigned long n_dropped;          /* lines, reserved ones included */
static unsigned long n_dropped_reserved; /* of those, reserved lines that found even the reserve full */
static int drop_error;                   /* the write error that lost lines, or 0 */
/* The note on dropped lines at the queue's front, until it is written:
 * its bytes, and the counts it reports. */
static size_t note_end;
static unsigned long note_dropped, note_dropped_reserved;
static bool stalled; /* the last write would have blocked; wait for log_flush() */

static void output_open(void) {
        struct stat st;

        if (fstat(STDERR_FILENO, &st) < 0) {
                output = LOG_OUTPUT_NONE;
                return;
        }
        if (S_ISSOCK(st.st_mode)) {
                output = LOG_OUTPUT_SOCKET;
                out_fd = STDERR_FILENO;
        } else if (S_ISREG(st.st_mode)) {
                output = LOG_OUTPUT_WRITE;
                out_fd = STDERR_FILENO;
        } else {
                out_fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                output = out_fd >= 0 ? LOG_OUTPUT_WRITE : LOG_OUTPUT_POLL;
                if (out_fd < 0)
                        out_fd = STDERR_FILENO;
        }
}

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long dev, ino;
        struct stat st;

        journal = e && sscanf(e, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 && st.st_dev == dev &&
                  st.st_ino == ino;
        if (!journal && out_fd < 0) {
                output_open();
                /* A last try for what is still queued (a refusal to start
                 * logged while the reader was stalled); it does not wait
                 * either. */
                atexit(log_flush);
        }
}

int log_to_journal(void) {
        if (journal < 0)
                log_open();
        return journal;
}

/* Write some of data without waiting: bytes written, or -errno (-EAGAIN
 * when stderr has no room now). */
static ssize_t output_write(const char *data, size_t size) {
        ssize_t k;

        if (output == LOG_OUTPUT_POLL) {
                struct pollfd p = { .fd = out_fd, .events = POLLOUT };
                if (poll(&p, 1, 0) < 0)
                        return -errno;
                if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
                        return -EPIPE;
                if (!(p.revents & POLLOUT))
                        return -EAGAIN;
                if (size > PIPE_BUF)
                        size = PIPE_BUF;
        }
        do
                k = output == LOG_OUTPUT_SOCKET ? send(out_fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL)
                                                : write(out_fd, data, size);
        while (k < 0 && errno == EINTR);
        return k < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : k;
}

/* The lines that report dropped lines, queued once the queue is empty. */
static void dropped_note_queue(void) {
        int n = 0;
        if (n_dropped_reserved > 0)
                n += snprintf(queue + n, sizeof(queue) - (size_t) n,
                              "credvaultd: AUDIT RECORDS LOST: %lu audit records of successful reads/writes dropped "
                              "(of the log lines below): stderr was not read fast enough\n",
                              n_dropped_reserved);
        if (n_dropped > 0) {
                if (drop_error > 0)
                        n += snprintf(queue + n, sizeof(queue) - (size_t) n,
                                      "credvaultd: %lu log lines dropped: writing stderr failed: %s\n", n_dropped,
                                      strerror(drop_error));
                else
                        n += snprintf(queue + n, sizeof(queue) - (size_t) n,
                                      "credvaultd: %lu log lines dropped: stderr was not read fast enough\n",
                                      n_dropped);
        }
        queue_size = note_end = (size_t) n;
        note_dropped = n_dropped;
        note_dropped_reserved = n_dropped_reserved;
        n_dropped = n_dropped_reserved = 0;
        drop_error = 0;
}

/* Lines lost from the queue: whole lines, and a line cut by a short write
 * before them counts as one. */
static unsigned long lines_in(const char *data, size_t size) {
        unsigned long n = 0;
        for (const char *p = data, *end = data + size; (p = memchr(p, '\n', (size_t) (end - p))); p++)
                n++;
        return n;
}

/* Drop the first n bytes of the queue, keeping the rest in order. In
 * pieces of at most n bytes, each a memcpy() between ranges that do not
 * overlap: glibc's fortified memmove() on this static array is seen by
 * valgrind as a memcpy() of overlapping ranges, an error in
 * `scripts/test.sh --valgrind`. The rest is rarely more than a cut line. */
static void queue_drop_front(size_t n) {
        if (n == 0)
                return;
        for (size_t i = 0; i + n < queue_size; i += n) {
                size_t k = queue_size - (i + n);
                memcpy(queue + i, queue + i + n, k < n ? k : n);
        }
        queue_size -= n;
}

void log_flush(void) {
        size_t off = 0;
        bool failed = false;

        if (output == LOG_OUTPUT_NONE) {
                queue_size = note_end = 0;
                return;
        }
        for (;;) {
                while (off < queue_size) {
                        ssize_t k = output_write(queue + off, queue_size - off);
                        if (k == -EAGAIN || k == 0) {
                                stalled = true;
                                break;
                        }
                        if (k < 0) {
                                /* The reader is gone (EPIPE) or stderr is
                                 * broken (ENOSPC): what is queued cannot
                                 * be written now. Counted, like lines
                                 * that found the queue full, and said by
                                 * the next flush, if a write succeeds
                                 * then; a note lost with them is owed
                                 * again. */
                                size_t from = off > note_end ? off : note_end;
                                n_dropped += lines_in(queue + from, queue_size - from);
                                if (off < note_end) {
                                        n_dropped += note_dropped;
                                        n_dropped_reserved += note_dropped_reserved;
                                }
                                drop_error = (int) -k;
                                failed = true;
                                off = queue_size;
                                break;
                        }
                        off += (size_t) k;
                        stalled = false;
                }
                if (off < queue_size || n_dropped == 0 || failed)
                        break;
                /* Caught up after dropping lines: say how many. */
                dropped_note_queue();
                off = 0;
        }
        queue_drop_front(off);
        note_end = note_end > off ? note_end - off : 0;
}

void log_line_queue(const char *line, size_t size, bool flush_now, bool reserved) {
        size_t limit = reserved ? sizeof(queue) : LOG_QUEUE_SIZE;

        if (size > LOG_LINE_MAX)
                size = LOG_LINE_MAX;
        if (output == LOG_OUTPUT_NONE || size == 0)
                return;
        if (queue_size + size > limit && !stalled)
                log_flush();
        if (queue_size + size > limit) {
                n_dropped++;
                if (reserved)
                        n_dropped_reserved++;
                return;
        }
        memcpy(queue + queue_size, line, size);
        queue_size += size;
        /* While the reader is stalled, only log_flush() (the server's
         * timer) tries again: a write per line would be a wasted system
         * call per request. */
        if (!stalled && (flush_now || queue_size >= LOG_BATCH_SIZE))
                log_flush();
}

void log_msg(int priority, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (log_to_journal())
                sd_journal_printv(priority, fmt, ap);
        else {
                char line[LOG_LINE_MAX];
                static const char prefix[] = "credvaultd: ";
                memcpy(line, prefix, sizeof(prefix) - 1);
                int n = vsnprintf(line + sizeof(prefix) - 1, sizeof(line) - sizeof(prefix), fmt, ap);
                size_t size = sizeof(prefix) - 1 + (n < 0 ? 0 : (size_t) n);
                if (size > sizeof(line) - 1)
                        size = sizeof(line) - 1;
                line[size++] = '\n';
                log_line_queue(line, size, true, false);
        }
        va_end(ap);
}
