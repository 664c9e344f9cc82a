#include "sources/pg_types.h"

#include <fmt/format.h>

#include <string>

#include "format/text_value.h"

namespace sluice {
namespace {

// Type oids from PostgreSQL's pg_type.dat: stable across releases.
constexpr uint32_t kBool = 16;
constexpr uint32_t kBytea = 17;
constexpr uint32_t kInt8 = 20;
constexpr uint32_t kInt2 = 21;
constexpr uint32_t kInt4 = 23;
constexpr uint32_t kText = 25;
constexpr uint32_t kOid = 26;
constexpr uint32_t kFloat4 = 700;
constexpr uint32_t kFloat8 = 701;
constexpr uint32_t kBpchar = 1042;
constexpr uint32_t kVarchar = 1043;
constexpr uint32_t kDate = 1082;
constexpr uint32_t kTimestamp = 1114;
constexpr uint32_t kTimestamptz = 1184;
constexpr uint32_t kNumeric = 1700;
constexpr uint32_t kUuid = 2950;

struct ArrayOid {
  uint32_t array;
  uint32_t element;
};
constexpr ArrayOid kArrays[] = {
    {1000, kBool},    {1001, kBytea},   {1005, kInt2},      {1007, kInt4},        {1016, kInt8},
    {1009, kText},    {1015, kVarchar}, {1014, kBpchar},    {1021, kFloat4},      {1022, kFloat8},
    {1231, kNumeric}, {1182, kDate},    {1115, kTimestamp}, {1185, kTimestamptz}, {2951, kUuid},
};

DataType Scalar(TypeKind kind) {
  DataType type;
  type.kind = kind;
  return type;
}

DataType ScalarType(uint32_t oid, int32_t typmod) {
  switch (oid) {
    case kBool:
      return Scalar(TypeKind::kBool);
    case kInt2:
      return Scalar(TypeKind::kInt16);
    case kInt4:
      return Scalar(TypeKind::kInt32);
    case kInt8:
      return Scalar(TypeKind::kInt64);
    case kOid:
      return Scalar(TypeKind::kUInt32);
    case kFloat4:
      return Scalar(TypeKind::kFloat32);
    case kFloat8:
      return Scalar(TypeKind::kFloat64);
    case kNumeric: {
      // numeric(p, s) has typmod ((p << 16) | s) + 4; unconstrained numeric (typmod -1) keeps
      // any number of digits, which no Decimal can: it stays exact as text.
      if (typmod < 4) return Scalar(TypeKind::kString);
      int precision = ((typmod - 4) >> 16) & 0xFFFF;
      int scale = (typmod - 4) & 0xFFFF;
      if (precision < 1 || precision > 76 || scale > precision) return Scalar(TypeKind::kString);
      DataType type = Scalar(TypeKind::kDecimal);
      type.precision = precision;
      type.scale = scale;
      return type;
    }
    case kDate:
      return Scalar(TypeKind::kDate32);
    case kTimestamp:
    case kTimestamptz: {
      DataType type = Scalar(TypeKind::kDateTime64);
      type.precision = 6;
      type.timezone = "UTC";
      return type;
    }
    case kUuid:
      return Scalar(TypeKind::kUuid);
    default:
      // text, varchar, char, name, json, jsonb, bytea, and every type without a closer match
      // (time, interval, inet, enums ...) as their text.
      return Scalar(TypeKind::kString);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status AppendScalar(std::string_view text, Column& column, bool is_bytea);

/// Elements of a one-dimensional array literal; `null` marks unquoted NULL.
struct ArrayElement {
  std::string text;
  bool null = false;
};

Result<std::vector<ArrayElement>> SplitArray(std::string_view text) {
  // An explicit lower bound ("[0:2]={...}") is dropped: ClickHouse arrays start at 1.
  if (!text.empty() && text.front() == '[') {
    size_t equals = text.find('=');
    if (equals == std::string_view::npos) {
      return MakeError(ErrorCode::kRecordTypeMismatch,
                       fmt::format("{} is not an array literal", QuoteForMessage(text)));
    }
    text.remove_prefix(equals + 1);
  }
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} is not an array literal", QuoteForMessage(text)));
  }
  std::vector<ArrayElement> elements;
  std::string_view body = text.substr(1, text.size() - 2);
  if (body.empty()) return elements;
  size_t i = 0;
  while (i <= body.size()) {
    ArrayElement element;
    if (i < body.size() && body[i] == '{') {
      return MakeError(
          ErrorCode::kRecordTypeMismatch,
          fmt::format("{}: multi-dimensional arrays are not supported", QuoteForMessage(text)));
    }
    if (i < body.size() && body[i] == '"') {
      ++i;
      while (i < body.size() && body[i] != '"') {
        if (body[i] == '\\' && i + 1 < body.size()) ++i;
        element.text += body[i++];
      }
      ++i;  // closing quote
    } else {
      size_t end = body.find(',', i);
      if (end == std::string_view::npos) end = body.size();
      element.text = std::string(body.substr(i, end - i));
      element.null = element.text == "NULL";
      i = end;
    }
    elements.push_back(std::move(element));
    ++i;  // the comma
  }
  return elements;
}

Status AppendScalar(std::string_view text, Column& column, bool is_bytea) {
  const DataType& storage = column.storage();
  switch (storage.kind) {
    case TypeKind::kBool:
      if (text == "t" || text == "f") {
        column.AppendFixed(static_cast<uint8_t>(text == "t" ? 1 : 0));
        return {};
      }
      return AppendTextValue(text, column);
    case TypeKind::kDateTime64:
    case TypeKind::kDate32: {
      // timestamptz prints "+00" in a UTC session; the date parser wants "+00:00" or none.
      if (text.size() > 3 && text.substr(text.size() - 3) == "+00") {
        text.remove_suffix(3);
      }
      return AppendTextValue(text, column);
    }
    case TypeKind::kString:
      if (is_bytea && text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
        std::string bytes;
        bytes.reserve((text.size() - 2) / 2);
        for (size_t i = 2; i + 1 < text.size(); i += 2) {
          int high = HexDigit(text[i]);
          int low = HexDigit(text[i + 1]);
          if (high < 0 || low < 0) {
            return MakeError(ErrorCode::kRecordTypeMismatch,
                             fmt::format("{} is not bytea hex", QuoteForMessage(text)));
          }
          bytes += static_cast<char>((high << 4) | low);
        }
        column.AppendString(bytes);
        return {};
      }
      column.AppendString(text);
      return {};
    default:
      return AppendTextValue(text, column);
  }
}

}  // namespace

DataType PgColumnType(uint32_t oid, int32_t typmod) {
  for (const ArrayOid& array : kArrays) {
    if (array.array == oid) {
      DataType element = ScalarType(array.element, typmod);
      DataType nullable = Scalar(TypeKind::kNullable);
      nullable.children.push_back(std::move(element));
      DataType type = Scalar(TypeKind::kArray);
      type.children.push_back(std::move(nullable));
      return type;
    }
  }
  return ScalarType(oid, typmod);
}

bool PgIsIntegerType(uint32_t oid) {
  return oid == kInt2 || oid == kInt4 || oid == kInt8;
}

Status AppendPgText(std::string_view text, uint32_t oid, Column& column) {
  if (column.storage().kind != TypeKind::kArray) {
    return AppendScalar(text, column, oid == kBytea);
  }
  uint32_t element_oid = 0;
  for (const ArrayOid& array : kArrays) {
    if (array.array == oid) element_oid = array.element;
  }
  auto elements = SplitArray(text);
  if (!elements.ok()) return elements.error();
  Column& child = column.child(0);
  size_t before = child.size();
  for (const ArrayElement& element : *elements) {
    Status status;
    if (element.null) {
      child.AppendNull();
    } else {
      status = AppendScalar(element.text, child, element_oid == kBytea);
    }
    if (!status.ok()) {
      child.Truncate(before);
      return status;
    }
  }
  column.CloseNestedRow();
  return {};
}

}  // namespace sluice
