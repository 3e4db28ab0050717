#!/bin/bash
# run-in-container.sh — test-load-credential.sh where systemd is PID 1: a
# throwaway container booted from this machine's own /usr
# (systemd-nspawn --volatile=yes: an empty tmpfs root, /usr read-only),
# with the source tree bound in at the same path, so the built daemon runs
# under the container's real service manager. All three parts of the test
# run there, the shipped units installed (CV_TEST_INSTALL_UNITS=1).
#
# Usage, as root, from the source tree after `ninja -C BUILD`:
#   tests/systemd/run-in-container.sh [BUILD]      (default: build)
#
# Needs systemd-nspawn (Debian: systemd-container) and a systemd in /usr.
# Where /run is not a tmpfs (PID 1 is not systemd), a tmpfs is mounted on
# /run/systemd/nspawn for the run (nspawn refuses to clean up its
# propagation directory on a disk file system), and unmounted after.
# Exit status: the test's; 77 if no container can be booted here.
set -u -o pipefail

src=$(realpath "$(dirname "$0")/../..")
build=$(realpath "${1:-$src/build}")
command -v systemd-nspawn >/dev/null || {
        echo "SKIP: no systemd-nspawn (Debian: apt-get install systemd-container)"
        exit 77
}
[ "$(id -u)" = 0 ] || {
        echo "SKIP: not root"
        exit 77
}
machine=cvtest-$$
log=$(mktemp /tmp/cv-nspawn-XXXXXX.log)
mounted=
if [ "$(stat -f -c %T /run)" != tmpfs ] && ! mountpoint -q /run/systemd/nspawn 2>/dev/null; then
        mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn && mounted=1
fi
binds=(--bind="$src")
case $build in "$src"/*) ;; *) binds+=(--bind="$build") ;; esac
systemd-nspawn -q -D / --volatile=yes --register=no --keep-unit -M "$machine" "${binds[@]}" \
        -b systemd.firstboot=off >"$log" 2>&1 &
nspawn=$!
finish() {
        [ -n "${leader:-}" ] && nsenter -t "$leader" -a systemctl poweroff 2>/dev/null
        for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
        kill "$nspawn" 2>/dev/null
        wait "$nspawn" 2>/dev/null
        [ -n "$mounted" ] && umount /run/systemd/nspawn
        rm -f "$log"
}
trap finish EXIT

leader=
for _ in $(seq 300); do
        leader=$(pgrep -P "$nspawn" | head -n 1)
        if [ -n "$leader" ]; then
                state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null)
                case $state in running | degraded) break ;; esac
        fi
        kill -0 "$nspawn" 2>/dev/null || break
        sleep 0.2
done
case ${state:-} in
running | degraded) ;;
*)
        echo "SKIP: the container did not boot (state '${state:-none}'):"
        tail -n 20 "$log"
        exit 77
        ;;
esac
echo "container $machine booted (PID 1 systemd, $state)"
nsenter -t "$leader" -a /usr/bin/env CV_TEST_INSTALL_UNITS=1 /bin/bash -c 'cd "$1" && bash tests/systemd/test-load-credential.sh docs/plugins.md "$2/daemon/credvaultd" "$2/client/cli/credvault" "$2/systemd/credvault.service" systemd/credvault.socket systemd/credvault-credentials.socket' _ "$src" "$build"
