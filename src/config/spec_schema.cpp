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
    {.key = "server",
     .kind = KeyKind::kMap,
     .description = "HTTP ingest and query server (see `server`); when present, `sluice run` "
                    "serves until stopped."},
    {.key = "wal",
     .kind = KeyKind::kMap,
     .description = "Write-ahead log of accepted records (see `wal`)."},
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

constexpr KeyDescriptor kServerKeys[] = {
    {.key = "listen",
     .default_value = "127.0.0.1:8080",
     .description = "`host:port` of the ingest API, /healthz, /readyz and /metrics; port 0 takes "
                    "any free port."},
    {.key = "query_listen",
     .description = "`host:port` of the ClickHouse-compatible query endpoint; absent: no query "
                    "endpoint."},
    {.key = "threads",
     .kind = KeyKind::kInt,
     .default_value = "16",
     .description = "Threads serving requests, 1 to 64. A request holds its thread until its "
                    "records are fsynced, so more threads than cores keep the disk busy."},
    {.key = "max_body_bytes",
     .kind = KeyKind::kInt,
     .default_value = "16777216",
     .description = "Largest request body after decompression, 1 to 4294967296; larger is "
                    "answered 413."},
    {.key = "auth",
     .kind = KeyKind::kMap,
     .description = "Bearer-token authentication (see `server.auth`); absent: no authentication."},
    {.key = "query_read_only",
     .kind = KeyKind::kBool,
     .default_value = "true",
     .description = "The query endpoint runs only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and "
                    "EXISTS."},
};

constexpr KeyDescriptor kServerAuthKeys[] = {
    {.key = "tokens_env",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Names of environment variables, each holding one accepted bearer token; "
                    "read when the server starts, never written into the spec."},
};

constexpr KeyDescriptor kWalKeys[] = {
    {.key = "path",
     .default_value = "wal",
     .description = "Folder of the log, relative to the spec's folder."},
    {.key = "segment_bytes",
     .kind = KeyKind::kInt,
     .default_value = "67108864",
     .description = "Size at which a log segment is closed and a new one begun, 4096 to "
                    "4294967296."},
    {.key = "max_disk_bytes",
     .kind = KeyKind::kInt,
     .default_value = "1073741824",
     .description = "Disk the log may use; when full, ingestion answers 429 until ClickHouse has "
                    "caught up. At least `segment_bytes`."},
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
    {.key = "coercion",
     .default_value = "lenient",
     .description =
         "`lenient` converts between kinds (\"42\" into a number, 1 into Bool, an "
         "epoch into a date); `strict` rejects a value not already of its column's kind."},
    {.key = "unknown_fields",
     .default_value = "ignore",
     .description = "`ignore` drops keys no field reads; `keep` stores the unknown top-level keys "
                    "as one JSON object in `unknown_fields_column`."},
    {.key = "unknown_fields_column",
     .default_value = "_extra",
     .description = "String column of the table receiving the unknown keys; only with "
                    "`unknown_fields: keep`."},
    {.key = "batch",
     .kind = KeyKind::kMap,
     .description = "How records are grouped into inserts (see `streams.<stream>.batch`)."},
    {.key = "deduplicate",
     .kind = KeyKind::kMap,
     .description = "Drop repeats of a key (see `streams.<stream>.deduplicate`); absent: off."},
    {.key = "rules",
     .kind = KeyKind::kList,
     .description = "Record-level conditions every record must satisfy (see "
                    "`streams.<stream>.rules[]`)."},
};

constexpr KeyDescriptor kStreamBatchKeys[] = {
    {.key = "max_rows",
     .kind = KeyKind::kInt,
     .default_value = "65536",
     .description = "Rows at which a batch is delivered, 1 to 10000000."},
    {.key = "max_bytes",
     .kind = KeyKind::kInt,
     .default_value = "16777216",
     .description = "Bytes at which a batch is delivered, 1 to 4294967296."},
    {.key = "max_delay",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "Longest a record waits for its batch to fill, 0s to 1h."},
};

constexpr KeyDescriptor kDeduplicateKeys[] = {
    {.key = "key",
     .required = true,
     .description = "Field whose value identifies a record; a null key is never a duplicate."},
    {.key = "window",
     .kind = KeyKind::kDuration,
     .default_value = "10m",
     .description = "A key seen again within this time (processing time, from its first "
                    "acceptance) is a duplicate and goes to the dead-letter table; 1ms to 30d."},
};

constexpr KeyDescriptor kRecordRuleKeys[] = {
    {.key = "name",
     .required = true,
     .description = "Rule name, unique in the stream; an identifier."},
    {.key = "condition",
     .required = true,
     .description = "Expression over the stream's fields that must be true, e.g. "
                    "`event_type != 'purchase' OR amount > 0` (see Record rules)."},
    {.key = "message",
     .computed_default = "the condition",
     .description = "Text written with a failing record."},
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
    {.key = "default",
     .description = "Value used when the field is missing, read like a CSV field of the field's "
                    "type; not with `required`."},
    {.key = "min",
     .description = "Smallest accepted value: a number, or a date/time for date columns."},
    {.key = "max",
     .description = "Largest accepted value: a number, or a date/time for date columns."},
    {.key = "max_length",
     .kind = KeyKind::kInt,
     .description = "Most UTF-8 characters (code points) of a String or FixedString value."},
    {.key = "regex", .description = "RE2 pattern the whole text value must match."},
    {.key = "allowed",
     .kind = KeyKind::kList,
     .description = "The only values accepted, each read as the field's type."},
    {.key = "trim",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .description = "Strip surrounding whitespace from a text value before the checks; the "
                    "stored value is trimmed."},
    {.key = "lowercase",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .description = "Lower-case a text value (Unicode) before the checks; the stored value is "
                    "lower-cased."},
};

