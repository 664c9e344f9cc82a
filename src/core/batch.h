#pragma once

#include <string>
#include <vector>

#include "core/column.h"

namespace sluice {

/// A named, typed field of a record.
struct Field {
  std::string name;
  DataType type;
};

using Schema = std::vector<Field>;

/// A set of rows held column by column, typed by a Schema: the unit that moves between
/// sources, operators and sinks.
class Batch {
 public:
  explicit Batch(Schema schema);

  const Schema& schema() const { return schema_; }
  size_t num_rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
  size_t num_columns() const { return columns_.size(); }
  Column& column(size_t index) { return columns_[index]; }
  const Column& column(size_t index) const { return columns_[index]; }

  /// Appends every row of `other`, a batch of the same schema.
  void AppendBatch(const Batch& other);

  /// Drops every row from `rows` on, in every column.
  void Truncate(size_t rows);
  void Clear() { Truncate(0); }
  /// Keeps the rows whose `keep` entry is non-zero (one entry per row), in their order, in every
  /// column: how an operator removes rejected rows without copying the batch.
  void Filter(const std::vector<uint8_t>& keep);
  size_t ByteSize() const;

 private:
  Schema schema_;
  std::vector<Column> columns_;
};

}  // namespace sluice
