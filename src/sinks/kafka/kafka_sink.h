#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/source.h"

namespace sluice {

/// Where a KafkaSink produces to.
struct KafkaSinkConfig {
  std::vector<std::string> brokers;
  std::string topic;
  /// A field whose value (as text) becomes the message key, so that rows with the same key land
  /// in the same partition; empty: no key.
  std::string key_field;
  /// The stream named in the `stream` field of forwarded dead letters.
  std::string stream;
  std::chrono::milliseconds flush_timeout{30000};
  /// Extra librdkafka producer properties, applied last.
  std::vector<std::pair<std::string, std::string>> properties;
};

/// Forwards rows (or dead letters) to a Kafka topic, one JSON object per message, with the
/// batch identity in the `sluice-identity` header so that consumers can drop replays. The
/// producer is idempotent: its own retries never duplicate. Flush returns only when every
/// message so far is acknowledged by the brokers, and reports any that was not.
class KafkaSink : public Sink, public DeadLetterSink {
 public:
  explicit KafkaSink(KafkaSinkConfig config);
  ~KafkaSink() override;

  /// Creates the producer; a bad property is a KAFKA_CLIENT_ERROR.
  Status Open();
  /// Queues one message per row; waits for room when the producer's queue is full.
  Status Write(const Batch& batch, const std::string& identity) override;
  /// Queues one message per dead letter: the dead-letter table's columns as JSON.
  Status Write(const std::vector<DeadLetter>& dead_letters, const std::string& identity) override;
  /// Waits for every delivery report; KAFKA_DELIVERY_FAILED names the first failure and how
  /// many failed since the last Flush.
  Status Flush() override;

  uint64_t delivered() const { return delivered_; }

 private:
  static void OnDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message, void* opaque);
  Status Produce(const std::string& value, const std::string& key, const std::string& identity);

  KafkaSinkConfig config_;
  rd_kafka_t* producer_ = nullptr;
  std::string line_;
  std::atomic<uint64_t> delivered_{0};
  std::mutex failure_mutex_;  // delivery reports arrive on the client's threads
  uint64_t failed_ = 0;
  std::string first_failure_;
};

/// Row `row` of `batch` as one JSON object: numbers and booleans bare, text, dates and UUIDs as
/// strings, NULL as null, arrays and tuples as arrays, maps as objects (keys as text).
std::string RowToJson(const Batch& batch, size_t row);

}  // namespace sluice
