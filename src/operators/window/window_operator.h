#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/key_encoder.h"
#include "dataflow/operator.h"
#include "operators/window/aggregate_layout.h"
#include "operators/window/window_config.h"
#include "operators/window/window_store.h"

namespace sluice {

/// What one subtask of a WindowOperator holds: its keyed windows (memory or RocksDB), the
/// current watermark, and counters the runtime reads for metrics.
class WindowState final : public OperatorState {
 public:
  /// Milliseconds since the epoch; the processing-time clock (tests inject their own).
  using Clock = std::function<int64_t()>;

  uint64_t StateBytes() const override { return store_->StateBytes(); }
  uint64_t StateEntries() const override { return store_->StateEntries(); }

  /// Records sent to the late output (port 1) since this state was created.
  uint64_t late_records() const { return late_records_; }
  /// The event time up to which windows have fired (processing time for processing-time windows).
  int64_t watermark() const { return watermark_; }
  void SetClock(Clock clock) { clock_ = std::move(clock); }

 private:
  friend class WindowOperator;

  WindowState(OperatorContext context, std::unique_ptr<WindowStore> store, Clock clock);

  OperatorContext context_;
  std::unique_ptr<WindowStore> store_;
  Clock clock_;
  int64_t watermark_ = kNoTimer;  // with key groups by partition: the current batch's group's
  /// With key groups by partition: each group's watermark (its partition's), by key group.
  std::vector<int64_t> group_watermarks_;
  uint64_t late_records_ = 0;

  // Scratch reused from batch to batch.
  std::string key_bytes_;
  std::string key_buffer_;              // the keys of the batch's on-time rows, back to back
  std::vector<size_t> key_ends_;        // per row, where its key ends in key_buffer_
  std::vector<std::string_view> keys_;  // per on-time row
  std::vector<KeyState*> resolved_;     // per on-time row
  std::vector<KeyState*> key_states_;   // per row, null for too-late rows
  std::vector<int64_t> times_;
  std::vector<uint8_t> late_;
  std::vector<std::vector<char*>> places_;  // [window of the row][row]
  std::vector<KeyState*> pending_;          // keys with windows to fire at the end of the batch
  std::vector<DueTimer> due_;
};

/// Keyed event-time (or processing-time) window aggregation: tumbling, hopping, session and
/// global windows with allowed lateness, on a memory or RocksDB state backend.
///
/// Port 0 carries one row per fired key and window: the key fields, `window_start` and
/// `window_end` (DateTime64(3)), one column per aggregate, `_version` (records aggregated into
/// the window: deterministic and growing with late updates) and `_is_deleted` (1 for a session
/// start that a merge superseded), for a ReplacingMergeTree(_version, _is_deleted) table.
/// Port 1 carries records too late for any window, in the input schema.
class WindowOperator final : public Operator {
 public:
  /// Checks the config (sizes, field types, aggregates); errors are kSpec* codes naming the
  /// operator and the offending setting.
  static Result<std::unique_ptr<WindowOperator>> Make(WindowOperatorConfig config);

  const std::string& name() const override { return config_.name; }
  const Schema& input_schema() const override { return config_.input_schema; }
  std::vector<Schema> output_schemas() const override {
    return {output_schema_, config_.input_schema};
  }
  const WindowOperatorConfig& config() const { return config_; }

  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext& context) const override;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;
  /// Ignored with key groups by partition: each group fires on its own watermark.
  Status OnWatermark(OperatorState& state, int64_t watermark_ms, Emitter& out) const override;
  Status OnKeyGroupWatermark(OperatorState& state, uint32_t key_group, int64_t watermark_ms,
                             Emitter& out) const override;
  Status OnProcessingTime(OperatorState& state, int64_t now_ms, Emitter& out) const override;
  Status OnEndOfInput(OperatorState& state, Emitter& out) const override;
  Status Snapshot(const OperatorState& state, const std::string& directory) const override;
  /// Captures the state's changes since the last snapshot (memory backend) or a RocksDB
  /// checkpoint at the barrier; writing and syncing the pieces and the meta file is left to the
  /// returned completion.
  Result<SnapshotCompletion> BeginSnapshot(const OperatorState& state,
                                           const std::string& directory) const override;
  Status Restore(OperatorState& state, const std::vector<std::string>& directories) const override;
  Status DropKeyGroup(OperatorState& state, uint32_t key_group) const override;
  /// Adds the keys of `key_group` from the snapshots in `directories` (every subtask's folder
  /// of another process's checkpoint); the watermark stays this subtask's own.
  Status AdoptKeyGroup(OperatorState& state, uint32_t key_group,
                       const std::vector<std::string>& directories) const override;
  /// Reads only the meta files of the snapshots in `directories`: SAVEPOINT_MISMATCH when one was
  /// written by an operator with other keys, time, windows or aggregates. Lets a savepoint be
  /// checked before anything else changes (the tables' migration).
  Status CheckSnapshots(const std::vector<std::string>& directories) const;

 private:
  WindowOperator(WindowOperatorConfig config, KeyEncoder encoder,
                 std::shared_ptr<const AggregateLayout> layout, Schema output_schema);

  /// A snapshot's meta file: the watermark and key groups of the subtask that wrote it.
  struct SnapshotMeta {
    int64_t watermark = 0;
    KeyGroupRange key_groups;  // all of them when the snapshot does not say
    std::vector<std::pair<uint32_t, int64_t>> group_watermarks;  // key groups by partition
  };
  void RestoreGroupWatermarks(WindowState& state, const SnapshotMeta& meta,
                              KeyGroupRange key_groups) const;
  /// The key group of a batch of one partition's records (key groups by partition).
  Result<uint32_t> BatchKeyGroup(const Batch& input) const;
  /// Reads and checks (state description) the meta file of the snapshot in `directory`.
  Result<SnapshotMeta> ReadMeta(const std::string& directory) const;

  bool processing_time() const { return config_.time_field.empty(); }
  /// Windows a record can fall into: size / slide for hopping windows, else 1.
  size_t WindowsPerRecord() const;
  void ComputeTimes(WindowState& state, const Batch& input) const;
  /// Marks too-late rows and looks up the key state of every other row.
  Status ResolveKeys(WindowState& state, const Batch& input) const;
  Status AssignFixedWindows(WindowState& state, const Batch& input) const;
  Status AssignSessions(WindowState& state, const Batch& input, Batch& output) const;
  Status AssignGlobal(WindowState& state, const Batch& input) const;
  /// Sets the window's timer: its firing time while that is ahead of the watermark, afterwards
  /// the time its state is freed.
  void Reschedule(WindowState& state, KeyState& key_state, WindowEntry& window) const;
  bool TooLate(const WindowState& state, int64_t end) const;
  void FirePending(WindowState& state, Batch& output) const;
  /// Fires the windows whose timers are due by `limit`: of `key_group` only, or of all.
  Status FireDue(WindowState& state, int64_t limit, Emitter& out,
                 std::optional<uint32_t> key_group = std::nullopt) const;
  void AppendRow(const KeyState& key_state, const WindowEntry& window, uint64_t version,
                 bool deleted, Batch& output) const;

  WindowOperatorConfig config_;
  KeyEncoder encoder_;
  std::shared_ptr<const AggregateLayout> layout_;
  Schema output_schema_;
  size_t time_column_ = 0;
  /// What the state's bytes depend on (keys, time, windows, aggregates), written into each
  /// snapshot: a savepoint restores only into an operator with the same description.
  std::string state_description_;
};

}  // namespace sluice
