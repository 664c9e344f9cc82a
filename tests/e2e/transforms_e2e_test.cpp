// The transforms of an aggregation, end to end with `sluice run` on the embedded engine: a map
// with a computed key, enrichment from a real PostgreSQL 15 and from a ClickHouse table, and a
// union of two streams. Each result table is compared, row for row, with the same computation
// done by ClickHouse in SQL over the raw tables the same run loaded (GROUP BY; a LEFT JOIN for
// the enrichment). Failed map values and dimension values that do not fit their type must be
// in the stream's dead-letter table.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "http_client.h"
#include "postgres_server.h"
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

constexpr int64_t kStartMs = 1'717'236'000'000;  // 2024-06-01 10:00:00 UTC

std::string Time(int64_t ms) {
  return std::to_string(ms);
}

// Event i: one a second over ten minutes, up to 4 s out of order; amount 0 every 37th event
// (17 of 600).
std::string EventsCsv(int count, int users) {
  std::string csv = "id,user_id,kind,amount,country_code,ts\n";
  const char* kinds[] = {"view", "click", "buy"};
  const char* countries[] = {"DE", "FR", "US", "JP", "XX"};
  for (int i = 0; i < count; ++i) {
    int64_t ts = kStartMs + int64_t{i} * 1000 - (i * 7919) % 4000;
    int amount = i % 37 == 0 ? 0 : 1 + (i * 13) % 50;
    csv += std::to_string(i) + "," + std::to_string(1 + (i * 7) % users) + "," + kinds[i % 3] +
           "," + std::to_string(amount) + "," + countries[i % 5] + "," + Time(ts) + "\n";
  }
  return csv;
}

constexpr char kEventsTable[] = R"yaml(  events:
    columns:
      - {name: id, type: UInt64}
      - {name: user_id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: amount, type: UInt32}
      - {name: country_code, type: String}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
)yaml";

class TransformsTest : public ::testing::Test {
 protected:
  void SetUp() override { folder_ = std::make_unique<TempDir>("sluice-transforms"); }
  std::string Path(const std::string& name) const { return (folder_->path() / name).string(); }

  void Run(const std::string& spec, int aggregations = 1) {
    WriteFile(Path("spec.yaml"), spec);
    auto run = RunSluice("run " + Path("spec.yaml"));
    ASSERT_EQ(run.exit_code, 0) << run.out;
    ASSERT_NE(run.out.find("aggregations: " + std::to_string(aggregations) + " done"),
              std::string::npos)
        << run.out;
  }
  /// The rows of a query as TSV, without the header line (column names differ between the
  /// result tables and the SQL computing the same values).
  std::string Query(const std::string& sql) {
    return testing_support::QueryRows(Path("spec.yaml"), sql);
  }
  /// The aggregation's current rows (FINAL: the newest version of each key and window).
  std::string Results(const std::string& table, const std::string& columns,
                      const std::string& order, const std::string& condition = "1") {
    return Query("SELECT " + columns + " FROM " + table + " FINAL WHERE _is_deleted = 0 AND " +
                 condition + " ORDER BY " + order);
  }
  /// Expected and actual results must be real tables, not two empty answers.
  void ExpectSameRows(const std::string& expected, const std::string& actual, size_t min_rows) {
    EXPECT_EQ(actual, expected);
    EXPECT_GE(std::count(actual.begin(), actual.end(), '\n'), static_cast<long>(min_rows))
        << actual;
  }

  std::unique_ptr<TempDir> folder_;
};

// Window start in epoch milliseconds, in both the result table and the SQL over raw rows.
constexpr char kWindowOfTs[] = "intDiv(toUnixTimestamp64Milli(ts), 60000) * 60000";
constexpr char kWindowStart[] = "toUnixTimestamp64Milli(window_start)";

