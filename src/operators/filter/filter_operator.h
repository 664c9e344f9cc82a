#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dataflow/operator.h"
#include "expression/expression.h"

namespace sluice {

/// What a FilterOperator is built from.
struct FilterConfig {
  std::string name;
  Schema input_schema;
  /// A condition in the expression language; rows where it is false or NULL are dropped.
  std::string condition;
};

/// A filter subtask's counters and scratch.
class FilterState : public OperatorState {
 public:
  /// Rows the condition removed (not errors: the filter's purpose).
  uint64_t rows_filtered() const { return rows_filtered_.load(std::memory_order_relaxed); }

 private:
  friend class FilterOperator;
  std::atomic<uint64_t> rows_filtered_{0};
  std::vector<uint8_t> keep_;  // reused between batches
};

/// Keeps the records for which a condition holds, in their order (`event_type != 'heartbeat'`).
/// One output port; dropped rows are counted on the state, never sent anywhere. Stateless
/// apart from that counter: nothing to snapshot.
class FilterOperator final : public Operator {
 public:
  /// Errors are the condition's compile errors (kSpecInvalidExpression, with the character) with
  /// `where` = `<filter>.condition`.
  static Result<std::unique_ptr<FilterOperator>> Build(FilterConfig config);

  const std::string& name() const override { return config_.name; }
  const Schema& input_schema() const override { return config_.input_schema; }
  std::vector<Schema> output_schemas() const override { return {config_.input_schema}; }

  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext& context) const override;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;

 private:
  FilterOperator(FilterConfig config, Expression condition);

  FilterConfig config_;
  Expression condition_;
};

}  // namespace sluice
