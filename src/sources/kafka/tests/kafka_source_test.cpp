// KafkaSource against librdkafka's mock cluster (tests/fixtures/kafka_mock_cluster.cpp), a
// Kafka-protocol cluster inside a child process: no Kafka broker is packaged for Debian.

#include "sources/kafka/kafka_source.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e/test_support.h"
#include "fixtures/kafka_test_cluster.h"
#include "format/text_value.h"

namespace sluice {
namespace {

using testing_support::KafkaTestCluster;
using testing_support::TempDir;
using Message = KafkaTestCluster::Message;

DataType Type(std::string_view text) {
  return ParseDataType(text).value();
}

/// What one consumer has handed out so far.
struct Seen {
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  std::map<int32_t, int64_t> first_id_by_partition;
};

class KafkaSourceTest : public ::testing::Test {
 protected:
  static constexpr int kPartitions = 3;
  static constexpr int kPerPartition = 100;

  void SetUp() override {
    cluster_ = std::make_unique<KafkaTestCluster>(
        dir_.path(),
        std::vector<std::pair<std::string, int>>{{"events", kPartitions}, {"other", 1}});
  }

  KafkaSourceSpec Spec(const std::string& group, const std::string& start = "earliest") {
    KafkaSourceSpec spec;
    spec.brokers = {cluster_->bootstrap()};
    spec.topics = {"events"};
    spec.group_id = group;
    spec.start = start;
    spec.poll_timeout = std::chrono::milliseconds(100);
    // The mock cluster waits a session timeout for members that left without saying so.
    spec.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return spec;
  }

  std::unique_ptr<KafkaSource> Source(KafkaSourceSpec spec, uint32_t batch_rows = 1000,
                                      std::vector<DecodeField> fields = {}) {
    if (fields.empty()) fields = {{"id", Type("Int64"), {"id"}, true, std::nullopt}};
    return std::make_unique<KafkaSource>("clicks", std::move(spec), batch_rows, std::move(fields));
  }

  /// kPerPartition JSON messages per partition; ids count up across partitions: partition p
  /// holds ids p*kPerPartition ...
  void ProduceIds(int first_offset = 0, int count = kPerPartition) {
    std::vector<Message> messages;
    for (int partition = 0; partition < kPartitions; ++partition) {
      for (int i = first_offset; i < first_offset + count; ++i) {
        messages.push_back({.topic = "events",
                            .partition = partition,
                            .value = fmt::format(R"({{"id": {}}})", partition * 1000 + i)});
      }
    }
    cluster_->Produce(messages);
  }

  /// Polls until `done` holds or 30 s pass; returns what arrived.
  static void PollUntil(KafkaSource& source, Seen& seen, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      PollOnce(source, seen);
    }
  }

  static size_t PollOnce(KafkaSource& source, Seen& seen) {
    Batch batch(source.schema());
    auto status = source.Poll(batch, seen.dead_letters);
    EXPECT_TRUE(status.ok()) << status.error().ToString();
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      int64_t id = batch.column(0).FixedAt<int64_t>(row);
      seen.ids.push_back(id);
      seen.first_id_by_partition.try_emplace(static_cast<int32_t>(id / 1000), id);
    }
    return batch.num_rows();
  }

  static std::vector<int64_t> AllIds(int count = kPerPartition) {
    std::vector<int64_t> ids;
    for (int partition = 0; partition < kPartitions; ++partition) {
      for (int i = 0; i < count; ++i) ids.push_back(partition * 1000 + i);
    }
    return ids;
  }

