#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "operators/window/window_store.h"

namespace sluice {
namespace {

Error BackendError(std::string_view action, const rocksdb::Status& status,
                   const std::string& where) {
  return MakeError(ErrorCode::kStateBackendFailed,
                   std::string(action) + " failed: " + status.ToString(), where);
}

void PutBigEndian(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = bytes; i-- > 0;) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(const char* in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

/// Signed times sort as unsigned big-endian bytes once the sign bit is flipped.
void PutTime(std::string& out, int64_t time) {
  PutBigEndian(out, static_cast<uint64_t>(time) ^ (uint64_t{1} << 63), 8);
}

int64_t GetTime(const char* in) {
  return static_cast<int64_t>(GetBigEndian(in, 8) ^ (uint64_t{1} << 63));
}

enum Family : size_t { kDefault = 0, kWindows = 1, kTimers = 2 };

std::vector<rocksdb::ColumnFamilyDescriptor> Families() {
  // Most lookups during a batch are for keys not stored yet (a new key or window): a Bloom
  // filter answers those without reading a block of every SST file.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions windows;
  windows.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  windows.memtable_whole_key_filtering = true;
  windows.memtable_prefix_bloom_size_ratio = 0.05;
  return {{rocksdb::kDefaultColumnFamilyName, {}}, {"windows", windows}, {"timers", {}}};
}

/// A `timers` entry: time (sign bit flipped, big-endian), key group, key, window start. When key
/// groups are partitions, each firing on its own watermark, the key group comes first, so that
/// a group's due timers are one range.
std::string TimerKey(const KeyGrouping& grouping, int64_t timer, uint32_t key_group,
                     std::string_view key, int64_t start) {
  std::string timer_key;
  timer_key.reserve(18 + key.size());
  if (grouping.by_partition()) PutBigEndian(timer_key, key_group, 2);
  PutTime(timer_key, timer);
  if (!grouping.by_partition()) PutBigEndian(timer_key, key_group, 2);
  timer_key.append(key);
  PutTime(timer_key, start);
  return timer_key;
}

int64_t TimerTime(const KeyGrouping& grouping, const char* timer_key) {
  return GetTime(timer_key + (grouping.by_partition() ? 2 : 0));
}

uint32_t TimerGroup(const KeyGrouping& grouping, const char* timer_key) {
  return static_cast<uint32_t>(GetBigEndian(timer_key + (grouping.by_partition() ? 0 : 8), 2));
}

/// A snapshot's database opened read-only; its handles are released before the database.
class ReadOnlySnapshot {
 public:
  ~ReadOnlySnapshot() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }

  Status Open(const std::string& path) {
    rocksdb::DB* raw = nullptr;
    rocksdb::Status status =
        rocksdb::DB::OpenForReadOnly(rocksdb::Options(), path, Families(), &handles_, &raw);
    if (!status.ok()) return BackendError("opening a state snapshot", status, path);
    db_.reset(raw);
    return {};
  }

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* handle(Family family) { return handles_[family]; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

/// Visits the windows of `key_groups` in `snapshot`: one range scan of the `windows` family.
Status ScanWindows(ReadOnlySnapshot& snapshot, KeyGroupRange key_groups, const std::string& path,
                   const SnapshotVisitor& visit) {
  std::string begin;
  PutBigEndian(begin, key_groups.begin, 2);
  std::string end;
  PutBigEndian(end, key_groups.end, 2);
  rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &end_slice;
  std::unique_ptr<rocksdb::Iterator> windows(
      snapshot.db().NewIterator(read, snapshot.handle(kWindows)));
  for (windows->Seek(begin); windows->Valid(); windows->Next()) {
    rocksdb::Slice key = windows->key();
    if (key.size() < 2) {
      return MakeError(ErrorCode::kWindowStateCorrupt, "a window entry's key is truncated", path);
    }
    rocksdb::Slice value = windows->value();
    Status visited = visit(static_cast<uint32_t>(GetBigEndian(key.data(), 2)),
                           std::string_view(key.data() + 2, key.size() - 2),
                           std::string_view(value.data(), value.size()));
    if (!visited.ok()) return visited;
  }
  if (!windows->status().ok()) return BackendError("reading a snapshot", windows->status(), path);
  return {};
}

/// Keyed window state in RocksDB: column family `windows` maps key group (2 bytes, big-endian)
/// + key bytes to the key's encoded windows; column family `timers` indexes time (8 bytes,
/// ordered) + key group + key + window start, so due timers are a prefix scan and a key-group
/// range of windows is a range scan. Keys in use during a batch are cached decoded and written
/// back in one WriteBatch at Flush (the write-ahead log is off: checkpoints are the durability).
class RocksDbWindowStore final : public WindowStore {
 public:
  RocksDbWindowStore(std::shared_ptr<const AggregateLayout> layout, std::string path,
                     KeyGrouping grouping)
      : WindowStore(std::move(layout), grouping), path_(std::move(path)) {}

  ~RocksDbWindowStore() override {
    for (auto& [key, key_state] : cache_) ReleaseWindows(arena_, key_state);
    Close();
  }

  /// Opens a fresh database in the store's folder (whatever was there is removed).
  Status Open() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    std::filesystem::create_directories(path_, ignored);
    return OpenDatabase();
  }

  Result<KeyState*> Acquire(std::string_view key) override {
    auto found = cache_.find(key);
    if (found != cache_.end()) return &found->second;
    auto it = cache_.try_emplace(std::string(key)).first;
    KeyState& key_state = it->second;
    key_state.key = it->first;
    key_state.key_group = grouping_.Of(key);
    db_key_.clear();
    PutBigEndian(db_key_, key_state.key_group, 2);
    db_key_.append(key);
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handles_[kWindows], db_key_, &value_);
    if (status.IsNotFound()) return &key_state;
    if (!status.ok()) return BackendError("reading a key's windows", status, path_);
    Status decoded = DecodeWindows(value_, arena_, key_state);
    if (!decoded.ok()) return decoded.error();
    return &key_state;
  }

  void Schedule(KeyState& key_state, int64_t timer, int64_t start) override {
    std::string timer_key = TimerKey(grouping_, timer, key_state.key_group, key_state.key, start);
    pending_.Put(handles_[kTimers], timer_key, rocksdb::Slice());
    LowerScanFrom(key_state.key_group, timer_key);
  }

  Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out,
                std::optional<uint32_t> key_group) override {
    // Timers scheduled since the last Flush must be visible to the scan.
    Status flushed = WritePending();
    if (!flushed.ok()) return flushed;
    rocksdb::WriteBatch popped;
    if (!grouping_.by_partition()) {
      Status status = PopDueFrom(std::nullopt, limit, max, out, popped);
      if (!status.ok()) return status;
    } else {
      size_t begin = out.size();
      for (uint32_t group = key_group.value_or(0);
           group < (key_group ? *key_group + 1 : kKeyGroupCount) && out.size() - begin < max;
           ++group) {
        Status status = PopDueFrom(group, limit, max - (out.size() - begin), out, popped);
        if (!status.ok()) return status;
      }
    }
    rocksdb::Status status = db_->Write(write_options_, &popped);
    if (!status.ok()) return BackendError("removing due timers", status, path_);
    return {};
  }

