#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"
#include "dataflow/operator.h"
#include "dataflow/source.h"

namespace sluice {

/// How a source's event time and watermark are read: the watermark is the largest event time
/// seen minus the allowed out-of-orderness. A source without records for `idle_timeout_ms` stops
/// holding back the watermark of the operators it feeds.
struct WatermarkStrategy {
  std::string time_field;  // empty: no event time (processing-time windows, or none)
  int64_t max_out_of_orderness_ms = 0;
  int64_t idle_timeout_ms = 60000;
};

/// A stateless operator run on its source's thread, and the tables its side outputs go to
/// (side_tables[0] takes port 1, and so on).
struct ChainedOperator {
  std::shared_ptr<const Operator> op;
  std::vector<std::string> side_tables;
};

/// One source, the stateless operators chained to it (run on the source's thread, no queue
/// hops), and where its records go: a table, the keyed stage, or both.
struct SourceStage {
  std::string name;  // unique in the job; names its position in checkpoints
  std::unique_ptr<Source> source;
  /// Of the batches Poll produces; unused by a source that names each Poll's table
  /// (Source::LastPollTable): its rows go to that table in their own schema, with no chained
  /// operators and no keyed stage.
  Schema schema;
  WatermarkStrategy watermark;
  std::vector<ChainedOperator> chain;
  std::string table;              // non-empty: the chain's output rows are written to this table
  bool to_keyed = false;          // the chain's output feeds the keyed stage
  std::string stream;             // names the stream in dead-letter rows
  std::string dead_letter_table;  // where the source's refused records go
  /// Another reader of the same input already writes its refused records (an aggregation over a
  /// file the stream's raw load also reads): this stage leaves them out.
  bool dead_letters_written_elsewhere = false;
};

/// The keyed part of a job: records partitioned by the hash of their key over `parallelism`
/// subtasks, each running its own state of one keyed operator (a window aggregate).
struct KeyedStage {
  std::vector<std::string> key_fields;
  std::shared_ptr<const Operator> op;
  std::vector<std::string> port_tables;  // table of each output port, port 0 first
  std::optional<size_t> late_port;       // the port whose rows count as late records
  uint32_t parallelism = 1;
  /// How keys map to key groups (and so to subtasks): by hash, or by the leading partition
  /// field when the state follows Kafka partitions between processes.
  KeyGrouping grouping;
};

/// A streaming job: sources with chained operators, optionally one key_by exchange into a keyed
/// operator, and tables as sinks. Every source that feeds the keyed stage must produce the
/// keyed operator's input schema after its chain.
struct JobGraph {
  std::string pipeline;
  std::vector<SourceStage> sources;
  std::optional<KeyedStage> keyed;
};

}  // namespace sluice
