#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "core/batch.h"
#include "dataflow/key_groups.h"

namespace sluice {

/// How records are grouped in time.
enum class WindowKind : uint8_t {
  kTumbling,  // [start, start + size), aligned to the epoch
  kHopping,   // every window of `size` starting at a multiple of `slide` that holds the time
  kSession,   // per key, records closer than `gap` share a window; windows merge
  kGlobal,    // one window per key, fired by count and/or interval triggers
};

/// Where keyed window state lives.
enum class StateBackendKind : uint8_t {
  kMemory,   // hash map + arena: fastest, bounded by memory
  kRocksDb,  // RocksDB under OperatorContext::state_directory: larger than memory
};

/// Everything a WindowOperator is built from. A plain struct: the spec loader maps a pipeline's
/// window section onto it; C++ users fill it in directly.
struct WindowOperatorConfig {
  std::string name;  // operator id, stable across runs
  Schema input_schema;
  std::vector<std::string> key_fields;  // may be empty: one global key
  std::string time_field;               // Date/Date32/DateTime/DateTime64; empty = processing time
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;              // tumbling, hopping
  int64_t slide_ms = 0;             // hopping
  int64_t gap_ms = 0;               // session
  uint64_t trigger_count = 0;       // global: fire a key's window every N records (0 = off)
  int64_t trigger_interval_ms = 0;  // global: fire a key's window every T ms of time (0 = off)
  int64_t allowed_lateness_ms = 0;
  std::vector<AggregateCall> aggregates;
  StateBackendKind backend = StateBackendKind::kMemory;
  /// By hash (the default), or by a leading partition key field for state that moves with its
  /// Kafka partition between processes.
  KeyGrouping key_grouping;
};

}  // namespace sluice
