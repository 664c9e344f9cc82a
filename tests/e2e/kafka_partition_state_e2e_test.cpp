// Window state that follows its Kafka partitions between sluice processes: real `sluice run`
// processes sharing one consumer group on librdkafka's mock cluster (not a real broker: none is
// packaged), while messages keep arriving:
//   1. process A reads all four partitions alone and opens windows in every one;
//   2. process B joins: two partitions move to B, which loads their open windows from the
//      checkpoint A's committed offsets name;
//   3. A is killed with SIGKILL and never restarted: its partitions move to B with the state
//      of A's last committed checkpoint.
// Each process writes its own embedded ClickHouse. Per partition, user and window the newest
// version over both tables (what a ReplacingMergeTree shared by both would keep) must equal,
// row for row, an uninterrupted run of one process over the same topic; rows both processes
// wrote for the same window and version must be identical; nothing may be late. Without the
// state following its partitions, a window open when its partition moved would be split in two
// partial rows and the comparison fails. Run once per state backend (memory, RocksDB).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "kafka_events.h"
#include "kafka_test_cluster.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::KafkaEventProducer;
using testing_support::KafkaTestCluster;
using testing_support::QueryRows;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WaitUntil;
using testing_support::WriteFile;

constexpr int kPartitions = 4;
constexpr int kUsers = 41;

std::string Spec(const std::string& bootstrap, const std::string& group,
                 const std::string& backend) {
  return fmt::format(R"yaml(pipeline: partition_state
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
    key_by: [kafka_partition, user]
    state_follows_partitions: true
    window: {{type: tumbling, size: 10s}}
    event_time: {{field: ts, max_out_of_orderness: 2s, idle_timeout: 10s}}
    parallelism: 2
    state_backend: {}
    aggregates:
      - {{name: events, function: count}}
      - {{name: spend, function: sum, field: amount}}
      - {{name: largest, function: max, field: amount}}
)yaml",
                     bootstrap, group, backend);
}

/// The group has committed every partition's log end: everything produced is in ClickHouse.
bool WaitAllCommitted(KafkaTestCluster& cluster, const std::string& group, int seconds) {
  return WaitUntil(seconds, [&] {
    return cluster.CommittedOffsets(group, "events", kPartitions) ==
           cluster.EndOffsets("events", kPartitions);
  });
}

/// Result rows of windows that closed in every partition ("partition, user, start" -> version
/// and values), each row once; `conflicts` collects rows of one window and version that differ.
using Results = std::map<std::string, std::pair<uint64_t, std::string>>;
void AddResults(const std::string& spec, int64_t closed_before, Results& results,
                std::vector<std::string>& conflicts) {
  std::istringstream rows(QueryRows(
      spec, fmt::format("SELECT kafka_partition, user, toUnixTimestamp64Milli(window_start), "
                        "_version, events, spend, largest FROM per_user WHERE _is_deleted = 0 "
                        "AND toUnixTimestamp64Milli(window_end) <= {}",
                        closed_before)));
  for (std::string line; std::getline(rows, line);) {
    std::istringstream fields(line);
    std::string partition, user, start, values;
    uint64_t version = 0;
    std::getline(fields, partition, '\t');
    std::getline(fields, user, '\t');
    std::getline(fields, start, '\t');
    fields >> version;
    std::getline(fields >> std::ws, values);
    std::string window = partition + " " + user + " " + start;
    auto [found, inserted] = results.try_emplace(window, version, values);
    if (inserted) continue;
    if (found->second.first == version && found->second.second != values) {
      conflicts.push_back(window + " v" + std::to_string(version) + ": " + values + " vs " +
                          found->second.second);
    }
    if (version > found->second.first) found->second = {version, values};
  }
}

std::string Describe(const Results& results) {
  std::string text;
  for (const auto& [window, row] : results) {
    text += window + " v" + std::to_string(row.first) + " " + row.second + "\n";
  }
  return text;
}

