#!/usr/bin/env bash
# test-cli.sh — the credvault command end to end, under cv-harness.
#
# cv-harness gives a fresh credvaultd and CREDVAULT_SOCKET; meson gives the
# binary in CREDVAULT_CLI. Checks the command contract scripts rely on:
# byte-exact values through stdin/stdout, the size limit, versions, lists
# that never show values, the JSON keys, token sets as the daemon keeps
# them and their states, plugins registered from manifests (every auth
# type, the auth block given back byte for byte, bad manifests refused
# whole), verifying service tokens and oauth client credentials, user API
# keys, and the exit statuses; who the daemon takes the caller for, policy
# files checked by the daemon's own validator, and the audit trail (listed
# with filters, verified, pruned). Only bash, coreutils (od, head, base64,
# date, tr, wc, sort, sleep), grep and cmp; sqlite3 if present, to tamper
# with the trail.
set -euo pipefail

CLI=${CREDVAULT_CLI:?CREDVAULT_CLI is not set (run through meson test)}
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"
: "${CREDVAULTD:?CREDVAULTD is not set (run through meson test)}"
: "${CV_ROOT_KEY:?CV_ROOT_KEY is not set (run under cv-harness)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/test-cli.XXXXXX")
d2_pid=
trap '[[ -z $d2_pid ]] || kill "$d2_pid" 2>/dev/null; rm -rf "$T"' EXIT

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

# run INPUT ARG...: run the CLI with stdin from the file INPUT; sets $rc,
# output in $T/out and $T/err.
run() {
        local input=$1
        shift
        rc=0
        "$CLI" "$@" <"$input" >"$T/out" 2>"$T/err" || rc=$?
}

# expect WHAT RC INPUT ARG...: run and check the exit status.
expect() {
        local what=$1 want=$2
        shift 2
        run "$@"
        [[ $rc -eq $want ]] || fail "$what: exit status $rc, expected $want"
        pass
}

out_has() { # out_has WHAT FIXED-STRING
        grep -qF -- "$2" "$T/out" || fail "$1: stdout lacks '$2'"
        pass
}
out_lacks() {
        ! grep -qF -- "$2" "$T/out" || fail "$1: stdout shows '$2'"
        pass
}
err_has() {
        grep -qF -- "$2" "$T/err" || fail "$1: stderr lacks '$2'"
        pass
}
err_lacks() {
        ! grep -qF -- "$2" "$T/err" || fail "$1: stderr shows '$2'"
        pass
}
out_is() { # out_is WHAT EXACT-TEXT (a trailing newline is added)
        printf '%s\n' "$2" | cmp -s - "$T/out" || fail "$1: stdout is not exactly '$2'"
        pass
}
out_is_file() {
        cmp -s "$2" "$T/out" || fail "$1: stdout differs from $2 ($(od -An -tx1 "$T/out" | head -n 2))"
        pass
}
out_matches() { # out_matches WHAT EXTENDED-REGEX
        grep -qE -- "$2" "$T/out" || fail "$1: no stdout line matches /$2/"
        pass
}

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
E=/dev/null

# ---- inputs ----
printf 'hello' >"$T/text"
printf 'line one\nline two\n' >"$T/text-nl"
printf '  spaced\r\n\n' >"$T/text-ws"
: >"$T/empty"
for i in $(seq 0 255); do
        printf "\\$(printf '%03o' "$i")"
done >"$T/binary"
[[ $(od -An -v -tx1 "$T/binary" | tr -d ' \n' | head -c 16) == 0001020304050607 ]] || fail "building the binary input"
[[ $(wc -c <"$T/binary") -eq 256 ]] || fail "building the binary input: not 256 bytes"
for _ in $(seq 128); do cat "$T/binary"; done >"$T/max"
[[ $(wc -c <"$T/max") -eq 32768 ]] || fail "building the 32768-byte input"
{ cat "$T/max"; printf 'x'; } >"$T/over"
printf 's3cr3t-VALUE-canary' >"$T/canary"

# ---- help, version, usage ----
expect "--help" 0 $E --help
for cmd in "plugin add FILE|- [--name NAME] [--domain DOMAIN]" "plugin ls" "plugin show NAME [--expiring DURATION]" \
        "plugin rm NAME --yes" "plugin manifest NAME" \
        "secret put PLUGIN NAME" "secret get PLUGIN NAME" "secret generate PLUGIN NAME [--bytes N]" \
        "secret verify PLUGIN NAME [--raw]" "secret ls [PLUGIN]" "secret rm PLUGIN NAME" \
        "oauth verify-client PLUGIN [--post]" \
        "apikey put PLUGIN USER" "apikey lookup PLUGIN [--header]" "apikey ls PLUGIN" "apikey rm PLUGIN USER" \
        "token put PLUGIN USER" "token get PLUGIN USER [--min-valid DURATION]" \
        "token ls PLUGIN [--expiring DURATION] [--reveal]" "token rm PLUGIN USER" "token revocations PLUGIN" \
        "status" "help" \
        "whoami" "policy check FILE" "audit verify" "audit prune --before T" \
        "audit [--since T] [--until T] [--plugin P] [--principal X] [--op OP]" "key rotate" "key rewrap [--wait]" \
        "key status" "key retire VERSION" "key rotate-root [--new-key-file FILE]" "key new-root-key FILE" \
        "key recovery-key [--output FILE] [--replace]" "init [--recovery-key FILE]" \
        "secret get PLUGIN NAME [--stage STAGE]" \
        "secret rotate PLUGIN NAME [--grace DURATION] [--generate[=BYTES]]" \
        "secret promote PLUGIN NAME [--grace DURATION]" "secret history PLUGIN NAME"; do
        out_has "--help lists '$cmd'" "$cmd"
done
for status in "0   success" "1   any other failure" "2   bad usage" "3   not found" "4   permission denied" \
        "5   daemon unreachable" "6   no match" "7   refresh required" "8   reauth required" \
        "9   refresh in progress" "10  conflict" "130 key rewrap --wait stopped by Ctrl-C"; do
        out_has "--help documents exit status '$status'" "  $status"
done
out_has "--help documents --socket" "--socket PATH"
out_has "--help documents DURATION" "300, 90s, 5min, 1h30m, \"1d 2h\", 1.5h, 2w"
expect "-h" 0 $E -h
out_has "-h" "Exit status"
expect "help" 0 $E help
out_has "help" "secret put PLUGIN NAME"
expect "--version" 0 $E --version
out_matches "--version" '^credvault [0-9]+\.[0-9]+'

expect "no command" 2 $E
err_has "no command: usage on stderr" "Usage: credvault"
expect "unknown command" 2 $E frobnicate
err_has "unknown command: says which" "unknown command 'frobnicate'"
err_has "unknown command: points to --help" "See 'credvault --help'"
err_lacks "unknown command: one line, not the whole usage" "Usage: credvault"
expect "unknown verb" 2 $E secret frob p n
expect "group without verb" 2 $E token
expect "unknown option" 2 $E --frob status
expect "--timeout not a number" 2 $E --timeout abc status
expect "--timeout zero" 2 $E --timeout 0 status
expect "--timeout without value" 2 $E --timeout
expect "help with three words" 2 $E help secret put x
expect "secret put: one argument" 2 "$T/text" secret put p
expect "secret get: three arguments" 2 $E secret get p n x
expect "secret ls: two arguments" 2 $E secret ls a b
expect "token ls: no argument" 2 $E token ls
expect "token put: three arguments" 2 "$T/text" token put p u x
expect "status: an argument" 2 $E status x
expect "plugin add: no file" 2 $E plugin add
expect "plugin rm: no name" 2 $E plugin rm --yes
expect "apikey lookup: two arguments" 2 $E apikey lookup p u
expect "oauth verify-client: no plugin" 2 $E oauth verify-client

# Command options belong to their commands.
expect "--raw on secret get" 2 $E secret get p n --raw
err_has "--raw on secret get: says so" "'--raw' is not an option of 'secret get'"
expect "--yes on secret rm" 2 $E --yes secret rm p n
expect "--reveal on token get" 2 $E token get p u --reveal
expect "--expiring on token get" 2 $E token get p u --expiring 5m
expect "--min-valid on token ls" 2 $E token ls p --min-valid 5
expect "--post on secret verify" 2 "$T/text" secret verify p n --post
expect "--header on apikey put" 2 "$T/text" apikey put p u --header
expect "--name on plugin show" 2 $E plugin show p --name x
expect "--bytes on secret put" 2 "$T/text" secret put p n --bytes 32
expect "--bytes 0" 2 $E secret generate p n --bytes 0
expect "--bytes not a number" 2 $E secret generate p n --bytes many
expect "--min-valid not a number" 2 $E token get p u --min-valid soon
expect "--min-valid negative" 2 $E token get p u --min-valid -5
expect "--expiring without a value" 2 $E token ls p --expiring
for bad in 99999999999999999999 -5 5x m "" " " 5mm 1..5h "1h -5m" 0x10 "5 parsecs"; do
        expect "--expiring '$bad'" 2 $E token ls p --expiring "$bad"
done
err_has "--expiring: says what a DURATION is" "DURATION"
expect "--expiring of a fraction of a second" 2 $E token ls p --expiring 1500ms
err_has "--expiring of a fraction of a second: says so" "not a whole number of seconds"
expect "--expiring over its limit" 2 $E token ls p --expiring 100y
err_has "--expiring over its limit: says so" "negative or over"
# Nothing reached the daemon: refused before connecting.
expect "a bad option with no daemon" 2 $E --socket /nonexistent/sock token ls p --expiring 5x

# The audit commands' options and times.
expect "whoami: an argument" 2 $E whoami x
expect "policy check: no file" 2 $E policy check
expect "policy check: two files" 2 $E policy check a b
expect "audit: an argument" 2 $E audit x
expect "audit verify: an argument" 2 $E audit verify x
expect "--before on audit" 2 $E audit --before 1h
err_has "--before on audit: says so" "'--before' is not an option of 'audit'"
expect "--since on audit verify" 2 $E audit verify --since 1h
expect "--plugin on secret ls" 2 $E secret ls --plugin p
expect "--op on audit prune" 2 $E audit prune --before 1h --op secret.get
expect "audit prune without --before" 2 $E audit prune
err_has "audit prune without --before: says so" "--before"
for bad in 300 2026-02-30 2026-13-01 2026-11-30T24:00:00Z 2026-11-30T12:00:00 2026-11-30T12:00 2026-1-30 @ @-1 \
        @x 5x 1969-12-31 "" 99999999999d; do
        expect "--since '$bad'" 2 $E --socket /nonexistent/sock audit --since "$bad"
done
err_has "--since: says what a time is" "@UNIXSECONDS"
for good in 2026-11-30 2026-11-30T12:00:00Z 2026-11-30T12:00:00+01:00 2026-11-30T12:00:00-09:30 @0 @1764504000 \
        90s 30m 2h 7d; do
        expect "--until '$good' (then unreachable)" 5 $E --socket /nonexistent/sock audit --until "$good"
done
# The key commands' arguments and options, refused before connecting.
expect "key: no verb" 2 $E key
expect "key rotate: an argument" 2 $E key rotate x
expect "key status: an argument" 2 $E key status x
expect "key retire: no version" 2 $E key retire
expect "key retire: two versions" 2 $E key retire 1 2
for bad in 0 abc 1.5 "" " 1" 0x2 99999999999999999999; do
        expect "key retire '$bad'" 2 $E --socket /nonexistent/sock key retire "$bad"
done
err_has "key retire: says what VERSION is" "is not a KEK version"
expect "--wait on key status" 2 $E key status --wait
err_has "--wait on key status: says so" "'--wait' is not an option of 'key status'"
expect "--wait on key rotate" 2 $E key rotate --wait
expect "key status: unreachable" 5 $E --socket /nonexistent/sock key status
expect "key rewrap --wait: unreachable" 5 $E --socket /nonexistent/sock key rewrap --wait
for bad in bogus uid uid: uid:x uid:-1 uid:99999999999 unit: user:no-such-user-here group:wheel weather.timer; do
        expect "--principal '$bad'" 2 $E --socket /nonexistent/sock audit --principal "$bad"
done
for good in uid:0 user:root unit:weather.service weather.service app.scope; do
        expect "--principal '$good' (then unreachable)" 5 $E --socket /nonexistent/sock audit --principal "$good"
done

# ---- per-command help, help COMMAND, did-you-mean ----
expect "secret put --help" 0 $E secret put --help
out_has "secret put --help: its synopsis" "Usage: credvault [OPTIONS] secret put PLUGIN NAME [--no-confirm]"
out_has "secret put --help: its option" "--no-confirm"
out_has "secret put --help: the global options" "--socket PATH"
out_has "secret put --help: exit statuses" "Exit status:"
out_has "secret put --help: exit 2" "  2   bad usage"
out_lacks "secret put --help: not another command's exit status" "  7   refresh required"
out_lacks "secret put --help: not the whole list" "token ls PLUGIN"
cp "$T/out" "$T/put-help"
expect "help secret put" 0 $E help secret put
out_is_file "help secret put: the same as secret put --help" "$T/put-help"
expect "--help after the command's arguments" 0 $E secret put p n --help
out_is_file "secret put p n --help: the same" "$T/put-help"
expect "token get --help" 0 $E token get --help
out_has "token get --help: its exit statuses" "  7   refresh required"
out_has "token get --help: --min-valid takes a DURATION" "--min-valid DURATION"
expect "key rewrap --help" 0 $E key rewrap --help
out_has "key rewrap --help: 130" "  130 key rewrap --wait stopped by Ctrl-C"
expect "secret get --help" 0 $E secret get --help
out_has "secret get --help: --newline" "--newline WHEN"
out_has "secret get --help: --stage" "--stage STAGE"
expect "help secret: the group" 0 $E help secret
out_has "help secret: its verbs" "secret rotate PLUGIN NAME"
out_lacks "help secret: only its verbs" "token ls"
expect "secret --help: the group" 0 $E secret --help
out_has "secret --help: its verbs" "secret history PLUGIN NAME"
expect "help audit: the command and its verbs" 0 $E help audit
out_has "help audit: the command" "Usage: credvault [OPTIONS] audit [--since T]"
out_has "help audit: its verbs" "audit verify"
expect "status --help" 0 $E status --help
out_has "status --help" "Usage: credvault [OPTIONS] status"
expect "help of an unknown command" 2 $E help secrt
err_has "help of an unknown command: the nearest" "did you mean 'secret'?"
expect "a mistyped group" 2 $E secrt put p n
err_has "a mistyped group: the nearest command" "unknown command 'secrt put'; did you mean 'secret put'?"
expect "a mistyped verb" 2 $E secret pt p n
err_has "a mistyped verb: the nearest" "did you mean 'secret put'?"
expect "swapped letters" 2 $E scerte ls
err_has "swapped letters: the nearest" "did you mean 'secret"
expect "a mistyped one-word command" 2 $E stauts
err_has "a mistyped one-word command: the nearest" "did you mean 'status'?"
expect "nothing near" 2 $E frobnicate
err_lacks "nothing near: no suggestion" "did you mean"
expect "an option of another command" 2 $E secret ls --no-confirm
err_has "an option of another command: where its options are" "'credvault secret ls --help'"

