#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/batch.h"
#include "dataflow/key_groups.h"

namespace sluice {

/// Where an operator puts what it produces. Port 0 is the main output; other ports are side
/// outputs the operator documents (the window operator's port 1 is its late records).
/// Batches emitted on a port must have that port's schema (Operator::output_schema).
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void Emit(size_t port, Batch batch) = 0;
};

/// What a subtask of an operator knows about where it runs.
struct OperatorContext {
  std::string pipeline;         // the pipeline's name
  std::string operator_id;      // unique within the pipeline, stable across runs
  uint32_t subtask = 0;         // 0-based
  uint32_t parallelism = 1;     // subtasks of this operator
  KeyGroupRange key_groups;     // the key groups this subtask owns (all of them when not keyed)
  std::string state_directory;  // a folder only this subtask uses (local state, RocksDB)
};

/// The mutable part of an operator in one subtask: created by Operator::CreateState, touched by
/// one thread at a time.
class OperatorState {
 public:
  virtual ~OperatorState() = default;
  /// Bytes of state held (memory and disk), for the state-size metric.
  virtual uint64_t StateBytes() const { return 0; }
  /// Keys (or entries) held, for the state-size metric.
  virtual uint64_t StateEntries() const { return 0; }
};

/// One step of a dataflow graph: map, filter, window aggregate, enrichment...
///
/// Contract: an Operator is immutable after it is built and may be shared by every subtask;
/// everything that changes lives in the OperatorState each subtask creates. The runtime calls,
/// from the subtask's thread: CreateState once, optionally Restore, then any sequence of
/// Process / OnWatermark / OnProcessingTime / Snapshot, then OnEndOfInput for a bounded input.
/// Watermarks passed to OnWatermark never decrease. Errors returned stop the pipeline; bad
/// records are not errors (they go to a side output or the dead-letter table).
class Operator {
 public:
  virtual ~Operator() = default;

  virtual const std::string& name() const = 0;
  /// Schema of the batches `Process` accepts.
  virtual const Schema& input_schema() const = 0;
  /// Schemas of the output ports, port 0 first.
  virtual std::vector<Schema> output_schemas() const = 0;

  virtual Result<std::unique_ptr<OperatorState>> CreateState(
      const OperatorContext& context) const = 0;

  /// `input` may be modified (filtered, columns moved out of it).
  virtual Status Process(OperatorState& state, Batch& input, Emitter& out) const = 0;
  /// Event time (milliseconds since the epoch) up to which no more on-time records will come.
  virtual Status OnWatermark(OperatorState& state, int64_t watermark_ms, Emitter& out) const {
    (void)state, (void)watermark_ms, (void)out;
    return {};
  }
  /// The watermark of one key group's records, for keyed state whose key groups are input
  /// partitions that each keep their own event time (Kafka partitions shared by several
  /// processes). The default treats it as the operator's watermark.
  virtual Status OnKeyGroupWatermark(OperatorState& state, uint32_t key_group, int64_t watermark_ms,
                                     Emitter& out) const {
    (void)key_group;
    return OnWatermark(state, watermark_ms, out);
  }
  /// Called about every 100 ms with the wall clock, for processing-time windows and timeouts.
  virtual Status OnProcessingTime(OperatorState& state, int64_t now_ms, Emitter& out) const {
    (void)state, (void)now_ms, (void)out;
    return {};
  }
  /// A bounded input has ended: emit everything still held (open windows fire).
  virtual Status OnEndOfInput(OperatorState& state, Emitter& out) const {
    (void)state, (void)out;
    return {};
  }

  /// Writes the state into `directory` (empty, created by the caller, inside the checkpoint)
  /// so that Restore can rebuild it, possibly split over a different parallelism. Called at a
  /// checkpoint barrier: everything processed before it is in the snapshot, nothing after it.
  virtual Status Snapshot(const OperatorState& state, const std::string& directory) const {
    (void)state, (void)directory;
    return {};
  }
  /// What is left of a snapshot after the barrier (writing and syncing what the subtask
  /// captured), run on another thread while the subtask goes on. It must not touch the
  /// OperatorState. The snapshot is durable, and may count in a checkpoint, only once it has
  /// returned success. Empty when nothing is left.
  using SnapshotCompletion = std::function<Status()>;
  /// Snapshot in two parts: captures the state at the barrier on the subtask's thread and returns
  /// the rest, so that the subtask can go on processing while the snapshot is written. The
  /// default does all of Snapshot at once.
  virtual Result<SnapshotCompletion> BeginSnapshot(const OperatorState& state,
                                                   const std::string& directory) const {
    if (Status saved = Snapshot(state, directory); !saved.ok()) return saved.error();
    return SnapshotCompletion();
  }
  /// Rebuilds state from the snapshot directories of every subtask of the checkpoint (the old
  /// parallelism may differ), keeping only keys in `state`'s context key groups.
  virtual Status Restore(OperatorState& state, const std::vector<std::string>& directories) const {
    (void)state, (void)directories;
    return {};
  }

  /// Keyed state that moves between processes with its input's partition (one key group per
  /// partition): DropKeyGroup forgets every key of `key_group` (the partition went elsewhere);
  /// AdoptKeyGroup then loads that group's keys from the snapshot directories of a checkpoint
  /// another process took (the partition came here). Called between batches; the default
  /// refuses, for operators whose state cannot move.
  virtual Status DropKeyGroup(OperatorState& state, uint32_t key_group) const {
    (void)state, (void)key_group;
    return MakeError(ErrorCode::kInternal, "operator " + name() + " cannot move its state");
  }
  virtual Status AdoptKeyGroup(OperatorState& state, uint32_t key_group,
                               const std::vector<std::string>& directories) const {
    (void)directories;
    return DropKeyGroup(state, key_group);
  }
};

}  // namespace sluice
