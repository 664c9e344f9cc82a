#include "runtime/job_executor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <random>
#include <utility>

#include "base/clock.h"
#include "core/batch_codec.h"
#include "dataflow/key_groups.h"
#include "dataflow/split_watermarks.h"
#include "metrics/component_metrics.h"
#include "runtime/event_time.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

/// What travels from a source thread to a keyed subtask.
struct WorkerMessage {
  enum class Kind {
    kData,
    kWatermark,
    kIdle,
    kBarrier,
    kEnd,
    kShutdown,
    kHandoff,
    kGroupWatermark
  };
  Kind kind = Kind::kData;
  uint32_t channel = 0;    // the sending source
  int64_t value = 0;       // watermark (ms), checkpoint id or key group
  uint32_t key_group = 0;  // kGroupWatermark
  std::unique_ptr<Batch> batch;
  std::string adopt_from;  // kHandoff: the checkpoint to load the key group from, if any
};

/// A keyed subtask's input: data waits for room (backpressure), control messages never do, so
/// a barrier or shutdown cannot be stuck behind a full queue.
class InputQueue {
 public:
  explicit InputQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

  /// Returns the seconds the caller waited for room.
  double Push(WorkerMessage message) {
    std::unique_lock lock(mutex_);
    double waited = 0;
    if (message.kind == WorkerMessage::Kind::kData && data_ >= capacity_) {
      auto start = SteadyClock::now();
      room_.wait(lock, [&] { return data_ < capacity_; });
      waited = SecondsSince(start);
    }
    if (message.kind == WorkerMessage::Kind::kData) ++data_;
    messages_.push_back(std::move(message));
    ready_.notify_one();
    return waited;
  }

  std::optional<WorkerMessage> Pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !messages_.empty(); })) return std::nullopt;
    WorkerMessage message = std::move(messages_.front());
    messages_.pop_front();
    if (message.kind == WorkerMessage::Kind::kData) {
      --data_;
      room_.notify_one();
    }
    return message;
  }

  double fill() const {
    std::lock_guard lock(mutex_);
    return static_cast<double>(data_) / static_cast<double>(capacity_);
  }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<WorkerMessage> messages_;
  size_t data_ = 0;
};

/// Rows bound for tables, held until the next barrier writes them into the checkpoint, and when
/// each batch of them arrived (for receipt latency). A table whose schema changes between two
/// appends (a replicated table that gained a column) gets a new run of rows, so each file holds
/// rows of one schema.
class TableBuffers {
 public:
  void Append(const std::string& table, const Batch& batch) {
    if (batch.num_rows() == 0) return;
    auto last = last_run_.find(table);
    if (last != last_run_.end() && SameSchema(runs_[last->second].rows, batch)) {
      runs_[last->second].rows.AppendBatch(batch);
      runs_[last->second].arrivals.emplace_back(WallClockMillis(), batch.num_rows());
      return;
    }
    last_run_[table] = runs_.size();
    runs_.push_back({table, batch, {{WallClockMillis(), batch.num_rows()}}});
  }

  /// Writes each run as `<prefix>-<n>.batch` into `folder`, in the order the runs began, names
  /// the files and their arrivals in `ack`, and empties the buffers. A file holds its schema
  /// before its rows, so that the commit reads it back whatever the table's schema is by then.
  /// Rows of one table with one schema, and when they arrived.
  struct Run {
    std::string table;
    Batch rows;
    JobExecutor::Arrivals arrivals;
  };

  Status WriteTo(const std::string& folder, const std::string& prefix, JobExecutor::Ack& ack) {
    return Write(Take(), folder, prefix, ack);
  }

  /// Everything held, leaving the buffers empty.
  std::vector<Run> Take() {
    last_run_.clear();
    return std::exchange(runs_, {});
  }

  /// Writes `runs` into the checkpoint `folder`, one synced file each, and lists them in `ack`.
  static Status Write(std::vector<Run> runs, const std::string& folder, const std::string& prefix,
                      JobExecutor::Ack& ack) {
    for (size_t n = 0; n < runs.size(); ++n) {
      Run& run = runs[n];
      std::string name = prefix + "-" + std::to_string(n) + ".batch";
      std::string bytes;
      EncodeSchema(run.rows.schema(), bytes);
      EncodeBatch(run.rows, bytes);
      if (Status status = WriteFileAtomically(folder, name, bytes); !status.ok()) return status;
      ack.pending.emplace_back(name, run.table);
      ack.arrivals[name] = std::move(run.arrivals);
    }
    return {};
  }

 private:
  static bool SameSchema(const Batch& left, const Batch& right) {
    const Schema& a = left.schema();
    const Schema& b = right.schema();
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Field& x, const Field& y) {
      return x.name == y.name && x.type == y.type;
    });
  }

  std::vector<Run> runs_;
  std::map<std::string, size_t> last_run_;  // table -> its newest run
};

/// Routes what a chain of operators emits: port 0 to the next operator (or the chain's end),
/// side ports to their tables.
class ChainEmitter : public Emitter {
 public:
  ChainEmitter(const std::vector<std::string>& side_tables, TableBuffers& buffers,
               std::function<Status(Batch&)> next)
      : side_tables_(side_tables), buffers_(buffers), next_(std::move(next)) {}

  void Emit(size_t port, Batch batch) override {
    if (!status_.ok()) return;
    if (port == 0) {
      status_ = next_(batch);
    } else if (port - 1 < side_tables_.size()) {
      buffers_.Append(side_tables_[port - 1], batch);
    } else {
      status_ = MakeError(ErrorCode::kInternal, "an operator emitted on port " +
                                                    std::to_string(port) + " which has no table");
    }
  }
  Status status() const { return status_; }

 private:
  const std::vector<std::string>& side_tables_;
  TableBuffers& buffers_;
  std::function<Status(Batch&)> next_;
  Status status_;
};

std::string MakeRunId() {
  std::random_device device;
  return fmt::format("{:x}-{:08x}", WallClockMillis(), device());
}

/// The operator snapshot folders (op-<subtask>) of a checkpoint, in order.
std::vector<std::string> StateFolders(const std::string& checkpoint) {
  std::vector<std::string> folders;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(checkpoint, error)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("op-", 0) == 0) {
      folders.push_back(entry.path().string());
    }
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

uint64_t FolderBytes(const std::string& folder) {
  uint64_t bytes = 0;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(folder, error)) {
    if (entry.is_regular_file(error)) bytes += entry.file_size(error);
  }
  return bytes;
}

}  // namespace

