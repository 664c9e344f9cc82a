#include "warehouse/migration.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/strings.h"
#include "warehouse/ddl.h"
#include "warehouse/identifier.h"
#include "warehouse/scratch_database.h"

namespace sluice {
namespace {

constexpr std::string_view kRebuildSuffix = "__sluice_new";

// MergeTree settings ClickHouse fixes at creation: changing one needs a new table.
const std::set<std::string, std::less<>> kCreationOnlySettings = {
    "index_granularity", "index_granularity_bytes", "enable_mixed_granularity_parts"};

std::string OrNone(const std::string& text) {
  return text.empty() ? "none" : text;
}

std::string AlterPrefix(std::string_view database, std::string_view table) {
  return "ALTER TABLE " + QualifiedName(database, table) + " ";
}

Change MakeChange(Change::Kind kind, std::string object, std::string description,
                  std::vector<std::string> statements) {
  Change change;
  change.kind = kind;
  change.object = std::move(object);
  change.description = std::move(description);
  change.statements = std::move(statements);
  return change;
}

std::string ColumnStateSql(const ColumnState& column) {
  std::string sql = QuoteIdentifier(column.name) + " " + column.type;
  if (!column.default_kind.empty()) {
    sql += " " + column.default_kind + " " + column.default_expression;
  }
  if (!column.comment.empty()) sql += " COMMENT " + QuoteString(column.comment);
  if (!column.codec.empty()) sql += " " + column.codec;
  if (!column.ttl.empty()) sql += " TTL " + column.ttl;
  return sql;
}

std::string DefaultText(const ColumnState& column) {
  if (column.default_kind.empty()) return "";
  return column.default_kind + " " + column.default_expression;
}

std::string EngineText(const TableState& state) {
  std::string text = (state.replicated ? "Replicated" : "") + state.engine_family;
  if (!state.engine_arguments.empty()) text += "(" + Join(state.engine_arguments, ", ") + ")";
  return text;
}

std::optional<std::string> SettingValue(const TableState& state, std::string_view name) {
  for (const auto& [setting, value] : state.settings) {
    if (setting == name) return value;
  }
  return std::nullopt;
}

// Why the table cannot be altered in place, one entry per reason; empty when it can.
std::vector<std::string> RebuildReasons(const TableState& desired, const TableState& actual) {
  std::vector<std::string> reasons;
  auto compare = [&](std::string_view what, const std::string& from, const std::string& to) {
    if (from != to) reasons.push_back(fmt::format("{} {} → {}", what, OrNone(from), OrNone(to)));
  };
  compare("engine", EngineText(actual), EngineText(desired));
  compare("PARTITION BY", actual.partition_key, desired.partition_key);
  compare("ORDER BY", actual.sorting_key, desired.sorting_key);
  compare("PRIMARY KEY", actual.primary_key, desired.primary_key);
  compare("SAMPLE BY", actual.sampling_key, desired.sampling_key);
  for (const auto& name : kCreationOnlySettings) {
    auto from = SettingValue(actual, name);
    auto to = SettingValue(desired, name);
    if (from != to) compare("setting " + name, from.value_or(""), to.value_or(""));
  }
  for (const auto& column : desired.columns) {
    const ColumnState* old = actual.FindColumn(column.name);
    if (old && old->in_key && old->type != column.type) {
      compare(fmt::format("type of key column {}", QuoteIdentifier(column.name)), old->type,
              column.type);
    }
  }
  return reasons;
}

Change RebuildChange(const TableState& desired, const TableState& actual, std::string_view database,
                     const TableSpec& spec, const std::vector<std::string>& reasons) {
  const std::string new_name = spec.name + std::string(kRebuildSuffix);
  std::vector<std::string> common;
  for (const auto& column : desired.columns) {
    const bool insertable = column.default_kind.empty() || column.default_kind == "DEFAULT";
    if (insertable && actual.FindColumn(column.name)) {
      common.push_back(QuoteIdentifier(column.name));
    }
  }
  std::vector<std::string> dropped;
  for (const auto& column : actual.columns) {
    if (!desired.FindColumn(column.name)) dropped.push_back(QuoteIdentifier(column.name));
  }

  CreateTableOptions options;
  options.table_name = new_name;
  std::vector<std::string> statements = {
      "DROP TABLE IF EXISTS " + QualifiedName(database, new_name),
      CreateTableSql(spec, database, options),
  };
  if (!common.empty()) {
    // Identical blocks of the copy must not be taken for retried inserts and dropped.
    statements.push_back(
        fmt::format("INSERT INTO {} ({}) SETTINGS insert_deduplicate = 0 "
                    "SELECT {} FROM {}",
                    QualifiedName(database, new_name), Join(common, ", "), Join(common, ", "),
                    QualifiedName(database, spec.name)));
  }
  statements.push_back(fmt::format("EXCHANGE TABLES {} AND {}", QualifiedName(database, spec.name),
                                   QualifiedName(database, new_name)));
  statements.push_back("DROP TABLE " + QualifiedName(database, new_name));

  Change change = MakeChange(Change::Kind::kRebuildTable, spec.name,
                             "rebuild table: " + Join(reasons, "; "), std::move(statements));
  change.destructive = true;
  change.safe_path = fmt::format(
      "ClickHouse cannot change this in place. --allow-destructive creates {} with the new "
      "definition, copies the rows (columns {}), swaps the two with EXCHANGE TABLES and drops "
      "the old table{}. Rows written to {} during the copy are lost: stop the pipelines that "
      "write to it first, or keep the old definition and create a new table under another "
      "name.",
      QuoteIdentifier(new_name), common.empty() ? "none" : Join(common, ", "),
      dropped.empty() ? "" : "; the data of columns " + Join(dropped, ", ") + " is deleted",
      QuoteIdentifier(spec.name));
  return change;
}

void DiffColumns(const TableState& desired, const TableState& actual, std::string_view database,
                 std::vector<Change>& changes) {
  const std::string alter = AlterPrefix(database, desired.name);
  for (size_t i = 0; i < desired.columns.size(); ++i) {
    const ColumnState& column = desired.columns[i];
    const std::string name = QuoteIdentifier(column.name);
    const ColumnState* old = actual.FindColumn(column.name);
    if (!old) {
      const std::string position =
          i == 0 ? "FIRST" : "AFTER " + QuoteIdentifier(desired.columns[i - 1].name);
      changes.push_back(
          MakeChange(Change::Kind::kAddColumn, desired.name,
                     fmt::format("add column {} {}", name, column.type),
                     {alter + "ADD COLUMN " + ColumnStateSql(column) + " " + position}));
      continue;
    }

    // A property the spec no longer has is removed explicitly: MODIFY COLUMN keeps what it
    // does not mention.
    std::vector<std::string> removals;
    if (column.default_kind.empty() && !old->default_kind.empty()) {
      removals.push_back(alter + "MODIFY COLUMN " + name + " REMOVE " + old->default_kind);
    }
    if (column.codec.empty() && !old->codec.empty()) {
      removals.push_back(alter + "MODIFY COLUMN " + name + " REMOVE CODEC");
    }
    if (column.ttl.empty() && !old->ttl.empty()) {
      removals.push_back(alter + "MODIFY COLUMN " + name + " REMOVE TTL");
    }
    if (column.comment.empty() && !old->comment.empty()) {
      removals.push_back(alter + "COMMENT COLUMN " + name + " ''");
    }

    if (column.type != old->type) {
      std::vector<std::string> statements = {alter + "MODIFY COLUMN " + ColumnStateSql(column)};
      statements.insert(statements.end(), removals.begin(), removals.end());
      Change change =
          MakeChange(Change::Kind::kChangeColumnType, desired.name,
                     fmt::format("change type of column {}: {} → {}", name, old->type, column.type),
                     std::move(statements));
      change.destructive = true;
      change.safe_path = fmt::format(
          "Changing the type rewrites the column in every part; values that do not convert "
          "fail the change or lose precision. Without data loss: add a new column "
          "{} DEFAULT CAST({} AS {}), move readers to it and drop the old one later. "
          "--allow-destructive runs ALTER TABLE ... MODIFY COLUMN in place.",
          column.type, name, column.type);
      changes.push_back(std::move(change));
      continue;
    }

    std::vector<std::string> what;
    std::vector<std::string> statements;
    const std::string old_default = DefaultText(*old);
    const std::string new_default = DefaultText(column);
    if (old_default != new_default) {
      what.push_back(fmt::format("default {} → {}", OrNone(old_default), OrNone(new_default)));
      if (!column.default_kind.empty()) {
        statements.push_back(alter + "MODIFY COLUMN " + name + " " + column.type + " " +
                             column.default_kind + " " + column.default_expression);
      }
    }
    if (column.codec != old->codec) {
      what.push_back(fmt::format("codec {} → {}", OrNone(old->codec), OrNone(column.codec)));
      if (!column.codec.empty()) {
        statements.push_back(alter + "MODIFY COLUMN " + name + " " + column.type + " " +
                             column.codec);
      }
    }
    if (column.ttl != old->ttl) {
      what.push_back(fmt::format("TTL {} → {}", OrNone(old->ttl), OrNone(column.ttl)));
      if (!column.ttl.empty()) {
        statements.push_back(alter + "MODIFY COLUMN " + name + " " + column.type + " TTL " +
                             column.ttl);
      }
    }
    if (column.comment != old->comment) {
      what.push_back(
          fmt::format("comment {} → {}", QuoteString(old->comment), QuoteString(column.comment)));
      if (!column.comment.empty()) {
        statements.push_back(alter + "COMMENT COLUMN " + name + " " + QuoteString(column.comment));
      }
    }
    if (what.empty()) continue;
    statements.insert(statements.end(), removals.begin(), removals.end());
    changes.push_back(MakeChange(Change::Kind::kModifyColumn, desired.name,
                                 fmt::format("modify column {}: {}", name, Join(what, "; ")),
                                 std::move(statements)));
  }
}

void DiffDropColumns(const TableState& desired, const TableState& actual, std::string_view database,
                     std::vector<Change>& changes) {
  for (const auto& column : actual.columns) {
    if (desired.FindColumn(column.name)) continue;
    const std::string name = QuoteIdentifier(column.name);
    Change change = MakeChange(Change::Kind::kDropColumn, desired.name, "drop column " + name,
                               {AlterPrefix(database, desired.name) + "DROP COLUMN " + name});
    change.destructive = true;
    change.safe_path = fmt::format(
        "Dropping deletes the column's data. To keep it, leave {} {} in the spec; "
        "--allow-destructive drops it.",
        name, column.type);
    changes.push_back(std::move(change));
  }
}

std::string IndexSql(const IndexState& index) {
  return fmt::format("INDEX {} {} TYPE {} GRANULARITY {}", QuoteIdentifier(index.name),
                     index.expression, index.type, index.granularity);
}

void DiffIndexes(const TableState& desired, const TableState& actual, std::string_view database,
                 std::vector<Change>& changes) {
  const std::string alter = AlterPrefix(database, desired.name);
  auto find = [](const std::vector<IndexState>& list, const std::string& name) {
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& i) { return i.name == name; });
    return it == list.end() ? nullptr : &*it;
  };
  for (const auto& index : actual.indexes) {
    if (!find(desired.indexes, index.name)) {
      const std::string name = QuoteIdentifier(index.name);
      changes.push_back(MakeChange(Change::Kind::kDropIndex, desired.name, "drop index " + name,
                                   {alter + "DROP INDEX " + name}));
    }
  }
  for (const auto& index : desired.indexes) {
    const IndexState* old = find(actual.indexes, index.name);
    if (old && *old == index) continue;
    const std::string name = QuoteIdentifier(index.name);
    std::vector<std::string> statements;
    if (old) statements.push_back(alter + "DROP INDEX " + name);
    statements.push_back(alter + "ADD " + IndexSql(index));
    // A new index covers only parts written after it; materializing builds it for the rest.
    statements.push_back(alter + "MATERIALIZE INDEX " + name);
    changes.push_back(MakeChange(
        old ? Change::Kind::kReplaceIndex : Change::Kind::kAddIndex, desired.name,
        old ? fmt::format("replace index {}: {} → {}", name, IndexSql(*old), IndexSql(index))
            : "add " + IndexSql(index),
        std::move(statements)));
  }
}

