// Field defaults, strict coercion and kept unknown fields, in both decoders.
#include <gtest/gtest.h>

#include "format/csv_record_decoder.h"
#include "format/json_record_decoder.h"
#include "format/text_value.h"

namespace sluice {
namespace {

DecodeField MakeField(std::string name, std::string_view type,
                      std::optional<std::string> default_value = std::nullopt,
                      bool required = false) {
  Result<DataType> parsed = ParseDataType(type);
  if (!parsed.ok()) throw SetupError(parsed.error());
  return DecodeField{std::move(name), *parsed, {}, required, std::move(default_value)};
}

ErrorCode CodeOf(const Status& status) {
  return status.ok() ? ErrorCode::kOk : status.error().code;
}

TEST(DecodeOptionsTest, JsonDefaultFillsMissingAndNullValues) {
  JsonRecordDecoder decoder({MakeField("event_type", "LowCardinality(String)", "view"),
                             MakeField("amount", "Decimal(10, 2)", "1.5"),
                             MakeField("note", "Nullable(String)", "none"),
                             MakeField("plain", "UInt8")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode(R"({})", batch).ok());
  ASSERT_TRUE(decoder.Decode(R"({"event_type": null, "amount": null, "note": null})", batch).ok());
  ASSERT_TRUE(decoder.Decode(R"({"event_type": "buy", "amount": 2, "note": "x"})", batch).ok());
  EXPECT_EQ(batch.column(0).StringAt(0), "view");
  EXPECT_TRUE(batch.column(1).FixedAt<Int128>(0) == 150);
  EXPECT_EQ(batch.column(2).StringAt(0), "none");
  EXPECT_EQ(batch.column(3).FixedAt<uint8_t>(0), 0);
  // An explicit null is the default only where the type has no NULL.
  EXPECT_EQ(batch.column(0).StringAt(1), "view");
  EXPECT_TRUE(batch.column(1).FixedAt<Int128>(1) == 150);
  EXPECT_TRUE(batch.column(2).IsNull(1));
  EXPECT_EQ(batch.column(0).StringAt(2), "buy");
  EXPECT_TRUE(batch.column(1).FixedAt<Int128>(2) == 200);
}

TEST(DecodeOptionsTest, CsvDefaultFillsEmptyAndAbsentColumns) {
  CsvRecordDecoder decoder(
      {MakeField("id", "UInt32"), MakeField("kind", "String", "view"),
       MakeField("score", "Nullable(Int32)", "5"), MakeField("extra", "Int32", "9")},
      ',', {"id", "kind", "score"});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode("1,,", batch).ok());
  ASSERT_TRUE(decoder.Decode("2,\"\",\\N", batch).ok());
  EXPECT_EQ(batch.column(1).StringAt(0), "view");
  EXPECT_EQ(batch.column(2).FixedAt<int32_t>(0), 5);
  EXPECT_EQ(batch.column(3).FixedAt<int32_t>(0), 9);  // not in the header at all
  EXPECT_EQ(batch.column(1).StringAt(1), "");         // a quoted empty string is a value
  EXPECT_TRUE(batch.column(2).IsNull(1));             // \N is an explicit NULL
}

TEST(DecodeOptionsTest, JsonStrictRejectsCoercions) {
  JsonRecordDecoder decoder(
      {MakeField("n", "Nullable(Int64)"), MakeField("s", "Nullable(String)"),
       MakeField("b", "Nullable(Bool)"), MakeField("d", "Nullable(Date)"),
       MakeField("t", "Nullable(DateTime)"), MakeField("p", "Nullable(Decimal(9, 2))"),
       MakeField("a", "Array(Int32)")},
      DecodeOptions{.strict = true});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder
                  .Decode(R"({"n": 5, "s": "x", "b": true, "d": "2024-01-02",
                              "t": "2024-01-02T03:04:05Z", "p": 1.25, "a": [1, 2]})",
                          batch)
                  .ok());
  ASSERT_TRUE(decoder.Decode(R"({"s": {"kept": "as JSON text"}})", batch).ok());
  EXPECT_EQ(batch.column(1).StringAt(1), R"({"kept": "as JSON text"})");
  for (std::string_view record : {R"({"n": "5"})", R"({"s": 5})", R"({"s": true})", R"({"b": 1})",
                                  R"({"b": "true"})", R"({"d": 19724})", R"({"d": "19724"})",
                                  R"({"t": 1700000000})", R"({"p": "1.25"})", R"({"a": ["1"]})"}) {
    Status status = decoder.Decode(record, batch);
    EXPECT_EQ(CodeOf(status), ErrorCode::kRecordTypeMismatch) << record;
    if (!status.ok()) {
      EXPECT_NE(status.error().message.find("strict"), std::string::npos) << record;
    }
  }
  EXPECT_EQ(batch.num_rows(), 2u);
  // The same records pass when coercion is lenient.
  JsonRecordDecoder lenient({MakeField("n", "Int64"), MakeField("b", "Bool")});
  Batch lenient_batch(lenient.schema());
  EXPECT_TRUE(lenient.Decode(R"({"n": "5", "b": 1})", lenient_batch).ok());
}

