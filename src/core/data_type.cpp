#include "core/data_type.h"

#include <fmt/format.h>

#include <cctype>

#include "base/strings.h"

namespace sluice {
namespace {

struct Family {
  std::string_view name;
  TypeKind kind;
};

// Plain families take no arguments; the rest are parsed by ParseFamilyArguments.
constexpr Family kPlainFamilies[] = {
    {"Int8", TypeKind::kInt8},       {"Int16", TypeKind::kInt16},   {"Int32", TypeKind::kInt32},
    {"Int64", TypeKind::kInt64},     {"UInt8", TypeKind::kUInt8},   {"UInt16", TypeKind::kUInt16},
    {"UInt32", TypeKind::kUInt32},   {"UInt64", TypeKind::kUInt64}, {"Float32", TypeKind::kFloat32},
    {"Float64", TypeKind::kFloat64}, {"Bool", TypeKind::kBool},     {"String", TypeKind::kString},
    {"UUID", TypeKind::kUuid},       {"Date", TypeKind::kDate},     {"Date32", TypeKind::kDate32},
};

constexpr std::string_view kFamiliesWithArguments[] = {
    "DateTime",    "DateTime64", "Decimal",        "Decimal32", "Decimal64", "Decimal128",
    "FixedString", "Nullable",   "LowCardinality", "Array",     "Map",       "Tuple",
};

/// Recursive-descent parser over a type name. Positions in errors are 1-based columns.
class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Result<DataType> ParseAll() {
    auto type = ParseType();
    if (!type.ok()) return type;
    SkipSpaces();
    if (pos_ != text_.size()) return Fail(fmt::format("unexpected '{}'", text_.substr(pos_)));
    return type;
  }

