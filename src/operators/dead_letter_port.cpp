#include "operators/dead_letter_port.h"

#include <fmt/format.h>

namespace sluice {

Result<Schema> DeadLetterSchema(const Schema& input) {
  Schema schema = input;
  for (std::string_view name : {"_error_code", "_error_message"}) {
    for (const Field& field : input) {
      if (field.name == name) {
        return MakeError(
            ErrorCode::kSpecDuplicateName,
            fmt::format("the input field '{}' is reserved for the dead-letter output", name));
      }
    }
  }
  schema.push_back({"_error_code", *ParseDataType("UInt16")});
  schema.push_back({"_error_message", *ParseDataType("String")});
  return schema;
}

Batch DeadLetterBatch(const Batch& input, const Schema& schema, const std::vector<RowError>& rows) {
  std::vector<uint8_t> failed(input.num_rows(), 0);
  for (const RowError& error : rows) failed[error.row] = 1;
  Batch copy = input;
  copy.Filter(failed);
  Batch out(schema);
  for (size_t i = 0; i < copy.num_columns(); ++i) out.column(i) = std::move(copy.column(i));
  Column& codes = out.column(copy.num_columns());
  Column& messages = out.column(copy.num_columns() + 1);
  for (const RowError& error : rows) {
    codes.AppendFixed<uint16_t>(ErrorCodeNumber(error.code));
    messages.AppendString(error.message);
  }
  return out;
}

}  // namespace sluice
