// Exactly once from queues and polled databases into ClickHouse, proven with real `sluice run`
// processes that are SIGKILLed at random (seeded) moments and started again while the upstream
// keeps receiving records:
//   - Kafka (librdkafka's mock cluster, not a real broker: no Kafka broker is packaged), one
//     process killed and restarted, with a poison message;
//   - Kafka, two processes in one consumer group, one killed for good, the other taking over;
//   - NATS JetStream (a real nats-server -js);
//   - MariaDB polled by an updated_at cursor, with inserts and updates (a real mariadbd), and
//     its table renamed away for a while (failing polls are retried).
// At the end every id is in ClickHouse exactly once; a failure names the ids missing or
// duplicated.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <ctime>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "http_client.h"
#include "kafka_test_cluster.h"
#include "mariadb_server.h"
#include "nats_test_server.h"
#include "sluice_process.h"
#include "sources/kafka/kafka_source.h"
#include "state/checkpoint_store.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::KafkaTestCluster;
using testing_support::NatsTestServer;
using testing_support::QueryRows;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WaitUntil;
using testing_support::WriteFile;
using SteadyClock = std::chrono::steady_clock;

constexpr int kPartitions = 4;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// The ids stored in `table` of the spec's warehouse, one entry per row.
std::vector<uint64_t> StoredIds(const std::string& spec, const std::string& table) {
  std::vector<uint64_t> ids;
  for (const std::string& line : Lines(QueryRows(spec, "SELECT id FROM " + table))) {
    ids.push_back(std::stoull(line));
  }
  return ids;
}

/// Empty when `stored` holds each of 0..count-1 exactly once; otherwise names the ids missing,
/// duplicated or unexpected (the first 20 of each).
std::string ExactlyOnce(const std::vector<uint64_t>& stored, uint64_t count) {
  std::map<uint64_t, int> seen;
  for (uint64_t id : stored) ++seen[id];
  std::vector<uint64_t> missing;
  std::vector<std::string> duplicated;
  std::vector<uint64_t> unexpected;
  for (uint64_t id = 0; id < count; ++id) {
    auto found = seen.find(id);
    if (found == seen.end()) {
      missing.push_back(id);
    } else if (found->second > 1) {
      duplicated.push_back(std::to_string(id) + " (x" + std::to_string(found->second) + ")");
    }
  }
  for (const auto& [id, times] : seen) {
    if (id >= count) unexpected.push_back(id);
  }
  auto list = [](const auto& items) {
    std::string text;
    for (size_t i = 0; i < items.size() && i < 20; ++i) {
      text += (i > 0 ? ", " : "") + fmt::format("{}", items[i]);
    }
    return text + (items.size() > 20 ? ", ..." : "");
  };
  std::string report;
  if (!missing.empty()) report += fmt::format("{} missing: {}\n", missing.size(), list(missing));
  if (!duplicated.empty()) {
    report += fmt::format("{} duplicated: {}\n", duplicated.size(), list(duplicated));
  }
  if (!unexpected.empty()) {
    report += fmt::format("{} unexpected: {}\n", unexpected.size(), list(unexpected));
  }
  if (!report.empty()) {
    report = fmt::format("{} rows stored for {} ids\n", stored.size(), count) + report;
  }
  return report;
}

int CountOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t size = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Waits up to `seconds` for `done`, checking every 100 ms.
// ---------------------------------------------------------------------------------------------
// Kafka

