#!/usr/bin/env bash
# test-deb.sh — the Debian packages (debian/) as a packager and an admin
# meet them: build them with dpkg-buildpackage in a copy of the tree, lintian
# (no errors), install them with apt-get, check what each installed and what
# the maintainer scripts did (user, directories, socket enabled), run
# systemd-analyze verify on the installed units, and purge them again.
#
#   test-deb.sh [SOURCE_DIR]     (default: the tree this script is in)
#
# Installs into the running system, so it needs root; skips (77) otherwise,
# when dpkg-buildpackage is missing or the build dependencies are not met
# (scripts/deps.sh installs them), or when credvault packages are installed
# already (it would remove them). CV_DEB_KEEP=1 keeps the build directory;
# CV_DEB_BUILD_OPTIONS= (empty) runs the test suite in the package build.
# Takes 30 s on an idle 2-core machine, 2 to 3 minutes under load (the build
# runs without its tests, DEB_BUILD_OPTIONS=nocheck: the suite runs elsewhere).
set -euo pipefail
# The system's programs only, as a build daemon has them (no python3 of a
# pyenv or a venv first in PATH: Debian's python3 is the one that matters).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
pkgs=(credvault libcredvault1 libcredvault-dev python3-credvault)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (installs the packages)"
command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage missing (apt-get install dpkg-dev)"
command -v dh >/dev/null || skip "debhelper missing"
for p in "${pkgs[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
    skip "$p is installed already; not touching it"
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/credvault-deb.XXXXXX")
installed=0
cleanup() {
  if [ $installed -eq 1 ]; then
    apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
  fi
  if [ -n "${CV_DEB_KEEP:-}" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A copy of the tree without build directories or git metadata: what a
# source package would hold.
mkdir "$work/credvault"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./.demo --exclude=__pycache__ -cf - . |
  tar -C "$work/credvault" -xf -
cd "$work/credvault"
if ! out=$(dpkg-checkbuilddeps 2>&1); then
  skip "build dependencies missing: $out (scripts/deps.sh installs them)"
fi

echo "== dpkg-buildpackage -us -uc -b"
t0=$SECONDS
DEB_BUILD_OPTIONS="${CV_DEB_BUILD_OPTIONS-nocheck} noddebs parallel=${CV_DEB_JOBS:-2}" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; fail "dpkg-buildpackage failed"; }
echo "built in $((SECONDS - t0)) s"
cd "$work"
ls -1 ./*.deb

if command -v lintian >/dev/null; then
  echo "== lintian"
  lintian --fail-on error ./*.changes ||
    fail "lintian reports errors"
else
  echo "lintian not installed: not run (scripts/deps.sh installs it)"
fi

echo "== apt-get install ./*.deb"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ./*.deb >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "apt-get install failed"; }

echo "== installed files"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expect() { # package file...
  local p=$1 list
  shift
  list=$(dpkg -L "$p")
  for f in "$@"; do
    # dh_compress gzips documents over 4 kB
    grep -qx -- "$f" <<<"$list" || grep -qx -- "$f.gz" <<<"$list" || fail "$p does not install $f"
    [ -e "$f" ] || [ -e "$f.gz" ] || fail "$f listed by $p but missing"
  done
}
expect credvault /usr/sbin/credvaultd /usr/bin/credvault \
  /lib/systemd/system/credvault.service /lib/systemd/system/credvault.socket \
  /usr/lib/sysusers.d/credvault.conf /usr/lib/tmpfiles.d/credvault.conf \
  /usr/share/man/man1/credvault.1.gz /usr/share/man/man8/credvaultd.8.gz \
  /usr/share/doc/credvault/README.md /usr/share/doc/credvault/plugins.md \
  /usr/share/doc/credvault/examples/plugin-demo.c
expect libcredvault1 "/usr/lib/$multiarch/libcredvault.so.1"
expect libcredvault-dev /usr/include/credvault.h "/usr/lib/$multiarch/libcredvault.so" \
  "/usr/lib/$multiarch/pkgconfig/credvault.pc"
expect python3-credvault /usr/lib/python3/dist-packages/credvault/__init__.py
# Nothing of the build tree leaks in: no benches, no tests, no examples
# built as programs.
if dpkg -L credvault | grep -E '/(cv-|plugin-demo$|echo-server)'; then
  fail "credvault ships benches or example programs"
fi
[ "$(readlink "/usr/lib/$multiarch/libcredvault.so")" = libcredvault.so.1 ] ||
  fail "libcredvault.so does not point at the SONAME"
objdump -p "/usr/lib/$multiarch/libcredvault.so.1" | grep -q 'SONAME *libcredvault.so.1$' ||
  fail "SONAME is not libcredvault.so.1"

echo "== maintainer scripts"
getent passwd credvault >/dev/null || fail "no system user credvault"
getent group credvault >/dev/null || fail "no group credvault"
[ "$(stat -c '%a %U' /etc/credstore.encrypted)" = "700 root" ] ||
  fail "/etc/credstore.encrypted not created 0700 root (tmpfiles)"
[ -L /etc/systemd/system/sockets.target.wants/credvault.socket ] ||
  fail "credvault.socket not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/credvault.service ] ||
  fail "credvault.service enabled by itself (the socket starts it)"

echo "== the installed programs and library"
credvault --help >/dev/null 2>&1 || [ $? -eq 2 ] || fail "credvault --help"
/usr/sbin/credvaultd --help >/dev/null 2>&1 || [ $? -eq 2 ] || fail "credvaultd --help"
cat >"$work/app.c" <<'C'
#include <credvault.h>
#include <stdio.h>
int main(void) {
        CvClient *c = NULL;
        int r = cv_client_new("/nonexistent/socket", 0, &c);
        printf("%d\n", r);
        cv_client_free(c);
        return r < 0 ? 0 : 1;
}
C
# shellcheck disable=SC2046 # pkg-config's words
cc -Wall -Werror -o "$work/app" "$work/app.c" $(pkg-config --cflags --libs credvault) ||
  fail "cc app.c \$(pkg-config --cflags --libs credvault)"
"$work/app" >/dev/null || fail "a program linked with the installed libcredvault"
(cd / && python3 -c 'import credvault, sys; sys.exit(credvault.__file__.startswith("/usr/lib/python3/dist-packages/") is False)') ||
  fail "python3 does not import credvault from dist-packages"

echo "== systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/credvault.socket /lib/systemd/system/credvault.service ||
    fail "systemd-analyze verify of the installed units"
fi

echo "== apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log"; fail "apt-get purge failed"; }
installed=0
for f in /usr/sbin/credvaultd /lib/systemd/system/credvault.socket /usr/include/credvault.h \
  /etc/systemd/system/sockets.target.wants/credvault.socket; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f left after purge"
done
echo "ok"
