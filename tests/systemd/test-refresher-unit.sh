#!/bin/bash
# test-refresher-unit.sh — check credvault-refresher.service with systemd's tools.
#
# Usage: test-refresher-unit.sh SERVICE SOCKET REFRESHER
#   SERVICE    the generated credvault-refresher.service (build dir)
#   SOCKET     credvault.socket (the unit Requires= it)
#   REFRESHER  the built credvault-refresher: ExecStart is pointed at it
#
# 1. One absolute ExecStart ending in /credvault-refresher, no @VAR@ left.
# 2. `systemd-analyze verify` of a copy (beside credvault.socket): no
#    output line about the unit, exit 0 (Documentation= is not checked:
#    man pages are not installed here).
# 3. `systemd-analyze security --offline=true`: overall exposure at most
#    2.0 (issue 12; 1.3 with systemd 252): the network is what it is for.
# Exit 0 pass, 1 fail, 77 skip (no systemd-analyze or no --offline).
set -u -o pipefail
fail() {
        echo "FAIL: $*" >&2
        exit 1
}
[ $# -eq 3 ] || { echo "usage: $0 SERVICE SOCKET REFRESHER" >&2; exit 99; }
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not found"; exit 77; }
service=$(realpath "$1") socket=$(realpath "$2") refresher=$(realpath "$3")
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
export SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_LOCATION=0 SYSTEMD_LOG_TIME=0 SYSTEMD_LOG_TARGET=console

if grep -nE '@[A-Za-z_]+@' "$service"; then
        fail "$service: unsubstituted @VAR@ above"
fi
[ "$(grep -c '^ExecStart=' "$service")" = 1 ] || fail "expected exactly one ExecStart="
grep -qE '^ExecStart=/([^ ]*/)?credvault-refresher( |$)' "$service" || fail "ExecStart= is not an absolute path to credvault-refresher"

unit=$tmp/credvault-refresher.service
sed -e "s|^ExecStart=[^ ]*|ExecStart=$refresher|" -e '/^Documentation=/d' "$service" >"$unit"
cp "$socket" "$tmp/credvault.socket"
sed -i '/^Documentation=/d' "$tmp/credvault.socket"
out=$(cd "$tmp" && SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify "$unit" 2>&1)
status=$?
echo "$out"
[ $status -eq 0 ] || fail "systemd-analyze verify exited $status"
if echo "$out" | grep -q 'credvault-refresher'; then
        fail "systemd-analyze verify complained about the unit (above)"
fi
echo "verify: ok"

if ! systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
        echo "SKIP: systemd-analyze security has no --offline (systemd < 250)"
        exit 77
fi
level=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no overall exposure level in systemd-analyze security's output"
echo "exposure: $level"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level is above 2.0"
