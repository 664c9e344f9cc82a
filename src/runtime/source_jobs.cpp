#include "runtime/source_jobs.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "runtime/validate_stage.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/kafka/kafka_source.h"
#include "sources/nats/nats_source.h"
#include "sources/pg_connection.h"
#include "sources/postgres_cdc/postgres_cdc_source.h"
#include "sources/sql_poll/sql_poll_source.h"
#include "sources/stream_fields.h"
#include "warehouse/ddl.h"

namespace sluice {
namespace {

struct BuiltSource {
  std::unique_ptr<Source> source;
  Schema schema;
  ValidateStage::RecordOf record_of;
  KafkaSource* kafka = nullptr;  // for its lag
  NatsSource* nats = nullptr;    // for its lag
};

BuiltSource Build(const SourceSpec& spec, const StreamSpec& stream, const TableSpec& table) {
  BuiltSource built;
  if (spec.type == "kafka") {
    auto kafka = KafkaSource::FromSpec(spec, stream, table);
    kafka->KeepRowRecords(true);
    KafkaSource* raw = kafka.get();
    built.kafka = raw;
    built.record_of = [raw](size_t row) { return raw->RowRecord(row); };
    built.schema = kafka->schema();
    built.source = std::move(kafka);
  } else if (spec.type == "nats") {
    auto nats = NatsSource::FromSpec(spec, stream, table);
    nats->KeepRowRecords(true);
    NatsSource* raw = nats.get();
    built.nats = raw;
    built.record_of = [raw](size_t row) { return raw->RowRecord(row); };
    built.schema = nats->schema();
    built.source = std::move(nats);
  } else {
    auto poll = std::make_unique<SqlPollSource>(spec.name, *spec.sql_poll,
                                                StreamDecodeFields(stream, table), spec.batch_rows);
    std::string name = spec.name;
    built.record_of = [name](size_t row) {
      return std::pair<std::string, std::string>{"", name + " row " + std::to_string(row)};
    };
    built.schema = poll->schema();
    built.source = std::move(poll);
  }
  return built;
}

/// A PostgreSQL CDC source's stage: its rows go to one table per source table, each Poll's to
/// the table the source names (Source::LastPollTable), in that table's current schema.
SourceStage CdcStage(const PipelineSpec& spec, const SourceSpec& source, Warehouse& warehouse,
                     PostgresCdcSource*& cdc, std::set<std::string>& tables) {
  const PostgresCdcSpec& options = *source.postgres_cdc;
  auto made = std::make_unique<PostgresCdcSource>(source.name, options, source.batch_rows,
                                                  &warehouse, spec.warehouse.database);
  cdc = made.get();
  SourceStage stage;
  stage.name = source.name;
  stage.source = std::move(made);
  stage.stream = source.name;
  stage.dead_letter_table = SourceDeadLetterTableName(source);
  for (const std::string& qualified : options.tables) {
    tables.insert(options.table_prefix + SplitQualifiedName(qualified).second);
  }
  tables.insert(stage.dead_letter_table);
  return stage;
}

void ExportCdcMetrics(PostgresCdcSource& cdc, MetricRegistry& metrics, const std::string& pipeline,
                      const std::string& name) {
  PostgresCdcMetrics now = cdc.Metrics();
  for (const PostgresCdcMetrics::TableProgress& table : now.tables) {
    metrics.GetGauge(Metric::kCdcSnapshotRows, {pipeline, name, table.table})
        .Set(static_cast<double>(table.snapshot_rows_done));
    metrics.GetGauge(Metric::kCdcSnapshotRowsEstimated, {pipeline, name, table.table})
        .Set(static_cast<double>(table.snapshot_rows_total));
  }
  metrics.GetGauge(Metric::kCdcSnapshotActive, {pipeline, name}).Set(now.snapshotting ? 1 : 0);
  metrics.GetGauge(Metric::kCdcReplicationDelayBytes, {pipeline, name})
      .Set(static_cast<double>(now.replication_delay_bytes));
  metrics.GetGauge(Metric::kCdcReplicationDelaySeconds, {pipeline, name})
      .Set(now.replication_delay_seconds);
}

}  // namespace

bool SourceJobs::Runs(const SourceSpec& source) {
  return source.type == "kafka" || source.type == "nats" || source.type == "sql_poll" ||
         source.type == "postgres_cdc";
}

Result<std::unique_ptr<SourceJobs>> SourceJobs::Start(const PipelineSpec& spec,
                                                      Warehouse& warehouse,
                                                      MetricRegistry& metrics) {
  auto jobs = std::make_unique<SourceJobs>();
  jobs->metrics_ = &metrics;
  for (const SourceSpec& source : spec.sources) {
    if (!Runs(source)) continue;
    JobGraph graph;
    graph.pipeline = spec.name;
    JobOptions options;
    KafkaSource* kafka = nullptr;
    NatsSource* nats = nullptr;
    PostgresCdcSource* cdc = nullptr;
    std::string into;
    if (source.type == "postgres_cdc") {
      graph.sources.push_back(CdcStage(spec, source, warehouse, cdc, options.tables));
      into = fmt::format("{} tables", source.postgres_cdc->tables.size());
    } else {
      const StreamSpec& stream = *spec.FindStream(source.stream);
      const TableSpec& table = *spec.FindTable(stream.table);
      BuiltSource built;
      try {
        built = Build(source, stream, table);
      } catch (const SetupError& error) {
        return error.error();
      }
      kafka = built.kafka;
      nats = built.nats;
      SourceStage stage;
      stage.name = source.name;
      stage.schema = built.schema;
      stage.source = std::move(built.source);
      stage.table = table.name;
      stage.stream = stream.name;
      stage.dead_letter_table = DeadLetterTableName(stream);
      if (stream.NeedsValidation()) {
        auto validate = ValidateOperator::Build(stream, stage.schema);
        if (!validate.ok()) return validate.error();
        stage.chain.push_back(
            {std::make_shared<ValidateStage>(source.name + ".validate", stream.name, stage.schema,
                                             std::move(*validate), built.record_of),
             {stage.dead_letter_table}});
      }
      options.tables = {table.name, stage.dead_letter_table};
      options.receipt_latency_tables.insert(table.name);
      if (!stream.event_time.empty()) {
        options.latency_columns.push_back({table.name, stream.event_time, "event_time"});
      }
      options.dead_letter_streams[stage.dead_letter_table] = stream.name;
      into = "table " + table.name;
      graph.sources.push_back(std::move(stage));
    }
    options.checkpoint_directory =
        (std::filesystem::path(spec.checkpoint.path) / ("source-" + source.name)).string();
    options.checkpoint_interval_ms = spec.checkpoint.interval.count();
    options.checkpoints_retained = spec.checkpoint.retain;
    options.metrics = &metrics;
    std::string database = spec.warehouse.database;
    std::string pipeline = spec.name;
    options.make_sink = [&warehouse, pipeline, database](const std::string& name) {
      return std::make_unique<ClickHouseSink>(warehouse, pipeline, database, name);
    };
    auto job = JobExecutor::Start(std::move(graph), std::move(options));
    if (!job.ok()) {
      return MakeError(job.error().code, "source " + source.name + ": " + job.error().message,
                       job.error().where);
    }
    // Scrape hooks read the sources from here on: they were opened by the job's start.
    MetricRegistry* registry = &metrics;
    std::string name = source.name;
    if (kafka != nullptr) {
      jobs->scrape_hooks_.push_back(metrics.AddScrapeHook([kafka, registry, pipeline, name] {
        for (const PartitionLag& lag : kafka->Lag()) {
          registry
              ->GetGauge(Metric::kSourceLag,
                         {pipeline, name,
                          lag.partition.topic + "/" + std::to_string(lag.partition.partition)})
              .Set(static_cast<double>(lag.lag));
        }
      }));
    }
    if (nats != nullptr) {
      std::string partition = source.nats->stream;
      jobs->scrape_hooks_.push_back(
          metrics.AddScrapeHook([nats, registry, pipeline, name, partition] {
            registry->GetGauge(Metric::kSourceLag, {pipeline, name, partition})
                .Set(static_cast<double>(nats->Pending()));
          }));
    }
    if (cdc != nullptr) {
      jobs->scrape_hooks_.push_back(metrics.AddScrapeHook(
          [cdc, registry, pipeline, name] { ExportCdcMetrics(*cdc, *registry, pipeline, name); }));
    }
    spdlog::info("source {} ({}) running into {}", source.name, source.type, into);
    jobs->jobs_.push_back(std::move(*job));
  }
  return jobs;
}

SourceJobs::~SourceJobs() {
  for (uint64_t hook : scrape_hooks_) metrics_->RemoveScrapeHook(hook);
}

Status SourceJobs::Stop() {
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
