#!/usr/bin/env bash
# bench/run.sh — readyprobe's benchmarks (issue 9): speed, memory and politeness, side by side
# with peer tools. Prints the full Markdown table on stdout; BENCHMARKS.md holds its latest output.
#
#   bash bench/run.sh                 # install missing tools, build --release, measure, print
#   bash bench/run.sh --update        # … and replace the table block in BENCHMARKS.md
#   bash bench/run.sh --parts 1,2,4   # only some parts (1 passive demo audit, 2 fleet, 3 peers,
#                                     # 4 streamed 10k fleet)
#   bash bench/profile.sh             # the 1,000 × HTTPS+h2 fleet under perf record: top frames
#   BENCH_NO_BUILD=1 bash bench/run.sh  # measure the binary already built
#   BENCH_BIN=/path/readyprobe bash bench/run.sh  # measure that binary (e.g. a baseline copy)
#
# What it measures (method in BENCHMARKS.md):
#   1. the passive audit (`--profile production`) of a standalone demo target, flawed and
#      hardened: wall, CPU (user+sys), peak RSS, requests sent — medians of BENCH_RUNS (≥ 10,
#      default 15) runs after BENCH_WARMUP (2) warm-up runs;
#   2. fleet mode `audit --targets` over 1,000 plain-HTTP and 1,000 HTTPS+HTTP/2 targets served
#      by one Debian nginx at concurrency 100: wall, prober CPU, CPU per request, peak RSS, error
#      findings and nginx's "worker_connections are not enough" lines;
#   3. in the same run against one local demo target on 127.0.0.1:443/:80: readyprobe, the MDN
#      HTTP Observatory CLI, testssl.sh (--fast and default) and blackbox_exporter's http /probe,
#      as ratios to readyprobe;
#   4. a 10,000-target plain-HTTP fleet with --out-dir: the prober's RSS at 1k, 5k and 10k
#      finished audits (reports are written as they finish; RSS must stay flat).
# Only loopback targets. Every wait is bounded. Every process it starts is killed on exit.
#
# Needs: Debian/Ubuntu (apt-get) and root for the installs and for binding :443/:80 in part 3
# (without root part 3 still runs, minus the MDN CLI); node ≥ 20 + npm; python3; cargo.
# Tools it installs when missing: Debian `hyperfine`, `testssl.sh`, `prometheus-blackbox-exporter`,
# `time`, `nginx` (its service is not started); npm `@mdn/mdn-http-observatory` (--ignore-scripts) into bench/.tools/npm with an empty
# conf/hsts-preload.json (its postinstall would download the preload list).
# Knobs (environment): BENCH_RUNS, BENCH_WARMUP, BENCH_FLEET_RUNS, BENCH_FLEET_SIZES,
# BENCH_FLEET_SCHEMES, BENCH_FLEET_CONCURRENCY, BENCH_STREAM_SIZE, BENCH_STREAM_MARKS, BENCH_PEER_RUNS, BENCH_TESTSSL_RUNS, BENCH_PEER_PROFILE, CARGO_TARGET_DIR.
# Outputs (gitignored): bench/out/raw.json (every figure), bench/out/table.md, bench/out/work/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tools="$here/.tools"
out="$here/out"
update=0
parts="1,2,3,4"
while [ $# -gt 0 ]; do
    case "$1" in
        --update) update=1 ;;
        --parts) parts="$2"; shift ;;
        -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '[bench] %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------
apt_missing=()
command -v hyperfine >/dev/null || apt_missing+=(hyperfine)
command -v testssl >/dev/null || command -v testssl.sh >/dev/null || apt_missing+=(testssl.sh)
command -v prometheus-blackbox-exporter >/dev/null || apt_missing+=(prometheus-blackbox-exporter)
[ -x /usr/bin/time ] || apt_missing+=(time)
[ -x /usr/sbin/nginx ] || apt_missing+=(nginx)
if [ ${#apt_missing[@]} -gt 0 ]; then
    say "installing ${apt_missing[*]} (apt-get)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    timeout 600 $sudo apt-get update -qq
    # No service starts on install (nginx would take port 80): the benchmark runs its own.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y -qq "${apt_missing[@]}" >&2
    [ "$made_policy" = 0 ] || $sudo rm -f /usr/sbin/policy-rc.d
fi

mdn="$tools/npm/node_modules/@mdn/mdn-http-observatory"
if [ ! -f "$mdn/src/scan.js" ]; then
    say "installing @mdn/mdn-http-observatory (npm, --ignore-scripts) into $tools/npm"
    mkdir -p "$tools/npm"
    timeout 600 npm install --prefix "$tools/npm" --ignore-scripts --no-audit --no-fund \
        @mdn/mdn-http-observatory >&2
fi
# Its postinstall downloads the HSTS preload list; src/analyzer/hsts.js reads conf/hsts-preload.json
# relative to the package root. An empty map means "nothing is preloaded" (true for 127.0.0.1).
[ -s "$mdn/conf/hsts-preload.json" ] || echo '{}' > "$mdn/conf/hsts-preload.json"

# --- build ---------------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${BENCH_BIN:-$target_dir/release/readyprobe}"
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -z "${BENCH_BIN:-}" ]; then
    say "cargo build --release"
    (cd "$root" && timeout 3600 cargo build --release --quiet)
fi
[ -x "$bin" ] || { echo "bench/run.sh: $bin not built" >&2; exit 1; }

# --- measure -------------------------------------------------------------------------------------
mkdir -p "$out"
python3 "$here/bench.py" --bin "$bin" --out "$out/raw.json" --parts "$parts" &
pids+=($!)
wait "${pids[-1]}"

if [ "$update" = 1 ]; then
    python3 "$here/report.py" "$out/raw.json" --update "$root/BENCHMARKS.md" | tee "$out/table.md"
else
    python3 "$here/report.py" "$out/raw.json" | tee "$out/table.md"
fi
