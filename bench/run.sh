#!/usr/bin/env bash
# The benchmark, in one command: builds the release tree, writes the data set, runs every
# scenario (see bench/harness.py) and prints one markdown table on stdout; progress on stderr.
#
#   bench/run.sh                      3 runs of each scenario on 3,000,000 events
#   BENCH_EVENTS=600000 BENCH_RUNS=1 bench/run.sh     a quick look
#
# The work folder ($BENCH_WORK, default build/bench) must be on the disk to be measured: the
# write-ahead log's fsyncs are part of every figure, and a tmpfs makes them free.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
events=${BENCH_EVENTS:-3000000}
runs=${BENCH_RUNS:-3}
work=${BENCH_WORK:-$root/build/bench}
build=$root/build/release

say() { printf 'bench: %s\n' "$*" >&2; }

if [[ ! -f "$root/.deps/chdb/libchdb.so" ]]; then
  say "no embedded ClickHouse yet: running scripts/setup.sh"
  SLUICE_SETUP_NO_BUILD=1 "$root/scripts/setup.sh"
fi
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
say "building sluice, sluice_loadgen and sluice_bench_events in build/release"
cmake --build "$build" -j"$(nproc)" --target sluice sluice_loadgen sluice_bench_events >&2

mkdir -p "$work"
data="$work/events-$events.ndjson"
if [[ ! -s "$data" ]]; then
  say "writing $events events to $data"
  "$build/sluice_bench_events" --events "$events" --out "$data.tmp"
  mv "$data.tmp" "$data"
fi

exec python3 "$root/bench/harness.py" \
  --sluice "$build/sluice" --loadgen "$build/sluice_loadgen" --spec "$root/bench/spec.yaml" \
  --data "$data" --work "$work/runs" --runs "$runs" --json-out "$work/results.json" \
  ${BENCH_ARGS:-}
