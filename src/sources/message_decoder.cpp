#include "sources/message_decoder.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "format/text_value.h"

namespace sluice {
namespace {

bool IsStringMap(const DataType& storage) {
  return storage.kind == TypeKind::kMap &&
         storage.children[0].Storage().kind == TypeKind::kString &&
         storage.children[1].Storage().kind == TypeKind::kString;
}

void AppendMissing(Column& column) {
  if (column.nullable()) {
    column.AppendNull();
  } else {
    AppendZeroValue(column);
  }
}

}  // namespace

MessageDecoder::MessageDecoder(std::vector<DecodeField> fields, DecodeOptions options,
                               MessageFormatSpec format)
    : fields_(std::move(fields)), format_(std::move(format)), schema_(SchemaOf(fields_)) {
  auto find = [&](const std::string& name, std::string_view role) -> size_t {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].name == name) return i;
    }
    throw SetupError(MakeError(ErrorCode::kSpecUnknownReference,
                               fmt::format("the stream has no field '{}' for the {}", name, role)));
  };
  std::vector<bool> taken(fields_.size(), false);
  for (const auto& [what, name] : format_.metadata) {
    MetadataField field{Metadata::kKey, find(name, what)};
    if (what == "key") {
      field.what = Metadata::kKey;
    } else if (what == "headers") {
      field.what = Metadata::kHeaders;
      needs_headers_ = true;
      const DataType& storage = fields_[field.column].type.Storage();
      if (storage.kind != TypeKind::kString && !IsStringMap(storage)) {
        throw SetupError(
            MakeError(ErrorCode::kSpecInvalidValue,
                      fmt::format("field '{}' is {}; headers need Map(String, String) or String",
                                  name, fields_[field.column].type.ToString())));
      }
    } else if (what == "topic" || what == "subject") {
      field.what = Metadata::kTopic;
    } else if (what == "partition") {
      field.what = Metadata::kPartition;
    } else if (what == "offset" || what == "sequence") {
      field.what = Metadata::kOffset;
    } else if (what == "timestamp") {
      field.what = Metadata::kTimestamp;
    } else {
      throw SetupError(MakeError(ErrorCode::kSpecUnknownKey,
                                 fmt::format("unknown message metadata '{}'", what)));
    }
    taken[field.column] = true;
    metadata_.push_back(field);
  }
  if (format_.format == "json") {
    std::vector<DecodeField> payload;
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (taken[i]) continue;
      payload.push_back(fields_[i]);
      json_columns_.push_back(i);
    }
    if (!metadata_.empty()) json_rows_.emplace(SchemaOf(payload));
    json_ = std::make_unique<JsonRecordDecoder>(std::move(payload), std::move(options));
    return;
  }
  value_column_ = find(format_.value_field, "message value");
  if (fields_[value_column_].type.Storage().kind != TypeKind::kString || taken[value_column_]) {
    throw SetupError(
        MakeError(ErrorCode::kSpecInvalidValue,
                  fmt::format("value_field '{}' must be a String field of its own, not {}",
                              format_.value_field, fields_[value_column_].type.ToString())));
  }
  taken[value_column_] = true;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (taken[i]) continue;
    if (fields_[i].required) {
      throw SetupError(MakeError(
          ErrorCode::kSpecInvalidValue,
          fmt::format("field '{}' is required but a {} message fills only '{}' and metadata",
                      fields_[i].name, format_.format, format_.value_field)));
    }
    default_columns_.push_back(i);
  }
}

MessageDecoder::~MessageDecoder() = default;

Status MessageDecoder::AddMetadata(const MetadataField& field, const QueueMessage& message,
                                   Column& column) {
  std::string text;
  std::string_view what;
  switch (field.what) {
    case Metadata::kKey:
      if (!message.key) {
        AppendMissing(column);
        return {};
      }
      if (column.storage().kind == TypeKind::kString) {
        column.AppendString(*message.key);
        return {};
      }
      text = *message.key;
      what = "key";
      break;
    case Metadata::kHeaders:
      if (column.storage().kind == TypeKind::kMap) {
        for (const auto& [name, value] : message.headers) {
          column.child(0).AppendString(name);
          column.child(1).AppendString(value);
        }
        column.CloseNestedRow();
      } else {
        std::string json = "{";
        for (const auto& [name, value] : message.headers) {
          if (json.size() > 1) json += ',';
          AppendJsonString(json, name);
          json += ':';
          AppendJsonString(json, value);
        }
        json += '}';
        column.AppendString(json);
      }
      return {};
    case Metadata::kTopic:
      if (column.storage().kind == TypeKind::kString) {
        column.AppendString(message.topic);
        return {};
      }
      text = message.topic;
      what = "topic";
      break;
    case Metadata::kPartition:
      text = std::to_string(message.partition);
      what = "partition";
      break;
    case Metadata::kOffset:
      text = std::to_string(message.offset);
      what = "offset";
      break;
    case Metadata::kTimestamp:
      if (!message.timestamp_ms) {
        AppendMissing(column);
        return {};
      }
      text = std::to_string(*message.timestamp_ms);
      what = "timestamp";
      break;
  }
  Status appended = AppendTextValue(text, column);
  if (!appended.ok()) {
    return MakeError(ErrorCode::kRecordMetadataMismatch,
                     fmt::format("message {} {} does not fit {}: {}", what, QuoteForMessage(text),
                                 column.type().ToString(), appended.error().message),
                     fields_[field.column].name);
  }
  return {};
}

void MessageDecoder::TruncateMetadata(Batch& batch, size_t rows) {
  for (const MetadataField& field : metadata_) batch.column(field.column).Truncate(rows);
}

Status MessageDecoder::Add(const QueueMessage& message, Batch& batch) {
  if (!message.value) {
    return MakeError(ErrorCode::kRecordNullMessage, "the message has no value");
  }
  std::string_view value = *message.value;
  // Metadata columns are ahead of decoded JSON columns until Finish: count rows on them.
  size_t rows = metadata_.empty() ? batch.num_rows() : batch.column(metadata_[0].column).size();
  for (const MetadataField& field : metadata_) {
    Status added = AddMetadata(field, message, batch.column(field.column));
    if (!added.ok()) {
      TruncateMetadata(batch, rows);
      return added;
    }
  }
  if (json_) {
    Status decoded = json_->Decode(value, json_rows_ ? *json_rows_ : batch);
    if (!decoded.ok()) TruncateMetadata(batch, rows);
    return decoded;
  }
  if (format_.format == "string" && !simdjson::validate_utf8(value.data(), value.size())) {
    TruncateMetadata(batch, rows);
    return MakeError(ErrorCode::kRecordInvalidUtf8, "the message value is not valid UTF-8",
                     format_.value_field);
  }
  batch.column(value_column_).AppendString(value);
  for (size_t column : default_columns_) {
    const DecodeField& field = fields_[column];
    // Defaults were converted once when the spec was loaded, so they fit their column.
    if (!field.default_value || !AppendTextValue(*field.default_value, batch.column(column)).ok()) {
      AppendMissing(batch.column(column));
    }
  }
  return {};
}

void MessageDecoder::Finish(Batch& batch) {
  if (!json_rows_) return;
  for (size_t i = 0; i < json_columns_.size(); ++i) {
    batch.column(json_columns_[i]).AppendColumn(json_rows_->column(i));
  }
  json_rows_->Clear();
}

}  // namespace sluice
