#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "warehouse/table_state.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// One schema change of a migration plan: what changes, why, and the statements that make it.
struct Change {
  enum class Kind {
    kCreateDatabase,
    kCreateTable,
    kCreateView,
    kAddColumn,
    kModifyColumn,      // default, codec, column TTL, comment
    kChangeColumnType,  // destructive
    kDropColumn,        // destructive
    kAddIndex,
    kDropIndex,
    kReplaceIndex,
    kAddProjection,
    kDropProjection,
    kReplaceProjection,
    kModifyTtl,
    kModifySetting,
    kResetSetting,
    kModifyComment,
    kRebuildTable,  // destructive: engine or a key changes
    kRecreateView,  // destructive: the view's definition changes
  };

  Kind kind = Kind::kCreateTable;
  std::string object;       // the table or view it applies to
  std::string description;  // one line for a person
  std::vector<std::string> statements;
  /// Loses data, or rewrites a table: applied only with --allow-destructive.
  bool destructive = false;
  /// For destructive changes: what the change costs, the way to make it without losing data,
  /// and what --allow-destructive runs.
  std::string safe_path;
};

/// Stable lower-case name of a change kind, e.g. "add column".
std::string_view ChangeKindName(Change::Kind kind);

/// The changes that bring a warehouse database to what a spec describes, in apply order.
struct MigrationPlan {
  std::string database;
  std::vector<Change> changes;

  bool empty() const { return changes.empty(); }
  bool HasDestructive() const;
  /// The plan for a person: each change with its SQL, destructive ones marked with their safe
  /// path.
  std::string ToText() const;
};

/// The changes from `actual` to `desired`, both read from ClickHouse so that expressions
/// compare in ClickHouse's normalized spelling; `spec` is the desired table's definition
/// (used when the table must be rebuilt). Does not touch a warehouse.
std::vector<Change> DiffTable(const TableState& desired, const TableState& actual,
                              std::string_view database, const TableSpec& spec);

/// The change from `actual` to `desired` for a materialized view, if any.
std::optional<Change> DiffView(const ViewState& desired, const ViewState& actual,
                               std::string_view database, const ViewSpec& spec);

/// Compares the warehouse with the spec and lists the changes; changes nothing but a scratch
/// database `_sluice_plan_<random>`, in which it creates the spec's tables to read their
/// normalized form, and which it drops before returning.
Result<MigrationPlan> PlanMigration(Warehouse& warehouse, const PipelineSpec& spec);

/// Runs the plan's statements in order. Refuses a plan with destructive changes unless
/// `allow_destructive`, before running anything (kMigrationDestructive, naming each change and
/// its safe path).
Status ApplyMigration(Warehouse& warehouse, const MigrationPlan& plan, bool allow_destructive);

}  // namespace sluice
