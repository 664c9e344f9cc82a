#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "metrics/metric_registry.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// The query-log counters (sluice_clickhouse_queries_total and the rest, by query kind) kept from
/// the statements themselves, for the embedded engine: it has no system.query_log for the prober
/// to read, but sluice runs every one of its statements and the engine reports each one's cost.
/// The same rules as the prober's: the kind is the statement's first word upper-cased (OTHER
/// when it starts with something else), a statement carrying the probe marker is left out, and
/// a finished statement slower than `slow_query` is slow. Record is thread-safe and cheap (one
/// map lookup under a mutex, then atomic adds).
class QueryLogMetrics {
 public:
  QueryLogMetrics(MetricRegistry& metrics, std::chrono::milliseconds slow_query);

  void Record(const QueryRecord& query);

  /// "SELECT" for " select 1", "OTHER" for "/* x */ SELECT 1" (as the prober's regex sees it).
  static std::string KindOf(std::string_view sql);

 private:
  /// The series of one kind, all six created together so rate() works from the first query.
  struct Series {
    Counter* queries;
    Counter* failed;
    Counter* slow;
    Counter* read_rows;
    Counter* read_bytes;
    Gauge* seconds;
  };
  Series& SeriesOf(const std::string& kind);

  MetricRegistry& metrics_;
  double slow_seconds_;
  std::mutex mutex_;
  std::map<std::string, Series, std::less<>> series_;
};

}  // namespace sluice
