#!/usr/bin/env bash
# Runs the README's first command, scripts/quickstart.sh, on a fresh data folder and checks its
# answers; then runs it again and checks that nothing was stored twice.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rm -rf "$root/examples/quickstart/data"

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
  expect "$out" "│     102 │    248 │ 15859.62 │"            # top spender
  expect "$out" "│ 2024-06-01 │   1429 │ 94284.11 │"          # daily totals from the summing view
  expect "$out" "│        1797 │         1797 │"              # uniqExact and uniqCombined
  expect "$out" "events.ndjson:9003  │ RECORD_OUT_OF_RANGE"
  expect_row "$out" "│ user_events +│ 20000 │"               # stored once, even on the second run
  expect_row "$out" "│ optimized_table +│  5000 │"
done
echo "quickstart_test: 2 passed, 0 failed"
