#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// One column as ClickHouse reports it (system.columns plus the column TTL from the CREATE
/// query), in ClickHouse's own normalized spelling.
struct ColumnState {
  std::string name;
  std::string type;          // e.g. "Decimal(10, 2)"
  std::string default_kind;  // "", "DEFAULT", "MATERIALIZED", "ALIAS" or "EPHEMERAL"
  std::string default_expression;
  std::string codec;  // e.g. "CODEC(Delta(8), ZSTD(3))", empty for the default
  std::string ttl;    // column TTL expression, empty for none
  std::string comment;
  bool in_key = false;  // part of the partition, sorting, primary or sampling key

  bool operator==(const ColumnState&) const = default;
};

/// A data-skipping index as system.data_skipping_indices reports it.
struct IndexState {
  std::string name;
  std::string expression;
  std::string type;  // with arguments, e.g. "set(100)"
  int granularity = 1;

  bool operator==(const IndexState&) const = default;
};

/// A projection and its normalized query.
struct ProjectionState {
  std::string name;
  std::string query;

  bool operator==(const ProjectionState&) const = default;
};

/// What a MergeTree-family table looks like in the warehouse, in the normalized form
/// ClickHouse prints — so two tables created from the same definition compare equal, whatever
/// spelling the definition used.
struct TableState {
  std::string name;
  std::string engine;         // system.tables.engine, e.g. "ReplicatedMergeTree"
  std::string engine_family;  // without "Replicated", e.g. "MergeTree"
  bool replicated = false;
  std::vector<std::string> engine_arguments;  // without the replication path and replica name
  std::string partition_key;
  std::string sorting_key;
  std::string primary_key;
  std::string sampling_key;
  std::vector<std::string> ttl;                               // table TTL elements
  std::vector<std::pair<std::string, std::string>> settings;  // name, value as SQL
  std::string comment;
  std::vector<ColumnState> columns;  // in table order
  std::vector<IndexState> indexes;
  std::vector<ProjectionState> projections;

  const ColumnState* FindColumn(std::string_view column) const;
};

/// What a materialized view looks like in the warehouse.
struct ViewState {
  std::string name;
  std::string to_table;  // table name without database, empty for a view with own storage
  std::string storage;   // "ENGINE = ... ORDER BY ... SETTINGS ..." of a view with own storage
  std::string query;     // the normalized SELECT, table names qualified by ClickHouse

  bool operator==(const ViewState&) const = default;
};

/// The tables and materialized views of one database (ClickHouse's hidden inner tables of
/// views left out).
struct DatabaseState {
  bool exists = false;
  std::map<std::string, TableState> tables;
  std::map<std::string, ViewState> views;
  /// Objects that are neither MergeTree-family tables nor materialized views, name → engine.
  std::map<std::string, std::string> others;
};

/// Reads the state of every table and view of `database` from the system tables.
Result<DatabaseState> ReadDatabaseState(Warehouse& warehouse, std::string_view database);

/// Splits at `separator` where it is outside quotes, backticks and brackets; parts are trimmed.
std::vector<std::string> SplitTopLevel(std::string_view text, char separator);

/// Fills engine family, arguments, table TTL and settings of `state` from a system.tables
/// `engine_full` value such as "ReplacingMergeTree(ver) ORDER BY id TTL d + toIntervalDay(1)
/// SETTINGS index_granularity = 8192".
void ParseEngineFull(std::string_view engine_full, TableState& state);

/// The elements between the outer parentheses of a CREATE TABLE / VIEW query: column
/// definitions, INDEX ..., PROJECTION ... .
std::vector<std::string> CreateQueryElements(std::string_view create_query);

/// The column TTL expression of one column definition element, "" when it has none.
std::string ColumnTtl(std::string_view column_definition);

/// The TO table and own storage of a materialized view, from its create_table_query.
void ParseViewCreateQuery(std::string_view create_query, ViewState& state);

}  // namespace sluice
