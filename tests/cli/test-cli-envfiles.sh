#!/usr/bin/env bash
# test-cli-envfiles.sh — credvault import and credvault run end to end,
# under cv-harness (a fresh credvaultd, CREDVAULT_SOCKET set).
#
# import: a 50-line env file with every form of the syntax, each secret
# read back with `secret get` and compared byte for byte; names printed,
# never values; --dry-run and every broken file store nothing; stdin.
# run: the command sees exactly those bytes in its environment, --map,
# names that are not variable names, clashes across plugins, the vault's
# value over an inherited one, the command's exit status passed through,
# 127 and 126 as a shell gives them. Only bash, coreutils and cmp.
set -euo pipefail

CLI=${CREDVAULT_CLI:?CREDVAULT_CLI is not set (run through meson test)}
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/test-cli-envfiles.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir "$T/want" "$T/got"

n_checks=0
fail() {
        echo "FAIL: $*" >&2
        echo "--- stdout:" >&2
        head -c 1000 "$T/out" >&2 || true
        echo "--- stderr:" >&2
        head -c 1000 "$T/err" >&2 || true
        exit 1
}
pass() {
        n_checks=$((n_checks + 1))
}
# expect WHAT RC INPUT ARG...: run the CLI with stdin from INPUT, check
# its exit status; output in $T/out and $T/err.
expect() {
        local what=$1 want=$2 input=$3
        shift 3
        rc=0
        "$CLI" "$@" <"$input" >"$T/out" 2>"$T/err" || rc=$?
        [[ $rc -eq $want ]] || fail "$what: exit status $rc, expected $want"
        pass
}
out_has() {
        grep -qF -- "$2" "$T/out" || fail "$1: stdout lacks '$2'"
        pass
}
err_has() {
        grep -qF -- "$2" "$T/err" || fail "$1: stderr lacks '$2'"
        pass
}
out_is() {
        printf '%s\n' "$2" | cmp -s - "$T/out" || fail "$1: stdout is not exactly '$2'"
        pass
}
# No value (the canary in every secret below) on stdout or stderr.
no_value_shown() {
        ! grep -qF CANARY "$T/out" "$T/err" || fail "$1: a value was printed"
        pass
}
E=/dev/null

