#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/column.h"
#include "core/data_type.h"

namespace sluice {

/// How an aggregate is asked for in a spec or the builder API: `count`, `sum(amount)`,
/// `quantile(amount)` with level 0.95, `top_k(page)` with k 10 ...
struct AggregateCall {
  std::string function;  // count, sum, min, max, avg, first, last, uniq, count_distinct,
                         // quantile, top_k
  std::string output;    // result column name
  std::string field;     // input field; empty for count
  double level = 0.5;    // quantile
  uint32_t k = 10;       // top_k
};

/// One aggregate function bound to an input type: how to create, update, merge, save and
/// finish its per-group state. States live in caller-owned memory (`place`, state_size() bytes
/// aligned to state_alignment()), like ClickHouse's IAggregateFunction, so the window operator
/// can keep all aggregates of a key and window in one allocation.
///
/// Contract: immutable and thread-safe; a given place is touched by one thread at a time.
/// Create before any other call on a place, Destroy exactly once after. Merge is associative
/// and commutative in its result (sketches: within their stated error), so split inputs merged
/// give the same answer as one input.
class AggregateFunction {
 public:
  virtual ~AggregateFunction() = default;

  virtual const std::string& name() const = 0;
  /// Type of the finished value (the output column's type).
  virtual const DataType& result_type() const = 0;
  virtual size_t state_size() const = 0;
  virtual size_t state_alignment() const = 0;

  virtual void Create(char* place) const = 0;
  virtual void Destroy(char* place) const noexcept = 0;

  /// Adds rows [0, rows) of `input` (the bound input column; unused for count) to the states
  /// `places[row] + offset`. `event_times` (ms, one per row) matter to first/last.
  virtual void AddBatch(char* const* places, size_t offset, const Column* input,
                        const int64_t* event_times, size_t rows) const = 0;
  virtual void Merge(char* place, const char* other) const = 0;

  /// Appends a portable encoding of the state to `out`; Deserialize reads it into a created
  /// place, consuming exactly what Serialize wrote from the front of `in`.
  virtual void Serialize(const char* place, std::string& out) const = 0;
  virtual Status Deserialize(char* place, std::string_view& in) const = 0;

  /// Appends the finished value as one row of `out` (a column of result_type()).
  virtual void Finalize(const char* place, Column& out) const = 0;

  /// Heap bytes owned by a state beyond state_size(), for the state-size metric.
  virtual size_t HeapBytes(const char* place) const {
    (void)place;
    return 0;
  }
};

/// Builds the function for `call` over an input of type `input_type` (ignored for count).
/// Errors (unknown function with a did-you-mean, a type the function does not take, a level
/// outside (0, 1)) are kSpecInvalid... codes naming the call.
Result<std::unique_ptr<AggregateFunction>> MakeAggregateFunction(const AggregateCall& call,
                                                                 const DataType* input_type);

/// Names MakeAggregateFunction accepts, for docs and suggestions.
std::vector<std::string> AggregateFunctionNames();

}  // namespace sluice
