#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"
#include "aggregate/hyper_log_log.h"
#include "aggregate/t_digest.h"
#include "aggregate/tests/aggregate_test_util.h"

namespace sluice {
namespace {

using testing::FixedColumn;
using testing::GroupStates;
using testing::Make;
using testing::StringColumn;
using testing::Type;

// The HyperLogLog standard error at precision 12; the accuracy tests allow three of them.
constexpr double kUniqStandardError = 1.04 / 64;
// The t-digest rank bounds the README states.
constexpr double kMiddleRankError = 0.005;
constexpr double kTailRankError = 0.001;

Column Int64Column(const std::vector<int64_t>& values, size_t from, size_t to) {
  Column column(Type("Int64"));
  column.Reserve(to - from);
  for (size_t i = from; i < to; ++i) column.AppendFixed(values[i]);
  return column;
}

/// Feeds `values` to `states` in 65536-row batches, the row's group given by `group_of`.
template <typename GroupOf>
void AddInBatches(GroupStates& states, const std::vector<int64_t>& values, GroupOf&& group_of) {
  constexpr size_t kBatch = 65536;
  std::vector<size_t> groups;
  for (size_t from = 0; from < values.size(); from += kBatch) {
    size_t to = std::min(values.size(), from + kBatch);
    Column column = Int64Column(values, from, to);
    groups.resize(to - from);
    for (size_t i = from; i < to; ++i) groups[i - from] = group_of(i);
    states.Add(&column, to - from, groups);
  }
}

uint64_t Estimate(const AggregateFunction& function, const char* place) {
  Column out(function.result_type());
  function.Finalize(place, out);
  return out.FixedAt<uint64_t>(0);
}

TEST(UniqTest, ExactForSmallCardinalities) {
  auto uniq = Make("uniq", "Int64");
  for (int64_t distinct : {0, 1, 4, 5, 100, 256}) {
    std::vector<int64_t> values;
    for (int repeat = 0; repeat < 3; ++repeat) {
      for (int64_t v = 0; v < distinct; ++v) values.push_back(v * 7919);
    }
    GroupStates states(*uniq, 1);
    AddInBatches(states, values, [](size_t) { return 0; });
    EXPECT_EQ(Estimate(*uniq, states.at(0)), static_cast<uint64_t>(distinct));
    if (distinct <= 4) {
      EXPECT_EQ(uniq->HeapBytes(states.at(0)), 0u) << "inline while tiny";
    }
  }
  EXPECT_LE(uniq->state_size(), 64u) << "a million groups must not cost a million registers";
}

TEST(UniqTest, NearExactJustPastTheExactLimit) {
  auto uniq = Make("uniq", "String");
  for (size_t distinct : {300, 1000, 5000}) {
    Column words(Type("String"));
    for (size_t i = 0; i < distinct; ++i) words.AppendString("user-" + std::to_string(i));
    GroupStates states(*uniq, 1);
    states.Add(&words, distinct);
    states.Add(&words, distinct);
    double error = std::abs(static_cast<double>(Estimate(*uniq, states.at(0))) - distinct) /
                   static_cast<double>(distinct);
    EXPECT_LE(error, 0.02) << distinct << " distinct";
  }
}

TEST(UniqTest, MillionDistinctWithinStatedError) {
  constexpr size_t kDistinct = 1000000;
  std::vector<int64_t> values(kDistinct);
  for (size_t i = 0; i < kDistinct; ++i) values[i] = static_cast<int64_t>(i * 2654435761u);
  auto uniq = Make("uniq", "Int64");
  // Group 0 sees everything; groups 1-4 a quarter each, merged into group 1 afterwards.
  GroupStates whole(*uniq, 1);
  AddInBatches(whole, values, [](size_t) { return 0; });
  GroupStates parts(*uniq, 4);
  AddInBatches(parts, values, [](size_t i) { return i % 4; });
  for (size_t part = 1; part < 4; ++part) uniq->Merge(parts.at(0), parts.at(part));

  uint64_t estimate = Estimate(*uniq, whole.at(0));
  double error = std::abs(static_cast<double>(estimate) - kDistinct) / kDistinct;
  EXPECT_LE(error, 3 * kUniqStandardError) << "estimate " << estimate;
  EXPECT_EQ(Estimate(*uniq, parts.at(0)), estimate) << "register-wise max loses nothing";
  RecordProperty("uniq_relative_error", std::to_string(error));
}

TEST(UniqTest, StateRejectsCorruptRegisters) {
  auto uniq = Make("uniq", "Int64");
  std::vector<int64_t> values(2000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>(i);
  GroupStates states(*uniq, 2);
  AddInBatches(states, values, [](size_t) { return 0; });
  std::string bytes;
  uniq->Serialize(states.at(0), bytes);
  ASSERT_EQ(bytes.size(), 2 + HyperLogLog::kRegisters);
  std::string bad = bytes;
  bad[2 + 17] = static_cast<char>(HyperLogLog::kMaxRank + 1);
  std::string_view in = bad;
  EXPECT_EQ(uniq->Deserialize(states.at(1), in).error().code, ErrorCode::kAggregateStateCorrupt);
  bad = bytes;
  bad[0] = 7;
  in = bad;
  EXPECT_EQ(uniq->Deserialize(states.at(1), in).error().code, ErrorCode::kAggregateStateCorrupt);
  in = bytes;
  ASSERT_TRUE(uniq->Deserialize(states.at(1), in).ok());
  EXPECT_EQ(Estimate(*uniq, states.at(1)), Estimate(*uniq, states.at(0)));
}

TEST(CountDistinctTest, ExactOverNumbersAndText) {
  Column ints = FixedColumn<int32_t>("Nullable(Int32)", {1, 2, 2, std::nullopt, 3, 1, -1});
  auto distinct_ints = Make("count_distinct", "Nullable(Int32)");
  GroupStates int_states(*distinct_ints, 2);
  int_states.Add(&ints, 7, {0, 0, 0, 0, 1, 1, 1});
  Column out = int_states.Finalize();
  EXPECT_EQ(out.FixedAt<uint64_t>(0), 2u);
  EXPECT_EQ(out.FixedAt<uint64_t>(1), 3u);
  distinct_ints->Merge(int_states.at(0), int_states.at(1));
  EXPECT_EQ(Estimate(*distinct_ints, int_states.at(0)), 4u);

  Column floats = FixedColumn<double>("Float64", {0.0, -0.0, NAN, NAN, 1.5});
  auto distinct_floats = Make("count_distinct", "Float64");
  GroupStates float_states(*distinct_floats, 1);
  float_states.Add(&floats, 5);
  EXPECT_EQ(Estimate(*distinct_floats, float_states.at(0)), 3u) << "0 = -0, NaN = NaN";

  Column words = StringColumn("String", {"a", "b", "a", "", "a longer value than sso holds", ""});
  auto distinct_words = Make("count_distinct", "String");
  GroupStates word_states(*distinct_words, 1);
  word_states.Add(&words, 6);
  EXPECT_EQ(Estimate(*distinct_words, word_states.at(0)), 4u);
}

double RankBound(double level) {
  return level < 0.02 || level > 0.98 ? kTailRankError : kMiddleRankError;
}

/// 10^6 values at the quantiles (i + 0.5) / n of a distribution, shuffled: the true rank of
/// any estimate is then the distribution's CDF at it, with no sort of the input.
std::vector<double> ShuffledQuantiles(double (*inverse_cdf)(double), uint64_t seed) {
  constexpr size_t kValues = 1000000;
  std::vector<double> values(kValues);
  for (size_t i = 0; i < kValues; ++i) values[i] = inverse_cdf((i + 0.5) / kValues);
  std::mt19937_64 random(seed);
  std::shuffle(values.begin(), values.end(), random);
  return values;
}

/// Checks the rank error of every level on four digests of a quarter of the values each,
/// merged (each part is itself a single digest of 250 000 values), and of the quantile function
/// at 0.95 on one state of all values.
void CheckQuantiles(const std::vector<double>& values, double (*cdf)(double),
                    const char* distribution) {
  TDigest parts[4];
  for (size_t i = 0; i < values.size(); ++i) parts[(i / 1000) % 4].Add(values[i]);
  for (double level : {0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999}) {
    SCOPED_TRACE(std::string(distribution) + " level " + std::to_string(level));
    double part = parts[1].Quantile(level);
    EXPECT_NEAR(cdf(part), level, RankBound(level)) << "quarter " << part;
  }
  for (size_t part = 1; part < 4; ++part) parts[0].Merge(parts[part]);
  for (double level : {0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999}) {
    SCOPED_TRACE(std::string(distribution) + " level " + std::to_string(level));
    double merged = parts[0].Quantile(level);
    EXPECT_NEAR(cdf(merged), level, RankBound(level)) << "merged " << merged;
  }

  constexpr size_t kBatch = 65536;
  constexpr double kLevel = 0.95;
  auto quantile = Make("quantile", "Float64", kLevel);
  GroupStates one(*quantile, 1);
  for (size_t from = 0; from < values.size(); from += kBatch) {
    size_t to = std::min(values.size(), from + kBatch);
    Column column(Type("Float64"));
    column.Reserve(to - from);
    for (size_t i = from; i < to; ++i) column.AppendFixed(values[i]);
    one.Add(&column, to - from);
  }
  EXPECT_NEAR(cdf(one.Finalize().FixedAt<double>(0)), kLevel, kMiddleRankError);
}

TEST(QuantileTest, RankErrorWithinBoundOnUniformValues) {
  auto inverse = [](double q) { return q * 1000; };
  auto cdf = [](double x) { return std::clamp(x / 1000, 0.0, 1.0); };
  CheckQuantiles(ShuffledQuantiles(inverse, 42), cdf, "uniform");
}

TEST(QuantileTest, RankErrorWithinBoundOnSkewedValues) {
  // Pareto with shape 1.5, like latencies: most values small, a long right tail.
  auto inverse = [](double q) { return std::pow(1 - q, -1 / 1.5); };
  auto cdf = [](double x) { return x < 1 ? 0.0 : 1 - std::pow(x, -1.5); };
  CheckQuantiles(ShuffledQuantiles(inverse, 7), cdf, "Pareto");
}

TEST(QuantileTest, SmallInputsAndNulls) {
  auto median = Make("quantile", "Nullable(Int32)", 0.5);
  Column ints = FixedColumn<int32_t>("Nullable(Int32)", {5, 1, std::nullopt, 3, std::nullopt});
  GroupStates states(*median, 2);
  states.Add(&ints, 5, {0, 0, 0, 0, 1});
  Column out = states.Finalize();
  EXPECT_DOUBLE_EQ(out.FixedAt<double>(0), 3.0);
  EXPECT_TRUE(out.IsNull(1));

  auto p90 = Make("quantile", "Decimal(9, 2)", 0.9);
  std::vector<std::optional<Int128>> cents;
  for (int i = 1; i <= 100; ++i) cents.push_back(Int128(i * 100));
  Column decimals = FixedColumn<Int128>("Decimal(9, 2)", cents);
  GroupStates decimal_states(*p90, 1);
  decimal_states.Add(&decimals, 100);
  EXPECT_NEAR(decimal_states.Finalize().FixedAt<double>(0), 90.0, 1.0);
}

std::vector<std::string> TopTexts(const AggregateFunction& function, const char* place) {
  Column out(function.result_type());
  function.Finalize(place, out);
  std::vector<std::string> texts;
  const Column& elements = out.child(0);
  for (int32_t i = out.offsets()[0]; i < out.offsets()[1]; ++i) {
    texts.emplace_back(elements.StringAt(static_cast<size_t>(i)));
  }
  return texts;
}

TEST(TopKTest, FindsTheHeavyHittersOfAZipfStream) {
  // Zipf(1.1) over 10^5 values, about 10^6 events: the value of rank r occurs
  // 10^5 / r^1.1 times, shuffled. Ranks are scattered over the key space so that the answer is
  // not simply 0..9.
  std::vector<int64_t> values;
  for (int64_t rank = 1; rank <= 100000; ++rank) {
    auto count = static_cast<size_t>(100000 / std::pow(static_cast<double>(rank), 1.1));
    values.insert(values.end(), std::max<size_t>(count, 1), rank * 7919 + 13);
  }
  std::mt19937_64 random(11);
  std::shuffle(values.begin(), values.end(), random);
  std::vector<std::string> truth;
  for (int64_t rank = 1; rank <= 10; ++rank) truth.push_back(std::to_string(rank * 7919 + 13));

  auto top = Make("top_k", "Int64", 0.5, 10);
  GroupStates whole(*top, 1);
  AddInBatches(whole, values, [](size_t) { return 0; });
  GroupStates parts(*top, 4);
  AddInBatches(parts, values, [](size_t i) { return i % 4; });
  for (size_t part = 1; part < 4; ++part) top->Merge(parts.at(0), parts.at(part));

  for (const char* place :
       {static_cast<const char*>(whole.at(0)), static_cast<const char*>(parts.at(0))}) {
    std::vector<std::string> found = TopTexts(*top, place);
    ASSERT_EQ(found.size(), 10u);
    // The clear leaders in their order; the rest of the ten as a set.
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(found[i], truth[i]) << "rank " << i;
    EXPECT_EQ(std::set<std::string>(found.begin(), found.end()),
              std::set<std::string>(truth.begin(), truth.end()));
  }
}

TEST(TopKTest, TextOfStringsAndDates) {
  Column words = StringColumn("Nullable(String)",
                              {"b", "a", std::nullopt, "b", "c", "b", "a", std::nullopt, "d"});
  auto top = Make("top_k", "Nullable(String)", 0.5, 2);
  GroupStates states(*top, 1);
  states.Add(&words, words.size());
  EXPECT_EQ(TopTexts(*top, states.at(0)), (std::vector<std::string>{"b", "a"}));

  Column days = FixedColumn<int32_t>("Date", {19723, 19723, 0});
  auto top_days = Make("top_k", "Date", 0.5, 5);
  GroupStates day_states(*top_days, 1);
  day_states.Add(&days, 3);
  EXPECT_EQ(TopTexts(*top_days, day_states.at(0)),
            (std::vector<std::string>{"2024-01-01", "1970-01-01"}));
  EXPECT_EQ(top_days->result_type().ToString(), "Array(String)");
}

TEST(SketchFactoryTest, ParametersAndTypesAreChecked) {
  DataType number = Type("Float64");
  for (double level : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    auto made = MakeAggregateFunction({"quantile", "p", "latency", level}, &number);
    ASSERT_FALSE(made.ok()) << level;
    EXPECT_EQ(made.error().code, ErrorCode::kSpecAggregateParameter);
    EXPECT_EQ(made.error().where, "quantile(latency) as p");
  }
  auto zero_k = MakeAggregateFunction({"top_k", "pages", "page", 0.5, 0}, &number);
  ASSERT_FALSE(zero_k.ok());
  EXPECT_EQ(zero_k.error().code, ErrorCode::kSpecAggregateParameter);

  DataType text = Type("String");
  auto quantile_of_text = MakeAggregateFunction({"quantile", "p", "name", 0.5}, &text);
  ASSERT_FALSE(quantile_of_text.ok());
  EXPECT_EQ(quantile_of_text.error().code, ErrorCode::kSpecAggregateInputType);
  DataType array = Type("Array(String)");
  for (const char* function : {"uniq", "count_distinct", "top_k"}) {
    auto made = MakeAggregateFunction({function, "n", "tags"}, &array);
    ASSERT_FALSE(made.ok()) << function;
    EXPECT_EQ(made.error().code, ErrorCode::kSpecAggregateInputType);
  }
  for (const char* type : {"String", "UUID", "DateTime64(3)", "Decimal(10, 2)", "UInt8"}) {
    for (const char* function : {"uniq", "count_distinct", "top_k"}) {
      EXPECT_NE(Make(function, type), nullptr) << function << "(" << type << ")";
    }
  }
  EXPECT_EQ(Make("quantile", "Nullable(UInt16)")->result_type().ToString(), "Nullable(Float64)");
  EXPECT_EQ(Make("uniq", "Nullable(String)")->result_type().ToString(), "UInt64");
}

/// Sketch states of each function over several sizes, for the round-trip checks.
TEST(SketchStateTest, SerializeRoundTripAndTruncation) {
  for (const char* function : {"uniq", "count_distinct", "quantile", "top_k"}) {
    for (size_t size : {0, 3, 40, 1500}) {
      SCOPED_TRACE(std::string(function) + " over " + std::to_string(size));
      bool text = std::string(function) != "quantile";
      Column input(Type(text ? "String" : "Float64"));
      for (size_t i = 0; i < size; ++i) {
        if (text) {
          input.AppendString("value " + std::to_string(i % 700));
        } else {
          input.AppendFixed(std::sqrt(static_cast<double>(i)));
        }
      }
      auto made = Make(function, text ? "String" : "Float64", 0.9, 5);
      GroupStates states(*made, 2);
      states.Add(&input, size);
      std::string bytes;
      made->Serialize(states.at(0), bytes);
      std::string_view in = bytes;
      ASSERT_TRUE(made->Deserialize(states.at(1), in).ok());
      EXPECT_TRUE(in.empty());
      Column out = states.Finalize();
      if (std::string(function) == "top_k") {
        EXPECT_EQ(TopTexts(*made, states.at(1)), TopTexts(*made, states.at(0)));
      } else if (text) {
        EXPECT_EQ(out.FixedAt<uint64_t>(1), out.FixedAt<uint64_t>(0));
      } else if (size > 0) {
        EXPECT_EQ(out.FixedAt<double>(1), out.FixedAt<double>(0));
      }
      // Every cut short of the whole is an error; a cut of 1 byte in, say, the middle of a
      // string length is the interesting case, so try every prefix of small states and a spread
      // of prefixes of large ones.
      size_t step = bytes.size() > 2000 ? bytes.size() / 97 : 1;
      for (size_t cut = 0; cut < bytes.size(); cut += step) {
        GroupStates target(*made, 1);
        std::string_view truncated = std::string_view(bytes).substr(0, cut);
        Status status = made->Deserialize(target.at(0), truncated);
        ASSERT_FALSE(status.ok()) << "cut at " << cut << " of " << bytes.size();
        EXPECT_EQ(status.error().code, ErrorCode::kAggregateStateCorrupt);
      }
    }
  }
}

}  // namespace
}  // namespace sluice
