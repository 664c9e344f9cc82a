// PostgreSQL into the embedded ClickHouse: the CDC source's initial snapshot against
// ClickHouse's own postgresql() table function on the same table in the same run, then the
// rate at which streamed changes are decoded and written. Starts its own PostgreSQL 15.
//
//   postgres_cdc_bench [--rows N] [--changes M] [--parallelism P]

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "postgres_server.h"
#include "sources/postgres_cdc/postgres_cdc_source.h"
#include "warehouse/embedded_warehouse.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Scalar(sluice::Warehouse& warehouse, const std::string& sql) {
  auto result = warehouse.Query(sql, "TabSeparated");
  if (!result.ok()) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), result.error().ToString().c_str());
    std::exit(1);
  }
  return result->data.substr(0, result->data.find('\n'));
}

/// Where a Drive spent its time: the inserts, and how many batches they took.
struct DriveStats {
  uint64_t inserts = 0;
  double insert_seconds = 0;
  double poll_seconds = 0;
  double poll_cpu_seconds = 0;  // of the polling thread: the rest of poll_seconds is waiting
};

double ThreadCpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

/// Polls until `done` holds, inserting every batch; returns the rows handed out.
template <typename Done>
uint64_t Drive(sluice::PostgresCdcSource& source, sluice::Warehouse& warehouse, Done done,
               DriveStats& stats) {
  uint64_t rows = 0;
  while (!done(rows)) {
    sluice::Batch batch(sluice::Schema{});
    std::vector<sluice::DeadLetter> letters;
    auto polling = Clock::now();
    double cpu = ThreadCpuSeconds();
    auto polled = source.Poll(batch, letters);
    stats.poll_cpu_seconds += ThreadCpuSeconds() - cpu;
    stats.poll_seconds += Seconds(polling);
    if (!polled.ok()) {
      std::fprintf(stderr, "poll: %s\n", polled.error().ToString().c_str());
      std::exit(1);
    }
    if (batch.num_rows() == 0) continue;
    auto inserting = Clock::now();
    auto inserted = warehouse.Insert({"default", source.LastPollTable(), &batch, ""});
    stats.insert_seconds += Seconds(inserting);
    ++stats.inserts;
    if (!inserted.ok()) {
      std::fprintf(stderr, "insert: %s\n", inserted.error().ToString().c_str());
      std::exit(1);
    }
    rows += batch.num_rows();
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  uint64_t changes = 200000;
  uint32_t parallelism = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") rows = std::stoull(argv[i + 1]);
    if (flag == "--changes") changes = std::stoull(argv[i + 1]);
    if (flag == "--parallelism") parallelism = static_cast<uint32_t>(std::stoul(argv[i + 1]));
  }
  sluice::testing::PostgresServer server;
  if (!server.Start()) {
    std::fprintf(stderr, "PostgreSQL did not start: %s\n", server.error().c_str());
    return 1;
  }
  auto loading = Clock::now();
  server.Execute(
      "CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12, 2), "
      "at timestamptz, flag bool)");
  server.Execute(
      "INSERT INTO big SELECT i, 'name ' || i, i * 0.01, "
      "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 ms', i % 3 = 0 "
      "FROM generate_series(1, " +
      std::to_string(rows) + ") i");
  server.Execute("VACUUM ANALYZE big");
  std::printf("loaded %llu rows into PostgreSQL in %.1f s\n", static_cast<unsigned long long>(rows),
              Seconds(loading));

  std::string folder =
      std::filesystem::temp_directory_path() / ("sluice-pg-bench-" + std::to_string(::getpid()));
  auto opened = sluice::EmbeddedWarehouse::Open(folder);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  auto warehouse = std::move(opened).value();
  {
    sluice::PostgresCdcSpec spec;
    spec.dsn = server.dsn();
    spec.tables = {"public.big"};
    spec.snapshot_parallelism = parallelism;
    sluice::PostgresCdcSource source("bench", spec, 65536, warehouse.get());

    // 1. The snapshot through sluice.
    auto start = Clock::now();
    if (auto status = source.Open(); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.error().ToString().c_str());
      return 1;
    }
    DriveStats snapshot_stats;
    uint64_t copied = Drive(
        source, *warehouse, [&](uint64_t) { return source.Position().rfind("stream:", 0) == 0; },
        snapshot_stats);
    double sluice_seconds = Seconds(start);
    std::string stored = Scalar(*warehouse, "SELECT count() FROM big");

    // 2. The same table through ClickHouse's postgresql() table function.
    Scalar(*warehouse,
           "CREATE TABLE big_direct (id Int64, name Nullable(String), amount "
           "Nullable(Decimal(12, 2)), at Nullable(DateTime64(6, 'UTC')), flag Nullable(Bool)) "
           "ENGINE = MergeTree ORDER BY id");
    start = Clock::now();
    Scalar(*warehouse, "INSERT INTO big_direct SELECT * FROM postgresql('127.0.0.1:" +
                           std::to_string(server.port()) + "', 'postgres', 'big', 'postgres', '')");
    double direct_seconds = Seconds(start);
    std::string direct = Scalar(*warehouse, "SELECT count() FROM big_direct");
    std::printf(
        "snapshot  sluice (%u connections): %llu rows (%s stored) in %.2f s = %.0f rows/s\n",
        parallelism, static_cast<unsigned long long>(copied), stored.c_str(), sluice_seconds,
        static_cast<double>(copied) / sluice_seconds);
    std::printf("          (%llu inserts taking %.2f s; polls %.2f s, %.2f s CPU)\n",
                static_cast<unsigned long long>(snapshot_stats.inserts),
                snapshot_stats.insert_seconds, snapshot_stats.poll_seconds,
                snapshot_stats.poll_cpu_seconds);
    std::printf("snapshot  ClickHouse postgresql(): %s rows in %.2f s = %.0f rows/s\n",
                direct.c_str(), direct_seconds, std::stod(direct) / direct_seconds);

    // 3. Streamed changes: inserts and updates committed, then decoded and written.
    server.Execute("INSERT INTO big SELECT i, 'new', 1, now(), true FROM generate_series(" +
                   std::to_string(rows + 1) + ", " + std::to_string(rows + changes / 2) + ") i");
    server.Execute("UPDATE big SET name = 'changed' WHERE id <= " + std::to_string(changes / 2));
    start = Clock::now();
    DriveStats stream_stats;
    uint64_t applied = Drive(
        source, *warehouse, [&](uint64_t got) { return got >= changes; }, stream_stats);
    double stream_seconds = Seconds(start);
    std::printf("stream    %llu changes decoded and written in %.2f s = %.0f rows/s\n",
                static_cast<unsigned long long>(applied), stream_seconds,
                static_cast<double>(applied) / stream_seconds);
    std::printf("          (%llu inserts taking %.2f s; polls %.2f s, %.2f s CPU)\n",
                static_cast<unsigned long long>(stream_stats.inserts), stream_stats.insert_seconds,
                stream_stats.poll_seconds, stream_stats.poll_cpu_seconds);
  }
  warehouse.reset();
  std::filesystem::remove_all(folder);
  return 0;
}
