#include <gtest/gtest.h>

#include "core/batch.h"
#include "core/data_type.h"

namespace sluice {
namespace {

DataType Parse(std::string_view text) {
  auto type = ParseDataType(text);
  EXPECT_TRUE(type.ok()) << text << ": " << (type.ok() ? "" : type.error().ToString());
  return type.ok() ? *type : DataType{};
}

TEST(DataTypeTest, RoundTripsCanonicalSpelling) {
  for (std::string_view text :
       {"UInt64", "LowCardinality(String)", "Nullable(Float64)", "Decimal(10, 2)",
        "DateTime64(3, 'UTC')", "DateTime('Europe/Berlin')", "DateTime64(6)", "Date32",
        "Array(Nullable(String))", "Map(String, UInt64)", "Tuple(a String, b UInt8)",
        "Tuple(String, Int32)", "FixedString(16)", "UUID", "Bool",
        "LowCardinality(Nullable(String))", "Array(Array(Int8))"}) {
    EXPECT_EQ(Parse(text).ToString(), text);
  }
}

TEST(DataTypeTest, NormalizesAliasesAndSpaces) {
  EXPECT_EQ(Parse("Decimal(10,2)").ToString(), "Decimal(10, 2)");
  EXPECT_EQ(Parse("Decimal64(4)").ToString(), "Decimal(18, 4)");
  EXPECT_EQ(Parse(" Map( String ,Array(UInt8) ) ").ToString(), "Map(String, Array(UInt8))");
}

TEST(DataTypeTest, StorageStripsWrappers) {
  DataType type = Parse("LowCardinality(Nullable(String))");
  EXPECT_TRUE(type.IsNullable());
  EXPECT_EQ(type.Storage().kind, TypeKind::kString);
  EXPECT_FALSE(Parse("Array(Nullable(String))").IsNullable());
}

TEST(DataTypeTest, RejectsBadTypesWithReasons) {
  struct Case {
    std::string_view text;
    std::string_view expected;
  };
  for (const Case& c : {Case{"Strng", "did you mean 'String'"},
                        Case{"Decimal(40, 2)", "precision must be 1 to 38"},
                        Case{"Decimal(5, 6)", "scale must not exceed"},
                        Case{"DateTime64(12)", "precision must be 0 to 9"},
                        Case{"Nullable(Array(String))", "Nullable cannot wrap"},
                        Case{"LowCardinality(Array(String))", "LowCardinality cannot wrap"},
                        Case{"Map(Float64, String)", "Map keys cannot be"},
                        Case{"Array(String", "expected ')'"},
                        Case{"UInt64 extra", "unexpected"},
                        Case{"DateTime('x'); DROP TABLE t; --')", "unexpected"},
                        Case{"DateTime('a;b')", "time zone names"},
                        Case{"", "expected a type name"}}) {
    auto type = ParseDataType(c.text);
    ASSERT_FALSE(type.ok()) << c.text;
    EXPECT_EQ(type.error().code, ErrorCode::kSpecInvalidType);
    EXPECT_NE(type.error().message.find(c.expected), std::string::npos)
        << c.text << " -> " << type.error().message;
  }
}

TEST(ColumnTest, NullableStringsKeepOffsetsAligned) {
  Column column(Parse("Nullable(String)"));
  column.AppendString("a");
  column.AppendNull();
  column.AppendString("ccc");
  ASSERT_EQ(column.size(), 3u);
  EXPECT_FALSE(column.IsNull(0));
  EXPECT_TRUE(column.IsNull(1));
  EXPECT_EQ(column.StringAt(2), "ccc");
  EXPECT_EQ(column.null_count(), 1u);
  EXPECT_EQ(column.offsets(), (std::vector<int32_t>{0, 1, 1, 4}));
}

TEST(ColumnTest, TruncateUndoesPartialRows) {
  Column column(Parse("Array(Nullable(Int32))"));
  column.child(0).AppendFixed<int32_t>(1);
  column.child(0).AppendNull();
  column.CloseNestedRow();
  column.child(0).AppendFixed<int32_t>(3);
  column.CloseNestedRow();
  column.Truncate(1);
  EXPECT_EQ(column.size(), 1u);
  EXPECT_EQ(column.child(0).size(), 2u);
  EXPECT_EQ(column.child(0).null_count(), 1u);
  column.Truncate(0);
  EXPECT_EQ(column.child(0).size(), 0u);
  EXPECT_EQ(column.child(0).null_count(), 0u);
}

TEST(ColumnTest, TruncateDropsElementsOfAnUnclosedNestedRow) {
  Column column(Parse("Array(String)"));
  column.child(0).AppendString("kept");
  column.CloseNestedRow();
  column.child(0).AppendString("half-written");
  column.Truncate(column.size());
  EXPECT_EQ(column.child(0).size(), 1u);
  Column tuple(Parse("Tuple(String, UInt8)"));
  tuple.child(0).AppendString("x");
  tuple.Truncate(0);
  EXPECT_EQ(tuple.child(0).size(), 0u);
}

TEST(ColumnTest, TruncateClearsValidityBits) {
  Column column(Parse("Nullable(UInt8)"));
  for (int i = 0; i < 10; ++i) column.AppendFixed<uint8_t>(static_cast<uint8_t>(i));
  column.Truncate(3);
  column.AppendNull();
  EXPECT_TRUE(column.IsNull(3));
  EXPECT_FALSE(column.IsNull(2));
  EXPECT_EQ(column.FixedAt<uint8_t>(2), 2);
}

TEST(BatchTest, TruncatesEveryColumn) {
  Batch batch({{"id", Parse("UInt64")}, {"name", Parse("String")}});
  batch.column(0).AppendFixed<uint64_t>(1);
  batch.column(1).AppendString("one");
  batch.column(0).AppendFixed<uint64_t>(2);
  batch.column(1).AppendString("two");
  EXPECT_EQ(batch.num_rows(), 2u);
  batch.Truncate(1);
  EXPECT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.column(1).StringAt(0), "one");
  EXPECT_GT(batch.ByteSize(), 0u);
}

}  // namespace
}  // namespace sluice
