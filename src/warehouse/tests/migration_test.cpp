#include "warehouse/migration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "warehouse/table_state.h"

namespace sluice {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

// Strings below are as ClickHouse 26.5 prints them in system.tables.

TEST(TableStateParseTest, SplitTopLevelIgnoresNestedAndQuotedSeparators) {
  EXPECT_THAT(SplitTopLevel("a, f(b, c), 'x, y', `p,q`, [1, 2]", ','),
              ElementsAre("a", "f(b, c)", "'x, y'", "`p,q`", "[1, 2]"));
  EXPECT_THAT(SplitTopLevel("  ", ','), ElementsAre());
  EXPECT_THAT(SplitTopLevel("'it\\'s, fine', b", ','), ElementsAre("'it\\'s, fine'", "b"));
}

TEST(TableStateParseTest, EngineFullWithEveryClause) {
  TableState state;
  ParseEngineFull(
      "ReplacingMergeTree(ts) PARTITION BY toYYYYMM(event_date) PRIMARY KEY (user_id) ORDER BY "
      "(user_id, event_type, event_date) SAMPLE BY user_id TTL event_date + toIntervalDay(90), "
      "event_date + toIntervalDay(30) WHERE user_id = 1 SETTINGS index_granularity = 8192, "
      "merge_with_ttl_timeout = 86400, deduplicate_merge_projection_mode = 'rebuild'",
      state);
  EXPECT_EQ(state.engine_family, "ReplacingMergeTree");
  EXPECT_FALSE(state.replicated);
  EXPECT_THAT(state.engine_arguments, ElementsAre("ts"));
  EXPECT_THAT(state.ttl, ElementsAre("event_date + toIntervalDay(90)",
                                     "event_date + toIntervalDay(30) WHERE user_id = 1"));
  using Setting = std::pair<std::string, std::string>;
  EXPECT_THAT(
      state.settings,
      ElementsAre(Setting{"index_granularity", "8192"}, Setting{"merge_with_ttl_timeout", "86400"},
                  Setting{"deduplicate_merge_projection_mode", "'rebuild'"}));
}

TEST(TableStateParseTest, ReplicatedEngineDropsPathAndReplica) {
  TableState state;
  ParseEngineFull(
      "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', (c)) ORDER BY "
      "(d, k) SETTINGS index_granularity = 8192",
      state);
  EXPECT_TRUE(state.replicated);
  EXPECT_EQ(state.engine_family, "SummingMergeTree");
  EXPECT_THAT(state.engine_arguments, ElementsAre("(c)"));
  EXPECT_TRUE(state.ttl.empty());
}

TEST(TableStateParseTest, PlainEngineWithoutArguments) {
  TableState state;
  ParseEngineFull("MergeTree ORDER BY tuple() SETTINGS index_granularity = 8192", state);
  EXPECT_EQ(state.engine_family, "MergeTree");
  EXPECT_TRUE(state.engine_arguments.empty());
  EXPECT_EQ(state.settings.size(), 1u);
}

TEST(TableStateParseTest, CreateQueryElementsAndColumnTtl) {
  const auto elements = CreateQueryElements(
      "CREATE TABLE p2.src (`d` Date, `v` Float64 CODEC(Gorilla(8), LZ4), `s` String DEFAULT "
      "'a, (b' COMMENT 'c1' TTL d + toIntervalDay(1), INDEX ix s TYPE bloom_filter(0.01) "
      "GRANULARITY 1, PROJECTION pp (SELECT k, count() GROUP BY k)) ENGINE = MergeTree ORDER BY "
      "k TTL d + toIntervalDay(5)");
  ASSERT_EQ(elements.size(), 5u);
  EXPECT_EQ(elements[2], "`s` String DEFAULT 'a, (b' COMMENT 'c1' TTL d + toIntervalDay(1)");
  EXPECT_EQ(ColumnTtl(elements[2]), "d + toIntervalDay(1)");
  EXPECT_EQ(ColumnTtl(elements[1]), "");
  EXPECT_EQ(elements[4], "PROJECTION pp (SELECT k, count() GROUP BY k)");
}

TEST(TableStateParseTest, ColumnTtlIgnoresTtlInsideStrings) {
  EXPECT_EQ(ColumnTtl("`s` String DEFAULT 'TTL x' COMMENT 'no TTL'"), "");
  EXPECT_EQ(ColumnTtl("`TTL` Date TTL TTL + toIntervalDay(1)"), "TTL + toIntervalDay(1)");
}

TEST(TableStateParseTest, ViewToTable) {
  ViewState view;
  ParseViewCreateQuery(
      "CREATE MATERIALIZED VIEW p2.mv_to TO p2.agg (`d` Date, `k` UInt64, `c` UInt64) AS SELECT "
      "d, k, count() AS c FROM p2.src GROUP BY d, k",
      view);
  EXPECT_EQ(view.to_table, "agg");
  EXPECT_EQ(view.storage, "");
}

TEST(TableStateParseTest, ViewWithOwnStorage) {
  ViewState view;
  ParseViewCreateQuery(
      "CREATE MATERIALIZED VIEW p2.mv_own (`d` Date, `k` UInt64, `c` UInt64) ENGINE = "
      "SummingMergeTree PARTITION BY toYYYYMM(d) ORDER BY (d, k) SETTINGS index_granularity = "
      "8192 AS SELECT d, k, count() AS c FROM p2.src GROUP BY d, k",
      view);
  EXPECT_EQ(view.to_table, "");
  EXPECT_EQ(view.storage,
            "ENGINE = SummingMergeTree PARTITION BY toYYYYMM(d) ORDER BY (d, k) SETTINGS "
            "index_granularity = 8192");
}

TEST(TableStateParseTest, ViewWithQuotedNames) {
  ViewState view;
  ParseViewCreateQuery(
      "CREATE MATERIALIZED VIEW `my db`.`v.1` TO `my db`.`odd\\`name` (`x` UInt8) AS SELECT 1 AS x",
      view);
  EXPECT_EQ(view.to_table, "odd`name");
}

ColumnState Col(std::string name, std::string type) {
  ColumnState column;
  column.name = std::move(name);
  column.type = std::move(type);
  return column;
}

// A table as both the scratch copy and the warehouse report it before any change.
TableState BaseState() {
  TableState state;
  state.name = "events";
  state.engine = "MergeTree";
  state.engine_family = "MergeTree";
  state.sorting_key = "user_id, event_date";
  state.primary_key = "user_id, event_date";
  state.partition_key = "toYYYYMM(event_date)";
  state.settings = {{"index_granularity", "8192"}, {"non_replicated_deduplication_window", "1000"}};
  state.ttl = {"event_date + toIntervalDay(90)"};
  state.columns = {Col("event_date", "Date"), Col("user_id", "UInt64"),
                   Col("amount", "Decimal(10, 2)")};
  state.columns[0].in_key = true;
  state.columns[1].in_key = true;
  state.columns[2].codec = "CODEC(Delta(8), ZSTD(3))";
  return state;
}

TableSpec BaseSpec() {
  TableSpec spec;
  spec.name = "events";
  for (auto [name, type] : {std::pair{"event_date", "Date"}, std::pair{"user_id", "UInt64"},
                            std::pair{"amount", "Decimal(10,2)"}}) {
    ColumnSpec column;
    column.name = name;
    column.type = ParseDataType(type).value();
    spec.columns.push_back(column);
  }
  spec.storage.order_by = {"user_id", "event_date"};
  return spec;
}

std::vector<Change> Diff(const TableState& desired, const TableState& actual) {
  return DiffTable(desired, actual, "db", BaseSpec());
}

TEST(DiffTableTest, SameStateNoChanges) {
  EXPECT_TRUE(Diff(BaseState(), BaseState()).empty());
}

TEST(DiffTableTest, AddColumnAfterItsPredecessor) {
  TableState desired = BaseState();
  desired.columns.insert(desired.columns.begin() + 2, Col("country", "LowCardinality(String)"));
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kAddColumn);
  EXPECT_FALSE(changes[0].destructive);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` ADD COLUMN `country` LowCardinality(String) "
                          "AFTER `user_id`"));
}

TEST(DiffTableTest, AddFirstColumnWithDefault) {
  TableState desired = BaseState();
  ColumnState id = Col("id", "UInt64");
  id.default_kind = "DEFAULT";
  id.default_expression = "rand64()";
  desired.columns.insert(desired.columns.begin(), id);
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(
      changes[0].statements,
      ElementsAre("ALTER TABLE `db`.`events` ADD COLUMN `id` UInt64 DEFAULT rand64() FIRST"));
}

TEST(DiffTableTest, AddProjectionAndMaterializeIt) {
  TableState desired = BaseState();
  desired.projections.push_back({"per_user", "SELECT user_id, count() GROUP BY user_id"});
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kAddProjection);
  EXPECT_FALSE(changes[0].destructive);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` ADD PROJECTION `per_user` (SELECT user_id, "
                          "count() GROUP BY user_id)",
                          "ALTER TABLE `db`.`events` MATERIALIZE PROJECTION `per_user`"));
}