void DiffProjections(const TableState& desired, const TableState& actual, std::string_view database,
                     std::vector<Change>& changes) {
  const std::string alter = AlterPrefix(database, desired.name);
  auto find = [](const std::vector<ProjectionState>& list, const std::string& name) {
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.name == name; });
    return it == list.end() ? nullptr : &*it;
  };
  for (const auto& projection : actual.projections) {
    if (!find(desired.projections, projection.name)) {
      const std::string name = QuoteIdentifier(projection.name);
      changes.push_back(MakeChange(Change::Kind::kDropProjection, desired.name,
                                   "drop projection " + name, {alter + "DROP PROJECTION " + name}));
    }
  }
  for (const auto& projection : desired.projections) {
    const ProjectionState* old = find(actual.projections, projection.name);
    if (old && *old == projection) continue;
    const std::string name = QuoteIdentifier(projection.name);
    std::vector<std::string> statements;
    if (old) statements.push_back(alter + "DROP PROJECTION " + name);
    statements.push_back(alter + "ADD PROJECTION " + name + " (" + projection.query + ")");
    statements.push_back(alter + "MATERIALIZE PROJECTION " + name);
    changes.push_back(MakeChange(
        old ? Change::Kind::kReplaceProjection : Change::Kind::kAddProjection, desired.name,
        old ? fmt::format("replace projection {}: ({}) → ({})", name, old->query, projection.query)
            : fmt::format("add projection {} ({})", name, projection.query),
        std::move(statements)));
  }
}

