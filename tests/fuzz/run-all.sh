#!/usr/bin/env bash
# run-all.sh — build the libFuzzer targets and run each for a while.
#
#   tests/fuzz/run-all.sh [BUILDDIR]     (default: build-fuzz)
#   tests/fuzz/run-all.sh --available    exit 0 if clang with libFuzzer is here
#
# BUILDDIR is a clang build with -Dfuzz=enabled and address+undefined
# sanitizers, set up if missing; only the fuzz targets (and what they
# link) are compiled in it. Each target then runs for $CV_FUZZ_SECONDS
# (default 10) from its seed corpus, two at a time (meson test --suite
# fuzz; tests/fuzz/run-fuzz.sh runs one). scripts/test.sh calls this when
# clang is installed, .ci/run with CV_FUZZ_SECONDS=60. Exit status:
# meson test's (a finding fails its target's test).
set -euo pipefail
cd "$(dirname "$0")/../.."

available() {
        command -v clang >/dev/null || return 1
        local probe
        probe=$(mktemp "${TMPDIR:-/tmp}/credvault-fuzz-probe.XXXXXX")
        printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
                'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void) d; (void) n; return 0; }' |
                clang -x c - -fsanitize=fuzzer -o "$probe" >/dev/null 2>&1
        local r=$?
        rm -f "$probe"
        return $r
}

if [ "${1:-}" = --available ]; then
        if available; then exit 0; else exit 1; fi
fi
builddir=${1:-build-fuzz}
if ! available; then
        echo "clang with libFuzzer is not installed (apt-get install clang libclang-rt-14-dev): no fuzzing" >&2
        exit 77
fi

[ -f "$builddir/build.ninja" ] ||
        CC=clang meson setup "$builddir" -Dwerror=true -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false
targets=$(meson introspect "$builddir" --targets |
        python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin) if t["name"].startswith("fuzz-")))')
# shellcheck disable=SC2086 # one word per target
meson compile -C "$builddir" $targets
export CV_FUZZ_SECONDS=${CV_FUZZ_SECONDS:-10}
echo "fuzzing: each target for ${CV_FUZZ_SECONDS}s"
meson test -C "$builddir" --suite fuzz --no-rebuild --print-errorlogs --num-processes 2 --verbose