# ---- DURATION as systemd writes it ----
for good in 300 90s 5min 1h30m "1d 2h" 1.5h 2w "1 week" 1M 1y 500ms500ms; do
        expect "--expiring '$good'" 0 $E token ls p --expiring "$good"
done
expect "--grace 1h30m" 5 "$T/text" --socket /nonexistent/sock secret rotate p n --grace 1h30m
err_lacks "--grace 1h30m: taken (refused only for the socket)" "DURATION"
expect "--grace 2w" 5 "$T/text" --socket /nonexistent/sock secret rotate p n --grace 2w
expect "--grace 2y: over 366d" 2 "$T/text" --socket /nonexistent/sock secret rotate p n --grace 2y
err_has "--grace 2y: says the limit" "over 366d"
expect "--min-valid 1h30m" 5 $E --socket /nonexistent/sock token get p u --min-valid "1h 30min"
expect "--since '1d 12h' ago" 0 $E audit --since "1d 12h"

# ---- completion ----
for shell in bash zsh fish; do
        expect "completion $shell" 0 $E completion "$shell"
        out_has "completion $shell: the commands" "rotate-root"
done
expect "completion of another shell" 2 $E completion tcsh
expect "completion without a shell" 2 $E completion
expect "plugin ls --names of none" 0 $E plugin ls --names

# ---- status ----
expect "status" 0 $E status
for key in "version:" "uptime:" "connections:" "primary KEK:" "KEKs:" "secrets:" "tokens:"; do
        out_has "status" "$key"
done
expect "status --json" 0 $E --json status
for key in '"version":' '"uptime":' '"connections":' '"keyring":{"primary":' '"keks":' '"secrets":0' '"tokens":0'; do
        out_has "status --json" "$key"
done
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "status --json: not one line"
out_matches "status --json: the policy" '"policy":\{"file":(null|"[^"]*"),"admins_only":(true|false),"loaded_at":[0-9]+,"principals":[0-9]+'
out_matches "status --json: the audit trail" '"audit":\{"ok":true,"queued":[0-9]+,"last_seq":[0-9]+\}'
# The harness starts the daemon without --policy: with no file in
# /etc/credvault it serves admins only, and root is one.
no_policy=false
[[ -e /etc/credvault/policy.json ]] || no_policy=true
expect "status: policy and audit lines" 0 $E status
if $no_policy; then
        out_has "status: no policy" "policy:      none — only admins (root and the daemon's uid) are served"
fi
out_matches "status: the audit trail" '^audit: +ok \(last record [0-9]+\)$'
out_lacks "status: no reload error" "last reload failed"

# ---- whoami ----
expect "whoami" 0 $E whoami
out_matches "whoami: uid" '^uid: +0 \(root\)$'
out_matches "whoami: gid" '^gid: +0'
out_matches "whoami: pid" '^pid: +[0-9]+'
out_matches "whoami: unit" '^unit: +'
out_matches "whoami: principals" '^principals: +'
out_matches "whoami: rate limit" '^rate limit: +([0-9]+ requests/s, burst [0-9]+|none \(an admin no policy entry names\))'
if $no_policy; then
        out_matches "whoami: root is admin" '^admin: +yes'
        out_has "whoami: no policy file" "policy:      no policy file: only admins are served"
fi
expect "whoami --json" 0 $E whoami --json
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "whoami --json: not one line"
for key in '"uid":0,' '"gid":0,' '"pid":' '"groups":[' '"unit":' '"pidfd":' '"principals":[' '"admin":' \
        '"admin_by":' '"grants":[' '"rate_limit":' '"policy":{"file":'; do
        out_has "whoami --json" "$key"
done
if $no_policy; then
        out_has "whoami --json: no policy file" '"policy":{"file":null,"admins_only":true}'
        # root, an admin no entry names, has no bucket.
        out_has "whoami --json: root not limited" '"rate_limit":null'
fi
out_lacks "whoami --json: no protocol members" '"ok":'
expect "whoami: unreachable" 5 $E --socket /nonexistent/sock whoami

# ---- policy check: the daemon's own validator ----
printf '{"version":1,"principals":{"uid:4000":{"plugins":{"weather":["read","verify"]}}}}\n' >"$T/policy-good"
printf '{"version":1,"principals":{"uid:4000":{"plugins":{"weather":["wirte"]}}}}\n' >"$T/policy-bad"
printf '{"version":1,"principals":{},"frobnicate":true}\n' >"$T/policy-unknown-key"
chmod 0644 "$T"/policy-*
expect "policy check: a valid file" 0 $E policy check "$T/policy-good"
out_has "policy check: says valid" "$T/policy-good: valid (1 principal"
expect "policy check: an unknown class" 1 $E policy check "$T/policy-bad"
grep -qF wirte "$T/out" "$T/err" || fail "policy check: the unknown class is not named"
pass
expect "policy check: an unknown key" 1 $E policy check "$T/policy-unknown-key"
grep -qF frobnicate "$T/out" "$T/err" || fail "policy check: the unknown key is not named"
pass
expect "policy check: no such file" 1 $E policy check "$T/no-such-policy"
rc=0
CREDVAULTD=$T/no-such-daemon "$CLI" policy check "$T/policy-good" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 5 ]] || fail "policy check without a daemon binary: exit status $rc, expected 5"
pass
err_has "policy check without a daemon binary: says which" "cannot run $T/no-such-daemon"

# ---- secrets: byte-exact round trips ----
for f in text text-nl text-ws empty binary max; do
        expect "secret put $f" 0 "$T/$f" secret put rt "$f"
        out_is "secret put $f" "rt/$f version 1"
        expect "secret get $f" 0 $E secret get rt "$f"
        out_is_file "secret get $f: byte-exact" "$T/$f"
done

# ---- the size limit ----
expect "secret put 32769 bytes" 2 "$T/over" secret put rt over
err_has "secret put 32769 bytes: says why" "32768"
expect "secret put 32769 bytes: nothing stored" 3 $E secret get rt over
expect "secret put 32769 bytes over an existing secret" 2 "$T/over" secret put rt max
expect "secret get after a refused put" 0 $E secret get rt max
out_is_file "secret get after a refused put: old value kept" "$T/max"
expect "secret ls after a refused put" 0 $E --json secret ls rt
out_has "secret ls after a refused put: version unchanged" '"name":"max","version":1,'

# ---- versions ----
expect "secret put v1" 0 "$T/text" secret put ver key
out_is "secret put v1" "ver/key version 1"
expect "secret put v2" 0 "$T/text-nl" secret put ver key
out_is "secret put v2" "ver/key version 2"
expect "secret put v3 --json" 0 "$T/binary" --json secret put ver key
out_is "secret put --json" '{"plugin":"ver","name":"key","version":3}'
expect "secret get v3" 0 $E secret get ver key
out_is_file "secret get returns the newest version" "$T/binary"

# ---- secret get --json ----
expect "secret get --json" 0 $E secret get ver key --json
for key in '"plugin":"ver"' '"name":"key"' '"version":3' '"created":' '"updated":' '"value_base64":'; do
        out_has "secret get --json" "$key"
done
out_has "secret get --json: value_base64 is the value" "\"value_base64\":\"$(base64 -w0 "$T/binary")\""
expect "secret get --json of an empty value" 0 $E --json secret get rt empty
out_has "secret get --json of an empty value" '"value_base64":""'

# ---- secret ls: metadata only ----
expect "secret put canary" 0 "$T/canary" secret put lsplug canary-name
expect "secret put canary 2" 0 "$T/canary" secret put lsplug other
expect "secret ls" 0 $E secret ls
out_matches "secret ls: header" '^PLUGIN +NAME +VERSION +UPDATED$'
out_matches "secret ls: a row" "^lsplug +canary-name +1 +$ISO\$"
out_matches "secret ls: all plugins" '^ver +key +3 '
out_lacks "secret ls: no value" "s3cr3t-VALUE-canary"
expect "secret ls PLUGIN" 0 $E secret ls lsplug
out_matches "secret ls PLUGIN: its rows" '^lsplug +other +1 '
out_lacks "secret ls PLUGIN: only that plugin" "ver "
[[ $(wc -l <"$T/out") -eq 3 ]] || fail "secret ls PLUGIN: expected a header and 2 rows"
out_lacks "secret ls PLUGIN: no value" "s3cr3t-VALUE-canary"
expect "secret ls --json" 0 $E --json secret ls lsplug
out_matches "secret ls --json: an array" '^\[\{.*\}\]$'
for key in '"plugin":"lsplug"' '"name":"canary-name"' '"version":1' '"created":' '"updated":'; do
        out_has "secret ls --json" "$key"
done
out_lacks "secret ls --json: no value" "s3cr3t-VALUE-canary"
out_lacks "secret ls --json: no value" "$(base64 -w0 "$T/canary")"
out_lacks "secret ls --json: no value key" "value"
expect "secret ls of an empty plugin" 0 $E secret ls nothing-here
out_matches "secret ls of an empty plugin: the header" '^PLUGIN +NAME +VERSION +UPDATED$'
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "secret ls of an empty plugin: rows shown"
expect "secret ls --json of an empty plugin" 0 $E --json secret ls nothing-here
out_is "secret ls --json of an empty plugin" '[]'

# ---- values never from argv; names checked ----
expect "secret put with the value as an argument" 2 "$T/text" secret put argv key s3cr3t
expect "secret put with the value as an argument: nothing stored" 3 $E secret get argv key
expect "secret put bad/name" 2 "$T/text" secret put p bad/name
err_lacks "secret put bad/name: no value in the error" "hello"
expect "secret get bad/name" 2 $E secret get bad/name x
expect "secret ls bad plugin" 2 $E secret ls 'bad plugin'
expect "secret put name starting with '-'" 0 "$T/text" secret put p -- -dash
expect "secret get name starting with '-'" 0 $E secret get p -- -dash
out_is_file "secret get name starting with '-'" "$T/text"

# ---- not found, rm ----
expect "secret get missing" 3 $E secret get nope nope
err_has "secret get missing: says so" "credvault: "
expect "secret rm" 0 $E secret rm rt text
[[ ! -s $T/out ]] || fail "secret rm: printed something"
expect "secret get after rm" 3 $E secret get rt text
expect "secret rm again" 3 $E secret rm rt text

# ---- tokens: stored as the token endpoint sent them ----
# 4102444800 is 2100-01-01: far enough to stay "valid".
cat >"$T/tok-full" <<'EOF'
{"access_token": "AT-canary", "token_type": "Bearer", "refresh_token": "RT-canary",
 "scope": "read write", "expires_at": 4102444800}
EOF
printf '{"access_token":"AT2-canary","token_type":"Bearer"}' >"$T/tok-min"
printf '{"access_token":"AT3-canary","token_type":"Bearer","expires_in":3600,"id_token":"ID-canary","x_vendor":{"a":[1,2]}}' \
        >"$T/tok-in"

expect "token put" 0 "$T/tok-full" token put todo alice@example.com
out_is "token put" "todo/alice@example.com version 1"
expect "token get" 0 $E token get todo alice@example.com
for field in '"access_token":"AT-canary"' '"token_type":"Bearer"' '"refresh_token":"RT-canary"' \
        '"scope":"read write"' '"expires_at":4102444800'; do
        out_has "token get: the token set" "$field"
done
out_matches "token get: one JSON object" '^\{.*\}$'
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "token get: not one line"
pass
cp "$T/out" "$T/tok-got"
expect "token get | token put" 0 "$T/tok-got" --json token put todo alice@example.com
out_is "token put --json" '{"plugin":"todo","user":"alice@example.com","version":2}'
expect "token get after round trip" 0 $E token get todo alice@example.com
out_is_file "token get | token put round-trips" "$T/tok-got"
expect "token get --json" 0 $E --json token get todo alice@example.com
for key in '"plugin":"todo"' '"user":"alice@example.com"' '"version":2' '"created":' '"updated":' \
        "\"token\":$(cat "$T/tok-got")}"; do
        out_has "token get --json" "$key"
done

expect "token put minimal" 0 "$T/tok-min" token put todo 'Ada Lovelace ü'
expect "token get minimal" 0 $E token get todo 'Ada Lovelace ü'
out_is "token get minimal: no optional fields" '{"access_token":"AT2-canary","token_type":"Bearer"}'

now=$(date +%s)
expect "token put expires_in and other fields" 0 "$T/tok-in" token put todo bob
expect "token get expires_in" 0 $E token get todo bob
at=$(grep -oE '"expires_at":[0-9]+' "$T/out" | cut -d: -f2) || fail "token put expires_in: no expires_at"
((at >= now + 3600 - 5 && at <= now + 3600 + 60)) || fail "token put expires_in: expires_at $at, now $now"
pass
out_lacks "token get expires_in: not kept as such" "expires_in"
out_has "token get: other fields kept" '"id_token":"ID-canary"'
out_has "token get: other fields kept whole" '"x_vendor":{"a":[1,2]}'

# A response without refresh_token (a refresh that did not rotate it)
# keeps the previous one; one with it replaces it.
printf '{"access_token":"AT4-canary","token_type":"Bearer","expires_in":3600}' >"$T/tok-norefresh"
expect "token put without refresh_token" 0 "$T/tok-norefresh" token put todo alice@example.com
out_is "token put without refresh_token: a new version" "todo/alice@example.com version 3"
expect "token get after a put without refresh_token" 0 $E token get todo alice@example.com
out_has "the new access token" '"access_token":"AT4-canary"'
out_has "the previous refresh token kept" '"refresh_token":"RT-canary"'
out_lacks "the previous access token gone" '"AT-canary"'
out_lacks "the previous scope gone" '"scope"'
printf '{"access_token":"AT5-canary","token_type":"Bearer","refresh_token":"RT5-canary","expires_at":4102444800}' \
        >"$T/tok-rotated"
