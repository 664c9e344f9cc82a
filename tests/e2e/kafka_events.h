#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kafka_test_cluster.h"
#include "test_support.h"

namespace sluice::testing_support {

/// JSON events {"id", "user", "amount", "ts"} with consecutive ids on topic `events`; user u's
/// messages all go to partition u % partitions (the topic is partitioned by user, as an
/// aggregation keyed by user needs). Event times rise 5 ms per id, up to 1.5 s out of order,
/// and partition p lags partition 0 by p * `lag_per_partition_ms`.
class KafkaEventProducer {
 public:
  KafkaEventProducer(KafkaTestCluster& cluster, int users, int partitions,
                     int64_t lag_per_partition_ms = 0)
      : cluster_(cluster),
        users_(users),
        partitions_(partitions),
        lag_per_partition_ms_(lag_per_partition_ms) {}

  void Produce(int count) {
    std::vector<KafkaTestCluster::Message> messages;
    for (int i = 0; i < count; ++i, ++next_) {
      uint64_t user = next_ % static_cast<uint64_t>(users_);
      int32_t partition = static_cast<int32_t>(user % static_cast<uint64_t>(partitions_));
      int64_t ts = 1'700'000'000'000 + static_cast<int64_t>(next_) * 5 -
                   static_cast<int64_t>((next_ * 7919) % 1500) - partition * lag_per_partition_ms_;
      messages.push_back({.topic = "events",
                          .partition = partition,
                          .value = fmt::format(R"({{"id":{},"user":"u{}","amount":{},"ts":{}}})",
                                               next_, user, next_ % 1000, ts)});
    }
    cluster_.Produce(messages);
  }

  /// `chunk` messages every 20 ms for `duration`.
  void ProduceFor(std::chrono::milliseconds duration, int chunk) {
    auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
      Produce(chunk);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  KafkaTestCluster& cluster_;
  int users_;
  int partitions_;
  int64_t lag_per_partition_ms_;
  uint64_t next_ = 0;
};

}  // namespace sluice::testing_support