  static std::vector<int64_t> Sorted(std::vector<int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  TempDir dir_{"sluice-kafka-source"};
  std::unique_ptr<KafkaTestCluster> cluster_;
};

TEST_F(KafkaSourceTest, PollsEveryMessageOfAThreePartitionTopic) {
  ProduceIds();
  auto source = Source(Spec("all"), 64);
  ASSERT_TRUE(source->Open().ok());
  Seen seen;
  PollUntil(*source, seen, [&] { return seen.ids.size() >= 300; });
  EXPECT_EQ(Sorted(seen.ids), AllIds());
  EXPECT_TRUE(seen.dead_letters.empty());
  EXPECT_EQ(source->Assignment().size(), 3u);
  EXPECT_EQ(source->Position(), "events/0=100;events/1=100;events/2=100");
  EXPECT_GT(source->bytes_read(), 300u * 10);
  // Nothing more: an idle poll hands out nothing and names nothing.
  Batch batch(source->schema());
  std::vector<DeadLetter> none;
  EXPECT_EQ(source->Poll(batch, none).value(), PollStatus::kIdle);
  EXPECT_EQ(source->LastPollIdentity(), "");
}

TEST_F(KafkaSourceTest, OnePartitionPerPollHandsOutEachPartitionInOrder) {
  ProduceIds();
  auto source = Source(Spec("split"), 64);
  source->PollOnePartitionAtATime(true);
  ASSERT_TRUE(source->Open().ok());
  Seen seen;
  std::set<std::string> splits_seen;
  std::map<int32_t, int64_t> last_id;  // per partition: ids must rise within each
  PollUntil(*source, seen, [&] {
    size_t before = seen.ids.size();
    PollOnce(*source, seen);
    if (seen.ids.size() == before) return seen.ids.size() >= 300;
    std::string split = source->LastPollSplit();
    splits_seen.insert(split);
    for (size_t i = before; i < seen.ids.size(); ++i) {
      int32_t partition = static_cast<int32_t>(seen.ids[i] / 1000);
      EXPECT_EQ(split, fmt::format("events/{}", partition)) << "id " << seen.ids[i];
      EXPECT_GT(seen.ids[i], last_id.count(partition) > 0 ? last_id[partition] : -1);
      last_id[partition] = seen.ids[i];
    }
    return seen.ids.size() >= 300;
  });
  EXPECT_EQ(Sorted(seen.ids), AllIds());
  EXPECT_EQ(splits_seen, (std::set<std::string>{"events/0", "events/1", "events/2"}));
  EXPECT_EQ(source->Splits(), (std::vector<std::string>{"events/0", "events/1", "events/2"}));
  // Every partition resumes after its last message.
  EXPECT_EQ(source->Position(), "events/0=100;events/1=100;events/2=100");
  auto whole = Source(Spec("whole"));
  EXPECT_TRUE(whole->Splits().empty());
}

TEST_F(KafkaSourceTest, LastPollIdentityNamesOffsetRanges) {
  cluster_->Produce({{.topic = "events", .partition = 1, .value = R"({"id": 1})"},
                     {.topic = "events", .partition = 1, .value = R"({"id": 2})"}});
  auto source = Source(Spec("identity"));
  ASSERT_TRUE(source->Open().ok());
  Seen seen;
  std::string identity;
  PollUntil(*source, seen, [&] {
    if (!source->LastPollIdentity().empty()) identity = source->LastPollIdentity();
    return !identity.empty();
  });
  EXPECT_EQ(identity, "events/1/0-1");
}

TEST_F(KafkaSourceTest, RestoreResumesExactlyAfterThePosition) {
  ProduceIds();
  Seen first;
  std::string position;
  {
    auto source = Source(Spec("restore"), 40);
    ASSERT_TRUE(source->Open().ok());
    PollUntil(*source, first, [&] { return first.ids.size() >= 120; });
    position = source->Position();
  }
  ASSERT_GE(first.ids.size(), 120u);
  ASSERT_LT(first.ids.size(), 300u);
  auto source = Source(Spec("restore"), 40);
  ASSERT_TRUE(source->Open().ok());
  ASSERT_TRUE(source->Restore(position).ok());
  Seen second;
  PollUntil(*source, second, [&] { return first.ids.size() + second.ids.size() >= 300; });
  std::vector<int64_t> both = first.ids;
  both.insert(both.end(), second.ids.begin(), second.ids.end());
  // No gap and no repeat.
  EXPECT_EQ(Sorted(both), AllIds());
  // Nothing was committed, so without the restored position the second run would repeat.
  EXPECT_FALSE(second.ids.empty());
}

TEST_F(KafkaSourceTest, RestoredOffsetsStayInThePositionAndYieldToFurtherCommits) {
  ProduceIds();
  Seen first;
  {
    auto source = Source(Spec("further"), 40);
    ASSERT_TRUE(source->Open().ok());
    PollUntil(*source, first, [&] { return first.ids.size() >= 120; });
    ASSERT_TRUE(source->CommitPosition(source->Position()).ok());
  }
  ASSERT_LT(first.ids.size(), 300u);
  auto source = Source(Spec("further"), 40);
  ASSERT_TRUE(source->Open().ok());
  // Older than the group's commits, as when another member stored further since.
  std::string restored = "events/0=0;events/1=0;events/2=0";
  ASSERT_TRUE(source->Restore(restored).ok());
  // Before the group assigns anything, a checkpoint must still carry the restored offsets.
  EXPECT_EQ(source->Position(), restored);
  Seen second;
  PollUntil(*source, second, [&] { return first.ids.size() + second.ids.size() >= 300; });
  std::vector<int64_t> both = first.ids;
  both.insert(both.end(), second.ids.begin(), second.ids.end());
  // The committed offsets won: no repeat, no gap.
  EXPECT_EQ(Sorted(both), AllIds());
}

TEST_F(KafkaSourceTest, CommitPositionCommitsOffsetsForTheGroup) {
  ProduceIds();
  Seen first;
  std::string position;
  {
    auto source = Source(Spec("commit"), 40);
    ASSERT_TRUE(source->Open().ok());
    PollUntil(*source, first, [&] { return first.ids.size() >= 120; });
    position = source->Position();
    ASSERT_TRUE(source->CommitPosition(position).ok());
    // Records handed out after the committed position are not committed.
    PollOnce(*source, first);
  }
  auto offsets = KafkaSource::ParsePosition(position).value();
  auto source = Source(Spec("commit", "committed"), 40);
  ASSERT_TRUE(source->Open().ok());
  Seen second;
  size_t expected = 0;
  for (const auto& entry : offsets) expected += kPerPartition - entry.second;
  for (int p = 0; p < kPartitions; ++p) {
    if (offsets.count({"events", p}) == 0) expected += kPerPartition;
  }
  PollUntil(*source, second, [&] { return second.ids.size() >= expected; });
  EXPECT_EQ(second.ids.size(), expected);
  for (const auto& [partition, offset] : offsets) {
    if (offset == kPerPartition) continue;
    // The fresh member continues each partition at the committed offset.
    EXPECT_EQ(second.first_id_by_partition[partition.partition],
              partition.partition * 1000 + offset)
        << partition.partition;
  }
}

TEST_F(KafkaSourceTest, PoisonMessagesBecomeDeadLettersAndTheRestFlows) {
  cluster_->Produce({{.topic = "events", .partition = 2, .value = R"({"id": 1})"},
                     {.topic = "events", .partition = 2, .value = R"({"id": )"},
                     {.topic = "events", .partition = 2, .value = std::nullopt, .key = "gone"},
                     {.topic = "events", .partition = 2, .value = R"({"id": "x"})"},
                     {.topic = "events", .partition = 2, .value = R"({"id": 5})"}});
  auto source = Source(Spec("poison"));
  ASSERT_TRUE(source->Open().ok());
  Seen seen;
  PollUntil(*source, seen, [&] { return seen.ids.size() + seen.dead_letters.size() >= 5; });
  EXPECT_EQ(seen.ids, (std::vector<int64_t>{1, 5}));
  ASSERT_EQ(seen.dead_letters.size(), 3u);
  EXPECT_EQ(seen.dead_letters[0].location, "events/2@1");
  EXPECT_EQ(seen.dead_letters[0].raw, R"({"id": )");
  EXPECT_EQ(seen.dead_letters[0].error.code, ErrorCode::kRecordMalformed);
  EXPECT_EQ(seen.dead_letters[0].source, "clicks");
  EXPECT_EQ(seen.dead_letters[1].location, "events/2@2");
  EXPECT_EQ(seen.dead_letters[1].error.code, ErrorCode::kRecordNullMessage);
  EXPECT_EQ(seen.dead_letters[2].location, "events/2@3");
  EXPECT_EQ(seen.dead_letters[2].error.code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(seen.dead_letters[2].error.where, "id");
  // Dead letters move the position like rows: a restart does not see them again.
  EXPECT_EQ(source->Position(), "events/2=5");
}

TEST_F(KafkaSourceTest, LargePollsDecodedOnSeveralThreadsKeepMessageOrder) {
  // Enough messages in one partition for polls that are decoded in several lanes (4096
  // messages each at least); every 997th is malformed. The offset metadata field makes the
  // decoder put the JSON columns aside until Finish, which each lane must complete.
  constexpr int kMessages = 30000;
  std::vector<Message> messages;
  for (int i = 0; i < kMessages; ++i) {
    messages.push_back(
        {.topic = "other",
         .partition = 0,
         .value = i % 997 == 500 ? std::string(R"({"id": )") : fmt::format(R"({{"id": {}}})", i)});
  }
  cluster_->Produce(messages);
  KafkaSourceSpec spec = Spec("lanes");
  spec.topics = {"other"};
  spec.poll_timeout = std::chrono::milliseconds(1000);
  spec.message.metadata = {{"offset", "o"}};
  auto source = Source(spec, 65536,
                       {{"id", Type("Int64"), {"id"}, true, std::nullopt},
                        {"o", Type("UInt64"), {"o"}, false, std::nullopt}});
  source->KeepRowRecords(true);
  ASSERT_TRUE(source->Open().ok());
  std::vector<int64_t> ids;
  std::vector<DeadLetter> dead_letters;
  size_t largest_poll = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ids.size() + dead_letters.size() < kMessages &&
         std::chrono::steady_clock::now() < deadline) {
    Batch batch(source->schema());
    ASSERT_TRUE(source->Poll(batch, dead_letters).ok());
    largest_poll = std::max(largest_poll, batch.num_rows());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      int64_t id = batch.column(0).FixedAt<int64_t>(row);
      // Each row's columns and its kept record belong to the same message.
      ASSERT_EQ(ValueToText(batch.column(1), row), std::to_string(id));
      auto [value, location] = source->RowRecord(row);
      ASSERT_EQ(value, fmt::format(R"({{"id": {}}})", id));
      ASSERT_EQ(location, fmt::format("other/0@{}", id));
      ids.push_back(id);
    }
  }
  EXPECT_GE(largest_poll, 2u * 4096);
  std::vector<int64_t> expected_ids;
  std::vector<std::string> expected_dead;
  for (int i = 0; i < kMessages; ++i) {
    if (i % 997 == 500) {
      expected_dead.push_back(fmt::format("other/0@{}", i));
    } else {
      expected_ids.push_back(i);
    }
  }
  EXPECT_EQ(ids, expected_ids);
  std::vector<std::string> dead;
  for (const DeadLetter& letter : dead_letters) {
    EXPECT_EQ(letter.error.code, ErrorCode::kRecordMalformed);
    dead.push_back(letter.location);
  }
  EXPECT_EQ(dead, expected_dead);
  EXPECT_EQ(source->Position(), fmt::format("other/0={}", kMessages));
}

