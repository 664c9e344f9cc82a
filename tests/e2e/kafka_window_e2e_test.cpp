// Windowed aggregations over a Kafka-fed stream, exactly once across SIGKILLs: real `sluice run`
// processes against librdkafka's mock cluster (not a real broker: no Kafka broker is packaged),
// killed at random (seeded) moments while messages keep arriving and started again. The topic
// is partitioned by the aggregation key, and each partition's event times lag the previous
// one's by 4 s (twice the allowed out-of-orderness): with one watermark for the whole source the
// lagging partitions' records would be late; with a watermark per partition none is. At the end
// the aggregation table
//   1. holds no late record and no row twice (even without FINAL);
//   2. equals ClickHouse's own GROUP BY over the stream's table, window by window;
//   3. equals, row for row, an uninterrupted run over the same topic;
// and the aggregation's consumer reports its lag per partition.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "http_client.h"
#include "kafka_events.h"
#include "kafka_test_cluster.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::KafkaEventProducer;
using testing_support::KafkaTestCluster;
using testing_support::QueryRows;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WaitUntil;
using testing_support::WriteFile;

constexpr int kPartitions = 4;
constexpr int kUsers = 53;

std::string Spec(const std::string& bootstrap, const std::string& group) {
  return fmt::format(R"yaml(pipeline: kafka_windows
warehouse: {{path: data}}
server: {{listen: "127.0.0.1:0"}}
wal: {{path: wal}}
checkpoint: {{path: checkpoints, interval: 200ms}}
tables:
  events:
    columns:
      - {{name: id, type: UInt64}}
      - {{name: user, type: String}}
      - {{name: amount, type: UInt64}}
      - {{name: ts, type: "DateTime64(3, 'UTC')"}}
      - {{name: kafka_partition, type: Int32}}
    order_by: [id]
streams:
  events:
    fields:
      - {{name: id, required: true}}
      - {{name: user}}
      - {{name: amount}}
      - {{name: ts}}
      - {{name: kafka_partition}}
sources:
  events:
    type: kafka
    stream: events
    batch_rows: 300
    kafka:
      brokers: {}
      topics: [events]
      group_id: {}
      start: earliest
      metadata: {{partition: kafka_partition}}
      properties: {{session.timeout.ms: 3000, heartbeat.interval.ms: 300}}
aggregations:
  per_user:
    from: events
    key_by: [user]
    window: {{type: tumbling, size: 10s}}
    # Nothing arrives over HTTP here: that input stops holding the watermark back after 3 s.
    event_time: {{field: ts, max_out_of_orderness: 2s, idle_timeout: 3s}}
    parallelism: 2
    aggregates:
      - {{name: events, function: count}}
      - {{name: spend, function: sum, field: amount}}
      - {{name: largest, function: max, field: amount}}
)yaml",
                     bootstrap, group);
}

/// Both consumer groups of the spec (the stream's table load and the aggregation's own) have
/// committed every partition's log end: everything produced is in ClickHouse.
bool WaitAllCommitted(KafkaTestCluster& cluster, const std::string& group, int seconds) {
  return WaitUntil(seconds, [&] {
    auto ends = cluster.EndOffsets("events", kPartitions);
    return cluster.CommittedOffsets(group, "events", kPartitions) == ends &&
           cluster.CommittedOffsets(group + ".per_user", "events", kPartitions) == ends;
  });
}

/// Windows every partition's watermark has passed at the end: those ending at least 3 s (the
/// 2 s out-of-orderness and a margin) before the smallest of the partitions' newest event times.
constexpr char kClosed[] =
    "toUnixTimestamp64Milli(window_end) <= (SELECT min(newest) FROM (SELECT "
    "max(toUnixTimestamp64Milli(ts)) AS newest FROM events GROUP BY kafka_partition)) - 3000";

std::string AggregateRows(const std::string& spec) {
  return QueryRows(spec,
                   std::string("SELECT user, toUnixTimestamp64Milli(window_start), events, spend, "
                               "largest, _version FROM per_user FINAL WHERE _is_deleted = 0 AND ") +
                       kClosed + " ORDER BY user, window_start");
}