void DiffTableLevel(const TableState& desired, const TableState& actual, std::string_view database,
                    std::vector<Change>& changes) {
  const std::string alter = AlterPrefix(database, desired.name);
  if (desired.ttl != actual.ttl) {
    const std::string from = Join(actual.ttl, ", ");
    const std::string to = Join(desired.ttl, ", ");
    changes.push_back(
        MakeChange(Change::Kind::kModifyTtl, desired.name,
                   fmt::format("table TTL {} → {}", OrNone(from), OrNone(to)),
                   {desired.ttl.empty() ? alter + "REMOVE TTL" : alter + "MODIFY TTL " + to}));
  }
  for (const auto& [name, value] : desired.settings) {
    auto old = SettingValue(actual, name);
    if (old == value) continue;
    changes.push_back(
        MakeChange(Change::Kind::kModifySetting, desired.name,
                   fmt::format("setting {} {} → {}", name, old.value_or("default"), value),
                   {alter + "MODIFY SETTING " + QuoteIdentifier(name) + " = " + value}));
  }
  for (const auto& [name, value] : actual.settings) {
    if (SettingValue(desired, name)) continue;
    changes.push_back(MakeChange(Change::Kind::kResetSetting, desired.name,
                                 fmt::format("setting {} {} → default", name, value),
                                 {alter + "RESET SETTING " + QuoteIdentifier(name)}));
  }
  if (desired.comment != actual.comment) {
    changes.push_back(MakeChange(
        Change::Kind::kModifyComment, desired.name,
        fmt::format("comment {} → {}", QuoteString(actual.comment), QuoteString(desired.comment)),
        {alter + "MODIFY COMMENT " + QuoteString(desired.comment)}));
  }
}