  Status Flush() override {
    for (auto& [key, key_state] : cache_) {
      db_key_.clear();
      PutBigEndian(db_key_, key_state.key_group, 2);
      db_key_.append(key);
      if (key_state.windows.empty()) {
        pending_.Delete(handles_[kWindows], db_key_);
      } else {
        value_.clear();
        EncodeWindows(key_state, arena_.layout(), value_);
        pending_.Put(handles_[kWindows], db_key_, value_);
      }
      ReleaseWindows(arena_, key_state);
    }
    cache_.clear();
    return WritePending();
  }

  Status Snapshot(const std::string& directory) override {
    // A checkpoint hard-links the immutable SST files (copies only when the folder is on another
    // file system) after flushing the memtables, so each snapshot costs the data written since
    // the last one.
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status status = rocksdb::Checkpoint::Create(db_.get(), &raw);
    if (!status.ok()) return BackendError("starting a checkpoint", status, directory);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    std::string target = directory + "/rocksdb";
    status = checkpoint->CreateCheckpoint(target);
    if (!status.ok()) return BackendError("writing a checkpoint", status, target);
    return {};
  }

  Status Restore(const std::vector<StateSnapshot>& snapshots, KeyGroupRange key_groups) override {
    if (snapshots.size() == 1 && snapshots[0].key_groups.begin == key_groups.begin &&
        snapshots[0].key_groups.end == key_groups.end &&
        IsRocksDbSnapshot(snapshots[0].directory)) {
      return OpenCheckpoint(snapshots[0].directory + "/rocksdb");
    }
    return AddKeyGroups(snapshots, key_groups);
  }

