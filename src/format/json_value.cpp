#include "format/json_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>

#include "format/text_value.h"

namespace sluice {
namespace {

using simdjson::ondemand::json_type;

std::string_view JsonTypeName(json_type type) {
  switch (type) {
    case json_type::array:
      return "an array";
    case json_type::object:
      return "an object";
    case json_type::number:
      return "a number";
    case json_type::string:
      return "a string";
    case json_type::boolean:
      return "a boolean";
    case json_type::null:
      return "null";
  }
  return "a value";
}

Error Mismatch(const Column& column, json_type type) {
  return MakeError(
      ErrorCode::kRecordTypeMismatch,
      fmt::format("expected {}, got {}", column.storage().ToString(), JsonTypeName(type)));
}

bool IsTextKind(TypeKind kind) {
  return kind == TypeKind::kString || kind == TypeKind::kFixedString || kind == TypeKind::kUuid;
}

bool IsDateKind(TypeKind kind) {
  return kind == TypeKind::kDate || kind == TypeKind::kDate32 || kind == TypeKind::kDateTime ||
         kind == TypeKind::kDateTime64;
}

Error StrictMismatch(const Column& column, json_type type) {
  Error error = Mismatch(column, type);
  error.message += " (strict coercion)";
  return error;
}

// Scalars: strings and number tokens go through the shared text conversion, so "42" and 42
// read the same way and Decimal digits are never rounded through a double. Strict coercion
// lets only strings fill text and date columns and only numbers fill numeric ones.
Status DecodeScalar(simdjson::ondemand::value& value, json_type type, Column& column, bool strict) {
  TypeKind kind = column.storage().kind;
  std::string_view text;
  switch (type) {
    case json_type::string:
      if (auto error = value.get_string().get(text)) return MalformedJson(error);
      if (strict) {
        if (!IsTextKind(kind) && !IsDateKind(kind)) return StrictMismatch(column, type);
        if (Status status = CheckStrictText(text, kind); !status.ok()) return status;
      }
      return AppendTextValue(text, column);
    case json_type::number:
      if (strict && (IsTextKind(kind) || IsDateKind(kind) || kind == TypeKind::kBool)) {
        return StrictMismatch(column, type);
      }
      return AppendTextValue(TrimJsonToken(value.raw_json_token()), column);
    case json_type::boolean: {
      bool flag = false;
      if (auto error = value.get_bool().get(flag)) return MalformedJson(error);
      if (kind == TypeKind::kBool) {
        column.AppendFixed(static_cast<uint8_t>(flag ? 1 : 0));
        return {};
      }
      if (IsTextKind(kind) && !strict) return AppendTextValue(flag ? "true" : "false", column);
      return strict ? StrictMismatch(column, type) : Mismatch(column, type);
    }
    case json_type::object: {
      if (!IsTextKind(kind)) return Mismatch(column, type);
      simdjson::ondemand::object object;
      if (auto error = value.get_object().get(object)) return MalformedJson(error);
      if (auto error = object.raw_json().get(text)) return MalformedJson(error);
      return AppendTextValue(text, column);
    }
    case json_type::array: {
      if (!IsTextKind(kind)) return Mismatch(column, type);
      simdjson::ondemand::array array;
      if (auto error = value.get_array().get(array)) return MalformedJson(error);
      if (auto error = array.raw_json().get(text)) return MalformedJson(error);
      return AppendTextValue(text, column);
    }
    case json_type::null:
      break;
  }
  AppendZeroValue(column);
  return {};
}

Status DecodeArray(simdjson::ondemand::value& value, Column& column,
                   std::vector<std::string_view>& key_scratch, bool strict) {
  simdjson::ondemand::array array;
  if (auto error = value.get_array().get(array)) return MalformedJson(error);
  size_t index = 0;
  for (auto element : array) {
    simdjson::ondemand::value item;
    if (auto error = std::move(element).get(item)) return MalformedJson(error);
    Status status = DecodeJsonValue(item, column.child(0), key_scratch, strict);
    if (!status.ok()) return WithPathPrefix(status.error(), fmt::format("[{}]", index));
    ++index;
  }
  column.CloseNestedRow();
  return {};
}

Status DecodeMap(simdjson::ondemand::value& value, Column& column,
                 std::vector<std::string_view>& key_scratch, bool strict) {
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return MalformedJson(error);
  size_t keys_begin = key_scratch.size();
  for (auto entry : object) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (auto error = std::move(entry).get(field)) return MalformedJson(error);
    if (auto error = field.unescaped_key().get(key)) return MalformedJson(error);
    key_scratch.push_back(key);
    Status status = AppendTextValue(key, column.child(0));
    if (status.ok()) status = DecodeJsonValue(field.value(), column.child(1), key_scratch, strict);
    if (!status.ok()) {
      key_scratch.resize(keys_begin);
      return WithPathPrefix(status.error(), fmt::format("[\"{}\"]", key));
    }
  }
  Status unique = CheckDuplicateKeys(key_scratch, keys_begin);
  if (!unique.ok()) return unique;
  column.CloseNestedRow();
  return {};
}

Status DecodeTupleFromArray(simdjson::ondemand::value& value, Column& column,
                            std::vector<std::string_view>& key_scratch, bool strict) {
  simdjson::ondemand::array array;
  if (auto error = value.get_array().get(array)) return MalformedJson(error);
  size_t index = 0;
  for (auto element : array) {
    simdjson::ondemand::value item;
    if (auto error = std::move(element).get(item)) return MalformedJson(error);
    if (index >= column.child_count()) {
      return MakeError(ErrorCode::kRecordTypeMismatch,
                       fmt::format("more than {} elements for {}", column.child_count(),
                                   column.storage().ToString()));
    }
    Status status = DecodeJsonValue(item, column.child(index), key_scratch, strict);
    if (!status.ok()) return WithPathPrefix(status.error(), fmt::format("[{}]", index));
    ++index;
  }
  if (index != column.child_count()) {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} elements for {}, expected {}", index,
                                 column.storage().ToString(), column.child_count()));
  }
  column.CloseNestedRow();
  return {};
}

