#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/batch.h"

namespace sluice {

// The Arrow C data interface (a published, stable ABI; see the Arrow format documentation).
// Declared here because no Arrow library is packaged for Debian 12.
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  ArrowSchema** children;
  ArrowSchema* dictionary;
  void (*release)(ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  ArrowArray** children;
  ArrowArray* dictionary;
  void (*release)(ArrowArray*);
  void* private_data;
};

/// A Batch described as one Arrow struct array, for handing to the embedded engine without
/// copying or serializing rows: the Arrow buffers point into the batch's own column buffers.
/// Only values Arrow lays out differently (DateTime64 of an unusual precision) are converted.
/// The batch must outlive this object and stay unchanged while it is in use.
class ArrowBatchExport {
 public:
  explicit ArrowBatchExport(const Batch& batch);
  ArrowBatchExport(const ArrowBatchExport&) = delete;
  ArrowBatchExport& operator=(const ArrowBatchExport&) = delete;

  ArrowSchema* schema() { return &nodes_.front().schema; }
  ArrowArray* array() { return &nodes_.front().array; }

 private:
  /// One Arrow schema + array pair with the storage its pointers refer to.
  struct Node {
    ArrowSchema schema{};
    ArrowArray array{};
    std::string format;
    std::string name;
    std::vector<const void*> buffers;
    std::vector<ArrowSchema*> child_schemas;
    std::vector<ArrowArray*> child_arrays;
  };

  Node& AddColumn(const Column& column, const std::string& name);
  Node& NewNode(std::string format, std::string name, int64_t length, int64_t null_count,
                bool nullable);
  const void* ConvertedTicks(const Column& column, int unit_digits);

  // Deques keep node and buffer addresses stable while the tree grows.
  std::deque<Node> nodes_;
  std::deque<std::vector<int64_t>> converted_;
};

}  // namespace sluice
