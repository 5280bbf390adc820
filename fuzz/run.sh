#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a fixed time, one after another, printing per
# target the executions and the coverage libFuzzer reports (`#N … cov: … ft: …`).
#
#   fuzz/run.sh [SECONDS] [TARGET…]     # default 600 s per target, every target
#   nice -n 19 fuzz/run.sh 600          # the recorded runs (FUZZING.md)
#
# Needs `cargo install cargo-fuzz`. libFuzzer needs nightly-only compiler flags; on the stable
# toolchain RUSTC_BOOTSTRAP=1 allows them (set here). The build uses AddressSanitizer
# (cargo fuzz's default); FUZZ_SANITIZER=none switches it off where it cannot be built.
#
# Seeds are read from fuzz/corpus/<target> (committed, never written); what the fuzzer adds
# goes to fuzz/work/<target>, crashes to fuzz/artifacts/<target>, the full log to
# ${FUZZ_LOG_DIR:-/tmp}/readyprobe-fuzz-<target>.log. None of those are committed.
set -euo pipefail

secs=${1:-600}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
log_dir=${FUZZ_LOG_DIR:-/tmp}

all=$(cargo fuzz list)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets <<<"$all"
fi

# Every target in one build (they share the readyprobe library). -a: debug assertions and
# overflow checks on, as in a test build (cargo fuzz's default; said for clarity).
cargo fuzz build -a -s "$sanitizer"

commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
status=0
printf '%-20s %12s %8s %8s %s\n' target executions cov ft result >"$log_dir/readyprobe-fuzz-summary.txt"
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "artifacts/$t"
    log="$log_dir/readyprobe-fuzz-$t.log"
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    echo "== $t: ${secs}s from $started at $commit (log: $log)"
    result=none
    # -timeout: an input that takes 10 s is a hang and counts as a crash.
    if ! cargo fuzz run -a -s "$sanitizer" "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        result="CRASH (see $log and fuzz/artifacts/$t)"
        status=1
    fi
    # The last status line: `#1234567 REDUCE cov: 2345 ft: 6789 corp: …`.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    echo "   last: $last"
    echo "   $(grep -E '^Done [0-9]+ runs' "$log" || echo 'no Done line')"
    printf '%-20s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result" \
        | tee -a "$log_dir/readyprobe-fuzz-summary.txt"
done
echo
cat "$log_dir/readyprobe-fuzz-summary.txt"
exit $status
