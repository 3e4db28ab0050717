/* cli.h — what the files of the credvault command share.
 *
 * Owns: the Cli context handed to every command (global options and the
 * command options options.c parsed), the command handlers' signature, the
 * documented exit statuses, the helpers commands share (main.c: the
 * connection and simple deletes; cmd-secret.c: storing and listing
 * secret-like records), and those of input.c (stdin and files into wiping
 * buffers, values typed at a terminal through tty.c, Authorization
 * headers, times) and output.c (times, tables, record lists, JSON, values
 * with --newline, errors). DURATIONs are duration.h's; the command table
 * and what help and completion make of it are command.h's.
 * Never: talk to the daemon other than through libcredvault (credvault.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credvault.h"
#include "duration.h"
#include "macro.h"

/* The exit statuses scripts rely on; printed by --help and documented in
 * the man page. */
typedef enum CliExit {
        CLI_EXIT_SUCCESS = 0,
        CLI_EXIT_FAILURE = 1,             /* anything not listed below */
        CLI_EXIT_USAGE = 2,               /* bad usage or invalid input, also when the daemon says so */
        CLI_EXIT_NOT_FOUND = 3,           /* no such plugin, secret, token set or API key */
        CLI_EXIT_DENIED = 4,              /* the daemon refused the caller */
        CLI_EXIT_UNREACHABLE = 5,         /* no daemon, or no answer in time */
        CLI_EXIT_NO_MATCH = 6,            /* a verify or lookup answered "no": not an error */
        CLI_EXIT_REFRESH_REQUIRED = 7,    /* the token set is (about to be) expired */
        CLI_EXIT_REAUTH_REQUIRED = 8,     /* the user must authorize again */
        CLI_EXIT_REFRESH_IN_PROGRESS = 9, /* another caller holds the refresh lease */
        CLI_EXIT_CONFLICT = 10,           /* the daemon answered conflict */
        CLI_EXIT_RATE_LIMITED = 11,       /* the caller's rate limit: try again after the time printed */
        CLI_EXIT_CANNOT_EXECUTE = 126,    /* run: the command was found but could not be executed (as a shell) */
        CLI_EXIT_COMMAND_NOT_FOUND = 127, /* run: no such command (as a shell) */
        CLI_EXIT_INTERRUPTED = 130,       /* key rewrap --wait stopped by Ctrl-C (the rewrap goes on) */
} CliExit;

/* Largest token endpoint response read from stdin; the daemon has its own,
 * smaller, limit on the stored set and names it. */
#define CLI_TOKEN_JSON_SIZE_MAX (64 * 1024)
/* Largest manifest (a whole ai-plugin.json) read: one request frame. */
#define CLI_MANIFEST_SIZE_MAX (64 * 1024)
/* Largest Authorization header value or form body read from stdin: a token
 * at its limit with room for the scheme, or a form-encoded client_id and
 * client_secret at theirs. The daemon checks the exact limits. */
#define CLI_AUTHORIZATION_SIZE_MAX (3 * CV_TOKEN_SECRET_SIZE_MAX + 1024)
/* "expiring" without --expiring: within five minutes, the daemon's own
 * default. */
#define CLI_EXPIRING_DEFAULT_SEC 300
/* Largest env file `import` reads: far more than any service's, and every
 * byte of it is held (wiped) in memory at once. */
#define CLI_ENV_FILE_SIZE_MAX (1024 * 1024)

/* Command options, as bits (64: more than an enum's int holds): each
 * command's entry in commands.c says which it takes, and main.c refuses the
 * others before the command runs. */
