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
    {.key = "monitoring",
     .kind = KeyKind::kMap,
     .description = "ClickHouse probes and alert thresholds (see `monitoring`)."},
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
    {.key = "aggregations",
     .kind = KeyKind::kMap,
     .description = "Keyed windowed aggregations over streams by name, each written to its own "
                    "table (see `aggregations.<aggregation>`)."},
    {.key = "checkpoint",
     .kind = KeyKind::kMap,
     .description = "Where and how often aggregations checkpoint their state (see "
                    "`checkpoint`)."},
};

constexpr KeyDescriptor kCheckpointKeys[] = {
    {.key = "path",
     .default_value = "checkpoints",
     .description = "Folder of the checkpoints (one sub-folder per aggregation), relative to "
                    "the spec's folder."},
    {.key = "interval",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "Time between checkpoints, 10ms to 1h. Results reach ClickHouse at "
                    "checkpoints, so this bounds their delay."},
    {.key = "retain",
     .kind = KeyKind::kInt,
     .default_value = "3",
     .description = "Completed checkpoints kept, 1 to 100."},
};

constexpr KeyDescriptor kAggregationKeys[] = {
    {.key = "from",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "The stream whose records are aggregated, or several read as one (a union: "
                    "the fields every one of them has, with the same type; the watermark is the "
                    "smallest of their sources', idle sources excluded)."},
    {.key = "map",
     .kind = KeyKind::kMap,
     .description = "Computed fields, `name: expression` (the language of "
                    "`streams.<stream>.rules[]` with its value functions), evaluated first; "
                    "usable by enrich, filter, key_by, event_time and aggregates. Expressions "
                    "read the stream's fields, not each other's results. A record whose value "
                    "cannot be computed goes to the stream's dead-letter table "
                    "(RECORD_EXPRESSION_FAILED)."},
    {.key = "enrich",
     .kind = KeyKind::kMap,
     .description = "Columns looked up in a PostgreSQL or ClickHouse table by key, after the "
                    "map (see `aggregations.<aggregation>.enrich`)."},
    {.key = "filter",
     .description = "Condition a record must satisfy to be aggregated (the language of "
                    "`streams.<stream>.rules[]`), after the map and the enrichment."},
    {.key = "key_by",
     .kind = KeyKind::kStringOrList,
     .description = "Fields (of the streams, the map or the enrichment) that key the "
                    "aggregation; absent: one key for all records."},
    {.key = "window",
     .kind = KeyKind::kMap,
     .required = true,
     .description = "The windows (see `aggregations.<aggregation>.window`)."},
    {.key = "event_time",
     .kind = KeyKind::kMap,
     .description = "Event time and watermarks (see `aggregations.<aggregation>.event_time`); "
                    "absent: windows follow the wall clock (processing time)."},
    {.key = "allowed_lateness",
     .kind = KeyKind::kDuration,
     .default_value = "0s",
     .description = "How long after a window's end late records still update its result (a "
                    "new version of the row); later ones go to the late table."},
    {.key = "aggregates",
     .kind = KeyKind::kList,
     .required = true,
     .description = "The aggregates computed per key and window (see "
                    "`aggregations.<aggregation>.aggregates[]`)."},
    {.key = "table",
     .computed_default = "the aggregation's name",
     .description = "ClickHouse table of the results: ReplacingMergeTree(_version, "
                    "_is_deleted) ordered by the keys and window_start; sluice creates it."},
    {.key = "late_table",
     .computed_default = "`<aggregation>_late`",
     .description = "Table of the records later than `allowed_lateness`."},
    {.key = "parallelism",
     .kind = KeyKind::kInt,
     .default_value = "0",
     .description = "Subtasks the keys are spread over, 0 to 128; 0 uses every core."},
    {.key = "state_backend",
     .default_value = "memory",
     .description = "`memory` (hash maps) or `rocksdb` (state larger than memory, on disk "
                    "next to the checkpoints)."},
    {.key = "state_follows_partitions",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .description = "Several sluice processes share the Kafka topic (one source, one topic, "
                    "at most 128 partitions) and each partition's window state moves with it "
                    "between them. The first `key_by` field must be the source's "
                    "`kafka.metadata.partition` field; the topic must be partitioned by the "
                    "rest of the key. HTTP input is not aggregated then (see docs/streaming.md)."},
};

