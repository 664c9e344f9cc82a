#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory_resource>

#include "operators/window/window_store.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

constexpr std::string_view kSnapshotFile = "window_state.bin";
constexpr char kMagic[8] = {'S', 'L', 'W', 'I', 'N', 'M', 'E', '1'};

/// A key's state and the bytes it is known by.
struct KeyNode : KeyState {
  std::string bytes;    // what KeyState::key views
  bool listed = false;  // in the store's list of keys to look at on Flush
};

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
  explicit MemoryWindowStore(std::shared_ptr<const AggregateLayout> layout)
      : WindowStore(std::move(layout)) {}

  ~MemoryWindowStore() override {
    index_.ForEach([&](KeyNode& node) {
      ReleaseWindows(arena_, node);
      nodes_.delete_object(&node);
    });
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
    timers_[timer].push_back({static_cast<KeyNode*>(&key_state), start});
    ++key_state.timer_refs;
  }

  Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out) override {
    while (max > 0 && !timers_.empty() && timers_.begin()->first <= limit) {
      auto& [time, refs] = *timers_.begin();
      while (max > 0 && !refs.empty()) {
        const TimerRef& ref = refs.back();
        out.push_back({ref.node, ref.start, time});
        --ref.node->timer_refs;
        List(*ref.node);
        refs.pop_back();
        --max;
      }
      if (refs.empty()) timers_.erase(timers_.begin());
    }
    return {};
  }

  Status Flush() override {
    // Keys lose windows only through timers (firing, freeing) or are new; both are listed.
    // After a window fires, most of its keys go: their index slots are prefetched kPrefetch
    // keys ahead, as in AcquireAll, since with many keys each erase starts with a cache miss.
    constexpr size_t kPrefetch = 16;
    dropped_.clear();
    for (KeyNode* node : touched_) {
      node->listed = false;
      if (node->windows.empty() && node->timer_refs == 0) dropped_.push_back(node);
    }
    touched_.clear();
    for (size_t i = 0; i < dropped_.size(); ++i) {
      if (i + kPrefetch < dropped_.size()) index_.Prefetch(dropped_[i + kPrefetch]->hash);
      index_.Erase(dropped_[i]);
      nodes_.delete_object(dropped_[i]);
    }
    return {};
  }

  Status Snapshot(const std::string& directory) const override {
    // One record per key: [length u32][xxh64 of payload u64][group u32][key length u32][key]
    // [windows]. Records are written in chunks to keep memory bounded for large states.
    std::string path = directory + "/" + std::string(kSnapshotFile);
    Result<FileDescriptor> file = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file.ok()) return file.error();
    std::string buffer(kMagic, sizeof(kMagic));
    uint64_t offset = 0;
    std::string payload;
    Status status;
    index_.ForEach([&](const KeyNode& node) {
      const KeyState& key_state = node;
      std::string_view key = node.key;
      if (key_state.windows.empty() || !status.ok()) return;
      payload.clear();
      uint32_t group = key_state.key_group;
      uint32_t key_length = static_cast<uint32_t>(key.size());
      payload.append(reinterpret_cast<const char*>(&group), 4);
      payload.append(reinterpret_cast<const char*>(&key_length), 4);
      payload.append(key);
      EncodeWindows(key_state, arena_.layout(), payload);
      uint32_t length = static_cast<uint32_t>(payload.size());
      uint64_t checksum = XXH3_64bits(payload.data(), payload.size());
      buffer.append(reinterpret_cast<const char*>(&length), 4);
      buffer.append(reinterpret_cast<const char*>(&checksum), 8);
      buffer.append(payload);
      if (buffer.size() >= (1u << 20)) {
        status = WriteAllAt(file->get(), buffer, offset, path);
        offset += buffer.size();
        buffer.clear();
      }
    });
    if (!status.ok()) return status;
    Status written = WriteAllAt(file->get(), buffer, offset, path);
    if (!written.ok()) return written;
    if (::fsync(file->get()) != 0) return FileError("sync", path, errno);
    return {};
  }

  Status Restore(const std::vector<StateSnapshot>& snapshots, KeyGroupRange key_groups) override {
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

  void List(KeyNode& node) {
    if (node.listed) return;
    node.listed = true;
    touched_.push_back(&node);
  }

  KeyState* FindOrInsert(std::string_view key, uint64_t hash) {
    KeyNode* node = index_.Find(key, hash);
    if (node != nullptr) return node;
    node = nodes_.new_object<KeyNode>();
    node->bytes.assign(key);
    node->key = node->bytes;
    node->hash = hash;
    // The index hashes keys as KeyHash does (XXH3): the key group needs no second hash.
    node->key_group = KeyGroupOf(hash);
    index_.Insert(node, hash);
    List(*node);
    return node;
  }

  // Key nodes come and go with their windows (a million keys each minute in the benchmark): a
  // pool recycles them instead of a malloc and free per key and window, and keeps its memory
  // rather than handing it back to the system and faulting it in again.
  std::pmr::unsynchronized_pool_resource pool_;
  std::pmr::polymorphic_allocator<> nodes_{&pool_};
  KeyIndex index_;
  std::vector<uint64_t> hashes_;
  std::vector<KeyNode*> dropped_;  // Flush's scratch: keys to remove
  std::map<int64_t, std::vector<TimerRef>> timers_;
  std::vector<KeyNode*> touched_;
};

}  // namespace

Status ReadMemorySnapshot(const std::string& directory, KeyGroupRange key_groups,
                          const SnapshotVisitor& visit) {
  std::string path = directory + "/" + std::string(kSnapshotFile);
  Result<FileDescriptor> file = OpenFile(path, O_RDONLY);
  if (!file.ok()) return file.error();
  Result<uint64_t> size = FileSize(file->get(), path);
  if (!size.ok()) return size.error();
  std::string contents(*size, '\0');
  Status read = ReadExactAt(file->get(), contents.data(), contents.size(), 0, path);
  if (!read.ok()) return read;
  auto corrupt = [&](const std::string& why) {
    return MakeError(ErrorCode::kWindowStateCorrupt, why, path);
  };
  std::string_view in(contents);
  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt("not a window state snapshot (bad magic)");
  }
  in.remove_prefix(sizeof(kMagic));
  while (!in.empty()) {
    uint32_t length = 0;
    uint64_t checksum = 0;
    if (in.size() < 12) return corrupt("truncated record header");
    std::memcpy(&length, in.data(), 4);
    std::memcpy(&checksum, in.data() + 4, 8);
    in.remove_prefix(12);
    if (in.size() < length) return corrupt("truncated record");
    std::string_view payload = in.substr(0, length);
    in.remove_prefix(length);
    if (XXH3_64bits(payload.data(), payload.size()) != checksum) {
      return corrupt("a record fails its checksum");
    }
    uint32_t group = 0;
    uint32_t key_length = 0;
    if (payload.size() < 8) return corrupt("truncated key");
    std::memcpy(&group, payload.data(), 4);
    std::memcpy(&key_length, payload.data() + 4, 4);
    payload.remove_prefix(8);
    if (payload.size() < key_length) return corrupt("truncated key");
    if (!key_groups.Contains(group)) continue;
    std::string_view key = payload.substr(0, key_length);
    payload.remove_prefix(key_length);
    if (Status visited = visit(group, key, payload); !visited.ok()) return visited;
  }
  return {};
}

std::unique_ptr<WindowStore> MakeMemoryWindowStore(std::shared_ptr<const AggregateLayout> layout) {
  return std::make_unique<MemoryWindowStore>(std::move(layout));
}

}  // namespace sluice
