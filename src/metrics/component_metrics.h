#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error_codes.h"
#include "metrics/metric_registry.h"

namespace sluice {

enum class ComponentKind : uint8_t { kSource, kOperator, kSink };

/// Where in a component an error happened; also tags dead-letter rows.
enum class Stage : uint8_t { kReceiving, kProcessing, kSending };

/// "source", "operator", "sink".
std::string_view ComponentKindName(ComponentKind kind);
/// "receiving", "processing", "sending".
std::string_view StageName(Stage stage);

/// The standard metrics of one source, operator or sink (docs/metrics.md). A component creates
/// one when it is built and keeps it; every method is a relaxed atomic add or two, safe from any
/// thread. The first error of a (code, stage) pair creates its series under the registry lock.
class ComponentMetrics {
 public:
  /// `type` is the component's type in the spec (http, clickhouse, validate); `id` its name.
  ComponentMetrics(MetricRegistry& registry, ComponentKind kind, std::string type, std::string id);

  void RecordsReceived(uint64_t records, uint64_t bytes);
  void RecordsSent(uint64_t records, uint64_t bytes);
  void Error(ErrorCode code, Stage stage, uint64_t count = 1);
  void DeadLettered(uint64_t records);

 private:
  Counter& ErrorCounter(ErrorCode code, Stage stage);

  MetricRegistry& registry_;
  std::string kind_;
  std::string type_;
  std::string id_;
  Counter& received_records_;
  Counter& received_bytes_;
  Counter& sent_records_;
  Counter& sent_bytes_;
  Counter& dead_letter_records_;
  // One slot per (stage, registered error code), filled on first use.
  std::unique_ptr<std::atomic<Counter*>[]> error_counters_;
};

/// sluice_dead_letter_records_total of one stream: records accepted into its dead-letter table,
/// by error code. Count only once the records are durably accepted, so a refused request or a
/// re-delivery after a crash is not counted twice. Thread-safe; the first record of each code
/// creates its series under the registry lock.
class DeadLetterMetrics {
 public:
  DeadLetterMetrics(MetricRegistry& registry, std::string stream);

  void Count(ErrorCode code, uint64_t records = 1);

 private:
  MetricRegistry& registry_;
  std::string stream_;
  std::unique_ptr<std::atomic<Counter*>[]> counters_;  // one per registered code
};

}  // namespace sluice
