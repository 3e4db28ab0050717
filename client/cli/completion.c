/* completion.c — `credvault completion bash|zsh|fish`: the shell
 * completion scripts, made from the tables of commands.c and options.c.
 *
 * Owns: the three scripts (the build runs this command and installs its
 * output where each shell looks), each completing the commands, their
 * verbs, their options and the options' arguments, files where a FILE is
 * taken, and plugin names where a PLUGIN is, asked of the daemon with
 * `credvault plugin ls --names` (the --socket of the command line kept).
 * Never: a list of commands or options of its own; a script that fails
 * when the daemon is not there (no plugin names, then). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "command.h"

/* What the first positional argument of cmd is completed with: plugin
 * names where its synopsis starts with PLUGIN (or NAME, for the plugin
 * commands), files for a FILE, else nothing. */
static const char *positional_kind(const CliCommand *cmd) {
        const char *a = cmd->arguments;
        if (cmd->n_args_max == 0)
                return "";
        if (strncmp(a, "PLUGIN", 6) == 0 || (strcmp(cmd->group, "plugin") == 0 && strncmp(a, "NAME", 4) == 0))
                return CLI_COMPLETE_PLUGIN;
        if (strncmp(a, "FILE", 4) == 0)
                return CLI_COMPLETE_FILE;
        return "";
}

/* An option whose argument is a separate word ("--name NAME"), not one
 * joined by '=' only ("--generate[=BYTES]"). */
static bool option_takes_word(const CliOptionInfo *o) {
        return o->argument && o->argument[0] != '[';
}

/* f for each option of both tables, global options first. */
static void options_foreach(void (*f)(const CliOptionInfo *o, FILE *out), FILE *out) {
        for (size_t i = 0; i < cli_n_global_options; i++)
                f(&cli_global_options[i], out);
        for (size_t i = 0; i < cli_n_command_options; i++)
                f(&cli_command_options[i], out);
}

/* The groups, each once, in the table's order, and "help". */
static void groups_print(FILE *f) {
        for (size_t i = 0; i < cli_n_commands; i++) {
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = strcmp(cli_commands[j].group, cli_commands[i].group) == 0;
                if (!seen)
                        fprintf(f, "%s ", cli_commands[i].group);
        }
        fputs("help", f);
}

/* The verbs of the group of cli_commands[first] (its first command). */
static void verbs_print(size_t first, FILE *f) {
        const char *sep = "";
        for (size_t i = first; i < cli_n_commands; i++)
                if (strcmp(cli_commands[i].group, cli_commands[first].group) == 0 && cli_commands[i].verb) {
                        fprintf(f, "%s%s", sep, cli_commands[i].verb);
                        sep = " ";
                }
}

static bool group_first(size_t i) {
        for (size_t j = 0; j < i; j++)
                if (strcmp(cli_commands[j].group, cli_commands[i].group) == 0)
                        return false;
        return true;
}

static void command_options_print(const CliCommand *cmd, FILE *f) {
        for (size_t i = 0; i < cli_n_command_options; i++)
                if (cmd->options & cli_command_options[i].bit)
                        fprintf(f, " %s%s", cli_command_options[i].name,
                                cli_command_options[i].argument && !option_takes_word(&cli_command_options[i]) ? "="
                                                                                                               : "");
}

/* ---- bash ---- */

static void bash_argopt(const CliOptionInfo *o, FILE *f) {
        if (option_takes_word(o))
                fprintf(f, "%s ", o->name);
}

static void bash_value_case(const CliOptionInfo *o, FILE *f) {
        if (!o->complete)
                return;
        fprintf(f, "        %s)\n", o->name);
        if (strcmp(o->complete, CLI_COMPLETE_FILE) == 0)
                fputs("                COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n", f);
        else if (strcmp(o->complete, CLI_COMPLETE_DIR) == 0)
                fputs("                COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n", f);
        else if (strcmp(o->complete, CLI_COMPLETE_PLUGIN) == 0)
                fputs("                COMPREPLY=($(compgen -W \"$(_credvault_plugins)\" -- \"$cur\")) ;;\n", f);
        else
                fprintf(f, "                COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", o->complete);
}