Error WithContext(Error error, std::string_view context) {
  error.message = fmt::format("{}: {}", context, error.message);
  return error;
}

}  // namespace

std::string_view ChangeKindName(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::kCreateDatabase:
      return "create database";
    case Change::Kind::kCreateTable:
      return "create table";
    case Change::Kind::kCreateView:
      return "create view";
    case Change::Kind::kAddColumn:
      return "add column";
    case Change::Kind::kModifyColumn:
      return "modify column";
    case Change::Kind::kChangeColumnType:
      return "change column type";
    case Change::Kind::kDropColumn:
      return "drop column";
    case Change::Kind::kAddIndex:
      return "add index";
    case Change::Kind::kDropIndex:
      return "drop index";
    case Change::Kind::kReplaceIndex:
      return "replace index";
    case Change::Kind::kAddProjection:
      return "add projection";
    case Change::Kind::kDropProjection:
      return "drop projection";
    case Change::Kind::kReplaceProjection:
      return "replace projection";
    case Change::Kind::kModifyTtl:
      return "modify TTL";
    case Change::Kind::kModifySetting:
      return "modify setting";
    case Change::Kind::kResetSetting:
      return "reset setting";
    case Change::Kind::kModifyComment:
      return "modify comment";
    case Change::Kind::kRebuildTable:
      return "rebuild table";
    case Change::Kind::kRecreateView:
      return "recreate view";
  }
  return "unknown";
}

bool MigrationPlan::HasDestructive() const {
  return std::any_of(changes.begin(), changes.end(), [](const Change& c) { return c.destructive; });
}

