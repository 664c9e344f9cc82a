#include "monitoring/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "monitoring/json_string.h"

namespace sluice {
namespace {

using Key = std::vector<std::string>;

/// Sums the samples named `name` by the values of `labels`.
std::map<Key, double> SumBy(const std::vector<PrometheusSample>& samples, std::string_view name,
                            const std::vector<std::string>& labels) {
  std::map<Key, double> sums;
  for (const PrometheusSample& sample : samples) {
    if (sample.name != name) continue;
    Key key;
    for (const std::string& label : labels) key.push_back(sample.Label(label));
    sums[key] += sample.value;
  }
  return sums;
}

double Lookup(const std::map<Key, double>& values, const Key& key) {
  auto found = values.find(key);
  return found == values.end() ? 0 : found->second;
}

double Single(const std::vector<PrometheusSample>& samples, std::string_view name) {
  for (const PrometheusSample& sample : samples) {
    if (sample.name == name) return sample.value;
  }
  return 0;
}

std::string Bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

}  // namespace

StatusReport BuildStatusReport(const std::vector<PrometheusSample>& first,
                               const std::vector<PrometheusSample>& second, double seconds,
                               double now) {
  StatusReport report;
  const std::vector<std::string> component = {"component_kind", "component_type", "component_id"};
  auto received = SumBy(second, "sluice_component_received_records_total", component);
  auto received_before = SumBy(first, "sluice_component_received_records_total", component);
  auto sent = SumBy(second, "sluice_component_sent_records_total", component);
  auto sent_before = SumBy(first, "sluice_component_sent_records_total", component);
  auto dead = SumBy(second, "sluice_component_dead_letter_records_total", component);
  auto errors = SumBy(second, "sluice_component_errors_total", component);
  double span = std::max(seconds, 1e-3);
  for (const auto& [key, value] : received) {
    StatusReport::Component entry{key[0], key[1], key[2]};
    entry.received = value;
    entry.sent = Lookup(sent, key);
    entry.dead_lettered = Lookup(dead, key);
    entry.errors = Lookup(errors, key);
    entry.received_per_second = (value - Lookup(received_before, key)) / span;
    entry.sent_per_second = (entry.sent - Lookup(sent_before, key)) / span;
    report.components.push_back(entry);
  }
  for (const auto& [key, value] :
       SumBy(second, "sluice_dead_letter_records_total", {"stream", "error_code", "error_name"})) {
    report.dead_letters.push_back({key[0], key[1], key[2], value});
  }
  auto capacity = SumBy(second, "sluice_wal_capacity_bytes", {"pipeline"});
  auto pending = SumBy(second, "sluice_wal_pending_records", {"pipeline"});
  for (const auto& [key, value] : SumBy(second, "sluice_wal_disk_bytes", {"pipeline"})) {
    report.wal.push_back({key[0], value, Lookup(capacity, key), Lookup(pending, key)});
  }
  for (const auto& [key, value] :
       SumBy(second, "sluice_source_lag_records", {"pipeline", "source", "partition"})) {
    report.lag.push_back({key[0], key[1], key[2], value});
  }
  auto delay_bytes = SumBy(second, "sluice_cdc_replication_delay_bytes", {"pipeline", "source"});
  auto delay_seconds =
      SumBy(second, "sluice_cdc_replication_delay_seconds", {"pipeline", "source"});
  auto copied = SumBy(second, "sluice_cdc_snapshot_rows", {"pipeline", "source", "table"});
  auto estimated =
      SumBy(second, "sluice_cdc_snapshot_rows_estimated", {"pipeline", "source", "table"});
  for (const auto& [key, value] :
       SumBy(second, "sluice_cdc_snapshot_active", {"pipeline", "source"})) {
    StatusReport::Cdc cdc{
        key[0], key[1], value > 0, Lookup(delay_bytes, key), Lookup(delay_seconds, key), {}};
    for (const auto& [table, rows] : copied) {
      if (table[0] == key[0] && table[1] == key[1]) {
        cdc.tables.push_back({table[2], rows, Lookup(estimated, table)});
      }
    }
    report.cdc.push_back(std::move(cdc));
  }
  auto checkpoints = SumBy(second, "sluice_checkpoints_total", {"pipeline", "result"});
  for (const auto& [key, value] :
       SumBy(second, "sluice_last_checkpoint_timestamp_seconds", {"pipeline"})) {
    report.checkpoints.push_back({key[0], now - value, Lookup(checkpoints, {key[0], "completed"}),
                                  Lookup(checkpoints, {key[0], "failed"})});
  }
  auto table_rows = SumBy(second, "sluice_clickhouse_table_rows", {"table"});
  auto table_bytes = SumBy(second, "sluice_clickhouse_table_bytes_on_disk", {"table"});
  auto max_parts = SumBy(second, "sluice_clickhouse_max_parts_per_partition", {"table"});
  auto merges = SumBy(second, "sluice_clickhouse_merges_in_progress", {"table"});
  for (const auto& [key, value] : SumBy(second, "sluice_clickhouse_table_parts", {"table"})) {
    report.tables.push_back({key[0], Lookup(table_rows, key), Lookup(table_bytes, key), value,
                             Lookup(max_parts, key), Lookup(merges, key)});
  }
  double start = Single(second, "process_start_time_seconds");
  report.uptime_seconds = start > 0 ? now - start : 0;
  report.resident_bytes = Single(second, "process_resident_memory_bytes");
  report.cpu_per_second =
      (Single(second, "process_cpu_seconds_total") - Single(first, "process_cpu_seconds_total")) /
      span;
  for (const auto& [key, value] : SumBy(second, "sluice_clickhouse_probe_errors_total", {})) {
    report.probe_errors += value;
  }
  return report;
}

std::string RenderStatusText(const StatusReport& report, const std::string& target) {
  std::string out;
  auto to = std::back_inserter(out);
  fmt::format_to(to, "sluice at {}: up {:.0f} s, RSS {}, CPU {:.0f}%\n", target,
                 report.uptime_seconds, Bytes(report.resident_bytes), report.cpu_per_second * 100);
  fmt::format_to(to, "\n{:<8} {:<12} {:<24} {:>12} {:>10} {:>12} {:>10} {:>12} {:>8}\n", "KIND",
                 "TYPE", "ID", "IN", "IN/s", "OUT", "OUT/s", "DEAD-LETTER", "ERRORS");
  for (const auto& c : report.components) {
    fmt::format_to(
        to, "{:<8} {:<12} {:<24} {:>12.0f} {:>10.1f} {:>12.0f} {:>10.1f} {:>12.0f} {:>8.0f}\n",
        c.kind, c.type, c.id, c.received, c.received_per_second, c.sent, c.sent_per_second,
        c.dead_lettered, c.errors);
  }
  fmt::format_to(to, "\nDead letters by code:{}\n", report.dead_letters.empty() ? " none" : "");
  for (const auto& d : report.dead_letters) {
    fmt::format_to(to, "  {:<24} {:>4} {:<32} {:>10.0f}\n", d.stream, d.error_code, d.error_name,
                   d.records);
  }
  for (const auto& w : report.wal) {
    fmt::format_to(
        to, "\nWrite-ahead log of {}: {} of {} ({:.1f}%), {:.0f} entries waiting for ClickHouse\n",
        w.pipeline, Bytes(w.disk_bytes), Bytes(w.capacity_bytes),
        w.capacity_bytes > 0 ? w.disk_bytes / w.capacity_bytes * 100 : 0, w.pending_entries);
  }
  if (!report.lag.empty()) fmt::format_to(to, "\nSource lag:\n");
  for (const auto& l : report.lag) {
    fmt::format_to(to, "  {:<24} partition {:<8} {:>12.0f} records\n", l.source, l.partition,
                   l.records);
  }
  if (!report.cdc.empty()) fmt::format_to(to, "\nPostgreSQL CDC:\n");
  for (const auto& c : report.cdc) {
    fmt::format_to(to, "  {:<24} {}, replication delay {} / {:.1f} s\n", c.source,
                   c.snapshotting ? "copying the snapshot" : "streaming changes",
                   Bytes(c.delay_bytes), c.delay_seconds);
    for (const auto& t : c.tables) {
      fmt::format_to(to, "    {:<22} snapshot {:.0f} of ~{:.0f} rows\n", t.table, t.snapshot_rows,
                     t.snapshot_rows_estimated);
    }
  }
  fmt::format_to(to, "\nCheckpoints:{}\n",
                 report.checkpoints.empty() ? " none (no windowed pipeline)" : "");
  for (const auto& c : report.checkpoints) {
    fmt::format_to(to, "  {}: last completed {:.0f} s ago, {:.0f} completed, {:.0f} failed\n",
                   c.pipeline, c.age_seconds, c.completed, c.failed);
  }
  fmt::format_to(to, "\n{:<32} {:>14} {:>12} {:>7} {:>10} {:>7}\n", "CLICKHOUSE TABLE", "ROWS",
                 "ON DISK", "PARTS", "MAX/PART.", "MERGES");
  for (const auto& t : report.tables) {
    fmt::format_to(to, "{:<32} {:>14.0f} {:>12} {:>7.0f} {:>10.0f} {:>7.0f}\n", t.table, t.rows,
                   Bytes(t.bytes_on_disk), t.parts, t.max_parts_per_partition, t.merges);
  }
  if (report.tables.empty()) fmt::format_to(to, "(no table probed yet)\n");
  if (report.probe_errors > 0) {
    fmt::format_to(to,
                   "\n{:.0f} ClickHouse probe errors (see sluice_clickhouse_probe_errors_total)\n",
                   report.probe_errors);
  }
  return out;
}

std::string RenderStatusJson(const StatusReport& report, const std::string& target) {
  std::string out = fmt::format(
      "{{\"target\":{},\"uptime_seconds\":{},\"resident_bytes\":{},\"cpu_per_second\":{},"
      "\"probe_errors\":{},\"components\":[",
      JsonString(target), JsonNumber(report.uptime_seconds), JsonNumber(report.resident_bytes),
      JsonNumber(report.cpu_per_second), JsonNumber(report.probe_errors));
  const char* separator = "";
  for (const auto& c : report.components) {
    out += fmt::format(
        "{}{{\"kind\":{},\"type\":{},\"id\":{},\"received\":{},\"received_per_second\":{},"
        "\"sent\":{},\"sent_per_second\":{},\"dead_lettered\":{},\"errors\":{}}}",
        separator, JsonString(c.kind), JsonString(c.type), JsonString(c.id), JsonNumber(c.received),
        JsonNumber(c.received_per_second), JsonNumber(c.sent), JsonNumber(c.sent_per_second),
        JsonNumber(c.dead_lettered), JsonNumber(c.errors));
    separator = ",";
  }
  out += "],\"dead_letters\":[";
  separator = "";
  for (const auto& d : report.dead_letters) {
    out += fmt::format("{}{{\"stream\":{},\"error_code\":{},\"error_name\":{},\"records\":{}}}",
                       separator, JsonString(d.stream), JsonString(d.error_code),
                       JsonString(d.error_name), JsonNumber(d.records));
    separator = ",";
  }
  out += "],\"wal\":[";
  separator = "";
  for (const auto& w : report.wal) {
    out += fmt::format(
        "{}{{\"pipeline\":{},\"disk_bytes\":{},\"capacity_bytes\":{},\"pending_entries\":{}}}",
        separator, JsonString(w.pipeline), JsonNumber(w.disk_bytes), JsonNumber(w.capacity_bytes),
        JsonNumber(w.pending_entries));
    separator = ",";
  }
  out += "],\"lag\":[";
  separator = "";
  for (const auto& l : report.lag) {
    out += fmt::format("{}{{\"pipeline\":{},\"source\":{},\"partition\":{},\"records\":{}}}",
                       separator, JsonString(l.pipeline), JsonString(l.source),
                       JsonString(l.partition), JsonNumber(l.records));
    separator = ",";
  }
  out += "],\"cdc\":[";
  separator = "";
  for (const auto& c : report.cdc) {
    out += fmt::format(
        "{}{{\"pipeline\":{},\"source\":{},\"snapshotting\":{},\"delay_bytes\":{},"
        "\"delay_seconds\":{},\"tables\":[",
        separator, JsonString(c.pipeline), JsonString(c.source), c.snapshotting ? "true" : "false",
        JsonNumber(c.delay_bytes), JsonNumber(c.delay_seconds));
    const char* inner = "";
    for (const auto& t : c.tables) {
      out += fmt::format("{}{{\"table\":{},\"snapshot_rows\":{},\"snapshot_rows_estimated\":{}}}",
                         inner, JsonString(t.table), JsonNumber(t.snapshot_rows),
                         JsonNumber(t.snapshot_rows_estimated));
      inner = ",";
    }
    out += "]}";
    separator = ",";
  }
  out += "],\"checkpoints\":[";
  separator = "";
  for (const auto& c : report.checkpoints) {
    out += fmt::format("{}{{\"pipeline\":{},\"age_seconds\":{},\"completed\":{},\"failed\":{}}}",
                       separator, JsonString(c.pipeline), JsonNumber(c.age_seconds),
                       JsonNumber(c.completed), JsonNumber(c.failed));
    separator = ",";
  }
  out += "],\"tables\":[";
  separator = "";
  for (const auto& t : report.tables) {
    out += fmt::format(
        "{}{{\"table\":{},\"rows\":{},\"bytes_on_disk\":{},\"parts\":{},"
        "\"max_parts_per_partition\":{},\"merges\":{}}}",
        separator, JsonString(t.table), JsonNumber(t.rows), JsonNumber(t.bytes_on_disk),
        JsonNumber(t.parts), JsonNumber(t.max_parts_per_partition), JsonNumber(t.merges));
    separator = ",";
  }
  out += "]}\n";
  return out;
}

}  // namespace sluice
