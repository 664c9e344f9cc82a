#include "warehouse/ddl.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

ColumnSpec Column(std::string name, std::string_view type) {
  ColumnSpec column;
  column.name = std::move(name);
  column.type = ParseDataType(type).value();
  return column;
}

TableSpec SmallTable() {
  TableSpec table;
  table.name = "events";
  table.columns = {Column("id", "UInt64"), Column("at", "DateTime")};
  table.storage.order_by = {"id"};
  return table;
}

TEST(ColumnDefinitionSqlTest, PlainColumn) {
  EXPECT_EQ(ColumnDefinitionSql(Column("user_id", "UInt64")), "`user_id` UInt64");
  EXPECT_EQ(ColumnDefinitionSql(Column("amount", "Decimal(10,2)")), "`amount` Decimal(10, 2)");
}

TEST(ColumnDefinitionSqlTest, ClausesInGrammarOrder) {
  ColumnSpec column = Column("amount", "Decimal(10,2)");
  column.default_kind = ColumnSpec::DefaultKind::kDefault;
  column.default_expression = "0";
  column.codecs = {"Delta", "ZSTD(3)"};
  column.ttl = "d + INTERVAL 1 DAY";
  column.comment = "it's money";
  EXPECT_EQ(ColumnDefinitionSql(column),
            "`amount` Decimal(10, 2) DEFAULT 0 COMMENT 'it\\'s money' CODEC(Delta, ZSTD(3)) "
            "TTL d + INTERVAL 1 DAY");
}

TEST(ColumnDefinitionSqlTest, MaterializedAndAlias) {
  ColumnSpec materialized = Column("day", "Date");
  materialized.default_kind = ColumnSpec::DefaultKind::kMaterialized;
  materialized.default_expression = "toDate(ts)";
  EXPECT_EQ(ColumnDefinitionSql(materialized), "`day` Date MATERIALIZED toDate(ts)");
  ColumnSpec alias = Column("host", "String");
  alias.default_kind = ColumnSpec::DefaultKind::kAlias;
  alias.default_expression = "domain(url)";
  EXPECT_EQ(ColumnDefinitionSql(alias), "`host` String ALIAS domain(url)");
}

TEST(ColumnDefinitionSqlTest, HostileNameCannotEndTheIdentifier) {
  EXPECT_EQ(ColumnDefinitionSql(Column("a` String, `b", "UInt8")), "`a\\` String, \\`b` UInt8");
}

TEST(EngineSqlTest, EveryFamily) {
  EngineSpec engine;
  EXPECT_EQ(EngineSql(engine), "MergeTree");
  engine.family = "ReplacingMergeTree";
  EXPECT_EQ(EngineSql(engine), "ReplacingMergeTree");
  engine.version_column = "ver";
  EXPECT_EQ(EngineSql(engine), "ReplacingMergeTree(`ver`)");
  engine.is_deleted_column = "del";
  EXPECT_EQ(EngineSql(engine), "ReplacingMergeTree(`ver`, `del`)");

  EngineSpec summing;
  summing.family = "SummingMergeTree";
  EXPECT_EQ(EngineSql(summing), "SummingMergeTree");
  summing.sum_columns = {"a", "b"};
  EXPECT_EQ(EngineSql(summing), "SummingMergeTree((`a`, `b`))");

  EngineSpec aggregating;
  aggregating.family = "AggregatingMergeTree";
  EXPECT_EQ(EngineSql(aggregating), "AggregatingMergeTree");

  EngineSpec collapsing;
  collapsing.family = "CollapsingMergeTree";
  collapsing.sign_column = "sign";
  EXPECT_EQ(EngineSql(collapsing), "CollapsingMergeTree(`sign`)");
  collapsing.family = "VersionedCollapsingMergeTree";
  collapsing.version_column = "v";
  EXPECT_EQ(EngineSql(collapsing), "VersionedCollapsingMergeTree(`sign`, `v`)");
}

TEST(EngineSqlTest, ReplicatedPutsPathAndReplicaFirst) {
  EngineSpec engine;
  engine.family = "ReplacingMergeTree";
  engine.version_column = "ver";
  engine.replicated = true;
  EXPECT_EQ(EngineSql(engine),
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
            "'{replica}', `ver`)");
  engine.zookeeper_path = "/ch/it's";
  EXPECT_EQ(EngineSql(engine), "ReplicatedReplacingMergeTree('/ch/it\\'s', '{replica}', `ver`)");
  EXPECT_EQ(EngineSql(engine, /*strip_replication=*/true), "ReplacingMergeTree(`ver`)");
}

TEST(EffectiveSettingsTest, AddsNonReplicatedWindow) {
  TableSpec table = SmallTable();
  table.storage.settings = {{"index_granularity", "8192"}};
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"index_granularity", "8192"}, {"non_replicated_deduplication_window", "1000"}};
  EXPECT_EQ(EffectiveSettings(table), expected);
}

