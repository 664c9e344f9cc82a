#include "runtime/validate_stage.h"

#include "base/clock.h"
#include "sinks/dead_letter/dead_letter_sink.h"

namespace sluice {
namespace {

struct ValidateStageState : OperatorState {
  explicit ValidateStageState(std::unique_ptr<ValidateState> state) : validate(std::move(state)) {}
  std::unique_ptr<ValidateState> validate;
};

}  // namespace

ValidateStage::ValidateStage(std::string name, std::string stream, Schema schema,
                             ValidateOperator validate, RecordOf record_of)
    : name_(std::move(name)),
      stream_(std::move(stream)),
      schema_(std::move(schema)),
      validate_(std::move(validate)),
      record_of_(std::move(record_of)) {}

std::vector<Schema> ValidateStage::output_schemas() const {
  if (!record_of_) return {schema_};
  return {schema_, DeadLetterSchema()};
}

Result<std::unique_ptr<OperatorState>> ValidateStage::CreateState(const OperatorContext&) const {
  return std::unique_ptr<OperatorState>(new ValidateStageState(validate_.CreateState()));
}

Status ValidateStage::Process(OperatorState& state, Batch& input, Emitter& out) const {
  auto& own = static_cast<ValidateStageState&>(state);
  std::vector<RowFailure> failed;
  validate_.Process(input, failed, *own.validate);
  if (!failed.empty() && record_of_) {
    Batch dead(DeadLetterSchema());
    for (RowFailure& failure : failed) {
      auto [raw, location] = record_of_(failure.row);
      AppendDeadLetter(
          DeadLetter{WallClockMillis(), name_, location, raw, std::move(failure.error)}, stream_,
          dead);
    }
    out.Emit(1, std::move(dead));
  }
  out.Emit(0, std::move(input));
  return {};
}

}  // namespace sluice
