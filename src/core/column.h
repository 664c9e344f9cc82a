#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/data_type.h"

namespace sluice {

using Int128 = __int128;

/// One column of a Batch, laid out like an Arrow array so that handing it to the warehouse
/// costs no conversion: a validity bitmap (only for nullable types), fixed-width values, or
/// offsets plus bytes (String) or offsets plus child columns (Array, Map), or children (Tuple).
///
/// Physical representation per storage kind:
///   Int*/UInt*/Float*/Bool    native width        Date, Date32   int32 days since 1970-01-01
///   DateTime                  int64 seconds       DateTime64(p)  int64 ticks of 10^-p s
///   Decimal(P, S)             Int128 (value * 10^S)
///   String, UUID              offsets + bytes     FixedString(N) N bytes per row
///   Array(T)                  offsets + child     Map(K, V)      offsets + key and value children
///   Tuple(...)                one child per element
/// LowCardinality is a storage hint for ClickHouse; here it is the inner type.
class Column {
 public:
  explicit Column(DataType type);

  const DataType& type() const { return type_; }
  const DataType& storage() const { return type_.Storage(); }
  size_t size() const { return rows_; }
  bool nullable() const { return nullable_; }

  // Appenders: each adds one row. The caller picks the one matching storage().kind.
  void AppendNull();
  template <typename T>
  void AppendFixed(T value) {
    MarkValid();
    size_t at = values_.size();
    values_.resize(at + sizeof(T));
    std::memcpy(values_.data() + at, &value, sizeof(T));
    ++rows_;
  }
  void AppendString(std::string_view bytes);
  /// Nested rows: append the elements to child(0) (Array) or child(0)/child(1) (Map), or one
  /// value to every child (Tuple), then close the row.
  void CloseNestedRow();
  Column& child(size_t index) { return children_[index]; }
  const Column& child(size_t index) const { return children_[index]; }
  size_t child_count() const { return children_.size(); }

  /// Appends every row of `other`, a column of the same type.
  void AppendColumn(const Column& other);

  /// Drops rows from `rows` on, e.g. a record that failed half-way through parsing.
  void Truncate(size_t rows);
  void Reserve(size_t rows);
  void Clear() { Truncate(0); }
  /// Keeps the rows whose `keep` entry is non-zero, in their order; `keep` has one entry per
  /// row. Elements of nested rows go with their row.
  void Filter(const std::vector<uint8_t>& keep);

  bool IsNull(size_t row) const {
    return nullable_ && (validity_[row >> 3] & (1u << (row & 7))) == 0;
  }
  template <typename T>
  T FixedAt(size_t row) const {
    T value;
    std::memcpy(&value, values_.data() + row * sizeof(T), sizeof(T));
    return value;
  }
  std::string_view StringAt(size_t row) const;

  // Raw buffers for export.
  const std::vector<uint8_t>& validity() const { return validity_; }
  size_t null_count() const { return null_count_; }
  const std::vector<uint8_t>& values() const { return values_; }
  const std::vector<int32_t>& offsets() const { return offsets_; }
  const std::string& bytes() const { return bytes_; }
  /// Bytes held, for batch size limits and metrics.
  size_t ByteSize() const;

  /// Width in bytes of one fixed-width value of `storage`, 0 for variable-width kinds.
  static size_t FixedWidth(const DataType& storage);

 private:
  friend class ColumnCodec;
  void MarkValid();

  DataType type_;
  bool nullable_ = false;
  size_t rows_ = 0;
  size_t null_count_ = 0;
  std::vector<uint8_t> validity_;
  std::vector<uint8_t> values_;
  std::vector<int32_t> offsets_;
  std::string bytes_;
  std::vector<Column> children_;
};

}  // namespace sluice
