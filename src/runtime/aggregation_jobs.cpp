#include "runtime/aggregation_jobs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include "operators/enrich/enrich_operator.h"
#include "operators/enrich/postgres_lookup.h"
#include "operators/enrich/warehouse_lookup.h"
#include "operators/filter/filter_operator.h"
#include "operators/map/map_operator.h"
#include "operators/window/window_operator.h"
#include "runtime/transform_stage.h"
#include "runtime/validate_stage.h"
#include "runtime/wal_source.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/file/file_source.h"
#include "sources/kafka/kafka_source.h"
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

/// The fields every stream of the aggregation has, in the first stream's order (the loader has
/// checked that their types agree).
Schema UnionSchema(const PipelineSpec& spec, const AggregationSpec& aggregation) {
  Schema schema;
  const StreamSpec& first = *spec.FindStream(aggregation.from.front());
  for (const StreamFieldSpec& field : first.fields) {
    bool everywhere = true;
    for (const std::string& name : aggregation.from) {
      const StreamSpec& stream = *spec.FindStream(name);
      everywhere = everywhere && std::any_of(stream.fields.begin(), stream.fields.end(),
                                             [&](const StreamFieldSpec& other) {
                                               return other.name == field.name;
                                             });
    }
    if (everywhere) schema.push_back({field.name, field.type});
  }
  return schema;
}

/// The operators every source of an aggregation runs after its stream's validation, shared by
/// all of them (operators are immutable; each source creates its own state): map, enrichment,
/// filter, each only when the spec asks for it.
struct Transforms {
  Schema input;  // the union's fields
  std::shared_ptr<const Operator> map;
  std::shared_ptr<const Operator> enrich;
  std::shared_ptr<const Operator> filter;
  Schema output;  // what the keyed stage receives
};

Result<std::shared_ptr<LookupBackend>> ConnectLookup(const EnrichSpec& enrich,
                                                     const EnrichConfig& config,
                                                     Warehouse& warehouse) {
  if (enrich.backend == EnrichSpec::Backend::kPostgres) {
    auto lookup = PostgresLookup::Connect(enrich.dsn, config.lookup_table());
    if (!lookup.ok()) return lookup.error();
    return std::shared_ptr<LookupBackend>(std::move(*lookup));
  }
  auto lookup = WarehouseLookup::Create(warehouse, config.lookup_table());
  if (!lookup.ok()) return lookup.error();
  return std::shared_ptr<LookupBackend>(std::move(*lookup));
}

Result<Transforms> BuildTransforms(const PipelineSpec& spec, const AggregationSpec& aggregation,
                                   Warehouse& warehouse) {
  Transforms transforms;
  transforms.input = UnionSchema(spec, aggregation);
  Schema schema = transforms.input;
  if (!aggregation.map.empty()) {
    MapConfig config;
    config.name = aggregation.name + ".map";
    config.input_schema = schema;
    for (const MapFieldSpec& field : aggregation.map) {
      config.outputs.push_back({field.name, field.expression, std::nullopt});
    }
    auto map = MapOperator::Build(std::move(config));
    if (!map.ok()) return map.error();
    schema = (*map)->output_schemas()[0];
    transforms.map = std::move(*map);
  }
  if (aggregation.enrich) {
    const EnrichSpec& enrich = *aggregation.enrich;
    EnrichConfig config;
    config.name = aggregation.name + ".enrich";
    config.input_schema = schema;
    config.key_fields = enrich.key;
    config.table = enrich.table;
    config.key_columns = enrich.key_columns;
    for (const EnrichFieldSpec& field : enrich.fields) {
      config.columns.push_back({field.column, field.name, field.type});
    }
    config.cache_max_entries = enrich.cache_size;
    config.cache_ttl_ms = enrich.cache_ttl.count();
    config.max_in_flight = enrich.concurrency;
    config.max_keys_per_lookup = enrich.max_keys_per_lookup;
    config.timeout_ms = enrich.timeout.count();
    switch (enrich.fallback) {
      case EnrichSpec::Fallback::kNull:
        config.fallback = LookupFallback::kNull;
        break;
      case EnrichSpec::Fallback::kDeadLetter:
        config.fallback = LookupFallback::kDeadLetter;
        break;
      case EnrichSpec::Fallback::kFail:
        config.fallback = LookupFallback::kFail;
        break;
    }
    config.ordered = enrich.ordered;
    auto backend = ConnectLookup(enrich, config, warehouse);
    if (!backend.ok()) return backend.error();
    auto built = EnrichOperator::Build(std::move(config), std::move(*backend));
    if (!built.ok()) return built.error();
    schema = (*built)->output_schemas()[0];
    transforms.enrich = std::move(*built);
  }
  if (!aggregation.filter.empty()) {
    FilterConfig config;
    config.name = aggregation.name + ".filter";
    config.input_schema = schema;
    config.condition = aggregation.filter;
    auto filter = FilterOperator::Build(std::move(config));
    if (!filter.ok()) return filter.error();
    transforms.filter = std::move(*filter);
  }
  // The tables were created from the fields the loader resolved: the operators must agree.
  bool agree = schema.size() == aggregation.fields.size();
  for (size_t i = 0; agree && i < schema.size(); ++i) {
    agree = schema[i].name == aggregation.fields[i].first &&
            schema[i].type == aggregation.fields[i].second;
  }
  if (!agree) {
    return MakeError(ErrorCode::kInternal,
                     "the records' fields after map and enrich differ from the spec's",
                     aggregation.name);
  }
  transforms.output = std::move(schema);
  return transforms;
}