typedef uint64_t CliOption;
#define CLI_OPT_NAME (UINT64_C(1) << 0)       /* --name NAME */
#define CLI_OPT_DOMAIN (UINT64_C(1) << 1)     /* --domain DOMAIN */
#define CLI_OPT_EXPIRING (UINT64_C(1) << 2)   /* --expiring DURATION */
#define CLI_OPT_YES (UINT64_C(1) << 3)        /* --yes */
#define CLI_OPT_BYTES (UINT64_C(1) << 4)      /* --bytes N */
#define CLI_OPT_RAW (UINT64_C(1) << 5)        /* --raw */
#define CLI_OPT_POST (UINT64_C(1) << 6)       /* --post */
#define CLI_OPT_HEADER (UINT64_C(1) << 7)     /* --header */
#define CLI_OPT_MIN_VALID (UINT64_C(1) << 8)  /* --min-valid SECONDS */
#define CLI_OPT_REVEAL (UINT64_C(1) << 9)     /* --reveal */
#define CLI_OPT_SINCE (UINT64_C(1) << 10)     /* --since T */
#define CLI_OPT_UNTIL (UINT64_C(1) << 11)     /* --until T */
#define CLI_OPT_BEFORE (UINT64_C(1) << 12)    /* --before T */
#define CLI_OPT_PLUGIN (UINT64_C(1) << 13)    /* --plugin PLUGIN */
#define CLI_OPT_PRINCIPAL (UINT64_C(1) << 14) /* --principal X */
#define CLI_OPT_OP (UINT64_C(1) << 15)        /* --op OP */
#define CLI_OPT_WAIT (UINT64_C(1) << 16)      /* --wait */
/* key rotate-root --new-key-file FILE, key recovery-key --output
 * FILE and --replace, init --recovery-key FILE */
#define CLI_OPT_NEW_KEY_FILE (UINT64_C(1) << 17)
#define CLI_OPT_OUTPUT (UINT64_C(1) << 18)
#define CLI_OPT_REPLACE (UINT64_C(1) << 19)
#define CLI_OPT_RECOVERY_KEY (UINT64_C(1) << 20)
#define CLI_OPT_GRACE (UINT64_C(1) << 21)      /* --grace DURATION */
#define CLI_OPT_GENERATE (UINT64_C(1) << 22)   /* --generate[=BYTES] */
#define CLI_OPT_STAGE (UINT64_C(1) << 23)      /* --stage STAGE */
#define CLI_OPT_VERIFY (UINT64_C(1) << 24)     /* --verify */
#define CLI_OPT_KEY_FILE (UINT64_C(1) << 25)   /* --root-key-file FILE */
#define CLI_OPT_STATE_DIR (UINT64_C(1) << 26)  /* --state-dir DIR */
#define CLI_OPT_DEV (UINT64_C(1) << 27)        /* --dev */
#define CLI_OPT_DRY_RUN (UINT64_C(1) << 28)    /* --dry-run */
#define CLI_OPT_SECRET (UINT64_C(1) << 29)     /* --secret PLUGIN/NAME, repeatable */
#define CLI_OPT_MAP (UINT64_C(1) << 30)        /* --map [PLUGIN/]NAME=VAR, repeatable */
#define CLI_OPT_NO_CONFIRM (UINT64_C(1) << 31) /* --no-confirm */
#define CLI_OPT_NEWLINE (UINT64_C(1) << 32)    /* --newline=auto|always|never */
#define CLI_OPT_NAMES (UINT64_C(1) << 33)      /* --names */

/* The arguments of an option given more than once, in order (pointers
 * into argv). */
typedef struct CliList {
        const char **items;
        size_t n_items;
} CliList;

/* --newline: whether a value printed ends with a newline. */
typedef enum CliNewline {
        CLI_NEWLINE_DEFAULT = 0, /* not given: the command's default */
        CLI_NEWLINE_AUTO,        /* only when stdout is a terminal */
        CLI_NEWLINE_ALWAYS,
        CLI_NEWLINE_NEVER,
} CliNewline;

