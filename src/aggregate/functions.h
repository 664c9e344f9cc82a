#pragma once

#include <memory>

#include "aggregate/aggregate_function.h"

// Internal to the aggregate module: one factory per function. Each returns nullptr for an input
// type it does not take; MakeAggregateFunction turns that into the error naming the call.

namespace sluice {

std::unique_ptr<AggregateFunction> MakeCount(const AggregateCall& call);
std::unique_ptr<AggregateFunction> MakeSum(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeAvg(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeMin(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeMax(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeFirst(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeLast(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeUniq(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeCountDistinct(const AggregateCall& call,
                                                     const DataType& input);
/// call.level must be in (0, 1) and call.k in [1, kMaxTopK]: MakeAggregateFunction checks.
std::unique_ptr<AggregateFunction> MakeQuantile(const AggregateCall& call, const DataType& input);
std::unique_ptr<AggregateFunction> MakeTopK(const AggregateCall& call, const DataType& input);

/// top_k keeps this many counters per k and group: Space-Saving overestimates a count by at
/// most n / counters, so 10 k counters separate the k-th value from the next on skewed streams
/// where ClickHouse's 3 k mixes them up.
constexpr uint32_t kCountersPerK = 10;
/// The largest k of top_k.
constexpr uint32_t kMaxTopK = 10000;

}  // namespace sluice