/// Chains to a source of `stream`: its projection onto the union's fields (when it has others),
/// then the shared map, enrichment and filter. Failed records of the map and the enrichment go
/// to the stream's dead-letter table.
Status AddTransforms(const AggregationSpec& aggregation, const Transforms& transforms,
                     const StreamSpec& stream, const Schema& schema, SourceStage& stage) {
  bool same = schema.size() == transforms.input.size();
  for (size_t i = 0; same && i < schema.size(); ++i) {
    same = schema[i].name == transforms.input[i].name;
  }
  if (!same) {
    // Bare field names: each output is the input column's value, with its type.
    MapConfig config;
    config.name = aggregation.name + ".union." + stream.name;
    config.input_schema = schema;
    config.keep_input_fields = false;
    for (const Field& field : transforms.input) {
      config.outputs.push_back({field.name, field.name, std::nullopt});
    }
    auto projection = MapOperator::Build(std::move(config));
    if (!projection.ok()) return projection.error();
    stage.chain.push_back({std::make_shared<TransformStage>(std::move(*projection), stream.name),
                           {DeadLetterTableName(stream)}});
  }
  for (const auto& op : {transforms.map, transforms.enrich}) {
    if (op == nullptr) continue;
    stage.chain.push_back(
        {std::make_shared<TransformStage>(op, stream.name), {DeadLetterTableName(stream)}});
  }
  if (transforms.filter != nullptr) stage.chain.push_back({transforms.filter, {}});
  return {};
}

/// The name of the HTTP source of `stream` in checkpoints: "http" when the aggregation reads one
/// stream (as before unions existed, so older checkpoints still restore), else "http:<stream>".
std::string HttpSourceName(const AggregationSpec& aggregation, const std::string& stream) {
  if (aggregation.from.size() == 1) return std::string(kHttpSourceName);
  return std::string(kHttpSourceName) + ":" + stream;
}

bool IsHttpSource(const std::string& name) {
  return name == kHttpSourceName || name.rfind(std::string(kHttpSourceName) + ":", 0) == 0;
}

/// The consumer group an aggregation reads a Kafka source's topics in: its own, so that the
/// stream's table load (in the source's group) and every aggregation each see every message.
std::string AggregationGroup(const SourceSpec& source, const AggregationSpec& aggregation) {
  return source.kafka->group_id + "." + aggregation.name;
}