TEST(EffectiveSettingsTest, ReplicatedWindowForReplicatedEngine) {
  TableSpec table = SmallTable();
  table.storage.engine.replicated = true;
  table.deduplication_window = 77;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"replicated_deduplication_window", "77"}};
  EXPECT_EQ(EffectiveSettings(table), expected);
}

TEST(EffectiveSettingsTest, UserValueAndZeroWindowWin) {
  TableSpec table = SmallTable();
  table.storage.settings = {{"non_replicated_deduplication_window", "5"}};
  ASSERT_EQ(EffectiveSettings(table).size(), 1u);
  EXPECT_EQ(EffectiveSettings(table)[0].second, "5");
  table.storage.settings.clear();
  table.deduplication_window = 0;
  EXPECT_TRUE(EffectiveSettings(table).empty());
}

TEST(CreateTableSqlTest, FullLayout) {
  TableSpec table = SmallTable();
  table.columns[1].codecs = {"DoubleDelta", "LZ4"};
  table.storage.partition_by = "toYYYYMM(at)";
  table.storage.order_by = {"id", "at"};
  table.storage.primary_key = {"id"};
  table.storage.sample_by = "id";
  table.storage.ttl = {"at + INTERVAL 90 DAY", "at + INTERVAL 7 DAY DELETE WHERE id = 0"};
  table.storage.settings = {{"index_granularity", "8192"}};
  table.indexes.push_back({"idx_at", "at", "minmax", 4, {}});
  table.projections.push_back({"per_id", "  SELECT id, count() GROUP BY id\n", {}});
  table.comment = "raw events";
  EXPECT_EQ(CreateTableSql(table, "db"),
            "CREATE TABLE IF NOT EXISTS `db`.`events`\n"
            "(\n"
            "    `id` UInt64,\n"
            "    `at` DateTime CODEC(DoubleDelta, LZ4),\n"
            "    INDEX `idx_at` at TYPE minmax GRANULARITY 4,\n"
            "    PROJECTION `per_id` (SELECT id, count() GROUP BY id)\n"
            ")\n"
            "ENGINE = MergeTree\n"
            "PARTITION BY toYYYYMM(at)\n"
            "PRIMARY KEY id\n"
            "ORDER BY (id, at)\n"
            "SAMPLE BY id\n"
            "TTL at + INTERVAL 90 DAY,\n"
            "    at + INTERVAL 7 DAY DELETE WHERE id = 0\n"
            "SETTINGS `index_granularity` = 8192, `non_replicated_deduplication_window` = 1000\n"
            "COMMENT 'raw events'");
}

TEST(CreateTableSqlTest, EmptyOrderByIsTuple) {
  TableSpec table = SmallTable();
  table.storage.order_by.clear();
  table.deduplication_window = 0;
  EXPECT_EQ(CreateTableSql(table, "default"),
            "CREATE TABLE IF NOT EXISTS `default`.`events`\n(\n    `id` UInt64,\n"
            "    `at` DateTime\n)\nENGINE = MergeTree\nORDER BY tuple()");
}

TEST(CreateTableSqlTest, OptionsRenameAndStripReplication) {
  TableSpec table = SmallTable();
  table.storage.engine.replicated = true;
  CreateTableOptions options;
  options.table_name = "events__sluice_new";
  options.strip_replication = true;
  const std::string sql = CreateTableSql(table, "db", options);
  EXPECT_NE(sql.find("`db`.`events__sluice_new`"), std::string::npos);
  EXPECT_NE(sql.find("ENGINE = MergeTree\n"), std::string::npos);
  // The window keeps the replicated name so that it compares equal to the real table.
  EXPECT_NE(sql.find("`replicated_deduplication_window` = 1000"), std::string::npos);
}

TEST(CreateViewSqlTest, ToTable) {
  ViewSpec view;
  view.name = "daily_mv";
  view.to_table = "daily";
  view.query = "SELECT toDate(at) AS day, count() AS n FROM events GROUP BY day\n";
  EXPECT_EQ(CreateViewSql(view, "db"),
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`daily_mv`\n"
            "TO `db`.`daily`\n"
            "AS SELECT toDate(at) AS day, count() AS n FROM events GROUP BY day");
  EXPECT_NE(CreateViewSql(view, "scratch", "other").find("TO `other`.`daily`"), std::string::npos);
}

TEST(CreateViewSqlTest, OwnStorage) {
  ViewSpec view;
  view.name = "stats";
  view.query = "SELECT d, count() AS n FROM t GROUP BY d";
  StorageSpec storage;
  storage.engine.family = "SummingMergeTree";
  storage.partition_by = "toYYYYMM(d)";
  storage.order_by = {"d"};
  storage.settings = {{"index_granularity", "1024"}};
  view.storage = storage;
  EXPECT_EQ(CreateViewSql(view, "db"),
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`stats`\n"
            "ENGINE = SummingMergeTree\n"
            "PARTITION BY toYYYYMM(d)\n"
            "ORDER BY d\n"
            "SETTINGS `index_granularity` = 1024, `non_replicated_deduplication_window` = 1000\n"
            "AS SELECT d, count() AS n FROM t GROUP BY d");
}

