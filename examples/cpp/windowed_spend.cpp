// sluice as a library: the quickstart's sample events, filtered to purchases, keyed by user and
// summed in 5-minute event-time windows, written to an embedded ClickHouse table with exactly-
// once checkpoints. The same job the spec's `aggregations` section describes, built from C++.
//
//   windowed_spend EVENTS.ndjson WORK_FOLDER
//
// Prints the five largest 5-minute spends.

#include <fmt/format.h>

#include <filesystem>

#include "runtime/job_builder.h"
#include "runtime/job_executor.h"
#include "sinks/clickhouse/clickhouse_sink.h"
#include "sources/file/file_source.h"
#include "warehouse/ddl.h"
#include "warehouse/embedded_warehouse.h"

using namespace sluice;

namespace {

DecodeField JsonField(const std::string& name, const std::string& type) {
  DecodeField field;
  field.name = name;
  field.path = {name};
  field.type = ParseDataType(type).value();
  return field;
}

int Fail(const Error& error) {
  fmt::print(stderr, "windowed_spend: {}\n", error.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: windowed_spend EVENTS.ndjson WORK_FOLDER\n");
    return 2;
  }
  std::filesystem::path work = argv[2];
  auto warehouse = EmbeddedWarehouse::Open((work / "data").string());
  if (!warehouse.ok()) return Fail(warehouse.error());
  for (const char* sql : {
           "CREATE TABLE IF NOT EXISTS spend_5m (user_id UInt64, window_start DateTime64(3, "
           "'UTC'), "
           "window_end DateTime64(3, 'UTC'), purchases UInt64, spend Decimal(38, 2), _version "
           "UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version, _is_deleted) ORDER BY "
           "(user_id, window_start) SETTINGS non_replicated_deduplication_window = 1000",
           "CREATE TABLE IF NOT EXISTS spend_5m_late (event_time DateTime64(3, 'UTC'), user_id "
           "UInt64, event_type String, amount Decimal(10, 2)) ENGINE = MergeTree ORDER BY tuple()",
       }) {
    if (auto done = (*warehouse)->Execute(sql); !done.ok()) return Fail(done.error());
  }
  auto dead_letters = DeadLetterTableSpec("spend_dead_letter");
  if (auto done = (*warehouse)->Execute(CreateTableSql(dead_letters, "default")); !done.ok()) {
    return Fail(done.error());
  }

  SourceSpec file;
  file.name = "events";
  file.path = argv[1];
  file.format = "ndjson";
  std::vector<DecodeField> fields = {
      JsonField("event_time", "DateTime64(3, 'UTC')"), JsonField("user_id", "UInt64"),
      JsonField("event_type", "String"), JsonField("amount", "Decimal(10, 2)")};
  auto source = std::make_unique<FileSource>(file, fields);
  Schema schema = source->schema();

  JobBuilder job("windowed_spend");
  job.AddSource("events", std::move(source), schema, {"event_time", 60'000})
      .DeadLettersTo("spend_dead_letter")
      .Filter("event_type = 'purchase'")
      .KeyBy({"user_id"})
      .Window(WindowAssigner::Tumbling(5 * 60 * 1000))
      .Aggregate({{"count", "purchases"}, {"sum", "spend", "amount"}},
                 {.table = "spend_5m", .late_table = "spend_5m_late", .parallelism = 2});
  auto graph = job.Build();
  if (!graph.ok()) return Fail(graph.error());

  JobOptions options;
  options.checkpoint_directory = (work / "checkpoints").string();
  options.state_directory = (work / "state").string();
  options.make_sink = [&](const std::string& table) {
    return std::make_unique<ClickHouseSink>(**warehouse, "windowed_spend", "default", table);
  };
  options.tables = {"spend_5m", "spend_5m_late", "spend_dead_letter"};
  auto executor = JobExecutor::Start(std::move(*graph), std::move(options));
  if (!executor.ok()) return Fail(executor.error());
  if (auto finished = (*executor)->WaitFinished(); !finished.ok()) return Fail(finished.error());
  if (auto stopped = (*executor)->Stop(); !stopped.ok()) return Fail(stopped.error());

  auto top = (*warehouse)
                 ->Query(
                     "SELECT user_id, window_start, purchases, spend FROM spend_5m FINAL "
                     "ORDER BY spend DESC, user_id LIMIT 5",
                     "PrettyCompactMonoBlock");
  if (!top.ok()) return Fail(top.error());
  fmt::print("{}", top->data);
  return 0;
}
