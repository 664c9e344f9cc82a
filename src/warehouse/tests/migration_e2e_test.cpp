// Plan and migrate against the embedded ClickHouse: specs evolve v1 → v2 → v3 and the plan must
// list exactly the changes, apply them, and be empty afterwards.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/strings.h"
#include "config/spec_loader.h"
#include "warehouse/ddl.h"
#include "warehouse/embedded_warehouse.h"
#include "warehouse/identifier.h"
#include "warehouse/migration.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// The engine serves one data folder per process, so all tests of this program share it and
// each uses a database of its own.
class MigrationE2eTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_path_ = fs::temp_directory_path() / ("sluice_migration_e2e_" + std::to_string(getpid()));
    auto opened = EmbeddedWarehouse::Open(data_path_.string());
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    warehouse_ = std::move(opened).value();
  }
  static void TearDownTestSuite() {
    warehouse_.reset();
    fs::remove_all(data_path_);
  }
  void SetUp() override { ASSERT_NE(warehouse_, nullptr); }

  static PipelineSpec Load(const std::string& yaml) {
    SpecLoadResult loaded = LoadSpecText(yaml, "spec.yaml", data_path_.string());
    std::string errors;
    for (const auto& error : loaded.errors) errors += error.ToString() + "\n";
    EXPECT_TRUE(loaded.ok()) << errors;
    return loaded.spec.value_or(PipelineSpec{});
  }

  static MigrationPlan Plan(const PipelineSpec& spec) {
    auto plan = PlanMigration(*warehouse_, spec);
    EXPECT_TRUE(plan.ok()) << plan.error().ToString();
    return plan.ok() ? *plan : MigrationPlan{};
  }

  static std::string Query(const std::string& sql) {
    auto result = warehouse_->Query(sql, "TabSeparatedRaw");
    EXPECT_TRUE(result.ok()) << sql << ": " << result.error().ToString();
    return result.ok() ? std::string(Trim(result->data)) : "";
  }

  static std::vector<Change::Kind> Kinds(const MigrationPlan& plan) {
    std::vector<Change::Kind> kinds;
    for (const auto& change : plan.changes) kinds.push_back(change.kind);
    return kinds;
  }

  static void ExpectNoScratchDatabases() {
    EXPECT_EQ(Query("SELECT count() FROM system.databases WHERE startsWith(name, '_sluice_plan_')"),
              "0");
  }

  static inline fs::path data_path_;
  static inline std::unique_ptr<EmbeddedWarehouse> warehouse_;
};

constexpr std::string_view kV1 = R"yaml(
pipeline: shop
warehouse: {database: shop}
tables:
  events:
    columns:
      - {name: event_date, type: Date}
      - {name: user_id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: amount, type: "Decimal(10,2)", codec: [Delta, ZSTD(3)]}
      - {name: note, type: String, default: "''"}
    partition_by: toYYYYMM(event_date)
    order_by: [user_id, event_date]
    ttl: event_date + INTERVAL 400 DAY
    settings: {index_granularity: 8192, merge_with_ttl_timeout: 86400}
  daily:
    engine: SummingMergeTree
    columns:
      - {name: event_date, type: Date}
      - {name: events, type: UInt64}
    order_by: event_date
streams:
  events: {}
views:
  daily_mv:
    to: daily
    query: SELECT event_date, count() AS events FROM shop.events GROUP BY event_date
  per_kind:
    engine: SummingMergeTree
    order_by: kind
    query: SELECT kind, sum(amount) AS total FROM shop.events GROUP BY kind
)yaml";

