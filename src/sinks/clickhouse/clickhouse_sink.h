#pragma once

#include <string>

#include "dataflow/source.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// Writes batches into one ClickHouse table, each insert carrying a deduplication token derived
/// from the pipeline, the table and the batch identity, so replays never duplicate rows.
class ClickHouseSink : public Sink {
 public:
  ClickHouseSink(Warehouse& warehouse, std::string pipeline, std::string database,
                 std::string table);

  Status Write(const Batch& batch, const std::string& identity) override;
  Status Flush() override { return {}; }

 private:
  Warehouse& warehouse_;
  std::string pipeline_;
  std::string database_;
  std::string table_;
};

}  // namespace sluice