TEST(CreateViewSqlTest, OwnStorageKeepsUserWindow) {
  ViewSpec view;
  view.name = "stats";
  view.query = "SELECT 1 AS d";
  StorageSpec storage;
  storage.settings = {{"non_replicated_deduplication_window", "7"}};
  view.storage = storage;
  EXPECT_EQ(CreateViewSql(view, "db"),
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`stats`\n"
            "ENGINE = MergeTree\n"
            "ORDER BY tuple()\n"
            "SETTINGS `non_replicated_deduplication_window` = 7\n"
            "AS SELECT 1 AS d");
}

TEST(DeadLetterTest, FixedSchema) {
  TableSpec table = DeadLetterTableSpec("clicks_dead_letter");
  EXPECT_EQ(table.name, "clicks_dead_letter");
  std::vector<std::string> columns;
  for (const auto& column : table.columns) columns.push_back(ColumnDefinitionSql(column));
  const std::vector<std::string> expected = {
      "`received_at` DateTime64(3, 'UTC') CODEC(DoubleDelta, LZ4)",
      "`source` LowCardinality(String)",
      "`stream` LowCardinality(String)",
      "`location` String",
      "`error_code` UInt16",
      "`error_name` LowCardinality(String)",
      "`field` String",
      "`message` String",
      "`raw` String CODEC(ZSTD(3))",
  };
  EXPECT_EQ(columns, expected);
  EXPECT_EQ(table.storage.engine.family, "MergeTree");
  EXPECT_EQ(table.storage.partition_by, "toYYYYMM(received_at)");
  EXPECT_EQ(table.storage.order_by,
            (std::vector<std::string>{"stream", "error_code", "received_at"}));
}

// The result and late tables follow the records' fields after map and enrich, not the stream's:
// an enriched key is Nullable, which a sorting key allows only with allow_nullable_key.
TEST(AggregationTableTest, FieldsAfterTransformsAndNullableKeys) {
  AggregationSpec aggregation;
  aggregation.name = "per_tier";
  aggregation.table = "per_tier";
  aggregation.late_table = "per_tier_late";
  aggregation.fields = {{"amount", ParseDataType("UInt32").value()},
                        {"doubled", ParseDataType("Int64").value()},
                        {"tier", ParseDataType("Nullable(String)").value()}};
  aggregation.key_by = {"tier"};
  aggregation.aggregates.push_back({.name = "total", .function = "sum", .field = "doubled"});
  TableSpec result = AggregationTableSpec(aggregation);
  std::vector<std::string> columns;
  for (const auto& column : result.columns)
    columns.push_back(column.name + " " + column.type.ToString());
  EXPECT_EQ(columns,
            (std::vector<std::string>{"tier Nullable(String)", "window_start DateTime64(3, 'UTC')",
                                      "window_end DateTime64(3, 'UTC')", "total Int64",
                                      "_version UInt64", "_is_deleted UInt8"}));
  EXPECT_EQ(result.storage.settings,
            (std::vector<std::pair<std::string, std::string>>{{"allow_nullable_key", "1"}}));
  aggregation.key_by = {"doubled"};
  EXPECT_TRUE(AggregationTableSpec(aggregation).storage.settings.empty());
  TableSpec late = LateTableSpec(aggregation);
  ASSERT_EQ(late.columns.size(), 3u);
  EXPECT_EQ(late.columns[2].name, "tier");
  EXPECT_EQ(late.columns[2].type.ToString(), "Nullable(String)");
}

TEST(SchemaStatementsTest, ApplyOrderAndDeadLetterNames) {
  PipelineSpec spec;
  spec.warehouse.database = "db";
  spec.tables = {SmallTable()};
  StreamSpec clicks;
  clicks.name = "clicks";
  StreamSpec shared_a;
  shared_a.name = "a";
  shared_a.dead_letter_table = "rejected";
  StreamSpec shared_b = shared_a;
  shared_b.name = "b";
  spec.streams = {clicks, shared_a, shared_b};
  ViewSpec view;
  view.name = "v";
  view.to_table = "events";
  view.query = "SELECT 1 AS id, now() AS at";
  spec.views = {view};

  const auto statements = SchemaStatements(spec);
  ASSERT_EQ(statements.size(), 5u);
  EXPECT_EQ(statements[0], "CREATE DATABASE IF NOT EXISTS `db`");
  EXPECT_TRUE(statements[1].starts_with("CREATE TABLE IF NOT EXISTS `db`.`events`"));
  EXPECT_TRUE(statements[2].starts_with("CREATE TABLE IF NOT EXISTS `db`.`clicks_dead_letter`"));
  EXPECT_TRUE(statements[3].starts_with("CREATE TABLE IF NOT EXISTS `db`.`rejected`"));
  EXPECT_TRUE(statements[4].starts_with("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`v`"));
}

}  // namespace
}  // namespace sluice
