#include <gtest/gtest.h>

#include <set>

#include "mariadb_server.h"
#include "postgres_server.h"
#include "sources/sql_poll/sql_poll_source.h"

namespace sluice {
namespace {

DecodeField Field(const std::string& name, const std::string& type) {
  return DecodeField{name, *ParseDataType(type), {}, false, std::nullopt};
}

/// Polls until a poll finds nothing new; returns "id:name" of every row handed out.
std::vector<std::string> Drain(SqlPollSource& source, std::vector<DeadLetter>& letters) {
  std::vector<std::string> rows;
  for (int idle = 0; idle < 2;) {
    Batch batch(source.schema());
    auto polled = source.Poll(batch, letters);
    EXPECT_TRUE(polled.ok()) << polled.error().ToString();
    if (!polled.ok()) break;
    if (*polled == PollStatus::kIdle) {
      ++idle;
      continue;
    }
    EXPECT_FALSE(source.LastPollIdentity().empty());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      rows.push_back(std::to_string(batch.column(0).FixedAt<int32_t>(row)) + ":" +
                     std::string(batch.column(1).StringAt(row)));
    }
  }
  return rows;
}

TEST(SqlPollTest, MariaDbInsertsAndUpdatesArriveOnceAcrossARestart) {
  testing::MariaDbServer server;
  ASSERT_TRUE(server.Start()) << server.error();
  server.Execute(
      "CREATE TABLE events (id int PRIMARY KEY, name varchar(50), amount decimal(10, 2), "
      "updated_at datetime(6) NOT NULL)");
  server.Execute(
      "INSERT INTO events VALUES (1, 'a', 1.50, '2024-01-01 00:00:01'), "
      "(2, 'b', 2.50, '2024-01-01 00:00:02'), (3, 'c', NULL, '2024-01-01 00:00:02')");
  SqlPollSpec spec;
  spec.driver = "mysql";
  spec.dsn = server.dsn();
  spec.table = "events";
  spec.cursor = "updated_at";
  spec.key = {"id"};
  spec.overlap = 5;  // seconds
  spec.interval = std::chrono::milliseconds(10);
  std::vector<DecodeField> fields = {Field("id", "Int32"), Field("name", "String"),
                                     Field("amount", "Nullable(Decimal(10, 2))"),
                                     Field("updated_at", "DateTime64(6, 'UTC')")};
  std::vector<DeadLetter> letters;
  auto source = std::make_unique<SqlPollSource>("poll", spec, fields, 2);
  ASSERT_TRUE(source->Open().ok());
  EXPECT_EQ(Drain(*source, letters), (std::vector<std::string>{"1:a", "2:b", "3:c"}));

  // A late row inside the overlap, an update (new cursor value), and a new row.
  server.Execute("INSERT INTO events VALUES (4, 'late', 4, '2024-01-01 00:00:00')");
  server.Execute("UPDATE events SET name = 'b2', updated_at = '2024-01-01 00:00:03' WHERE id = 2");
  server.Execute("INSERT INTO events VALUES (5, 'e', 5, '2024-01-01 00:00:04')");
  std::string position = source->Position();
  source.reset();

  // A new instance from the position: nothing handed out before comes again.
  source = std::make_unique<SqlPollSource>("poll", spec, fields, 2);
  ASSERT_TRUE(source->Restore(position).ok());
  ASSERT_TRUE(source->Open().ok());
  EXPECT_EQ(Drain(*source, letters), (std::vector<std::string>{"4:late", "2:b2", "5:e"}));
  server.Execute("INSERT INTO events VALUES (6, 'f', 6, '2024-01-01 00:10:00')");
  EXPECT_EQ(Drain(*source, letters), (std::vector<std::string>{"6:f"}));
  // Outside the overlap now: the memory of the old rows is gone from the position.
  EXPECT_EQ(source->Position().find("1704067201000000="), std::string::npos);
  EXPECT_TRUE(letters.empty());
}

TEST(SqlPollTest, PostgresIntegerCursorWithManyRowsPerValueAndBadValues) {
  testing::PostgresServer server;
  ASSERT_TRUE(server.Start()) << server.error();
  server.Execute(
      "CREATE TABLE log (id int PRIMARY KEY, name text, version bigint, at timestamptz)");
  // Five rows share each version: more than one page (2 rows) per cursor value.
  server.Execute(
      "INSERT INTO log SELECT i, 'n' || i, i / 5, timestamptz '2024-01-01 00:00:00+00' FROM "
      "generate_series(1, 23) i");
  server.Execute("INSERT INTO log VALUES (100, 'bad', 10, 'infinity')");
  SqlPollSpec spec;
  spec.driver = "postgres";
  spec.dsn = server.dsn();
  spec.table = "public.log";
  spec.cursor = "version";
  spec.key = {"id"};
  spec.overlap = 1;
  spec.interval = std::chrono::milliseconds(10);
  std::vector<DecodeField> fields = {Field("id", "Int32"), Field("name", "String"),
                                     Field("at", "DateTime64(6, 'UTC')")};
  std::vector<DeadLetter> letters;
  SqlPollSource source("poll", spec, fields, 2);
  ASSERT_TRUE(source.Open().ok());
  std::vector<std::string> rows = Drain(source, letters);
  EXPECT_EQ(rows.size(), 23u);
  EXPECT_EQ(std::set<std::string>(rows.begin(), rows.end()).size(), 23u);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].error.code, ErrorCode::kSourceValueUnconvertible);
  EXPECT_EQ(letters[0].error.where, "at");
}

}  // namespace
}  // namespace sluice