/// One keyed subtask: its input queue, its operator state, its thread.
class SubtaskWorker {
 public:
  SubtaskWorker(JobExecutor& job, const KeyedStage& stage, const std::string& pipeline,
                uint32_t subtask, size_t participant, size_t channels, size_t capacity,
                MetricRegistry* metrics)
      : job_(job),
        stage_(stage),
        subtask_(subtask),
        participant_(participant),
        queue_(capacity),
        channels_(channels) {
    if (metrics != nullptr) {
      std::vector<std::string> labels{pipeline, stage.op->name(), std::to_string(subtask)};
      records_in_ = &metrics->GetCounter(Metric::kOperatorRecordsIn, labels);
      records_out_ = &metrics->GetCounter(Metric::kOperatorRecordsOut, labels);
      bytes_in_ = &metrics->GetCounter(Metric::kOperatorBytesIn, labels);
      bytes_out_ = &metrics->GetCounter(Metric::kOperatorBytesOut, labels);
      backpressure_ = &metrics->GetCounter(Metric::kOperatorBackpressure, labels);
      queue_fill_ = &metrics->GetGauge(Metric::kOperatorQueueFill, labels);
      state_bytes_ = &metrics->GetGauge(Metric::kOperatorStateBytes, labels);
      state_entries_ = &metrics->GetGauge(Metric::kOperatorStateEntries, labels);
      late_ = &metrics->GetCounter(Metric::kLateRecords, labels);
    }
  }

  Status Init(const OperatorContext& context, const std::vector<std::string>& restore_from) {
    auto state = stage_.op->CreateState(context);
    if (!state.ok()) return state.error();
    state_ = std::move(state).value();
    if (!restore_from.empty()) {
      if (Status restored = stage_.op->Restore(*state_, restore_from); !restored.ok()) {
        return restored;
      }
    }
    UpdateStateGauges();
    return {};
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
    if (writer_.joinable()) writer_.join();
  }

  void Send(WorkerMessage message) {
    double waited = queue_.Push(std::move(message));
    if (waited > 0 && backpressure_ != nullptr) {
      // The counter holds whole seconds; the remainder carries over, so nothing is lost.
      std::lock_guard lock(backpressure_mutex_);
      backpressure_micros_ += static_cast<uint64_t>(waited * 1e6);
      uint64_t whole = backpressure_micros_ / 1000000;
      if (whole > 0) {
        backpressure_->Increment(whole);
        backpressure_micros_ -= whole * 1000000;
      }
    }
  }

 private:
  struct Channel {
    int64_t watermark = INT64_MIN;
    bool idle = false;
    bool ended = false;
    bool blocked = false;  // delivered the barrier being aligned
    std::deque<WorkerMessage> held;
  };

  class PortEmitter : public Emitter {
   public:
    explicit PortEmitter(SubtaskWorker& worker) : worker_(worker) {}
    void Emit(size_t port, Batch batch) override {
      size_t rows = batch.num_rows();
      if (worker_.records_out_ != nullptr) {
        worker_.records_out_->Increment(rows);
        worker_.bytes_out_->Increment(batch.ByteSize());
      }
      if (worker_.stage_.late_port && *worker_.stage_.late_port == port &&
          worker_.late_ != nullptr) {
        worker_.late_->Increment(rows);
      }
      if (port < worker_.stage_.port_tables.size()) {
        worker_.buffers_.Append(worker_.stage_.port_tables[port], batch);
      } else {
        worker_.job_.Fail(MakeError(ErrorCode::kInternal,
                                    "operator " + worker_.stage_.op->name() + " emitted on port " +
                                        std::to_string(port) + " which has no table"));
      }
    }

   private:
    SubtaskWorker& worker_;
  };

  void UpdateStateGauges() {
    if (state_bytes_ != nullptr) state_bytes_->Set(static_cast<double>(state_->StateBytes()));
    if (state_entries_ != nullptr) state_entries_->Set(static_cast<double>(state_->StateEntries()));
  }

  std::optional<WorkerMessage> Next() {
    for (Channel& channel : channels_) {
      if (!channel.blocked && !channel.held.empty()) {
        WorkerMessage message = std::move(channel.held.front());
        channel.held.pop_front();
        return message;
      }
    }
    return queue_.Pop(std::chrono::milliseconds(100));
  }

  Status AdvanceWatermark(Emitter& out) {
    int64_t lowest = INT64_MAX;
    bool any = false;
    for (const Channel& channel : channels_) {
      if (channel.ended || channel.idle) continue;
      lowest = std::min(lowest, channel.watermark);
      any = true;
    }
    if (!any) {
      // Every input is idle or ended: the ended ones' final watermarks are all there is (a file
      // read to its end while the HTTP input waits must still close its windows).
      lowest = INT64_MIN;
      for (const Channel& channel : channels_) {
        if (channel.ended) lowest = std::max(lowest, channel.watermark);
      }
    }
    if (lowest == INT64_MIN || lowest <= watermark_) return {};
    watermark_ = lowest;
    return stage_.op->OnWatermark(*state_, watermark_, out);
  }

  Status Handle(WorkerMessage& message, Emitter& out) {
    Channel& channel = channels_[message.channel];
    if (channel.blocked) {
      channel.held.push_back(std::move(message));
      return {};
    }
    switch (message.kind) {
      case WorkerMessage::Kind::kData:
        channel.idle = false;
        if (records_in_ != nullptr) {
          records_in_->Increment(message.batch->num_rows());
          bytes_in_->Increment(message.batch->ByteSize());
        }
        return stage_.op->Process(*state_, *message.batch, out);
      case WorkerMessage::Kind::kWatermark:
        channel.idle = false;
        channel.watermark = std::max(channel.watermark, message.value);
        return AdvanceWatermark(out);
      case WorkerMessage::Kind::kIdle:
        channel.idle = true;
        return AdvanceWatermark(out);
      case WorkerMessage::Kind::kEnd: {
        channel.ended = true;
        bool all_ended = std::all_of(channels_.begin(), channels_.end(),
                                     [](const Channel& c) { return c.ended; });
        if (all_ended) return stage_.op->OnEndOfInput(*state_, out);
        return AdvanceWatermark(out);
      }
      case WorkerMessage::Kind::kBarrier:
        return OnBarrier(channel, static_cast<uint64_t>(message.value));
      case WorkerMessage::Kind::kHandoff:
        return HandOver(static_cast<uint32_t>(message.value), message.adopt_from);
      case WorkerMessage::Kind::kGroupWatermark:
        return stage_.op->OnKeyGroupWatermark(*state_, message.key_group, message.value, out);
      case WorkerMessage::Kind::kShutdown:
        shutdown_ = true;
        return {};
    }
    return {};
  }

