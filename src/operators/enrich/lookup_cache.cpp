#include "operators/enrich/lookup_cache.h"

namespace sluice {

std::shared_ptr<const CachedRow> LookupCache::Get(const std::string& key, int64_t now_ms) {
  auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  if (now_ms - found->second->inserted_ms >= ttl_ms_) {
    Erase(found->second);
    return nullptr;
  }
  entries_.splice(entries_.begin(), entries_, found->second);
  return found->second->row;
}

void LookupCache::Put(const std::string& key, std::shared_ptr<const CachedRow> row,
                      int64_t now_ms) {
  if (max_entries_ == 0) return;
  auto found = index_.find(key);
  if (found != index_.end()) Erase(found->second);
  while (index_.size() >= max_entries_) Erase(std::prev(entries_.end()));
  entries_.push_front({key, std::move(row), now_ms});
  index_.emplace(key, entries_.begin());
  bytes_ += SizeOf(entries_.front());
}

void LookupCache::Erase(std::list<Entry>::iterator entry) {
  bytes_ -= SizeOf(*entry);
  index_.erase(entry->key);
  entries_.erase(entry);
}

uint64_t LookupCache::SizeOf(const Entry& entry) {
  uint64_t bytes = entry.key.size() + sizeof(Entry) + sizeof(CachedRow);
  for (const auto& value : entry.row->values) bytes += value ? value->size() : 0;
  return bytes;
}

}  // namespace sluice