TEST_F(TransformsTest, MapComputesTheKeyAndFailedValuesAreDeadLetters) {
  WriteFile(Path("events.csv"), EventsCsv(600, 20));
  Run(std::string("pipeline: mapped\nwarehouse: {path: data}\ncheckpoint: {path: chk}\n"
                  "tables:\n") +
      kEventsTable + R"yaml(streams:
  events: {}
sources:
  events_csv: {type: file, stream: events, path: events.csv}
aggregations:
  per_bucket:
    from: events
    map:
      bucket: concat(upper(kind), '-', toString(amount % 3))
      doubled: amount * 2
      per_unit: 100 / amount
    filter: doubled > 10
    key_by: bucket
    window: {type: tumbling, size: 1m}
    event_time: {field: ts, max_out_of_orderness: 5s}
    parallelism: 2
    aggregates:
      - {name: n, function: count}
      - {name: total, function: sum, field: doubled}
      - {name: top, function: max, field: per_unit}
)yaml");
  std::string expected =
      Query(std::string("SELECT concat(upper(kind), '-', toString(amount % 3)) AS bucket, ") +
            kWindowOfTs +
            " AS w, count(), sum(amount * 2), max(100 / amount) FROM events WHERE amount != 0 AND "
            "amount * 2 > 10 GROUP BY bucket, w ORDER BY bucket, w");
  ExpectSameRows(expected,
                 Results("per_bucket", std::string("bucket, ") + kWindowStart + ", n, total, top",
                         "bucket, window_start"),
                 30);
  // 100 / 0 has no value: those records are dead letters of the map, not silently dropped.
  EXPECT_EQ(Query("SELECT count(), any(source), any(error_name), countIf(raw LIKE "
                  "'%\\\"amount\\\":0,%') FROM events_dead_letter WHERE error_code = 215"),
            "17\tper_bucket.map\tRECORD_EXPRESSION_FAILED\t17\n");
  EXPECT_EQ(Query("SELECT count() FROM events WHERE amount = 0"), "17\n");
  EXPECT_EQ(Query("SELECT count() FROM per_bucket_late"), "0\n");
}

TEST_F(TransformsTest, EnrichesFromPostgres) {
  testing::PostgresServer postgres;
  ASSERT_TRUE(postgres.Start()) << postgres.error();
  // Users 1..40 in PostgreSQL (events name 1..50: ten are not found) and the same rows in a
  // CSV that the run loads into ClickHouse, for the JOIN the results are checked against.
  std::string users_csv = "id,tier,region\n";
  std::string insert = "CREATE TABLE users (id bigint PRIMARY KEY, tier text, region text);";
  for (int id = 1; id <= 40; ++id) {
    std::string tier = id % 4 == 0 ? "gold" : id % 4 == 1 ? "silver" : "bronze";
    std::string region = id % 3 == 0 ? "north" : "south";
    users_csv += std::to_string(id) + "," + tier + "," + region + "\n";
    insert +=
        "INSERT INTO users VALUES (" + std::to_string(id) + ", '" + tier + "', '" + region + "');";
  }
  postgres.Execute(insert);
  WriteFile(Path("users.csv"), users_csv);
  WriteFile(Path("events.csv"), EventsCsv(600, 50));
  Run(std::string("pipeline: enriched\nwarehouse: {path: data}\ncheckpoint: {path: chk}\n"
                  "tables:\n") +
      kEventsTable + R"yaml(  users_copy:
    columns:
      - {name: id, type: UInt64}
      - {name: tier, type: String}
      - {name: region, type: String}
    order_by: [id]
streams:
  events: {}
  users_copy: {}
sources:
  events_csv: {type: file, stream: events, path: events.csv}
  users_csv: {type: file, stream: users_copy, path: users.csv}
aggregations:
  per_tier:
    from: events
    enrich:
      backend: postgres
      dsn: ")yaml" +
      postgres.dsn() + R"yaml("
      table: public.users
      key: user_id
      lookup_key: id
      fields: [{name: tier, type: String}, {name: region, type: String}]
      cache_size: 16
      max_keys_per_lookup: 7
      concurrency: 3
    filter: region IS NULL OR region != 'north'
    key_by: tier
    window: {type: tumbling, size: 1m}
    event_time: {field: ts, max_out_of_orderness: 5s}
    aggregates:
      - {name: n, function: count}
      - {name: spend, function: sum, field: amount}
      - {name: largest, function: max, field: amount}
)yaml");
  std::string expected = Query(
      std::string("SELECT u.tier AS tier, ") + kWindowOfTs +
      " AS w, count(), sum(e.amount), max(e.amount) FROM events AS e LEFT JOIN users_copy AS u "
      "ON e.user_id = u.id WHERE u.region IS NULL OR u.region != 'north' GROUP BY tier, w "
      "ORDER BY tier, w SETTINGS join_use_nulls = 1");
  ExpectSameRows(expected,
                 Results("per_tier", std::string("tier, ") + kWindowStart + ", n, spend, largest",
                         "tier, window_start"),
                 30);
  // Users that are not in the table are a NULL tier, not a lost record.
  EXPECT_NE(expected.find("\\N\t"), std::string::npos) << expected;
}