constexpr KeyDescriptor kEnrichKeys[] = {
    {.key = "backend",
     .default_value = "clickhouse",
     .description = "`clickhouse`: a table of the warehouse (through the running engine); "
                    "`postgres`: a PostgreSQL table over libpq (needs `dsn`)."},
    {.key = "dsn",
     .description = "postgres: libpq connection string or URI; a password comes best from "
                    "PGPASSWORD or ~/.pgpass."},
    {.key = "table",
     .required = true,
     .description = "The dimension table, as the database names it (`schema.table` allowed)."},
    {.key = "key",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Fields of the records (after the map: a computed key is a map field) "
                    "looked up; a NULL key finds nothing."},
    {.key = "lookup_key",
     .kind = KeyKind::kStringOrList,
     .computed_default = "the names in `key`",
     .description = "The table's key columns, matched with `key` in order."},
    {.key = "fields",
     .kind = KeyKind::kList,
     .required = true,
     .description = "The columns added (see `aggregations.<aggregation>.enrich.fields[]`); "
                    "NULL when the key is not in the table."},
    {.key = "cache_size",
     .kind = KeyKind::kInt,
     .default_value = "100000",
     .description = "Keys kept per subtask (least recently used go first), 1 to 100000000; "
                    "keys not found are cached too."},
    {.key = "cache_ttl",
     .kind = KeyKind::kDuration,
     .default_value = "5m",
     .description = "How long a cached answer is used before it is looked up again, 0s to 30d."},
    {.key = "concurrency",
     .kind = KeyKind::kInt,
     .default_value = "4",
     .description = "Lookups in flight at once per source, 1 to 256."},
    {.key = "max_keys_per_lookup",
     .kind = KeyKind::kInt,
     .default_value = "500",
     .description = "Distinct keys asked in one query, 1 to 100000."},
    {.key = "timeout",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "Longest wait for one lookup, 1ms to 10m (the server is told to stop too)."},
    {.key = "fallback",
     .default_value = "nulls",
     .description = "After a timeout or failed lookup: `nulls` (the added fields are NULL, "
                    "nothing cached), `dead_letter` (the records go to the stream's "
                    "dead-letter table with RECORD_LOOKUP_FAILED) or `fail` (the aggregation "
                    "stops with LOOKUP_TIMEOUT / LOOKUP_FAILED)."},
    {.key = "ordered",
     .kind = KeyKind::kBool,
     .default_value = "true",
     .description = "Keep the records' order; false lets records answered by the cache go "
                    "first (Flink's unorderedWait). Either way a batch's lookups end before "
                    "the next checkpoint barrier."},
};

constexpr KeyDescriptor kEnrichFieldKeys[] = {
    {.key = "name", .required = true, .description = "The field added; an identifier."},
    {.key = "column", .computed_default = "`name`", .description = "The dimension table's column."},
    {.key = "type",
     .computed_default = "the column's type for a table of the spec",
     .description = "ClickHouse type of the column (the field is its Nullable form); required "
                    "unless `table` is one of the spec's tables."},
};

constexpr KeyDescriptor kWindowKeys[] = {
    {.key = "type",
     .required = true,
     .description = "`tumbling` (size), `hopping` (size, slide), `session` (gap) or `global` "
                    "(trigger_count and/or trigger_interval)."},
    {.key = "size", .kind = KeyKind::kDuration, .description = "Window length."},
    {.key = "slide",
     .kind = KeyKind::kDuration,
     .description = "Distance between the starts of hopping windows."},
    {.key = "gap",
     .kind = KeyKind::kDuration,
     .description = "A session ends after this long without records of its key."},
    {.key = "trigger_count",
     .kind = KeyKind::kInt,
     .description = "Global windows: emit the key's result every this many records."},
    {.key = "trigger_interval",
     .kind = KeyKind::kDuration,
     .description = "Global windows: emit every key's result this often."},
};

constexpr KeyDescriptor kEventTimeKeys[] = {
    {.key = "field",
     .required = true,
     .description = "Field holding the event time (Date, DateTime, DateTime64, or integer "
                    "milliseconds)."},
    {.key = "max_out_of_orderness",
     .kind = KeyKind::kDuration,
     .default_value = "0s",
     .description = "How far behind the newest event time records may arrive and still be on "
                    "time."},
    {.key = "idle_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "1m",
     .description = "A source without records this long stops holding back the watermark."},
};