/// `session_ms`: the mock cluster keeps a killed member until its session times out, and waits
/// a second less than that for members to rejoin in a rebalance.
std::string KafkaSpec(const std::string& bootstrap, int session_ms) {
  return fmt::format(R"yaml(pipeline: kafka_crash
warehouse: {{path: data}}
server: {{listen: "127.0.0.1:0"}}
wal: {{path: wal}}
checkpoint: {{path: checkpoints, interval: 200ms}}
tables:
  events:
    columns:
      - {{name: id, type: UInt64}}
      - {{name: note, type: String}}
      - {{name: kafka_partition, type: Int32}}
      - {{name: kafka_offset, type: UInt64}}
    order_by: [id]
streams:
  events:
    fields:
      - {{name: id, required: true}}
      - {{name: note}}
      - {{name: kafka_partition}}
      - {{name: kafka_offset}}
sources:
  events:
    type: kafka
    stream: events
    batch_rows: 300
    kafka:
      brokers: {}
      topics: [events]
      group_id: sluice-crash
      start: earliest
      metadata: {{partition: kafka_partition, offset: kafka_offset}}
      properties: {{session.timeout.ms: {}, heartbeat.interval.ms: 300}}
)yaml",
                     bootstrap, session_ms);
}

/// Produces JSON messages with consecutive ids, spread over the partitions by id.
class IdProducer {
 public:
  explicit IdProducer(KafkaTestCluster& cluster) : cluster_(cluster) {}

  void Produce(int count) {
    std::vector<KafkaTestCluster::Message> messages;
    for (int i = 0; i < count; ++i, ++next_) {
      messages.push_back({.topic = "events",
                          .partition = static_cast<int32_t>(next_ % kPartitions),
                          .value = fmt::format(R"({{"id": {}, "note": "n{}"}})", next_, next_)});
    }
    cluster_.Produce(messages);
  }
  /// Produces chunks of `chunk` messages every 20 ms for `duration`.
  void ProduceFor(std::chrono::milliseconds duration, int chunk) {
    auto end = SteadyClock::now() + duration;
    while (SteadyClock::now() < end) {
      Produce(chunk);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  uint64_t produced() const { return next_; }

 private:
  KafkaTestCluster& cluster_;
  uint64_t next_ = 0;
};

/// Waits until the group has committed every partition's log end: everything produced is in
/// ClickHouse (offsets are committed only after the checkpoint that covers them).
bool WaitAllCommitted(KafkaTestCluster& cluster, int seconds) {
  return WaitUntil(seconds, [&] {
    return cluster.CommittedOffsets("sluice-crash", "events", kPartitions) ==
           cluster.EndOffsets("events", kPartitions);
  });
}

TEST(QueueCrashTest, KafkaKilledAndRestartedStoresEveryMessageOnce) {
  TempDir folder("sluice-kafka-crash");
  KafkaTestCluster cluster(folder.path(), {{"events", kPartitions}});
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  // Short, so that a restart does not wait long for the killed member to leave the group; not
  // shorter, or on a loaded machine a member misses the rebalance window and the group churns.
  WriteFile(spec, KafkaSpec(cluster.bootstrap(), 3000));

  IdProducer producer(cluster);
  producer.Produce(400);
  // Not JSON: a dead letter, and partition 1 keeps flowing behind it.
  cluster.Produce({{.topic = "events", .partition = 1, .value = "not json {"}});
  std::mt19937 random(20261126);
  constexpr int kKills = 5;
  for (int round = 0; round < kKills; ++round) {
    SluiceProcess sluice(spec, log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(log);
    // Up to 4 s: some kills come before the group has assigned any partition (the first
    // join takes about 3 s), most while messages flow.
    producer.ProduceFor(std::chrono::milliseconds(300 + random() % 3700), 40);
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    producer.Produce(200);  // while no sluice runs
  }
  {
    SluiceProcess last(spec, log);
    ASSERT_NE(last.WaitForPort(), 0) << ReadFile(log);
    producer.ProduceFor(std::chrono::milliseconds(1000), 40);
    ASSERT_TRUE(WaitAllCommitted(cluster, 30)) << ReadFile(log);
    last.Kill(SIGTERM);
    ASSERT_EQ(last.Wait(), 0) << ReadFile(log);
  }
  std::string text = ReadFile(log);
  EXPECT_GE(CountOf(text, "restoring from checkpoint"), 3)
      << "too few rounds got as far as a checkpoint: the test proved little\n"
      << text;

  std::vector<uint64_t> ids = StoredIds(spec, "events");
  EXPECT_EQ(ExactlyOnce(ids, producer.produced()), "");
  EXPECT_EQ(QueryRows(spec, "SELECT count(), uniqExact(id) FROM events"),
            fmt::format("{}\t{}\n", producer.produced(), producer.produced()));
  // Each row is the message at its own partition and offset, once.
  EXPECT_EQ(QueryRows(spec,
                      "SELECT count() FROM events WHERE kafka_partition != id % 4 OR "
                      "(kafka_partition, kafka_offset) IN (SELECT kafka_partition, kafka_offset "
                      "FROM events GROUP BY 1, 2 HAVING count() > 1)"),
            "0\n");
  EXPECT_EQ(QueryRows(spec, "SELECT location, error_code, raw FROM events_dead_letter"),
            "events/1@100\t200\tnot json {\n");
}

/// The checkpointed positions of a stopped process's newest complete checkpoint are all
/// committed to the group: its ClickHouse holds nothing the group has not committed.
bool NothingStoredBeyondCommitted(const std::string& checkpoints, KafkaTestCluster& cluster,
                                  std::string& why) {
  CheckpointStore store(checkpoints, 3);
  auto latest = store.Latest();
  if (!latest.ok() || !*latest) {
    why = "no checkpoint yet";
    return false;
  }
  std::vector<int64_t> committed = cluster.CommittedOffsets("sluice-crash", "events", kPartitions);
  bool stored_any = false;
  for (const auto& [source, position] : (*latest)->metadata.source_positions) {
    auto offsets = KafkaSource::ParsePosition(position);
    if (!offsets.ok()) {
      why = offsets.error().message;
      return false;
    }
    for (const auto& [partition, offset] : *offsets) {
      stored_any = stored_any || offset > 0;
      if (committed[partition.partition] < offset) {
        why = fmt::format("partition {}: checkpointed {}, committed {}", partition.partition,
                          offset, committed[partition.partition]);
        return false;
      }
    }
  }
  why = stored_any ? "" : "nothing checkpointed yet";
  return stored_any;
}

/// The number of partitions of the newest "assigned N partition(s)" line of a log (0: none).
int AssignedPartitions(const std::string& log) {
  std::string text = ReadFile(log);
  std::regex assigned(R"(assigned (\d+) partition)");
  int last = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), assigned);
       it != std::sregex_iterator(); ++it) {
    last = std::stoi((*it)[1]);
  }
  return last;
}