TEST(DiffTableTest, ChangedProjectionIsDroppedAndAdded) {
  TableState actual = BaseState();
  actual.projections.push_back({"p", "SELECT user_id, count() GROUP BY user_id"});
  TableState desired = BaseState();
  desired.projections.push_back({"p", "SELECT user_id, sum(amount) GROUP BY user_id"});
  const auto changes = Diff(desired, actual);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kReplaceProjection);
  ASSERT_EQ(changes[0].statements.size(), 3u);
  EXPECT_EQ(changes[0].statements[0], "ALTER TABLE `db`.`events` DROP PROJECTION `p`");
}

TEST(DiffTableTest, IndexesAddDropReplace) {
  TableState actual = BaseState();
  actual.indexes = {{"gone", "amount", "minmax", 1}, {"changed", "user_id", "set(100)", 4}};
  TableState desired = BaseState();
  desired.indexes = {{"changed", "user_id", "set(1000)", 4}, {"fresh", "amount", "minmax", 2}};
  const auto changes = Diff(desired, actual);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kDropIndex);
  EXPECT_THAT(changes[0].statements, ElementsAre("ALTER TABLE `db`.`events` DROP INDEX `gone`"));
  EXPECT_EQ(changes[1].kind, Change::Kind::kReplaceIndex);
  EXPECT_THAT(changes[1].statements,
              ElementsAre("ALTER TABLE `db`.`events` DROP INDEX `changed`",
                          "ALTER TABLE `db`.`events` ADD INDEX `changed` user_id TYPE set(1000) "
                          "GRANULARITY 4",
                          "ALTER TABLE `db`.`events` MATERIALIZE INDEX `changed`"));
  EXPECT_EQ(changes[2].kind, Change::Kind::kAddIndex);
  for (const auto& change : changes) EXPECT_FALSE(change.destructive);
}

