/* input.c — what the CLI reads (see cli.h).
 *
 * Owns: reading stdin or a file into a buffer that wipes itself, making it
 * text for the library (no NUL bytes, one final newline stripped where a
 * header is read), a value typed at a terminal (through tty.c), and the
 * points in time T of the audit commands (their "ago" form a DURATION of
 * duration.c).
 * Never: let input pass through stdio's buffer or an unwiped allocation,
 * and never quote a byte of it in an error message. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "cli.h"
#include "parse-util.h"
#include "tty.h"

/* First allocation for input; doubled as needed up to the caller's limit. */
#define INPUT_CHUNK_SIZE 4096

void cli_buf_free(CliBuf *b) {
        if (!b)
                return;
        if (b->data)
                explicit_bzero(b->data, b->allocated);
        free(b->data);
        free(b);
}

/* Grow to at least one free byte, at most cap bytes in all. realloc() would
 * leave the old block unwiped, so copy by hand. */
static int buf_grow(CliBuf *b, size_t cap) {
        size_t allocated = b->allocated ? b->allocated * 2 : INPUT_CHUNK_SIZE;
        if (allocated > cap || allocated < b->allocated)
                allocated = cap;
        if (allocated <= b->size)
                return -EMSGSIZE;
        uint8_t *data = malloc(allocated);
        if (!data)
                return -ENOMEM;
        if (b->data) {
                memcpy(data, b->data, b->size);
                explicit_bzero(b->data, b->allocated);
                free(b->data);
        }
        b->data = data;
        b->allocated = allocated;
        return 0;
}

