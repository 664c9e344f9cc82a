#include "runtime/source_jobs.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "base/clock.h"
#include "operators/validate/validate_operator.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "sources/kafka/kafka_source.h"
#include "sources/nats/nats_source.h"
#include "sources/sql_poll/sql_poll_source.h"
#include "sources/stream_fields.h"
#include "warehouse/ddl.h"

namespace sluice {
namespace {

/// Applies a stream's validation rules on the source's thread: passing rows go on (port 0),
/// failing ones become dead-letter rows (port 1) with the record as the source received it.
class ValidateToDeadLetters final : public Operator {
 public:
  using RecordOf = std::function<std::pair<std::string, std::string>(size_t row)>;

  ValidateToDeadLetters(std::string name, std::string stream, Schema schema,
                        ValidateOperator validate, RecordOf record_of)
      : name_(std::move(name)),
        stream_(std::move(stream)),
        schema_(std::move(schema)),
        validate_(std::move(validate)),
        record_of_(std::move(record_of)) {}

  const std::string& name() const override { return name_; }
  const Schema& input_schema() const override { return schema_; }
  std::vector<Schema> output_schemas() const override { return {schema_, DeadLetterSchema()}; }

  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext&) const override {
    return std::unique_ptr<OperatorState>(new State(validate_.CreateState()));
  }

  Status Process(OperatorState& state, Batch& input, Emitter& out) const override {
    auto& own = static_cast<State&>(state);
    std::vector<RowFailure> failed;
    validate_.Process(input, failed, *own.validate);
    if (!failed.empty()) {
      Batch dead(DeadLetterSchema());
      for (RowFailure& failure : failed) {
        auto [raw, location] = record_of_(failure.row);
        AppendDeadLetter(
            DeadLetter{WallClockMillis(), name_, location, raw, std::move(failure.error)}, stream_,
            dead);
      }
      out.Emit(1, std::move(dead));
    }
    out.Emit(0, std::move(input));
    return {};
  }

 private:
  struct State : OperatorState {
    explicit State(std::shared_ptr<ValidateState> state) : validate(std::move(state)) {}
    std::shared_ptr<ValidateState> validate;
  };
  std::string name_;
  std::string stream_;
  Schema schema_;
  ValidateOperator validate_;
  RecordOf record_of_;
};

struct BuiltSource {
  std::unique_ptr<Source> source;
  Schema schema;
  ValidateToDeadLetters::RecordOf record_of;
  KafkaSource* kafka = nullptr;  // for its lag
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

}  // namespace

bool SourceJobs::Runs(const SourceSpec& source) {
  return source.type == "kafka" || source.type == "nats" || source.type == "sql_poll";
}

Result<std::unique_ptr<SourceJobs>> SourceJobs::Start(const PipelineSpec& spec,
                                                      Warehouse& warehouse,
                                                      MetricRegistry& metrics) {
  auto jobs = std::make_unique<SourceJobs>();
  jobs->metrics_ = &metrics;
  for (const SourceSpec& source : spec.sources) {
    if (!Runs(source)) continue;
    const StreamSpec& stream = *spec.FindStream(source.stream);
    const TableSpec& table = *spec.FindTable(stream.table);
    BuiltSource built;
    try {
      built = Build(source, stream, table);
    } catch (const SetupError& error) {
      return error.error();
    }
    JobGraph graph;
    graph.pipeline = spec.name;
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
      stage.chain.push_back({std::make_shared<ValidateToDeadLetters>(
                                 source.name + ".validate", stream.name, stage.schema,
                                 std::move(*validate), built.record_of),
                             {stage.dead_letter_table}});
    }
    if (built.kafka != nullptr) {
      KafkaSource* kafka = built.kafka;
      MetricRegistry* registry = &metrics;
      std::string pipeline = spec.name;
      std::string name = source.name;
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
    JobOptions options;
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
    options.table_schemas[table.name] = stage.schema;
    options.table_schemas[stage.dead_letter_table] = DeadLetterSchema();
    graph.sources.push_back(std::move(stage));
    auto job = JobExecutor::Start(std::move(graph), std::move(options));
    if (!job.ok()) {
      return MakeError(job.error().code, "source " + source.name + ": " + job.error().message,
                       job.error().where);
    }
    spdlog::info("source {} ({}) running into table {}", source.name, source.type, table.name);
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