  /// A Kafka partition changed hands: its key group's state goes, and comes from the
  /// checkpoint of its previous owner when one is named.
  Status HandOver(uint32_t key_group, const std::string& adopt_from) {
    if (Status dropped = stage_.op->DropKeyGroup(*state_, key_group); !dropped.ok()) {
      return dropped;
    }
    if (!adopt_from.empty()) {
      auto checkpoint = CheckpointStore::Load(adopt_from);
      if (!checkpoint.ok() || !checkpoint->committed) {
        return MakeError(ErrorCode::kStateHandoffFailed,
                         "the state of key group " + std::to_string(key_group) +
                             " is named in the Kafka group's committed offsets but its "
                             "checkpoint is missing or not committed" +
                             (checkpoint.ok() ? "" : ": " + checkpoint.error().message),
                         adopt_from);
      }
      std::vector<std::string> snapshots = StateFolders(adopt_from);
      if (Status adopted = stage_.op->AdoptKeyGroup(*state_, key_group, snapshots); !adopted.ok()) {
        return MakeError(ErrorCode::kStateHandoffFailed,
                         "loading the state of key group " + std::to_string(key_group) +
                             " failed: " + adopted.error().message,
                         adopted.error().where.empty() ? adopt_from : adopted.error().where);
      }
    }
    UpdateStateGauges();
    spdlog::info("{}: key group {} {}{} (subtask {} now holds {} entries)", stage_.op->name(),
                 key_group, adopt_from.empty() ? "dropped" : "adopted from ", adopt_from, subtask_,
                 state_->StateEntries());
    return {};
  }

  Status OnBarrier(Channel& channel, uint64_t checkpoint) {
    if (!aligning_) {
      aligning_ = true;
      align_start_ = SteadyClock::now();
    }
    channel.blocked = true;
    for (const Channel& each : channels_) {
      if (!each.blocked) return {};
    }
    // Aligned: everything before barrier `checkpoint` from every source is in the state.
    std::string folder = job_.CheckpointFolder(checkpoint);
    std::string state_folder = folder + "/op-" + std::to_string(subtask_);
    std::error_code error;
    fs::create_directories(state_folder, error);
    if (error) {
      return MakeError(ErrorCode::kCheckpointFailed,
                       "cannot create " + state_folder + ": " + error.message());
    }
    Result<Operator::SnapshotCompletion> snapshot = stage_.op->BeginSnapshot(*state_, state_folder);
    if (!snapshot.ok()) return snapshot.error();
    JobExecutor::Ack ack;
    ack.alignment_seconds = SecondsSince(align_start_);
    aligning_ = false;
    for (Channel& each : channels_) each.blocked = false;
    UpdateStateGauges();
    // The state was captured and the result rows taken at the barrier; both are written on
    // another thread while this one goes on with the records after the barrier. The
    // acknowledgement waits for the writes, so the checkpoint completes only once they are
    // durable. The previous write has finished: the coordinator starts a checkpoint only after
    // the last one was acknowledged.
    if (writer_.joinable()) writer_.join();
    writer_ = std::thread([this, checkpoint, folder, finish = std::move(*snapshot),
                           rows = buffers_.Take(), ack = std::move(ack)]() mutable {
      Status done = finish ? finish() : Status();
      if (done.ok()) {
        done = TableBuffers::Write(std::move(rows), folder, "w" + std::to_string(subtask_), ack);
      }
      if (!done.ok()) {
        job_.Fail(done.error());
        return;
      }
      job_.Acknowledge(checkpoint, participant_, std::move(ack));
    });
    return {};
  }

  void Run() {
    PortEmitter out(*this);
    auto last_tick = SteadyClock::now();
    while (!shutdown_) {
      std::optional<WorkerMessage> message = Next();
      Status status;
      if (message) status = Handle(*message, out);
      if (status.ok() && SteadyClock::now() - last_tick >= std::chrono::milliseconds(100)) {
        last_tick = SteadyClock::now();
        status = stage_.op->OnProcessingTime(*state_, WallClockMillis(), out);
        if (queue_fill_ != nullptr) queue_fill_->Set(queue_.fill());
        UpdateStateGauges();
      }
      if (!status.ok()) {
        job_.Fail(status.error());
        // Keep draining so that sources blocked on this queue can finish.
        while (!shutdown_) {
          auto drained = queue_.Pop(std::chrono::milliseconds(100));
          if (drained && drained->kind == WorkerMessage::Kind::kShutdown) shutdown_ = true;
        }
        return;
      }
    }
  }

  JobExecutor& job_;
  const KeyedStage& stage_;
  uint32_t subtask_;
  size_t participant_;
  InputQueue queue_;
  std::vector<Channel> channels_;
  std::unique_ptr<OperatorState> state_;
  TableBuffers buffers_;
  int64_t watermark_ = INT64_MIN;
  bool aligning_ = false;
  SteadyClock::time_point align_start_;
  bool shutdown_ = false;
  std::thread thread_;
  std::thread writer_;             // writes what the subtask captured at the last barrier
  std::mutex backpressure_mutex_;  // sources of several threads send
  uint64_t backpressure_micros_ = 0;
  Counter* records_in_ = nullptr;
  Counter* records_out_ = nullptr;
  Counter* bytes_in_ = nullptr;   // set with records_in_
  Counter* bytes_out_ = nullptr;  // set with records_out_
  Counter* backpressure_ = nullptr;
  Gauge* queue_fill_ = nullptr;
  Gauge* state_bytes_ = nullptr;
  Gauge* state_entries_ = nullptr;
  Counter* late_ = nullptr;
};