# ---- the env file: 50 lines, every form, each value's bytes in want/ ----
F=$T/app.env
: >"$F"
line() { printf '%s\n' "$1" >>"$F"; }
want() { printf -- "$2" >"$T/want/$1"; } # NAME PRINTF-FORMAT (escapes meant)
line '# every form of the env file syntax; CANARY in each value'
line ''
line 'export CLIENT_SECRET=cs-CANARY-0123456789abcdef'
want CLIENT_SECRET 'cs-CANARY-0123456789abcdef'
line $'export\tTAB_EXPORT=CANARY-tab-after-export'
want TAB_EXPORT 'CANARY-tab-after-export'
line 'PLAIN=CANARY-plain'
want PLAIN 'CANARY-plain'
line $'TRAILING_WS=CANARY with trailing blanks  \t '
want TRAILING_WS 'CANARY with trailing blanks'
line 'INLINE_COMMENT=CANARY-before # a comment'
want INLINE_COMMENT 'CANARY-before'
line 'HASH_INSIDE=CANARY#not-a-comment'
want HASH_INSIDE 'CANARY#not-a-comment'
line 'HASH_FIRST=#CANARY'
want HASH_FIRST '#CANARY'
line 'EMPTY='
want EMPTY ''
line 'EMPTY_COMMENT= # only a comment'
want EMPTY_COMMENT ''
line '   INDENTED=CANARY-indented'
want INDENTED 'CANARY-indented'
line 'SPACED = CANARY around equals'
want SPACED 'CANARY around equals'
line 'URL=https://example.com/cb?CANARY=1&b=2'
want URL 'https://example.com/cb?CANARY=1&b=2'
line 'DOLLAR=CANARY $HOME ${PATH} $$'
want DOLLAR 'CANARY $HOME ${PATH} $$'
line 'BACKSLASH=CANARY\path\n'
want BACKSLASH 'CANARY\\path\\n'
line "SQ='CANARY # not a comment \\n \$HOME \"dq\"'"
want SQ 'CANARY # not a comment \\n $HOME "dq"'
line "SQ_BLANKS='  CANARY padded  '"
want SQ_BLANKS '  CANARY padded  '
line "SQ_EMPTY=''"
want SQ_EMPTY ''
line "SQ_COMMENT='CANARY-sq' # a comment"
want SQ_COMMENT 'CANARY-sq'
line "SQ_MULTI='CANARY first"
line "second'"
want SQ_MULTI 'CANARY first\nsecond'
line 'DQ="CANARY double quoted"'
want DQ 'CANARY double quoted'
line 'DQ_ESCAPES="CANARY\ttab\nnewline \"quoted\" back\\slash\rcr"'
want DQ_ESCAPES 'CANARY\ttab\nnewline "quoted" back\\slash\rcr'
line 'DQ_HASH="# CANARY inside" # outside'
want DQ_HASH '# CANARY inside'
line "DQ_SQ=\"CANARY it's\""
want DQ_SQ "CANARY it's"
line 'DQ_EMPTY=""'
want DQ_EMPTY ''
line 'PEM="-----BEGIN PRIVATE KEY-----'
line 'MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEACANARY'
line 'q7BFUHkmDeMm0SavTXcsx/FkvhcdZvBEupCT6YGp2hjrwd+O'
line '-----END PRIVATE KEY-----'
line '"'
want PEM '-----BEGIN PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEACANARY\n'
printf 'q7BFUHkmDeMm0SavTXcsx/FkvhcdZvBEupCT6YGp2hjrwd+O\n-----END PRIVATE KEY-----\n' >>"$T/want/PEM"
line '# a comment between'
line ''
line 'db.password=CANARY-dotted-name'
want db.password 'CANARY-dotted-name'
line 'lower_case=CANARY-lower'
want lower_case 'CANARY-lower'
line 'UNICODE=CANARY héllo wörld ✓'
want UNICODE 'CANARY héllo wörld ✓'
line 'EQUALS=CANARY=b=c'
want EQUALS 'CANARY=b=c'
line "QUOTE_INSIDE=CANARY it's \"fine\""
want QUOTE_INSIDE "CANARY it's \"fine\""
line 'LEADING_WS=    CANARY-trimmed-start'
want LEADING_WS 'CANARY-trimmed-start'
line 'export   SPACED_EXPORT = CANARY-both'
want SPACED_EXPORT 'CANARY-both'
line 'JSON={"k":"CANARY","n":[1,2]}'
want JSON '{"k":"CANARY","n":[1,2]}'
line "JSON_SQ='{\"k\": \"CANARY\"}'"
want JSON_SQ '{"k": "CANARY"}'
line 'BASE64=Q0FOQVJZ=='
printf 'Q0FOQVJZ==' >"$T/want/BASE64" # CANARY in base64: the canary check cannot see it
long="CANARY$(head -c 300 /dev/zero | tr '\0' x)"
line "LONG=$long"
want LONG "$long"
printf 'CRLF=CANARY-crlf\r\n' >>"$F"
want CRLF 'CANARY-crlf'
printf 'CRLF_DQ="CANARY-crlf-dq"\r\n' >>"$F"
want CRLF_DQ 'CANARY-crlf-dq'
line '    # an indented comment'
line 'DIGITS_2=CANARY-2'
want DIGITS_2 'CANARY-2'
printf 'LAST=CANARY no final newline' >>"$F"
want LAST 'CANARY no final newline'
[[ $(wc -l <"$F") -eq 49 ]] || fail "the env file has $(($(wc -l <"$F") + 1)) lines, not 50"
pass
names=$(cd "$T/want" && ls)
n_names=$(wc -w <<<"$names")

