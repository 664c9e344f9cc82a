#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/spec.h"
#include "metrics/metric_registry.h"
#include "runtime/job_executor.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// The spec's unbounded queue, polling and change-data-capture sources (kafka, nats, sql_poll,
/// postgres_cdc), each run as a checkpointed job into its stream's table (a CDC source: into one
/// table per source table, which it creates): rows and dead letters are committed to ClickHouse
/// at checkpoints with deterministic tokens, and only then are offsets committed, messages
/// acked, cursors advanced or LSNs confirmed upstream (Source::CommitPosition), so a crash
/// neither loses nor repeats a record.
class SourceJobs {
 public:
  /// Whether `source` is one of the kinds SourceJobs runs.
  static bool Runs(const SourceSpec& source);

  static Result<std::unique_ptr<SourceJobs>> Start(const PipelineSpec& spec, Warehouse& warehouse,
                                                   MetricRegistry& metrics);
  bool empty() const { return jobs_.empty(); }
  /// Final checkpoint of every job, then stops them.
  Status Stop();
  ~SourceJobs();

 private:
  std::vector<std::unique_ptr<JobExecutor>> jobs_;
  MetricRegistry* metrics_ = nullptr;
  std::vector<uint64_t> scrape_hooks_;  // Kafka lag, CDC progress, read at each scrape
};

}  // namespace sluice
