#include "operators/filter/filter_operator.h"

#include <algorithm>

namespace sluice {

FilterOperator::FilterOperator(FilterConfig config, Expression condition)
    : config_(std::move(config)), condition_(std::move(condition)) {}

Result<std::unique_ptr<FilterOperator>> FilterOperator::Build(FilterConfig config) {
  Result<Expression> condition =
      Expression::CompileCondition(config.condition, config.input_schema);
  if (!condition.ok()) {
    Error error = condition.error();
    error.where = config.name + ".condition";
    return error;
  }
  return std::unique_ptr<FilterOperator>(
      new FilterOperator(std::move(config), std::move(*condition)));
}

Result<std::unique_ptr<OperatorState>> FilterOperator::CreateState(const OperatorContext&) const {
  return std::unique_ptr<OperatorState>(std::make_unique<FilterState>());
}

Status FilterOperator::Process(OperatorState& state, Batch& input, Emitter& out) const {
  if (input.num_rows() == 0) return {};
  auto& filter_state = static_cast<FilterState&>(state);
  condition_.EvaluateCondition(input, filter_state.keep_);
  size_t kept = static_cast<size_t>(
      std::count(filter_state.keep_.begin(), filter_state.keep_.end(), uint8_t{1}));
  filter_state.rows_filtered_.fetch_add(input.num_rows() - kept, std::memory_order_relaxed);
  if (kept == 0) return {};
  if (kept < input.num_rows()) input.Filter(filter_state.keep_);
  out.Emit(0, std::move(input));
  return {};
}

}  // namespace sluice
