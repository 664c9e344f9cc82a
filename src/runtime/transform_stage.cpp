#include "runtime/transform_stage.h"

#include "base/clock.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sinks/kafka/kafka_sink.h"

namespace sluice {
namespace {

/// Passes port 0 on and rewrites the inner operator's failed rows as dead-letter rows.
class DeadLetterEmitter final : public Emitter {
 public:
  DeadLetterEmitter(Emitter& out, const std::string& source, const std::string& stream)
      : out_(out), source_(source), stream_(stream) {}

  void Emit(size_t port, Batch batch) override {
    if (port != 1) {
      out_.Emit(port, std::move(batch));
      return;
    }
    // The last two columns are _error_code and _error_message; the others are the record.
    size_t fields = batch.num_columns() - 2;
    Schema record_schema(batch.schema().begin(), batch.schema().begin() + fields);
    Batch record(record_schema);
    for (size_t i = 0; i < fields; ++i) record.column(i) = batch.column(i);
    const Column& codes = batch.column(fields);
    const Column& messages = batch.column(fields + 1);
    Batch dead(DeadLetterSchema());
    int64_t now = WallClockMillis();
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      DeadLetter letter;
      letter.received_at_ms = now;
      letter.source = source_;
      letter.raw = RowToJson(record, row);
      letter.error.code = static_cast<ErrorCode>(codes.FixedAt<uint16_t>(row));
      letter.error.message = std::string(messages.StringAt(row));
      AppendDeadLetter(letter, stream_, dead);
    }
    out_.Emit(1, std::move(dead));
  }

 private:
  Emitter& out_;
  const std::string& source_;
  const std::string& stream_;
};

}  // namespace

TransformStage::TransformStage(std::shared_ptr<const Operator> inner, std::string stream)
    : inner_(std::move(inner)), stream_(std::move(stream)) {}

std::vector<Schema> TransformStage::output_schemas() const {
  return {inner_->output_schemas()[0], DeadLetterSchema()};
}

Result<std::unique_ptr<OperatorState>> TransformStage::CreateState(
    const OperatorContext& context) const {
  return inner_->CreateState(context);
}

Status TransformStage::Process(OperatorState& state, Batch& input, Emitter& out) const {
  DeadLetterEmitter emitter(out, inner_->name(), stream_);
  return inner_->Process(state, input, emitter);
}

Status TransformStage::OnEndOfInput(OperatorState& state, Emitter& out) const {
  DeadLetterEmitter emitter(out, inner_->name(), stream_);
  return inner_->OnEndOfInput(state, emitter);
}

}  // namespace sluice