expect "token put with a new refresh_token" 0 "$T/tok-rotated" token put todo alice@example.com
expect "token get after rotation" 0 $E token get todo alice@example.com
out_has "the new refresh token" '"refresh_token":"RT5-canary"'
out_lacks "the old refresh token gone" '"RT-canary"'

expect "token ls" 0 $E token ls todo
out_matches "token ls: header" '^USER +STATE +EXPIRES +UPDATED +REFRESH_TRIED +RESULT +NEXT_REFRESH$'
expires=$(date -u -d @4102444800 +%Y-%m-%dT%H:%M:%SZ)
out_matches "token ls: a row with an expiry" "^alice@example.com +valid +$expires +$ISO +- +- +-\$"
out_matches "token ls: a row without an expiry" "^Ada Lovelace ü +valid +- +$ISO +- +- +-\$"
out_matches "token ls: expires_in became a time" "^bob +valid +$ISO +$ISO +- +- +-\$"
for v in AT5-canary RT5-canary AT2-canary AT3-canary ID-canary; do
        out_lacks "token ls: no token" "$v"
done
expect "token ls --json" 0 $E token ls todo --json
out_matches "token ls --json: an array" '^\[\{.*\}\]$'
out_has "token ls --json: with expiry" '"user":"alice@example.com","version":4,'
out_has "token ls --json: expires_at" '"expires_at":4102444800'
out_has "token ls --json: unknown expiry is null" '"expires_at":null'
out_has "token ls --json: the state" '"state":"valid"'
for key in '"created":' '"updated":'; do
        out_has "token ls --json" "$key"
done
for v in AT5-canary RT5-canary AT2-canary AT3-canary ID-canary access_token; do
        out_lacks "token ls --json: no token" "$v"
done
expect "token ls of an empty plugin" 0 $E --json token ls nothing-here
out_is "token ls --json of an empty plugin" '[]'

# ---- token states, --expiring, --min-valid, --reveal ----
# The states "refreshing" and "reauth_required" come from the refresh
# calls of the library, which the CLI does not make: tests/e2e covers them.
printf '{"access_token":"ST-valid-canary","token_type":"Bearer","expires_in":86400}' >"$T/st-valid"
printf '{"access_token":"ST-soon-canary","token_type":"Bearer","expires_in":120}' >"$T/st-soon"
printf '{"access_token":"ST-old-canary","token_type":"Bearer","expires_at":1000000000}' >"$T/st-old"
printf '{"access_token":"ST-never-canary","token_type":"Bearer"}' >"$T/st-never"
for u in valid soon old never; do
        expect "token put $u" 0 "$T/st-$u" token put states "u-$u"
done
expect "token ls states" 0 $E token ls states
out_matches "token ls: valid" "^u-valid +valid +$ISO +$ISO +- +- +-\$"
out_matches "token ls: expiring within the default 5m" "^u-soon +expiring +$ISO +$ISO +- +- +-\$"
out_matches "token ls: expired" "^u-old +expired +2001-09-09T01:46:40Z +$ISO +- +- +-\$"
out_matches "token ls: no expiry is valid" "^u-never +valid +- +$ISO +- +- +-\$"
[[ $(wc -l <"$T/out") -eq 5 ]] || fail "token ls states: expected a header and 4 rows"
pass
expect "token ls --expiring 1m" 0 $E token ls states --expiring 1m
out_matches "--expiring 1m: the expired one" "^u-old +expired "
out_lacks "--expiring 1m: 2 minutes away is not within 1m" "u-soon"
out_lacks "--expiring 1m: valid ones left out" "u-valid"
out_lacks "--expiring 1m: no expiry left out" "u-never"
expect "token ls --expiring 10m" 0 $E token ls states --expiring 10m
out_matches "--expiring 10m: expiring" "^u-soon +expiring "
out_matches "--expiring 10m: expired" "^u-old +expired "
out_lacks "--expiring 10m: valid for a day left out" "u-valid"
[[ $(wc -l <"$T/out") -eq 3 ]] || fail "token ls --expiring 10m: expected a header and 2 rows"
pass
expect "token ls --expiring 2d" 0 $E token ls states --expiring 2d
out_matches "--expiring 2d: a day away is expiring now" "^u-valid +expiring "
out_lacks "--expiring 2d: no expiry never expires" "u-never"
for d in 600 600s 10m 1h; do
        expect "token ls --expiring $d" 0 $E --json token ls states --expiring "$d"
        out_has "--expiring $d: expiring" '"user":"u-soon"'
        out_lacks "--expiring $d: valid for a day left out" '"user":"u-valid"'
done
expect "token ls --json states" 0 $E --json token ls states
for st in '"user":"u-valid","version":1,' '"state":"expiring"' '"state":"expired"' '"state":"valid"'; do
        out_has "token ls --json: states" "$st"
done
expect "token ls --reveal" 0 $E token ls states --reveal
out_matches "--reveal: header" '^USER +STATE +EXPIRES +UPDATED +REFRESH_TRIED +RESULT +NEXT_REFRESH +ACCESS_TOKEN$'
out_matches "--reveal: a valid token" "^u-valid +valid +$ISO +$ISO +- +- +- +ST-valid-canary\$"
out_matches "--reveal: an expiring one is still valid" "^u-soon +expiring +$ISO +$ISO +- +- +- +ST-soon-canary\$"
out_matches "--reveal: an expired one shows its state" "^u-old +expired +$ISO +$ISO +- +- +- +\(expired\)\$"
out_lacks "--reveal: never an expired token" "ST-old-canary"
out_matches "--reveal: no expiry" "^u-never +valid +- +$ISO +- +- +- +ST-never-canary\$"
expect "token ls --reveal --expiring" 0 $E token ls states --reveal --expiring 10m
out_has "--reveal --expiring: the expiring one" "ST-soon-canary"
out_lacks "--reveal --expiring: only those rows" "ST-valid-canary"
expect "token ls --json --reveal" 0 $E --json token ls states --reveal
out_has "--json --reveal: the token" '"state":"valid","access_token":"ST-valid-canary"'
out_has "--json --reveal: none for an expired one" '"state":"expired","access_token":null'
out_lacks "--json --reveal: never an expired token" "ST-old-canary"

expect "token get expired" 7 $E token get states u-old
err_has "token get expired: the daemon's message" "refresh"
[[ ! -s $T/out ]] || fail "token get expired: printed something"
pass
expect "token get --min-valid within" 0 $E token get states u-soon --min-valid 60
out_has "token get --min-valid within" "ST-soon-canary"
expect "token get --min-valid beyond" 7 $E token get states u-soon --min-valid 300
out_lacks "token get --min-valid beyond: no token" "ST-soon-canary"
err_lacks "token get --min-valid beyond: no token in the error" "ST-soon-canary"
expect "token get --min-valid as a DURATION" 7 $E token get states u-soon --min-valid 5m
expect "token get --min-valid 1h of a day's token" 0 $E token get states u-valid --min-valid 1h
expect "token get --min-valid of a set without expiry" 0 $E token get states u-never --min-valid 1d
expect "token get --json --min-valid beyond" 7 $E --json token get states u-soon --min-valid 300
expect "token get --min-valid of nobody" 3 $E token get states nobody --min-valid 60

# ---- bad token sets: exit 2, field named, nothing stored, nothing leaked ----
bad_token() { # bad_token WHAT JSON STDERR-MUST-HAVE
        printf '%s' "$2" >"$T/bad"
        expect "token put $1" 2 "$T/bad" token put todo mallory
        err_has "token put $1: names the problem" "$3"
        err_lacks "token put $1: no token in the error" "LEAK"
        expect "token put $1: nothing stored" 3 $E token get todo mallory
}
bad_token "missing access_token" '{"token_type":"Bearer","refresh_token":"LEAK2"}' "access_token"
bad_token "missing token_type" '{"access_token":"LEAK3"}' "token_type"
bad_token "not JSON" 'access_token=LEAK4' "invalid JSON"
bad_token "truncated JSON" '{"access_token":"LEAK5' "invalid JSON"
bad_token "trailing garbage" '{"access_token":"LEAK6","token_type":"Bearer"} LEAK6' "invalid JSON"
bad_token "not an object" '["LEAK7"]' "object"
bad_token "empty input" '' "invalid JSON"
bad_token "wrong type" '{"access_token":12345,"token_type":"Bearer"}' "access_token"
bad_token "expires_at a string" '{"access_token":"LEAK8","token_type":"Bearer","expires_at":"soon"}' "expires_at"
bad_token "expires_at negative" '{"access_token":"LEAK9","token_type":"Bearer","expires_at":-1}' "expires_at"
bad_token "expires_in negative" '{"access_token":"LEAK10","token_type":"Bearer","expires_in":-5}' "expires_in"
bad_token "both expiries" '{"access_token":"LEAK11","token_type":"Bearer","expires_at":1,"expires_in":2}' "expires_in"
bad_token "null field" '{"access_token":"LEAK12","token_type":"Bearer","scope":null}' "scope"
bad_token "duplicate key" '{"access_token":"LEAK13","access_token":"LEAK14","token_type":"Bearer"}' "duplicate"
bad_token "empty access_token" '{"access_token":"","token_type":"Bearer","refresh_token":"LEAK15"}' "access_token"
bad_token "a NUL escape" '{"access_token":"LEAK16\u0000x","token_type":"Bearer"}' "invalid JSON"
{
        printf '{"access_token":"LEAK17","token_type":"Bearer","pad":"'
        head -c 65536 /dev/zero | tr '\0' 'x'
        printf '"}'
} >"$T/tok-huge"
expect "token put over 64 KiB" 2 "$T/tok-huge" token put todo mallory
err_has "token put over 64 KiB: says why" "65536"
err_lacks "token put over 64 KiB: no token in the error" "LEAK"
expect "token put over 64 KiB: nothing stored" 3 $E token get todo mallory
expect "token put bad plugin" 2 "$T/tok-min" token put bad/plugin u
expect "token put with the token as an argument" 2 "$T/tok-min" token put todo u AT-canary

# ---- token not found, rm ----
expect "token get missing" 3 $E token get todo nobody
expect "token rm" 0 $E token rm todo bob
expect "token get after rm" 3 $E token get todo bob
expect "token rm again" 3 $E token rm todo bob

# ---- token sets pending revocation at the provider (RFC 7009) ----
printf 'https://idp.example/revoke' >"$T/rev-url"
expect "secret put revocation_endpoint" 0 "$T/rev-url" secret put revk revocation_endpoint
expect "token put revk carol" 0 "$T/tok-min" token put revk carol
expect "token put revk dave" 0 "$T/tok-min" token put revk dave
expect "token ls without pending revocations" 0 $E token ls revk
out_lacks "token ls: no revocation section" "Pending revocation"
expect "token rm queues a revocation" 0 $E token rm revk carol
expect "token ls with a pending revocation" 0 $E token ls revk
out_has "token ls: the revocation section" "Pending revocation at the provider (deleted token sets):"
out_matches "token ls: the set still there" '^dave +valid '
out_matches "token ls: the pending one" "^carol +$ISO +0 +$ISO +-\$"
out_lacks "token ls: no token" "AT2-canary"
expect "token ls --json: the sets only" 0 $E --json token ls revk
out_matches "token ls --json: an array of the sets" '^\[\{"user":"dave",.*\}\]$'
expect "token revocations" 0 $E token revocations revk
out_matches "token revocations: the header" '^USER +DELETED +ATTEMPTS +NEXT_TRY +LAST_ERROR$'
out_matches "token revocations: the row" "^carol +$ISO +0 +$ISO +-\$"
expect "token revocations --json" 0 $E --json token revocations revk
out_matches "token revocations --json" '^\[\{"id":[0-9]+,"user":"carol","deleted_at":[0-9]+,"attempts":0,"next_at":[0-9]+\}\]$'
out_lacks "token revocations --json: no token" "AT2-canary"
expect "token revocations of a plugin with none" 0 $E --json token revocations nothing-here
out_is "token revocations of a plugin with none" '[]'
expect "token revocations: no argument" 2 $E token revocations
expect "status: revocations" 0 $E status
out_matches "status: the revocations line" '^revocations: [1-9][0-9]* pending, 0 given up$'
expect "status --json: revocations" 0 $E --json status
out_matches "status --json: revocations" '"revocations":\{"pending":[1-9][0-9]*,"given_up":0,"next_at":[0-9]+\}'

# ---- plugins: registered from manifests ----
# Auth blocks of every type, compact and in the order a manifest has them:
# `plugin manifest` gives back compact JSON with the keys in their original
# order, so a byte comparison checks it is the same block.
printf '%s' '{"type":"none"}' >"$T/auth-none"
printf '%s' '{"type":"service_http","authorization_type":"bearer","verification_tokens":{"openai":"VT-bearer-canary"}}' \
        >"$T/auth-bearer"
printf '%s' '{"type":"service_http","authorization_type":"basic","instructions":"Paste the token."}' >"$T/auth-basic"
printf '%s' '{"type":"user_http","authorization_type":"bearer"}' >"$T/auth-user"
printf '%s' '{"type":"oauth","client_url":"https://tasks.example.com/authorize","scope":"read write","authorization_url":"https://tasks.example.com/token","authorization_content_type":"application/x-www-form-urlencoded","verification_tokens":{"openai":"VT-oauth-canary","other":"VT-other-canary"}}' \
        >"$T/auth-oauth"
# manifest DOMAIN AUTH-FILE: a whole ai-plugin.json named "tasks".
manifest() {
        printf '{"schema_version":"v1","name_for_human":"Tasks","name_for_model":"tasks","description_for_human":"Tasks.","description_for_model":"Manage tasks.","auth":%s,"api":{"type":"openapi","url":"https://%s/openapi.yaml"},"logo_url":"https://%s/logo.png","contact_email":"support@example.com","legal_info_url":"https://%s/legal"}' \
                "$(cat "$2")" "$1" "$1" "$1"
}
manifest tasks.example.com "$T/auth-oauth" >"$T/manifest"
manifest evil.example.net "$T/auth-oauth" >"$T/manifest-evil"
CANARIES="VT-bearer-canary VT-oauth-canary VT-other-canary"

