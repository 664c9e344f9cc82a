// The seed's ClickHouse section, end to end on the embedded engine: the quickstart spec (every
// table of the seed) is applied, the bundled events are loaded, and the engine itself is asked
// whether the tables are what the spec says and whether the design pays off.

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "app/pipeline_builder.h"
#include "base/strings.h"
#include "config/spec_loader.h"
#include "dataflow/bounded_runner.h"
#include "test_support.h"
#include "warehouse/embedded_warehouse.h"
#include "warehouse/migration.h"

namespace sluice {
namespace {

using testing_support::ReadFile;
using testing_support::TempDir;

const std::filesystem::path kSourceDir = SLUICE_SOURCE_DIR;

class SeedTablesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new TempDir("sluice-seed");
    SpecLoadResult loaded = LoadSpecFile((kSourceDir / "examples/quickstart/spec.yaml").string());
    ASSERT_TRUE(loaded.ok()) << loaded.errors.front().ToString();
    spec_ = new PipelineSpec(std::move(*loaded.spec));
    spec_->warehouse.path = (folder_->path() / "data").string();
    auto opened = EmbeddedWarehouse::Open(spec_->warehouse.path);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    warehouse_ = std::move(opened).value().release();

    auto plan = PlanMigration(*warehouse_, *spec_);
    ASSERT_TRUE(plan.ok()) << plan.error().ToString();
    ASSERT_TRUE(ApplyMigration(*warehouse_, *plan, false).ok());
    for (SourceRun& run : BuildSourceRuns(*spec_, *warehouse_, metrics_)) {
      auto counts = RunBounded(*run.source, run.schema, *run.sink, *run.dead_letter_sink);
      ASSERT_TRUE(counts.ok()) << counts.error().ToString();
    }
  }
  static void TearDownTestSuite() {
    delete warehouse_;
    delete spec_;
    delete folder_;
  }

  static std::string Ask(const std::string& sql) {
    auto result = warehouse_->Query(sql, "TabSeparated");
    EXPECT_TRUE(result.ok()) << sql << ": " << (result.ok() ? "" : result.error().ToString());
    return result.ok() ? std::string(Trim(result->data)) : "";
  }

  static inline TempDir* folder_ = nullptr;
  static inline PipelineSpec* spec_ = nullptr;
  static inline EmbeddedWarehouse* warehouse_ = nullptr;
  static inline MetricRegistry metrics_;
};

TEST_F(SeedTablesTest, ShowCreateTableMatchesTheReferences) {
  for (std::string table : {"user_events", "user_daily_stats", "events_with_ttl", "optimized_table",
                            "user_events_dead_letter"}) {
    auto result = warehouse_->Query("SHOW CREATE TABLE " + table, "TabSeparatedRaw");
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    std::filesystem::path reference = kSourceDir / "tests/golden/seed" / (table + ".reference");
    const char* update = std::getenv("SLUICE_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
      testing_support::WriteFile(reference, result->data);
    }
    EXPECT_EQ(ReadFile(reference), result->data) << table;
  }
}

TEST_F(SeedTablesTest, EveryGoodRecordLandsAndEveryBadOneIsDeadLettered) {
  // events.ndjson has 20004 lines, four of them broken on purpose.
  EXPECT_EQ(Ask("SELECT count() FROM user_events"), "20000");
  EXPECT_EQ(Ask("SELECT count() FROM optimized_table"), "5000");
  EXPECT_EQ(Ask("SELECT error_name, count() FROM user_events_dead_letter GROUP BY error_name "
                "ORDER BY error_name"),
            "RECORD_INVALID_DATE\t2\nRECORD_MALFORMED\t1\nRECORD_OUT_OF_RANGE\t1");
  EXPECT_EQ(Ask("SELECT location FROM user_events_dead_letter WHERE error_name = "
                "'RECORD_OUT_OF_RANGE'"),
            (kSourceDir / "examples/quickstart/events.ndjson").string() + ":9003");
}

TEST_F(SeedTablesTest, SummingViewTotalsEqualBaseTableTotals) {
  EXPECT_EQ(Ask("SELECT sum(event_count), sum(total_amount) FROM user_daily_stats"),
            Ask("SELECT count(), sum(amount) FROM user_events"));
  EXPECT_EQ(Ask("SELECT event_date, user_id, sum(event_count), sum(total_amount) FROM "
                "user_daily_stats GROUP BY event_date, user_id ORDER BY event_date, user_id"),
            Ask("SELECT event_date, user_id, count(), sum(amount) FROM user_events GROUP BY "
                "event_date, user_id ORDER BY event_date, user_id"));
}

TEST_F(SeedTablesTest, PrimaryKeyPrunesGranulesForUserIdIn) {
  std::string explain =
      Ask("EXPLAIN indexes = 1 SELECT count() FROM user_events WHERE user_id IN (4000, 4999) "
          "SETTINGS optimize_use_projections = 0");
  EXPECT_NE(explain.find("PrimaryKey"), std::string::npos) << explain;
  std::smatch granules;
  std::regex granules_line(R"(PrimaryKey[\s\S]*?Keys:\s+user_id[\s\S]*?Granules: (\d+)/(\d+))");
  ASSERT_TRUE(std::regex_search(explain, granules, granules_line)) << explain;
  EXPECT_LT(std::stoi(granules[1]), std::stoi(granules[2])) << explain;
}

TEST_F(SeedTablesTest, ProjectionIsBuiltAndUsed) {
  EXPECT_NE(Ask("SELECT count() FROM system.projection_parts WHERE table = 'user_events' AND "
                "name = 'user_event_projection' AND active"),
            "0");
  std::string explain =
      Ask("EXPLAIN SELECT event_date, user_id, count(), sum(amount) FROM user_events GROUP BY "
          "event_date, user_id");
  EXPECT_NE(explain.find("user_event_projection"), std::string::npos) << explain;
}

TEST_F(SeedTablesTest, ApproximateDistinctCountIsCloseToExact) {
  std::string answer = Ask("SELECT uniqExact(user_id), uniqCombined(user_id) FROM user_events");
  size_t tab = answer.find('\t');
  double exact = std::stod(answer.substr(0, tab));
  double approximate = std::stod(answer.substr(tab + 1));
  EXPECT_GT(exact, 1000);
  EXPECT_NEAR(approximate, exact, exact * 0.02);
}

TEST_F(SeedTablesTest, ReplayingTheSourcesStoresNothingTwice) {
  for (SourceRun& run : BuildSourceRuns(*spec_, *warehouse_, metrics_)) {
    auto counts = RunBounded(*run.source, run.schema, *run.sink, *run.dead_letter_sink);
    ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  }
  EXPECT_EQ(Ask("SELECT count() FROM user_events"), "20000");
  EXPECT_EQ(Ask("SELECT sum(event_count) FROM user_daily_stats"), "20000");
  EXPECT_EQ(Ask("SELECT count() FROM user_events_dead_letter"), "4");
  EXPECT_EQ(Ask("SELECT count() FROM optimized_table"), "5000");
}

TEST_F(SeedTablesTest, PlanningTheSameSpecAgainChangesNothing) {
  auto plan = PlanMigration(*warehouse_, *spec_);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_TRUE(plan->empty()) << plan->ToText();
}

}  // namespace
}  // namespace sluice
