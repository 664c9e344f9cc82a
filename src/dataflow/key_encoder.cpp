#include "dataflow/key_encoder.h"

#include <cstring>

namespace sluice {

Result<KeyEncoder> KeyEncoder::Make(const Schema& schema,
                                    const std::vector<std::string>& key_fields) {
  KeyEncoder encoder;
  for (const std::string& name : key_fields) {
    size_t index = 0;
    while (index < schema.size() && schema[index].name != name) ++index;
    if (index == schema.size()) {
      return MakeError(ErrorCode::kSpecInvalidValue,
                       "key field '" + name + "' is not a field of the stream");
    }
    const DataType& storage = schema[index].type.Storage();
    size_t width = Column::FixedWidth(storage);
    bool is_string = storage.kind == TypeKind::kString || storage.kind == TypeKind::kUuid;
    if (width == 0 && !is_string) {
      return MakeError(ErrorCode::kSpecInvalidValue,
                       "key field '" + name + "' has type " + schema[index].type.ToString() +
                           ": keys must be numbers, dates, strings or UUIDs");
    }
    encoder.columns_.push_back(index);
    encoder.parts_.push_back({index, width});
  }
  return encoder;
}

void KeyEncoder::Encode(const Batch& batch, size_t row, std::string& out) const {
  out.clear();
  for (const KeyColumn& part : parts_) {
    const Column& column = batch.column(part.index);
    if (column.IsNull(row)) {
      out.push_back('\0');
      continue;
    }
    out.push_back('\1');
    if (part.fixed_width != 0) {
      out.append(reinterpret_cast<const char*>(column.values().data()) + row * part.fixed_width,
                 part.fixed_width);
    } else {
      std::string_view bytes = column.StringAt(row);
      uint32_t length = static_cast<uint32_t>(bytes.size());
      char prefix[4];
      std::memcpy(prefix, &length, 4);
      out.append(prefix, 4);
      out.append(bytes);
    }
  }
}

}  // namespace sluice
