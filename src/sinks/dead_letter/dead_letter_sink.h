#pragma once

#include <string>

#include "core/batch.h"
#include "dataflow/source.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// Writes refused records into a stream's dead-letter table (schema: DeadLetterTableSpec),
/// with the same deduplication scheme as the table sink.
class DeadLetterTableSink : public DeadLetterSink {
 public:
  DeadLetterTableSink(Warehouse& warehouse, std::string pipeline, std::string stream,
                      std::string database, std::string table);

  Status Write(const std::vector<DeadLetter>& dead_letters, const std::string& identity) override;

 private:
  Warehouse& warehouse_;
  std::string pipeline_;
  std::string stream_;
  std::string database_;
  std::string table_;
  Batch batch_;
};

}  // namespace sluice
