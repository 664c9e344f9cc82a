#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/spec.h"

namespace sluice {

/// Variations of CREATE TABLE used by migrations rather than by a plain schema apply.
struct CreateTableOptions {
  /// Name of the created table; empty means the spec's name (a rebuild creates `<t>__sluice_new`).
  std::string table_name;
  /// Use the non-replicated member of the engine family while keeping every other clause — the
  /// planner builds its comparison copies this way in a scratch database, where a replicated
  /// engine would need ZooKeeper and a replica path of its own.
  bool strip_replication = false;
};

/// CREATE DATABASE IF NOT EXISTS for `database`.
std::string CreateDatabaseSql(std::string_view database);

/// One column of a CREATE TABLE: `name Type [DEFAULT|MATERIALIZED|ALIAS expr] [COMMENT '...']
/// [CODEC(...)] [TTL expr]`, in the order ClickHouse's grammar requires.
std::string ColumnDefinitionSql(const ColumnSpec& column);

/// The ENGINE clause value, e.g. `ReplicatedReplacingMergeTree('/clickhouse/...', '{replica}',
/// `ver`)`; `strip_replication` drops the Replicated prefix and its two arguments.
std::string EngineSql(const EngineSpec& engine, bool strip_replication = false);

/// The settings a table is created with: the spec's own, in spec order, then the deduplication
/// window (`non_replicated_deduplication_window`, or `replicated_deduplication_window` for a
/// replicated engine) when it is above 0 and the spec does not set that setting itself.
std::vector<std::pair<std::string, std::string>> EffectiveSettings(const TableSpec& table);
/// The same for any storage (a view's own) with the given deduplication window.
std::vector<std::pair<std::string, std::string>> EffectiveSettings(const StorageSpec& storage,
                                                                   uint32_t window);

/// CREATE TABLE IF NOT EXISTS with every clause the spec describes, one clause per line.
std::string CreateTableSql(const TableSpec& table, std::string_view database,
                           const CreateTableOptions& options = {});

/// CREATE MATERIALIZED VIEW IF NOT EXISTS, either `TO` its table or with its own storage.
/// `to_database` is where the TO table lives; empty means `database`.
std::string CreateViewSql(const ViewSpec& view, std::string_view database,
                          std::string_view to_database = {});

/// Name of the dead-letter table of a stream: its `dead_letter_table`, else `<stream>_dead_letter`.
std::string DeadLetterTableName(const StreamSpec& stream);

/// Name of the dead-letter table of a source that fills tables of its own instead of a stream
/// (PostgreSQL CDC): `<table_prefix><source>_dead_letter`; empty for any other source.
std::string SourceDeadLetterTableName(const SourceSpec& source);

/// The fixed schema every dead-letter table has: when, where from, which stream, the location
/// in the input, the error (code, name, field, message) and the raw record.
TableSpec DeadLetterTableSpec(std::string_view table_name);

/// The table of an aggregation's results: its keys, `window_start`, `window_end` (DateTime64(3,
/// 'UTC')), one column per aggregate, `_version` and `_is_deleted`, in a
/// ReplacingMergeTree(_version, _is_deleted) ordered by the keys and window_start, so that
/// `FINAL` shows one row per key and window however often late records updated it.
TableSpec AggregationTableSpec(const AggregationSpec& aggregation);
/// The table of the records that came later than the aggregation's allowed lateness: their
/// fields as the window saw them (the streams', the map's and the enrichment's).
TableSpec LateTableSpec(const AggregationSpec& aggregation);

/// Every table the spec needs, in apply order: its tables, then the dead-letter tables of its
/// streams and of its CDC sources (once each, skipping a name the spec already defines as a
/// table), then the result and late tables of its aggregations. A CDC source's replicated
/// tables are not among them: they follow the source tables, and the source creates them.
std::vector<TableSpec> DesiredTables(const PipelineSpec& spec);

/// Every statement that creates the spec's schema on an empty warehouse, in apply order:
/// the database, tables, dead-letter tables, views. No trailing semicolons.
std::vector<std::string> SchemaStatements(const PipelineSpec& spec);

}  // namespace sluice
