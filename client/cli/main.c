/* main.c — the credvault command: options, dispatch, exit status.
 *
 * Owns: the process set-up (no core dumps, jansson wiping on free), the
 * global and command options (parsed here, refused for a command that does
 * not take them), the table of commands (name, arguments, options, help
 * line), the connection to the daemon, and turning a command's result into
 * the documented exit status.
 * Never: take a value from the command line (values come only from stdin,
 * in the command handlers), or talk to the daemon other than through
 * libcredvault. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "command.h"
#include "parse-util.h"
#include "version.h"

/* The commands: what help, completion and dispatch are made of. */
const CliCommand cli_commands[] = {
        { "plugin", "add", "FILE|- [--name NAME] [--domain DOMAIN]",
          "register a plugin from its manifest or auth block", 1, 1, CLI_OPT_NAME | CLI_OPT_DOMAIN, cmd_plugin_add,
          .help = "FILE is an ai-plugin.json manifest or its auth block; \"-\" reads it from stdin.\n"
                  "The daemon checks every field and names the bad one; nothing is registered then.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "plugin", "ls", "[--names]", "list registered plugins", 0, 0, CLI_OPT_NAMES, cmd_plugin_ls,
          .help = "--names prints the names alone, one a line (what shell completion asks for).",
          .exits = { CLI_EXITS_DAEMON } },
        { "plugin", "show", "NAME [--expiring DURATION]", "what the vault holds for a plugin (never a value)", 1, 1,
          CLI_OPT_EXPIRING, cmd_plugin_show,
          .help = "--expiring DURATION: the token sets that expire within it count as expiring (default 5m).",
          .exits = { CLI_EXITS_DAEMON } },
        { "plugin", "rm", "NAME --yes", "remove a plugin with its secrets, token sets and API keys", 1, 1, CLI_OPT_YES,
          cmd_plugin_rm, .help = "Without --yes, says what would be removed and removes nothing (exit 2).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "plugin", "manifest", "NAME", "print the auth block the plugin's manifest needs", 1, 1, 0,
          cmd_plugin_manifest, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "put", "PLUGIN NAME [--no-confirm]", "store stdin, byte-exact, as a new version", 2, 2,
          CLI_OPT_NO_CONFIRM, cmd_secret_put,
          .help = "The value is read from stdin byte for byte, never from an argument. On a terminal it\n"
                  "is typed after a prompt, unseen, twice to confirm (--no-confirm: once); the Enter\n"
                  "key is not part of it, and an empty value is refused (put one from </dev/null).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "get", "PLUGIN NAME [--stage STAGE] [--newline=WHEN]",
          "write the current (or another stage's) value to stdout", 2, 2, CLI_OPT_STAGE | CLI_OPT_NEWLINE,
          cmd_secret_get,
          .help = "The value is written as stored, followed by a newline only when stdout is a\n"
                  "terminal (--newline=auto, the default); --newline=always or never to choose.\n"
                  "--json gives the value in base64 (value_base64) with its metadata.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "generate", "PLUGIN NAME [--bytes N] [--newline=WHEN]",
          "store a fresh random value and print it once", 2, 2, CLI_OPT_BYTES | CLI_OPT_NEWLINE, cmd_secret_generate,
          .help = "The value (base64url text) is printed once, followed by a newline (--newline=always,\n"
                  "the default here; --newline=auto or never to choose).",
          .exits = { CLI_EXITS_DAEMON } },
        { "secret", "verify", "PLUGIN NAME [--raw]", "check the credential on stdin against the secret", 2, 2,
          CLI_OPT_RAW, cmd_secret_verify,
          .help = "stdin holds an HTTP Authorization header value (\"Bearer X\", \"Basic X\"; one final\n"
                  "newline is ignored), or with --raw the bare value, byte-exact. On a terminal it is\n"
                  "typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "secret", "ls", "[PLUGIN]", "list secrets (metadata only)", 0, 1, 0, cmd_secret_ls,
          .exits = { CLI_EXITS_DAEMON } },
        { "secret", "rm", "PLUGIN NAME", "delete a secret", 2, 2, 0, cmd_secret_rm,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "secret", "rotate", "PLUGIN NAME [--grace DURATION] [--generate[=BYTES]] [--no-confirm] [--newline=WHEN]",
          "stage a new value (stdin, or generated) as pending", 2, 2,
          CLI_OPT_GRACE | CLI_OPT_GENERATE | CLI_OPT_NO_CONFIRM | CLI_OPT_NEWLINE, cmd_secret_rotate,
          .help = "The new value is read as secret put reads it (on a terminal: typed twice unless\n"
                  "--no-confirm), or made by the daemon with --generate and printed once, with a\n"
                  "newline unless --newline=never (or auto, off a terminal). --grace DURATION: how long\n"
                  "the current value stays valid once this one is promoted (up to 366d).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "secret", "promote", "PLUGIN NAME [--grace DURATION]",
          "make the pending value current; the old one stays valid for the grace", 2, 2, CLI_OPT_GRACE,
          cmd_secret_promote, .help = "--grace DURATION overrides the grace given at rotate (up to 366d).",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "secret", "history", "PLUGIN NAME", "list a secret's versions, stages and deadlines", 2, 2, 0,
          cmd_secret_history, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "oauth", "verify-client", "PLUGIN [--post]", "check the client credentials on stdin", 1, 1, CLI_OPT_POST,
          cmd_oauth_verify_client,
          .help = "stdin holds the Authorization header (Basic), or with --post the form body\n"
                  "(application/x-www-form-urlencoded client_id and client_secret). On a terminal it\n"
                  "is typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "apikey", "put", "PLUGIN USER [--no-confirm]", "store the API key on stdin, byte-exact, for a user", 2, 2,
          CLI_OPT_NO_CONFIRM, cmd_apikey_put,
          .help = "The key is read from stdin byte for byte; on a terminal it is typed after a prompt,\n"
                  "unseen, twice to confirm (--no-confirm: once), without the Enter key.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "apikey", "lookup", "PLUGIN [--header]", "print the user whose API key is on stdin", 1, 1, CLI_OPT_HEADER,
          cmd_apikey_lookup,
          .help = "stdin holds the key, byte-exact, or with --header an Authorization header value.\n"
                  "On a terminal it is typed once after a prompt, unseen.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH } },
        { "apikey", "ls", "PLUGIN", "list the users with an API key (metadata only)", 1, 1, 0, cmd_apikey_ls,
          .exits = { CLI_EXITS_DAEMON } },
        { "apikey", "rm", "PLUGIN USER", "delete a user's API key", 2, 2, 0, cmd_apikey_rm,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "token", "put", "PLUGIN USER", "store the token endpoint response on stdin", 2, 2, 0, cmd_token_put,
          .help = "stdin holds a token endpoint's JSON response: access_token and token_type required,\n"
                  "expires_in or expires_at, other fields kept.",
          .exits = { CLI_EXITS_DAEMON } },
        { "token", "get", "PLUGIN USER [--min-valid DURATION]", "print a user's token set as JSON", 2, 2,
          CLI_OPT_MIN_VALID, cmd_token_get,
          .help = "--min-valid DURATION: refuse (exit 7) a token set that is valid for less.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_REFRESH_REQUIRED, CLI_EXIT_REAUTH_REQUIRED,
                     CLI_EXIT_REFRESH_IN_PROGRESS } },
        { "token", "ls", "PLUGIN [--expiring DURATION] [--reveal]", "list a plugin's token sets and their states", 1, 1,
          CLI_OPT_EXPIRING | CLI_OPT_REVEAL, cmd_token_ls,
          .help = "--expiring DURATION: the sets that expire within it show as expiring (default 5m);\n"
                  "--reveal prints the access tokens too.",
          .exits = { CLI_EXITS_DAEMON } },
        { "token", "rm", "PLUGIN USER", "delete a user's token set", 2, 2, 0, cmd_token_rm,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND } },
        { "token", "revocations", "PLUGIN", "list the deleted token sets pending revocation at the provider", 1, 1, 0,
          cmd_token_revocations,
          .help = "A token set deleted while the plugin has a revocation_endpoint secret waits here until\n"
                  "credvault-refresher has revoked its tokens (RFC 7009), or 10 attempts or 7 days.",
          .exits = { CLI_EXITS_DAEMON } },
        { "status", NULL, "", "show the daemon's health, policy and audit trail", 0, 0, 0, cmd_status,
          .exits = { CLI_EXITS_DAEMON } },
        { "whoami", NULL, "", "who the daemon takes you for, and what the policy lets you do", 0, 0, 0, cmd_whoami,
          .exits = { CLI_EXITS_DAEMON } },
        { "policy", "check", "FILE", "validate a policy file (credvaultd --check-policy)", 1, 1, 0, cmd_policy_check,
          .help = "Exit 1 if the file is invalid; the checker names what is wrong.", .exits = { 0 } },
        /* The verbs before the bare "audit", which command_find() would
         * take for any of them. */
        { "audit", "verify", "", "check the audit trail's chain of records", 0, 0, 0, cmd_audit_verify,
          .help = "Exit 1 if the chain is broken.", .exits = { CLI_EXITS_DAEMON } },
        { "audit", "prune", "--before T", "remove the audit records older than T", 0, 0, CLI_OPT_BEFORE,
          cmd_audit_prune, .exits = { CLI_EXITS_DAEMON } },
        { "audit", NULL, "[--since T] [--until T] [--plugin P] [--principal X] [--op OP]",
          "print the audit trail, oldest first", 0, 0,
          CLI_OPT_SINCE | CLI_OPT_UNTIL | CLI_OPT_PLUGIN | CLI_OPT_PRINCIPAL | CLI_OPT_OP, cmd_audit_ls,
          .help = "A time T is a date (2026-11-30), a date and time with its zone\n"
                  "(2026-11-30T12:00:00Z), @UNIXSECONDS, or a DURATION ago (2h, 1d 12h). A principal X is\n"
                  "uid:N, user:NAME, unit:NAME or a unit's name. --json: one object per record and line.",
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "rotate", "", "make a fresh key-encryption key (KEK) the primary", 0, 0, 0, cmd_key_rotate,
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "rewrap", "[--wait]", "rewrap every record's data key under the primary KEK, in the background", 0, 0,
          CLI_OPT_WAIT, cmd_key_rewrap,
          .help = "--wait polls until every record is on the primary KEK: a progress bar on a\n"
                  "terminal's stderr, else (or with --json) one JSON line a poll on stdout. Ctrl-C stops\n"
                  "the waiting (exit 130), not the rewrap.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_INTERRUPTED } },
        { "key", "status", "", "list the KEKs and the rewrap's progress", 0, 0, 0, cmd_key_status,
          .exits = { CLI_EXITS_DAEMON } },
        { "key", "retire", "VERSION", "drop a KEK that wraps no record any more", 1, 1, 0, cmd_key_retire,
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CONFLICT } },
        { "key", "rotate-root", "[--new-key-file FILE]",
          "rewrap the keyring under a new root key (without FILE: a development vault)", 0, 0, CLI_OPT_NEW_KEY_FILE,
          cmd_key_rotate_root, .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "key", "new-root-key", "FILE", "write a fresh random root key file (0600, never over a file)", 1, 1, 0,
          cmd_key_new_root_key, .exits = { CLI_EXIT_CONFLICT } },
        { "key", "recovery-key", "[--output FILE] [--replace] [--newline=WHEN]",
          "make the vault's recovery key and print it once (or write it to FILE)", 0, 0,
          CLI_OPT_OUTPUT | CLI_OPT_REPLACE | CLI_OPT_NEWLINE, cmd_key_recovery_key,
          .help = "The key is printed once, with a newline (--newline=auto or never to choose), or\n"
                  "written to FILE.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_CONFLICT } },
        { "init", NULL, "[--recovery-key FILE]", "give the vault a recovery key if it has none", 0, 0,
          CLI_OPT_RECOVERY_KEY, cmd_init, .exits = { CLI_EXITS_DAEMON } },
        { "backup", NULL, "FILE | --verify FILE [--root-key-file F] [--state-dir D] [--dev]",
          "copy the vault into a new FILE while it serves, or check a copy", 1, 1,
          CLI_OPT_VERIFY | CLI_OPT_KEY_FILE | CLI_OPT_STATE_DIR | CLI_OPT_DEV, cmd_backup,
          .help = "backup FILE creates FILE (0600; never an existing one) and has the daemon write a\n"
                  "consistent copy of the vault into it while it serves. backup --verify FILE runs\n"
                  "credvaultd --verify-backup FILE with the root key options given; its exit status is\n"
                  "the command's: 0 ok, 3 no key, 4 wrong key, 5 unusable file, 6 damaged or altered.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_NO_MATCH, CLI_EXIT_CONFLICT } },
        { "import", NULL, "PLUGIN FILE|- [--dry-run]", "store each NAME=VALUE of an env file as a secret of PLUGIN", 2,
          2, CLI_OPT_DRY_RUN, cmd_import,
          .help = "The file is read whole and checked first (KEY=VALUE, export, quotes, comments); a line\n"
                  "that does not parse stores nothing. Only names are printed.",
          .exits = { CLI_EXITS_DAEMON } },
        { "run", NULL, "[--plugin P]... [--secret P/NAME]... [--map [P/]NAME=VAR]... -- COMMAND [ARG]...",
          "run COMMAND with secrets in its environment", 1, SIZE_MAX, CLI_OPT_PLUGIN | CLI_OPT_SECRET | CLI_OPT_MAP,
          cmd_run,
          .help = "Each secret becomes a variable named after it (or as --map says); COMMAND replaces\n"
                  "credvault, so its exit status is the command's. Values never printed. See\n"
                  "docs/plugins.md, \"Moving off env files\", for what the environment exposes.",
          .exits = { CLI_EXITS_DAEMON, CLI_EXIT_NOT_FOUND, CLI_EXIT_CANNOT_EXECUTE, CLI_EXIT_COMMAND_NOT_FOUND } },
};
const size_t cli_n_commands = ELEMENTSOF(cli_commands);

static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        int r = cli_usage_verror(format, ap);
        va_end(ap);
        return r;
}

