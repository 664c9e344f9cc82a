#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// UTF-8 text helpers shared by expressions (length, lower, upper) and the validate operator
// (max_length, lowercase). Invalid UTF-8 never fails: a byte that starts no valid sequence
// counts as one character and is copied unchanged.

/// Number of code points in `text`.
size_t Utf8Length(std::string_view text);

/// Byte offset reached from byte `at` after `count` code points (at most text.size()).
size_t Utf8Advance(std::string_view text, size_t at, size_t count);

/// `text` with every letter mapped to lower (or upper) case by the C.UTF-8 locale's Unicode
/// tables (so "ÉCOLE" becomes "école"), written to `out` (cleared first).
void Utf8Lower(std::string_view text, std::string& out);
void Utf8Upper(std::string_view text, std::string& out);

}  // namespace sluice
