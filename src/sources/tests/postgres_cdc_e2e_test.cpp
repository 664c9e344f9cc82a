#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "postgres_server.h"
#include "sources/pg_connection.h"
#include "sources/postgres_cdc/postgres_cdc_source.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

using testing::PostgresServer;

/// One PostgreSQL server and one embedded ClickHouse for the suite; each test uses its own
/// tables, slot and publication.
class PostgresCdcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new PostgresServer();
    ASSERT_TRUE(server_->Start()) << server_->error();
    folder_ =
        std::filesystem::temp_directory_path() / ("sluice-cdc-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder_);
    auto opened = EmbeddedWarehouse::Open(folder_.string());
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    warehouse_ = std::move(opened).value().release();
  }
  static void TearDownTestSuite() {
    delete warehouse_;
    delete server_;
    std::filesystem::remove_all(folder_);
  }

  static PostgresCdcSpec Spec(const std::string& table, const std::string& slot) {
    PostgresCdcSpec spec;
    spec.dsn = server_->dsn();
    spec.tables = {"public." + table};
    spec.slot = slot;
    spec.publication = slot + "_publication";
    spec.snapshot_parallelism = 3;
    return spec;
  }

  static std::unique_ptr<PostgresCdcSource> Make(const PostgresCdcSpec& spec,
                                                 const std::string& position = {}) {
    auto source = std::make_unique<PostgresCdcSource>("pg", spec, 4000, warehouse_);
    if (!position.empty()) {
      Status restored = source->Restore(position);
      EXPECT_TRUE(restored.ok()) << restored.error().ToString();
    }
    Status opened = source->Open();
    EXPECT_TRUE(opened.ok()) << opened.error().ToString();
    return source;
  }

  /// One Poll, its rows inserted into ClickHouse; returns the status.
  static PollStatus PollOnce(PostgresCdcSource& source, std::vector<DeadLetter>& letters) {
    Batch batch(Schema{});
    auto polled = source.Poll(batch, letters);
    EXPECT_TRUE(polled.ok()) << polled.error().ToString();
    if (!polled.ok()) return PollStatus::kFinished;
    if (batch.num_rows() > 0) {
      auto inserted = warehouse_->Insert(
          {"default", source.LastPollTable(), &batch, source.LastPollIdentity()});
      EXPECT_TRUE(inserted.ok()) << inserted.error().ToString();
    }
    return *polled;
  }

  /// Polls until ClickHouse's FINAL view of the table equals PostgreSQL's (or 60 s pass).
  static bool DrainUntilEqual(PostgresCdcSource& source, const std::string& pg_query,
                              const std::string& ch_query, std::vector<DeadLetter>& letters) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PollOnce(source, letters) == PollStatus::kIdle &&
          Rows(ch_query, false) == server_->Query(pg_query)) {
        return true;
      }
    }
    std::vector<std::string> expected = server_->Query(pg_query);
    std::vector<std::string> actual = Rows(ch_query, false);
    ADD_FAILURE() << "PostgreSQL has " << expected.size() << " rows, ClickHouse " << actual.size();
    for (size_t i = 0, shown = 0; i < std::max(expected.size(), actual.size()) && shown < 5; ++i) {
      std::string want = i < expected.size() ? expected[i] : "(none)";
      std::string got = i < actual.size() ? actual[i] : "(none)";
      if (want != got) {
        ADD_FAILURE() << "row " << i << ": PostgreSQL " << want << "\nClickHouse " << got;
        ++shown;
      }
    }
    return false;
  }

  /// Rows of a ClickHouse query; `must_work` false for a query whose table or column may not
  /// exist yet.
  static std::vector<std::string> Rows(const std::string& sql, bool must_work = true) {
    auto result = warehouse_->Query(sql, "TabSeparated");
    if (must_work) {
      EXPECT_TRUE(result.ok()) << sql << ": " << (result.ok() ? "" : result.error().ToString());
    }
    std::vector<std::string> rows;
    if (!result.ok()) return rows;
    size_t start = 0;
    while (start < result->data.size()) {
      size_t end = result->data.find('\n', start);
      if (end == std::string::npos) end = result->data.size();
      rows.push_back(result->data.substr(start, end - start));
      start = end + 1;
    }
    return rows;
  }

  static inline PostgresServer* server_ = nullptr;
  static inline std::filesystem::path folder_;
  static inline EmbeddedWarehouse* warehouse_ = nullptr;
};

