#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice {

/// What a completed checkpoint holds besides its files: where each source stood, how the job
/// was split, and the sink batches (files in the checkpoint folder) to commit, in order.
struct CheckpointMetadata {
  uint64_t id = 0;
  int64_t created_ms = 0;
  uint32_t parallelism = 1;
  /// Names the run that took the checkpoint: deduplication tokens include it, so a job restored
  /// from an older savepoint never reuses the tokens of checkpoints it has replaced.
  std::string run_id;
  std::vector<std::pair<std::string, std::string>> source_positions;  // source name, position
  /// Sink batches pre-committed by this checkpoint: (file relative to the folder, table).
  std::vector<std::pair<std::string, std::string>> pending_batches;
};

/// A checkpoint found on disk.
struct StoredCheckpoint {
  std::string directory;
  CheckpointMetadata metadata;
  bool committed = false;  // its pending batches are known to be in ClickHouse
};

/// Checkpoints on disk, one folder each: `chk-<id>.inprogress` while operators write into it,
/// renamed to `chk-<id>` once `_metadata` is written and synced (so a folder without the suffix
/// is always complete), `_committed` added once its sink batches are in ClickHouse. A savepoint
/// is a complete checkpoint copied elsewhere; it is read with Load.
///
/// Threads: used by the checkpoint coordinator's thread only.
class CheckpointStore {
 public:
  CheckpointStore(std::string root, uint32_t retain);

  /// Creates the folder of checkpoint `id` (removing leftovers of an earlier try) and returns it.
  Result<std::string> Begin(uint64_t id);
  /// Writes the metadata, syncs, and renames the folder: the checkpoint is complete.
  Result<std::string> Complete(const CheckpointMetadata& metadata);
  Status MarkCommitted(const std::string& directory);
  /// Keeps the `retain` newest complete checkpoints, and those in `referenced` (folders another
  /// process may still load state from), and removes the rest and any in-progress leftovers.
  Status Prune(const std::set<std::string>& referenced = {});
  /// The newest complete checkpoint, if any.
  Result<std::optional<StoredCheckpoint>> Latest() const;
  /// Copies a committed checkpoint to `target` (a new folder) as a self-contained savepoint.
  Status CopyTo(const std::string& directory, const std::string& target) const;

  /// Reads a complete checkpoint or savepoint folder.
  static Result<StoredCheckpoint> Load(const std::string& directory);

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  uint32_t retain_;
};

}  // namespace sluice
