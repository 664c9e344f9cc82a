// PostgreSQL CDC run by `sluice run`, killed and restarted: a real PostgreSQL 15 (started here)
// with a table of 200 000 rows and a client changing it all the time (inserts, updates, deletes,
// a rolled-back transaction, a 100 000-change transaction, an added column). sluice is SIGKILLed
// once while it copies the snapshot and once while it streams changes; after a last run the
// ClickHouse table read with FINAL (without deleted rows) must equal the source table row by row,
// the slot must have moved, and the CDC metrics must be exported.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <thread>

#include "http_client.h"
#include "postgres_server.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::PostgresServer;
using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

constexpr int kInitialRows = 400000;

std::string Spec(const std::string& dsn, uint16_t query_port) {
  return R"yaml(pipeline: cdc
warehouse: {path: data}
server: {listen: "127.0.0.1:0", query_listen: "127.0.0.1:)yaml" +
         std::to_string(query_port) + R"yaml("}
wal: {path: wal}
checkpoint: {path: checkpoints, interval: 50ms}
sources:
  pg:
    type: postgres_cdc
    batch_rows: 1000
    postgres_cdc:
      dsn: ")yaml" +
         dsn +
         R"yaml("
      tables: [public.items]
      slot: sluice_run
      publication: sluice_run
      snapshot_parallelism: 2
      # Small snapshot batches and frequent checkpoints, so that the copy spans several
      # checkpoints even on a fast machine: there it copied the 400 k rows (each range one
      # default-sized batch) before the first checkpoint at 200 ms.
      snapshot_batch_rows: 1000
)yaml";
}

/// The newest complete checkpoint of the source's job: its folder and the source's position.
struct Checkpoint {
  uint64_t id = 0;
  std::string position;
  bool committed = false;
};

/// The newest complete checkpoint of the source's job or, with `committed_prefix`, the newest
/// committed one whose position starts with it (a newer checkpoint still committing does not
/// hide it).
Checkpoint Newest(const fs::path& root, const std::optional<std::string>& committed_prefix = {}) {
  Checkpoint newest;
  std::error_code error;
  std::regex complete(R"(chk-(\d+))");
  for (const auto& entry : fs::directory_iterator(root, error)) {
    std::smatch match;
    std::string name = entry.path().filename().string();
    if (!std::regex_match(name, match, complete)) continue;
    uint64_t id = std::stoull(match[1]);
    if (id <= newest.id) continue;
    std::smatch position;
    std::string metadata = ReadFile(entry.path() / "_metadata");
    if (!std::regex_search(metadata, position, std::regex("position\tpg\t([^\n]*)"))) continue;
    bool committed = fs::exists(entry.path() / "_committed");
    if (committed_prefix &&
        (!committed || std::string(position[1]).rfind(*committed_prefix, 0) != 0)) {
      continue;
    }
    newest.id = id;
    newest.position = position[1];
    newest.committed = committed;
  }
  return newest;
}