// v1 plus: a column, a projection, an index, a new table TTL, a new codec, a changed setting.
constexpr std::string_view kV2 = R"yaml(
pipeline: shop
warehouse: {database: shop}
tables:
  events:
    columns:
      - {name: event_date, type: Date}
      - {name: user_id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: country, type: LowCardinality(String), default: "'zz'"}
      - {name: amount, type: "Decimal(10,2)", codec: ZSTD(1)}
      - {name: note, type: String, default: "''"}
    partition_by: toYYYYMM(event_date)
    order_by: [user_id, event_date]
    ttl: event_date + INTERVAL 90 DAY
    settings: {index_granularity: 8192, merge_with_ttl_timeout: 3600}
    projections:
      per_kind: "SELECT kind, count() GROUP BY kind"
    indexes:
      idx_kind: {expression: kind, type: set(100), granularity: 4}
  daily:
    engine: SummingMergeTree
    columns:
      - {name: event_date, type: Date}
      - {name: events, type: UInt64}
    order_by: event_date
streams:
  events: {}
views:
  daily_mv:
    to: daily
    query: SELECT event_date, count() AS events FROM shop.events GROUP BY event_date
  per_kind:
    engine: SummingMergeTree
    order_by: kind
    query: SELECT kind, sum(amount) AS total FROM shop.events GROUP BY kind
)yaml";

// v2 with `note` dropped from events and daily sorted differently.
constexpr std::string_view kV3 = R"yaml(
pipeline: shop
warehouse: {database: shop}
tables:
  events:
    columns:
      - {name: event_date, type: Date}
      - {name: user_id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: country, type: LowCardinality(String), default: "'zz'"}
      - {name: amount, type: "Decimal(10,2)", codec: ZSTD(1)}
    partition_by: toYYYYMM(event_date)
    order_by: [user_id, event_date]
    ttl: event_date + INTERVAL 90 DAY
    settings: {index_granularity: 8192, merge_with_ttl_timeout: 3600}
    projections:
      per_kind: "SELECT kind, count() GROUP BY kind"
    indexes:
      idx_kind: {expression: kind, type: set(100), granularity: 4}
  daily:
    engine: SummingMergeTree
    columns:
      - {name: event_date, type: Date}
      - {name: events, type: UInt64}
    partition_by: toYYYYMM(event_date)
    order_by: [event_date, events]
streams:
  events: {}
views:
  daily_mv:
    to: daily
    query: SELECT event_date, count() AS events FROM shop.events GROUP BY event_date
  per_kind:
    engine: SummingMergeTree
    order_by: kind
    query: SELECT kind, sum(amount) AS total FROM shop.events GROUP BY kind
)yaml";