constexpr char kItemsPg[] =
    "SELECT id, name, (amount * 100)::bigint, CASE WHEN flag THEN 1 ELSE 0 END, "
    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
    "array_to_string(tags, ',', 'N'), doc::text, day::text, uid::text FROM items ORDER BY id";
constexpr char kItemsCh[] =
    "SELECT id, name, toInt64(amount * 100), toUInt8(flag), "
    "formatDateTime(at, '%Y-%m-%d %H:%i:%S.%f'), "
    "arrayStringConcat(arrayMap(x -> ifNull(toString(x), 'N'), tags), ','), doc, toString(day), "
    "toString(uid) FROM items FINAL WHERE _is_deleted = 0 ORDER BY id";

TEST_F(PostgresCdcTest, SnapshotAndChangesEqualTheSourceAcrossRestarts) {
  server_->Execute(
      "CREATE TABLE items (id bigint PRIMARY KEY, name text, amount numeric(12,2), flag bool, "
      "at timestamptz, tags int[], doc jsonb, day date, uid uuid)");
  server_->Execute(
      "INSERT INTO items SELECT i, 'item ' || i, i * 1.25, i % 2 = 0, "
      "timestamptz '2024-03-01 10:00:00.123456+00' + i * interval '1 second', "
      "ARRAY[i, NULL, 3], jsonb_build_object('k', i), date '2024-01-01' + (i % 400), "
      "md5(i::text)::uuid FROM generate_series(1, 20000) i");
  PostgresCdcSpec spec = Spec("items", "items_slot");
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  // The slot exists now: these changes come after its snapshot and arrive by the stream.
  server_->Execute("UPDATE items SET name = 'renamed', amount = NULL WHERE id <= 10");
  server_->Execute("DELETE FROM items WHERE id BETWEEN 100 AND 199");
  server_->Execute("BEGIN; INSERT INTO items (id, name) VALUES (900001, 'rolled back'); ROLLBACK");
  server_->Execute(
      "BEGIN; UPDATE items SET name = 'first' WHERE id = 500; "
      "UPDATE items SET name = 'second' WHERE id = 500; COMMIT");

  // A crash after a checkpoint taken mid-snapshot: a new instance resumes from its position.
  ASSERT_EQ(PollOnce(*source, letters), PollStatus::kData);
  std::string mid_snapshot = source->Position();
  EXPECT_EQ(mid_snapshot, "snapshot:0");
  ASSERT_EQ(PollOnce(*source, letters), PollStatus::kData);
  source.reset();
  source = Make(spec, mid_snapshot);

  server_->Execute(
      "INSERT INTO items (id, name, amount, flag, tags) SELECT i, 'bulk', 1, true, '{}' "
      "FROM generate_series(100001, 200000) i");
  server_->Execute("UPDATE items SET id = 300000 WHERE id = 600");
  ASSERT_TRUE(DrainUntilEqual(*source, kItemsPg, kItemsCh, letters));
  EXPECT_TRUE(letters.empty()) << letters.front().error.ToString();

  // A crash after a checkpoint taken mid-stream, with the position confirmed to the server.
  server_->Execute("UPDATE items SET flag = NOT flag WHERE id % 1000 = 0");
  while (PollOnce(*source, letters) != PollStatus::kData) {
  }
  std::string mid_stream = source->Position();
  ASSERT_EQ(mid_stream.substr(0, 7), "stream:");
  ASSERT_TRUE(source->CommitPosition(mid_stream).ok());
  PollOnce(*source, letters);  // sends the confirmation
  uint64_t committed = std::stoull(mid_stream.substr(7, mid_stream.find(':', 7) - 7), nullptr, 16);
  auto confirmed = server_->Query(
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'items_slot'");
  ASSERT_EQ(confirmed.size(), 1u);
  EXPECT_GE(ParseLsn(confirmed[0]), committed);
  source.reset();

  // A column added in the source while the pipeline is down, then filled.
  server_->Execute("ALTER TABLE items ADD COLUMN note text");
  server_->Execute("UPDATE items SET note = 'noted ' || id WHERE id <= 50");
  source = Make(spec, mid_stream);
  std::string pg_with_note =
      std::string(kItemsPg).replace(std::string(kItemsPg).find(" FROM items"), 0, ", note");
  std::string ch_with_note =
      std::string(kItemsCh).replace(std::string(kItemsCh).find(" FROM items"), 0, ", note");
  ASSERT_TRUE(DrainUntilEqual(*source, pg_with_note, ch_with_note, letters));
  EXPECT_EQ(Rows("SELECT count() FROM system.columns WHERE table = 'items' AND name = 'note'"),
            std::vector<std::string>{"1"});
  EXPECT_TRUE(letters.empty());
}

TEST_F(PostgresCdcTest, ColumnAddedWhileStreamingGrowsTheSchema) {
  server_->Execute("CREATE TABLE grow (id int PRIMARY KEY, a text)");
  server_->Execute("INSERT INTO grow VALUES (1, 'one')");
  PostgresCdcSpec spec = Spec("grow", "grow_slot");
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  server_->Execute("INSERT INTO grow VALUES (2, 'two')");
  server_->Execute("ALTER TABLE grow ADD COLUMN b bigint");
  server_->Execute("INSERT INTO grow VALUES (3, 'three', 33)");
  ASSERT_TRUE(DrainUntilEqual(*source, "SELECT id, a, b FROM grow ORDER BY id",
                              "SELECT id, a, b FROM grow FINAL WHERE _is_deleted = 0 ORDER BY id",
                              letters));
}

TEST_F(PostgresCdcTest, UnchangedToastedValuesKeepTheirValue) {
  server_->Execute("CREATE TABLE docs (id int PRIMARY KEY, big text, n int)");
  server_->Execute(
      "INSERT INTO docs SELECT d, (SELECT string_agg(md5((d * 1000 + i)::text), '') FROM "
      "generate_series(1, 700) i), 0 FROM generate_series(1, 3) d");
  PostgresCdcSpec spec = Spec("docs", "docs_slot");
  spec.snapshot = false;  // the stream's update must carry the value by itself
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  // Updates that leave the TOASTed column alone: pgoutput sends it as 'unchanged'.
  server_->Execute("UPDATE docs SET n = n + 1");
  server_->Execute("UPDATE docs SET n = n + 1 WHERE id = 2");
  ASSERT_TRUE(DrainUntilEqual(*source, "SELECT id, md5(big), length(big), n FROM docs ORDER BY id",
                              "SELECT id, lower(hex(MD5(big))), length(big), n FROM docs FINAL "
                              "WHERE _is_deleted = 0 ORDER BY id",
                              letters));
  EXPECT_EQ(Rows("SELECT count() FROM docs WHERE big IS NULL OR big = ''"),
            std::vector<std::string>{"0"});
}

TEST_F(PostgresCdcTest, TruncateGoesToTheDeadLetterTableWithItsCode) {
  server_->Execute("CREATE TABLE gone (id int PRIMARY KEY)");
  server_->Execute("INSERT INTO gone SELECT generate_series(1, 5)");
  PostgresCdcSpec spec = Spec("gone", "gone_slot");
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  // TRUNCATE is not MVCC-safe: a copy that has not opened the table yet would see it empty.
  while (source->Position().substr(0, 7) != "stream:") PollOnce(*source, letters);
  server_->Execute("TRUNCATE gone");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (letters.empty() && std::chrono::steady_clock::now() < deadline) {
    PollOnce(*source, letters);
  }
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].error.code, ErrorCode::kCdcTruncateNotApplied);
  EXPECT_EQ(letters[0].raw, "TRUNCATE public.gone");
  EXPECT_EQ(Rows("SELECT count() FROM gone FINAL WHERE _is_deleted = 0"),
            std::vector<std::string>{"5"});
}

