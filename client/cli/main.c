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
#include "parse-util.h"
#include "version.h"

typedef struct CliCommand {
        const char *group;     /* first word: "plugin", "secret", ..., "status" */
        const char *verb;      /* second word; NULL for a one-word command */
        const char *arguments; /* for the help, with the command's options */
        const char *summary;
        size_t n_args_min, n_args_max;
        unsigned options; /* the CliOption bits it takes */
        CliCommandRun run;
} CliCommand;

static const CliCommand commands[] = {
        { "plugin", "add", "FILE|- [--name NAME] [--domain DOMAIN]",
          "register a plugin from its manifest or auth block", 1, 1, CLI_OPT_NAME | CLI_OPT_DOMAIN, cmd_plugin_add },
        { "plugin", "ls", "", "list registered plugins", 0, 0, 0, cmd_plugin_ls },
        { "plugin", "show", "NAME [--expiring DURATION]", "what the vault holds for a plugin (never a value)", 1, 1,
          CLI_OPT_EXPIRING, cmd_plugin_show },
        { "plugin", "rm", "NAME --yes", "remove a plugin with its secrets, token sets and API keys", 1, 1, CLI_OPT_YES,
          cmd_plugin_rm },
        { "plugin", "manifest", "NAME", "print the auth block the plugin's manifest needs", 1, 1, 0,
          cmd_plugin_manifest },
        { "secret", "put", "PLUGIN NAME", "store stdin, byte-exact, as a new version", 2, 2, 0, cmd_secret_put },
        { "secret", "get", "PLUGIN NAME [--stage STAGE]", "write the current (or another stage's) value to stdout", 2,
          2, CLI_OPT_STAGE, cmd_secret_get },
        { "secret", "generate", "PLUGIN NAME [--bytes N]", "store a fresh random value and print it once", 2, 2,
          CLI_OPT_BYTES, cmd_secret_generate },
        { "secret", "verify", "PLUGIN NAME [--raw]", "check the credential on stdin against the secret", 2, 2,
          CLI_OPT_RAW, cmd_secret_verify },
        { "secret", "ls", "[PLUGIN]", "list secrets (metadata only)", 0, 1, 0, cmd_secret_ls },
        { "secret", "rm", "PLUGIN NAME", "delete a secret", 2, 2, 0, cmd_secret_rm },
        { "secret", "rotate", "PLUGIN NAME [--grace DURATION] [--generate[=BYTES]]",
          "stage a new value (stdin, or generated) as pending", 2, 2, CLI_OPT_GRACE | CLI_OPT_GENERATE,
          cmd_secret_rotate },
        { "secret", "promote", "PLUGIN NAME [--grace DURATION]",
          "make the pending value current; the old one stays valid for the grace", 2, 2, CLI_OPT_GRACE,
          cmd_secret_promote },
        { "secret", "history", "PLUGIN NAME", "list a secret's versions, stages and deadlines", 2, 2, 0,
          cmd_secret_history },
        { "oauth", "verify-client", "PLUGIN [--post]", "check the client credentials on stdin", 1, 1, CLI_OPT_POST,
          cmd_oauth_verify_client },
        { "apikey", "put", "PLUGIN USER", "store the API key on stdin, byte-exact, for a user", 2, 2, 0,
          cmd_apikey_put },
        { "apikey", "lookup", "PLUGIN [--header]", "print the user whose API key is on stdin", 1, 1, CLI_OPT_HEADER,
          cmd_apikey_lookup },
        { "apikey", "ls", "PLUGIN", "list the users with an API key (metadata only)", 1, 1, 0, cmd_apikey_ls },
        { "apikey", "rm", "PLUGIN USER", "delete a user's API key", 2, 2, 0, cmd_apikey_rm },
        { "token", "put", "PLUGIN USER", "store the token endpoint response on stdin", 2, 2, 0, cmd_token_put },
        { "token", "get", "PLUGIN USER [--min-valid SECONDS]", "print a user's token set as JSON", 2, 2,
          CLI_OPT_MIN_VALID, cmd_token_get },
        { "token", "ls", "PLUGIN [--expiring DURATION] [--reveal]", "list a plugin's token sets and their states", 1, 1,
          CLI_OPT_EXPIRING | CLI_OPT_REVEAL, cmd_token_ls },
        { "token", "rm", "PLUGIN USER", "delete a user's token set", 2, 2, 0, cmd_token_rm },
        { "status", NULL, "", "show the daemon's health, policy and audit trail", 0, 0, 0, cmd_status },
        { "whoami", NULL, "", "who the daemon takes you for, and what the policy lets you do", 0, 0, 0, cmd_whoami },
        { "policy", "check", "FILE", "validate a policy file (credvaultd --check-policy)", 1, 1, 0, cmd_policy_check },
        /* The verbs before the bare "audit", which command_find() would
         * take for any of them. */
        { "audit", "verify", "", "check the audit trail's chain of records", 0, 0, 0, cmd_audit_verify },
        { "audit", "prune", "--before T", "remove the audit records older than T", 0, 0, CLI_OPT_BEFORE,
          cmd_audit_prune },
        { "audit", NULL, "[--since T] [--until T] [--plugin P] [--principal X] [--op OP]",
          "print the audit trail, oldest first", 0, 0,
          CLI_OPT_SINCE | CLI_OPT_UNTIL | CLI_OPT_PLUGIN | CLI_OPT_PRINCIPAL | CLI_OPT_OP, cmd_audit_ls },
        { "key", "rotate", "", "make a fresh key-encryption key (KEK) the primary", 0, 0, 0, cmd_key_rotate },
        { "key", "rewrap", "[--wait]", "rewrap every record's data key under the primary KEK, in the background", 0, 0,
          CLI_OPT_WAIT, cmd_key_rewrap },
        { "key", "status", "", "list the KEKs and the rewrap's progress", 0, 0, 0, cmd_key_status },
        { "key", "retire", "VERSION", "drop a KEK that wraps no record any more", 1, 1, 0, cmd_key_retire },
        { "key", "rotate-root", "[--new-key-file FILE]",
          "rewrap the keyring under a new root key (without FILE: a development vault)", 0, 0, CLI_OPT_NEW_KEY_FILE,
          cmd_key_rotate_root },
        { "key", "new-root-key", "FILE", "write a fresh random root key file (0600, never over a file)", 1, 1, 0,
          cmd_key_new_root_key },
        { "key", "recovery-key", "[--output FILE] [--replace]",
          "make the vault's recovery key and print it once (or write it to FILE)", 0, 0,
          CLI_OPT_OUTPUT | CLI_OPT_REPLACE, cmd_key_recovery_key },
        { "init", NULL, "[--recovery-key FILE]", "give the vault a recovery key if it has none", 0, 0,
          CLI_OPT_RECOVERY_KEY, cmd_init },
        { "backup", NULL, "FILE | --verify FILE [--root-key-file F] [--state-dir D] [--dev]",
          "copy the vault into a new FILE while it serves, or check a copy", 1, 1,
          CLI_OPT_VERIFY | CLI_OPT_KEY_FILE | CLI_OPT_STATE_DIR | CLI_OPT_DEV, cmd_backup },
        { "import", NULL, "PLUGIN FILE|- [--dry-run]", "store each NAME=VALUE of an env file as a secret of PLUGIN", 2,
          2, CLI_OPT_DRY_RUN, cmd_import },
        { "run", NULL, "[--plugin P]... [--secret P/NAME]... [--map [P/]NAME=VAR]... -- COMMAND [ARG]...",
          "run COMMAND with secrets in its environment", 1, SIZE_MAX, CLI_OPT_PLUGIN | CLI_OPT_SECRET | CLI_OPT_MAP,
          cmd_run },
};

