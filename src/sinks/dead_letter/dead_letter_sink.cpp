#include "sinks/dead_letter/dead_letter_sink.h"

#include <fmt/format.h>

#include "warehouse/ddl.h"

namespace sluice {
Schema DeadLetterSchema() {
  Schema schema;
  for (const ColumnSpec& column : DeadLetterTableSpec("dead_letter").columns) {
    schema.push_back({column.name, column.type});
  }
  return schema;
}

void AppendDeadLetter(const DeadLetter& letter, std::string_view stream, Batch& batch) {
  const Schema& schema = batch.schema();
  for (size_t i = 0; i < schema.size(); ++i) {
    Column& column = batch.column(i);
    const std::string& name = schema[i].name;
    if (name == "received_at") {
      column.AppendFixed<int64_t>(letter.received_at_ms);
    } else if (name == "source") {
      column.AppendString(letter.source);
    } else if (name == "stream") {
      column.AppendString(stream);
    } else if (name == "location") {
      column.AppendString(letter.location);
    } else if (name == "error_code") {
      column.AppendFixed<uint16_t>(ErrorCodeNumber(letter.error.code));
    } else if (name == "error_name") {
      column.AppendString(ErrorCodeName(letter.error.code));
    } else if (name == "field") {
      column.AppendString(letter.error.where);
    } else if (name == "message") {
      column.AppendString(letter.error.message);
    } else if (name == "raw") {
      column.AppendString(letter.raw);
    }
  }
}

DeadLetterTableSink::DeadLetterTableSink(Warehouse& warehouse, std::string pipeline,
                                         std::string stream, std::string database,
                                         std::string table, MetricRegistry* metrics)
    : stream_(std::move(stream)),
      table_sink_(warehouse, std::move(pipeline), std::move(database), std::move(table)),
      batch_(DeadLetterSchema()),
      counts_(metrics != nullptr ? std::make_unique<DeadLetterMetrics>(*metrics, stream_)
                                 : nullptr) {}

Status DeadLetterTableSink::Write(const std::vector<DeadLetter>& dead_letters,
                                  const std::string& identity) {
  batch_.Clear();
  for (const DeadLetter& letter : dead_letters) AppendDeadLetter(letter, stream_, batch_);
  Status written = WriteBatch(batch_, identity);
  if (written.ok() && counts_) {
    for (const DeadLetter& letter : dead_letters) counts_->Count(letter.error.code);
  }
  return written;
}

Status DeadLetterTableSink::WriteBatch(const Batch& batch, const std::string& identity) {
  return table_sink_.Write(batch, identity);
}

}  // namespace sluice