TEST_F(KafkaSourceTest, TwoMembersOfAGroupSplitThePartitions) {
  auto one = Source(Spec("pair"), 50);
  auto two = Source(Spec("pair"), 50);
  ASSERT_TRUE(one->Open().ok());
  ASSERT_TRUE(two->Open().ok());
  Seen seen_one;
  Seen seen_two;
  // Wait for the group to settle on both members before anything is produced: partitions
  // handed out before a rebalance and not yet committed are read again by their next owner.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (std::chrono::steady_clock::now() < deadline &&
         (one->Assignment().empty() || two->Assignment().empty() ||
          one->Assignment().size() + two->Assignment().size() != kPartitions)) {
    PollOnce(*one, seen_one);
    PollOnce(*two, seen_two);
  }
  ASSERT_FALSE(one->Assignment().empty());
  ASSERT_FALSE(two->Assignment().empty());
  ProduceIds();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen_one.ids.size() + seen_two.ids.size() < 300 &&
         std::chrono::steady_clock::now() < deadline) {
    PollOnce(*one, seen_one);
    PollOnce(*two, seen_two);
  }
  EXPECT_FALSE(seen_one.ids.empty());
  EXPECT_FALSE(seen_two.ids.empty());
  std::vector<int64_t> both = seen_one.ids;
  both.insert(both.end(), seen_two.ids.begin(), seen_two.ids.end());
  EXPECT_EQ(Sorted(both), AllIds());
  // Each member's position names only its own partitions.
  std::set<TopicPartition> owned_one;
  auto position_one = KafkaSource::ParsePosition(one->Position()).value();
  for (const auto& entry : position_one) {
    owned_one.insert(entry.first);
  }
  for (const TopicPartition& partition : two->Assignment()) {
    EXPECT_EQ(owned_one.count(partition), 0u);
  }
}

