#include "warehouse/identifier.h"

#include <fmt/format.h>

namespace sluice {
namespace {

constexpr size_t kMaxIdentifierLength = 128;

bool IsIdentifierStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || (c >= '0' && c <= '9');
}

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

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  if (!IsIdentifierStart(name.front())) return false;
  for (char c : name) {
    if (!IsIdentifierChar(c)) return false;
  }
  return true;
}

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
