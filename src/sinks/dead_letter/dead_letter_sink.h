#pragma once

#include <string>

#include "core/batch.h"
#include "dataflow/source.h"
#include "metrics/component_metrics.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// The columns of every dead-letter table, in DeadLetterTableSpec's order.
Schema DeadLetterSchema();

/// Appends one refused record of `stream` as a row of a DeadLetterSchema() batch.
void AppendDeadLetter(const DeadLetter& letter, std::string_view stream, Batch& batch);

/// Writes refused records into a stream's dead-letter table (schema: DeadLetterTableSpec),
/// inserted like any table's rows (same deduplication scheme).
class DeadLetterTableSink : public DeadLetterSink {
 public:
  /// With `metrics`, written records are counted in sluice_dead_letter_records_total.
  DeadLetterTableSink(Warehouse& warehouse, std::string pipeline, std::string stream,
                      std::string database, std::string table, MetricRegistry* metrics = nullptr);

  Status Write(const std::vector<DeadLetter>& dead_letters, const std::string& identity) override;
  /// Inserts rows already in DeadLetterSchema() form.
  Status WriteBatch(const Batch& batch, const std::string& identity);

 private:
  std::string stream_;
  ClickHouseSink table_sink_;
  Batch batch_;
  std::unique_ptr<DeadLetterMetrics> counts_;
};

}  // namespace sluice
