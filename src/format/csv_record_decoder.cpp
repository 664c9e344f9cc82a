#include "format/csv_record_decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/strings.h"
#include "format/json_value.h"
#include "format/text_value.h"

namespace sluice {
namespace {

constexpr int32_t kSkippedColumn = -1;

std::string SourceName(const DecodeField& field) {
  return field.path.empty() ? field.name : Join(field.path, ".");
}

bool IsNestedKind(TypeKind kind) {
  return kind == TypeKind::kArray || kind == TypeKind::kMap || kind == TypeKind::kTuple;
}

std::string_view StripLineBreak(std::string_view record) {
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  return record;
}

size_t CountNewlines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

/// The decoder's state: input column to field mapping, scratch buffers and a simdjson parser for
/// nested fields.
class CsvRecordDecoder::Impl {
 public:
  Impl(std::vector<DecodeField> fields, char delimiter, std::vector<std::string> header,
       DecodeOptions options)
      : fields_(std::move(fields)),
        schema_(SchemaOf(fields_)),
        delimiter_(delimiter),
        strict_(options.strict),
        extra_column_(UnknownFieldsColumnIndex(fields_, options.unknown_fields_column)),
        header_(std::move(header)) {
    if (header_.empty()) {
      for (size_t i = 0; i < fields_.size(); ++i) {
        if (static_cast<int32_t>(i) != extra_column_) {
          column_at_position_.push_back(static_cast<int32_t>(i));
        }
      }
    } else {
      for (size_t position = 0; position < header_.size(); ++position) {
        auto before = header_.begin() + static_cast<std::ptrdiff_t>(position);
        if (std::find(header_.begin(), before, header_[position]) != before) {
          throw SetupError(
              MakeError(ErrorCode::kSpecDuplicateName,
                        fmt::format("CSV header names column {} twice", header_[position])));
        }
        int32_t column = kSkippedColumn;
        for (size_t i = 0; i < fields_.size(); ++i) {
          if (static_cast<int32_t>(i) == extra_column_) continue;
          if (SourceName(fields_[i]) == header_[position]) column = static_cast<int32_t>(i);
        }
        column_at_position_.push_back(column);
      }
    }
    seen_.assign(fields_.size(), false);
  }

  const Schema& schema() const { return schema_; }

  Status Decode(std::string_view record, Batch& batch) {
    if (batch.num_columns() != fields_.size()) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("batch has {} columns, the decoder fills {}",
                                   batch.num_columns(), fields_.size()));
    }
    size_t rows = batch.num_rows();
    std::fill(seen_.begin(), seen_.end(), false);
    extra_.assign(1, '{');
    Status status = DecodeFields(StripLineBreak(record), batch);
    if (status.ok()) status = FillMissing(batch);
    if (!status.ok()) batch.Truncate(rows);
    return status;
  }

 private:
  Status DecodeFields(std::string_view record, Batch& batch) {
    size_t expected = column_at_position_.size();
    size_t position = 0;
    size_t at = 0;
    while (true) {
      std::string_view text;
      bool quoted = at < record.size() && record[at] == '"';
      if (quoted) {
        Result<size_t> end = ReadQuoted(record, at, position, text);
        if (!end.ok()) return end.error();
        at = *end;
        if (at < record.size() && record[at] != delimiter_) {
          return MakeError(
              ErrorCode::kRecordMalformed,
              fmt::format("unexpected character '{}' after a closing quote", record[at]),
              PositionName(position));
        }
      } else {
        size_t end = record.find(delimiter_, at);
        if (end == std::string_view::npos) end = record.size();
        text = record.substr(at, end - at);
        at = end;
      }
      if (position < expected) {
        Status status = DecodeColumnValue(position, text, quoted, batch);
        if (!status.ok()) return status;
      }
      ++position;
      if (at >= record.size()) break;
      ++at;  // the delimiter; a record ending in one has an empty last field
    }
    if (position != expected) {
      return MakeError(ErrorCode::kRecordWrongFieldCount,
                       fmt::format("expected {} fields, found {}", expected, position));
    }
    return {};
  }