static int command_words(const CliCommand *cmd, char *buf, size_t size) {
        return snprintf(buf, size, "%s%s%s%s%s", cmd->group, cmd->verb ? " " : "", cmd->verb ?: "",
                        *cmd->arguments ? " " : "", cmd->arguments);
}

/* A synopsis longer than this has its summary on the next line, so that
 * one long command does not push every summary off the screen. */
#define SYNOPSIS_WIDTH_MAX 52

/* Width of the help's first column: the longest "group verb arguments"
 * up to SYNOPSIS_WIDTH_MAX. */
static int synopsis_width(void) {
        int width = 0;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                int n = command_words(&commands[i], NULL, 0);
                if (n > width && n <= SYNOPSIS_WIDTH_MAX)
                        width = n;
        }
        return width;
}

static void command_synopsis(const CliCommand *cmd, FILE *f) {
        char words[128];
        int width = synopsis_width();
        if (command_words(cmd, words, sizeof(words)) > width)
                fprintf(f, "  %s\n  %-*s  %s\n", words, width, "", cmd->summary);
        else
                fprintf(f, "  %-*s  %s\n", width, words, cmd->summary);
}

static void usage_commands(FILE *f) {
        fputs("Usage: credvault [OPTIONS] COMMAND [ARGUMENTS]\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                command_synopsis(&commands[i], f);
        fprintf(f, "  %-*s  %s\n", synopsis_width(), "help", "show this help");
}

static void usage(FILE *f) {
        fputs("credvault - plugins, secrets, API keys and OAuth token sets in credvaultd\n\n", f);
        usage_commands(f);
        fputs("\n"
              "Options:\n"
              "  --socket PATH  the daemon's socket (default: $CREDVAULT_SOCKET, else " CV_SOCKET_DEFAULT ")\n"
              "  --json         machine-readable output (one JSON value, one line)\n"
              "  --timeout MS   connect and per-call timeout in milliseconds (default: 5000)\n"
              "  -h, --help     show this help\n"
              "  --version      show the version\n"
              "  --             end of options (for a name or user that starts with '-')\n"
              "\n"
              "A DURATION is an integer of seconds, or one with the unit s, m, h or d: 300, 90s, 5m, 2h, 1d.\n"
              "--expiring defaults to 5m.\n"
              "\n"
              "A time T is a date (2026-11-30, midnight UTC), a date and time with its zone\n"
              "(2026-11-30T12:00:00Z, 2026-11-30T12:00:00+01:00), @UNIXSECONDS, or a DURATION\n"
              "with its unit meaning that long ago (90s, 30m, 2h, 7d). A principal X is uid:N,\n"
              "user:NAME, unit:NAME or a unit's name (weather.service). audit --json prints one\n"
              "JSON object per record and line.\n"
              "\n"
              "key rewrap --wait polls until every record is on the primary KEK: a progress bar on\n"
              "a terminal's stderr, else (or with --json) one JSON line a poll on stdout,\n"
              "{\"remaining\":N,\"done\":N,\"rate\":R}. Ctrl-C stops the waiting, not the rewrap.\n"
              "\n"
              "backup FILE creates FILE (0600; never an existing one) and has the daemon write a\n"
              "consistent copy of the vault into it while it serves; the copy is as secret as the\n"
              "root key that opens it. On failure FILE is removed. backup --verify FILE runs\n"
              "credvaultd --verify-backup FILE ($CREDVAULTD, else the installed one) with the root key\n"
              "options given (as for a start: --root-key-file, the systemd credential, or --dev with\n"
              "--state-dir); its exit status is the command's: 0 ok, 3 no key, 4 wrong key,\n"
              "5 unusable file, 6 damaged or altered.\n"
              "\n"
              "Values are read from stdin only, never from arguments. token put reads a token endpoint's\n"
              "JSON response: access_token and token_type required, expires_in or expires_at, other fields\n"
              "kept. secret verify, oauth verify-client and apikey lookup --header read an HTTP\n"
              "Authorization header value (\"Bearer X\", \"Basic X\"; one final newline is ignored).\n"
              "\n"
              "Exit status:\n"
              "  0   success\n"
              "  1   any other failure; policy check: the file is invalid; audit verify: broken\n"
              "  2   bad usage or invalid input\n"
              "  3   not found (also: no KEK of that version)\n"
              "  4   permission denied (the socket, or the daemon's policy)\n"
              "  5   daemon unreachable or not answering\n"
              "  6   no match (verify, verify-client, apikey lookup)\n"
              "  7   refresh required (the token set is not valid long enough)\n"
              "  8   reauth required (the user must authorize again)\n"
              "  9   refresh in progress (another caller is refreshing; retry shortly)\n"
              "  10  conflict (a plugin name of another domain, an API key of another user,\n"
              "      a KEK that is the primary or still wraps records, an output file that\n"
              "      exists, a vault that has a recovery key, the root key in force)\n"
              "  11  rate limited (retry after the time printed), or a backup is running\n"
              "  126 run: COMMAND cannot be executed; 127: no such COMMAND (else run exits with\n"
              "      COMMAND's own status)\n"
              "  130 key rewrap --wait stopped by Ctrl-C (the daemon goes on)\n",
              f);
}

static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...) {
        va_list ap;

        fputs("credvault: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\nSee 'credvault --help' for the commands, options and exit statuses.\n", stderr);
        return -EINVAL;
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
        /* Command options: their CliOption bit is option_bits[c - OPT_NAME]. */
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
};

