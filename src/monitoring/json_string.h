#pragma once

#include <string>
#include <string_view>

namespace sluice {

/// `text` as a JSON string literal (RFC 8259): quoted, with quote, backslash and control
/// characters escaped. The dashboard and `sluice status --json` are written with fmt around it.
std::string JsonString(std::string_view text);

/// A number as JSON: shortest round-trip decimal; NaN and infinities, which JSON lacks, as null.
std::string JsonNumber(double value);

}  // namespace sluice
