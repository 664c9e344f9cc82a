#include "format/record_splitter.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

std::vector<std::string_view> Split(RecordFraming framing, const simdjson::padded_string& body,
                                    std::string& problem) {
  std::vector<std::string_view> records;
  if (!SplitRecords(framing, body, records, problem)) records.clear();
  return records;
}

TEST(RecordSplitterTest, NdjsonSkipsBlankLinesAndCarriageReturns) {
  simdjson::padded_string body(std::string_view("{\"a\":1}\r\n\n  \n{\"a\":2}\nnot json"));
  std::string problem;
  auto records = Split(RecordFraming::kNdjson, body, problem);
  EXPECT_EQ(records, (std::vector<std::string_view>{"{\"a\":1}", "{\"a\":2}", "not json"}));
}

TEST(RecordSplitterTest, ArrayElementsAreRecordsEvenWhenNotObjects) {
  simdjson::padded_string body(std::string_view(" [ {\"a\":[1,2]}, 7, \"x\", [3] ] "));
  std::string problem;
  auto records = Split(RecordFraming::kJson, body, problem);
  EXPECT_EQ(records, (std::vector<std::string_view>{"{\"a\":[1,2]}", "7", "\"x\"", "[3]"}));
}

TEST(RecordSplitterTest, OneObjectIsOneRecord) {
  simdjson::padded_string body(std::string_view("\n{\"a\": 1}\n"));
  std::string problem;
  EXPECT_EQ(Split(RecordFraming::kJson, body, problem),
            (std::vector<std::string_view>{"{\"a\": 1}"}));
}

TEST(RecordSplitterTest, UnreadableBodiesAreRefusedWhole) {
  for (std::string_view text : {"", "   ", "[{\"a\":1}", "[{\"a\":1}] [2]", "nope", "[]"}) {
    simdjson::padded_string body(text);
    std::vector<std::string_view> records;
    std::string problem;
    EXPECT_FALSE(SplitRecords(RecordFraming::kJson, body, records, problem)) << text;
    EXPECT_FALSE(problem.empty()) << text;
  }
  simdjson::padded_string blank(std::string_view("\n\n"));
  std::vector<std::string_view> records;
  std::string problem;
  EXPECT_FALSE(SplitRecords(RecordFraming::kNdjson, blank, records, problem));
}

}  // namespace
}  // namespace sluice
