#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <thread>

#include "operators/window/snapshot_chain.h"
#include "operators/window/window_store.h"
#include "state/checksummed_file_writer.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

/// How far the snapshot under way has got with a key: the low two bits of KeyNode::snapshot.
enum CaptureState : uint64_t { kChanged = 0, kClaimed = 1, kCaptured = 2 };

constexpr uint64_t SnapshotWord(uint64_t generation, CaptureState state) {
  return generation << 2 | state;
}
constexpr uint64_t GenerationOf(uint64_t word) {
  return word >> 2;
}
constexpr CaptureState StateOf(uint64_t word) {
  return static_cast<CaptureState>(word & 3);
}

/// A key's state and the bytes it is known by.
struct KeyNode : KeyState {
  std::string bytes;          // what KeyState::key views
  bool listed = false;        // in the store's list of keys to look at on Flush
  bool in_chain = false;      // the chain holds windows of this key (set by whoever captures it)
  uint32_t changed_slot = 0;  // index in the store's changed keys while its generation is current
  // The checkpoint interval (generation) in which the key last changed, and how far the capture
  // of that interval has got with it. Whoever claims the node through this word (the subtask or
  // a snapshot's completion, see Capture) may read it and set `in_chain` until it releases it.
  std::atomic<uint64_t> snapshot{0};
};

/// Appends `node` to a piece as a capture finds it: a record of its windows, or in a delta a
/// tombstone when a key the chain holds lost them; keeps `in_chain` in step. The caller holds
/// the node's claim.
void CaptureKey(KeyNode& node, bool base, const AggregateLayout& layout, std::string& out) {
  if (!node.windows.empty()) {
    size_t record = snapshot_chain::BeginRecord(out, node.key_group, node.key);
    EncodeWindows(node, layout, out);
    snapshot_chain::FinishRecord(out, record);
    node.in_chain = true;
    return;
  }
  if (!base && node.in_chain) {
    snapshot_chain::FinishRecord(out, snapshot_chain::BeginRecord(out, node.key_group, node.key));
  }
  node.in_chain = false;
}

/// The capture of one snapshot, shared by the subtask and the completion that encodes it on the
/// writer thread (copy-on-write, so that the subtask does not stop for it at the barrier).
///
/// The keys to encode are those that changed in interval `generation` (every key for a base);
/// the subtask has moved on to the next interval. The completion claims each key (a CAS on
/// KeyNode::snapshot) before it reads it. Before the subtask changes or drops a key the capture
/// covers and the completion has not reached, it claims the key and encodes it itself into
/// `copied`; a key the completion holds it waits for (a few microseconds). Either way a key is
/// written once, as it was at the barrier. Nodes the subtask drops meanwhile are kept (not
/// freed) until the capture is over, since the completion's list still points at them.
struct Capture {
  uint64_t generation = 0;
  bool base = false;
  const AggregateLayout* layout = nullptr;
  std::vector<KeyNode*> keys;

  std::mutex mutex;  // the subtask holds it while it copies a key
  std::condition_variable idle;
  std::string copied;             // records the subtask encoded before changing their keys
  bool running = false;           // the completion is reading the store
  bool closed = false;            // the store is going: the completion must not start
  std::atomic<bool> over{false};  // every key written, or the capture abandoned

  /// Whether the key with this snapshot word is the capture's and not yet written.
  bool Covers(uint64_t word) const {
    if (GenerationOf(word) == generation) return StateOf(word) != kCaptured;
    return base && GenerationOf(word) < generation;
  }

  bool Claim(KeyNode& node, uint64_t& word) {
    return node.snapshot.compare_exchange_strong(word, SnapshotWord(generation, kClaimed),
                                                 std::memory_order_acq_rel);
  }
  void Release(KeyNode& node) {
    node.snapshot.store(SnapshotWord(generation, kCaptured), std::memory_order_release);
  }