static const struct {
        CliOption bit;
        const char *name;
} option_bits[] = {
        [OPT_NAME - OPT_NAME] = { CLI_OPT_NAME, "--name" },
        [OPT_DOMAIN - OPT_NAME] = { CLI_OPT_DOMAIN, "--domain" },
        [OPT_EXPIRING - OPT_NAME] = { CLI_OPT_EXPIRING, "--expiring" },
        [OPT_YES - OPT_NAME] = { CLI_OPT_YES, "--yes" },
        [OPT_BYTES - OPT_NAME] = { CLI_OPT_BYTES, "--bytes" },
        [OPT_RAW - OPT_NAME] = { CLI_OPT_RAW, "--raw" },
        [OPT_POST - OPT_NAME] = { CLI_OPT_POST, "--post" },
        [OPT_HEADER - OPT_NAME] = { CLI_OPT_HEADER, "--header" },
        [OPT_MIN_VALID - OPT_NAME] = { CLI_OPT_MIN_VALID, "--min-valid" },
        [OPT_REVEAL - OPT_NAME] = { CLI_OPT_REVEAL, "--reveal" },
        [OPT_SINCE - OPT_NAME] = { CLI_OPT_SINCE, "--since" },
        [OPT_UNTIL - OPT_NAME] = { CLI_OPT_UNTIL, "--until" },
        [OPT_BEFORE - OPT_NAME] = { CLI_OPT_BEFORE, "--before" },
        [OPT_PLUGIN - OPT_NAME] = { CLI_OPT_PLUGIN, "--plugin" },
        [OPT_PRINCIPAL - OPT_NAME] = { CLI_OPT_PRINCIPAL, "--principal" },
        [OPT_OP - OPT_NAME] = { CLI_OPT_OP, "--op" },
        [OPT_WAIT - OPT_NAME] = { CLI_OPT_WAIT, "--wait" },
        [OPT_NEW_KEY_FILE - OPT_NAME] = { CLI_OPT_NEW_KEY_FILE, "--new-key-file" },
        [OPT_OUTPUT - OPT_NAME] = { CLI_OPT_OUTPUT, "--output" },
        [OPT_REPLACE - OPT_NAME] = { CLI_OPT_REPLACE, "--replace" },
        [OPT_RECOVERY_KEY - OPT_NAME] = { CLI_OPT_RECOVERY_KEY, "--recovery-key" },
        [OPT_GRACE - OPT_NAME] = { CLI_OPT_GRACE, "--grace" },
        [OPT_GENERATE - OPT_NAME] = { CLI_OPT_GENERATE, "--generate" },
        [OPT_STAGE - OPT_NAME] = { CLI_OPT_STAGE, "--stage" },
        [OPT_VERIFY - OPT_NAME] = { CLI_OPT_VERIFY, "--verify" },
        [OPT_ROOT_KEY_FILE - OPT_NAME] = { CLI_OPT_KEY_FILE, "--root-key-file" },
        [OPT_STATE_DIR - OPT_NAME] = { CLI_OPT_STATE_DIR, "--state-dir" },
        [OPT_DEV - OPT_NAME] = { CLI_OPT_DEV, "--dev" },
        [OPT_DRY_RUN - OPT_NAME] = { CLI_OPT_DRY_RUN, "--dry-run" },
        [OPT_SECRET - OPT_NAME] = { CLI_OPT_SECRET, "--secret" },
        [OPT_MAP - OPT_NAME] = { CLI_OPT_MAP, "--map" },
};

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
        int v;

        switch (c) {
        case OPT_NAME:
                cli->name = arg;
                break;
        case OPT_DOMAIN:
                cli->domain = arg;
                break;
        case OPT_EXPIRING:
                if (cli_duration_parse(arg, INT32_MAX, &cli->expiring_sec) < 0)
                        return usage_error("--expiring: '%s' is not a DURATION (300, 90s, 5m, 2h, 1d)", arg);
                break;
        case OPT_MIN_VALID: {
                int64_t sec;
                if (cli_duration_parse(arg, INT_MAX, &sec) < 0)
                        return usage_error("--min-valid: '%s' is not a number of seconds (or a DURATION: 5m)", arg);
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
                                           option_bits[c - OPT_NAME].name, arg);
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
                if (cli_duration_parse(arg, CV_SECRET_GRACE_MAX_SEC, &cli->grace_sec) < 0)
                        return usage_error("--grace: '%s' is not a DURATION up to 366d (0, 90s, 30m, 2h, 7d)", arg);
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
        }
        cli->options |= option_bits[c - OPT_NAME].bit;
        return 0;
}