  // Reads the quoted field starting at `at`; returns the index after its closing quote.
  Result<size_t> ReadQuoted(std::string_view record, size_t at, size_t position,
                            std::string_view& text) {
    size_t start = at + 1;
    size_t from = start;
    bool unescaped = false;
    while (true) {
      size_t quote = record.find('"', from);
      if (quote == std::string_view::npos) {
        return MakeError(ErrorCode::kRecordMalformed, "quoted field is not closed",
                         PositionName(position));
      }
      if (quote + 1 < record.size() && record[quote + 1] == '"') {
        if (!unescaped) unquoted_.clear();
        unescaped = true;
        unquoted_.append(record.substr(from, quote + 1 - from));
        from = quote + 2;
        continue;
      }
      if (unescaped) {
        unquoted_.append(record.substr(from, quote - from));
        text = unquoted_;
      } else {
        text = record.substr(start, quote - start);
      }
      return quote + 1;
    }
  }

  std::string PositionName(size_t position) const {
    if (position < column_at_position_.size() && column_at_position_[position] != kSkippedColumn) {
      return fields_[static_cast<size_t>(column_at_position_[position])].name;
    }
    return fmt::format("column {}", position + 1);
  }

  Status DecodeColumnValue(size_t position, std::string_view text, bool quoted, Batch& batch) {
    int32_t index = column_at_position_[position];
    if (index == kSkippedColumn) {
      if (extra_column_ != kSkippedColumn) KeepUnknown(position, text, quoted);
      return {};
    }
    const DecodeField& field = fields_[static_cast<size_t>(index)];
    Column& column = batch.column(static_cast<size_t>(index));
    seen_[static_cast<size_t>(index)] = true;
    TypeKind kind = column.storage().kind;
    bool text_kind = kind == TypeKind::kString || kind == TypeKind::kFixedString;
    // Unquoted empty and \N are NULL; a quoted "" is an empty string, and no value at all for
    // the types where an empty string means nothing.
    bool absent = quoted ? text.empty() && !text_kind : text.empty() || text == "\\N";
    if (absent) {
      if (field.required && !column.nullable()) {
        return MakeError(ErrorCode::kRecordMissingField, "required field is empty", field.name);
      }
      // An empty field is a missing value; \N is an explicit NULL where the type has one.
      bool explicit_null = !quoted && text == "\\N" && column.nullable();
      if (field.default_value && !explicit_null) return AppendDefault(field, column);
      AppendZeroValue(column);
      return {};
    }
    Status status;
    if (IsNestedKind(kind)) {
      status = DecodeNested(text, column);
    } else {
      if (strict_) status = CheckStrictText(text, kind);
      if (status.ok()) status = AppendTextValue(text, column);
    }
    if (!status.ok()) return WithPathPrefix(status.error(), field.name);
    return {};
  }

  // Array, Map and Tuple fields hold JSON text, e.g. "[1,2]" or "{""k"":1}".
  Status DecodeNested(std::string_view text, Column& column) {
    padded_.assign(text.begin(), text.end());
    padded_.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document document;
    if (auto error = parser_.iterate(padded_.data(), text.size(), padded_.size()).get(document)) {
      return MalformedJson(error);
    }
    simdjson::ondemand::value value;
    if (auto error = document.get_value().get(value)) {
      if (error == simdjson::SCALAR_DOCUMENT_AS_VALUE) {
        return MakeError(ErrorCode::kRecordTypeMismatch,
                         fmt::format("{} is not JSON for {}", QuoteForMessage(text),
                                     column.storage().ToString()));
      }
      return MalformedJson(error);
    }
    key_scratch_.clear();
    Status status = DecodeJsonValue(value, column, key_scratch_, strict_);
    if (!status.ok()) return status;
    if (!document.current_location().error()) {
      return MakeError(ErrorCode::kRecordMalformed, "unexpected content after the JSON value");
    }
    return {};
  }

