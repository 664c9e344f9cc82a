#include "monitoring/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

#include "metrics/metric_registry.h"

namespace sluice {
namespace {

TEST(PrometheusTextTest, ReadsWhatTheRegistryRenders) {
  MetricRegistry registry;
  registry.GetCounter(Metric::kDeadLetterRecords, {"ev\"en\\ts\n", "201", "RECORD_MISSING_FIELD"})
      .Increment(7);
  registry.GetGauge(Metric::kWalDiskBytes, {"p"}).Set(1.5);
  registry.GetHistogram(Metric::kEndToEndLatency, {"p", "t", "receipt"}).Observe(0.2, 3);
  auto samples = ParsePrometheusText(registry.RenderPrometheus());
  ASSERT_TRUE(samples.ok()) << samples.error().ToString();
  bool saw_counter = false, saw_gauge = false, saw_inf_bucket = false;
  for (const PrometheusSample& sample : *samples) {
    if (sample.name == "sluice_dead_letter_records_total") {
      saw_counter = true;
      EXPECT_EQ(sample.Label("stream"), "ev\"en\\ts\n");
      EXPECT_EQ(sample.Label("error_name"), "RECORD_MISSING_FIELD");
      EXPECT_EQ(sample.value, 7);
    }
    if (sample.name == "sluice_wal_disk_bytes") {
      saw_gauge = true;
      EXPECT_EQ(sample.value, 1.5);
    }
    if (sample.name == "sluice_end_to_end_latency_seconds_bucket" && sample.Label("le") == "+Inf") {
      saw_inf_bucket = true;
      EXPECT_EQ(sample.value, 3);
    }
  }
  EXPECT_TRUE(saw_counter && saw_gauge && saw_inf_bucket);
}

TEST(PrometheusTextTest, ReadsSpecialValuesAndTimestamps) {
  auto samples = ParsePrometheusText("a NaN\nb +Inf\nc -Inf 1700000000000\nd{} 2\n");
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 4u);
  EXPECT_TRUE(std::isnan((*samples)[0].value));
  EXPECT_TRUE(std::isinf((*samples)[1].value));
  EXPECT_LT((*samples)[2].value, 0);
  EXPECT_EQ((*samples)[3].value, 2);
}

TEST(PrometheusTextTest, MalformedLineNamesItsNumber) {
  auto samples = ParsePrometheusText("# HELP x y\nok 1\nbad{l=\"v} 1\n");
  ASSERT_FALSE(samples.ok());
  EXPECT_EQ(samples.error().code, ErrorCode::kMonitoringEndpointFailed);
  EXPECT_NE(samples.error().message.find("line 3"), std::string::npos) << samples.error().message;
  EXPECT_FALSE(ParsePrometheusText("x one\n").ok());
}

}  // namespace
}  // namespace sluice
