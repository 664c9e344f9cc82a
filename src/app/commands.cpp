#include "app/commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/exit_codes.h"
#include "app/pipeline_builder.h"
#include "config/spec_loader.h"
#include "dataflow/bounded_runner.h"
#include "metrics/metric_registry.h"
#include "metrics/process_metrics.h"
#include "monitoring/alert_rules.h"
#include "monitoring/dashboard.h"
#include "monitoring/status.h"
#include "runtime/aggregation_jobs.h"
#include "runtime/live_pipeline.h"
#include "runtime/source_jobs.h"
#include "server/clickhouse_http_client.h"
#include "server/http_client.h"
#include "server/ingest_api.h"
#include "warehouse/embedded_warehouse.h"
#include "warehouse/migration.h"
#include "warehouse/spec_check.h"

namespace sluice {
namespace {

void PrintError(const Error& error) {
  fmt::print(stderr, "error: {}\n", error.ToString());
}

/// Loads and checks a spec; prints every problem and returns nothing when there are any.
std::optional<PipelineSpec> LoadOrReport(const std::string& spec_path) {
  SpecLoadResult loaded = LoadSpecFile(spec_path);
  for (const Error& error : loaded.errors) PrintError(error);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}: {} problem{} found; nothing was changed\n", spec_path,
               loaded.errors.size(), loaded.errors.size() == 1 ? "" : "s");
    return std::nullopt;
  }
  return std::move(loaded.spec);
}

bool IsSpecError(ErrorCode code) {
  auto number = ErrorCodeNumber(code);
  return number >= 100 && number < 200;
}

/// Plans the warehouse changes the spec needs, after the engine has accepted every object of
/// the spec: what it rejects is reported all at once as spec errors (exit 2); a failure of the
/// warehouse itself is a runtime failure (exit 1).
Result<MigrationPlan> PlanOrReport(Warehouse& warehouse, const PipelineSpec& spec, int& exit_code) {
  auto problems = CheckSpecInEngine(warehouse, spec);
  if (!problems.ok()) {
    PrintError(problems.error());
    exit_code = kExitRuntimeFailure;
    return problems.error();
  }
  if (!problems->empty()) {
    for (const Error& problem : *problems) PrintError(problem);
    fmt::print(stderr, "{}: {} problem{} found; nothing was changed\n", spec.file, problems->size(),
               problems->size() == 1 ? "" : "s");
    exit_code = kExitUsageOrSpec;
    return problems->front();
  }
  auto plan = PlanMigration(warehouse, spec);
  if (!plan.ok()) {
    PrintError(plan.error());
    exit_code = IsSpecError(plan.error().code) ? kExitUsageOrSpec : kExitRuntimeFailure;
  }
  return plan;
}

LiveOptions LiveOptionsOf(const PipelineSpec& spec) {
  LiveOptions options;
  const ServerSpec& server = *spec.server;
  options.address = server.listen.host;
  options.port = server.listen.port;
  if (server.query_listen) {
    options.query_address = server.query_listen->host;
    options.query_port = server.query_listen->port;
  }
  options.threads = static_cast<int>(server.threads);
  options.max_body_bytes = server.max_body_bytes;
  options.tokens = TokensFromEnvironment(server.token_variables);
  options.query_read_only = server.query_read_only;
  options.wal.directory = spec.wal.path;
  options.wal.segment_bytes = spec.wal.segment_bytes;
  options.wal.max_disk_bytes = spec.wal.max_disk_bytes;
  options.probe_interval = spec.monitoring.probe_interval;
  options.slow_query = spec.monitoring.slow_query;
  // One delivery window serves every stream: the tightest stream's limits apply.
  for (size_t i = 0; i < spec.streams.size(); ++i) {
    const StreamBatchSpec& batch = spec.streams[i].batch;
    DeliveryOptions& delivery = options.delivery;
    delivery.max_rows =
        i == 0 ? batch.max_rows : std::min<size_t>(delivery.max_rows, batch.max_rows);
    delivery.max_bytes =
        i == 0 ? batch.max_bytes : std::min<size_t>(delivery.max_bytes, batch.max_bytes);
    delivery.max_delay = i == 0 ? batch.max_delay : std::min(delivery.max_delay, batch.max_delay);
  }
  return options;
}