static const char *socket_path_effective(const Cli *cli) {
        const char *e = getenv("CREDVAULT_SOCKET");
        return cli->socket_path ?: (e && *e ? e : CV_SOCKET_DEFAULT);
}

int cli_connect(Cli *cli, CvClient **ret_client) {
        if (!cli->client) {
                int r = cv_client_new(cli->socket_path, cli->timeout_ms, &cli->client);
                if (r < 0) {
                        cli->connect_failed = true;
                        return cli_error(r, "cannot connect to credvaultd at %s: %s", socket_path_effective(cli),
                                         strerror(-r));
                }
        }
        *ret_client = cli->client;
        return 0;
}

int cli_delete_record(Cli *cli, CliDeleteCall delete_call, const char *plugin, const char *key) {
        CvClient *c = NULL;
        int r;

        r = cli_connect(cli, &c);
        if (r < 0)
                return r;
        r = delete_call(c, plugin, key);
        return r < 0 ? cli_error_call(c, r) : 0;
}

/* The daemon's error code says more than the errno: -ENOENT is "not found"
 * from the daemon but "no socket" from connect. A socket we may not open
 * is "denied", like the daemon refusing us: the fix is the same. */
static CliExit exit_status_from_error(const Cli *cli, int r) {
        static const struct {
                const char *code;
                CliExit status;
        } codes[] = {
                { "unreachable", CLI_EXIT_UNREACHABLE },
                { "timeout", CLI_EXIT_UNREACHABLE },
                { "unavailable", CLI_EXIT_UNREACHABLE },
                { "not_found", CLI_EXIT_NOT_FOUND },
                { "unauthorized", CLI_EXIT_DENIED },
                { "denied", CLI_EXIT_DENIED },
                { "bad_request", CLI_EXIT_USAGE },
                { "too_large", CLI_EXIT_USAGE },
                { "refresh_required", CLI_EXIT_REFRESH_REQUIRED },
                { "reauth_required", CLI_EXIT_REAUTH_REQUIRED },
                { "refresh_in_progress", CLI_EXIT_REFRESH_IN_PROGRESS },
                { "conflict", CLI_EXIT_CONFLICT },
                { "rate_limited", CLI_EXIT_RATE_LIMITED },
        };
        const char *code = cli->client ? cv_client_error_code(cli->client) : "";

        if (cli->connect_failed)
                return r == -EACCES || r == -EPERM ? CLI_EXIT_DENIED : CLI_EXIT_UNREACHABLE;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (strcmp(code, codes[i].code) == 0)
                        return codes[i].status;
        switch (r) {
        case -EINVAL:
        case -EMSGSIZE:
                return CLI_EXIT_USAGE;
        case -EACCES:
        case -EPERM:
                return CLI_EXIT_DENIED;
        case -ECONNREFUSED:
        case -ETIMEDOUT:
        case -ECONNRESET:
                return CLI_EXIT_UNREACHABLE;
        case -ESTALE:
                return CLI_EXIT_REFRESH_REQUIRED;
        case -EKEYREVOKED:
                return CLI_EXIT_REAUTH_REQUIRED;
        case -EALREADY:
                return CLI_EXIT_REFRESH_IN_PROGRESS;
        case -EEXIST:
                return CLI_EXIT_CONFLICT;
        default:
                return CLI_EXIT_FAILURE;
        }
}

