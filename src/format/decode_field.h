#pragma once

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
};

/// The Batch schema of `fields`: their (name, type) in order.
Schema SchemaOf(const std::vector<DecodeField>& fields);

}  // namespace sluice
