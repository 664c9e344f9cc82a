#!/usr/bin/env bash
# Runs the README's first command, scripts/quickstart.sh, and checks its answers; twice, since a
# newcomer may well run it again (it starts from a fresh warehouse each time).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fail() { echo "quickstart_test: $*" >&2; exit 1; }
expect() {  # expect OUTPUT TEXT: TEXT must appear in OUTPUT
  grep -qF -- "$2" <<<"$1" || { printf '%s\n' "$1" >&2; fail "missing: $2"; }
}
expect_row() {  # expect_row OUTPUT REGEX: a line must match the extended regular expression
  grep -qE -- "$2" <<<"$1" || { printf '%s\n' "$1" >&2; fail "no line matches: $2"; }
}

for run in first second; do
  out=$("$root/scripts/quickstart.sh" 2>&1) || { printf '%s\n' "$out" >&2; fail "$run run failed"; }
  expect "$out" "source sample_events: 20000 rows loaded, 4 records to the dead-letter table"
  expect "$out" "source sample_readings: 5000 rows loaded, 0 records to the dead-letter table"
  expect "$out" '{"accepted":1000,"rejected":[{"index":1000,"code":202'   # posted over HTTP
  expect "$out" "│  21000 │ 2024-06-15 23:58:35.000 │"     # asked over ClickHouse's HTTP protocol
  expect "$out" "│     114 │    234 │ 17289.38 │"          # top spender
  expect "$out" "│ 2024-06-01 │   1429 │ 94284.11 │"        # daily totals from the summing view
  expect "$out" "│ 2024-06-15 │   1000 │ 55206.21 │"        # ...including the live events
  expect "$out" "│        1846 │         1846 │"            # uniqExact and uniqCombined
  expect "$out" "│     173 │ 2024-06-01 01:05:00.000 │         1 │ 399.68 │"  # the aggregation...
  expect "$out" "│    2094 │      2095 │ 2024-06-14 22:50:00.000 │"        # ...its closed windows
  expect "$out" "events.ndjson:9003  │ RECORD_OUT_OF_RANGE"
  expect "$out" "│ http          │ request record 1000"
  expect_row "$out" "│ user_events +│ 21000 │"
  expect_row "$out" "│ optimized_table +│  5000 │"
done
echo "quickstart_test: 2 passed, 0 failed"