enum {
        OPT_SOCKET = 0x100,
        OPT_JSON,
        OPT_TIMEOUT,
        OPT_VERSION,
        /* Command options: their CliOption bit is cli_command_options[c - OPT_NAME]. */
        OPT_NAME,
        OPT_DOMAIN,
        OPT_EXPIRING,
        OPT_YES,
        OPT_BYTES,
        OPT_RAW,
        OPT_POST,
        OPT_HEADER,
        OPT_MIN_VALID,
        OPT_REVEAL,
        OPT_SINCE,
        OPT_UNTIL,
        OPT_BEFORE,
        OPT_PLUGIN,
        OPT_PRINCIPAL,
        OPT_OP,
        OPT_WAIT,
        OPT_NEW_KEY_FILE,
        OPT_OUTPUT,
        OPT_REPLACE,
        OPT_RECOVERY_KEY,
        OPT_GRACE,
        OPT_GENERATE,
        OPT_STAGE,
        OPT_VERIFY,
        OPT_ROOT_KEY_FILE,
        OPT_STATE_DIR,
        OPT_DEV,
        OPT_DRY_RUN,
        OPT_SECRET,
        OPT_MAP,
        OPT_NO_CONFIRM,
        OPT_NEWLINE,
        OPT_NAMES,
};

