#include "app/pipeline_builder.h"

#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/file/file_source.h"
#include "sources/stream_fields.h"

namespace sluice {
std::vector<SourceRun> BuildSourceRuns(const PipelineSpec& spec, Warehouse& warehouse) {
  std::vector<SourceRun> runs;
  for (const SourceSpec& source : spec.sources) {
    const StreamSpec& stream = *spec.FindStream(source.stream);
    const TableSpec& table = *spec.FindTable(stream.table);
    SourceRun run;
    run.spec = &source;
    auto file = std::make_unique<FileSource>(source, StreamDecodeFields(stream, table));
    run.schema = file->schema();
    run.source = std::move(file);
    run.sink = std::make_unique<ClickHouseSink>(warehouse, spec.name, spec.warehouse.database,
                                                table.name);
    run.dead_letter_sink = std::make_unique<DeadLetterTableSink>(
        warehouse, spec.name, stream.name, spec.warehouse.database, stream.dead_letter_table);
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace sluice
