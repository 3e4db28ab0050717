/* main.c — the credvault command: global options, dispatch, exit status.
 *
 * Owns: the process set-up (no core dumps, jansson wiping on free), the
 * global options, the table of commands (name, arguments, help line), the
 * connection to the daemon, and turning a command's negative errno into
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

#include "cli.h"

typedef struct CliCommand {
        const char *group;     /* first word: "secret", "token", "status" */
        const char *verb;      /* second word; NULL for a one-word command */
        const char *arguments; /* for the help */
        const char *summary;
        size_t n_args_min, n_args_max;
        CliCommandRun run;
} CliCommand;

static const CliCommand commands[] = {
        { "secret", "put", "PLUGIN NAME", "store stdin, byte-exact, as a new version", 2, 2, cmd_secret_put },
        { "secret", "get", "PLUGIN NAME", "write the current value to stdout, byte-exact", 2, 2, cmd_secret_get },
        { "secret", "ls", "[PLUGIN]", "list secrets (metadata only)", 0, 1, cmd_secret_ls },
        { "secret", "rm", "PLUGIN NAME", "delete a secret", 2, 2, cmd_secret_rm },
        { "token", "put", "PLUGIN USER", "store the token set JSON on stdin", 2, 2, cmd_token_put },
        { "token", "get", "PLUGIN USER", "print a user's token set as JSON", 2, 2, cmd_token_get },
        { "token", "ls", "PLUGIN", "list a plugin's token sets (metadata only)", 1, 1, cmd_token_ls },
        { "token", "rm", "PLUGIN USER", "delete a user's token set", 2, 2, cmd_token_rm },
        { "status", NULL, "", "show the daemon's health", 0, 0, cmd_status },
};

static void command_synopsis(const CliCommand *cmd, FILE *f) {
        char words[64];
        snprintf(words, sizeof(words), "%s%s%s %s", cmd->group, cmd->verb ? " " : "", cmd->verb ?: "",
                 cmd->arguments);
        fprintf(f, "  %-26s %s\n", words, cmd->summary);
}

static void usage_commands(FILE *f) {
        fputs("Usage: credvault [OPTIONS] COMMAND [ARGUMENTS]\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                command_synopsis(&commands[i], f);
        fputs("  help                       show this help\n", f);
}

static void usage(FILE *f) {
        fputs("credvault - store and fetch secrets and OAuth token sets in credvaultd\n\n", f);
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
              "Values are read from stdin only, never from arguments. Token set JSON:\n"
              "  {\"access_token\": S, \"token_type\": S, \"refresh_token\": S, \"scope\": S,\n"
              "   \"expires_at\": UNIX-SECONDS or \"expires_in\": SECONDS}  (the first two required)\n"
              "\n"
              "Exit status:\n"
              "  0  success\n"
              "  1  any other failure\n"
              "  2  bad usage or invalid input\n"
              "  3  not found\n"
              "  4  permission denied\n"
              "  5  daemon unreachable or not answering\n",
              f);
}

static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...) {
        va_list ap;

        fputs("credvault: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\n\n", stderr);
        usage_commands(stderr);
        fputs("\nSee 'credvault --help' for the options and exit statuses.\n", stderr);
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

/* The daemon's error code says more than the errno: -ENOENT is "not found"
 * from the daemon but "no socket" from connect. A socket we may not open
 * is "denied", like the daemon refusing us: the fix is the same. */
static CliExit exit_status_from_error(const Cli *cli, int r) {
        const char *code = cli->client ? cv_client_error_code(cli->client) : "";

        if (cli->connect_failed)
                return r == -EACCES || r == -EPERM ? CLI_EXIT_DENIED : CLI_EXIT_UNREACHABLE;
        if (strcmp(code, "unreachable") == 0 || strcmp(code, "timeout") == 0 || strcmp(code, "unavailable") == 0)
                return CLI_EXIT_UNREACHABLE;
        if (strcmp(code, "not_found") == 0)
                return CLI_EXIT_NOT_FOUND;
        if (strcmp(code, "unauthorized") == 0)
                return CLI_EXIT_DENIED;
        if (strcmp(code, "bad_request") == 0 || strcmp(code, "too_large") == 0)
                return CLI_EXIT_USAGE;
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
        default:
                return CLI_EXIT_FAILURE;
        }
}

static int parse_timeout(const char *s, int *ret) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v <= 0 || v > INT_MAX)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

enum {
        OPT_SOCKET = 0x100,
        OPT_JSON,
        OPT_TIMEOUT,
        OPT_VERSION,
};

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
                {},
        };
        int c;

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
                        if (parse_timeout(optarg, &cli->timeout_ms) < 0)
                                return usage_error("--timeout: '%s' is not a number of milliseconds > 0", optarg);
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
        if (n_args == 0)
                return usage_error("no command given");
        if (strcmp(args[0], "help") == 0) {
                if (n_args > 1)
                        return usage_error("'help' takes no arguments");
                usage(stdout);
                return 0;
        }
        r = command_find(args, n_args, &cmd, &n_words);
        if (r < 0)
                return r;
        n_args -= n_words;
        if (n_args < cmd->n_args_min || n_args > cmd->n_args_max) {
                cli_error(-EINVAL, "wrong number of arguments for '%s%s%s'; usage:", cmd->group,
                          cmd->verb ? " " : "", cmd->verb ?: "");
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
        cli_json_wipe_on_free();
}

int main(int argc, char **argv) {
        Cli cli = { .timeout_ms = CV_TIMEOUT_DEFAULT_MS };
        int r;

        harden();
        r = run(&cli, argc, argv);
        CliExit status = r < 0 ? exit_status_from_error(&cli, r) : CLI_EXIT_SUCCESS;
        cv_client_free(cli.client);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_error(-EIO, "cannot write to stdout: %s", strerror(errno ?: EIO));
                if (status == CLI_EXIT_SUCCESS)
                        status = CLI_EXIT_FAILURE;
        }
        return (int) status;
}