  /// The completion's part: false when the store has gone.
  bool Start() {
    std::lock_guard lock(mutex);
    if (closed) return false;
    running = true;
    return true;
  }
  /// Encodes every key the subtask has not copied into `piece`, then appends the copies. After
  /// a failed write it goes on claiming and releasing the keys (the subtask may wait for them)
  /// without encoding them.
  Status Run(ChecksummedFileWriter& piece) {
    Status status;
    // Nodes are prefetched 16 ahead (every cache line: the windows and the snapshot word lie
    // past the first; `perf annotate` put 93 % of the loop on one store into the node when only
    // its first line was prefetched) and claimed 8 ahead, with their first aggregate block
    // prefetched once claimed (before, it may be changing): with a million keys each is a
    // cache miss.
    constexpr size_t kPrefetch = 16;
    constexpr size_t kClaimAhead = 8;
    std::array<bool, kClaimAhead> claimed{};
    auto claim = [&](size_t i) {
      KeyNode& node = *keys[i];
      uint64_t word = node.snapshot.load(std::memory_order_acquire);
      if (!Covers(word) || StateOf(word) == kClaimed || !Claim(node, word)) return false;
      if (!node.windows.empty()) __builtin_prefetch(node.windows.front().states);
      return true;
    };
    for (size_t i = 0; i < std::min(kClaimAhead, keys.size()); ++i) claimed[i] = claim(i);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i + kPrefetch < keys.size()) {
        const char* node = reinterpret_cast<const char*>(keys[i + kPrefetch]);
        for (size_t line = 0; line < sizeof(KeyNode); line += 64) __builtin_prefetch(node + line);
      }
      bool mine = claimed[i % kClaimAhead];
      if (i + kClaimAhead < keys.size()) claimed[i % kClaimAhead] = claim(i + kClaimAhead);
      if (!mine) continue;
      if (status.ok()) {
        CaptureKey(*keys[i], base, *layout, piece.buffer());
        status = piece.MaybeFlush();
      }
      Release(*keys[i]);
    }
    std::string copies;
    {
      std::lock_guard lock(mutex);  // the subtask copies under it: its copies are complete
      copies = std::move(copied);
      End();
    }
    keys = std::vector<KeyNode*>();
    if (!status.ok()) return status;
    piece.buffer().append(copies);
    return piece.MaybeFlush();
  }
  /// A completion dropped without running: the subtask stops copying (the chain is broken, so
  /// the next snapshot is a base anyway).
  void Abandon() {
    std::lock_guard lock(mutex);
    End();
  }
  /// The store is going: waits for a completion that is reading it, and stops one that has not
  /// started.
  void Close() {
    std::unique_lock lock(mutex);
    closed = true;
    idle.wait(lock, [&] { return !running; });
  }

  /// The subtask is about to change or drop `node`, whose snapshot word was `word`: makes sure
  /// the capture has it as it is now.
  void Settle(KeyNode& node, uint64_t word) {
    while (Covers(word)) {
      if (StateOf(word) == kClaimed) {
        // The completion is encoding it.
        for (int spins = 0; node.snapshot.load(std::memory_order_acquire) == word; ++spins) {
          if (spins > 64) std::this_thread::yield();
        }
        return;
      }
      std::lock_guard lock(mutex);
      if (over.load(std::memory_order_relaxed)) return;  // abandoned
      if (Claim(node, word)) {
        CaptureKey(node, base, *layout, copied);
        Release(node);
        return;
      }
      // The completion claimed it between the load and the CAS: `word` now says so.
    }
  }

 private:
  void End() {
    running = false;
    over.store(true, std::memory_order_release);
    idle.notify_all();
  }
};

/// The snapshot chain of a store, shared with the snapshot completions that write its pieces on
/// another thread. A completion runs at a time: the next snapshot waits for the last one.
struct ChainState {
  std::mutex mutex;
  std::condition_variable idle;
  bool writing = false;            // a completion has not finished
  bool broken = false;             // a write failed: the next snapshot starts a new chain
  std::vector<ChainPiece> pieces;  // the last snapshot's chain, base first
  uint64_t next_piece = 0;

  std::string NewPieceName() { return "piece-" + std::to_string(next_piece++) + ".bin"; }
};

/// Ends a completion's hold on the chain; a completion dropped without running breaks the chain
/// (its pieces may be missing), so the next snapshot writes every key, and abandons its capture.
struct ChainWriteGuard {
  std::shared_ptr<ChainState> chain;
  std::shared_ptr<Capture> capture;
  bool finished = false;

