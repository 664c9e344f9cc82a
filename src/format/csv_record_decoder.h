#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/batch.h"
#include "format/decode_field.h"

namespace sluice {

/// One record cut from CSV text by CsvRecordDecoder::NextRecord.
struct CsvSplit {
  std::string_view record;  // without its line terminator (LF or CRLF)
  size_t consumed = 0;      // bytes of `text` the record and its terminator take
  size_t lines = 0;         // physical lines the record spans (quoted fields may hold newlines)
  bool terminated = false;  // a line break ended it; false when it runs to the end of `text`
  bool open_quote = false;  // `text` ended inside a quoted field: more input is needed
};

/// Splits CSV text into records (RFC 4180: quoted fields with "" escapes and embedded line
/// breaks, a configurable delimiter, LF or CRLF) and decodes each into one row of a Batch whose
/// schema is the fields' (name, type) in order. Not thread-safe: one decoder per thread.
/// Conversion rules: src/format/README.md.
class CsvRecordDecoder {
 public:
  /// `header` is the input's column names in order, matched against each field's path (or
  /// name); columns no field reads are skipped (or kept, see DecodeOptions). An empty header
  /// means the columns are the fields in order (without the unknown-fields column). Throws
  /// SetupError for a header naming a column twice or a bad unknown-fields column.
  CsvRecordDecoder(std::vector<DecodeField> fields, char delimiter = ',',
                   std::vector<std::string> header = {}, DecodeOptions options = {});
  ~CsvRecordDecoder();
  CsvRecordDecoder(CsvRecordDecoder&&) noexcept;
  CsvRecordDecoder& operator=(CsvRecordDecoder&&) noexcept;

  const Schema& schema() const;

  /// Appends one row for `record` (one record from NextRecord; a trailing line break is
  /// ignored). On failure the batch is left exactly as before and the Error has a kRecord*
  /// code and `where` = the field name (plus a path inside it for nested types).
  Status Decode(std::string_view record, Batch& batch);

  /// The first record of `text`, which must start at a record boundary.
  static CsvSplit NextRecord(std::string_view text, char delimiter = ',');

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