TEST_F(TransformsTest, EnrichesFromAClickHouseTableUnordered) {
  WriteFile(Path("countries.csv"),
            "code,name,region\nDE,Germany,EU\nFR,France,EU\nUS,USA,NA\n"
            "JP,Japan,APAC\n");
  WriteFile(Path("events.csv"), EventsCsv(600, 20));
  Run(std::string("pipeline: dims\nwarehouse: {path: data}\ncheckpoint: {path: chk}\n"
                  "tables:\n") +
          kEventsTable + R"yaml(  countries:
    columns:
      - {name: code, type: String}
      - {name: name, type: String}
      - {name: region, type: LowCardinality(String)}
    order_by: [code]
streams:
  events: {}
  countries: {}
sources:
  countries_csv: {type: file, stream: countries, path: countries.csv}
  events_csv: {type: file, stream: events, path: events.csv}
aggregations:
  per_region:
    from: events
    map:
      code: lower(country_code)
    enrich:
      table: countries
      key: country_code
      lookup_key: code
      fields: [{name: region}, {name: country, column: name}]
      ordered: false
    key_by: [region, kind]
    window: {type: tumbling, size: 1m}
    event_time: {field: ts, max_out_of_orderness: 5s}
    aggregates:
      - {name: n, function: count}
      - {name: spend, function: sum, field: amount}
      - {name: countries, function: count_distinct, field: country}
  # A region name does not fit UInt8: every record whose country is found is a dead letter of
  # the enrichment; XX (not found, NULL) is aggregated.
  region_numbers:
    from: events
    enrich:
      table: countries
      key: country_code
      lookup_key: code
      fields: [{name: region_number, column: region, type: UInt8}]
    window: {type: tumbling, size: 1m}
    event_time: {field: ts, max_out_of_orderness: 5s}
    aggregates:
      - {name: n, function: count}
)yaml",
      2);
  std::string expected = Query(
      std::string("SELECT c.region AS region, e.kind AS kind, ") + kWindowOfTs +
      " AS w, count(), sum(e.amount), uniqExact(c.name) FROM events AS e LEFT JOIN countries AS "
      "c ON e.country_code = c.code GROUP BY region, kind, w ORDER BY region, kind, w SETTINGS "
      "join_use_nulls = 1");
  ExpectSameRows(
      expected,
      Results("per_region", std::string("region, kind, ") + kWindowStart + ", n, spend, countries",
              "region, kind, window_start"),
      40);
  EXPECT_NE(expected.find("\\N\t"), std::string::npos) << expected;  // XX is no country
  EXPECT_EQ(Query("SELECT sum(n) FROM region_numbers FINAL WHERE _is_deleted = 0"), "120\n");
  EXPECT_EQ(Query("SELECT count(), any(source), min(error_code) >= 200 AND max(error_code) < 300, "
                  "countIf(raw LIKE '%\\\"country_code\\\":\\\"XX\\\"%'), "
                  "countIf(raw LIKE '%\\\"country_code\\\":\\\"DE\\\"%') FROM "
                  "events_dead_letter"),
            "480\tregion_numbers.enrich\t1\t0\t120\n");
}

// Two streams with the same fields but page / device.
constexpr char kUnionTables[] = R"yaml(tables:
  web:
    columns:
      - {name: id, type: UInt64}
      - {name: user_id, type: UInt64}
      - {name: amount, type: UInt32}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
      - {name: page, type: String}
    order_by: [id]
  app:
    columns:
      - {name: id, type: UInt64}
      - {name: user_id, type: UInt64}
      - {name: amount, type: UInt32}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
      - {name: device, type: String}
    order_by: [id]
streams:
  web: {}
  app: {}
)yaml";

