#include "monitoring/status.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "metrics/component_metrics.h"
#include "metrics/metric_registry.h"

namespace sluice {
namespace {

std::vector<PrometheusSample> Scrape(const MetricRegistry& registry) {
  auto samples = ParsePrometheusText(registry.RenderPrometheus());
  EXPECT_TRUE(samples.ok());
  return samples.ok() ? *samples : std::vector<PrometheusSample>{};
}

TEST(StatusTest, RatesTotalsDeadLettersAndTables) {
  MetricRegistry registry;
  ComponentMetrics source(registry, ComponentKind::kSource, "http", "events");
  DeadLetterMetrics dead(registry, "events");
  registry.GetGauge(Metric::kWalDiskBytes, {"p"}).Set(512);
  registry.GetGauge(Metric::kWalCapacityBytes, {"p"}).Set(1024);
  registry.GetGauge(Metric::kWalPendingRecords, {"p"}).Set(3);
  registry.GetGauge(Metric::kClickHouseTableParts, {"events"}).Set(4);
  registry.GetGauge(Metric::kClickHouseTableRows, {"events"}).Set(1000);
  registry.GetGauge(Metric::kClickHouseMaxPartsPerPartition, {"events"}).Set(2);
  source.RecordsReceived(100, 1000);
  auto first = Scrape(registry);
  source.RecordsReceived(50, 500);
  source.DeadLettered(5);
  dead.Count(ErrorCode::kRecordMissingField, 5);
  auto second = Scrape(registry);

  StatusReport report = BuildStatusReport(first, second, 2.0, 0);
  ASSERT_EQ(report.components.size(), 1u);
  EXPECT_EQ(report.components[0].id, "events");
  EXPECT_EQ(report.components[0].received, 150);
  EXPECT_EQ(report.components[0].received_per_second, 25);
  EXPECT_EQ(report.components[0].dead_lettered, 5);
  ASSERT_EQ(report.dead_letters.size(), 1u);
  EXPECT_EQ(report.dead_letters[0].error_name, "RECORD_MISSING_FIELD");
  EXPECT_EQ(report.dead_letters[0].records, 5);
  ASSERT_EQ(report.wal.size(), 1u);
  EXPECT_EQ(report.wal[0].pending_entries, 3);
  ASSERT_EQ(report.tables.size(), 1u);
  EXPECT_EQ(report.tables[0].rows, 1000);
  EXPECT_EQ(report.tables[0].max_parts_per_partition, 2);

  std::string text = RenderStatusText(report, "127.0.0.1:1");
  EXPECT_NE(text.find("RECORD_MISSING_FIELD"), std::string::npos) << text;
  EXPECT_NE(text.find("events"), std::string::npos);

  simdjson::padded_string json(RenderStatusJson(report, "127.0.0.1:1"));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_EQ(double(root["components"].at(0)["received_per_second"]), 25);
  EXPECT_EQ(std::string_view(root["dead_letters"].at(0)["error_code"]), "201");
  EXPECT_EQ(double(root["tables"].at(0)["parts"]), 4);
}

TEST(StatusTest, StreamingSideByOperatorSourceAndPipeline) {
  MetricRegistry registry;
  auto in = [&](const char* subtask) -> Counter& {
    return registry.GetCounter(Metric::kOperatorRecordsIn, {"p", "spend.window", subtask});
  };
  auto out = [&](const char* subtask) -> Counter& {
    return registry.GetCounter(Metric::kOperatorRecordsOut, {"p", "spend.window", subtask});
  };
  in("0").Increment(10);
  in("1").Increment(20);
  auto first = Scrape(registry);
  in("0").Increment(30);
  in("1").Increment(10);
  out("0").Increment(4);
  out("1").Increment(2);
  registry.GetCounter(Metric::kLateRecords, {"p", "spend.window", "1"}).Increment(3);
  registry.GetGauge(Metric::kOperatorStateEntries, {"p", "spend.window", "0"}).Set(7);
  registry.GetGauge(Metric::kOperatorStateEntries, {"p", "spend.window", "1"}).Set(5);
  registry.GetGauge(Metric::kWatermarkLag, {"p", "http"}).Set(2.5);
  registry.GetGauge(Metric::kSourceLag, {"p", "clicks", "clicks/0"}).Set(12);
  registry.GetGauge(Metric::kLastCheckpoint, {"p"}).Set(990);
  registry.GetCounter(Metric::kCheckpoints, {"p", "completed"}).Increment(6);
  auto second = Scrape(registry);

  StatusReport report = BuildStatusReport(first, second, 4.0, 1000);
  ASSERT_EQ(report.operators.size(), 1u);
  const StatusReport::Operator& window = report.operators[0];
  EXPECT_EQ(window.op, "spend.window");
  EXPECT_EQ(window.subtasks, 2);
  EXPECT_EQ(window.records_in, 70);
  EXPECT_EQ(window.records_in_per_second, 10);
  EXPECT_EQ(window.records_out, 6);
  EXPECT_EQ(window.records_out_per_second, 1.5);
  EXPECT_EQ(window.late, 3);
  EXPECT_EQ(window.state_entries, 12);
  ASSERT_EQ(report.watermarks.size(), 1u);
  EXPECT_EQ(report.watermarks[0].lag_seconds, 2.5);
  ASSERT_EQ(report.lag.size(), 1u);
  EXPECT_EQ(report.lag[0].records, 12);
  ASSERT_EQ(report.checkpoints.size(), 1u);
  EXPECT_EQ(report.checkpoints[0].age_seconds, 10);
  EXPECT_EQ(report.checkpoints[0].completed, 6);

  std::string text = RenderStatusText(report, "127.0.0.1:1");
  for (const char* expected : {"spend.window", "Watermark lag", "clicks/0", "10 s ago"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  simdjson::padded_string json(RenderStatusJson(report, "127.0.0.1:1"));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(root["operators"].at(0)["operator"]), "spend.window");
  EXPECT_EQ(double(root["operators"].at(0)["records_in"]), 70);
  EXPECT_EQ(double(root["operators"].at(0)["late"]), 3);
  EXPECT_EQ(double(root["watermarks"].at(0)["lag_seconds"]), 2.5);
  EXPECT_EQ(double(root["lag"].at(0)["records"]), 12);
  EXPECT_EQ(double(root["checkpoints"].at(0)["age_seconds"]), 10);
  EXPECT_EQ(std::string_view(root["target"]), "127.0.0.1:1");
}

TEST(StatusTest, PostgresCdcProgressAndDelay) {
  MetricRegistry registry;
  registry.GetGauge(Metric::kCdcSnapshotActive, {"p", "pg"}).Set(1);
  registry.GetGauge(Metric::kCdcSnapshotRows, {"p", "pg", "orders"}).Set(1500);
  registry.GetGauge(Metric::kCdcSnapshotRowsEstimated, {"p", "pg", "orders"}).Set(4000);
  registry.GetGauge(Metric::kCdcReplicationDelayBytes, {"p", "pg"}).Set(2048);
  registry.GetGauge(Metric::kCdcReplicationDelaySeconds, {"p", "pg"}).Set(0.5);
  auto scrape = Scrape(registry);
  StatusReport report = BuildStatusReport(scrape, scrape, 1.0, 0);
  ASSERT_EQ(report.cdc.size(), 1u);
  EXPECT_EQ(report.cdc[0].source, "pg");
  EXPECT_TRUE(report.cdc[0].snapshotting);
  EXPECT_EQ(report.cdc[0].delay_bytes, 2048);
  ASSERT_EQ(report.cdc[0].tables.size(), 1u);
  EXPECT_EQ(report.cdc[0].tables[0].snapshot_rows, 1500);
  EXPECT_EQ(report.cdc[0].tables[0].snapshot_rows_estimated, 4000);

  std::string text = RenderStatusText(report, "127.0.0.1:1");
  EXPECT_NE(text.find("copying the snapshot, replication delay 2.0 KiB / 0.5 s"), std::string::npos)
      << text;
  EXPECT_NE(text.find("snapshot 1500 of ~4000 rows"), std::string::npos) << text;
  simdjson::padded_string json(RenderStatusJson(report, "127.0.0.1:1"));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_TRUE(bool(root["cdc"].at(0)["snapshotting"]));
  EXPECT_EQ(double(root["cdc"].at(0)["tables"].at(0)["snapshot_rows"]), 1500);
}

}  // namespace
}  // namespace sluice
