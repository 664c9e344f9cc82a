#include "core/column.h"

#include <algorithm>

namespace sluice {

Column::Column(DataType type) : type_(std::move(type)), nullable_(type_.IsNullable()) {
  const DataType& storage = type_.Storage();
  switch (storage.kind) {
    case TypeKind::kString:
    case TypeKind::kUuid:
      offsets_.push_back(0);
      break;
    case TypeKind::kArray:
      offsets_.push_back(0);
      children_.emplace_back(storage.children[0]);
      break;
    case TypeKind::kMap:
      offsets_.push_back(0);
      children_.emplace_back(storage.children[0]);
      children_.emplace_back(storage.children[1]);
      break;
    case TypeKind::kTuple:
      for (const DataType& element : storage.children) children_.emplace_back(element);
      break;
    default:
      break;
  }
}

size_t Column::FixedWidth(const DataType& storage) {
  switch (storage.kind) {
    case TypeKind::kInt8:
    case TypeKind::kUInt8:
    case TypeKind::kBool:
      return 1;
    case TypeKind::kInt16:
    case TypeKind::kUInt16:
      return 2;
    case TypeKind::kInt32:
    case TypeKind::kUInt32:
    case TypeKind::kFloat32:
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return 4;
    case TypeKind::kInt64:
    case TypeKind::kUInt64:
    case TypeKind::kFloat64:
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64:
      return 8;
    case TypeKind::kDecimal:
      return 16;
    case TypeKind::kFixedString:
      return storage.fixed_size;
    default:
      return 0;
  }
}

void Column::MarkValid() {
  if (!nullable_) return;
  size_t byte = rows_ >> 3;
  if (validity_.size() <= byte) validity_.push_back(0);
  validity_[byte] |= static_cast<uint8_t>(1u << (rows_ & 7));
}

void Column::AppendNull() {
  // The row still occupies its slot in every buffer so that offsets and widths line up.
  if (validity_.size() <= (rows_ >> 3)) validity_.push_back(0);
  ++null_count_;
  size_t width = FixedWidth(storage());
  if (width > 0) {
    values_.resize(values_.size() + width, 0);
  } else if (!offsets_.empty()) {
    offsets_.push_back(offsets_.back());
  }
  ++rows_;
}

void Column::AppendString(std::string_view bytes) {
  MarkValid();
  if (storage().kind == TypeKind::kFixedString) {
    size_t at = values_.size();
    values_.resize(at + storage().fixed_size, 0);
    std::memcpy(values_.data() + at, bytes.data(),
                std::min<size_t>(bytes.size(), storage().fixed_size));
  } else {
    bytes_.append(bytes);
    offsets_.push_back(static_cast<int32_t>(bytes_.size()));
  }
  ++rows_;
}

void Column::CloseNestedRow() {
  MarkValid();
  if (storage().kind != TypeKind::kTuple) {
    offsets_.push_back(static_cast<int32_t>(children_[0].size()));
  }
  ++rows_;
}

std::string_view Column::StringAt(size_t row) const {
  if (storage().kind == TypeKind::kFixedString) {
    return {reinterpret_cast<const char*>(values_.data()) + row * storage().fixed_size,
            storage().fixed_size};
  }
  return std::string_view(bytes_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
}

void Column::Truncate(size_t rows) {
  // Children are trimmed even when `rows` is the current size: a nested row that failed before
  // CloseNestedRow leaves elements in them that no row owns yet.
  rows = std::min(rows, rows_);
  if (nullable_ && rows < rows_) {
    for (size_t row = rows; row < rows_; ++row) {
      if (IsNull(row)) --null_count_;
    }
    validity_.resize((rows + 7) / 8);
    if (rows % 8 != 0) validity_.back() &= static_cast<uint8_t>((1u << (rows % 8)) - 1);
  }
  size_t width = FixedWidth(storage());
  if (width > 0) values_.resize(rows * width);
  switch (storage().kind) {
    case TypeKind::kString:
    case TypeKind::kUuid:
      bytes_.resize(offsets_[rows]);
      offsets_.resize(rows + 1);
      break;
    case TypeKind::kArray:
    case TypeKind::kMap:
      for (Column& child : children_) child.Truncate(offsets_[rows]);
      offsets_.resize(rows + 1);
      break;
    case TypeKind::kTuple:
      for (Column& child : children_) child.Truncate(rows);
      break;
    default:
      break;
  }
  rows_ = rows;
}

void Column::Filter(const std::vector<uint8_t>& keep) {
  size_t kept = 0;
  size_t width = FixedWidth(storage());
  bool variable = storage().kind == TypeKind::kString || storage().kind == TypeKind::kUuid;
  bool nested = storage().kind == TypeKind::kArray || storage().kind == TypeKind::kMap;
  // Children of Array and Map keep the elements of kept rows; elements past the last closed row
  // belong to no row and go.
  std::vector<uint8_t> child_keep;
  if (nested) child_keep.assign(children_[0].size(), 0);
  size_t null_count = 0;
  for (size_t row = 0; row < rows_; ++row) {
    if (keep[row] == 0) continue;
    if (nullable_) {
      bool is_null = IsNull(row);
      // `kept` <= `row`, so the bit written was already read.
      uint8_t mask = static_cast<uint8_t>(1u << (kept & 7));
      if (is_null) {
        validity_[kept >> 3] &= static_cast<uint8_t>(~mask);
        ++null_count;
      } else {
        validity_[kept >> 3] |= mask;
      }
    }
    if (width > 0 && kept != row) {
      std::memmove(values_.data() + kept * width, values_.data() + row * width, width);
    }
    if (variable) {
      int32_t begin = offsets_[row];
      int32_t end = offsets_[row + 1];
      if (kept != row && end > begin) {
        std::memmove(bytes_.data() + offsets_[kept], bytes_.data() + begin,
                     static_cast<size_t>(end - begin));
      }
      offsets_[kept + 1] = offsets_[kept] + (end - begin);
    } else if (nested) {
      int32_t begin = offsets_[row];
      int32_t end = offsets_[row + 1];
      std::fill(child_keep.begin() + begin, child_keep.begin() + end, 1);
      offsets_[kept + 1] = offsets_[kept] + (end - begin);
    }
    ++kept;
  }
  if (nullable_) {
    validity_.resize((kept + 7) / 8);
    if (kept % 8 != 0) validity_.back() &= static_cast<uint8_t>((1u << (kept % 8)) - 1);
    null_count_ = null_count;
  }
  if (width > 0) values_.resize(kept * width);
  if (variable) {
    bytes_.resize(offsets_[kept]);
    offsets_.resize(kept + 1);
  } else if (nested) {
    offsets_.resize(kept + 1);
    for (Column& child : children_) child.Filter(child_keep);
  } else if (storage().kind == TypeKind::kTuple) {
    for (Column& child : children_) child.Filter(keep);
  }
  rows_ = kept;
}

void Column::Reserve(size_t rows) {
  size_t width = FixedWidth(storage());
  if (width > 0) values_.reserve(rows * width);
  if (!offsets_.empty()) offsets_.reserve(rows + 1);
  if (nullable_) validity_.reserve((rows + 7) / 8);
}

void Column::AppendColumn(const Column& other) {
  if (nullable_) {
    for (size_t row = 0; row < other.rows_; ++row) {
      size_t at = rows_ + row;
      if (validity_.size() <= (at >> 3)) validity_.push_back(0);
      if (!other.IsNull(row)) validity_[at >> 3] |= static_cast<uint8_t>(1u << (at & 7));
    }
    null_count_ += other.null_count_;
  }
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  if (!offsets_.empty()) {
    // Offsets continue from where this column's data ends.
    int32_t base = offsets_.back();
    for (size_t i = 1; i < other.offsets_.size(); ++i) offsets_.push_back(base + other.offsets_[i]);
  }
  bytes_.append(other.bytes_);
  for (size_t i = 0; i < children_.size(); ++i) children_[i].AppendColumn(other.children_[i]);
  rows_ += other.rows_;
}

size_t Column::ByteSize() const {
  size_t total =
      validity_.size() + values_.size() + offsets_.size() * sizeof(int32_t) + bytes_.size();
  for (const Column& child : children_) total += child.ByteSize();
  return total;
}

}  // namespace sluice