 private:
  Error Fail(std::string message) const {
    return MakeError(
        ErrorCode::kSpecInvalidType,
        fmt::format("invalid type '{}': {} (at character {})", text_, message, pos_ + 1));
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool Consume(char c) {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::string_view Identifier() {
    SkipSpaces();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  Result<int64_t> Number() {
    SkipSpaces();
    size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (start == pos_) return Fail("expected a number");
    if (pos_ - start > 9) return Fail("number too large");
    return static_cast<int64_t>(std::stoll(std::string(text_.substr(start, pos_ - start))));
  }

  Result<std::string> Quoted() {
    SkipSpaces();
    if (pos_ >= text_.size() || text_[pos_] != '\'') return Fail("expected a quoted string");
    ++pos_;
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != '\'') {
      if (!std::isalnum(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '/' &&
          text_[pos_] != '_' && text_[pos_] != '-' && text_[pos_] != '+') {
        return Fail("time zone names hold only letters, digits and / _ - +");
      }
      value += text_[pos_++];
    }
    if (pos_ >= text_.size()) return Fail("unterminated quoted string");
    ++pos_;
    return value;
  }

  Status Expect(char c) {
    if (!Consume(c)) return Fail(fmt::format("expected '{}'", c));
    return {};
  }

  Result<DataType> ParseType() {
    size_t family_start = pos_;
    std::string_view family = Identifier();
    if (family.empty()) return Fail("expected a type name");
    for (const Family& plain : kPlainFamilies) {
      if (plain.name == family) {
        DataType type;
        type.kind = plain.kind;
        return type;
      }
    }
    for (std::string_view name : kFamiliesWithArguments) {
      if (name == family) return ParseFamilyArguments(family);
    }
    pos_ = family_start;
    std::string suggestion = SuggestClosest(family, DataTypeFamilies());
    return Fail(
        fmt::format("unknown type '{}'{}", family,
                    suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion)));
  }

  Result<DataType> ParseFamilyArguments(std::string_view family) {
    DataType type;
    if (family == "DateTime") {
      type.kind = TypeKind::kDateTime;
      if (Consume('(')) {
        auto zone = Quoted();
        if (!zone.ok()) return zone.error();
        type.timezone = *zone;
        if (auto s = Expect(')'); !s.ok()) return s.error();
      }
      return type;
    }
    if (family == "DateTime64") {
      type.kind = TypeKind::kDateTime64;
      if (auto s = Expect('('); !s.ok()) return s.error();
      auto precision = Number();
      if (!precision.ok()) return precision.error();
      if (*precision > 9) return Fail("DateTime64 precision must be 0 to 9");
      type.precision = static_cast<int>(*precision);
      if (Consume(',')) {
        auto zone = Quoted();
        if (!zone.ok()) return zone.error();
        type.timezone = *zone;
      }
      if (auto s = Expect(')'); !s.ok()) return s.error();
      return type;
    }
    if (family == "FixedString") {
      type.kind = TypeKind::kFixedString;
      if (auto s = Expect('('); !s.ok()) return s.error();
      auto size = Number();
      if (!size.ok()) return size.error();
      if (*size < 1 || *size > 65535) return Fail("FixedString size must be 1 to 65535");
      type.fixed_size = static_cast<uint32_t>(*size);
      if (auto s = Expect(')'); !s.ok()) return s.error();
      return type;
    }
    if (StartsWith(family, "Decimal")) return ParseDecimal(family);
    if (family == "Tuple") return ParseTuple();

    type.kind = family == "Nullable"         ? TypeKind::kNullable
                : family == "LowCardinality" ? TypeKind::kLowCardinality
                : family == "Array"          ? TypeKind::kArray
                                             : TypeKind::kMap;
    if (auto s = Expect('('); !s.ok()) return s.error();
    size_t arity = type.kind == TypeKind::kMap ? 2 : 1;
    for (size_t i = 0; i < arity; ++i) {
      if (i > 0) {
        if (auto s = Expect(','); !s.ok()) return s.error();
      }
      auto child = ParseType();
      if (!child.ok()) return child;
      type.children.push_back(std::move(child).value());
    }
    if (auto s = Expect(')'); !s.ok()) return s.error();
    return CheckWrapper(std::move(type));
  }

  Result<DataType> ParseDecimal(std::string_view family) {
    DataType type;
    type.kind = TypeKind::kDecimal;
    if (auto s = Expect('('); !s.ok()) return s.error();
    auto first = Number();
    if (!first.ok()) return first.error();
    if (family == "Decimal") {
      type.precision = static_cast<int>(*first);
      if (Consume(',')) {
        auto scale = Number();
        if (!scale.ok()) return scale.error();
        type.scale = static_cast<int>(*scale);
      }
    } else {
      type.precision = family == "Decimal32" ? 9 : family == "Decimal64" ? 18 : 38;
      type.scale = static_cast<int>(*first);
    }
    if (auto s = Expect(')'); !s.ok()) return s.error();
    if (type.precision < 1 || type.precision > 38) {
      return Fail("Decimal precision must be 1 to 38");
    }
    if (type.scale > type.precision) return Fail("Decimal scale must not exceed its precision");
    return type;
  }

  Result<DataType> ParseTuple() {
    DataType type;
    type.kind = TypeKind::kTuple;
    if (auto s = Expect('('); !s.ok()) return s.error();
    do {
      // A named element is "name Type"; peek for two identifiers in a row.
      size_t start = pos_;
      std::string_view first = Identifier();
      SkipSpaces();
      bool named = !first.empty() && pos_ < text_.size() &&
                   (std::isalpha(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_');
      if (named) {
        type.element_names.emplace_back(first);
      } else {
        pos_ = start;
      }
      auto element = ParseType();
      if (!element.ok()) return element;
      type.children.push_back(std::move(element).value());
    } while (Consume(','));
    if (auto s = Expect(')'); !s.ok()) return s.error();
    if (!type.element_names.empty() && type.element_names.size() != type.children.size()) {
      return Fail("either every Tuple element is named or none is");
    }
    return type;
  }

  Result<DataType> CheckWrapper(DataType type) {
    const DataType& inner = type.children[0];
    if (type.kind == TypeKind::kNullable) {
      if (inner.kind == TypeKind::kNullable || inner.kind == TypeKind::kLowCardinality ||
          inner.kind == TypeKind::kArray || inner.kind == TypeKind::kMap ||
          inner.kind == TypeKind::kTuple) {
        return Fail(
            fmt::format("Nullable cannot wrap {} (write LowCardinality(Nullable(T)) "
                        "for a nullable low-cardinality column)",
                        inner.ToString()));
      }
    }
    if (type.kind == TypeKind::kLowCardinality) {
      const DataType& storage = inner.Storage();
      bool allowed = storage.kind == TypeKind::kString || storage.kind == TypeKind::kFixedString ||
                     storage.kind == TypeKind::kDate || storage.kind == TypeKind::kDateTime ||
                     (storage.kind >= TypeKind::kInt8 && storage.kind <= TypeKind::kFloat64);
      if (!allowed || inner.kind == TypeKind::kLowCardinality) {
        return Fail(fmt::format("LowCardinality cannot wrap {}", inner.ToString()));
      }
    }
    if (type.kind == TypeKind::kMap) {
      const DataType& key = type.children[0];
      if (key.IsNullable() || key.kind == TypeKind::kArray || key.kind == TypeKind::kMap ||
          key.kind == TypeKind::kTuple || key.kind == TypeKind::kFloat32 ||
          key.kind == TypeKind::kFloat64) {
        return Fail(fmt::format("Map keys cannot be {}", key.ToString()));
      }
    }
    return type;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string DataType::ToString() const {
  switch (kind) {
    case TypeKind::kDateTime:
      return timezone.empty() ? "DateTime" : fmt::format("DateTime('{}')", timezone);
    case TypeKind::kDateTime64:
      return timezone.empty() ? fmt::format("DateTime64({})", precision)
                              : fmt::format("DateTime64({}, '{}')", precision, timezone);
    case TypeKind::kDecimal:
      return fmt::format("Decimal({}, {})", precision, scale);
    case TypeKind::kFixedString:
      return fmt::format("FixedString({})", fixed_size);
    case TypeKind::kNullable:
      return fmt::format("Nullable({})", children[0].ToString());
    case TypeKind::kLowCardinality:
      return fmt::format("LowCardinality({})", children[0].ToString());
    case TypeKind::kArray:
      return fmt::format("Array({})", children[0].ToString());
    case TypeKind::kMap:
      return fmt::format("Map({}, {})", children[0].ToString(), children[1].ToString());
    case TypeKind::kTuple: {
      std::string text = "Tuple(";
      for (size_t i = 0; i < children.size(); ++i) {
        if (i > 0) text += ", ";
        if (!element_names.empty()) text += element_names[i] + " ";
        text += children[i].ToString();
      }
      return text + ")";
    }
    default:
      for (const Family& plain : kPlainFamilies) {
        if (plain.kind == kind) return std::string(plain.name);
      }
  }
  return "?";
}

bool DataType::IsNullable() const {
  if (kind == TypeKind::kNullable) return true;
  if (kind == TypeKind::kLowCardinality) return children[0].IsNullable();
  return false;
}

const DataType& DataType::Storage() const {
  if (kind == TypeKind::kNullable || kind == TypeKind::kLowCardinality) {
    return children[0].Storage();
  }
  return *this;
}

Result<DataType> ParseDataType(std::string_view text) {
  return TypeParser(text).ParseAll();
}

const std::vector<std::string>& DataTypeFamilies() {
  static const std::vector<std::string> families = [] {
    std::vector<std::string> names;
    for (const Family& plain : kPlainFamilies) names.emplace_back(plain.name);
    for (std::string_view name : kFamiliesWithArguments) names.emplace_back(name);
    return names;
  }();
  return families;
}

}  // namespace sluice
