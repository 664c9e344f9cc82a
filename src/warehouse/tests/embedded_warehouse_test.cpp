#include "warehouse/embedded_warehouse.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  return *ParseDataType(text);
}

/// One engine per process: the whole suite shares it, in a fresh folder.
class EmbeddedWarehouseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = std::filesystem::temp_directory_path() /
              ("sluice-embedded-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder_);
    auto opened = EmbeddedWarehouse::Open(folder_.string());
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    warehouse_ = std::move(opened).value().release();
  }
  static void TearDownTestSuite() {
    delete warehouse_;
    std::filesystem::remove_all(folder_);
  }

  static std::string Scalar(const std::string& sql) {
    auto result = warehouse_->Query(sql, "TabSeparated");
    EXPECT_TRUE(result.ok()) << sql << ": " << (result.ok() ? "" : result.error().ToString());
    return result.ok()
               ? std::string(result->data.substr(0, result->data.find_last_not_of('\n') + 1))
               : "";
  }

  static inline std::filesystem::path folder_;
  static inline EmbeddedWarehouse* warehouse_ = nullptr;
};

TEST_F(EmbeddedWarehouseTest, ReportsItsVersion) {
  EXPECT_EQ(warehouse_->Version().substr(0, 5), "26.5.");
}

TEST_F(EmbeddedWarehouseTest, MapsClickHouseErrorsToTypedErrors) {
  auto result = warehouse_->Query("SELECT * FROM no_such_table", "TabSeparated");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kWarehouseQueryFailed);
  EXPECT_EQ(result.error().upstream_code, 60);  // UNKNOWN_TABLE
  EXPECT_NE(result.error().message.find("UNKNOWN_TABLE"), std::string::npos);
  auto syntax = warehouse_->Query("SELEC 1", "TabSeparated");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().upstream_code, 62);  // SYNTAX_ERROR
}

TEST_F(EmbeddedWarehouseTest, ReportsEveryStatementToItsObserver) {
  std::vector<std::pair<std::string, QueryRecord>> seen;
  ASSERT_TRUE(warehouse_->ObserveQueries(
      [&seen](const QueryRecord& record) { seen.emplace_back(std::string(record.sql), record); }));
  Scalar("SELECT sum(number) FROM numbers(1000)");
  EXPECT_FALSE(warehouse_->Query("SELECT * FROM no_such_table", "TabSeparated").ok());
  warehouse_->ObserveQueries(nullptr);
  Scalar("SELECT 1");  // no longer observed
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "SELECT sum(number) FROM numbers(1000)");
  EXPECT_FALSE(seen[0].second.failed);
  // What the statement read, not what it returned (one row of 8 bytes); the engine's totals
  // it comes from may be off by a few rows of system tables.
  EXPECT_NEAR(static_cast<double>(seen[0].second.rows_read), 1000, 50);
  EXPECT_NEAR(static_cast<double>(seen[0].second.bytes_read), 8000, 4000);
  EXPECT_GT(seen[0].second.elapsed_seconds, 0);
  EXPECT_EQ(seen[1].first, "SELECT * FROM no_such_table");
  EXPECT_TRUE(seen[1].second.failed);
  EXPECT_LT(seen[1].second.rows_read, 50u);  // nothing but the noise of system tables
}

TEST_F(EmbeddedWarehouseTest, ASecondOpenInTheSameProcessIsRefused) {
  auto second = EmbeddedWarehouse::Open((folder_ / "other").string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kWarehouseUnavailable);
}

