#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "base/error_codes.h"
#include "base/result.h"
#include "base/strings.h"

namespace sluice {
namespace {

TEST(EscapeFieldTest, TabsNewlinesAndPercentRoundTripWithoutSeparators) {
  const std::string value = "a\tb\nc%d%09";
  std::string escaped = EscapeField(value);
  EXPECT_EQ(escaped, "a%09b%0Ac%25d%2509");
  EXPECT_EQ(escaped.find_first_of("\t\n"), std::string::npos);
  EXPECT_EQ(UnescapeField(escaped), value);
  EXPECT_EQ(UnescapeField("trailing %"), "trailing %");
}

TEST(SplitFieldsTest, KeepsEmptyFieldsAndSplitsOnTheSeparatorGiven) {
  EXPECT_EQ(SplitFields("a\t\tb"), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(SplitFields(""), (std::vector<std::string_view>{""}));
  EXPECT_EQ(SplitFields("all_1_2_0", '_'), (std::vector<std::string_view>{"all", "1", "2", "0"}));
}

TEST(ParseUint64Test, TakesOnlyAWholeDecimalNumber) {
  uint64_t value = 0;
  EXPECT_TRUE(ParseUint64("18446744073709551615", value));
  EXPECT_EQ(value, UINT64_MAX);
  EXPECT_FALSE(ParseUint64("", value));
  EXPECT_FALSE(ParseUint64("12x", value));
  EXPECT_FALSE(ParseUint64("-1", value));
  EXPECT_FALSE(ParseUint64("18446744073709551616", value));
}

TEST(IdentifierTest, AcceptsLettersDigitsAndUnderscore) {
  EXPECT_TRUE(IsIdentifier("user_events"));
  EXPECT_TRUE(IsIdentifier("_private"));
  EXPECT_TRUE(IsIdentifier("T2"));
  EXPECT_TRUE(IsIdentifier(std::string(128, 'a')));
}

TEST(IdentifierTest, RejectsEverythingElse) {
  EXPECT_FALSE(IsIdentifier(""));
  EXPECT_FALSE(IsIdentifier("2fast"));
  EXPECT_FALSE(IsIdentifier("user-events"));
  EXPECT_FALSE(IsIdentifier("user events"));
  EXPECT_FALSE(IsIdentifier("a.b"));
  EXPECT_FALSE(IsIdentifier("x`y"));
  EXPECT_FALSE(IsIdentifier("x`; DROP TABLE y"));
  EXPECT_FALSE(IsIdentifier("naïve"));
  EXPECT_FALSE(IsIdentifier(std::string(129, 'a')));
}

TEST(ErrorCodeTest, NumbersAndNamesAreUnique) {
  std::set<int> numbers;
  std::set<std::string> names;
  ForEachErrorCode([&](ErrorCode code, std::string_view name, std::string_view description) {
    EXPECT_TRUE(numbers.insert(ErrorCodeNumber(code)).second) << name;
    EXPECT_TRUE(names.insert(std::string(name)).second) << name;
    EXPECT_FALSE(description.empty()) << name;
    EXPECT_EQ(ErrorCodeName(code), name);
  });
  EXPECT_GT(numbers.size(), 10u);
}

TEST(ErrorCodeTest, StableNumbers) {
  // Stored in dead-letter tables: these must never change.
  EXPECT_EQ(ErrorCodeNumber(ErrorCode::kSpecSyntax), 100);
  EXPECT_EQ(ErrorCodeNumber(ErrorCode::kRecordMalformed), 200);
  EXPECT_EQ(ErrorCodeNumber(ErrorCode::kWarehouseQueryFailed), 301);
  EXPECT_EQ(ErrorCodeName(ErrorCode::kRecordOutOfRange), "RECORD_OUT_OF_RANGE");
}

TEST(ErrorCodeTest, DocsListEveryCode) {
  std::ifstream file(std::string(SLUICE_SOURCE_DIR) + "/docs/errors.md");
  std::string docs((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(docs.find(ErrorCodeTableMarkdown()), std::string::npos)
      << "docs/errors.md is out of date: paste the output of `sluice errors` into it";
}

TEST(ResultTest, CarriesValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = MakeError(ErrorCode::kIoError, "disk full", "wal/0001");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kIoError);
  EXPECT_EQ(bad.error().ToString(), "wal/0001: disk full [IO_ERROR]");
  Status fine;
  EXPECT_TRUE(fine.ok());
}

TEST(StringsTest, EditDistanceCountsSwapsAsOne) {
  EXPECT_EQ(EditDistance("ZSDT", "ZSTD"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST(StringsTest, SuggestsOnlyCloseNames) {
  std::vector<std::string> keys = {"partition_by", "order_by", "primary_key"};
  EXPECT_EQ(SuggestClosest("partiton_by", keys), "partition_by");
  EXPECT_EQ(SuggestClosest("oder_by", keys), "order_by");
  EXPECT_EQ(SuggestClosest("completely_different", keys), "");
}

TEST(StringsTest, TrimAndSplit) {
  EXPECT_EQ(Trim("  a b \n"), "a b");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(SplitLines("a\nb\n\nc"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(Join({"a", "b"}, ", "), "a, b");
}

}  // namespace
}  // namespace sluice
