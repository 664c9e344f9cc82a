// Kafka consumption against a bare librdkafka consumer, in the same run against the same
// cluster: kcat draining a topic, KafkaSource polling and decoding the same messages into
// batches, and the whole path `sluice run` takes (SourceJobs: KafkaSource, validation,
// checkpointed inserts into the raw table of the embedded ClickHouse). The cluster is
// librdkafka's mock cluster (tests/fixtures/kafka_mock_cluster.cpp): no Kafka broker is
// packaged for Debian.
//
// Usage: kafka_source_bench [--messages N] [--partitions P] [--rounds R] [--readers LIST]
// LIST: a comma-separated subset of kcat,decode,table,table-by-query (default
// kcat,decode,table), e.g. to profile one. table-by-query is the raw-table path observed with
// count() queries every 10 ms, as the bench did at first (see Pipeline).
// The mock cluster keeps only ~5 MiB per partition, so N is spread over P partitions. The three
// readers take turns R times (so load from other programs hits all of them alike); each reader
// is timed from its first data to its last and must count every message (checked); the table
// prints every round and the medians.

#include <fmt/format.h>
#include <stdio.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "../tests/e2e/test_support.h"
#include "../tests/fixtures/kafka_test_cluster.h"
#include "config/spec_loader.h"
#include "metrics/metric_registry.h"
#include "runtime/source_jobs.h"
#include "sources/kafka/kafka_source.h"
#include "warehouse/embedded_warehouse.h"
#include "warehouse/migration.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

/// CPU seconds (user + system) of this process (`who` RUSAGE_SELF) or of its waited-for
/// children (RUSAGE_CHILDREN).
double CpuSeconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

sluice::DataType Type(std::string_view text) {
  return sluice::ParseDataType(text).value();
}

/// Messages read and the seconds from the first to the last.
struct Drained {
  long messages = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // of every thread of the reader's process(es), start to end
  double PerCpuSecond() const {
    return cpu_seconds > 0 ? static_cast<double>(messages) / cpu_seconds : 0;
  }
  double Rate() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}

/// kcat as a simple consumer (no group) writing each value as a line, read here line by line.
Drained Kcat(const std::string& bootstrap) {
  std::string command = fmt::format("kcat -C -b {} -t events -o beginning -e -q", bootstrap);
  double cpu = CpuSeconds(RUSAGE_CHILDREN);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) Fail("kcat did not start");
  std::vector<char> line(1 << 16);
  Drained drained;
  Clock::time_point first;
  while (std::fgets(line.data(), static_cast<int>(line.size()), pipe) != nullptr) {
    if (drained.messages++ == 0) first = Clock::now();
  }
  drained.seconds = Seconds(Clock::now() - first);
  ::pclose(pipe);
  drained.cpu_seconds = CpuSeconds(RUSAGE_CHILDREN) - cpu;
  return drained;
}

/// KafkaSource alone: a group member decoding the 7 JSON fields into columns.
Drained SourceOnly(const std::string& bootstrap, int round, long messages) {
  sluice::KafkaSourceSpec spec;
  spec.brokers = {bootstrap};
  spec.topics = {"events"};
  spec.group_id = fmt::format("decode-{}", round);
  spec.start = "earliest";
  std::vector<sluice::DecodeField> fields = {
      {"event_id", Type("String"), {"event_id"}, true, std::nullopt},
      {"user_id", Type("UInt64"), {"user_id"}, false, std::nullopt},
      {"event", Type("LowCardinality(String)"), {"event"}, false, std::nullopt},
      {"url", Type("String"), {"url"}, false, std::nullopt},
      {"ts", Type("DateTime64(3)"), {"ts"}, false, std::nullopt},
      {"amount", Type("Decimal(18, 2)"), {"amount"}, false, std::nullopt},
      {"country", Type("LowCardinality(String)"), {"country"}, false, std::nullopt}};
  sluice::KafkaSource source("bench", spec, 65536, fields);
  double cpu = CpuSeconds(RUSAGE_SELF);
  if (!source.Open().ok()) Fail("KafkaSource did not open");
  Drained drained;
  Clock::time_point first;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (drained.messages < messages && Clock::now() < deadline) {
    sluice::Batch out(source.schema());
    std::vector<sluice::DeadLetter> dead_letters;
    if (!source.Poll(out, dead_letters).ok()) Fail("KafkaSource poll failed");
    long got = static_cast<long>(out.num_rows() + dead_letters.size());
    if (drained.messages == 0 && got > 0) first = Clock::now();
    drained.messages += static_cast<long>(out.num_rows());
  }
  drained.seconds = Seconds(Clock::now() - first);
  drained.cpu_seconds = CpuSeconds(RUSAGE_SELF) - cpu;
  return drained;
}