/// The stage of a source that decodes the stream's records itself (a file, a Kafka topic): the
/// stream's validation, then the aggregation's transforms. Records the validation refuses are
/// left out: the stream's own load of the same source writes them to the dead-letter table.
Result<SourceStage> DecodingSourceStage(const AggregationSpec& aggregation,
                                        const Transforms& transforms, const StreamSpec& stream,
                                        std::string name, Schema schema,
                                        std::unique_ptr<Source> source) {
  SourceStage stage;
  stage.name = std::move(name);
  stage.schema = std::move(schema);
  if (stream.NeedsValidation()) {
    auto validate = ValidateOperator::Build(stream, stage.schema);
    if (!validate.ok()) return validate.error();
    stage.chain.push_back(
        {std::make_shared<ValidateStage>(aggregation.name + ".validate", stream.name, stage.schema,
                                         std::move(*validate), nullptr),
         {}});
  }
  if (Status added = AddTransforms(aggregation, transforms, stream, stage.schema, stage);
      !added.ok()) {
    return added.error();
  }
  stage.source = std::move(source);
  stage.dead_letters_written_elsewhere = true;
  stage.to_keyed = true;
  stage.stream = stream.name;
  stage.dead_letter_table = DeadLetterTableName(stream);
  return stage;
}

/// A Kafka source of `stream` read for the aggregation, one partition per poll (a watermark per
/// partition).
Result<SourceStage> KafkaStage(const AggregationSpec& aggregation, const Transforms& transforms,
                               const SourceSpec& source, const StreamSpec& stream,
                               const TableSpec& table) {
  KafkaSourceSpec options = *source.kafka;
  options.group_id = AggregationGroup(source, aggregation);
  std::unique_ptr<KafkaSource> kafka;
  try {
    kafka = std::make_unique<KafkaSource>(aggregation.name + "." + source.name, std::move(options),
                                          source.batch_rows, StreamDecodeFields(stream, table),
                                          StreamDecodeOptions(stream));
  } catch (const SetupError& error) {
    return error.error();
  }
  kafka->PollOnePartitionAtATime(true);
  kafka->FollowPartitionState(aggregation.state_follows_partitions);
  Schema schema = kafka->schema();
  return DecodingSourceStage(aggregation, transforms, stream, "kafka:" + source.name,
                             std::move(schema), std::move(kafka));
}

Result<JobGraph> BuildGraph(const PipelineSpec& spec, const AggregationSpec& aggregation,
                            Warehouse& warehouse, WriteAheadLog* wal) {
  JobGraph graph;
  graph.pipeline = spec.name;
  WatermarkStrategy watermark;
  if (aggregation.event_time) {
    watermark.time_field = aggregation.event_time->field;
    watermark.max_out_of_orderness_ms = aggregation.event_time->max_out_of_orderness.count();
    watermark.idle_timeout_ms = aggregation.event_time->idle_timeout.count();
  }
  auto transforms = BuildTransforms(spec, aggregation, warehouse);
  if (!transforms.ok()) return transforms.error();
  for (const std::string& stream_name : aggregation.from) {
    const StreamSpec& stream = *spec.FindStream(stream_name);
    const TableSpec& table = *spec.FindTable(stream.table);
    for (const SourceSpec& source : spec.sources) {
      if (source.stream != stream.name || source.type != "file") continue;
      auto file = std::make_unique<FileSource>(source, StreamDecodeFields(stream, table),
                                               StreamDecodeOptions(stream));
      Schema schema = file->schema();
      auto stage = DecodingSourceStage(aggregation, *transforms, stream, "file:" + source.name,
                                       std::move(schema), std::move(file));
      if (!stage.ok()) return stage.error();
      stage->watermark = watermark;
      graph.sources.push_back(std::move(*stage));
    }
    for (const SourceSpec& source : spec.sources) {
      if (source.stream != stream.name || source.type != "kafka") continue;
      auto stage = KafkaStage(aggregation, *transforms, source, stream, table);
      if (!stage.ok()) return stage.error();
      stage->watermark = watermark;
      graph.sources.push_back(std::move(*stage));
    }
    // State that follows Kafka partitions belongs to partitions: records posted over HTTP
    // have none (they still land in the stream's table).
    if (wal != nullptr && !aggregation.state_follows_partitions) {
      uint32_t index = 0;
      while (spec.streams[index].name != stream.name) ++index;
      SourceStage stage;
      stage.name = HttpSourceName(aggregation, stream.name);
      Schema fields;
      for (const DecodeField& field : StreamDecodeFields(stream, table)) {
        fields.push_back({field.name, field.type});
      }
      stage.schema = fields;
      stage.source = std::make_unique<WalSource>(*wal, index, fields);
      if (Status added = AddTransforms(aggregation, *transforms, stream, stage.schema, stage);
          !added.ok()) {
        return added.error();
      }
      stage.watermark = watermark;
      stage.to_keyed = true;
      stage.stream = stream.name;
      stage.dead_letter_table = DeadLetterTableName(stream);
      graph.sources.push_back(std::move(stage));
    }
  }
  Schema schema = transforms->output;

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
  if (aggregation.state_follows_partitions) {
    // The loader checked that the first key field holds the partition number.
    for (const Field& field : schema) {
      if (field.name == aggregation.key_by.front()) {
        config.key_grouping.partition_width = Column::FixedWidth(field.type);
      }
    }
  }
  KeyGrouping grouping = config.key_grouping;
  auto window = WindowOperator::Make(std::move(config));
  if (!window.ok()) return window.error();
  KeyedStage keyed;
  keyed.key_fields = aggregation.key_by;
  keyed.op = std::shared_ptr<const Operator>(std::move(*window));
  keyed.port_tables = {aggregation.table, aggregation.late_table};
  keyed.late_port = 1;
  keyed.grouping = grouping;
  keyed.parallelism = aggregation.parallelism != 0
                          ? aggregation.parallelism
                          : std::max(1u, std::thread::hardware_concurrency());
  graph.keyed = std::move(keyed);
  return graph;
}

}  // namespace