TEST(QueueCrashTest, KafkaGroupMemberTakesOverTheKilledMembersPartitions) {
  TempDir folder("sluice-kafka-group");
  KafkaTestCluster cluster(folder.path(), {{"events", kPartitions}});
  std::vector<std::string> specs;
  std::vector<std::string> logs;
  for (const char* name : {"one", "two"}) {
    std::filesystem::create_directories(folder.path() / name);
    specs.push_back((folder.path() / name / "spec.yaml").string());
    logs.push_back((folder.path() / name / "sluice.log").string());
    // Two members joining at once need the mock cluster's 3 s first join to fit in a session.
    WriteFile(specs.back(), KafkaSpec(cluster.bootstrap(), 6000));
  }
  IdProducer producer(cluster);
  std::mt19937 random(20261127);
  SluiceProcess two(specs[1], logs[1]);
  {
    SluiceProcess one(specs[0], logs[0]);
    ASSERT_NE(one.WaitForPort(), 0) << ReadFile(logs[0]);
    ASSERT_NE(two.WaitForPort(), 0) << ReadFile(logs[1]);
    // Both members own two partitions before anything is produced.
    ASSERT_TRUE(WaitUntil(
        30, [&] { return AssignedPartitions(logs[0]) == 2 && AssignedPartitions(logs[1]) == 2; }))
        << ReadFile(logs[0]) << ReadFile(logs[1]);
    producer.ProduceFor(std::chrono::milliseconds(1500 + random() % 1000), 40);
    // Kill one while messages flow, but never between a checkpoint's insert into its
    // ClickHouse and the offset commit that follows it (see docs/sources.md): stopped, its
    // newest checkpoint is compared with the group's committed offsets; if they differ, it
    // runs on a little and is checked again.
    std::string why;
    bool killed = false;
    for (int attempt = 0; attempt < 500 && !killed; ++attempt) {
      producer.Produce(20);
      one.Kill(SIGSTOP);
      if (NothingStoredBeyondCommitted(
              (folder.path() / "one" / "checkpoints" / "source-events").string(), cluster, why)) {
        one.Kill(SIGKILL);
        killed = true;
      } else {
        one.Kill(SIGCONT);
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + random() % 60));
      }
    }
    ASSERT_TRUE(killed) << "no moment to kill outside the commit window: " << why;
    EXPECT_EQ(one.Wait(), 128 + SIGKILL);
  }
  // The survivor gets all four partitions once the group drops the killed member.
  producer.ProduceFor(std::chrono::milliseconds(500), 40);
  ASSERT_TRUE(WaitUntil(30, [&] {
    producer.Produce(40);
    return AssignedPartitions(logs[1]) == kPartitions;
  })) << ReadFile(logs[1]);
  producer.ProduceFor(std::chrono::milliseconds(1000), 40);
  ASSERT_TRUE(WaitAllCommitted(cluster, 30)) << ReadFile(logs[1]);
  two.Kill(SIGTERM);
  ASSERT_EQ(two.Wait(), 0) << ReadFile(logs[1]);

  std::vector<uint64_t> first = StoredIds(specs[0], "events");
  std::vector<uint64_t> second = StoredIds(specs[1], "events");
  EXPECT_FALSE(first.empty()) << "the killed member stored nothing: the test proved little";
  std::vector<uint64_t> both = first;
  both.insert(both.end(), second.begin(), second.end());
  EXPECT_EQ(ExactlyOnce(both, producer.produced()), "");
  // The survivor stored messages of every partition: its own and the taken-over ones.
  EXPECT_EQ(QueryRows(specs[1], "SELECT uniqExact(kafka_partition) FROM events"), "4\n");
  EXPECT_EQ(QueryRows(specs[0], "SELECT uniqExact(kafka_partition) FROM events"), "2\n");
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream

