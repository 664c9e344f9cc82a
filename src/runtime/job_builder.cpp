#include "runtime/job_builder.h"

#include "operators/filter/filter_operator.h"
#include "operators/window/window_operator.h"

namespace sluice {

Schema DataStream::schema() const {
  const SourceStage& stage = job_.graph_.sources[source_];
  return stage.chain.empty() ? stage.schema : stage.chain.back().op->output_schemas()[0];
}

DataStream& DataStream::Filter(const std::string& condition) {
  SourceStage& stage = job_.graph_.sources[source_];
  FilterConfig config;
  config.name = stage.name + ".filter" + std::to_string(stage.chain.size());
  config.input_schema = schema();
  config.condition = condition;
  auto filter = FilterOperator::Build(std::move(config));
  if (!filter.ok()) {
    job_.Record(filter.error());
  } else {
    stage.chain.push_back({std::shared_ptr<const Operator>(std::move(*filter)), {}});
  }
  return *this;
}

DataStream& DataStream::SinkTo(const std::string& table) {
  job_.graph_.sources[source_].table = table;
  return *this;
}

DataStream& DataStream::DeadLettersTo(const std::string& table) {
  job_.graph_.sources[source_].dead_letter_table = table;
  return *this;
}

KeyedStream DataStream::KeyBy(std::vector<std::string> fields) {
  return KeyedStream(job_, source_, std::move(fields));
}

WindowedStream KeyedStream::Window(WindowAssigner assigner) {
  return WindowedStream(*this, assigner);
}

void WindowedStream::Aggregate(std::vector<AggregateCall> aggregates, AggregateOptions options) {
  JobBuilder& job = keyed_.job_;
  SourceStage& stage = job.graph_.sources[keyed_.source_];
  DataStream stream(job, keyed_.source_);
  WindowOperatorConfig config;
  config.name = stage.name + ".window";
  config.input_schema = stream.schema();
  config.key_fields = keyed_.keys_;
  config.time_field = stage.watermark.time_field;
  config.kind = assigner_.kind;
  config.size_ms = assigner_.size_ms;
  config.slide_ms = assigner_.slide_ms;
  config.gap_ms = assigner_.gap_ms;
  config.trigger_count = assigner_.trigger_count;
  config.trigger_interval_ms = assigner_.trigger_interval_ms;
  config.allowed_lateness_ms = options.allowed_lateness_ms;
  config.aggregates = std::move(aggregates);
  config.backend = options.backend;
  auto window = WindowOperator::Make(std::move(config));
  if (!window.ok()) {
    job.Record(window.error());
    return;
  }
  if (job.graph_.keyed) {
    job.Record(MakeError(ErrorCode::kSpecInvalidValue,
                         "a job has one keyed window stage; " + stage.name + " adds a second"));
    return;
  }
  stage.to_keyed = true;
  KeyedStage keyed;
  keyed.key_fields = keyed_.keys_;
  keyed.op = std::shared_ptr<const Operator>(std::move(*window));
  keyed.port_tables = {options.table, options.late_table};
  keyed.late_port = 1;
  keyed.parallelism = std::max<uint32_t>(options.parallelism, 1);
  job.graph_.keyed = std::move(keyed);
}

JobBuilder::JobBuilder(std::string pipeline) {
  graph_.pipeline = std::move(pipeline);
}

DataStream JobBuilder::AddSource(std::string name, std::unique_ptr<Source> source, Schema schema,
                                 WatermarkStrategy watermark) {
  SourceStage stage;
  stage.name = std::move(name);
  stage.source = std::move(source);
  stage.schema = std::move(schema);
  stage.watermark = std::move(watermark);
  stage.stream = stage.name;
  graph_.sources.push_back(std::move(stage));
  return DataStream(*this, graph_.sources.size() - 1);
}

void JobBuilder::Record(const Error& error) {
  errors_.push_back(error);
}

Result<JobGraph> JobBuilder::Build() {
  if (!errors_.empty()) return errors_.front();
  for (const SourceStage& stage : graph_.sources) {
    if (!stage.to_keyed && stage.table.empty()) {
      return MakeError(ErrorCode::kSpecInvalidValue,
                       "source " + stage.name + " leads nowhere: give it SinkTo or a window");
    }
  }
  return std::move(graph_);
}

}  // namespace sluice
