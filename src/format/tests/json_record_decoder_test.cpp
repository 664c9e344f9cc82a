#include "format/json_record_decoder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <string>

#include "format/text_value.h"

namespace sluice {
namespace {

DecodeField MakeField(std::string name, std::string_view type, std::vector<std::string> path = {},
                      bool required = false) {
  Result<DataType> parsed = ParseDataType(type);
  if (!parsed.ok()) throw SetupError(parsed.error());
  return DecodeField{std::move(name), *parsed, std::move(path), required};
}

// A decoder and a batch for one field `v` of `type`.
struct OneField {
  explicit OneField(std::string_view type, bool required = false)
      : decoder({MakeField("v", type, {}, required)}), batch(decoder.schema()) {}

  Status Decode(std::string_view record) { return decoder.Decode(record, batch); }
  const Column& column() const { return batch.column(0); }

  JsonRecordDecoder decoder;
  Batch batch;
};

ErrorCode CodeOf(const Status& status) {
  return status.ok() ? ErrorCode::kOk : status.error().code;
}

std::string WhereOf(const Status& status) {
  return status.ok() ? "" : status.error().where;
}

TEST(JsonRecordDecoderTest, DecodesOneRowOfEveryScalarKind) {
  JsonRecordDecoder decoder({MakeField("id", "UInt64"), MakeField("name", "String"),
                             MakeField("price", "Decimal(10, 2)"), MakeField("ok", "Bool"),
                             MakeField("ratio", "Float64"), MakeField("day", "Date"),
                             MakeField("at", "DateTime64(3)"), MakeField("small", "Int8"),
                             MakeField("code", "FixedString(2)"), MakeField("uid", "UUID")});
  Batch batch(decoder.schema());
  ASSERT_EQ(batch.num_columns(), 10u);
  Status status = decoder.Decode(
      R"({"id": 7, "name": "caf\u00e9", "price": 19.99, "ok": true, "ratio": 0.25,
          "day": "2024-05-06", "at": "2024-05-06T07:08:09.010Z", "small": -5, "code": "DE",
          "uid": "123e4567-e89b-12d3-a456-426614174000"})",
      batch);
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  ASSERT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.column(0).FixedAt<uint64_t>(0), 7u);
  EXPECT_EQ(batch.column(1).StringAt(0), "caf\xC3\xA9");
  EXPECT_TRUE(batch.column(2).FixedAt<Int128>(0) == 1999);
  EXPECT_EQ(batch.column(3).FixedAt<uint8_t>(0), 1);
  EXPECT_EQ(batch.column(4).FixedAt<double>(0), 0.25);
  EXPECT_EQ(batch.column(5).FixedAt<int32_t>(0), DaysFromCivil(2024, 5, 6));
  EXPECT_EQ(batch.column(6).FixedAt<int64_t>(0),
            (DaysFromCivil(2024, 5, 6) * 86400 + 7 * 3600 + 8 * 60 + 9) * 1000 + 10);
  EXPECT_EQ(batch.column(7).FixedAt<int8_t>(0), -5);
  EXPECT_EQ(batch.column(8).StringAt(0), "DE");
  EXPECT_EQ(batch.column(9).StringAt(0), "123e4567-e89b-12d3-a456-426614174000");
}

