#include "operators/map/map_operator.h"

#include <fmt/format.h>

#include <algorithm>

#include "operators/dead_letter_port.h"

namespace sluice {

MapOperator::MapOperator(MapConfig config, std::vector<Expression> expressions,
                         Schema output_schema, std::vector<Source> sources, Schema dead_schema)
    : config_(std::move(config)),
      expressions_(std::move(expressions)),
      output_schema_(std::move(output_schema)),
      sources_(std::move(sources)),
      dead_schema_(std::move(dead_schema)) {}

Result<std::unique_ptr<MapOperator>> MapOperator::Build(MapConfig config) {
  if (config.outputs.empty()) {
    return MakeError(ErrorCode::kSpecMissingKey, "a map needs at least one output", config.name);
  }
  std::vector<Expression> expressions;
  Schema output_schema;
  std::vector<Source> sources;
  if (config.keep_input_fields) {
    output_schema = config.input_schema;
    for (size_t i = 0; i < config.input_schema.size(); ++i) sources.push_back({false, i});
  }
  for (size_t i = 0; i < config.outputs.size(); ++i) {
    const MapOutput& output = config.outputs[i];
    std::string where = fmt::format("{}.outputs[{}]", config.name, i);
    const DataType* type = output.type ? &*output.type : nullptr;
    Result<Expression> expression =
        Expression::CompileValue(output.expression, config.input_schema, nullptr, type);
    if (!expression.ok()) {
      Error error = expression.error();
      error.message = fmt::format("'{}': {}", output.name, error.message);
      error.where = where;
      return error;
    }
    for (size_t j = 0; j < i; ++j) {
      if (config.outputs[j].name == output.name) {
        return MakeError(ErrorCode::kSpecDuplicateName,
                         fmt::format("the output '{}' is defined twice", output.name), where);
      }
    }
    Field field{output.name, expression->result_type()};
    Source source{true, expressions.size()};
    expressions.push_back(std::move(*expression));
    auto same_name = std::find_if(output_schema.begin(), output_schema.end(),
                                  [&](const Field& other) { return other.name == output.name; });
    if (config.keep_input_fields && same_name != output_schema.end()) {
      size_t at = static_cast<size_t>(same_name - output_schema.begin());
      *same_name = std::move(field);
      sources[at] = source;
    } else {
      output_schema.push_back(std::move(field));
      sources.push_back(source);
    }
  }
  Result<Schema> dead_schema = DeadLetterSchema(config.input_schema);
  if (!dead_schema.ok()) {
    Error error = dead_schema.error();
    error.where = config.name;
    return error;
  }
  return std::unique_ptr<MapOperator>(new MapOperator(std::move(config), std::move(expressions),
                                                      std::move(output_schema), std::move(sources),
                                                      std::move(*dead_schema)));
}

Result<std::unique_ptr<OperatorState>> MapOperator::CreateState(const OperatorContext&) const {
  return std::unique_ptr<OperatorState>(std::make_unique<MapState>());
}

Status MapOperator::Process(OperatorState& state, Batch& input, Emitter& out) const {
  size_t rows = input.num_rows();
  if (rows == 0) return {};
  std::vector<Column> computed;
  computed.reserve(expressions_.size());
  // The first failing output of each row names the row's error.
  std::vector<RowError> errors;
  std::vector<ValueFailure> failures;
  for (size_t i = 0; i < expressions_.size(); ++i) {
    computed.emplace_back(expressions_[i].result_type());
    failures.clear();
    expressions_[i].EvaluateInto(input, computed.back(), failures);
    for (const ValueFailure& failure : failures) {
      errors.push_back({failure.row, ErrorCode::kRecordExpressionFailed,
                        fmt::format("output '{}' = {}: {}", config_.outputs[i].name,
                                    expressions_[i].text(), failure.reason)});
    }
  }
  std::vector<uint8_t> keep;
  if (!errors.empty()) {
    std::stable_sort(errors.begin(), errors.end(),
                     [](const RowError& a, const RowError& b) { return a.row < b.row; });
    errors.erase(std::unique(errors.begin(), errors.end(),
                             [](const RowError& a, const RowError& b) { return a.row == b.row; }),
                 errors.end());
    static_cast<MapState&>(state).rows_failed_.fetch_add(errors.size(), std::memory_order_relaxed);
    out.Emit(1, DeadLetterBatch(input, dead_schema_, errors));
    keep.assign(rows, 1);
    for (const RowError& error : errors) keep[error.row] = 0;
  }
  if (errors.size() == rows) return {};
  Batch mapped(output_schema_);
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& source = sources_[i];
    mapped.column(i) =
        source.computed ? std::move(computed[source.index]) : std::move(input.column(source.index));
  }
  if (!keep.empty()) mapped.Filter(keep);
  out.Emit(0, std::move(mapped));
  return {};
}

}  // namespace sluice
