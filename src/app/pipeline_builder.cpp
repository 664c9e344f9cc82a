#include "app/pipeline_builder.h"

#include "base/clock.h"
#include "operators/validate/validate_operator.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/file/file_source.h"
#include "sources/stream_fields.h"

namespace sluice {

std::vector<SourceRun> BuildSourceRuns(const PipelineSpec& spec, Warehouse& warehouse,
                                       MetricRegistry& metrics) {
  std::vector<SourceRun> runs;
  for (const SourceSpec& source : spec.sources) {
    if (source.type != "file") continue;  // the others run unbounded, as checkpointed jobs
    const StreamSpec& stream = *spec.FindStream(source.stream);
    const TableSpec& table = *spec.FindTable(stream.table);
    SourceRun run;
    run.spec = &source;
    run.source_metrics =
        std::make_unique<ComponentMetrics>(metrics, ComponentKind::kSource, "file", source.name);
    run.sink_metrics =
        std::make_unique<ComponentMetrics>(metrics, ComponentKind::kSink, "clickhouse", table.name);
    auto file = std::make_unique<FileSource>(source, StreamDecodeFields(stream, table),
                                             StreamDecodeOptions(stream));
    run.schema = file->schema();
    if (stream.NeedsValidation()) {
      // The loader has checked the rules against the fields, so building cannot fail here.
      auto validate =
          std::make_shared<ValidateOperator>(ValidateOperator::Build(stream, run.schema).value());
      std::shared_ptr<ValidateState> state = validate->CreateState();
      file->KeepRowRecords(true);
      FileSource* reader = file.get();
      run.process = [validate, state, reader, name = source.name](
                        Batch& batch, std::vector<DeadLetter>& dead_letters) {
        std::vector<RowFailure> failed;
        validate->Process(batch, failed, *state);
        for (RowFailure& failure : failed) {
          const auto& [raw, location] = reader->RowRecord(failure.row);
          dead_letters.push_back(
              DeadLetter{WallClockMillis(), name, location, raw, std::move(failure.error)});
        }
      };
    }
    run.source = std::move(file);
    run.sink =
        std::make_unique<ClickHouseSink>(warehouse, spec.name, spec.warehouse.database, table.name);
    run.dead_letter_sink = std::make_unique<DeadLetterTableSink>(
        warehouse, spec.name, stream.name, spec.warehouse.database, stream.dead_letter_table,
        &metrics);
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace sluice
