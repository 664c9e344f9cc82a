// What counting the embedded engine's statements costs (the query-log counters of
// docs/metrics.md): the same inserts and small queries run without an observer (the baseline)
// and with one, in one process on one engine, and the time per statement of each. With an
// observer, every statement is followed by a reading of system.events.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "warehouse/embedded_warehouse.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Runs `rounds` inserts of `rows` rows and as many one-row queries; returns seconds.
double Round(sluice::EmbeddedWarehouse& warehouse, int rounds, size_t rows, int first_round) {
  sluice::DataType type = *sluice::ParseDataType("UInt64");
  auto start = Clock::now();
  for (int round = 0; round < rounds; ++round) {
    sluice::Batch batch(sluice::Schema{{"x", type}});
    for (size_t row = 0; row < rows; ++row) batch.column(0).AppendFixed<uint64_t>(row);
    sluice::InsertRequest request{"default", "t", &batch,
                                  "bench-" + std::to_string(first_round + round)};
    if (auto inserted = warehouse.Insert(request); !inserted.ok()) {
      std::fprintf(stderr, "%s\n", inserted.error().ToString().c_str());
      return -1;
    }
    if (auto counted = warehouse.Query("SELECT count() FROM t", "TabSeparated"); !counted.ok())
      return -1;
  }
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::stoi(argv[1]) : 200;
  size_t rows = argc > 2 ? std::stoul(argv[2]) : 1000;
  std::string folder = std::filesystem::temp_directory_path() /
                       ("sluice-observer-bench-" + std::to_string(::getpid()));
  auto opened = sluice::EmbeddedWarehouse::Open(folder);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  auto warehouse = std::move(opened).value();
  if (!warehouse->Execute("CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x").ok()) return 1;

  Round(*warehouse, 20, rows, 0);  // warm-up
  double baseline = Round(*warehouse, rounds, rows, 1000);
  uint64_t observed = 0, read_bytes = 0;
  warehouse->ObserveQueries([&](const sluice::QueryRecord& query) {
    ++observed;
    read_bytes += query.bytes_read;
  });
  double with_observer = Round(*warehouse, rounds, rows, 2000);
  warehouse->ObserveQueries(nullptr);
  double baseline_again = Round(*warehouse, rounds, rows, 3000);

  // A round: the insert, the insert's check of the table's views, one count().
  double statements = 3.0 * rounds;
  std::printf("%d rounds of an insert of %zu rows and a count() query, per statement:\n", rounds,
              rows);
  std::printf("  %-28s %8.3f ms\n", "no observer", baseline / statements * 1000);
  std::printf("  %-28s %8.3f ms  (%llu statements seen, %llu bytes read)\n", "observer",
              with_observer / statements * 1000, static_cast<unsigned long long>(observed),
              static_cast<unsigned long long>(read_bytes));
  std::printf("  %-28s %8.3f ms\n", "no observer (again)", baseline_again / statements * 1000);
  warehouse.reset();
  std::filesystem::remove_all(folder);
  return 0;
}
