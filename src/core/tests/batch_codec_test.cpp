#include "core/batch_codec.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  return *ParseDataType(text);
}

Batch SampleBatch() {
  Batch batch({{"id", Type("UInt64")},
               {"name", Type("Nullable(String)")},
               {"tags", Type("Array(LowCardinality(String))")},
               {"attributes", Type("Map(String, Int32)")},
               {"pair", Type("Tuple(String, Decimal(10, 2))")},
               {"code", Type("FixedString(3)")}});
  for (uint64_t i = 0; i < 37; ++i) {
    batch.column(0).AppendFixed<uint64_t>(i);
    if (i % 3 == 0) {
      batch.column(1).AppendNull();
    } else {
      batch.column(1).AppendString("name\n\n" + std::to_string(i));
    }
    for (uint64_t t = 0; t < i % 4; ++t) batch.column(2).child(0).AppendString("t");
    batch.column(2).CloseNestedRow();
    batch.column(3).child(0).AppendString("k");
    batch.column(3).child(1).AppendFixed<int32_t>(-static_cast<int32_t>(i));
    batch.column(3).CloseNestedRow();
    batch.column(4).child(0).AppendString("x");
    batch.column(4).child(1).AppendFixed<Int128>(Int128(i) * 100);
    batch.column(4).CloseNestedRow();
    batch.column(5).AppendString("abc");
  }
  return batch;
}

TEST(BatchCodecTest, SchemaRoundTripsAndDecodesItsBatch) {
  Batch original = SampleBatch();
  // Named Tuple elements and time zones must survive too.
  Schema schema = original.schema();
  schema.push_back({"at", Type("DateTime64(6, 'UTC')")});
  schema.push_back({"named", Type("Tuple(a String, b Nullable(Int64))")});
  std::string bytes;
  EncodeSchema(schema, bytes);
  EncodeSchema(original.schema(), bytes);
  EncodeBatch(original, bytes);
  std::string_view input = bytes;
  auto first = DecodeSchema(input);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->size(), schema.size());
  for (size_t i = 0; i < schema.size(); ++i) {
    EXPECT_EQ((*first)[i].name, schema[i].name);
    EXPECT_EQ((*first)[i].type, schema[i].type) << schema[i].type.ToString();
  }
  auto second = DecodeSchema(input);
  ASSERT_TRUE(second.ok());
  Batch decoded(*second);
  ASSERT_TRUE(DecodeBatch(input, decoded).ok());
  EXPECT_TRUE(input.empty());
  EXPECT_EQ(decoded.num_rows(), 37u);
}

TEST(BatchCodecTest, DamagedSchemaIsAnError) {
  std::string bytes;
  EncodeSchema({{"id", Type("UInt64")}, {"name", Type("String")}}, bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::string_view input(bytes.data(), cut);
    EXPECT_FALSE(DecodeSchema(input).ok()) << cut;
  }
  std::string wrong;
  EncodeSchema({{"id", Type("UInt64")}}, wrong);
  wrong.replace(wrong.find("UInt64"), 6, "UInt99");
  std::string_view input = wrong;
  auto decoded = DecodeSchema(input);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("id"), std::string::npos);
}

TEST(BatchCodecTest, RoundTripsEveryBuffer) {
  Batch original = SampleBatch();
  std::string bytes;
  EncodeBatch(original, bytes);
  std::string_view input = bytes;
  Batch decoded(original.schema());
  ASSERT_TRUE(DecodeBatch(input, decoded).ok());
  EXPECT_TRUE(input.empty());
  ASSERT_EQ(decoded.num_rows(), 37u);
  for (size_t row = 0; row < 37; ++row) {
    EXPECT_EQ(decoded.column(0).FixedAt<uint64_t>(row), row);
    EXPECT_EQ(decoded.column(1).IsNull(row), original.column(1).IsNull(row));
    if (!decoded.column(1).IsNull(row)) {
      EXPECT_EQ(decoded.column(1).StringAt(row), original.column(1).StringAt(row));
    }
  }
  EXPECT_EQ(decoded.column(2).offsets(), original.column(2).offsets());
  EXPECT_EQ(decoded.column(3).child(1).values(), original.column(3).child(1).values());
  EXPECT_EQ(decoded.column(4).child(1).FixedAt<Int128>(5), Int128(500));
  EXPECT_EQ(decoded.column(5).StringAt(36), "abc");
  EXPECT_EQ(decoded.ByteSize(), original.ByteSize());
}

TEST(BatchCodecTest, SeveralBatchesFollowEachOther) {
  Batch first = SampleBatch();
  Batch second = SampleBatch();
  second.Truncate(5);
  std::string bytes;
  EncodeBatch(first, bytes);
  EncodeBatch(second, bytes);
  std::string_view input = bytes;
  Batch a(first.schema());
  Batch b(first.schema());
  ASSERT_TRUE(DecodeBatch(input, a).ok());
  ASSERT_TRUE(DecodeBatch(input, b).ok());
  EXPECT_EQ(a.num_rows(), 37u);
  EXPECT_EQ(b.num_rows(), 5u);
}

TEST(BatchCodecTest, EveryTruncationIsAnErrorNotACrash) {
  std::string bytes;
  EncodeBatch(SampleBatch(), bytes);
  Batch target(SampleBatch().schema());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::string_view input(bytes.data(), cut);
    EXPECT_FALSE(DecodeBatch(input, target).ok()) << "cut at " << cut;
  }
}

TEST(BatchCodecTest, DamagedLengthsAreRejected) {
  std::string bytes;
  EncodeBatch(SampleBatch(), bytes);
  Batch target(SampleBatch().schema());
  int rejected = 0;
  for (size_t at = 8; at < bytes.size(); at += 7) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
    std::string_view input = damaged;
    if (!DecodeBatch(input, target).ok()) ++rejected;
  }
  EXPECT_GT(rejected, 0);
}

TEST(BatchCodecTest, AnotherSchemaIsRefused) {
  std::string bytes;
  EncodeBatch(SampleBatch(), bytes);
  Batch other({{"id", Type("UInt32")}});
  std::string_view input = bytes;
  auto status = DecodeBatch(input, other);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("another schema"), std::string::npos);
}

}  // namespace
}  // namespace sluice
