#include "monitoring/query_log_metrics.h"

#include <gtest/gtest.h>

#include "monitoring/clickhouse_prober.h"

namespace sluice {
namespace {

TEST(QueryLogMetricsTest, KindIsTheFirstWordUpperCased) {
  EXPECT_EQ(QueryLogMetrics::KindOf("select 1"), "SELECT");
  EXPECT_EQ(QueryLogMetrics::KindOf("  \n\tInsert INTO t VALUES"), "INSERT");
  EXPECT_EQ(QueryLogMetrics::KindOf("/* x */ SELECT 1"), "OTHER");
  EXPECT_EQ(QueryLogMetrics::KindOf(""), "OTHER");
}

TEST(QueryLogMetricsTest, CountsFinishedFailedAndSlowStatementsByKind) {
  MetricRegistry registry;
  QueryLogMetrics metrics(registry, std::chrono::milliseconds(500));
  metrics.Record(
      {.sql = "SELECT a FROM t", .rows_read = 10, .bytes_read = 80, .elapsed_seconds = 0.25});
  metrics.Record(
      {.sql = "select b FROM t", .rows_read = 5, .bytes_read = 40, .elapsed_seconds = 0.75});
  metrics.Record({.sql = "SELECT broken", .failed = true, .elapsed_seconds = 2});
  metrics.Record({.sql = "INSERT INTO t SELECT 1", .elapsed_seconds = 0.5});
  auto counter = [&](Metric metric, const char* kind) {
    return registry.GetCounter(metric, {kind}).value();
  };
  EXPECT_EQ(counter(Metric::kClickHouseQueries, "SELECT"), 2u);
  EXPECT_EQ(counter(Metric::kClickHouseFailedQueries, "SELECT"), 1u);
  EXPECT_EQ(counter(Metric::kClickHouseSlowQueries, "SELECT"), 1u);  // 0.75 s; a failure is not
  EXPECT_EQ(counter(Metric::kClickHouseQueryReadRows, "SELECT"), 15u);
  EXPECT_EQ(counter(Metric::kClickHouseQueryReadBytes, "SELECT"), 120u);
  EXPECT_DOUBLE_EQ(registry.GetSampledCounter(Metric::kClickHouseQueryDuration, {"SELECT"}).value(),
                   1.0);
  EXPECT_EQ(counter(Metric::kClickHouseQueries, "INSERT"), 1u);
  EXPECT_EQ(counter(Metric::kClickHouseSlowQueries, "INSERT"), 0u);  // not slower than 500 ms
  // Every series of a kind exists from its first statement, at zero when nothing happened.
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("sluice_clickhouse_failed_queries_total{query_kind=\"INSERT\"} 0"),
            std::string::npos)
      << text;
}

TEST(QueryLogMetricsTest, LeavesTheProbesOwnQueriesOut) {
  MetricRegistry registry;
  QueryLogMetrics metrics(registry, std::chrono::milliseconds(1000));
  std::string probe = "SELECT metric, value FROM system.metrics " + std::string(kProbeMarker);
  metrics.Record({.sql = probe, .rows_read = 100});
  metrics.Record({.sql = probe, .failed = true});
  EXPECT_EQ(registry.RenderPrometheus(), "");
}

}  // namespace
}  // namespace sluice
