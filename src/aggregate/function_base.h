#pragma once

#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aggregate/aggregate_function.h"
#include "core/column.h"

// Internal to the aggregate module: the shared shape of every function (a State struct in the
// caller's place) and the typed row loops that keep AddBatch free of per-row virtual calls.

namespace sluice {

/// Implements the state plumbing of AggregateFunction for a State type with a default
/// constructor and a destructor; subclasses add the arithmetic.
template <typename State>
class FunctionBase : public AggregateFunction {
 public:
  FunctionBase(std::string name, DataType result_type)
      : name_(std::move(name)), result_type_(std::move(result_type)) {}

  const std::string& name() const override { return name_; }
  const DataType& result_type() const override { return result_type_; }
  size_t state_size() const override { return sizeof(State); }
  size_t state_alignment() const override { return alignof(State); }
  void Create(char* place) const override { new (place) State(); }
  void Destroy(char* place) const noexcept override { At(place).~State(); }

 protected:
  static State& At(char* place) { return *std::launder(reinterpret_cast<State*>(place)); }
  static const State& At(const char* place) {
    return *std::launder(reinterpret_cast<const State*>(place));
  }

 private:
  std::string name_;
  DataType result_type_;
};

/// Calls fn(row, value) for every non-NULL row in [0, rows) of a fixed-width column whose
/// storage is T. The NULL check is hoisted out of the loop when the column has no NULLs.
template <typename T, typename Fn>
inline void ForEachValue(const Column& input, size_t rows, Fn&& fn) {
  const uint8_t* data = input.values().data();
  auto load = [data](size_t row) {
    T value;
    std::memcpy(&value, data + row * sizeof(T), sizeof(T));
    return value;
  };
  if (input.null_count() == 0) {
    for (size_t row = 0; row < rows; ++row) fn(row, load(row));
  } else {
    for (size_t row = 0; row < rows; ++row) {
      if (!input.IsNull(row)) fn(row, load(row));
    }
  }
}

/// The same for String, FixedString and UUID columns, with the value as a view of its bytes.
template <typename Fn>
inline void ForEachString(const Column& input, size_t rows, Fn&& fn) {
  if (input.storage().kind == TypeKind::kFixedString) {
    const char* data = reinterpret_cast<const char*>(input.values().data());
    size_t width = input.storage().fixed_size;
    for (size_t row = 0; row < rows; ++row) {
      if (!input.IsNull(row)) fn(row, std::string_view(data + row * width, width));
    }
    return;
  }
  const char* bytes = input.bytes().data();
  const int32_t* offsets = input.offsets().data();
  for (size_t row = 0; row < rows; ++row) {
    if (!input.IsNull(row)) {
      fn(row, std::string_view(bytes + offsets[row], offsets[row + 1] - offsets[row]));
    }
  }
}

/// A kept value: the number itself, or an owned copy of a string's bytes.
template <typename T>
using Stored = std::conditional_t<std::is_same_v<T, std::string_view>, std::string, T>;

/// Calls fn(row, value) for the non-NULL rows of a column of storage T (number or string).
template <typename T, typename Fn>
inline void ForEachInput(const Column& input, size_t rows, Fn&& fn) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    ForEachString(input, rows, std::forward<Fn>(fn));
  } else {
    ForEachValue<T>(input, rows, std::forward<Fn>(fn));
  }
}

/// Calls visit(std::type_identity<T>{}) with the C++ type a column of storage `kind` holds per
/// row: the native number, int32 for dates, int64 for date-times, Int128 for Decimal,
/// std::string_view for String, FixedString and UUID, void for what aggregates do not take.
template <typename Visitor>
inline auto VisitStorageType(TypeKind kind, Visitor&& visit) {
  switch (kind) {
    case TypeKind::kInt8:
      return visit(std::type_identity<int8_t>{});
    case TypeKind::kInt16:
      return visit(std::type_identity<int16_t>{});
    case TypeKind::kInt32:
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return visit(std::type_identity<int32_t>{});
    case TypeKind::kInt64:
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64:
      return visit(std::type_identity<int64_t>{});
    case TypeKind::kUInt8:
    case TypeKind::kBool:
      return visit(std::type_identity<uint8_t>{});
    case TypeKind::kUInt16:
      return visit(std::type_identity<uint16_t>{});
    case TypeKind::kUInt32:
      return visit(std::type_identity<uint32_t>{});
    case TypeKind::kUInt64:
      return visit(std::type_identity<uint64_t>{});
    case TypeKind::kFloat32:
      return visit(std::type_identity<float>{});
    case TypeKind::kFloat64:
      return visit(std::type_identity<double>{});
    case TypeKind::kDecimal:
      return visit(std::type_identity<Int128>{});
    case TypeKind::kString:
    case TypeKind::kFixedString:
    case TypeKind::kUuid:
      return visit(std::type_identity<std::string_view>{});
    default:
      return visit(std::type_identity<void>{});
  }
}

inline bool IsDateKind(TypeKind kind) {
  return kind == TypeKind::kDate || kind == TypeKind::kDate32 || kind == TypeKind::kDateTime ||
         kind == TypeKind::kDateTime64;
}

inline DataType MakeType(TypeKind kind) {
  DataType type;
  type.kind = kind;
  return type;
}

/// `inner`, wrapped in Nullable when `nullable`: like ClickHouse, sum, avg and quantile over a
/// Nullable field give NULL for a group whose values were all NULL.
inline DataType NullableIf(bool nullable, DataType inner) {
  if (!nullable) return inner;
  DataType type = MakeType(TypeKind::kNullable);
  type.children.push_back(std::move(inner));
  return type;
}

/// Appends a number to a result column of the matching storage.
template <typename T>
inline void AppendValue(Column& out, const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    out.AppendString(value);
  } else {
    out.AppendFixed(value);
  }
}

}  // namespace sluice
