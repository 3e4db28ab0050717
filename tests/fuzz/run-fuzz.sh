#!/usr/bin/env bash
# run-fuzz.sh — run one libFuzzer target for a while over its seed corpus.
#
#   run-fuzz.sh TARGET SEED_DIR WORK_DIR [LIBFUZZER_OPTION...]
#
# Runs for $CV_FUZZ_SECONDS (default 10). New inputs go to WORK_DIR/corpus
# (kept between runs, so a longer run goes on from what earlier ones
# found), a crash to WORK_DIR/crash-*; the seed directory is only read.
# Ends with one line: the target's executions, exec/s and coverage, and
# fails if libFuzzer found anything (crash, leak, timeout, sanitizer
# report) or did not finish.
set -uo pipefail
target=$1 seeds=$2 work=$3
shift 3
seconds=${CV_FUZZ_SECONDS:-10}
name=$(basename "$target")
mkdir -p "$work/corpus"

# Sanitizer findings end the run (UBSan would go on otherwise), and a
# finding's input is saved in WORK_DIR.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
log="$work/last-run.log"

# A hang outside an input (start-up) is bounded too.
timeout --signal=KILL $((seconds + 120)) "$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds" 2>&1 | tee "$log" |
        grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' # progress lines: in the log only
status=${PIPESTATUS[0]}

done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
        echo "$name: ${seconds}s, ${execs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}: no finding"
        exit 0
fi
echo "$name: FINDING or failure (exit $status) after ${execs:-?} executions; input saved as:"
ls -1 "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | tail -5
exit 1