TEST_F(EmbeddedWarehouseTest, InsertsEveryTypeExactlyIncludingBinaryStrings) {
  ASSERT_TRUE(warehouse_
                  ->Execute("CREATE TABLE typed (id UInt64, name LowCardinality(Nullable(String)), "
                            "at DateTime64(3, 'UTC'), amount Decimal(10, 2), day Date, "
                            "tags Array(String), attributes Map(String, UInt32), "
                            "pair Tuple(a String, b UInt8), ok Bool, ratio Float64, "
                            "coarse DateTime64(2, 'UTC')) ENGINE = MergeTree ORDER BY id")
                  .ok());
  Batch batch({{"id", Type("UInt64")},
               {"name", Type("LowCardinality(Nullable(String))")},
               {"at", Type("DateTime64(3, 'UTC')")},
               {"amount", Type("Decimal(10, 2)")},
               {"day", Type("Date")},
               {"tags", Type("Array(String)")},
               {"attributes", Type("Map(String, UInt32)")},
               {"pair", Type("Tuple(a String, b UInt8)")},
               {"ok", Type("Bool")},
               {"ratio", Type("Float64")},
               {"coarse", Type("DateTime64(2, 'UTC')")}});
  constexpr int kRows = 100000;
  for (int i = 0; i < kRows; ++i) {
    batch.column(0).AppendFixed<uint64_t>(i);
    // Blank lines inside values are what cut inline binary inserts short.
    if (i % 10 == 0) {
      batch.column(1).AppendNull();
    } else {
      batch.column(1).AppendString(i % 7 == 0 ? "line\n\nbreak" : "user");
    }
    batch.column(2).AppendFixed<int64_t>(1717200000000 + i);
    batch.column(3).AppendFixed<Int128>(Int128(i) * 100 + 5);
    batch.column(4).AppendFixed<int32_t>(19875);  // 2024-06-01
    Column& tags = batch.column(5);
    tags.child(0).AppendString("a");
    tags.child(0).AppendString("b");
    tags.CloseNestedRow();
    Column& attributes = batch.column(6);
    attributes.child(0).AppendString("k");
    attributes.child(1).AppendFixed<uint32_t>(static_cast<uint32_t>(i));
    attributes.CloseNestedRow();
    Column& pair = batch.column(7);
    pair.child(0).AppendString("x");
    pair.child(1).AppendFixed<uint8_t>(7);
    pair.CloseNestedRow();
    batch.column(8).AppendFixed<uint8_t>(i % 2);
    batch.column(9).AppendFixed<double>(i / 4.0);
    batch.column(10).AppendFixed<int64_t>(12345);
  }
  auto inserted = warehouse_->Insert({"default", "typed", &batch, ""});
  ASSERT_TRUE(inserted.ok()) << inserted.error().ToString();
  EXPECT_EQ(inserted->rows_written, static_cast<uint64_t>(kRows));

  EXPECT_EQ(Scalar("SELECT count(), countIf(name IS NULL), countIf(name = 'line\\n\\nbreak') "
                   "FROM typed"),
            "100000\t10000\t12857");
  EXPECT_EQ(Scalar("SELECT sum(amount), min(at), any(day), sum(ok), sum(ratio) FROM typed"),
            "4999955000\t2024-06-01 00:00:00.000\t2024-06-01\t50000\t1249987500");
  EXPECT_EQ(Scalar("SELECT tags, attributes, pair, coarse FROM typed WHERE id = 3"),
            "['a','b']\t{'k':3}\t('x',7)\t1970-01-01 00:02:03.45");
}

TEST_F(EmbeddedWarehouseTest, SameDeduplicationTokenInsertsOnce) {
  ASSERT_TRUE(warehouse_
                  ->Execute("CREATE TABLE deduplicated (id UInt64) ENGINE = MergeTree ORDER BY id "
                            "SETTINGS non_replicated_deduplication_window = 100")
                  .ok());
  Batch batch({{"id", Type("UInt64")}});
  for (uint64_t i = 0; i < 1000; ++i) batch.column(0).AppendFixed<uint64_t>(i);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto inserted = warehouse_->Insert({"default", "deduplicated", &batch, "pipeline/t/1-1000"});
    ASSERT_TRUE(inserted.ok()) << inserted.error().ToString();
  }
  auto other = warehouse_->Insert({"default", "deduplicated", &batch, "pipeline/t/1001-2000"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Scalar("SELECT count() FROM deduplicated"), "2000");
}

TEST_F(EmbeddedWarehouseTest, InsertIntoAMissingTableFailsLoudly) {
  Batch batch({{"id", Type("UInt64")}});
  batch.column(0).AppendFixed<uint64_t>(1);
  auto inserted = warehouse_->Insert({"default", "missing_table", &batch, ""});
  ASSERT_FALSE(inserted.ok());
  EXPECT_EQ(inserted.error().upstream_code, 60);
}

TEST_F(EmbeddedWarehouseTest, ServesSeveralThreadsAtOnce) {
  ASSERT_TRUE(
      warehouse_->Execute("CREATE TABLE shared (id UInt64) ENGINE = MergeTree ORDER BY id").ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Batch batch({{"id", Type("UInt64")}});
      for (int round = 0; round < 10; ++round) {
        batch.Clear();
        for (uint64_t i = 0; i < 500; ++i) batch.column(0).AppendFixed<uint64_t>(t * 10000 + i);
        if (!warehouse_->Insert({"default", "shared", &batch, ""}).ok()) ++failures;
        if (!warehouse_->Query("SELECT count() FROM shared", "TabSeparated").ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Scalar("SELECT count() FROM shared"), "20000");
}

}  // namespace
}  // namespace sluice
