#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataflow/operator.h"

namespace sluice {

/// A map or enrich operator chained to an aggregation's source, with its failed records turned
/// into rows of the stream's dead-letter table: the operator's port 1 (the input fields,
/// `_error_code`, `_error_message`; operators/dead_letter_port.h) leaves this stage's port 1 in
/// DeadLetterSchema() with the record as JSON in `raw` and the operator's name in `source`.
class TransformStage final : public Operator {
 public:
  TransformStage(std::shared_ptr<const Operator> inner, std::string stream);

  const std::string& name() const override { return inner_->name(); }
  const Schema& input_schema() const override { return inner_->input_schema(); }
  std::vector<Schema> output_schemas() const override;
  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext& context) const override;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;
  Status OnEndOfInput(OperatorState& state, Emitter& out) const override;

 private:
  std::shared_ptr<const Operator> inner_;
  std::string stream_;
};

}  // namespace sluice
