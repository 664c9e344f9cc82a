#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "metrics/metric_registry.h"

namespace sluice {

/// Appended to every probe so the query-log counters can leave the prober's own queries out.
inline constexpr std::string_view kProbeMarker = "/* sluice_probe */";

/// Runs one SQL statement and returns its output as TabSeparated text (the statement ends in
/// FORMAT TabSeparated). The embedded Warehouse and QueryOverHttp both fit.
using ProbeQuery = std::function<Result<std::string>(const std::string& sql)>;

struct ProberOptions {
  std::string database = "default";  // whose tables are probed
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds slow_query{1000};
  /// Read system.query_log. Off when the query-log counters are kept another way (the embedded
  /// engine has no query log: QueryLogMetrics counts its statements as they run).
  bool query_log = true;
};

/// Watches a ClickHouse through its system tables and exports the sluice_clickhouse_* gauges and
/// counters (docs/metrics.md). Each probe is one query; one that fails (a system table or column
/// the server's version lacks, a server that is down) is logged once as a warning, counted in
/// sluice_clickhouse_probe_errors_total{probe}, and does not stop the others.
///
/// Threads: ProbeOnce may be called from one thread at a time; Start runs it every interval on
/// a thread of its own until Stop (or destruction). The query function must be callable from
/// that thread.
class ClickHouseProber {
 public:
  ClickHouseProber(ProbeQuery query, MetricRegistry& metrics, ProberOptions options);
  ~ClickHouseProber();
  ClickHouseProber(const ClickHouseProber&) = delete;
  ClickHouseProber& operator=(const ClickHouseProber&) = delete;

  /// Runs every probe once; returns the names of those that failed.
  std::vector<std::string> ProbeOnce();

  void Start();
  void Stop();

 private:
  using Rows = std::vector<std::vector<std::string>>;
  /// Runs a probe's query; on failure counts and (the first time) logs it.
  std::optional<Rows> Run(const std::string& probe, const std::string& sql,
                          std::vector<std::string>& failed);
  /// Sets a per-table gauge for every table seen so far: the value found, else 0.
  void SetPerTable(Metric metric, const std::map<std::string, double>& values);

  void ProbeMetrics(std::vector<std::string>& failed);
  void ProbeParts(std::vector<std::string>& failed);
  void ProbePerTable(const std::string& probe, Metric metric, const std::string& sql,
                     std::vector<std::string>& failed);
  void ProbeQueryLog(std::vector<std::string>& failed);

  ProbeQuery query_;
  MetricRegistry& metrics_;
  ProberOptions options_;
  std::set<std::string> tables_;  // every table of the database seen with parts
  std::set<std::string> warned_;  // probes whose failure was logged
  int64_t query_log_after_;       // event_time (epoch seconds) already counted

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sluice