TEST_F(TransformsTest, UnionOfTwoStreamsWaitsForTheSlowerWatermark) {
  // Web and app events each cover ten minutes, app's five minutes behind: with the watermark of
  // the faster source alone, most app events would be late.
  std::string web = "id,user_id,amount,ts,page\n";
  std::string app = "id,user_id,amount,ts,device\n";
  for (int i = 0; i < 600; ++i) {
    web += std::to_string(i) + "," + std::to_string(i % 9) + "," + std::to_string(i % 17) + "," +
           Time(kStartMs + int64_t{i} * 1000) + ",/p" + std::to_string(i % 4) + "\n";
    app += std::to_string(i) + "," + std::to_string(i % 7) + "," + std::to_string(i % 23) + "," +
           Time(kStartMs + int64_t{i} * 1000 - 300'000) + ",phone\n";
  }
  WriteFile(Path("web.csv"), web);
  WriteFile(Path("app.csv"), app);
  Run(std::string("pipeline: unions\nwarehouse: {path: data}\ncheckpoint: {path: chk}\n") +
      kUnionTables + R"yaml(sources:
  web_csv: {type: file, stream: web, path: web.csv, batch_rows: 50}
  app_csv: {type: file, stream: app, path: app.csv, batch_rows: 50}
aggregations:
  per_user:
    from: [web, app]
    key_by: user_id
    window: {type: tumbling, size: 1m}
    event_time: {field: ts}
    parallelism: 2
    aggregates:
      - {name: n, function: count}
      - {name: spend, function: sum, field: amount}
)yaml");
  std::string expected =
      Query(std::string("SELECT user_id, ") + kWindowOfTs +
            " AS w, count(), sum(amount) FROM (SELECT user_id, amount, ts FROM web UNION ALL "
            "SELECT user_id, amount, ts FROM app) GROUP BY user_id, w ORDER BY user_id, w");
  ExpectSameRows(expected,
                 Results("per_user", std::string("user_id, ") + kWindowStart + ", n, spend",
                         "user_id, window_start"),
                 60);
  EXPECT_EQ(Query("SELECT count() FROM per_user_late"), "0\n");
}

TEST_F(TransformsTest, UnionReadsBothStreamsFromTheLogWhenServing) {
  std::string spec = Path("spec.yaml");
  std::string log = Path("sluice.log");
  WriteFile(spec, std::string("pipeline: live\nwarehouse: {path: data}\nwal: {path: wal}\n"
                              "server: {listen: \"127.0.0.1:0\"}\n"
                              "checkpoint: {path: chk, interval: 200ms}\n") +
                      kUnionTables + R"yaml(aggregations:
  per_user:
    from: [web, app]
    key_by: user_id
    window: {type: tumbling, size: 1m}
    event_time: {field: ts}
    aggregates:
      - {name: n, function: count}
      - {name: spend, function: sum, field: amount}
)yaml");
  {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    // App events five minutes behind web's, posted alternately in batches of 50.
    for (int first = 0; first < 600; first += 50) {
      std::string web;
      std::string app;
      for (int i = first; i < first + 50; ++i) {
        web += "{\"id\":" + std::to_string(i) + ",\"user_id\":" + std::to_string(i % 9) +
               ",\"amount\":" + std::to_string(i % 17) +
               ",\"ts\":" + Time(kStartMs + int64_t{i} * 1000) + ",\"page\":\"/\"}\n";
        app += "{\"id\":" + std::to_string(i) + ",\"user_id\":" + std::to_string(i % 7) +
               ",\"amount\":" + std::to_string(i % 23) +
               ",\"ts\":" + Time(kStartMs + int64_t{i} * 1000 - 300'000) +
               ",\"device\":\"phone\"}\n";
      }
      ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/web", web).status, 200);
      ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/app", app).status, 200);
    }
    sluice.Kill(SIGTERM);
    ASSERT_EQ(sluice.Wait(), 0) << ReadFile(log);
  }
  // The watermark is app's newest event time (the smaller of the two): windows ending by then
  // have fired; later ones stay open in the checkpoint.
  std::string closed = std::to_string(kStartMs + 299'000);
  std::string expected =
      Query(std::string("SELECT user_id, ") + kWindowOfTs +
            " AS w, count(), sum(amount) FROM (SELECT user_id, amount, ts FROM web UNION ALL "
            "SELECT user_id, amount, ts FROM app) GROUP BY user_id, w HAVING w + 60000 <= " +
            closed + " ORDER BY user_id, w");
  ExpectSameRows(
      expected,
      Results("per_user", std::string("user_id, ") + kWindowStart + ", n, spend",
              "user_id, window_start", "toUnixTimestamp64Milli(window_end) <= " + closed),
      40);
  EXPECT_EQ(Query("SELECT count() FROM per_user_late"), "0\n");
  EXPECT_EQ(Query("SELECT count() FROM web"), "600\n");
  EXPECT_EQ(Query("SELECT count() FROM app"), "600\n");
}

}  // namespace
}  // namespace sluice
