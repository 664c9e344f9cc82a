#include "runtime/stream_runtime.h"

#include "sources/stream_fields.h"

namespace sluice {

StreamRuntime::StreamRuntime(uint32_t index, const StreamSpec& stream, const TableSpec& table,
                             std::string dead_letter_table)
    : index_(index),
      stream_(stream),
      table_(table.name),
      dead_letter_table_(std::move(dead_letter_table)),
      fields_(StreamDecodeFields(stream, table)),
      options_(StreamDecodeOptions(stream)),
      schema_(SchemaOf(fields_)) {
  if (stream.NeedsValidation()) {
    // The loader has checked the rules against the fields, so building cannot fail here.
    validate_.emplace(ValidateOperator::Build(stream, schema_).value());
    validate_state_ = validate_->CreateState();
  }
}

void StreamRuntime::Validate(Batch& batch, std::vector<RowFailure>& failed) {
  if (!validate_) return;
  std::lock_guard lock(validate_mutex_);
  validate_->Process(batch, failed, *validate_state_);
}

std::unique_ptr<JsonRecordDecoder> StreamRuntime::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto decoder = std::move(idle_.back());
      idle_.pop_back();
      return decoder;
    }
  }
  return std::make_unique<JsonRecordDecoder>(fields_, options_);
}

void StreamRuntime::Release(std::unique_ptr<JsonRecordDecoder> decoder) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(decoder));
}

}  // namespace sluice