# ---- help and usage ----
expect "--help" 0 $E --help
out_has "--help lists import" "import PLUGIN FILE|- [--dry-run]"
out_has "--help lists run" "run [--plugin P]... [--secret P/NAME]... [--map [P/]NAME=VAR]... -- COMMAND [ARG]..."
out_has "--help: 127" "127 run: no such COMMAND"
expect "import: one argument" 2 $E import app
expect "import: --map" 2 $E import app "$F" --map A=B
expect "run: --dry-run" 2 $E run --plugin app --dry-run -- true
expect "run: no command" 2 $E run --plugin app --
expect "run: no '--'" 2 $E run --plugin app true
err_has "run: no '--': says so" "put the command after '--'"
expect "run: the command before '--'" 2 $E run --plugin app true -- x
expect "run: no secret chosen" 2 $E run -- true
err_has "run: no secret chosen: says how" "--plugin P or --secret P/NAME"
expect "run: --secret without a plugin" 2 $E run --secret NAME -- true
for bad in A =B A= A=1B A=B-C /A=B app/=B; do
        expect "run: --map '$bad'" 2 $E --socket /nonexistent/sock run --plugin app --map "$bad" -- true
done

# ---- import ----
expect "import --dry-run" 0 $E import app "$F" --dry-run
[[ $(wc -l <"$T/out") -eq $n_names ]] || fail "import --dry-run: not one line a secret"
pass
out_has "import --dry-run: says what" "would import app/CLIENT_SECRET (new)"
no_value_shown "import --dry-run"
expect "secret ls after --dry-run" 0 $E --json secret ls app
out_is "import --dry-run stored nothing" "[]"
expect "import --dry-run --json" 0 $E --json import app "$F" --dry-run
out_has "import --dry-run --json" '{"plugin":"app","dry_run":true,"secrets":[{"name":"CLIENT_SECRET","line":3,"status":"new","version":null}'
no_value_shown "import --dry-run --json"

expect "import" 0 $E import app "$F"
[[ $(wc -l <"$T/out") -eq $n_names ]] || fail "import: not one line a secret"
pass
for n in $names; do
        out_has "import: names $n" "imported app/$n (new)"
done
no_value_shown "import"
for n in $names; do
        expect "secret get $n" 0 $E secret get app "$n"
        cmp -s "$T/out" "$T/want/$n" ||
                fail "import: $n is $(od -An -c "$T/out" | head -n 3), expected $(od -An -c "$T/want/$n" | head -n 3)"
        pass
done
expect "import again" 0 $E --json import app "$F"
out_has "import again: replaced, version 2" '{"name":"CLIENT_SECRET","line":3,"status":"replaced","version":2}'
out_has "import again: the last line" '{"name":"LAST","line":50,"status":"replaced","version":2}'
no_value_shown "import --json"

expect "import from stdin" 0 "$F" import stdin-app -
out_has "import from stdin" "imported stdin-app/PEM (new)"
expect "secret get from the stdin import" 0 $E secret get stdin-app PEM
cmp -s "$T/out" "$T/want/PEM" || fail "import from stdin: PEM differs"
pass

