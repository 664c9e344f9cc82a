#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "aggregate/tests/aggregate_test_util.h"

namespace sluice {
namespace {

using testing::FixedColumn;
using testing::GroupStates;
using testing::Make;
using testing::StringColumn;
using testing::Type;

TEST(AggregateFactoryTest, ResultTypesFollowClickHouse) {
  struct Case {
    std::string function;
    std::string input;
    std::string result;
  };
  const Case cases[] = {
      {"count", "String", "UInt64"},
      {"sum", "Int8", "Int64"},
      {"sum", "Int64", "Int64"},
      {"sum", "UInt32", "UInt64"},
      {"sum", "Bool", "UInt64"},
      {"sum", "Float32", "Float64"},
      {"sum", "Decimal(10, 2)", "Decimal(38, 2)"},
      {"sum", "Nullable(Int32)", "Nullable(Int64)"},
      {"avg", "Int32", "Float64"},
      {"avg", "Decimal(18, 4)", "Float64"},
      {"avg", "Nullable(Float64)", "Nullable(Float64)"},
      {"min", "String", "String"},
      {"max", "DateTime64(3)", "DateTime64(3)"},
      {"first", "Nullable(Date)", "Nullable(Date)"},
      {"last", "LowCardinality(String)", "LowCardinality(String)"},
  };
  for (const Case& c : cases) {
    auto function = Make(c.function, c.input);
    ASSERT_NE(function, nullptr);
    EXPECT_EQ(function->result_type().ToString(), c.result) << c.function << "(" << c.input << ")";
    EXPECT_EQ(function->name(), c.function);
  }
}

TEST(AggregateFactoryTest, UnknownFunctionSuggestsTheClosest) {
  DataType input = Type("Int64");
  auto made = MakeAggregateFunction({"summ", "total", "amount"}, &input);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, ErrorCode::kSpecUnknownAggregate);
  EXPECT_NE(made.error().message.find("did you mean 'sum'"), std::string::npos)
      << made.error().message;
  EXPECT_EQ(made.error().where, "summ(amount) as total");
}

TEST(AggregateFactoryTest, RefusesTypesTheFunctionDoesNotTake) {
  const std::pair<std::string, std::string> refused[] = {
      {"sum", "String"},
      {"sum", "Date"},
      {"avg", "DateTime"},
      {"min", "Array(Int32)"},
      {"max", "Map(String, String)"},
      {"first", "Tuple(Int8, Int8)"},
  };
  for (const auto& [function, type] : refused) {
    DataType input = Type(type);
    auto made = MakeAggregateFunction({function, "out", "field"}, &input);
    ASSERT_FALSE(made.ok()) << function << "(" << type << ")";
    EXPECT_EQ(made.error().code, ErrorCode::kSpecAggregateInputType);
    EXPECT_NE(made.error().message.find(type), std::string::npos) << made.error().message;
    EXPECT_NE(made.error().message.find("field"), std::string::npos) << made.error().message;
  }
}

TEST(AggregateFactoryTest, FieldIsRequiredExceptForCount) {
  DataType input = Type("Int64");
  auto made = MakeAggregateFunction({"sum", "total", ""}, &input);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, ErrorCode::kSpecMissingKey);
  EXPECT_TRUE(MakeAggregateFunction({"count", "rows", ""}, nullptr).ok());
}

