#include "aggregate/hyper_log_log.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace sluice {
namespace {

// The empty slot of the exact table; a hash of 0 is stored as 1 (a 2^-64 bias, negligible).
constexpr uint64_t kEmpty = 0;

uint64_t NonZero(uint64_t hash) {
  return hash == kEmpty ? 1 : hash;
}

// Ertl's sigma and tau series (section 4 of the paper), summed until they stop changing.
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    double previous = z;
    z += x * y;
    y += y;
    if (z == previous) return z;
  }
}

double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    double previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == previous) return z / 3.0;
  }
}

}  // namespace

HyperLogLog::~HyperLogLog() {
  Clear();
}

void HyperLogLog::Clear() {
  delete[] table_;
  delete[] registers_;
  table_ = nullptr;
  registers_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

template <typename Fn>
void HyperLogLog::ForEachExactHash(Fn&& fn) const {
  if (capacity_ == 0) {
    for (uint32_t i = 0; i < size_; ++i) fn(inline_[i]);
    return;
  }
  for (uint32_t slot = 0; slot < capacity_; ++slot) {
    if (table_[slot] != kEmpty) fn(table_[slot]);
  }
}

void HyperLogLog::InsertExact(uint64_t hash) {
  hash = NonZero(hash);
  if (capacity_ == 0) {
    for (uint32_t i = 0; i < size_; ++i) {
      if (inline_[i] == hash) return;
    }
    if (size_ < kInlineHashes) {
      inline_[size_++] = hash;
      return;
    }
    GrowTable();
  }
  // Lookup first: a known hash must not count toward the growth check.
  uint32_t mask = capacity_ - 1;
  for (uint32_t slot = static_cast<uint32_t>(hash) & mask;; slot = (slot + 1) & mask) {
    if (table_[slot] == hash) return;
    if (table_[slot] == kEmpty) break;
  }
  if ((size_ + 1) * 2 > capacity_) {
    if (size_ + 1 > kExactLimit) {
      ConvertToRegisters();
      InsertRegister(registers_, hash);
      return;
    }
    GrowTable();
  }
  InsertIntoTable(hash);
}

void HyperLogLog::InsertIntoTable(uint64_t hash) {
  uint32_t mask = capacity_ - 1;
  uint32_t slot = static_cast<uint32_t>(hash) & mask;
  while (table_[slot] != kEmpty) {
    if (table_[slot] == hash) return;
    slot = (slot + 1) & mask;
  }
  table_[slot] = hash;
  ++size_;
}

void HyperLogLog::GrowTable() {
  uint32_t old_capacity = capacity_;
  uint64_t* old_table = table_;
  // Inline hashes move into a first table of 16 slots.
  capacity_ = old_capacity == 0 ? 16 : old_capacity * 2;
  table_ = new uint64_t[capacity_]();
  uint32_t count = size_;
  size_ = 0;
  if (old_capacity == 0) {
    for (uint32_t i = 0; i < count; ++i) InsertIntoTable(inline_[i]);
  } else {
    for (uint32_t slot = 0; slot < old_capacity; ++slot) {
      if (old_table[slot] != kEmpty) InsertIntoTable(old_table[slot]);
    }
  }
  delete[] old_table;
}

void HyperLogLog::ConvertToRegisters() {
  auto* registers = new uint8_t[kRegisters]();
  ForEachExactHash([&](uint64_t hash) { InsertRegister(registers, hash); });
  delete[] table_;
  table_ = nullptr;
  capacity_ = 0;
  size_ = 0;
  registers_ = registers;
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.registers_ == nullptr) {
    other.ForEachExactHash([&](uint64_t hash) { Insert(hash); });
    return;
  }
  if (registers_ == nullptr) ConvertToRegisters();
  for (size_t i = 0; i < kRegisters; ++i) {
    if (other.registers_[i] > registers_[i]) registers_[i] = other.registers_[i];
  }
}

uint64_t HyperLogLog::Estimate() const {
  if (registers_ == nullptr) return size_;
  std::array<uint32_t, kMaxRank + 1> histogram{};
  for (size_t i = 0; i < kRegisters; ++i) ++histogram[registers_[i]];
  const double m = static_cast<double>(kRegisters);
  constexpr int q = 64 - kPrecision;
  double z = m * Tau((m - histogram[q + 1]) / m);
  for (int k = q; k >= 1; --k) {
    z += histogram[k];
    z *= 0.5;
  }
  z += m * Sigma(histogram[0] / m);
  const double alpha_infinity = 0.5 / std::log(2.0);
  return static_cast<uint64_t>(std::llround(alpha_infinity * m * m / z));
}

// Encoding: one mode byte; 0 = exact: u32 count and the hashes; 1 = registers: the precision
// byte and kRegisters bytes.
void HyperLogLog::Serialize(StateWriter& writer) const {
  if (registers_ == nullptr) {
    writer.Write(uint8_t{0});
    writer.Write(size_);
    ForEachExactHash([&](uint64_t hash) { writer.Write(hash); });
    return;
  }
  writer.Write(uint8_t{1});
  writer.Write(static_cast<uint8_t>(kPrecision));
  for (size_t i = 0; i < kRegisters; ++i) writer.Write(registers_[i]);
}

Status HyperLogLog::Deserialize(StateReader& reader) {
  Clear();
  uint8_t mode = 0;
  if (!reader.Read(mode)) return reader.Truncated();
  if (mode == 0) {
    uint32_t count = 0;
    if (!reader.Read(count)) return reader.Truncated();
    if (count > kExactLimit) return reader.Corrupt("more exact hashes than a uniq state keeps");
    if (reader.remaining() < size_t{count} * sizeof(uint64_t)) return reader.Truncated();
    for (uint32_t i = 0; i < count; ++i) {
      uint64_t hash = 0;
      (void)reader.Read(hash);
      InsertExact(hash);
    }
    return {};
  }
  if (mode != 1) return reader.Corrupt("unknown uniq state mode");
  uint8_t precision = 0;
  if (!reader.Read(precision)) return reader.Truncated();
  if (precision != kPrecision) return reader.Corrupt("uniq state of another precision");
  if (reader.remaining() < kRegisters) return reader.Truncated();
  auto* registers = new uint8_t[kRegisters];
  for (size_t i = 0; i < kRegisters; ++i) {
    (void)reader.Read(registers[i]);
    if (registers[i] > kMaxRank) {
      delete[] registers;
      return reader.Corrupt("uniq register out of range");
    }
  }
  registers_ = registers;
  return {};
}

size_t HyperLogLog::HeapBytes() const {
  return (registers_ != nullptr ? kRegisters : 0) + size_t{capacity_} * sizeof(uint64_t);
}

}  // namespace sluice