  Status DropKeyGroups(KeyGroupRange key_groups) override {
    if (Status flushed = Flush(); !flushed.ok()) return flushed;
    std::string begin;
    std::string end;
    PutBigEndian(begin, key_groups.begin, 2);
    PutBigEndian(end, key_groups.end, 2);
    rocksdb::Status status = db_->DeleteRange(write_options_, handles_[kWindows], begin, end);
    if (!status.ok()) return BackendError("removing key groups", status, path_);
    // Timers are ordered by time: the key groups' ones are found by the group inside each key.
    std::unique_ptr<rocksdb::Iterator> timers(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[kTimers]));
    for (timers->SeekToFirst(); timers->Valid(); timers->Next()) {
      rocksdb::Slice key = timers->key();
      if (key.size() < 18) {
        return MakeError(ErrorCode::kWindowStateCorrupt, "a timer entry is truncated", path_);
      }
      if (!key_groups.Contains(TimerGroup(grouping_, key.data()))) continue;
      pending_.Delete(handles_[kTimers], key);
    }
    if (!timers->status().ok()) return BackendError("scanning timers", timers->status(), path_);
    return WritePending();
  }

  Status AddKeyGroups(const std::vector<StateSnapshot>& snapshots,
                      KeyGroupRange key_groups) override {
    for (const StateSnapshot& snapshot : snapshots) {
      Status status = IsRocksDbSnapshot(snapshot.directory)
                          ? CopyRange(snapshot.directory + "/rocksdb", key_groups)
                          : CopyMemorySnapshot(snapshot.directory, key_groups);
      if (!status.ok()) return status;
    }
    return {};
  }

  uint64_t StateBytes() const override {
    uint64_t sst = 0;
    uint64_t memtables = 0;
    db_->GetIntProperty("rocksdb.total-sst-files-size", &sst);
    db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
    return sst + memtables + arena_.ReservedBytes();
  }

  uint64_t StateEntries() const override {
    uint64_t keys = 0;
    db_->GetIntProperty(handles_[kWindows], "rocksdb.estimate-num-keys", &keys);
    return keys;
  }

 private:
  Status WritePending() {
    if (pending_.Count() == 0) return {};
    rocksdb::Status status = db_->Write(write_options_, &pending_);
    pending_.Clear();
    if (!status.ok()) return BackendError("writing window state", status, path_);
    return {};
  }