  void Finish(const Result<std::vector<ChainPiece>>& written) {
    std::lock_guard lock(chain->mutex);
    chain->writing = false;
    chain->broken = !written.ok();
    if (written.ok()) chain->pieces = *written;
    finished = true;
    chain->idle.notify_all();
  }

  ~ChainWriteGuard() {
    if (finished) return;
    capture->Abandon();
    Finish(MakeError(ErrorCode::kCheckpointFailed, "snapshot not written"));
  }
};

/// Finishes a piece's file (synced) and describes it in `piece`.
Status FinishPiece(ChecksummedFileWriter& writer, ChainPiece& piece) {
  if (Status finished = writer.Finish(); !finished.ok()) return finished;
  piece.size = writer.size();
  piece.checksum = writer.checksum();
  return {};
}

/// Writes `bytes` as a new piece file at `path` and describes it in `piece`.
Status WriteNewPiece(const std::string& path, std::string_view bytes, ChainPiece& piece) {
  ChecksummedFileWriter writer(path);
  if (Status opened = writer.Open(); !opened.ok()) return opened;
  writer.buffer().append(bytes);
  return FinishPiece(writer, piece);
}

/// Makes `from` appear as `to`: a hard link (no bytes copied), or a copy across file systems.
Status LinkOrCopy(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::remove(to, error);
  error.clear();
  std::filesystem::create_hard_link(from, to, error);
  if (!error) return {};
  error.clear();
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, error);
  if (error) {
    return MakeError(ErrorCode::kIoError, "cannot copy a snapshot piece: " + error.message(), to);
  }
  Result<FileDescriptor> file = OpenFile(to, O_RDONLY);
  if (!file.ok()) return file.error();
  if (::fsync(file->get()) != 0) return FileError("sync", to, errno);
  return {};
}

/// What a snapshot leaves to its completion: the start of the piece to capture (the magic and
/// the tombstones), the chain it extends, and whether to compact that chain into one base piece.
struct ChainWrite {
  std::string local_directory;  // the store's own folder of pieces
  std::string directory;        // the snapshot folder
  std::string piece_head;
  ChainPiece piece;
  std::vector<ChainPiece> chain;     // pieces before this one
  std::vector<ChainPiece> obsolete;  // local pieces no later snapshot needs
  std::optional<ChainPiece> base;    // compact into this piece
};

/// Writes the new piece, encoded from `capture`, into the store's folder (or, without one, the
/// snapshot folder).
Status WritePiece(ChainWrite& write, Capture& capture) {
  std::string folder = write.local_directory.empty() ? write.directory : write.local_directory;
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  ChecksummedFileWriter piece(folder + "/" + write.piece.name);
  Status status = error
                      ? MakeError(ErrorCode::kIoError, "cannot create: " + error.message(), folder)
                      : piece.Open();
  if (!status.ok()) {
    capture.Abandon();
    return status;
  }
  piece.buffer().append(write.piece_head);
  status = capture.Run(piece);
  if (!status.ok()) return status;
  return FinishPiece(piece, write.piece);
}

/// After the new piece: compacts when asked, links the chain into the snapshot folder and
/// writes its manifest last. Returns the chain the snapshot holds.
Result<std::vector<ChainPiece>> WriteChain(ChainWrite& write) {
  const std::string& local = write.local_directory;
  std::error_code error;
  Status status;
  std::vector<ChainPiece> chain = std::move(write.chain);
  chain.push_back(write.piece);
  if (write.base) {
    // The chain has grown to more records than keys: one piece with every surviving key
    // replaces it, so restores and later snapshots stay proportional to the state.
    std::string bytes;
    status = snapshot_chain::ComposeChain(local, chain, bytes);
    if (!status.ok()) return status.error();
    status = WriteNewPiece(local + "/" + write.base->name, bytes, *write.base);
    if (!status.ok()) return status.error();
    write.obsolete.insert(write.obsolete.end(), chain.begin(), chain.end());
    chain = {*write.base};
  }
  if (status = SyncDirectory(local); !status.ok()) return status.error();
  for (const ChainPiece& piece : chain) {
    status = LinkOrCopy(local + "/" + piece.name, write.directory + "/" + piece.name);
    if (!status.ok()) return status.error();
  }
  // The manifest is renamed into place and the folder synced: the links are durable with it.
  status = snapshot_chain::WriteManifest(write.directory, chain);
  if (!status.ok()) return status.error();
  for (const ChainPiece& piece : write.obsolete) {
    std::filesystem::remove(local + "/" + piece.name, error);
  }
  return chain;
}