expect "plugin ls of none" 0 $E plugin ls
out_is "plugin ls of none: the header" "NAME  AUTH  DOMAIN  VERSION  UPDATED"
expect "plugin ls --json of none" 0 $E --json plugin ls
out_is "plugin ls --json of none" '[]'

expect "plugin add a whole manifest" 0 $E plugin add "$T/manifest"
out_is "plugin add: the name from name_for_model" "tasks version 1"
expect "plugin manifest" 0 $E plugin manifest tasks
out_is_file "plugin manifest: the auth block, one line" <(cat "$T/auth-oauth"; echo)
expect "plugin manifest --json" 0 $E --json plugin manifest tasks
out_is_file "plugin manifest --json: the same" <(cat "$T/auth-oauth"; echo)

for type in none bearer basic user oauth; do
        expect "plugin add the $type auth block" 0 "$T/auth-$type" plugin add - --name "p-$type"
        out_is "plugin add the $type auth block" "p-$type version 1"
        expect "plugin manifest of the $type block" 0 $E plugin manifest "p-$type"
        out_is_file "plugin manifest of the $type block: byte for byte" <(cat "$T/auth-$type"; echo)
done
expect "plugin add an auth block from a file" 0 $E --json plugin add "$T/auth-user" --name p-file --domain api.example.org
out_is "plugin add --json" '{"plugin":"p-file","version":1}'
expect "plugin add an auth block without --name" 2 "$T/auth-none" plugin add -
err_has "plugin add an auth block without --name: says what is missing" "name_for_model"

expect "plugin ls" 0 $E plugin ls
out_matches "plugin ls: header" '^NAME +AUTH +DOMAIN +VERSION +UPDATED$'
out_matches "plugin ls: the whole manifest" "^tasks +oauth +tasks.example.com +1 +$ISO\$"
out_matches "plugin ls: --domain" "^p-file +user_http +api.example.org +1 +$ISO\$"
out_matches "plugin ls: an auth block has no domain" "^p-none +none +- +1 +$ISO\$"
out_matches "plugin ls: service_http" "^p-basic +service_http +- +1 "
[[ $(wc -l <"$T/out") -eq 8 ]] || fail "plugin ls: expected a header and 7 rows"
pass
for v in $CANARIES; do
        out_lacks "plugin ls: no verification token" "$v"
done
expect "plugin ls --json" 0 $E --json plugin ls
out_has "plugin ls --json: an item" '{"plugin":"tasks","auth_type":"oauth","domain":"tasks.example.com","version":1,"created":'
out_has "plugin ls --json: no domain is null" '{"plugin":"p-none","auth_type":"none","domain":null,'
for v in $CANARIES; do
        out_lacks "plugin ls --json: no verification token" "$v"
done
cp "$T/out" "$T/plugins-before"

# Re-adding the same name for the same domain is an update.
expect "plugin add again" 0 $E plugin add "$T/manifest"
out_is "plugin add again: the next version" "tasks version 2"
expect "plugin ls after the update" 0 $E plugin ls
out_matches "plugin ls: the new version" "^tasks +oauth +tasks.example.com +2 "

# The same name_for_model for another domain is another plugin.
expect "plugin add the name of another domain" 10 $E plugin add "$T/manifest-evil"
err_has "plugin add the name of another domain: says so" "tasks.example.com"
err_has "plugin add the name of another domain: says what to do" "another name"
expect "plugin add the name of another domain: unchanged" 0 $E plugin ls
out_matches "the first stays as it was" "^tasks +oauth +tasks.example.com +2 "
out_lacks "no plugin of evil.example.net" "evil.example.net"
expect "plugin add of another domain with --name" 0 $E plugin add "$T/manifest-evil" --name tasks-evil
out_is "plugin add with --name" "tasks-evil version 1"
expect "plugin ls with both" 0 $E plugin ls
out_matches "plugin ls: the second" "^tasks-evil +oauth +evil.example.net +1 "
out_matches "plugin ls: the first" "^tasks +oauth +tasks.example.com +2 "
expect "plugin add --domain another domain" 10 "$T/auth-user" plugin add - --name p-file --domain other.example.org
expect "plugin add --domain the same domain" 0 "$T/auth-user" plugin add - --name p-file --domain api.example.org
out_is "plugin add --domain the same domain" "p-file version 2"

# ---- plugin show: what is held, never a value ----
printf 'tasks-client' | "$CLI" secret put tasks client_id >/dev/null
printf 'CS-canary' | "$CLI" secret put tasks client_secret >/dev/null
printf '{"access_token":"PT1-canary","token_type":"Bearer","expires_in":86400}' >"$T/pt-valid"
printf '{"access_token":"PT2-canary","token_type":"Bearer","expires_in":120}' >"$T/pt-soon"
printf '{"access_token":"PT3-canary","token_type":"Bearer","expires_at":1000000000}' >"$T/pt-old"
for u in valid soon old; do
        expect "token put for tasks $u" 0 "$T/pt-$u" token put tasks "user-$u"
done
printf 'AK-tasks-canary' >"$T/ak-tasks"
expect "apikey put for tasks" 0 "$T/ak-tasks" apikey put tasks user-valid
expect "plugin show" 0 $E plugin show tasks
out_matches "plugin show: name" '^plugin: +tasks$'
out_matches "plugin show: registered" '^registered: +yes$'
out_matches "plugin show: domain" '^domain: +tasks.example.com$'
out_matches "plugin show: auth type" '^auth type: +oauth$'
out_matches "plugin show: version" '^version: +2$'
out_matches "plugin show: updated" "^updated: +$ISO\$"
out_matches "plugin show: a public auth field" '^  client_url +https://tasks.example.com/authorize$'
out_matches "plugin show: scope" '^  scope +read write$'
out_matches "plugin show: verification tokens by consumer" '^  verification_tokens +openai, other \(values not shown\)$'
out_matches "plugin show: secrets" '^secrets: +4$'
out_matches "plugin show: a secret and its version" '^  client_secret +version 1 +updated '
out_matches "plugin show: a verification token's secret, by name" '^  verification_token:openai +version 2 '
out_matches "plugin show: token counts" \
        '^tokens: +3 total, 1 expiring within 5m, 1 expired, 0 reauth_required, 0 refreshing$'
out_matches "plugin show: API keys" '^API keys: +1$'
for v in $CANARIES CS-canary tasks-client PT1-canary PT2-canary PT3-canary AK-tasks-canary; do
        out_lacks "plugin show: no value" "$v"
done
expect "plugin show --expiring 1m" 0 $E plugin show tasks --expiring 1m
out_matches "plugin show --expiring 1m" '^tokens: +3 total, 0 expiring within 1m, 1 expired, '
expect "plugin show --expiring 2d" 0 $E plugin show tasks --expiring 2d
out_matches "plugin show --expiring 2d" '^tokens: +3 total, 2 expiring within 2d, 1 expired, '
expect "plugin show --json" 0 $E --json plugin show tasks --expiring 3m
for key in '"plugin":"tasks"' '"registered":true' '"domain":"tasks.example.com"' '"auth_type":"oauth"' '"version":2' \
        '"client_url":"https://tasks.example.com/authorize"' '"verification_tokens":{"openai":null,"other":null}' \
        '{"name":"client_id","version":1,' '"total":3' '"expiring":1' '"expired":1' '"reauth_required":0' \
        '"refreshing":0' '"expiring_within":180' '"apikeys":1'; do
        out_has "plugin show --json" "$key"
done
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "plugin show --json: not one line"
pass
for v in $CANARIES CS-canary tasks-client PT1-canary PT2-canary PT3-canary AK-tasks-canary; do
        out_lacks "plugin show --json: no value" "$v"
done
expect "plugin show of a plugin with secrets only" 0 $E plugin show lsplug
out_matches "plugin show unregistered" '^registered: +no$'
out_matches "plugin show unregistered: its secrets" '^  canary-name +version 1 '
out_lacks "plugin show unregistered: no value" "s3cr3t-VALUE-canary"
expect "plugin show of nothing" 3 $E plugin show nothing-here
expect "plugin show bad name" 2 $E plugin show 'bad name'
expect "plugin manifest of an unregistered plugin" 3 $E plugin manifest lsplug

# ---- bad manifests: exit 2, the field named, nothing stored ----
expect "plugin ls before bad manifests" 0 $E --json plugin ls
cp "$T/out" "$T/plugins-before"
bad_manifest() { # bad_manifest WHAT JSON STDERR-MUST-HAVE
        printf '%s' "$2" >"$T/bad-manifest"
        expect "plugin add $1" 2 "$T/bad-manifest" plugin add - --name mutant
        err_has "plugin add $1: names the field" "$3"
        err_lacks "plugin add $1: no verification token in the error" "VT-LEAK"
        expect "plugin add $1: nothing stored" 3 $E plugin show mutant
        expect "plugin add $1: plugin ls" 0 $E --json plugin ls
        out_is_file "plugin add $1: plugin ls unchanged" "$T/plugins-before"
        # The same over a registered plugin changes nothing either.
        expect "plugin add $1 over tasks" 2 "$T/bad-manifest" plugin add - --name tasks
        expect "plugin add $1 over tasks: plugin ls" 0 $E --json plugin ls
        out_is_file "plugin add $1 over tasks: plugin ls unchanged" "$T/plugins-before"
        expect "plugin add $1 over tasks: manifest unchanged" 0 $E plugin manifest tasks
        out_is_file "plugin add $1 over tasks: manifest unchanged" <(cat "$T/auth-oauth"; echo)
}
huge=$(head -c 9000 /dev/zero | tr '\0' 'x')
bad_manifest "unknown auth type" '{"type":"magic","verification_tokens":{"openai":"VT-LEAK"}}' "type"
bad_manifest "unknown auth type: says which types" '{"type":"magic"}' "service_http"
bad_manifest "missing required field" \
        '{"type":"oauth","client_url":"https://a.example.com/a","authorization_url":"https://a.example.com/t","verification_tokens":{"openai":"VT-LEAK"}}' \
        "scope"
bad_manifest "missing authorization_type" '{"type":"service_http","verification_tokens":{"openai":"VT-LEAK"}}' \
        "authorization_type"
bad_manifest "wrong type" '{"type":"service_http","authorization_type":7}' "authorization_type"
bad_manifest "wrong value" '{"type":"user_http","authorization_type":"digest"}' "authorization_type"
bad_manifest "type not a string" '{"type":["oauth"]}' "type"
bad_manifest "huge string" "{\"type\":\"service_http\",\"authorization_type\":\"bearer\",\"instructions\":\"$huge\",\"verification_tokens\":{\"openai\":\"VT-LEAK\"}}" \
        "instructions"
bad_manifest "unknown field" '{"type":"none","client_url":"https://a.example.com/"}' "client_url"
bad_manifest "verification token not a string" \
        '{"type":"service_http","authorization_type":"bearer","verification_tokens":{"openai":1}}' "verification_tokens"
bad_manifest "verification tokens for none" '{"type":"none","verification_tokens":{"openai":"VT-LEAK"}}' \
        "verification_tokens"
bad_manifest "whole manifest without auth" '{"name_for_model":"mutant","api":{"url":"https://a.example.com/"}}' "auth"
bad_manifest "whole manifest with a bad auth" \
        '{"name_for_model":"mutant","auth":{"type":"oauth","scope":"x","verification_tokens":{"openai":"VT-LEAK"}}}' \
        "manifest.auth"
bad_manifest "not JSON" '{"type":"none",VT-LEAK' "invalid JSON"
bad_manifest "not an object" '["VT-LEAK"]' "object"
bad_manifest "duplicate key" '{"type":"none","type":"oauth"}' "duplicate"
bad_manifest "empty" '' "invalid JSON"
{
        printf '{"type":"none","x":"'
        head -c 70000 /dev/zero | tr '\0' 'x'
        printf '"}'
} >"$T/manifest-huge"
expect "plugin add over 64 KiB" 2 "$T/manifest-huge" plugin add - --name mutant
err_has "plugin add over 64 KiB: says why" "65536"
expect "plugin add over 64 KiB: nothing stored" 3 $E plugin show mutant
expect "plugin add a missing file" 2 $E plugin add "$T/no-such-file" --name mutant
err_has "plugin add a missing file: names it" "no-such-file"
expect "plugin add a directory" 2 $E plugin add "$T" --name mutant
expect "plugin add a bad --name" 2 "$T/auth-none" plugin add - --name 'bad name'
expect "plugin add a bad --domain" 2 "$T/auth-none" plugin add - --name mutant --domain 'Bad_Domain!'
expect "plugin ls after bad manifests" 0 $E --json plugin ls
out_is_file "plugin ls after bad manifests: unchanged" "$T/plugins-before"

# ---- secret generate and verify: service tokens ----
expect "secret generate" 0 $E secret generate p-bearer service_token
out_matches "secret generate: 32 bytes as base64url, one line" '^[A-Za-z0-9_-]{43}$'
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "secret generate: not one line"
pass
gen=$(cat "$T/out")
expect "secret get of a generated value" 0 $E secret get p-bearer service_token
out_is_file "secret get of a generated value: the same, no newline" <(printf '%s' "$gen")
expect "secret generate --bytes 16" 0 $E secret generate p-bearer short --bytes 16
out_matches "secret generate --bytes 16" '^[A-Za-z0-9_-]{22}$'
expect "secret generate --bytes 64 --json" 0 $E --json secret generate p-bearer long --bytes 64
out_matches "secret generate --json" '^\{"plugin":"p-bearer","name":"long","version":1,"value":"[A-Za-z0-9_-]{86}"\}$'
expect "secret generate --bytes 8" 2 $E secret generate p-bearer tiny --bytes 8
err_has "secret generate --bytes 8: names the field" "bytes"
expect "secret generate --bytes 8: nothing stored" 3 $E secret get p-bearer tiny

