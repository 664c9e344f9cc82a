#include "runtime/aggregation_jobs.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "operators/filter/filter_operator.h"
#include "operators/window/window_operator.h"
#include "runtime/validate_stage.h"
#include "runtime/wal_source.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/file/file_source.h"
#include "sources/stream_fields.h"
#include "warehouse/ddl.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHttpSourceName = "http";

WindowKind KindOf(WindowSpec::Kind kind) {
  switch (kind) {
    case WindowSpec::Kind::kTumbling:
      return WindowKind::kTumbling;
    case WindowSpec::Kind::kHopping:
      return WindowKind::kHopping;
    case WindowSpec::Kind::kSession:
      return WindowKind::kSession;
    case WindowSpec::Kind::kGlobal:
      return WindowKind::kGlobal;
  }
  return WindowKind::kTumbling;
}

std::string JobFolder(const PipelineSpec& spec, const AggregationSpec& aggregation) {
  return (fs::path(spec.checkpoint.path) / aggregation.name).string();
}

/// Adds the filter of the aggregation, if any, to a source's chain.
Status AddFilter(const AggregationSpec& aggregation, const Schema& schema,
                 std::vector<ChainedOperator>& chain) {
  if (aggregation.filter.empty()) return {};
  FilterConfig config;
  config.name = aggregation.name + ".filter";
  config.input_schema = schema;
  config.condition = aggregation.filter;
  auto filter = FilterOperator::Build(std::move(config));
  if (!filter.ok()) return filter.error();
  chain.push_back({std::shared_ptr<const Operator>(std::move(*filter)), {}});
  return {};
}

Result<JobGraph> BuildGraph(const PipelineSpec& spec, const AggregationSpec& aggregation,
                            WriteAheadLog* wal) {
  const StreamSpec& stream = *spec.FindStream(aggregation.from);
  const TableSpec& table = *spec.FindTable(stream.table);
  JobGraph graph;
  graph.pipeline = spec.name;
  WatermarkStrategy watermark;
  if (aggregation.event_time) {
    watermark.time_field = aggregation.event_time->field;
    watermark.max_out_of_orderness_ms = aggregation.event_time->max_out_of_orderness.count();
    watermark.idle_timeout_ms = aggregation.event_time->idle_timeout.count();
  }
  Schema schema;
  for (const SourceSpec& source : spec.sources) {
    if (source.stream != stream.name) continue;
    auto file = std::make_unique<FileSource>(source, StreamDecodeFields(stream, table),
                                             StreamDecodeOptions(stream));
    SourceStage stage;
    stage.name = "file:" + source.name;
    stage.schema = file->schema();
    schema = stage.schema;
    if (stream.NeedsValidation()) {
      auto validate = ValidateOperator::Build(stream, stage.schema);
      if (!validate.ok()) return validate.error();
      stage.chain.push_back(
          {std::make_shared<ValidateStage>(aggregation.name + ".validate", stream.name,
                                           stage.schema, std::move(*validate), nullptr),
           {}});
    }
    if (Status added = AddFilter(aggregation, stage.schema, stage.chain); !added.ok()) {
      return added.error();
    }
    stage.source = std::move(file);
    stage.dead_letters_written_elsewhere = true;  // by the raw load of the same file
    stage.watermark = watermark;
    stage.to_keyed = true;
    stage.stream = stream.name;
    stage.dead_letter_table = DeadLetterTableName(stream);
    graph.sources.push_back(std::move(stage));
  }
  if (wal != nullptr) {
    uint32_t index = 0;
    while (spec.streams[index].name != stream.name) ++index;
    SourceStage stage;
    stage.name = std::string(kHttpSourceName);
    Schema fields;
    for (const DecodeField& field : StreamDecodeFields(stream, table)) {
      fields.push_back({field.name, field.type});
    }
    stage.schema = fields;
    schema = fields;
    stage.source = std::make_unique<WalSource>(*wal, index, fields);
    if (Status added = AddFilter(aggregation, stage.schema, stage.chain); !added.ok()) {
      return added.error();
    }
    stage.watermark = watermark;
    stage.to_keyed = true;
    stage.stream = stream.name;
    stage.dead_letter_table = DeadLetterTableName(stream);
    graph.sources.push_back(std::move(stage));
  }

  WindowOperatorConfig config;
  config.name = aggregation.name + ".window";
  config.input_schema = schema;
  config.key_fields = aggregation.key_by;
  config.time_field = aggregation.event_time ? aggregation.event_time->field : "";
  config.kind = KindOf(aggregation.window.kind);
  config.size_ms = aggregation.window.size.count();
  config.slide_ms = aggregation.window.slide.count();
  config.gap_ms = aggregation.window.gap.count();
  config.trigger_count = aggregation.window.trigger_count;
  config.trigger_interval_ms = aggregation.window.trigger_interval.count();
  config.allowed_lateness_ms = aggregation.allowed_lateness.count();
  for (const AggregateSpec& aggregate : aggregation.aggregates) {
    config.aggregates.push_back(
        {aggregate.function, aggregate.name, aggregate.field, aggregate.level, aggregate.k});
  }
  config.backend = aggregation.state_backend == AggregationSpec::StateBackend::kRocksDb
                       ? StateBackendKind::kRocksDb
                       : StateBackendKind::kMemory;
  auto window = WindowOperator::Make(std::move(config));
  if (!window.ok()) return window.error();
  KeyedStage keyed;
  keyed.key_fields = aggregation.key_by;
  keyed.op = std::shared_ptr<const Operator>(std::move(*window));
  keyed.port_tables = {aggregation.table, aggregation.late_table};
  keyed.late_port = 1;
  keyed.parallelism = aggregation.parallelism != 0
                          ? aggregation.parallelism
                          : std::max(1u, std::thread::hardware_concurrency());
  graph.keyed = std::move(keyed);
  return graph;
}

}  // namespace