constexpr KeyDescriptor kAggregateKeys[] = {
    {.key = "name", .required = true, .description = "Output column; an identifier."},
    {.key = "function",
     .required = true,
     .description = "count, sum, min, max, avg, first, last, uniq, count_distinct, quantile, "
                    "top_k."},
    {.key = "field", .description = "Input field; not for count."},
    {.key = "level",
     .default_value = "0.5",
     .description = "quantile: the level, between 0 and 1 (e.g. 0.95)."},
    {.key = "k", .kind = KeyKind::kInt, .default_value = "10", .description = "top_k: how many."},
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

constexpr KeyDescriptor kMonitoringKeys[] = {
    {.key = "probe_interval",
     .kind = KeyKind::kDuration,
     .default_value = "15s",
     .description = "How often `sluice run` queries ClickHouse's system tables for the "
                    "`sluice_clickhouse_*` metrics, 1s to 1h."},
    {.key = "slow_query",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "A query running longer is counted in `sluice_clickhouse_slow_queries_total`, "
                    "1ms to 1h."},
    {.key = "job",
     .default_value = "sluice",
     .description = "The Prometheus job that scrapes sluice (`SluiceDown` watches its `up`)."},
    {.key = "alert_for",
     .kind = KeyKind::kDuration,
     .default_value = "5m",
     .description = "How long a condition must hold before an alert fires (`for:`), 0s to 1d."},
    {.key = "latency_p99",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .description = "`SluiceHighLatency`: p99 end-to-end latency above this, 1ms to 1h."},
    {.key = "slow_queries",
     .kind = KeyKind::kInt,
     .default_value = "10",
     .description = "`ClickHouseSlowQueries`: more slow queries than this in 5 minutes, 0 to "
                    "1000000."},
    {.key = "max_parts_per_partition",
     .kind = KeyKind::kInt,
     .default_value = "150",
     .description = "`ClickHouseTooManyParts`: a partition with more active parts, 1 to 100000 "
                    "(ClickHouse refuses inserts at 300 by default)."},
    {.key = "dead_letter_percent",
     .kind = KeyKind::kInt,
     .default_value = "5",
     .description = "`SluiceDeadLetterRateHigh`: a stream sending more than this percent of its "
                    "input to the dead-letter table over 5 minutes, 0 to 100."},
    {.key = "checkpoint_max_age",
     .kind = KeyKind::kDuration,
     .default_value = "10m",
     .description = "`SluiceCheckpointTooOld`: no completed checkpoint for this long, 1s to 30d."},
    {.key = "source_lag_records",
     .kind = KeyKind::kInt,
     .default_value = "100000",
     .description = "`SluiceSourceLagGrowing`: a partition more than this many records behind "
                    "and still falling back, 0 to 2^53."},
    {.key = "restarts",
     .kind = KeyKind::kInt,
     .default_value = "3",
     .description = "`SluiceRestarting`: more restarts than this in 15 minutes, 0 to 1000."},
    {.key = "wal_full_percent",
     .kind = KeyKind::kInt,
     .default_value = "80",
     .description = "`SluiceWalNearlyFull`: the write-ahead log above this percent of "
                    "`wal.max_disk_bytes`, 1 to 100."},
    {.key = "batch_bytes_per_hour",
     .kind = KeyKind::kInt,
     .default_value = "1099511627776",
     .description = "`SluiceBatchCostHigh`: queries reading more bytes than this in an hour, 1 to "
                    "2^60."},
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
    {.key = "event_time",
     .description = "Field holding each record's event time (a Date, DateTime, DateTime64 or "
                    "integer-milliseconds field): every row committed into the table is timed "
                    "from it in `sluice_end_to_end_latency_seconds{from=\"event_time\"}`; "
                    "absent: not observed."},
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
     .description = "`file` reads a file once; `kafka` consumes Kafka topics (see "
                    "`sources.<source>.kafka`); `nats` consumes a NATS JetStream stream (see "
                    "`sources.<source>.nats`); `postgres_cdc` replicates PostgreSQL tables "
                    "(snapshot, then changes); `sql_poll` reads a database table by a cursor "
                    "column, again and again."},
    {.key = "stream",
     .description = "The stream the records go to; required except for `postgres_cdc`, which "
                    "derives its tables from the source tables."},
    {.key = "path",
     .description = "`file`: the file, relative to the spec's folder; it must exist. Required "
                    "for `file`, only for `file`."},
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
    {.key = "kafka",
     .kind = KeyKind::kMap,
     .description = "Kafka options (see `sources.<source>.kafka`); required for kafka, only for "
                    "kafka."},
    {.key = "nats",
     .kind = KeyKind::kMap,
     .description = "NATS JetStream options (see `sources.<source>.nats`); required for nats, "
                    "only for nats."},
    {.key = "postgres_cdc",
     .kind = KeyKind::kMap,
     .description = "PostgreSQL change data capture (see `sources.<source>.postgres_cdc`); "
                    "required for that type."},
    {.key = "sql_poll",
     .kind = KeyKind::kMap,
     .description = "Table polling (see `sources.<source>.sql_poll`); required for that type."},
};

