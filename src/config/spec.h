#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/data_type.h"

namespace sluice {

/// Where a spec element was written, for error messages: "spec.yaml:12:7".
struct SpecLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string ToString() const;
};

/// A table column: type, default expression, codec chain, column TTL.
struct ColumnSpec {
  enum class DefaultKind { kNone, kDefault, kMaterialized, kAlias };

  std::string name;
  DataType type;
  DefaultKind default_kind = DefaultKind::kNone;
  std::string default_expression;
  std::vector<std::string> codecs;  // in order, e.g. {"DoubleDelta", "ZSTD(3)"}
  std::string ttl;                  // column TTL expression, empty for none
  std::string comment;
  SpecLocation where;
};

/// The table engine: a MergeTree family member, optionally Replicated.
struct EngineSpec {
  /// MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree,
  /// CollapsingMergeTree or VersionedCollapsingMergeTree.
  std::string family = "MergeTree";
  bool replicated = false;
  std::string zookeeper_path = "/clickhouse/tables/{shard}/{database}/{table}";
  std::string replica_name = "{replica}";
  std::string version_column;            // Replacing (optional), VersionedCollapsing (required)
  std::string is_deleted_column;         // Replacing (optional, needs version_column)
  std::string sign_column;               // Collapsing, VersionedCollapsing (required)
  std::vector<std::string> sum_columns;  // Summing (optional)
  SpecLocation where;
};

struct ProjectionSpec {
  std::string name;
  std::string query;  // SELECT ... [GROUP BY ...] [ORDER BY ...], without FROM
  SpecLocation where;
};

/// A data-skipping index: `INDEX name expression TYPE type GRANULARITY n`.
struct IndexSpec {
  std::string name;
  std::string expression;
  std::string type;  // minmax, set(100), bloom_filter(0.01), ngrambf_v1(...), tokenbf_v1(...)
  int granularity = 1;
  SpecLocation where;
};

/// Storage layout of a MergeTree table (shared by tables and materialized views that own
/// their storage).
struct StorageSpec {
  EngineSpec engine;
  std::string partition_by;
  std::vector<std::string> order_by;     // empty means ORDER BY tuple()
  std::vector<std::string> primary_key;  // empty means same as ORDER BY
  std::string sample_by;
  std::vector<std::string> ttl;  // table TTL elements, e.g. "d + INTERVAL 90 DAY DELETE"
  std::vector<std::pair<std::string, std::string>> settings;  // in spec order, values as SQL
};

struct TableSpec {
  std::string name;
  std::vector<ColumnSpec> columns;
  StorageSpec storage;
  std::vector<ProjectionSpec> projections;
  std::vector<IndexSpec> indexes;
  std::string comment;
  /// Inserts carrying the same deduplication token within this many recent blocks are dropped;
  /// this is what makes replays after a crash exactly-once. 0 turns it off.
  uint32_t deduplication_window = 1000;
  SpecLocation where;
};

/// A materialized view: writes its query's result either `TO` an existing table or into its
/// own storage (then `storage` describes it).
struct ViewSpec {
  std::string name;
  std::string to_table;                // set for TO views
  std::optional<StorageSpec> storage;  // set for views with their own engine
  std::string query;
  SpecLocation where;
};

/// One field of an input stream, the table column it fills, and the checks its values must pass
/// (applied by the validate operator after decoding).
struct StreamFieldSpec {
  std::string name;       // column name in the stream's table
  DataType type;          // defaults to the column's type
  std::string path;       // dotted path in a JSON record; defaults to `name`
  bool required = false;  // a missing field is an error instead of the column default
  /// Text used when the value is missing, converted with the column's text rules.
  std::optional<std::string> default_value;
  /// Bounds as written (numbers, or dates/times for date columns), checked at load time.
  std::optional<std::string> min;
  std::optional<std::string> max;
  std::optional<uint32_t> max_length;  // String/FixedString, in UTF-8 code points
  std::string regex;                   // RE2, must match the whole value; empty for none
  std::vector<std::string> allowed;    // empty for any value
  bool trim = false;                   // strip surrounding whitespace before the checks
  bool lowercase = false;              // lower-case before the checks
  SpecLocation where;

  /// The field has a check or cleaning step for the validate operator.
  bool HasRules() const {
    return min || max || max_length || !regex.empty() || !allowed.empty() || trim || lowercase;
  }
};

/// A record-level condition every record of a stream must satisfy.
struct RecordRuleSpec {
  std::string name;
  std::string condition;  // expression text (src/expression), compiled at load time
  std::string message;    // shown with a failure; defaults to the condition
  SpecLocation where;
};

