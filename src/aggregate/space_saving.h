#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "aggregate/state_codec.h"
#include "base/result.h"

namespace sluice {

/// The state of top_k: the Space-Saving heavy-hitter summary (Metwally, Agrawal and El Abbadi,
/// 2005) with `capacity` counters. Every value more frequent than n / capacity has a counter,
/// and each count overestimates its value's true count by at most `error` <= n / capacity.
/// Merging follows the mergeable-summaries construction (Agarwal et al., 2012): a value missing
/// from a full summary is charged that summary's smallest count, then the largest `capacity`
/// counters stay. Key is the value type (a number, or std::string for text).
template <typename Key>
class SpaceSaving {
 public:
  using KeyView = std::conditional_t<std::is_same_v<Key, std::string>, std::string_view, Key>;

  /// One tracked value.
  struct Counter {
    Key key;
    uint64_t count;
    uint64_t error;  // how much of count may belong to values this counter replaced
    uint64_t hash;
    uint32_t slot;  // where index_ points at this counter
  };

  /// Counts one occurrence of `key` (whose hash is `hash`).
  void Insert(KeyView key, uint64_t hash, uint32_t capacity) {
    if (index_.empty()) ResetIndex(1);
    if (Counter* counter = Find(key, hash)) {
      ++counter->count;
      SiftDown(static_cast<size_t>(counter - counters_.data()));
      return;
    }
    if (counters_.size() < capacity) {
      counters_.push_back(Counter{Key(key), 1, 0, hash, 0});
      if (counters_.size() * 2 > index_.size()) {
        ResetIndex(static_cast<uint32_t>(counters_.size()));
      } else {
        IndexInsert(static_cast<uint32_t>(counters_.size() - 1));
      }
      SiftUp(counters_.size() - 1);
      return;
    }
    // Full: the smallest counter (the heap's top) is taken over, and its count becomes the
    // newcomer's error.
    Counter& smallest = counters_.front();
    IndexErase(smallest);
    smallest.key = key;
    smallest.hash = hash;
    smallest.error = smallest.count;
    ++smallest.count;
    IndexInsert(0);
    SiftDown(0);
  }

  void Merge(const SpaceSaving& other, uint32_t capacity) {
    if (other.counters_.empty()) return;
    uint64_t own_floor = counters_.size() >= capacity ? MinCount() : 0;
    uint64_t other_floor = other.counters_.size() >= capacity ? other.MinCount() : 0;
    std::vector<Counter> added;
    for (Counter& counter : counters_) {
      const Counter* match = other.Find(counter.key, counter.hash);
      counter.count += match ? match->count : other_floor;
      counter.error += match ? match->error : other_floor;
    }
    for (const Counter& counter : other.counters_) {
      if (Find(counter.key, counter.hash) == nullptr) {
        added.push_back(Counter{counter.key, counter.count + own_floor, counter.error + own_floor,
                                counter.hash, 0});
      }
    }
    counters_.insert(counters_.end(), added.begin(), added.end());
    if (counters_.size() > capacity) {
      std::nth_element(counters_.begin(), counters_.begin() + capacity, counters_.end(),
                       [](const Counter& a, const Counter& b) { return a.count > b.count; });
      counters_.resize(capacity);
    }
    std::make_heap(counters_.begin(), counters_.end(), GreaterCount);
    ResetIndex(static_cast<uint32_t>(counters_.size()));
  }

  /// The counters by count, largest first; equal counts by hash, for the same answer on every
  /// run (keys may be floats, which NaN leaves without an order).
  std::vector<Counter> Ranked() const {
    std::vector<Counter> ranked = counters_;
    std::sort(ranked.begin(), ranked.end(), [](const Counter& a, const Counter& b) {
      return a.count != b.count ? a.count > b.count : a.hash < b.hash;
    });
    return ranked;
  }

  // Encoding: u32 counter count, then per counter its key (number, or u32 length and bytes),
  // count and error.
  void Serialize(StateWriter& writer) const {
    writer.Write(static_cast<uint32_t>(counters_.size()));
    for (const Counter& counter : counters_) {
      if constexpr (std::is_same_v<Key, std::string>) {
        writer.WriteBytes(counter.key);
      } else {
        writer.Write(counter.key);
      }
      writer.Write(counter.count);
      writer.Write(counter.error);
    }
  }

