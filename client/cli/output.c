/* output.c — what the CLI prints (see cli.h).
 *
 * Owns: ISO 8601 times, tables, one-line JSON, list commands' records (as
 * a table or JSON, by their columns), writing values past stdio, and
 * "credvault: ..." error lines. Base64 of a value is common/'s
 * (secret_buf_to_base64(), constant-time); jansson's wiping allocator is
 * installed by main.c through libcredvault.
 * Never: let a value pass through stdio's buffer or an unwiped allocation,
 * and never put a value into an error message. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_time_format(int64_t t, char buf[static CLI_TIME_SIZE]) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (t < 0 || (int64_t) tt != t || !gmtime_r(&tt, &tm) ||
            strftime(buf, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, CLI_TIME_SIZE, "-");
        return buf;
}

const char *cli_time_format_usec(int64_t usec, bool fraction, char buf[static CLI_TIME_SIZE]) {
        time_t tt = (time_t) (usec / 1000000);
        struct tm tm;
        char s[32];

        if (usec < 0 || !gmtime_r(&tt, &tm) || strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, CLI_TIME_SIZE, "-");
        else if (fraction)
                snprintf(buf, CLI_TIME_SIZE, "%s.%06" PRId64, s, usec % 1000000);
        else
                snprintf(buf, CLI_TIME_SIZE, "%s", s);
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

int cli_write_value(const Cli *cli, const void *data, size_t size, CliNewline dflt) {
        CliNewline newline = cli->newline != CLI_NEWLINE_DEFAULT ? cli->newline : dflt;
        int r = cli_write_secret(data, size);
        if (r >= 0 && (newline == CLI_NEWLINE_ALWAYS || (newline == CLI_NEWLINE_AUTO && isatty(STDOUT_FILENO) == 1)))
                r = cli_write_secret("\n", 1);
        return r < 0 ? cli_error(r, "cannot write to stdout: %s", strerror(-r)) : 0;
}

int cli_print_json(json_t *j) {
        _cleanup_(cli_json_decrefp) _unused_ json_t *owned = j;
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

/* Control characters (C0, DEL, C1) shown as '?': a cell may come from the
 * daemon's database (an error code, a user id), and whoever could write
 * that must not drive the terminal. */
static void controls_mask(char *s) {
        for (unsigned char *p = (unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
                else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        p[0] = p[1] = '?';
                        p++;
                }
        }
}

int cli_table_add(CliTable *t, const char *const *cells) {
        char **grown = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
        if (!grown)
                return -ENOMEM;
        t->cells = grown;
        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = strdup(cells[i]);
                if (row[i])
                        controls_mask(row[i]);
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

int cli_version_print(const Cli *cli, const char *plugin, const char *key_field, const char *key_value,
                      int64_t version) {
        if (cli->json)
                return cli_print_json(json_pack("{s:s s:s s:I}", "plugin", plugin, key_field, key_value, "version",
                                                (json_int_t) version));
        printf("%s/%s version %" PRId64 "\n", plugin, key_value, version);
        return 0;
}

/* The fields format names: up to the first with neither a key nor a
 * header. */
static size_t format_n_fields(const CliRecordFormat *format) {
        size_t n = 0;
        while (n < CLI_FIELDS_MAX && (format->fields[n].json_key || format->fields[n].header))
                n++;
        return n;
}

static const char *field_string(const void *record, const CliField *f) {
        return *(char *const *) ((const char *) record + f->offset);
}

static int64_t field_int(const void *record, const CliField *f) {
        return *(const int64_t *) ((const char *) record + f->offset);
}

/* One record as a JSON object; NULL if out of memory, or if a string is
 * NULL or not UTF-8. */
static json_t *record_json(const CliRecordFormat *format, const void *record) {
        size_t n_fields = format_n_fields(format);
        json_t *o = json_object();

        for (const CliField *f = format->fields; o && f < format->fields + n_fields; f++) {
                const char *s;
                json_t *v;

                if (!f->json_key)
                        continue;
                switch (f->type) {
                case CLI_FIELD_STRING:
                        v = json_string(field_string(record, f));
                        break;
                case CLI_FIELD_STRING_OR_NONE:
                        s = field_string(record, f);
                        v = s ? json_string(s) : json_null();
                        break;
                default: /* CLI_FIELD_INT, CLI_FIELD_TIME: the number */
                        v = json_integer(field_int(record, f));
                }
                /* json_object_set_new() drops v, and fails for NULL. */
                if (json_object_set_new(o, f->json_key, v) < 0) {
                        json_decref(o);
                        o = NULL;
                }
        }
        return o;
}

static int records_print_json(const CliRecordFormat *format, const void *records, size_t n_records) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < n_records; i++) {
                json_t *o = record_json(format, (const char *) records + i * format->record_size);
                /* json_array_append_new() fails for NULL. */
                if (json_array_append_new(array, o) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        return cli_print_json(array);
}

/* A field's table cell, formatted into buf where it is not a string. */
static const char *field_cell(const void *record, const CliField *f, char buf[static CLI_TIME_SIZE]) {
        switch (f->type) {
        case CLI_FIELD_STRING:
                return field_string(record, f);
        case CLI_FIELD_STRING_OR_NONE:
                return field_string(record, f) ?: "-";
        case CLI_FIELD_INT:
                snprintf(buf, CLI_TIME_SIZE, "%" PRId64, field_int(record, f));
                return buf;
        default: /* CLI_FIELD_TIME */
                return cli_time_format(field_int(record, f), buf);
        }
}

static int records_print_table(const CliRecordFormat *format, const void *records, size_t n_records) {
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        const CliField *columns[CLI_FIELDS_MAX];
        const char *cells[CLI_FIELDS_MAX];
        char buf[CLI_FIELDS_MAX][CLI_TIME_SIZE];
        size_t n_fields = format_n_fields(format), n_columns = 0;
        int r;

        for (const CliField *f = format->fields; f < format->fields + n_fields; f++)
                if (f->header) {
                        columns[n_columns] = f;
                        cells[n_columns++] = f->header;
                }
        r = cli_table_new(n_columns, cells, &t);
        for (size_t i = 0; r >= 0 && i < n_records; i++) {
                const void *record = (const char *) records + i * format->record_size;
                for (size_t j = 0; j < n_columns; j++)
                        cells[j] = field_cell(record, columns[j], buf[j]);
                r = cli_table_add(t, cells);
        }
        if (r >= 0)
                r = cli_table_print(t);
        return r < 0 ? cli_error(r, "cannot print the list: %s", strerror(-r)) : 0;
}

int cli_records_print(const Cli *cli, const CliRecordFormat *format, const void *records, size_t n_records) {
        return cli->json ? records_print_json(format, records, n_records)
                         : records_print_table(format, records, n_records);
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

        if ((r == -EALREADY || r == -EBUSY) && retry_ms >= 0)
                return cli_error(r, "%s (retry after %" PRId64 " ms)", *message ? message : strerror(-r), retry_ms);
        return cli_error(r, "%s", *message ? message : strerror(-r));
}