std::string MigrationPlan::ToText() const {
  if (changes.empty()) {
    return fmt::format("No changes: database {} matches the spec.\n", QuoteIdentifier(database));
  }
  const auto destructive =
      std::count_if(changes.begin(), changes.end(), [](const Change& c) { return c.destructive; });
  std::string text =
      fmt::format("Plan for database {}: {} change{}, {} destructive.\n", QuoteIdentifier(database),
                  changes.size(), changes.size() == 1 ? "" : "s", destructive);
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& change = changes[i];
    text += fmt::format("\n{}. {}: {}{}\n", i + 1, change.object, change.description,
                        change.destructive ? "  [DESTRUCTIVE]" : "");
    for (const auto& statement : change.statements) {
      for (const auto& line : SplitLines(statement + ";")) text += "     " + line + "\n";
    }
    if (change.destructive) text += "   Safe path: " + change.safe_path + "\n";
  }
  return text;
}

std::vector<Change> DiffTable(const TableState& desired, const TableState& actual,
                              std::string_view database, const TableSpec& spec) {
  std::vector<Change> changes;
  const auto reasons = RebuildReasons(desired, actual);
  if (!reasons.empty()) {
    changes.push_back(RebuildChange(desired, actual, database, spec, reasons));
    return changes;
  }
  DiffColumns(desired, actual, database, changes);
  DiffIndexes(desired, actual, database, changes);
  DiffProjections(desired, actual, database, changes);
  DiffDropColumns(desired, actual, database, changes);
  DiffTableLevel(desired, actual, database, changes);
  return changes;
}

std::optional<Change> DiffView(const ViewState& desired, const ViewState& actual,
                               std::string_view database, const ViewSpec& spec) {
  if (desired == actual) return std::nullopt;
  std::vector<std::string> what;
  if (desired.query != actual.query) what.push_back("query changes");
  if (desired.to_table != actual.to_table) {
    what.push_back(
        fmt::format("target {} → {}", OrNone(actual.to_table), OrNone(desired.to_table)));
  }
  if (desired.storage != actual.storage) {
    what.push_back(fmt::format("storage {} → {}", OrNone(actual.storage), OrNone(desired.storage)));
  }
  Change change = MakeChange(
      Change::Kind::kRecreateView, spec.name, "recreate materialized view: " + Join(what, "; "),
      {"DROP VIEW IF EXISTS " + QualifiedName(database, spec.name), CreateViewSql(spec, database)});
  change.destructive = true;
  if (actual.to_table.empty()) {
    change.safe_path = fmt::format(
        "ClickHouse changes a materialized view only by dropping and creating it, and {} "
        "stores its rows itself: dropping it deletes them. Without data loss: create a table, "
        "point a new view at it with `to:`, backfill it with INSERT ... SELECT, and remove the "
        "old view. --allow-destructive drops and recreates the view, empty.",
        QuoteIdentifier(spec.name));
  } else {
    change.safe_path = fmt::format(
        "ClickHouse changes a materialized view only by dropping and creating it. The rows "
        "already in {} stay; rows inserted into the view's source between the drop and the "
        "create are not processed, so stop the pipelines that write to it first. "
        "--allow-destructive drops and recreates the view.",
        QuoteIdentifier(actual.to_table));
  }
  return change;
}