TEST(DiffTableTest, CodecChangeModifiesColumnInPlace) {
  TableState desired = BaseState();
  desired.columns[2].codec = "CODEC(ZSTD(1))";
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kModifyColumn);
  EXPECT_FALSE(changes[0].destructive);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` MODIFY COLUMN `amount` Decimal(10, 2) "
                          "CODEC(ZSTD(1))"));
  EXPECT_THAT(changes[0].description, HasSubstr("CODEC(Delta(8), ZSTD(3)) → CODEC(ZSTD(1))"));
}

TEST(DiffTableTest, RemovedColumnPropertiesAreRemovedExplicitly) {
  TableState actual = BaseState();
  actual.columns[2].default_kind = "DEFAULT";
  actual.columns[2].default_expression = "0";
  actual.columns[2].ttl = "event_date + toIntervalDay(1)";
  actual.columns[2].comment = "money";
  TableState desired = BaseState();
  desired.columns[2].codec.clear();
  const auto changes = Diff(desired, actual);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` MODIFY COLUMN `amount` REMOVE DEFAULT",
                          "ALTER TABLE `db`.`events` MODIFY COLUMN `amount` REMOVE CODEC",
                          "ALTER TABLE `db`.`events` MODIFY COLUMN `amount` REMOVE TTL",
                          "ALTER TABLE `db`.`events` COMMENT COLUMN `amount` ''"));
}