uint64_t AggregationJobs::RetainAfterOnStart(const PipelineSpec& spec,
                                             const std::string& savepoint) {
  uint64_t retain = UINT64_MAX;
  for (const AggregationSpec& aggregation : spec.aggregations) {
    Result<std::optional<StoredCheckpoint>> latest = std::optional<StoredCheckpoint>();
    if (savepoint.empty()) {
      latest = CheckpointStore(JobFolder(spec, aggregation), 1).Latest();
    } else if (auto loaded =
                   CheckpointStore::Load((fs::path(savepoint) / aggregation.name).string());
               loaded.ok()) {
      latest = std::optional<StoredCheckpoint>(std::move(*loaded));
    }
    std::optional<uint64_t> position;
    if (latest.ok() && *latest) {
      for (const auto& [name, saved] : (*latest)->metadata.source_positions) {
        if (!IsHttpSource(name)) continue;
        uint64_t sequence = WalSource::SequenceOf(saved).value_or(0);
        position = std::min(position.value_or(UINT64_MAX), sequence);
      }
    }
    retain = std::min(retain, position.value_or(0));
  }
  return retain;
}

Status AggregationJobs::CheckSavepoint(const PipelineSpec& spec, Warehouse& warehouse,
                                       const std::string& savepoint) {
  for (const AggregationSpec& aggregation : spec.aggregations) {
    std::string folder = (fs::path(savepoint) / aggregation.name).string();
    auto loaded = CheckpointStore::Load(folder);
    if (!loaded.ok()) return loaded.error();
    auto graph = BuildGraph(spec, aggregation, warehouse, nullptr);
    // A graph that cannot be built yet (it may need what the migration adds) is checked when
    // the job restores, as every savepoint is.
    if (!graph.ok() || !graph->keyed) continue;
    const auto* window = dynamic_cast<const WindowOperator*>(graph->keyed->op.get());
    if (window == nullptr) continue;
    std::vector<std::string> snapshots;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(loaded->directory, error)) {
      if (entry.is_directory() && entry.path().filename().string().rfind("op-", 0) == 0) {
        snapshots.push_back(entry.path().string());
      }
    }
    if (Status fits = window->CheckSnapshots(snapshots); !fits.ok()) {
      return MakeError(fits.error().code,
                       "aggregation " + aggregation.name + ": " + fits.error().message,
                       fits.error().where);
    }
  }
  return {};
}