/// One source: its thread polls it, runs the chained operators, buffers rows for tables,
/// partitions rows for the keyed stage, and answers checkpoint barriers.
class SourceRunner {
 public:
  SourceRunner(JobExecutor& job, SourceStage& stage, const std::string& pipeline, size_t index,
               std::vector<SubtaskWorker*> workers, std::optional<KeyEncoder> partitioner,
               KeyGrouping grouping, MetricRegistry* metrics)
      : job_(job),
        stage_(stage),
        job_name_(pipeline),
        index_(index),
        workers_(std::move(workers)),
        partitioner_(std::move(partitioner)),
        grouping_(grouping),
        dead_letters_(DeadLetterSchema()),
        split_watermarks_(stage.watermark.max_out_of_orderness_ms,
                          stage.watermark.idle_timeout_ms) {
    if (metrics != nullptr && !stage.watermark.time_field.empty()) {
      watermark_lag_ = &metrics->GetGauge(Metric::kWatermarkLag, {pipeline, stage.name});
    }
    if (metrics != nullptr) {
      received_ = std::make_unique<ComponentMetrics>(*metrics, ComponentKind::kSource, "stream",
                                                     stage.name);
    }
  }

  Status Open(const std::string* position) {
    // Restore first: Open starts reading from the restored position (a file seeks to it, a CDC
    // source decides between copying and streaming).
    if (position != nullptr) {
      if (Status restored = stage_.source->Restore(*position); !restored.ok()) return restored;
    }
    if (Status opened = stage_.source->Open(); !opened.ok()) return opened;
    for (const ChainedOperator& chained : stage_.chain) {
      OperatorContext context;
      context.pipeline = job_name_;
      context.operator_id = chained.op->name();
      auto state = chained.op->CreateState(context);
      if (!state.ok()) return state.error();
      chain_states_.push_back(std::move(state).value());
    }
    // The event-time column of the chain's output, for the watermark.
    if (!stage_.watermark.time_field.empty()) {
      Schema output =
          stage_.chain.empty() ? stage_.schema : stage_.chain.back().op->output_schemas()[0];
      for (size_t i = 0; i < output.size(); ++i) {
        if (output[i].name == stage_.watermark.time_field) time_column_ = i;
      }
      if (!time_column_) {
        return MakeError(ErrorCode::kSpecInvalidValue,
                         "event-time field '" + stage_.watermark.time_field +
                             "' is not a field of source " + stage_.name + "'s records");
      }
    }
    return {};
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void Terminate() { terminate_ = true; }
  void StopPolling() { drained_ = true; }
  bool finished() const { return finished_.load(); }
  /// Once the job is stopping: the source has handed out everything it had (its last poll found
  /// nothing new), so the final checkpoint covers all of it.
  bool drained() const { return drained_.load() || finished_.load(); }
  const std::string& name() const { return stage_.name; }

  /// Asks the source's thread to confirm `position` upstream before its next poll; `checkpoint`
  /// is the committed checkpoint's folder.
  void RequestCommit(std::string position, std::string checkpoint) {
    std::lock_guard lock(commit_mutex_);
    commit_position_ = std::move(position);
    commit_checkpoint_ = std::move(checkpoint);
  }
  std::vector<std::string> ReferencedCheckpoints() const {
    return stage_.source->ReferencedCheckpoints();
  }

 private:
  Status ConfirmCommitted() {
    std::optional<std::string> position;
    std::string checkpoint;
    {
      std::lock_guard lock(commit_mutex_);
      position.swap(commit_position_);
      checkpoint.swap(commit_checkpoint_);
    }
    if (!position) return {};
    return stage_.source->CommitCheckpoint(*position, checkpoint);
  }

  Status AnswerBarrier(uint64_t checkpoint) {
    JobExecutor::Ack ack;
    ack.source = stage_.name;
    ack.position = stage_.source->Position();
    std::string folder = job_.CheckpointFolder(checkpoint);
    if (dead_letters_.num_rows() > 0 && !stage_.dead_letters_written_elsewhere) {
      if (stage_.dead_letter_table.empty()) {
        return MakeError(ErrorCode::kSpecInvalidValue,
                         "source " + stage_.name + " refused records but has no dead-letter table");
      }
      buffers_.Append(stage_.dead_letter_table, dead_letters_);
      dead_letters_.Clear();
    }
    Status written = buffers_.WriteTo(folder, "s" + std::to_string(index_), ack);
    if (!written.ok()) return written;
    for (SubtaskWorker* worker : workers_) {
      WorkerMessage barrier;
      barrier.kind = WorkerMessage::Kind::kBarrier;
      barrier.channel = static_cast<uint32_t>(index_);
      barrier.value = static_cast<int64_t>(checkpoint);
      worker->Send(std::move(barrier));
    }
    job_.Acknowledge(checkpoint, index_, std::move(ack));
    return {};
  }

  void Broadcast(WorkerMessage::Kind kind, int64_t value) {
    for (SubtaskWorker* worker : workers_) {
      WorkerMessage message;
      message.kind = kind;
      message.channel = static_cast<uint32_t>(index_);
      message.value = value;
      worker->Send(std::move(message));
    }
  }

  /// The end of the chain: rows go to the stage's table and/or the keyed subtasks.
  Status Deliver(Batch& batch) {
    if (batch.num_rows() == 0) return {};
    if (!stage_.table.empty()) buffers_.Append(stage_.table, batch);
    if (!stage_.to_keyed) return {};
    std::optional<int64_t> newest;
    if (time_column_) {
      const Column& times = batch.column(*time_column_);
      for (size_t row = 0; row < batch.num_rows(); ++row) {
        if (times.IsNull(row)) continue;
        int64_t at = EventTimeMillis(times, row);
        if (!newest || at > *newest) newest = at;
      }
    }
    size_t parallelism = workers_.size();
    if (parallelism == 1) {
      workers_[0]->Send(DataMessage(batch));
    } else {
      std::vector<std::vector<uint8_t>> keep(parallelism,
                                             std::vector<uint8_t>(batch.num_rows(), 0));
      std::string key;
      for (size_t row = 0; row < batch.num_rows(); ++row) {
        partitioner_->Encode(batch, row, key);
        uint32_t group = grouping_.Of(key);
        keep[SubtaskOfKeyGroup(group, static_cast<uint32_t>(parallelism))][row] = 1;
      }
      for (size_t subtask = 0; subtask < parallelism; ++subtask) {
        Batch part = batch;
        part.Filter(keep[subtask]);
        if (part.num_rows() > 0) workers_[subtask]->Send(DataMessage(part));
      }
    }
    if (!newest) return {};
    if (poll_split_.empty()) {
      AdvanceWatermark(*newest - stage_.watermark.max_out_of_orderness_ms);
    } else {
      split_watermarks_.Observe(poll_split_, *newest, SteadyClock::now());
      AdvanceSplitWatermark();
    }
    return {};
  }

  /// Key groups that are partitions keep their own watermarks: each split's goes to the
  /// subtask owning its key group (when it moved on).
  void SendGroupWatermarks(std::optional<int64_t> combined) {
    for (const auto& [split, watermark] :
         split_watermarks_.PerSplit(combined, SteadyClock::now())) {
      uint32_t group = stage_.source->SplitKeyGroup(split);
      auto [sent, inserted] = group_watermarks_sent_.try_emplace(group, watermark);
      if (!inserted && watermark <= sent->second) continue;
      sent->second = watermark;
      WorkerMessage message;
      message.kind = WorkerMessage::Kind::kGroupWatermark;
      message.channel = static_cast<uint32_t>(index_);
      message.key_group = group;
      message.value = watermark;
      workers_[SubtaskOfKeyGroup(group, static_cast<uint32_t>(workers_.size()))]->Send(
          std::move(message));
    }
  }

  void AdvanceWatermark(int64_t watermark) {
    if (watermark > watermark_) {
      watermark_ = watermark;
      Broadcast(WorkerMessage::Kind::kWatermark, watermark_);
    }
    if (watermark_lag_ != nullptr && watermark_ != INT64_MIN) {
      watermark_lag_->Set(static_cast<double>(WallClockMillis() - watermark_) / 1000.0);
    }
  }

  /// A source of several splits (Kafka partitions): the smallest over its splits, so records
  /// of a split behind the others are not late (SplitWatermarks).
  void AdvanceSplitWatermark() {
    std::optional<int64_t> watermark =
        split_watermarks_.Current(stage_.source->Splits(), SteadyClock::now());
    if (watermark) AdvanceWatermark(*watermark);
    if (grouping_.by_partition()) SendGroupWatermarks(watermark);
  }

  WorkerMessage DataMessage(const Batch& batch) {
    WorkerMessage message;
    message.kind = WorkerMessage::Kind::kData;
    message.channel = static_cast<uint32_t>(index_);
    message.batch = std::make_unique<Batch>(batch);
    return message;
  }

  /// A polled batch goes through the chain, unless the source names its table: then its rows,
  /// in that table's own schema, go straight to the table.
  Status Route(Batch& batch) {
    std::string table = stage_.source->LastPollTable();
    if (table.empty()) return RunChain(0, batch);
    if (!stage_.chain.empty() || stage_.to_keyed) {
      return MakeError(ErrorCode::kInternal,
                       "source " + stage_.name +
                           " writes several tables, so it takes no chained operators or keyed "
                           "stage");
    }
    buffers_.Append(table, batch);
    return {};
  }

  /// Runs the chain from operator `at` on `batch`.
  Status RunChain(size_t at, Batch& batch) {
    if (at == stage_.chain.size()) return Deliver(batch);
    ChainEmitter emitter(stage_.chain[at].side_tables, buffers_,
                         [this, at](Batch& next) { return RunChain(at + 1, next); });
    if (Status processed = stage_.chain[at].op->Process(*chain_states_[at], batch, emitter);
        !processed.ok()) {
      return processed;
    }
    return emitter.status();
  }

  Status PollOnce() {
    Batch batch(stage_.schema);
    std::vector<DeadLetter> refused;
    auto polled = stage_.source->Poll(batch, refused);
    if (!polled.ok()) return polled.error();
    for (const DeadLetter& letter : refused) AppendDeadLetter(letter, stage_.stream, dead_letters_);
    if (received_ != nullptr && (batch.num_rows() > 0 || !refused.empty())) {
      received_->RecordsReceived(batch.num_rows() + refused.size(), batch.ByteSize());
      if (!refused.empty()) received_->DeadLettered(refused.size());
    }
    poll_split_ = stage_.source->LastPollSplit();
    // State changes hands before the records of the partitions that moved.
    for (Source::KeyGroupHandoff& handoff : stage_.source->TakeKeyGroupHandoffs()) {
      if (workers_.empty()) continue;
      WorkerMessage message;
      message.kind = WorkerMessage::Kind::kHandoff;
      message.channel = static_cast<uint32_t>(index_);
      message.value = handoff.key_group;
      message.adopt_from = std::move(handoff.adopt_from);
      // The group starts again from the watermark it brings along (or none).
      group_watermarks_sent_.erase(handoff.key_group);
      workers_[SubtaskOfKeyGroup(handoff.key_group, static_cast<uint32_t>(workers_.size()))]->Send(
          std::move(message));
    }
    // A poll may hand out rows and report the end of input at once.
    if (batch.num_rows() > 0) {
      last_data_ = SteadyClock::now();
      idle_sent_ = false;
      if (Status delivered = Route(batch); !delivered.ok()) return delivered;
    }
    switch (*polled) {
      case PollStatus::kData:
        return {};
      case PollStatus::kIdle:
        if (job_.stopping()) drained_ = true;
        if (time_column_ && !workers_.empty()) AdvanceSplitWatermark();
        if (!idle_sent_ && !workers_.empty() &&
            SecondsSince(last_data_) * 1000 >=
                static_cast<double>(stage_.watermark.idle_timeout_ms)) {
          idle_sent_ = true;
          Broadcast(WorkerMessage::Kind::kIdle, 0);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return {};
      case PollStatus::kFinished:
        for (size_t at = 0; at < stage_.chain.size(); ++at) {
          ChainEmitter emitter(stage_.chain[at].side_tables, buffers_,
                               [this, at](Batch& next) { return RunChain(at + 1, next); });
          if (Status ended = stage_.chain[at].op->OnEndOfInput(*chain_states_[at], emitter);
              !ended.ok()) {
            return ended;
          }
        }
        Broadcast(WorkerMessage::Kind::kEnd, 0);
        finished_ = true;
        // The coordinator takes the final checkpoint as soon as every source is finished, not
        // at its next scheduled one.
        job_.WakeCoordinator();
        return {};
    }
    return {};
  }

  void Run() {
    last_data_ = SteadyClock::now();
    uint64_t answered = 0;
    while (!terminate_) {
      Status status = ConfirmCommitted();
      uint64_t requested = job_.requested_checkpoint();
      if (status.ok() && requested > answered) {
        answered = requested;
        status = AnswerBarrier(requested);
      } else if (status.ok() && !finished_ && !drained_) {
        status = PollOnce();
      } else if (status.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!status.ok()) {
        job_.Fail(status.error().code == ErrorCode::kOk
                      ? status.error()
                      : MakeError(status.error().code,
                                  "source " + stage_.name + ": " + status.error().message,
                                  status.error().where));
        return;
      }
    }
  }

  JobExecutor& job_;
  SourceStage& stage_;
  std::string job_name_;
  size_t index_;
  std::vector<SubtaskWorker*> workers_;
  std::optional<KeyEncoder> partitioner_;
  KeyGrouping grouping_;
  std::vector<std::unique_ptr<OperatorState>> chain_states_;
  std::optional<size_t> time_column_;
  TableBuffers buffers_;
  Batch dead_letters_;
  int64_t watermark_ = INT64_MIN;
  SplitWatermarks split_watermarks_;                   // of a source of several splits
  std::string poll_split_;                             // of the batch being delivered
  std::map<uint32_t, int64_t> group_watermarks_sent_;  // key groups by partition
  SteadyClock::time_point last_data_;
  bool idle_sent_ = false;
  std::atomic<bool> finished_{false};
  std::atomic<bool> drained_{false};
  std::atomic<bool> terminate_{false};
  std::mutex commit_mutex_;
  std::optional<std::string> commit_position_;
  std::string commit_checkpoint_;
  std::thread thread_;
  Gauge* watermark_lag_ = nullptr;
  std::unique_ptr<ComponentMetrics> received_;
};

JobExecutor::JobExecutor(JobGraph graph, JobOptions options)
    : graph_(std::move(graph)),
      options_(std::move(options)),
      store_(options_.checkpoint_directory, options_.checkpoints_retained),
      run_id_(MakeRunId()) {}

JobExecutor::~JobExecutor() {
  if (!stopped_) (void)Stop();
}

Result<std::unique_ptr<JobExecutor>> JobExecutor::Start(JobGraph graph, JobOptions options) {
  std::unique_ptr<JobExecutor> job(new JobExecutor(std::move(graph), std::move(options)));
  std::error_code error;
  fs::create_directories(job->options_.checkpoint_directory, error);
  if (error) {
    return MakeError(ErrorCode::kIoError, "cannot create the checkpoint folder: " + error.message(),
                     job->options_.checkpoint_directory);
  }
  if (Status restored = job->Restore(); !restored.ok()) {
    job->stopped_ = true;
    return restored.error();
  }
  for (auto& worker : job->workers_) worker->Start();
  for (auto& source : job->sources_) source->Start();
  job->coordinator_ = std::thread([raw = job.get()] { raw->CoordinatorLoop(); });
  return job;
}

Status JobExecutor::Restore() {
  std::optional<StoredCheckpoint> restored;
  if (!options_.restore_from.empty()) {
    auto loaded = CheckpointStore::Load(options_.restore_from);
    if (!loaded.ok()) return loaded.error();
    restored = std::move(*loaded);
    spdlog::info("restoring from savepoint {} (checkpoint {})", options_.restore_from,
                 restored->metadata.id);
  } else {
    auto latest = store_.Latest();
    if (!latest.ok()) return latest.error();
    restored = std::move(*latest);
    if (restored) {
      spdlog::info("restoring from checkpoint {} in {}", restored->metadata.id,
                   restored->directory);
    }
  }
  if (auto latest = store_.Latest(); latest.ok() && *latest) {
    next_id_ = (*latest)->metadata.id + 1;
  }
  for (const std::string& table : options_.tables) sinks_.emplace(table, options_.make_sink(table));
  if (options_.metrics != nullptr) {
    for (const auto& [table, stream] : options_.dead_letter_streams) {
      dead_letter_counts_.emplace(table,
                                  std::make_unique<DeadLetterMetrics>(*options_.metrics, stream));
    }
    // The latency series exist from the start, so a dashboard sees them before the first commit.
    for (const JobOptions::LatencyColumn& timed : options_.latency_columns) {
      options_.metrics->GetHistogram(Metric::kEndToEndLatency,
                                     {graph_.pipeline, timed.table, timed.from});
    }
    for (const std::string& table : options_.receipt_latency_tables) {
      options_.metrics->GetHistogram(Metric::kEndToEndLatency, {graph_.pipeline, table, "receipt"});
    }
  }
  if (restored) {
    next_id_ = std::max(next_id_, restored->metadata.id + 1);
    // A crash between completing a checkpoint and committing it: commit it now. The tokens
    // are the same as in the interrupted attempt, so rows already inserted are not repeated.
    if (!restored->committed) {
      if (Status committed = Commit(*restored); !committed.ok()) return committed;
      if (Status marked = store_.MarkCommitted(restored->directory); !marked.ok()) return marked;
    }
    if (options_.metrics != nullptr) {
      options_.metrics->GetCounter(Metric::kPipelineRestarts, {graph_.pipeline}).Increment();
    }
  } else if (options_.metrics != nullptr) {
    // A first start: the series exists at zero, so increase() sees the first restart.
    options_.metrics->GetCounter(Metric::kPipelineRestarts, {graph_.pipeline});
  }

  // Keyed subtasks, then sources (which send to them).
  std::vector<SubtaskWorker*> worker_pointers;
  if (graph_.keyed) {
    std::vector<std::string> state_folders;
    if (restored) state_folders = StateFolders(restored->directory);
    uint32_t parallelism = std::max<uint32_t>(graph_.keyed->parallelism, 1);
    for (uint32_t subtask = 0; subtask < parallelism; ++subtask) {
      auto worker = std::make_unique<SubtaskWorker>(
          *this, *graph_.keyed, graph_.pipeline, subtask, graph_.sources.size() + subtask,
          graph_.sources.size(), options_.queue_capacity, options_.metrics);
      OperatorContext context;
      context.pipeline = graph_.pipeline;
      context.operator_id = graph_.keyed->op->name();
      context.subtask = subtask;
      context.parallelism = parallelism;
      context.key_groups = KeyGroupsOfSubtask(subtask, parallelism);
      context.state_directory = (fs::path(options_.state_directory) / graph_.keyed->op->name() /
                                 ("subtask-" + std::to_string(subtask)))
                                    .string();
      std::error_code error;
      fs::remove_all(context.state_directory, error);  // local state is rebuilt from the checkpoint
      fs::create_directories(context.state_directory, error);
      if (Status ready = worker->Init(context, state_folders); !ready.ok()) return ready;
      worker_pointers.push_back(worker.get());
      workers_.push_back(std::move(worker));
    }
  }
  for (size_t index = 0; index < graph_.sources.size(); ++index) {
    SourceStage& stage = graph_.sources[index];
    std::optional<KeyEncoder> partitioner;
    std::vector<SubtaskWorker*> targets;
    if (stage.to_keyed) {
      if (!graph_.keyed) {
        return MakeError(ErrorCode::kInternal, "source " + stage.name + " feeds no keyed stage");
      }
      const Schema& schema = graph_.keyed->op->input_schema();
      auto encoder = KeyEncoder::Make(schema, graph_.keyed->key_fields);
      if (!encoder.ok()) return encoder.error();
      partitioner = std::move(*encoder);
      targets = worker_pointers;
    }
    auto runner = std::make_unique<SourceRunner>(
        *this, stage, graph_.pipeline, index, targets, std::move(partitioner),
        graph_.keyed ? graph_.keyed->grouping : KeyGrouping{}, options_.metrics);
    const std::string* position = nullptr;
    if (restored) {
      for (const auto& [name, saved] : restored->metadata.source_positions) {
        if (name == stage.name) position = &saved;
      }
      if (position == nullptr) {
        spdlog::warn("source {} is not in the restored checkpoint: it starts from its beginning",
                     stage.name);
      }
    }
    if (Status opened = runner->Open(position); !opened.ok()) return opened;
    sources_.push_back(std::move(runner));
  }
  return {};
}

void JobExecutor::ObserveLatency(const std::string& table, const Batch& batch,
                                 const Arrivals* arrivals) {
  if (options_.metrics == nullptr) return;
  int64_t committed_ms = WallClockMillis();
  for (const JobOptions::LatencyColumn& timed : options_.latency_columns) {
    if (timed.table != table) continue;
    for (size_t column = 0; column < batch.num_columns(); ++column) {
      if (batch.schema()[column].name != timed.column) continue;
      ObserveLatencySince(options_.metrics->GetHistogram(Metric::kEndToEndLatency,
                                                         {graph_.pipeline, table, timed.from}),
                          batch.column(column), committed_ms);
    }
  }
  if (arrivals != nullptr && options_.receipt_latency_tables.contains(table)) {
    Histogram& receipt = options_.metrics->GetHistogram(Metric::kEndToEndLatency,
                                                        {graph_.pipeline, table, "receipt"});
    for (const auto& [arrived_ms, rows] : *arrivals) {
      receipt.Observe(static_cast<double>(std::max<int64_t>(0, committed_ms - arrived_ms)) / 1000.0,
                      rows);
    }
  }
}

Status JobExecutor::Commit(const StoredCheckpoint& checkpoint,
                           const std::map<std::string, Arrivals>* arrivals) {
  for (const auto& [file, table] : checkpoint.metadata.pending_batches) {
    auto sink = sinks_.find(table);
    if (sink == sinks_.end()) {
      return MakeError(
          ErrorCode::kSavepointMismatch,
          "checkpoint holds rows for table '" + table + "' which the pipeline no longer writes",
          checkpoint.directory);
    }
    std::string path = checkpoint.directory + "/" + file;
    // One sized read: a stream read went byte by byte, ~15 % of the commit thread's CPU for a
    // raw table fed at full speed.
    auto bytes = ReadWholeFile(path);
    if (!bytes.ok()) return bytes.error();
    std::string_view view = *bytes;
    auto schema = DecodeSchema(view);
    if (!schema.ok()) return MakeError(ErrorCode::kCheckpointCorrupt, schema.error().message, path);
    Batch batch(std::move(*schema));
    if (Status decoded = DecodeBatch(view, batch); !decoded.ok()) {
      return MakeError(ErrorCode::kCheckpointCorrupt, decoded.error().message, path);
    }
    std::string identity =
        fmt::format("{}/chk-{}/{}", checkpoint.metadata.run_id, checkpoint.metadata.id, file);
    if (Status written = sink->second->Write(batch, identity); !written.ok()) return written;
    if (Status flushed = sink->second->Flush(); !flushed.ok()) return flushed;
    const Arrivals* arrived = nullptr;
    if (arrivals != nullptr) {
      auto found = arrivals->find(file);
      if (found != arrivals->end()) arrived = &found->second;
    }
    ObserveLatency(table, batch, arrived);
    if (auto counts = dead_letter_counts_.find(table); counts != dead_letter_counts_.end()) {
      // Durable now: counted by the code each row carries.
      for (size_t column = 0; column < batch.num_columns(); ++column) {
        if (batch.schema()[column].name != "error_code") continue;
        for (size_t row = 0; row < batch.num_rows(); ++row) {
          counts->second->Count(
              static_cast<ErrorCode>(batch.column(column).FixedAt<uint16_t>(row)));
        }
      }
    }
  }
  return {};
}

std::string JobExecutor::CheckpointFolder(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto found = folders_.find(id);
  return found == folders_.end() ? std::string() : found->second;
}

void JobExecutor::Acknowledge(uint64_t checkpoint, size_t participant, Ack ack) {
  std::lock_guard lock(mutex_);
  if (checkpoint != requested_.load()) return;
  acks_[participant] = std::move(ack);
  changed_.notify_all();
}

void JobExecutor::WakeCoordinator() {
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

void JobExecutor::Fail(const Error& error) {
  std::lock_guard lock(mutex_);
  if (!failure_) {
    spdlog::error("pipeline {} failed: {}", graph_.pipeline, error.ToString());
    failure_ = error;
  }
  changed_.notify_all();
}

std::optional<Error> JobExecutor::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

bool JobExecutor::AllInputFinished() const {
  for (const auto& source : sources_) {
    if (!source->finished()) return false;
  }
  return true;
}

Result<std::string> JobExecutor::TakeCheckpoint() {
  auto started = SteadyClock::now();
  uint64_t id = next_id_++;
  auto folder = store_.Begin(id);
  if (!folder.ok()) return folder.error();
  size_t participants = sources_.size() + workers_.size();
  {
    std::unique_lock lock(mutex_);
    folders_[id] = *folder;
    acks_.clear();
    requested_ = id;
    changed_.wait(lock, [&] { return acks_.size() == participants || failure_.has_value(); });
    if (failure_) return *failure_;
  }
  CheckpointMetadata metadata;
  metadata.id = id;
  metadata.created_ms = WallClockMillis();
  metadata.parallelism = graph_.keyed ? std::max<uint32_t>(graph_.keyed->parallelism, 1) : 1;
  metadata.run_id = run_id_;
  double alignment = 0;
  std::map<std::string, Arrivals> arrivals;
  {
    std::lock_guard lock(mutex_);
    for (auto& [participant, ack] : acks_) {
      if (!ack.source.empty()) metadata.source_positions.emplace_back(ack.source, ack.position);
      for (auto& pending : ack.pending) metadata.pending_batches.push_back(pending);
      arrivals.merge(ack.arrivals);
      alignment = std::max(alignment, ack.alignment_seconds);
    }
    folders_.erase(id);
  }
  uint64_t bytes = FolderBytes(*folder);
  auto complete = store_.Complete(metadata);
  if (!complete.ok()) return complete.error();
  StoredCheckpoint stored{*complete, metadata, false};
  if (Status committed = Commit(stored, &arrivals); !committed.ok()) return committed.error();
  if (Status marked = store_.MarkCommitted(*complete); !marked.ok()) return marked.error();
  // Absolute: another process loads a moved partition's state from it.
  std::string absolute = fs::absolute(*complete).lexically_normal().string();
  for (auto& source : sources_) {
    for (const auto& [name, position] : metadata.source_positions) {
      if (name == source->name()) source->RequestCommit(position, absolute);
    }
  }
  if (options_.on_committed) options_.on_committed(metadata);
  last_committed_ = id;
  if (options_.metrics != nullptr) {
    MetricRegistry& metrics = *options_.metrics;
    metrics.GetHistogram(Metric::kCheckpointDuration, {graph_.pipeline})
        .Observe(SecondsSince(started));
    metrics.GetGauge(Metric::kCheckpointAlignment, {graph_.pipeline}).Set(alignment);
    metrics.GetGauge(Metric::kCheckpointSize, {graph_.pipeline}).Set(static_cast<double>(bytes));
    metrics.GetCounter(Metric::kCheckpoints, {graph_.pipeline, "completed"}).Increment();
    metrics.GetGauge(Metric::kLastCheckpoint, {graph_.pipeline})
        .Set(static_cast<double>(metadata.created_ms) / 1000.0);
  }
  std::set<std::string> referenced;
  for (auto& source : sources_) {
    for (std::string& folder : source->ReferencedCheckpoints())
      referenced.insert(std::move(folder));
  }
  if (Status pruned = store_.Prune(referenced); !pruned.ok()) {
    spdlog::warn("removing old checkpoints failed: {}", pruned.error().ToString());
  }
  return *complete;
}

void JobExecutor::CoordinatorLoop() {
  auto next_due = SteadyClock::now() + std::chrono::milliseconds(options_.checkpoint_interval_ms);
  while (true) {
    bool savepoint = false;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, next_due, [&] {
        return stop_coordinator_.load() || savepoint_requested_ || failure_.has_value() ||
               (!finished_ && AllInputFinished());
      });
      if (failure_ || stop_coordinator_) break;
      savepoint = savepoint_requested_;
    }
    bool final_checkpoint = AllInputFinished();
    if (!savepoint && !final_checkpoint && SteadyClock::now() < next_due) continue;
    next_due = SteadyClock::now() + std::chrono::milliseconds(options_.checkpoint_interval_ms);
    auto taken = TakeCheckpoint();
    if (!taken.ok()) {
      if (options_.metrics != nullptr) {
        options_.metrics->GetCounter(Metric::kCheckpoints, {graph_.pipeline, "failed"}).Increment();
      }
      Fail(taken.error());
    }
    std::lock_guard lock(mutex_);
    if (savepoint) {
      if (taken.ok()) {
        Status copied = store_.CopyTo(*taken, savepoint_target_);
        savepoint_result_ = copied.ok() ? Result<std::string>(savepoint_target_)
                                        : Result<std::string>(copied.error());
      } else {
        savepoint_result_ = taken;
      }
      savepoint_requested_ = false;
    }
    if (final_checkpoint && taken.ok()) finished_ = true;
    changed_.notify_all();
    if (!taken.ok()) break;
  }
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

Result<std::string> JobExecutor::TriggerSavepoint(const std::string& target) {
  std::unique_lock lock(mutex_);
  if (failure_) return *failure_;
  if (savepoint_requested_) {
    return MakeError(ErrorCode::kCheckpointFailed, "a savepoint is already being taken");
  }
  savepoint_target_ = target;
  savepoint_result_.reset();
  savepoint_requested_ = true;
  changed_.notify_all();
  changed_.wait(lock, [&] { return savepoint_result_.has_value() || failure_.has_value(); });
  if (!savepoint_result_) return *failure_;
  return *savepoint_result_;
}

Status JobExecutor::WaitFinished() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_ || failure_.has_value(); });
  if (failure_) return *failure_;
  return {};
}

