#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/operator.h"
#include "expression/expression.h"

namespace sluice {

/// One computed field of a map: its name, the expression and, optionally, the column type it is
/// converted to (as by CAST); without a type the expression's own type is used.
struct MapOutput {
  std::string name;
  std::string expression;
  std::optional<DataType> type;
};

/// What a MapOperator is built from.
struct MapConfig {
  std::string name;
  Schema input_schema;
  std::vector<MapOutput> outputs;
  /// Pass the input fields through: outputs with an input field's name replace it in place, the
  /// others are appended in order. Otherwise the output holds only the outputs.
  bool keep_input_fields = true;
};

/// A map subtask's counters (the operator itself is stateless).
class MapState : public OperatorState {
 public:
  /// Rows sent to the dead-letter port because an output had no value.
  uint64_t rows_failed() const { return rows_failed_.load(std::memory_order_relaxed); }

 private:
  friend class MapOperator;
  std::atomic<uint64_t> rows_failed_{0};
};

/// Computes new fields from expressions over each record (`amount_eur = amount * rate`).
/// Port 0: the mapped rows, in input order. Port 1: rows where an output has no value while
/// its type is not Nullable (failed cast, overflow, division by zero, NULL input), with the input
/// fields and RECORD_EXPRESSION_FAILED (see operators/dead_letter_port.h). Expressions read the
/// input fields only (not each other's outputs). Stateless: nothing to snapshot.
class MapOperator final : public Operator {
 public:
  /// Compiles every expression; errors are kSpecInvalidExpression with `where` naming the output
  /// (`<map>.outputs[i]`) and the message the character, or kSpecDuplicateName.
  static Result<std::unique_ptr<MapOperator>> Build(MapConfig config);

  const std::string& name() const override { return config_.name; }
  const Schema& input_schema() const override { return config_.input_schema; }
  std::vector<Schema> output_schemas() const override { return {output_schema_, dead_schema_}; }

  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext& context) const override;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;

 private:
  /// Where an output column comes from: an input column or a computed value.
  struct Source {
    bool computed = false;
    size_t index = 0;  // input column, or expressions_ entry
  };

  MapOperator(MapConfig config, std::vector<Expression> expressions, Schema output_schema,
              std::vector<Source> sources, Schema dead_schema);

  MapConfig config_;
  std::vector<Expression> expressions_;
  Schema output_schema_;
  std::vector<Source> sources_;
  Schema dead_schema_;
};

}  // namespace sluice
