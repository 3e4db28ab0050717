/* help.c — what the credvault command says about itself.
 *
 * Owns: the global help, one command's or one group's help (synopsis,
 * summary, options, exit statuses), the global options and the exit
 * statuses' meanings, usage errors, and the nearest command to a mistyped
 * one (Damerau-Levenshtein distance over the command words). Everything
 * is made from the tables of commands.c and options.c (command.h).
 * Never: a list of commands or command options of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

const CliOptionInfo cli_global_options[] = {
        { 0, "--socket", "PATH", "the daemon's socket (default: $CREDVAULT_SOCKET, else " CV_SOCKET_DEFAULT ")",
          CLI_COMPLETE_FILE },
        { 0, "--json", NULL, "machine-readable output (one JSON value, one line)", NULL },
        { 0, "--timeout", "MS", "connect and per-call timeout in milliseconds (default: 5000)", NULL },
        { 0, "--help", NULL, "show the help (of a command, after it; -h too)", NULL },
        { 0, "--version", NULL, "show the version", NULL },
};
const size_t cli_n_global_options = ELEMENTSOF(cli_global_options);

static const struct {
        CliExit status;
        const char *meaning;
} exit_meanings[] = {
        { CLI_EXIT_SUCCESS, "success" },
        { CLI_EXIT_FAILURE, "any other failure; policy check: the file is invalid; audit verify: broken" },
        { CLI_EXIT_USAGE, "bad usage or invalid input (also: two different entries of a value typed)" },
        { CLI_EXIT_NOT_FOUND, "not found (also: no KEK of that version)" },
        { CLI_EXIT_DENIED, "permission denied (the socket, or the daemon's policy)" },
        { CLI_EXIT_UNREACHABLE, "daemon unreachable or not answering" },
        { CLI_EXIT_NO_MATCH, "no match (verify, verify-client, apikey lookup)" },
        { CLI_EXIT_REFRESH_REQUIRED, "refresh required (the token set is not valid long enough)" },
        { CLI_EXIT_REAUTH_REQUIRED, "reauth required (the user must authorize again)" },
        { CLI_EXIT_REFRESH_IN_PROGRESS, "refresh in progress (another caller is refreshing; retry shortly)" },
        { CLI_EXIT_CONFLICT, "conflict (a plugin name of another domain, an API key of another user,\n"
                             "      a KEK that is the primary or still wraps records, an output file that\n"
                             "      exists, a vault that has a recovery key, the root key in force)" },
        { CLI_EXIT_RATE_LIMITED, "rate limited (retry after the time printed), or a backup is running" },
        { CLI_EXIT_CANNOT_EXECUTE, "run: COMMAND cannot be executed" },
        { CLI_EXIT_COMMAND_NOT_FOUND, "run: no such COMMAND (else run exits with COMMAND's own status)" },
        { CLI_EXIT_INTERRUPTED, "key rewrap --wait stopped by Ctrl-C (the daemon goes on)" },
};

static void exit_meaning_print(CliExit status, FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(exit_meanings); i++)
                if (exit_meanings[i].status == status)
                        fprintf(f, "  %-3d %s\n", (int) status, exit_meanings[i].meaning);
}

int cli_usage_verror(const char *format, va_list ap) {
        fputs("credvault: ", stderr);
        vfprintf(stderr, format, ap);
        fputs("\nSee 'credvault --help' for the commands, options and exit statuses.\n", stderr);
        return -EINVAL;
}

int cli_usage_error(const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        int r = cli_usage_verror(format, ap);
        va_end(ap);
        return r;
}

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
        for (size_t i = 0; i < cli_n_commands; i++) {
                int n = command_words(&cli_commands[i], NULL, 0);
                if (n > width && n <= SYNOPSIS_WIDTH_MAX)
                        width = n;
        }
        return width;
}

void cli_command_synopsis(const CliCommand *cmd, FILE *f) {
        char words[160];
        int width = synopsis_width();
        if (command_words(cmd, words, sizeof(words)) > width)
                fprintf(f, "  %s\n  %-*s  %s\n", words, width, "", cmd->summary);
        else
                fprintf(f, "  %-*s  %s\n", width, words, cmd->summary);
}

void cli_usage_commands(FILE *f) {
        fputs("Usage: credvault [OPTIONS] COMMAND [ARGUMENTS]\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++)
                cli_command_synopsis(&cli_commands[i], f);
        fprintf(f, "  %-*s  %s\n", synopsis_width(), "help [COMMAND]", "show this help, or a command's");
}

/* "--name NAME", "--generate[=BYTES]" */
static void option_name_print(const CliOptionInfo *o, FILE *f) {
        char s[64];
        snprintf(s, sizeof(s), "%s%s%s", o->name, !o->argument || o->argument[0] == '[' ? "" : " ", o->argument ?: "");
        fprintf(f, "  %-22s %s\n", s, o->help);
}

