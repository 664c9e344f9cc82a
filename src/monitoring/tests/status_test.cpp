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
