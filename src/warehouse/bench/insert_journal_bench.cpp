// What the insert journal adds to an insert into the embedded engine: inserts of 10 000 rows
// without a token (no journal) against inserts with one (journal noted before, cleared after),
// alternating tables among 20 MergeTree tables, in the same run. Also the journal's own work
// alone (block marks of the 20 tables, two rewrites of the file). The engine's folder is
// $SLUICE_JOURNAL_BENCH_DIR or ./insert-journal-bench.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

constexpr int kTables = 20;

std::string BenchDirectory() {
  const char* configured = std::getenv("SLUICE_JOURNAL_BENCH_DIR");
  return configured != nullptr ? configured
                               : (std::filesystem::current_path() / "insert-journal-bench");
}

EmbeddedWarehouse& Warehouse() {
  static std::unique_ptr<EmbeddedWarehouse> warehouse = [] {
    std::filesystem::remove_all(BenchDirectory());
    auto opened = EmbeddedWarehouse::Open(BenchDirectory());
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
      std::abort();
    }
    for (int t = 0; t < kTables; ++t) {
      Status created = (*opened)->Execute("CREATE TABLE t" + std::to_string(t) +
                                          " (id UInt64) ENGINE = MergeTree ORDER BY id "
                                          "SETTINGS non_replicated_deduplication_window = 1000");
      if (!created.ok()) std::abort();
    }
    return std::move(opened).value();
  }();
  return *warehouse;
}

Batch Rows() {
  Batch batch({{"id", *ParseDataType("UInt64")}});
  for (uint64_t i = 0; i < 10'000; ++i) batch.column(0).AppendFixed<uint64_t>(i);
  return batch;
}

void Insert(benchmark::State& state, bool with_token) {
  EmbeddedWarehouse& warehouse = Warehouse();
  Batch rows = Rows();
  static uint64_t next = 0;
  for (auto _ : state) {
    uint64_t n = next++;
    std::string token = with_token ? "bench/t/" + std::to_string(n) : "";
    auto inserted = warehouse.Insert({"default", "t" + std::to_string(n % kTables), &rows, token});
    if (!inserted.ok()) state.SkipWithError(inserted.error().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_InsertWithoutToken(benchmark::State& state) {
  Insert(state, false);
}
void BM_InsertWithTokenAndJournal(benchmark::State& state) {
  Insert(state, true);
}

void BM_JournalAlone(benchmark::State& state) {
  EmbeddedWarehouse& warehouse = Warehouse();
  std::vector<std::pair<std::string, std::string>> folders;
  auto paths = warehouse.Query(
      "SELECT database || '.' || name, arrayJoin(data_paths) FROM system.tables "
      "WHERE database = 'default'",
      "TabSeparated");
  for (const std::string& line : SplitLines(paths->data)) {
    folders.emplace_back(line.substr(0, line.find('\t')), line.substr(line.find('\t') + 1));
  }
  BlockMarkReader reader(folders);
  auto journal = InsertJournal::Load(BenchDirectory() + "/bench-journal");
  uint64_t n = 0;
  for (auto _ : state) {
    std::string token = "bench/alone/" + std::to_string(n++);
    (void)journal->Begin(token, token, reader.Read());
    (void)journal->Finish(token);
  }
  state.SetItemsProcessed(state.iterations());
}

// Run with --benchmark_enable_random_interleaving=true so that both kinds of insert meet the
// same parts and merges.
BENCHMARK(BM_InsertWithoutToken)->Iterations(300)->Repetitions(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InsertWithTokenAndJournal)
    ->Iterations(300)
    ->Repetitions(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JournalAlone)->Iterations(3000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
