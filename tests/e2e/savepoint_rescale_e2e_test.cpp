// Savepoints at `sluice run` level: a pipeline with three windowed aggregations (tumbling with
// count, sum, uniq, quantile and top_k; hopping; session) gets half of the events, a savepoint
// is taken (`sluice savepoint`), sluice stops, the spec's parallelism and/or state backend
// change, sluice resumes with --from-savepoint and gets the other half. The aggregation tables
// must equal, row for row (FINAL), those of one uninterrupted run with parallelism 1 over the same
// events. Also: a savepoint whose aggregates no longer match the spec, and one older than what
// the write-ahead log still holds, are refused with SAVEPOINT_MISMATCH.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <regex>
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

constexpr uint64_t kEvents = 4000;
constexpr uint64_t kHalf = kEvents / 2;
constexpr const char* kAggregations[] = {"tumbling", "hopping", "sessions"};

std::string Spec(int parallelism, const std::string& backend,
                 const std::string& tumbling_extra = "") {
  std::string common = "    event_time: {field: ts, max_out_of_orderness: 2s}\n    parallelism: " +
                       std::to_string(parallelism) + "\n    state_backend: " + backend + "\n";
  return R"yaml(pipeline: rescale
warehouse: {path: data}
server: {listen: "127.0.0.1:0"}
wal: {path: wal}
checkpoint: {path: checkpoints, interval: 200ms}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: user, type: String}
      - {name: page, type: String}
      - {name: amount, type: UInt64}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
streams:
  events:
    batch: {max_rows: 5000, max_delay: 50ms}
aggregations:
  tumbling:
    from: events
    key_by: [user]
    window: {type: tumbling, size: 10s}
)yaml" + common +
         R"yaml(    aggregates:
      - {name: events, function: count}
      - {name: spend, function: sum, field: amount}
      - {name: pages, function: uniq, field: page}
      - {name: p90, function: quantile, field: amount, level: 0.9}
      - {name: top_pages, function: top_k, field: page, k: 3}
)yaml" + tumbling_extra +
         R"yaml(  hopping:
    from: events
    key_by: [page]
    window: {type: hopping, size: 20s, slide: 5s}
)yaml" + common +
         R"yaml(    aggregates:
      - {name: events, function: count}
      - {name: largest, function: max, field: amount}
      - {name: users, function: uniq, field: user}
  sessions:
    from: events
    key_by: [user]
    window: {type: session, gap: 3s}
)yaml" + common +
         R"yaml(    aggregates:
      - {name: events, function: count}
      - {name: spend, function: sum, field: amount}
)yaml";
}

// Event `id`: 20 ms apart with a 5 s pause every 500 events (sessions end there), up to 1.5 s
// out of order (inside the 2 s bound: nothing is late), 37 users, 11 pages.
std::string Event(uint64_t id) {
  int64_t ts = 1'700'000'000'000 + static_cast<int64_t>(id * 20 + (id / 500) * 5000) -
               static_cast<int64_t>((id * 7919) % 1500);
  return "{\"id\":" + std::to_string(id) + ",\"user\":\"u" + std::to_string(id % 37) +
         "\",\"page\":\"p" + std::to_string((id * 7) % 11) +
         "\",\"amount\":" + std::to_string((id * 31) % 1000) + ",\"ts\":" + std::to_string(ts) +
         "}\n";
}

void Post(uint16_t port, uint64_t from, uint64_t to) {
  for (uint64_t id = from; id < to; id += 50) {
    std::string body;
    for (uint64_t j = id; j < std::min(to, id + 50); ++j) body += Event(j);
    ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", body).status, 200);
  }
}

/// The sum over subtasks of the metric samples whose series starts with `series`.
double Total(const std::string& metrics, const std::string& series) {
  double total = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series, 0) == 0) total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

std::string Series(const std::string& metric, const std::string& aggregation) {
  return metric + "{pipeline=\"rescale\",operator=\"" + aggregation + ".window\"";
}