TEST(DiffTableTest, ColumnTtlAndDefaultChanges) {
  TableState desired = BaseState();
  desired.columns[2].ttl = "event_date + toIntervalDay(7)";
  desired.columns[2].default_kind = "MATERIALIZED";
  desired.columns[2].default_expression = "1";
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` MODIFY COLUMN `amount` Decimal(10, 2) "
                          "MATERIALIZED 1",
                          "ALTER TABLE `db`.`events` MODIFY COLUMN `amount` Decimal(10, 2) TTL "
                          "event_date + toIntervalDay(7)"));
}

TEST(DiffTableTest, TableTtlModifiedAndRemoved) {
  TableState desired = BaseState();
  desired.ttl = {"event_date + toIntervalDay(30)",
                 "event_date + toIntervalDay(7) WHERE amount = 0"};
  auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kModifyTtl);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` MODIFY TTL event_date + toIntervalDay(30), "
                          "event_date + toIntervalDay(7) WHERE amount = 0"));
  desired.ttl.clear();
  changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0].statements, ElementsAre("ALTER TABLE `db`.`events` REMOVE TTL"));
}

TEST(DiffTableTest, SettingsModifiedAndReset) {
  TableState actual = BaseState();
  actual.settings.emplace_back("merge_with_ttl_timeout", "86400");
  TableState desired = BaseState();
  desired.settings[1].second = "5000";
  desired.settings.emplace_back("min_bytes_for_wide_part", "0");
  const auto changes = Diff(desired, actual);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kModifySetting);
  EXPECT_THAT(changes[0].statements, ElementsAre("ALTER TABLE `db`.`events` MODIFY SETTING "
                                                 "`non_replicated_deduplication_window` = 5000"));
  EXPECT_THAT(
      changes[1].statements,
      ElementsAre("ALTER TABLE `db`.`events` MODIFY SETTING `min_bytes_for_wide_part` = 0"));
  EXPECT_EQ(changes[2].kind, Change::Kind::kResetSetting);
  EXPECT_THAT(changes[2].statements,
              ElementsAre("ALTER TABLE `db`.`events` RESET SETTING `merge_with_ttl_timeout`"));
  for (const auto& change : changes) EXPECT_FALSE(change.destructive);
}

TEST(DiffTableTest, CommentChange) {
  TableState desired = BaseState();
  desired.comment = "new";
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0].statements, ElementsAre("ALTER TABLE `db`.`events` MODIFY COMMENT 'new'"));
}

TEST(DiffTableTest, DropColumnIsDestructiveWithSafePath) {
  TableState desired = BaseState();
  desired.columns.pop_back();
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kDropColumn);
  EXPECT_TRUE(changes[0].destructive);
  EXPECT_THAT(changes[0].statements, ElementsAre("ALTER TABLE `db`.`events` DROP COLUMN `amount`"));
  EXPECT_THAT(changes[0].safe_path, HasSubstr("leave `amount` Decimal(10, 2) in the spec"));
}

TEST(DiffTableTest, TypeChangeOfPlainColumnIsDestructive) {
  TableState desired = BaseState();
  desired.columns[2].type = "Decimal(18, 2)";
  const auto changes = Diff(desired, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kChangeColumnType);
  EXPECT_TRUE(changes[0].destructive);
  EXPECT_THAT(changes[0].statements,
              ElementsAre("ALTER TABLE `db`.`events` MODIFY COLUMN `amount` Decimal(18, 2) "
                          "CODEC(Delta(8), ZSTD(3))"));
  EXPECT_THAT(changes[0].safe_path, HasSubstr("add a new column"));
}

