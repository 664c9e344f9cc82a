#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

/// Turns the key fields of a row into bytes: the same key always gives the same bytes, on any
/// machine and across runs, so its hash (KeyHash) picks the same key group for partitioning,
/// state lookup and restoring a checkpoint on a different parallelism.
///
/// Encoding per key field: one byte null flag, then the fixed-width value, or a 4-byte length and
/// the bytes for strings. Keys of nested types (Array, Map, Tuple) are refused at Make.
class KeyEncoder {
 public:
  /// `key_fields` name fields of `schema`; an unknown or nested field is a kSpecInvalidValue error.
  static Result<KeyEncoder> Make(const Schema& schema, const std::vector<std::string>& key_fields);

  /// Replaces `out` with the key of `row`.
  void Encode(const Batch& batch, size_t row, std::string& out) const;

  const std::vector<size_t>& key_columns() const { return columns_; }

 private:
  struct KeyColumn {
    size_t index;
    size_t fixed_width;  // 0 for strings
  };
  std::vector<size_t> columns_;
  std::vector<KeyColumn> parts_;
};

}  // namespace sluice
