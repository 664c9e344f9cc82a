#!/usr/bin/env bash
# Sets everything up and runs the whole test suite:
#   1. unit tests, and libFuzzer targets (fuzz/) for a bounded time each, in one clang build with
#      AddressSanitizer and UndefinedBehaviorSanitizer (build/sanitize);
#   2. end-to-end tests on the embedded engine, the quickstart included, in the release build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"

jobs=$(nproc)
# clang at -O0 compiles the sanitized tree in about half gcc's time, and one tree serves the unit
# tests and the fuzzers, so the sluice libraries are compiled twice in all instead of three times.
sanitize="$root/build/sanitize"
cmake -S "$root" -B "$sanitize" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON -DSLUICE_BUILD_E2E_TESTS=OFF \
  -DSLUICE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$sanitize" -j"$jobs"

echo "== unit tests (ASan + UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$sanitize" -L unit --output-on-failure -j"$jobs"

echo "== fuzzing (libFuzzer + ASan + UBSan, bounded) =="
# Each target starts from its seeds in fuzz/corpus plus what earlier runs on this machine found
# (build/sanitize/corpus); the targets run side by side, one per core, for at most fuzz_seconds.
fuzz_seconds=${SLUICE_FUZZ_SECONDS:-60}
fuzzers=(decode_validate csv_decode_validate spec_loader)
declare -A fuzz_pids
for fuzzer in "${fuzzers[@]}"; do
  work="$sanitize/corpus/$fuzzer"
  mkdir -p "$work" "$sanitize/crashes"
  "$sanitize/fuzz/${fuzzer}_fuzzer" -runs=100000 -max_total_time="$fuzz_seconds" \
    -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$sanitize/crashes/$fuzzer-" "$work" "$root/fuzz/corpus/$fuzzer" \
    >"$sanitize/$fuzzer.log" 2>&1 &
  fuzz_pids[$fuzzer]=$!
done
fuzz_failed=0
for fuzzer in "${fuzzers[@]}"; do
  log="$sanitize/$fuzzer.log"
  if wait "${fuzz_pids[$fuzzer]}"; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $fuzzer: passed, ${runs:-?} inputs, no crash"
  else
    fuzz_failed=1
    tail -n 60 "$log"
    echo "fuzz $fuzzer: FAILED, crashing input in build/sanitize/crashes/ (full log: $log)"
  fi
done
((fuzz_failed == 0)) || exit 1

echo "== end-to-end tests (release build, embedded ClickHouse) =="
# Two at a time: most of an end-to-end test is waiting for servers, processes and checkpoints;
# the tests that kill sluice at chosen moments run alone (SERIAL in their CMakeLists).
ctest --test-dir "$root/build/release" -LE unit --output-on-failure -j"$jobs"