TEST(DecodeOptionsTest, CsvStrictKeepsNumbersButNotBoolDigitsOrEpochs) {
  CsvRecordDecoder decoder(
      {MakeField("n", "Int32"), MakeField("b", "Bool"), MakeField("t", "DateTime")}, ',', {},
      DecodeOptions{.strict = true});
  Batch batch(decoder.schema());
  EXPECT_TRUE(decoder.Decode("5,TRUE,2024-01-02 03:04:05", batch).ok());
  EXPECT_EQ(CodeOf(decoder.Decode("5,1,2024-01-02 03:04:05", batch)),
            ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(decoder.Decode("5,true,1700000000", batch)), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(batch.num_rows(), 1u);
}

TEST(DecodeOptionsTest, JsonKeepsUnknownTopLevelKeysAsAnObject) {
  JsonRecordDecoder decoder({MakeField("id", "UInt64"), MakeField("_extra", "String"),
                             DecodeField{"device", *ParseDataType("String"), {"ctx", "device"}}},
                            DecodeOptions{.unknown_fields_column = "_extra"});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder
                  .Decode(R"({"id": 1, "plan": "pro", "ctx": {"device": "ios", "os": "17"},
                              "tags": [1, {"a": null}], "n": -2.5e3, "ok": false,
                              "quote\"d": "a\"b", "_extra": 7})",
                          batch)
                  .ok());
  ASSERT_TRUE(decoder.Decode(R"({"id": 2})", batch).ok());
  EXPECT_EQ(batch.column(1).StringAt(0),
            R"({"plan":"pro","tags":[1, {"a": null}],"n":-2.5e3,"ok":false,)"
            R"("quote\"d":"a\"b","_extra":7})");
  EXPECT_EQ(batch.column(2).StringAt(0), "ios");  // nested unknown keys (os) are not kept
  EXPECT_EQ(batch.column(1).StringAt(1), "{}");
  // Duplicate unknown keys are still malformed records.
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"id": 3, "x": 1, "x": 2})", batch)),
            ErrorCode::kRecordMalformed);
  EXPECT_EQ(batch.num_rows(), 2u);
}

TEST(DecodeOptionsTest, CsvKeepsUnknownHeaderColumns) {
  CsvRecordDecoder decoder({MakeField("id", "UInt64"), MakeField("rest", "String")}, ',',
                           {"id", "city", "note"}, DecodeOptions{.unknown_fields_column = "rest"});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode("1,Berlin,\"say \"\"hi\"\"\"", batch).ok());
  ASSERT_TRUE(decoder.Decode("2,,\\N", batch).ok());
  EXPECT_EQ(batch.column(1).StringAt(0), R"({"city":"Berlin","note":"say \"hi\""})");
  EXPECT_EQ(batch.column(1).StringAt(1), R"({"city":null,"note":null})");
}

TEST(DecodeOptionsTest, UnknownFieldsColumnMustBeAStringField) {
  EXPECT_THROW(JsonRecordDecoder({MakeField("id", "UInt64")},
                                 DecodeOptions{.unknown_fields_column = "_extra"}),
               SetupError);
  EXPECT_THROW(
      JsonRecordDecoder({MakeField("id", "UInt64")}, DecodeOptions{.unknown_fields_column = "id"}),
      SetupError);
  EXPECT_THROW(CsvRecordDecoder({MakeField("id", "UInt64")}, ',', {},
                                DecodeOptions{.unknown_fields_column = "id"}),
               SetupError);
}

TEST(DecodeOptionsTest, ValueToTextInvertsTextConversion) {
  for (auto [type, text] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"Int8", "-5"},
           {"UInt64", "18446744073709551615"},
           {"Float64", "0.25"},
           {"Decimal(10, 2)", "-0.05"},
           {"Decimal(38, 0)", "12"},
           {"Bool", "true"},
           {"Date", "2024-02-29"},
           {"Date32", "1900-01-01"},
           {"DateTime", "2024-01-02 03:04:05"},
           {"DateTime64(3)", "1969-12-31 23:59:59.500"},
           {"FixedString(4)", "ab"},
           {"LowCardinality(String)", "caf\xC3\xA9"}}) {
    Column column(*ParseDataType(type));
    ASSERT_TRUE(AppendTextValue(text, column).ok()) << type;
    EXPECT_EQ(ValueToText(column, 0), text) << type;
  }
  Column nullable(*ParseDataType("Nullable(Int32)"));
  nullable.AppendNull();
  EXPECT_EQ(ValueToText(nullable, 0), "NULL");
}

TEST(DecodeOptionsTest, JsonStringEscaping) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\nd\x01");
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

}  // namespace
}  // namespace sluice