TEST_F(MigrationE2eTest, SpecEvolvesThroughThreeVersions) {
  // v1 on an empty warehouse: everything is created, then nothing is left to do.
  const PipelineSpec v1 = Load(std::string(kV1));
  MigrationPlan plan = Plan(v1);
  EXPECT_THAT(Kinds(plan),
              testing::ElementsAre(Change::Kind::kCreateDatabase, Change::Kind::kCreateTable,
                                   Change::Kind::kCreateTable, Change::Kind::kCreateTable,
                                   Change::Kind::kCreateView, Change::Kind::kCreateView));
  EXPECT_FALSE(plan.HasDestructive());
  ASSERT_TRUE(ApplyMigration(*warehouse_, plan, false).ok());
  plan = Plan(v1);
  EXPECT_TRUE(plan.empty()) << plan.ToText();
  ExpectNoScratchDatabases();
  ASSERT_TRUE(ApplyMigration(*warehouse_, Plan(v1), false).ok());

  Query(
      "INSERT INTO shop.events (event_date, user_id, kind, amount, note) SELECT today() - "
      "number % 30, number % 100, ['view', 'buy'][number % 2 + 1], intDiv(number, 100), 'n' FROM "
      "numbers(1000)");
  ASSERT_EQ(Query("SELECT count(), sum(amount) FROM shop.events"), "1000\t4500");
  ASSERT_EQ(Query("SELECT sum(events) FROM shop.daily"), "1000");

  // v2: exactly the six in-place changes, none destructive.
  const PipelineSpec v2 = Load(std::string(kV2));
  plan = Plan(v2);
  EXPECT_THAT(Kinds(plan),
              testing::UnorderedElementsAre(Change::Kind::kAddColumn, Change::Kind::kModifyColumn,
                                            Change::Kind::kAddIndex, Change::Kind::kAddProjection,
                                            Change::Kind::kModifyTtl, Change::Kind::kModifySetting))
      << plan.ToText();
  for (const auto& change : plan.changes) EXPECT_EQ(change.object, "events");
  EXPECT_FALSE(plan.HasDestructive());
  ASSERT_TRUE(ApplyMigration(*warehouse_, plan, false).ok());
  plan = Plan(v2);
  EXPECT_TRUE(plan.empty()) << plan.ToText();
  EXPECT_EQ(Query("SELECT count(), countIf(country = 'zz') FROM shop.events"), "1000\t1000");
  EXPECT_EQ(Query("SELECT compression_codec FROM system.columns WHERE database = 'shop' AND "
                  "table = 'events' AND name = 'amount'"),
            "CODEC(ZSTD(1))");

  // v3: a dropped column and a new sorting key are refused without the flag...
  const PipelineSpec v3 = Load(std::string(kV3));
  plan = Plan(v3);
  EXPECT_THAT(Kinds(plan),
              testing::ElementsAre(Change::Kind::kDropColumn, Change::Kind::kRebuildTable))
      << plan.ToText();
  EXPECT_TRUE(plan.HasDestructive());
  Status refused = ApplyMigration(*warehouse_, plan, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kMigrationDestructive);
  EXPECT_THAT(refused.error().message, HasSubstr("drop column `note`"));
  EXPECT_THAT(refused.error().message, HasSubstr("EXCHANGE TABLES"));
  EXPECT_EQ(Query("SELECT count() FROM system.columns WHERE database = 'shop' AND table = "
                  "'events' AND name = 'note'"),
            "1");
  EXPECT_EQ(Query("SELECT sorting_key FROM system.tables WHERE database = 'shop' AND name = "
                  "'daily'"),
            "event_date");

  // ...and applied with it, keeping the rows.
  ASSERT_TRUE(ApplyMigration(*warehouse_, plan, true).ok());
  EXPECT_EQ(Query("SELECT count(), sum(amount) FROM shop.events"), "1000\t4500");
  EXPECT_EQ(Query("SELECT sum(events) FROM shop.daily"), "1000");
  EXPECT_EQ(Query("SELECT sorting_key, partition_key FROM system.tables WHERE database = 'shop' "
                  "AND name = 'daily'"),
            "event_date, events\ttoYYYYMM(event_date)");
  EXPECT_EQ(Query("SELECT count() FROM system.tables WHERE database = 'shop' AND name LIKE "
                  "'%sluice_new%'"),
            "0");
  plan = Plan(v3);
  EXPECT_TRUE(plan.empty()) << plan.ToText();

  // The view still feeds the rebuilt table.
  Query(
      "INSERT INTO shop.events (event_date, user_id, kind, amount) VALUES (today(), 1, 'buy', 1)");
  EXPECT_EQ(Query("SELECT sum(events) FROM shop.daily"), "1001");
  ExpectNoScratchDatabases();
}

TEST_F(MigrationE2eTest, ChangedViewQueryIsRecreatedOnlyWithTheFlag) {
  const std::string v1 = R"yaml(
pipeline: views
warehouse: {database: views_db}
tables:
  src:
    columns:
      - {name: k, type: UInt64}
      - {name: v, type: UInt64}
    order_by: k
  totals:
    engine: SummingMergeTree
    columns:
      - {name: k, type: UInt64}
      - {name: total, type: UInt64}
    order_by: k
views:
  totals_mv:
    to: totals
    query: SELECT k, sum(v) AS total FROM views_db.src GROUP BY k
)yaml";
  ASSERT_TRUE(ApplyMigration(*warehouse_, Plan(Load(v1)), false).ok());
  Query("INSERT INTO views_db.src VALUES (1, 10), (2, 20)");
  std::string v2 = v1;
  v2.replace(v2.find("sum(v)"), 6, "max(v)");
  const PipelineSpec spec = Load(v2);
  MigrationPlan plan = Plan(spec);
  ASSERT_THAT(Kinds(plan), testing::ElementsAre(Change::Kind::kRecreateView)) << plan.ToText();
  EXPECT_THAT(plan.changes[0].safe_path, HasSubstr("The rows already in `totals` stay"));
  EXPECT_EQ(ApplyMigration(*warehouse_, plan, false).error().code,
            ErrorCode::kMigrationDestructive);
  ASSERT_TRUE(ApplyMigration(*warehouse_, plan, true).ok());
  EXPECT_TRUE(Plan(spec).empty());
  EXPECT_EQ(Query("SELECT sum(total) FROM views_db.totals"), "30");
}

