// PostgreSQL into the embedded ClickHouse: the CDC source's initial snapshot against
// ClickHouse's own postgresql() table function on the same table in the same run, then the
// rate at which streamed changes are decoded and written. Starts its own PostgreSQL 15.
//
//   postgres_cdc_bench [--rows N] [--changes M] [--parallelism P (0: half the cores)] [--lag-rate R]
//                      [--lag-seconds S] [--batch-rows B (the source's batch_rows, 65536)]
//                      [--snapshot-batch-rows B (postgres.snapshot_batch_rows, 1048576)]
//
// Then the lag from commit to ClickHouse at a steady offered load of R rows/s for S seconds.

#include <sys/resource.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "postgres_server.h"
#include "sources/pg_connection.h"
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

/// CPU seconds of every thread of this process (the embedded ClickHouse included).
double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Polls until `done` holds, inserting every batch; returns the rows handed out.
template <typename Done, typename Inserted = void (*)(uint64_t)>
uint64_t Drive(
    sluice::PostgresCdcSource& source, sluice::Warehouse& warehouse, Done done, DriveStats& stats,
    Inserted inserted_rows = [](uint64_t) {}) {
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
    inserted_rows(rows);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  uint64_t changes = 200000;
  uint32_t parallelism = sluice::PostgresCdcSpec{}.snapshot_parallelism;
  uint64_t lag_rate = 75000;
  uint64_t lag_seconds = 10;
  uint32_t batch_rows = 65536;
  uint32_t snapshot_batch_rows = sluice::PostgresCdcSpec{}.snapshot_batch_rows;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") rows = std::stoull(argv[i + 1]);
    if (flag == "--changes") changes = std::stoull(argv[i + 1]);
    if (flag == "--parallelism") parallelism = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    if (flag == "--lag-rate") lag_rate = std::stoull(argv[i + 1]);
    if (flag == "--lag-seconds") lag_seconds = std::stoull(argv[i + 1]);
    if (flag == "--batch-rows") batch_rows = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    if (flag == "--snapshot-batch-rows") {
      snapshot_batch_rows = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    }
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
    spec.snapshot_batch_rows = snapshot_batch_rows;
    sluice::PostgresCdcSource source("bench", spec, batch_rows, warehouse.get());

    // 1. The snapshot through sluice.
    auto start = Clock::now();
    double cpu_start = ProcessCpuSeconds();
    if (auto status = source.Open(); !status.ok()) {
      std::fprintf(stderr, "%s\n", status.error().ToString().c_str());
      return 1;
    }
    DriveStats snapshot_stats;
    uint64_t copied = Drive(
        source, *warehouse, [&](uint64_t) { return source.Position().rfind("stream:", 0) == 0; },
        snapshot_stats);
    double sluice_seconds = Seconds(start);
    double sluice_cpu = ProcessCpuSeconds() - cpu_start;
    std::string stored = Scalar(*warehouse, "SELECT count() FROM big");

    // 2. The same table through ClickHouse's postgresql() table function.
    Scalar(*warehouse,
           "CREATE TABLE big_direct (id Int64, name Nullable(String), amount "
           "Nullable(Decimal(12, 2)), at Nullable(DateTime64(6, 'UTC')), flag Nullable(Bool)) "
           "ENGINE = MergeTree ORDER BY id");
    start = Clock::now();
    cpu_start = ProcessCpuSeconds();
    Scalar(*warehouse, "INSERT INTO big_direct SELECT * FROM postgresql('127.0.0.1:" +
                           std::to_string(server.port()) + "', 'postgres', 'big', 'postgres', '')");
    double direct_seconds = Seconds(start);
    double direct_cpu = ProcessCpuSeconds() - cpu_start;
    std::string direct = Scalar(*warehouse, "SELECT count() FROM big_direct");
    std::printf(
        "snapshot  sluice (%u connections): %llu rows (%s stored) in %.2f s = %.0f rows/s\n",
        sluice::SnapshotParallelism(spec), static_cast<unsigned long long>(copied),
        stored.c_str(), sluice_seconds,
        static_cast<double>(copied) / sluice_seconds);
    std::printf(
        "          (%llu inserts taking %.2f s; polls %.2f s, %.2f s CPU; process CPU %.2f s)\n",
        static_cast<unsigned long long>(snapshot_stats.inserts), snapshot_stats.insert_seconds,
        snapshot_stats.poll_seconds, snapshot_stats.poll_cpu_seconds, sluice_cpu);
    std::printf(
        "snapshot  ClickHouse postgresql(): %s rows in %.2f s = %.0f rows/s (process CPU %.2f s)\n",
        direct.c_str(), direct_seconds, std::stod(direct) / direct_seconds, direct_cpu);

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
    // Logical decoding keeps a transaction in memory up to logical_decoding_work_mem, then
    // spills it to disk in the walsender: a cost on the server side of the stream.
    auto spilled =
        server.Query("SELECT spill_txns, spill_bytes, total_txns FROM pg_stat_replication_slots");
    if (!spilled.empty()) {
      std::printf("          (slot: spilled transactions, bytes, transactions: %s)\n",
                  spilled.front().c_str());
    }

    // 4. Lag at a steady offered load: a transaction of lag_rate / 10 inserted rows every
    // 100 ms; each one's lag is from its COMMIT returning to its last row inserted into
    // ClickHouse (rows arrive in commit order, so the running count tells which are in).
    if (lag_seconds > 0 && lag_rate > 0) {
      auto writer_connection = sluice::PgConnection::Connect(
          server.dsn(), false, sluice::ErrorCode::kPgConnectionFailed, "bench");
      if (!writer_connection.ok()) {
        std::fprintf(stderr, "%s\n", writer_connection.error().ToString().c_str());
        return 1;
      }
      uint64_t per_transaction = std::max<uint64_t>(lag_rate / 10, 1);
      uint64_t transactions = lag_seconds * 10;
      std::mutex mutex;
      std::vector<std::pair<uint64_t, Clock::time_point>> committed;  // rows so far, when
      uint64_t first_id = rows + changes / 2 + 1;
      auto writing = Clock::now();
      std::thread writer([&] {
        auto tick = Clock::now();
        for (uint64_t t = 0; t < transactions; ++t) {
          uint64_t from = first_id + t * per_transaction;
          auto done = (*writer_connection)
                          ->Exec(
                              "INSERT INTO big SELECT i, 'lag', 1, now(), true FROM "
                              "generate_series(" +
                              std::to_string(from) + ", " +
                              std::to_string(from + per_transaction - 1) + ") i");
          if (!done.ok()) {
            std::fprintf(stderr, "%s\n", done.error().ToString().c_str());
            std::exit(1);
          }
          {
            std::lock_guard lock(mutex);
            committed.emplace_back((t + 1) * per_transaction, Clock::now());
          }
          tick += std::chrono::milliseconds(100);
          std::this_thread::sleep_until(tick);
        }
      });
      std::vector<double> lags;
      DriveStats lag_stats;
      uint64_t total = per_transaction * transactions;
      Drive(
          source, *warehouse, [&](uint64_t got) { return got >= total; }, lag_stats,
          [&](uint64_t got) {
            auto now = Clock::now();
            std::lock_guard lock(mutex);
            while (lags.size() < committed.size() && committed[lags.size()].first <= got) {
              lags.push_back(
                  std::chrono::duration<double>(now - committed[lags.size()].second).count());
            }
          });
      double offered_seconds = Seconds(writing);
      writer.join();
      std::vector<double> sorted = lags;
      std::sort(sorted.begin(), sorted.end());
      auto quantile = [&](double q) {
        return sorted.empty()
                   ? 0.0
                   : sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))];
      };
      std::printf(
          "lag       %llu rows offered at %llu rows/s (%llu transactions, all in ClickHouse "
          "after %.2f s): commit to ClickHouse median %.2f s, p95 %.2f s, max %.2f s\n",
          static_cast<unsigned long long>(total), static_cast<unsigned long long>(lag_rate),
          static_cast<unsigned long long>(transactions), offered_seconds, quantile(0.5),
          quantile(0.95), sorted.empty() ? 0.0 : sorted.back());
      std::printf("          (%llu inserts taking %.2f s; polls %.2f s, %.2f s CPU)\n",
                  static_cast<unsigned long long>(lag_stats.inserts), lag_stats.insert_seconds,
                  lag_stats.poll_seconds, lag_stats.poll_cpu_seconds);
    }
  }
  warehouse.reset();
  std::filesystem::remove_all(folder);
  return 0;
}
