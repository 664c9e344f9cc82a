#include "metrics/metric_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace sluice {
namespace {

constexpr std::string_view kPathLabels[] = {"method", "path"};
constexpr double kLatencyBuckets[] = {0.1, 1, 2.5};

constexpr MetricDescriptor kRequests{
    "test_requests_total", MetricType::kCounter, kPathLabels, {}, "Requests served."};
constexpr MetricDescriptor kQueueDepth{"test_queue_depth",
                                       MetricType::kGauge,
                                       {},
                                       {},
                                       "Records waiting.\nSecond line with a \\ backslash."};
constexpr MetricDescriptor kLatency{"test_latency_seconds", MetricType::kHistogram, kPathLabels,
                                    kLatencyBuckets, "Request latency."};

TEST(MetricRegistryTest, RendersTheExpositionFormatExactly) {
  MetricRegistry registry;
  registry.GetCounter(kRequests, {"GET", "/b"}).Increment(3);
  registry.GetCounter(kRequests, {"GET", "/a"}).Increment();
  registry.GetGauge(kQueueDepth, {}).Set(12.5);
  Histogram& latency = registry.GetHistogram(kLatency, {"POST", "/ingest"});
  for (double seconds : {0.0625, 0.09375, 0.75, 3.0}) latency.Observe(seconds);

  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP test_latency_seconds Request latency.\n"
            "# TYPE test_latency_seconds histogram\n"
            "test_latency_seconds_bucket{method=\"POST\",path=\"/ingest\",le=\"0.1\"} 2\n"
            "test_latency_seconds_bucket{method=\"POST\",path=\"/ingest\",le=\"1\"} 3\n"
            "test_latency_seconds_bucket{method=\"POST\",path=\"/ingest\",le=\"2.5\"} 3\n"
            "test_latency_seconds_bucket{method=\"POST\",path=\"/ingest\",le=\"+Inf\"} 4\n"
            "test_latency_seconds_sum{method=\"POST\",path=\"/ingest\"} 3.90625\n"
            "test_latency_seconds_count{method=\"POST\",path=\"/ingest\"} 4\n"
            "# HELP test_queue_depth Records waiting.\\nSecond line with a \\\\ backslash.\n"
            "# TYPE test_queue_depth gauge\n"
            "test_queue_depth 12.5\n"
            "# HELP test_requests_total Requests served.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{method=\"GET\",path=\"/a\"} 1\n"
            "test_requests_total{method=\"GET\",path=\"/b\"} 3\n");
}

TEST(MetricRegistryTest, EmptyRegistryRendersNothing) {
  MetricRegistry registry;
  EXPECT_EQ(registry.RenderPrometheus(), "");
}

TEST(MetricRegistryTest, SameLabelsGiveTheSameSeries) {
  MetricRegistry registry;
  Counter& first = registry.GetCounter(kRequests, {"GET", "/"});
  Counter& second = registry.GetCounter(kRequests, {"GET", "/"});
  Counter& other = registry.GetCounter(kRequests, {"PUT", "/"});
  EXPECT_EQ(&first, &second);
  EXPECT_NE(&first, &other);
}

TEST(MetricRegistryTest, LabelValuesAreEscaped) {
  MetricRegistry registry;
  registry.GetCounter(kRequests, {"GET", "a\"b\\c\nd"}).Increment();
  EXPECT_NE(registry.RenderPrometheus().find(
                "test_requests_total{method=\"GET\",path=\"a\\\"b\\\\c\\nd\"} 1\n"),
            std::string::npos)
      << registry.RenderPrometheus();
  EXPECT_EQ(EscapeLabelValue("plain, {with} = signs"), "plain, {with} = signs");
}