  /// Replaces the contents; `hash_of` recomputes each key's hash.
  template <typename HashOf>
  Status Deserialize(StateReader& reader, uint32_t capacity, HashOf&& hash_of) {
    counters_.clear();
    index_.clear();
    uint32_t size = 0;
    if (!reader.Read(size)) return reader.Truncated();
    if (size > capacity) return reader.Corrupt("more top_k counters than its capacity");
    ResetIndex(size);
    for (uint32_t i = 0; i < size; ++i) {
      Counter counter{};
      if constexpr (std::is_same_v<Key, std::string>) {
        std::string_view bytes;
        if (!reader.ReadBytes(bytes)) return reader.Truncated();
        counter.key.assign(bytes);
      } else {
        if (!reader.Read(counter.key)) return reader.Truncated();
      }
      if (!reader.Read(counter.count) || !reader.Read(counter.error)) return reader.Truncated();
      if (counter.count == 0 || counter.error >= counter.count) {
        return reader.Corrupt("top_k counter with a bad count");
      }
      counter.hash = hash_of(KeyView(counter.key));
      if (Find(counter.key, counter.hash) != nullptr) {
        return reader.Corrupt("top_k value counted twice");
      }
      counters_.push_back(std::move(counter));
      IndexInsert(static_cast<uint32_t>(counters_.size() - 1));
    }
    std::make_heap(counters_.begin(), counters_.end(), GreaterCount);
    ResetIndex(size);
    return {};
  }

  size_t HeapBytes() const {
    size_t bytes = counters_.capacity() * sizeof(Counter) + index_.capacity() * sizeof(uint32_t);
    if constexpr (std::is_same_v<Key, std::string>) {
      for (const Counter& counter : counters_) bytes += counter.key.capacity();
    }
    return bytes;
  }

 private:
  // index_ is an open-addressing table of counter positions + 1 (0 empty, kTombstone erased),
  // at least twice the counters, so a lookup is a probe or two and not a scan of the counters.
  // It grows with the counters: a million groups of few values each stay small.
  static constexpr uint32_t kTombstone = UINT32_MAX;

  // counters_ is a min-heap by count (std::make_heap with GreaterCount), so the counter a new
  // value takes over is at the front, and a count that grows sinks in O(log capacity).
  static bool GreaterCount(const Counter& a, const Counter& b) { return a.count > b.count; }
  uint64_t MinCount() const { return counters_.front().count; }

  void Swap(size_t a, size_t b) {
    std::swap(counters_[a], counters_[b]);
    index_[counters_[a].slot] = static_cast<uint32_t>(a + 1);
    index_[counters_[b].slot] = static_cast<uint32_t>(b + 1);
  }
  void SiftUp(size_t at) {
    while (at > 0) {
      size_t parent = (at - 1) / 2;
      if (counters_[parent].count <= counters_[at].count) return;
      Swap(at, parent);
      at = parent;
    }
  }
  void SiftDown(size_t at) {
    for (;;) {
      size_t smallest = at;
      for (size_t child = 2 * at + 1; child <= 2 * at + 2 && child < counters_.size(); ++child) {
        if (counters_[child].count < counters_[smallest].count) smallest = child;
      }
      if (smallest == at) return;
      Swap(at, smallest);
      at = smallest;
    }
  }

  void ResetIndex(uint32_t entries) {
    size_t slots = 8;
    while (slots < size_t{entries} * 2) slots *= 2;
    index_.assign(slots, 0);
    tombstones_ = 0;
    for (uint32_t i = 0; i < counters_.size(); ++i) IndexInsert(i);
  }

  template <typename K>
  const Counter* FindIn(const K& key, uint64_t hash) const {
    if (index_.empty()) return nullptr;
    size_t mask = index_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      uint32_t entry = index_[slot];
      if (entry == 0) return nullptr;
      if (entry != kTombstone) {
        const Counter& counter = counters_[entry - 1];
        if (counter.hash == hash && counter.key == key) return &counter;
      }
    }
  }
  template <typename K>
  const Counter* Find(const K& key, uint64_t hash) const {
    return FindIn(key, hash);
  }
  template <typename K>
  Counter* Find(const K& key, uint64_t hash) {
    return const_cast<Counter*>(FindIn(key, hash));
  }

  void IndexInsert(uint32_t position) {
    size_t mask = index_.size() - 1;
    size_t slot = counters_[position].hash & mask;
    while (index_[slot] != 0 && index_[slot] != kTombstone) slot = (slot + 1) & mask;
    if (index_[slot] == kTombstone) --tombstones_;
    index_[slot] = position + 1;
    counters_[position].slot = static_cast<uint32_t>(slot);
  }

  void IndexErase(const Counter& counter) {
    auto position = static_cast<uint32_t>(&counter - counters_.data()) + 1;
    index_[counter.slot] = kTombstone;
    // Tombstones lengthen probes; past a quarter of the table the index is rebuilt.
    if (++tombstones_ > index_.size() / 4) {
      index_.assign(index_.size(), 0);
      tombstones_ = 0;
      for (uint32_t i = 0; i < counters_.size(); ++i) {
        if (i + 1 != position) IndexInsert(i);
      }
    }
  }

  std::vector<Counter> counters_;
  std::vector<uint32_t> index_;
  size_t tombstones_ = 0;
};

}  // namespace sluice
