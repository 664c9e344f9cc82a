#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

/// What a metric is: name, type, label names, histogram buckets and help text. The declared
/// ones come from SLUICE_METRICS below; a descriptor must outlive every registry that uses it.
struct MetricDescriptor {
  std::string_view name;
  MetricType type = MetricType::kCounter;
  std::span<const std::string_view> labels;
  std::span<const double> buckets;  // histogram upper bounds, ascending; empty otherwise
  std::string_view help;
};

inline constexpr std::string_view kComponentLabels[] = {"component_kind", "component_type",
                                                        "component_id"};
inline constexpr std::string_view kComponentErrorLabels[] = {
    "component_kind", "component_type", "component_id", "error_code", "error_name", "stage"};

inline constexpr std::string_view kHttpRequestLabels[] = {"listener", "route", "status"};
inline constexpr std::string_view kHttpRouteLabels[] = {"listener", "route"};
inline constexpr double kHttpDurationBuckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};

inline constexpr std::string_view kPipelineLabels[] = {"pipeline"};
inline constexpr std::string_view kOperatorLabels[] = {"pipeline", "operator", "subtask"};
inline constexpr std::string_view kSourceLabels[] = {"pipeline", "source"};
inline constexpr std::string_view kCheckpointResultLabels[] = {"pipeline", "result"};
inline constexpr std::string_view kLatencyLabels[] = {"pipeline", "table", "from"};
inline constexpr double kCheckpointDurationBuckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                        2.5,  5,    10,  30,   60};
inline constexpr double kLatencyBuckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300};
inline constexpr std::string_view kDeadLetterLabels[] = {"stream", "error_code", "error_name"};
inline constexpr std::string_view kSourcePartitionLabels[] = {"pipeline", "source", "partition"};
inline constexpr std::string_view kSourceTableLabels[] = {"pipeline", "source", "table"};
inline constexpr std::string_view kTableLabels[] = {"table"};
inline constexpr std::string_view kClickHouseMetricLabels[] = {"metric"};
inline constexpr std::string_view kProbeLabels[] = {"probe"};
inline constexpr std::string_view kQueryKindLabels[] = {"query_kind"};