/// The state backend of every process: a partition's state moves in either's snapshots.
class KafkaPartitionStateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(KafkaPartitionStateTest, WindowsFollowTheirPartitionsToAnotherProcess) {
  TempDir folder("sluice-partition-state");
  KafkaTestCluster cluster(folder.path(), {{"events", kPartitions}});
  std::vector<std::string> specs;
  std::vector<std::string> logs;
  for (const std::string name : {"a", "b"}) {
    std::filesystem::create_directories(folder.path() / name);
    specs.push_back((folder.path() / name / "spec.yaml").string());
    logs.push_back((folder.path() / name / "sluice.log").string());
    WriteFile(specs.back(), Spec(cluster.bootstrap(), "shared", GetParam()));
  }
  KafkaEventProducer producer(cluster, kUsers, kPartitions);
  producer.Produce(400);
  {
    SluiceProcess a(specs[0], logs[0]);
    ASSERT_NE(a.WaitForPort(), 0) << ReadFile(logs[0]);
    producer.ProduceFor(std::chrono::milliseconds(5000), 20);
    SluiceProcess b(specs[1], logs[1]);
    ASSERT_NE(b.WaitForPort(), 0) << ReadFile(logs[1]);
    producer.ProduceFor(std::chrono::milliseconds(7000), 20);
    ASSERT_NE(ReadFile(logs[1]).find("adopted from"), std::string::npos)
        << "B took no partition over with its state: the test proved nothing\n"
        << ReadFile(logs[0]) << ReadFile(logs[1]);
    size_t adopted_before_kill = 0;
    for (size_t at = 0; (at = ReadFile(logs[1]).find("adopted from", at)) != std::string::npos;
         ++at) {
      ++adopted_before_kill;
    }
    a.Kill(SIGKILL);
    EXPECT_EQ(a.Wait(), 128 + SIGKILL);
    producer.ProduceFor(std::chrono::milliseconds(6000), 20);
    ASSERT_TRUE(WaitAllCommitted(cluster, "shared.per_user", 60)) << ReadFile(logs[1]);
    size_t adopted = 0;
    for (size_t at = 0; (at = ReadFile(logs[1]).find("adopted from", at)) != std::string::npos;
         ++at) {
      ++adopted;
    }
    EXPECT_GT(adopted, adopted_before_kill)
        << "B did not load the killed member's partitions from its checkpoint\n"
        << ReadFile(logs[1]);
    b.Kill(SIGTERM);
    ASSERT_EQ(b.Wait(), 0) << ReadFile(logs[1]);
  }
  EXPECT_NE(ReadFile(logs[0]).find("dropped"), std::string::npos)
      << "A never gave a partition's state away\n"
      << ReadFile(logs[0]);

  // An uninterrupted run of one process over the same topic, in a group of its own.
  std::filesystem::create_directories(folder.path() / "reference");
  std::string reference = (folder.path() / "reference" / "spec.yaml").string();
  std::string reference_log = (folder.path() / "reference" / "sluice.log").string();
  WriteFile(reference, Spec(cluster.bootstrap(), "reference", GetParam()));
  {
    SluiceProcess sluice(reference, reference_log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(reference_log);
    ASSERT_TRUE(WaitAllCommitted(cluster, "reference.per_user", 60)) << ReadFile(reference_log);
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(reference_log);
  }
  // Windows every partition's watermark has passed: ending at least 3 s (the 2 s
  // out-of-orderness and a margin) before the smallest of the partitions' newest event times.
  std::string newest =
      QueryRows(reference,
                "SELECT min(newest) FROM (SELECT max(toUnixTimestamp64Milli(ts)) AS "
                "newest FROM events GROUP BY kafka_partition)");
  int64_t closed_before = std::stoll(newest) - 3000;

  Results expected;
  std::vector<std::string> conflicts;
  AddResults(reference, closed_before, expected, conflicts);
  ASSERT_GT(expected.size(), 100u) << ReadFile(reference_log);
  Results shared;
  for (const std::string& spec : specs) AddResults(spec, closed_before, shared, conflicts);
  EXPECT_TRUE(conflicts.empty()) << fmt::format("{}", fmt::join(conflicts, "\n"));
  EXPECT_EQ(Describe(shared), Describe(expected));
  for (const std::string& spec : {specs[0], specs[1], reference}) {
    EXPECT_EQ(QueryRows(spec, "SELECT count() FROM per_user_late"), "0\n") << spec;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaPartitionStateTest, ::testing::Values("memory", "rocksdb"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "memory" ? "Memory" : "RocksDb";
                         });

}  // namespace
}  // namespace sluice
