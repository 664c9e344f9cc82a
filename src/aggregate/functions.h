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

}  // namespace sluice