constexpr KeyDescriptor kKafkaKeys[] = {
    {.key = "brokers",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Bootstrap servers, `host:port` each."},
    {.key = "topics",
     .kind = KeyKind::kStringOrList,
     .required = true,
     .description = "Topics to consume."},
    {.key = "group_id",
     .required = true,
     .description = "Consumer group; sluice instances with the same group share the partitions."},
    {.key = "start",
     .default_value = "committed",
     .description = "Where a partition starts when neither a checkpoint nor the group's "
                    "committed offsets name a position: `committed` and `earliest` at its first "
                    "message, `latest` after its last, `timestamp:<epoch ms>` at the first "
                    "message at or after that time."},
    {.key = "format",
     .default_value = "json",
     .description = "Message values are `json` objects decoded into the stream's fields, or "
                    "`string` (UTF-8) or `bytes` stored in `value_field`."},
    {.key = "value_field",
     .description = "The String field receiving the whole value; required for string and bytes, "
                    "only for them."},
    {.key = "metadata",
     .kind = KeyKind::kMap,
     .description = "Stream fields receiving message metadata (see "
                    "`sources.<source>.kafka.metadata`)."},
    {.key = "poll_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "100ms",
     .description = "Longest wait for a message in one poll, 1ms to 10s."},
    {.key = "properties",
     .kind = KeyKind::kMap,
     .description = "Extra librdkafka properties (name: value), applied last; sluice's own "
                    "`enable.auto.commit` and `group.id` cannot be overridden."},
};

constexpr KeyDescriptor kKafkaMetadataKeys[] = {
    {.key = "key", .description = "Field for the message key (String, or a type its text fits)."},
    {.key = "headers",
     .description = "Field for the headers: Map(String, String), or String for a JSON object."},
    {.key = "topic", .description = "Field for the topic name."},
    {.key = "partition", .description = "Field for the partition number."},
    {.key = "offset", .description = "Field for the offset."},
    {.key = "timestamp",
     .description = "Field for the message time stamp (a DateTime64, DateTime or integer of "
                    "epoch milliseconds)."},
};

constexpr KeyDescriptor kNatsKeys[] = {
    {.key = "url",
     .default_value = "nats://127.0.0.1:4222",
     .description = "NATS server URL; several separated by commas."},
    {.key = "stream", .required = true, .description = "The JetStream stream to consume."},
    {.key = "consumer",
     .required = true,
     .description = "Durable pull consumer name; created with explicit acks when missing. "
                    "sluice instances with the same consumer share the messages."},
    {.key = "filter_subject",
     .description = "Only messages of this subject (wildcards allowed); absent: all of the "
                    "stream's."},
    {.key = "format",
     .default_value = "json",
     .description = "Message data is a `json` object decoded into the stream's fields, or "
                    "`string` (UTF-8) or `bytes` stored in `value_field`."},
    {.key = "value_field",
     .description = "The String field receiving the whole data; required for string and bytes, "
                    "only for them."},
    {.key = "metadata",
     .kind = KeyKind::kMap,
     .description = "Stream fields receiving message metadata (see "
                    "`sources.<source>.nats.metadata`)."},
    {.key = "ack_wait",
     .kind = KeyKind::kDuration,
     .default_value = "30s",
     .description = "How long the server waits for an ack before redelivering, when the "
                    "consumer is created; 1s to 1d. Acks are sent after each checkpoint, so keep "
                    "it well above the checkpoint interval."},
    {.key = "max_ack_pending",
     .kind = KeyKind::kInt,
     .default_value = "1000000",
     .description = "Messages handed out but not yet acked, when the consumer is created; 1 to "
                    "100000000. Must cover the messages of one checkpoint interval."},
    {.key = "fetch_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "100ms",
     .description = "Longest wait for messages in one poll, 1ms to 10s."},
};

constexpr KeyDescriptor kNatsMetadataKeys[] = {
    {.key = "subject", .description = "Field for the message subject."},
    {.key = "headers",
     .description = "Field for the headers: Map(String, String), or String for a JSON object."},
    {.key = "sequence", .description = "Field for the stream sequence number."},
    {.key = "timestamp",
     .description = "Field for the time the stream stored the message (a DateTime64, DateTime or "
                    "integer of epoch milliseconds)."},
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
     .default_value = "0",
     .description = "Connections copying one table, by ranges of a single integer primary "
                    "key, 0 to 64; 0 uses half the cores (at least one): each connection's rows "
                    "are decoded on a core of their own, and the inserts need the others."},
    {.key = "snapshot_batch_rows",
     .kind = KeyKind::kInt,
     .default_value = "1048576",
     .description = "Rows per insert while copying the tables, 1 to 10000000; a batch is also "
                    "inserted once it holds 256 MiB."},
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
const SectionDescriptor kKafkaSection{"sources.<source>.kafka", "How a Kafka source consumes.",
                                      kKafkaKeys};
const SectionDescriptor kKafkaMetadataSection{"sources.<source>.kafka.metadata",
                                              "Kafka message metadata stored in stream fields.",
                                              kKafkaMetadataKeys};
const SectionDescriptor kNatsSection{"sources.<source>.nats",
                                     "How a NATS JetStream source consumes.", kNatsKeys};
const SectionDescriptor kNatsMetadataSection{"sources.<source>.nats.metadata",
                                             "NATS message metadata stored in stream fields.",
                                             kNatsMetadataKeys};
const SectionDescriptor kPostgresCdcSection{"sources.<source>.postgres_cdc",
                                            "PostgreSQL tables replicated by logical decoding.",
                                            kPostgresCdcKeys};
const SectionDescriptor kSqlPollSection{"sources.<source>.sql_poll",
                                        "A database table read by a cursor column.", kSqlPollKeys};
const SectionDescriptor kServerSection{"server", "The HTTP server of `sluice run`.", kServerKeys};
const SectionDescriptor kServerAuthSection{"server.auth", "Who may send data.", kServerAuthKeys};
const SectionDescriptor kWalSection{"wal", "The write-ahead log.", kWalKeys};
const SectionDescriptor kMonitoringSection{
    "monitoring", "ClickHouse probes and the thresholds of the generated alert rules.",
    kMonitoringKeys};
const SectionDescriptor kStreamBatchSection{"streams.<stream>.batch",
                                            "Delivery batching into ClickHouse.", kStreamBatchKeys};
const SectionDescriptor kDeduplicateSection{"streams.<stream>.deduplicate",
                                            "Dropping repeated records.", kDeduplicateKeys};
const SectionDescriptor kRecordRuleSection{"streams.<stream>.rules[]",
                                           "A condition on whole records.", kRecordRuleKeys};
const SectionDescriptor kAggregationSection{"aggregations.<aggregation>",
                                            "A keyed windowed aggregation of one stream or a "
                                            "union of streams.",
                                            kAggregationKeys};
const SectionDescriptor kEnrichSection{"aggregations.<aggregation>.enrich",
                                       "A lookup adding dimension columns to the records.",
                                       kEnrichKeys};
const SectionDescriptor kEnrichFieldSection{"aggregations.<aggregation>.enrich.fields[]",
                                            "One column an enrichment adds.", kEnrichFieldKeys};
const SectionDescriptor kWindowSection{"aggregations.<aggregation>.window",
                                       "The windows of an aggregation.", kWindowKeys};
const SectionDescriptor kEventTimeSection{"aggregations.<aggregation>.event_time",
                                          "Event time and watermarks.", kEventTimeKeys};
const SectionDescriptor kAggregateSection{"aggregations.<aggregation>.aggregates[]",
                                          "One aggregate per key and window.", kAggregateKeys};
const SectionDescriptor kCheckpointSection{"checkpoint", "Checkpoints of the aggregations.",
                                           kCheckpointKeys};

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
  static constexpr std::array<const SectionDescriptor*, 31> kSections = {
      &kTopLevelSection,    &kWarehouseSection,    &kServerSection,      &kServerAuthSection,
      &kWalSection,         &kMonitoringSection,   &kTableSection,       &kEngineSection,
      &kColumnSection,      &kIndexSection,        &kViewSection,        &kStreamSection,
      &kStreamFieldSection, &kStreamBatchSection,  &kDeduplicateSection, &kRecordRuleSection,
      &kSourceSection,      &kCsvSection,          &kKafkaSection,       &kKafkaMetadataSection,
      &kNatsSection,        &kNatsMetadataSection, &kPostgresCdcSection, &kSqlPollSection,
      &kAggregationSection, &kEnrichSection,       &kEnrichFieldSection, &kWindowSection,
      &kEventTimeSection,   &kAggregateSection,    &kCheckpointSection,
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