/// Serves the spec's HTTP APIs until SIGINT or SIGTERM, then stops gracefully.
int Serve(const PipelineSpec& spec, Warehouse& warehouse, MetricRegistry& metrics,
          const std::string& savepoint, StopSignal& stop) {
  LiveOptions options;
  try {
    options = LiveOptionsOf(spec);
  } catch (const SetupError& error) {
    PrintError(error.error());
    return kExitUsageOrSpec;
  }
  options.savepoint = savepoint;
  auto live = LivePipeline::Start(spec, warehouse, metrics, std::move(options));
  if (!live.ok()) {
    PrintError(live.error());
    return kExitRuntimeFailure;
  }
  stop.Wait();
  spdlog::info("signal {} received: stopping", stop.signal());
  auto stopped = (*live)->Shutdown();
  return stopped.ok() ? kExitOk : kExitRuntimeFailure;
}

std::string ClickHouseFormat(const std::string& format) {
  if (format == "tsv") return "TabSeparatedWithNames";
  if (format == "csv") return "CSVWithNames";
  if (format == "json") return "JSONEachRow";
  return "PrettyCompactMonoBlock";
}

/// Writes generated text to `path`, or to stdout when it is empty.
int WriteOutput(const std::string& text, const std::string& path) {
  if (path.empty()) {
    fmt::print("{}", text);
    return kExitOk;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    PrintError(MakeError(ErrorCode::kIoError, "cannot write " + path));
    return kExitRuntimeFailure;
  }
  return kExitOk;
}

