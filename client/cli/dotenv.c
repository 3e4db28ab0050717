/* dotenv.c — the env file syntax of `credvault import` (see dotenv.h).
 *
 * One pass over the text, a line (or a quoted value's lines) at a time.
 * A value is decoded into one scratch SecretBuf as large as the input
 * (no value is longer), then copied into its own; the scratch is wiped.
 * Names set twice are found at the end, by sorting, so that a large file
 * costs n log n and not n². */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"

typedef struct Parser {
        const char *p, *end;
        unsigned line;      /* of p */
        SecretBuf *scratch; /* the value being decoded */
        size_t n_scratch;   /* bytes of it so far */
        DotenvError *error;
        DotenvEntry *entries;
        size_t n_entries, n_allocated;
} Parser;

static int parse_fail(Parser *ps, unsigned line, const char *format, ...) _printf_(3, 4);
static int parse_fail(Parser *ps, unsigned line, const char *format, ...) {
        va_list ap;

        ps->error->line = line;
        va_start(ap, format);
        vsnprintf(ps->error->message, sizeof(ps->error->message), format, ap);
        va_end(ap);
        return -EBADMSG;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == ':' || c == '@' || c == '-';
}

static void skip_blanks(Parser *ps) {
        while (ps->p < ps->end && is_blank(*ps->p))
                ps->p++;
}

/* Past the end of this line (its '\n', or the end of the text). */
static void skip_line(Parser *ps) {
        const char *nl = memchr(ps->p, '\n', (size_t) (ps->end - ps->p));
        if (nl) {
                ps->p = nl + 1;
                ps->line++;
        } else
                ps->p = ps->end;
}

/* The name token at p: up to a blank, '=' or the end of the line. */
static size_t name_token(const Parser *ps) {
        const char *q = ps->p;
        while (q < ps->end && !is_blank(*q) && *q != '=' && *q != '\n' && *q != '\r')
                q++;
        return (size_t) (q - ps->p);
}

