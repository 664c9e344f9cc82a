#include "core/batch.h"

namespace sluice {

Batch::Batch(Schema schema) : schema_(std::move(schema)) {
  columns_.reserve(schema_.size());
  for (const Field& field : schema_) columns_.emplace_back(field.type);
}

void Batch::AppendBatch(const Batch& other) {
  for (size_t i = 0; i < columns_.size(); ++i) columns_[i].AppendColumn(other.columns_[i]);
}

void Batch::Truncate(size_t rows) {
  for (Column& column : columns_) column.Truncate(rows);
}

void Batch::Filter(const std::vector<uint8_t>& keep) {
  for (Column& column : columns_) column.Filter(keep);
}

size_t Batch::ByteSize() const {
  size_t total = 0;
  for (const Column& column : columns_) total += column.ByteSize();
  return total;
}

}  // namespace sluice
