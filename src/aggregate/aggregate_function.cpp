#include "aggregate/aggregate_function.h"

#include <fmt/format.h>

#include "aggregate/functions.h"
#include "base/strings.h"

namespace sluice {
namespace {

using Factory = std::unique_ptr<AggregateFunction> (*)(const AggregateCall&, const DataType&);

/// One function the factory knows: how to build it and, for the type error, what it takes.
struct FunctionEntry {
  std::string_view name;
  Factory make;  // nullptr for count, which reads no field
  std::string_view takes;
};

constexpr std::string_view kNumbers = "integers, floats and Decimal";
constexpr std::string_view kScalars =
    "integers, floats, Decimal, Date, Date32, DateTime, DateTime64, String, FixedString and UUID";

constexpr FunctionEntry kFunctions[] = {
    {"count", nullptr, ""},
    {"sum", MakeSum, kNumbers},
    {"avg", MakeAvg, kNumbers},
    {"min", MakeMin, kScalars},
    {"max", MakeMax, kScalars},
    {"first", MakeFirst, kScalars},
    {"last", MakeLast, kScalars},
    {"uniq", MakeUniq, kScalars},
    {"count_distinct", MakeCountDistinct, kScalars},
    {"quantile", MakeQuantile, kNumbers},
    {"top_k", MakeTopK, kScalars},
};

/// How a call is named in errors: `sum(amount) as total`.
std::string Describe(const AggregateCall& call) {
  std::string text = fmt::format("{}({})", call.function, call.field);
  if (!call.output.empty()) text += " as " + call.output;
  return text;
}

}  // namespace

Result<std::unique_ptr<AggregateFunction>> MakeAggregateFunction(const AggregateCall& call,
                                                                 const DataType* input_type) {
  const FunctionEntry* entry = nullptr;
  for (const FunctionEntry& candidate : kFunctions) {
    if (candidate.name == call.function) entry = &candidate;
  }
  if (entry == nullptr) {
    std::string message = fmt::format("unknown aggregate function '{}'", call.function);
    std::string suggestion = SuggestClosest(call.function, AggregateFunctionNames());
    if (!suggestion.empty()) message += fmt::format(" (did you mean '{}'?)", suggestion);
    message += "; known: " + Join(AggregateFunctionNames(), ", ");
    return MakeError(ErrorCode::kSpecUnknownAggregate, message, Describe(call));
  }
  if (entry->make == nullptr) return MakeCount(call);
  if (call.field.empty()) {
    return MakeError(ErrorCode::kSpecMissingKey,
                     fmt::format("aggregate function {} needs a field", call.function),
                     Describe(call));
  }
  if (call.function == "quantile" && !(call.level > 0 && call.level < 1)) {
    return MakeError(ErrorCode::kSpecAggregateParameter,
                     fmt::format("quantile level {} is outside (0, 1)", call.level),
                     Describe(call));
  }
  if (call.function == "top_k" && (call.k < 1 || call.k > kMaxTopK)) {
    return MakeError(ErrorCode::kSpecAggregateParameter,
                     fmt::format("top_k k {} is outside [1, {}]", call.k, kMaxTopK),
                     Describe(call));
  }
  if (input_type == nullptr) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("no input type given for field '{}'", call.field), Describe(call));
  }
  std::unique_ptr<AggregateFunction> function = entry->make(call, *input_type);
  if (function == nullptr) {
    return MakeError(ErrorCode::kSpecAggregateInputType,
                     fmt::format("{} does not take field '{}' of type {}; it takes {}",
                                 call.function, call.field, input_type->ToString(), entry->takes),
                     Describe(call));
  }
  return function;
}

std::vector<std::string> AggregateFunctionNames() {
  std::vector<std::string> names;
  for (const FunctionEntry& entry : kFunctions) names.emplace_back(entry.name);
  return names;
}

}  // namespace sluice
