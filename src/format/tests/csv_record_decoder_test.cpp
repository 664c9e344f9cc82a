#include "format/csv_record_decoder.h"

#include <gtest/gtest.h>

#include "format/text_value.h"

namespace sluice {
namespace {

DecodeField MakeField(std::string name, std::string_view type, bool required = false,
                      std::vector<std::string> path = {}) {
  Result<DataType> parsed = ParseDataType(type);
  if (!parsed.ok()) throw SetupError(parsed.error());
  return DecodeField{std::move(name), *parsed, std::move(path), required};
}

ErrorCode CodeOf(const Status& status) {
  return status.ok() ? ErrorCode::kOk : status.error().code;
}

TEST(CsvRecordDecoderTest, DecodesFieldsInOrder) {
  CsvRecordDecoder decoder({MakeField("id", "UInt32"), MakeField("name", "String"),
                            MakeField("price", "Decimal(9, 2)"), MakeField("day", "Date"),
                            MakeField("at", "DateTime"), MakeField("ok", "Bool")});
  Batch batch(decoder.schema());
  Status status = decoder.Decode("7,widget,19.995,2024-01-02,1700000000,true\n", batch);
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(batch.column(0).FixedAt<uint32_t>(0), 7u);
  EXPECT_EQ(batch.column(1).StringAt(0), "widget");
  EXPECT_TRUE(batch.column(2).FixedAt<Int128>(0) == 2000);
  EXPECT_EQ(batch.column(3).FixedAt<int32_t>(0), DaysFromCivil(2024, 1, 2));
  EXPECT_EQ(batch.column(4).FixedAt<int64_t>(0), 1'700'000'000);
  EXPECT_EQ(batch.column(5).FixedAt<uint8_t>(0), 1);
}

TEST(CsvRecordDecoderTest, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  CsvRecordDecoder decoder({MakeField("a", "String"), MakeField("b", "String"),
                            MakeField("c", "String"), MakeField("d", "Int32")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(
      decoder.Decode("\"x,y\",\"he said \"\"hi\"\"\",\"two\r\nlines\",\"5\"\r\n", batch).ok());
  EXPECT_EQ(batch.column(0).StringAt(0), "x,y");
  EXPECT_EQ(batch.column(1).StringAt(0), "he said \"hi\"");
  EXPECT_EQ(batch.column(2).StringAt(0), "two\r\nlines");
  EXPECT_EQ(batch.column(3).FixedAt<int32_t>(0), 5);
  ASSERT_TRUE(decoder.Decode("\"\"\"\",\"caf\xC3\xA9\",plain\"quote,1", batch).ok());
  EXPECT_EQ(batch.column(0).StringAt(1), "\"");
  EXPECT_EQ(batch.column(1).StringAt(1), "caf\xC3\xA9");
  EXPECT_EQ(batch.column(2).StringAt(1), "plain\"quote");
}

TEST(CsvRecordDecoderTest, OtherDelimiters) {
  CsvRecordDecoder semicolons({MakeField("a", "Int32"), MakeField("b", "String")}, ';');
  Batch batch(semicolons.schema());
  ASSERT_TRUE(semicolons.Decode("1;a,b", batch).ok());
  EXPECT_EQ(batch.column(1).StringAt(0), "a,b");
  CsvRecordDecoder tabs({MakeField("a", "Int32"), MakeField("b", "String")}, '\t');
  Batch tab_batch(tabs.schema());
  ASSERT_TRUE(tabs.Decode("2\t\"x\ty\"", tab_batch).ok());
  EXPECT_EQ(tab_batch.column(1).StringAt(0), "x\ty");
}

TEST(CsvRecordDecoderTest, HeaderMapsColumnsByName) {
  CsvRecordDecoder decoder({MakeField("id", "Int32", true), MakeField("name", "String"),
                            MakeField("score", "Nullable(Float64)"),
                            MakeField("device", "String", false, {"context.device"})},
                           ',', {"extra", "context.device", "name", "id"});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode("ignored,phone,ann,3", batch).ok());
  EXPECT_EQ(batch.column(0).FixedAt<int32_t>(0), 3);
  EXPECT_EQ(batch.column(1).StringAt(0), "ann");
  EXPECT_TRUE(batch.column(2).IsNull(0));  // not in the header
  EXPECT_EQ(batch.column(3).StringAt(0), "phone");

  CsvRecordDecoder missing_required({MakeField("id", "Int32", true), MakeField("x", "Int32")}, ',',
                                    {"x"});
  Batch other(missing_required.schema());
  Status status = missing_required.Decode("1", other);
  EXPECT_EQ(CodeOf(status), ErrorCode::kRecordMissingField);
  EXPECT_EQ(status.error().where, "id");
  EXPECT_THROW(CsvRecordDecoder({MakeField("a", "Int32")}, ',', {"a", "a"}), SetupError);
}

TEST(CsvRecordDecoderTest, EmptyAndBackslashNAreNullOrDefault) {
  CsvRecordDecoder decoder({MakeField("n", "Nullable(Int32)"), MakeField("s", "Nullable(String)"),
                            MakeField("i", "Int32"), MakeField("t", "String"),
                            MakeField("q", "Nullable(String)"), MakeField("d", "Nullable(Date)")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode(",\\N,,\\N,\"\",\"\"", batch).ok());
  EXPECT_TRUE(batch.column(0).IsNull(0));
  EXPECT_TRUE(batch.column(1).IsNull(0));
  EXPECT_EQ(batch.column(2).FixedAt<int32_t>(0), 0);
  EXPECT_EQ(batch.column(3).StringAt(0), "");
  // A quoted empty string is a value for strings, and nothing for other types.
  EXPECT_FALSE(batch.column(4).IsNull(0));
  EXPECT_EQ(batch.column(4).StringAt(0), "");
  EXPECT_TRUE(batch.column(5).IsNull(0));

  CsvRecordDecoder required({MakeField("a", "Int32", true), MakeField("b", "Int32")});
  Batch required_batch(required.schema());
  Status status = required.Decode(",1", required_batch);
  EXPECT_EQ(CodeOf(status), ErrorCode::kRecordMissingField);
  EXPECT_EQ(status.error().where, "a");
  EXPECT_EQ(CodeOf(required.Decode("\\N,1", required_batch)), ErrorCode::kRecordMissingField);
  EXPECT_EQ(required_batch.num_rows(), 0u);
}

TEST(CsvRecordDecoderTest, WrongFieldCountLeavesTheBatchUnchanged) {
  CsvRecordDecoder decoder({MakeField("a", "String"), MakeField("b", "Array(Int32)"),
                            MakeField("c", "Nullable(Int32)")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode("x,\"[1,2]\",3", batch).ok());
  size_t bytes = batch.ByteSize();
  Status fewer = decoder.Decode("y,\"[4]\"", batch);
  EXPECT_EQ(CodeOf(fewer), ErrorCode::kRecordWrongFieldCount);
  EXPECT_EQ(fewer.error().message, "expected 3 fields, found 2");
  Status more = decoder.Decode("y,\"[4]\",5,6,7", batch);
  EXPECT_EQ(CodeOf(more), ErrorCode::kRecordWrongFieldCount);
  EXPECT_EQ(more.error().message, "expected 3 fields, found 5");
  EXPECT_EQ(CodeOf(decoder.Decode("y,\"[4]\",5,", batch)), ErrorCode::kRecordWrongFieldCount);
  EXPECT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.ByteSize(), bytes);
  EXPECT_EQ(batch.column(1).child(0).size(), 2u);
}

TEST(CsvRecordDecoderTest, BrokenQuotingIsMalformed) {
  CsvRecordDecoder decoder({MakeField("a", "String"), MakeField("b", "String")});
  Batch batch(decoder.schema());
  Status unclosed = decoder.Decode("x,\"never closed", batch);
  EXPECT_EQ(CodeOf(unclosed), ErrorCode::kRecordMalformed);
  EXPECT_EQ(unclosed.error().where, "b");
  EXPECT_EQ(CodeOf(decoder.Decode("\"a\"b,c", batch)), ErrorCode::kRecordMalformed);
  EXPECT_EQ(batch.num_rows(), 0u);
}

TEST(CsvRecordDecoderTest, ConversionErrorsNameTheField) {
  CsvRecordDecoder decoder(
      {MakeField("count", "UInt8"), MakeField("day", "Date"), MakeField("tags", "Array(UInt8)")});
  Batch batch(decoder.schema());
  Status range = decoder.Decode("300,2024-01-01,[]", batch);
  EXPECT_EQ(CodeOf(range), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(range.error().where, "count");
  Status date = decoder.Decode("1,2024-02-30,[]", batch);
  EXPECT_EQ(CodeOf(date), ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(date.error().where, "day");
  Status element = decoder.Decode("1,2024-01-01,\"[1, \"\"2\"\", \"\"x\"\"]\"", batch);
  EXPECT_EQ(CodeOf(element), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(element.error().where, "tags[2]");
  EXPECT_EQ(CodeOf(decoder.Decode("1,2024-01-01,\"[1\"", batch)), ErrorCode::kRecordMalformed);
  EXPECT_EQ(CodeOf(decoder.Decode("1,2024-01-01,nope", batch)), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(decoder.Decode("1,2024-01-01,5", batch)), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(decoder.Decode("1,2024-01-01,[] []", batch)), ErrorCode::kRecordMalformed);
  EXPECT_EQ(batch.num_rows(), 0u);
  ASSERT_TRUE(decoder.Decode("1,2024-01-01,\"[7, \"\"8\"\"]\"", batch).ok());
  EXPECT_EQ(batch.column(2).child(0).size(), 2u);
  EXPECT_EQ(batch.column(2).child(0).FixedAt<uint8_t>(1), 8);
}

TEST(CsvRecordDecoderTest, NextRecordSplitsLinesAndQuotedLineBreaks) {
  std::string_view text = "a,b\r\n\"multi\nline\",\"x\"\"\ny\"\nlast";
  CsvSplit first = CsvRecordDecoder::NextRecord(text);
  EXPECT_EQ(first.record, "a,b");
  EXPECT_EQ(first.consumed, 5u);
  EXPECT_EQ(first.lines, 1u);
  EXPECT_TRUE(first.terminated);
  text.remove_prefix(first.consumed);
  CsvSplit second = CsvRecordDecoder::NextRecord(text);
  EXPECT_EQ(second.record, "\"multi\nline\",\"x\"\"\ny\"");
  EXPECT_EQ(second.lines, 3u);
  EXPECT_TRUE(second.terminated);
  EXPECT_FALSE(second.open_quote);
  text.remove_prefix(second.consumed);
  CsvSplit third = CsvRecordDecoder::NextRecord(text);
  EXPECT_EQ(third.record, "last");
  EXPECT_FALSE(third.terminated);
  EXPECT_EQ(third.consumed, 4u);
}

TEST(CsvRecordDecoderTest, NextRecordReportsAnOpenQuote) {
  CsvSplit split = CsvRecordDecoder::NextRecord("a,\"open\nstill open");
  EXPECT_TRUE(split.open_quote);
  EXPECT_FALSE(split.terminated);
  EXPECT_EQ(split.lines, 2u);
  // A quote inside an unquoted field is text, so the line ends at its line break.
  CsvSplit literal = CsvRecordDecoder::NextRecord("ab\"c,d\nnext");
  EXPECT_EQ(literal.record, "ab\"c,d");
  EXPECT_TRUE(literal.terminated);
  CsvSplit tab = CsvRecordDecoder::NextRecord("a\t\"b\nc\"\nz", '\t');
  EXPECT_EQ(tab.record, "a\t\"b\nc\"");
  CsvSplit empty = CsvRecordDecoder::NextRecord("");
  EXPECT_EQ(empty.consumed, 0u);
  EXPECT_FALSE(empty.terminated);
}

TEST(CsvRecordDecoderTest, SplitThenDecodeRoundTrip) {
  CsvRecordDecoder decoder({MakeField("id", "Int32"), MakeField("text", "String")});
  Batch batch(decoder.schema());
  std::string_view text = "1,plain\n2,\"with\nbreak\"\r\n3,\"q\"\"uote\"\n";
  while (!text.empty()) {
    CsvSplit split = CsvRecordDecoder::NextRecord(text);
    ASSERT_TRUE(decoder.Decode(split.record, batch).ok());
    text.remove_prefix(split.consumed);
  }
  ASSERT_EQ(batch.num_rows(), 3u);
  EXPECT_EQ(batch.column(1).StringAt(1), "with\nbreak");
  EXPECT_EQ(batch.column(1).StringAt(2), "q\"uote");
}

}  // namespace
}  // namespace sluice