# ---- broken files store nothing ----
# broken WHAT LINE MESSAGE: import $T/broken.env into a fresh plugin: exit
# status 2, FILE:LINE and MESSAGE on stderr, no value shown, nothing stored.
n_broken=0
broken() {
        n_broken=$((n_broken + 1))
        expect "broken: $1" 2 $E import "broken$n_broken" "$T/broken.env"
        err_has "broken: $1: where" "$T/broken.env:$2: "
        err_has "broken: $1: why" "$3"
        err_has "broken: $1: nothing stored" "nothing stored"
        no_value_shown "broken: $1"
        expect "broken: $1: secret ls" 0 $E --json secret ls "broken$n_broken"
        out_is "broken: $1: nothing stored" "[]"
}
head -n 34 "$F" >"$T/broken.env"
printf 'sk_live_CANARY_a_value_alone\nMORE=CANARY\n' >>"$T/broken.env"
broken "a line without =" 35 "no '=' after the name"
head -n 34 "$F" >"$T/broken.env"
printf "OPEN='CANARY never closed\nMORE=CANARY\n" >>"$T/broken.env"
broken "an unterminated quote" 35 "unterminated single quote"
{ cat "$F"; printf '\nPLAIN=CANARY-again\n'; } >"$T/broken.env"
broken "a name set twice" 51 "PLAIN is set again (first on line 5)"
printf 'A=1\nB/C=CANARY\n' >"$T/broken.env"
broken "a name the daemon refuses" 2 "not a secret name"
printf 'A="CANARY \\q"\n' >"$T/broken.env"
broken "an unknown escape" 1 "unknown escape"
printf 'A="CANARY" trailing\n' >"$T/broken.env"
broken "text after a quote" 1 "text after the closing quote"
printf 'A=1\nBIG=%s\n' "$(head -c 32769 /dev/zero | tr '\0' x)" >"$T/broken.env"
broken "a value over the limit" 2 "the value of BIG is over 32768 bytes"
printf 'A=1\nB=CANARY\0\n' >"$T/broken.env"
broken "a NUL byte" 2 "NUL byte"
printf '# only comments\n\n' >"$T/broken.env"
expect "broken: no NAME=VALUE" 2 $E import broken-empty "$T/broken.env"
err_has "broken: no NAME=VALUE" "has no NAME=VALUE line; nothing stored"
expect "import: no such file" 2 $E import app "$T/no-such.env"
err_has "import: no such file" "cannot read $T/no-such.env"
printf 'A=1\nB\n' >"$T/broken.env"
expect "broken on stdin" 2 "$T/broken.env" import broken-stdin -
err_has "broken on stdin: where" "stdin:2: "
printf 'MAX=%s\n' "$(head -c 32768 /dev/zero | tr '\0' x)" >"$T/max.env"
expect "import a value of the limit" 0 $E import max "$T/max.env"
expect "import: no daemon" 5 $E --socket /nonexistent/sock import app "$F"

# ---- run ----
D_MAP=(--map app/db.password=DB_PASSWORD)
expect "run: a name that is not a variable name" 2 $E run --plugin app -- true
err_has "run: says which and how" "app/db.password: 'db.password' is not a variable name; name it with --map app/db.password=VAR"
vars=${names/db.password/DB_PASSWORD}
expect "run: the command checks its environment" 0 $E run --plugin app "${D_MAP[@]}" -- \
        sh -c 'test "$CLIENT_SECRET" = cs-CANARY-0123456789abcdef && test "$SQ_MULTI" = "CANARY first
second" && test "$EMPTY" = "" && test "${EMPTY+set}" = set && test "$DB_PASSWORD" = CANARY-dotted-name'
expect "run: every value byte for byte" 0 $E run --plugin app "${D_MAP[@]}" -- \
        sh -c 'd=$1; shift; for n; do printenv "$n" >"$d/$n" || exit 9; done' sh "$T/got" $vars
for n in $names; do
        v=$n
        [[ $n == db.password ]] && v=DB_PASSWORD
        { cat "$T/want/$n"; echo; } | cmp -s - "$T/got/$v" || fail "run: \$$v differs from the secret $n"
        pass
done
no_value_shown "run"
expect "run: the command's exit status" 42 $E run --secret app/PLAIN -- sh -c 'exit 42'
expect "run: the command's own options are its own" 0 $E run --secret app/PLAIN -- sh -c 'test "$1" = --json' sh --json
expect "run: stdin and stdout are the command's" 0 "$F" run --secret app/PLAIN -- cat
cmp -s "$F" "$T/out" || fail "run: cat did not copy stdin to stdout"
pass
expect "run: no such command" 127 $E run --secret app/PLAIN -- no-such-command-xyz
err_has "run: no such command" "no-such-command-xyz: command not found"
expect "run: no such path" 127 $E run --secret app/PLAIN -- "$T/no-such-program"
printf '#!/bin/sh\nexit 0\n' >"$T/not-executable"
chmod 0644 "$T/not-executable"
expect "run: not executable" 126 $E run --secret app/PLAIN -- "$T/not-executable"
err_has "run: not executable: says why" "cannot run $T/not-executable"
expect "run: core dumps stay off" 0 $E run --secret app/PLAIN -- sh -c 'test "$(ulimit -c)" = 0'
expect "run: the vault's value over the inherited one" 0 $E run --secret app/PLAIN -- \
        sh -c 'test "$PLAIN" = CANARY-plain && test "$(env | grep -c "^PLAIN=")" = 1'
