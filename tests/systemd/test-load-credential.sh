#!/bin/bash
# test-load-credential.sh — the credential socket with systemd itself, and
# the unit file and policy docs/plugins.md gives for it.
#
# Usage: test-load-credential.sh PLUGINS_MD DAEMON CLI [SERVICE SOCKET CREDENTIALS_SOCKET]
#
# 1. Always: the unit file of docs/plugins.md ("Without code: secrets as
#    systemd credentials", the ```ini block) passes `systemd-analyze
#    verify` (its ExecStart= pointed at a command that exists), and the
#    policy there passes `credvaultd --check-policy`.
# 2. Where systemd is PID 1 and this runs as root: a credvaultd from the
#    build tree with --credential-socket and that policy, the secret put
#    with the CLI (binary bytes), then through the real service manager:
#    `systemd-run --wait -p LoadCredential=todo.client_secret:SOCKET` as
#    the allowed unit reads exactly the bytes; as a unit the policy does
#    not name it reads an empty credential (and the docs' ExecStartPre=
#    test stops it); and the docs' unit file itself, installed under
#    /run/systemd/system with its ExecStart= replaced by a copy of the
#    credential, starts and gets the bytes; with the secret deleted it
#    does not start (its ExecStartPre= finds the credential empty).
# 3. Only with CV_TEST_INSTALL_UNITS=1 (it installs units under /etc: for a
#    throwaway machine, such as the container run-in-container.sh boots):
#    the shipped credvault.service (ExecStart= pointed at DAEMON, the root
#    key a plain LoadCredential= file, as no host key or TPM is there),
#    credvault.socket and credvault-credentials.socket, enabled as
#    documented: a unit loads its credential through
#    /run/credvault/credentials from the hardened service, and again after
#    the service is stopped, started by the credential socket alone.
#
# Exit 0 pass, 1 fail, 77 skip (part 2 cannot run here: the reason is
# printed; part 1 has passed by then), 99 bad invocation.
set -u -o pipefail

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

[ $# = 3 ] || [ $# = 6 ] || {
        echo "usage: $0 PLUGINS_MD DAEMON CLI [SERVICE SOCKET CREDENTIALS_SOCKET]" >&2
        exit 99
}
doc=$(realpath "$1") daemon=$(realpath "$2") cli=$(realpath "$3")
units_shipped=()
for f in "${@:4}"; do units_shipped+=("$(realpath "$f")"); done
command -v systemd-analyze >/dev/null || {
        echo "SKIP: systemd-analyze not found"
        exit 77
}

