#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "core/column.h"
#include "core/data_type.h"

namespace sluice::testing {

inline DataType Type(std::string_view text) {
  auto type = ParseDataType(text);
  EXPECT_TRUE(type.ok()) << text;
  return type.ok() ? *type : DataType{};
}

/// A function built from `function(field)` over `type`; fails the test on an error.
inline std::unique_ptr<AggregateFunction> Make(std::string function, std::string_view type,
                                               double level = 0.5, uint32_t k = 10) {
  AggregateCall call{function, "out", function == "count" ? "" : "x", level, k};
  DataType input = Type(type);
  auto made = MakeAggregateFunction(call, &input);
  EXPECT_TRUE(made.ok()) << function << "(" << type
                         << "): " << (made.ok() ? "" : made.error().ToString());
  return made.ok() ? std::move(made.value()) : nullptr;
}

/// The states of several groups of one function in one aligned buffer, as the window operator
/// keeps them.
class GroupStates {
 public:
  GroupStates(const AggregateFunction& function, size_t groups)
      : function_(function),
        stride_((function.state_size() + function.state_alignment() - 1) /
                function.state_alignment() * function.state_alignment()),
        groups_(groups),
        buffer_(static_cast<char*>(
            ::operator new(stride_* groups, std::align_val_t(function.state_alignment())))) {
    for (size_t group = 0; group < groups_; ++group) function_.Create(at(group));
  }
  ~GroupStates() {
    for (size_t group = 0; group < groups_; ++group) function_.Destroy(at(group));
    ::operator delete(buffer_, std::align_val_t(function_.state_alignment()));
  }
  GroupStates(const GroupStates&) = delete;
  GroupStates& operator=(const GroupStates&) = delete;

  char* at(size_t group) { return buffer_ + group * stride_; }

  /// Adds row r of `input` to group groups[r] (every row to group 0 when `groups` is empty).
  void Add(const Column* input, size_t rows, const std::vector<size_t>& groups = {},
           const std::vector<int64_t>& times = {}) {
    std::vector<char*> places(rows);
    for (size_t row = 0; row < rows; ++row) places[row] = at(groups.empty() ? 0 : groups[row]);
    function_.AddBatch(places.data(), 0, input, times.empty() ? nullptr : times.data(), rows);
  }

  /// One row per group.
  Column Finalize() {
    Column out(function_.result_type());
    for (size_t group = 0; group < groups_; ++group) function_.Finalize(at(group), out);
    return out;
  }

 private:
  const AggregateFunction& function_;
  size_t stride_;
  size_t groups_;
  char* buffer_;
};

template <typename T>
Column FixedColumn(std::string_view type, const std::vector<std::optional<T>>& values) {
  Column column(Type(type));
  for (const auto& value : values) {
    if (value) {
      column.AppendFixed<T>(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

inline Column StringColumn(std::string_view type,
                           const std::vector<std::optional<std::string>>& values) {
  Column column(Type(type));
  for (const auto& value : values) {
    if (value) {
      column.AppendString(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

}  // namespace sluice::testing
