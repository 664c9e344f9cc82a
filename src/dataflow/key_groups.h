#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

/// Keyed state is split into this many key groups; a subtask owns a contiguous range of them.
/// State snapshots are written per key group, so a savepoint restores onto any parallelism up
/// to this number (the same idea as Flink's max parallelism).
inline constexpr uint32_t kKeyGroupCount = 128;

/// Key groups [begin, end).
struct KeyGroupRange {
  uint32_t begin = 0;
  uint32_t end = kKeyGroupCount;
  bool Contains(uint32_t group) const { return group >= begin && group < end; }
};

/// The 64-bit hash of a key's bytes that decides its key group (XXH3).
uint64_t KeyHash(std::string_view key_bytes);

inline uint32_t KeyGroupOf(uint64_t key_hash) {
  return static_cast<uint32_t>(key_hash % kKeyGroupCount);
}

/// How a key's group is chosen. By default from the key's hash, which spreads keys evenly. State
/// that follows the Kafka partition its records come from (several processes sharing a topic)
/// instead takes the partition number the key starts with: its first key field is an integer
/// of `partition_width` bytes, so each partition's keys form one key group, whose snapshot
/// another process can load when the partition moves there.
struct KeyGrouping {
  size_t partition_width = 0;  // 0: by hash

  bool by_partition() const { return partition_width != 0; }
  /// The group of a key in KeyEncoder's bytes; `key_hash` is KeyHash(key_bytes).
  uint32_t Of(std::string_view key_bytes, uint64_t key_hash) const {
    return by_partition() ? OfPartitionKey(key_bytes) : KeyGroupOf(key_hash);
  }
  uint32_t Of(std::string_view key_bytes) const {
    return by_partition() ? OfPartitionKey(key_bytes) : KeyGroupOf(KeyHash(key_bytes));
  }
  /// The leading partition number of a key (0 when it is null).
  uint32_t OfPartitionKey(std::string_view key_bytes) const;
};

/// The subtask that owns `group` under `parallelism`: an even split in order.
inline uint32_t SubtaskOfKeyGroup(uint32_t group, uint32_t parallelism) {
  return group * parallelism / kKeyGroupCount;
}

/// The key groups subtask `subtask` of `parallelism` owns (those SubtaskOfKeyGroup maps to it).
inline KeyGroupRange KeyGroupsOfSubtask(uint32_t subtask, uint32_t parallelism) {
  auto first_of = [parallelism](uint32_t s) {
    return (s * kKeyGroupCount + parallelism - 1) / parallelism;
  };
  return {first_of(subtask), first_of(subtask + 1)};
}

}  // namespace sluice