/// Waits (up to `seconds`) for a committed checkpoint newer than `after` whose position starts
/// with `prefix`.
Checkpoint WaitForCheckpoint(const fs::path& root, uint64_t after, const std::string& prefix,
                             int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    Checkpoint newest = Newest(root, prefix);
    if (newest.id > after) return newest;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

/// Rows of a ClickHouse query through the running sluice's query endpoint.
std::vector<std::string> ClickHouseRows(uint16_t port, const std::string& sql) {
  auto reply = HttpRequestOnce(port, "POST", "/", sql + " FORMAT TabSeparated", "text/plain");
  std::vector<std::string> rows;
  if (reply.status != 200) {
    rows.push_back("HTTP " + std::to_string(reply.status) + ": " + reply.body);
    return rows;
  }
  size_t start = 0;
  while (start < reply.body.size()) {
    size_t end = reply.body.find('\n', start);
    if (end == std::string::npos) end = reply.body.size();
    rows.push_back(reply.body.substr(start, end - start));
    start = end + 1;
  }
  return rows;
}

constexpr char kPgRows[] =
    "SELECT id, name, (amount * 100)::bigint, note, extra FROM items ORDER BY id";
constexpr char kChRows[] =
    "SELECT id, name, toInt64(amount * 100), note, extra FROM items FINAL WHERE _is_deleted = 0 "
    "ORDER BY id";
constexpr char kPgSummary[] =
    "SELECT count(*), coalesce(sum(id), 0), coalesce(sum((amount * 100)::bigint), 0), "
    "coalesce(sum(length(name)), 0) FROM items";
constexpr char kChSummary[] =
    "SELECT count(), sum(id), sum(toInt64(amount * 100)), sum(length(name)) FROM items FINAL "
    "WHERE _is_deleted = 0";

/// A client changing the table in small transactions until stopped: an insert of a new row, an
/// update and a delete of random rows. Hold() pauses it between two transactions, so that the
/// test's own big transactions cannot deadlock with it.
class Writer {
 public:
  explicit Writer(const std::string& dsn) : dsn_(dsn) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::unique_lock<std::mutex> Hold() { return std::unique_lock<std::mutex>(mutex_); }
  uint64_t transactions() const { return transactions_.load(); }
  const std::string& error() const { return error_; }

 private:
  void Run() {
    PGconn* connection = PQconnectdb(dsn_.c_str());
    std::mt19937 random(20261126);
    int64_t next = 1000000;
    while (!stop_ && PQstatus(connection) == CONNECTION_OK) {
      int64_t update = 1 + static_cast<int64_t>(random() % kInitialRows);
      int64_t remove = 1 + static_cast<int64_t>(random() % kInitialRows);
      std::string sql = "BEGIN; INSERT INTO items (id, name, amount, note) VALUES (" +
                        std::to_string(next) + ", 'new " + std::to_string(next) + "', " +
                        std::to_string(next % 1000) +
                        ".25, NULL); UPDATE items SET amount = " + "amount + 1, name = 'changed " +
                        std::to_string(next) + "' WHERE id = " + std::to_string(update) +
                        "; DELETE FROM items WHERE id = " + std::to_string(remove) + "; COMMIT";
      ++next;
      std::unique_lock<std::mutex> turn(mutex_);
      PGresult* result = PQexec(connection, sql.c_str());
      turn.unlock();
      if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        error_ = PQresultErrorMessage(result);
        PQclear(result);
        break;
      }
      PQclear(result);
      ++transactions_;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    PQfinish(connection);
  }

  std::string dsn_;
  std::mutex mutex_;  // held during each transaction
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> transactions_{0};
  std::string error_;
  std::thread thread_;
};

TEST(PostgresCdcRunTest, FinalEqualsTheSourceAcrossKillsInSnapshotAndStream) {
  PostgresServer postgres;
  ASSERT_TRUE(postgres.Start()) << postgres.error();
  postgres.Execute(
      "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12, 2), "
      "note text)");
  postgres.Execute(
      "INSERT INTO items SELECT i, 'item ' || i, i * 1.25, CASE WHEN i % 5 = 0 "
      "THEN NULL ELSE 'note ' || (i % 97) END FROM generate_series(1, " +
      std::to_string(kInitialRows) + ") i");
  postgres.Execute("ANALYZE items");

  TempDir folder("sluice-cdc-run");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  uint16_t query_port = testing::FreePort();
  WriteFile(spec, Spec(postgres.dsn(), query_port));
  fs::path checkpoints = folder.path() / "checkpoints" / "source-pg";

  Writer writer(postgres.dsn());

  // 1. Killed while copying: a checkpoint has committed part of the snapshot.
  {
    SluiceProcess sluice(spec, log);
    ASSERT_NE(sluice.WaitForPort(), 0) << ReadFile(log);
    Checkpoint mid = WaitForCheckpoint(checkpoints, 0, "snapshot:", 20);
    // Frozen at once, so that no later checkpoint completes between the check and the kill.
    sluice.Kill(SIGSTOP);
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    ASSERT_NE(mid.id, 0u) << "no checkpoint during the snapshot\n" << ReadFile(log);
    Checkpoint at_kill = Newest(checkpoints);
    ASSERT_EQ(at_kill.position.rfind("snapshot:", 0), 0u)
        << "the snapshot was finished before the kill: " << at_kill.position;
  }

  // 2. Restarted: the snapshot is copied again, then changes stream; the big transactions and
  // the added column arrive, and the kill lands while changes stream.
  uint64_t restored_id = Newest(checkpoints).id;
  {
    SluiceProcess sluice(spec, log);
    uint16_t api = sluice.WaitForPort();
    ASSERT_NE(api, 0) << ReadFile(log);
    Checkpoint streaming = WaitForCheckpoint(checkpoints, restored_id, "stream:", 30);
    ASSERT_NE(streaming.id, 0u) << ReadFile(log);
    std::string metrics = HttpRequestOnce(api, "GET", "/metrics").body;
    EXPECT_NE(metrics.find("sluice_cdc_snapshot_active{pipeline=\"cdc\",source=\"pg\"} 0"),
              std::string::npos)
        << metrics;
    std::smatch estimated;
    ASSERT_TRUE(std::regex_search(
        metrics, estimated,
        std::regex(
            R"(sluice_cdc_snapshot_rows_estimated\{pipeline="cdc",source="pg",table="items"\} (\d+))")))
        << metrics;
    EXPECT_GT(std::stod(estimated[1]), kInitialRows * 0.9);
    std::smatch copied;
    ASSERT_TRUE(std::regex_search(
        metrics, copied,
        std::regex(
            R"(sluice_cdc_snapshot_rows\{pipeline="cdc",source="pg",table="items"\} (\d+))")))
        << metrics;
    // The copy after the restart has no exported snapshot: each range connection reads its own
    // moment, so the writer's inserts and deletes may be seen in one range and not the other.
    EXPECT_GT(std::stod(copied[1]), kInitialRows * 0.9);
    EXPECT_NE(metrics.find("sluice_cdc_replication_delay_bytes{pipeline=\"cdc\",source=\"pg\"}"),
              std::string::npos);
    EXPECT_NE(metrics.find("sluice_cdc_replication_delay_seconds{pipeline=\"cdc\",source=\"pg\"}"),
              std::string::npos);
    auto paused = writer.Hold();
    postgres.Execute(
        "BEGIN; INSERT INTO items SELECT i, 'rolled back', 1, NULL FROM generate_series(3000001, "
        "3001000) i; UPDATE items SET name = 'rolled back' WHERE id < 1000; ROLLBACK");
    postgres.Execute(
        "BEGIN; UPDATE items SET amount = amount * 2 WHERE id % 3 = 0; INSERT INTO items SELECT "
        "i, 'bulk ' || i, 7.5, 'bulk' FROM generate_series(2000001, 2033000) i; DELETE FROM items "
        "WHERE id BETWEEN 100 AND 600; COMMIT");
    postgres.Execute("ALTER TABLE items ADD COLUMN extra text");
    postgres.Execute("UPDATE items SET extra = 'extra ' || id WHERE id % 7 = 0");
    paused.unlock();
    Checkpoint later = WaitForCheckpoint(checkpoints, streaming.id + 3, "stream:", 30);
    sluice.Kill(SIGKILL);
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    ASSERT_NE(later.id, 0u) << ReadFile(log);
    EXPECT_EQ(Newest(checkpoints).position.rfind("stream:", 0), 0u);
  }
  std::string confirmed_before =
      postgres
          .Query(
              "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = "
              "'sluice_run'")
          .at(0);

  // 3. The last run catches up once the writer stops; then a clean stop.
  {
    SluiceProcess sluice(spec, log);
    uint16_t api = sluice.WaitForPort();
    ASSERT_NE(api, 0) << ReadFile(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    writer.Stop();
    ASSERT_EQ(writer.error(), "");
    EXPECT_GT(writer.transactions(), 100u);
    std::vector<std::string> expected = postgres.Query(kPgSummary);
    std::vector<std::string> summary;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      summary = ClickHouseRows(query_port, kChSummary);
      if (summary == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_EQ(summary, expected) << ReadFile(log);
    std::vector<std::string> source_rows = postgres.Query(kPgRows);
    std::vector<std::string> rows = ClickHouseRows(query_port, kChRows);
    ASSERT_EQ(rows.size(), source_rows.size());
    size_t differences = 0;
    for (size_t i = 0; i < rows.size() && differences < 5; ++i) {
      if (rows[i] != source_rows[i]) {
        ADD_FAILURE() << "row " << i << ": PostgreSQL " << source_rows[i] << "\nClickHouse "
                      << rows[i];
        ++differences;
      }
    }
    EXPECT_EQ(ClickHouseRows(query_port, "SELECT count() FROM pg_dead_letter"),
              std::vector<std::string>{"0"});
    EXPECT_EQ(
        ClickHouseRows(query_port,
                       "SELECT count() FROM items FINAL WHERE extra != '' AND _is_deleted = 0"),
        postgres.Query("SELECT count(*) FROM items WHERE extra IS NOT NULL"));
    // The slot moves only after checkpoints are committed; it moved during this run.
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool moved = false;
    while (!moved && std::chrono::steady_clock::now() < deadline) {
      moved = postgres
                  .Query("SELECT confirmed_flush_lsn > '" + confirmed_before +
                         "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_run'")
                  .at(0) == "t";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(moved) << "confirmed_flush_lsn stayed at " << confirmed_before;
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  std::string all = ReadFile(log);
  size_t restores = 0;
  for (size_t at = all.find("restoring from checkpoint"); at != std::string::npos;
       at = all.find("restoring from checkpoint", at + 1)) {
    ++restores;
  }
  EXPECT_EQ(restores, 2u) << all;
}

}  // namespace
}  // namespace sluice