/* Returns 1 to go on with a command, 0 when done (--help, --version), or a
 * negative errno. GNU getopt permutes, so options may also follow the
 * command; "--" ends them. */
static int parse_options(Cli *cli, int argc, char **argv) {
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
                        usage(stdout);
                        return 0;
                case OPT_VERSION:
                        printf("credvault %s\n", CREDVAULT_VERSION);
                        return 0;
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (c >= OPT_NAME && c <= OPT_MAP) {
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

        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                const CliCommand *cmd = &commands[i];
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
                return usage_error("unknown command '%s'", args[0]);
        if (n_args == 1)
                return usage_error("'%s' needs a verb", args[0]);
        return usage_error("unknown command '%s %s'", args[0], args[1]);
}

static int run(Cli *cli, int argc, char **argv) {
        const CliCommand *cmd = NULL;
        size_t n_words = 0;
        int r;

        r = parse_options(cli, argc, argv);
        if (r <= 0)
                return r;
        char **args = argv + optind;
        size_t n_args = (size_t) (argc - optind);
        if (n_args == 0) {
                /* Bare `credvault`: what there is to run, as git does. */
                usage_commands(stderr);
                return usage_error("no command given");
        }
        if (strcmp(args[0], "help") == 0) {
                if (n_args > 1)
                        return usage_error("'help' takes no arguments");
                usage(stdout);
                return 0;
        }
        r = command_find(args, n_args, &cmd, &n_words);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(option_bits); i++)
                if (cli_has(cli, option_bits[i].bit) && !(cmd->options & option_bits[i].bit))
                        return usage_error("'%s' is not an option of '%s%s%s'", option_bits[i].name, cmd->group,
                                           cmd->verb ? " " : "", cmd->verb ?: "");
        n_args -= n_words;
        if (n_args < cmd->n_args_min || n_args > cmd->n_args_max) {
                cli_error(-EINVAL, "wrong number of arguments for '%s%s%s'; usage:", cmd->group, cmd->verb ? " " : "",
                          cmd->verb ?: "");
                command_synopsis(cmd, stderr);
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