Result<std::unique_ptr<AggregationJobs>> AggregationJobs::Start(const PipelineSpec& spec,
                                                                Warehouse& warehouse,
                                                                MetricRegistry& metrics,
                                                                WriteAheadLog* wal,
                                                                const std::string& savepoint) {
  std::unique_ptr<AggregationJobs> jobs(new AggregationJobs());
  jobs->wal_ = wal;
  jobs->metrics_ = &metrics;
  jobs->wal_positions_.assign(spec.aggregations.size(), 0);
  for (size_t index = 0; index < spec.aggregations.size(); ++index) {
    const AggregationSpec& aggregation = spec.aggregations[index];
    auto graph = BuildGraph(spec, aggregation, warehouse, wal);
    if (!graph.ok()) return graph.error();
    if (graph->sources.empty()) {
      spdlog::warn(
          "aggregation {}: stream {} has no file or kafka source and sluice does not serve "
          "HTTP; nothing to aggregate",
          aggregation.name, fmt::format("{}", fmt::join(aggregation.from, ", ")));
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
    options.tables = {aggregation.table, aggregation.late_table};
    for (const std::string& stream : aggregation.from) {
      options.tables.insert(DeadLetterTableName(*spec.FindStream(stream)));
    }
    // A result is as fresh as its window: timed from the window's end (a global window has
    // none).
    if (aggregation.window.kind != WindowSpec::Kind::kGlobal) {
      options.latency_columns.push_back({aggregation.table, "window_end", "window_end"});
    }
    AggregationJobs* owner = jobs.get();
    options.on_committed = [owner, index](const CheckpointMetadata& metadata) {
      owner->OnCommitted(index, metadata);
    };
    std::vector<std::string> inputs;
    std::vector<KafkaSource*> consumers;
    for (const SourceStage& stage : graph->sources) {
      inputs.push_back(stage.name);
      if (auto* kafka = dynamic_cast<KafkaSource*>(stage.source.get())) consumers.push_back(kafka);
    }
    auto job = JobExecutor::Start(std::move(*graph), std::move(options));
    if (!job.ok()) {
      return MakeError(job.error().code,
                       "aggregation " + aggregation.name + ": " + job.error().message,
                       job.error().where);
    }
    // Scrape hooks read the consumers from here on: the job's start opened them.
    for (KafkaSource* kafka : consumers) {
      MetricRegistry* registry = &metrics;
      jobs->scrape_hooks_.push_back(metrics.AddScrapeHook([kafka, registry, pipeline] {
        for (const PartitionLag& lag : kafka->Lag()) {
          registry
              ->GetGauge(Metric::kSourceLag,
                         {pipeline, kafka->name(),
                          lag.partition.topic + "/" + std::to_string(lag.partition.partition)})
              .Set(static_cast<double>(lag.lag));
        }
      }));
    }
    spdlog::info("aggregation {} running: {} over {}", aggregation.name,
                 fmt::format("{}", fmt::join(aggregation.from, ", ")),
                 fmt::format("{}", fmt::join(inputs, ", ")));
    jobs->names_.push_back(aggregation.name);
    jobs->jobs_.push_back(std::move(*job));
  }
  return jobs;
}

void AggregationJobs::OnCommitted(size_t job, const CheckpointMetadata& metadata) {
  if (wal_ == nullptr) return;
  std::lock_guard lock(retain_mutex_);
  std::optional<uint64_t> committed;
  for (const auto& [name, position] : metadata.source_positions) {
    if (!IsHttpSource(name)) continue;
    uint64_t sequence = WalSource::SequenceOf(position).value_or(0);
    committed = std::min(committed.value_or(UINT64_MAX), sequence);
  }
  if (committed) wal_positions_[job] = *committed;
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

AggregationJobs::~AggregationJobs() {
  for (uint64_t hook : scrape_hooks_) metrics_->RemoveScrapeHook(hook);
}

Status AggregationJobs::Stop() {
  for (uint64_t hook : scrape_hooks_) metrics_->RemoveScrapeHook(hook);
  scrape_hooks_.clear();
  Status first;
  for (auto& job : jobs_) {
    Status stopped = job->Stop();
    if (!stopped.ok() && first.ok()) first = stopped;
  }
  return first;
}

}  // namespace sluice
