#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

/// Checks one codec of a column's chain, e.g. "ZSTD(3)"; errors are kSpecInvalidValue and name
/// the closest known codec for a misspelling.
Status CheckCodec(std::string_view codec);

/// Checks a data-skipping index type, e.g. "set(100)" or "bloom_filter(0.01)".
Status CheckIndexType(std::string_view type);

/// An engine written as a family name.
struct EngineName {
  std::string family;  // without "Replicated"
  bool replicated = false;
};

/// Parses "SummingMergeTree", "ReplicatedMergeTree" or "MergeTree()"; an unknown family is
/// kSpecInvalidValue with the closest known one.
Result<EngineName> ParseEngineName(std::string_view text);

/// The MergeTree families sluice creates tables with.
const std::vector<std::string>& EngineFamilies();

/// A setting value as SQL: numbers and true/false as written when the YAML scalar was plain,
/// anything else single-quoted with ' and \ escaped.
std::string SettingLiteral(std::string_view value, bool plain_scalar);

/// "(a, b)" without its outer parentheses when they enclose the whole text; "tuple()" is empty.
std::string_view StripTuple(std::string_view text);

/// Splits at commas outside parentheses, brackets and quotes, trimming each part and dropping
/// empty ones: "a, f(b, c)" gives {"a", "f(b, c)"}.
std::vector<std::string> SplitTopLevel(std::string_view text);

/// `text` is an integer, e.g. "-12"; `value` receives it.
bool ParseInteger(std::string_view text, int64_t& value);

}  // namespace sluice
