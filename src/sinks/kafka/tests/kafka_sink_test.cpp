// KafkaSink against librdkafka's mock cluster (tests/fixtures/kafka_mock_cluster.cpp); what it
// produced is read back with KafkaSource.

#include "sinks/kafka/kafka_sink.h"

#include <gtest/gtest.h>

#include "e2e/test_support.h"
#include "fixtures/kafka_test_cluster.h"
#include "format/text_value.h"
#include "sources/kafka/kafka_source.h"

namespace sluice {
namespace {

using testing_support::KafkaTestCluster;
using testing_support::TempDir;

DataType Type(std::string_view text) {
  return ParseDataType(text).value();
}

/// Every message value of `topic` (one partition), in order, with its key and headers.
std::vector<std::vector<std::string>> ReadBack(const std::string& bootstrap,
                                               const std::string& topic, size_t count) {
  KafkaSourceSpec spec;
  spec.brokers = {bootstrap};
  spec.topics = {topic};
  spec.group_id = "read-" + topic;
  spec.message.format = "bytes";
  spec.message.value_field = "value";
  spec.message.metadata = {{"key", "key"}, {"headers", "headers"}};
  KafkaSource source("read", spec, 1000,
                     {{"value", Type("String"), {"value"}, false, std::nullopt},
                      {"key", Type("String"), {"key"}, false, std::nullopt},
                      {"headers", Type("String"), {"headers"}, false, std::nullopt}});
  EXPECT_TRUE(source.Open().ok());
  std::vector<std::vector<std::string>> messages;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (messages.size() < count && std::chrono::steady_clock::now() < deadline) {
    Batch batch(source.schema());
    std::vector<DeadLetter> dead_letters;
    EXPECT_TRUE(source.Poll(batch, dead_letters).ok());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      messages.push_back({ValueToText(batch.column(0), row), ValueToText(batch.column(1), row),
                          ValueToText(batch.column(2), row)});
    }
  }
  return messages;
}

TEST(KafkaSinkTest, ProducesOneJsonObjectPerRowAndWaitsForDelivery) {
  TempDir dir("sluice-kafka-sink");
  KafkaTestCluster cluster(dir.path(), {{"out", 1}, {"dead", 1}});
  Batch batch({{"id", Type("Int64")},
               {"name", Type("Nullable(String)")},
               {"tags", Type("Array(Int32)")},
               {"attributes", Type("Map(String, Float64)")},
               {"at", Type("DateTime64(3)")}});
  ASSERT_TRUE(AppendTextValue("7", batch.column(0)).ok());
  ASSERT_TRUE(AppendTextValue("say \"hi\"", batch.column(1)).ok());
  batch.column(2).child(0).AppendFixed<int32_t>(1);
  batch.column(2).child(0).AppendFixed<int32_t>(2);
  batch.column(2).CloseNestedRow();
  batch.column(3).child(0).AppendString("w");
  batch.column(3).child(1).AppendFixed<double>(0.5);
  batch.column(3).CloseNestedRow();
  ASSERT_TRUE(AppendTextValue("2024-01-02 03:04:05.678", batch.column(4)).ok());
  ASSERT_TRUE(AppendTextValue("8", batch.column(0)).ok());
  batch.column(1).AppendNull();
  batch.column(2).CloseNestedRow();
  batch.column(3).CloseNestedRow();
  ASSERT_TRUE(AppendTextValue("2024-01-02", batch.column(4)).ok());

  KafkaSink sink({.brokers = {cluster.bootstrap()}, .topic = "out", .key_field = "id"});
  ASSERT_TRUE(sink.Open().ok());
  ASSERT_TRUE(sink.Write(batch, "p/s/1/0").ok());
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_EQ(sink.delivered(), 2u);

  KafkaSink dead_sink({.brokers = {cluster.bootstrap()}, .topic = "dead", .stream = "clicks"});
  ASSERT_TRUE(dead_sink.Open().ok());
  DeadLetter letter{1700000000000, "clicks", "events/2@1",
                    "{\"id\": ", MakeError(ErrorCode::kRecordMalformed, "unexpected end", "id")};
  ASSERT_TRUE(dead_sink.Write(std::vector<DeadLetter>{letter}, "p/d/1").ok());
  ASSERT_TRUE(dead_sink.Flush().ok());

  auto rows = ReadBack(cluster.bootstrap(), "out", 2);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], R"({"id":7,"name":"say \"hi\"","tags":[1,2],"attributes":{"w":0.5},)"
                        R"("at":"2024-01-02 03:04:05.678"})");
  EXPECT_EQ(rows[0][1], "7");
  EXPECT_EQ(rows[0][2], R"({"sluice-identity":"p/s/1/0"})");
  EXPECT_EQ(rows[1][0],
            R"({"id":8,"name":null,"tags":[],"attributes":{},"at":"2024-01-02 00:00:00.000"})");
  auto dead = ReadBack(cluster.bootstrap(), "dead", 1);
  ASSERT_EQ(dead.size(), 1u);
  for (std::string_view part :
       {R"("location":"events/2@1")", R"("raw":"{\"id\": ")", R"("error_code":200)",
        R"("error_name":"RECORD_MALFORMED")", R"("stream":"clicks")"}) {
    EXPECT_NE(dead[0][0].find(part), std::string::npos) << part << " in " << dead[0][0];
  }
}

TEST(KafkaSinkTest, UndeliveredMessagesAreReportedByFlush) {
  // Nothing listens on port 1: every message times out.
  KafkaSink sink(
      {.brokers = {"127.0.0.1:1"}, .topic = "out", .properties = {{"message.timeout.ms", "300"}}});
  ASSERT_TRUE(sink.Open().ok());
  Batch batch({{"id", Type("Int64")}});
  ASSERT_TRUE(AppendTextValue("1", batch.column(0)).ok());
  ASSERT_TRUE(sink.Write(batch, "x").ok());
  Status flushed = sink.Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.error().code, ErrorCode::kKafkaDeliveryFailed);
  EXPECT_NE(flushed.error().message.find("1 message(s) to out were not delivered"),
            std::string::npos)
      << flushed.error().message;
  EXPECT_EQ(sink.delivered(), 0u);
}

TEST(KafkaSinkTest, BadPropertiesAreClientErrors) {
  KafkaSink sink({.brokers = {"127.0.0.1:1"}, .topic = "out", .properties = {{"acks", "many"}}});
  Status opened = sink.Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kKafkaClientError);
  EXPECT_NE(opened.error().message.find("acks=many"), std::string::npos);
}

}  // namespace
}  // namespace sluice