typedef struct Cli {
        const char *socket_path; /* --socket; NULL: $CREDVAULT_SOCKET, else CV_SOCKET_DEFAULT */
        int timeout_ms;          /* --timeout */
        bool json;               /* --json */
        CliOption options;       /* the CliOption bits given */
        const char *name;        /* --name, else NULL */
        const char *domain;      /* --domain, else NULL */
        int64_t expiring_sec;    /* --expiring, else CLI_EXPIRING_DEFAULT_SEC */
        size_t bytes;            /* --bytes, else 0 (the daemon's default) */
        int min_valid_sec;       /* --min-valid, else 0 */
        int64_t since, until;    /* --since, --until: unix seconds, else 0 */
        int64_t before;          /* --before: unix seconds, else 0 */
        const char *plugin;      /* --plugin, else NULL */
        const char *principal;   /* --principal as given, else NULL */
        const char *op;          /* --op, else NULL */
        int64_t grace_sec;       /* --grace, else -1 (the daemon's default) */
        size_t generate_bytes;   /* --generate=BYTES, else 0 (the daemon's default) */
        CvSecretStage stage;     /* --stage, else CV_SECRET_STAGE_CURRENT */
        const char *key_file;    /* --root-key-file (backup --verify), else NULL */
        const char *state_dir;   /* --state-dir (backup --verify), else NULL */
        CvClient *client;        /* connected by the first cli_connect() */
        bool connect_failed;     /* cli_connect() failed: the daemon is unreachable */
        /* --new-key-file, --output, --recovery-key (files), else NULL */
        const char *new_key_file;
        const char *output;
        const char *recovery_key;
        /* run: every --plugin, --secret and --map given, and the first
         * argument after the first "--" in argv (NULL: none), where its
         * COMMAND must start. */
        CliList plugins, secrets, maps;
        const char *after_dashdash;
        CliNewline newline; /* --newline, else CLI_NEWLINE_DEFAULT */
} Cli;

static inline bool cli_has(const Cli *cli, CliOption o) {
        return (cli->options & o) != 0;
}

/* A command: args are exactly its positional arguments, NULL-terminated
 * (optional ones absent are NULL). Returns 0, CLI_EXIT_NO_MATCH after
 * printing a "no" answer (a verify or lookup), another CliExit after
 * printing why (audit verify: CLI_EXIT_FAILURE for a broken chain; policy
 * check: the checker's own exit status), or a negative errno after
 * printing what went wrong; main.c turns that into the exit status. */
typedef int (*CliCommandRun)(Cli *cli, char **args);

/* main.c: connect on first use, so that a command refuses bad input before
 * anything reaches the daemon. The client stays owned by cli. */
int cli_connect(Cli *cli, CvClient **ret_client);

/* A library call that deletes one record of a plugin (cv_secret_delete,
 * cv_apikey_delete, cv_token_delete). */
typedef int (*CliDeleteCall)(CvClient *c, const char *plugin, const char *key);
/* main.c: the whole of a simple rm command: connect, delete, and report
 * the error if there is one. */
int cli_delete_record(Cli *cli, CliDeleteCall delete_call, const char *plugin, const char *key);

/* cmd-backup.c */
int cmd_backup(Cli *cli, char **args);

/* cmd-plugin.c */
int cmd_plugin_add(Cli *cli, char **args);
int cmd_plugin_ls(Cli *cli, char **args);
int cmd_plugin_show(Cli *cli, char **args);
int cmd_plugin_rm(Cli *cli, char **args);
int cmd_plugin_manifest(Cli *cli, char **args);

/* cmd-secret.c */
int cmd_secret_put(Cli *cli, char **args);
int cmd_secret_get(Cli *cli, char **args);
int cmd_secret_generate(Cli *cli, char **args);
int cmd_secret_verify(Cli *cli, char **args);
int cmd_secret_ls(Cli *cli, char **args);
int cmd_secret_rm(Cli *cli, char **args);

/* cmd-stage.c */
int cmd_secret_rotate(Cli *cli, char **args);
int cmd_secret_promote(Cli *cli, char **args);
int cmd_secret_history(Cli *cli, char **args);

/* cmd-oauth.c */
int cmd_oauth_verify_client(Cli *cli, char **args);

/* cmd-apikey.c */
int cmd_apikey_put(Cli *cli, char **args);
int cmd_apikey_lookup(Cli *cli, char **args);
int cmd_apikey_ls(Cli *cli, char **args);
int cmd_apikey_rm(Cli *cli, char **args);

/* cmd-token.c, cmd-token-ls.c, cmd-token-revocations.c */
int cmd_token_put(Cli *cli, char **args);
int cmd_token_get(Cli *cli, char **args);
int cmd_token_ls(Cli *cli, char **args);
int cmd_token_rm(Cli *cli, char **args);
int cmd_token_revocations(Cli *cli, char **args);
/* After `token ls`'s table, the deleted sets still
 * pending revocation, if any and if the caller may see them (a reader
 * without the refresh class gets the sets alone). */
int cli_token_revocations_after_ls(CvClient *c, const char *plugin);

