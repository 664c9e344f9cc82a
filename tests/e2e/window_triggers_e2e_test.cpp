// Windows that close without event time, end to end through `sluice run` and HTTP posts:
//   - processing-time tumbling windows close on the wall clock: every window is aligned to its
//     size, the counts per key equal what was stored, and neither a SIGKILL nor a graceful
//     restart makes a window appear twice;
//   - global windows fire by count (every 10 records of a key, event time) and by interval (the
//     wall clock, processing time), and keep accumulating across a restart.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "http_client.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::RunSluice;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

constexpr char kHeader[] = R"yaml(warehouse: {path: data}
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
    batch: {max_rows: 5000, max_delay: 20ms}
)yaml";

std::string Event(uint64_t id, uint64_t users) {
  return "{\"id\":" + std::to_string(id) + ",\"user\":\"u" + std::to_string(id % users) +
         "\",\"amount\":" + std::to_string((id * 31) % 1000) +
         ",\"ts\":" + std::to_string(1'700'000'000'000 + static_cast<int64_t>(id) * 10) + "}\n";
}

std::string Query(const std::string& spec, const std::string& sql) {
  auto result = RunSluice("query --format tsv --spec " + spec + " \"" + sql + "\"",
                          testing_support::Stderr::kApart);
  EXPECT_EQ(result.exit_code, 0) << sql << "\n" << result.out;
  return result.out;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Body(const std::string& tsv) {
  return tsv.substr(tsv.find('\n') + 1);
}

TEST(ProcessingTimeWindowTest, WallClockWindowsCountEveryRecordOnceAcrossRestarts) {
  TempDir folder("sluice-processing-time");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, std::string("pipeline: wallclock\n") + kHeader + R"yaml(aggregations:
  per_second:
    from: events
    key_by: [user]
    window: {type: tumbling, size: 1s}
    parallelism: 2
    aggregates:
      - {name: events, function: count}
      - {name: spend, function: sum, field: amount}
)yaml");

  int64_t started_ms = NowMillis();
  uint64_t next_id = 0;
  uint64_t acknowledged = 0;
  // Posts 20 events every 50 ms for `millis`, counting those acknowledged.
  auto post_for = [&](uint16_t port, int millis) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
    while (std::chrono::steady_clock::now() < until) {
      std::string body;
      for (int i = 0; i < 20; ++i) body += Event(next_id++, 13);
      if (HttpRequestOnce(port, "POST", "/v1/ingest/events", body).status == 200) {
        acknowledged += 20;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  {
    // A crash while windows are open and results wait for their checkpoint.
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    post_for(port, 1500);
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
  }
  {
    // A graceful stop with the current second's windows still open: they stay in the state.
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    post_for(port, 1200);
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    post_for(port, 1200);
    // Every window closes on the wall clock within a second; its rows commit at the next
    // checkpoint.
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  int64_t stopped_ms = NowMillis();
  ASSERT_NE(ReadFile(log).find("restoring from checkpoint"), std::string::npos) << ReadFile(log);

  // Every acknowledged record is stored once in the raw table (guarantee 1) ...
  std::string stored = Body(Query(spec, "SELECT count() FROM events"));
  EXPECT_GE(std::stoull(stored), acknowledged);
  EXPECT_LE(std::stoull(stored), next_id);
  // ... and counted once in the windows: per key, the windows add up to the stored records.
  std::string windows = Query(spec,
                              "SELECT user, sum(events), sum(spend), sum(_version) FROM "
                              "per_second FINAL GROUP BY user ORDER BY user");
  std::string expected = Query(spec,
                               "SELECT user, count(), sum(amount), count() FROM events GROUP BY "
                               "user ORDER BY user");
  EXPECT_EQ(Body(windows), Body(expected));
  EXPECT_EQ(std::count(windows.begin(), windows.end(), '\n'), 14) << windows;
  // No window twice: each fired once, so FINAL changes nothing.
  EXPECT_EQ(Query(spec, "SELECT count() FROM per_second"),
            Query(spec, "SELECT count() FROM per_second FINAL"));
  // Windows are [n s, n s + 1 s) of the wall clock during the test, spread over several seconds.
  EXPECT_EQ(Body(Query(spec,
                       "SELECT countIf(toUnixTimestamp64Milli(window_start) % 1000 != 0 OR "
                       "toUnixTimestamp64Milli(window_end) - toUnixTimestamp64Milli(window_start) "
                       "!= 1000) FROM per_second")),
            "0\n");
  std::string bounds = Body(Query(spec,
                                  "SELECT toUnixTimestamp64Milli(min(window_start)), "
                                  "toUnixTimestamp64Milli(max(window_end)), "
                                  "uniqExact(window_start) FROM per_second"));
  int64_t first_start = 0;
  int64_t last_end = 0;
  uint64_t distinct = 0;
  std::istringstream(bounds) >> first_start >> last_end >> distinct;
  EXPECT_GE(first_start, started_ms / 1000 * 1000) << bounds;
  EXPECT_LE(last_end, stopped_ms) << bounds;
  EXPECT_GE(distinct, 4u) << bounds;
  EXPECT_EQ(Query(spec, "SELECT count() FROM per_second_late"), "count()\n0\n");
}

TEST(GlobalWindowTest, CountAndIntervalTriggersAccumulateAcrossRestart) {
  TempDir folder("sluice-global");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, std::string("pipeline: global\n") + kHeader + R"yaml(aggregations:
  every_ten:
    from: events
    key_by: [user]
    window: {type: global, trigger_count: 10}
    event_time: {field: ts}
    parallelism: 2
    aggregates:
      - {name: events, function: count}
      - {name: spend, function: sum, field: amount}
  ticking:
    from: events
    key_by: [user]
    window: {type: global, trigger_interval: 300ms}
    parallelism: 1
    state_backend: rocksdb
    aggregates:
      - {name: events, function: count}
      - {name: largest, function: max, field: amount}
)yaml");

  constexpr uint64_t kUsers = 7;
  constexpr uint64_t kPerRun = kUsers * 20;  // 20 records per user in each run
  auto post = [&](uint16_t port, uint64_t from) {
    for (uint64_t id = from; id < from + kPerRun; id += 14) {
      std::string body;
      for (uint64_t j = id; j < id + 14; ++j) body += Event(j, kUsers);
      ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", body).status, 200);
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
  };
  for (uint64_t run = 0; run < 2; ++run) {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    post(port, run * kPerRun);
    // The interval trigger fires within 300 ms of the last record; then a checkpoint commits.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
    if (run == 0) {
      // Both triggers fired in the first run: each key's 20 records are in the tables (rows of
      // one key share their sort key, so a merge may keep only the newest: compare FINAL).
      EXPECT_EQ(Body(Query(spec,
                           "SELECT countIf(events != 20) FROM (SELECT events FROM every_ten "
                           "FINAL UNION ALL SELECT events FROM ticking FINAL)")),
                "0\n");
    }
  }

  // Count trigger: a key's window fires at the end of each batch that takes its count past a
  // multiple of 10 (once, with the batch's final count, even past two multiples); the newest row
  // holds all 40 records, and the window ends 1 ms after the newest.
  std::string expected = Body(Query(spec,
                                    "SELECT user, count(), sum(amount), "
                                    "toUnixTimestamp64Milli(max(ts)) + 1, count() FROM events "
                                    "GROUP BY user ORDER BY user"));
  EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'), 7) << expected;
  EXPECT_EQ(Body(Query(spec,
                       "SELECT user, events, spend, toUnixTimestamp64Milli(window_end), _version "
                       "FROM every_ten FINAL ORDER BY user")),
            expected);
  EXPECT_EQ(Body(Query(spec,
                       "SELECT countIf(events < 10), "
                       "countIf(toUnixTimestamp64Milli(window_start) != 0) FROM every_ten")),
            "0\t0\n");
  // Interval trigger: fired again in the second run, the newest row holds all 40 records.
  EXPECT_EQ(Body(Query(spec, "SELECT user, events, largest FROM ticking FINAL ORDER BY user")),
            Body(Query(spec,
                       "SELECT user, count(), max(amount) FROM events GROUP BY user ORDER BY "
                       "user")));
}

}  // namespace
}  // namespace sluice