/* The command options: what parsing checks, help explains and completion
 * offers. */
const CliOptionInfo cli_command_options[] = {
        [OPT_NAME - OPT_NAME] = { CLI_OPT_NAME, "--name", "NAME", "the plugin's name (default: the manifest's)" },
        [OPT_DOMAIN - OPT_NAME] = { CLI_OPT_DOMAIN, "--domain", "DOMAIN", "the domain the plugin is served from" },
        [OPT_EXPIRING - OPT_NAME] = { CLI_OPT_EXPIRING, "--expiring", "DURATION",
                                      "count as expiring what expires within DURATION (default 5m)" },
        [OPT_YES - OPT_NAME] = { CLI_OPT_YES, "--yes", NULL, "do it: remove everything named" },
        [OPT_BYTES - OPT_NAME] = { CLI_OPT_BYTES, "--bytes", "N", "random bytes in the value (default: the daemon's)" },
        [OPT_RAW - OPT_NAME] = { CLI_OPT_RAW, "--raw", NULL, "stdin holds the bare value, not a header" },
        [OPT_POST - OPT_NAME] = { CLI_OPT_POST, "--post", NULL, "stdin holds the form body, not a Basic header" },
        [OPT_HEADER - OPT_NAME] = { CLI_OPT_HEADER, "--header", NULL,
                                    "stdin holds an Authorization header, not the bare key" },
        [OPT_MIN_VALID - OPT_NAME] = { CLI_OPT_MIN_VALID, "--min-valid", "DURATION",
                                       "refuse a token set valid for less than DURATION" },
        [OPT_REVEAL - OPT_NAME] = { CLI_OPT_REVEAL, "--reveal", NULL, "print the access tokens too" },
        [OPT_SINCE - OPT_NAME] = { CLI_OPT_SINCE, "--since", "T", "records at or after T" },
        [OPT_UNTIL - OPT_NAME] = { CLI_OPT_UNTIL, "--until", "T", "records before T" },
        [OPT_BEFORE - OPT_NAME] = { CLI_OPT_BEFORE, "--before", "T", "the records older than T" },
        [OPT_PLUGIN - OPT_NAME] = { CLI_OPT_PLUGIN, "--plugin", "P",
                                    "plugin P (audit ls: its records; run: its secrets, repeatable)",
                                    CLI_COMPLETE_PLUGIN },
        [OPT_PRINCIPAL - OPT_NAME] = { CLI_OPT_PRINCIPAL, "--principal", "X", "records of principal X" },
        [OPT_OP - OPT_NAME] = { CLI_OPT_OP, "--op", "OP", "records of operation OP (secret.get, ...)" },
        [OPT_WAIT - OPT_NAME] = { CLI_OPT_WAIT, "--wait", NULL, "show the progress until done" },
        [OPT_NEW_KEY_FILE - OPT_NAME] = { CLI_OPT_NEW_KEY_FILE, "--new-key-file", "FILE",
                                          "the new root key (key new-root-key makes one)", CLI_COMPLETE_FILE },
        [OPT_OUTPUT - OPT_NAME] = { CLI_OPT_OUTPUT, "--output", "FILE", "write the key to a new FILE (0600)",
                                    CLI_COMPLETE_FILE },
        [OPT_REPLACE - OPT_NAME] = { CLI_OPT_REPLACE, "--replace", NULL, "replace the recovery key there is" },
        [OPT_RECOVERY_KEY - OPT_NAME] = { CLI_OPT_RECOVERY_KEY, "--recovery-key", "FILE",
                                          "write the recovery key to a new FILE (0600)", CLI_COMPLETE_FILE },
        [OPT_GRACE - OPT_NAME] = { CLI_OPT_GRACE, "--grace", "DURATION",
                                   "the old value stays valid this long after promote" },
        [OPT_GENERATE - OPT_NAME] = { CLI_OPT_GENERATE, "--generate", "[=BYTES]", "made by the daemon, printed once" },
        [OPT_STAGE - OPT_NAME] = { CLI_OPT_STAGE, "--stage", "STAGE", "current (default), previous or pending",
                                   "current previous pending" },
        [OPT_VERIFY - OPT_NAME] = { CLI_OPT_VERIFY, "--verify", NULL, "check the copy FILE instead of making one" },
        [OPT_ROOT_KEY_FILE - OPT_NAME] = { CLI_OPT_KEY_FILE, "--root-key-file", "FILE", "the root key to open it",
                                           CLI_COMPLETE_FILE },
        [OPT_STATE_DIR - OPT_NAME] = { CLI_OPT_STATE_DIR, "--state-dir", "DIR", "the development vault's state",
                                       CLI_COMPLETE_DIR },
        [OPT_DEV - OPT_NAME] = { CLI_OPT_DEV, "--dev", NULL, "a development vault's key (in --state-dir)" },
        [OPT_DRY_RUN - OPT_NAME] = { CLI_OPT_DRY_RUN, "--dry-run", NULL, "print what would be stored, store nothing" },
        [OPT_SECRET - OPT_NAME] = { CLI_OPT_SECRET, "--secret", "P/NAME", "the secret NAME of plugin P (repeatable)" },
        [OPT_MAP - OPT_NAME] = { CLI_OPT_MAP, "--map", "[P/]NAME=VAR",
                                 "the secret NAME as the variable VAR (repeatable)" },
        [OPT_NO_CONFIRM - OPT_NAME] = { CLI_OPT_NO_CONFIRM, "--no-confirm", NULL,
                                        "on a terminal, type the value once, not twice" },
        [OPT_NEWLINE - OPT_NAME] = { CLI_OPT_NEWLINE, "--newline", "WHEN",
                                     "a newline after the value: auto (on a terminal), always, never",
                                     "auto always never" },
        [OPT_NAMES - OPT_NAME] = { CLI_OPT_NAMES, "--names", NULL, "the names alone, one a line" },
};
const size_t cli_n_command_options = ELEMENTSOF(cli_command_options);

