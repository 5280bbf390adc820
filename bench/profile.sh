#!/usr/bin/env bash
# bench/profile.sh — where the prober spends its CPU in a fleet (issue 17).
#
#   bash bench/profile.sh                     # 1,000 × HTTPS+h2 against Debian nginx, perf record
#   bash bench/profile.sh 1000 http           # … plain HTTP instead (or `mixed`)
#   BENCH_NO_BUILD=1 bash bench/profile.sh    # profile the release binary already built
#   BENCH_BIN=/path/readyprobe bash bench/profile.sh   # profile that binary
#
# Starts the same Debian nginx as bench/bench.py part 2 (plain HTTP + HTTPS with HTTP/2, every
# `/tNNNN/` a target of its own), runs `readyprobe audit --targets … --profile production
# --fleet-concurrency 100` under `perf record` (DWARF call graphs, PERF_FREQ Hz, default 499),
# then prints the top frames by self time (`perf report --stdio --no-children`) and by inclusive
# time (`--children`): the prober process only (perf follows the command it starts). Where
# perf cannot sample (no perf_event_open), it runs the fleet under `valgrind --tool=callgrind` instead (use a small
# fleet: `bash bench/profile.sh 50`) and prints `callgrind_annotate`'s top functions.
# Outputs (gitignored): bench/out/perf.data (or callgrind.out), bench/out/profile.txt.
# Needs: Debian `linux-perf` (installed when missing, root) or `valgrind`; nginx; python3; cargo.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
n="${1:-1000}"
scheme="${2:-https}"
top="${PROFILE_TOP:-40}"

say() { printf '[profile] %s\n' "$*" >&2; }

if ! command -v perf >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing linux-perf (apt-get)"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq linux-perf >&2 || true
fi
[ -x /usr/sbin/nginx ] || { echo "bench/profile.sh: nginx is not installed (bench/run.sh installs it)" >&2; exit 1; }

target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${BENCH_BIN:-$target_dir/release/readyprobe}"
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -z "${BENCH_BIN:-}" ]; then
    say "cargo build --release"
    (cd "$root" && timeout 3600 cargo build --release --quiet)
fi
[ -x "$bin" ] || { echo "bench/profile.sh: $bin not built" >&2; exit 1; }

mkdir -p "$out"
data="$out/perf.data"
tool=$(python3 "$here/bench.py" --bin "$bin" --out "$out/raw-profile.json" --profile-fleet "$n" \
    --scheme "$scheme" --perf-out "$data" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tool"])')

{
    echo "# readyprobe fleet profile: $n × $scheme, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$tool" = perf ]; then
        echo "## self time (perf report --no-children)"
        perf report -i "$data" --stdio --no-children --sort symbol \
            -g none --percent-limit 0.3 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$top"
        echo
        echo "## self time by shared object"
        perf report -i "$data" --stdio --no-children --sort dso \
            -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 8
        echo
        echo "## inclusive time (perf report --children)"
        perf report -i "$data" --stdio --children --sort symbol \
            -g none --percent-limit 2 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$top"
    else
        callgrind_annotate "$data" 2>/dev/null | head -n "$((top + 20))"
    fi
} | tee "$out/profile.txt"
