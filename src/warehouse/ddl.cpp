#include "warehouse/ddl.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "aggregate/aggregate_function.h"
#include "base/strings.h"
#include "warehouse/identifier.h"

namespace sluice {
namespace {

constexpr std::string_view kIndent = "    ";

// A key list as ClickHouse reads it: `tuple()` for none, the bare expression for one,
// a parenthesised tuple for several.
std::string KeySql(const std::vector<std::string>& expressions) {
  if (expressions.empty()) return "tuple()";
  if (expressions.size() == 1) return expressions.front();
  return "(" + Join(expressions, ", ") + ")";
}

std::string SettingsSql(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::vector<std::string> parts;
  parts.reserve(settings.size());
  for (const auto& [name, value] : settings) parts.push_back(QuoteIdentifier(name) + " = " + value);
  return Join(parts, ", ");
}

// The clauses after ENGINE = ..., one per line, shared by tables and views with own storage.
void AppendStorageClauses(std::string& sql, const StorageSpec& storage,
                          const std::vector<std::pair<std::string, std::string>>& settings) {
  if (!storage.partition_by.empty()) sql += "\nPARTITION BY " + storage.partition_by;
  if (!storage.primary_key.empty()) sql += "\nPRIMARY KEY " + KeySql(storage.primary_key);
  sql += "\nORDER BY " + KeySql(storage.order_by);
  if (!storage.sample_by.empty()) sql += "\nSAMPLE BY " + storage.sample_by;
  if (!storage.ttl.empty()) {
    sql += "\nTTL " + Join(storage.ttl, fmt::format(",\n{}", kIndent));
  }
  if (!settings.empty()) sql += "\nSETTINGS " + SettingsSql(settings);
}

std::string DeduplicationSettingName(const EngineSpec& engine) {
  return engine.replicated ? "replicated_deduplication_window"
                           : "non_replicated_deduplication_window";
}

ColumnSpec DeadLetterColumn(std::string_view name, std::string_view type,
                            std::vector<std::string> codecs = {}) {
  ColumnSpec column;
  column.name = name;
  // The types are fixed literals that the parser's own tests cover, so failure is a bug here.
  column.type = ParseDataType(type).value();
  column.codecs = std::move(codecs);
  return column;
}

}  // namespace

std::string CreateDatabaseSql(std::string_view database) {
  return "CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(database);
}

std::string ColumnDefinitionSql(const ColumnSpec& column) {
  std::string sql = QuoteIdentifier(column.name) + " " + column.type.ToString();
  switch (column.default_kind) {
    case ColumnSpec::DefaultKind::kNone:
      break;
    case ColumnSpec::DefaultKind::kDefault:
      sql += " DEFAULT " + column.default_expression;
      break;
    case ColumnSpec::DefaultKind::kMaterialized:
      sql += " MATERIALIZED " + column.default_expression;
      break;
    case ColumnSpec::DefaultKind::kAlias:
      sql += " ALIAS " + column.default_expression;
      break;
  }
  if (!column.comment.empty()) sql += " COMMENT " + QuoteString(column.comment);
  if (!column.codecs.empty()) sql += " CODEC(" + Join(column.codecs, ", ") + ")";
  if (!column.ttl.empty()) sql += " TTL " + column.ttl;
  return sql;
}

std::string EngineSql(const EngineSpec& engine, bool strip_replication) {
  const bool replicated = engine.replicated && !strip_replication;
  std::vector<std::string> arguments;
  if (replicated) {
    arguments.push_back(QuoteString(engine.zookeeper_path));
    arguments.push_back(QuoteString(engine.replica_name));
  }
  const std::string& family = engine.family;
  if (family == "ReplacingMergeTree") {
    if (!engine.version_column.empty()) {
      arguments.push_back(QuoteIdentifier(engine.version_column));
      if (!engine.is_deleted_column.empty()) {
        arguments.push_back(QuoteIdentifier(engine.is_deleted_column));
      }
    }
  } else if (family == "SummingMergeTree") {
    if (!engine.sum_columns.empty()) {
      std::vector<std::string> quoted;
      for (const auto& column : engine.sum_columns) quoted.push_back(QuoteIdentifier(column));
      arguments.push_back("(" + Join(quoted, ", ") + ")");
    }
  } else if (family == "CollapsingMergeTree") {
    arguments.push_back(QuoteIdentifier(engine.sign_column));
  } else if (family == "VersionedCollapsingMergeTree") {
    arguments.push_back(QuoteIdentifier(engine.sign_column));
    arguments.push_back(QuoteIdentifier(engine.version_column));
  }
  std::string sql = (replicated ? "Replicated" : "") + family;
  if (!arguments.empty()) sql += "(" + Join(arguments, ", ") + ")";
  return sql;
}

std::vector<std::pair<std::string, std::string>> EffectiveSettings(const StorageSpec& storage,
                                                                   uint32_t window) {
  auto settings = storage.settings;
  const std::string window_setting = DeduplicationSettingName(storage.engine);
  const bool user_set = std::any_of(settings.begin(), settings.end(), [&](const auto& setting) {
    return setting.first == window_setting;
  });
  if (window > 0 && !user_set) settings.emplace_back(window_setting, std::to_string(window));
  return settings;
}

std::vector<std::pair<std::string, std::string>> EffectiveSettings(const TableSpec& table) {
  return EffectiveSettings(table.storage, table.deduplication_window);
}

std::string CreateTableSql(const TableSpec& table, std::string_view database,
                           const CreateTableOptions& options) {
  const std::string& name = options.table_name.empty() ? table.name : options.table_name;
  std::vector<std::string> elements;
  for (const auto& column : table.columns) elements.push_back(ColumnDefinitionSql(column));
  for (const auto& index : table.indexes) {
    elements.push_back(fmt::format("INDEX {} {} TYPE {} GRANULARITY {}",
                                   QuoteIdentifier(index.name), index.expression, index.type,
                                   index.granularity));
  }
  for (const auto& projection : table.projections) {
    elements.push_back(fmt::format("PROJECTION {} ({})", QuoteIdentifier(projection.name),
                                   Trim(projection.query)));
  }
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QualifiedName(database, name) + "\n(\n";
  for (size_t i = 0; i < elements.size(); ++i) {
    sql += kIndent;
    sql += elements[i];
    sql += i + 1 < elements.size() ? ",\n" : "\n";
  }
  sql += ")\nENGINE = " + EngineSql(table.storage.engine, options.strip_replication);
  AppendStorageClauses(sql, table.storage, EffectiveSettings(table));
  if (!table.comment.empty()) sql += "\nCOMMENT " + QuoteString(table.comment);
  return sql;
}

std::string CreateViewSql(const ViewSpec& view, std::string_view database,
                          std::string_view to_database) {
  std::string sql = "CREATE MATERIALIZED VIEW IF NOT EXISTS " + QualifiedName(database, view.name);
  if (!view.to_table.empty()) {
    sql += "\nTO " + QualifiedName(to_database.empty() ? database : to_database, view.to_table);
  } else if (view.storage) {
    sql += "\nENGINE = " + EngineSql(view.storage->engine);
    // A view's own storage deduplicates like a table's: a replayed insert into the table it
    // reads must not be counted twice in the view.
    AppendStorageClauses(sql, *view.storage,
                         EffectiveSettings(*view.storage, TableSpec{}.deduplication_window));
  }
  sql += "\nAS ";
  sql += Trim(view.query);
  return sql;
}

std::string DeadLetterTableName(const StreamSpec& stream) {
  return stream.dead_letter_table.empty() ? stream.name + "_dead_letter" : stream.dead_letter_table;
}

std::string SourceDeadLetterTableName(const SourceSpec& source) {
  if (!source.postgres_cdc) return {};
  return source.postgres_cdc->table_prefix + source.name + "_dead_letter";
}

TableSpec DeadLetterTableSpec(std::string_view table_name) {
  TableSpec table;
  table.name = table_name;
  table.comment = "sluice dead-letter records";
  table.columns = {
      DeadLetterColumn("received_at", "DateTime64(3, 'UTC')", {"DoubleDelta", "LZ4"}),
      DeadLetterColumn("source", "LowCardinality(String)"),
      DeadLetterColumn("stream", "LowCardinality(String)"),
      DeadLetterColumn("location", "String"),
      DeadLetterColumn("error_code", "UInt16"),
      DeadLetterColumn("error_name", "LowCardinality(String)"),
      DeadLetterColumn("field", "String"),
      DeadLetterColumn("message", "String"),
      DeadLetterColumn("raw", "String", {"ZSTD(3)"}),
  };
  table.storage.partition_by = "toYYYYMM(received_at)";
  table.storage.order_by = {"stream", "error_code", "received_at"};
  return table;
}

namespace {

ColumnSpec PlainColumn(std::string name, DataType type) {
  ColumnSpec column;
  column.name = std::move(name);
  column.type = std::move(type);
  return column;
}

}  // namespace

TableSpec AggregationTableSpec(const AggregationSpec& aggregation) {
  TableSpec table;
  table.name = aggregation.table;
  table.comment = "sluice aggregation " + aggregation.name;
  table.where = aggregation.where;
  auto field_type = [&](const std::string& name) -> const DataType* {
    for (const auto& [field, type] : aggregation.fields) {
      if (field == name) return &type;
    }
    return nullptr;
  };
  bool nullable_key = false;
  for (const std::string& key : aggregation.key_by) {
    if (const DataType* type = field_type(key)) {
      table.columns.push_back(PlainColumn(key, *type));
      nullable_key = nullable_key || type->IsNullable();
    }
  }
  // An enriched key is NULL when the lookup found nothing; such rows are results too.
  if (nullable_key) table.storage.settings.emplace_back("allow_nullable_key", "1");
  DataType time = ParseDataType("DateTime64(3, 'UTC')").value();
  table.columns.push_back(PlainColumn("window_start", time));
  table.columns.back().codecs = {"DoubleDelta", "LZ4"};
  table.columns.push_back(PlainColumn("window_end", time));
  table.columns.back().codecs = {"DoubleDelta", "LZ4"};
  for (const AggregateSpec& aggregate : aggregation.aggregates) {
    AggregateCall call{aggregate.function, aggregate.name, aggregate.field, aggregate.level,
                       aggregate.k};
    auto function = MakeAggregateFunction(call, field_type(aggregate.field));
    // The loader has checked every aggregate; a failure here means the spec was not loaded.
    if (function.ok())
      table.columns.push_back(PlainColumn(aggregate.name, (*function)->result_type()));
  }
  table.columns.push_back(PlainColumn("_version", ParseDataType("UInt64").value()));
  table.columns.push_back(PlainColumn("_is_deleted", ParseDataType("UInt8").value()));
  table.storage.engine.family = "ReplacingMergeTree";
  table.storage.engine.version_column = "_version";
  table.storage.engine.is_deleted_column = "_is_deleted";
  table.storage.partition_by = "toYYYYMM(window_start)";
  table.storage.order_by = aggregation.key_by;
  table.storage.order_by.push_back("window_start");
  return table;
}

TableSpec LateTableSpec(const AggregationSpec& aggregation) {
  TableSpec table;
  table.name = aggregation.late_table;
  table.comment = "sluice records later than the allowed lateness of " + aggregation.name;
  table.where = aggregation.where;
  for (const auto& [field, type] : aggregation.fields) {
    table.columns.push_back(PlainColumn(field, type));
  }
  if (aggregation.event_time) table.storage.order_by = {aggregation.event_time->field};
  return table;
}

std::vector<TableSpec> DesiredTables(const PipelineSpec& spec) {
  std::vector<TableSpec> tables = spec.tables;
  std::set<std::string> names;
  for (const auto& table : spec.tables) names.insert(table.name);
  for (const auto& stream : spec.streams) {
    std::string name = DeadLetterTableName(stream);
    if (names.insert(name).second) tables.push_back(DeadLetterTableSpec(name));
  }
  for (const auto& source : spec.sources) {
    std::string name = SourceDeadLetterTableName(source);
    if (!name.empty() && names.insert(name).second) tables.push_back(DeadLetterTableSpec(name));
  }
  for (const auto& aggregation : spec.aggregations) {
    if (names.insert(aggregation.table).second) {
      tables.push_back(AggregationTableSpec(aggregation));
    }
    if (names.insert(aggregation.late_table).second) {
      tables.push_back(LateTableSpec(aggregation));
    }
  }
  return tables;
}

std::vector<std::string> SchemaStatements(const PipelineSpec& spec) {
  const std::string& database = spec.warehouse.database;
  std::vector<std::string> statements = {CreateDatabaseSql(database)};
  for (const auto& table : DesiredTables(spec)) {
    statements.push_back(CreateTableSql(table, database));
  }
  for (const auto& view : spec.views) statements.push_back(CreateViewSql(view, database));
  return statements;
}

}  // namespace sluice
