#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"

namespace sluice {

/// One column a record decoder fills: its name and type in the Batch, where its value sits in
/// the record, and whether a record without it is rejected.
struct DecodeField {
  std::string name;
  DataType type;
  /// JSON: the keys leading to the value ({"context", "device", "type"}); CSV: the header column
  /// is the path joined with '.'. Empty means {name}.
  std::vector<std::string> path;
  /// A missing value (or, for a non-nullable type, a null one) is kRecordMissingField instead of
  /// NULL or the type's zero value.
  bool required = false;
  /// Text used when the value is missing (or null for a non-nullable type), converted with the
  /// column's text rules (lenient, like a CSV field). Unset: NULL or the type's zero value.
  std::optional<std::string> default_value;
};

/// How a decoder treats values of another kind than their column's and keys no field reads.
struct DecodeOptions {
  /// Values must already be of their column's kind: no text into numbers, Bool or dates (JSON),
  /// no number or boolean into text, no 0/1 into Bool, no day numbers or epochs into dates.
  /// Rules per decoder: src/format/README.md.
  bool strict = false;
  /// Name of a String field that is not read from the record but receives the record's unknown
  /// top-level keys (JSON) or header columns (CSV) as one JSON object text, "{}" when there are
  /// none. Empty: unknown keys are ignored.
  std::string unknown_fields_column;
};

/// The Batch schema of `fields`: their (name, type) in order.
Schema SchemaOf(const std::vector<DecodeField>& fields);

/// Index of the field named `name` (the unknown-fields column), -1 when `name` is empty. Throws
/// SetupError when no field has that name or its type is not String.
int32_t UnknownFieldsColumnIndex(const std::vector<DecodeField>& fields, std::string_view name);

}  // namespace sluice
