#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

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

/// Keyed window state in RocksDB: column family `windows` maps key group (2 bytes, big-endian)
/// + key bytes to the key's encoded windows; column family `timers` indexes time (8 bytes,
/// ordered) + key group + key + window start, so due timers are a prefix scan and a key-group
/// range of windows is a range scan. Keys in use during a batch are cached decoded and written
/// back in one WriteBatch at Flush (the write-ahead log is off: checkpoints are the durability).
class RocksDbWindowStore final : public WindowStore {
 public:
  RocksDbWindowStore(std::shared_ptr<const AggregateLayout> layout, std::string path)
      : WindowStore(std::move(layout)), path_(std::move(path)) {}

  ~RocksDbWindowStore() override {
    for (auto& [key, key_state] : cache_) ReleaseWindows(arena_, key_state);
    for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }

  Status Open() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    std::filesystem::create_directories(path_, ignored);
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

  Result<KeyState*> Acquire(std::string_view key) override {
    auto found = cache_.find(key);
    if (found != cache_.end()) return &found->second;
    auto it = cache_.try_emplace(std::string(key)).first;
    KeyState& key_state = it->second;
    key_state.key = it->first;
    key_state.key_group = KeyGroupOf(KeyHash(key));
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
    std::string timer_key;
    PutTime(timer_key, timer);
    PutBigEndian(timer_key, key_state.key_group, 2);
    timer_key.append(key_state.key);
    PutTime(timer_key, start);
    pending_.Put(handles_[kTimers], timer_key, rocksdb::Slice());
    if (timer_key < scan_from_) scan_from_ = timer_key;
  }

  Status PopDue(int64_t limit, size_t max, std::vector<DueTimer>& out) override {
    // Timers scheduled since the last Flush must be visible to the scan.
    Status flushed = WritePending();
    if (!flushed.ok()) return flushed;
    rocksdb::WriteBatch popped;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[kTimers]));
    // Popped timers leave deletion markers at the front of the column family; starting at the
    // last popped key instead of the first skips them (a scan over them made every watermark
    // cost as much as all timers ever fired).
    for (it->Seek(scan_from_); it->Valid() && max > 0; it->Next(), --max) {
      rocksdb::Slice timer_key = it->key();
      if (timer_key.size() < 18) {
        return MakeError(ErrorCode::kWindowStateCorrupt, "a timer entry is truncated", path_);
      }
      int64_t timer = GetTime(timer_key.data());
      if (timer > limit) break;
      std::string_view key(timer_key.data() + 10, timer_key.size() - 18);
      Result<KeyState*> key_state = Acquire(key);
      if (!key_state.ok()) return key_state.error();
      out.push_back({*key_state, GetTime(timer_key.data() + timer_key.size() - 8), timer});
      popped.Delete(handles_[kTimers], timer_key);
      scan_from_.assign(timer_key.data(), timer_key.size());
    }
    if (!it->status().ok()) return BackendError("scanning timers", it->status(), path_);
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

  Status Snapshot(const std::string& directory) const override {
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

  Status Restore(const std::vector<std::string>& directories, KeyGroupRange key_groups) override {
    for (const std::string& directory : directories) {
      Status status = RestoreOne(directory + "/rocksdb", key_groups);
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
  enum Family : size_t { kDefault = 0, kWindows = 1, kTimers = 2 };

  static std::vector<rocksdb::ColumnFamilyDescriptor> Families() {
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

  Status WritePending() {
    if (pending_.Count() == 0) return {};
    rocksdb::Status status = db_->Write(write_options_, &pending_);
    pending_.Clear();
    if (!status.ok()) return BackendError("writing window state", status, path_);
    return {};
  }

  Status RestoreOne(const std::string& path, KeyGroupRange key_groups) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status status =
        rocksdb::DB::OpenForReadOnly(rocksdb::Options(), path, Families(), &handles, &raw);
    if (!status.ok()) return BackendError("opening a state snapshot", status, path);
    std::unique_ptr<rocksdb::DB> old(raw);
    Status copied = CopyRange(*old, handles, key_groups, path);
    for (rocksdb::ColumnFamilyHandle* handle : handles) old->DestroyColumnFamilyHandle(handle);
    return copied;
  }

  /// Copies the windows of `key_groups` (one range scan) and their timers (a scan filtered by
  /// the key group inside each timer key) into this database.
  Status CopyRange(rocksdb::DB& old, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                   KeyGroupRange key_groups, const std::string& path) {
    std::string begin;
    PutBigEndian(begin, key_groups.begin, 2);
    std::string end;
    PutBigEndian(end, key_groups.end, 2);
    rocksdb::Slice end_slice(end);
    rocksdb::ReadOptions read;
    read.iterate_upper_bound = &end_slice;
    std::unique_ptr<rocksdb::Iterator> windows(old.NewIterator(read, handles[kWindows]));
    for (windows->Seek(begin); windows->Valid(); windows->Next()) {
      pending_.Put(handles_[kWindows], windows->key(), windows->value());
      if (pending_.GetDataSize() > (4u << 20)) {
        Status written = WritePending();
        if (!written.ok()) return written;
      }
    }
    if (!windows->status().ok()) return BackendError("reading a snapshot", windows->status(), path);
    std::unique_ptr<rocksdb::Iterator> timers(
        old.NewIterator(rocksdb::ReadOptions(), handles[kTimers]));
    for (timers->SeekToFirst(); timers->Valid(); timers->Next()) {
      rocksdb::Slice key = timers->key();
      if (key.size() < 18) {
        return MakeError(ErrorCode::kWindowStateCorrupt, "a timer entry is truncated", path);
      }
      if (!key_groups.Contains(static_cast<uint32_t>(GetBigEndian(key.data() + 8, 2)))) continue;
      pending_.Put(handles_[kTimers], key, rocksdb::Slice());
      if (pending_.GetDataSize() > (4u << 20)) {
        Status written = WritePending();
        if (!written.ok()) return written;
      }
    }
    if (!timers->status().ok()) return BackendError("reading a snapshot", timers->status(), path);
    return WritePending();
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
  // No timer sorts before this key: the last one popped, or an earlier one scheduled since.
  std::string scan_from_;
};

}  // namespace

Result<std::unique_ptr<WindowStore>> MakeRocksDbWindowStore(
    std::shared_ptr<const AggregateLayout> layout, const std::string& directory) {
  auto store = std::make_unique<RocksDbWindowStore>(std::move(layout), directory);
  Status opened = store->Open();
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<WindowStore>(std::move(store));
}

}  // namespace sluice