static void bash_print(FILE *f) {
        fputs("# bash completion for credvault(1); made by `credvault completion bash`.\n"
              "\n"
              "# The daemon's plugin names, through the --socket of the command line.\n"
              "_credvault_plugins() {\n"
              "        local i socket=()\n"
              "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "                [[ ${COMP_WORDS[i]} == --socket ]] || continue\n"
              "                # --socket=PATH is three words to bash: --socket, =, PATH.\n"
              "                [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))\n"
              "                socket=(--socket \"${COMP_WORDS[i + 1]}\")\n"
              "        done\n"
              "        \"${COMP_WORDS[0]}\" \"${socket[@]}\" --timeout 2000 plugin ls --names 2>/dev/null\n"
              "}\n"
              "\n"
              "_credvault_verbs() {\n"
              "        case $1 in\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++)
                if (group_first(i)) {
                        fprintf(f, "        %s) echo \"", cli_commands[i].group);
                        verbs_print(i, f);
                        fputs("\" ;;\n", f);
                }
        fputs("        esac\n"
              "}\n"
              "\n"
              "_credvault() {\n"
              "        local cur=${COMP_WORDS[COMP_CWORD]} w i want_arg= group= verb= verbs opts kind= n\n"
              "        local argopts=\" ",
              f);
        options_foreach(bash_argopt, f);
        fputs("\"\n"
              "        local -a pos=()\n"
              "        COMPREPLY=()\n"
              "        # The words before the cursor: options (and their arguments; bash\n"
              "        # splits --opt=value into three words) apart from the command.\n"
              "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "                w=${COMP_WORDS[i]}\n"
              "                if [[ -n $want_arg ]]; then\n"
              "                        [[ $w == = ]] || want_arg=\n"
              "                elif [[ $w == = ]]; then\n"
              "                        want_arg=1\n"
              "                elif [[ $w == -* ]]; then\n"
              "                        [[ $argopts == *\" $w \"* ]] && want_arg=1\n"
              "                else\n"
              "                        pos+=(\"$w\")\n"
              "                fi\n"
              "        done\n"
              "        local opt=\n"
              "        if [[ $cur == = ]]; then\n"
              "                opt=${COMP_WORDS[COMP_CWORD - 1]} cur=\n"
              "        elif [[ -n $want_arg ]]; then\n"
              "                opt=${COMP_WORDS[COMP_CWORD - 1]}\n"
              "                [[ $opt == = ]] && opt=${COMP_WORDS[COMP_CWORD - 2]}\n"
              "        fi\n"
              "        if [[ -n $opt ]]; then\n"
              "                case $opt in\n",
              f);
        options_foreach(bash_value_case, f);
        fputs("                esac\n"
              "                return 0\n"
              "        fi\n"
              "        group=${pos[0]-}\n"
              "        verbs=$(_credvault_verbs \"$group\")\n"
              "        if [[ -n $verbs && ${#pos[@]} -ge 2 && \" $verbs \" == *\" ${pos[1]} \"* ]]; then\n"
              "                verb=${pos[1]} n=$((${#pos[@]} - 2))\n"
              "        else\n"
              "                n=$((${#pos[@]} - 1))\n"
              "        fi\n"
              "        opts=\"",
              f);
        for (size_t i = 0; i < cli_n_global_options; i++)
                fprintf(f, "%s%s", i ? " " : "", cli_global_options[i].name);
        fputs("\"\n"
              "        case $group/$verb in\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++) {
                const CliCommand *cmd = &cli_commands[i];
                fprintf(f, "        %s/%s) opts+=\"", cmd->group, cmd->verb ?: "");
                command_options_print(cmd, f);
                fprintf(f, "\" kind=%s ;;\n", positional_kind(cmd));
        }
        fputs("        esac\n"
              "        if [[ $cur == -* ]]; then\n"
              "                COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
              "                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null\n"
              "        elif [[ -z $group ]]; then\n"
              "                COMPREPLY=($(compgen -W \"",
              f);
        groups_print(f);
        fputs("\" -- \"$cur\"))\n"
              "        elif [[ $group == help ]]; then\n"
              "                if ((${#pos[@]} == 1)); then\n"
              "                        COMPREPLY=($(compgen -W \"",
              f);
        groups_print(f);
        fputs("\" -- \"$cur\"))\n"
              "                elif ((${#pos[@]} == 2)); then\n"
              "                        COMPREPLY=($(compgen -W \"$(_credvault_verbs \"${pos[1]}\")\" -- \"$cur\"))\n"
              "                fi\n"
              "        elif [[ -n $verbs && -z $verb && ${#pos[@]} -eq 1 ]]; then\n"
              "                COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n"
              "        elif ((n == 0)); then\n"
              "                case $kind in\n"
              "                @plugin) COMPREPLY=($(compgen -W \"$(_credvault_plugins)\" -- \"$cur\")) ;;\n"
              "                @file) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
              "                esac\n"
              "        fi\n"
              "        return 0\n"
              "}\n"
              "\n"
              "complete -F _credvault credvault\n",
              f);
}

/* ---- zsh ---- */

static void zsh_value_case(const CliOptionInfo *o, FILE *f) {
        if (!o->complete)
                return;
        fprintf(f, "                %s)\n", o->name);
        if (strcmp(o->complete, CLI_COMPLETE_FILE) == 0)
                fputs("                        _files -P \"$prefix\" ;;\n", f);
        else if (strcmp(o->complete, CLI_COMPLETE_DIR) == 0)
                fputs("                        _files -/ -P \"$prefix\" ;;\n", f);
        else if (strcmp(o->complete, CLI_COMPLETE_PLUGIN) == 0)
                fputs("                        compadd -P \"$prefix\" -- ${(f)\"$(_credvault_plugins)\"} ;;\n", f);
        else
                fprintf(f, "                        compadd -P \"$prefix\" -- %s ;;\n", o->complete);
}

static void zsh_print(FILE *f) {
        fputs("#compdef credvault\n"
              "# zsh completion for credvault(1); made by `credvault completion zsh`.\n"
              "\n"
              "# The daemon's plugin names, through the --socket of the command line.\n"
              "_credvault_plugins() {\n"
              "        local i\n"
              "        local -a socket\n"
              "        for ((i = 2; i < CURRENT; i++)); do\n"
              "                [[ ${words[i]} == --socket ]] && socket=(--socket ${words[i + 1]})\n"
              "                [[ ${words[i]} == --socket=* ]] && socket=(${words[i]})\n"
              "        done\n"
              "        ${words[1]} $socket --timeout 2000 plugin ls --names 2>/dev/null\n"
              "}\n"
              "\n"
              "_credvault_verbs() {\n"
              "        case $1 in\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++)
                if (group_first(i)) {
                        fprintf(f, "        %s) print -r -- \"", cli_commands[i].group);
                        verbs_print(i, f);
                        fputs("\" ;;\n", f);
                }
        fputs("        esac\n"
              "}\n"
              "\n"
              "_credvault() {\n"
              "        local cur=${words[CURRENT]} w i want_arg= group= verb= verbs opts kind= n opt= prefix=\n"
              "        local argopts=\" ",
              f);
        options_foreach(bash_argopt, f);
        fputs("\"\n"
              "        local -a pos\n"
              "        for ((i = 2; i < CURRENT; i++)); do\n"
              "                w=${words[i]}\n"
              "                if [[ -n $want_arg ]]; then\n"
              "                        want_arg=\n"
              "                elif [[ $w == -*=* ]]; then\n"
              "                        :\n"
              "                elif [[ $w == -* ]]; then\n"
              "                        [[ $argopts == *\" $w \"* ]] && want_arg=1\n"
              "                else\n"
              "                        pos+=($w)\n"
              "                fi\n"
              "        done\n"
              "        if [[ $cur == --*=* ]]; then\n"
              "                opt=${cur%%=*} prefix=\"${cur%%=*}=\"\n"
              "        elif [[ -n $want_arg ]]; then\n"
              "                opt=${words[CURRENT - 1]}\n"
              "        fi\n"
              "        if [[ -n $opt ]]; then\n"
              "                [[ -n $prefix ]] && PREFIX=${PREFIX#*=} && IPREFIX=\"$IPREFIX$prefix\" && prefix=\n"
              "                case $opt in\n",
              f);
        options_foreach(zsh_value_case, f);
        fputs("                esac\n"
              "                return 0\n"
              "        fi\n"
              "        group=${pos[1]}\n"
              "        verbs=$(_credvault_verbs $group)\n"
              "        if [[ -n $verbs && ${#pos} -ge 2 && \" $verbs \" == *\" ${pos[2]} \"* ]]; then\n"
              "                verb=${pos[2]} n=$((${#pos} - 2))\n"
              "        else\n"
              "                n=$((${#pos} - 1))\n"
              "        fi\n"
              "        opts=\"",
              f);
        for (size_t i = 0; i < cli_n_global_options; i++)
                fprintf(f, "%s%s", i ? " " : "", cli_global_options[i].name);
        fputs("\"\n"
              "        case $group/$verb in\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++) {
                const CliCommand *cmd = &cli_commands[i];
                fprintf(f, "        %s/%s) opts+=\"", cmd->group, cmd->verb ?: "");
                command_options_print(cmd, f);
                fprintf(f, "\" kind=%s ;;\n", positional_kind(cmd));
        }
        fputs("        esac\n"
              "        if [[ $cur == -* ]]; then\n"
              "                compadd -- ${=opts}\n"
              "        elif [[ -z $group ]]; then\n"
              "                compadd -- ",
              f);
        groups_print(f);
        fputs("\n"
              "        elif [[ $group == help ]]; then\n"
              "                if ((${#pos} == 1)); then\n"
              "                        compadd -- ",
              f);
        groups_print(f);
        fputs("\n"
              "                elif ((${#pos} == 2)); then\n"
              "                        compadd -- ${=$(_credvault_verbs ${pos[2]})}\n"
              "                fi\n"
              "        elif [[ -n $verbs && -z $verb && ${#pos} -eq 1 ]]; then\n"
              "                compadd -- ${=verbs}\n"
              "        elif ((n == 0)); then\n"
              "                case $kind in\n"
              "                @plugin) compadd -- ${(f)\"$(_credvault_plugins)\"} ;;\n"
              "                @file) _files ;;\n"
              "                esac\n"
              "        fi\n"
              "        return 0\n"
              "}\n"
              "\n"
              "# Autoloaded from $fpath: complete; sourced: register.\n"
              "if [[ ${funcstack[1]-} == _credvault ]]; then\n"
              "        _credvault \"$@\"\n"
              "else\n"
              "        compdef _credvault credvault\n"
              "fi\n",
              f);
}

/* ---- fish ---- */

/* s in single quotes for fish: \ and ' escaped. */
static void fish_quote(const char *s, FILE *f) {
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('\'', f);
}

/* One option's `complete` line, under condition (NULL: always). */
static void fish_option(const CliOptionInfo *o, const char *condition, FILE *f) {
        fputs("complete -c credvault", f);
        if (condition) {
                fputs(" -n ", f);
                fish_quote(condition, f);
        }
        fprintf(f, " -l %s", o->name + 2);
        if (strcmp(o->name, "--help") == 0)
                fputs(" -s h", f);
        if (option_takes_word(o)) {
                if (!o->complete)
                        fputs(" -x", f);
                else if (strcmp(o->complete, CLI_COMPLETE_FILE) == 0 || strcmp(o->complete, CLI_COMPLETE_DIR) == 0)
                        fputs(" -r -F", f);
                else if (strcmp(o->complete, CLI_COMPLETE_PLUGIN) == 0)
                        fputs(" -x -a '(__credvault_plugins)'", f);
                else {
                        fputs(" -x -a ", f);
                        fish_quote(o->complete, f);
                }
        }
        fputs(" -d ", f);
        fish_quote(o->help, f);
        fputc('\n', f);
}

static void fish_print(FILE *f) {
        char condition[160];

        fputs("# fish completion for credvault(1); made by `credvault completion fish`.\n"
              "\n"
              "# The words of the command line that are not options nor their arguments.\n"
              "function __credvault_pos\n"
              "    set -l argopts",
              f);
        for (size_t i = 0; i < cli_n_global_options; i++)
                if (option_takes_word(&cli_global_options[i]))
                        fprintf(f, " %s", cli_global_options[i].name);
        for (size_t i = 0; i < cli_n_command_options; i++)
                if (option_takes_word(&cli_command_options[i]))
                        fprintf(f, " %s", cli_command_options[i].name);
        fputs("\n"
              "    set -l want\n"
              "    for w in (commandline -opc)[2..-1]\n"
              "        if test -n \"$want\"\n"
              "            set want\n"
              "        else if string match -q -- '-*=*' $w\n"
              "        else if string match -q -- '-*' $w\n"
              "            contains -- $w $argopts; and set want 1\n"
              "        else\n"
              "            echo $w\n"
              "        end\n"
              "    end\n"
              "end\n"
              "\n"
              "function __credvault_verbs\n"
              "    switch $argv[1]\n",
              f);
        for (size_t i = 0; i < cli_n_commands; i++)
                if (group_first(i)) {
                        fprintf(f, "        case %s\n            echo ", cli_commands[i].group);
                        verbs_print(i, f);
                        fputc('\n', f);
                }
        fputs("    end\n"
              "end\n"
              "\n"
              "# Whether the command line is GROUP [VERB] and, with a third argument,\n"
              "# has that many positional arguments after it.\n"
              "function __credvault_is\n"
              "    set -l pos (__credvault_pos)\n"
              "    test \"$pos[1]\" = $argv[1]; or return 1\n"
              "    set -l verbs (string split ' ' -- (__credvault_verbs $argv[1]))\n"
              "    set -l n_words 1\n"
              "    if test -n \"$argv[2]\"\n"
              "        test \"$pos[2]\" = $argv[2]; or return 1\n"
              "        set n_words 2\n"
              "    else if test (count $pos) -ge 2; and contains -- $pos[2] $verbs\n"
              "        return 1\n"
              "    end\n"
              "    test (count $argv) -lt 3; or test (math (count $pos) - $n_words) -eq $argv[3]\n"
              "end\n"
              "\n"
              "function __credvault_plugins\n"
              "    set -l socket\n"
              "    set -l tokens (commandline -opc)\n"
              "    set -l i (contains -i -- --socket $tokens); and set socket --socket $tokens[(math $i + 1)]\n"
              "    set -l given (string match -- '--socket=*' $tokens); and set socket $given[1]\n"
              "    $tokens[1] $socket --timeout 2000 plugin ls --names 2>/dev/null\n"
              "end\n"
              "\n"
              "complete -c credvault -f\n"
              "complete -c credvault -n 'test (count (__credvault_pos)) -eq 0' -a ",
              f);
        fputc('\'', f);
        groups_print(f);
        fputs("'\n"
              "complete -c credvault -n 'test (count (__credvault_pos)) -eq 1; and test (__credvault_pos) = help' -a '",
              f);
        groups_print(f);
        fputs("'\n", f);
        for (size_t i = 0; i < cli_n_commands; i++) {
                const CliCommand *cmd = &cli_commands[i];
                if (group_first(i)) {
                        /* The verbs, right after the group (and after help GROUP). */
                        fprintf(f,
                                "complete -c credvault -n 'test (count (__credvault_pos)) -eq 1; and __credvault_is "
                                "%s \"\"' -a '",
                                cmd->group);
                        verbs_print(i, f);
                        fputs("'\n", f);
                        fprintf(f,
                                "complete -c credvault -n 'set -l p (__credvault_pos); test (count $p) -eq 2; and "
                                "test $p[1] = help; and test $p[2] = %s' -a '",
                                cmd->group);
                        verbs_print(i, f);
                        fputs("'\n", f);
                }
                snprintf(condition, sizeof(condition), "__credvault_is %s '%s'", cmd->group, cmd->verb ?: "");
                for (size_t j = 0; j < cli_n_command_options; j++)
                        if (cmd->options & cli_command_options[j].bit)
                                fish_option(&cli_command_options[j], condition, f);
                const char *kind = positional_kind(cmd);
                if (*kind) {
                        snprintf(condition, sizeof(condition), "__credvault_is %s '%s' 0", cmd->group, cmd->verb ?: "");
                        fputs("complete -c credvault -n ", f);
                        fish_quote(condition, f);
                        fputs(strcmp(kind, CLI_COMPLETE_PLUGIN) == 0 ? " -x -a '(__credvault_plugins)'\n" : " -F\n", f);
                }
        }
        for (size_t i = 0; i < cli_n_global_options; i++)
                fish_option(&cli_global_options[i], NULL, f);
}

int cli_completion_print(const char *shell) {
        if (strcmp(shell, "bash") == 0)
                bash_print(stdout);
        else if (strcmp(shell, "zsh") == 0)
                zsh_print(stdout);
        else if (strcmp(shell, "fish") == 0)
                fish_print(stdout);
        else
                return cli_error(-EINVAL, "completion: '%s' is not bash, zsh or fish", shell);
        return 0;
}
