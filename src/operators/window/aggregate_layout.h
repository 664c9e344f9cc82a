#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "base/result.h"
#include "core/batch.h"

namespace sluice {

/// The aggregates of one key and window laid out in one block: each function's state at its
/// offset, aligned as the function asks. Creates, merges, saves and destroys whole blocks.
class AggregateLayout {
 public:
  /// Builds one function per call, binding its field in `schema`. Errors name the call.
  static Result<std::shared_ptr<const AggregateLayout>> Make(
      const Schema& schema, const std::vector<AggregateCall>& calls);

  size_t block_size() const { return block_size_; }
  size_t block_alignment() const { return block_alignment_; }
  size_t size() const { return functions_.size(); }
  const AggregateFunction& function(size_t index) const { return *functions_[index]; }
  size_t offset(size_t index) const { return offsets_[index]; }
  /// The input column of aggregate `index`, or SIZE_MAX for count.
  size_t input_column(size_t index) const { return input_columns_[index]; }
  const AggregateCall& call(size_t index) const { return calls_[index]; }

  void Create(char* block) const;
  void Destroy(char* block) const noexcept;
  void Merge(char* block, const char* other) const;
  void Serialize(const char* block, std::string& out) const;
  Status Deserialize(char* block, std::string_view& in) const;
  size_t HeapBytes(const char* block) const;

 private:
  std::vector<AggregateCall> calls_;
  std::vector<std::unique_ptr<AggregateFunction>> functions_;
  std::vector<size_t> offsets_;
  std::vector<size_t> input_columns_;
  size_t block_size_ = 0;
  size_t block_alignment_ = alignof(std::max_align_t);
};

/// Fixed-size, aligned blocks for aggregate states, carved from large chunks and recycled through
/// a free list: one allocation per 64 KiB instead of one per key and window.
class StateArena {
 public:
  explicit StateArena(std::shared_ptr<const AggregateLayout> layout);
  StateArena(const StateArena&) = delete;
  StateArena& operator=(const StateArena&) = delete;

  /// A block with every aggregate state created.
  char* New();
  /// Destroys the states and recycles the block.
  void Delete(char* block) noexcept;

  const AggregateLayout& layout() const { return *layout_; }
  /// Bytes of chunks held (live and free blocks).
  size_t ReservedBytes() const { return chunks_.size() * chunk_size_; }
  size_t live_blocks() const { return live_; }

 private:
  struct AlignedDelete {
    void operator()(char* chunk) const noexcept;
    size_t alignment;
  };

  std::shared_ptr<const AggregateLayout> layout_;
  size_t stride_ = 0;
  size_t chunk_size_ = 0;
  std::vector<std::unique_ptr<char[], AlignedDelete>> chunks_;
  size_t used_in_last_ = 0;
  std::vector<char*> free_;
  size_t live_ = 0;
};

}  // namespace sluice