static int fd_read(int fd, size_t size_max, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *b = calloc(1, sizeof(CliBuf));
        int r;

        if (!b)
                return -ENOMEM;
        for (;;) {
                /* One byte over the limit is how we know it is over; the
                 * same byte is room for cli_buf_terminate()'s NUL. */
                if (b->size == b->allocated) {
                        r = buf_grow(b, size_max + 1);
                        if (r < 0)
                                return r;
                }
                ssize_t k = read(fd, b->data + b->size, b->allocated - b->size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                b->size += (size_t) k;
                if (b->size > size_max)
                        return -EMSGSIZE;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int cli_stdin_read(size_t size_max, CliBuf **ret) {
        return fd_read(STDIN_FILENO, size_max, ret);
}

int cli_file_read(const char *path, size_t size_max, CliBuf **ret) {
        if (strcmp(path, "-") == 0)
                return fd_read(STDIN_FILENO, size_max, ret);
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return fd_read(fd, size_max, ret);
}

int cli_buf_terminate(CliBuf *b) {
        if (b->size > 0 && memchr(b->data, '\0', b->size))
                return -EINVAL;
        if (b->size == b->allocated) {
                int r = buf_grow(b, b->size + 1);
                if (r < 0)
                        return r;
        }
        b->data[b->size] = '\0';
        return 0;
}

/* A value typed at a terminal: prompted for on stderr, unseen, its line
 * ending dropped; with confirm typed twice. Never empty: an empty value
 * is stored from a file or a pipe. */
static int tty_value_read(const char *what, bool confirm, bool storing, size_t size_max, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *first = NULL, *second = NULL;
        const char *nothing = storing ? "; nothing stored" : "";
        char prompt[128];
        int r;

        for (int i = 0; i < (confirm ? 2 : 1); i++) {
                snprintf(prompt, sizeof(prompt), "%s %s: ", i == 0 ? "Enter" : "Repeat", what);
                r = tty_read_line(STDIN_FILENO, prompt, size_max, i == 0 ? &first : &second);
                if (r == -ENODATA)
                        return cli_error(-EINVAL, "nothing typed for %s%s", what, nothing);
                if (r == -EMSGSIZE)
                        return cli_error(r, "%s typed is over %zu bytes%s", what, size_max, nothing);
                if (r < 0)
                        return cli_error(r, "cannot read %s from the terminal: %s", what, strerror(-r));
                if (i == 0 && first->size == 0)
                        return cli_error(-EINVAL, "%s typed is empty%s", what,
                                         storing ? "; nothing stored (an empty one is read from a file: </dev/null)"
                                                 : "");
        }
        if (second && (second->size != first->size || sodium_memcmp(first->data, second->data, first->size) != 0))
                return cli_error(-EINVAL, "the two entries of %s differ; nothing stored", what);
        *ret = TAKE_PTR(first);
        return 0;
}

int cli_stdin_read_value(const Cli *cli, const char *what, bool storing, CliBuf **ret) {
        /* A person at a terminal: the line ending is the Enter key, not
         * part of the value, and the value is not for the screen. */
        if (tty_is(STDIN_FILENO))
                return tty_value_read(what, storing && !cli_has(cli, CLI_OPT_NO_CONFIRM), storing,
                                      CV_SECRET_VALUE_SIZE_MAX, ret);
        int r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, ret);
        if (r == -EMSGSIZE)
                return cli_error(r, "%s on stdin is over %d bytes%s", what, CV_SECRET_VALUE_SIZE_MAX,
                                 storing ? "; nothing stored" : "");
        if (r < 0)
                return cli_error(r, "cannot read %s from stdin: %s", what, strerror(-r));
        return 0;
}

/* stdin that is not a terminal as text: byte-exact but for one final
 * newline with strip_newline. */
static int stdin_text_read(const char *what, size_t size_max, bool strip_newline, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *b = NULL;

        /* Room for the newline that is stripped. */
        int r = cli_stdin_read(size_max + (strip_newline ? 2 : 0), &b);
        if (r == -EMSGSIZE)
                return cli_error(r, "%s on stdin is over %zu bytes", what, size_max);
        if (r < 0)
                return cli_error(r, "cannot read %s from stdin: %s", what, strerror(-r));
        if (strip_newline && b->size > 0 && b->data[b->size - 1] == '\n') {
                b->size--;
                if (b->size > 0 && b->data[b->size - 1] == '\r')
                        b->size--;
        }
        if (b->size > size_max)
                return cli_error(-EMSGSIZE, "%s on stdin is over %zu bytes", what, size_max);
        *ret = TAKE_PTR(b);
        return 0;
}

int cli_stdin_read_text(const char *what, size_t size_max, bool strip_newline, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *b = NULL;

        int r = tty_is(STDIN_FILENO) ? tty_value_read(what, false, false, size_max, &b)
                                     : stdin_text_read(what, size_max, strip_newline, &b);
        if (r < 0)
                return r;
        r = cli_buf_terminate(b);
        if (r == -EINVAL)
                return cli_error(r, "%s on stdin holds a NUL byte", what);
        if (r < 0)
                return cli_error(r, "out of memory");
        *ret = TAKE_PTR(b);
        return 0;
}

/* n decimal digits at s, exactly, into *ret. */
static bool digits_parse(const char *s, size_t n, int *ret) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* "YYYY-MM-DD", optionally followed by "THH:MM:SS" and "Z" or "+HH:MM" /
 * "-HH:MM" (a time needs its zone: local time would depend on the
 * machine). Every field checked, so "2026-02-30" is refused rather than
 * moved to March. */
static int iso_time_parse(const char *s, int64_t *ret) {
        struct tm tm = {}, check;
        int year, month, day, hour = 0, minute = 0, second = 0, offset = 0;
        size_t n = strlen(s);

        if (n < 10 || s[4] != '-' || s[7] != '-' || !digits_parse(s, 4, &year) || !digits_parse(s + 5, 2, &month) ||
            !digits_parse(s + 8, 2, &day))
                return -EINVAL;
        if (n > 10) {
                int oh, om;
                if (n < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || !digits_parse(s + 11, 2, &hour) ||
                    !digits_parse(s + 14, 2, &minute) || !digits_parse(s + 17, 2, &second))
                        return -EINVAL;
                if (n == 20 && s[19] == 'Z')
                        offset = 0;
                else if (n == 25 && (s[19] == '+' || s[19] == '-') && s[22] == ':' && digits_parse(s + 20, 2, &oh) &&
                         digits_parse(s + 23, 2, &om) && oh <= 23 && om <= 59)
                        offset = (s[19] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
                else
                        return -EINVAL;
        }
        if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
                return -EINVAL;
        tm = (struct tm) {
                .tm_year = year - 1900,
                .tm_mon = month - 1,
                .tm_mday = day,
                .tm_hour = hour,
                .tm_min = minute,
                .tm_sec = second,
        };
        time_t t = timegm(&tm);
        if (t == (time_t) -1 || !gmtime_r(&t, &check) || check.tm_mday != day || check.tm_mon != month - 1)
                return -EINVAL;
        *ret = (int64_t) t - offset;
        return 0;
}

int cli_time_parse(const char *s, int64_t now, int64_t *ret) {
        int64_t t = 0, ago = 0;
        size_t n = strlen(s);
        int r;

        if (s[0] == '@')
                r = parse_int64(s + 1, 0, INT64_MAX, &t);
        else if (n >= 10 && s[4] == '-')
                r = iso_time_parse(s, &t);
        else if (n >= 2 && strpbrk(s, "abcdefghijklmnopqrstuvwxyzM")) {
                /* A unit is required: "300" could as well be unix seconds. */
                r = cli_duration_parse(s, now, &ago);
                t = now - ago;
        } else
                r = -EINVAL;
        if (r == -ENOMEM)
                return r;
        if (r < 0 || t < 0)
                return -EINVAL;
        *ret = t;
        return 0;
}
