#include "monitoring/clickhouse_prober.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

namespace sluice {
namespace {

std::vector<std::vector<std::string>> ParseTabSeparated(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    size_t field_start = 0;
    while (true) {
      size_t tab = line.find('\t', field_start);
      fields.emplace_back(line.substr(field_start, tab - field_start));
      if (tab == std::string_view::npos) break;
      field_start = tab + 1;
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

double Number(const std::string& text) {
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string Quoted(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace

ClickHouseProber::ClickHouseProber(ProbeQuery query, MetricRegistry& metrics, ProberOptions options)
    : query_(std::move(query)),
      metrics_(metrics),
      options_(std::move(options)),
      query_log_after_(static_cast<int64_t>(std::time(nullptr)) - 1) {
  // Every probe's error series exists from the start, so rate() works at the first failure.
  for (const char* probe :
       {"metrics", "parts", "primary_key", "merges", "replication_queue", "replicas"}) {
    metrics_.GetCounter(Metric::kClickHouseProbeErrors, {probe});
  }
  if (options_.query_log) metrics_.GetCounter(Metric::kClickHouseProbeErrors, {"query_log"});
}

ClickHouseProber::~ClickHouseProber() {
  Stop();
}

std::optional<ClickHouseProber::Rows> ClickHouseProber::Run(const std::string& probe,
                                                            const std::string& sql,
                                                            std::vector<std::string>& failed) {
  auto answer = query_(fmt::format("{} {} FORMAT TabSeparated", sql, kProbeMarker));
  if (!answer.ok()) {
    metrics_.GetCounter(Metric::kClickHouseProbeErrors, {probe}).Increment();
    failed.push_back(probe);
    if (warned_.insert(probe).second) {
      spdlog::warn("ClickHouse probe '{}' failed; its metrics stay unset (logged once): {}", probe,
                   answer.error().ToString());
    }
    return std::nullopt;
  }
  return ParseTabSeparated(*answer);
}

void ClickHouseProber::SetPerTable(Metric metric, const std::map<std::string, double>& values) {
  for (const std::string& table : tables_) {
    auto found = values.find(table);
    metrics_.GetGauge(metric, {table}).Set(found == values.end() ? 0 : found->second);
  }
  for (const auto& [table, value] : values) {
    if (!tables_.contains(table)) metrics_.GetGauge(metric, {table}).Set(value);
  }
}

void ClickHouseProber::ProbeMetrics(std::vector<std::string>& failed) {
  auto rows = Run("metrics",
                  "SELECT metric, value FROM system.metrics WHERE metric IN ('Query', "
                  "'InsertQuery', 'SelectQuery', 'Merge', 'ReplicatedFetch', 'ReplicatedChecks')",
                  failed);
  if (!rows) return;
  for (const auto& row : *rows) {
    if (row.size() < 2) continue;
    metrics_.GetGauge(Metric::kClickHouseCurrentMetric, {row[0]}).Set(Number(row[1]));
  }
}

void ClickHouseProber::ProbeParts(std::vector<std::string>& failed) {
  // Per partition first (the too-many-parts limit is per partition), then per table.
  auto rows = Run(
      "parts",
      fmt::format(
          "SELECT table, sum(partition_parts), max(partition_parts), sum(partition_rows), "
          "sum(partition_bytes), sum(partition_compressed), sum(partition_uncompressed) FROM "
          "(SELECT table, partition, count() AS partition_parts, sum(rows) AS partition_rows, "
          "sum(bytes_on_disk) AS partition_bytes, sum(data_compressed_bytes) AS "
          "partition_compressed, sum(data_uncompressed_bytes) AS partition_uncompressed FROM "
          "system.parts WHERE active AND database = {} GROUP BY table, partition) GROUP BY table",
          Quoted(options_.database)),
      failed);
  if (!rows) return;
  std::map<std::string, double> parts, max_parts, table_rows, bytes, ratio;
  for (const auto& row : *rows) {
    if (row.size() < 7) continue;
    tables_.insert(row[0]);
    parts[row[0]] = Number(row[1]);
    max_parts[row[0]] = Number(row[2]);
    table_rows[row[0]] = Number(row[3]);
    bytes[row[0]] = Number(row[4]);
    double compressed = Number(row[5]);
    ratio[row[0]] = compressed > 0 ? Number(row[6]) / compressed : 0;
  }
  SetPerTable(Metric::kClickHouseTableParts, parts);
  SetPerTable(Metric::kClickHouseMaxPartsPerPartition, max_parts);
  SetPerTable(Metric::kClickHouseTableRows, table_rows);
  SetPerTable(Metric::kClickHouseTableBytes, bytes);
  SetPerTable(Metric::kClickHouseCompressionRatio, ratio);
}

void ClickHouseProber::ProbePerTable(const std::string& probe, Metric metric,
                                     const std::string& sql, std::vector<std::string>& failed) {
  auto rows = Run(probe, sql, failed);
  if (!rows) return;
  std::map<std::string, double> values;
  for (const auto& row : *rows) {
    if (row.size() >= 2) values[row[0]] = Number(row[1]);
  }
  SetPerTable(metric, values);
}

void ClickHouseProber::ProbeQueryLog(std::vector<std::string>& failed) {
  // Counts what finished after the newest row already counted; the statement's first word is
  // its kind on every server version (query_kind is a recent column). `type` is a UInt8 in
  // 18.16 and an Enum8 of the same values later: 1 start, 2 finish, 3 and 4 exceptions.
  auto rows =
      Run("query_log",
          fmt::format(
              "SELECT upper(extract(query, '^\\\\s*(\\\\w+)')) AS kind, toUInt32(max(event_time)), "
              "countIf(toUInt8(type) = 2), countIf(toUInt8(type) IN (3, 4)), "
              "countIf(toUInt8(type) = 2 AND query_duration_ms > {}), "
              "sumIf(read_rows, toUInt8(type) = 2), sumIf(read_bytes, toUInt8(type) = 2), "
              "sumIf(query_duration_ms, toUInt8(type) = 2) FROM system.query_log "
              "WHERE event_time > toDateTime({}) AND toUInt8(type) != 1 "
              "AND position(query, {}) = 0 GROUP BY kind",
              options_.slow_query.count(), query_log_after_, Quoted(kProbeMarker)),
          failed);
  if (!rows) return;
  for (const auto& row : *rows) {
    if (row.size() < 8) continue;
    std::string kind = row[0].empty() ? "OTHER" : row[0];
    query_log_after_ = std::max(query_log_after_, static_cast<int64_t>(Number(row[1])));
    metrics_.GetCounter(Metric::kClickHouseQueries, {kind})
        .Increment(static_cast<uint64_t>(Number(row[2])));
    metrics_.GetCounter(Metric::kClickHouseFailedQueries, {kind})
        .Increment(static_cast<uint64_t>(Number(row[3])));
    metrics_.GetCounter(Metric::kClickHouseSlowQueries, {kind})
        .Increment(static_cast<uint64_t>(Number(row[4])));
    metrics_.GetCounter(Metric::kClickHouseQueryReadRows, {kind})
        .Increment(static_cast<uint64_t>(Number(row[5])));
    metrics_.GetCounter(Metric::kClickHouseQueryReadBytes, {kind})
        .Increment(static_cast<uint64_t>(Number(row[6])));
    Gauge& seconds = metrics_.GetSampledCounter(Metric::kClickHouseQueryDuration, {kind});
    seconds.Add(Number(row[7]) / 1000.0);
  }
}

std::vector<std::string> ClickHouseProber::ProbeOnce() {
  std::vector<std::string> failed;
  std::string database = Quoted(options_.database);
  ProbeMetrics(failed);
  ProbeParts(failed);
  ProbePerTable("primary_key", Metric::kClickHousePrimaryKeyBytes,
                fmt::format("SELECT table, sum(primary_key_bytes_in_memory) FROM system.parts "
                            "WHERE active AND database = {} GROUP BY table",
                            database),
                failed);
  ProbePerTable("merges", Metric::kClickHouseMerges,
                fmt::format("SELECT table, count() FROM system.merges WHERE database = {} "
                            "GROUP BY table",
                            database),
                failed);
  ProbePerTable("replication_queue", Metric::kClickHouseReplicationQueue,
                fmt::format("SELECT table, count() FROM system.replication_queue WHERE database "
                            "= {} GROUP BY table",
                            database),
                failed);
  ProbePerTable("replicas", Metric::kClickHouseReplicaDelay,
                fmt::format("SELECT table, absolute_delay FROM system.replicas WHERE database = {}",
                            database),
                failed);
  if (options_.query_log) ProbeQueryLog(failed);
  return failed;
}

void ClickHouseProber::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      ProbeOnce();
      lock.lock();
      wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void ClickHouseProber::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice
