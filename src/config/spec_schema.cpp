#include "config/spec_schema.h"

#include <fmt/format.h>

#include <array>

namespace sluice {
namespace {

constexpr KeyDescriptor kTopLevelKeys[] = {
    {.key = "pipeline",
     .kind = KeyKind::kString,
     .required = true,
     .description = "Name of the pipeline; an identifier."},
    {.key = "warehouse",
     .kind = KeyKind::kMap,
     .description = "Where the tables live (see `warehouse`)."},
    {.key = "tables",
     .kind = KeyKind::kMap,
     .description = "ClickHouse tables by name, in the order they are created."},
    {.key = "views", .kind = KeyKind::kMap, .description = "Materialized views by name."},
    {.key = "streams",
     .kind = KeyKind::kMap,
     .description = "Record streams by name; each lands in one table."},
    {.key = "sources",
     .kind = KeyKind::kMap,
     .description = "Inputs by name; each feeds one stream."},
};

constexpr KeyDescriptor kWarehouseKeys[] = {
    {.key = "mode",
     .default_value = "embedded",
     .description = "`embedded` runs ClickHouse inside sluice (the only mode for now)."},
    {.key = "path",
     .default_value = "data",
     .description = "Data folder of the embedded engine, relative to the spec's folder."},
    {.key = "database",
     .default_value = "default",
     .description = "Database holding the tables; an identifier."},
};

constexpr KeyDescriptor kTableKeys[] = {
    {.key = "engine",
     .kind = KeyKind::kStringOrMap,
     .default_value = "MergeTree",
     .description = "Engine family name (`ReplicatedX` allowed), or the map form "
                    "`tables.<table>.engine`."},
    {.key = "columns",
     .kind = KeyKind::kList,
     .required = true,
     .description = "The columns, in order; at least one."},
    {.key = "partition_by", .description = "PARTITION BY expression, e.g. `toYYYYMM(event_date)`."},
    {.key = "order_by",
     .kind = KeyKind::kStringOrList,
     .computed_default = "`tuple()`",
     .description = "ORDER BY (sorting key) elements; bare names must be columns."},
    {.key = "primary_key",
     .kind = KeyKind::kStringOrList,
     .computed_default = "`order_by`",
     .description = "PRIMARY KEY elements; must be a prefix of `order_by`."},
    {.key = "sample_by", .description = "SAMPLE BY expression; a bare name must be a column."},
    {.key = "ttl",
     .kind = KeyKind::kStringOrList,
     .description = "Table TTL elements, e.g. `event_date + INTERVAL 90 DAY`."},
    {.key = "settings",
     .kind = KeyKind::kMap,
     .description = "MergeTree settings; numbers and true/false are kept as written, other "
                    "values become quoted strings."},
    {.key = "projections",
     .kind = KeyKind::kMap,
     .description = "Projection name to its query (`SELECT ... [GROUP BY ...]`, no FROM)."},
    {.key = "indexes",
     .kind = KeyKind::kMap,
     .description = "Data-skipping indexes by name (see `tables.<table>.indexes.<index>`)."},
    {.key = "deduplication_window",
     .kind = KeyKind::kInt,
     .default_value = "1000",
     .description = "How many recent insert tokens ClickHouse remembers to drop replayed "
                    "batches; 0 turns exactly-once off."},
    {.key = "comment", .description = "Table comment."},
};

constexpr KeyDescriptor kEngineKeys[] = {
    {.key = "family",
     .default_value = "MergeTree",
     .description = "MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, "
                    "CollapsingMergeTree or VersionedCollapsingMergeTree."},
    {.key = "replicated",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .description = "Use the Replicated variant of the family."},
    {.key = "zookeeper_path",
     .default_value = "/clickhouse/tables/{shard}/{database}/{table}",
     .description = "Replication path in Keeper; only with `replicated: true`."},
    {.key = "replica",
     .default_value = "{replica}",
     .description = "Replica name; only with `replicated: true`."},
    {.key = "version",
     .description = "Version column: optional for ReplacingMergeTree, required for "
                    "VersionedCollapsingMergeTree."},
    {.key = "is_deleted",
     .description = "Deleted-flag column of a ReplacingMergeTree; needs `version`."},
    {.key = "sign", .description = "Sign column; required for (Versioned)CollapsingMergeTree."},
    {.key = "sum_columns",
     .kind = KeyKind::kStringOrList,
     .computed_default = "numeric columns outside the sorting key",
     .description = "Columns a SummingMergeTree sums."},
};

constexpr KeyDescriptor kColumnKeys[] = {
    {.key = "name", .required = true, .description = "Column name; an identifier."},
    {.key = "type",
     .required = true,
     .description = "ClickHouse type, e.g. `LowCardinality(String)`, `Decimal(10,2)`, "
                    "`DateTime64(3)`."},
    {.key = "codec",
     .kind = KeyKind::kStringOrList,
     .description = "Codec chain: None, LZ4, LZ4HC(level), ZSTD(level), Delta(bytes), "
                    "DoubleDelta, Gorilla, T64, FPC(level, float_size), GCD."},
    {.key = "default",
     .description = "DEFAULT expression; at most one of default, materialized, alias."},
    {.key = "materialized",
     .description = "MATERIALIZED expression; the column is computed, never inserted."},
    {.key = "alias",
     .description = "ALIAS expression; the column is computed on read, never stored."},
    {.key = "ttl", .description = "Column TTL expression."},
    {.key = "comment", .description = "Column comment."},
};

constexpr KeyDescriptor kIndexKeys[] = {
    {.key = "expression", .required = true, .description = "Indexed expression."},
    {.key = "type",
     .required = true,
     .description = "minmax, set(N), bloom_filter[(false_positive_rate)], ngrambf_v1(n, bytes, "
                    "hashes, seed) or tokenbf_v1(bytes, hashes, seed)."},
    {.key = "granularity",
     .kind = KeyKind::kInt,
     .default_value = "1",
     .description = "Granules per index block; at least 1."},
};

constexpr KeyDescriptor kViewKeys[] = {
    {.key = "query", .required = true, .description = "The SELECT whose result the view stores."},
    {.key = "to",
     .description = "Write into this table of `tables` instead of the view's own storage."},
    {.key = "engine",
     .kind = KeyKind::kStringOrMap,
     .description = "Engine of the view's own storage, as for tables; required without `to`."},
    {.key = "partition_by", .description = "As for tables; only without `to`."},
    {.key = "order_by",
     .kind = KeyKind::kStringOrList,
     .computed_default = "`tuple()`",
     .description = "As for tables; only without `to`."},
    {.key = "primary_key",
     .kind = KeyKind::kStringOrList,
     .computed_default = "`order_by`",
     .description = "As for tables; only without `to`."},
    {.key = "sample_by", .description = "As for tables; only without `to`."},
    {.key = "ttl",
     .kind = KeyKind::kStringOrList,
     .description = "As for tables; only without `to`."},
    {.key = "settings", .kind = KeyKind::kMap, .description = "As for tables; only without `to`."},
};

constexpr KeyDescriptor kStreamKeys[] = {
    {.key = "table",
     .computed_default = "the stream name",
     .description = "The table of `tables` the records land in."},
    {.key = "dead_letter_table",
     .computed_default = "`<stream>_dead_letter`",
     .description = "Table for records that fail; must not be a table or view of the spec."},
    {.key = "fields",
     .kind = KeyKind::kList,
     .computed_default = "every column without materialized/alias",
     .description = "Record fields and the columns they fill."},
};

constexpr KeyDescriptor kStreamFieldKeys[] = {
    {.key = "name",
     .required = true,
     .description = "Column of the stream's table; not a materialized or alias column."},
    {.key = "path",
     .computed_default = "`name`",
     .description = "Dotted path of the value in a JSON record, e.g. `user.id`."},
    {.key = "type",
     .computed_default = "the column's type",
     .description = "Type the value is read as."},
    {.key = "required",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .description = "A missing value sends the record to the dead-letter table instead of using "
                    "the column default."},
};

constexpr KeyDescriptor kSourceKeys[] = {
    {.key = "type",
     .default_value = "file",
     .description = "`file` reads a file once (the only type for now)."},
    {.key = "stream", .required = true, .description = "The stream the records go to."},
    {.key = "path",
     .required = true,
     .description = "The file, relative to the spec's folder; it must exist."},
    {.key = "format",
     .computed_default = "from the extension",
     .description = "`ndjson` (.ndjson, .jsonl, .json) or `csv` (.csv)."},
    {.key = "csv",
     .kind = KeyKind::kMap,
     .description = "CSV options (see `sources.<source>.csv`); only for csv."},
    {.key = "batch_rows",
     .kind = KeyKind::kInt,
     .default_value = "65536",
     .description = "Rows per batch, 1 to 10000000."},
};

constexpr KeyDescriptor kCsvKeys[] = {
    {.key = "header",
     .kind = KeyKind::kBool,
     .default_value = "true",
     .description = "The first line names the columns."},
    {.key = "delimiter",
     .default_value = ",",
     .description = "Field separator; exactly one character."},
};

}  // namespace

const SectionDescriptor kTopLevelSection{"(top level)", "The spec file itself.", kTopLevelKeys};
const SectionDescriptor kWarehouseSection{"warehouse", "Where the tables live.", kWarehouseKeys};
const SectionDescriptor kTableSection{"tables.<table>", "A ClickHouse MergeTree-family table.",
                                      kTableKeys};
const SectionDescriptor kEngineSection{"tables.<table>.engine",
                                       "The map form of `engine` (tables and views).", kEngineKeys};
const SectionDescriptor kColumnSection{"tables.<table>.columns[]", "One column of a table.",
                                       kColumnKeys};
const SectionDescriptor kIndexSection{"tables.<table>.indexes.<index>", "A data-skipping index.",
                                      kIndexKeys};
const SectionDescriptor kViewSection{
    "views.<view>", "A materialized view: `to` a table, or with its own storage.", kViewKeys};
const SectionDescriptor kStreamSection{"streams.<stream>",
                                       "Records of one shape landing in one table.", kStreamKeys};
const SectionDescriptor kStreamFieldSection{"streams.<stream>.fields[]",
                                            "One field of a stream's records.", kStreamFieldKeys};
const SectionDescriptor kSourceSection{"sources.<source>", "An input feeding one stream.",
                                       kSourceKeys};
const SectionDescriptor kCsvSection{"sources.<source>.csv", "How a CSV file is read.", kCsvKeys};

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kString:
      return "string";
    case KeyKind::kInt:
      return "integer";
    case KeyKind::kBool:
      return "boolean";
    case KeyKind::kList:
      return "list";
    case KeyKind::kMap:
      return "map";
    case KeyKind::kStringOrList:
      return "string or list";
    case KeyKind::kStringOrMap:
      return "string or map";
  }
  return "?";
}

