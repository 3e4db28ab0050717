/* cli.h — what the files of the credvault command share.
 *
 * Owns: the Cli context handed to every command, the command handlers'
 * signature, the documented exit statuses, and the shared helpers of
 * output.c (stdin into a wiping buffer, times, tables, JSON, errors).
 * Never: talk to the daemon other than through libcredvault (credvault.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credvault.h"
#include "macro.h"

/* The exit statuses scripts rely on; printed by --help and documented in
 * the man page. */
typedef enum CliExit {
        CLI_EXIT_SUCCESS = 0,
        CLI_EXIT_FAILURE = 1,     /* anything not listed below */
        CLI_EXIT_USAGE = 2,       /* bad usage or invalid input, also when the daemon says so */
        CLI_EXIT_NOT_FOUND = 3,   /* no such secret or token set */
        CLI_EXIT_DENIED = 4,      /* the daemon refused the caller */
        CLI_EXIT_UNREACHABLE = 5, /* no daemon, or no answer in time */
} CliExit;

/* Largest token set JSON read from stdin: every field at its limit, escaped
 * as \uXXXX, still fits. */
#define CLI_TOKEN_JSON_SIZE_MAX (256 * 1024)

typedef struct Cli {
        const char *socket_path; /* --socket; NULL: $CREDVAULT_SOCKET, else CV_SOCKET_DEFAULT */
        int timeout_ms;          /* --timeout */
        bool json;               /* --json */
        CvClient *client;        /* connected by the first cli_connect() */
        bool connect_failed;     /* cli_connect() failed: the daemon is unreachable */
} Cli;

/* A command: args are exactly its positional arguments, NULL-terminated
 * (optional ones absent are NULL). Returns 0, or a negative errno after
 * printing what went wrong; main.c turns that into the exit status. */
typedef int (*CliCommandRun)(Cli *cli, char **args);

/* main.c: connect on first use, so that a command refuses bad input before
 * anything reaches the daemon. The client stays owned by cli. */
int cli_connect(Cli *cli, CvClient **ret_client);

/* cmd-secret.c */
int cmd_secret_put(Cli *cli, char **args);
int cmd_secret_get(Cli *cli, char **args);
int cmd_secret_ls(Cli *cli, char **args);
int cmd_secret_rm(Cli *cli, char **args);

/* cmd-token.c */
int cmd_token_put(Cli *cli, char **args);
int cmd_token_get(Cli *cli, char **args);
int cmd_token_ls(Cli *cli, char **args);
int cmd_token_rm(Cli *cli, char **args);

/* cmd-status.c */
int cmd_status(Cli *cli, char **args);

/* ---- output.c ---- */

/* Bytes that may be secret: always released with cli_buf_free(), which
 * wipes every allocated byte. */
typedef struct CliBuf {
        uint8_t *data;
        size_t size;
        size_t allocated;
} CliBuf;

void cli_buf_free(CliBuf *b);
static inline void cli_buf_freep(CliBuf **b) {
        cli_buf_free(*b);
}

/* Read all of stdin, byte-exact. -EMSGSIZE as soon as it holds more than
 * size_max bytes (the rest is not read). */
int cli_stdin_read(size_t size_max, CliBuf **ret);

/* Standard base64 with padding, NUL-terminated (not counted in size). */
int cli_base64_encode(const void *data, size_t size, CliBuf **ret);

/* Make every block jansson frees wiped first: parsed token sets and JSON
 * output carry secrets. Call before any other jansson call. */
void cli_json_wipe_on_free(void);

/* "2026-11-28T12:00:00Z"; "-" for t < 0 (unknown). Returns buf. */
#define CLI_TIME_SIZE 64
const char *cli_time_format(int64_t t, char buf[static CLI_TIME_SIZE]);

/* Print j compactly on one line to stdout, then drop the reference (j may
 * be NULL: -ENOMEM). The text goes straight to the file descriptor, never
 * through stdio's buffer, and is wiped: it may hold a secret. */
int cli_print_json(json_t *j);

/* Write size bytes to stdout exactly, bypassing stdio's buffer. */
int cli_write_secret(const void *data, size_t size);

/* A text table, columns left-aligned and two spaces apart. Cells are
 * copied; they must be metadata, never values. */
typedef struct CliTable CliTable;
int cli_table_new(size_t n_columns, const char *const *header, CliTable **ret);
int cli_table_add(CliTable *t, const char *const *cells);
int cli_table_print(const CliTable *t);
void cli_table_free(CliTable *t);
static inline void cli_table_freep(CliTable **t) {
        cli_table_free(*t);
}

/* "credvault: MESSAGE" on stderr; returns r (a negative errno). The
 * message must never contain a secret value. */
int cli_error(int r, const char *format, ...) _printf_(2, 3);
/* The library's message for the failed call that returned r. */
int cli_error_call(const CvClient *c, int r);

/* Cleanup helpers for the library's results (their free functions wipe). */
static inline void cli_secret_freep(CvSecret **s) {
        cv_secret_free(*s);
}
static inline void cli_token_freep(CvToken **t) {
        cv_token_free(*t);
}
static inline void cli_json_decrefp(json_t **j) {
        json_decref(*j);
}
