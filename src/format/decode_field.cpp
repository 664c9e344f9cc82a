#include "format/decode_field.h"

namespace sluice {

Schema SchemaOf(const std::vector<DecodeField>& fields) {
  Schema schema;
  schema.reserve(fields.size());
  for (const DecodeField& field : fields) schema.push_back(Field{field.name, field.type});
  return schema;
}

}  // namespace sluice
