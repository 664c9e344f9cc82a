#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "operators/window/window_config.h"
#include "runtime/job_graph.h"

namespace sluice {

class JobBuilder;

/// A window assigner for KeyedStream::Window, named like Flink's.
struct WindowAssigner {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;
  int64_t slide_ms = 0;
  int64_t gap_ms = 0;
  uint64_t trigger_count = 0;
  int64_t trigger_interval_ms = 0;

  static WindowAssigner Tumbling(int64_t size_ms) { return {WindowKind::kTumbling, size_ms}; }
  static WindowAssigner Hopping(int64_t size_ms, int64_t slide_ms) {
    return {WindowKind::kHopping, size_ms, slide_ms};
  }
  static WindowAssigner Session(int64_t gap_ms) { return {WindowKind::kSession, 0, 0, gap_ms}; }
  static WindowAssigner Global(uint64_t every_records, int64_t every_ms = 0) {
    return {WindowKind::kGlobal, 0, 0, 0, every_records, every_ms};
  }
};

/// How a keyed window aggregate is written and run.
struct AggregateOptions {
  std::string table;       // results (port 0)
  std::string late_table;  // records later than the allowed lateness (port 1)
  int64_t allowed_lateness_ms = 0;
  uint32_t parallelism = 1;
  StateBackendKind backend = StateBackendKind::kMemory;
};

/// The records of one source after the operators chained to it so far.
class DataStream {
 public:
  /// Keeps the records where `condition` holds (the expression language of src/expression).
  DataStream& Filter(const std::string& condition);
  /// Writes the records as they are to `table` (besides any keyed use).
  DataStream& SinkTo(const std::string& table);
  /// Where the source's refused records go (a table of DeadLetterSchema()); required when the
  /// source can refuse records.
  DataStream& DeadLettersTo(const std::string& table);
  /// Partitions the records by the hash of `fields` for a keyed operator.
  class KeyedStream KeyBy(std::vector<std::string> fields);

 private:
  friend class JobBuilder;
  friend class KeyedStream;
  friend class WindowedStream;
  DataStream(JobBuilder& job, size_t source) : job_(job), source_(source) {}
  Schema schema() const;  // a copy: operators hand out their schemas by value

  JobBuilder& job_;
  size_t source_;
};

/// A stream partitioned by key, ready for a window.
class KeyedStream {
 public:
  class WindowedStream Window(WindowAssigner assigner);

 private:
  friend class DataStream;
  friend class WindowedStream;
  KeyedStream(JobBuilder& job, size_t source, std::vector<std::string> keys)
      : job_(job), source_(source), keys_(std::move(keys)) {}
  JobBuilder& job_;
  size_t source_;
  std::vector<std::string> keys_;
};

/// A keyed, windowed stream: Aggregate closes it into the job's keyed stage.
class WindowedStream {
 public:
  void Aggregate(std::vector<AggregateCall> aggregates, AggregateOptions options);

 private:
  friend class KeyedStream;
  WindowedStream(KeyedStream keyed, WindowAssigner assigner)
      : keyed_(std::move(keyed)), assigner_(assigner) {}
  KeyedStream keyed_;
  WindowAssigner assigner_;
};

/// Builds a JobGraph from C++ in the spirit of Flink's DataStream API:
///
///   JobBuilder job("shop");
///   job.AddSource("orders", std::move(source), schema, {"ts", 5000})
///       .Filter("amount > 0")
///       .KeyBy({"user_id"})
///       .Window(WindowAssigner::Tumbling(5 * 60 * 1000))
///       .Aggregate({{"count", "orders"}, {"sum", "spend", "amount"}}, {"spend_5m",
///       "spend_5m_late"});
///   auto graph = job.Build();  // then JobExecutor::Start(std::move(*graph), options)
///
/// Errors (an unknown field, a bad expression) are collected and returned by Build.
class JobBuilder {
 public:
  explicit JobBuilder(std::string pipeline);

  DataStream AddSource(std::string name, std::unique_ptr<Source> source, Schema schema,
                       WatermarkStrategy watermark = {});
  /// The graph, or the first error met while building it.
  Result<JobGraph> Build();

 private:
  friend class DataStream;
  friend class WindowedStream;
  void Record(const Error& error);

  JobGraph graph_;
  std::vector<Error> errors_;
};

}  // namespace sluice