TEST_F(PostgresCdcTest, ReconnectsWhenTheServerRestartsAndMissesNothing) {
  server_->Execute("CREATE TABLE bounce (id int PRIMARY KEY, v int)");
  PostgresCdcSpec spec = Spec("bounce", "bounce_slot");
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  server_->Execute("INSERT INTO bounce SELECT i, i FROM generate_series(1, 100) i");
  ASSERT_TRUE(DrainUntilEqual(*source, "SELECT id, v FROM bounce ORDER BY id",
                              "SELECT id, v FROM bounce FINAL WHERE _is_deleted = 0 ORDER BY id",
                              letters));
  ASSERT_TRUE(server_->Restart()) << server_->error();
  server_->Execute("UPDATE bounce SET v = v * 10 WHERE id <= 50");
  server_->Execute("DELETE FROM bounce WHERE id > 90");
  ASSERT_TRUE(DrainUntilEqual(*source, "SELECT id, v FROM bounce ORDER BY id",
                              "SELECT id, v FROM bounce FINAL WHERE _is_deleted = 0 ORDER BY id",
                              letters));
  PostgresCdcMetrics metrics = source->Metrics();
  ASSERT_EQ(metrics.tables.size(), 1u);
  EXPECT_FALSE(metrics.snapshotting);
}