TEST(MetricRegistryTest, SampleValuesUsePrometheusSpellings) {
  EXPECT_EQ(FormatSampleValue(NAN), "NaN");
  EXPECT_EQ(FormatSampleValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatSampleValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
}

TEST(MetricRegistryTest, HistogramBucketsAreInclusiveAndCumulative) {
  Histogram histogram(kLatencyBuckets);
  for (double value : {0.1, 0.1000001, 1.0, 2.5, 2.6, -5.0, std::nan("")}) histogram.Observe(value);
  Histogram::Snapshot snapshot = histogram.Read();
  // -5 and 0.1 in le=0.1; 0.1000001 and 1 in le=1; 2.5 in le=2.5; 2.6 and NaN only in +Inf.
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_TRUE(std::isnan(snapshot.sum));
  Histogram no_buckets({});
  no_buckets.Observe(4);
  EXPECT_EQ(no_buckets.Read().cumulative, (std::vector<uint64_t>{1}));
  EXPECT_EQ(no_buckets.Read().sum, 4);
  constexpr double kUnsorted[] = {1, 0.5};
  EXPECT_THROW(Histogram{kUnsorted}, SetupError);
}

TEST(MetricRegistryTest, LocalObservationsAddUpLikeSingleOnes) {
  Histogram single(kLatencyBuckets);
  Histogram batched(kLatencyBuckets);
  Histogram::Local local(batched);
  for (double value : {0.05, 0.1, 0.7, 1.0, 2.5, 9.0, 0.2}) {
    single.Observe(value);
    local.Observe(value);
  }
  EXPECT_EQ(local.count(), 7u);
  EXPECT_EQ(batched.Read().cumulative, (std::vector<uint64_t>{0, 0, 0, 0}));  // not added yet
  batched.Add(local);
  batched.Add(Histogram::Local(batched));  // nothing observed: nothing added
  EXPECT_EQ(batched.Read().cumulative, single.Read().cumulative);
  EXPECT_DOUBLE_EQ(batched.Read().sum, single.Read().sum);
  EXPECT_EQ(batched.Read().cumulative.back(), 7u);
}

TEST(MetricRegistryTest, ConcurrentUpdatesAreExact) {
  MetricRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      // Each thread looks the series up itself: creation races as well as updates.
      Counter& shared = registry.GetCounter(kRequests, {"GET", "/shared"});
      Counter& own = registry.GetCounter(kRequests, {"GET", "/" + std::to_string(t)});
      Gauge& depth = registry.GetGauge(kQueueDepth, {});
      Histogram& latency = registry.GetHistogram(kLatency, {"GET", "/shared"});
      for (int i = 0; i < kIncrements; ++i) {
        shared.Increment();
        own.Increment(2);
        depth.Add(1);
        latency.Observe(i % 2 == 0 ? 0.5 : 5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(registry.GetCounter(kRequests, {"GET", "/shared"}).value(),
            uint64_t{kThreads} * kIncrements);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(registry.GetCounter(kRequests, {"GET", "/" + std::to_string(t)}).value(),
              2u * kIncrements);
  }
  EXPECT_EQ(registry.GetGauge(kQueueDepth, {}).value(), double{kThreads} * kIncrements);
  Histogram::Snapshot snapshot = registry.GetHistogram(kLatency, {"GET", "/shared"}).Read();
  EXPECT_EQ(snapshot.cumulative.back(), uint64_t{kThreads} * kIncrements);
  EXPECT_EQ(snapshot.cumulative[1], uint64_t{kThreads} * kIncrements / 2);
  EXPECT_EQ(snapshot.sum, kThreads * (kIncrements / 2) * 5.5);
}

TEST(MetricRegistryTest, MisuseIsASetupError) {
  MetricRegistry registry;
  EXPECT_THROW(registry.GetCounter(kRequests, {"GET"}), SetupError);
  EXPECT_THROW(registry.GetGauge(kRequests, {"GET", "/"}), SetupError);
  constexpr MetricDescriptor kImpostor{
      "test_requests_total", MetricType::kCounter, kPathLabels, {}, "Another description."};
  registry.GetCounter(kRequests, {"GET", "/"});
  EXPECT_THROW(registry.GetCounter(kImpostor, {"GET", "/"}), SetupError);
}

}  // namespace
}  // namespace sluice
