// Exactly once into ClickHouse for windowed aggregates: sluice is SIGKILLed at random moments
// while a client keeps posting events; after the rounds and a clean stop, the aggregation table
// (keyed tumbling windows over event time, two subtasks, checkpoints every 200 ms) must
//   1. hold no duplicate row, even without FINAL;
//   2. equal ClickHouse's own GROUP BY over the raw table, window by window;
//   3. equal, row for row, the tables of an uninterrupted run over the same input.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include "http_client.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

constexpr char kSpec[] = R"yaml(pipeline: windows
warehouse: {path: data}
server: {listen: "127.0.0.1:0"}
wal: {path: wal}
checkpoint: {path: checkpoints, interval: 200ms}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: user, type: String}
      - {name: amount, type: UInt64}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
streams:
  events:
    batch: {max_rows: 5000, max_delay: 100ms}
aggregations:
  per_user:
    from: events
    key_by: [user]
    window: {type: tumbling, size: 10s}
    event_time: {field: ts, max_out_of_orderness: 2s}
    parallelism: 2
    aggregates:
      - {name: events, function: count}
      - {name: spend, function: sum, field: amount}
      - {name: smallest, function: min, field: amount}
      - {name: largest, function: max, field: amount}
)yaml";

// Event `id`: 5 ms apart, up to 1.5 s out of order (inside the 2 s bound), 53 users.
std::string Event(uint64_t id) {
  int64_t ts =
      1'700'000'000'000 + static_cast<int64_t>(id) * 5 - static_cast<int64_t>((id * 7919) % 1500);
  return "{\"id\":" + std::to_string(id) + ",\"user\":\"u" + std::to_string(id % 53) +
         "\",\"amount\":" + std::to_string(id % 1000) + ",\"ts\":" + std::to_string(ts) + "}\n";
}

std::string Query(const std::string& spec, const std::string& sql) {
  auto result = testing_support::RunSluice("query --format tsv --spec " + spec + " \"" + sql + "\"",
                                           testing_support::Stderr::kApart);
  EXPECT_EQ(result.exit_code, 0) << sql << "\n" << result.out;
  return result.out;
}

// Windows the watermark has certainly passed at the end: those end at least 3 s before the
// newest event time.
std::string ClosedWindows(const std::string& table_ts_column) {
  return "toUnixTimestamp64Milli(" + table_ts_column +
         ") <= (SELECT toUnixTimestamp64Milli(max(ts)) FROM events) - 3000";
}

std::string AggregateRows(const std::string& spec) {
  return Query(spec,
               "SELECT user, toUnixTimestamp64Milli(window_start), events, spend, smallest, "
               "largest, _version FROM per_user FINAL WHERE _is_deleted = 0 AND " +
                   ClosedWindows("window_end") + " ORDER BY user, window_start");
}

TEST(WindowCrashTest, AggregatesAreExactlyOnceAcrossKills) {
  TempDir folder("sluice-window-crash");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, kSpec);

  uint64_t next_id = 0;
  std::mt19937 random(20261126);
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    std::atomic<bool> stop = false;
    std::thread client([&] {
      while (!stop) {
        std::string body;
        for (int i = 0; i < 50; ++i) body += Event(next_id++);
        if (HttpRequestOnce(port, "POST", "/v1/ingest/events", body).status == -1) break;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + random() % 1100));
    sluice.Kill(SIGKILL);
    stop = true;
    client.join();
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
  }
  {
    SluiceProcess last(spec, log);
    ASSERT_NE(last.WaitForPort(), 0) << ReadFile(log);
    last.Kill(SIGTERM);
    ASSERT_EQ(last.Wait(), 0) << ReadFile(log);
  }
  ASSERT_NE(ReadFile(log).find("restoring from checkpoint"), std::string::npos)
      << "no round got as far as a checkpoint: the test proved nothing";

  // 1. No duplicates: every window fired once (no late updates here), so FINAL changes nothing.
  EXPECT_EQ(Query(spec, "SELECT count() FROM per_user"),
            Query(spec, "SELECT count() FROM per_user FINAL"));
  EXPECT_EQ(Query(spec, "SELECT count() FROM per_user_late"), "count()\n0\n");

  // 2. Equal to ClickHouse's own aggregation of the stored events.
  std::string rows = AggregateRows(spec);
  std::string expected = Query(
      spec,
      "SELECT user, toUnixTimestamp(toStartOfInterval(ts, INTERVAL 10 SECOND)) * 1000 AS start, "
      "count() AS events, sum(amount) AS spend, min(amount) AS smallest, max(amount) AS largest, "
      "count() AS _version FROM events GROUP BY user, start HAVING start + 10000 <= (SELECT "
      "toUnixTimestamp64Milli(max(ts)) FROM events) - 3000 ORDER BY user, start");
  auto body = [](const std::string& tsv) { return tsv.substr(tsv.find('\n') + 1); };
  ASSERT_GT(std::count(rows.begin(), rows.end(), '\n'), 100) << rows;
  EXPECT_EQ(body(rows), body(expected));

  // 3. An uninterrupted run over the same input (the stored events, in the order they were
  // acknowledged, which is id order) gives the same tables.
  std::string stored = Query(spec, "SELECT id FROM events ORDER BY id");
  std::istringstream lines(body(stored));
  std::vector<uint64_t> ids;
  for (std::string line; std::getline(lines, line);) ids.push_back(std::stoull(line));
  ASSERT_FALSE(ids.empty());

  TempDir reference_folder("sluice-window-reference");
  std::string reference = (reference_folder.path() / "spec.yaml").string();
  std::string reference_log = (reference_folder.path() / "sluice.log").string();
  WriteFile(reference, kSpec);
  {
    SluiceProcess sluice(reference, reference_log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(reference_log);
    for (size_t i = 0; i < ids.size(); i += 50) {
      std::string batch;
      for (size_t j = i; j < std::min(ids.size(), i + 50); ++j) batch += Event(ids[j]);
      ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", batch).status, 200);
    }
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(reference_log);
  }
  EXPECT_EQ(Query(reference, "SELECT * FROM events ORDER BY id"),
            Query(spec, "SELECT * FROM events ORDER BY id"));
  EXPECT_EQ(AggregateRows(reference), rows);
}

}  // namespace
}  // namespace sluice
