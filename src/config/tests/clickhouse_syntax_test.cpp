#include "config/clickhouse_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(SplitTopLevelTest, KeepsCommasInsideCallsAndQuotes) {
  EXPECT_EQ(SplitTopLevel("a, f(b, c), 'x,y', [1, 2]"),
            (std::vector<std::string>{"a", "f(b, c)", "'x,y'", "[1, 2]"}));
  EXPECT_EQ(SplitTopLevel(" a ,, b "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitTopLevel("'it\\'s, ok', b"), (std::vector<std::string>{"'it\\'s, ok'", "b"}));
  EXPECT_TRUE(SplitTopLevel("  ").empty());
}

TEST(StripTupleTest, RemovesOnlyEnclosingParentheses) {
  EXPECT_EQ(StripTuple("(a, b)"), "a, b");
  EXPECT_EQ(StripTuple("tuple()"), "");
  EXPECT_EQ(StripTuple("(a) + (b)"), "(a) + (b)");
  EXPECT_EQ(StripTuple("a"), "a");
}

TEST(SettingLiteralTest, QuotesEverythingButPlainNumbersAndBooleans) {
  EXPECT_EQ(SettingLiteral("8192", true), "8192");
  EXPECT_EQ(SettingLiteral("-0.5", true), "-0.5");
  EXPECT_EQ(SettingLiteral("true", true), "true");
  EXPECT_EQ(SettingLiteral("8192", false), "'8192'");
  EXPECT_EQ(SettingLiteral("default", true), "'default'");
  EXPECT_EQ(SettingLiteral("it's \\", true), "'it\\'s \\\\'");
  EXPECT_EQ(SettingLiteral("1e5x", true), "'1e5x'");
}

TEST(CodecTest, AcceptsKnownCodecsWithValidArguments) {
  for (const char* codec :
       {"None", "LZ4", "LZ4HC", "LZ4HC(9)", "ZSTD", "ZSTD(3)", "Delta", "Delta(4)", "DoubleDelta",
        "Gorilla", "T64", "FPC", "FPC(12, 8)", "GCD"}) {
    EXPECT_TRUE(CheckCodec(codec).ok()) << codec;
  }
}

TEST(CodecTest, RejectsUnknownNamesAndBadArguments) {
  Status misspelt = CheckCodec("ZSTDD(3)");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_EQ(misspelt.error().code, ErrorCode::kSpecInvalidValue);
  EXPECT_NE(misspelt.error().message.find("did you mean 'ZSTD'?"), std::string::npos);

  Status lower_case = CheckCodec("zstd");
  ASSERT_FALSE(lower_case.ok());
  EXPECT_NE(lower_case.error().message.find("did you mean 'ZSTD'?"), std::string::npos);

  Status not_integer = CheckCodec("ZSTD(high)");
  ASSERT_FALSE(not_integer.ok());
  EXPECT_NE(not_integer.error().message.find("'high' is not an integer"), std::string::npos);

  EXPECT_FALSE(CheckCodec("Delta(3)").ok());
  EXPECT_FALSE(CheckCodec("ZSTD(23)").ok());
  EXPECT_FALSE(CheckCodec("LZ4(1)").ok());
  EXPECT_FALSE(CheckCodec("ZSTD(1, 2)").ok());
  EXPECT_FALSE(CheckCodec("ZSTD(").ok());
}

TEST(IndexTypeTest, AcceptsKnownTypes) {
  for (const char* type : {"minmax", "set(100)", "set(0)", "bloom_filter", "bloom_filter(0.01)",
                           "ngrambf_v1(3, 256, 2, 0)", "tokenbf_v1(256, 2, 0)"}) {
    EXPECT_TRUE(CheckIndexType(type).ok()) << type;
  }
}

TEST(IndexTypeTest, RejectsUnknownTypesAndBadArguments) {
  Status misspelt = CheckIndexType("bloomfilter");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_NE(misspelt.error().message.find("did you mean 'bloom_filter'?"), std::string::npos);
  EXPECT_FALSE(CheckIndexType("set").ok());
  EXPECT_FALSE(CheckIndexType("set(x)").ok());
  EXPECT_FALSE(CheckIndexType("bloom_filter(2)").ok());
  EXPECT_FALSE(CheckIndexType("tokenbf_v1(256, 2)").ok());
  EXPECT_FALSE(CheckIndexType("minmax(1)").ok());
}

TEST(EngineNameTest, ParsesFamiliesAndTheReplicatedPrefix) {
  Result<EngineName> plain = ParseEngineName("SummingMergeTree()");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->family, "SummingMergeTree");
  EXPECT_FALSE(plain->replicated);

  Result<EngineName> replicated = ParseEngineName("ReplicatedReplacingMergeTree");
  ASSERT_TRUE(replicated.ok());
  EXPECT_EQ(replicated->family, "ReplacingMergeTree");
  EXPECT_TRUE(replicated->replicated);

  Result<EngineName> misspelt = ParseEngineName("SumingMergeTree");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_NE(misspelt.error().message.find("did you mean 'SummingMergeTree'?"), std::string::npos);
  EXPECT_FALSE(ParseEngineName("Log").ok());
}

}  // namespace
}  // namespace sluice