/* cmd-status.c */
int cmd_status(Cli *cli, char **args);
int cmd_whoami(Cli *cli, char **args);

/* cmd-policy.c */
int cmd_policy_check(Cli *cli, char **args);

/* cmd-audit.c */
int cmd_audit_ls(Cli *cli, char **args);
int cmd_audit_verify(Cli *cli, char **args);
int cmd_audit_prune(Cli *cli, char **args);

/* cmd-key.c */
int cmd_key_rotate(Cli *cli, char **args);
int cmd_key_rewrap(Cli *cli, char **args);
int cmd_key_status(Cli *cli, char **args);
int cmd_key_retire(Cli *cli, char **args);

/* cmd-rootkey.c */
int cmd_key_rotate_root(Cli *cli, char **args);
int cmd_key_new_root_key(Cli *cli, char **args);
int cmd_key_recovery_key(Cli *cli, char **args);
int cmd_init(Cli *cli, char **args);

/* cmd-import.c */
int cmd_import(Cli *cli, char **args);

/* cmd-run.c: returns only if the command could not be run. */
int cmd_run(Cli *cli, char **args);

/* cmd-secret.c, shared with cmd-apikey.c: API keys are stored, and
 * listed, the way secrets are. */

/* A library call that stores a value (cv_secret_put, cv_apikey_put). */
typedef int (*CliValuePut)(CvClient *c, const char *plugin, const char *key, const void *value, size_t value_size,
                           int64_t *ret_version);
/* The whole of `secret put` and `apikey put`: read what (a value or a key)
 * from stdin, byte-exact (empty only with allow_empty), connect, store it
 * as plugin's record key_value, then report the error or print the version
 * (cli_version_print() with key_field). */
int cli_value_put(Cli *cli, CliValuePut put_call, const char *what, bool allow_empty, const char *plugin,
                  const char *key_field, const char *key_value);

/* A library call that lists CvSecretInfo records (cv_secret_list,
 * cv_apikey_list). */
typedef int (*CliSecretInfoList)(CvClient *c, const char *plugin, CvSecretInfo **ret_items);
typedef struct CliRecordFormat CliRecordFormat;
/* The whole of `secret ls` and `apikey ls`: connect, list the plugin's
 * records (plugin may be NULL where the call takes that), then report the
 * error or print the records as format says. */
int cli_secret_infos_ls(Cli *cli, CliSecretInfoList list_call, const char *plugin, const CliRecordFormat *format);

/* ---- input.c ---- */

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
/* The same from the file at path ("-": stdin). */
int cli_file_read(const char *path, size_t size_max, CliBuf **ret);

/* Make b a C string for the library: a NUL after the data (not counted in
 * size). -EINVAL if the data holds a NUL byte, which would cut it short. */
int cli_buf_terminate(CliBuf *b);

/* Read a value (a secret, an API key) from stdin, byte-exact, at most
 * CV_SECRET_VALUE_SIZE_MAX bytes. Prints the error itself, naming what
 * ("the value"), and with storing that nothing was stored. On a terminal
 * the value is typed after a prompt, unseen, without its line ending, and
 * not empty; with storing typed twice unless --no-confirm (two different
 * entries: -EINVAL). */
int cli_stdin_read_value(const Cli *cli, const char *what, bool storing, CliBuf **ret);

/* Read stdin as text for the library, at most size_max bytes, without NUL
 * bytes; with strip_newline, without one final "\n" or "\r\n" (what echo
 * and a here-string add). Prints the error itself, naming what ("the
 * Authorization header"), never a byte of the input. On a terminal, typed
 * once after a prompt, unseen, without its line ending. */
int cli_stdin_read_text(const char *what, size_t size_max, bool strip_newline, CliBuf **ret);

/* A point in time T, as unix seconds: "2026-11-30" (midnight UTC),
 * "2026-11-30T12:00:00Z" or "2026-11-30T12:00:00+01:00", "@1764504000",
 * or a DURATION with its unit meaning that long before now ("90s", "2h",
 * "7d"; a bare number is refused: seconds ago or unix seconds?). -EINVAL
 * if not, or if before 1970. */
int cli_time_parse(const char *s, int64_t now, int64_t *ret);
/* ---- output.c ---- */

