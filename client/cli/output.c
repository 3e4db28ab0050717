/* output.c — the CLI's shared input and output helpers (see cli.h).
 *
 * Owns: reading stdin into a buffer that wipes itself, base64, ISO 8601
 * times, tables, one-line JSON, and "credvault: ..." error lines.
 * Never: let a value pass through stdio's buffer or an unwiped allocation,
 * and never put a value into an error message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* First allocation for stdin; doubled as needed up to the caller's limit. */
#define STDIN_CHUNK_SIZE 4096

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
        size_t allocated = b->allocated ? b->allocated * 2 : STDIN_CHUNK_SIZE;
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

int cli_stdin_read(size_t size_max, CliBuf **ret) {
        _cleanup_(cli_buf_freep) CliBuf *b = calloc(1, sizeof(CliBuf));
        int r;

        if (!b)
                return -ENOMEM;
        for (;;) {
                /* One byte over the limit is how we know it is over. */
                if (b->size == b->allocated) {
                        r = buf_grow(b, size_max + 1);
                        if (r < 0)
                                return r;
                }
                ssize_t k = read(STDIN_FILENO, b->data + b->size, b->allocated - b->size);
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

int cli_base64_encode(const void *data, size_t size, CliBuf **ret) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_(cli_buf_freep) CliBuf *b = calloc(1, sizeof(CliBuf));
        const uint8_t *in = data;
        size_t i;

        if (!b)
                return -ENOMEM;
        b->allocated = (size + 2) / 3 * 4 + 1;
        b->data = malloc(b->allocated);
        if (!b->data)
                return -ENOMEM;
        for (i = 0; i + 2 < size; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                b->data[b->size++] = (uint8_t) alphabet[v >> 18];
                b->data[b->size++] = (uint8_t) alphabet[(v >> 12) & 63];
                b->data[b->size++] = (uint8_t) alphabet[(v >> 6) & 63];
                b->data[b->size++] = (uint8_t) alphabet[v & 63];
        }
        if (i < size) {
                uint32_t v = (uint32_t) in[i] << 16 | (i + 1 < size ? (uint32_t) in[i + 1] << 8 : 0);
                b->data[b->size++] = (uint8_t) alphabet[v >> 18];
                b->data[b->size++] = (uint8_t) alphabet[(v >> 12) & 63];
                b->data[b->size++] = i + 1 < size ? (uint8_t) alphabet[(v >> 6) & 63] : '=';
                b->data[b->size++] = '=';
        }
        b->data[b->size] = '\0';
        *ret = TAKE_PTR(b);
        return 0;
}

/* jansson does not pass the size to free(), so each block carries it in a
 * header, padded to keep the block aligned for any type. */
typedef union {
        size_t size;
        max_align_t align;
} WipeHeader;

static void *json_malloc_wiped(size_t size) {
        if (size > SIZE_MAX - sizeof(WipeHeader))
                return NULL;
        WipeHeader *h = malloc(sizeof(WipeHeader) + size);
        if (!h)
                return NULL;
        h->size = size;
        return h + 1;
}

static void json_free_wiped(void *p) {
        if (!p)
                return;
        WipeHeader *h = (WipeHeader *) p - 1;
        explicit_bzero(p, h->size);
        free(h);
}

void cli_json_wipe_on_free(void) {
        json_set_alloc_funcs(json_malloc_wiped, json_free_wiped);
}

const char *cli_time_format(int64_t t, char buf[static CLI_TIME_SIZE]) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (t < 0 || (int64_t) tt != t || !gmtime_r(&tt, &tm) ||
            strftime(buf, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, CLI_TIME_SIZE, "-");
        return buf;
}

int cli_write_secret(const void *data, size_t size) {
        const uint8_t *p = data;

        /* Whatever stdio holds goes first, to keep the order. */
        if (fflush(stdout) != 0)
                return negative_errno();
        while (size > 0) {
                ssize_t k = write(STDOUT_FILENO, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

int cli_print_json(json_t *j) {
        _cleanup_(cli_json_decrefp) json_t *owned = j;
        _cleanup_(cli_buf_freep) CliBuf *text = NULL;
        int r;

        if (!j)
                return cli_error(-ENOMEM, "out of memory");
        /* json_dumpb() reports the size it needs when the buffer is short. */
        size_t size = json_dumpb(j, NULL, 0, JSON_COMPACT);
        if (size == 0)
                return cli_error(-ENOMEM, "out of memory");
        text = calloc(1, sizeof(CliBuf));
        if (!text || !(text->data = malloc(size + 1)))
                return cli_error(-ENOMEM, "out of memory");
        text->allocated = size + 1;
        text->size = json_dumpb(j, (char *) text->data, size, JSON_COMPACT);
        if (text->size != size)
                return cli_error(-EIO, "cannot format JSON output");
        text->data[text->size++] = '\n';
        r = cli_write_secret(text->data, text->size);
        if (r < 0)
                return cli_error(r, "cannot write to stdout: %s", strerror(-r));
        return 0;
}

struct CliTable {
        size_t n_columns;
        size_t n_rows;   /* the header included */
        char **cells;    /* n_rows * n_columns strings, row by row */
};

int cli_table_new(size_t n_columns, const char *const *header, CliTable **ret) {
        _cleanup_(cli_table_freep) CliTable *t = calloc(1, sizeof(CliTable));
        if (!t)
                return -ENOMEM;
        t->n_columns = n_columns;
        int r = cli_table_add(t, header);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

int cli_table_add(CliTable *t, const char *const *cells) {
        char **grown = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        t->cells = grown;
        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = strdup(cells[i]);
                if (!row[i]) {
                        while (i > 0)
                                free(row[--i]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

/* Width on a terminal, counting UTF-8 characters rather than bytes (user
 * ids may be any UTF-8). */
static size_t text_width(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

int cli_table_print(const CliTable *t) {
        _cleanup_(freep) size_t *widths = calloc(t->n_columns, sizeof(size_t));
        if (!widths)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
                size_t w = text_width(t->cells[i]);
                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
                size_t column = i % t->n_columns;
                fputs(t->cells[i], stdout);
                if (column + 1 == t->n_columns)
                        fputc('\n', stdout);
                else
                        fprintf(stdout, "%*s", (int) (widths[column] - text_width(t->cells[i]) + 2), "");
        }
        return ferror(stdout) ? -EIO : 0;
}

void cli_table_free(CliTable *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

int cli_error(int r, const char *format, ...) {
        va_list ap;

        fflush(stdout);
        fputs("credvault: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

int cli_error_call(const CvClient *c, int r) {
        const char *message = cv_client_error_message(c);
        return cli_error(r, "%s", *message ? message : strerror(-r));
}
