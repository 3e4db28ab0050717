/* main.c — the credvault command: set-up, dispatch, exit status.
 *
 * Owns: the process set-up (no core dumps, jansson wiping on free),
 * finding the command the words name (commands.c's table) and refusing
 * the options it does not take (parsed by options.c), the connection to
 * the daemon, and turning a command's result into the documented exit
 * status.
 * Never: take a value from the command line (values come only from stdin,
 * in the command handlers), or talk to the daemon other than through
 * libcredvault. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cli.h"
#include "command.h"

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
                return cli_usage_error("'%s' needs a verb; 'credvault help %s' lists them", args[0], args[0]);
        return cli_unknown_command(args, 2);
}

static int run(Cli *cli, int argc, char **argv) {
        const CliCommand *cmd = NULL;
        size_t n_words = 0;
        bool help = false;
        int r;

        r = cli_options_parse(cli, argc, argv, &help);
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
                return cli_usage_error("no command given");
        }
        /* Not in the table, so not in the help: the scripts it prints are
         * installed by the build for each shell. */
        if (strcmp(args[0], "completion") == 0) {
                if (n_args != 2)
                        return cli_usage_error("usage: credvault completion bash|zsh|fish");
                return cli_completion_print(args[1]);
        }
        r = command_find(args, n_args, &cmd, &n_words);
        if (r < 0)
                return r;
        for (size_t i = 0; i < cli_n_command_options; i++)
                if (cli_has(cli, cli_command_options[i].bit) && !(cmd->options & cli_command_options[i].bit))
                        return cli_usage_error("'%s' is not an option of '%s%s%s'; 'credvault %s%s%s --help' lists "
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