TEST(DiffTableTest, OrderByChangeRebuildsTheTable) {
  TableState desired = BaseState();
  desired.sorting_key = "event_date, user_id";
  desired.primary_key = "event_date, user_id";
  desired.columns.pop_back();  // folded into the rebuild, not a separate change
  TableSpec spec = BaseSpec();
  spec.columns.pop_back();
  spec.storage.order_by = {"event_date", "user_id"};
  const auto changes = DiffTable(desired, BaseState(), "db", spec);
  ASSERT_EQ(changes.size(), 1u);
  const Change& change = changes[0];
  EXPECT_EQ(change.kind, Change::Kind::kRebuildTable);
  EXPECT_TRUE(change.destructive);
  EXPECT_THAT(change.description, HasSubstr("ORDER BY user_id, event_date → event_date, user_id"));
  ASSERT_EQ(change.statements.size(), 5u);
  EXPECT_EQ(change.statements[0], "DROP TABLE IF EXISTS `db`.`events__sluice_new`");
  EXPECT_THAT(change.statements[1],
              HasSubstr("CREATE TABLE IF NOT EXISTS `db`.`events__sluice_new`"));
  EXPECT_THAT(change.statements[1], HasSubstr("ORDER BY (event_date, user_id)"));
  EXPECT_EQ(change.statements[2],
            "INSERT INTO `db`.`events__sluice_new` (`event_date`, `user_id`) SETTINGS "
            "insert_deduplicate = 0 SELECT `event_date`, `user_id` FROM `db`.`events`");
  EXPECT_EQ(change.statements[3], "EXCHANGE TABLES `db`.`events` AND `db`.`events__sluice_new`");
  EXPECT_EQ(change.statements[4], "DROP TABLE `db`.`events__sluice_new`");
  EXPECT_THAT(change.safe_path, HasSubstr("the data of columns `amount` is deleted"));
}

TEST(DiffTableTest, EngineKeyAndCreationOnlySettingChangesRebuild) {
  TableState engine = BaseState();
  engine.engine_family = "ReplacingMergeTree";
  EXPECT_EQ(Diff(engine, BaseState()).at(0).kind, Change::Kind::kRebuildTable);

  TableState replicated = BaseState();
  replicated.replicated = true;
  EXPECT_EQ(Diff(replicated, BaseState()).at(0).kind, Change::Kind::kRebuildTable);

  TableState partition = BaseState();
  partition.partition_key = "event_date";
  EXPECT_EQ(Diff(partition, BaseState()).at(0).kind, Change::Kind::kRebuildTable);

  TableState sample = BaseState();
  sample.sampling_key = "user_id";
  EXPECT_EQ(Diff(sample, BaseState()).at(0).kind, Change::Kind::kRebuildTable);

  TableState granularity = BaseState();
  granularity.settings[0].second = "1024";
  const auto changes = Diff(granularity, BaseState());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kRebuildTable);
  EXPECT_THAT(changes[0].description, HasSubstr("setting index_granularity 8192 → 1024"));

  TableState key_type = BaseState();
  key_type.columns[1].type = "UInt32";
  EXPECT_EQ(Diff(key_type, BaseState()).at(0).kind, Change::Kind::kRebuildTable);
}

TEST(DiffViewTest, SameViewNoChange) {
  ViewState view{"v", "agg", "", "SELECT 1"};
  ViewSpec spec;
  spec.name = "v";
  EXPECT_FALSE(DiffView(view, view, "db", spec).has_value());
}

TEST(DiffViewTest, ChangedQueryRecreatesTheView) {
  ViewState actual{"v", "agg", "", "SELECT d, count() AS c FROM db.src GROUP BY d"};
  ViewState desired = actual;
  desired.query = "SELECT d, sum(x) AS c FROM db.src GROUP BY d";
  ViewSpec spec;
  spec.name = "v";
  spec.to_table = "agg";
  spec.query = "SELECT d, sum(x) AS c FROM src GROUP BY d";
  auto change = DiffView(desired, actual, "db", spec);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->kind, Change::Kind::kRecreateView);
  EXPECT_TRUE(change->destructive);
  ASSERT_EQ(change->statements.size(), 2u);
  EXPECT_EQ(change->statements[0], "DROP VIEW IF EXISTS `db`.`v`");
  EXPECT_THAT(change->statements[1], HasSubstr("TO `db`.`agg`"));
  EXPECT_THAT(change->safe_path, HasSubstr("The rows already in `agg` stay"));
}

