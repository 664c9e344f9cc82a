// Kafka consumption: kcat draining a topic versus KafkaSource polling and decoding the same
// messages into batches, in the same run against the same cluster. The cluster is librdkafka's
// mock cluster (tests/fixtures/kafka_mock_cluster.cpp): no Kafka broker is packaged for Debian.
//
// Usage: kafka_source_bench [--messages N] [--partitions P]
// The mock cluster keeps only ~5 MiB per partition, so N is spread over P partitions and both
// readers must count every message (checked).

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../tests/e2e/test_support.h"
#include "../tests/fixtures/kafka_test_cluster.h"
#include "sources/kafka/kafka_source.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

sluice::DataType Type(std::string_view text) {
  return sluice::ParseDataType(text).value();
}

}  // namespace

int main(int argc, char** argv) {
  int messages = 200000;
  int partitions = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--messages") messages = std::atoi(argv[i + 1]);
    if (arg == "--partitions") partitions = std::atoi(argv[i + 1]);
  }
  sluice::testing_support::TempDir dir("sluice-kafka-bench");
  sluice::testing_support::KafkaTestCluster cluster(dir.path(), {{"events", partitions}});

  std::vector<sluice::testing_support::KafkaTestCluster::Message> batch;
  static const char* kEvents[] = {"page_view", "add_to_cart", "purchase", "search"};
  for (int i = 0; i < messages; ++i) {
    batch.push_back(
        {.topic = "events",
         .partition = i % partitions,
         .value = fmt::format(R"({{"event_id":"e-{:012d}","user_id":{},"event":"{}",)"
                              R"("url":"/products/{}","ts":"2024-05-01T12:{:02d}:{:02d}.{:03d}Z",)"
                              R"("amount":{}.{:02d},"country":"DE"}})",
                              i, i % 100000, kEvents[i % 4], i % 5000, (i / 60) % 60, i % 60,
                              i % 1000, i % 500, i % 100)});
  }
  size_t bytes = 0;
  for (const auto& message : batch) bytes += message.value->size();
  cluster.Produce(batch);
  batch.clear();
  std::printf("%d messages of %.0f bytes on average in %d partitions\n\n", messages,
              static_cast<double>(bytes) / messages, partitions);

  // (a) kcat: a simple consumer (no group), printing each value as a line.
  auto kcat_start = Clock::now();
  auto kcat = sluice::testing_support::RunShell(
      fmt::format("kcat -C -b {} -t events -o beginning -e -q | wc -l", cluster.bootstrap()));
  double kcat_seconds = Seconds(Clock::now() - kcat_start);
  long kcat_count = std::atol(kcat.out.c_str());

  // (b) KafkaSource: a group member decoding the 7 JSON fields into columns.
  sluice::KafkaSourceSpec spec;
  spec.brokers = {cluster.bootstrap()};
  spec.topics = {"events"};
  spec.group_id = "bench";
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
  auto open_start = Clock::now();
  if (!source.Open().ok()) return 1;
  long rows = 0;
  long dead = 0;
  Clock::time_point first_data;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (rows + dead < messages && Clock::now() < deadline) {
    sluice::Batch out(source.schema());
    std::vector<sluice::DeadLetter> dead_letters;
    if (!source.Poll(out, dead_letters).ok()) return 1;
    if (rows + dead == 0 && out.num_rows() + dead_letters.size() > 0) first_data = Clock::now();
    rows += static_cast<long>(out.num_rows());
    dead += static_cast<long>(dead_letters.size());
  }
  auto done = Clock::now();
  double join_seconds = Seconds(first_data - open_start);
  double source_seconds = Seconds(done - first_data);

  std::printf("| reader | messages | seconds | events/s |\n|---|---:|---:|---:|\n");
  std::printf("| kcat -C -e (no group, values to wc -l) | %ld | %.2f | %.0f |\n", kcat_count,
              kcat_seconds, kcat_count / kcat_seconds);
  std::printf("| KafkaSource poll + JSON decode, after the group join | %ld | %.2f | %.0f |\n",
              rows + dead, source_seconds, (rows + dead) / source_seconds);
  std::printf(
      "\nKafkaSource / kcat: %.0f %%; group join (mock cluster's first-join delay) %.2f s; "
      "dead letters %ld\n",
      100.0 * ((rows + dead) / source_seconds) / (kcat_count / kcat_seconds), join_seconds, dead);
  if (kcat_count != messages || rows != messages) {
    std::printf("COUNT MISMATCH: produced %d, kcat %ld, source rows %ld\n", messages, kcat_count,
                rows);
    return 1;
  }
  return 0;
}
