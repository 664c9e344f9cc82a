#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// How records follow each other in a request body.
enum class RecordFraming {
  kJson,    // one JSON object, or a JSON array whose elements are the records
  kNdjson,  // one record per line; blank lines are skipped
};

/// Cuts a body into its records, each a view into `body` (so each can be parsed in place, with
/// the body's padding readable after it). Array elements that are not objects are still records
/// (the decoder refuses them one by one). False, with `problem` set, when the body as a whole
/// cannot be read: empty, not JSON, a broken array, text after the array.
bool SplitRecords(RecordFraming framing, const simdjson::padded_string& body,
                  std::vector<std::string_view>& records, std::string& problem);

}  // namespace sluice
