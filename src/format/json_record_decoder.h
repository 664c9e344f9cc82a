#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/batch.h"
#include "format/decode_field.h"

namespace sluice {

/// Decodes JSON objects into rows of a Batch whose schema is the fields' (name, type) in order.
///
/// Each object is read once with simdjson On-Demand: every key is looked up in a tree of the
/// fields' paths, so the cost does not grow with a find per column. Not thread-safe: one
/// decoder per thread (it owns a reusable parser). Conversion rules: src/format/README.md.
class JsonRecordDecoder {
 public:
  /// Throws SetupError when two fields share a path, one path is a prefix of another, or
  /// `options.unknown_fields_column` is not a String field.
  explicit JsonRecordDecoder(std::vector<DecodeField> fields, DecodeOptions options = {});
  ~JsonRecordDecoder();
  JsonRecordDecoder(JsonRecordDecoder&&) noexcept;
  JsonRecordDecoder& operator=(JsonRecordDecoder&&) noexcept;

  const Schema& schema() const;

  /// Appends one row for the JSON object in [data, data+length). simdjson reads up to
  /// SIMDJSON_PADDING (64) bytes past the record: `capacity` is the readable size from `data`
  /// (callers parse lines in place inside one padded buffer); with less, the record is copied.
  /// On failure the batch is left exactly as before and the Error has a kRecord* code, `where`
  /// = the field path (e.g. "context.device.type" or "tags[3]") and a message.
  Status Decode(const char* data, size_t length, size_t capacity, Batch& batch);
  /// The same for a record without padding (copied into the decoder's padded buffer).
  Status Decode(std::string_view record, Batch& batch);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