constexpr KeyDescriptor kSourceKeys[] = {
    {.key = "type",
     .default_value = "file",
     .description = "`file` reads a file once; `postgres_cdc` replicates PostgreSQL tables "
                    "(snapshot, then changes); `sql_poll` reads a database table by a cursor "
                    "column, again and again."},
    {.key = "stream",
     .description = "The stream the records go to; required for `file` and `sql_poll` "
                    "(`postgres_cdc` derives its tables from the source tables)."},
    {.key = "path",
     .description = "`file`: the file, relative to the spec's folder; it must exist. Required "
                    "for `file`."},
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
    {.key = "postgres_cdc",
     .kind = KeyKind::kMap,
     .description = "PostgreSQL change data capture (see `sources.<source>.postgres_cdc`); "
                    "required for that type."},
    {.key = "sql_poll",
     .kind = KeyKind::kMap,
     .description = "Table polling (see `sources.<source>.sql_poll`); required for that type."},
};

constexpr KeyDescriptor kPostgresCdcKeys[] = {
    {.key = "dsn",
     .required = true,
     .description = "libpq connection string or URI (`host=... port=... dbname=... user=...`); "
                    "a password comes best from PGPASSWORD or ~/.pgpass. The user needs the "
                    "REPLICATION attribute and SELECT on the tables."},
    {.key = "tables",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Tables to replicate, `schema.table` (a bare name is in `public`); each "
                    "needs a primary key. Each lands in a ClickHouse table of its name."},
    {.key = "slot",
     .default_value = "sluice",
     .description = "Logical replication slot (pgoutput), created when missing."},
    {.key = "publication",
     .default_value = "sluice",
     .description = "Publication naming the tables."},
    {.key = "create_publication",
     .kind = KeyKind::kBool,
     .default_value = "true",
     .description = "Create the publication FOR TABLE the tables when it is missing; false: "
                    "it must exist."},
    {.key = "snapshot",
     .default_value = "initial",
     .description = "`initial` copies the tables before streaming changes; `never` streams "
                    "only changes from the slot's creation on."},
    {.key = "snapshot_parallelism",
     .kind = KeyKind::kInt,
     .default_value = "2",
     .description = "Connections copying one table, by ranges of a single integer primary "
                    "key, 1 to 64."},
    {.key = "table_prefix",
     .default_value = "",
     .description = "Prefix of the ClickHouse table names."},
};

constexpr KeyDescriptor kSqlPollKeys[] = {
    {.key = "driver",
     .default_value = "postgres",
     .description = "`postgres` (libpq) or `mysql` (MariaDB and MySQL)."},
    {.key = "dsn",
     .required = true,
     .description = "postgres: a libpq connection string or URI; mysql: "
                    "`mysql://user:password@host:port/database`."},
    {.key = "table",
     .required = true,
     .description = "The table (or view) to read, as the database names it (`schema.table` "
                    "allowed)."},
    {.key = "cursor",
     .required = true,
     .description = "An integer or timestamp column that grows with every insert and update."},
    {.key = "key",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Columns identifying a row: with the cursor value they tell re-read rows "
                    "apart from changed ones."},
    {.key = "overlap",
     .kind = KeyKind::kInt,
     .default_value = "0",
     .description = "How far below the last cursor value each query starts again, to catch "
                    "rows committed late: units of an integer cursor, seconds of a timestamp "
                    "one; 0 to 1000000000."},
    {.key = "interval",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "Pause after a query that found nothing new, 10ms to 1d."},
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
const SectionDescriptor kPostgresCdcSection{"sources.<source>.postgres_cdc",
                                            "PostgreSQL tables replicated by logical decoding.",
                                            kPostgresCdcKeys};
const SectionDescriptor kSqlPollSection{"sources.<source>.sql_poll",
                                        "A database table read by a cursor column.", kSqlPollKeys};
const SectionDescriptor kServerSection{"server", "The HTTP server of `sluice run`.", kServerKeys};
const SectionDescriptor kServerAuthSection{"server.auth", "Who may send data.", kServerAuthKeys};
const SectionDescriptor kWalSection{"wal", "The write-ahead log.", kWalKeys};
const SectionDescriptor kStreamBatchSection{"streams.<stream>.batch",
                                            "Delivery batching into ClickHouse.", kStreamBatchKeys};
const SectionDescriptor kDeduplicateSection{"streams.<stream>.deduplicate",
                                            "Dropping repeated records.", kDeduplicateKeys};
const SectionDescriptor kRecordRuleSection{"streams.<stream>.rules[]",
                                           "A condition on whole records.", kRecordRuleKeys};

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
    case KeyKind::kDuration:
      return "duration";
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
  static constexpr std::array<const SectionDescriptor*, 19> kSections = {
      &kTopLevelSection,    &kWarehouseSection,   &kServerSection,     &kServerAuthSection,
      &kWalSection,         &kTableSection,       &kEngineSection,     &kColumnSection,
      &kIndexSection,       &kViewSection,        &kStreamSection,     &kStreamFieldSection,
      &kStreamBatchSection, &kDeduplicateSection, &kRecordRuleSection, &kSourceSection,
      &kCsvSection,         &kPostgresCdcSection, &kSqlPollSection,
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
