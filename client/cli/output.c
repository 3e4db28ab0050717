/* output.c — what the CLI prints (see cli.h).
 *
 * Owns: base64, ISO 8601 times, tables, one-line JSON, writing values past
 * stdio, jansson's wiping allocator, and "credvault: ..." error lines.
 * Never: let a value pass through stdio's buffer or an unwiped allocation,
 * and never put a value into an error message. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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

int cli_write_secret_line(const char *s) {
        int r = cli_write_secret(s, strlen(s));
        return r < 0 ? r : cli_write_secret("\n", 1);
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
        size_t n_rows; /* the header included */
        char **cells;  /* n_rows * n_columns strings, row by row */
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
                        while (i > 0) {
                                i--;
                                explicit_bzero(row[i], strlen(row[i]));
                                free(row[i]);
                        }
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

/* The whole table is rendered into one wiping buffer and written past
 * stdio: a cell may be a revealed token. */
int cli_table_print(const CliTable *t) {
        _cleanup_(freep) size_t *widths = calloc(t->n_columns, sizeof(size_t));
        _cleanup_(cli_buf_freep) CliBuf *text = calloc(1, sizeof(CliBuf));
        size_t size = 0;

        if (!widths || !text)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
                size_t w = text_width(t->cells[i]);
                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }
        /* Bytes, not widths: padding is by characters, cells are bytes. */
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                size += strlen(t->cells[i]) + widths[i % t->n_columns] + 2;
        text->data = malloc(size + 1);
        if (!text->data)
                return -ENOMEM;
        text->allocated = size + 1;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
                size_t column = i % t->n_columns, n = strlen(t->cells[i]);
                memcpy(text->data + text->size, t->cells[i], n);
                text->size += n;
                if (column + 1 == t->n_columns)
                        text->data[text->size++] = '\n';
                else
                        for (size_t pad = widths[column] - text_width(t->cells[i]) + 2; pad > 0; pad--)
                                text->data[text->size++] = ' ';
        }
        return cli_write_secret(text->data, text->size);
}

void cli_table_free(CliTable *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
                explicit_bzero(t->cells[i], strlen(t->cells[i]));
                free(t->cells[i]);
        }
        free(t->cells);
        free(t);
}
int cli_match_print(const Cli *cli, bool match, int64_t version) {
        if (cli->json) {
                json_t *j = json_pack("{s:b}", "match", match);
                if (j && version >= 0 &&
                    json_object_set_new(j, "version", match ? json_integer(version) : json_null()) < 0) {
                        json_decref(j);
                        j = NULL;
                }
                int r = cli_print_json(j);
                if (r < 0)
                        return r;
        } else if (match && version >= 0)
                printf("match version %" PRId64 "\n", version);
        else
                printf(match ? "match\n" : "no match\n");
        return match ? 0 : CLI_EXIT_NO_MATCH;
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
        int64_t retry_ms = cv_client_retry_after_ms(c);

        if (r == -EALREADY && retry_ms >= 0)
                return cli_error(r, "%s (retry after %" PRId64 " ms)", *message ? message : strerror(-r), retry_ms);
        return cli_error(r, "%s", *message ? message : strerror(-r));
}