/* After a closing quote: blanks, then the end of the line or a comment. */
static int quoted_rest(Parser *ps) {
        skip_blanks(ps);
        if (ps->p < ps->end && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
                ps->p++;
        if (ps->p < ps->end && *ps->p != '\n' && *ps->p != '#')
                return parse_fail(ps, ps->line, "text after the closing quote");
        skip_line(ps);
        return 0;
}

static void scratch_add(Parser *ps, char c) {
        /* Never past the end: a value is never longer than the input. */
        ps->scratch->data[ps->n_scratch++] = (uint8_t) c;
}

static int value_single_quoted(Parser *ps) {
        unsigned opening = ps->line;

        for (ps->p++; ps->p < ps->end && *ps->p != '\''; ps->p++) {
                if (*ps->p == '\n')
                        ps->line++;
                scratch_add(ps, *ps->p);
        }
        if (ps->p == ps->end)
                return parse_fail(ps, opening, "unterminated single quote");
        ps->p++;
        return quoted_rest(ps);
}

static int value_double_quoted(Parser *ps) {
        static const char escapes[][2] = { { 'n', '\n' }, { 't', '\t' }, { 'r', '\r' }, { '"', '"' }, { '\\', '\\' } };
        unsigned opening = ps->line;

        for (ps->p++; ps->p < ps->end && *ps->p != '"'; ps->p++) {
                char c = *ps->p;
                if (c == '\n')
                        ps->line++;
                else if (c == '\\') {
                        size_t i;
                        if (ps->p + 1 == ps->end) {
                                ps->p = ps->end; /* unterminated */
                                break;
                        }
                        for (i = 0; i < ELEMENTSOF(escapes) && escapes[i][0] != ps->p[1]; i++)
                                ;
                        if (i == ELEMENTSOF(escapes))
                                return parse_fail(ps, ps->line,
                                                  "unknown escape in double quotes (there are \\n \\t \\r \\\" \\\\; "
                                                  "single quotes take every byte as it is)");
                        c = escapes[i][1];
                        ps->p++;
                }
                scratch_add(ps, c);
        }
        if (ps->p == ps->end)
                return parse_fail(ps, opening, "unterminated double quote");
        ps->p++;
        return quoted_rest(ps);
}

/* To the end of the line: a '#' after a blank starts a comment, and the
 * blanks (and a CR) at the end are not the value's. blank_before: blanks
 * came between '=' and p. */
static int value_unquoted(Parser *ps, bool blank_before) {
        const char *start = ps->p, *q = ps->p;

        for (; q < ps->end && *q != '\n'; q++)
                if (*q == '#' && (q == start ? blank_before : is_blank(q[-1])))
                        break;
        const char *value_end = q;
        while (value_end > start && (is_blank(value_end[-1]) || value_end[-1] == '\r'))
                value_end--;
        for (const char *c = start; c < value_end; c++)
                scratch_add(ps, *c);
        skip_line(ps);
        return 0;
}

static int entry_add(Parser *ps, const char *name, size_t name_size, unsigned line) {
        _cleanup_(secret_buf_freep) SecretBuf *value = NULL;
        _cleanup_(freep) char *n = NULL;

        if (ps->n_entries == ps->n_allocated) {
                size_t allocated = ps->n_allocated ? ps->n_allocated * 2 : 16;
                DotenvEntry *e = realloc(ps->entries, allocated * sizeof(DotenvEntry));
                if (!e)
                        return -ENOMEM;
                ps->entries = e;
                ps->n_allocated = allocated;
        }
        n = strndup(name, name_size);
        if (!n || secret_buf_new_copy(ps->scratch->data, ps->n_scratch, &value) < 0)
                return -ENOMEM;
        ps->entries[ps->n_entries++] = (DotenvEntry) { TAKE_PTR(n), TAKE_PTR(value), line };
        return 0;
}

/* One NAME=VALUE, p at the first byte of its name. */
static int assignment_parse(Parser *ps) {
        unsigned line = ps->line;
        size_t n = name_token(ps);

        /* "export NAME=..." as a shell would source it; "export = x" and
         * "export=x" set a secret named export. */
        if (n == 6 && memcmp(ps->p, "export", 6) == 0 && ps->p + n < ps->end && is_blank(ps->p[n])) {
                const char *after = ps->p + n;
                while (after < ps->end && is_blank(*after))
                        after++;
                if (after < ps->end && *after != '=' && *after != '\n' && *after != '\r') {
                        ps->p = after;
                        n = name_token(ps);
                }
        }
        const char *name = ps->p;
        if (n == 0)
                return parse_fail(ps, line, "no name before '='");
        for (size_t i = 0; i < n; i++)
                if (!name_char(name[i]))
                        return parse_fail(ps, line, "the name is not a secret name (1 to %d of A-Z a-z 0-9 _ . : @ -)",
                                          DOTENV_NAME_SIZE_MAX);
        if (n > DOTENV_NAME_SIZE_MAX)
                return parse_fail(ps, line, "the name is longer than %d characters", DOTENV_NAME_SIZE_MAX);
        ps->p += n;
        skip_blanks(ps);
        if (ps->p == ps->end || *ps->p != '=')
                return parse_fail(ps, line, "no '=' after the name (a line is NAME=VALUE, a comment or blank)");
        ps->p++;

        const char *value_start = ps->p;
        skip_blanks(ps);
        ps->n_scratch = 0;
        int r;
        if (ps->p < ps->end && *ps->p == '\'')
                r = value_single_quoted(ps);
        else if (ps->p < ps->end && *ps->p == '"')
                r = value_double_quoted(ps);
        else
                r = value_unquoted(ps, ps->p > value_start);
        if (r < 0)
                return r;
        return entry_add(ps, name, n, line);
}

static int entry_compare(const void *a, const void *b) {
        const DotenvEntry *x = *(const DotenvEntry *const *) a, *y = *(const DotenvEntry *const *) b;
        int c = strcmp(x->name, y->name);
        return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* A name set twice: the error is on the second line that sets it, the
 * earliest such line in the file. */
static int duplicates_check(Parser *ps) {
        _cleanup_(freep) DotenvEntry **sorted = NULL;
        const DotenvEntry *first = NULL, *again = NULL;

        if (ps->n_entries < 2)
                return 0;
        sorted = calloc(ps->n_entries, sizeof(DotenvEntry *));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < ps->n_entries; i++)
                sorted[i] = &ps->entries[i];
        /* By name, then line: each name's first line, then its second. */
        qsort(sorted, ps->n_entries, sizeof(DotenvEntry *), entry_compare);
        for (size_t i = 1; i < ps->n_entries; i++) {
                bool second = strcmp(sorted[i - 1]->name, sorted[i]->name) == 0 &&
                              (i == 1 || strcmp(sorted[i - 2]->name, sorted[i]->name) != 0);
                if (second && (!again || sorted[i]->line < again->line)) {
                        first = sorted[i - 1];
                        again = sorted[i];
                }
        }
        if (again)
                return parse_fail(ps, again->line, "%s is set again (first on line %u)", again->name, first->line);
        return 0;
}

static void entries_free(DotenvEntry *entries, size_t n_entries) {
        for (size_t i = 0; i < n_entries; i++) {
                free(entries[i].name);
                secret_buf_free(entries[i].value);
        }
        free(entries);
}

void dotenv_free(Dotenv *d) {
        if (!d)
                return;
        entries_free(d->entries, d->n_entries);
        free(d);
}

int dotenv_parse(const char *text, size_t size, Dotenv **ret, DotenvError *ret_error) {
        Parser ps = { .p = text, .end = text + size, .line = 1, .error = ret_error };
        int r;

        /* A NUL could be neither a name nor (for `run`) an environment
         * value; refuse it before anything else, at its line. */
        const char *nul = memchr(text, '\0', size);
        if (nul) {
                unsigned line = 1;
                for (const char *c = text; c < nul; c++)
                        line += *c == '\n';
                return parse_fail(&ps, line, "a NUL byte");
        }
        if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
                ps.p += 3;
        r = secret_buf_new(size, &ps.scratch);
        if (r < 0)
                return r;

        while (ps.p < ps.end) {
                skip_blanks(&ps);
                if (ps.p == ps.end)
                        break;
                if (*ps.p == '\n' || *ps.p == '#' || (*ps.p == '\r' && ps.p + 1 < ps.end && ps.p[1] == '\n'))
                        skip_line(&ps);
                else {
                        r = assignment_parse(&ps);
                        if (r < 0)
                                goto fail;
                }
        }
        r = duplicates_check(&ps);
        if (r < 0)
                goto fail;

        Dotenv *d = calloc(1, sizeof(Dotenv));
        if (!d) {
                r = -ENOMEM;
                goto fail;
        }
        secret_buf_free(ps.scratch);
        d->entries = ps.entries;
        d->n_entries = ps.n_entries;
        *ret = d;
        return 0;

fail:
        secret_buf_free(ps.scratch);
        entries_free(ps.entries, ps.n_entries);
        return r;
}