/// The completion's writing: the new piece, then the chain it ends (or, for a store without a
/// folder of its own to keep a chain in, the piece alone as the snapshot's base).
Result<std::vector<ChainPiece>> WriteSnapshot(ChainWrite& write, Capture& capture) {
  if (Status written = WritePiece(write, capture); !written.ok()) return written.error();
  if (!write.local_directory.empty()) return WriteChain(write);
  Status written = snapshot_chain::WriteManifest(write.directory, {write.piece});
  if (!written.ok()) return written.error();
  return std::vector<ChainPiece>{write.piece};
}

/// Open-addressing hash index from key bytes to KeyNodes: linear probing over 16-byte slots
/// (hash, node), at most half full, deletion by backward shift (no tombstones). Written here
/// rather than std::unordered_map because a lookup must cost one cache miss, not a chain of
/// node hops, and must be prefetchable by hash before it is made.
class KeyIndex {
 public:
  struct Slot {
    uint64_t hash = 0;
    KeyNode* node = nullptr;
  };

  KeyIndex() : slots_(1024), mask_(1023) {}

  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }

  KeyNode* Find(std::string_view key, uint64_t hash) const {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.node == nullptr) return nullptr;
      if (slot.hash == hash && slot.node->key == key) return slot.node;
    }
  }

  void Insert(KeyNode* node, uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Place({hash, node});
    ++size_;
  }

  /// Removes `node` (present), comparing slots by node so that no other node is read.
  void Erase(const KeyNode* node) {
    size_t i = node->hash & mask_;
    while (slots_[i].node != node) i = (i + 1) & mask_;
    // Backward shift: move later entries of the probe run into the hole when their home slot
    // is at or before it, so lookups never meet an empty slot before their key.
    for (size_t j = (i + 1) & mask_; slots_[j].node != nullptr; j = (j + 1) & mask_) {
      size_t home = slots_[j].hash & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
  }

  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.node != nullptr) visit(*slot.node);
    }
  }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

 private:
  void Place(Slot slot) {
    size_t i = slot.hash & mask_;
    while (slots_[i].node != nullptr) i = (i + 1) & mask_;
    slots_[i] = slot;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.node != nullptr) Place(slot);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_;
  size_t size_ = 0;
};

/// Keyed window state in a hash index (key bytes -> windows) with aggregate blocks from the
/// arena, and timers in an ordered map of time -> (key, window start).
///
/// A timer points at its KeyState; a key is kept (even without windows) while timers point at
/// it, and a timer whose window is gone or moved is recognised as stale when it comes due. That
/// spares removing timers from the index when a session window moves.
class MemoryWindowStore final : public WindowStore {
 public:
  MemoryWindowStore(std::shared_ptr<const AggregateLayout> layout, std::string local_directory,
                    KeyGrouping grouping)
      : WindowStore(std::move(layout), grouping),
        timers_(grouping.by_partition() ? kKeyGroupCount : 1),
        local_directory_(std::move(local_directory)) {}

  ~MemoryWindowStore() override {
    if (capture_) capture_->Close();
    index_.ForEach([&](KeyNode& node) {
      ReleaseWindows(arena_, node);
      nodes_.delete_object(&node);
    });
    for (KeyNode* node : parked_) nodes_.delete_object(node);
  }

  Result<KeyState*> Acquire(std::string_view key) override {
    return FindOrInsert(key, XXH3_64bits(key.data(), key.size()));
  }

