#!/usr/bin/env bash
# Runs the quickstart pipeline with the given sluice binary on a fresh warehouse: loads the
# bundled files, serves HTTP while live events are posted, stops gracefully, and prints the
# answers to a few analytical questions.
set -euo pipefail
sluice=${1:?usage: run.sh PATH_TO_SLUICE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spec="$here/spec.yaml"
ingest=http://127.0.0.1:18080
clickhouse=http://127.0.0.1:18123

rm -rf "$here/data" "$here/wal" "$here/checkpoints"
"$sluice" run "$spec" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "$ingest/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit 1; }
  sleep 0.1
done

printf '\n\033[1m%s\033[0m\n' "POST live_events.ndjson to $ingest/v1/ingest/user_events"
curl -sS --fail-with-body -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$here/live_events.ndjson" "$ingest/v1/ingest/user_events"
echo
sleep 0.5
printf '\n\033[1m%s\033[0m\n' "Asked over ClickHouse's HTTP protocol while sluice runs ($clickhouse)"
curl -sS --fail-with-body "$clickhouse/?default_format=PrettyCompact" \
  --data-binary "SELECT count() AS events, max(event_time) AS latest FROM user_events"

kill -TERM "$pid"
wait "$pid"
trap - EXIT

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

ask "Largest 5-minute spends per user (aggregation user_spend_5m, computed by sluice as events arrived)" "
  SELECT user_id, window_start, purchases, spend, largest, devices
  FROM user_spend_5m FINAL ORDER BY spend DESC, user_id LIMIT 5"

ask "Windows the aggregation has closed so far (the live events of 2024-06-15 are still in open windows, kept in the checkpoint)" "
  SELECT count() AS windows, sum(purchases) AS purchases, max(window_end) AS last_closed
  FROM user_spend_5m FINAL"

ask "Records refused on the way in (user_events_dead_letter)" "
  SELECT source, location, error_name, field, message
  FROM user_events_dead_letter ORDER BY source, length(location), location"

ask "Storage per table: rows, parts and compression" "
  SELECT table, sum(rows) AS rows, count() AS parts,
         formatReadableSize(sum(data_compressed_bytes)) AS compressed,
         formatReadableSize(sum(data_uncompressed_bytes)) AS uncompressed
  FROM system.parts
  WHERE active AND database = currentDatabase() AND NOT startsWith(table, '.inner')
  GROUP BY table ORDER BY table"