TEST_F(MigrationE2eTest, InvalidDefinitionFailsThePlanAndLeavesNoScratch) {
  const PipelineSpec spec = Load(R"yaml(
pipeline: bad
warehouse: {database: bad_db}
tables:
  t:
    columns:
      - {name: k, type: UInt64}
      - {name: s, type: String, default: "no_such_function(k)"}
    order_by: k
)yaml");
  auto plan = PlanMigration(*warehouse_, spec);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kWarehouseQueryFailed);
  EXPECT_THAT(plan.error().message, HasSubstr("table t"));
  ExpectNoScratchDatabases();
  EXPECT_EQ(Query("SELECT count() FROM system.databases WHERE name = 'bad_db'"), "0");
}

TEST_F(MigrationE2eTest, HostileNamesStayIdentifiers) {
  // The spec loader rejects such names; the DDL must be safe even without it.
  TableSpec table;
  table.name = "victim`; DROP DATABASE default; --";
  ColumnSpec column;
  column.name = "a` UInt8) ENGINE = Memory; --";
  column.type = ParseDataType("UInt8").value();
  column.comment = "'); DROP TABLE x; --";
  table.columns = {column};
  ASSERT_TRUE(warehouse_->Execute(CreateDatabaseSql("hostile")).ok());
  ASSERT_TRUE(warehouse_->Execute(CreateTableSql(table, "hostile")).ok());
  EXPECT_EQ(Query("SELECT name, engine FROM system.tables WHERE database = 'hostile'"),
            "victim`; DROP DATABASE default; --\tMergeTree");
  EXPECT_EQ(Query("SELECT name, comment FROM system.columns WHERE database = 'hostile'"),
            "a` UInt8) ENGINE = Memory; --\t'); DROP TABLE x; --");
  EXPECT_EQ(Query("SELECT count() FROM system.databases WHERE name = 'default'"), "1");
}

// Every golden DDL case the embedded engine can run (no Replicated engines) is accepted by
// ClickHouse, and planning it again afterwards finds nothing to change — which checks the
// normalized comparison on every DDL feature.
TEST_F(MigrationE2eTest, GoldenCasesApplyAndPlanEmpty) {
  int applied = 0;
  for (const auto& entry : fs::directory_iterator(SLUICE_GOLDEN_DDL_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    SpecLoadResult loaded = LoadSpecFile(entry.path().string());
    ASSERT_TRUE(loaded.ok()) << entry.path();
    const PipelineSpec& spec = *loaded.spec;
    const bool replicated = std::any_of(spec.tables.begin(), spec.tables.end(),
                                        [](const auto& t) { return t.storage.engine.replicated; });
    if (replicated) continue;
    for (const auto& statement : SchemaStatements(spec)) {
      Status status = warehouse_->Execute(statement);
      ASSERT_TRUE(status.ok()) << entry.path() << ": " << status.error().ToString();
    }
    MigrationPlan plan = Plan(spec);
    EXPECT_TRUE(plan.empty()) << entry.path() << "\n" << plan.ToText();
    ++applied;
  }
  EXPECT_GE(applied, 4);
  ExpectNoScratchDatabases();
}

}  // namespace
}  // namespace sluice
