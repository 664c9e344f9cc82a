#include "runtime/live_pipeline.h"

#include <spdlog/spdlog.h>

#include "server/clickhouse_http.h"
#include "server/ingest_api.h"
#include "warehouse/ddl.h"

namespace sluice {

Result<std::unique_ptr<LivePipeline>> LivePipeline::Start(const PipelineSpec& spec,
                                                          Warehouse& warehouse,
                                                          MetricRegistry& metrics,
                                                          LiveOptions options) {
  std::unique_ptr<LivePipeline> live(new LivePipeline());
  // First, so that every statement of the pipeline is counted, delivery included.
  auto query_log = std::make_unique<QueryLogMetrics>(metrics, options.slow_query);
  QueryLogMetrics* counting = query_log.get();
  if (warehouse.ObserveQueries([counting](const QueryRecord& query) { counting->Record(query); })) {
    live->query_log_ = std::move(query_log);
    live->warehouse_ = &warehouse;
  }
  for (const StreamSpec& stream : spec.streams) {
    live->streams_.push_back(std::make_unique<StreamRuntime>(
        static_cast<uint32_t>(live->streams_.size()), stream, *spec.FindTable(stream.table),
        DeadLetterTableName(stream)));
  }
  std::string wal_folder = options.wal.directory;
  // The aggregations read the log too: it keeps what they have not checkpointed yet.
  options.wal.retain_after = AggregationJobs::RetainAfterOnStart(spec, options.savepoint);
  uint64_t wal_capacity = options.wal.max_disk_bytes;
  auto wal = WriteAheadLog::Open(std::move(options.wal));
  if (!wal.ok()) return wal.error();
  live->wal_ = std::move(wal).value();
  live->metrics_ = &metrics;
  {
    Gauge& disk = metrics.GetGauge(Metric::kWalDiskBytes, {spec.name});
    Gauge& pending = metrics.GetGauge(Metric::kWalPendingRecords, {spec.name});
    metrics.GetGauge(Metric::kWalCapacityBytes, {spec.name}).Set(static_cast<double>(wal_capacity));
    WriteAheadLog* log = live->wal_.get();
    live->wal_metrics_hook_ = metrics.AddScrapeHook([log, &disk, &pending] {
      disk.Set(static_cast<double>(log->disk_bytes()));
      pending.Set(static_cast<double>(log->last_sequence() - log->delivered_sequence()));
    });
  }
  live->delivery_ = std::make_unique<WalDelivery>(
      live->streams_, *live->wal_, warehouse, metrics, spec.name, spec.warehouse.database,
      wal_folder + "/delivery.intent", options.delivery);
  if (auto started = live->delivery_->Start(); !started.ok()) return started.error();

  auto aggregations =
      AggregationJobs::Start(spec, warehouse, metrics, live->wal_.get(), options.savepoint);
  if (!aggregations.ok()) return aggregations.error();
  live->aggregations_ = std::move(aggregations).value();
  auto source_jobs = SourceJobs::Start(spec, warehouse, metrics);
  if (!source_jobs.ok()) return source_jobs.error();
  live->source_jobs_ = std::move(source_jobs).value();

  live->ingest_ = std::make_unique<IngestPipeline>(live->streams_, *live->wal_, metrics);
  WalDelivery* delivery = live->delivery_.get();
  live->ingest_->OnAppended([delivery] { delivery->Notify(); });

  HttpServerOptions server_options;
  server_options.address = options.address;
  server_options.port = options.port;
  server_options.threads = static_cast<size_t>(options.threads);
  server_options.body_limit = options.max_body_bytes;
  server_options.name = "api";
  server_options.metrics = &metrics;
  live->ingest_server_ = std::make_unique<HttpServer>(server_options);
  IngestApiOptions ingest_options;
  ingest_options.tokens = options.tokens;
  RegisterIngestApi(*live->ingest_server_, *live->ingest_, ingest_options);
  // `sluice savepoint` asks here. Only from this machine: the target is a local folder.
  LivePipeline* self = live.get();
  live->ingest_server_->Route(
      "POST", "/v1/savepoint", PathMatch::kExact, [self](const HttpRequest& request) {
        if (request.remote_address != "127.0.0.1" && request.remote_address != "::1") {
          return HttpResponse::Text(403, "savepoints are taken only on request from this machine");
        }
        const std::string* target = request.Parameter("target");
        if (target == nullptr || target->empty()) {
          return HttpResponse::Text(400, "give the savepoint folder as ?target=PATH");
        }
        auto saved = self->Savepoint(*target);
        if (!saved.ok()) return HttpResponse::Text(500, saved.error().ToString());
        return HttpResponse::Text(200, *saved);
      });
  if (auto started = live->ingest_server_->Start(); !started.ok()) return started.error();

  if (options.query_port) {
    HttpServerOptions query_options = server_options;
    query_options.address = options.query_address;
    query_options.port = *options.query_port;
    query_options.name = "clickhouse";
    query_options.health_routes = false;
    live->query_server_ = std::make_unique<HttpServer>(query_options);
    ClickHouseHttpOptions clickhouse_options;
    clickhouse_options.read_only = options.query_read_only;
    RegisterClickHouseHttp(*live->query_server_, warehouse, clickhouse_options);
    if (auto started = live->query_server_->Start(); !started.ok()) return started.error();
    live->query_server_->SetReady(true);
  }
  if (options.probe_interval.count() > 0) {
    ProberOptions prober_options;
    prober_options.database = spec.warehouse.database;
    prober_options.interval = options.probe_interval;
    prober_options.slow_query = options.slow_query;
    prober_options.query_log = live->query_log_ == nullptr;
    live->prober_ = std::make_unique<ClickHouseProber>(
        [&warehouse](const std::string& sql) -> Result<std::string> {
          auto result = warehouse.Query(sql);
          if (!result.ok()) return result.error();
          return std::move(result->data);
        },
        metrics, prober_options);
    live->prober_->Start();
  }
  live->ingest_server_->SetReady(true);
  spdlog::info("ingest API on {}:{}{}", options.address, live->ingest_port(),
               live->query_server_ ? fmt::format(", ClickHouse-compatible queries on {}:{}",
                                                 options.query_address, live->query_port())
                                   : std::string());
  return live;
}

Result<std::string> LivePipeline::Savepoint(const std::string& target) {
  if (!aggregations_ || aggregations_->empty()) {
    return MakeError(ErrorCode::kUsage, "the pipeline has no aggregation to take a savepoint of");
  }
  return aggregations_->Savepoint(target);
}

LivePipeline::~LivePipeline() {
  if (!stopped_) (void)Shutdown();
  if (metrics_ != nullptr) metrics_->RemoveScrapeHook(wal_metrics_hook_);
  if (warehouse_ != nullptr) warehouse_->ObserveQueries(nullptr);
}

Status LivePipeline::Shutdown() {
  if (stopped_) return {};
  stopped_ = true;
  // A Start that failed half way (e.g. a savepoint refused) leaves the later parts unmade.
  if (ingest_) ingest_->BeginShutdown();
  if (ingest_server_) ingest_server_->BeginShutdown();
  if (query_server_) query_server_->BeginShutdown();
  if (ingest_server_) ingest_server_->Stop();
  if (query_server_) query_server_->Stop();
  if (prober_) prober_->Stop();
  Status drained = delivery_ ? delivery_->DrainAndStop() : Status();
  if (Status stopped = source_jobs_ ? source_jobs_->Stop() : Status(); !stopped.ok()) {
    spdlog::error("sources stopped without a final checkpoint (they resume from the last one): {}",
                  stopped.error().ToString());
    if (drained.ok()) drained = stopped;
  }
  if (Status stopped = aggregations_ ? aggregations_->Stop() : Status(); !stopped.ok()) {
    spdlog::error(
        "aggregations stopped without a final checkpoint (they resume from the last "
        "one): {}",
        stopped.error().ToString());
    if (drained.ok()) drained = stopped;
  }
  if (drained.ok()) {
    spdlog::info("stopped: every acknowledged record is in ClickHouse");
  } else {
    spdlog::error(
        "stopped with records still in the write-ahead log (they are delivered on "
        "the next start): {}",
        drained.error().ToString());
  }
  return drained;
}

}  // namespace sluice
