#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

/// The ClickHouse column types sluice understands, by family.
enum class TypeKind : uint8_t {
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat32,
  kFloat64,
  kBool,
  kString,
  kFixedString,
  kUuid,
  kDate,
  kDate32,
  kDateTime,
  kDateTime64,
  kDecimal,
  kNullable,
  kLowCardinality,
  kArray,
  kMap,
  kTuple,
};

/// A parsed ClickHouse type such as `LowCardinality(Nullable(String))` or
/// `DateTime64(3, 'Europe/Berlin')`. Wrappers and containers hold their element types in
/// `children` (Nullable, LowCardinality, Array: one; Map: key and value; Tuple: each element).
struct DataType {
  TypeKind kind = TypeKind::kString;
  int precision = 0;        // Decimal P (digits), DateTime64 p (sub-second digits)
  int scale = 0;            // Decimal S
  uint32_t fixed_size = 0;  // FixedString(N)
  std::string timezone;     // DateTime / DateTime64, empty for the server default
  std::vector<DataType> children;
  std::vector<std::string> element_names;  // named Tuple elements, empty when unnamed

  /// The canonical ClickHouse spelling, as SHOW CREATE TABLE prints it.
  std::string ToString() const;

  bool IsNullable() const;
  /// The type stored per row: Nullable and LowCardinality removed.
  const DataType& Storage() const;

  bool operator==(const DataType& other) const = default;
};

/// Parses a ClickHouse type name; the error names the offending part and, for a misspelt
/// family, the closest known one.
Result<DataType> ParseDataType(std::string_view text);

/// Every type family name sluice accepts (for suggestions and documentation).
const std::vector<std::string>& DataTypeFamilies();

}  // namespace sluice