/// Waits until every aggregation has taken in `records` records; returns the last scrape.
std::string WaitProcessed(uint16_t port, uint64_t records) {
  std::string metrics;
  for (int i = 0; i < 300; ++i) {
    metrics = HttpRequestOnce(port, "GET", "/metrics").body;
    bool all = true;
    for (const char* aggregation : kAggregations) {
      if (Total(metrics, Series("sluice_operator_records_in_total", aggregation)) != records) {
        all = false;
      }
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return metrics;
}

/// Every result row of the three tables as text, with FINAL, in one sorted list.
std::string Results(const std::string& spec) {
  std::string sql = "SELECT * FROM (";
  for (const char* table : kAggregations) {
    if (sql.back() != '(') sql += " UNION ALL ";
    sql += std::string("SELECT '") + table + "' AS t, toString(tuple(*)) AS row FROM " + table +
           " FINAL WHERE _is_deleted = 0";
  }
  sql += ") ORDER BY t, row";
  auto result = RunSluice("query --format tsv --spec " + spec + " \"" + sql + "\"",
                          testing_support::Stderr::kApart);
  EXPECT_EQ(result.exit_code, 0) << result.out;
  return result.out;
}

/// One uninterrupted run with parallelism 1 over all events: the expected tables.
const std::string& Reference() {
  static const std::string* reference = [] {
    TempDir folder("sluice-rescale-reference");
    std::string spec = (folder.path() / "spec.yaml").string();
    std::string log = (folder.path() / "sluice.log").string();
    WriteFile(spec, Spec(1, "memory"));
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    EXPECT_NE(port, 0) << ReadFile(log);
    Post(port, 0, kEvents);
    sluice.Kill(SIGTERM);
    EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log);
    return new std::string(Results(spec));
  }();
  return *reference;
}

/// Half the events with (`before`, `from_backend`), a savepoint, a stop, the rest with (`after`,
/// `to_backend`) restored from the savepoint; the tables must equal the reference.
void RunRescale(int before, const std::string& from_backend, int after,
                const std::string& to_backend) {
  const std::string& expected = Reference();
  ASSERT_GT(std::count(expected.begin(), expected.end(), '\n'), 400) << expected;

  TempDir folder("sluice-rescale");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  std::string savepoint = (folder.path() / "savepoint").string();
  WriteFile(spec, Spec(before, from_backend));
  {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    Post(port, 0, kHalf);
    // The savepoint holds every posted event: the log position it saves is the newest.
    std::string metrics = WaitProcessed(port, kHalf);
    // State size is exported for either backend; the gauges follow the records within a tick
    // of the subtask (100 ms).
    for (int i = 0;
         i < 40 && Total(metrics, Series("sluice_operator_state_entries", "tumbling")) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      metrics = HttpRequestOnce(port, "GET", "/metrics").body;
    }
    EXPECT_GT(Total(metrics, Series("sluice_operator_state_bytes", "tumbling")), 0) << metrics;
    EXPECT_GT(Total(metrics, Series("sluice_operator_state_entries", "tumbling")), 0) << metrics;
    auto saved = RunSluice("savepoint " + spec + " " + savepoint +
                           " --address 127.0.0.1:" + std::to_string(port));
    ASSERT_EQ(saved.exit_code, 0) << saved.out << ReadFile(log);
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  for (const char* aggregation : kAggregations) {
    ASSERT_TRUE(
        std::filesystem::exists(std::filesystem::path(savepoint) / aggregation / "_metadata"))
        << aggregation;
  }
  WriteFile(spec, Spec(after, to_backend));
  {
    SluiceProcess sluice(spec, log, {}, {"--from-savepoint", savepoint});
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    if (before == after && from_backend == "rocksdb" && to_backend == "rocksdb") {
      // Unchanged parallelism: each subtask opened its old RocksDB checkpoint in place, so the
      // savepoint's SST files are hard-linked into the running state.
      size_t linked = 0;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(savepoint)) {
        struct stat info {};
        if (entry.path().extension() == ".sst" && ::stat(entry.path().c_str(), &info) == 0 &&
            info.st_nlink > 1) {
          ++linked;
        }
      }
      EXPECT_GT(linked, 0u) << "no savepoint SST file is linked into the running state";
    }
    Post(port, kHalf, kEvents);
    std::string metrics = WaitProcessed(port, kEvents - kHalf);
    EXPECT_GT(Total(metrics, Series("sluice_operator_state_bytes", "tumbling")), 0) << metrics;
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  EXPECT_NE(ReadFile(log).find("restoring from savepoint"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(Results(spec), expected);
}

TEST(SavepointRescaleTest, MemoryOneToTwoSubtasks) {
  RunRescale(1, "memory", 2, "memory");
}

TEST(SavepointRescaleTest, MemoryTwoToOneSubtask) {
  RunRescale(2, "memory", 1, "memory");
}

TEST(SavepointRescaleTest, RocksDbTwoToOneSubtask) {
  RunRescale(2, "rocksdb", 1, "rocksdb");
}

TEST(SavepointRescaleTest, RocksDbSameParallelismOpensCheckpointsInPlace) {
  RunRescale(2, "rocksdb", 2, "rocksdb");
}

TEST(SavepointRescaleTest, MemoryToRocksDb) {
  RunRescale(1, "memory", 2, "rocksdb");
}

TEST(SavepointRescaleTest, RocksDbToMemory) {
  RunRescale(2, "rocksdb", 1, "memory");
}

/// Takes a savepoint of `spec` after `events` events; leaves sluice stopped.
void RunAndSave(const std::string& spec, const std::string& log, const std::string& savepoint,
                uint64_t events, uint64_t more_after_savepoint) {
  SluiceProcess sluice(spec, log);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log);
  Post(port, 0, events);
  WaitProcessed(port, events);
  auto saved = RunSluice("savepoint " + spec + " " + savepoint +
                         " --address 127.0.0.1:" + std::to_string(port));
  ASSERT_EQ(saved.exit_code, 0) << saved.out << ReadFile(log);
  Post(port, events, events + more_after_savepoint);
  WaitProcessed(port, events + more_after_savepoint);
  sluice.Kill(SIGTERM);
  ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
}

TEST(SavepointRescaleTest, ChangedAggregatesAreRefused) {
  TempDir folder("sluice-rescale-changed");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  std::string savepoint = (folder.path() / "savepoint").string();
  WriteFile(spec, Spec(1, "memory"));
  RunAndSave(spec, log, savepoint, 200, 0);
  std::string rows_before = Results(spec);
  std::string columns_sql =
      "query --format tsv --spec " + spec +
      " \"SELECT name FROM system.columns WHERE table = 'tumbling' ORDER BY name\"";
  auto columns_before = RunSluice(columns_sql);
  ASSERT_EQ(columns_before.exit_code, 0) << columns_before.out;
  ASSERT_NE(columns_before.out.find("spend"), std::string::npos) << columns_before.out;
  // Another aggregate changes what every window's state holds.
  WriteFile(spec, Spec(2, "memory", "      - {name: smallest, function: min, field: amount}\n"));
  SluiceProcess sluice(spec, log, {}, {"--from-savepoint", savepoint});
  int exit_code = sluice.Wait();
  EXPECT_NE(exit_code, 0);
  std::string output = sluice.Log();
  EXPECT_NE(output.find("SAVEPOINT_MISMATCH"), std::string::npos) << output;
  EXPECT_NE(output.find("smallest = min(amount UInt64)"), std::string::npos) << output;
  // Refused before the migration: the table did not gain the new aggregate's column, and its
  // rows are those of the savepoint's run.
  auto columns_after = RunSluice(columns_sql);
  ASSERT_EQ(columns_after.exit_code, 0) << columns_after.out;
  EXPECT_EQ(columns_after.out, columns_before.out);
  EXPECT_EQ(columns_after.out.find("smallest"), std::string::npos) << columns_after.out;
  EXPECT_EQ(Results(spec), rows_before);
}

TEST(SavepointRescaleTest, SavepointOlderThanTheLogIsRefused) {
  TempDir folder("sluice-rescale-old");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  std::string savepoint = (folder.path() / "savepoint").string();
  WriteFile(spec, Spec(1, "memory"));
  // The records after the savepoint are aggregated, committed and released by the log.
  RunAndSave(spec, log, savepoint, 200, 200);
  SluiceProcess sluice(spec, log, {}, {"--from-savepoint", savepoint});
  int exit_code = sluice.Wait();
  EXPECT_NE(exit_code, 0);
  std::string output = sluice.Log();
  EXPECT_NE(output.find("SAVEPOINT_MISMATCH"), std::string::npos) << output;
  EXPECT_NE(output.find("no longer holds the records after sequence"), std::string::npos) << output;
}

}  // namespace
}  // namespace sluice