TEST_F(KafkaSourceTest, PartitionStateMovesThroughTheCheckpointNamedInTheCommit) {
  ProduceIds();
  auto one = Source(Spec("state"), 50);
  one->PollOnePartitionAtATime(true);
  one->FollowPartitionState(true);
  ASSERT_TRUE(one->Open().ok());
  Seen seen_one;
  PollUntil(*one, seen_one, [&] { return seen_one.ids.size() == AllIds().size(); });
  ASSERT_EQ(Sorted(seen_one.ids), AllIds());
  // The first assignment: nothing committed, no state to hand over.
  EXPECT_TRUE(one->TakeKeyGroupHandoffs().empty());
  ASSERT_TRUE(one->CommitCheckpoint(one->Position(), "/checkpoints/one/chk-7").ok());
  EXPECT_EQ(one->ReferencedCheckpoints(),
            std::vector<std::string>(kPartitions, "/checkpoints/one/chk-7"));

  // A second member joins: the partitions it gets come with one's checkpoint, and one drops
  // the state of the partitions it lost.
  auto two = Source(Spec("state"), 50);
  two->PollOnePartitionAtATime(true);
  two->FollowPartitionState(true);
  ASSERT_TRUE(two->Open().ok());
  Seen seen_two;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (std::chrono::steady_clock::now() < deadline &&
         (two->Assignment().empty() ||
          one->Assignment().size() + two->Assignment().size() != kPartitions)) {
    PollOnce(*one, seen_one);
    PollOnce(*two, seen_two);
  }
  ASSERT_FALSE(two->Assignment().empty());
  std::set<uint32_t> adopted;
  for (const Source::KeyGroupHandoff& handoff : two->TakeKeyGroupHandoffs()) {
    EXPECT_EQ(handoff.adopt_from, "/checkpoints/one/chk-7");
    adopted.insert(handoff.key_group);
  }
  std::set<uint32_t> expected;
  for (const TopicPartition& partition : two->Assignment()) {
    expected.insert(static_cast<uint32_t>(partition.partition));
  }
  EXPECT_EQ(adopted, expected);
  std::set<uint32_t> dropped;
  for (const Source::KeyGroupHandoff& handoff : one->TakeKeyGroupHandoffs()) {
    EXPECT_EQ(handoff.adopt_from, "");
    dropped.insert(handoff.key_group);
  }
  EXPECT_EQ(dropped, expected);
  // Nothing is read twice: the new owner starts at the committed offsets.
  EXPECT_TRUE(seen_two.ids.empty());
  EXPECT_EQ(two->SplitKeyGroup("events/2"), 2u);
}