/// The spec `sluice run` would run: topic -> validated raw table, checkpoints every 200 ms.
std::string PipelineSpecText(const std::string& bootstrap, const std::string& folder, int round) {
  return fmt::format(R"(pipeline: kafka_bench_{0}
warehouse:
  path: {1}/unused
checkpoint:
  path: {1}/checkpoints-{0}
  interval: 200ms
tables:
  events_{0}:
    columns:
      - {{name: event_id, type: String}}
      - {{name: user_id, type: UInt64}}
      - {{name: event, type: LowCardinality(String)}}
      - {{name: url, type: String}}
      - {{name: ts, type: 'DateTime64(3)'}}
      - {{name: amount, type: 'Decimal(18, 2)'}}
      - {{name: country, type: LowCardinality(String)}}
    order_by: [user_id, ts]
streams:
  events_{0}:
    fields:
      - {{name: event_id, required: true}}
      - {{name: user_id, required: true}}
      - {{name: event, required: true}}
      - {{name: url, regex: '/.*'}}
      - {{name: ts, required: true}}
      - {{name: amount}}
      - {{name: country}}
sources:
  events_{0}:
    type: kafka
    stream: events_{0}
    batch_rows: 65536
    kafka:
      brokers: {2}
      topics: [events]
      group_id: pipeline-{0}
      start: earliest
)",
                     round, folder, bootstrap);
}

uint64_t Count(sluice::Warehouse& warehouse, const std::string& table) {
  auto result = warehouse.Query("SELECT count() FROM " + table, "TabSeparated");
  if (!result.ok()) Fail(result.error().ToString());
  return std::stoull(result->data);
}

/// SourceJobs as `sluice run` starts them; timed from the first rows committed into the table
/// to the last (both seen at a checkpoint's commit, so the measure is from checkpoint to
/// checkpoint). The rows committed are read from the receipt-latency histogram the job observes
/// after each insert (a lock-free counter); `by_query` instead asks ClickHouse for count() every
/// 10 ms, as the bench did at first: those queries run in this process on the same cores, which
/// costs the pipeline CPU and wall time that is not its own.
Drained Pipeline(const std::string& bootstrap, const std::string& folder, int round, long messages,
                 sluice::Warehouse& warehouse, bool by_query) {
  auto loaded =
      sluice::LoadSpecText(PipelineSpecText(bootstrap, folder, round), "bench.yaml", folder);
  if (!loaded.ok()) Fail(loaded.errors.front().ToString());
  const sluice::PipelineSpec& spec = *loaded.spec;
  auto plan = sluice::PlanMigration(warehouse, spec);
  if (!plan.ok()) Fail(plan.error().ToString());
  if (auto applied = sluice::ApplyMigration(warehouse, *plan, false); !applied.ok()) {
    Fail(applied.error().ToString());
  }
  sluice::MetricRegistry metrics;
  std::string table = fmt::format("events_{}", round);
  const sluice::Histogram& committed =
      metrics.GetHistogram(sluice::Metric::kEndToEndLatency, {spec.name, table, "receipt"});
  auto rows_committed = [&]() -> long {
    if (by_query) return static_cast<long>(Count(warehouse, table));
    return static_cast<long>(committed.Read().cumulative.back());
  };
  double cpu = CpuSeconds(RUSAGE_SELF);
  auto jobs = sluice::SourceJobs::Start(spec, warehouse, metrics);
  if (!jobs.ok()) Fail(jobs.error().ToString());
  Drained drained;
  Clock::time_point first;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (drained.messages < messages && Clock::now() < deadline) {
    long rows = rows_committed();
    if (drained.messages == 0 && rows > 0) first = Clock::now();
    drained.messages = rows;
    if (rows < messages) std::this_thread::sleep_for(std::chrono::milliseconds(by_query ? 10 : 2));
  }
  drained.seconds = Seconds(Clock::now() - first);
  drained.cpu_seconds = CpuSeconds(RUSAGE_SELF) - cpu;
  if (auto stopped = (*jobs)->Stop(); !stopped.ok()) Fail(stopped.error().ToString());
  // Whatever the observer, the table itself must hold every message.
  drained.messages = static_cast<long>(Count(warehouse, table));
  return drained;
}

