#!/usr/bin/env bash
# test.sh — build credvault and run every test (unit, end-to-end, CLI,
# systemd units). With --sanitize, the same suite in an address+undefined
# sanitizer build (build-asan/). Exit status: meson test's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
credvault_install_deps

builddir=build
setup_args=()
if [ "${1:-}" = "--sanitize" ]; then
  builddir=build-asan
  setup_args=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

[ -f "$builddir/build.ninja" ] || meson setup "$builddir" "${setup_args[@]}"
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2
