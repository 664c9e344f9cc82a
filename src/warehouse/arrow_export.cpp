#include "warehouse/arrow_export.h"

#include <fmt/format.h>

namespace sluice {
namespace {

constexpr int64_t kArrowFlagNullable = 2;

// The structs are owned by ArrowBatchExport; the consumer's release only marks them released.
void ReleaseSchema(ArrowSchema* schema) {
  schema->release = nullptr;
}
void ReleaseArray(ArrowArray* array) {
  array->release = nullptr;
}

// Empty vectors have no storage; Arrow consumers expect a valid pointer for value buffers.
const void* NonNull(const void* buffer) {
  static const int64_t kEmpty[2] = {0, 0};
  return buffer != nullptr ? buffer : kEmpty;
}

const char* FixedFormat(TypeKind kind) {
  switch (kind) {
    case TypeKind::kInt8:
      return "c";
    case TypeKind::kInt16:
      return "s";
    case TypeKind::kInt32:
      return "i";
    case TypeKind::kInt64:
      return "l";
    case TypeKind::kUInt8:
      return "C";
    case TypeKind::kUInt16:
      return "S";
    case TypeKind::kUInt32:
      return "I";
    case TypeKind::kUInt64:
      return "L";
    case TypeKind::kFloat32:
      return "f";
    case TypeKind::kFloat64:
      return "g";
    // Arrow booleans are bitmaps; one byte per value goes across as UInt8 and ClickHouse
    // converts it to Bool on insert.
    case TypeKind::kBool:
      return "C";
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return "tdD";
    default:
      return nullptr;
  }
}

}  // namespace

ArrowBatchExport::ArrowBatchExport(const Batch& batch) {
  Node& root = NewNode("+s", "", static_cast<int64_t>(batch.num_rows()), 0, false);
  root.buffers = {nullptr};
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    Node& child = AddColumn(batch.column(i), batch.schema()[i].name);
    root.child_schemas.push_back(&child.schema);
    root.child_arrays.push_back(&child.array);
  }
  Node& top = nodes_.front();
  top.schema.n_children = top.array.n_children = static_cast<int64_t>(top.child_schemas.size());
  top.schema.children = top.child_schemas.data();
  top.array.children = top.child_arrays.data();
  top.array.buffers = top.buffers.data();
  top.array.n_buffers = 1;
}

ArrowBatchExport::Node& ArrowBatchExport::NewNode(std::string format, std::string name,
                                                  int64_t length, int64_t null_count,
                                                  bool nullable) {
  Node& node = nodes_.emplace_back();
  node.format = std::move(format);
  node.name = std::move(name);
  node.schema.format = node.format.c_str();
  node.schema.name = node.name.c_str();
  node.schema.flags = nullable ? kArrowFlagNullable : 0;
  node.schema.release = ReleaseSchema;
  node.array.length = length;
  node.array.null_count = null_count;
  node.array.release = ReleaseArray;
  return node;
}

const void* ArrowBatchExport::ConvertedTicks(const Column& column, int unit_digits) {
  int64_t factor = 1;
  for (int i = column.storage().precision; i < unit_digits; ++i) factor *= 10;
  std::vector<int64_t>& ticks = converted_.emplace_back(column.size());
  for (size_t row = 0; row < column.size(); ++row) {
    ticks[row] = column.FixedAt<int64_t>(row) * factor;
  }
  return ticks.data();
}

ArrowBatchExport::Node& ArrowBatchExport::AddColumn(const Column& column, const std::string& name) {
  const DataType& storage = column.storage();
  const void* validity = column.null_count() > 0 ? column.validity().data() : nullptr;
  auto length = static_cast<int64_t>(column.size());
  auto null_count = static_cast<int64_t>(column.null_count());
  std::string format;
  std::vector<const void*> buffers = {validity};
  std::vector<std::pair<const Column*, std::string>> children;

  if (const char* fixed = FixedFormat(storage.kind)) {
    format = fixed;
    buffers.push_back(NonNull(column.values().data()));
  } else {
    switch (storage.kind) {
      case TypeKind::kString:
      case TypeKind::kUuid:
        format = "z";
        buffers.push_back(NonNull(column.offsets().data()));
        buffers.push_back(column.bytes().data());
        break;
      case TypeKind::kFixedString:
        format = fmt::format("w:{}", storage.fixed_size);
        buffers.push_back(NonNull(column.values().data()));
        break;
      case TypeKind::kDateTime:
        // Values are UTC epoch seconds whatever the column's zone; ClickHouse keeps the instant.
        format = "tss:UTC";
        buffers.push_back(NonNull(column.values().data()));
        break;
      case TypeKind::kDateTime64: {
        int precision = storage.precision;
        int unit_digits = precision == 0 ? 0 : precision <= 3 ? 3 : precision <= 6 ? 6 : 9;
        format = fmt::format("ts{}:UTC", unit_digits == 0   ? 's'
                                         : unit_digits == 3 ? 'm'
                                         : unit_digits == 6 ? 'u'
                                                            : 'n');
        buffers.push_back(NonNull(unit_digits == precision ? column.values().data()
                                                           : ConvertedTicks(column, unit_digits)));
        break;
      }
      case TypeKind::kDecimal:
        format = fmt::format("d:{},{}", storage.precision, storage.scale);
        buffers.push_back(NonNull(column.values().data()));
        break;
      case TypeKind::kArray:
        format = "+l";
        buffers.push_back(NonNull(column.offsets().data()));
        children.emplace_back(&column.child(0), "item");
        break;
      case TypeKind::kMap:
        format = "+m";
        buffers.push_back(NonNull(column.offsets().data()));
        break;
      case TypeKind::kTuple:
        format = "+s";
        for (size_t i = 0; i < column.child_count(); ++i) {
          children.emplace_back(&column.child(i), storage.element_names.empty()
                                                      ? std::to_string(i + 1)
                                                      : storage.element_names[i]);
        }
        break;
      default:
        break;
    }
  }

  Node& node = NewNode(format, name, length, null_count, column.nullable());
  node.buffers = std::move(buffers);
  if (storage.kind == TypeKind::kMap) {
    // A map is a list of {key, value} structs; the struct level has no buffers of its own.
    const Column& keys = column.child(0);
    Node& entries = NewNode("+s", "entries", static_cast<int64_t>(keys.size()), 0, false);
    entries.buffers = {nullptr};
    for (size_t i = 0; i < 2; ++i) {
      Node& part = AddColumn(column.child(i), i == 0 ? "key" : "value");
      entries.child_schemas.push_back(&part.schema);
      entries.child_arrays.push_back(&part.array);
    }
    entries.schema.n_children = entries.array.n_children = 2;
    entries.schema.children = entries.child_schemas.data();
    entries.array.children = entries.child_arrays.data();
    entries.array.buffers = entries.buffers.data();
    entries.array.n_buffers = 1;
    node.child_schemas.push_back(&entries.schema);
    node.child_arrays.push_back(&entries.array);
  }
  for (const auto& [child_column, child_name] : children) {
    Node& child = AddColumn(*child_column, child_name);
    node.child_schemas.push_back(&child.schema);
    node.child_arrays.push_back(&child.array);
  }
  node.schema.n_children = node.array.n_children = static_cast<int64_t>(node.child_schemas.size());
  node.schema.children = node.child_schemas.empty() ? nullptr : node.child_schemas.data();
  node.array.children = node.child_arrays.empty() ? nullptr : node.child_arrays.data();
  node.array.buffers = node.buffers.data();
  node.array.n_buffers = static_cast<int64_t>(node.buffers.size());
  return node;
}

}  // namespace sluice
