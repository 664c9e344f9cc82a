#pragma once

#include <simdjson.h>

#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/column.h"

namespace sluice {

// Internal to the format module (it exposes simdjson): converts one On-Demand JSON value into
// one row of a column of any type, recursing into Array, Map and Tuple. Used by the JSON decoder
// for every field and by the CSV decoder for fields holding a nested type.

/// Appends `value` to `column`. A JSON null becomes NULL (nullable) or the zero value. On failure
/// the column may hold a partial row (the caller truncates) and the Error's `where` is the path
/// below the column, e.g. "[3]" or "[\"key\"].name". `strict`: see DecodeOptions::strict.
Status DecodeJsonValue(simdjson::ondemand::value& value, Column& column,
                       std::vector<std::string_view>& key_scratch, bool strict);

/// The value's JSON text as written: the whole object or array, a string with its quotes.
Result<std::string_view> RawJsonText(simdjson::ondemand::value& value);

/// The message for a simdjson error, as a kRecordMalformed Error.
Error MalformedJson(simdjson::error_code code);

/// kRecordMalformed when the keys in [begin, keys.end()) hold a duplicate; drops them either way.
Status CheckDuplicateKeys(std::vector<std::string_view>& keys, size_t begin);

/// Prepends `prefix` to the Error's `where`.
Error WithPathPrefix(Error error, std::string_view prefix);

/// The raw JSON token without the whitespace simdjson may leave after it.
std::string_view TrimJsonToken(std::string_view token);

}  // namespace sluice
