// Window aggregation throughput: one subtask, tumbling 1-minute windows, 1 M distinct keys,
// count + sum + uniq + quantile(0.95), on the memory and RocksDB backends; and, as the baseline
// measured in the same run, the embedded ClickHouse computing the same aggregates with
// GROUP BY (key, toStartOfMinute(ts)) over the same events already in a MergeTree table.
//
// Usage: window_bench [events (10000000)] [rocksdb events (2000000)]
// Needs libchdb.so (SLUICE_CHDB_LIBRARY or the build's default) for the baseline.
//
// Besides wall time each engine's CPU time is printed (the operator's thread; for ClickHouse the
// whole process during the query, all its threads): on a machine shared with other work, events
// per CPU second is the figure that the load distorts least.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "operators/window/window_operator.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

constexpr uint64_t kKeys = 1'000'000;
constexpr int64_t kBaseMs = 1'700'000'040'000;  // a whole minute
constexpr int64_t kSpanMs = 5 * 60'000;         // the events cover five windows
constexpr size_t kBatchRows = 8192;

// The i-th event, the same formulas as the baseline's SQL below.
uint64_t KeyOf(uint64_t i) {
  return (i * 11400714819323198485ull) % kKeys;
}
int64_t TimeOf(uint64_t i, uint64_t events) {
  return kBaseMs + static_cast<int64_t>(i * kSpanMs / events);
}
int64_t AmountOf(uint64_t i) {
  return static_cast<int64_t>(i % 1000);
}
uint64_t ItemOf(uint64_t i) {
  return (i * 7) % 100'003;
}

DataType Type(std::string_view text) {
  return ParseDataType(text).value();
}

Schema EventSchema() {
  return {{"key", Type("UInt64")},
          {"ts", Type("DateTime64(3)")},
          {"amount", Type("Int64")},
          {"item", Type("UInt64")}};
}

/// The aggregates of the scenario that this build's aggregate module offers.
std::vector<AggregateCall> Aggregates(std::string& names) {
  std::vector<AggregateCall> wanted = {{"count", "events", "", 0.5, 10},
                                       {"sum", "total", "amount", 0.5, 10},
                                       {"uniq", "items", "item", 0.5, 10},
                                       {"quantile", "p95", "amount", 0.95, 10}};
  std::vector<AggregateCall> available;
  Schema schema = EventSchema();
  for (const AggregateCall& call : wanted) {
    const DataType* type = nullptr;
    for (const Field& field : schema) {
      if (field.name == call.field) type = &field.type;
    }
    if (!MakeAggregateFunction(call, type).ok()) continue;
    available.push_back(call);
    names += (names.empty() ? "" : ", ") + call.function;
  }
  return available;
}

/// CPU seconds (user + system) used so far by the calling thread, or by the whole process.
double CpuSeconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Counts rows emitted on port 0.
class CountingEmitter final : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override {
    if (port == 0) rows += batch.num_rows();
    if (port == 1) late += batch.num_rows();
  }
  uint64_t rows = 0;
  uint64_t late = 0;
};

struct Measurement {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t rows = 0;
  uint64_t peak_state_bytes = 0;
};

Measurement RunOperator(StateBackendKind backend, uint64_t events,
                        const std::vector<AggregateCall>& aggregates, const std::string& folder) {
  WindowOperatorConfig config;
  config.name = "per_key_minute";
  config.input_schema = EventSchema();
  config.key_fields = {"key"};
  config.time_field = "ts";
  config.kind = WindowKind::kTumbling;
  config.size_ms = 60'000;
  config.aggregates = aggregates;
  config.backend = backend;
  std::unique_ptr<WindowOperator> op = WindowOperator::Make(config).value();
  OperatorContext context;
  context.operator_id = config.name;
  context.state_directory = folder;
  std::unique_ptr<OperatorState> state = op->CreateState(context).value();

  CountingEmitter out;
  Measurement measurement;
  std::chrono::steady_clock::duration busy{};
  for (uint64_t first = 0; first < events; first += kBatchRows) {
    uint64_t last = std::min(events, first + kBatchRows);
    Batch batch(config.input_schema);
    for (size_t c = 0; c < batch.num_columns(); ++c) batch.column(c).Reserve(last - first);
    for (uint64_t i = first; i < last; ++i) {
      batch.column(0).AppendFixed<uint64_t>(KeyOf(i));
      batch.column(1).AppendFixed<int64_t>(TimeOf(i, events));
      batch.column(2).AppendFixed<int64_t>(AmountOf(i));
      batch.column(3).AppendFixed<uint64_t>(ItemOf(i));
    }
    auto begin = std::chrono::steady_clock::now();
    double cpu_begin = CpuSeconds(RUSAGE_THREAD);
    Status processed = op->Process(*state, batch, out);
    Status fired = op->OnWatermark(*state, TimeOf(last - 1, events) - 1000, out);
    busy += std::chrono::steady_clock::now() - begin;
    measurement.cpu_seconds += CpuSeconds(RUSAGE_THREAD) - cpu_begin;
    if (!processed.ok() || !fired.ok()) {
      std::fprintf(stderr, "window operator failed: %s\n",
                   (!processed.ok() ? processed : fired).error().ToString().c_str());
      std::exit(1);
    }
    if ((first / kBatchRows) % 64 == 0) {
      measurement.peak_state_bytes = std::max(measurement.peak_state_bytes, state->StateBytes());
    }
  }
  auto begin = std::chrono::steady_clock::now();
  double cpu_begin = CpuSeconds(RUSAGE_THREAD);
  Status ended = op->OnEndOfInput(*state, out);
  busy += std::chrono::steady_clock::now() - begin;
  measurement.cpu_seconds += CpuSeconds(RUSAGE_THREAD) - cpu_begin;
  if (!ended.ok()) {
    std::fprintf(stderr, "end of input failed: %s\n", ended.error().ToString().c_str());
    std::exit(1);
  }
  measurement.seconds = std::chrono::duration<double>(busy).count();
  measurement.rows = out.rows;
  return measurement;
}

