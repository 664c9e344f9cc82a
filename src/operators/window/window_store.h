#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dataflow/key_groups.h"
#include "operators/window/aggregate_layout.h"

namespace sluice {

inline constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::min();

/// One window of one key: its bounds, how many records it aggregated (the `_version` of its
/// result row), what was last emitted, when it next needs attention, and its aggregate states.
struct WindowEntry {
  int64_t start = 0;
  int64_t end = 0;               // exclusive; for global windows the latest record time + 1
  uint64_t count = 0;            // records aggregated
  uint64_t emitted_version = 0;  // count when its row was last emitted at this start; 0 = never
  int64_t timer = kNoTimer;      // time at which it fires or is freed; kNoTimer = none
  char* states = nullptr;        // a StateArena block
};

/// The windows of one key. Stores hand these out; they stay valid until the store's Flush.
struct KeyState {
  std::string_view key;  // KeyEncoder bytes (owned by the store)
  uint64_t hash = 0;     // the store's hash of the key bytes
  uint32_t key_group = 0;
  boost::container::small_vector<WindowEntry, 1> windows;
  uint32_t timer_refs = 0;    // timers in the memory store's index that point here
  bool pending_fire = false;  // the operator listed it to fire at the end of the batch

  WindowEntry* Find(int64_t start) {
    for (WindowEntry& window : windows) {
      if (window.start == start) return &window;
    }
    return nullptr;
  }
};

/// A timer that came due: the key, and the start of the window it was set for at `timer`.
/// Stale when the window is gone or its timer has since moved.
struct DueTimer {
  KeyState* key_state = nullptr;
  int64_t start = 0;
  int64_t timer = 0;
};

/// A subtask's snapshot folder to restore from, and the key groups it holds (all of them when
/// the snapshot does not say).
struct StateSnapshot {
  std::string directory;
  KeyGroupRange key_groups;
};

/// Keyed window state of one subtask: windows per key plus an index of timers in time order.
///
/// Contract: one thread. Acquire and PopDue hand out KeyStates that the caller may change until
/// it calls Flush, which ends a unit of work (a batch, one round of due timers): the RocksDB
/// store then writes every key it handed out back in one WriteBatch and forgets them; the memory
/// store drops keys left without windows. Timers scheduled before Flush with a time <= the
/// limit of a later PopDue are returned by it. Aggregate blocks come from arena().
class WindowStore {
 public:
  virtual ~WindowStore() = default;

  /// The state of `key` (created empty if new).
  virtual Result<KeyState*> Acquire(std::string_view key) = 0;
  /// Acquire for every key, appending the states to `out` in the same order. The memory store
  /// overlaps the cache misses of the lookups.
  virtual Status AcquireAll(const std::vector<std::string_view>& keys,
                            std::vector<KeyState*>& out) {
    for (std::string_view key : keys) {
      Result<KeyState*> state = Acquire(key);
      if (!state.ok()) return state.error();
      out.push_back(*state);
    }
    return {};
  }
  /// Asks to be told (PopDue) when time passes `timer` for the window of `key_state` at `start`.
  virtual void Schedule(KeyState& key_state, int64_t timer, int64_t start) = 0;
  /// Appends up to `max` timers with time <= `limit`, earliest first, and forgets them: those
  /// of `key_group` only (when key groups are partitions, each fires on its own watermark), or
  /// of every key group (earliest first within each).
  virtual Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out,
                        std::optional<uint32_t> key_group = std::nullopt) = 0;
  virtual Status Flush() = 0;

  /// Writes every key into `directory`, which the caller created empty. Called between units of
  /// work (after Flush).
  virtual Status Snapshot(const std::string& directory) = 0;
  /// Snapshot in two parts: what must happen at the barrier on the caller's thread, and a
  /// completion (encoding, writing, syncing) that may run on another thread while the store goes
  /// on changing. The snapshot holds the state as it was at the call and is durable once the
  /// completion has returned success; one run after the store is gone fails. The default does
  /// all of Snapshot.
  virtual Result<std::function<Status()>> BeginSnapshot(const std::string& directory) {
    if (Status saved = Snapshot(directory); !saved.ok()) return saved.error();
    return std::function<Status()>();
  }
  /// Adds the keys of `key_groups` found in `snapshots` (any old parallelism, written by either
  /// backend). Called once, before any other call. A single RocksDB snapshot holding exactly
  /// `key_groups` (an unchanged parallelism) is taken whole: the RocksDB store opens a copy of
  /// that checkpoint as its database instead of reading every key.
  virtual Status Restore(const std::vector<StateSnapshot>& snapshots, KeyGroupRange key_groups) = 0;
  /// State moving between processes with its Kafka partition (one key group per partition).
  /// DropKeyGroups forgets every key of `key_groups` with its windows and timers; AddKeyGroups
  /// adds the keys of `key_groups` found in `snapshots` to the store in use, which holds none
  /// of them. Both are called between units of work (after Flush).
  virtual Status DropKeyGroups(KeyGroupRange key_groups) = 0;
  virtual Status AddKeyGroups(const std::vector<StateSnapshot>& snapshots,
                              KeyGroupRange key_groups) = 0;

  virtual uint64_t StateBytes() const = 0;
  virtual uint64_t StateEntries() const = 0;

  StateArena& arena() { return arena_; }

 protected:
  WindowStore(std::shared_ptr<const AggregateLayout> layout, KeyGrouping grouping)
      : arena_(std::move(layout)), grouping_(grouping) {}

  StateArena arena_;
  KeyGrouping grouping_;
};

/// The windows of a key as bytes (the RocksDB value, the memory snapshot record): count, then
/// per window start, end, count, emitted version, timer and the serialized aggregate states.
void EncodeWindows(const KeyState& key_state, const AggregateLayout& layout, std::string& out);
/// Reads EncodeWindows' bytes into `key_state.windows`, taking blocks from `arena`.
Status DecodeWindows(std::string_view in, StateArena& arena, KeyState& key_state);
/// Returns every window's block to `arena` and clears the windows.
void ReleaseWindows(StateArena& arena, KeyState& key_state);

/// Called with each key of a snapshot: its key group, KeyEncoder bytes and EncodeWindows bytes.
using SnapshotVisitor =
    std::function<Status(uint32_t key_group, std::string_view key, std::string_view windows)>;
/// Whether the snapshot in `directory` was written by the RocksDB store (else the memory store).
bool IsRocksDbSnapshot(const std::string& directory);
/// Visits the keys of `key_groups` in a snapshot of the memory store (checksums checked).
Status ReadMemorySnapshot(const std::string& directory, KeyGroupRange key_groups,
                          const SnapshotVisitor& visit);
/// Visits the keys of `key_groups` in a snapshot of the RocksDB store (a range scan).
Status ReadRocksDbSnapshot(const std::string& directory, KeyGroupRange key_groups,
                           const SnapshotVisitor& visit);

/// `local_directory` (may be empty) is a folder only this store uses: with one, snapshots are
/// incremental (a chain of pieces kept there and hard-linked into each snapshot); without, every
/// snapshot holds every key.
std::unique_ptr<WindowStore> MakeMemoryWindowStore(std::shared_ptr<const AggregateLayout> layout,
                                                   const std::string& local_directory = "",
                                                   KeyGrouping grouping = {});
/// Opens a fresh RocksDB database in `directory` (whatever was there is removed).
Result<std::unique_ptr<WindowStore>> MakeRocksDbWindowStore(
    std::shared_ptr<const AggregateLayout> layout, const std::string& directory,
    KeyGrouping grouping = {});

}  // namespace sluice
