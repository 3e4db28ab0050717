#!/usr/bin/env bash
# test.sh — build credvault and run every test (unit, end-to-end, CLI,
# systemd units, and the fuzz targets for $CV_FUZZ_SECONDS each, default
# 10, when clang is installed). Exit status: meson test's.
#
#   --sanitize  the same suite in an address+undefined sanitizer build
#               (build-asan/)
#   --valgrind  the end-to-end and CLI suites with every daemon they start
#               run under valgrind memcheck (the harness reads
#               CREDVAULTD_WRAPPER); fails on any error or definite leak the
#               daemon shows. valgrind is installed for this mode only.
#
# CREDVAULT_BUILD_DIR overrides the build directory (build/, build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
  "" | --sanitize | --valgrind) ;;
  *) echo "usage: $0 [--sanitize | --valgrind]" >&2; exit 2 ;;
esac

. scripts/deps.sh
if [ "$mode" = --valgrind ]; then
  credvault_install_deps valgrind
else
  credvault_install_deps
fi

builddir=${CREDVAULT_BUILD_DIR:-build}
# Warnings are errors here and in CI (meson.build leaves werror off for
# packagers, whose compilers and flags differ).
setup_args=(-Dwerror=true)
test_args=()
if [ "$mode" = --sanitize ]; then
  builddir=${CREDVAULT_BUILD_DIR:-build-asan}
  setup_args+=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
if [ "$mode" = --valgrind ]; then
  vglogs=$(mktemp -d "${TMPDIR:-/tmp}/credvault-valgrind.XXXXXX")
  # Errors and definite or indirect leaks make the daemon exit 99, which
  # fails the test that started it (harness.c); the logs are checked below
  # as well. Daemons killed with SIGKILL on purpose leave no summary.
  wrapper=(valgrind --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --suppressions="$PWD/tests/valgrind.supp" --log-file="$vglogs/credvaultd.%p.log")
  export CREDVAULTD_WRAPPER="${wrapper[*]}" # split on spaces by the harness
  # The daemon runs some 10 to 50 times slower: tests that count requests
  # or wait for deadlines scale by this (harness_time_scale()).
  export CV_TEST_TIME_SCALE=${CV_TEST_TIME_SCALE:-10}
  test_args=(--suite e2e --suite cli --timeout-multiplier 4)
fi

if [ -f "$builddir/build.ninja" ]; then
  # A build the demo made has werror off: turned on here all the same.
  meson configure "$builddir" -Dwerror=true >/dev/null
else
  meson setup "$builddir" "${setup_args[@]}"
fi
ninja -C "$builddir"
status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 "${test_args[@]}" || status=$?

if [ "$mode" = --valgrind ]; then
  runs=$(find "$vglogs" -name 'credvaultd.*.log' | wc -l)
  reports=$(cat "$vglogs"/credvaultd.*.log 2>/dev/null | grep -c 'ERROR SUMMARY' || true)
  errors=$(cat "$vglogs"/credvaultd.*.log 2>/dev/null | sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }')
  echo "valgrind: $runs daemon runs, $reports ran to exit with a report, $errors errors (logs: $vglogs)"
  if [ "$errors" -ne 0 ]; then
    grep -l 'ERROR SUMMARY: [1-9]' "$vglogs"/credvaultd.*.log | head -5
    status=1
  else
    rm -rf "$vglogs"
  fi
fi
# The fuzz targets, each for a while (tests/fuzz/run-all.sh: a clang build
# in build-fuzz/), when clang with libFuzzer is installed; the build above
# has replayed their seed corpora either way.
if [ -z "$mode" ] && tests/fuzz/run-all.sh --available; then
  tests/fuzz/run-all.sh build-fuzz || status=1
fi
exit $status
