#!/bin/sh
# run.sh — the hot calls (secret.get, secret.verify, token.get) against their
# transport floor (see docs/benchmarks.md).
#
# Owns: one complete bench run on a throw-away vault. Starts credvaultd
# (temp state dir, generated root key, its own socket) and bench/echo-server,
# stores the bench secrets and token sets with `cv-bench put`, then for each
# configuration, value size and op runs the echo floor of that op's sizes
# and then the op, and prints the raw lines and a table of op/echo ratios.
# Builds nothing: pass the build dir.
#
#   bench/run.sh [BUILD_DIR]      (default: build-bench, else build)
#
# Environment: CV_BENCH_SECONDS (5) per measurement, CV_BENCH_WARMUP (2000)
# calls per client, CV_BENCH_SIZES ("32 1024"), CV_BENCH_OPS ("get verify
# token"), CV_BENCH_CLIENTS (8) for the unpinned run, CV_BENCH_KEEP=1 to
# keep the temp dir (daemon log).
#
# The daemon writes one audit line per request to stderr; it goes to
# $tmp/daemon.log, a regular file, as it would to a log file in
# production (under systemd it goes to the journal instead).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
if [ -z "$build" ]; then
        for b in build-bench build; do
                if [ -x "$src/$b/bench/cv-bench" ]; then
                        build=$src/$b
                        break
                fi
        done
fi
if [ -z "$build" ] || [ ! -x "$build/bench/cv-bench" ]; then
        echo "run.sh: no built bench in '${build:-build-bench or build}'; run: meson setup build && ninja -C build" >&2
        exit 2
fi
build=$(cd "$build" && pwd)

seconds=${CV_BENCH_SECONDS:-5}
warmup=${CV_BENCH_WARMUP:-2000}
sizes=${CV_BENCH_SIZES:-32 1024}
ops=${CV_BENCH_OPS:-get verify token}
clients=${CV_BENCH_CLIENTS:-8}
ncpu=$(nproc)
allcpus=0-$((ncpu - 1))