static void global_options_print(FILE *f) {
        for (size_t i = 0; i < cli_n_global_options; i++)
                option_name_print(&cli_global_options[i], f);
        fprintf(f, "  %-22s %s\n", "--", "end of options (for a name or user that starts with '-')");
}

void cli_usage(FILE *f) {
        fputs("credvault - plugins, secrets, API keys and OAuth token sets in credvaultd\n\n", f);
        cli_usage_commands(f);
        fputs("\nOptions:\n", f);
        global_options_print(f);
        fputs("\n"
              "'credvault COMMAND --help' or 'credvault help COMMAND' shows a command's options.\n"
              "\n"
              "A DURATION is written as systemd writes one (systemd.time(7)): numbers with units,\n"
              "us ms s m h d w M y (or usec, msec, sec, min, hr, day, week, month, year, ...), a\n"
              "number alone being seconds: 300, 90s, 5min, 1h30m, \"1d 2h\", 1.5h, 2w.\n"
              "\n"
              "A time T is a date (2026-11-30, midnight UTC), a date and time with its zone\n"
              "(2026-11-30T12:00:00Z, 2026-11-30T12:00:00+01:00), @UNIXSECONDS, or a DURATION\n"
              "with its unit meaning that long ago (90s, 30min, 2h, 7d).\n"
              "\n"
              "Values are read from stdin only, never from arguments: byte for byte from a file\n"
              "or a pipe; on a terminal typed after a prompt, unseen, without the Enter key (put\n"
              "and rotate ask twice, unless --no-confirm). secret get ends the value with a newline\n"
              "only on a terminal (--newline=auto|always|never).\n"
              "\n"
              "Exit status:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(exit_meanings); i++)
                exit_meaning_print(exit_meanings[i].status, f);
}

static bool has_exit(const CliCommand *cmd, CliExit status) {
        for (size_t i = 0; i < CLI_EXITS_MAX && cmd->exits[i]; i++)
                if (cmd->exits[i] == status)
                        return true;
        return false;
}

static void command_help(const CliCommand *cmd, FILE *f) {
        char words[160];

        command_words(cmd, words, sizeof(words));
        fprintf(f, "Usage: credvault [OPTIONS] %s\n\n", words);
        /* The summary as a sentence. */
        fprintf(f, "%c%s.\n",
                cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' : cmd->summary[0],
                cmd->summary + 1);
        if (cmd->help)
                fprintf(f, "\n%s\n", cmd->help);
        if (cmd->options) {
                fputs("\nOptions:\n", f);
                for (size_t i = 0; i < cli_n_command_options; i++)
                        if (cmd->options & cli_command_options[i].bit)
                                option_name_print(&cli_command_options[i], f);
        }
        fputs("\nGlobal options:\n", f);
        global_options_print(f);
        fputs("\nExit status:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(exit_meanings); i++) {
                CliExit status = exit_meanings[i].status;
                if (status <= CLI_EXIT_USAGE || has_exit(cmd, status))
                        exit_meaning_print(status, f);
        }
}

/* The commands of a group, when it is named alone. */
static void group_help(const char *group, FILE *f) {
        fprintf(f, "Usage: credvault [OPTIONS] %s VERB [ARGUMENTS]\n\nCommands:\n", group);
        for (size_t i = 0; i < cli_n_commands; i++)
                if (strcmp(cli_commands[i].group, group) == 0)
                        cli_command_synopsis(&cli_commands[i], f);
        fprintf(f, "\n'credvault %s VERB --help' shows a command's options and exit statuses.\n", group);
}

/* Damerau-Levenshtein distance (optimal string alignment: insertions,
 * deletions, substitutions and swaps of two neighbours), for names of a
 * few dozen bytes. SIZE_MAX if out of memory. */
static size_t edit_distance(const char *a, const char *b) {
        size_t n = strlen(a), m = strlen(b), w = m + 1;
        size_t *d = calloc((n + 1) * w, sizeof(size_t));
        if (!d)
                return SIZE_MAX;
        for (size_t i = 0; i <= n; i++)
                d[i * w] = i;
        for (size_t j = 0; j <= m; j++)
                d[j] = j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, v = d[(i - 1) * w + j] + 1;
                        if (d[i * w + j - 1] + 1 < v)
                                v = d[i * w + j - 1] + 1;
                        if (d[(i - 1) * w + j - 1] + cost < v)
                                v = d[(i - 1) * w + j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[(i - 2) * w + j - 2] + 1 < v)
                                v = d[(i - 2) * w + j - 2] + 1;
                        d[i * w + j] = v;
                }
        size_t r = d[n * w + m];
        free(d);
        return r;
}

