#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "aggregate/state_codec.h"
#include "base/result.h"

namespace sluice {

/// The state of uniq: the distinct 64-bit value hashes themselves while there are at most
/// kExactLimit of them (exact, and small: a few inline, then a hash table), HyperLogLog
/// registers after that. Precision 12 (4096 one-byte registers) gives a relative standard error
/// of 1.04 / sqrt(4096) = 1.6 %; the estimate uses Ertl's improved estimator ("New cardinality
/// estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables and is
/// accurate from a few hundred values up.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 12;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  /// Largest register value: leading zeros of the 52 bits after the index, plus one.
  static constexpr uint8_t kMaxRank = 64 - kPrecision + 1;
  /// Exact up to this many distinct hashes; its table then takes 4 KB, as the registers do.
  static constexpr uint32_t kExactLimit = 256;
  static constexpr uint32_t kInlineHashes = 4;

  HyperLogLog() = default;
  ~HyperLogLog();
  HyperLogLog(const HyperLogLog&) = delete;
  HyperLogLog& operator=(const HyperLogLog&) = delete;

  void Insert(uint64_t hash) {
    if (registers_ != nullptr) {
      InsertRegister(registers_, hash);
    } else {
      InsertExact(hash);
    }
  }
  void Merge(const HyperLogLog& other);
  /// The number of distinct hashes: exact while small, estimated after.
  uint64_t Estimate() const;
  bool exact() const { return registers_ == nullptr; }

  void Serialize(StateWriter& writer) const;
  /// Replaces the contents with a serialized sketch.
  Status Deserialize(StateReader& reader);
  size_t HeapBytes() const;

 private:
  static void InsertRegister(uint8_t* registers, uint64_t hash) {
    size_t index = hash >> (64 - kPrecision);
    uint64_t rest = hash << kPrecision;
    auto rank = static_cast<uint8_t>(rest == 0 ? kMaxRank : std::countl_zero(rest) + 1);
    if (rank > registers[index]) registers[index] = rank;
  }
  void InsertExact(uint64_t hash);
  /// Inserts into the open-addressing table, which has room.
  void InsertIntoTable(uint64_t hash);
  void GrowTable();
  void ConvertToRegisters();
  void Clear();
  template <typename Fn>
  void ForEachExactHash(Fn&& fn) const;

  uint32_t size_ = 0;      // distinct hashes while exact
  uint32_t capacity_ = 0;  // slots of table_; 0 while the hashes fit inline
  uint64_t* table_ = nullptr;
  uint8_t* registers_ = nullptr;
  uint64_t inline_[kInlineHashes] = {};
};

}  // namespace sluice