rc=0
PLAIN=inherited "$CLI" run --secret app/PLAIN -- sh -c 'test "$PLAIN" = CANARY-plain' </dev/null || rc=$?
[[ $rc -eq 0 ]] || fail "run: an inherited PLAIN was not replaced (exit status $rc)"
pass
rc=0
UNRELATED=kept "$CLI" run --secret app/PLAIN -- sh -c 'test "$UNRELATED" = kept' </dev/null || rc=$?
[[ $rc -eq 0 ]] || fail "run: the rest of the environment was not passed on"
pass

# --map, and clashes across plugins.
printf 'CANARY-other' | "$CLI" secret put other CLIENT_SECRET >/dev/null
printf 'CANARY-other-2' | "$CLI" secret put other OTHER_ONLY >/dev/null
expect "run: two plugins with one name" 2 $E run --plugin app --plugin other "${D_MAP[@]}" -- true
err_has "run: a clash names both" "app/CLIENT_SECRET and other/CLIENT_SECRET would both be \$CLIENT_SECRET"
no_value_shown "run: a clash"
expect "run: a clash mapped away" 0 $E run --plugin app --plugin other "${D_MAP[@]}" \
        --map other/CLIENT_SECRET=OTHER_SECRET -- \
        sh -c 'test "$CLIENT_SECRET" = cs-CANARY-0123456789abcdef && test "$OTHER_SECRET" = CANARY-other &&
                test "$OTHER_ONLY" = CANARY-other-2'
expect "run: a bare --map renames in every plugin" 2 $E run --secret app/PLAIN --secret other/CLIENT_SECRET \
        --secret app/CLIENT_SECRET --map CLIENT_SECRET=CS -- true
err_has "run: a bare --map still clashes" "would both be \$CS"
expect "run: --map PLUGIN/NAME wins over --map NAME" 0 $E run --secret other/CLIENT_SECRET \
        --secret app/CLIENT_SECRET --map CLIENT_SECRET=CS --map app/CLIENT_SECRET=APP_CS -- \
        sh -c 'test "$CS" = CANARY-other && test "$APP_CS" = cs-CANARY-0123456789abcdef'
expect "run: --map to a clash" 2 $E run --secret app/PLAIN --secret app/DQ --map DQ=PLAIN -- true
expect "run: one secret mapped twice" 2 $E run --secret app/PLAIN --map PLAIN=A --map PLAIN=B -- true
expect "run: a --map for nothing chosen" 2 $E run --secret app/PLAIN --map NOPE=X -- true
err_has "run: a --map for nothing chosen: says which" "--map 'NOPE=X': no chosen secret is named so"
expect "run: the same secret twice" 0 $E run --plugin app --secret app/PLAIN "${D_MAP[@]}" -- true
expect "run: --map to an invalid name with --plugin" 2 $E run --plugin app --map app/db.password=1X -- true

# What cannot be run: nothing fetched, the usual exit statuses.
expect "run: a plugin without secrets" 3 $E run --plugin empty -- true
expect "run: no such secret" 3 $E run --secret app/NOPE -- true
printf 'CANARY\0nul' | "$CLI" secret put nul VALUE >/dev/null
expect "run: a value with a NUL byte" 2 $E run --secret nul/VALUE -- true
err_has "run: a NUL byte: says which" "nul/VALUE holds a NUL byte"
no_value_shown "run: a NUL byte"
expect "run: no daemon" 5 $E --socket /nonexistent/sock run --plugin app -- true

echo "ok: $n_checks checks"
