#!/usr/bin/env bash
# test-cli.sh — the credvault command end to end, under cv-harness.
#
# cv-harness gives a fresh credvaultd and CREDVAULT_SOCKET; meson gives the
# binary in CREDVAULT_CLI. Checks the command contract scripts rely on:
# byte-exact values through stdin/stdout, the size limit, versions, lists
# that never show values, the JSON keys, token set parsing, and the exit
# statuses. Only bash, coreutils (od, head, base64, date), grep and cmp.
set -euo pipefail

CLI=${CREDVAULT_CLI:?CREDVAULT_CLI is not set (run through meson test)}
: "${CREDVAULT_SOCKET:?CREDVAULT_SOCKET is not set (run under cv-harness)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/test-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

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
for cmd in "secret put PLUGIN NAME" "secret get PLUGIN NAME" "secret ls [PLUGIN]" "secret rm PLUGIN NAME" \
        "token put PLUGIN USER" "token get PLUGIN USER" "token ls PLUGIN" "token rm PLUGIN USER" "status" "help"; do
        out_has "--help lists '$cmd'" "$cmd"
done
out_has "--help documents exit status 5" "5  daemon unreachable"
out_has "--help documents --socket" "--socket PATH"
expect "-h" 0 $E -h
out_has "-h" "Exit status"
expect "help" 0 $E help
out_has "help" "secret put PLUGIN NAME"
expect "--version" 0 $E --version
out_matches "--version" '^credvault [0-9]+\.[0-9]+'

expect "no command" 2 $E
err_has "no command: usage on stderr" "Usage: credvault"
expect "unknown command" 2 $E frobnicate
err_has "unknown command: usage on stderr" "Usage: credvault"
expect "unknown verb" 2 $E secret frob p n
expect "group without verb" 2 $E token
expect "unknown option" 2 $E --frob status
expect "--timeout not a number" 2 $E --timeout abc status
expect "--timeout zero" 2 $E --timeout 0 status
expect "--timeout without value" 2 $E --timeout
expect "help with arguments" 2 $E help secret
expect "secret put: one argument" 2 "$T/text" secret put p
expect "secret get: three arguments" 2 $E secret get p n x
expect "secret ls: two arguments" 2 $E secret ls a b
expect "token ls: no argument" 2 $E token ls
expect "token put: three arguments" 2 $E token put p u x
expect "status: an argument" 2 $E status x

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

# ---- tokens ----
cat >"$T/tok-full" <<'EOF'
{"access_token": "AT-canary", "token_type": "Bearer", "refresh_token": "RT-canary",
 "scope": "read write", "expires_at": 1900000000}
EOF
printf '{"access_token":"AT2-canary","token_type":"Bearer"}' >"$T/tok-min"
printf '{"access_token":"AT3-canary","token_type":"Bearer","expires_in":3600}' >"$T/tok-in"

expect "token put" 0 "$T/tok-full" token put todo alice@example.com
out_is "token put" "todo/alice@example.com version 1"
expect "token get" 0 $E token get todo alice@example.com
out_is "token get: the token set, one line" \
        '{"access_token":"AT-canary","token_type":"Bearer","refresh_token":"RT-canary","scope":"read write","expires_at":1900000000}'
cp "$T/out" "$T/tok-got"
expect "token get | token put" 0 "$T/tok-got" --json token put todo alice@example.com
out_is "token put --json" '{"plugin":"todo","user":"alice@example.com","version":2}'
expect "token get after round trip" 0 $E token get todo alice@example.com
out_is_file "token get | token put round-trips" "$T/tok-got"
expect "token get --json" 0 $E --json token get todo alice@example.com
for key in '"plugin":"todo"' '"user":"alice@example.com"' '"version":2' '"created":' '"updated":' \
        '"token":{"access_token":"AT-canary","token_type":"Bearer","refresh_token":"RT-canary","scope":"read write","expires_at":1900000000}}'; do
        out_has "token get --json" "$key"
done

expect "token put minimal" 0 "$T/tok-min" token put todo 'Ada Lovelace ü'
expect "token get minimal" 0 $E token get todo 'Ada Lovelace ü'
out_is "token get minimal: no optional fields" '{"access_token":"AT2-canary","token_type":"Bearer"}'

now=$(date +%s)
expect "token put expires_in" 0 "$T/tok-in" token put todo bob
expect "token get expires_in" 0 $E token get todo bob
at=$(grep -oE '"expires_at":[0-9]+' "$T/out" | cut -d: -f2) || fail "token put expires_in: no expires_at"
((at >= now + 3600 - 5 && at <= now + 3600 + 60)) || fail "token put expires_in: expires_at $at, now $now"
pass
out_lacks "token get expires_in: not kept as such" "expires_in"

expect "token ls" 0 $E token ls todo
out_matches "token ls: header" '^USER +VERSION +EXPIRES +UPDATED$'
expires=$(date -u -d @1900000000 +%Y-%m-%dT%H:%M:%SZ)
out_matches "token ls: a row with an expiry" "^alice@example.com +2 +$expires +$ISO\$"
out_matches "token ls: a row without an expiry" "^Ada Lovelace ü +1 +- +$ISO\$"
out_matches "token ls: expires_in became a time" "^bob +1 +$ISO +$ISO\$"
for v in AT-canary RT-canary AT2-canary AT3-canary; do
        out_lacks "token ls: no token" "$v"
done
expect "token ls --json" 0 $E token ls todo --json
out_matches "token ls --json: an array" '^\[\{.*\}\]$'
out_has "token ls --json: with expiry" \
        '"user":"alice@example.com","version":2,'
out_has "token ls --json: expires_at" '"expires_at":1900000000'
out_has "token ls --json: unknown expiry is null" '"expires_at":null'
for key in '"created":' '"updated":'; do
        out_has "token ls --json" "$key"
done
for v in AT-canary RT-canary AT2-canary AT3-canary access_token; do
        out_lacks "token ls --json: no token" "$v"
done
expect "token ls of an empty plugin" 0 $E --json token ls nothing-here
out_is "token ls --json of an empty plugin" '[]'

# ---- bad token sets: exit 2, field named, nothing stored, nothing leaked ----
bad_token() { # bad_token WHAT JSON STDERR-MUST-HAVE
        printf '%s' "$2" >"$T/bad"
        expect "token put $1" 2 "$T/bad" token put todo mallory
        err_has "token put $1: names the problem" "$3"
        err_lacks "token put $1: no token in the error" "LEAK"
        expect "token put $1: nothing stored" 3 $E token get todo mallory
}
bad_token "unknown field" '{"access_token":"LEAK1","token_type":"Bearer","id_token":"x"}' "id_token"
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
expect "token put bad plugin" 2 "$T/tok-min" token put bad/plugin u
expect "token put with the token as an argument" 2 "$T/tok-min" token put todo u AT-canary

# ---- token not found, rm ----
expect "token get missing" 3 $E token get todo nobody
expect "token rm" 0 $E token rm todo bob
expect "token get after rm" 3 $E token get todo bob
expect "token rm again" 3 $E token rm todo bob

# ---- the daemon unreachable ----
expect "--socket /nonexistent/sock status" 5 $E --socket /nonexistent/sock status
err_has "unreachable: says where" "/nonexistent/sock"
expect "--socket /nonexistent/sock secret get" 5 $E --socket /nonexistent/sock secret get p n
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
out_has "status --json counts tokens" '"tokens":2'

echo "ok: $n_checks checks"
