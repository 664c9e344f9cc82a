// Appends 150-byte payloads to a write-ahead log from 1, 8 and 64 threads and reports appends/s
// (items_per_second), append latency percentiles and how many appends one fdatasync covered.
// The log lives in $SLUICE_WAL_BENCH_DIR or ./wal-bench: put it on the disk to be measured
// (a tmpfs makes fdatasync free and the figures meaningless).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "state/wal.h"

namespace sluice {
namespace {

std::unique_ptr<WriteAheadLog> bench_log;
// Per benchmark thread, so recording needs no lock; read by thread 0 once all have stopped.
std::vector<std::vector<double>> latencies_us;

std::string BenchDirectory() {
  const char* configured = std::getenv("SLUICE_WAL_BENCH_DIR");
  return configured != nullptr ? configured : (std::filesystem::current_path() / "wal-bench");
}

void SetUp(const benchmark::State& state) {
  std::filesystem::remove_all(BenchDirectory());
  auto log = WriteAheadLog::Open({BenchDirectory()});
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.error().ToString().c_str());
    std::abort();
  }
  bench_log = std::move(*log);
  latencies_us.assign(static_cast<size_t>(state.threads()), {});
}

void TearDown(const benchmark::State&) {
  bench_log.reset();
  std::filesystem::remove_all(BenchDirectory());
}

double Percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<size_t>(fraction * static_cast<double>(sorted.size() - 1))];
}

void BM_Append(benchmark::State& state) {
  const std::string payload(150, 'x');
  std::vector<double>& mine = latencies_us[static_cast<size_t>(state.thread_index())];
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto sequence = bench_log->Append(payload);
    auto end = std::chrono::steady_clock::now();
    if (!sequence.ok()) {
      state.SkipWithError(sequence.error().ToString().c_str());
      break;
    }
    mine.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  state.SetItemsProcessed(state.iterations());
  // The loop ends at a barrier of all threads, so every thread's latencies are complete here.
  if (state.thread_index() == 0) {
    std::vector<double> all;
    for (const auto& thread : latencies_us) all.insert(all.end(), thread.begin(), thread.end());
    std::sort(all.begin(), all.end());
    state.counters["p50_us"] = Percentile(all, 0.50);
    state.counters["p99_us"] = Percentile(all, 0.99);
    state.counters["appends_per_sync"] =
        static_cast<double>(all.size()) / static_cast<double>(bench_log->sync_count());
  }
}

BENCHMARK(BM_Append)
    ->Setup(SetUp)
    ->Teardown(TearDown)
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->UseRealTime();

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
