#include "expression/utf8.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>

namespace sluice {
namespace {

// Decodes the code point at `at`, advancing `at`; -1 for a byte that starts no valid sequence.
int32_t DecodeAt(std::string_view text, size_t& at) {
  unsigned char lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) {
    ++at;
    return lead;
  }
  size_t length = lead >= 0xF0 && lead < 0xF5 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (length == 0 || at + length > text.size()) {
    ++at;
    return -1;
  }
  int32_t code = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    unsigned char next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xC0) != 0x80) {
      ++at;
      return -1;
    }
    code = (code << 6) | (next & 0x3F);
  }
  at += length;
  return code;
}

void Encode(int32_t code, std::string& out) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// The process locale may be "C", whose case tables cover ASCII only; C.UTF-8 is built into
// glibc, so it is always there. Created once and never freed (it lives as long as the process).
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return locale;
}

template <typename Map>
void MapCase(std::string_view text, std::string& out, Map map) {
  out.clear();
  out.reserve(text.size());
  locale_t locale = Utf8Locale();
  size_t at = 0;
  while (at < text.size()) {
    unsigned char byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x80) {
      out += static_cast<char>(map(static_cast<wint_t>(byte), locale, true));
      ++at;
      continue;
    }
    size_t start = at;
    int32_t code = DecodeAt(text, at);
    if (code < 0) {
      out.append(text.substr(start, at - start));
      continue;
    }
    Encode(static_cast<int32_t>(map(static_cast<wint_t>(code), locale, false)), out);
  }
}

}  // namespace

size_t Utf8Length(std::string_view text) {
  size_t count = 0;
  size_t at = 0;
  while (at < text.size()) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
    } else {
      DecodeAt(text, at);
    }
    ++count;
  }
  return count;
}

size_t Utf8Advance(std::string_view text, size_t at, size_t count) {
  for (size_t i = 0; i < count && at < text.size(); ++i) DecodeAt(text, at);
  return std::min(at, text.size());
}

void Utf8Lower(std::string_view text, std::string& out) {
  MapCase(text, out, [](wint_t code, locale_t locale, bool ascii) -> wint_t {
    if (ascii || locale == static_cast<locale_t>(0)) {
      return code >= 'A' && code <= 'Z' ? code + ('a' - 'A') : code;
    }
    return towlower_l(code, locale);
  });
}

void Utf8Upper(std::string_view text, std::string& out) {
  MapCase(text, out, [](wint_t code, locale_t locale, bool ascii) -> wint_t {
    if (ascii || locale == static_cast<locale_t>(0)) {
      return code >= 'a' && code <= 'z' ? code - ('a' - 'A') : code;
    }
    return towupper_l(code, locale);
  });
}

}  // namespace sluice
