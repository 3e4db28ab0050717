#!/usr/bin/env bash
# test-completion.sh SHELL — the completion script `credvault completion
# SHELL` prints (and the build installs), run through SHELL, under
# cv-harness (a daemon for the plugin names).
#
# bash: sourced, `complete -p credvault` registered, and _credvault called
# as bash calls it (COMP_WORDS, COMP_CWORD) for commands, verbs, options,
# option values (also "--newline=" which bash splits at '='), help's words
# and plugin names asked of the daemon (through --socket too). zsh: the
# function called with words/CURRENT and compadd/_files stubbed (a real
# zle needs a terminal), the same cases. fish: `complete -C`. A shell that
# is not installed is skipped (exit 77) with the reason; the build's copy
# of the script is compared with the command's output where given.
set -euo pipefail

SH=${1:?usage: test-completion.sh bash|zsh|fish}
CLI=${CREDVAULT_CLI:?CREDVAULT_CLI is not set (run through meson test)}
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"

if ! command -v "$SH" >/dev/null; then
        echo "SKIP: $SH is not installed (scripts/deps.sh installs it)"
        exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/test-completion.XXXXXX")
trap 'rm -rf "$T"' EXIT
# The scripts call `credvault` as typed: the one of this build.
mkdir "$T/bin"
ln -s "$CLI" "$T/bin/credvault"
export PATH="$T/bin:$PATH"

n_checks=0
fail() {
        echo "FAIL: $SH: $*" >&2
        exit 1
}

"$CLI" completion "$SH" >"$T/script" || fail "credvault completion $SH"
if [[ -n ${CV_COMPLETION_DIR-} ]]; then
        case $SH in
        bash) built=$CV_COMPLETION_DIR/credvault ;;
        zsh) built=$CV_COMPLETION_DIR/_credvault ;;
        fish) built=$CV_COMPLETION_DIR/credvault.fish ;;
        esac
        cmp -s "$built" "$T/script" || fail "the build's $built differs from 'credvault completion $SH'"
        n_checks=$((n_checks + 1))
fi

# Plugins for the names to complete.
printf '%s' '{"type":"none"}' | credvault plugin add - --name todo-app >/dev/null
printf '%s' '{"type":"none"}' | credvault plugin add - --name weather >/dev/null
[[ $(credvault plugin ls --names) == $'todo-app\nweather' ]] || fail "plugin ls --names: $(credvault plugin ls --names)"
[[ -z $(credvault --socket "$T/none" plugin ls --names 2>/dev/null) ]] || fail "plugin ls --names without a daemon"
: >"$T/policy-file.json"

# complete WORDS... : the candidates for the last word, one a line, sorted.
case $SH in
bash)
        complete() {
                bash -c '
                        source "$1"; shift
                        complete -p credvault >/dev/null || exit 3
                        COMP_WORDS=(credvault "$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                        COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
                        _credvault credvault "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                        printf "%s\n" "${COMPREPLY[@]}"' bash "$T/script" "$@" | sort
        }
        [[ $(bash -c 'source "$1"; complete -p credvault' bash "$T/script") == "complete -F _credvault credvault" ]] ||
                fail "complete -p credvault after sourcing"
        n_checks=$((n_checks + 1))
        ;;
zsh)
        # compadd stubbed: prints what it is given, filtered by the typed
        # prefix as zsh would; _files: the files of the directory.
        complete() {
                zsh -f -c '
                        compadd() {
                                local -a w; local p=
                                while [[ $1 == -* && $1 != -- ]]; do
                                        [[ $1 == -P ]] && { p=$2; shift; }
                                        shift
                                done
                                [[ $1 == -- ]] && shift
                                for w in "$@"; do [[ $w == ${PREFIX}* ]] && print -r -- "$w"; done
                        }
                        _files() { compadd -- *(N); }
                        compdef() { :; }
                        source "$1"; shift
                        words=(credvault "$@"); CURRENT=${#words}
                        PREFIX=${words[CURRENT]} IPREFIX=
                        _credvault' zsh "$T/script" "$@" | sort
        }
        [[ $(zsh -f -c 'compdef() { print -r -- "compdef $*"; }; source "$1"' zsh "$T/script") == \
                "compdef _credvault credvault" ]] || fail "sourcing registers _credvault with compdef"
        n_checks=$((n_checks + 1))
        ;;
fish)
        complete() {
                local line="credvault"
                for w in "$@"; do line+=" $w"; done
                fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$T/script" "$line" | cut -f1 | sort
        }
        ;;
*)
        fail "no such shell"
        ;;
esac

# expect WHAT WANT WORDS...: the candidates are exactly WANT (words).
expect() {
        local what=$1 want
        want=$(printf '%s\n' $2 | sort)
        shift 2
        local got
        got=$(cd "$T" && complete "$@") || fail "$what: the completion failed"
        [[ $got == "$want" ]] || fail "$what: got [$(echo $got)], expected [$(echo $want)]"
        n_checks=$((n_checks + 1))
}
# expect_has WHAT WORD WORDS...: WORD is among the candidates.
expect_has() {
        local what=$1 word=$2
        shift 2
        local got
        got=$(cd "$T" && complete "$@") || fail "$what: the completion failed"
        grep -qxF -- "$word" <<<"$got" || fail "$what: [$(echo $got)] lacks '$word'"
        n_checks=$((n_checks + 1))
}

expect "a group" "secret" sec
expect_has "all groups" plugin ""
expect_has "all groups: help" help ""
expect "verbs" "generate get" secret ge
expect "a verb" "put" secret pu
expect "verbs of a group that is a command too" "prune verify" audit ""
expect "options of a command" "--no-confirm" secret put --no
expect "option values" "current pending previous" secret get --stage ""
expect "plugin names" "todo-app weather" secret get ""
expect "plugin names by prefix" "todo-app" secret get to
expect "plugin names through --socket" "todo-app" --socket "$CREDVAULT_SOCKET" secret put to
expect "plugin names of plugin show" "weather" plugin show we
expect "nothing after the plugin" "" secret get todo-app ""
expect "help's words" "secret" help sec
expect "help's verbs" "rm rotate" help secret r
expect "a FILE" "policy-file.json" policy check pol
expect "--plugin of audit" "weather" audit --plugin we
expect "global options" "--socket" --soc
case $SH in
bash)
        # bash splits "--newline=al" at '='.
        expect "--newline=" "always" secret get p n --newline = al
        expect "--newline value" "auto" secret get p n --newline au
        ;;
zsh | fish)
        expect "--newline value" "auto" secret get p n --newline au
        ;;
esac
expect "no plugins without a daemon" "" --socket "$T/none" secret get ""
if [[ $SH == bash ]]; then
        expect "no plugins without a daemon: --socket=" "" --socket = "$T/none" secret get ""
        expect "plugin names through --socket=" "todo-app" --socket = "$CREDVAULT_SOCKET" secret get to
else
        expect "no plugins without a daemon: --socket=" "" --socket="$T/none" secret get ""
        expect "plugin names through --socket=" "todo-app" --socket="$CREDVAULT_SOCKET" secret get to
fi

echo "ok: $SH: $n_checks checks"