// Records statements and fails the ones containing `fail_on`.
class RecordingWarehouse : public Warehouse {
 public:
  Result<QueryResult> Query(std::string_view sql, std::string_view) override {
    statements.emplace_back(sql);
    if (!fail_on.empty() && sql.find(fail_on) != std::string_view::npos) {
      Error error = MakeError(ErrorCode::kWarehouseQueryFailed, "Code: 44. boom");
      error.upstream_code = 44;
      return error;
    }
    return QueryResult{};
  }
  Result<QueryResult> Insert(const InsertRequest&) override { return QueryResult{}; }
  std::string Version() override { return "26.5.1.1"; }

  std::vector<std::string> statements;
  std::string fail_on;
};

MigrationPlan PlanWithDrop() {
  MigrationPlan plan;
  plan.database = "db";
  Change add;
  add.kind = Change::Kind::kAddColumn;
  add.object = "events";
  add.description = "add column `x` UInt8";
  add.statements = {"ALTER TABLE `db`.`events` ADD COLUMN `x` UInt8"};
  Change drop;
  drop.kind = Change::Kind::kDropColumn;
  drop.object = "events";
  drop.description = "drop column `y`";
  drop.statements = {"ALTER TABLE `db`.`events` DROP COLUMN `y`"};
  drop.destructive = true;
  drop.safe_path = "keep `y` in the spec";
  plan.changes = {add, drop};
  return plan;
}

TEST(ApplyMigrationTest, RefusesDestructivePlanBeforeRunningAnything) {
  RecordingWarehouse warehouse;
  const Status status = ApplyMigration(warehouse, PlanWithDrop(), /*allow_destructive=*/false);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kMigrationDestructive);
  EXPECT_THAT(status.error().message, HasSubstr("drop column `y`"));
  EXPECT_THAT(status.error().message, HasSubstr("keep `y` in the spec"));
  EXPECT_TRUE(warehouse.statements.empty());
}

TEST(ApplyMigrationTest, RunsEveryStatementInOrderWhenAllowed) {
  RecordingWarehouse warehouse;
  ASSERT_TRUE(ApplyMigration(warehouse, PlanWithDrop(), /*allow_destructive=*/true).ok());
  EXPECT_THAT(warehouse.statements, ElementsAre("ALTER TABLE `db`.`events` ADD COLUMN `x` UInt8",
                                                "ALTER TABLE `db`.`events` DROP COLUMN `y`"));
}

TEST(ApplyMigrationTest, StopsAtTheFirstFailureWithContext) {
  RecordingWarehouse warehouse;
  warehouse.fail_on = "ADD COLUMN";
  const Status status = ApplyMigration(warehouse, PlanWithDrop(), true);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kWarehouseQueryFailed);
  EXPECT_EQ(status.error().upstream_code, 44);
  EXPECT_THAT(status.error().message, HasSubstr("events: add column `x` UInt8"));
  EXPECT_EQ(warehouse.statements.size(), 1u);
}

TEST(MigrationPlanTest, TextShowsSqlAndSafePath) {
  const MigrationPlan plan = PlanWithDrop();
  EXPECT_TRUE(plan.HasDestructive());
  const std::string text = plan.ToText();
  EXPECT_THAT(text, HasSubstr("Plan for database `db`: 2 changes, 1 destructive."));
  EXPECT_THAT(text, HasSubstr("1. events: add column `x` UInt8\n"
                              "     ALTER TABLE `db`.`events` ADD COLUMN `x` UInt8;\n"));
  EXPECT_THAT(text, HasSubstr("2. events: drop column `y`  [DESTRUCTIVE]"));
  EXPECT_THAT(text, HasSubstr("Safe path: keep `y` in the spec"));

  MigrationPlan empty;
  empty.database = "db";
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.HasDestructive());
  EXPECT_EQ(empty.ToText(), "No changes: database `db` matches the spec.\n");
}

}  // namespace
}  // namespace sluice
