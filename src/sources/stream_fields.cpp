#include "sources/stream_fields.h"

namespace sluice {

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

std::vector<DecodeField> StreamDecodeFields(const StreamSpec& stream, const TableSpec& table) {
  std::vector<DecodeField> fields;
  if (!stream.fields.empty()) {
    for (const StreamFieldSpec& field : stream.fields) {
      fields.push_back({field.name, field.type,
                        SplitPath(field.path.empty() ? field.name : field.path), field.required,
                        field.default_value});
    }
    return fields;
  }
  for (const ColumnSpec& column : table.columns) {
    if (column.default_kind == ColumnSpec::DefaultKind::kMaterialized ||
        column.default_kind == ColumnSpec::DefaultKind::kAlias) {
      continue;
    }
    fields.push_back({column.name, column.type, {column.name}, false, std::nullopt});
  }
  return fields;
}

DecodeOptions StreamDecodeOptions(const StreamSpec& stream) {
  DecodeOptions options;
  options.strict = stream.coercion == StreamSpec::Coercion::kStrict;
  if (stream.unknown_fields == StreamSpec::UnknownFields::kKeep) {
    options.unknown_fields_column = stream.unknown_fields_column;
  }
  return options;
}

}  // namespace sluice
