#!/usr/bin/env bash
# Runs the quickstart pipeline with the given sluice binary and prints the answers to a few
# analytical questions. Running it again changes nothing: every batch carries a deduplication
# token, so the same input is never stored twice.
set -euo pipefail
sluice=${1:?usage: run.sh PATH_TO_SLUICE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spec="$here/spec.yaml"

"$sluice" run "$spec"

ask() {
  printf '\n\033[1m%s\033[0m\n' "$1"
  "$sluice" query --spec "$spec" --format pretty "$2"
}

ask "Top 5 users by spend (user_events)" "
  SELECT user_id, count() AS events, sum(amount) AS spend
  FROM user_events GROUP BY user_id ORDER BY spend DESC, user_id LIMIT 5"

ask "Daily totals (from the user_daily_stats summing view)" "
  SELECT event_date, sum(event_count) AS events, sum(total_amount) AS amount
  FROM user_daily_stats GROUP BY event_date ORDER BY event_date"

ask "Distinct users: exact and uniqCombined" "
  SELECT uniqExact(user_id) AS exact_count, uniqCombined(user_id) AS approx_count
  FROM user_events"

ask "Records refused on the way in (user_events_dead_letter)" "
  SELECT location, error_name, field, message
  FROM user_events_dead_letter ORDER BY length(location), location"

ask "Storage per table: rows, parts and compression" "
  SELECT table, sum(rows) AS rows, count() AS parts,
         formatReadableSize(sum(data_compressed_bytes)) AS compressed,
         formatReadableSize(sum(data_uncompressed_bytes)) AS uncompressed
  FROM system.parts
  WHERE active AND database = currentDatabase() AND NOT startsWith(table, '.inner')
  GROUP BY table ORDER BY table"