printf 'Bearer %s' "$gen" >"$T/hdr"
expect "secret verify" 0 "$T/hdr" secret verify p-bearer service_token
out_is "secret verify" "match version 1"
printf 'Bearer %s\n' "$gen" >"$T/hdr"
expect "secret verify with a final newline" 0 "$T/hdr" secret verify p-bearer service_token
printf 'Bearer %s\r\n' "$gen" >"$T/hdr"
expect "secret verify with a final CRLF" 0 "$T/hdr" secret verify p-bearer service_token
printf 'bearer %s' "$gen" >"$T/hdr"
expect "secret verify: the scheme is case-insensitive" 0 "$T/hdr" secret verify p-bearer service_token
printf 'Bearer %s\n\n' "$gen" >"$T/hdr"
expect "secret verify: only one newline is stripped" 2 "$T/hdr" secret verify p-bearer service_token
printf 'Bearer %sx' "$gen" >"$T/hdr"
expect "secret verify a wrong value" 6 "$T/hdr" secret verify p-bearer service_token
out_is "secret verify a wrong value" "no match"
printf 'Basic %s' "$gen" >"$T/hdr"
expect "secret verify: a bearer plugin wants Bearer" 6 "$T/hdr" secret verify p-bearer service_token
printf '%s' "$gen" >"$T/hdr"
expect "secret verify: a header without a scheme" 6 "$T/hdr" secret verify p-bearer service_token
expect "secret verify: empty" 6 $E secret verify p-bearer service_token
printf 'Bearer %s' "$gen" >"$T/hdr"
expect "secret verify --json" 0 "$T/hdr" --json secret verify p-bearer service_token
out_is "secret verify --json" '{"match":true,"version":1}'
printf 'Bearer nope' >"$T/hdr"
expect "secret verify --json no match" 6 "$T/hdr" --json secret verify p-bearer service_token
out_is "secret verify --json no match" '{"match":false,"version":null}'
err_lacks "secret verify no match: no value in the error" "$gen"
printf '%s' "$gen" >"$T/raw"
expect "secret verify --raw" 0 "$T/raw" secret verify p-bearer service_token --raw
out_is "secret verify --raw" "match version 1"
printf '%s\n' "$gen" >"$T/raw"
expect "secret verify --raw: exact bytes, a newline is part of it" 6 "$T/raw" secret verify p-bearer service_token --raw
printf 'Bearer %s' "$gen" >"$T/raw"
expect "secret verify --raw: a header is not the value" 6 "$T/raw" secret verify p-bearer service_token --raw
expect "secret verify --raw of binary" 0 "$T/binary" secret verify rt binary --raw
expect "secret verify --raw of an empty value" 0 $E secret verify rt empty --raw
expect "secret verify --raw of max" 0 "$T/max" secret verify rt max --raw
expect "secret verify --raw over the limit" 2 "$T/over" secret verify rt max --raw
expect "secret verify of a missing secret" 3 "$T/hdr" secret verify p-bearer nothing
printf 'Bearer a\0b' >"$T/hdr-nul"
expect "secret verify a header with a NUL" 2 "$T/hdr-nul" secret verify p-bearer service_token
err_has "secret verify a header with a NUL: says so" "NUL"
printf 'Bearer a\001b' >"$T/hdr-ctl"
expect "secret verify a header with a control character" 2 "$T/hdr-ctl" secret verify p-bearer service_token

expect "secret generate again" 0 $E secret generate p-bearer service_token
gen2=$(cat "$T/out")
[[ $gen2 != "$gen" ]] || fail "secret generate: the same value twice"
pass
printf 'Bearer %s' "$gen" >"$T/hdr"
expect "secret verify the replaced value" 6 "$T/hdr" secret verify p-bearer service_token
printf 'Bearer %s' "$gen2" >"$T/hdr"
expect "secret verify the new value" 0 "$T/hdr" secret verify p-bearer service_token
out_is "secret verify the new value" "match version 2"

# A plugin registered with authorization_type basic is presented "Basic X".
expect "secret generate basic" 0 $E secret generate p-basic service_token
genb=$(cat "$T/out")
printf 'Basic %s\n' "$genb" >"$T/hdr"
expect "basic plugin: Basic X matches" 0 "$T/hdr" secret verify p-basic service_token
printf 'Bearer %s\n' "$genb" >"$T/hdr"
expect "basic plugin: Bearer X does not" 6 "$T/hdr" secret verify p-basic service_token
expect "secret ls: generated values, metadata only" 0 $E secret ls p-bearer
out_matches "secret ls: a generated secret" '^p-bearer +service_token +2 '
out_lacks "secret ls: no generated value" "$gen2"

# ---- oauth verify-client ----
expect "oauth verify-client Basic" 0 <(printf 'Basic %s\n' "$(printf 'tasks-client:CS-canary' | base64 -w0)") \
        oauth verify-client tasks
out_is "oauth verify-client Basic" "match"
expect "oauth verify-client Basic --json" 0 <(printf 'Basic %s' "$(printf 'tasks-client:CS-canary' | base64 -w0)") \
        --json oauth verify-client tasks
out_is "oauth verify-client --json" '{"match":true}'
expect "oauth verify-client wrong secret" 6 <(printf 'Basic %s' "$(printf 'tasks-client:CS-wrong' | base64 -w0)") \
        oauth verify-client tasks
out_is "oauth verify-client wrong secret" "no match"
err_lacks "oauth verify-client wrong secret: no secret in the error" "CS-"
expect "oauth verify-client wrong id" 6 <(printf 'Basic %s' "$(printf 'other-client:CS-canary' | base64 -w0)") \
        oauth verify-client tasks
expect "oauth verify-client Bearer" 6 <(printf 'Bearer %s' "$(printf 'tasks-client:CS-canary' | base64 -w0)") \
        oauth verify-client tasks
expect "oauth verify-client not base64" 6 <(printf 'Basic !!!!') oauth verify-client tasks
expect "oauth verify-client --post" 0 \
        <(printf 'grant_type=authorization_code&code=abc&client_id=tasks-client&client_secret=CS-canary\n') \
        oauth verify-client tasks --post
out_is "oauth verify-client --post" "match"
expect "oauth verify-client --post wrong secret" 6 <(printf 'client_id=tasks-client&client_secret=CS-wrong') \
        oauth verify-client tasks --post
expect "oauth verify-client --post --json wrong" 6 <(printf 'client_secret=x&client_id=tasks-client') \
        --json oauth verify-client tasks --post
out_is "oauth verify-client --post --json wrong" '{"match":false}'
expect "oauth verify-client --post without client_secret" 2 <(printf 'client_id=tasks-client') \
        oauth verify-client tasks --post
err_has "oauth verify-client --post without client_secret: names it" "client_secret"
expect "oauth verify-client --post client_id twice" 2 \
        <(printf 'client_id=tasks-client&client_id=x&client_secret=CS-canary') oauth verify-client tasks --post
expect "oauth verify-client --post a bad escape" 2 <(printf 'client_id=tasks-client&client_secret=CS%%zz') \
        oauth verify-client tasks --post
expect "oauth verify-client --post an escaped NUL" 2 <(printf 'client_id=tasks-client&client_secret=CS%%00') \
        oauth verify-client tasks --post
# Form encoding: "+" is a space, %XX a byte; Basic parts are form-encoded too (RFC 6749 §2.3.1).
printf 'my client' | "$CLI" secret put enc client_id >/dev/null
printf 'p@ss w+rd&=' | "$CLI" secret put enc client_secret >/dev/null
expect "oauth verify-client --post decodes" 0 <(printf 'client_id=my+client&client_secret=p%%40ss+w%%2Brd%%26%%3D') \
        oauth verify-client enc --post
expect "oauth verify-client --post undecoded differs" 6 <(printf 'client_id=my+client&client_secret=p@ss w+rd') \
        oauth verify-client enc --post
expect "oauth verify-client Basic form-encoded parts" 0 \
        <(printf 'Basic %s' "$(printf 'my+client:p%%40ss+w%%2Brd%%26%%3D' | base64 -w0)") oauth verify-client enc
expect "oauth verify-client of a plugin without client credentials" 3 \
        <(printf 'Basic %s' "$(printf 'a:b' | base64 -w0)") oauth verify-client p-none

# ---- apikey: per-user API keys of a user_http plugin ----
printf 'AK-alice-canary' >"$T/ak-alice"
printf 'AK-bob-canary' >"$T/ak-bob"
printf 'AK-carol-canary' >"$T/ak-carol"
expect "apikey put" 0 "$T/ak-alice" apikey put p-user alice
out_is "apikey put" "p-user/alice version 1"
expect "apikey put --json" 0 "$T/ak-bob" --json apikey put p-user bob
out_is "apikey put --json" '{"plugin":"p-user","user":"bob","version":1}'
expect "apikey put of another plugin" 0 "$T/ak-carol" apikey put p-file carol
expect "apikey lookup" 0 "$T/ak-alice" apikey lookup p-user
out_is "apikey lookup: the user id" "alice"
expect "apikey lookup --json" 0 "$T/ak-bob" --json apikey lookup p-user
out_is "apikey lookup --json" '{"match":true,"user":"bob"}'
expect "apikey lookup --header" 0 <(printf 'Bearer AK-bob-canary\n') apikey lookup p-user --header
out_is "apikey lookup --header" "bob"
expect "apikey lookup --header of a raw key" 6 "$T/ak-bob" apikey lookup p-user --header
expect "apikey lookup: a header is not a key" 6 <(printf 'Bearer AK-bob-canary') apikey lookup p-user
expect "apikey lookup: exact bytes" 6 <(printf 'AK-bob-canary\n') apikey lookup p-user
expect "apikey lookup an unknown key" 6 <(printf 'AK-nobody') apikey lookup p-user
[[ ! -s $T/out ]] || fail "apikey lookup an unknown key: printed a user"
pass
err_has "apikey lookup an unknown key: says so" "no match"
err_lacks "apikey lookup an unknown key: no key in the error" "AK-nobody"
expect "apikey lookup --json of an unknown key" 6 <(printf 'AK-nobody') --json apikey lookup p-user
out_is "apikey lookup --json of an unknown key" '{"match":false,"user":null}'
expect "apikey lookup: another plugin's key" 6 "$T/ak-carol" apikey lookup p-user
expect "apikey lookup: empty" 6 $E apikey lookup p-user
expect "apikey put a key of another user" 10 "$T/ak-alice" apikey put p-user mallory
err_has "apikey put a key of another user: says so" "another user"
err_lacks "apikey put a key of another user: no key in the error" "AK-alice-canary"
expect "apikey put a key of another user: still alice's" 0 "$T/ak-alice" apikey lookup p-user
out_is "apikey put a key of another user: still alice's" "alice"
expect "apikey put empty" 2 $E apikey put p-user dave
expect "apikey put over the limit" 2 "$T/over" apikey put p-user dave
expect "apikey ls" 0 $E apikey ls p-user
out_matches "apikey ls: header" '^USER +VERSION +UPDATED$'
out_matches "apikey ls: alice" "^alice +1 +$ISO\$"
out_matches "apikey ls: bob" "^bob +1 +$ISO\$"
out_lacks "apikey ls: not mallory" "mallory"
out_lacks "apikey ls: not another plugin's user" "carol"
[[ $(wc -l <"$T/out") -eq 3 ]] || fail "apikey ls: expected a header and 2 rows"
pass
for v in AK-alice-canary AK-bob-canary; do
        out_lacks "apikey ls: no key" "$v"
done
expect "apikey ls --json" 0 $E --json apikey ls p-user
out_matches "apikey ls --json" '^\[\{"user":"alice","version":1,"created":[0-9]+,"updated":[0-9]+\},\{"user":"bob",'
out_lacks "apikey ls --json: no key" "AK-"
printf 'AK-alice-2-canary' >"$T/ak-alice2"
expect "apikey put a new key" 0 "$T/ak-alice2" apikey put p-user alice
out_is "apikey put a new key" "p-user/alice version 2"
expect "apikey lookup the old key" 6 "$T/ak-alice" apikey lookup p-user
expect "apikey lookup the new key" 0 "$T/ak-alice2" apikey lookup p-user
expect "apikey rm" 0 $E apikey rm p-user bob
[[ ! -s $T/out ]] || fail "apikey rm: printed something"
pass
expect "apikey lookup after rm" 6 "$T/ak-bob" apikey lookup p-user
expect "apikey rm again" 3 $E apikey rm p-user bob
expect "apikey ls after rm" 0 $E --json apikey ls p-user
out_lacks "apikey ls after rm" '"bob"'
expect "apikey ls of none" 0 $E --json apikey ls nothing-here
out_is "apikey ls of none" '[]'

# ---- plugin rm: everything of the plugin, only with --yes ----
expect "plugin rm without --yes" 2 $E plugin rm tasks
err_has "plugin rm without --yes: says what it would remove" "4 secrets, 3 token sets and 1 API key"
err_has "plugin rm without --yes: says how" "--yes"
expect "plugin rm without --yes: still there" 0 $E plugin show tasks
out_matches "plugin rm without --yes: its secrets kept" '^secrets: +4$'
expect "plugin rm without --yes: a secret kept" 0 $E secret get tasks client_secret
expect "plugin rm --yes" 0 $E plugin rm tasks --yes
[[ ! -s $T/out ]] || fail "plugin rm --yes: printed something"
pass
expect "plugin show after rm" 3 $E plugin show tasks
expect "plugin manifest after rm" 3 $E plugin manifest tasks
expect "secret get after plugin rm" 3 $E secret get tasks client_secret
expect "secret get of a verification token after plugin rm" 3 $E secret get tasks verification_token:openai
expect "token get after plugin rm" 3 $E token get tasks user-valid
expect "token ls after plugin rm" 0 $E --json token ls tasks
out_is "token ls after plugin rm" '[]'
expect "apikey ls after plugin rm" 0 $E --json apikey ls tasks
out_is "apikey ls after plugin rm" '[]'
expect "apikey lookup after plugin rm" 6 "$T/ak-tasks" apikey lookup tasks
expect "plugin ls after rm" 0 $E plugin ls
out_lacks "plugin ls after rm" "tasks.example.com"
out_matches "plugin ls after rm: the others stay" "^tasks-evil +oauth +evil.example.net "
expect "secret get of another plugin after rm" 0 $E secret get enc client_id
expect "plugin rm again" 3 $E plugin rm tasks --yes
expect "plugin rm of nothing without --yes" 3 $E plugin rm nothing-here
# The name is free again, for any domain.
expect "plugin add after rm" 0 $E plugin add "$T/manifest-evil"
out_is "plugin add after rm: a new plugin" "tasks version 1"

