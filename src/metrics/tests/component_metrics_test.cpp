#include "metrics/component_metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(ComponentMetricsTest, CreatesTheStandardSeriesAtZero) {
  MetricRegistry registry;
  ComponentMetrics metrics(registry, ComponentKind::kSource, "http", "ingest");
  std::string text = registry.RenderPrometheus();
  for (std::string_view name :
       {"sluice_component_received_records_total", "sluice_component_received_bytes_total",
        "sluice_component_sent_records_total", "sluice_component_sent_bytes_total",
        "sluice_component_dead_letter_records_total"}) {
    EXPECT_NE(
        text.find(
            std::string(name) +
            "{component_kind=\"source\",component_type=\"http\",component_id=\"ingest\"} 0\n"),
        std::string::npos)
        << name << "\n"
        << text;
  }
  EXPECT_EQ(text.find("sluice_component_errors_total{"), std::string::npos);
}

TEST(ComponentMetricsTest, CountsRecordsBytesErrorsAndDeadLetters) {
  MetricRegistry registry;
  ComponentMetrics metrics(registry, ComponentKind::kSink, "clickhouse", "events_out");
  metrics.RecordsReceived(10, 1500);
  metrics.RecordsReceived(5, 500);
  metrics.RecordsSent(14, 1800);
  metrics.Error(ErrorCode::kRecordOutOfRange, Stage::kProcessing);
  metrics.Error(ErrorCode::kRecordOutOfRange, Stage::kProcessing, 2);
  metrics.Error(ErrorCode::kWarehouseUnavailable, Stage::kSending);
  metrics.DeadLettered(3);

  std::vector<std::string> labels = {"sink", "clickhouse", "events_out"};
  EXPECT_EQ(registry.GetCounter(Metric::kComponentReceivedRecords, labels).value(), 15u);
  EXPECT_EQ(registry.GetCounter(Metric::kComponentReceivedBytes, labels).value(), 2000u);
  EXPECT_EQ(registry.GetCounter(Metric::kComponentSentRecords, labels).value(), 14u);
  EXPECT_EQ(registry.GetCounter(Metric::kComponentSentBytes, labels).value(), 1800u);
  EXPECT_EQ(registry.GetCounter(Metric::kComponentDeadLetterRecords, labels).value(), 3u);
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("sluice_component_errors_total{component_kind=\"sink\",component_type="
                      "\"clickhouse\",component_id=\"events_out\",error_code=\"203\",error_name="
                      "\"RECORD_OUT_OF_RANGE\",stage=\"processing\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("error_code=\"300\",error_name=\"WAREHOUSE_UNAVAILABLE\",stage=\"sending\"} 1\n"),
      std::string::npos)
      << text;
}

TEST(ComponentMetricsTest, ErrorsFromManyThreadsAddUp) {
  MetricRegistry registry;
  ComponentMetrics metrics(registry, ComponentKind::kOperator, "validate", "check");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 20000; ++i) {
        metrics.Error(i % 2 == 0 ? ErrorCode::kRecordMissingField : ErrorCode::kRecordMalformed,
                      Stage::kProcessing);
        metrics.RecordsReceived(1, 10);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> base = {"operator", "validate", "check"};
  EXPECT_EQ(registry.GetCounter(Metric::kComponentReceivedBytes, base).value(), 800000u);
  EXPECT_EQ(registry
                .GetCounter(Metric::kComponentErrors, {"operator", "validate", "check", "201",
                                                       "RECORD_MISSING_FIELD", "processing"})
                .value(),
            40000u);
  EXPECT_EQ(registry
                .GetCounter(Metric::kComponentErrors, {"operator", "validate", "check", "200",
                                                       "RECORD_MALFORMED", "processing"})
                .value(),
            40000u);
}

TEST(ComponentMetricsTest, NamesKindsAndStages) {
  EXPECT_EQ(ComponentKindName(ComponentKind::kOperator), "operator");
  EXPECT_EQ(StageName(Stage::kReceiving), "receiving");
  EXPECT_EQ(StageName(Stage::kSending), "sending");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(DeadLetterMetricsTest, CountsByStreamAndCode) {
  MetricRegistry registry;
  DeadLetterMetrics events(registry, "events");
  DeadLetterMetrics clicks(registry, "clicks");
  events.Count(ErrorCode::kRecordMissingField, 2);
  events.Count(ErrorCode::kRecordMissingField);
  events.Count(ErrorCode::kRecordOutOfRange);
  clicks.Count(ErrorCode::kRecordMissingField, 5);
  EXPECT_EQ(
      registry.GetCounter(Metric::kDeadLetterRecords, {"events", "201", "RECORD_MISSING_FIELD"})
          .value(),
      3u);
  EXPECT_EQ(
      registry.GetCounter(Metric::kDeadLetterRecords, {"events", "203", "RECORD_OUT_OF_RANGE"})
          .value(),
      1u);
  EXPECT_EQ(
      registry.GetCounter(Metric::kDeadLetterRecords, {"clicks", "201", "RECORD_MISSING_FIELD"})
          .value(),
      5u);
}

}  // namespace
}  // namespace sluice