/* A DURATION option's argument (duration.c), at most max seconds, or a
 * usage error that says what is wrong with it. */
static int duration_option(const char *name, const char *arg, int64_t max, int64_t *ret) {
        char limit[CLI_DURATION_SIZE];
        int r = cli_duration_parse(arg, max, ret);
        if (r == -ERANGE)
                return usage_error("%s: '%s' is negative or over %s", name, arg, cli_duration_format(max, limit));
        if (r == -EDOM)
                return usage_error("%s: '%s' is not a whole number of seconds", name, arg);
        if (r < 0)
                return usage_error("%s: '%s' is not a DURATION (90s, 5min, 1h30m, \"1d 2h\", 2w, 1.5h; "
                                   "units as systemd.time(7))",
                                   name, arg);
        return 0;
}

static int list_add(CliList *l, const char *item) {
        const char **items = realloc(l->items, (l->n_items + 1) * sizeof(char *));
        if (!items)
                return -ENOMEM;
        items[l->n_items++] = item;
        l->items = items;
        return 0;
}

/* A command option's argument into cli. Whether the command takes the
 * option is checked once the command is known. */
static int parse_command_option(Cli *cli, int c, const char *arg) {
        int v, r;

        switch (c) {
        case OPT_NAME:
                cli->name = arg;
                break;
        case OPT_DOMAIN:
                cli->domain = arg;
                break;
        case OPT_EXPIRING:
                r = duration_option("--expiring", arg, INT32_MAX, &cli->expiring_sec);
                if (r < 0)
                        return r;
                break;
        case OPT_MIN_VALID: {
                int64_t sec;
                r = duration_option("--min-valid", arg, INT_MAX, &sec);
                if (r < 0)
                        return r;
                cli->min_valid_sec = (int) sec;
                break;
        }
        case OPT_SINCE:
        case OPT_UNTIL:
        case OPT_BEFORE: {
                int64_t t;
                if (cli_time_parse(arg, (int64_t) time(NULL), &t) < 0)
                        return usage_error("%s: '%s' is not a time (2026-11-30, 2026-11-30T12:00:00Z, @UNIXSECONDS, "
                                           "or a DURATION ago: 2h)",
                                           cli_command_options[c - OPT_NAME].name, arg);
                *(c == OPT_SINCE ? &cli->since : c == OPT_UNTIL ? &cli->until : &cli->before) = t;
                break;
        }
        case OPT_PLUGIN:
                cli->plugin = arg;
                if (list_add(&cli->plugins, arg) < 0)
                        return -ENOMEM;
                break;
        case OPT_SECRET:
        case OPT_MAP:
                if (list_add(c == OPT_SECRET ? &cli->secrets : &cli->maps, arg) < 0)
                        return -ENOMEM;
                break;
        case OPT_PRINCIPAL:
                cli->principal = arg;
                break;
        case OPT_OP:
                cli->op = arg;
                break;
        case OPT_NEW_KEY_FILE:
                cli->new_key_file = arg;
                break;
        case OPT_OUTPUT:
                cli->output = arg;
                break;
        case OPT_RECOVERY_KEY:
                cli->recovery_key = arg;
                break;
        case OPT_ROOT_KEY_FILE:
                cli->key_file = arg;
                break;
        case OPT_STATE_DIR:
                cli->state_dir = arg;
                break;
        case OPT_BYTES:
                if (parse_int(arg, 1, INT_MAX, &v) < 0)
                        return usage_error("--bytes: '%s' is not a number of bytes > 0", arg);
                cli->bytes = (size_t) v;
                break;
        case OPT_GRACE:
                r = duration_option("--grace", arg, CV_SECRET_GRACE_MAX_SEC, &cli->grace_sec);
                if (r < 0)
                        return r;
                break;
        case OPT_GENERATE:
                if (arg && parse_int(arg, 1, INT_MAX, &v) < 0)
                        return usage_error("--generate: '%s' is not a number of bytes > 0", arg);
                cli->generate_bytes = arg ? (size_t) v : 0;
                break;
        case OPT_STAGE:
                if (strcmp(arg, "current") == 0)
                        cli->stage = CV_SECRET_STAGE_CURRENT;
                else if (strcmp(arg, "previous") == 0)
                        cli->stage = CV_SECRET_STAGE_PREVIOUS;
                else if (strcmp(arg, "pending") == 0)
                        cli->stage = CV_SECRET_STAGE_PENDING;
                else
                        return usage_error("--stage: '%s' is not current, previous or pending", arg);
                break;
        case OPT_NEWLINE:
                if (strcmp(arg, "auto") == 0)
                        cli->newline = CLI_NEWLINE_AUTO;
                else if (strcmp(arg, "always") == 0)
                        cli->newline = CLI_NEWLINE_ALWAYS;
                else if (strcmp(arg, "never") == 0)
                        cli->newline = CLI_NEWLINE_NEVER;
                else
                        return usage_error("--newline: '%s' is not auto, always or never", arg);
                break;
        }
        cli->options |= cli_command_options[c - OPT_NAME].bit;
        return 0;
}