# ---- the audit trail ----
# Everything above left records: reads are batched for up to 250 ms, and
# audit.list flushes the batch first, so all of them show.
expect "audit" 0 $E audit
TS='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}'
out_matches "audit: a secret put" "^$TS  uid=0 pid=[0-9]+  secret\\.put rt/text  ok\$"
out_matches "audit: a secret get, revealed" "^$TS  uid=0 pid=[0-9]+  secret\\.get rt/text  ok  revealed\$"
out_matches "audit: a miss" "^$TS  uid=0 pid=[0-9]+  secret\\.get [^ ]+  not_found\$"
out_matches "audit: health, no plugin" "^$TS  uid=0 pid=[0-9]+  health  ok\$"
out_lacks "audit: never a value" "s3cr3t-VALUE-canary"
out_lacks "audit: never a value (2)" "hello"
n_text=$(wc -l <"$T/out")
[[ $n_text -gt 100 ]] || fail "audit: only $n_text records, expected more than a page"
pass

expect "audit --json" 0 $E audit --json
n_json=$(wc -l <"$T/out")
# The records of the audit.list calls themselves come after: at least as many.
[[ $n_json -ge $n_text ]] || fail "audit --json: $n_json records, text had $n_text"
pass
grep -vqE '^\{"seq":[0-9]+,"time_us":[0-9]+,"uid":[0-9]+,"gid":[0-9]+,"pid":[0-9]+,"unit":(null|"[^"]*"),"op":"[^"]+","plugin":(null|"[^"]*"),"object":(null|"[^"]*"),"result":"[a-z_]+","revealed":(true|false)\}$' \
        "$T/out" && fail "audit --json: a line that is not one record"
pass
out_lacks "audit --json: never a value" "s3cr3t-VALUE-canary"
out_lacks "audit --json: never a value (base64)" "$(printf 's3cr3t-VALUE-canary' | base64)"
# Pages follow on: every seq once, in order, from 1.
grep -oE '^\{"seq":[0-9]+' "$T/out" | grep -oE '[0-9]+$' >"$T/seqs"
sort -n -c -u "$T/seqs" 2>/dev/null || fail "audit --json: seqs not in order, or repeated"
pass
[[ $(head -n 1 "$T/seqs") -eq 1 ]] || fail "audit --json: the first record is not seq 1"
pass
[[ $(tail -n 1 "$T/seqs") -eq $(wc -l <"$T/seqs") ]] || fail "audit --json: seqs have gaps"
pass

expect "audit --plugin rt" 0 $E audit --plugin rt
grep -vqE "^$TS  uid=0 pid=[0-9]+  [a-z._]+ rt(/[^ ]+)?  " "$T/out" && fail "audit --plugin rt: another plugin's record"
pass
out_has "audit --plugin rt: rt's records" " rt/text  ok"
expect "audit --op secret.get" 0 $E audit --op secret.get
grep -vqE "^$TS  uid=0 pid=[0-9]+  secret\\.get " "$T/out" && fail "audit --op secret.get: another op"
pass
out_has "audit --op secret.get: a get" "secret.get rt/text  ok  revealed"
# The credential socket's records are an op to filter on (none here).
expect "audit --op credential.load" 0 $E audit --op credential.load
expect "audit --op, --plugin together" 0 $E audit --op secret.put --plugin rt --json
out_matches "audit --op, --plugin: both hold" '"op":"secret.put","plugin":"rt"'
grep -vqF '"op":"secret.put","plugin":"rt"' "$T/out" && fail "audit --op, --plugin: a record of another"
pass
expect "audit --principal uid:0" 0 $E audit --principal uid:0 --json
[[ $(wc -l <"$T/out") -ge $n_json ]] || fail "audit --principal uid:0: not every record"
pass
expect "audit --principal user:root" 0 $E audit --principal user:root --op secret.put
out_has "audit --principal user:root: root's records" "secret.put rt/text  ok"
expect "audit --principal uid:4242" 0 $E audit --principal uid:4242
out_is_file "audit --principal uid:4242: nobody's" /dev/null
expect "audit --principal weather.service" 0 $E audit --principal weather.service
out_is_file "audit --principal weather.service: no such unit asked" /dev/null
expect "audit --since 1h" 0 $E audit --since 1h --op secret.put --plugin rt
out_has "audit --since 1h: this run's records" "secret.put rt/text  ok"
expect "audit --until 2000-01-01" 0 $E audit --until 2000-01-01
out_is_file "audit --until 2000-01-01: none" /dev/null
expect "audit --since tomorrow" 0 $E audit --since "@$(($(date +%s) + 86400))"
out_is_file "audit --since tomorrow: none" /dev/null
expect "audit --since 2000-01-01T00:00:00+02:00" 0 $E audit --since 2000-01-01T00:00:00+02:00 --op secret.put
out_has "audit --since with an offset" "secret.put rt/text  ok"
expect "audit: an op name too long" 2 $E audit --op "$(printf 'x%.0s' $(seq 40))"
expect "audit: unreachable" 5 $E --socket /nonexistent/sock audit
# Records of ~950 bytes of JSON each (a 128-byte plugin name, a user id of
# 256 '"', escaped): a page ends before the reply outgrows a frame, and
# the walk goes on from there.
big_plugin=$(printf 'p%.0s' $(seq 128))
big_user=$(printf '"%.0s' $(seq 256))
for _ in $(seq 120); do
        run $E token get "$big_plugin" "$big_user"
done
expect "audit: large records" 0 $E audit --since 30s --plugin "$big_plugin" --op token.get
[[ $(grep -cF " token.get $big_plugin/$big_user  not_found" "$T/out") -eq 120 ]] ||
        fail "audit: large records: $(wc -l <"$T/out") lines, want the 120 token.get"
pass
expect "audit --json: large records" 0 $E audit --since 30s --json
[[ $(grep -cF '"op":"token.get","plugin":"'"$big_plugin"'"' "$T/out") -eq 120 ]] ||
        fail "audit --json: large records: not all 120"
pass

# ---- audit verify ----
expect "audit verify" 0 $E audit verify
out_matches "audit verify: intact" '^audit trail intact: [0-9]+ records \(seq 1\.\.[0-9]+\)$'
expect "audit verify --json" 0 $E audit verify --json
out_matches "audit verify --json" '^\{"intact":true,"records":[0-9]+,"anchor_seq":0,"first_seq":1,"last_seq":[0-9]+\}$'

# ---- audit prune ----
expect "audit prune: before the first record" 0 $E audit prune --before 2000-01-01
out_is "audit prune: nothing to remove" "removed 0 records; the chain now starts after record 0"
expect "audit prune: in the future" 2 $E audit prune --before "@$(($(date +%s) + 86400))"
sleep 1
expect "audit prune --before now" 0 $E audit prune --before "@$(date +%s)" --json
out_matches "audit prune --json" '^\{"removed":[1-9][0-9]*,"anchor_seq":[1-9][0-9]*\}$'
anchor=$(grep -oE '"anchor_seq":[0-9]+' "$T/out" | grep -oE '[0-9]+$')
expect "audit verify after prune" 0 $E audit verify
out_matches "audit verify after prune: from the anchor" \
        "^audit trail intact: [0-9]+ records? \\(seq $((anchor + 1))\\.\\.[0-9]+, pruned through $anchor\\)\$"
expect "audit after prune" 0 $E audit --json
[[ $(head -n 1 "$T/out" | grep -oE '^\{"seq":[0-9]+' | grep -oE '[0-9]+$') -eq $((anchor + 1)) ]] ||
        fail "audit after prune: the first record is not the one after the anchor"
pass
out_has "audit after prune: the prune recorded, with its anchor" "\"op\":\"audit.prune\",\"plugin\":null,\"object\":\"through $anchor\""
expect "audit prune again: nothing older" 0 $E audit prune --before 2000-01-01
out_is "audit prune again: the anchor stays" "removed 0 records; the chain now starts after record $anchor"

# ---- KEK rotation: rotate, rewrap, status, retire ----
# Every record's data key is wrapped by a KEK. Records stored before a
# rotation stay readable under the old KEK, a rewrap moves them all to the
# primary, and a KEK that wraps nothing can be retired.
kek_column() { # kek_column STATE|VERSION N: column N of the KEK row with that state or version
        local version state records _
        while read -r version state records _; do
                if [[ $version == "$1" || $state == "$1" ]]; then
                        case $2 in 1) echo "$version" ;; 3) echo "$records" ;; esac
                        return
                fi
        done <"$T/out"
}
printf 'kek-before-canary' >"$T/kek-a"
printf 'kek-between-canary' >"$T/kek-b"
expect "kek: a secret before rotating" 0 "$T/kek-a" secret put kek a
expect "kek: a binary secret before rotating" 0 "$T/binary" secret put kek bin
printf '{"access_token":"kek-AT-canary","token_type":"Bearer","expires_in":86400}' >"$T/kek-tok"
expect "kek: a token set before rotating" 0 "$T/kek-tok" token put kek alice
printf 'kek-AK-canary' >"$T/kek-ak"
expect "kek: an API key before rotating" 0 "$T/kek-ak" apikey put kek bob

expect "key status" 0 $E key status
out_matches "key status: the header" '^VERSION +STATE +RECORDS +CREATED$'
out_matches "key status: one primary" "^[0-9]+ +primary +[1-9][0-9]* +$ISO\$"
out_is "key status: one KEK, idle" "$(head -n 2 "$T/out")
rewrap: not running; every record is on the primary KEK"
k1=$(kek_column primary 1)
n1=$(kek_column "$k1" 3)
expect "key status --json" 0 $E key status --json
# One line, one KEK, the members in any order.
[[ $(wc -l <"$T/out") -eq 1 && $(grep -o '"version":' "$T/out" | wc -l) -eq 1 ]] ||
        fail "key status --json: not one line with one KEK"
pass
for m in "\"version\":$k1" '"state":"primary"' "\"records\":$n1" '"created":[0-9]+' '"running":false' '"remaining":0' \
        '"done":[0-9]+' '"rate":0(\.0)?[,}]' '"started_at":(null|[0-9]+)'; do
        out_matches "key status --json: $m" "$m"
done

expect "key rotate" 0 $E key rotate
k2=$((k1 + 1))
out_is "key rotate: the new primary" \
        "primary KEK: version $k2; version $k1 stays active until its records are rewrapped (credvault key rewrap)"
expect "kek: a secret between rotations" 0 "$T/kek-b" secret put kek b
expect "key rotate --json" 0 $E key rotate --json
k3=$((k2 + 1))
out_is "key rotate --json" "{\"primary\":$k3,\"previous\":$k2}"
expect "status after rotating" 0 $E status
out_matches "status after rotating: the primary" "^primary KEK: version $k3\$"
expect "key status after rotating" 0 $E key status
out_matches "key status after rotating: the old primary active" "^$k1 +active +$n1 +$ISO\$"
out_matches "key status after rotating: the second active" "^$k2 +active +1 +$ISO\$"
out_matches "key status after rotating: the new primary, empty" "^$k3 +primary +0 +$ISO\$"
out_matches "key status after rotating: records on older KEKs" \
        "^rewrap: not running; $((n1 + 1)) records on older KEKs \\(credvault key rewrap\\)\$"
# Records under an active KEK are read as before.
expect "kek: secret get under an active KEK" 0 $E secret get kek a
out_is_file "kek: secret get under an active KEK: byte-exact" "$T/kek-a"
expect "kek: secret get of the second" 0 $E secret get kek b
out_is_file "kek: secret get of the second: byte-exact" "$T/kek-b"

# Retiring: never the primary, never a KEK that still wraps records.
expect "key retire: the primary" 10 $E key retire "$k3"
err_has "key retire: the primary: says so" "KEK $k3 is the primary"
expect "key retire: still wrapping" 10 $E key retire "$k1"
err_has "key retire: still wrapping: says how many" "KEK $k1 still wraps $n1 records: run credvault key rewrap"
expect "key retire: no such version" 3 $E key retire 999999

expect "key rewrap --wait" 0 $E key rewrap --wait
grep -vqE '^\{"remaining":[0-9]+,"done":[0-9]+,"rate":[0-9]+\}$' "$T/out" &&
        fail "key rewrap --wait: a line that is not one poll"
