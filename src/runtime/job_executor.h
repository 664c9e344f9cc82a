#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dataflow/key_encoder.h"
#include "dataflow/source.h"
#include "metrics/component_metrics.h"
#include "metrics/metric_registry.h"
#include "runtime/job_graph.h"
#include "state/checkpoint_store.h"

namespace sluice {

/// How a job runs: where checkpoints go and how often, where tables are written.
struct JobOptions {
  std::string checkpoint_directory;
  int64_t checkpoint_interval_ms = 1000;
  uint32_t checkpoints_retained = 3;
  std::string state_directory;  // local operator state (RocksDB), one folder per subtask
  std::string restore_from;     // a savepoint folder; empty: the newest checkpoint, if any
  /// Data batches waiting per keyed subtask before sources block. A checkpoint barrier queues
  /// behind them (aligned checkpoints), so this bounds how long a barrier waits: 4 batches of
  /// 8192 events are tens of milliseconds of the subtask's work, where 32 were 0.7-2.5 s
  /// behind a 1 M-key window (docs/benchmarks.md, "Checkpoint cost").
  size_t queue_capacity = 4;
  /// Makes the sink for a table; called on the checkpoint thread only.
  std::function<std::unique_ptr<Sink>(const std::string& table)> make_sink;
  /// Every table the job may write (including those a source names per poll); pre-committed
  /// batches carry their own schema.
  std::set<std::string> tables;
  MetricRegistry* metrics = nullptr;
  /// Called on the checkpoint thread after a checkpoint's rows are in ClickHouse.
  std::function<void(const CheckpointMetadata&)> on_committed;
  /// A column the rows committed into a table are timed from, for
  /// sluice_end_to_end_latency_seconds{table, from}: the stream's event time, a window's end.
  struct LatencyColumn {
    std::string table;
    std::string column;
    std::string from;  // the metric's `from` label
  };
  std::vector<LatencyColumn> latency_columns;
  /// Tables whose rows are also timed from when their source handed them out (from="receipt").
  std::set<std::string> receipt_latency_tables;
  /// Dead-letter tables the job writes and their streams: rows committed into them are counted
  /// in sluice_dead_letter_records_total by their error code.
  std::map<std::string, std::string> dead_letter_streams;
};

class SubtaskWorker;
class SourceRunner;

/// Runs a JobGraph: a thread per source (polling it and running its chained operators), a
/// thread per keyed subtask, and a checkpoint coordinator.
///
/// Exactly once into ClickHouse: rows bound for tables are buffered until the next checkpoint
/// barrier, then written into the checkpoint folder with the operators' state and the sources'
/// positions (pre-commit). Once the checkpoint is complete its batches are inserted, each with a
/// deduplication token named after the checkpoint and file (commit), and only then are the
/// sources told to confirm their positions upstream. A restart restores the newest complete
/// checkpoint and re-inserts its batches (ClickHouse drops what it already has), so the tables
/// end up exactly as after an uninterrupted run.
///
/// Checkpoints are aligned: a keyed subtask that got barrier n from one source holds that
/// source's later records back until barrier n arrived from every source.
class JobExecutor {
 public:
  /// Restores state (newest checkpoint or the given savepoint), commits what it left
  /// uncommitted, and starts every thread.
  static Result<std::unique_ptr<JobExecutor>> Start(JobGraph graph, JobOptions options);
  ~JobExecutor();

  /// Takes a checkpoint now and copies it to `target` once committed; returns the folder.
  Result<std::string> TriggerSavepoint(const std::string& target);
  /// Waits until every source is finished and the final checkpoint is committed (bounded
  /// sources), or until the job fails.
  Status WaitFinished();
  /// Graceful stop: sources stop polling, a final checkpoint commits everything processed so
  /// far (open windows stay in the checkpoint's state), threads end.
  Status Stop();

  uint64_t last_committed_checkpoint() const { return last_committed_.load(); }
  /// The first error that stopped the job, if any.
  std::optional<Error> failure() const;

  // Used by the source and subtask threads.
  void Fail(const Error& error);
  /// When rows reached a table's buffer: (wall-clock ms, rows), one entry per batch.
  using Arrivals = std::vector<std::pair<int64_t, uint64_t>>;

  /// A source finished: the coordinator checks whether the final checkpoint is due.
  void WakeCoordinator();
  struct Ack {
    std::string source;                                        // set by sources
    std::string position;                                      // set by sources
    std::vector<std::pair<std::string, std::string>> pending;  // (file, table)
    std::map<std::string, Arrivals> arrivals;                  // of each pending file
    double alignment_seconds = 0;
  };
  void Acknowledge(uint64_t checkpoint, size_t participant, Ack ack);
  /// The folder of checkpoint `id` while it is being taken.
  std::string CheckpointFolder(uint64_t id) const;
  bool stopping() const { return stopping_.load(); }
  uint64_t requested_checkpoint() const { return requested_.load(); }

 private:
  JobExecutor(JobGraph graph, JobOptions options);
  Status Restore();
  /// Inserts the checkpoint's pending batches and observes their latency; `arrivals` (absent
  /// for a checkpoint restored after a crash) times them from their receipt too.
  Status Commit(const StoredCheckpoint& checkpoint,
                const std::map<std::string, Arrivals>* arrivals = nullptr);
  /// Observes sluice_end_to_end_latency_seconds for a batch just committed into `table`.
  void ObserveLatency(const std::string& table, const Batch& batch, const Arrivals* arrivals);
  void CoordinatorLoop();
  /// Takes one checkpoint end to end; returns its folder.
  Result<std::string> TakeCheckpoint();
  bool AllInputFinished() const;

  JobGraph graph_;
  JobOptions options_;
  CheckpointStore store_;
  std::map<std::string, std::unique_ptr<Sink>> sinks_;
  std::map<std::string, std::unique_ptr<DeadLetterMetrics>> dead_letter_counts_;  // by table
  std::vector<std::unique_ptr<SourceRunner>> sources_;
  std::vector<std::unique_ptr<SubtaskWorker>> workers_;
  std::thread coordinator_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t next_id_ = 1;
  std::string run_id_;
  std::atomic<uint64_t> requested_{0};
  std::map<uint64_t, std::string> folders_;  // checkpoints being taken
  std::map<size_t, Ack> acks_;               // of the checkpoint being taken
  std::optional<Error> failure_;
  std::string savepoint_target_;
  std::optional<Result<std::string>> savepoint_result_;
  bool savepoint_requested_ = false;
  bool finished_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stop_coordinator_{false};
  std::atomic<uint64_t> last_committed_{0};
  bool stopped_ = false;
};

}  // namespace sluice