  Status FillMissing(Batch& batch) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (static_cast<int32_t>(i) == extra_column_) {
        extra_ += '}';
        batch.column(i).AppendString(extra_);
        continue;
      }
      if (seen_[i]) continue;
      if (fields_[i].required) {
        return MakeError(ErrorCode::kRecordMissingField, "required field is missing",
                         fields_[i].name);
      }
      if (fields_[i].default_value) {
        Status status = AppendDefault(fields_[i], batch.column(i));
        if (!status.ok()) return status;
        continue;
      }
      AppendZeroValue(batch.column(i));
    }
    return {};
  }

  static Status AppendDefault(const DecodeField& field, Column& column) {
    Status status = AppendTextValue(*field.default_value, column);
    if (!status.ok()) return WithPathPrefix(status.error(), field.name);
    return {};
  }

  // Appends `"header name":"text"` (null for an empty or \N field) to the unknown-fields object.
  void KeepUnknown(size_t position, std::string_view text, bool quoted) {
    if (header_.empty()) return;
    if (extra_.size() > 1) extra_ += ',';
    AppendJsonString(extra_, header_[position]);
    extra_ += ':';
    if (!quoted && (text.empty() || text == "\\N")) {
      extra_ += "null";
    } else {
      AppendJsonString(extra_, text);
    }
  }

  std::vector<DecodeField> fields_;
  Schema schema_;
  char delimiter_;
  bool strict_;
  int32_t extra_column_;             // the field receiving unknown columns, or kSkippedColumn
  std::vector<std::string> header_;  // empty without a header
  std::string extra_;                // the unknown-fields object of the current record
  std::vector<int32_t> column_at_position_;  // field index per input column, or kSkippedColumn
  std::vector<bool> seen_;
  std::string unquoted_;  // a quoted field with "" escapes, unescaped
  simdjson::ondemand::parser parser_;
  std::vector<char> padded_;
  std::vector<std::string_view> key_scratch_;
};

CsvRecordDecoder::CsvRecordDecoder(std::vector<DecodeField> fields, char delimiter,
                                   std::vector<std::string> header, DecodeOptions options)
    : impl_(std::make_unique<Impl>(std::move(fields), delimiter, std::move(header),
                                   std::move(options))) {}
CsvRecordDecoder::~CsvRecordDecoder() = default;
CsvRecordDecoder::CsvRecordDecoder(CsvRecordDecoder&&) noexcept = default;
CsvRecordDecoder& CsvRecordDecoder::operator=(CsvRecordDecoder&&) noexcept = default;

const Schema& CsvRecordDecoder::schema() const {
  return impl_->schema();
}

Status CsvRecordDecoder::Decode(std::string_view record, Batch& batch) {
  return impl_->Decode(record, batch);
}

CsvSplit CsvRecordDecoder::NextRecord(std::string_view text, char delimiter) {
  CsvSplit split;
  split.lines = 1;
  if (text.empty()) return split;
  const char* data = text.data();
  size_t size = text.size();
  // Fast path: a line with no quote at all ends at its first line break.
  const void* newline = std::memchr(data, '\n', size);
  size_t line_end = newline ? static_cast<size_t>(static_cast<const char*>(newline) - data) : size;
  if (newline && !std::memchr(data, '"', line_end)) {
    split.record = StripLineBreak(text.substr(0, line_end + 1));
    split.consumed = line_end + 1;
    split.terminated = true;
    return split;
  }
  bool field_start = true;
  size_t at = 0;
  while (at < size) {
    char c = data[at];
    if (c == '"' && field_start) {
      // Inside quotes only "" and the closing quote matter: jump from quote to quote.
      size_t from = at + 1;
      while (true) {
        size_t quote = text.find('"', from);
        if (quote == std::string_view::npos) {
          split.lines += CountNewlines(text.substr(from));
          split.record = text;
          split.consumed = size;
          split.open_quote = true;
          return split;
        }
        split.lines += CountNewlines(text.substr(from, quote - from));
        if (quote + 1 < size && data[quote + 1] == '"') {
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      field_start = false;
      continue;
    }
    if (c == '\n') {
      split.record = StripLineBreak(text.substr(0, at + 1));
      split.consumed = at + 1;
      split.terminated = true;
      return split;
    }
    field_start = c == delimiter;
    ++at;
  }
  split.record = StripLineBreak(text);
  split.consumed = size;
  return split;
}

}  // namespace sluice
