#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_map>

#include "operators/window/window_store.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

constexpr std::string_view kSnapshotFile = "window_state.bin";
constexpr char kMagic[8] = {'S', 'L', 'W', 'I', 'N', 'M', 'E', '1'};

/// Keyed window state in a hash map (key bytes -> windows) with aggregate blocks from the arena,
/// and timers in an ordered map of time -> (key, window start).
///
/// A timer points at its KeyState; a key is kept (even without windows) while timers point at
/// it, and a timer whose window is gone or moved is recognised as stale when it comes due. That
/// spares removing timers from the index when a session window moves.
class MemoryWindowStore final : public WindowStore {
 public:
  explicit MemoryWindowStore(std::shared_ptr<const AggregateLayout> layout)
      : WindowStore(std::move(layout)) {}

  ~MemoryWindowStore() override {
    for (auto& [key, key_state] : keys_) ReleaseWindows(arena_, key_state);
  }

  Result<KeyState*> Acquire(std::string_view key) override {
    auto found = keys_.find(key);
    if (found != keys_.end()) return &found->second;
    auto it = keys_.try_emplace(std::string(key)).first;
    KeyState& key_state = it->second;
    key_state.key = it->first;
    key_state.key_group = KeyGroupOf(KeyHash(key));
    touched_.push_back(&key_state);
    return &key_state;
  }

  void Schedule(KeyState& key_state, int64_t timer, int64_t start) override {
    timers_[timer].push_back({&key_state, start});
    ++key_state.timer_refs;
  }

  Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out) override {
    while (max > 0 && !timers_.empty() && timers_.begin()->first <= limit) {
      auto& [time, refs] = *timers_.begin();
      while (max > 0 && !refs.empty()) {
        const TimerRef& ref = refs.back();
        out.push_back({ref.key_state, ref.start, time});
        --ref.key_state->timer_refs;
        touched_.push_back(ref.key_state);
        refs.pop_back();
        --max;
      }
      if (refs.empty()) timers_.erase(timers_.begin());
    }
    return {};
  }

  Status Flush() override {
    // Keys lose windows only through timers (firing, freeing) or are new; both are listed in
    // touched_, possibly more than once.
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (KeyState* key_state : touched_) {
      if (key_state->windows.empty() && key_state->timer_refs == 0) {
        keys_.erase(keys_.find(key_state->key));
      }
    }
    touched_.clear();
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
    for (const auto& [key, key_state] : keys_) {
      if (key_state.windows.empty()) continue;
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
        Status written = WriteAllAt(file->get(), buffer, offset, path);
        if (!written.ok()) return written;
        offset += buffer.size();
        buffer.clear();
      }
    }
    Status written = WriteAllAt(file->get(), buffer, offset, path);
    if (!written.ok()) return written;
    if (::fsync(file->get()) != 0) return FileError("sync", path, errno);
    return {};
  }

  Status Restore(const std::vector<std::string>& directories, KeyGroupRange key_groups) override {
    for (const std::string& directory : directories) {
      Status status = RestoreFile(directory + "/" + std::string(kSnapshotFile), key_groups);
      if (!status.ok()) return status;
    }
    return Flush();
  }

  uint64_t StateBytes() const override {
    uint64_t bytes = arena_.ReservedBytes();
    for (const auto& [key, key_state] : keys_) {
      bytes += key.capacity() + sizeof(KeyState) + 32;
      for (const WindowEntry& window : key_state.windows) {
        bytes += arena_.layout().HeapBytes(window.states);
      }
    }
    return bytes;
  }

  uint64_t StateEntries() const override { return arena_.live_blocks(); }

 private:
  struct TimerRef {
    KeyState* key_state;
    int64_t start;
  };

  Status RestoreFile(const std::string& path, KeyGroupRange key_groups) {
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
      Result<KeyState*> key_state = Acquire(key);
      if (!key_state.ok()) return key_state.error();
      if (!(*key_state)->windows.empty()) return corrupt("a key appears in two snapshots");
      Status decoded = DecodeWindows(payload, arena_, **key_state);
      if (!decoded.ok()) return MakeError(decoded.error().code, decoded.error().message, path);
      for (const WindowEntry& window : (*key_state)->windows) {
        if (window.timer != kNoTimer) Schedule(**key_state, window.timer, window.start);
      }
    }
    return {};
  }

  /// XXH3 over the key bytes, usable with string_view lookups (no copy of the key per row).
  struct KeyHasher {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return XXH3_64bits(key.data(), key.size()); }
  };

  std::unordered_map<std::string, KeyState, KeyHasher, std::equal_to<>> keys_;
  std::map<int64_t, std::vector<TimerRef>> timers_;
  std::vector<KeyState*> touched_;
};

}  // namespace

std::unique_ptr<WindowStore> MakeMemoryWindowStore(std::shared_ptr<const AggregateLayout> layout) {
  return std::make_unique<MemoryWindowStore>(std::move(layout));
}

}  // namespace sluice
