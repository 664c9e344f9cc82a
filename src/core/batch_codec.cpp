#include "core/batch_codec.h"

#include <cstring>

namespace sluice {

/// Reads and writes a Column's private buffers for the batch codec.
class ColumnCodec {
 public:
  static void Encode(const Column& column, std::string& out) {
    PutNumber(out, column.rows_);
    PutNumber(out, column.null_count_);
    PutBytes(out, column.validity_.data(), column.validity_.size());
    PutBytes(out, column.values_.data(), column.values_.size());
    PutBytes(out, column.offsets_.data(), column.offsets_.size() * sizeof(int32_t));
    PutBytes(out, column.bytes_.data(), column.bytes_.size());
    for (const Column& child : column.children_) Encode(child, out);
  }

  static Status Decode(std::string_view& in, Column& column) {
    uint64_t rows = 0;
    uint64_t null_count = 0;
    std::string_view validity, values, offsets, bytes;
    if (!GetNumber(in, rows) || !GetNumber(in, null_count) || !GetBytes(in, validity) ||
        !GetBytes(in, values) || !GetBytes(in, offsets) || !GetBytes(in, bytes) ||
        offsets.size() % sizeof(int32_t) != 0) {
      return Damaged("truncated column");
    }
    column.rows_ = rows;
    column.null_count_ = null_count;
    column.validity_.assign(validity.begin(), validity.end());
    column.values_.assign(values.begin(), values.end());
    column.offsets_.resize(offsets.size() / sizeof(int32_t));
    // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
    if (!offsets.empty()) std::memcpy(column.offsets_.data(), offsets.data(), offsets.size());
    column.bytes_.assign(bytes);
    for (Column& child : column.children_) {
      if (auto status = Decode(in, child); !status.ok()) return status;
    }
    return Check(column);
  }

 private:
  static Error Damaged(std::string_view what) {
    return MakeError(ErrorCode::kIoError, "damaged batch bytes: " + std::string(what));
  }

  /// The buffers must agree with each other before anything reads them.
  static Status Check(const Column& column) {
    size_t width = Column::FixedWidth(column.storage());
    if (width > 0 && column.values_.size() != column.rows_ * width) return Damaged("value size");
    if (column.nullable_ ? column.validity_.size() != (column.rows_ + 7) / 8
                         : !column.validity_.empty()) {
      return Damaged("validity size");
    }
    if (!column.offsets_.empty() || column.storage().kind == TypeKind::kString ||
        column.storage().kind == TypeKind::kUuid || column.storage().kind == TypeKind::kArray ||
        column.storage().kind == TypeKind::kMap) {
      if (column.offsets_.size() != column.rows_ + 1 || column.offsets_[0] != 0) {
        return Damaged("offsets size");
      }
      for (size_t i = 1; i < column.offsets_.size(); ++i) {
        if (column.offsets_[i] < column.offsets_[i - 1]) return Damaged("offsets order");
      }
      auto end = static_cast<size_t>(column.offsets_.back());
      bool nested =
          column.storage().kind == TypeKind::kArray || column.storage().kind == TypeKind::kMap;
      for (const Column& child : column.children_) {
        if (nested && child.rows_ != end) return Damaged("nested size");
      }
      if (!nested && end != column.bytes_.size()) return Damaged("string size");
    }
    if (column.storage().kind == TypeKind::kTuple) {
      for (const Column& child : column.children_) {
        if (child.rows_ != column.rows_) return Damaged("tuple size");
      }
    }
    return {};
  }

  static void PutNumber(std::string& out, uint64_t value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  static void PutBytes(std::string& out, const void* data, size_t size) {
    PutNumber(out, size);
    out.append(static_cast<const char*>(data), size);
  }
  static bool GetNumber(std::string_view& in, uint64_t& value) {
    if (in.size() < sizeof(value)) return false;
    std::memcpy(&value, in.data(), sizeof(value));
    in.remove_prefix(sizeof(value));
    return true;
  }
  static bool GetBytes(std::string_view& in, std::string_view& bytes) {
    uint64_t size = 0;
    if (!GetNumber(in, size) || in.size() < size) return false;
    bytes = in.substr(0, size);
    in.remove_prefix(size);
    return true;
  }
};

uint64_t SchemaFingerprint(const Schema& schema) {
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&](std::string_view text) {
    for (char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;
    hash *= 1099511628211ull;
  };
  for (const Field& field : schema) {
    mix(field.name);
    mix(field.type.ToString());
  }
  return hash;
}

void EncodeSchema(const Schema& schema, std::string& out) {
  auto put = [&out](std::string_view text) {
    uint64_t size = text.size();
    out.append(reinterpret_cast<const char*>(&size), sizeof(size));
    out.append(text);
  };
  uint64_t fields = schema.size();
  out.append(reinterpret_cast<const char*>(&fields), sizeof(fields));
  for (const Field& field : schema) {
    put(field.name);
    put(field.type.ToString());
  }
}

Result<Schema> DecodeSchema(std::string_view& bytes) {
  auto number = [&bytes](uint64_t& value) {
    if (bytes.size() < sizeof(value)) return false;
    std::memcpy(&value, bytes.data(), sizeof(value));
    bytes.remove_prefix(sizeof(value));
    return true;
  };
  auto text = [&](std::string_view& value) {
    uint64_t size = 0;
    if (!number(size) || bytes.size() < size) return false;
    value = bytes.substr(0, size);
    bytes.remove_prefix(size);
    return true;
  };
  uint64_t fields = 0;
  if (!number(fields)) return MakeError(ErrorCode::kIoError, "damaged schema bytes: no header");
  Schema schema;
  for (uint64_t i = 0; i < fields; ++i) {
    std::string_view name, type_name;
    if (!text(name) || !text(type_name)) {
      return MakeError(ErrorCode::kIoError, "damaged schema bytes: truncated field");
    }
    auto type = ParseDataType(type_name);
    if (!type.ok()) {
      return MakeError(ErrorCode::kIoError, "damaged schema bytes: field " + std::string(name) +
                                                ": " + type.error().message);
    }
    schema.push_back(Field{std::string(name), std::move(*type)});
  }
  return schema;
}

void EncodeBatch(const Batch& batch, std::string& out) {
  uint64_t fingerprint = SchemaFingerprint(batch.schema());
  out.append(reinterpret_cast<const char*>(&fingerprint), sizeof(fingerprint));
  for (size_t i = 0; i < batch.num_columns(); ++i) ColumnCodec::Encode(batch.column(i), out);
}

Status DecodeBatch(std::string_view& bytes, Batch& batch) {
  uint64_t fingerprint = 0;
  if (bytes.size() < sizeof(fingerprint)) {
    return MakeError(ErrorCode::kIoError, "damaged batch bytes: no header");
  }
  std::memcpy(&fingerprint, bytes.data(), sizeof(fingerprint));
  bytes.remove_prefix(sizeof(fingerprint));
  if (fingerprint != SchemaFingerprint(batch.schema())) {
    return MakeError(ErrorCode::kIoError,
                     "the batch was written with another schema (the stream's fields changed "
                     "while records were waiting for delivery)");
  }
  size_t rows = 0;
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    if (auto status = ColumnCodec::Decode(bytes, batch.column(i)); !status.ok()) return status;
    if (i > 0 && batch.column(i).size() != rows) {
      return MakeError(ErrorCode::kIoError, "damaged batch bytes: columns differ in length");
    }
    rows = batch.column(i).size();
  }
  return {};
}

}  // namespace sluice