TEST(QueueCrashTest, NatsKilledAndRestartedStoresEveryMessageOnce) {
  TempDir folder("sluice-nats-crash");
  NatsTestServer nats(folder.path());
  nats.AddStream("ORDERS", "orders.>");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, fmt::format(R"yaml(pipeline: nats_crash
warehouse: {{path: data}}
server: {{listen: "127.0.0.1:0"}}
wal: {{path: wal}}
checkpoint: {{path: checkpoints, interval: 200ms}}
tables:
  orders:
    columns:
      - {{name: id, type: UInt64}}
      - {{name: nats_sequence, type: UInt64}}
    order_by: [id]
streams:
  orders:
    fields:
      - {{name: id, required: true}}
      - {{name: nats_sequence}}
sources:
  orders:
    type: nats
    stream: orders
    batch_rows: 300
    nats:
      url: {}
      stream: ORDERS
      consumer: sluice_orders
      filter_subject: orders.>
      # Messages a killed process had fetched come again after ack_wait: short, to end soon.
      ack_wait: 2s
      metadata: {{sequence: nats_sequence}}
)yaml",
                              nats.url()));
  uint64_t next_id = 0;
  auto publish = [&](int count) {
    for (int i = 0; i < count; ++i, ++next_id) {
      nats.Publish("orders.new", fmt::format(R"({{"id": {}}})", next_id));
    }
  };
  auto publish_for = [&](std::chrono::milliseconds duration) {
    auto end = SteadyClock::now() + duration;
    while (SteadyClock::now() < end) {
      publish(40);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  publish(300);
  nats.Publish("orders.new", "{\"id\": oops}");  // stream sequence 301: a dead letter
  std::mt19937 random(20261128);
  constexpr int kKills = 5;
  for (int round = 0; round < kKills; ++round) {
    SluiceProcess sluice(spec, log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(log);
    publish_for(std::chrono::milliseconds(300 + random() % 1700));
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    publish(100);
  }
  {
    SluiceProcess last(spec, log);
    uint16_t port = last.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    publish_for(std::chrono::milliseconds(500));
    // Delivered, stored and acked, including what the killed processes had fetched last.
    ASSERT_TRUE(WaitUntil(30, [&] { return nats.Unfinished("ORDERS", "sluice_orders") == 0; }))
        << ReadFile(log);
    // The source's lag is the stream's undelivered messages: none left.
    std::string metrics;
    EXPECT_TRUE(WaitUntil(5, [&] {
      metrics = HttpRequestOnce(port, "GET", "/metrics").body;
      return metrics.find(
                 "sluice_source_lag_records{pipeline=\"nats_crash\",source=\"orders\","
                 "partition=\"ORDERS\"} 0\n") != std::string::npos;
    })) << metrics;
    last.Kill(SIGTERM);
    ASSERT_EQ(last.Wait(), 0) << ReadFile(log);
  }
  std::string text = ReadFile(log);
  EXPECT_GE(CountOf(text, "restoring from checkpoint"), 3) << text;
  EXPECT_EQ(ExactlyOnce(StoredIds(spec, "orders"), next_id), "");
  EXPECT_EQ(QueryRows(spec, "SELECT count(), uniqExact(id), uniqExact(nats_sequence) FROM orders"),
            fmt::format("{}\t{}\t{}\n", next_id, next_id, next_id));
  EXPECT_EQ(QueryRows(spec, "SELECT location, error_code FROM orders_dead_letter"),
            "ORDERS/301\t200\n");
}

// ---------------------------------------------------------------------------------------------
// MariaDB polling

TEST(QueueCrashTest, MariaDbPollingKilledAndRestartedPicksUpInsertsAndUpdatesOnce) {
  testing::MariaDbServer db;
  ASSERT_TRUE(db.Start()) << db.error();
  db.Execute(
      "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, "
      "updated_at DATETIME(6) NOT NULL, KEY (updated_at))");
  TempDir folder("sluice-sql-poll-crash");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, fmt::format(R"yaml(pipeline: poll_crash
warehouse: {{path: data}}
server: {{listen: "127.0.0.1:0", query_listen: "127.0.0.1:{}"}}
wal: {{path: wal}}
checkpoint: {{path: checkpoints, interval: 200ms}}
tables:
  items:
    columns:
      - {{name: id, type: Int64}}
      - {{name: name, type: String}}
      - {{name: updated_at, type: "DateTime64(6, 'UTC')"}}
    order_by: [id, updated_at]
streams:
  items: {{}}
sources:
  items_db:
    type: sql_poll
    stream: items
    batch_rows: 200
    sql_poll:
      driver: mysql
      dsn: {}
      table: items
      cursor: updated_at
      key: [id]
      overlap: 1
      interval: 100ms
)yaml",
                              FreePort(), db.dsn()));

  // Every version written: id -> (updated_at in microseconds since the epoch, name).
  std::map<int64_t, std::vector<std::pair<int64_t, std::string>>> versions;
  int64_t clock_us = 1'704'067'200'000'000;  // 2024-01-01 00:00:00 UTC, +1 ms per write
  int64_t next_id = 0;
  std::mt19937 random(20261129);
  auto stamp = [](int64_t us) {
    std::time_t seconds = us / 1'000'000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &utc);
    return fmt::format("'{}.{:06d}'", text, us % 1'000'000);
  };
  // 20 new rows and updates of 10 existing ones, each with a later updated_at.
  auto write = [&] {
    std::string values;
    for (int i = 0; i < 20; ++i, ++next_id) {
      clock_us += 1000;
      std::string name = fmt::format("item{}v0", next_id);
      versions[next_id].emplace_back(clock_us, name);
      values += fmt::format("{}({}, '{}', {})", i == 0 ? "" : ", ", next_id, name, stamp(clock_us));
    }
    db.Execute("INSERT INTO items VALUES " + values);
    std::set<int64_t> chosen;
    while (chosen.size() < 10) chosen.insert(static_cast<int64_t>(random() % next_id));
    for (int64_t id : chosen) {
      clock_us += 1000;
      std::string name = fmt::format("item{}v{}", id, versions[id].size());
      versions[id].emplace_back(clock_us, name);
      db.Execute(fmt::format("UPDATE items SET name = '{}', updated_at = {} WHERE id = {}", name,
                             stamp(clock_us), id));
    }
  };
  auto write_for = [&](std::chrono::milliseconds duration) {
    auto end = SteadyClock::now() + duration;
    while (SteadyClock::now() < end) {
      write();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  write();
  constexpr int kKills = 5;
  for (int round = 0; round < kKills; ++round) {
    SluiceProcess sluice(spec, log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(log);
    write_for(std::chrono::milliseconds(300 + random() % 1700));
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    write();
  }
  // The newest version of every row, as the database has it and as ClickHouse must end up.
  auto newest = [&] {
    std::string text;
    for (const auto& [id, list] : versions) {
      text += fmt::format("{}\t{}\t{}\n", id, list.back().second, list.back().first);
    }
    return text;
  };
  const std::string newest_sql =
      "SELECT id, argMax(name, updated_at), toUnixTimestamp64Micro(max(updated_at)) FROM items "
      "GROUP BY id ORDER BY id";
  {
    SluiceProcess last(spec, log);
    ASSERT_NE(last.WaitForPort(), 0) << ReadFile(log);
    ASSERT_NE(last.WaitForPort("clickhouse"), 0) << ReadFile(log);
    // The polling query fails while the table is away; it is retried, not fatal.
    db.Execute("RENAME TABLE items TO items_away");
    ASSERT_TRUE(WaitUntil(10, [&] {
      return ReadFile(log).find("[SQL_POLL_FAILED]") != std::string::npos;
    })) << ReadFile(log);
    db.Execute("RENAME TABLE items_away TO items");
    write_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(WaitUntil(30, [&] {
      auto result = testing_support::RunSluice(
          "query --format tsv --spec " + spec + " \"" + newest_sql + "\"",
          testing_support::Stderr::kApart);
      return result.exit_code == 0 && result.out.substr(result.out.find('\n') + 1) == newest();
    })) << ReadFile(log);
    last.Kill(SIGTERM);
    ASSERT_EQ(last.Wait(), 0) << ReadFile(log);
  }
  std::string text = ReadFile(log);
  EXPECT_GE(CountOf(text, "restoring from checkpoint"), 3) << text;
  // Every row of the database, at its newest version.
  EXPECT_EQ(QueryRows(spec, newest_sql), newest());
  // No version twice, and each stored version is one that was written.
  std::vector<std::string> rows = Lines(QueryRows(
      spec, "SELECT id, name, toUnixTimestamp64Micro(updated_at) FROM items ORDER BY id, 3"));
  std::set<std::string> written;
  size_t updates_stored = 0;
  for (const auto& [id, list] : versions) {
    for (const auto& [us, name] : list) written.insert(fmt::format("{}\t{}\t{}", id, name, us));
  }
  std::set<std::string> unique;
  std::vector<std::string> problems;
  for (const std::string& row : rows) {
    if (!unique.insert(row).second) problems.push_back("twice: " + row);
    if (written.count(row) == 0) problems.push_back("never written: " + row);
    if (row.find("v0\t") == std::string::npos) ++updates_stored;
  }
  problems.resize(std::min<size_t>(problems.size(), 20));
  EXPECT_TRUE(problems.empty()) << fmt::format("{}", fmt::join(problems, "\n"));
  EXPECT_GT(updates_stored, 0u) << "no update was picked up";
}

}  // namespace
}  // namespace sluice
