#include "format/decode_field.h"

#include <fmt/format.h>

namespace sluice {

Schema SchemaOf(const std::vector<DecodeField>& fields) {
  Schema schema;
  schema.reserve(fields.size());
  for (const DecodeField& field : fields) schema.push_back(Field{field.name, field.type});
  return schema;
}

int32_t UnknownFieldsColumnIndex(const std::vector<DecodeField>& fields, std::string_view name) {
  if (name.empty()) return -1;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name != name) continue;
    if (fields[i].type.Storage().kind != TypeKind::kString) {
      throw SetupError(MakeError(ErrorCode::kSpecInvalidValue,
                                 fmt::format("the unknown-fields column {} is {}, not String", name,
                                             fields[i].type.ToString())));
    }
    return static_cast<int32_t>(i);
  }
  throw SetupError(MakeError(ErrorCode::kSpecUnknownReference,
                             fmt::format("no field {} for the unknown fields", name)));
}

}  // namespace sluice
