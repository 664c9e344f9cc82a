#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/spec.h"
#include "metrics/metric_registry.h"
#include "monitoring/clickhouse_prober.h"
#include "monitoring/query_log_metrics.h"
#include "runtime/aggregation_jobs.h"
#include "runtime/ingest_pipeline.h"
#include "runtime/source_jobs.h"
#include "runtime/wal_delivery.h"
#include "server/http_server.h"
#include "state/wal.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// How the live pipeline listens and stores, from the spec's `server` and `wal` sections.
struct LiveOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  std::string query_address = "127.0.0.1";
  std::optional<uint16_t> query_port;  // absent: no query endpoint
  int threads = 16;
  size_t max_body_bytes = 16 << 20;
  std::vector<std::string> tokens;
  bool query_read_only = true;
  WalOptions wal;
  DeliveryOptions delivery;
  std::string savepoint;  // restore the aggregations from this savepoint folder
  std::chrono::milliseconds probe_interval{15000};  // ClickHouse probes; 0: none
  std::chrono::milliseconds slow_query{1000};
};

/// sluice serving: the ingest API, health and metrics on one listener, the ClickHouse-compatible
/// query endpoint on another, the write-ahead log between ingestion and delivery.
class LivePipeline {
 public:
  /// Opens the log, re-delivers what a previous run left, starts delivery and the listeners.
  static Result<std::unique_ptr<LivePipeline>> Start(const PipelineSpec& spec, Warehouse& warehouse,
                                                     MetricRegistry& metrics, LiveOptions options);
  ~LivePipeline();

  uint16_t ingest_port() const { return ingest_server_->port(); }
  uint16_t query_port() const { return query_server_ ? query_server_->port() : 0; }

  /// Writes a savepoint of every aggregation into `target` (see AggregationJobs::Savepoint).
  Result<std::string> Savepoint(const std::string& target);

  /// Graceful stop: new requests get 503, requests in flight finish, everything acknowledged
  /// is delivered to ClickHouse, listeners close.
  Status Shutdown();

 private:
  LivePipeline() = default;

  std::vector<std::unique_ptr<StreamRuntime>> streams_;
  std::unique_ptr<WriteAheadLog> wal_;
  std::unique_ptr<WalDelivery> delivery_;
  std::unique_ptr<AggregationJobs> aggregations_;
  std::unique_ptr<SourceJobs> source_jobs_;
  std::unique_ptr<IngestPipeline> ingest_;
  std::unique_ptr<HttpServer> ingest_server_;
  std::unique_ptr<HttpServer> query_server_;
  std::unique_ptr<ClickHouseProber> prober_;
  // The embedded engine's statements, counted as they run (it has no system.query_log).
  std::unique_ptr<QueryLogMetrics> query_log_;
  Warehouse* warehouse_ = nullptr;
  MetricRegistry* metrics_ = nullptr;
  uint64_t wal_metrics_hook_ = 0;  // refreshes the log's gauges on each scrape
  bool stopped_ = false;
};

}  // namespace sluice