Result<MigrationPlan> PlanMigration(Warehouse& warehouse, const PipelineSpec& spec) {
  MigrationPlan plan;
  const std::string& database = spec.warehouse.database;
  plan.database = database;
  auto actual = ReadDatabaseState(warehouse, database);
  if (!actual.ok()) return actual.error();

  const std::vector<TableSpec> tables = DesiredTables(spec);
  auto conflict = [&](const std::string& name, std::string_view wanted) -> std::optional<Error> {
    std::string existing;
    if (actual->views.count(name)) existing = "a materialized view";
    if (actual->tables.count(name)) existing = "a table";
    if (auto other = actual->others.find(name); other != actual->others.end()) {
      existing = "an object with engine " + other->second;
    }
    if (existing.empty() || (existing == "a table" && wanted == "a table") ||
        (existing == "a materialized view" && wanted == "a materialized view")) {
      return std::nullopt;
    }
    return MakeError(
        ErrorCode::kMigrationDestructive,
        fmt::format("{} exists in database {} as {}, but the spec defines {}; "
                    "rename it or drop it by hand",
                    QuoteIdentifier(name), QuoteIdentifier(database), existing, wanted));
  };
  for (const auto& table : tables) {
    if (auto error = conflict(table.name, "a table")) return *error;
  }
  for (const auto& view : spec.views) {
    if (auto error = conflict(view.name, "a materialized view")) return *error;
  }

  if (!actual->exists) {
    plan.changes.push_back(MakeChange(Change::Kind::kCreateDatabase, database, "create database",
                                      {CreateDatabaseSql(database)}));
  }

  // Every table of the spec is created in the scratch database: existing ones to read their
  // normalized form, new ones so that ClickHouse checks their definition before anything is
  // applied.
  ScratchDatabase scratch(warehouse, "_sluice_plan_");
  if (auto status = scratch.Create(); !status.ok()) return status.error();
  std::set<std::string> scratch_tables;
  CreateTableOptions scratch_options;
  scratch_options.strip_replication = true;
  for (const auto& table : tables) {
    auto status = warehouse.Execute(CreateTableSql(table, scratch.name(), scratch_options));
    if (!status.ok()) {
      return WithContext(status.error(),
                         fmt::format("table {}: ClickHouse rejects its definition", table.name));
    }
    scratch_tables.insert(table.name);
  }
  // Views are created there only when they exist already: a view of a table the plan creates
  // cannot be built before that table exists.
  for (const auto& view : spec.views) {
    if (!actual->views.count(view.name)) continue;
    if (!view.to_table.empty() && !scratch_tables.count(view.to_table)) {
      auto status = warehouse.Execute(fmt::format("CREATE TABLE {} AS {}",
                                                  QualifiedName(scratch.name(), view.to_table),
                                                  QualifiedName(database, view.to_table)));
      if (!status.ok()) return WithContext(status.error(), "view " + view.name);
      scratch_tables.insert(view.to_table);
    }
    auto status = warehouse.Execute(CreateViewSql(view, scratch.name(), scratch.name()));
    if (!status.ok()) {
      return WithContext(status.error(),
                         fmt::format("view {}: ClickHouse rejects its definition", view.name));
    }
  }
  auto desired = ReadDatabaseState(warehouse, scratch.name());
  if (!desired.ok()) return desired.error();

  for (const auto& table : tables) {
    auto existing = actual->tables.find(table.name);
    if (existing == actual->tables.end()) {
      plan.changes.push_back(MakeChange(Change::Kind::kCreateTable, table.name, "create table",
                                        {CreateTableSql(table, database)}));
      continue;
    }
    TableState wanted = desired->tables[table.name];
    // The scratch copy is never replicated; the comparison uses what the spec asks for.
    wanted.replicated = table.storage.engine.replicated;
    wanted.engine = (wanted.replicated ? "Replicated" : "") + wanted.engine_family;
    auto changes = DiffTable(wanted, existing->second, database, table);
    plan.changes.insert(plan.changes.end(), changes.begin(), changes.end());
  }
  for (const auto& view : spec.views) {
    auto existing = actual->views.find(view.name);
    if (existing == actual->views.end()) {
      plan.changes.push_back(MakeChange(Change::Kind::kCreateView, view.name,
                                        "create materialized view",
                                        {CreateViewSql(view, database)}));
      continue;
    }
    if (auto change = DiffView(desired->views[view.name], existing->second, database, view)) {
      plan.changes.push_back(std::move(*change));
    }
  }
  return plan;
}

Status ApplyMigration(Warehouse& warehouse, const MigrationPlan& plan, bool allow_destructive) {
  if (plan.HasDestructive() && !allow_destructive) {
    std::string message =
        "the plan has destructive changes and --allow-destructive was not given; nothing was "
        "applied:";
    for (const auto& change : plan.changes) {
      if (!change.destructive) continue;
      message +=
          fmt::format("\n  {}: {}\n    {}", change.object, change.description, change.safe_path);
    }
    return MakeError(ErrorCode::kMigrationDestructive, std::move(message));
  }
  for (const auto& change : plan.changes) {
    for (const auto& statement : change.statements) {
      auto status = warehouse.Execute(statement);
      if (!status.ok()) {
        return WithContext(status.error(),
                           fmt::format("applying \"{}: {}\"", change.object, change.description));
      }
    }
  }
  return {};
}

}  // namespace sluice