/// The one list of sluice metrics: X(id, type, name, labels, buckets, help). docs/metrics.md
/// documents each (a unit test checks it). Counter names end in _total, as Prometheus expects.
/// The component_* metrics are the standard set every source, operator and sink emits through
/// ComponentMetrics.
#define SLUICE_METRICS(X)                                                                          \
  X(kComponentReceivedRecords, kCounter, "sluice_component_received_records_total",                \
    kComponentLabels, {}, "Records a component received from upstream or from outside.")           \
  X(kComponentReceivedBytes, kCounter, "sluice_component_received_bytes_total", kComponentLabels,  \
    {}, "Bytes of the records a component received, as they arrived.")                             \
  X(kComponentSentRecords, kCounter, "sluice_component_sent_records_total", kComponentLabels, {},  \
    "Records a component sent downstream or, for a sink, wrote.")                                  \
  X(kComponentSentBytes, kCounter, "sluice_component_sent_bytes_total", kComponentLabels, {},      \
    "Bytes of the records a component sent or wrote.")                                             \
  X(kComponentErrors, kCounter, "sluice_component_errors_total", kComponentErrorLabels, {},        \
    "Errors a component met, by error code and stage (receiving, processing, sending).")           \
  X(kComponentDeadLetterRecords, kCounter, "sluice_component_dead_letter_records_total",           \
    kComponentLabels, {}, "Records a component sent to the dead-letter table.")                    \
  X(kHttpRequests, kCounter, "sluice_http_requests_total", kHttpRequestLabels, {},                 \
    "HTTP requests answered, by listener, route and status code.")                                 \
  X(kHttpRequestDuration, kHistogram, "sluice_http_request_duration_seconds", kHttpRouteLabels,    \
    kHttpDurationBuckets, "Time from a request's headers to its response written, in seconds.")    \
  X(kOperatorRecordsIn, kCounter, "sluice_operator_records_in_total", kOperatorLabels, {},         \
    "Records an operator subtask received (Flink's numRecordsIn; rate() gives "                    \
    "numRecordsInPerSecond).")                                                                     \
  X(kOperatorRecordsOut, kCounter, "sluice_operator_records_out_total", kOperatorLabels, {},       \
    "Records an operator subtask emitted on any port (Flink's numRecordsOut).")                    \
  X(kOperatorBytesIn, kCounter, "sluice_operator_bytes_in_total", kOperatorLabels, {},             \
    "Bytes of the columnar batches an operator subtask received (Flink's numBytesIn).")            \
  X(kOperatorBytesOut, kCounter, "sluice_operator_bytes_out_total", kOperatorLabels, {},           \
    "Bytes of the columnar batches an operator subtask emitted on any port (numBytesOut).")        \
  X(kOperatorBackpressure, kCounter, "sluice_operator_backpressure_seconds_total",                 \
    kOperatorLabels, {},                                                                           \
    "Time an operator subtask's upstream waited because its input queue was full.")                \
  X(kOperatorQueueFill, kGauge, "sluice_operator_queue_fill_ratio", kOperatorLabels, {},           \
    "Fill of an operator subtask's input queue, 0 to 1.")                                          \
  X(kOperatorStateBytes, kGauge, "sluice_operator_state_bytes", kOperatorLabels, {},               \
    "Bytes of keyed state an operator subtask holds (memory or RocksDB).")                         \
  X(kOperatorStateEntries, kGauge, "sluice_operator_state_entries", kOperatorLabels, {},           \
    "Entries (key and window pairs) of keyed state an operator subtask holds.")                    \
  X(kLateRecords, kCounter, "sluice_late_records_total", kOperatorLabels, {},                      \
    "Records later than a window's allowed lateness, written to the late-data table.")             \
  X(kWatermarkLag, kGauge, "sluice_watermark_lag_seconds", kSourceLabels, {},                      \
    "Wall clock minus a source's current watermark, in seconds.")                                  \
  X(kCheckpointDuration, kHistogram, "sluice_checkpoint_duration_seconds", kPipelineLabels,        \
    kCheckpointDurationBuckets, "Time from injecting a checkpoint's barriers to its completion.")  \
  X(kCheckpointAlignment, kGauge, "sluice_checkpoint_alignment_seconds", kPipelineLabels, {},      \
    "Longest barrier alignment of the last completed checkpoint, in seconds.")                     \
  X(kCheckpointSize, kGauge, "sluice_checkpoint_size_bytes", kPipelineLabels, {},                  \
    "Bytes written by the last completed checkpoint.")                                             \
  X(kCheckpoints, kCounter, "sluice_checkpoints_total", kCheckpointResultLabels, {},               \
    "Checkpoints finished, by result (completed, failed).")                                        \
  X(kLastCheckpoint, kGauge, "sluice_last_checkpoint_timestamp_seconds", kPipelineLabels, {},      \
    "Wall-clock time of the last completed checkpoint, in seconds since the epoch.")               \
  X(kPipelineRestarts, kCounter, "sluice_pipeline_restarts_total", kPipelineLabels, {},            \
    "Times a pipeline was restored from a checkpoint or savepoint after a stop or failure.")       \
  X(kEndToEndLatency, kHistogram, "sluice_end_to_end_latency_seconds", kLatencyLabels,             \
    kLatencyBuckets,                                                                               \
    "Time from a record's event time (from=\"event_time\"), receipt (from=\"receipt\") or "        \
    "window end (from=\"window_end\") to its row committed in ClickHouse.")                        \
  X(kSourceLag, kGauge, "sluice_source_lag_records", kSourcePartitionLabels, {},                   \
    "Records a queue source's partition holds beyond the position sluice has read.")               \
  X(kCdcSnapshotRows, kGauge, "sluice_cdc_snapshot_rows", kSourceTableLabels, {},                  \
    "Rows of a table the PostgreSQL CDC snapshot has copied.")                                     \
  X(kCdcSnapshotRowsEstimated, kGauge, "sluice_cdc_snapshot_rows_estimated", kSourceTableLabels,   \
    {}, "Rows of a table to copy, by PostgreSQL's estimate when the source opened.")               \
  X(kCdcSnapshotActive, kGauge, "sluice_cdc_snapshot_active", kSourceLabels, {},                   \
    "1 while a PostgreSQL CDC source copies its tables, 0 once it streams changes.")               \
  X(kCdcReplicationDelayBytes, kGauge, "sluice_cdc_replication_delay_bytes", kSourceLabels, {},    \
    "WAL bytes between the PostgreSQL server's position and the LSN sluice has confirmed.")        \
  X(kCdcReplicationDelaySeconds, kGauge, "sluice_cdc_replication_delay_seconds", kSourceLabels,    \
    {}, "Now minus the commit time of the last transaction read (0 when caught up).")              \
  X(kDeadLetterRecords, kCounter, "sluice_dead_letter_records_total", kDeadLetterLabels, {},       \
    "Records accepted into a stream's dead-letter table, by stream and error code.")               \
  X(kWalDiskBytes, kGauge, "sluice_wal_disk_bytes", kPipelineLabels, {},                           \
    "Bytes of the write-ahead log's segment files on disk.")                                       \
  X(kWalCapacityBytes, kGauge, "sluice_wal_capacity_bytes", kPipelineLabels, {},                   \
    "Disk the write-ahead log may use (wal.max_disk_bytes); ingestion answers 429 beyond it.")     \
  X(kWalPendingRecords, kGauge, "sluice_wal_pending_records", kPipelineLabels, {},                 \
    "Write-ahead log entries acknowledged but not yet delivered to ClickHouse.")                   \
  X(kProcessCpuSeconds, kCounter, "process_cpu_seconds_total", {}, {},                             \
    "User and system CPU time the process has used, in seconds.")                                  \
  X(kProcessResidentMemory, kGauge, "process_resident_memory_bytes", {}, {},                       \
    "Resident memory of the process, in bytes.")                                                   \
  X(kProcessVirtualMemory, kGauge, "process_virtual_memory_bytes", {}, {},                         \
    "Virtual memory of the process, in bytes.")                                                    \
  X(kProcessOpenFds, kGauge, "process_open_fds", {}, {}, "Open file descriptors of the process.")  \
  X(kProcessMaxFds, kGauge, "process_max_fds", {}, {},                                             \
    "The process's limit on open file descriptors.")                                               \
  X(kProcessStartTime, kGauge, "process_start_time_seconds", {}, {},                               \
    "Start time of the process, in seconds since the epoch.")                                      \
  X(kClickHouseCurrentMetric, kGauge, "sluice_clickhouse_current_metric", kClickHouseMetricLabels, \
    {}, "A value of ClickHouse's system.metrics (Query, InsertQuery, Merge ...), as last probed.") \
  X(kClickHouseMaxPartsPerPartition, kGauge, "sluice_clickhouse_max_parts_per_partition",          \
    kTableLabels, {}, "Active parts of a table's fullest partition.")                              \
  X(kClickHouseTableParts, kGauge, "sluice_clickhouse_table_parts", kTableLabels, {},              \
    "Active parts of a table.")                                                                    \
  X(kClickHouseTableRows, kGauge, "sluice_clickhouse_table_rows", kTableLabels, {},                \
    "Rows in a table's active parts.")                                                             \
  X(kClickHouseTableBytes, kGauge, "sluice_clickhouse_table_bytes_on_disk", kTableLabels, {},      \
    "Bytes a table's active parts take on disk.")                                                  \
  X(kClickHouseCompressionRatio, kGauge, "sluice_clickhouse_table_compression_ratio",              \
    kTableLabels, {}, "Uncompressed over compressed bytes of a table's active parts.")             \
  X(kClickHousePrimaryKeyBytes, kGauge, "sluice_clickhouse_primary_key_bytes_in_memory",           \
    kTableLabels, {}, "Memory the primary key of a table's active parts takes.")                   \
  X(kClickHouseMerges, kGauge, "sluice_clickhouse_merges_in_progress", kTableLabels, {},           \
    "Merges running on a table.")                                                                  \
  X(kClickHouseReplicationQueue, kGauge, "sluice_clickhouse_replication_queue_size", kTableLabels, \
    {}, "Entries in a replicated table's replication queue.")                                      \
  X(kClickHouseReplicaDelay, kGauge, "sluice_clickhouse_replica_delay_seconds", kTableLabels, {},  \
    "How far a replicated table's replica is behind, in seconds.")                                 \
  X(kClickHouseFailedQueries, kCounter, "sluice_clickhouse_failed_queries_total",                  \
    kQueryKindLabels, {},                                                                          \
    "Queries the query log shows as failed, by kind (the statement's first keyword).")             \
  X(kClickHouseSlowQueries, kCounter, "sluice_clickhouse_slow_queries_total", kQueryKindLabels,    \
    {}, "Finished queries slower than monitoring.slow_query, by kind.")                            \
  X(kClickHouseQueries, kCounter, "sluice_clickhouse_queries_total", kQueryKindLabels, {},         \
    "Finished queries in the query log (embedded: as sluice runs them), by kind.")                 \
  X(kClickHouseQueryReadRows, kCounter, "sluice_clickhouse_query_read_rows_total",                 \
    kQueryKindLabels, {}, "Rows finished queries read, by kind.")                                  \
  X(kClickHouseQueryReadBytes, kCounter, "sluice_clickhouse_query_read_bytes_total",               \
    kQueryKindLabels, {}, "Bytes finished queries read, by kind (the cost of batch jobs).")        \
  X(kClickHouseQueryDuration, kCounter, "sluice_clickhouse_query_duration_seconds_total",          \
    kQueryKindLabels, {}, "Time finished queries ran, by kind, in seconds.")                       \
  X(kClickHouseProbeErrors, kCounter, "sluice_clickhouse_probe_errors_total", kProbeLabels, {},    \
    "ClickHouse probes that failed (a missing system table or column, an unreachable server).")

enum class Metric : uint16_t {
#define SLUICE_METRIC_ENUM(id, type, name, labels, buckets, help) id,
  SLUICE_METRICS(SLUICE_METRIC_ENUM)
#undef SLUICE_METRIC_ENUM
};

inline constexpr MetricDescriptor kDeclaredMetrics[] = {
#define SLUICE_METRIC_DESCRIPTOR(id, type, name, labels, buckets, help) \
  MetricDescriptor{name, MetricType::type, labels, buckets, help},
    SLUICE_METRICS(SLUICE_METRIC_DESCRIPTOR)
#undef SLUICE_METRIC_DESCRIPTOR
};

/// Every declared metric, in list order.
inline std::span<const MetricDescriptor> DeclaredMetrics() {
  return kDeclaredMetrics;
}

inline const MetricDescriptor& Describe(Metric metric) {
  return kDeclaredMetrics[static_cast<size_t>(metric)];
}

}  // namespace sluice