Status DecodeTupleFromObject(simdjson::ondemand::value& value, Column& column,
                             std::vector<std::string_view>& key_scratch, bool strict) {
  const std::vector<std::string>& names = column.storage().element_names;
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return MalformedJson(error);
  size_t keys_begin = key_scratch.size();
  std::vector<bool> seen(names.size(), false);
  for (auto entry : object) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (auto error = std::move(entry).get(field)) return MalformedJson(error);
    if (auto error = field.unescaped_key().get(key)) return MalformedJson(error);
    key_scratch.push_back(key);
    auto found = std::find(names.begin(), names.end(), key);
    if (found == names.end()) continue;
    size_t index = static_cast<size_t>(found - names.begin());
    if (seen[index]) continue;  // reported as a duplicate key below
    seen[index] = true;
    Status status = DecodeJsonValue(field.value(), column.child(index), key_scratch, strict);
    if (!status.ok()) {
      key_scratch.resize(keys_begin);
      return WithPathPrefix(status.error(), fmt::format(".{}", key));
    }
  }
  Status unique = CheckDuplicateKeys(key_scratch, keys_begin);
  if (!unique.ok()) return unique;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!seen[i]) AppendZeroValue(column.child(i));
  }
  column.CloseNestedRow();
  return {};
}

}  // namespace

Result<std::string_view> RawJsonText(simdjson::ondemand::value& value) {
  json_type type;
  if (auto error = value.type().get(type)) return MalformedJson(error);
  std::string_view text;
  if (type == json_type::object) {
    simdjson::ondemand::object object;
    if (auto error = value.get_object().get(object)) return MalformedJson(error);
    if (auto error = object.raw_json().get(text)) return MalformedJson(error);
    return text;
  }
  if (type == json_type::array) {
    simdjson::ondemand::array array;
    if (auto error = value.get_array().get(array)) return MalformedJson(error);
    if (auto error = array.raw_json().get(text)) return MalformedJson(error);
    return text;
  }
  return TrimJsonToken(value.raw_json_token());
}

Error MalformedJson(simdjson::error_code code) {
  return MakeError(ErrorCode::kRecordMalformed,
                   fmt::format("invalid JSON: {}", simdjson::error_message(code)));
}

Error WithPathPrefix(Error error, std::string_view prefix) {
  error.where.insert(0, prefix);
  return error;
}

std::string_view TrimJsonToken(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

Status CheckDuplicateKeys(std::vector<std::string_view>& keys, size_t begin) {
  auto first = keys.begin() + static_cast<std::ptrdiff_t>(begin);
  Status status;
  if (keys.end() - first > 1) {
    std::sort(first, keys.end());
    auto found = std::adjacent_find(first, keys.end());
    if (found != keys.end()) {
      status = MakeError(ErrorCode::kRecordMalformed, fmt::format("duplicate key \"{}\"", *found));
    }
  }
  keys.resize(begin);
  return status;
}

Status DecodeJsonValue(simdjson::ondemand::value& value, Column& column,
                       std::vector<std::string_view>& key_scratch, bool strict) {
  json_type type;
  if (auto error = value.type().get(type)) return MalformedJson(error);
  if (type == json_type::null) {
    AppendZeroValue(column);
    return {};
  }
  switch (column.storage().kind) {
    case TypeKind::kArray:
      if (type != json_type::array) return Mismatch(column, type);
      return DecodeArray(value, column, key_scratch, strict);
    case TypeKind::kMap:
      if (type != json_type::object) return Mismatch(column, type);
      return DecodeMap(value, column, key_scratch, strict);
    case TypeKind::kTuple:
      if (type == json_type::array) {
        return DecodeTupleFromArray(value, column, key_scratch, strict);
      }
      if (type == json_type::object && !column.storage().element_names.empty()) {
        return DecodeTupleFromObject(value, column, key_scratch, strict);
      }
      return Mismatch(column, type);
    default:
      return DecodeScalar(value, type, column, strict);
  }
}

}  // namespace sluice
