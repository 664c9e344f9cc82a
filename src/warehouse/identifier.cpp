#include "warehouse/identifier.h"

#include <fmt/format.h>

namespace sluice {
namespace {

// ClickHouse's lexer reads the same backslash escapes inside `...` and '...', so one escaper
// serves both; `quote` is the delimiter that must not end the token early.
std::string Quote(std::string_view text, char quote) {
  std::string out;
  out.reserve(text.size() + 2);
  out += quote;
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c == quote) {
          out += '\\';
          out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02X}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) {
  return Quote(name, '`');
}

std::string QuoteString(std::string_view text) {
  return Quote(text, '\'');
}

std::string QualifiedName(std::string_view database, std::string_view name) {
  return QuoteIdentifier(database) + "." + QuoteIdentifier(name);
}

}  // namespace sluice
