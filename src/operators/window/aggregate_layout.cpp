#include "operators/window/aggregate_layout.h"

#include <algorithm>
#include <new>

namespace sluice {

Result<std::shared_ptr<const AggregateLayout>> AggregateLayout::Make(
    const Schema& schema, const std::vector<AggregateCall>& calls) {
  auto layout = std::make_shared<AggregateLayout>();
  layout->calls_ = calls;
  size_t offset = 0;
  for (const AggregateCall& call : calls) {
    const DataType* input_type = nullptr;
    size_t column = SIZE_MAX;
    if (!call.field.empty()) {
      auto it = std::find_if(schema.begin(), schema.end(),
                             [&](const Field& field) { return field.name == call.field; });
      if (it == schema.end()) {
        return MakeError(ErrorCode::kSpecUnknownReference,
                         "aggregate '" + call.output + "' reads field '" + call.field +
                             "', which is not a field of the input");
      }
      column = static_cast<size_t>(it - schema.begin());
      input_type = &it->type;
    }
    Result<std::unique_ptr<AggregateFunction>> function = MakeAggregateFunction(call, input_type);
    if (!function.ok()) return function.error();
    size_t alignment = std::max<size_t>((*function)->state_alignment(), 1);
    offset = (offset + alignment - 1) / alignment * alignment;
    layout->offsets_.push_back(offset);
    offset += (*function)->state_size();
    layout->block_alignment_ = std::max(layout->block_alignment_, alignment);
    layout->input_columns_.push_back(column);
    layout->functions_.push_back(std::move(function).value());
  }
  layout->block_size_ = std::max<size_t>(offset, 1);
  return std::shared_ptr<const AggregateLayout>(std::move(layout));
}

void AggregateLayout::Create(char* block) const {
  for (size_t i = 0; i < functions_.size(); ++i) functions_[i]->Create(block + offsets_[i]);
}

void AggregateLayout::Destroy(char* block) const noexcept {
  for (size_t i = 0; i < functions_.size(); ++i) functions_[i]->Destroy(block + offsets_[i]);
}

void AggregateLayout::Merge(char* block, const char* other) const {
  for (size_t i = 0; i < functions_.size(); ++i) {
    functions_[i]->Merge(block + offsets_[i], other + offsets_[i]);
  }
}

void AggregateLayout::Serialize(const char* block, std::string& out) const {
  for (size_t i = 0; i < functions_.size(); ++i) functions_[i]->Serialize(block + offsets_[i], out);
}

Status AggregateLayout::Deserialize(char* block, std::string_view& in) const {
  for (size_t i = 0; i < functions_.size(); ++i) {
    Status status = functions_[i]->Deserialize(block + offsets_[i], in);
    if (!status.ok()) return status;
  }
  return {};
}

size_t AggregateLayout::HeapBytes(const char* block) const {
  size_t bytes = 0;
  for (size_t i = 0; i < functions_.size(); ++i) {
    bytes += functions_[i]->HeapBytes(block + offsets_[i]);
  }
  return bytes;
}

void StateArena::AlignedDelete::operator()(char* chunk) const noexcept {
  ::operator delete[](chunk, std::align_val_t(alignment));
}

StateArena::StateArena(std::shared_ptr<const AggregateLayout> layout) : layout_(std::move(layout)) {
  size_t alignment = layout_->block_alignment();
  stride_ = (layout_->block_size() + alignment - 1) / alignment * alignment;
  chunk_size_ = std::max<size_t>(stride_ * 64, 64 * 1024) / stride_ * stride_;
  used_in_last_ = chunk_size_;
}

char* StateArena::New() {
  char* block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {
    if (used_in_last_ + stride_ > chunk_size_) {
      size_t alignment = layout_->block_alignment();
      chunks_.emplace_back(
          static_cast<char*>(::operator new[](chunk_size_, std::align_val_t(alignment))),
          AlignedDelete{alignment});
      used_in_last_ = 0;
    }
    block = chunks_.back().get() + used_in_last_;
    used_in_last_ += stride_;
  }
  layout_->Create(block);
  ++live_;
  return block;
}

void StateArena::Delete(char* block) noexcept {
  layout_->Destroy(block);
  free_.push_back(block);
  --live_;
}

}  // namespace sluice
