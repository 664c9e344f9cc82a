#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/spec.h"
#include "metrics/metric_registry.h"
#include "runtime/job_executor.h"
#include "state/wal.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// The spec's aggregations, each a streaming job: the stream's file sources and (when sluice
/// serves) the records ingested over HTTP, read back from the write-ahead log, filtered, keyed,
/// windowed and written to the aggregation's tables through checkpoints.
class AggregationJobs {
 public:
  /// `wal` is the live pipeline's log, or null when sluice only loads files. `savepoint` is a
  /// folder written by Savepoint (one sub-folder per aggregation), or empty.
  static Result<std::unique_ptr<AggregationJobs>> Start(const PipelineSpec& spec,
                                                        Warehouse& warehouse,
                                                        MetricRegistry& metrics, WriteAheadLog* wal,
                                                        const std::string& savepoint);

  /// The first log sequence any job may still need minus one: the log keeps what follows.
  /// 0 when a job has not committed a checkpoint yet; UINT64_MAX without jobs on the log. With
  /// a `savepoint` the jobs start from its positions rather than their newest checkpoints.
  static uint64_t RetainAfterOnStart(const PipelineSpec& spec, const std::string& savepoint);

  /// Whether the window state in `savepoint` fits the spec's aggregations (SAVEPOINT_MISMATCH
  /// otherwise), from the snapshots' meta files only: called before the tables are migrated, so
  /// that a refused savepoint leaves them as they were.
  static Status CheckSavepoint(const PipelineSpec& spec, Warehouse& warehouse,
                               const std::string& savepoint);

  bool empty() const { return jobs_.empty(); }
  /// Bounded input only: waits until every job has read all its files and committed.
  Status WaitFinished();
  /// Writes a savepoint of every job into `target`/<aggregation>.
  Result<std::string> Savepoint(const std::string& target);
  /// Final checkpoint of every job, then stops them.
  Status Stop();
  ~AggregationJobs();

 private:
  void OnCommitted(size_t job, const CheckpointMetadata& metadata);

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<JobExecutor>> jobs_;
  WriteAheadLog* wal_ = nullptr;
  std::mutex retain_mutex_;
  std::vector<uint64_t> wal_positions_;  // per job: last committed log sequence
  MetricRegistry* metrics_ = nullptr;
  std::vector<uint64_t> scrape_hooks_;  // the lag of the Kafka consumers, read at each scrape
};

}  // namespace sluice
