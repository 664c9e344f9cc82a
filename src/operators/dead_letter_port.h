#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

// The dead-letter side output shared by the map and enrich operators: port 1 carries the rows
// that failed, with the operator's input fields followed by `_error_code` (UInt16, a number of
// base/error_codes.h) and `_error_message` (String), so the dead-letter sink can store why.

/// The dead-letter port's schema for `input`; an error when `input` already uses one of the two
/// error field names.
Result<Schema> DeadLetterSchema(const Schema& input);

/// One failed row: its index in the input batch, the code and the message.
struct RowError {
  size_t row = 0;
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

/// The failed rows of `input` (one RowError each, in row order, no row twice) as a batch of
/// `schema` (from DeadLetterSchema).
Batch DeadLetterBatch(const Batch& input, const Schema& schema, const std::vector<RowError>& rows);

}  // namespace sluice