daemon=$build/daemon/credvaultd
echo_server=$build/bench/echo-server
bench=$build/bench/cv-bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cv-bench.XXXXXX")
dpid=
epid=
cleanup() {
        for p in $dpid $epid; do
                kill "$p" 2>/dev/null || true
        done
        for p in $dpid $epid; do
                wait "$p" 2>/dev/null || true
        done
        if [ "${CV_BENCH_KEEP:-0}" = 1 ]; then
                echo "kept $tmp" >&2
        else
                rm -rf "$tmp"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

head -c 32 /dev/urandom >"$tmp/key"
chmod 600 "$tmp/key"

"$daemon" --root-key-file "$tmp/key" --state-dir "$tmp/state" --socket "$tmp/cv.sock" \
        >"$tmp/daemon.log" 2>&1 &
dpid=$!
"$echo_server" --socket "$tmp/echo.sock" 2>"$tmp/echo.log" &
epid=$!

# Store the bench secrets and token sets; the first put also waits for the
# daemon.
first=1
for size in $sizes; do
        tries=0
        until "$bench" put --socket "$tmp/cv.sock" --value-size "$size" >/dev/null 2>"$tmp/put.err"; do
                tries=$((tries + 1))
                if [ "$first" = 0 ] || [ "$tries" -ge 100 ] || ! kill -0 "$dpid" 2>/dev/null; then
                        echo "run.sh: cannot store the bench data:" >&2
                        cat "$tmp/put.err" "$tmp/daemon.log" >&2
                        exit 1
                fi
                sleep 0.1
        done
        first=0
done
tries=0
while [ ! -S "$tmp/echo.sock" ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 100 ] || { echo "run.sh: echo-server did not start" >&2; exit 1; }
        sleep 0.1
done

echo "# credvault bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), nproc=$ncpu, kernel $(uname -r)"
echo "# $seconds s per measurement, $warmup warm-up calls per client; daemon stderr -> $tmp/daemon.log"

results=$tmp/results.txt
: >"$results"

# CPU time (user + system, clock ticks) a server has used so far.
cpu_ticks() {
        awk '{ print $14 + $15 }' "/proc/$1/stat"
}
tck=$(getconf CLK_TCK)

# run_one LABEL PID CMD...: run one measurement, append the server's CPU
# time per call (warm-up calls included, as they were served too).
run_one() {
        label=$1 pid=$2
        shift 2
        before=$(cpu_ticks "$pid")
        line=$("$@")
        after=$(cpu_ticks "$pid")
        calls=$(echo "$line" | sed -n 's/.* calls=\([0-9]*\).*/\1/p')
        cpu=$(awk -v t="$((after - before))" -v hz="$tck" -v n="$((calls + warmup * n_clients))" \
                'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
        echo "config=$label $line server_cpu_us=$cpu" | tee -a "$results"
}

# run_pair LABEL PIN CLIENTS: for each size and op, the echo floor of that
# op's sizes, then the op.
run_pair() {
        label=$1 pin=$2 n_clients=$3
        if [ "$pin" = pinned ]; then
                cpus=0
                wrap="taskset -c 0"
        else
                cpus=$allcpus
                wrap=
        fi
        taskset -a -p -c "$cpus" "$dpid" >/dev/null
        taskset -a -p -c "$cpus" "$epid" >/dev/null
        for size in $sizes; do
                common="--clients $n_clients --seconds $seconds --warmup $warmup --value-size $size"
                for op in $ops; do
                        # shellcheck disable=SC2086
                        run_one "$label" "$epid" $wrap "$bench" echo --op "$op" --socket "$tmp/echo.sock" \
                                --probe-socket "$tmp/cv.sock" $common
                        # shellcheck disable=SC2086
                        run_one "$label" "$dpid" $wrap "$bench" "$op" --socket "$tmp/cv.sock" $common
                done
        done
}

run_pair 1-pinned pinned 1
run_pair "$clients-unpinned" unpinned "$clients"

echo
awk '
function field(name,   i, kv) {
        for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == name)
                        return kv[2]
        }
        return ""
}
{
        key = field("config") " " field("size") " " field("op")
        side = field("mode") == "echo" ? "echo" : "op"
        p50[key, side] = field("p50_us"); p99[key, side] = field("p99_us"); rps[key, side] = field("rps")
        cpu[key, side] = field("server_cpu_us")
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
}
END {
        printf "%-12s %5s %-6s | %8s %8s %5s | %8s %8s %5s | %8s %8s %5s | %s\n", "config", "size", "op",
               "echo p50", "op p50", "ratio", "echo p99", "op p99", "ratio", "echo rps", "op rps", "ratio",
               "target p50<=2x"
        for (i = 1; i <= n; i++) {
                k = order[i]; split(k, c, " ")
                r50 = p50[k, "op"] / p50[k, "echo"]; r99 = p99[k, "op"] / p99[k, "echo"]
                rr = rps[k, "op"] / rps[k, "echo"]
                verdict = "NOT met"
                if (r50 <= 2)
                        verdict = "met"
                printf "%-12s %5s %-6s | %8.1f %8.1f %5.2f | %8.1f %8.1f %5.2f | %8d %8d %5.2f | %s\n", c[1], c[2],
                       c[3], p50[k, "echo"], p50[k, "op"], r50, p99[k, "echo"], p99[k, "op"], r99,
                       rps[k, "echo"], rps[k, "op"], rr, verdict
        }
        printf "\nserver CPU per call (user+sys, us): echo-server vs credvaultd\n"
        printf "%-12s %5s %-6s | %8s %8s %5s\n", "config", "size", "op", "echo", "daemon", "ratio"
        for (i = 1; i <= n; i++) {
                k = order[i]; split(k, c, " ")
                rc = 0
                if (cpu[k, "echo"] + 0 > 0)
                        rc = cpu[k, "op"] / cpu[k, "echo"]
                printf "%-12s %5s %-6s | %8.2f %8.2f %5.1f\n", c[1], c[2], c[3], cpu[k, "echo"], cpu[k, "op"], rc
        }
}' "$results"
echo
echo "# daemon stderr: $(wc -l <"$tmp/daemon.log") lines, $(du -k "$tmp/daemon.log" | cut -f1) KiB (one audit line per request)"