TEST(AggregateFactoryTest, NamesListEveryFunction) {
  std::vector<std::string> names = AggregateFunctionNames();
  for (const char* name : {"count", "sum", "avg", "min", "max", "first", "last"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

TEST(CountTest, CountsEveryRowPerGroup) {
  auto count = Make("count", "Int32");
  GroupStates states(*count, 3);
  states.Add(nullptr, 6, {0, 1, 1, 2, 2, 2});
  states.Add(nullptr, 2, {2, 0});
  Column out = states.Finalize();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.FixedAt<uint64_t>(0), 2u);
  EXPECT_EQ(out.FixedAt<uint64_t>(1), 2u);
  EXPECT_EQ(out.FixedAt<uint64_t>(2), 4u);
}

TEST(SumTest, SkipsNullsAndWidensIntegers) {
  auto sum = Make("sum", "Nullable(Int32)");
  Column input = FixedColumn<int32_t>("Nullable(Int32)",
                                      {2147483647, std::nullopt, 2147483647, -5, std::nullopt});
  GroupStates states(*sum, 3);
  states.Add(&input, 5, {0, 0, 0, 1, 2});
  Column out = states.Finalize();
  EXPECT_EQ(out.FixedAt<int64_t>(0), 4294967294);
  EXPECT_EQ(out.FixedAt<int64_t>(1), -5);
  EXPECT_TRUE(out.IsNull(2)) << "a group of only NULLs sums to NULL";
}

TEST(SumTest, UnsignedFloatAndDecimal) {
  {
    auto sum = Make("sum", "UInt64");
    Column input = FixedColumn<uint64_t>("UInt64", {18000000000000000000u, 400000000000000000u});
    GroupStates states(*sum, 1);
    states.Add(&input, 2);
    EXPECT_EQ(states.Finalize().FixedAt<uint64_t>(0), 18400000000000000000u);
  }
  {
    auto sum = Make("sum", "Float32");
    Column input = FixedColumn<float>("Float32", {0.5f, 0.25f, -2.0f});
    GroupStates states(*sum, 1);
    states.Add(&input, 3);
    EXPECT_DOUBLE_EQ(states.Finalize().FixedAt<double>(0), -1.25);
  }
  {
    auto sum = Make("sum", "Decimal(10, 2)");
    Column input = FixedColumn<Int128>("Decimal(10, 2)", {12345, -45, 99999999});
    GroupStates states(*sum, 1);
    states.Add(&input, 3);
    EXPECT_TRUE(states.Finalize().FixedAt<Int128>(0) == Int128(12345 - 45 + 99999999));
  }
}

TEST(SumTest, WrapsAroundOnOverflowLikeClickHouse) {
  auto sum = Make("sum", "Int64");
  Column input = FixedColumn<int64_t>("Int64", {INT64_MAX, 1});
  GroupStates states(*sum, 1);
  states.Add(&input, 2);
  EXPECT_EQ(states.Finalize().FixedAt<int64_t>(0), INT64_MIN);
}

TEST(AvgTest, MeanOfNonNullValues) {
  auto avg = Make("avg", "Nullable(Int64)");
  Column input = FixedColumn<int64_t>("Nullable(Int64)", {1, 2, std::nullopt, 6, std::nullopt});
  GroupStates states(*avg, 3);
  states.Add(&input, 5, {0, 0, 0, 0, 1});
  Column out = states.Finalize();
  EXPECT_DOUBLE_EQ(out.FixedAt<double>(0), 3.0);
  EXPECT_TRUE(out.IsNull(1));
  EXPECT_TRUE(out.IsNull(2));

  auto plain = Make("avg", "Float64");
  GroupStates empty(*plain, 1);
  EXPECT_TRUE(std::isnan(empty.Finalize().FixedAt<double>(0))) << "avg of nothing is NaN";
}

TEST(AvgTest, DecimalIsScaled) {
  auto avg = Make("avg", "Decimal(12, 3)");
  Column input = FixedColumn<Int128>("Decimal(12, 3)", {1500, 2500, -1000});
  GroupStates states(*avg, 1);
  states.Add(&input, 3);
  EXPECT_DOUBLE_EQ(states.Finalize().FixedAt<double>(0), 1.0);
}

TEST(MinMaxTest, NumbersDatesAndStrings) {
  Column ints = FixedColumn<int16_t>("Nullable(Int16)", {5, -3, std::nullopt, 9, 7});
  auto min = Make("min", "Nullable(Int16)");
  auto max = Make("max", "Nullable(Int16)");
  GroupStates min_states(*min, 2);
  GroupStates max_states(*max, 2);
  min_states.Add(&ints, 5, {0, 0, 1, 0, 0});
  max_states.Add(&ints, 5, {0, 0, 1, 0, 0});
  Column min_out = min_states.Finalize();
  Column max_out = max_states.Finalize();
  EXPECT_EQ(min_out.FixedAt<int16_t>(0), -3);
  EXPECT_EQ(max_out.FixedAt<int16_t>(0), 9);
  EXPECT_TRUE(min_out.IsNull(1));
  EXPECT_TRUE(max_out.IsNull(1));

  Column dates = FixedColumn<int32_t>("Date", {19000, 18000, 20000});
  auto min_date = Make("min", "Date");
  GroupStates date_states(*min_date, 1);
  date_states.Add(&dates, 3);
  EXPECT_EQ(date_states.Finalize().FixedAt<int32_t>(0), 18000);

  Column words = StringColumn("Nullable(String)", {"pear", std::nullopt, "apple", "zucchini", ""});
  auto min_word = Make("min", "Nullable(String)");
  auto max_word = Make("max", "Nullable(String)");
  GroupStates min_words(*min_word, 1);
  GroupStates max_words(*max_word, 1);
  min_words.Add(&words, 4);
  max_words.Add(&words, 4);
  EXPECT_EQ(min_words.Finalize().StringAt(0), "apple");
  EXPECT_EQ(max_words.Finalize().StringAt(0), "zucchini");
}

TEST(FirstLastTest, ByEventTimeWithTiesInArrivalOrder) {
  Column values = StringColumn("String", {"a", "b", "c", "d", "e"});
  std::vector<int64_t> times = {30, 10, 10, 50, 50};
  auto first = Make("first", "String");
  auto last = Make("last", "String");
  GroupStates first_states(*first, 1);
  GroupStates last_states(*last, 1);
  first_states.Add(&values, 5, {}, times);
  last_states.Add(&values, 5, {}, times);
  EXPECT_EQ(first_states.Finalize().StringAt(0), "b") << "earliest time, first seen of a tie";
  EXPECT_EQ(last_states.Finalize().StringAt(0), "e") << "latest time, last seen of a tie";
}

TEST(FirstLastTest, MergeKeepsTheEarliestAndTheLatest) {
  auto first = Make("first", "Nullable(Int64)");
  auto last = Make("last", "Nullable(Int64)");
  Column values = FixedColumn<int64_t>("Nullable(Int64)", {1, 2, std::nullopt, 4});
  std::vector<int64_t> times = {20, 5, 1, 40};
  for (const auto* function : {first.get(), last.get()}) {
    GroupStates states(*function, 2);
    states.Add(&values, 4, {0, 1, 1, 0}, times);
    function->Merge(states.at(0), states.at(1));
    int64_t expected = function == first.get() ? 2 : 4;
    EXPECT_EQ(states.Finalize().FixedAt<int64_t>(0), expected) << function->name();
  }
}

/// One function over one input column, for the checks every function must pass.
struct FunctionCase {
  std::string function;
  std::string type;
  Column input;
};

std::vector<FunctionCase> BasicCases() {
  std::vector<FunctionCase> cases;
  Column ints = FixedColumn<int32_t>(
      "Nullable(Int32)", {4, -7, std::nullopt, 12, 0, 99, -1, std::nullopt, 3, 3, 8, -20});
  Column doubles = FixedColumn<double>("Float64", {0.5, 1e9, -3.25, 7, 7, 2, 1e-3, 4, 5, 6, 1, 0});
  Column decimals = FixedColumn<Int128>(
      "Decimal(20, 4)", {10000, -5, 7, 8, 9, 10, 11, 12, 13, 14, 15, (Int128(1) << 100)});
  Column strings = StringColumn("Nullable(String)",
                                {"k", "a", std::nullopt, "zz", "b", "", "q",
                                 "hello world, a longer string", "x", "y", std::nullopt, "m"});
  for (const char* function : {"sum", "avg", "min", "max", "first", "last", "count"}) {
    cases.push_back({function, "Nullable(Int32)", ints});
    cases.push_back({function, "Float64", doubles});
    cases.push_back({function, "Decimal(20, 4)", decimals});
    if (std::string(function) != "sum" && std::string(function) != "avg") {
      cases.push_back({function, "Nullable(String)", strings});
    }
  }
  return cases;
}

/// Finishes one state into text-comparable form: the column's raw buffers.
std::string Finished(const AggregateFunction& function, const char* place) {
  Column out(function.result_type());
  function.Finalize(place, out);
  std::string text(out.IsNull(0) ? "NULL" : "");
  text.append(reinterpret_cast<const char*>(out.values().data()), out.values().size());
  if (!out.IsNull(0) && out.storage().kind == TypeKind::kString) text.append(out.StringAt(0));
  return text;
}

TEST(AggregateFunctionTest, MergeOfSplitInputEqualsOneState) {
  for (const FunctionCase& c : BasicCases()) {
    SCOPED_TRACE(c.function + "(" + c.type + ")");
    auto function = Make(c.function, c.type);
    size_t rows = c.input.size();
    std::vector<int64_t> times(rows);
    for (size_t row = 0; row < rows; ++row) times[row] = static_cast<int64_t>((row * 7) % 5);
    // Group 0 sees every row; rows alternate between groups 1 and 2, merged afterwards.
    GroupStates whole(*function, 1);
    whole.Add(&c.input, rows, {}, times);
    std::vector<size_t> split(rows);
    for (size_t row = 0; row < rows; ++row) split[row] = row < rows / 2 ? 0 : 1;
    GroupStates parts(*function, 2);
    parts.Add(&c.input, rows, split, times);
    function->Merge(parts.at(0), parts.at(1));
    EXPECT_EQ(Finished(*function, parts.at(0)), Finished(*function, whole.at(0)));
  }
}

TEST(AggregateFunctionTest, SerializeRoundTripAndTruncation) {
  for (const FunctionCase& c : BasicCases()) {
    SCOPED_TRACE(c.function + "(" + c.type + ")");
    auto function = Make(c.function, c.type);
    GroupStates states(*function, 3);
    states.Add(&c.input, c.input.size());
    std::string bytes;
    function->Serialize(states.at(0), bytes);
    function->Serialize(states.at(2), bytes);  // an empty state after it
    std::string_view in = bytes;
    ASSERT_TRUE(function->Deserialize(states.at(1), in).ok());
    EXPECT_EQ(Finished(*function, states.at(1)), Finished(*function, states.at(0)));
    GroupStates empty(*function, 1);
    ASSERT_TRUE(function->Deserialize(empty.at(0), in).ok());
    EXPECT_TRUE(in.empty()) << "Deserialize consumes exactly what Serialize wrote";
    EXPECT_EQ(Finished(*function, empty.at(0)), Finished(*function, states.at(2)));

    std::string one;
    function->Serialize(states.at(0), one);
    for (size_t cut = 0; cut < one.size(); ++cut) {
      GroupStates target(*function, 1);
      std::string_view truncated = std::string_view(one).substr(0, cut);
      Status status = function->Deserialize(target.at(0), truncated);
      ASSERT_FALSE(status.ok()) << "cut at " << cut;
      EXPECT_EQ(status.error().code, ErrorCode::kAggregateStateCorrupt);
    }
  }
}

}  // namespace
}  // namespace sluice
