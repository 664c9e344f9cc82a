#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/operator.h"
#include "operators/validate/validate_operator.h"

namespace sluice {

/// A stream's validation rules as an operator chained to a source: rows that pass go on
/// (port 0). Rows that fail become dead-letter rows (port 1, DeadLetterSchema()) with the record
/// as the source received it — or, without `record_of`, are left out because another reader of
/// the same input already writes them (an aggregation over a file the raw load also reads).
class ValidateStage final : public Operator {
 public:
  /// The record text and its location ("file:line", "topic/partition@offset") of a row of the
  /// batch being processed.
  using RecordOf = std::function<std::pair<std::string, std::string>(size_t row)>;

  ValidateStage(std::string name, std::string stream, Schema schema, ValidateOperator validate,
                RecordOf record_of);

  const std::string& name() const override { return name_; }
  const Schema& input_schema() const override { return schema_; }
  std::vector<Schema> output_schemas() const override;
  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext&) const override;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;

 private:
  std::string name_;
  std::string stream_;
  Schema schema_;
  ValidateOperator validate_;
  RecordOf record_of_;
};

}  // namespace sluice
