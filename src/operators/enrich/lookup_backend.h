#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice {

/// One row of a dimension table: its key parts and its value columns as text (nullopt: NULL).
struct LookupRow {
  std::vector<std::string> key;
  std::vector<std::optional<std::string>> values;
};

/// A dimension table the enrich operator reads rows from by key.
///
/// Contract: Lookup may be called from several threads at once (the operator runs up to its
/// in-flight limit concurrently). `keys` holds distinct keys, each with one text part per key
/// column; the answer holds the rows found, in any order, possibly rows for other keys too
/// (composite keys are matched by the caller). Keys not found are simply absent. A lookup slower
/// than `timeout_ms` should be abandoned by the backend (kLookupTimeout); other failures are
/// kLookupFailed.
class LookupBackend {
 public:
  virtual ~LookupBackend() = default;
  virtual Result<std::vector<LookupRow>> Lookup(const std::vector<std::vector<std::string>>& keys,
                                                int64_t timeout_ms) = 0;
};

/// The table and columns a backend reads.
struct LookupTable {
  std::string table;                       // may be schema- or database-qualified: a.b
  std::vector<std::string> key_columns;    // compared with the key parts, in order
  std::vector<std::string> value_columns;  // returned in this order
};

}  // namespace sluice
