#!/usr/bin/env bash
# deps.sh — install what credvault needs from Debian's packages, if missing.
# Sourced by demo.sh, test.sh and .ci/run; safe to run again.
set -euo pipefail

CREDVAULT_PACKAGES=(
  meson ninja-build gcc pkg-config
  libsodium-dev libsqlite3-dev libsystemd-dev libjansson-dev
  libcmocka-dev scdoc systemd systemd-container python3 clang-format git
  # the shells the completion scripts are tested in (tests/cli/test-completion.sh),
  # and bash-completion's directory for installing them
  zsh fish bash-completion
  # credvault-refresher: HTTP to the providers' token endpoints
  libcurl4-openssl-dev
)

# What the fuzz targets need (tests/fuzz/, docs/testing.md): clang and its
# libFuzzer runtime. Installed by .ci/run; scripts/test.sh fuzzes only when
# they are there.
CREDVAULT_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# What the packaging test needs (tests/packaging/test-deb.sh: the Debian
# packages built, linted, installed): debian/control's Build-Depends beyond
# the list above, and lintian. Installed by .ci/run.
CREDVAULT_PACKAGING_PACKAGES=(dpkg-dev debhelper dh-python lintian)

# Extra packages a mode needs may be named: credvault_install_deps valgrind.
credvault_install_deps() {
  local missing=()
  for p in "${CREDVAULT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm, for the OAuth server the refresher's tests run (oidc-provider,
  # tests/oauth/setup.sh): Debian's, unless one is there already (NodeSource's
  # nodejs carries its own npm and conflicts with Debian's package).
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  credvault_install_deps "$@"
fi