TEST(JsonRecordDecoderTest, IntegerOutOfRangeIsOutOfRange) {
  OneField unsigned_byte("UInt8");
  Status status = unsigned_byte.Decode(R"({"v": 256})");
  EXPECT_EQ(CodeOf(status), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(WhereOf(status), "v");
  EXPECT_EQ(CodeOf(unsigned_byte.Decode(R"({"v": -1})")), ErrorCode::kRecordOutOfRange);
  OneField wide("Int64");
  EXPECT_EQ(CodeOf(wide.Decode(R"({"v": 9223372036854775808})")), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(CodeOf(wide.Decode(R"({"v": -9223372036854775809})")), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(CodeOf(wide.Decode(R"({"v": 123456789012345678901234567890123456789012})")),
            ErrorCode::kRecordOutOfRange);
  ASSERT_TRUE(wide.Decode(R"({"v": -9223372036854775808})").ok());
  EXPECT_EQ(wide.column().FixedAt<int64_t>(0), INT64_MIN);
  OneField unsigned_wide("UInt64");
  ASSERT_TRUE(unsigned_wide.Decode(R"({"v": 18446744073709551615})").ok());
  EXPECT_EQ(unsigned_wide.column().FixedAt<uint64_t>(0), UINT64_MAX);
}

TEST(JsonRecordDecoderTest, IntegerWithFractionIsTypeMismatch) {
  OneField integer("Int32");
  EXPECT_EQ(CodeOf(integer.Decode(R"({"v": 1.5})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(integer.Decode(R"({"v": "2.25"})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(integer.Decode(R"({"v": true})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(integer.Decode(R"({"v": "ten"})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(integer.Decode(R"({"v": [1]})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(integer.batch.num_rows(), 0u);
  ASSERT_TRUE(integer.Decode(R"({"v": "42"})").ok());
  ASSERT_TRUE(integer.Decode(R"({"v": 3.0})").ok());
  ASSERT_TRUE(integer.Decode(R"({"v": -2e3})").ok());
  EXPECT_EQ(integer.column().FixedAt<int32_t>(0), 42);
  EXPECT_EQ(integer.column().FixedAt<int32_t>(1), 3);
  EXPECT_EQ(integer.column().FixedAt<int32_t>(2), -2000);
}

TEST(JsonRecordDecoderTest, FloatsAcceptNumbersStringsAndSpecialValues) {
  OneField real("Float64");
  for (std::string_view record :
       {R"({"v": 1.5})", R"({"v": "2.5"})", R"({"v": "NaN"})", R"({"v": "Infinity"})",
        R"({"v": "-Infinity"})", R"({"v": -1e-300})", R"({"v": 12})"}) {
    ASSERT_TRUE(real.Decode(record).ok()) << record;
  }
  EXPECT_EQ(real.column().FixedAt<double>(0), 1.5);
  EXPECT_EQ(real.column().FixedAt<double>(1), 2.5);
  EXPECT_TRUE(std::isnan(real.column().FixedAt<double>(2)));
  EXPECT_EQ(real.column().FixedAt<double>(3), INFINITY);
  EXPECT_EQ(real.column().FixedAt<double>(4), -INFINITY);
  EXPECT_EQ(real.column().FixedAt<double>(5), -1e-300);
  EXPECT_EQ(real.column().FixedAt<double>(6), 12.0);
  EXPECT_EQ(CodeOf(real.Decode(R"({"v": 1e999})")), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(CodeOf(real.Decode(R"({"v": "fast"})")), ErrorCode::kRecordTypeMismatch);
  OneField single("Float32");
  EXPECT_EQ(CodeOf(single.Decode(R"({"v": 1e39})")), ErrorCode::kRecordOutOfRange);
  ASSERT_TRUE(single.Decode(R"({"v": 0.5})").ok());
  EXPECT_EQ(single.column().FixedAt<float>(0), 0.5f);
}

TEST(JsonRecordDecoderTest, DecimalIsReadFromTheRawTokenExactly) {
  OneField money("Decimal(20, 2)");
  for (std::string_view record : {R"({"v": 1.005})", R"({"v": "-1.005"})", R"({"v": 1.5e3})",
                                  R"({"v": 123456789012345678.99})", R"({"v": 0.1})"}) {
    ASSERT_TRUE(money.Decode(record).ok()) << record;
  }
  EXPECT_TRUE(money.column().FixedAt<Int128>(0) == 101);
  EXPECT_TRUE(money.column().FixedAt<Int128>(1) == -101);
  EXPECT_TRUE(money.column().FixedAt<Int128>(2) == 150000);
  // Beyond a double's 17 significant digits: still exact.
  EXPECT_TRUE(money.column().FixedAt<Int128>(3) == static_cast<Int128>(12345678901234567899LLU));
  EXPECT_TRUE(money.column().FixedAt<Int128>(4) == 10);
  OneField narrow("Decimal(5, 2)");
  Status status = narrow.Decode(R"({"v": 1234.5})");
  EXPECT_EQ(CodeOf(status), ErrorCode::kRecordOutOfRange);
  EXPECT_NE(status.error().message.find("more than 3 integer digits"), std::string::npos);
  EXPECT_EQ(CodeOf(narrow.Decode(R"({"v": "12,5"})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(narrow.Decode(R"({"v": false})")), ErrorCode::kRecordTypeMismatch);
}

TEST(JsonRecordDecoderTest, BoolAcceptsLiteralsDigitsAndStrings) {
  OneField flag("Bool");
  for (std::string_view record : {R"({"v": true})", R"({"v": false})", R"({"v": 1})", R"({"v": 0})",
                                  R"({"v": "true"})", R"({"v": "false"})"}) {
    ASSERT_TRUE(flag.Decode(record).ok()) << record;
  }
  const uint8_t expected[] = {1, 0, 1, 0, 1, 0};
  for (size_t row = 0; row < 6; ++row)
    EXPECT_EQ(flag.column().FixedAt<uint8_t>(row), expected[row]);
  EXPECT_EQ(CodeOf(flag.Decode(R"({"v": 2})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(flag.Decode(R"({"v": "yes"})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(flag.Decode(R"({"v": {}})")), ErrorCode::kRecordTypeMismatch);
}

TEST(JsonRecordDecoderTest, StringsAreUnescapedAndOtherValuesKeepTheirRawText) {
  OneField text("String");
  for (std::string_view record :
       {R"({"v": "a\"b\\c\n\t\u00e9\ud83d\ude00"})", "{\"v\": \"\xE6\x97\xA5\xE6\x9C\xAC\"}",
        R"({"v": 12.50})", R"({"v": true})", R"({"v": {"a": [1, 2]}})", R"({"v": [ 1,2 ]})",
        R"({"v": ""})"}) {
    ASSERT_TRUE(text.Decode(record).ok()) << record;
  }
  EXPECT_EQ(text.column().StringAt(0), "a\"b\\c\n\t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(text.column().StringAt(1), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(text.column().StringAt(2), "12.50");
  EXPECT_EQ(text.column().StringAt(3), "true");
  EXPECT_EQ(text.column().StringAt(4), R"({"a": [1, 2]})");
  EXPECT_EQ(text.column().StringAt(5), "[ 1,2 ]");
  EXPECT_EQ(text.column().StringAt(6), "");
}

TEST(JsonRecordDecoderTest, FixedStringLongerThanItsSizeIsOutOfRange) {
  OneField code("FixedString(3)");
  ASSERT_TRUE(code.Decode(R"({"v": "ab"})").ok());
  EXPECT_EQ(code.column().StringAt(0), std::string_view("ab\0", 3));
  EXPECT_EQ(CodeOf(code.Decode(R"({"v": "abcd"})")), ErrorCode::kRecordOutOfRange);
  // Three characters but four bytes: the limit is in bytes, as in ClickHouse.
  EXPECT_EQ(CodeOf(code.Decode(R"({"v": "\u00e9\u00e9"})")), ErrorCode::kRecordOutOfRange);
}

TEST(JsonRecordDecoderTest, UuidMustBeCanonicalText) {
  OneField uid("UUID");
  ASSERT_TRUE(uid.Decode(R"({"v": "00112233-4455-6677-8899-aabbccddeeff"})").ok());
  EXPECT_EQ(uid.column().StringAt(0), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(CodeOf(uid.Decode(R"({"v": "00112233445566778899aabbccddeeff"})")),
            ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(uid.Decode(R"({"v": 42})")), ErrorCode::kRecordTypeMismatch);
}

TEST(JsonRecordDecoderTest, DatesAreDaysAndRangeChecked) {
  OneField day("Date");
  ASSERT_TRUE(day.Decode(R"({"v": "2024-02-29"})").ok());
  ASSERT_TRUE(day.Decode(R"({"v": "2024-02-29T23:59:59+05:00"})").ok());
  EXPECT_EQ(day.column().FixedAt<int32_t>(0), DaysFromCivil(2024, 2, 29));
  EXPECT_EQ(day.column().FixedAt<int32_t>(1), DaysFromCivil(2024, 2, 29));
  EXPECT_EQ(CodeOf(day.Decode(R"({"v": "2023-02-29"})")), ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(CodeOf(day.Decode(R"({"v": "2024-13-01"})")), ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(CodeOf(day.Decode(R"({"v": "1969-12-31"})")), ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(CodeOf(day.Decode(R"({"v": "2149-06-07"})")), ErrorCode::kRecordInvalidDate);
  OneField wide_day("Date32");
  ASSERT_TRUE(wide_day.Decode(R"({"v": "1969-12-31"})").ok());
  EXPECT_EQ(wide_day.column().FixedAt<int32_t>(0), -1);
  EXPECT_EQ(CodeOf(wide_day.Decode(R"({"v": "2300-01-01"})")), ErrorCode::kRecordInvalidDate);
}

TEST(JsonRecordDecoderTest, DateTimesAcceptIsoTextAndEpochNumbers) {
  const int64_t noon = DaysFromCivil(2023, 11, 14) * 86400 + 22 * 3600 + 13 * 60 + 20;
  OneField seconds("DateTime('UTC')");
  for (std::string_view record :
       {R"({"v": "2023-11-14T22:13:20Z"})", R"({"v": "2023-11-14 23:13:20+01:00"})",
        R"({"v": 1700000000})", R"({"v": 1700000000123})", R"({"v": "1700000000"})"}) {
    ASSERT_TRUE(seconds.Decode(record).ok()) << record;
  }
  EXPECT_EQ(noon, 1'700'000'000);
  for (size_t row = 0; row < 5; ++row) EXPECT_EQ(seconds.column().FixedAt<int64_t>(row), noon);

  OneField micros("DateTime64(6)");
  for (std::string_view record :
       {R"({"v": "2023-11-14T22:13:20.1234567Z"})", R"({"v": 1700000000})",
        R"({"v": 1700000000123})", R"({"v": 1700000000123456})", R"({"v": 1700000000123456789})"}) {
    ASSERT_TRUE(micros.Decode(record).ok()) << record;
  }
  EXPECT_EQ(micros.column().FixedAt<int64_t>(0), 1'700'000'000'123'456);  // truncated
  EXPECT_EQ(micros.column().FixedAt<int64_t>(1), 1'700'000'000'000'000);
  EXPECT_EQ(micros.column().FixedAt<int64_t>(2), 1'700'000'000'123'000);
  EXPECT_EQ(micros.column().FixedAt<int64_t>(3), 1'700'000'000'123'456);
  EXPECT_EQ(micros.column().FixedAt<int64_t>(4), 1'700'000'000'123'456);

  for (std::string_view bad :
       {R"({"v": "2023-02-30T00:00:00"})", R"({"v": "2023-13-01"})", R"({"v": "yesterday"})",
        R"({"v": "2023-11-14T22:13"})", R"({"v": 1.5})"}) {
    EXPECT_EQ(CodeOf(micros.Decode(bad)), ErrorCode::kRecordInvalidDate) << bad;
  }
  EXPECT_EQ(CodeOf(micros.Decode(R"({"v": false})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(micros.batch.num_rows(), 5u);
}

TEST(JsonRecordDecoderTest, NullableTakesNullForNullAndMissing) {
  JsonRecordDecoder decoder(
      {MakeField("a", "Nullable(Int32)"), MakeField("b", "LowCardinality(Nullable(String))")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode(R"({"a": null, "b": null})", batch).ok());
  ASSERT_TRUE(decoder.Decode(R"({})", batch).ok());
  ASSERT_TRUE(decoder.Decode(R"({"a": 5, "b": "x"})", batch).ok());
  EXPECT_TRUE(batch.column(0).IsNull(0));
  EXPECT_TRUE(batch.column(1).IsNull(0));
  EXPECT_TRUE(batch.column(0).IsNull(1));
  EXPECT_TRUE(batch.column(1).IsNull(1));
  EXPECT_FALSE(batch.column(0).IsNull(2));
  EXPECT_EQ(batch.column(0).FixedAt<int32_t>(2), 5);
  EXPECT_EQ(batch.column(1).StringAt(2), "x");
  EXPECT_EQ(batch.column(0).null_count(), 2u);
}

TEST(JsonRecordDecoderTest, MissingOrNullNonNullableTakesTheZeroValue) {
  JsonRecordDecoder decoder({MakeField("i", "Int64"), MakeField("s", "String"),
                             MakeField("d", "Date"), MakeField("a", "Array(Int32)"),
                             MakeField("m", "Map(String, Int32)"), MakeField("u", "UUID"),
                             MakeField("t", "DateTime64(3)"), MakeField("f", "FixedString(2)")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder.Decode(R"({"s": null, "a": null})", batch).ok());
  EXPECT_EQ(batch.column(0).FixedAt<int64_t>(0), 0);
  EXPECT_EQ(batch.column(1).StringAt(0), "");
  EXPECT_EQ(batch.column(2).FixedAt<int32_t>(0), 0);
  EXPECT_EQ(batch.column(3).size(), 1u);
  EXPECT_EQ(batch.column(3).child(0).size(), 0u);
  EXPECT_EQ(batch.column(4).child(0).size(), 0u);
  EXPECT_EQ(batch.column(5).StringAt(0), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(batch.column(6).FixedAt<int64_t>(0), 0);
  EXPECT_EQ(batch.column(7).StringAt(0), std::string_view("\0\0", 2));
}

TEST(JsonRecordDecoderTest, RequiredFieldMissingOrNullIsMissingField) {
  JsonRecordDecoder decoder({MakeField("id", "Int64", {}, true), MakeField("note", "String"),
                             MakeField("opt", "Nullable(Int8)", {}, true)});
  Batch batch(decoder.schema());
  Status missing = decoder.Decode(R"({"note": "x", "opt": 1})", batch);
  EXPECT_EQ(CodeOf(missing), ErrorCode::kRecordMissingField);
  EXPECT_EQ(WhereOf(missing), "id");
  Status null = decoder.Decode(R"({"id": null, "opt": 1})", batch);
  EXPECT_EQ(CodeOf(null), ErrorCode::kRecordMissingField);
  EXPECT_EQ(WhereOf(null), "id");
  // A required Nullable field must be present, and may be null.
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"id": 1})", batch)), ErrorCode::kRecordMissingField);
  ASSERT_TRUE(decoder.Decode(R"({"id": 1, "opt": null})", batch).ok());
  EXPECT_EQ(batch.num_rows(), 1u);
  EXPECT_TRUE(batch.column(2).IsNull(0));
}

TEST(JsonRecordDecoderTest, ArraysConvertElementsAndNameTheFailingIndex) {
  JsonRecordDecoder decoder({MakeField("tags", "Array(Int16)"),
                             MakeField("names", "Array(Nullable(String))"),
                             MakeField("grid", "Array(Array(UInt8))")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(
      decoder
          .Decode(R"({"tags": [1, 2, "3"], "names": ["a", null], "grid": [[1], [], [2, 3]]})",
                  batch)
          .ok());
  const Column& tags = batch.column(0);
  ASSERT_EQ(tags.child(0).size(), 3u);
  EXPECT_EQ(tags.child(0).FixedAt<int16_t>(2), 3);
  EXPECT_EQ(tags.offsets()[1], 3);
  EXPECT_TRUE(batch.column(1).child(0).IsNull(1));
  const Column& grid = batch.column(2);
  ASSERT_EQ(grid.child(0).size(), 3u);
  EXPECT_EQ(grid.child(0).child(0).size(), 3u);
  EXPECT_EQ(grid.child(0).child(0).FixedAt<uint8_t>(2), 3);

  Status bad = decoder.Decode(R"({"tags": [1, 2, 3, 70000]})", batch);
  EXPECT_EQ(CodeOf(bad), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(WhereOf(bad), "tags[3]");
  Status nested = decoder.Decode(R"({"grid": [[1], [2, "x"]]})", batch);
  EXPECT_EQ(CodeOf(nested), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(WhereOf(nested), "grid[1][1]");
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"tags": 5})", batch)), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(batch.num_rows(), 1u);
}

TEST(JsonRecordDecoderTest, MapsConvertKeysFromTheirText) {
  JsonRecordDecoder decoder(
      {MakeField("attrs", "Map(String, Float64)"), MakeField("counts", "Map(UInt16, String)")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(
      decoder.Decode(R"({"attrs": {"x": 1.5, "y": "2"}, "counts": {"7": "seven"}})", batch).ok());
  const Column& attrs = batch.column(0);
  ASSERT_EQ(attrs.child(0).size(), 2u);
  EXPECT_EQ(attrs.child(0).StringAt(1), "y");
  EXPECT_EQ(attrs.child(1).FixedAt<double>(1), 2.0);
  EXPECT_EQ(batch.column(1).child(0).FixedAt<uint16_t>(0), 7);
  EXPECT_EQ(batch.column(1).child(1).StringAt(0), "seven");

  Status bad_key = decoder.Decode(R"({"counts": {"seven": "x"}})", batch);
  EXPECT_EQ(CodeOf(bad_key), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(WhereOf(bad_key), "counts[\"seven\"]");
  Status bad_value = decoder.Decode(R"({"attrs": {"x": "high"}})", batch);
  EXPECT_EQ(WhereOf(bad_value), "attrs[\"x\"]");
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"attrs": {"x": 1, "x": 2}})", batch)),
            ErrorCode::kRecordMalformed);
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"attrs": [1]})", batch)), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.column(0).child(0).size(), 2u);
}

TEST(JsonRecordDecoderTest, TuplesReadArraysByPositionAndObjectsByName) {
  OneField point("Tuple(x Int32, label Nullable(String))");
  ASSERT_TRUE(point.Decode(R"({"v": [1, "a"]})").ok());
  ASSERT_TRUE(point.Decode(R"({"v": {"label": "b", "x": 2, "extra": 0}})").ok());
  ASSERT_TRUE(point.Decode(R"({"v": {"x": 3}})").ok());
  const Column& column = point.column();
  EXPECT_EQ(column.child(0).FixedAt<int32_t>(1), 2);
  EXPECT_EQ(column.child(1).StringAt(1), "b");
  EXPECT_TRUE(column.child(1).IsNull(2));
  EXPECT_EQ(CodeOf(point.Decode(R"({"v": [1]})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(CodeOf(point.Decode(R"({"v": [1, "a", 3]})")), ErrorCode::kRecordTypeMismatch);
  Status bad = point.Decode(R"({"v": {"x": "no"}})");
  EXPECT_EQ(WhereOf(bad), "v.x");
  EXPECT_EQ(CodeOf(point.Decode(R"({"v": {"x": 1, "x": 2}})")), ErrorCode::kRecordMalformed);
  OneField unnamed("Tuple(Int32, String)");
  EXPECT_EQ(CodeOf(unnamed.Decode(R"({"v": {"a": 1}})")), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(point.batch.num_rows(), 3u);
  EXPECT_EQ(column.child(0).size(), 3u);
}

TEST(JsonRecordDecoderTest, NestedPathsReachIntoObjects) {
  JsonRecordDecoder decoder({MakeField("device_type", "String", {"context", "device", "type"}),
                             MakeField("os", "Nullable(String)", {"context", "os"}),
                             MakeField("id", "Int32")});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder
                  .Decode(R"({"id": 1, "context": {"ip": "x", "device": {"type": "phone",
                              "model": {"deep": [1, {"x": 2}]}}, "os": "linux"}})",
                          batch)
                  .ok());
  ASSERT_TRUE(decoder.Decode(R"({"context": null, "id": 2})", batch).ok());
  ASSERT_TRUE(decoder.Decode(R"({"context": {"device": {}}, "id": 3})", batch).ok());
  EXPECT_EQ(batch.column(0).StringAt(0), "phone");
  EXPECT_EQ(batch.column(1).StringAt(0), "linux");
  EXPECT_EQ(batch.column(0).StringAt(1), "");
  EXPECT_TRUE(batch.column(1).IsNull(1));
  EXPECT_TRUE(batch.column(1).IsNull(2));

  Status not_object = decoder.Decode(R"({"context": {"device": 5}})", batch);
  EXPECT_EQ(CodeOf(not_object), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(WhereOf(not_object), "context.device");
  Status duplicate = decoder.Decode(R"({"context": {"os": "a"}, "context": {"os": "b"}})", batch);
  EXPECT_EQ(CodeOf(duplicate), ErrorCode::kRecordMalformed);
  EXPECT_EQ(WhereOf(duplicate), "context");
  EXPECT_EQ(batch.num_rows(), 3u);
}

TEST(JsonRecordDecoderTest, RequiredNestedFieldNamesItsPath) {
  JsonRecordDecoder decoder(
      {MakeField("device_type", "String", {"context", "device", "type"}, true)});
  Batch batch(decoder.schema());
  Status status = decoder.Decode(R"({"context": {"device": {"model": "x"}}})", batch);
  EXPECT_EQ(CodeOf(status), ErrorCode::kRecordMissingField);
  EXPECT_EQ(WhereOf(status), "context.device.type");
}

TEST(JsonRecordDecoderTest, UnknownFieldsAreIgnoredAtAnyDepth) {
  OneField one("Int32");
  std::string deep = R"({"skip": )" + std::string(500, '[') + std::string(500, ']') +
                     R"(, "obj": {"a": {"b": [1, 2, {"c": null}]}}, "v": 9, "zz": "\u0000"})";
  ASSERT_TRUE(one.Decode(deep).ok()) << one.Decode(deep).error().ToString();
  EXPECT_EQ(one.column().FixedAt<int32_t>(0), 9);
}

TEST(JsonRecordDecoderTest, DeeplyNestedTypedArraysDecode) {
  std::string type = "Int8";
  for (int i = 0; i < 12; ++i) type = "Array(" + type + ")";
  OneField nested(type);
  std::string record = R"({"v": )" + std::string(12, '[') + "7" + std::string(12, ']') + "}";
  ASSERT_TRUE(nested.Decode(record).ok());
  const Column* column = &nested.column();
  for (int i = 0; i < 12; ++i) column = &column->child(0);
  ASSERT_EQ(column->size(), 1u);
  EXPECT_EQ(column->FixedAt<int8_t>(0), 7);
}

TEST(JsonRecordDecoderTest, DuplicateKeysAreMalformed) {
  OneField one("Int32");
  EXPECT_EQ(CodeOf(one.Decode(R"({"v": 1, "v": 2})")), ErrorCode::kRecordMalformed);
  EXPECT_EQ(CodeOf(one.Decode(R"({"v": 1, "other": 2, "other": 3})")), ErrorCode::kRecordMalformed);
  // Escapes are resolved before keys are compared.
  EXPECT_EQ(CodeOf(one.Decode(R"({"v": 1, "\u0076": 2})")), ErrorCode::kRecordMalformed);
  EXPECT_EQ(one.batch.num_rows(), 0u);
  ASSERT_TRUE(one.Decode(R"({"\u0076": 4})").ok());
  EXPECT_EQ(one.column().FixedAt<int32_t>(0), 4);
}

TEST(JsonRecordDecoderTest, InvalidJsonIsMalformed) {
  OneField one("String");
  for (std::string_view record :
       {"", "   ", "[1, 2]", "\"text\"", "42", "null", R"({"v": })", R"({"v": "x")",
        R"({"v": "x"} trailing)", R"({"v": "x"}{"v": "y"})", R"({"v" "x"})", R"({v: "x"})",
        R"({"v": "x",})", R"({"v": tru})", "{\"v\": \"\xC3\x28\"}", "{\"v\": \"\xFF\"}",
        "{\"\xED\xA0\x80\": 1}"}) {
    Status status = one.Decode(record);
    EXPECT_EQ(CodeOf(status), ErrorCode::kRecordMalformed) << record;
  }
  EXPECT_EQ(one.batch.num_rows(), 0u);
}

TEST(JsonRecordDecoderTest, FailedRecordLeavesTheBatchExactlyAsBefore) {
  JsonRecordDecoder decoder(
      {MakeField("s", "String"), MakeField("n", "Nullable(Int32)"), MakeField("a", "Array(String)"),
       MakeField("m", "Map(String, Int8)"), MakeField("t", "Tuple(Int8, String)"),
       MakeField("f", "FixedString(4)"), MakeField("last", "UInt8", {}, true)});
  Batch batch(decoder.schema());
  ASSERT_TRUE(decoder
                  .Decode(R"({"s": "one", "n": null, "a": ["x"], "m": {"k": 1},
                              "t": [1, "t"], "f": "ab", "last": 1})",
                          batch)
                  .ok());
  size_t bytes_before = batch.ByteSize();
  // Every column but the last is written before each failure.
  for (std::string_view bad :
       {R"({"s": "two", "n": 5, "a": ["y", "z"], "m": {"j": 2}, "t": [2, "u"], "f": "cd",
            "last": 256})",
        R"({"s": "two", "n": 5, "a": ["y", "z"], "m": {"j": 2}, "t": [2, "u"], "f": "cd"})",
        R"({"s": "two", "n": 5, "a": ["y", "z"], "m": {"j": 2, "q": 300}, "last": 1})",
        R"({"s": "two", "n": 5, "a": ["y", "z"], "t": [2, "u"], "f": "cd", "last": 1} x)"}) {
    ASSERT_FALSE(decoder.Decode(bad, batch).ok()) << bad;
    EXPECT_EQ(batch.num_rows(), 1u);
    EXPECT_EQ(batch.ByteSize(), bytes_before) << bad;
    for (size_t i = 0; i < batch.num_columns(); ++i) EXPECT_EQ(batch.column(i).size(), 1u);
    EXPECT_EQ(batch.column(1).null_count(), 1u);
    EXPECT_EQ(batch.column(2).child(0).size(), 1u);
    EXPECT_EQ(batch.column(3).child(1).size(), 1u);
    EXPECT_EQ(batch.column(4).child(1).size(), 1u);
  }
  ASSERT_TRUE(decoder
                  .Decode(R"({"s": "three", "n": 3, "a": ["q"], "m": {}, "t": [3, "v"],
                              "f": "ef", "last": 3})",
                          batch)
                  .ok());
  EXPECT_EQ(batch.column(0).StringAt(1), "three");
  EXPECT_EQ(batch.column(1).FixedAt<int32_t>(1), 3);
  EXPECT_EQ(batch.column(2).child(0).StringAt(1), "q");
  EXPECT_EQ(batch.column(4).child(1).StringAt(1), "v");
  EXPECT_EQ(batch.column(6).FixedAt<uint8_t>(1), 3);
}

TEST(JsonRecordDecoderTest, DecodesLinesInPlaceInsideOnePaddedBuffer) {
  JsonRecordDecoder decoder({MakeField("v", "Int32")});
  Batch batch(decoder.schema());
  std::string lines = "{\"v\": 1}\n{\"v\": 2}\n{\"v\": 3}";
  simdjson::padded_string buffer(lines);
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    ASSERT_TRUE(decoder
                    .Decode(buffer.data() + start, end - start,
                            buffer.size() + simdjson::SIMDJSON_PADDING - start, batch)
                    .ok());
    start = end + 1;
  }
  ASSERT_EQ(batch.num_rows(), 3u);
  EXPECT_EQ(batch.column(0).FixedAt<int32_t>(2), 3);
}

TEST(JsonRecordDecoderTest, KeysInAnyOrderAndManyFieldsDecode) {
  std::vector<DecodeField> fields;
  for (int i = 0; i < 40; ++i) fields.push_back(MakeField("f" + std::to_string(i), "Int32"));
  JsonRecordDecoder decoder(fields);
  Batch batch(decoder.schema());
  std::string forward = "{";
  std::string backward = "{";
  for (int i = 0; i < 40; ++i) {
    forward +=
        (i ? ", " : "") + std::string("\"f") + std::to_string(i) + "\": " + std::to_string(i);
    backward += (i ? ", " : "") + std::string("\"f") + std::to_string(39 - i) +
                "\": " + std::to_string(100 + 39 - i);
  }
  ASSERT_TRUE(decoder.Decode(forward + "}", batch).ok());
  ASSERT_TRUE(decoder.Decode(backward + "}", batch).ok());
  EXPECT_EQ(batch.column(17).FixedAt<int32_t>(0), 17);
  EXPECT_EQ(batch.column(17).FixedAt<int32_t>(1), 117);

  JsonRecordDecoder small(
      {MakeField("a", "Int32"), MakeField("b", "Int32"), MakeField("c", "Int32")});
  Batch small_batch(small.schema());
  ASSERT_TRUE(small.Decode(R"({"a": 1, "b": 2, "c": 3})", small_batch).ok());
  ASSERT_TRUE(small.Decode(R"({"c": 6, "a": 4, "b": 5})", small_batch).ok());
  ASSERT_TRUE(small.Decode(R"({"b": 8, "x": 0, "c": 9, "a": 7})", small_batch).ok());
  EXPECT_EQ(small_batch.column(0).FixedAt<int32_t>(2), 7);
  EXPECT_EQ(small_batch.column(1).FixedAt<int32_t>(1), 5);
  EXPECT_EQ(small_batch.column(2).FixedAt<int32_t>(2), 9);
}

TEST(JsonRecordDecoderTest, ConflictingPathsAreSetupErrors) {
  EXPECT_THROW(JsonRecordDecoder({MakeField("a", "Int32"), MakeField("b", "Int32", {"a"})}),
               SetupError);
  EXPECT_THROW(JsonRecordDecoder({MakeField("a", "String"), MakeField("b", "Int32", {"a", "x"})}),
               SetupError);
  EXPECT_THROW(JsonRecordDecoder({MakeField("b", "Int32", {"a", "x"}), MakeField("a", "String")}),
               SetupError);
}

TEST(JsonRecordDecoderTest, BatchOfAnotherShapeIsAnInternalError) {
  JsonRecordDecoder decoder({MakeField("a", "Int32")});
  Batch other({Field{"a", *ParseDataType("Int32")}, Field{"b", *ParseDataType("Int32")}});
  EXPECT_EQ(CodeOf(decoder.Decode(R"({"a": 1})", other)), ErrorCode::kInternal);
}

}  // namespace
}  // namespace sluice