/* Returns 1 to go on with a command (*ret_help: --help was given, for the
 * command's help), 0 when done (--version), or a negative errno. GNU
 * getopt permutes, so options may also follow the command; "--" ends
 * them. */
static int parse_options(Cli *cli, int argc, char **argv, bool *ret_help) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "json", no_argument, NULL, OPT_JSON },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { "name", required_argument, NULL, OPT_NAME },
                { "domain", required_argument, NULL, OPT_DOMAIN },
                { "expiring", required_argument, NULL, OPT_EXPIRING },
                { "yes", no_argument, NULL, OPT_YES },
                { "bytes", required_argument, NULL, OPT_BYTES },
                { "raw", no_argument, NULL, OPT_RAW },
                { "post", no_argument, NULL, OPT_POST },
                { "header", no_argument, NULL, OPT_HEADER },
                { "min-valid", required_argument, NULL, OPT_MIN_VALID },
                { "reveal", no_argument, NULL, OPT_REVEAL },
                { "since", required_argument, NULL, OPT_SINCE },
                { "until", required_argument, NULL, OPT_UNTIL },
                { "before", required_argument, NULL, OPT_BEFORE },
                { "plugin", required_argument, NULL, OPT_PLUGIN },
                { "principal", required_argument, NULL, OPT_PRINCIPAL },
                { "op", required_argument, NULL, OPT_OP },
                { "wait", no_argument, NULL, OPT_WAIT },
                { "new-key-file", required_argument, NULL, OPT_NEW_KEY_FILE },
                { "output", required_argument, NULL, OPT_OUTPUT },
                { "replace", no_argument, NULL, OPT_REPLACE },
                { "recovery-key", required_argument, NULL, OPT_RECOVERY_KEY },
                { "grace", required_argument, NULL, OPT_GRACE },
                { "generate", optional_argument, NULL, OPT_GENERATE },
                { "stage", required_argument, NULL, OPT_STAGE },
                { "verify", no_argument, NULL, OPT_VERIFY },
                { "root-key-file", required_argument, NULL, OPT_ROOT_KEY_FILE },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "dev", no_argument, NULL, OPT_DEV },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "secret", required_argument, NULL, OPT_SECRET },
                { "map", required_argument, NULL, OPT_MAP },
                { "no-confirm", no_argument, NULL, OPT_NO_CONFIRM },
                { "newline", required_argument, NULL, OPT_NEWLINE },
                { "names", no_argument, NULL, OPT_NAMES },
                {},
        };
        int timeout, c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case OPT_SOCKET:
                        if (!*optarg)
                                return usage_error("--socket needs a path");
                        cli->socket_path = optarg;
                        break;
                case OPT_JSON:
                        cli->json = true;
                        break;
                case OPT_TIMEOUT:
                        if (parse_int(optarg, 1, INT_MAX, &timeout) < 0)
                                return usage_error("--timeout: '%s' is not a number of milliseconds > 0", optarg);
                        cli->timeout_ms = timeout;
                        break;
                case 'h':
                        *ret_help = true;
                        break;
                case OPT_VERSION:
                        printf("credvault %s\n", CREDVAULT_VERSION);
                        return 0;
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (c >= OPT_NAME && c < OPT_NAME + (int) ELEMENTSOF(cli_command_options)) {
                                r = parse_command_option(cli, c, optarg);
                                if (r < 0)
                                        return r;
                                break;
                        }
                        if (optopt > 0 && optopt < OPT_SOCKET)
                                return usage_error("unknown option '-%c'", optopt);
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        return 1;
}