const KeyDescriptor* SectionDescriptor::Find(std::string_view key) const {
  for (const KeyDescriptor& descriptor : keys) {
    if (descriptor.key == key) return &descriptor;
  }
  return nullptr;
}

std::span<const SectionDescriptor* const> SpecSections() {
  static constexpr std::array<const SectionDescriptor*, 11> kSections = {
      &kTopLevelSection,    &kWarehouseSection, &kTableSection, &kEngineSection,
      &kColumnSection,      &kIndexSection,     &kViewSection,  &kStreamSection,
      &kStreamFieldSection, &kSourceSection,    &kCsvSection,
  };
  return kSections;
}

std::string SpecReferenceMarkdown() {
  std::string text;
  for (const SectionDescriptor* section : SpecSections()) {
    text += fmt::format("### `{}`\n\n{}\n\n", section->path, section->description);
    text += "| key | kind | required | default | description |\n";
    text += "|---|---|---|---|---|\n";
    for (const KeyDescriptor& key : section->keys) {
      std::string default_text;
      if (!key.default_value.empty()) {
        default_text = fmt::format("`{}`", key.default_value);
      } else if (!key.computed_default.empty()) {
        default_text = key.computed_default;
      }
      text += fmt::format("| `{}` | {} | {} | {} | {} |\n", key.key, KeyKindName(key.kind),
                          key.required ? "yes" : "no", default_text, key.description);
    }
    text += "\n";
  }
  return text;
}

}  // namespace sluice