tmp=$(mktemp -d /tmp/cv-loadcred-XXXXXX) || exit 99
pid=
units=()
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        for u in "${units[@]}"; do
                systemctl stop "$u" 2>/dev/null
                systemctl reset-failed "$u" 2>/dev/null
                rm -f "/run/systemd/system/$u"
        done
        [ ${#units[@]} -gt 0 ] && systemctl daemon-reload 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
export SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_TARGET=console

# ---- 1. the docs' unit file and policy --------------------------------------

section=$(sed -n '/^## Without code: secrets as systemd credentials/,/^## /p' "$doc")
[ -n "$section" ] || fail "$doc: no section 'Without code: secrets as systemd credentials'"
# (sed rather than awk: in a container booted with --volatile=yes, awk is
# a dangling /etc/alternatives link.)
unit=$(sed -n '/^```ini$/,/^```$/{/^```/d;p}' <<<"$section")
policy=$(sed -n '/^```json$/,/^```$/{/^```/d;p}' <<<"$section")
[ -n "$unit" ] || fail "no \`\`\`ini unit file in the section"
[ -n "$policy" ] || fail "no \`\`\`json policy in the section"
unit_name=$(sed -n 's|^# /etc/systemd/system/\(.*\)$|\1|p' <<<"$unit")
[ -n "$unit_name" ] || fail "the unit file does not open with '# /etc/systemd/system/NAME'"
grep -qx 'LoadCredential=todo.client_secret:/run/credvault/credentials' <<<"$unit" ||
        fail "the unit file has no LoadCredential=todo.client_secret:/run/credvault/credentials"
grep -q "\"unit:$unit_name\"" <<<"$policy" || fail "the policy does not name unit:$unit_name"

mkdir -p "$tmp/verify"
# ExecStart= must exist for verify; the rest is as documented.
sed 's|^ExecStart=.*|ExecStart=/bin/cat %d/todo.client_secret|' <<<"$unit" >"$tmp/verify/$unit_name"
out=$(systemd-analyze verify --man=no "$tmp/verify/$unit_name" 2>&1)
rc=$?
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  verify: /'
[ $rc = 0 ] || fail "systemd-analyze verify failed on the unit file of $doc"
if printf '%s\n' "$out" | grep -F "$unit_name" | grep -qv 'credvault-credentials.socket'; then
        fail "systemd-analyze verify complains about the unit file (above)"
fi
echo "docs unit file $unit_name: systemd-analyze verify passes"

# The policy, checked as the daemon checks it (a file of this user's,
# writable by no one else).
printf '%s\n' "$policy" >"$tmp/policy.json"
chmod 0644 "$tmp/policy.json"
"$daemon" --check-policy "$tmp/policy.json" || fail "the policy of $doc does not pass credvaultd --check-policy"
echo "docs policy: credvaultd --check-policy passes"

# ---- 2. through the real service manager -------------------------------------

skip() {
        echo "SKIP: the docs' unit file and policy passed; not loaded through systemd: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "not root (systemd-run of system units, and the daemon must see uid 0)"
if [ ! -d /run/systemd/system ]; then
        # Where systemd is not PID 1 (a CI container), the whole test runs
        # again in a container booted with it (run-in-container.sh; it
        # skips, saying why, where none can be booted).
        if command -v systemd-nspawn >/dev/null && [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
                echo "systemd is not PID 1 here: running the test in a container where it is"
                exec bash "$(dirname "$0")/run-in-container.sh" "$(dirname "$(dirname "$daemon")")"
        fi
        skip "systemd is not PID 1 here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)); no systemd-nspawn (Debian: systemd-container) to boot a container with it"
fi
state=$(systemctl is-system-running 2>&1)
case $state in
running | degraded | starting) ;;
*) skip "the service manager is not running ($state)" ;;
esac
command -v systemd-run >/dev/null || skip "no systemd-run"

chmod 0711 "$tmp"
sock=$tmp/credentials
"$daemon" --dev --state-dir "$tmp/state" --socket "$tmp/socket" --credential-socket "$sock" \
        --policy "$tmp/policy.json" 2>"$tmp/daemon.log" &
pid=$!
for _ in $(seq 100); do
        [ -S "$sock" ] && [ -S "$tmp/socket" ] && break
        sleep 0.1
done
[ -S "$sock" ] || fail "credvaultd did not come up: $(cat "$tmp/daemon.log")"
export CREDVAULT_SOCKET=$tmp/socket
printf 's3cr\000t\377\n' >"$tmp/value"
"$cli" secret put todo client_secret <"$tmp/value" >/dev/null || fail "secret put failed"

# systemd-run: the allowed unit gets exactly the bytes, another nothing.
run_as() { # UNIT
        systemd-run --quiet --wait --pipe --collect --unit="$1" \
                -p "LoadCredential=todo.client_secret:$sock" \
                /bin/sh -c 'cat "$CREDENTIALS_DIRECTORY/todo.client_secret"'
}
allowed=${unit_name%.service}
run_as "$allowed" >"$tmp/got" || fail "systemd-run as $allowed failed"
cmp -s "$tmp/value" "$tmp/got" || fail "$allowed read $(od -c "$tmp/got" | head -n 3), not the secret"
echo "systemd-run --unit=$allowed: the secret's bytes"
denied=cvtest-denied-$$
run_as "$denied" >"$tmp/got-denied" || true
[ ! -s "$tmp/got-denied" ] || fail "$denied (not in the policy) read $(wc -c <"$tmp/got-denied") bytes"
echo "systemd-run --unit=$denied: nothing"

# The docs' unit itself, its service replaced by a copy of the credential.
mkdir -p /run/systemd/system
units+=("$unit_name")
sed -e "s|/run/credvault/credentials|$sock|" \
        -e "s|^ExecStart=.*|ExecStart=/bin/sh -c 'cat %d/todo.client_secret >$tmp/unit-got'|" \
        -e 's|^DynamicUser=yes$||' -e 's|^\[Service\]$|[Service]\nType=oneshot|' \
        <<<"$unit" >"/run/systemd/system/$unit_name"
systemctl daemon-reload
systemctl start "$unit_name" || fail "systemctl start $unit_name failed: $(systemctl status "$unit_name" 2>&1 | tail -n 5)"
cmp -s "$tmp/value" "$tmp/unit-got" || fail "the docs' unit read something else than the secret"
echo "$unit_name (the docs' unit file): the secret's bytes"
# Refused (here: the secret is gone), the credential arrives empty, and
# the docs' ExecStartPre= keeps the unit from starting.
"$cli" secret rm todo client_secret >/dev/null || fail "secret rm failed"
rm -f "$tmp/unit-got"
if systemctl restart "$unit_name" 2>/dev/null; then
        fail "$unit_name started without its secret"
fi
[ ! -e "$tmp/unit-got" ] || fail "$unit_name ran its ExecStart= without its secret"
echo "$unit_name without the secret: not started (ExecStartPre= test -s)"
systemctl reset-failed "$unit_name" 2>/dev/null
rm -f "/run/systemd/system/$unit_name"
systemctl daemon-reload

grep -q 'op=credential.load' "$tmp/daemon.log" || fail "no credential.load audit lines in the log"
kill "$pid"
wait "$pid"
pid=

# ---- 3. the shipped units (throwaway machines only) ---------------------------

if [ "${CV_TEST_INSTALL_UNITS:-0}" != 1 ] || [ ${#units_shipped[@]} != 3 ]; then
        echo "PASS (the shipped units were not installed: set CV_TEST_INSTALL_UNITS=1 on a throwaway machine)"
        exit 0
fi
[ ! -e /etc/systemd/system/credvault.service ] || fail "credvault.service is installed here already: not a throwaway machine"
units+=(credvault.service credvault.socket credvault-credentials.socket)
rm_etc() {
        rm -rf /etc/systemd/system/credvault.service /etc/systemd/system/credvault.service.d \
                /etc/systemd/system/credvault.socket /etc/systemd/system/credvault-credentials.socket /etc/credvault
}
trap 'cleanup; rm_etc; systemctl daemon-reload' EXIT
mkdir -p /etc/credvault /etc/systemd/system/credvault.service.d
sed -E "s|^(Exec[A-Za-z]+=)/[^ ]*/credvaultd( \|$)|\1$daemon\2|" "${units_shipped[0]}" >/etc/systemd/system/credvault.service
cp "${units_shipped[1]}" /etc/systemd/system/credvault.socket
cp "${units_shipped[2]}" /etc/systemd/system/credvault-credentials.socket
head -c 32 /dev/urandom >/etc/credvault/root.key
chmod 0600 /etc/credvault/root.key
printf '[Service]\nLoadCredentialEncrypted=\nLoadCredential=credvault.key:/etc/credvault/root.key\n' \
        >/etc/systemd/system/credvault.service.d/key.conf
# The daemon is the build tree's, which may be under /tmp or /home (a
# fresh clone): the unit's private /tmp and hidden /home would hide it.
printf '[Service]\nPrivateTmp=no\nProtectHome=no\n' >/etc/systemd/system/credvault.service.d/build-tree.conf
printf '%s\n' "$policy" >/etc/credvault/policy.json
chmod 0644 /etc/credvault/policy.json
systemd-sysusers "$(dirname "${units_shipped[1]}")/credvault.sysusers" || fail "systemd-sysusers failed"
systemctl daemon-reload
systemctl start credvault.socket credvault-credentials.socket ||
        fail "cannot start the sockets: $(systemctl status --no-pager credvault.socket credvault-credentials.socket 2>&1 | tail -n 20)"
[ "$(stat -c '%a %U' /run/credvault/credentials)" = "600 root" ] || fail "/run/credvault/credentials is not root's, 0600"
export CREDVAULT_SOCKET=/run/credvault/socket
"$cli" secret put todo client_secret <"$tmp/value" >/dev/null || fail "secret put through credvault.socket failed"
sock=/run/credvault/credentials
run_as "$allowed" >"$tmp/got" || fail "systemd-run as $allowed failed"
cmp -s "$tmp/value" "$tmp/got" || fail "$allowed read something else than the secret from credvault.service"
echo "the shipped units: $allowed loads the secret from credvault.service"
systemctl stop credvault.service
run_as "$allowed" >"$tmp/got" || fail "systemd-run as $allowed failed"
cmp -s "$tmp/value" "$tmp/got" || fail "$allowed read something else than the secret after activation"
[ "$(systemctl is-active credvault.service)" = active ] || fail "credvault.service was not started by the credential socket"
echo "the shipped units: credvault-credentials.socket starts credvault.service on demand"
echo "PASS"
