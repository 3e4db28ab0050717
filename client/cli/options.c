/* options.c — the credvault command's options on the command line.
 *
 * Owns: parsing the global options (--socket, --json, --timeout, --help,
 * --version; their help is help.c's) and the command options, whose table
 * (what parsing checks, help explains and completion offers: command.h)
 * is here, each argument into the Cli context (durations, times, counts,
 * repeated options). Split from main.c so that the table of options and their
 * parser sit together, apart from dispatch.
 * Never: decides whether a command takes an option (main.c checks that
 * once the command is known), or takes a value from the command line. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "command.h"
#include "parse-util.h"
#include "version.h"

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
                return cli_usage_error("%s: '%s' is negative or over %s", name, arg, cli_duration_format(max, limit));
        if (r == -EDOM)
                return cli_usage_error("%s: '%s' is not a whole number of seconds", name, arg);
        if (r < 0)
                return cli_usage_error("%s: '%s' is not a DURATION (90s, 5min, 1h30m, \"1d 2h\", 2w, 1.5h; "
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
                        return cli_usage_error(
                                "%s: '%s' is not a time (2026-11-30, 2026-11-30T12:00:00Z, @UNIXSECONDS, "
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
                        return cli_usage_error("--bytes: '%s' is not a number of bytes > 0", arg);
                cli->bytes = (size_t) v;
                break;
        case OPT_GRACE:
                r = duration_option("--grace", arg, CV_SECRET_GRACE_MAX_SEC, &cli->grace_sec);
                if (r < 0)
                        return r;
                break;
        case OPT_GENERATE:
                if (arg && parse_int(arg, 1, INT_MAX, &v) < 0)
                        return cli_usage_error("--generate: '%s' is not a number of bytes > 0", arg);
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
                        return cli_usage_error("--stage: '%s' is not current, previous or pending", arg);
                break;
        case OPT_NEWLINE:
                if (strcmp(arg, "auto") == 0)
                        cli->newline = CLI_NEWLINE_AUTO;
                else if (strcmp(arg, "always") == 0)
                        cli->newline = CLI_NEWLINE_ALWAYS;
                else if (strcmp(arg, "never") == 0)
                        cli->newline = CLI_NEWLINE_NEVER;
                else
                        return cli_usage_error("--newline: '%s' is not auto, always or never", arg);
                break;
        }
        cli->options |= cli_command_options[c - OPT_NAME].bit;
        return 0;
}

/* Returns 1 to go on with a command (*ret_help: --help was given, for the
 * command's help), 0 when done (--version), or a negative errno. GNU
 * getopt permutes, so options may also follow the command; "--" ends
 * them. */
int cli_options_parse(Cli *cli, int argc, char **argv, bool *ret_help) {
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
                                return cli_usage_error("--socket needs a path");
                        cli->socket_path = optarg;
                        break;
                case OPT_JSON:
                        cli->json = true;
                        break;
                case OPT_TIMEOUT:
                        if (parse_int(optarg, 1, INT_MAX, &timeout) < 0)
                                return cli_usage_error("--timeout: '%s' is not a number of milliseconds > 0", optarg);
                        cli->timeout_ms = timeout;
                        break;
                case 'h':
                        *ret_help = true;
                        break;
                case OPT_VERSION:
                        printf("credvault %s\n", CREDVAULT_VERSION);
                        return 0;
                case ':':
                        return cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (c >= OPT_NAME && c < OPT_NAME + (int) ELEMENTSOF(cli_command_options)) {
                                r = parse_command_option(cli, c, optarg);
                                if (r < 0)
                                        return r;
                                break;
                        }
                        if (optopt > 0 && optopt < OPT_SOCKET)
                                return cli_usage_error("unknown option '-%c'", optopt);
                        return cli_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        return 1;
}