pass
[[ $(tail -n 1 "$T/out") =~ ^\{\"remaining\":0,\"done\":$((n1 + 1)),\"rate\":[0-9]+\}$ ]] ||
        fail "key rewrap --wait: the last poll is not every record done"
pass
err_lacks "key rewrap --wait: no progress bar off a terminal" "rewrap ["
expect "key status after the rewrap" 0 $E key status
out_matches "key status after the rewrap: the old KEK empty" "^$k1 +active +0 +$ISO\$"
out_matches "key status after the rewrap: the second empty" "^$k2 +active +0 +$ISO\$"
out_matches "key status after the rewrap: all on the primary" "^$k3 +primary +$((n1 + 1)) +$ISO\$"
out_has "key status after the rewrap: done" "rewrap: not running; every record is on the primary KEK"
expect "key status --json after the rewrap" 0 $E key status --json
out_matches "key status --json after the rewrap: idle" '"running":false'
out_matches "key status --json after the rewrap: nothing left" '"remaining":0[,}]'
expect "key rewrap: nothing to do" 0 $E key rewrap
out_is "key rewrap: nothing to do" "nothing to rewrap: every record is on the primary KEK"
expect "key rewrap --json: nothing to do" 0 $E key rewrap --json
# Running or not: the daemon may start a rewrap that ends at once.
out_matches "key rewrap --json: nothing to do" '^\{"running":(true|false),"remaining":0\}$'
expect "key rewrap --wait --json: nothing to do" 0 $E key rewrap --wait --json
out_matches "key rewrap --wait --json: one poll" '^\{"remaining":0,"done":[0-9]+,"rate":[0-9]+\}$'

expect "key retire" 0 $E key retire "$k1"
out_is "key retire" "KEK version $k1 retired"
expect "key retire --json" 0 $E key retire "$k2" --json
out_is "key retire --json" "{\"retired\":$k2}"
expect "key status after retiring" 0 $E key status
out_matches "key status after retiring: retired" "^$k1 +retired +0 +$ISO\$"
out_matches "key status after retiring: the second retired" "^$k2 +retired +0 +$ISO\$"
expect "kek: secret get after rewrap and retire" 0 $E secret get kek a
out_is_file "kek: secret get after rewrap and retire: byte-exact" "$T/kek-a"
expect "kek: binary secret after rewrap and retire" 0 $E secret get kek bin
out_is_file "kek: binary secret after rewrap and retire: byte-exact" "$T/binary"
expect "kek: token set after rewrap and retire" 0 $E token get kek alice
out_has "kek: token set after rewrap and retire: the token" "kek-AT-canary"
expect "kek: API key after rewrap and retire" 0 "$T/kek-ak" apikey lookup kek
out_is "kek: API key after rewrap and retire: its user" "bob"
expect "kek: a write after retiring" 0 "$T/kek-b" secret put kek c

# On a terminal: a progress bar on stderr, redrawn in place, and one line
# of text at the end (script(1) gives the command a terminal).
if command -v script >/dev/null; then
        expect "key rotate for the terminal" 0 $E key rotate
        rc=0
        script -qec "$CLI key rewrap --wait" /dev/null </dev/null >"$T/out" 2>"$T/err" || rc=$?
        [[ $rc -eq 0 ]] || fail "key rewrap --wait on a terminal: exit status $rc"
        pass
        out_matches "key rewrap --wait on a terminal: the bar" \
                'rewrap \[#{30}\] 100% [0-9]+/[0-9]+ [0-9]+/s [0-9hms?]+ left'
        out_has "key rewrap --wait on a terminal: the bar is redrawn" $'\r'"rewrap ["
        out_has "key rewrap --wait on a terminal: done" "rewrap done: every record is on the primary KEK"
        out_lacks "key rewrap --wait on a terminal: no JSON" '{"remaining"'
fi
expect "audit: the key ops recorded" 0 $E audit --op key.rotate
out_matches "audit: key.rotate" "^$TS  uid=0 pid=[0-9]+  key\\.rotate  ok\$"

# ---- secret rotation with overlap: rotate, promote, history, get --stage ----
printf 'rot-old-canary' >"$T/rot-old"
printf 'rot-new-canary' >"$T/rot-new"
printf 'Bearer rot-old-canary' >"$T/rot-old-bearer"
printf 'Bearer rot-new-canary' >"$T/rot-new-bearer"
expect "rotate: the first value" 0 "$T/rot-old" secret put rot tok
expect "promote with nothing pending" 3 $E secret promote rot tok
err_has "promote with nothing pending: says so" "no pending version of secret 'tok' for plugin 'rot'"
expect "rotate from stdin" 0 "$T/rot-new" secret rotate rot tok --grace 1h
out_is "rotate: version and stage" "rot/tok version 2 staged as pending"
out_lacks "rotate: no value printed" "canary"
expect "get --stage pending" 0 $E secret get rot tok --stage pending
out_is_file "get --stage pending: byte-exact" "$T/rot-new"
expect "get --stage current" 0 $E secret get rot tok --stage current
out_is_file "get --stage current: byte-exact" "$T/rot-old"
expect "pending is not accepted yet" 6 "$T/rot-new-bearer" secret verify rot tok
expect "history" 0 $E secret history rot tok
out_matches "history: the header" '^VERSION +STAGE +CREATED +VALID UNTIL / GRACE$'
out_matches "history: pending with its grace" "^2 +pending +$ISO +grace 1h\$"
out_matches "history: current" "^1 +current +$ISO +-\$"
out_lacks "history: never a value" "canary"
expect "promote" 0 $E secret promote rot tok
out_matches "promote: says both" "^rot/tok version 2 is current; version 1 stays valid until $ISO\$"
expect "verify: the new value is current" 0 "$T/rot-new-bearer" secret verify rot tok
out_is "verify: current" "match version 2"
expect "verify: the old value in its grace" 0 "$T/rot-old-bearer" secret verify rot tok
out_is "verify: previous says so" "match version 1 (previous)"
expect "verify --json: the stage" 0 "$T/rot-old-bearer" --json secret verify rot tok
out_has "verify --json: previous" '"stage":"previous"'
expect "get --stage previous" 0 $E secret get rot tok --stage previous
out_is_file "get --stage previous: byte-exact" "$T/rot-old"
expect "get --stage previous --json" 0 $E --json secret get rot tok --stage previous
out_has "get --json: the stage" '"stage":"previous"'
expect "history --json" 0 $E --json secret history rot tok
out_matches "history --json: previous with its deadline" '"stage":"previous","deadline":[0-9]+'
out_lacks "history --json: never a value" "canary"
expect "get --stage pending after promote" 3 $E secret get rot tok --stage pending
err_has "get --stage pending: names the stage" "no pending version of secret 'tok' for plugin 'rot'"
# Generated, a grace of 0: the old value is gone at once.
expect "rotate --generate" 0 $E secret rotate rot tok --generate --grace 0
out_matches "rotate --generate: the value alone on stdout" '^[A-Za-z0-9_-]{43}$'
err_has "rotate --generate: what was done on stderr" "rot/tok version 3 staged as pending"
cp "$T/out" "$T/rot-gen"
expect "rotate --generate=16 --json" 0 $E --json secret rotate rot tok2 --generate=16
out_matches "rotate --generate=16 --json" '"version":1,"stage":"pending","value":"[A-Za-z0-9_-]{22}"'
expect "promote --grace 0 --json" 0 $E --json secret promote rot tok --grace 0
out_matches "promote --json" '"version":3,"previous_version":2,"previous_deadline":[0-9]+'
expect "the old value after a grace of 0" 6 "$T/rot-new-bearer" secret verify rot tok
{ printf 'Bearer '; tr -d '\n' <"$T/rot-gen"; } >"$T/rot-gen-bearer"
expect "the generated value is current" 0 "$T/rot-gen-bearer" secret verify rot tok
expect "promote a first version" 0 $E secret promote rot tok2
out_is "promote a first version: no previous" "rot/tok2 version 1 is current (there was no version before it)"
# Bad usage: nothing sent.
expect "--grace not a duration" 2 "$T/rot-new" secret rotate rot tok --grace soon
err_has "--grace: says what it wants" "--grace: 'soon' is not a DURATION"
expect "--grace over a year" 2 "$T/rot-new" secret rotate rot tok --grace 367d
expect "--stage unknown" 2 $E secret get rot tok --stage older
err_has "--stage: says what it wants" "not current, previous or pending"
expect "--generate not for promote" 2 $E secret promote rot tok --generate
expect "--stage not for verify" 2 "$T/rot-new-bearer" secret verify rot tok --stage previous
expect "--generate=0" 2 $E secret rotate rot tok --generate=0
expect "--generate=8: the daemon's range" 2 $E secret rotate rot tok --generate=8
# rm takes every stage.
expect "rotate before rm" 0 "$T/rot-new" secret rotate rot tok
expect "rm with a pending and a previous version" 0 $E secret rm rot tok
expect "history after rm" 3 $E secret history rot tok
expect "audit: rotate and promote recorded" 0 $E audit --op secret.promote --plugin rot
out_matches "audit: secret.promote" "secret\\.promote rot/tok  ok\$"
expect "audit --op secret.expire is a filter" 0 $E audit --op secret.expire

# ---- a second daemon of our own ----
# d2_start STATE-DIR [ARG...]: the same binary and root key as the
# harness's daemon, its own state and socket ($T/d2.sock).
d2_start() {
        local state=$1
        shift
        [[ -d $state ]] || mkdir -m 0700 "$state"
        "$CREDVAULTD" --state-dir "$state" --root-key-file "$CV_ROOT_KEY" --socket "$T/d2.sock" "$@" \
                >>"$T/d2.log" 2>&1 &
        d2_pid=$!
        for _ in $(seq 100); do
                [[ -S $T/d2.sock ]] && "$CLI" --socket "$T/d2.sock" status >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        fail "second daemon did not start: $(tail -n 3 "$T/d2.log")"
}
d2_stop() {
        kill "$d2_pid"
        local pid=$d2_pid
        d2_pid=
        wait "$pid" || fail "second daemon did not exit cleanly: $(tail -n 3 "$T/d2.log")"
        rm -f "$T/d2.sock"
}
# ---- a policy in force: root no admin, one grant ----
printf '{"version":1,"admins":[],"principals":{"uid:0":{"plugins":{"weather-*":["read","verify"]}}}}\n' \
        >"$T/policy-d2"
chmod 0644 "$T/policy-d2"
d2_start "$T/d2p-state" --policy "$T/policy-d2"
expect "policy: whoami" 0 $E --socket "$T/d2.sock" whoami
out_matches "policy: whoami: no admin" '^admin: +no$'
out_matches "policy: whoami: the principal" '^principals: +uid:0$'
out_matches "policy: whoami: the grant" '^  weather-\*  +read, verify$'
out_has "policy: whoami: the file" "policy:      $T/policy-d2"
out_matches "policy: whoami: the bucket" '^rate limit: +1000 requests/s, burst 2000 \(as uid:0\)$'
expect "policy: whoami --json" 0 $E --socket "$T/d2.sock" whoami --json
out_has "policy: whoami --json: the grant" '"grants":[{"plugins":"weather-*","classes":["read","verify"]}]'
out_has "policy: whoami --json: no admin" '"admin":false,"admin_by":null'
expect "policy: status" 0 $E --socket "$T/d2.sock" status
out_matches "policy: status: the file" "^policy: +$T/policy-d2 \\(1 principal\\), loaded [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\$"
expect "policy: a write not granted" 4 "$T/text" --socket "$T/d2.sock" secret put weather-x n
err_has "policy: a write not granted: says which" "denied: write on plugin 'weather-x'"
expect "policy: a read granted" 3 $E --socket "$T/d2.sock" secret get weather-x n
expect "policy: a read elsewhere" 4 $E --socket "$T/d2.sock" secret get todo n
expect "policy: audit, not admin" 4 $E --socket "$T/d2.sock" audit
err_has "policy: audit, not admin: says why" "denied"
expect "policy: audit verify, not admin" 4 $E --socket "$T/d2.sock" audit verify
expect "policy: audit prune, not admin" 4 $E --socket "$T/d2.sock" audit prune --before 1h
expect "policy: key status, not admin" 4 $E --socket "$T/d2.sock" key status
expect "policy: key rotate, not admin" 4 $E --socket "$T/d2.sock" key rotate
expect "policy: key rewrap --wait, not admin" 4 $E --socket "$T/d2.sock" key rewrap --wait
# A reload that fails leaves the old policy, and status says why.
printf '{"version":1,"frobnicate":true}\n' >"$T/policy-d2"
kill -HUP "$d2_pid"
for _ in $(seq 100); do
        run $E --socket "$T/d2.sock" status
        grep -qF "last reload failed: " "$T/out" && break
        sleep 0.05
done
out_matches "policy: status after a bad reload" '^ +last reload failed: .*frobnicate'
expect "policy: the old policy stays" 3 $E --socket "$T/d2.sock" secret get weather-x n
expect "policy: status --json after a bad reload" 0 $E --socket "$T/d2.sock" status --json
out_matches "policy: status --json: the reload error" '"reload_error":"[^"]*frobnicate'
# A rate limit used up: exit 11, and the message says when to try again.
printf '{"version":1,"admins":[],"principals":{"uid:0":{"plugins":{"weather-*":["read"]},"rate_limit":{"rate":1,"burst":2}}}}\n' \
        >"$T/policy-d2"
kill -HUP "$d2_pid"
for _ in $(seq 100); do
        run $E --socket "$T/d2.sock" whoami
        grep -qE '^rate limit: +1 requests/s, burst 2' "$T/out" && break
        sleep 0.05
done
out_matches "rate limit: reloaded" '^rate limit: +1 requests/s, burst 2'
# A burst of 2 at 1 a second: of ten calls in a row some must be refused,
# however slowly a loaded machine runs them (a fixed count of calls in a
# row was not: a slow machine refilled the bucket between them).
for _ in $(seq 10); do
        run $E --socket "$T/d2.sock" secret get weather-x n
        [[ $rc -eq 11 ]] && break
done
[[ $rc -eq 11 ]] || fail "rate limit: ten calls in a row, none refused (exit status $rc, expected 11)"
pass
err_has "rate limit: when to try again" 'rate limit of uid:0: 1 requests a second (retry after '
d2_stop

# ---- a tampered trail: verify says where ----
# The daemon holds its database exclusively, so this uses the second
# daemon: records made, the daemon stopped, one record edited with sqlite3
# as an attacker with the database but not the root key could, the daemon
# started again.
if command -v sqlite3 >/dev/null; then
        d2_start "$T/d2-state"
        for i in 1 2 3 4 5; do
                expect "second daemon: secret put $i" 0 "$T/text" --socket "$T/d2.sock" secret put tp "n$i"
        done
        d2_stop
        sqlite3 "$T/d2-state/credvault.db" "UPDATE audit SET uid = 4242 WHERE seq = 3" || fail "editing the audit table"
        pass
        d2_start "$T/d2-state"
        expect "audit verify: an edited record" 1 $E --socket "$T/d2.sock" audit verify
        out_matches "audit verify: an edited record: where" '^audit trail broken at record 3: .+'
        expect "audit verify --json: an edited record" 1 $E --socket "$T/d2.sock" audit verify --json
        out_matches "audit verify --json: an edited record" '^\{"intact":false,.*"bad_seq":3,"problem":"[^"]+"\}$'
        # The record shows as it now is: the trail is read, not trusted.
        expect "audit of an edited trail" 0 $E --socket "$T/d2.sock" audit --principal uid:4242
        out_matches "audit of an edited trail: the edit" '^.*uid=4242 .*secret\.put tp/n[0-9]  ok$'
        d2_stop
        # 45,000 records of another kind after tp's: the daemon reads a
        # bounded number a call, so some pages hold none of tp's and still
        # go on; the command pages through them to the end.
        sqlite3 "$T/d2-state/credvault.db" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c
                WHERE i < 45000) INSERT INTO audit SELECT (SELECT max(seq) FROM audit) + i, (SELECT max(time_usec)
                FROM audit), 0, 0, 1, NULL, 'health', NULL, NULL, 'ok', 0, zeroblob(32) FROM c" ||
                fail "adding records to the audit table"
        pass
        d2_start "$T/d2-state"
        expect "second daemon: secret put after many records" 0 "$T/text" --socket "$T/d2.sock" secret put tp n6
        expect "audit: through pages of none" 0 $E --socket "$T/d2.sock" audit --plugin tp --op secret.put
        [[ $(wc -l <"$T/out") -eq 6 ]] || fail "audit: through pages of none: $(wc -l <"$T/out") records, want 6"
        pass
        out_matches "audit: through pages of none: the last" '^.*secret\.put tp/n6  ok$'
        d2_stop
fi

# ---- root key rotation and the recovery key ----
# On daemons of our own (the harness's keeps its key): key files made by
# key new-root-key, the recovery key written at creation, rotate-root,
# the old key refused at the next start, recovery with credvaultd
# --recover, and rotation on the development key.
rk_start() { # rk_start STATE-DIR ARG...: a daemon on $T/d2.sock
        local state=$1
        shift
        [[ -d $state ]] || mkdir -m 0700 "$state"
        "$CREDVAULTD" --state-dir "$state" --socket "$T/d2.sock" "$@" >>"$T/d2.log" 2>&1 &
        d2_pid=$!
        for _ in $(seq 100); do
                [[ -S $T/d2.sock ]] && "$CLI" --socket "$T/d2.sock" status >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        fail "daemon did not start: $(tail -n 3 "$T/d2.log")"
}
R="--socket $T/d2.sock"
RECOVERY_RE='^([0-9A-HJKMNP-TV-Z]{4}-){13}[0-9A-HJKMNP-TV-Z]{4}$'
expect "key new-root-key" 0 $E key new-root-key "$T/rk-a"
[[ $(stat -c %a "$T/rk-a") == 600 ]] || fail "key new-root-key: mode $(stat -c %a "$T/rk-a")"
grep -qE '^[0-9a-f]{64}$' "$T/rk-a" && [[ $(wc -c <"$T/rk-a") -eq 65 ]] || fail "key new-root-key: not 64 hex digits"
pass
out_lacks "key new-root-key: prints no key" "$(head -c 16 "$T/rk-a")"
cp -p "$T/rk-a" "$T/rk-a.copy"
expect "key new-root-key: never over a file" 10 $E key new-root-key "$T/rk-a"
cmp -s "$T/rk-a" "$T/rk-a.copy" || fail "key new-root-key changed an existing file"
pass
expect "key new-root-key: the file is needed" 2 $E key new-root-key

rk_start "$T/rk-state" --root-key-file "$T/rk-a" --recovery-key-file "$T/rk-rec1"
[[ $(stat -c %a "$T/rk-rec1") == 600 ]] && grep -qE "$RECOVERY_RE" "$T/rk-rec1" || fail "recovery key file"
pass
! grep -qF "$(cat "$T/rk-rec1")" "$T/d2.log" || fail "the recovery key is in the log"
pass
expect "rotate-root: a secret" 0 "$T/canary" $R secret put rk canary
expect "init: the vault has a recovery key" 0 $E $R init
out_has "init: says so" "has a recovery key already"
expect "key recovery-key: one exists" 10 $E $R key recovery-key
expect "key recovery-key --output: never over a file" 10 $E $R key recovery-key --replace --output "$T/rk-rec1"
expect "key recovery-key --replace --output" 0 $E $R key recovery-key --replace --output "$T/rk-rec2"
[[ $(stat -c %a "$T/rk-rec2") == 600 ]] && grep -qE "$RECOVERY_RE" "$T/rk-rec2" || fail "recovery key --output"
pass
out_lacks "key recovery-key --output: not on stdout" "$(head -c 9 "$T/rk-rec2")"
err_has "key recovery-key: keep it offline" "keep it offline"

expect "key new-root-key b" 0 $E key new-root-key "$T/rk-b"
expect "key rotate-root --new-key-file" 0 $E $R key rotate-root --new-key-file "$T/rk-b"
out_has "key rotate-root: says what next" "root key rotated"
out_lacks "key rotate-root: prints no key" "$(head -c 16 "$T/rk-b")"
expect "key rotate-root: the key in force" 10 $E $R key rotate-root --new-key-file "$T/rk-b"
err_has "key rotate-root: the key in force, says so" "the root key in force"
printf 'not a key\n' >"$T/rk-bad"
chmod 0600 "$T/rk-bad"
expect "key rotate-root: not a key" 2 $E $R key rotate-root --new-key-file "$T/rk-bad"
expect "key rotate-root: a file too big" 2 $E $R key rotate-root --new-key-file "$T/max"
expect "key rotate-root: a missing file" 1 $E $R key rotate-root --new-key-file "$T/nonexistent"
expect "key rotate-root without a file: not a dev vault" 2 $E $R key rotate-root
err_has "key rotate-root without a file: says so" "needs the new root key"
expect "key new-root-key (to be loosened)" 0 $E key new-root-key "$T/rk-644"
chmod 0644 "$T/rk-644"
expect "key rotate-root: a key file others can read" 4 $E $R key rotate-root --new-key-file "$T/rk-644"
err_has "key rotate-root: a key file others can read, says so" "has mode 0644"
expect "key new-root-key --json" 0 $E --json key new-root-key "$T/rk-json"
out_is "key new-root-key --json: the file" "{\"file\":\"$T/rk-json\"}"
expect "key new-root-key b2" 0 $E key new-root-key "$T/rk-b2"
expect "key rotate-root --json" 0 $E $R --json key rotate-root --new-key-file "$T/rk-b2"
out_is "key rotate-root --json: the answer" '{"rotated":true}'
expect "key rotate-root: back to b" 0 $E $R key rotate-root --new-key-file "$T/rk-b"
expect "key rotate-root: the value still opens" 0 $E $R secret get rk canary
out_is_file "key rotate-root: the value, byte-exact" "$T/canary"
expect "audit: key.rotate_root recorded" 0 $E $R audit --op key.rotate_root
out_matches "audit: key.rotate_root ok" "key\\.rotate_root  ok\$"
d2_stop

rc=0
"$CREDVAULTD" --state-dir "$T/rk-state" --socket "$T/d2.sock" --root-key-file "$T/rk-b2" >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 4 ]] || fail "start with the key of a rotation before: exit $rc, expected 4"
pass
err_has "start with the old key: says so" "from before the root key rotation at"
rk_start "$T/rk-state" --root-key-file "$T/rk-b"
expect "after a restart with the new key" 0 $E $R secret get rk canary
out_is_file "after a restart: the value" "$T/canary"
d2_stop

