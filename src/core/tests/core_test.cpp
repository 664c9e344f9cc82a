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
  for (const Case& c :
       {Case{"Strng", "did you mean 'String'"}, Case{"Decimal(40, 2)", "precision must be 1 to 38"},
        Case{"Decimal(5, 6)", "scale must not exceed"},
        Case{"DateTime64(12)", "precision must be 0 to 9"},
        Case{"Nullable(Array(String))", "Nullable cannot wrap"},
        Case{"LowCardinality(Array(String))", "LowCardinality cannot wrap"},
        Case{"Map(Float64, String)", "Map keys cannot be"}, Case{"Array(String", "expected ')'"},
        Case{"UInt64 extra", "unexpected"}, Case{"DateTime('x'); DROP TABLE t; --')", "unexpected"},
        Case{"DateTime('a;b')", "time zone names"}, Case{"", "expected a type name"}}) {
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

TEST(BatchTest, AppendBatchContinuesOffsetsAndValidity) {
  Schema schema = {{"name", Parse("Nullable(String)")}, {"tags", Parse("Array(UInt8)")}};
  Batch first(schema);
  Batch second(schema);
  for (int i = 0; i < 5; ++i) {
    first.column(0).AppendString("a" + std::to_string(i));
    first.column(1).child(0).AppendFixed<uint8_t>(1);
    first.column(1).CloseNestedRow();
  }
  second.column(0).AppendNull();
  second.column(0).AppendString("zz");
  for (int i = 0; i < 2; ++i) {
    second.column(1).child(0).AppendFixed<uint8_t>(2);
    second.column(1).child(0).AppendFixed<uint8_t>(3);
    second.column(1).CloseNestedRow();
  }
  first.AppendBatch(second);
  ASSERT_EQ(first.num_rows(), 7u);
  EXPECT_EQ(first.column(0).StringAt(4), "a4");
  EXPECT_TRUE(first.column(0).IsNull(5));
  EXPECT_EQ(first.column(0).StringAt(6), "zz");
  EXPECT_EQ(first.column(0).null_count(), 1u);
  EXPECT_EQ(first.column(1).offsets(), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 7, 9}));
  EXPECT_EQ(first.column(1).child(0).FixedAt<uint8_t>(8), 3);
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

TEST(ColumnTest, FilterKeepsChosenRowsInOrder) {
  Column strings(Parse("Nullable(String)"));
  Column numbers(Parse("Int32"));
  for (int i = 0; i < 12; ++i) {
    if (i % 4 == 1) {
      strings.AppendNull();
    } else {
      strings.AppendString(std::string(static_cast<size_t>(i), 'x'));
    }
    numbers.AppendFixed<int32_t>(i * 10);
  }
  std::vector<uint8_t> keep = {0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1};
  strings.Filter(keep);
  numbers.Filter(keep);
  std::vector<int> expected = {1, 2, 4, 5, 9, 10, 11};
  ASSERT_EQ(strings.size(), expected.size());
  ASSERT_EQ(numbers.size(), expected.size());
  EXPECT_EQ(strings.null_count(), 3u);
  for (size_t row = 0; row < expected.size(); ++row) {
    int original = expected[row];
    EXPECT_EQ(numbers.FixedAt<int32_t>(row), original * 10);
    EXPECT_EQ(strings.IsNull(row), original % 4 == 1) << row;
    if (!strings.IsNull(row)) {
      EXPECT_EQ(strings.StringAt(row), std::string(static_cast<size_t>(original), 'x'));
    }
  }
  // Appending after a filter continues from the compacted rows.
  strings.AppendString("tail");
  EXPECT_EQ(strings.StringAt(expected.size()), "tail");
  EXPECT_FALSE(strings.IsNull(expected.size()));
}

TEST(ColumnTest, FilterTakesNestedElementsWithTheirRows) {
  Column arrays(Parse("Array(String)"));
  for (std::vector<std::string> row : {std::vector<std::string>{"a", "b"}, {}, {"c"}, {"d", "e"}}) {
    for (const std::string& element : row) arrays.child(0).AppendString(element);
    arrays.CloseNestedRow();
  }
  arrays.Filter({1, 0, 0, 1});
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays.offsets(), (std::vector<int32_t>{0, 2, 4}));
  ASSERT_EQ(arrays.child(0).size(), 4u);
  EXPECT_EQ(arrays.child(0).StringAt(2), "d");

  Column tuples(Parse("Tuple(String, UInt8)"));
  for (uint8_t i = 0; i < 3; ++i) {
    tuples.child(0).AppendString(std::to_string(i));
    tuples.child(1).AppendFixed<uint8_t>(i);
    tuples.CloseNestedRow();
  }
  tuples.Filter({0, 0, 1});
  ASSERT_EQ(tuples.size(), 1u);
  EXPECT_EQ(tuples.child(0).StringAt(0), "2");
  EXPECT_EQ(tuples.child(1).FixedAt<uint8_t>(0), 2);
}

TEST(BatchTest, FilterCompactsEveryColumn) {
  Batch batch({{"id", Parse("UInt64")}, {"name", Parse("String")}});
  for (uint64_t i = 0; i < 5; ++i) {
    batch.column(0).AppendFixed<uint64_t>(i);
    batch.column(1).AppendString("n" + std::to_string(i));
  }
  batch.Filter({1, 0, 1, 0, 0});
  ASSERT_EQ(batch.num_rows(), 2u);
  EXPECT_EQ(batch.column(0).FixedAt<uint64_t>(1), 2u);
  EXPECT_EQ(batch.column(1).StringAt(1), "n2");
  batch.Filter({0, 0});
  EXPECT_EQ(batch.num_rows(), 0u);
  EXPECT_EQ(batch.column(1).bytes().size(), 0u);
}

}  // namespace
}  // namespace sluice
