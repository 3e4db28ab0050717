/* dotenv.h — the env file syntax `credvault import` reads.
 *
 * Owns: turning the text of a dotenv file into (name, value, line) entries,
 * strictly: a line that is not one of the forms below is an error naming
 * its line, and nothing is returned.
 *
 *     # a comment, and blank lines
 *     NAME=value             unquoted: trailing blanks dropped, and a '#'
 *                            after a blank starts a comment
 *     export NAME=value      the shell's prefix, ignored
 *     NAME = value           blanks around '=' allowed
 *     NAME='lit\eral'        single quotes: every byte as it is, newlines too
 *     NAME="a\nb"            double quotes: \n \t \r \" \\ escapes, newlines
 *                            kept (a value may span lines)
 *     NAME=                  the empty value
 *
 * A name is a secret name, the daemon's rule: 1 to DOTENV_NAME_SIZE_MAX of
 * A-Z a-z 0-9 _ . : @ -. No variable expansion: '$' is a byte like others.
 * A name set twice, an unknown escape, an unterminated quote, text after a
 * closing quote and a NUL byte are errors. A UTF-8 byte order mark at the
 * start is skipped; CRLF line ends are taken as LF outside quotes.
 * Never: put a byte of the input into an error message (a broken line may
 * be a value), or keep a value outside a SecretBuf. */
#pragma once

#include <stddef.h>

#include "macro.h"
#include "secret-buf.h"

/* The daemon's limit on a secret name (CV_NAME_SIZE_MAX). */
#define DOTENV_NAME_SIZE_MAX 128
#define DOTENV_ERROR_SIZE 256

typedef struct DotenvEntry {
        char *name;
        SecretBuf *value;
        unsigned line; /* where NAME is, from 1 */
} DotenvEntry;

typedef struct Dotenv {
        DotenvEntry *entries; /* in the file's order */
        size_t n_entries;
} Dotenv;

typedef struct DotenvError {
        unsigned line;                   /* from 1 */
        char message[DOTENV_ERROR_SIZE]; /* what is wrong there; never a byte of the input */
} DotenvError;

/* Parse size bytes of text. Returns 0 and *ret, -EBADMSG with *ret_error
 * saying where and why (ret untouched), or -ENOMEM. */
int dotenv_parse(const char *text, size_t size, Dotenv **ret, DotenvError *ret_error);
/* Wipe the values and free; accepts NULL. */
void dotenv_free(Dotenv *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dotenv *, dotenv_free);
