#include "app/pipeline_builder.h"

#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/file/file_source.h"

namespace sluice {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

std::vector<DecodeField> StreamDecodeFields(const StreamSpec& stream, const TableSpec& table) {
  std::vector<DecodeField> fields;
  if (!stream.fields.empty()) {
    for (const StreamFieldSpec& field : stream.fields) {
      fields.push_back({field.name, field.type,
                        SplitPath(field.path.empty() ? field.name : field.path), field.required});
    }
    return fields;
  }
  for (const ColumnSpec& column : table.columns) {
    if (column.default_kind == ColumnSpec::DefaultKind::kMaterialized ||
        column.default_kind == ColumnSpec::DefaultKind::kAlias) {
      continue;
    }
    fields.push_back({column.name, column.type, {column.name}, false});
  }
  return fields;
}

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
