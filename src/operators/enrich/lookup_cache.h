#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice {

/// What the dimension table holds for one key: its values as text, or nothing (key not found).
struct CachedRow {
  bool found = false;
  std::vector<std::optional<std::string>> values;
};

/// Least-recently-used cache of dimension rows with an age limit: an entry older than the ttl
/// is a miss (and dropped); inserting beyond max_entries drops the least recently used entry.
/// Not thread-safe (one per operator subtask).
class LookupCache {
 public:
  LookupCache(size_t max_entries, int64_t ttl_ms) : max_entries_(max_entries), ttl_ms_(ttl_ms) {}

  /// The entry for `key` if present and younger than the ttl at `now_ms`; marks it recently used.
  std::shared_ptr<const CachedRow> Get(const std::string& key, int64_t now_ms);
  void Put(const std::string& key, std::shared_ptr<const CachedRow> row, int64_t now_ms);

  size_t size() const { return index_.size(); }
  /// Approximate bytes held (keys and values), for the state-size metric.
  uint64_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CachedRow> row;
    int64_t inserted_ms = 0;
  };
  void Erase(std::list<Entry>::iterator entry);
  static uint64_t SizeOf(const Entry& entry);

  size_t max_entries_;
  int64_t ttl_ms_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  uint64_t bytes_ = 0;
};

}  // namespace sluice
