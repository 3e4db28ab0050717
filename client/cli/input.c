/* input.c — what the CLI reads (see cli.h).
 *
 * Owns: reading stdin or a file into a buffer that wipes itself, making it
 * text for the library (no NUL bytes, one final newline stripped where a
 * header is read), the DURATION syntax of --expiring and --min-valid, and
 * the points in time T of the audit commands.
 * Never: let input pass through stdio's buffer or an unwiped allocation,
 * and never quote a byte of it in an error message. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse-util.h"

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

int cli_stdin_read_value(const char *what, bool storing, CliBuf **ret) {
        int r = cli_stdin_read(CV_SECRET_VALUE_SIZE_MAX, ret);
        if (r == -EMSGSIZE)
                return cli_error(r, "%s on stdin is over %d bytes%s", what, CV_SECRET_VALUE_SIZE_MAX,
                                 storing ? "; nothing stored" : "");
        if (r < 0)
                return cli_error(r, "cannot read %s from stdin: %s", what, strerror(-r));
        return 0;
}

int cli_stdin_read_text(const char *what, size_t size_max, bool strip_newline, CliBuf **ret) {
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
        r = cli_buf_terminate(b);
        if (r == -EINVAL)
                return cli_error(r, "%s on stdin holds a NUL byte", what);
        if (r < 0)
                return cli_error(r, "out of memory");
        *ret = TAKE_PTR(b);
        return 0;
}

static const struct {
        char unit;
        int64_t seconds;
} duration_units[] = {
        { 'd', 86400 },
        { 'h', 3600 },
        { 'm', 60 },
        { 's', 1 },
};

int cli_duration_parse(const char *s, int64_t max, int64_t *ret) {
        _cleanup_(freep) char *digits = NULL;
        int64_t v, scale = 1;
        size_t n = strlen(s);

        /* An optional unit after the digits; the digits themselves are
         * parse_int64()'s (no sign, spaces or "0x"). */
        for (size_t i = 0; n > 0 && i < ELEMENTSOF(duration_units); i++)
                if (s[n - 1] == duration_units[i].unit) {
                        scale = duration_units[i].seconds;
                        n--;
                        break;
                }
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        if (parse_int64(digits, 0, max / scale, &v) < 0)
                return -EINVAL;
        *ret = v * scale;
        return 0;
}

const char *cli_duration_format(int64_t sec, char buf[static CLI_DURATION_SIZE]) {
        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                if (sec > 0 && sec % duration_units[i].seconds == 0) {
                        snprintf(buf, CLI_DURATION_SIZE, "%" PRId64 "%c", sec / duration_units[i].seconds,
                                 duration_units[i].unit);
                        return buf;
                }
        snprintf(buf, CLI_DURATION_SIZE, "%" PRId64 "s", sec);
        return buf;
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
        else if (n >= 2 && s[n - 1] >= 'a' && s[n - 1] <= 'z') {
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