/// "http://host:port", "host:port" or "http://host:port/metrics" into host and port.
std::optional<std::pair<std::string, uint16_t>> ParseUrl(std::string text) {
  if (text.starts_with("http://")) text = text.substr(7);
  text = text.substr(0, text.find('/'));
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    int port = std::stoi(text.substr(colon + 1));
    if (port <= 0 || port > 65535) return std::nullopt;
    return std::pair{host, static_cast<uint16_t>(port)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

int AlertsCommand(const std::string& spec_path, const std::string& output_path) {
  auto spec = LoadOrReport(spec_path);
  if (!spec) return kExitUsageOrSpec;
  return WriteOutput(RenderRulesYaml(*spec, AlertRulesFor(*spec)), output_path);
}

int DashboardCommand(const std::string& spec_path, const std::string& output_path) {
  auto spec = LoadOrReport(spec_path);
  if (!spec) return kExitUsageOrSpec;
  return WriteOutput(RenderDashboardJson(*spec), output_path);
}

int StatusCommand(const StatusOptions& options) {
  std::string url = options.url;
  if (url.empty()) {
    auto spec = LoadOrReport(options.spec_path);
    if (!spec) return kExitUsageOrSpec;
    if (!spec->server || spec->server->listen.port == 0) {
      fmt::print(stderr,
                 "sluice status: {} has no server with a fixed port; give --url http://HOST:PORT\n",
                 options.spec_path);
      return kExitUsageOrSpec;
    }
    url = spec->server->listen.ToString();
  }
  auto target = ParseUrl(url);
  if (!target) {
    fmt::print(stderr, "sluice status: '{}' is not http://host:port\n", url);
    return kExitUsageOrSpec;
  }
  auto scrape = [&]() -> Result<std::vector<PrometheusSample>> {
    auto text = HttpGet(target->first, target->second, "/metrics");
    if (!text.ok()) return text.error();
    return ParsePrometheusText(*text);
  };
  auto first = scrape();
  auto started = std::chrono::steady_clock::now();
  if (first.ok()) {
    std::this_thread::sleep_for(std::chrono::duration<double>(options.interval_seconds));
  }
  auto second = first.ok() ? scrape() : first;
  if (!second.ok()) {
    PrintError(second.error());
    return kExitRuntimeFailure;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  StatusReport report =
      BuildStatusReport(*first, *second, seconds, static_cast<double>(std::time(nullptr)));
  std::string where = fmt::format("{}:{}", target->first, target->second);
  fmt::print("{}",
             options.json ? RenderStatusJson(report, where) : RenderStatusText(report, where));
  return kExitOk;
}

int ValidateCommand(const std::string& spec_path) {
  auto spec = LoadOrReport(spec_path);
  if (!spec) return kExitUsageOrSpec;
  // The engine itself checks the types and expressions, in a throwaway warehouse: the spec's
  // own warehouse is not touched.
  std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / fmt::format("sluice-validate-{}", ::getpid());
  int exit_code = kExitOk;
  {
    auto warehouse = EmbeddedWarehouse::Open(scratch.string());
    if (!warehouse.ok()) {
      PrintError(warehouse.error());
      exit_code = kExitRuntimeFailure;
    } else {
      auto plan = PlanOrReport(**warehouse, *spec, exit_code);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  if (exit_code == kExitOk) {
    fmt::print("{}: valid ({} tables, {} views, {} streams, {} sources)\n", spec_path,
               spec->tables.size(), spec->views.size(), spec->streams.size(), spec->sources.size());
  }
  return exit_code;
}

int PlanCommand(const PlanOptions& options) {
  auto spec = LoadOrReport(options.spec_path);
  if (!spec) return kExitUsageOrSpec;
  auto warehouse = EmbeddedWarehouse::Open(spec->warehouse.path);
  if (!warehouse.ok()) {
    PrintError(warehouse.error());
    return kExitRuntimeFailure;
  }
  int exit_code = kExitOk;
  auto plan = PlanOrReport(**warehouse, *spec, exit_code);
  if (!plan.ok()) return exit_code;
  fmt::print("{}", plan->ToText());
  if (!options.apply) return kExitOk;
  if (auto applied = ApplyMigration(**warehouse, *plan, options.allow_destructive); !applied.ok()) {
    PrintError(applied.error());
    return applied.error().code == ErrorCode::kMigrationDestructive ? kExitUsageOrSpec
                                                                    : kExitRuntimeFailure;
  }
  fmt::print("applied {} change{}\n", plan->changes.size(), plan->changes.size() == 1 ? "" : "s");
  return kExitOk;
}

int RunCommand(const std::string& spec_path, const std::string& savepoint, StopSignal& stop) {
  auto spec = LoadOrReport(spec_path);
  if (!spec) return kExitUsageOrSpec;
  auto warehouse = EmbeddedWarehouse::Open(spec->warehouse.path);
  if (!warehouse.ok()) {
    PrintError(warehouse.error());
    return kExitRuntimeFailure;
  }
  spdlog::info("embedded ClickHouse {} on {}", (*warehouse)->Version(), spec->warehouse.path);
  if (!savepoint.empty()) {
    // Refused before the migration: a savepoint that does not fit must leave the tables as
    // they were (the pipeline cannot start from it, so it cannot use a migrated table).
    if (Status fits = AggregationJobs::CheckSavepoint(*spec, **warehouse, savepoint); !fits.ok()) {
      PrintError(fits.error());
      return kExitRuntimeFailure;
    }
  }
  int exit_code = kExitOk;
  auto plan = PlanOrReport(**warehouse, *spec, exit_code);
  if (!plan.ok()) return exit_code;
  if (!plan->empty()) {
    // Only non-destructive changes are applied by `run`; anything else needs `plan --apply`.
    if (auto applied = ApplyMigration(**warehouse, *plan, /*allow_destructive=*/false);
        !applied.ok()) {
      fmt::print(stderr, "{}", plan->ToText());
      PrintError(applied.error());
      return applied.error().code == ErrorCode::kMigrationDestructive ? kExitUsageOrSpec
                                                                      : kExitRuntimeFailure;
    }
    spdlog::info("applied {} schema change(s)", plan->changes.size());
  }

  MetricRegistry metrics;
  ExportProcessMetrics(metrics);
  for (SourceRun& run : BuildSourceRuns(*spec, **warehouse, metrics)) {
    auto started = std::chrono::steady_clock::now();
    BoundedRunHooks hooks;
    hooks.process = run.process;
    hooks.should_stop = [&stop] { return stop.requested(); };
    auto counts = RunBounded(*run.source, run.schema, *run.sink, *run.dead_letter_sink, hooks);
    if (!counts.ok()) {
      PrintError(counts.error());
      return kExitRuntimeFailure;
    }
    run.source_metrics->RecordsReceived(counts->rows + counts->dead_letters, counts->bytes);
    run.source_metrics->DeadLettered(counts->dead_letters);
    run.sink_metrics->RecordsSent(counts->rows, counts->row_bytes);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("source {}: {} rows loaded, {} records to the dead-letter table, {:.2f} s{}\n",
               run.spec->name, counts->rows, counts->dead_letters, seconds,
               counts->stopped ? " (stopped early; running again resumes without duplicates)" : "");
    std::fflush(stdout);  // before the server's log lines, when it serves next
    if (counts->stopped) return kExitOk;
  }
  if (spec->server) return Serve(*spec, **warehouse, metrics, savepoint, stop);
  bool unbounded = std::any_of(spec->sources.begin(), spec->sources.end(),
                               [](const SourceSpec& source) { return SourceJobs::Runs(source); });
  if (unbounded) {
    // Queue and polling sources run until SIGINT or SIGTERM, and with them the aggregations
    // (over files and Kafka topics here).
    auto sources = SourceJobs::Start(*spec, **warehouse, metrics);
    if (!sources.ok()) {
      PrintError(sources.error());
      return kExitRuntimeFailure;
    }
    auto jobs = AggregationJobs::Start(*spec, **warehouse, metrics, nullptr, savepoint);
    if (!jobs.ok()) {
      (void)(*sources)->Stop();
      PrintError(jobs.error());
      return kExitRuntimeFailure;
    }
    stop.Wait();
    spdlog::info("signal {} received: stopping", stop.signal());
    Status stopped = (*jobs)->Stop();
    if (Status sources_stopped = (*sources)->Stop(); stopped.ok()) stopped = sources_stopped;
    if (!stopped.ok()) {
      PrintError(stopped.error());
      return kExitRuntimeFailure;
    }
    spdlog::info("stopped: every record read is in ClickHouse");
    return kExitOk;
  }
  if (spec->aggregations.empty()) return kExitOk;
  // Without a server the aggregations read only files: run them to the end.
  auto jobs = AggregationJobs::Start(*spec, **warehouse, metrics, nullptr, savepoint);
  if (!jobs.ok()) {
    PrintError(jobs.error());
    return kExitRuntimeFailure;
  }
  Status finished = (*jobs)->WaitFinished();
  Status stopped = (*jobs)->Stop();
  if (!finished.ok() || !stopped.ok()) {
    PrintError(!finished.ok() ? finished.error() : stopped.error());
    return kExitRuntimeFailure;
  }
  fmt::print("aggregations: {} done\n", spec->aggregations.size());
  return kExitOk;
}

int SavepointCommand(const std::string& spec_path, const std::string& target,
                     const std::string& address) {
  auto spec = LoadOrReport(spec_path);
  if (!spec) return kExitUsageOrSpec;
  std::optional<ListenAddress> listen;
  if (!address.empty()) {
    listen = ParseListenAddress(address);
  } else if (spec->server) {
    listen = spec->server->listen;
  }
  if (!listen || listen->port == 0) {
    PrintError(MakeError(ErrorCode::kUsage,
                         "give the running sluice's API address with --address host:port (the "
                         "spec has no fixed server.listen port)"));
    return kExitUsageOrSpec;
  }
  std::string absolute = std::filesystem::absolute(target).string();
  auto reply = HttpCall(listen->host, listen->port, "POST",
                        "/v1/savepoint?target=" + EncodeUrlComponent(absolute));
  if (!reply.ok()) {
    PrintError(reply.error());
    return kExitRuntimeFailure;
  }
  if (reply->status != 200) {
    fmt::print(stderr, "sluice savepoint: {}", reply->body);
    return kExitRuntimeFailure;
  }
  fmt::print("savepoint written to {}", reply->body);
  return kExitOk;
}

int QueryCommand(const QueryOptions& options) {
  std::string data_path = options.data_path;
  if (data_path.empty()) {
    auto spec = LoadOrReport(options.spec_path);
    if (!spec) return kExitUsageOrSpec;
    data_path = spec->warehouse.path;
    // While sluice serves the spec it owns the data folder: ask it over its query endpoint.
    if (spec->server && spec->server->query_listen) {
      auto answer =
          QueryOverHttp(spec->server->query_listen->host, spec->server->query_listen->port,
                        options.sql, ClickHouseFormat(options.format));
      if (answer.ok()) {
        fmt::print("{}", *answer);
        return kExitOk;
      }
      if (answer.error().code != ErrorCode::kWarehouseUnavailable) {
        PrintError(answer.error());
        return kExitRuntimeFailure;
      }
    }
  }
  auto warehouse = EmbeddedWarehouse::Open(data_path);
  if (!warehouse.ok()) {
    PrintError(warehouse.error());
    return kExitRuntimeFailure;
  }
  auto result = (*warehouse)->Query(options.sql, ClickHouseFormat(options.format));
  if (!result.ok()) {
    PrintError(result.error());
    return kExitRuntimeFailure;
  }
  fmt::print("{}", result->data);
  return kExitOk;
}

int VersionCommand() {
  fmt::print("sluice {}\n", SLUICE_VERSION);
  return kExitOk;
}

int ErrorsCommand() {
  fmt::print("{}", ErrorCodeTableMarkdown());
  return kExitOk;
}

}  // namespace sluice