/* Find the command named by the first one or two words of args. */
static int command_find(char **args, size_t n_args, const CliCommand **ret, size_t *ret_n_words) {
        bool group_known = false;

        for (size_t i = 0; i < cli_n_commands; i++) {
                const CliCommand *cmd = &cli_commands[i];
                if (strcmp(cmd->group, args[0]) != 0)
                        continue;
                group_known = true;
                if (!cmd->verb || (n_args > 1 && strcmp(cmd->verb, args[1]) == 0)) {
                        *ret = cmd;
                        *ret_n_words = cmd->verb ? 2 : 1;
                        return 0;
                }
        }
        if (!group_known)
                return cli_unknown_command(args, n_args > 1 ? 2 : 1);
        if (n_args == 1)
                return usage_error("'%s' needs a verb; 'credvault help %s' lists them", args[0], args[0]);
        return cli_unknown_command(args, 2);
}

static int run(Cli *cli, int argc, char **argv) {
        const CliCommand *cmd = NULL;
        size_t n_words = 0;
        bool help = false;
        int r;

        r = parse_options(cli, argc, argv, &help);
        if (r <= 0)
                return r;
        char **args = argv + optind;
        size_t n_args = (size_t) (argc - optind);
        if (n_args > 0 && strcmp(args[0], "help") == 0)
                return cli_help_words(args + 1, n_args - 1);
        /* `credvault secret get P N --help`: the command's words only. */
        if (help)
                return cli_help_words(args, n_args > 2 ? 2 : n_args);
        if (n_args == 0) {
                /* Bare `credvault`: what there is to run, as git does. */
                cli_usage_commands(stderr);
                return usage_error("no command given");
        }
        /* Not in the table, so not in the help: the scripts it prints are
         * installed by the build for each shell. */
        if (strcmp(args[0], "completion") == 0) {
                if (n_args != 2)
                        return usage_error("usage: credvault completion bash|zsh|fish");
                return cli_completion_print(args[1]);
        }
        r = command_find(args, n_args, &cmd, &n_words);
        if (r < 0)
                return r;
        for (size_t i = 0; i < cli_n_command_options; i++)
                if (cli_has(cli, cli_command_options[i].bit) && !(cmd->options & cli_command_options[i].bit))
                        return usage_error("'%s' is not an option of '%s%s%s'; 'credvault %s%s%s --help' lists "
                                           "its options",
                                           cli_command_options[i].name, cmd->group, cmd->verb ? " " : "",
                                           cmd->verb ?: "", cmd->group, cmd->verb ? " " : "", cmd->verb ?: "");
        n_args -= n_words;
        if (n_args < cmd->n_args_min || n_args > cmd->n_args_max) {
                cli_error(-EINVAL, "wrong number of arguments for '%s%s%s'; usage:", cmd->group, cmd->verb ? " " : "",
                          cmd->verb ?: "");
                cli_command_synopsis(cmd, stderr);
                return -EINVAL;
        }
        return cmd->run(cli, args + n_words);
}

/* The CLI holds values in memory for a moment; keep them out of core files
 * and away from same-uid ptrace. Best effort: a failure here must not stop
 * a script from reading its secret. */
static void harden(void) {
        struct rlimit no_core = { 0, 0 };
        (void) setrlimit(RLIMIT_CORE, &no_core);
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        cv_json_wipe_on_free();
}

int main(int argc, char **argv) {
        Cli cli = { .timeout_ms = CV_TIMEOUT_DEFAULT_MS, .expiring_sec = CLI_EXPIRING_DEFAULT_SEC, .grace_sec = -1 };
        int r;

        harden();
        /* Before getopt permutes argv: where run's COMMAND must start. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        cli.after_dashdash = argv[i + 1];
                        break;
                }
        r = run(&cli, argc, argv);
        CliExit status = r < 0 ? exit_status_from_error(&cli, r) : (CliExit) r;
        cv_client_free(cli.client);
        free(cli.plugins.items);
        free(cli.secrets.items);
        free(cli.maps.items);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_error(-EIO, "cannot write to stdout: %s", strerror(errno ?: EIO));
                if (status == CLI_EXIT_SUCCESS)
                        status = CLI_EXIT_FAILURE;
        }
        return (int) status;
}