  Status AcquireAll(const std::vector<std::string_view>& keys,
                    std::vector<KeyState*>& out) override {
    // Hash every key, then look them up with the slot of a key kPrefetch ahead already on its
    // way into the cache: with a million keys nearly every lookup misses the cache, and
    // overlapping the misses is what keeps the per-record cost low.
    constexpr size_t kPrefetch = 16;
    hashes_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      hashes_[i] = XXH3_64bits(keys[i].data(), keys[i].size());
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i + kPrefetch < keys.size()) index_.Prefetch(hashes_[i + kPrefetch]);
      out.push_back(FindOrInsert(keys[i], hashes_[i]));
    }
    return {};
  }

  void Schedule(KeyState& key_state, int64_t timer, int64_t start) override {
    // Every KeyState this store hands out is a KeyNode.
    TimersOf(key_state.key_group)[timer].push_back({static_cast<KeyNode*>(&key_state), start});
    ++key_state.timer_refs;
  }

  Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out,
                std::optional<uint32_t> key_group) override {
    if (key_group) {
      PopDueOf(TimersOf(*key_group), limit, max, out);
      return {};
    }
    for (TimerIndex& timers : timers_) {
      size_t popped = out.size();
      PopDueOf(timers, limit, max, out);
      max -= out.size() - popped;
    }
    return {};
  }

  Status Flush() override {
    // Keys lose windows only through timers (firing, freeing) or are new; both are listed.
    // After a window fires, most of its keys go: their index slots are prefetched kPrefetch
    // keys ahead, as in AcquireAll, since with many keys each erase starts with a cache miss.
    constexpr size_t kPrefetch = 16;
    if (capture_ && capture_->over.load(std::memory_order_acquire)) EndCapture();
    dropped_.clear();
    for (KeyNode* node : touched_) {
      node->listed = false;
      if (node->windows.empty() && node->timer_refs == 0) dropped_.push_back(node);
    }
    touched_.clear();
    for (size_t i = 0; i < dropped_.size(); ++i) {
      if (i + kPrefetch < dropped_.size()) index_.Prefetch(dropped_[i + kPrefetch]->hash);
      Remove(dropped_[i]);
    }
    return {};
  }

  Status Snapshot(const std::string& directory) override {
    Result<std::function<Status()>> completion = BeginSnapshot(directory);
    if (!completion.ok()) return completion.error();
    return (*completion)();
  }

  Result<std::function<Status()>> BeginSnapshot(const std::string& directory) override {
    std::unique_lock lock(chain_->mutex);
    chain_->idle.wait(lock, [&] { return !chain_->writing; });
    EndCapture();
    // A delta at least as long as the state (after a window fired and dropped most keys, say)
    // is no cheaper than a base, and a base starts a new chain.
    uint64_t keys = index_.size();
    bool full = local_directory_.empty() || chain_->broken || chain_->pieces.empty() ||
                changed_.size() + tombstone_count_ >= keys;
    auto capture = std::make_shared<Capture>();
    capture->generation = generation_++;
    capture->base = full;
    capture->layout = &arena_.layout();
    auto write = std::make_shared<ChainWrite>();
    write->local_directory = local_directory_;
    write->directory = directory;
    write->piece_head.assign(snapshot_chain::kMagic, sizeof(snapshot_chain::kMagic));
    uint64_t records = tombstone_count_;
    if (full) {
      capture->keys.reserve(keys);
      index_.ForEach([&](KeyNode& node) { capture->keys.push_back(&node); });
      changed_.clear();
      records = keys;
    } else {
      write->piece_head.append(tombstones_);
      capture->keys = std::move(changed_);
      changed_ = std::vector<KeyNode*>();
      records += capture->keys.size();
    }
    tombstones_.clear();
    tombstone_count_ = 0;
    capture_ = capture;
    write->piece.name = chain_->NewPieceName();
    if (full) {
      write->obsolete = chain_->pieces;
      records_since_base_ = 0;
    } else {
      write->chain = chain_->pieces;
      records_since_base_ += records;
      if (records_since_base_ > 2 * std::max<uint64_t>(keys, 1)) {
        write->base = ChainPiece{chain_->NewPieceName(), 0, 0};
        records_since_base_ = 0;
      }
    }
    chain_->writing = true;
    auto guard = std::make_shared<ChainWriteGuard>();
    guard->chain = chain_;
    guard->capture = capture;
    return std::function<Status()>([write, guard, capture]() -> Status {
      if (!capture->Start()) {
        return MakeError(ErrorCode::kCheckpointFailed,
                         "the window state closed before its snapshot was written",
                         write->directory);
      }
      Result<std::vector<ChainPiece>> chain = WriteSnapshot(*write, *capture);
      guard->Finish(chain);
      if (!chain.ok()) return chain.error();
      return {};
    });
  }

  Status Restore(const std::vector<StateSnapshot>& snapshots, KeyGroupRange key_groups) override {
    return AddKeyGroups(snapshots, key_groups);
  }

  Status DropKeyGroups(KeyGroupRange key_groups) override {
    // Timers first: they point at the nodes about to go.
    for (TimerIndex& timers : timers_) {
      for (auto it = timers.begin(); it != timers.end();) {
        std::erase_if(it->second, [&](const TimerRef& ref) {
          if (!key_groups.Contains(ref.node->key_group)) return false;
          --ref.node->timer_refs;
          return true;
        });
        it = it->second.empty() ? timers.erase(it) : std::next(it);
      }
    }
    order_.clear();
    index_.ForEach([&](KeyNode& node) {
      if (key_groups.Contains(node.key_group)) order_.push_back(&node);
    });
    for (KeyNode* node : order_) {
      Settle(*node);
      ReleaseWindows(arena_, *node);
      Remove(node);
    }
    order_.clear();
    return {};
  }

  Status AddKeyGroups(const std::vector<StateSnapshot>& snapshots,
                      KeyGroupRange key_groups) override {
    for (const StateSnapshot& snapshot : snapshots) {
      const std::string& directory = snapshot.directory;
      SnapshotVisitor visit = [&](uint32_t, std::string_view key,
                                  std::string_view windows) -> Status {
        Result<KeyState*> key_state = Acquire(key);
        if (!key_state.ok()) return key_state.error();
        if (!(*key_state)->windows.empty()) {
          return MakeError(ErrorCode::kWindowStateCorrupt, "a key appears in two snapshots",
                           directory);
        }
        Status decoded = DecodeWindows(windows, arena_, **key_state);
        if (!decoded.ok()) {
          return MakeError(decoded.error().code, decoded.error().message, directory);
        }
        for (const WindowEntry& window : (*key_state)->windows) {
          if (window.timer != kNoTimer) Schedule(**key_state, window.timer, window.start);
        }
        return {};
      };
      // Either backend's snapshot: both encode a key's windows the same way.
      Status status = IsRocksDbSnapshot(directory)
                          ? ReadRocksDbSnapshot(directory, key_groups, visit)
                          : ReadMemorySnapshot(directory, key_groups, visit);
      if (!status.ok()) return status;
    }
    return Flush();
  }

  uint64_t StateBytes() const override {
    uint64_t bytes = arena_.ReservedBytes() + index_.capacity() * sizeof(KeyIndex::Slot) +
                     dropped_.capacity() * sizeof(KeyNode*);
    index_.ForEach([&](const KeyNode& node) {
      bytes += sizeof(KeyNode) + node.bytes.capacity();
      for (const WindowEntry& window : node.windows) {
        bytes += arena_.layout().HeapBytes(window.states);
      }
    });
    return bytes;
  }

  uint64_t StateEntries() const override { return arena_.live_blocks(); }

 private:
  struct TimerRef {
    KeyNode* node;
    int64_t start;
  };

  /// Takes a key without windows out of the index (and the chain: the next delta holds its
  /// tombstone) and frees its node, or parks it while a capture may still read it.
  void Remove(KeyNode* node) {
    Settle(*node);
    if (Tracking() && GenerationOf(node->snapshot.load(std::memory_order_relaxed)) == generation_) {
      Unmark(*node);
    }
    if (node->in_chain) {
      size_t record = snapshot_chain::BeginRecord(tombstones_, node->key_group, node->key);
      snapshot_chain::FinishRecord(tombstones_, record);
      ++tombstone_count_;
    }
    index_.Erase(node);
    if (capture_) {
      parked_.push_back(node);
    } else {
      nodes_.delete_object(node);
    }
  }

  /// Makes sure a capture under way holds `node` as it is before the caller changes it.
  void Settle(KeyNode& node) {
    if (capture_) capture_->Settle(node, node.snapshot.load(std::memory_order_acquire));
  }

  /// The last capture is over: the nodes dropped during it can go.
  void EndCapture() {
    for (KeyNode* node : parked_) nodes_.delete_object(node);
    parked_.clear();
    capture_.reset();
  }

  /// Incremental snapshots: a chain kept in a folder of the store's own.
  bool Tracking() const { return !local_directory_.empty(); }

  void List(KeyNode& node) {
    if (node.listed) return;
    node.listed = true;
    touched_.push_back(&node);
  }

  KeyState* FindOrInsert(std::string_view key, uint64_t hash) {
    KeyNode* node = index_.Find(key, hash);
    if (node != nullptr) {
      MarkChanged(*node);
      return node;
    }
    node = nodes_.new_object<KeyNode>();
    node->bytes.assign(key);
    node->key = node->bytes;
    node->hash = hash;
    // The index hashes keys as KeyHash does (XXH3): the key group needs no second hash.
    node->key_group = grouping_.Of(key, hash);
    index_.Insert(node, hash);
    List(*node);
    // New in this interval: no capture under way covers it.
    node->snapshot.store(SnapshotWord(generation_, kChanged), std::memory_order_relaxed);
    Track(*node);
    return node;
  }

  /// A key handed out (it may change): a capture under way gets it first, and it is listed for
  /// the next incremental snapshot.
  void MarkChanged(KeyNode& node) {
    uint64_t word = node.snapshot.load(std::memory_order_acquire);
    if (GenerationOf(word) == generation_) return;  // listed already
    if (capture_) capture_->Settle(node, word);
    node.snapshot.store(SnapshotWord(generation_, kChanged), std::memory_order_release);
    Track(node);
  }

  void Track(KeyNode& node) {
    if (!Tracking()) return;
    node.changed_slot = static_cast<uint32_t>(changed_.size());
    changed_.push_back(&node);
  }

  void Unmark(KeyNode& node) {
    KeyNode* last = changed_.back();
    changed_[node.changed_slot] = last;
    last->changed_slot = node.changed_slot;
    changed_.pop_back();
  }

  // Key nodes come and go with their windows (a million keys each minute in the benchmark): a
  // pool recycles them instead of a malloc and free per key and window, and keeps its memory
  // rather than handing it back to the system and faulting it in again.
  std::pmr::unsynchronized_pool_resource pool_;
  std::pmr::polymorphic_allocator<> nodes_{&pool_};
  KeyIndex index_;
  std::vector<uint64_t> hashes_;
  std::vector<KeyNode*> dropped_;  // Flush's scratch: keys to remove
  // Timers by time; one index per key group when key groups are partitions (each group fires
  // on its partition's own watermark), else one for all.
  using TimerIndex = std::map<int64_t, std::vector<TimerRef>>;
  std::vector<TimerIndex> timers_;
  TimerIndex& TimersOf(uint32_t key_group) {
    return timers_[grouping_.by_partition() ? key_group : 0];
  }
  void PopDueOf(TimerIndex& timers, int64_t limit, size_t max, std::vector<DueTimer>& out) {
    while (max > 0 && !timers.empty() && timers.begin()->first <= limit) {
      auto& [time, refs] = *timers.begin();
      while (max > 0 && !refs.empty()) {
        const TimerRef& ref = refs.back();
        out.push_back({ref.node, ref.start, time});
        MarkChanged(*ref.node);
        --ref.node->timer_refs;
        List(*ref.node);
        refs.pop_back();
        --max;
      }
      if (refs.empty()) timers.erase(timers.begin());
    }
  }
  std::vector<KeyNode*> touched_;
  // Incremental snapshots: keys handed out and keys dropped since the last snapshot.
  std::string local_directory_;
  std::vector<KeyNode*> changed_;
  std::string tombstones_;  // tombstone records of dropped keys the chain holds
  uint64_t tombstone_count_ = 0;
  uint64_t records_since_base_ = 0;  // delta records since the chain's base (at most)
  std::vector<KeyNode*> order_;      // DropKeyGroups' scratch
  std::shared_ptr<ChainState> chain_ = std::make_shared<ChainState>();
  // The checkpoint interval keys change in now; the capture of the last one while its
  // completion may still run, and the nodes dropped meanwhile.
  uint64_t generation_ = 1;
  std::shared_ptr<Capture> capture_;
  std::vector<KeyNode*> parked_;
};

}  // namespace

std::unique_ptr<WindowStore> MakeMemoryWindowStore(std::shared_ptr<const AggregateLayout> layout,
                                                   const std::string& local_directory,
                                                   KeyGrouping grouping) {
  return std::make_unique<MemoryWindowStore>(std::move(layout), local_directory, grouping);
}

}  // namespace sluice