/// How the records of a stream are grouped into inserts into ClickHouse: a batch is delivered
/// when it reaches max_rows or max_bytes, or max_delay after its first record.
struct StreamBatchSpec {
  uint32_t max_rows = 65536;
  uint64_t max_bytes = 16777216;
  std::chrono::milliseconds max_delay{1000};
};

/// Drops repeats of a key value seen within a window of processing time.
struct DeduplicateSpec {
  std::string key;  // a field of the stream
  std::chrono::milliseconds window{600000};
  SpecLocation where;
};

/// A stream of records of one shape, landing in one table; bad records go to its dead-letter
/// table.
struct StreamSpec {
  enum class Coercion { kLenient, kStrict };
  enum class UnknownFields { kIgnore, kKeep };

  std::string name;
  std::string table;                    // defaults to the stream name
  std::string dead_letter_table;        // defaults to "<stream>_dead_letter"
  std::vector<StreamFieldSpec> fields;  // defaults to the table's insertable columns
  Coercion coercion = Coercion::kLenient;
  UnknownFields unknown_fields = UnknownFields::kIgnore;
  /// With kKeep, the String field (always one of `fields`) that receives the unknown keys.
  std::string unknown_fields_column = "_extra";
  StreamBatchSpec batch;
  std::optional<DeduplicateSpec> deduplicate;
  std::vector<RecordRuleSpec> rules;
  /// The field holding each record's event time (Date, DateTime, DateTime64 or integer
  /// milliseconds); empty: none. Rows committed are timed from it (end-to-end latency).
  std::string event_time;
  SpecLocation where;

  /// Some field rule, record rule or deduplication needs the validate operator.
  bool NeedsValidation() const;
};

/// How the value of a queue message becomes a row, and which stream fields receive the message's
/// metadata (shared by the Kafka and NATS sources).
struct MessageFormatSpec {
  /// "json": the value is one JSON object decoded into the stream's fields; "string" (valid
  /// UTF-8) or "bytes": the value is stored as is in `value_field`.
  std::string format = "json";
  std::string value_field;  // a String field of the stream; only for string and bytes
  /// (what, field): metadata of each message stored in a stream field, e.g. {"partition",
  /// "kafka_partition"}. Kafka: key, headers, topic, partition, offset, timestamp; NATS:
  /// subject, headers, sequence, timestamp.
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// An unbounded Kafka source: a consumer group member reading topics into a stream.
struct KafkaSourceSpec {
  std::vector<std::string> brokers;  // host:port bootstrap servers
  std::vector<std::string> topics;
  std::string group_id;
  /// Where a partition starts when neither a checkpoint nor the group's committed offsets name a
  /// position (committed offsets always win, so a partition moving between group members never
  /// rewinds): "committed" / "earliest", "latest" or "timestamp:<epoch ms>".
  std::string start = "committed";
  MessageFormatSpec message;
  std::chrono::milliseconds poll_timeout{100};
  /// Extra librdkafka properties, applied last (e.g. security settings).
  std::vector<std::pair<std::string, std::string>> properties;
  SpecLocation where;
};

/// An unbounded NATS JetStream source: a durable pull consumer on one stream.
struct NatsSourceSpec {
  std::string url = "nats://127.0.0.1:4222";
  std::string stream;          // the JetStream stream
  std::string consumer;        // durable consumer name, created when missing
  std::string filter_subject;  // empty: every subject of the stream
  MessageFormatSpec message;
  std::chrono::milliseconds ack_wait{30000};
  int64_t max_ack_pending = 1000000;
  std::chrono::milliseconds fetch_timeout{100};
  SpecLocation where;
};

/// A PostgreSQL table set replicated by logical decoding (pgoutput): an initial snapshot, then
/// every committed change, into ReplacingMergeTree tables derived from the source tables.
struct PostgresCdcSpec {
  std::string dsn;                  // libpq conninfo or URI
  std::vector<std::string> tables;  // "schema.table" (a bare name is in public)
  std::string slot = "sluice";
  std::string publication = "sluice";
  bool create_publication = true;     // create the publication when missing, else it must exist
  bool snapshot = true;               // copy the tables first ("initial") or not ("never")
  /// Connections copying one table, by primary-key ranges; 0: half the cores, at least one.
  uint32_t snapshot_parallelism = 0;
  /// Rows per insert while copying: larger than the source's streaming batches, because a
  /// snapshot is one long bulk load into one table, where fewer, larger parts pay off.
  uint32_t snapshot_batch_rows = 1'048'576;
  std::string table_prefix;  // ClickHouse table = prefix + source table name
};

/// A database table read by repeated queries on a cursor column (PostgreSQL or MariaDB/MySQL).
struct SqlPollSpec {
  std::string driver = "postgres";  // "postgres" or "mysql"
  std::string dsn;                  // libpq conninfo, or mysql://user:password@host:port/db
  std::string table;                // table name as the database spells it (may be qualified)
  std::string cursor;               // an integer or timestamp column that grows with changes
  std::vector<std::string> key;     // columns identifying a row, for dropping re-read rows
  /// How far below the last cursor value each query starts again, to catch rows committed late
  /// with a smaller cursor: integer units for an integer cursor, seconds for a timestamp one.
  int64_t overlap = 0;
  std::chrono::milliseconds interval{1000};  // pause after a poll that found nothing new
};

/// An input: a bounded file (NDJSON or CSV lines), a Kafka or NATS JetStream consumer,
/// PostgreSQL change data capture, or SQL table polling.
struct SourceSpec {
  std::string name;
  std::string type = "file";  // file, kafka or nats
  std::string stream;
  std::string path;        // resolved against the spec file's folder
  std::string format;      // "ndjson" or "csv"
  bool csv_header = true;  // first CSV line names the columns
  char csv_delimiter = ',';
  uint32_t batch_rows = 65536;
  std::optional<KafkaSourceSpec> kafka;         // set for type kafka
  std::optional<NatsSourceSpec> nats;           // set for type nats
  std::optional<PostgresCdcSpec> postgres_cdc;  // type postgres_cdc
  std::optional<SqlPollSpec> sql_poll;          // type sql_poll
  SpecLocation where;
};

/// Where the tables live.
struct WarehouseSpec {
  std::string mode = "embedded";  // only embedded for now
  std::string path;               // embedded data folder, resolved against the spec's folder
  std::string database = "default";
  SpecLocation where;
};

/// A listening address, "host:port"; port 0 asks the system for any free port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // brackets an IPv6 host: "[::1]:8080"
};

