#pragma once

#include <string>
#include <string_view>

namespace sluice {

/// The name in backticks, with backticks, backslashes and control characters escaped, so that
/// any text — even one a spec validator missed — stays one identifier in the SQL. Every
/// identifier sluice writes into SQL goes through this.
std::string QuoteIdentifier(std::string_view name);

/// The text as a single-quoted ClickHouse string literal, with quotes, backslashes and control
/// characters escaped.
std::string QuoteString(std::string_view text);

/// `database`.`name`, both quoted.
std::string QualifiedName(std::string_view database, std::string_view name);

}  // namespace sluice