TEST_F(KafkaSourceTest, FillsMetadataFields) {
  cluster_->Produce({{.topic = "other",
                      .partition = 0,
                      .value = R"({"id": 7})",
                      .key = "user-7",
                      .headers = {{"trace", "abc"}, {"source", "web"}},
                      .timestamp_ms = 1700000000123}});
  KafkaSourceSpec spec = Spec("metadata");
  spec.topics = {"other"};
  spec.message.metadata = {{"key", "k"},       {"headers", "h"}, {"headers", "hj"},  {"topic", "t"},
                           {"partition", "p"}, {"offset", "o"},  {"timestamp", "ts"}};
  auto source = Source(spec, 100,
                       {{"id", Type("Int64"), {"id"}, true, std::nullopt},
                        {"k", Type("String"), {"k"}, false, std::nullopt},
                        {"h", Type("Map(String, String)"), {"h"}, false, std::nullopt},
                        {"hj", Type("String"), {"hj"}, false, std::nullopt},
                        {"t", Type("LowCardinality(String)"), {"t"}, false, std::nullopt},
                        {"p", Type("Int32"), {"p"}, false, std::nullopt},
                        {"o", Type("UInt64"), {"o"}, false, std::nullopt},
                        {"ts", Type("DateTime64(3)"), {"ts"}, false, std::nullopt}});
  ASSERT_TRUE(source->Open().ok());
  Batch batch(source->schema());
  std::vector<DeadLetter> dead_letters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (batch.num_rows() == 0 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(source->Poll(batch, dead_letters).ok());
  }
  ASSERT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(ValueToText(batch.column(0), 0), "7");
  EXPECT_EQ(ValueToText(batch.column(1), 0), "user-7");
  const Column& headers = batch.column(2);
  ASSERT_EQ(headers.child(0).size(), 2u);
  EXPECT_EQ(headers.child(0).StringAt(0), "trace");
  EXPECT_EQ(headers.child(1).StringAt(0), "abc");
  EXPECT_EQ(headers.child(0).StringAt(1), "source");
  EXPECT_EQ(headers.child(1).StringAt(1), "web");
  EXPECT_EQ(ValueToText(batch.column(3), 0), R"({"trace":"abc","source":"web"})");
  EXPECT_EQ(ValueToText(batch.column(4), 0), "other");
  EXPECT_EQ(ValueToText(batch.column(5), 0), "0");
  EXPECT_EQ(ValueToText(batch.column(6), 0), "0");
  EXPECT_EQ(ValueToText(batch.column(7), 0), "2023-11-14 22:13:20.123");
}