# The root key is lost: credvaultd --recover with the recovery key.
rm -f "$T/rk-b"
expect "key new-root-key c" 0 $E key new-root-key "$T/rk-c"
rc=0
"$CREDVAULTD" --recover --state-dir "$T/rk-state" --root-key-file "$T/rk-c" <"$T/rk-rec1" >"$T/out" 2>"$T/err" ||
        rc=$?
[[ $rc -eq 4 ]] || fail "--recover with a replaced recovery key: exit $rc, expected 4"
pass
err_has "--recover with a replaced recovery key: says so" "is not the recovery key of database"
rc=0
"$CREDVAULTD" --recover --state-dir "$T/rk-state" --root-key-file "$T/rk-c" <"$T/rk-rec2" >"$T/out" 2>"$T/err" ||
        rc=$?
[[ $rc -eq 0 ]] || fail "--recover: exit $rc: $(cat "$T/err")"
pass
out_has "--recover: says what it did" "no value was re-encrypted"
rk_start "$T/rk-state" --root-key-file "$T/rk-c"
expect "after --recover" 0 $E $R secret get rk canary
out_is_file "after --recover: the value" "$T/canary"
d2_stop

# A development vault: the daemon makes the new key; init gives a
# recovery key to a vault that has none.
rk_start "$T/rk-dev" --dev
expect "dev: a secret" 0 "$T/canary" $R secret put rk canary
cp "$T/rk-dev/dev-root.key" "$T/rk-dev-before"
expect "dev: key rotate-root" 0 $E $R key rotate-root
out_has "dev: key rotate-root: says so" "new development key"
! cmp -s "$T/rk-dev/dev-root.key" "$T/rk-dev-before" || fail "dev: the development key did not change"
pass
expect "init --recovery-key" 0 $E $R init --recovery-key "$T/rk-dev-rec"
grep -qE "$RECOVERY_RE" "$T/rk-dev-rec" || fail "init --recovery-key: the file"
pass
expect "init again: nothing to do" 0 $E $R init --recovery-key "$T/rk-dev-rec2"
[[ ! -e $T/rk-dev-rec2 ]] || fail "init again: left a file"
pass
expect "key recovery-key: to stdout" 0 $E $R key recovery-key --replace
out_matches "key recovery-key: the key on stdout" "$RECOVERY_RE"
d2_stop
rk_start "$T/rk-dev" --dev
expect "dev: after a restart" 0 $E $R secret get rk canary
out_is_file "dev: after a restart: the value" "$T/canary"
d2_stop
# ---- backup: a copy made while the daemon serves, and --verify ----
# The CLI makes the file (new, 0600) and passes the daemon its descriptor;
# --verify runs credvaultd --verify-backup with the root key given.
expect "--help lists backup" 0 $E --help
out_has "--help lists backup" "backup FILE | --verify FILE [--root-key-file F] [--state-dir D] [--dev]"
expect "backup FILE" 0 $E backup "$T/bk1.db"
out_matches "backup: what it copied" "^backup $T/bk1.db: [1-9][0-9]* records, [1-9][0-9]* bytes, in [0-9]+ ms\$"
[[ $(stat -c %a "$T/bk1.db") == 600 ]] || fail "backup: the file is not 0600"
pass
expect "backup: never over an existing file" 10 $E backup "$T/bk1.db"
err_has "backup: says the file exists" "$T/bk1.db exists"
ln -s "$T/bk-target" "$T/bk-link"
expect "backup: never through a symbolic link" 10 $E backup "$T/bk-link"
[[ ! -e $T/bk-target ]] || fail "backup: wrote through a symbolic link"
pass
expect "backup --json" 0 $E --json backup "$T/bk2.db"
for m in "\"file\":\"$T/bk2.db\"" '"records":[1-9]' '"pages":[1-9]' '"bytes":[1-9]' '"ms":[0-9]'; do
        out_matches "backup --json: $m" "$m"
done
expect "backup --verify" 0 $E backup --verify "$T/bk1.db" --root-key-file "$CV_ROOT_KEY"
out_matches "backup --verify: ok and the counts" "^$T/bk1.db: ok: [0-9]+ KEKs?, [0-9]+ secrets, .* audit trail of [0-9]+ records intact\$"
cmp -s "$T/bk1.db" "$T/bk1.db" || fail "backup --verify: changed the file"
cp "$T/bk1.db" "$T/bk1-before.db"
expect "backup --verify again" 0 $E backup --verify "$T/bk1.db" --root-key-file "$CV_ROOT_KEY"
cmp -s "$T/bk1.db" "$T/bk1-before.db" || fail "backup --verify: the file was modified"
pass
head -c 32 /dev/urandom >"$T/bk-wrong.key"
chmod 600 "$T/bk-wrong.key"
expect "backup --verify: wrong key" 4 $E backup --verify "$T/bk1.db" --root-key-file "$T/bk-wrong.key"
err_has "backup --verify: wrong key said" "does not open $T/bk1.db"
head -c 100000 /dev/urandom >"$T/bk-noise.db"
expect "backup --verify: not a database" 6 $E backup --verify "$T/bk-noise.db" --root-key-file "$CV_ROOT_KEY"
expect "backup --verify: no such file" 5 $E backup --verify "$T/bk-none.db" --root-key-file "$CV_ROOT_KEY"
if command -v sqlite3 >/dev/null; then
        cp "$T/bk1.db" "$T/bk-bad.db"
        # One byte of one record's ciphertext changed (STRICT: kept a BLOB).
        sqlite3 "$T/bk-bad.db" "UPDATE secret SET sealed = CAST(substr(sealed, 1, 30) ||
                CASE WHEN substr(sealed, 31, 1) = X'00' THEN X'01' ELSE X'00' END || substr(sealed, 32) AS BLOB)
                WHERE rowid = (SELECT max(rowid) FROM secret)" || fail "tampering with the copy"
        expect "backup --verify: a record altered" 6 $E backup --verify "$T/bk-bad.db" --root-key-file "$CV_ROOT_KEY"
        err_has "backup --verify: names the record" "does not decrypt"
fi
expect "backup: key options only with --verify" 2 $E backup "$T/bk3.db" --root-key-file "$CV_ROOT_KEY"
[[ ! -e $T/bk3.db ]] || fail "backup: a refused backup left a file"
pass
expect "backup: the daemon unreachable" 5 $E --socket /nonexistent/sock backup "$T/bk4.db"
[[ ! -e $T/bk4.db ]] || fail "backup: an unreachable daemon left a file"
pass
expect "backup: no FILE" 2 $E backup
CREDVAULTD=$T/no-such-daemon expect "backup --verify without a daemon binary" 5 $E backup --verify "$T/bk1.db"

# ---- the daemon unreachable ----
expect "--socket /nonexistent/sock status" 5 $E --socket /nonexistent/sock status
err_has "unreachable: says where" "/nonexistent/sock"
expect "--socket /nonexistent/sock secret get" 5 $E --socket /nonexistent/sock secret get p n
expect "--socket /nonexistent/sock plugin ls" 5 $E --socket /nonexistent/sock plugin ls
expect "--socket /nonexistent/sock secret verify" 5 "$T/text" --socket /nonexistent/sock secret verify p n
expect "--socket /nonexistent/sock apikey lookup" 5 "$T/text" --socket /nonexistent/sock apikey lookup p
rc=0
CREDVAULT_SOCKET=/nonexistent/sock "$CLI" secret ls </dev/null >"$T/out" 2>"$T/err" || rc=$?
[[ $rc -eq 5 ]] || fail "\$CREDVAULT_SOCKET unreachable: exit status $rc, expected 5"
pass
: >"$T/not-a-socket"
expect "--socket to a regular file" 5 $E --socket "$T/not-a-socket" status
expect "bad input wins over an unreachable daemon" 2 "$T/over" --socket /nonexistent/sock secret put p n
# A socket we may not open is "denied" (root opens any socket: not testable).
if [[ $(id -u) -ne 0 ]]; then
        mode=$(stat -c %a "$CREDVAULT_SOCKET")
        chmod 000 "$CREDVAULT_SOCKET"
        expect "socket without permission" 4 $E status
        chmod "$mode" "$CREDVAULT_SOCKET"
fi

# ---- the daemon counts what we stored ----
expect "status --json at the end" 0 $E status --json
out_matches "status --json counts secrets" '"secrets":[1-9]'
out_matches "status --json counts tokens" '"tokens":[1-9]'

echo "ok: $n_checks checks"