/* "2026-11-28T12:00:00Z"; "-" for t < 0 (unknown). Returns buf. */
#define CLI_TIME_SIZE 64
const char *cli_time_format(int64_t t, char buf[static CLI_TIME_SIZE]);
/* "2026-11-28 12:00:00" (UTC) from microseconds since the epoch, with
 * fraction ".123456" after the seconds; "-" for usec < 0. Returns buf. */
const char *cli_time_format_usec(int64_t usec, bool fraction, char buf[static CLI_TIME_SIZE]);

/* Print j compactly on one line to stdout, then drop the reference (j may
 * be NULL: -ENOMEM). The text goes straight to the file descriptor, never
 * through stdio's buffer, and is wiped: it may hold a secret. */
int cli_print_json(json_t *j);

/* Write size bytes to stdout exactly, bypassing stdio's buffer. */
int cli_write_secret(const void *data, size_t size);
/* The NUL-terminated text s and a newline, the same way. */
int cli_write_secret_line(const char *s);
/* A value the command prints, the same way, then a newline as --newline
 * says, where the command's default is dflt (CLI_NEWLINE_AUTO: only on a
 * terminal). Prints the error itself. */
int cli_write_value(const Cli *cli, const void *data, size_t size, CliNewline dflt);

/* A text table, columns left-aligned and two spaces apart. Cells are
 * copied and wiped when the table is freed, and the table is written past
 * stdio's buffer: a cell may hold a value (`token ls --reveal`). */
typedef struct CliTable CliTable;
int cli_table_new(size_t n_columns, const char *const *header, CliTable **ret);
int cli_table_add(CliTable *t, const char *const *cells);
int cli_table_print(const CliTable *t);
void cli_table_free(CliTable *t);
static inline void cli_table_freep(CliTable **t) {
        cli_table_free(*t);
}

/* A verify's answer: "match version N" ("match" when version < 0: the
 * answer has none) or "no match"; with --json {"match": BOOL, "version":
 * N or null}, without "version" when version < 0. Returns 0 on a match,
 * CLI_EXIT_NO_MATCH if not, or a negative errno. */
int cli_match_print(const Cli *cli, bool match, int64_t version);

/* The version a put stored of plugin's record key_value:
 * "PLUGIN/KEY version N", or with --json {"plugin": PLUGIN, KEY_FIELD:
 * KEY, "version": N}. Returns 0 or a negative errno. */
int cli_version_print(const Cli *cli, const char *plugin, const char *key_field, const char *key_value,
                      int64_t version);

/* How a list command prints its records: one column of a table, or one
 * member of a JSON object, for each member of the record it names. */
typedef enum CliFieldType {
        CLI_FIELD_STRING,         /* char *, never NULL */
        CLI_FIELD_STRING_OR_NONE, /* char * or NULL: "-" in a table, null in JSON */
        CLI_FIELD_INT,            /* int64_t */
        CLI_FIELD_TIME,           /* int64_t seconds since the epoch: a cli_time_format() time in a table */
} CliFieldType;

typedef struct CliField {
        const char *json_key; /* NULL: not in the JSON */
        const char *header;   /* NULL: not in the table */
        CliFieldType type;
        size_t offset; /* of the member in the record: offsetof() */
} CliField;

#define CLI_FIELDS_MAX 8
struct CliRecordFormat {
        size_t record_size;
        /* In the order the JSON and the table show them, up to the first
         * with neither a key nor a header. */
        CliField fields[CLI_FIELDS_MAX];
};

/* n_records records from records, as format says: with --json an array of
 * objects on one line, else a table with a header line. Returns 0 or a
 * negative errno after printing what went wrong. */
int cli_records_print(const Cli *cli, const CliRecordFormat *format, const void *records, size_t n_records);

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
/* Text the library handed out that may hold a secret (cv_free_wiped). */
static inline void cli_text_freep(char **p) {
        cv_free_wiped(*p, (size_t) -1);
}

/* Run credvaultd (argv[0] is set here: $CREDVAULTD, the daemon of this
 * CLI's build tree, or the installed one) with argv[1..]; its exit status,
 * or an exit status having said why it could not run (daemon-run.c). */
int cli_run_daemon(char **argv);
