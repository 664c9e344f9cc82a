// NatsSource against a real nats-server with JetStream, started by the test on loopback.

#include "sources/nats/nats_source.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "e2e/test_support.h"
#include "fixtures/nats_test_server.h"

namespace sluice {
namespace {

using testing_support::NatsTestServer;
using testing_support::TempDir;

class NatsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<NatsTestServer>(dir_.path());
    server_->AddStream("ORDERS", "orders.>");
  }

  std::unique_ptr<NatsSource> Source(uint32_t batch_rows = 1000) {
    NatsSourceSpec spec;
    spec.url = server_->url();
    spec.stream = "ORDERS";
    spec.consumer = "sluice";
    spec.ack_wait = std::chrono::seconds(1);
    spec.fetch_timeout = std::chrono::milliseconds(100);
    return std::make_unique<NatsSource>(
        "orders", spec, batch_rows,
        std::vector<DecodeField>{
            {"id", ParseDataType("Int64").value(), {"id"}, true, std::nullopt}});
  }

  void PublishIds(int first, int count) {
    for (int i = first; i < first + count; ++i) {
      server_->Publish("orders.new", fmt::format(R"({{"id": {}}})", i));
    }
  }

  /// Polls until `done` holds or `seconds` pass, appending the ids that arrive.
  static void PollUntil(NatsSource& source, std::vector<int64_t>& ids,
                        std::vector<DeadLetter>& dead_letters, const std::function<bool()>& done,
                        int seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      Batch batch(source.schema());
      auto status = source.Poll(batch, dead_letters);
      ASSERT_TRUE(status.ok()) << status.error().ToString();
      for (size_t row = 0; row < batch.num_rows(); ++row) {
        ids.push_back(batch.column(0).FixedAt<int64_t>(row));
      }
    }
  }

  static std::vector<int64_t> Range(int64_t first, int64_t count) {
    std::vector<int64_t> ids;
    for (int64_t i = first; i < first + count; ++i) ids.push_back(i);
    return ids;
  }

  static std::vector<int64_t> Sorted(std::vector<int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  TempDir dir_{"sluice-nats-source"};
  std::unique_ptr<NatsTestServer> server_;
};

TEST_F(NatsSourceTest, PollsEveryMessageAndCreatesTheConsumer) {
  PublishIds(0, 200);
  auto source = Source(64);
  ASSERT_TRUE(source->Open().ok());
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  PollUntil(*source, ids, dead_letters, [&] { return ids.size() >= 200; });
  EXPECT_EQ(ids, Range(0, 200));
  EXPECT_TRUE(dead_letters.empty());
  EXPECT_EQ(source->Position(), "sluice@200:1-200");
  EXPECT_EQ(server_->AckPending("ORDERS", "sluice"), 200);
}

TEST_F(NatsSourceTest, CommitPositionAcksExactlyWhatItNames) {
  PublishIds(0, 200);
  auto source = Source(100);
  ASSERT_TRUE(source->Open().ok());
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  PollUntil(*source, ids, dead_letters, [&] { return ids.size() >= 100; });
  std::string position = source->Position();
  PollUntil(*source, ids, dead_letters, [&] { return ids.size() >= 200; });
  ASSERT_TRUE(source->CommitPosition(position).ok());
  EXPECT_EQ(server_->AckPendingSettled("ORDERS", "sluice", 100), 100);
  EXPECT_EQ(source->Position(), "sluice@200:101-200");
  ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  EXPECT_EQ(server_->AckPendingSettled("ORDERS", "sluice", 0), 0);
  // Nothing is delivered again once acked, even after ack_wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  PollUntil(
      *source, ids, dead_letters, [] { return false; }, 1);
  EXPECT_EQ(ids.size(), 200u);
}

TEST_F(NatsSourceTest, RestoreSkipsRedeliveriesOfWhatWasHandedOut) {
  PublishIds(0, 200);
  std::vector<int64_t> first;
  std::vector<DeadLetter> dead_letters;
  std::string position;
  {
    auto source = Source(50);
    ASSERT_TRUE(source->Open().ok());
    PollUntil(*source, first, dead_letters, [&] { return first.size() >= 50; });
    position = source->Position();
    // Handed out after the checkpoint, then lost with the process: must come again.
    PollUntil(*source, first, dead_letters, [&] { return first.size() >= 80; });
    first.resize(50);
  }
  ASSERT_EQ(position, "sluice@50:1-50");
  auto source = Source(50);
  ASSERT_TRUE(source->Open().ok());
  ASSERT_TRUE(source->Restore(position).ok());
  std::vector<int64_t> second;
  // Wait past ack_wait so that the unacked messages of the first run are delivered again.
  PollUntil(
      *source, second, dead_letters, [] { return false; }, 4);
  std::vector<int64_t> both = first;
  both.insert(both.end(), second.begin(), second.end());
  EXPECT_EQ(Sorted(both), Range(0, 200));
  ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  EXPECT_EQ(server_->AckPendingSettled("ORDERS", "sluice", 0), 0);
  EXPECT_EQ(source->Position(), "sluice@200:");
}

TEST_F(NatsSourceTest, ServerRestartReconnectsAndLosesNothing) {
  PublishIds(0, 50);
  auto source = Source(20);
  ASSERT_TRUE(source->Open().ok());
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  PollUntil(*source, ids, dead_letters, [&] { return ids.size() >= 50; });
  ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  server_->Disconnect();
  server_->Stop();
  // Polling while the server is away is idle, not an error.
  PollUntil(
      *source, ids, dead_letters, [] { return false; }, 1);
  EXPECT_FALSE(source->connected());
  server_->Start();
  PublishIds(50, 100);
  PollUntil(
      *source, ids, dead_letters, [&] { return ids.size() >= 150; }, 30);
  EXPECT_TRUE(source->connected());
  EXPECT_EQ(Sorted(ids), Range(0, 150));
  ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  EXPECT_EQ(server_->AckPendingSettled("ORDERS", "sluice", 0), 0);
}

TEST_F(NatsSourceTest, PoisonMessagesBecomeDeadLettersAndAreAcked) {
  server_->Publish("orders.new", R"({"id": 1})");
  server_->Publish("orders.new", R"({"id": oops})");
  server_->Publish("orders.new", R"({"id": 3})");
  auto source = Source();
  ASSERT_TRUE(source->Open().ok());
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  PollUntil(*source, ids, dead_letters, [&] { return ids.size() + dead_letters.size() >= 3; });
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(dead_letters.size(), 1u);
  EXPECT_EQ(dead_letters[0].location, "ORDERS/2");
  EXPECT_EQ(dead_letters[0].raw, R"({"id": oops})");
  EXPECT_EQ(dead_letters[0].error.code, ErrorCode::kRecordMalformed);
  EXPECT_EQ(source->LastPollIdentity(), "ORDERS/1-3:3");
  ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  EXPECT_EQ(server_->AckPendingSettled("ORDERS", "sluice", 0), 0);
}

TEST_F(NatsSourceTest, PositionsOfAnotherConsumerAreRefused) {
  auto source = Source();
  Status restored = source->Restore("other@5:1-5");
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.error().code, ErrorCode::kSourcePositionInvalid);
  Status malformed = source->Restore("sluice@x:");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::kSourcePositionInvalid);
}

}  // namespace
}  // namespace sluice
