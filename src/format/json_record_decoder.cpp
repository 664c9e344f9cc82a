#include "format/json_record_decoder.h"

#include <fmt/format.h>

#include <string>
#include <unordered_map>
#include <utility>

#include "base/strings.h"
#include "format/json_value.h"
#include "format/text_value.h"

namespace sluice {
namespace {

constexpr int32_t kNoColumn = -1;
// Below this many keys a scan (starting where the last record matched) beats hashing.
constexpr size_t kLinearLookupLimit = 16;

std::vector<std::string> PathOf(const DecodeField& field) {
  return field.path.empty() ? std::vector<std::string>{field.name} : field.path;
}

}  // namespace

/// The decoder's state: the path tree, the per-record bookkeeping and the simdjson parser.
class JsonRecordDecoder::Impl {
 public:
  Impl(std::vector<DecodeField> fields, DecodeOptions options)
      : fields_(std::move(fields)), schema_(SchemaOf(fields_)), strict_(options.strict) {
    extra_column_ = UnknownFieldsColumnIndex(fields_, options.unknown_fields_column);
    nodes_.emplace_back();
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (static_cast<int32_t>(i) == extra_column_) {
        leaf_of_field_.push_back(kNoColumn);
      } else {
        AddPath(i);
      }
    }
    for (PathNode& node : nodes_) {
      if (node.keys.size() <= kLinearLookupLimit) continue;
      for (size_t k = 0; k < node.keys.size(); ++k)
        node.index.emplace(node.keys[k], node.targets[k]);
    }
    seen_.assign(nodes_.size(), 0);
  }

  const Schema& schema() const { return schema_; }