TEST(KafkaWindowTest, KilledAndRestartedAggregationEqualsAnUninterruptedRun) {
  TempDir folder("sluice-kafka-windows");
  KafkaTestCluster cluster(folder.path(), {{"events", kPartitions}});
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, Spec(cluster.bootstrap(), "crashing"));

  KafkaEventProducer producer(cluster, kUsers, kPartitions, 4000);
  producer.Produce(400);
  std::mt19937 random(20261126);
  constexpr int kKills = 4;
  for (int round = 0; round < kKills; ++round) {
    SluiceProcess sluice(spec, log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(log);
    // The first group join takes about 3 s: some kills come before any partition is assigned,
    // most while messages flow and windows close.
    producer.ProduceFor(std::chrono::milliseconds(1500 + random() % 3000), 40);
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
  }
  {
    SluiceProcess last(spec, log);
    uint16_t port = last.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    producer.ProduceFor(std::chrono::milliseconds(500), 40);
    ASSERT_TRUE(WaitAllCommitted(cluster, "crashing", 30)) << ReadFile(log);
    // The aggregation's consumer reports its lag per partition: nothing left.
    std::string metrics = HttpRequestOnce(port, "GET", "/metrics").body;
    for (int partition = 0; partition < kPartitions; ++partition) {
      std::string series = fmt::format(
          "sluice_source_lag_records{{pipeline=\"kafka_windows\",source=\"per_user.events\","
          "partition=\"events/{}\"}} 0\n",
          partition);
      EXPECT_NE(metrics.find(series), std::string::npos) << series << metrics;
    }
    last.Kill(SIGTERM);
    ASSERT_EQ(last.Wait(), 0) << ReadFile(log);
  }
  ASSERT_NE(ReadFile(log).find("restoring from checkpoint"), std::string::npos)
      << "no round got as far as a checkpoint: the test proved nothing";

  // 1. Nothing late (each partition has its own watermark), nothing twice.
  EXPECT_EQ(QueryRows(spec, "SELECT count() FROM per_user_late"), "0\n");
  EXPECT_EQ(QueryRows(spec, "SELECT count() FROM per_user"),
            QueryRows(spec, "SELECT count() FROM per_user FINAL"));

  // 2. Equal to ClickHouse's own aggregation of the stored events.
  std::string rows = AggregateRows(spec);
  std::string expected = QueryRows(
      spec,
      "SELECT user, toUnixTimestamp(toStartOfInterval(ts, INTERVAL 10 SECOND)) * 1000 AS start, "
      "count() AS events, sum(amount) AS spend, max(amount) AS largest, count() AS _version "
      "FROM events GROUP BY user, start HAVING start + 10000 <= (SELECT min(newest) FROM (SELECT "
      "max(toUnixTimestamp64Milli(ts)) AS newest FROM events GROUP BY kafka_partition)) - 3000 "
      "ORDER BY user, start");
  ASSERT_GT(std::count(rows.begin(), rows.end(), '\n'), 100)
      << QueryRows(spec, "SELECT count(), max(window_end) FROM per_user") << ReadFile(log);
  EXPECT_EQ(rows, expected);

  // 3. An uninterrupted run over the same topic, in a consumer group of its own.
  TempDir reference_folder("sluice-kafka-windows-reference");
  std::string reference = (reference_folder.path() / "spec.yaml").string();
  std::string reference_log = (reference_folder.path() / "sluice.log").string();
  WriteFile(reference, Spec(cluster.bootstrap(), "uninterrupted"));
  {
    SluiceProcess sluice(reference, reference_log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(reference_log);
    ASSERT_TRUE(WaitAllCommitted(cluster, "uninterrupted", 30)) << ReadFile(reference_log);
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(reference_log);
  }
  EXPECT_EQ(QueryRows(reference, "SELECT count(), sum(id) FROM events"),
            QueryRows(spec, "SELECT count(), sum(id) FROM events"));
  EXPECT_EQ(AggregateRows(reference), rows);
}

}  // namespace
}  // namespace sluice