bool Runs(const std::string& readers, const std::string& reader) {
  return ("," + readers + ",").find("," + reader + ",") != std::string::npos;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  long messages = 400000;
  int partitions = 16;
  int rounds = 3;
  std::string readers = "kcat,decode,table";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--messages") messages = std::atol(argv[i + 1]);
    if (arg == "--partitions") partitions = std::atoi(argv[i + 1]);
    if (arg == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (arg == "--readers") readers = argv[i + 1];
  }
  sluice::testing_support::TempDir dir("sluice-kafka-bench");
  sluice::testing_support::KafkaTestCluster cluster(dir.path(), {{"events", partitions}});

  std::vector<sluice::testing_support::KafkaTestCluster::Message> batch;
  static const char* kEvents[] = {"page_view", "add_to_cart", "purchase", "search"};
  size_t bytes = 0;
  for (long i = 0; i < messages; ++i) {
    batch.push_back(
        {.topic = "events",
         .partition = static_cast<int>(i % partitions),
         .value = fmt::format(R"({{"event_id":"e-{:012d}","user_id":{},"event":"{}",)"
                              R"("url":"/products/{}","ts":"2024-05-01T12:{:02d}:{:02d}.{:03d}Z",)"
                              R"("amount":{}.{:02d},"country":"DE"}})",
                              i, i % 100000, kEvents[i % 4], i % 5000, (i / 60) % 60, i % 60,
                              i % 1000, i % 500, i % 100)});
    bytes += batch.back().value->size();
    if (batch.size() == 100000) {
      cluster.Produce(batch);
      batch.clear();
    }
  }
  cluster.Produce(batch);
  batch.clear();
  std::printf("%ld messages of %.0f bytes on average in %d partitions, %d rounds\n\n", messages,
              static_cast<double>(bytes) / static_cast<double>(messages), partitions, rounds);

  std::string folder = dir.path().string();
  auto opened = sluice::EmbeddedWarehouse::Open(folder + "/warehouse");
  if (!opened.ok()) Fail(opened.error().ToString());
  auto warehouse = std::move(opened).value();

  std::printf(
      "| round | kcat events/s | KafkaSource decode events/s | Kafka -> validated raw table "
      "events/s | decode / kcat | raw table / kcat |\n|---|---:|---:|---:|---:|---:|\n");
  std::vector<double> kcat_rates;
  std::vector<double> decode_rates;
  std::vector<double> pipeline_rates;
  std::vector<double> kcat_cpu;
  std::vector<double> decode_cpu;
  std::vector<double> pipeline_cpu;
  bool counts_ok = true;
  for (int round = 1; round <= rounds; ++round) {
    // A reader left out counts as having read everything in no time.
    Drained skipped{messages, 1, 1};
    Drained kcat = Runs(readers, "kcat") ? Kcat(cluster.bootstrap()) : skipped;
    Drained decode =
        Runs(readers, "decode") ? SourceOnly(cluster.bootstrap(), round, messages) : skipped;
    Drained pipeline = Runs(readers, "table") ? Pipeline(cluster.bootstrap(), folder, round,
                                                         messages, *warehouse, false)
                                              : skipped;
    if (Runs(readers, "table-by-query")) {
      Drained by_query =
          Pipeline(cluster.bootstrap(), folder, round + 1000, messages, *warehouse, true);
      std::printf(
          "| %d, table observed by count() queries | | | %.0f (%.0f per CPU s) | | %.0f %% |\n",
          round, by_query.Rate(), by_query.PerCpuSecond(), 100 * by_query.Rate() / kcat.Rate());
      counts_ok = counts_ok && by_query.messages == messages;
    }
    counts_ok = counts_ok && kcat.messages == messages && decode.messages == messages &&
                pipeline.messages == messages;
    if (!counts_ok) {
      std::printf("COUNT MISMATCH in round %d: produced %ld, kcat %ld, decode %ld, table %ld\n",
                  round, messages, kcat.messages, decode.messages, pipeline.messages);
    }
    kcat_rates.push_back(kcat.Rate());
    decode_rates.push_back(decode.Rate());
    pipeline_rates.push_back(pipeline.Rate());
    std::printf("| %d | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n", round, kcat.Rate(),
                decode.Rate(), pipeline.Rate(), 100 * decode.Rate() / kcat.Rate(),
                100 * pipeline.Rate() / kcat.Rate());
    std::printf("| %d, per CPU second | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n", round,
                kcat.PerCpuSecond(), decode.PerCpuSecond(), pipeline.PerCpuSecond(),
                100 * decode.PerCpuSecond() / kcat.PerCpuSecond(),
                100 * pipeline.PerCpuSecond() / kcat.PerCpuSecond());
    kcat_cpu.push_back(kcat.PerCpuSecond());
    decode_cpu.push_back(decode.PerCpuSecond());
    pipeline_cpu.push_back(pipeline.PerCpuSecond());
    std::fflush(stdout);
  }
  double kcat_median = Median(kcat_rates);
  std::printf("| median | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n", kcat_median,
              Median(decode_rates), Median(pipeline_rates),
              100 * Median(decode_rates) / kcat_median, 100 * Median(pipeline_rates) / kcat_median);
  double kcat_cpu_median = Median(kcat_cpu);
  std::printf("| median, per CPU second | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n",
              kcat_cpu_median, Median(decode_cpu), Median(pipeline_cpu),
              100 * Median(decode_cpu) / kcat_cpu_median,
              100 * Median(pipeline_cpu) / kcat_cpu_median);
  warehouse.reset();
  return counts_ok ? 0 : 1;
}