  Status Decode(const char* data, size_t length, size_t capacity, Batch& batch) {
    if (batch.num_columns() != fields_.size()) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("batch has {} columns, the decoder fills {}",
                                   batch.num_columns(), fields_.size()));
    }
    if (capacity < length + simdjson::SIMDJSON_PADDING) {
      padded_.assign(data, data + length);
      padded_.resize(length + simdjson::SIMDJSON_PADDING, '\0');
      data = padded_.data();
      capacity = padded_.size();
    }
    size_t rows = batch.num_rows();
    NextGeneration();
    key_scratch_.clear();
    extra_.assign(1, '{');
    Status status = DecodeDocument(data, length, capacity, batch);
    if (status.ok()) status = FillMissing(batch);
    if (!status.ok()) batch.Truncate(rows);
    return status;
  }

 private:
  // One level of the path tree: a key leads either to a column (leaf) or to a nested object.
  struct PathNode {
    std::vector<std::string> keys;
    std::vector<int32_t> targets;
    // Keys without '"' or '\\' can be compared with the raw JSON key, skipping unescaping.
    std::vector<bool> plain;
    std::unordered_map<std::string_view, int32_t> index;  // only when keys are many
    size_t hint = 0;                                      // where the next key usually is
    int32_t column = kNoColumn;
    std::string path;  // dotted, for messages
  };

  void AddPath(size_t field_index) {
    std::vector<std::string> path = PathOf(fields_[field_index]);
    std::string dotted = Join(path, ".");
    int32_t node = 0;
    for (const std::string& segment : path) {
      if (nodes_[static_cast<size_t>(node)].column != kNoColumn) {
        throw SetupError(MakeError(ErrorCode::kSpecInvalidValue,
                                   fmt::format("path {} continues below the value of field {}",
                                               dotted, nodes_[static_cast<size_t>(node)].path)));
      }
      int32_t child = FindChild(node, segment);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        PathNode created;
        created.path = nodes_[static_cast<size_t>(node)].path.empty()
                           ? segment
                           : nodes_[static_cast<size_t>(node)].path + "." + segment;
        nodes_.push_back(std::move(created));
        nodes_[static_cast<size_t>(node)].keys.push_back(segment);
        nodes_[static_cast<size_t>(node)].targets.push_back(child);
        nodes_[static_cast<size_t>(node)].plain.push_back(segment.find_first_of("\"\\") ==
                                                          std::string::npos);
      }
      node = child;
    }
    PathNode& leaf = nodes_[static_cast<size_t>(node)];
    if (leaf.column != kNoColumn) {
      throw SetupError(MakeError(ErrorCode::kSpecDuplicateName,
                                 fmt::format("fields {} and {} read the same path {}",
                                             fields_[static_cast<size_t>(leaf.column)].name,
                                             fields_[field_index].name, dotted)));
    }
    if (!leaf.keys.empty()) {
      throw SetupError(
          MakeError(ErrorCode::kSpecInvalidValue,
                    fmt::format("path {} of field {} is an object holding other fields", dotted,
                                fields_[field_index].name)));
    }
    leaf.column = static_cast<int32_t>(field_index);
    leaf_of_field_.push_back(node);
  }

  int32_t FindChild(int32_t node_index, std::string_view key) {
    PathNode& node = nodes_[static_cast<size_t>(node_index)];
    size_t count = node.keys.size();
    if (count > kLinearLookupLimit) {
      auto found = node.index.find(key);
      return found == node.index.end() ? -1 : found->second;
    }
    // Records of one stream usually list their keys in the same order: start after the last hit.
    for (size_t i = 0; i < count; ++i) {
      size_t at = node.hint + i;
      if (at >= count) at -= count;
      if (node.keys[at] == key) {
        node.hint = at + 1 == count ? 0 : at + 1;
        return node.targets[at];
      }
    }
    return -1;
  }

  // The fast lookup: compares the key as it is written in the record. -1 when no plain key
  // matches, which may still be an escaped spelling of one (FindChild decides).
  int32_t FindChildByRawKey(int32_t node_index, simdjson::ondemand::raw_json_string raw_key) {
    PathNode& node = nodes_[static_cast<size_t>(node_index)];
    size_t count = node.keys.size();
    if (count > kLinearLookupLimit) return -1;
    for (size_t i = 0; i < count; ++i) {
      size_t at = node.hint + i;
      if (at >= count) at -= count;
      if (node.plain[at] && raw_key.unsafe_is_equal(node.keys[at])) {
        node.hint = at + 1 == count ? 0 : at + 1;
        return node.targets[at];
      }
    }
    return -1;
  }

  void NextGeneration() {
    if (++generation_ == 0) {
      seen_.assign(seen_.size(), 0);
      generation_ = 1;
    }
  }

  Status DecodeDocument(const char* data, size_t length, size_t capacity, Batch& batch) {
    simdjson::ondemand::document document;
    if (auto error = parser_.iterate(data, length, capacity).get(document)) {
      return MalformedJson(error);
    }
    simdjson::ondemand::object object;
    if (auto error = document.get_object().get(object)) {
      if (error == simdjson::INCORRECT_TYPE) {
        return MakeError(ErrorCode::kRecordMalformed, "the record is not a JSON object");
      }
      return MalformedJson(error);
    }
    Status status = DecodeObject(object, 0, batch);
    if (!status.ok()) return status;
    // The object is consumed: anything left (a second value, stray text) is not one record.
    if (!document.current_location().error()) {
      return MakeError(ErrorCode::kRecordMalformed, "unexpected content after the JSON object");
    }
    return {};
  }

  Status DecodeObject(simdjson::ondemand::object& object, int32_t node_index, Batch& batch) {
    size_t keys_begin = key_scratch_.size();
    for (auto entry : object) {
      simdjson::ondemand::field field;
      if (auto error = std::move(entry).get(field)) return MalformedJson(error);
      int32_t child = FindChildByRawKey(node_index, field.key());
      if (child < 0) {
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return MalformedJson(error);
        child = FindChild(node_index, key);
        if (child < 0) {
          // Unknown keys are skipped (or kept), but remembered to catch duplicates among them.
          key_scratch_.push_back(key);
          if (node_index == 0 && extra_column_ != kNoColumn) {
            Status kept = KeepUnknown(key, field.value());
            if (!kept.ok()) return kept;
          }
          continue;
        }
      }
      PathNode& target = nodes_[static_cast<size_t>(child)];
      if (seen_[static_cast<size_t>(child)] == generation_) {
        return MakeError(ErrorCode::kRecordMalformed, "duplicate key", target.path);
      }
      seen_[static_cast<size_t>(child)] = generation_;
      Status status = target.column != kNoColumn ? DecodeLeaf(field.value(), target, batch)
                                                 : DecodeNested(field.value(), child, batch);
      if (!status.ok()) return status;
    }
    Status unique = CheckDuplicateKeys(key_scratch_, keys_begin);
    if (!unique.ok()) {
      return WithPathPrefix(unique.error(), nodes_[static_cast<size_t>(node_index)].path);
    }
    return {};
  }

  Status DecodeLeaf(simdjson::ondemand::value& value, const PathNode& target, Batch& batch) {
    const DecodeField& field = fields_[static_cast<size_t>(target.column)];
    Column& column = batch.column(static_cast<size_t>(target.column));
    if ((field.required || field.default_value) && !column.nullable()) {
      simdjson::ondemand::json_type type;
      if (auto error = value.type().get(type))
        return WithPathPrefix(MalformedJson(error), target.path);
      if (type == simdjson::ondemand::json_type::null) {
        if (field.required) {
          return MakeError(ErrorCode::kRecordMissingField, "required field is null", target.path);
        }
        return AppendDefault(field, column, target.path);
      }
    }
    Status status = DecodeJsonValue(value, column, key_scratch_, strict_);
    if (!status.ok()) return WithPathPrefix(status.error(), target.path);
    return {};
  }

  Status DecodeNested(simdjson::ondemand::value& value, int32_t node_index, Batch& batch) {
    simdjson::ondemand::json_type type;
    if (auto error = value.type().get(type)) return MalformedJson(error);
    // A null parent leaves every field below it missing.
    if (type == simdjson::ondemand::json_type::null) return {};
    const std::string& path = nodes_[static_cast<size_t>(node_index)].path;
    if (type != simdjson::ondemand::json_type::object) {
      return MakeError(ErrorCode::kRecordTypeMismatch, "expected an object holding fields", path);
    }
    simdjson::ondemand::object object;
    if (auto error = value.get_object().get(object)) return MalformedJson(error);
    return DecodeObject(object, node_index, batch);
  }

  Status FillMissing(Batch& batch) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      int32_t leaf = leaf_of_field_[i];
      if (leaf == kNoColumn) {
        extra_ += '}';
        batch.column(i).AppendString(extra_);
        continue;
      }
      if (seen_[static_cast<size_t>(leaf)] == generation_) continue;
      const std::string& path = nodes_[static_cast<size_t>(leaf)].path;
      if (fields_[i].required) {
        return MakeError(ErrorCode::kRecordMissingField, "required field is missing", path);
      }
      if (fields_[i].default_value) {
        Status status = AppendDefault(fields_[i], batch.column(i), path);
        if (!status.ok()) return status;
        continue;
      }
      AppendZeroValue(batch.column(i));
    }
    return {};
  }

  static Status AppendDefault(const DecodeField& field, Column& column, const std::string& path) {
    Status status = AppendTextValue(*field.default_value, column);
    if (!status.ok()) return WithPathPrefix(status.error(), path);
    return {};
  }

  // Appends `"key":<value as written>` to the object text of the unknown-fields column.
  Status KeepUnknown(std::string_view key, simdjson::ondemand::value& value) {
    Result<std::string_view> text = RawJsonText(value);
    if (!text.ok()) return text.error();
    if (extra_.size() > 1) extra_ += ',';
    AppendJsonString(extra_, key);
    extra_ += ':';
    extra_ += *text;
    return {};
  }

  std::vector<DecodeField> fields_;
  Schema schema_;
  bool strict_;
  int32_t extra_column_ = kNoColumn;  // the field receiving unknown keys, if any
  std::string extra_;                 // its object text for the current record
  std::vector<PathNode> nodes_;       // nodes_[0] is the record itself
  std::vector<int32_t> leaf_of_field_;
  // seen_[node] == generation_ when the current record had the key (cheaper than clearing).
  std::vector<uint32_t> seen_;
  uint32_t generation_ = 0;
  simdjson::ondemand::parser parser_;
  std::vector<char> padded_;
  std::vector<std::string_view> key_scratch_;
};

JsonRecordDecoder::JsonRecordDecoder(std::vector<DecodeField> fields, DecodeOptions options)
    : impl_(std::make_unique<Impl>(std::move(fields), std::move(options))) {}
JsonRecordDecoder::~JsonRecordDecoder() = default;
JsonRecordDecoder::JsonRecordDecoder(JsonRecordDecoder&&) noexcept = default;
JsonRecordDecoder& JsonRecordDecoder::operator=(JsonRecordDecoder&&) noexcept = default;

const Schema& JsonRecordDecoder::schema() const {
  return impl_->schema();
}

Status JsonRecordDecoder::Decode(const char* data, size_t length, size_t capacity, Batch& batch) {
  return impl_->Decode(data, length, capacity, batch);
}

Status JsonRecordDecoder::Decode(std::string_view record, Batch& batch) {
  return impl_->Decode(record.data(), record.size(), record.size(), batch);
}

}  // namespace sluice