Status JobExecutor::Stop() {
  if (stopped_) return {};
  stopped_ = true;
  stopping_ = true;  // sources stop polling but still answer barriers
  // The coordinator takes one last checkpoint so that everything processed is committed.
  {
    std::lock_guard lock(mutex_);
    stop_coordinator_ = true;
    changed_.notify_all();
  }
  if (coordinator_.joinable()) coordinator_.join();
  // Sources hand out what they already have (e.g. the rest of the write-ahead log), so that
  // the final checkpoint leaves nothing behind that arrived before the stop.
  // A source that keeps having data is cut off after a while; what it did not hand out stays
  // upstream for the next run.
  auto drain_deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (!failure()) {
    bool drained = std::all_of(sources_.begin(), sources_.end(),
                               [](const auto& source) { return source->drained(); });
    if (drained) break;
    if (SteadyClock::now() > drain_deadline) {
      for (auto& source : sources_) source->StopPolling();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Status final_status;
  if (!failure()) {
    auto taken = TakeCheckpoint();
    if (!taken.ok()) final_status = taken.error();
  } else {
    final_status = *failure();
  }
  for (auto& source : sources_) source->Terminate();
  for (auto& source : sources_) source->Join();
  for (auto& worker : workers_) {
    WorkerMessage shutdown;
    shutdown.kind = WorkerMessage::Kind::kShutdown;
    worker->Send(std::move(shutdown));
  }
  for (auto& worker : workers_) worker->Join();
  return final_status;
}

}  // namespace sluice