std::string ClickHouseAggregates(const std::vector<AggregateCall>& aggregates) {
  std::string sql;
  for (const AggregateCall& call : aggregates) {
    if (call.function == "count") sql += ", count()";
    if (call.function == "sum") sql += ", sum(amount)";
    if (call.function == "uniq") sql += ", uniq(item)";
    if (call.function == "quantile") sql += ", quantile(0.95)(amount)";
  }
  return sql;
}

/// The GROUP BY with 1 and 2 threads (rows = groups), or nothing when the engine cannot be
/// loaded.
std::vector<Measurement> RunClickHouse(uint64_t events,
                                       const std::vector<AggregateCall>& aggregates,
                                       const std::string& folder) {
  Result<std::unique_ptr<EmbeddedWarehouse>> opened = EmbeddedWarehouse::Open(folder);
  if (!opened.ok()) {
    std::fprintf(stderr, "baseline skipped: %s\n", opened.error().ToString().c_str());
    return {};
  }
  Warehouse& warehouse = **opened;
  auto run = [&](const std::string& sql) {
    Result<QueryResult> result = warehouse.Query(sql);
    if (!result.ok()) {
      std::fprintf(stderr, "baseline failed: %s\n", result.error().ToString().c_str());
      std::exit(1);
    }
    return result.value();
  };
  run("CREATE TABLE events (key UInt64, ts DateTime64(3), amount Int64, item UInt64) "
      "ENGINE = MergeTree ORDER BY ts");
  run("INSERT INTO events SELECT (number * 11400714819323198485) % " + std::to_string(kKeys) +
      ", fromUnixTimestamp64Milli(toInt64(" + std::to_string(kBaseMs) + " + intDiv(number * " +
      std::to_string(kSpanMs) + ", " + std::to_string(events) + "))), toInt64(number % 1000), " +
      "(number * 7) % 100003 FROM numbers(" + std::to_string(events) + ")");
  run("OPTIMIZE TABLE events FINAL");
  std::string query = "SELECT key, toStartOfMinute(ts) AS minute" +
                      ClickHouseAggregates(aggregates) +
                      " FROM events GROUP BY key, minute FORMAT Null SETTINGS max_threads = ";
  std::string groups_query =
      "SELECT count() FROM (SELECT DISTINCT key, toStartOfMinute(ts) FROM events)";
  uint64_t groups = std::stoull(run(groups_query).data);
  std::vector<Measurement> timings;
  for (int threads : {1, 2}) {
    run(query + std::to_string(threads));  // warm the page cache
    auto begin = std::chrono::steady_clock::now();
    double cpu_begin = CpuSeconds(RUSAGE_SELF);
    run(query + std::to_string(threads));
    Measurement measurement;
    measurement.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    measurement.cpu_seconds = CpuSeconds(RUSAGE_SELF) - cpu_begin;
    measurement.rows = groups;
    timings.push_back(measurement);
  }
  return timings;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  using namespace sluice;
  uint64_t events = argc > 1 ? std::stoull(argv[1]) : 10'000'000;
  uint64_t rocksdb_events = argc > 2 ? std::stoull(argv[2]) : 2'000'000;
  std::string names;
  std::vector<AggregateCall> aggregates = Aggregates(names);
  std::filesystem::path folder = std::filesystem::temp_directory_path() /
                                 ("sluice_window_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);

  std::printf("tumbling 1-minute windows, %llu distinct keys, aggregates: %s\n",
              static_cast<unsigned long long>(kKeys), names.c_str());
  std::printf("%-38s %12s %10s %14s %10s %16s %12s\n", "engine", "events", "seconds", "events/s",
              "CPU s", "events/CPU s", "result rows");
  auto line = [](const char* engine, uint64_t count, const Measurement& measurement) {
    std::printf("%-38s %12llu %10.2f %14.0f %10.2f %16.0f %12llu\n", engine,
                static_cast<unsigned long long>(count), measurement.seconds,
                count / measurement.seconds, measurement.cpu_seconds,
                count / measurement.cpu_seconds, static_cast<unsigned long long>(measurement.rows));
  };
  Measurement memory =
      RunOperator(StateBackendKind::kMemory, events, aggregates, (folder / "memory").string());
  line("window operator, memory backend", events, memory);
  std::printf("  peak state: %.0f MB\n", memory.peak_state_bytes / 1e6);
  if (rocksdb_events > 0) {
    Measurement rocksdb = RunOperator(StateBackendKind::kRocksDb, rocksdb_events, aggregates,
                                      (folder / "rocksdb").string());
    line("window operator, RocksDB backend", rocksdb_events, rocksdb);
  }
  std::vector<Measurement> baseline = RunClickHouse(events, aggregates, (folder / "chdb").string());
  if (baseline.size() == 2) {
    line("ClickHouse GROUP BY, max_threads=1", events, baseline[0]);
    line("ClickHouse GROUP BY, max_threads=2", events, baseline[1]);
  }
  std::filesystem::remove_all(folder);
  return 0;
}