uint64_t AggregationJobs::RetainAfterOnStart(const PipelineSpec& spec) {
  uint64_t retain = UINT64_MAX;
  for (const AggregationSpec& aggregation : spec.aggregations) {
    CheckpointStore store(JobFolder(spec, aggregation), 1);
    auto latest = store.Latest();
    uint64_t position = 0;
    if (latest.ok() && *latest) {
      for (const auto& [name, saved] : (*latest)->metadata.source_positions) {
        if (name == kHttpSourceName) position = WalSource::SequenceOf(saved).value_or(0);
      }
    }
    retain = std::min(retain, position);
  }
  return retain;
}

Result<std::unique_ptr<AggregationJobs>> AggregationJobs::Start(const PipelineSpec& spec,
                                                                Warehouse& warehouse,
                                                                MetricRegistry& metrics,
                                                                WriteAheadLog* wal,
                                                                const std::string& savepoint) {
  std::unique_ptr<AggregationJobs> jobs(new AggregationJobs());
  jobs->wal_ = wal;
  jobs->wal_positions_.assign(spec.aggregations.size(), 0);
  for (size_t index = 0; index < spec.aggregations.size(); ++index) {
    const AggregationSpec& aggregation = spec.aggregations[index];
    auto graph = BuildGraph(spec, aggregation, wal);
    if (!graph.ok()) return graph.error();
    if (graph->sources.empty()) {
      spdlog::warn(
          "aggregation {}: stream {} has no file source and sluice does not serve HTTP; "
          "nothing to aggregate",
          aggregation.name, aggregation.from);
      continue;
    }
    JobOptions options;
    options.checkpoint_directory = JobFolder(spec, aggregation);
    options.checkpoint_interval_ms = spec.checkpoint.interval.count();
    options.checkpoints_retained = spec.checkpoint.retain;
    options.state_directory =
        (fs::path(spec.checkpoint.path) / ".local" / aggregation.name).string();
    if (!savepoint.empty())
      options.restore_from = (fs::path(savepoint) / aggregation.name).string();
    options.metrics = &metrics;
    std::string database = spec.warehouse.database;
    std::string pipeline = spec.name;
    options.make_sink = [&warehouse, pipeline, database](const std::string& table) {
      return std::make_unique<ClickHouseSink>(warehouse, pipeline, database, table);
    };
    // Rows are kept in checkpoints as the window operator emits them (ClickHouse converts
    // them to the table's column types on insert).
    options.tables = {aggregation.table, aggregation.late_table,
                      DeadLetterTableName(*spec.FindStream(aggregation.from))};
    AggregationJobs* owner = jobs.get();
    options.on_committed = [owner, index](const CheckpointMetadata& metadata) {
      owner->OnCommitted(index, metadata);
    };
    auto job = JobExecutor::Start(std::move(*graph), std::move(options));
    if (!job.ok()) {
      return MakeError(job.error().code,
                       "aggregation " + aggregation.name + ": " + job.error().message,
                       job.error().where);
    }
    spdlog::info("aggregation {} running: {} over {}", aggregation.name, aggregation.from,
                 wal != nullptr ? "the HTTP API and its files" : "its files");
    jobs->names_.push_back(aggregation.name);
    jobs->jobs_.push_back(std::move(*job));
  }
  return jobs;
}

void AggregationJobs::OnCommitted(size_t job, const CheckpointMetadata& metadata) {
  if (wal_ == nullptr) return;
  std::lock_guard lock(retain_mutex_);
  for (const auto& [name, position] : metadata.source_positions) {
    if (name == kHttpSourceName) wal_positions_[job] = WalSource::SequenceOf(position).value_or(0);
  }
  uint64_t lowest = *std::min_element(wal_positions_.begin(), wal_positions_.end());
  if (Status held = wal_->SetRetainAfter(lowest); !held.ok()) {
    spdlog::warn("releasing write-ahead log segments failed: {}", held.error().ToString());
  }
}

Status AggregationJobs::WaitFinished() {
  for (auto& job : jobs_) {
    if (Status finished = job->WaitFinished(); !finished.ok()) return finished;
  }
  return {};
}

Result<std::string> AggregationJobs::Savepoint(const std::string& target) {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    auto saved = jobs_[i]->TriggerSavepoint((fs::path(target) / names_[i]).string());
    if (!saved.ok()) return saved.error();
  }
  return target;
}

Status AggregationJobs::Stop() {
  Status first;
  for (auto& job : jobs_) {
    Status stopped = job->Stop();
    if (!stopped.ok() && first.ok()) first = stopped;
  }
  return first;
}

}  // namespace sluice