/// Reads "host:port" or "[v6 host]:port" with a port 0..65535.
std::optional<ListenAddress> ParseListenAddress(std::string_view text);

/// The HTTP server `sluice run` starts when the spec has a `server` section.
struct ServerSpec {
  ListenAddress listen{"127.0.0.1", 8080};    // ingest API, /healthz, /readyz, /metrics
  std::optional<ListenAddress> query_listen;  // ClickHouse-compatible queries; unset: off
  uint32_t threads = 16;               // a request holds its thread until its records are fsynced
  uint64_t max_body_bytes = 16777216;  // after decompression
  std::vector<std::string> token_variables;  // environment variables holding bearer tokens
  bool query_read_only = true;
  SpecLocation where;
};

/// The write-ahead log acknowledged records wait in until ClickHouse has them.
struct WalSpec {
  std::string path;  // resolved against the spec's folder
  uint64_t segment_bytes = 67108864;
  uint64_t max_disk_bytes = 1073741824;
  SpecLocation where;
};

/// How an aggregation reads event time: the watermark is the largest event time seen minus
/// `max_out_of_orderness`; a source silent for `idle_timeout` stops holding it back.
struct EventTimeSpec {
  std::string field;
  std::chrono::milliseconds max_out_of_orderness{0};
  std::chrono::milliseconds idle_timeout{60000};
  SpecLocation where;
};

/// The windows of an aggregation.
struct WindowSpec {
  enum class Kind { kTumbling, kHopping, kSession, kGlobal };
  Kind kind = Kind::kTumbling;
  std::chrono::milliseconds size{0};              // tumbling, hopping
  std::chrono::milliseconds slide{0};             // hopping
  std::chrono::milliseconds gap{0};               // session
  uint64_t trigger_count = 0;                     // global: fire every this many records per key
  std::chrono::milliseconds trigger_interval{0};  // global: fire this often per key
  SpecLocation where;
};

/// One aggregate of an aggregation: `count`, `sum(field)`, `quantile(field)` at `level` ...
struct AggregateSpec {
  std::string name;      // output column
  std::string function;  // see AggregateFunctionNames()
  std::string field;     // input field; empty for count
  double level = 0.5;    // quantile
  uint32_t k = 10;       // top_k
  SpecLocation where;
};

/// A field an aggregation computes from each record (`name: expression`, src/expression),
/// before its enrichment, filter and key_by. Expressions read the stream's fields, not each
/// other's results.
struct MapFieldSpec {
  std::string name;
  std::string expression;
  DataType type;  // the expression's result type, settled at load time
  SpecLocation where;
};

/// One column an enrichment adds to the records.
struct EnrichFieldSpec {
  std::string name;    // the field it becomes
  std::string column;  // the dimension table's column; defaults to `name`
  /// The column's type (declared, or the spec table's column); the field is its Nullable form
  /// (a key that is not found gives NULL).
  DataType type;
  SpecLocation where;
};