// The replication connection is drained and confirmed by the source's reader thread, not by
// Poll: a stream far larger than the socket buffers is received while nobody polls (as when
// the caller is inserting), and a committed position is confirmed without another Poll.
TEST_F(PostgresCdcTest, StreamIsReceivedAndConfirmedWhileNobodyPolls) {
  server_->Execute("CREATE TABLE flood (id int PRIMARY KEY, pad text)");
  PostgresCdcSpec spec = Spec("flood", "flood_slot");
  spec.snapshot = false;
  std::vector<DeadLetter> letters;
  auto source = Make(spec);
  // ~25 MB of pgoutput messages in one transaction.
  server_->Execute(
      "INSERT INTO flood SELECT i, repeat('x', 100) FROM generate_series(1, 200000) i");
  uint64_t written = ParseLsn(server_->Query("SELECT pg_current_wal_lsn()").at(0));
  // Everything read and sent: the walsender waits for new WAL (WalSenderWaitForWAL), not for
  // the socket (WalSenderWriteData).
  const std::string sent_sql =
      "SELECT r.sent_lsn, a.wait_event FROM pg_stat_replication r JOIN pg_replication_slots s "
      "ON s.active_pid = r.pid JOIN pg_stat_activity a ON a.pid = r.pid "
      "WHERE s.slot_name = 'flood_slot'";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string state;
  auto idle = [&] { return state.substr(state.find('\t') + 1) == "WalSenderWaitForWAL"; };
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto rows = server_->Query(sent_sql);
    if (rows.empty()) continue;
    state = rows[0];
    size_t tab = state.find('\t');
    if (ParseLsn(state.substr(0, tab)) >= written && idle()) break;
  }
  EXPECT_TRUE(idle())
      << "the walsender stalled while the source was not polled (sent LSN, wait event: " << state
      << ")";

  ASSERT_TRUE(DrainUntilEqual(*source, "SELECT id, pad FROM flood ORDER BY id",
                              "SELECT id, pad FROM flood FINAL WHERE _is_deleted = 0 ORDER BY id",
                              letters));
  std::string position = source->Position();
  uint64_t committed = std::stoull(position.substr(7, position.find(':', 7) - 7), nullptr, 16);
  ASSERT_GT(committed, 0u);
  ASSERT_TRUE(source->CommitPosition(position).ok());
  const std::string confirmed_sql =
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'flood_slot'";
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint64_t confirmed = 0;
  while (confirmed < committed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    confirmed = ParseLsn(server_->Query(confirmed_sql).at(0));
  }
  EXPECT_GE(confirmed, committed);
}

}  // namespace
}  // namespace sluice