  void Close() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    handles_.clear();
    db_.reset();
  }

  Status OpenDatabase() {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    rocksdb::DB* db = nullptr;
    rocksdb::Status status = rocksdb::DB::Open(options, path_, Families(), &handles_, &db);
    if (!status.ok()) return BackendError("opening the state database", status, path_);
    db_.reset(db);
    write_options_.disableWAL = true;
    return {};
  }

  /// Makes the checkpoint at `checkpoint` this store's database: its SST files are hard-linked
  /// (immutable, so the checkpoint stays intact while the database compacts them away), the few
  /// small files RocksDB rewrites (CURRENT, MANIFEST, OPTIONS) are copied. Nothing is read key by
  /// key, so the restore costs the same for any number of keys.
  Status OpenCheckpoint(const std::string& checkpoint) {
    namespace fs = std::filesystem;
    Close();
    std::error_code error;
    fs::remove_all(path_, error);
    fs::create_directories(path_, error);
    if (error) return MakeError(ErrorCode::kIoError, "cannot create: " + error.message(), path_);
    for (const fs::directory_entry& entry : fs::directory_iterator(checkpoint, error)) {
      fs::path target = fs::path(path_) / entry.path().filename();
      error.clear();
      if (entry.path().extension() == ".sst") fs::create_hard_link(entry.path(), target, error);
      // Across file systems a hard link is impossible: copy.
      if (entry.path().extension() != ".sst" || error) {
        error.clear();
        fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, error);
      }
      if (error) {
        return MakeError(ErrorCode::kIoError,
                         "cannot copy a state snapshot file: " + error.message(),
                         entry.path().string());
      }
    }
    if (error) {
      return MakeError(ErrorCode::kIoError, "cannot read a state snapshot: " + error.message(),
                       checkpoint);
    }
    return OpenDatabase();
  }

  /// Writes the keys of `key_groups` from a memory store's snapshot, with a timer entry for
  /// each of their windows that has one. A memory snapshot lists keys in hash order: written
  /// one by one, RocksDB sorted them over and over in compactions (95 s for 1 M keys). Sorted
  /// here, they become one SST file per column family, ingested as they are.
  Status CopyMemorySnapshot(const std::string& directory, KeyGroupRange key_groups) {
    std::vector<std::pair<std::string, std::string>> windows;
    std::vector<std::pair<std::string, std::string>> timers;
    KeyState key_state;
    Status copied = ReadMemorySnapshot(
        directory, key_groups,
        [&](uint32_t key_group, std::string_view key, std::string_view encoded) -> Status {
          std::string db_key;
          db_key.reserve(2 + key.size());
          PutBigEndian(db_key, key_group, 2);
          db_key.append(key);
          windows.emplace_back(std::move(db_key), std::string(encoded));
          key_state.key = key;
          key_state.key_group = key_group;
          Status decoded = DecodeWindows(encoded, arena_, key_state);
          if (!decoded.ok()) {
            ReleaseWindows(arena_, key_state);
            return MakeError(decoded.error().code, decoded.error().message, directory);
          }
          for (const WindowEntry& window : key_state.windows) {
            if (window.timer == kNoTimer) continue;
            timers.emplace_back(TimerKey(grouping_, window.timer, key_group, key, window.start),
                                std::string());
          }
          ReleaseWindows(arena_, key_state);
          return {};
        });
    if (!copied.ok()) return copied;
    if (Status ingested = IngestSorted(kWindows, windows); !ingested.ok()) return ingested;
    for (const auto& [timer_key, empty] : timers) {
      LowerScanFrom(TimerGroup(grouping_, timer_key.data()), timer_key);
    }
    return IngestSorted(kTimers, timers);
  }

  /// Sorts `entries` and adds them to `family` as one SST file (written next to the database,
  /// then moved into it by IngestExternalFile).
  Status IngestSorted(Family family, std::vector<std::pair<std::string, std::string>>& entries) {
    if (entries.empty()) return {};
    std::sort(entries.begin(), entries.end());
    std::string file = path_ + ".ingest-" + std::to_string(family) + ".sst";
    rocksdb::Options options(rocksdb::DBOptions(), Families()[family].options);
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, handles_[family]);
    rocksdb::Status status = writer.Open(file);
    for (size_t i = 0; status.ok() && i < entries.size(); ++i) {
      status = writer.Put(entries[i].first, entries[i].second);
    }
    if (status.ok()) status = writer.Finish();
    if (!status.ok()) return BackendError("writing restored state", status, file);
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    status = db_->IngestExternalFile(handles_[family], {file}, ingest);
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    if (!status.ok()) return BackendError("ingesting restored state", status, file);
    return {};
  }

  /// Copies the windows of `key_groups` (one range scan) and their timers (a scan filtered by
  /// the key group inside each timer key) from the checkpoint at `path` into this database.
  Status CopyRange(const std::string& path, KeyGroupRange key_groups) {
    ReadOnlySnapshot old;
    if (Status opened = old.Open(path); !opened.ok()) return opened;
    Status copied = ScanWindows(
        old, key_groups, path,
        [&](uint32_t key_group, std::string_view key, std::string_view windows) -> Status {
          db_key_.clear();
          PutBigEndian(db_key_, key_group, 2);
          db_key_.append(key);
          pending_.Put(handles_[kWindows], db_key_, rocksdb::Slice(windows.data(), windows.size()));
          if (pending_.GetDataSize() > (4u << 20)) return WritePending();
          return {};
        });
    if (!copied.ok()) return copied;
    std::unique_ptr<rocksdb::Iterator> timers(
        old.db().NewIterator(rocksdb::ReadOptions(), old.handle(kTimers)));
    for (timers->SeekToFirst(); timers->Valid(); timers->Next()) {
      rocksdb::Slice key = timers->key();
      if (key.size() < 18) {
        return MakeError(ErrorCode::kWindowStateCorrupt, "a timer entry is truncated", path);
      }
      uint32_t key_group = TimerGroup(grouping_, key.data());
      if (!key_groups.Contains(key_group)) continue;
      pending_.Put(handles_[kTimers], key, rocksdb::Slice());
      // Added to a store in use, a copied timer may lie before the last one popped.
      LowerScanFrom(key_group, key.ToStringView());
      if (pending_.GetDataSize() > (4u << 20)) {
        Status written = WritePending();
        if (!written.ok()) return written;
      }
    }
    if (!timers->status().ok()) return BackendError("reading a snapshot", timers->status(), path);
    return WritePending();
  }

  /// PopDue over one range of timers: all of them, or those of one key group (partitions).
  Status PopDueFrom(std::optional<uint32_t> key_group, int64_t limit, size_t max,
                    std::vector<DueTimer>& out, rocksdb::WriteBatch& popped) {
    std::string& scan_from = ScanFrom(key_group.value_or(0));
    std::string start;
    if (key_group) PutBigEndian(start, *key_group, 2);
    if (scan_from > start) start = scan_from;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[kTimers]));
    // Popped timers leave deletion markers at the front of the column family; starting at the
    // last popped key instead of the first skips them (a scan over them made every watermark
    // cost as much as all timers ever fired).
    for (it->Seek(start); it->Valid() && max > 0; it->Next(), --max) {
      rocksdb::Slice timer_key = it->key();
      if (timer_key.size() < 18) {
        return MakeError(ErrorCode::kWindowStateCorrupt, "a timer entry is truncated", path_);
      }
      if (key_group && TimerGroup(grouping_, timer_key.data()) != *key_group) break;
      int64_t timer = TimerTime(grouping_, timer_key.data());
      if (timer > limit) break;
      std::string_view key(timer_key.data() + 10, timer_key.size() - 18);
      Result<KeyState*> key_state = Acquire(key);
      if (!key_state.ok()) return key_state.error();
      out.push_back({*key_state, GetTime(timer_key.data() + timer_key.size() - 8), timer});
      popped.Delete(handles_[kTimers], timer_key);
      scan_from.assign(timer_key.data(), timer_key.size());
    }
    if (!it->status().ok()) return BackendError("scanning timers", it->status(), path_);
    return {};
  }

  /// Where the scan for due timers starts: one place, or one per key group (partitions).
  std::string& ScanFrom(uint32_t key_group) {
    return scan_from_[grouping_.by_partition() ? key_group : 0];
  }
  void LowerScanFrom(uint32_t key_group, std::string_view timer_key) {
    std::string& scan_from = ScanFrom(key_group);
    if (timer_key < std::string_view(scan_from)) scan_from.assign(timer_key);
  }

  struct KeyHasher {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>()(key); }
  };

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteBatch pending_;
  std::unordered_map<std::string, KeyState, KeyHasher, std::equal_to<>> cache_;
  std::string db_key_;
  std::string value_;
  // No timer (of its key group) sorts before this key: the last one popped, or an earlier one
  // scheduled since.
  std::vector<std::string> scan_from_ =
      std::vector<std::string>(grouping_.by_partition() ? kKeyGroupCount : 1);
};

}  // namespace

bool IsRocksDbSnapshot(const std::string& directory) {
  std::error_code error;
  return std::filesystem::is_directory(directory + "/rocksdb", error);
}

Status ReadRocksDbSnapshot(const std::string& directory, KeyGroupRange key_groups,
                           const SnapshotVisitor& visit) {
  std::string path = directory + "/rocksdb";
  ReadOnlySnapshot snapshot;
  if (Status opened = snapshot.Open(path); !opened.ok()) return opened;
  return ScanWindows(snapshot, key_groups, path, visit);
}

Result<std::unique_ptr<WindowStore>> MakeRocksDbWindowStore(
    std::shared_ptr<const AggregateLayout> layout, const std::string& directory,
    KeyGrouping grouping) {
  auto store = std::make_unique<RocksDbWindowStore>(std::move(layout), directory, grouping);
  Status opened = store->Open();
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<WindowStore>(std::move(store));
}

}  // namespace sluice