/// Adds columns from a dimension table, looked up by key, to an aggregation's records
/// (operators/enrich: Flink's AsyncDataStream.orderedWait / unorderedWait at batch granularity).
struct EnrichSpec {
  enum class Backend { kPostgres, kClickHouse };
  enum class Fallback { kNull, kDeadLetter, kFail };

  Backend backend = Backend::kClickHouse;
  std::string dsn;                       // postgres: libpq conninfo or URI
  std::string table;                     // may be qualified: schema.table / database.table
  std::vector<std::string> key;          // fields of the records (after the map)
  std::vector<std::string> key_columns;  // the table's, matched with `key` in order
  std::vector<EnrichFieldSpec> fields;
  uint32_t cache_size = 100000;  // entries per subtask
  std::chrono::milliseconds cache_ttl{300000};
  uint32_t concurrency = 4;  // lookups in flight at once
  uint32_t max_keys_per_lookup = 500;
  std::chrono::milliseconds timeout{1000};
  Fallback fallback = Fallback::kNull;
  bool ordered = true;
  SpecLocation where;
};

/// A keyed windowed aggregation over one stream or the union of several, written to its own
/// ClickHouse table (ReplacingMergeTree: late updates replace earlier results of the same key
/// and window).
struct AggregationSpec {
  enum class StateBackend { kMemory, kRocksDb };

  std::string name;
  std::vector<std::string> from;  // the streams; several are read as one (a union)
  std::vector<MapFieldSpec> map;  // computed fields, in spec order
  std::optional<EnrichSpec> enrich;
  /// The fields of the records the filter, key_by, event_time and aggregates read, resolved at
  /// load time: the fields every stream of `from` has (the first stream's order), then the map's
  /// (one named like a stream field replaces it in place), then the enrichment's.
  std::vector<std::pair<std::string, DataType>> fields;
  std::string filter;  // condition on the records; empty: all
  std::vector<std::string> key_by;
  WindowSpec window;
  std::optional<EventTimeSpec> event_time;  // absent: processing time
  std::chrono::milliseconds allowed_lateness{0};
  std::vector<AggregateSpec> aggregates;
  std::string table;         // defaults to the aggregation's name
  std::string late_table;    // defaults to "<name>_late"
  uint32_t parallelism = 0;  // 0: the machine's cores
  StateBackend state_backend = StateBackend::kMemory;
  /// Several sluice processes share the Kafka topic the aggregation reads, and each
  /// partition's window state moves with it (the first key field is the partition number).
  bool state_follows_partitions = false;
  SpecLocation where;
};

/// Where and how often the streaming jobs checkpoint.
struct CheckpointSpec {
  std::string path;  // resolved against the spec's folder
  std::chrono::milliseconds interval{1000};
  uint32_t retain = 3;
  SpecLocation where;
};

/// How sluice is watched: the ClickHouse probes of `sluice run` and the thresholds of the alert
/// rules `sluice alerts` generates.
struct MonitoringSpec {
  std::chrono::milliseconds probe_interval{15000};
  std::chrono::milliseconds slow_query{1000};   // a query log entry slower than this is slow
  std::string job = "sluice";                   // Prometheus job scraping sluice
  std::chrono::milliseconds alert_for{300000};  // how long a condition holds before firing
  std::chrono::milliseconds latency_p99{1000};
  uint32_t slow_queries = 10;  // per 5 minutes
  uint32_t max_parts_per_partition = 150;
  uint32_t dead_letter_percent = 5;
  std::chrono::milliseconds checkpoint_max_age{600000};
  uint64_t source_lag_records = 100000;
  uint32_t restarts = 3;  // per 15 minutes
  uint32_t wal_full_percent = 80;
  uint64_t batch_bytes_per_hour = 1099511627776;
  SpecLocation where;
};

/// A whole pipeline spec after loading and validation.
struct PipelineSpec {
  std::string name;
  std::string file;      // the spec file as given
  std::string base_dir;  // its folder; relative paths in the spec are resolved against it
  WarehouseSpec warehouse;
  std::optional<ServerSpec> server;  // set when the spec has a `server` section
  WalSpec wal;
  MonitoringSpec monitoring;
  std::vector<TableSpec> tables;  // in spec order
  std::vector<ViewSpec> views;
  std::vector<StreamSpec> streams;
  std::vector<SourceSpec> sources;
  std::vector<AggregationSpec> aggregations;
  CheckpointSpec checkpoint;

  const TableSpec* FindTable(std::string_view name) const;
  const StreamSpec* FindStream(std::string_view name) const;
};

}  // namespace sluice