/* Whether d edits of a typed text of n bytes still make a likely typo:
 * at most a third of it off, and at least one byte right. */
static bool distance_near(size_t d, size_t n) {
        return d > 0 && d <= (n < 3 ? 1 : n / 3) && d < n;
}

/* The command nearest to the typed words, into buf: two words against
 * the two-word commands ("secrt put" → "secret put"), else the first
 * against the groups ("bakup" → "backup"). False if none is near. */
static bool command_nearest(char **words, size_t n_words, char *buf, size_t size) {
        char typed[128], candidate[128];
        size_t best = SIZE_MAX;

        if (n_words > 1) {
                snprintf(typed, sizeof(typed), "%s %s", words[0], words[1]);
                for (size_t i = 0; i < cli_n_commands; i++) {
                        if (!cli_commands[i].verb)
                                continue;
                        snprintf(candidate, sizeof(candidate), "%s %s", cli_commands[i].group, cli_commands[i].verb);
                        size_t d = edit_distance(typed, candidate);
                        if (d < best) {
                                best = d;
                                snprintf(buf, size, "%s", candidate);
                        }
                }
                if (distance_near(best, strlen(typed)))
                        return true;
        }
        best = edit_distance(words[0], "help");
        snprintf(buf, size, "help");
        for (size_t i = 0; i < cli_n_commands; i++) {
                size_t d = edit_distance(words[0], cli_commands[i].group);
                if (d < best) {
                        best = d;
                        snprintf(buf, size, "%s", cli_commands[i].group);
                }
        }
        return distance_near(best, strlen(words[0]));
}

int cli_unknown_command(char **words, size_t n_words) {
        char nearest[128];
        bool found = command_nearest(words, n_words, nearest, sizeof(nearest));
        /* Quote the verb only where it is part of what was not found: a
         * known group, or a two-word suggestion. */
        bool group_known = false;
        for (size_t i = 0; i < cli_n_commands; i++)
                group_known = group_known || strcmp(cli_commands[i].group, words[0]) == 0;
        bool two = n_words > 1 && (group_known || (found && strchr(nearest, ' ')));
        if (found)
                return cli_usage_error("unknown command '%s%s%s'; did you mean '%s'?", words[0], two ? " " : "",
                                       two ? words[1] : "", nearest);
        return cli_usage_error("unknown command '%s%s%s'", words[0], two ? " " : "", two ? words[1] : "");
}

int cli_help_words(char **words, size_t n_words) {
        const CliCommand *group_command = NULL;
        bool group_known = false;

        if (n_words == 0) {
                cli_usage(stdout);
                return 0;
        }
        if (n_words > 2)
                return cli_usage_error("'help' takes a command: help COMMAND [VERB]");
        /* Not in the table (nor the list of commands): the build installs
         * what it prints. */
        if (strcmp(words[0], "completion") == 0) {
                fputs("Usage: credvault completion bash|zsh|fish\n\n"
                      "Print the shell's completion script for credvault (installed by the build where\n"
                      "the shell looks; to try it: source <(credvault completion bash)).\n",
                      stdout);
                return 0;
        }
        for (size_t i = 0; i < cli_n_commands; i++) {
                const CliCommand *cmd = &cli_commands[i];
                if (strcmp(cmd->group, words[0]) != 0)
                        continue;
                group_known = true;
                if (n_words == 2 && cmd->verb && strcmp(cmd->verb, words[1]) == 0) {
                        command_help(cmd, stdout);
                        return 0;
                }
                if (!cmd->verb)
                        group_command = cmd;
        }
        if (!group_known)
                return cli_unknown_command(words, 1);
        /* "audit" is a command and a group: its own help, then its verbs. */
        if (n_words == 1 && group_command) {
                command_help(group_command, stdout);
                bool verbs = false;
                for (size_t i = 0; i < cli_n_commands; i++)
                        if (strcmp(cli_commands[i].group, words[0]) == 0 && cli_commands[i].verb) {
                                if (!verbs)
                                        fputs("\nMore commands:\n", stdout);
                                verbs = true;
                                cli_command_synopsis(&cli_commands[i], stdout);
                        }
                return 0;
        }
        if (n_words == 1) {
                group_help(words[0], stdout);
                return 0;
        }
        /* "status foo --help": a one-word command with an argument. */
        if (group_command) {
                command_help(group_command, stdout);
                return 0;
        }
        return cli_unknown_command(words, 2);
}
