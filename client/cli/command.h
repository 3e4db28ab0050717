/* command.h — the table of commands and options, and what is made of it.
 *
 * Owns: the shapes of the two tables (commands.c's commands: words,
 * arguments, options, help, exit statuses; options.c's command options:
 * name, argument, help, what completes their argument), and the functions that print help and
 * shell completion scripts from them (help.c, completion.c), so that help,
 * completion and the parser never disagree.
 * Never: a second list of commands or options anywhere. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* The exit statuses every command may end with besides 0, 1 and 2, when
 * it asks the daemon: denied, unreachable, rate limited. */
#define CLI_EXITS_DAEMON CLI_EXIT_DENIED, CLI_EXIT_UNREACHABLE, CLI_EXIT_RATE_LIMITED
#define CLI_EXITS_MAX 8

typedef struct CliCommand {
        const char *group;     /* first word: "plugin", "secret", ..., "status" */
        const char *verb;      /* second word; NULL for a one-word command */
        const char *arguments; /* for the help, with the command's options */
        const char *summary;
        size_t n_args_min, n_args_max;
        CliOption options; /* the CliOption bits it takes */
        CliCommandRun run;
        /* More for `COMMAND --help`, or NULL: a paragraph, lines of at
         * most 80 columns. */
        const char *help;
        /* The exit statuses besides 0, 1 and 2 (CLI_EXITS_DAEMON and the
         * command's own), 0-terminated. */
        uint8_t exits[CLI_EXITS_MAX];
} CliCommand;

/* What completes an option's argument or a positional argument. */
#define CLI_COMPLETE_FILE "@file"
#define CLI_COMPLETE_DIR "@dir"
#define CLI_COMPLETE_PLUGIN "@plugin"

typedef struct CliOptionInfo {
        CliOption bit;        /* 0 for a global option */
        const char *name;     /* "--expiring" */
        const char *argument; /* "DURATION", or NULL for none */
        const char *help;
        /* The argument's completion: NULL (none), CLI_COMPLETE_*, or its
         * words ("current previous pending"). */
        const char *complete;
} CliOptionInfo;

/* commands.c */
extern const CliCommand cli_commands[];
extern const size_t cli_n_commands;
/* options.c */
extern const CliOptionInfo cli_command_options[];
extern const size_t cli_n_command_options;

/* options.c: the global and command options of argv into cli. Returns 1
 * to go on with a command (*ret_help: --help was given, for the command's
 * help), 0 when done (--version), or a negative errno (a usage error,
 * printed). The words left start at argv[optind]. */
int cli_options_parse(Cli *cli, int argc, char **argv, bool *ret_help);

/* help.c: the global options, as --help shows them and completion offers
 * them. */
extern const CliOptionInfo cli_global_options[];
extern const size_t cli_n_global_options;

/* help.c: "credvault: MESSAGE" and where the help is, on stderr;
 * returns -EINVAL. */
int cli_usage_verror(const char *format, va_list ap) _printf_(1, 0);
/* The same with the arguments given here. */
int cli_usage_error(const char *format, ...) _printf_(1, 2);
/* The whole help: commands, options, syntaxes, exit statuses. */
void cli_usage(FILE *f);
/* Just the list of commands (bare `credvault`). */
void cli_usage_commands(FILE *f);
/* One command's synopsis line, as the list shows it. */
void cli_command_synopsis(const CliCommand *cmd, FILE *f);
/* `credvault help [WORDS]` and `credvault WORDS --help`: the help of the
 * command, or of the group, the words name; an unknown one is a usage
 * error with the nearest suggested. */
int cli_help_words(char **words, size_t n_words);
/* The unknown command words[0..n_words) (one or two words), refused with
 * the nearest command suggested: returns -EINVAL. */
int cli_unknown_command(char **words, size_t n_words);

/* completion.c: `credvault completion bash|zsh|fish`. */
int cli_completion_print(const char *shell);
