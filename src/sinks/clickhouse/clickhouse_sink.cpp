#include "sinks/clickhouse/clickhouse_sink.h"

#include <fmt/format.h>

namespace sluice {

ClickHouseSink::ClickHouseSink(Warehouse& warehouse, std::string pipeline, std::string database,
                               std::string table)
    : warehouse_(warehouse),
      pipeline_(std::move(pipeline)),
      database_(std::move(database)),
      table_(std::move(table)) {}

Status ClickHouseSink::Write(const Batch& batch, const std::string& identity) {
  InsertRequest request;
  request.database = database_;
  request.table = table_;
  request.batch = &batch;
  request.deduplication_token = fmt::format("{}/{}/{}", pipeline_, table_, identity);
  auto result = warehouse_.Insert(request);
  if (!result.ok()) return result.error();
  return {};
}

}  // namespace sluice
