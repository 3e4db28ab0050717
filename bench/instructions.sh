#!/bin/sh
# instructions.sh — daemon instructions per call of the hot ops, counted by
# callgrind: repeatable for the same binary and inputs whatever else the
# machine is doing, so two builds can be compared where wall-clock ratios
# on a shared 2-core machine wander by ±20 % between runs.
#
#   bench/instructions.sh [BUILD_DIR] [CALLS]     (default: build, 10000)
#
# Starts credvaultd under callgrind (temp state dir, generated root key),
# stores the bench data, and for each size (CV_BENCH_SIZES, "32 1024") and
# op (CV_BENCH_OPS, "get verify token") zeroes the counters, makes CALLS
# calls from one cv-bench client and dumps them. Prints one line per op:
#   size=32 op=get calls=10000 daemon_ir_per_call=19050
#
# CV_BENCH_POLICY=1 runs the daemon under a policy in which the caller is
# no admin but a principal granted the bench plugin (rate limit out of
# the way): the cost of the policy check and the rate limit, against the
# same run without it (the caller then is an admin by default).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
calls=${2:-10000}
sizes=${CV_BENCH_SIZES:-32 1024}
ops=${CV_BENCH_OPS:-get verify token}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; rm -rf "$tmp"' EXIT
head -c 32 /dev/urandom >"$tmp/key"
chmod 600 "$tmp/key"
set --
if [ "${CV_BENCH_POLICY:-0}" = 1 ]; then
        cat >"$tmp/policy.json" <<EOF
{"version": 1, "admins": [],
 "principals": {"uid:$(id -u)": {"plugins": {"bench": ["read", "verify", "write", "refresh", "admin"]},
                                 "rate_limit": {"rate": 1000000, "burst": 1000000}}}}
EOF
        chmod 644 "$tmp/policy.json"
        set -- --policy "$tmp/policy.json"
fi
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" \
        "$build/daemon/credvaultd" --root-key-file "$tmp/key" --state-dir "$tmp/state" \
        --socket "$tmp/cv.sock" "$@" >"$tmp/daemon.log" 2>&1 &
dpid=$!
for size in $sizes; do
        tries=0
        until "$build/bench/cv-bench" put --socket "$tmp/cv.sock" --value-size "$size" >/dev/null 2>&1; do
                tries=$((tries + 1))
                [ "$tries" -lt 300 ] || { echo "instructions.sh: daemon did not start" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
                sleep 0.1
        done
done

# The total of the last dump: callgrind_control -d writes a new file part
# with the counts since the last zeroing.
for size in $sizes; do
        for op in $ops; do
                callgrind_control -z "$dpid" >/dev/null 2>&1
                "$build/bench/cv-bench" "$op" --socket "$tmp/cv.sock" --clients 1 --warmup 0 \
                        --iterations "$calls" --value-size "$size" >/dev/null
                callgrind_control -d "$dpid" >/dev/null 2>&1
                last=$(ls -t "$tmp"/cg.* | head -1)
                ir=$(awk '/^totals:/ { print $2 }' "$last")
                # cv-bench sends one size probe before its calls.
                echo "size=$size op=$op calls=$calls daemon_ir_per_call=$((ir / (calls + 1)))"
        done
done
