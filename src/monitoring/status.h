#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "monitoring/prometheus_text.h"

namespace sluice {

/// What `sluice status` shows of a running instance, computed from two scrapes of its /metrics
/// taken `seconds` apart (rates are the counters' difference over that time).
struct StatusReport {
  struct Component {
    std::string kind, type, id;
    double received = 0, sent = 0, dead_lettered = 0, errors = 0;  // since start
    double received_per_second = 0, sent_per_second = 0;
  };
  struct DeadLetters {
    std::string stream, error_code, error_name;
    double records = 0;
  };
  struct Wal {
    std::string pipeline;
    double disk_bytes = 0, capacity_bytes = 0, pending_entries = 0;
  };
  struct Lag {
    std::string pipeline, source, partition;
    double records = 0;
  };
  /// A PostgreSQL CDC source: copying or streaming, how far behind, and each table's copy.
  struct Cdc {
    struct Table {
      std::string table;
      double snapshot_rows = 0, snapshot_rows_estimated = 0;
    };
    std::string pipeline, source;
    bool snapshotting = false;
    double delay_bytes = 0, delay_seconds = 0;
    std::vector<Table> tables;
  };
  struct Checkpoint {
    std::string pipeline;
    double age_seconds = 0;
    double completed = 0, failed = 0;
  };
  /// A keyed operator (an aggregation's window) summed over its subtasks.
  struct Operator {
    std::string pipeline, op;
    double subtasks = 0;
    double records_in = 0, records_out = 0, late = 0;  // since start
    double records_in_per_second = 0, records_out_per_second = 0;
    double state_entries = 0, state_bytes = 0, backpressure_seconds = 0;
  };
  struct Watermark {
    std::string pipeline, source;
    double lag_seconds = 0;
  };
  struct Table {
    std::string table;
    double rows = 0, bytes_on_disk = 0, parts = 0, max_parts_per_partition = 0, merges = 0;
  };

  std::vector<Component> components;
  std::vector<DeadLetters> dead_letters;
  std::vector<Wal> wal;
  std::vector<Lag> lag;
  std::vector<Cdc> cdc;
  std::vector<Checkpoint> checkpoints;
  std::vector<Operator> operators;
  std::vector<Watermark> watermarks;
  std::vector<Table> tables;
  double uptime_seconds = 0, resident_bytes = 0, cpu_per_second = 0;
  double probe_errors = 0;
};

/// Builds the report; `now` is the wall clock (seconds since the epoch) of the second scrape.
StatusReport BuildStatusReport(const std::vector<PrometheusSample>& first,
                               const std::vector<PrometheusSample>& second, double seconds,
                               double now);

/// Aligned sections for a terminal, one line per component, stream code, table.
std::string RenderStatusText(const StatusReport& report, const std::string& target);
/// The same as one JSON object (docs/cli.md lists its fields).
std::string RenderStatusJson(const StatusReport& report, const std::string& target);

}  // namespace sluice
