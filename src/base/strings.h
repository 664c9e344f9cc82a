#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Levenshtein distance, for "did you mean" suggestions on short names.
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string SuggestClosest(std::string_view word, std::span<const std::string_view> candidates);
std::string SuggestClosest(std::string_view word, const std::vector<std::string>& candidates);

std::string_view Trim(std::string_view text);
std::vector<std::string> SplitLines(std::string_view text);
/// The fields of one line between `separator`s (tab by default), empty ones included.
std::vector<std::string_view> SplitFields(std::string_view line, char separator = '\t');
/// The whole of `text` as a decimal unsigned number; false for anything else.
bool ParseUint64(std::string_view text, uint64_t& value);
bool StartsWith(std::string_view text, std::string_view prefix);
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

/// For one field of a tab-separated line in sluice's own files: tab, newline and percent are
/// written as %09, %0A, %25, so that a field may hold any byte.
std::string EscapeField(std::string_view text);
std::string UnescapeField(std::string_view text);

/// Longest name sluice accepts for anything it writes into SQL.
inline constexpr size_t kMaxIdentifierLength = 128;

/// `^[A-Za-z_][A-Za-z0-9_]*$` and at most kMaxIdentifierLength characters: the names sluice
/// accepts for databases, tables, columns and the like, safe to write into SQL unquoted.
bool IsIdentifier(std::string_view name);

}  // namespace sluice
