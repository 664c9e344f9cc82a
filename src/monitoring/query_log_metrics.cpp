#include "monitoring/query_log_metrics.h"

#include <cctype>

#include "monitoring/clickhouse_prober.h"

namespace sluice {

QueryLogMetrics::QueryLogMetrics(MetricRegistry& metrics, std::chrono::milliseconds slow_query)
    : metrics_(metrics), slow_seconds_(std::chrono::duration<double>(slow_query).count()) {}

std::string QueryLogMetrics::KindOf(std::string_view sql) {
  size_t start = 0;
  while (start < sql.size() && std::isspace(static_cast<unsigned char>(sql[start]))) ++start;
  size_t end = start;
  while (end < sql.size() &&
         (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
    ++end;
  }
  if (end == start) return "OTHER";
  std::string kind(sql.substr(start, end - start));
  for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return kind;
}

QueryLogMetrics::Series& QueryLogMetrics::SeriesOf(const std::string& kind) {
  auto found = series_.find(kind);
  if (found != series_.end()) return found->second;
  Series series{&metrics_.GetCounter(Metric::kClickHouseQueries, {kind}),
                &metrics_.GetCounter(Metric::kClickHouseFailedQueries, {kind}),
                &metrics_.GetCounter(Metric::kClickHouseSlowQueries, {kind}),
                &metrics_.GetCounter(Metric::kClickHouseQueryReadRows, {kind}),
                &metrics_.GetCounter(Metric::kClickHouseQueryReadBytes, {kind}),
                &metrics_.GetSampledCounter(Metric::kClickHouseQueryDuration, {kind})};
  return series_.emplace(kind, series).first->second;
}

void QueryLogMetrics::Record(const QueryRecord& query) {
  if (query.sql.find(kProbeMarker) != std::string_view::npos) return;
  std::string kind = KindOf(query.sql);
  std::lock_guard lock(mutex_);
  Series& series = SeriesOf(kind);
  // As in the query log: a failed statement is counted as failed only, the others as finished
  // with their cost.
  if (query.failed) {
    series.failed->Increment();
    return;
  }
  series.queries->Increment();
  if (query.elapsed_seconds > slow_seconds_) series.slow->Increment();
  series.read_rows->Increment(query.rows_read);
  series.read_bytes->Increment(query.bytes_read);
  series.seconds->Add(query.elapsed_seconds);
}

}  // namespace sluice