TEST_F(KafkaSourceTest, RawFormatsStoreTheValueAndRefuseWhatDoesNotFit) {
  cluster_->Produce({{.topic = "other", .partition = 0, .value = "plain text", .key = "12"},
                     {.topic = "other", .partition = 0, .value = "bad \xff utf8", .key = "13"},
                     {.topic = "other", .partition = 0, .value = "fine", .key = "not a number"}});
  KafkaSourceSpec spec = Spec("raw");
  spec.topics = {"other"};
  spec.message.format = "string";
  spec.message.value_field = "line";
  spec.message.metadata = {{"key", "n"}};
  auto source = Source(spec, 100,
                       {{"line", Type("String"), {"line"}, false, std::nullopt},
                        {"n", Type("Int32"), {"n"}, false, std::nullopt},
                        {"other", Type("String"), {"other"}, false, "none"}});
  ASSERT_TRUE(source->Open().ok());
  Batch batch(source->schema());
  std::vector<DeadLetter> dead_letters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (batch.num_rows() + dead_letters.size() < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(source->Poll(batch, dead_letters).ok());
  }
  ASSERT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(ValueToText(batch.column(0), 0), "plain text");
  EXPECT_EQ(ValueToText(batch.column(1), 0), "12");
  EXPECT_EQ(ValueToText(batch.column(2), 0), "none");
  ASSERT_EQ(dead_letters.size(), 2u);
  EXPECT_EQ(dead_letters[0].error.code, ErrorCode::kRecordInvalidUtf8);
  EXPECT_EQ(dead_letters[0].location, "other/0@1");
  EXPECT_EQ(dead_letters[1].error.code, ErrorCode::kRecordMetadataMismatch);
  EXPECT_EQ(dead_letters[1].error.where, "n");
  EXPECT_EQ(dead_letters[1].raw, "fine");
}

TEST_F(KafkaSourceTest, PauseStopsFetchingAndLagCountsWhatIsLeft) {
  ProduceIds();
  auto source = Source(Spec("lag"), 30);
  ASSERT_TRUE(source->Open().ok());
  Seen seen;
  PollUntil(*source, seen, [&] { return seen.ids.size() >= 30; });
  std::map<int32_t, int64_t> handed_out;
  for (int64_t id : seen.ids) ++handed_out[static_cast<int32_t>(id / 1000)];
  for (const PartitionLag& lag : source->Lag()) {
    EXPECT_EQ(lag.lag, kPerPartition - handed_out[lag.partition.partition])
        << lag.partition.partition;
  }
  PollUntil(*source, seen, [&] { return seen.ids.size() >= 300; });
  std::vector<PartitionLag> lags = source->Lag();
  ASSERT_EQ(lags.size(), 3u);
  for (const PartitionLag& lag : lags) EXPECT_EQ(lag.lag, 0);

  source->Pause();
  ProduceIds(kPerPartition, 10);
  size_t while_paused = 0;
  for (int i = 0; i < 10; ++i) while_paused += PollOnce(*source, seen);
  EXPECT_EQ(while_paused, 0u);
  source->Resume();
  PollUntil(*source, seen, [&] { return seen.ids.size() >= 330; });
  EXPECT_EQ(seen.ids.size(), 330u);
}

TEST_F(KafkaSourceTest, BadPositionsAndBadPropertiesAreClearErrors) {
  auto source = Source(Spec("errors"));
  Status restored = source->Restore("events/x=1");
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.error().code, ErrorCode::kSourcePositionInvalid);
  EXPECT_NE(restored.error().message.find("'events/x=1'"), std::string::npos);
  KafkaSourceSpec spec = Spec("errors");
  spec.properties.emplace_back("no.such.property", "1");
  Status opened = Source(spec)->Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kKafkaClientError);
  EXPECT_NE(opened.error().message.find("no.such.property"), std::string::npos);
}

}  // namespace
}  // namespace sluice
