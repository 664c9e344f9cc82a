#include "monitoring/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>

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

/// One member of a JSON object: its name and its value already written as a JSON literal.
using JsonField = std::pair<std::string_view, std::string>;

std::string JsonObject(const std::vector<JsonField>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += JsonString(fields[i].first) + ":" + fields[i].second;
  }
  return out + "}";
}

/// A JSON array with one object per row, its members given by `fields(row)`.
template <typename Row, typename Fields>
std::string JsonArray(const std::vector<Row>& rows, Fields fields) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    out += JsonObject(fields(rows[i]));
  }
  return out + "]";
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
  const std::vector<std::string> op = {"pipeline", "operator"};
  auto records_out = SumBy(second, "sluice_operator_records_out_total", op);
  auto records_in_before = SumBy(first, "sluice_operator_records_in_total", op);
  auto records_out_before = SumBy(first, "sluice_operator_records_out_total", op);
  auto late = SumBy(second, "sluice_late_records_total", op);
  auto entries = SumBy(second, "sluice_operator_state_entries", op);
  auto state_bytes = SumBy(second, "sluice_operator_state_bytes", op);
  auto backpressure = SumBy(second, "sluice_operator_backpressure_seconds_total", op);
  std::map<Key, double> subtasks;
  for (const auto& [key, value] :
       SumBy(second, "sluice_operator_records_in_total", {"pipeline", "operator", "subtask"})) {
    subtasks[{key[0], key[1]}] += 1;
  }
  for (const auto& [key, value] : SumBy(second, "sluice_operator_records_in_total", op)) {
    StatusReport::Operator entry{key[0], key[1]};
    entry.subtasks = Lookup(subtasks, key);
    entry.records_in = value;
    entry.records_out = Lookup(records_out, key);
    entry.late = Lookup(late, key);
    entry.records_in_per_second = (value - Lookup(records_in_before, key)) / span;
    entry.records_out_per_second = (entry.records_out - Lookup(records_out_before, key)) / span;
    entry.state_entries = Lookup(entries, key);
    entry.state_bytes = Lookup(state_bytes, key);
    entry.backpressure_seconds = Lookup(backpressure, key);
    report.operators.push_back(entry);
  }
  for (const auto& [key, value] :
       SumBy(second, "sluice_watermark_lag_seconds", {"pipeline", "source"})) {
    report.watermarks.push_back({key[0], key[1], value});
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
                 report.checkpoints.empty() ? " none (no aggregation or queue source)" : "");
  for (const auto& c : report.checkpoints) {
    fmt::format_to(to, "  {}: last completed {:.0f} s ago, {:.0f} completed, {:.0f} failed\n",
                   c.pipeline, c.age_seconds, c.completed, c.failed);
  }
  if (!report.operators.empty()) {
    fmt::format_to(to, "\n{:<32} {:>8} {:>12} {:>10} {:>12} {:>10} {:>10} {:>12}\n", "OPERATOR",
                   "SUBTASKS", "IN", "IN/s", "OUT", "OUT/s", "LATE", "STATE KEYS");
  }
  for (const auto& o : report.operators) {
    fmt::format_to(to,
                   "{:<32} {:>8.0f} {:>12.0f} {:>10.1f} {:>12.0f} {:>10.1f} {:>10.0f} {:>12.0f}\n",
                   o.op, o.subtasks, o.records_in, o.records_in_per_second, o.records_out,
                   o.records_out_per_second, o.late, o.state_entries);
  }
  if (!report.watermarks.empty()) fmt::format_to(to, "\nWatermark lag:\n");
  for (const auto& w : report.watermarks) {
    fmt::format_to(to, "  {:<24} {:>10.1f} s behind the wall clock\n", w.source, w.lag_seconds);
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
  using Fields = std::vector<JsonField>;
  auto components = JsonArray(report.components, [](const StatusReport::Component& c) {
    return Fields{{"kind", JsonString(c.kind)},
                  {"type", JsonString(c.type)},
                  {"id", JsonString(c.id)},
                  {"received", JsonNumber(c.received)},
                  {"received_per_second", JsonNumber(c.received_per_second)},
                  {"sent", JsonNumber(c.sent)},
                  {"sent_per_second", JsonNumber(c.sent_per_second)},
                  {"dead_lettered", JsonNumber(c.dead_lettered)},
                  {"errors", JsonNumber(c.errors)}};
  });
  auto dead_letters = JsonArray(report.dead_letters, [](const StatusReport::DeadLetters& d) {
    return Fields{{"stream", JsonString(d.stream)},
                  {"error_code", JsonString(d.error_code)},
                  {"error_name", JsonString(d.error_name)},
                  {"records", JsonNumber(d.records)}};
  });
  auto wal = JsonArray(report.wal, [](const StatusReport::Wal& w) {
    return Fields{{"pipeline", JsonString(w.pipeline)},
                  {"disk_bytes", JsonNumber(w.disk_bytes)},
                  {"capacity_bytes", JsonNumber(w.capacity_bytes)},
                  {"pending_entries", JsonNumber(w.pending_entries)}};
  });
  auto lag = JsonArray(report.lag, [](const StatusReport::Lag& l) {
    return Fields{{"pipeline", JsonString(l.pipeline)},
                  {"source", JsonString(l.source)},
                  {"partition", JsonString(l.partition)},
                  {"records", JsonNumber(l.records)}};
  });
  auto cdc = JsonArray(report.cdc, [](const StatusReport::Cdc& c) {
    auto tables = JsonArray(c.tables, [](const StatusReport::Cdc::Table& t) {
      return Fields{{"table", JsonString(t.table)},
                    {"snapshot_rows", JsonNumber(t.snapshot_rows)},
                    {"snapshot_rows_estimated", JsonNumber(t.snapshot_rows_estimated)}};
    });
    return Fields{{"pipeline", JsonString(c.pipeline)},
                  {"source", JsonString(c.source)},
                  {"snapshotting", c.snapshotting ? "true" : "false"},
                  {"delay_bytes", JsonNumber(c.delay_bytes)},
                  {"delay_seconds", JsonNumber(c.delay_seconds)},
                  {"tables", std::move(tables)}};
  });
  auto checkpoints = JsonArray(report.checkpoints, [](const StatusReport::Checkpoint& c) {
    return Fields{{"pipeline", JsonString(c.pipeline)},
                  {"age_seconds", JsonNumber(c.age_seconds)},
                  {"completed", JsonNumber(c.completed)},
                  {"failed", JsonNumber(c.failed)}};
  });
  auto operators = JsonArray(report.operators, [](const StatusReport::Operator& o) {
    return Fields{{"pipeline", JsonString(o.pipeline)},
                  {"operator", JsonString(o.op)},
                  {"subtasks", JsonNumber(o.subtasks)},
                  {"records_in", JsonNumber(o.records_in)},
                  {"records_in_per_second", JsonNumber(o.records_in_per_second)},
                  {"records_out", JsonNumber(o.records_out)},
                  {"records_out_per_second", JsonNumber(o.records_out_per_second)},
                  {"late", JsonNumber(o.late)},
                  {"state_entries", JsonNumber(o.state_entries)},
                  {"state_bytes", JsonNumber(o.state_bytes)},
                  {"backpressure_seconds", JsonNumber(o.backpressure_seconds)}};
  });
  auto watermarks = JsonArray(report.watermarks, [](const StatusReport::Watermark& w) {
    return Fields{{"pipeline", JsonString(w.pipeline)},
                  {"source", JsonString(w.source)},
                  {"lag_seconds", JsonNumber(w.lag_seconds)}};
  });
  auto tables = JsonArray(report.tables, [](const StatusReport::Table& t) {
    return Fields{{"table", JsonString(t.table)},
                  {"rows", JsonNumber(t.rows)},
                  {"bytes_on_disk", JsonNumber(t.bytes_on_disk)},
                  {"parts", JsonNumber(t.parts)},
                  {"max_parts_per_partition", JsonNumber(t.max_parts_per_partition)},
                  {"merges", JsonNumber(t.merges)}};
  });
  return JsonObject({{"target", JsonString(target)},
                     {"uptime_seconds", JsonNumber(report.uptime_seconds)},
                     {"resident_bytes", JsonNumber(report.resident_bytes)},
                     {"cpu_per_second", JsonNumber(report.cpu_per_second)},
                     {"probe_errors", JsonNumber(report.probe_errors)},
                     {"components", std::move(components)},
                     {"dead_letters", std::move(dead_letters)},
                     {"wal", std::move(wal)},
                     {"lag", std::move(lag)},
                     {"cdc", std::move(cdc)},
                     {"checkpoints", std::move(checkpoints)},
                     {"operators", std::move(operators)},
                     {"watermarks", std::move(watermarks)},
                     {"tables", std::move(tables)}}) +
         "\n";
}

}  // namespace sluice
