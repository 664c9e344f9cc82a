#include "format/text_value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace sluice {
namespace {

Int128 Decimal(std::string_view text, int precision, int scale) {
  Result<Int128> value = ParseDecimalText(text, precision, scale);
  EXPECT_TRUE(value.ok()) << text << ": " << (value.ok() ? "" : value.error().ToString());
  return value.ok() ? *value : -1;
}

ErrorCode DecimalError(std::string_view text, int precision, int scale) {
  Result<Int128> value = ParseDecimalText(text, precision, scale);
  return value.ok() ? ErrorCode::kOk : value.error().code;
}

TEST(TextValueTest, IntegersAcceptIntegralDecimalAndExponentForms) {
  EXPECT_EQ(*ParseIntegerText("42"), 42);
  EXPECT_EQ(*ParseIntegerText("-42"), -42);
  EXPECT_EQ(*ParseIntegerText("+7"), 7);
  EXPECT_EQ(*ParseIntegerText("1.0"), 1);
  EXPECT_EQ(*ParseIntegerText("2e3"), 2000);
  EXPECT_EQ(*ParseIntegerText("1.5e1"), 15);
  EXPECT_EQ(*ParseIntegerText("123456789012345678901234567890"),
            static_cast<Int128>(1234567890123456789LL) * 100000000000LL + 1234567890LL);
}

TEST(TextValueTest, IntegerErrorsAreDistinct) {
  EXPECT_EQ(ParseIntegerText("1.5").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseIntegerText("1e-1").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseIntegerText("abc").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseIntegerText("").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseIntegerText("12 ").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseIntegerText("1e400").error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseIntegerFor("256", TypeKind::kUInt8).error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseIntegerFor("-1", TypeKind::kUInt64).error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseIntegerFor("-129", TypeKind::kInt8).error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(*ParseIntegerFor("-128", TypeKind::kInt8), -128);
  EXPECT_EQ(*ParseIntegerFor("18446744073709551615", TypeKind::kUInt64),
            static_cast<Int128>(UINT64_MAX));
  EXPECT_EQ(ParseIntegerFor("18446744073709551616", TypeKind::kUInt64).error().code,
            ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseIntegerFor("300", TypeKind::kUInt8).error().message,
            "300 is out of range for UInt8 (0..255)");
}

TEST(TextValueTest, DecimalIsExactAndRoundsHalfAwayFromZero) {
  EXPECT_EQ(Decimal("123.456", 10, 3), 123456);
  EXPECT_EQ(Decimal("1.005", 5, 2), 101);  // 1.005 as a double is 1.00499999...
  EXPECT_EQ(Decimal("-1.005", 5, 2), -101);
  EXPECT_EQ(Decimal("1.004", 5, 2), 100);
  EXPECT_EQ(Decimal("0.125", 5, 2), 13);
  EXPECT_EQ(Decimal("-0.124", 5, 2), -12);
  EXPECT_EQ(Decimal("12.3", 5, 2), 1230);
  EXPECT_EQ(Decimal("1.5e3", 10, 2), 150000);
  EXPECT_EQ(Decimal("15E-1", 10, 2), 150);
  EXPECT_EQ(Decimal(".5", 3, 1), 5);
  EXPECT_EQ(Decimal("0.00000000000000000000000001", 10, 2), 0);
  Int128 thirty_eight_nines = 0;
  for (int i = 0; i < 38; ++i) thirty_eight_nines = thirty_eight_nines * 10 + 9;
  EXPECT_EQ(Decimal("99999999999999999999999999999999999999", 38, 0), thirty_eight_nines);
  EXPECT_EQ(Decimal("-99999999999999999999999999999999999999", 38, 0), -thirty_eight_nines);
}

TEST(TextValueTest, DecimalLimitsIntegerDigits) {
  EXPECT_EQ(DecimalError("12345678.9", 10, 2), ErrorCode::kOk);
  EXPECT_EQ(DecimalError("123456789", 10, 2), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(DecimalError("9.995", 3, 2), ErrorCode::kRecordOutOfRange);  // rounds to 10.00
  EXPECT_EQ(DecimalError("1e40", 38, 0), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(DecimalError("1e999999999999", 38, 0), ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(DecimalError("1.2.3", 10, 2), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(DecimalError("1e", 10, 2), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(DecimalError("-", 10, 2), ErrorCode::kRecordTypeMismatch);
}

// Plain decimals take a 64-bit fast path; the same digits in exponent notation always take the
// exact 128-bit path. Both must give the same value or the same error, at every precision/scale,
// including rounding, carries into a new digit and the precision limit.
TEST(TextValueTest, DecimalFastPathMatchesExactPath) {
  const std::vector<std::string> integers = {"",   "0",        "5",        "9",
                                             "12", "99999999", "12345678", "999999999999999999"};
  const std::vector<std::string> fractions = {"",   "0",   "4",      "5",      "49",
                                              "50", "995", "999999", "0000001"};
  const std::vector<std::pair<int, int>> types = {{3, 2},  {5, 2},  {9, 0},   {10, 2},
                                                  {12, 2}, {18, 4}, {18, 17}, {38, 6}};
  size_t compared = 0;
  for (const std::string& sign : {std::string(), std::string("-"), std::string("+")}) {
    for (const std::string& integer : integers) {
      for (const std::string& fraction : fractions) {
        if (integer.empty() && fraction.empty()) continue;
        std::string plain = sign + integer + (fraction.empty() ? "" : "." + fraction);
        std::string exponent = sign + (integer.empty() ? "0" : integer) + fraction + "e-" +
                               std::to_string(fraction.size());
        for (auto [precision, scale] : types) {
          Result<Int128> fast = ParseDecimalText(plain, precision, scale);
          Result<Int128> exact = ParseDecimalText(exponent, precision, scale);
          ASSERT_EQ(fast.ok(), exact.ok())
              << plain << " as Decimal(" << precision << ", " << scale << ")";
          if (fast.ok()) {
            EXPECT_TRUE(*fast == *exact)
                << plain << " as Decimal(" << precision << ", " << scale << ")";
          } else {
            EXPECT_EQ(fast.error().code, exact.error().code) << plain;
          }
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 1000u);
  EXPECT_EQ(Decimal("5.", 5, 2), 500);
  EXPECT_EQ(Decimal("-0.00", 5, 2), 0);
  EXPECT_EQ(Decimal("+1.25", 5, 1), 13);
  EXPECT_EQ(DecimalError(".", 10, 2), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(DecimalError("1.-2", 10, 2), ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(DecimalError("99999999.995", 10, 2), ErrorCode::kRecordOutOfRange);
}

TEST(TextValueTest, FloatsIncludeSpecialValues) {
  EXPECT_TRUE(std::isnan(*ParseFloatText("NaN", TypeKind::kFloat64)));
  EXPECT_EQ(*ParseFloatText("Infinity", TypeKind::kFloat64), INFINITY);
  EXPECT_EQ(*ParseFloatText("-Infinity", TypeKind::kFloat32), -INFINITY);
  EXPECT_EQ(*ParseFloatText("+2.5", TypeKind::kFloat64), 2.5);
  EXPECT_EQ(*ParseFloatText("1e-400", TypeKind::kFloat64), 0.0);  // underflow is zero
  EXPECT_EQ(ParseFloatText("1e400", TypeKind::kFloat64).error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseFloatText("1e39", TypeKind::kFloat32).error().code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(ParseFloatText("1,5", TypeKind::kFloat64).error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseFloatText("", TypeKind::kFloat64).error().code, ErrorCode::kRecordTypeMismatch);
}

TEST(TextValueTest, UuidMustBeCanonical) {
  EXPECT_TRUE(IsCanonicalUuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsCanonicalUuid("123E4567-E89B-12D3-A456-426614174000"));
  EXPECT_FALSE(IsCanonicalUuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(IsCanonicalUuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(IsCanonicalUuid("{123e4567-e89b-12d3-a456-426614174000}"));
}

TEST(TextValueTest, CivilDaysMatchKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2149, 6, 6), 65535);
}

TEST(TextValueTest, DatesAreValidatedAndRangeChecked) {
  EXPECT_EQ(*ParseDateText("2024-02-29", TypeKind::kDate), DaysFromCivil(2024, 2, 29));
  EXPECT_EQ(*ParseDateText("2024-03-01T23:30:00-05:00", TypeKind::kDate),
            DaysFromCivil(2024, 3, 1));
  EXPECT_EQ(*ParseDateText("19000", TypeKind::kDate), 19000);
  EXPECT_EQ(*ParseDateText("1900-01-01", TypeKind::kDate32), DaysFromCivil(1900, 1, 1));
  EXPECT_EQ(*ParseDateText("2149-06-06", TypeKind::kDate), 65535);
  for (std::string_view bad : {"2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "24-01-01",
                               "2024/01/01", "2024-01-01T25:00:00", "2024-01-01X", "soon"}) {
    EXPECT_EQ(ParseDateText(bad, TypeKind::kDate).error().code, ErrorCode::kRecordInvalidDate)
        << bad;
  }
  EXPECT_EQ(ParseDateText("1969-12-31", TypeKind::kDate).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(ParseDateText("2149-06-07", TypeKind::kDate).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(ParseDateText("1899-12-31", TypeKind::kDate32).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(ParseDateText("2300-01-01", TypeKind::kDate32).error().code,
            ErrorCode::kRecordInvalidDate);
}

TEST(TextValueTest, EpochUnitFollowsMagnitude) {
  EXPECT_EQ(EpochToTicks(1'700'000'000, 0), 1'700'000'000);
  EXPECT_EQ(EpochToTicks(1'700'000'000, 3), 1'700'000'000'000);
  EXPECT_EQ(EpochToTicks(99'999'999'999, 0), 99'999'999'999);            // below 10^11: seconds
  EXPECT_EQ(EpochToTicks(100'000'000'000, 0), 100'000'000);              // 10^11: milliseconds
  EXPECT_EQ(EpochToTicks(1'700'000'000'123, 3), 1'700'000'000'123);      // ms kept at p = 3
  EXPECT_EQ(EpochToTicks(1'700'000'000'123'456, 3), 1'700'000'000'123);  // µs
  EXPECT_EQ(EpochToTicks(1'700'000'000'123'456'789, 9), 1'700'000'000'123'456'789);  // ns
  EXPECT_EQ(EpochToTicks(-1'500, 0), -1'500);                  // small negatives are seconds
  EXPECT_EQ(EpochToTicks(-100'000'000'500, 0), -100'000'001);  // ms, floored
}

TEST(TextValueTest, DateTimesParseIsoForms) {
  const int64_t base = DaysFromCivil(2024, 1, 2) * 86400 + 3 * 3600 + 4 * 60 + 5;
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T03:04:05Z", TypeKind::kDateTime, 0), base);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02 03:04:05", TypeKind::kDateTime, 0), base);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T05:04:05+02:00", TypeKind::kDateTime, 0), base);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T01:34:05-0130", TypeKind::kDateTime, 0), base);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T03:04:05.999Z", TypeKind::kDateTime, 0), base);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02", TypeKind::kDateTime, 0), base - 3 * 3600 - 245);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T03:04:05.123456789Z", TypeKind::kDateTime64, 3),
            base * 1000 + 123);
  EXPECT_EQ(*ParseDateTimeText("2024-01-02T03:04:05.5", TypeKind::kDateTime64, 6),
            base * 1'000'000 + 500'000);
  EXPECT_EQ(*ParseDateTimeText("1700000000123", TypeKind::kDateTime64, 3), 1'700'000'000'123);
  EXPECT_EQ(*ParseDateTimeText("1900-01-01T00:00:00", TypeKind::kDateTime64, 0),
            DaysFromCivil(1900, 1, 1) * 86400);
  EXPECT_EQ(ParseDateTimeText("1899-12-31T23:59:59.9", TypeKind::kDateTime64, 1).error().code,
            ErrorCode::kRecordInvalidDate);
}

TEST(TextValueTest, InvalidDateTimesAreRejected) {
  for (std::string_view bad :
       {"2024-02-30T00:00:00", "2024-13-01T00:00:00", "2024-01-01T24:00:00", "2024-01-01T12:60:00",
        "2024-01-01T12:00", "2024-01-01T12:00:00+25:00", "2024-01-01T12:00:00 UTC",
        "2024-01-01T12:00:00.", "next tuesday", ""}) {
    Result<int64_t> parsed = ParseDateTimeText(bad, TypeKind::kDateTime64, 3);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kRecordInvalidDate) << bad;
  }
  EXPECT_EQ(ParseDateTimeText("1969-12-31T23:59:59Z", TypeKind::kDateTime, 0).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(ParseDateTimeText("-1", TypeKind::kDateTime, 0).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(ParseDateTimeText("2300-01-01T00:00:00", TypeKind::kDateTime64, 3).error().code,
            ErrorCode::kRecordInvalidDate);
  EXPECT_EQ(*ParseDateTimeText("2299-12-31T23:59:59.999", TypeKind::kDateTime64, 3),
            (DaysFromCivil(2300, 1, 1) * 86400 - 1) * 1000 + 999);
  EXPECT_EQ(*ParseDateTimeText("1900-01-01T00:00:00.000", TypeKind::kDateTime64, 3),
            DaysFromCivil(1900, 1, 1) * 86400 * 1000);
  EXPECT_EQ(*ParseDateTimeText("2106-02-07T06:28:15", TypeKind::kDateTime, 0), 4294967295);
  EXPECT_EQ(ParseDateTimeText("2106-02-07T06:28:16", TypeKind::kDateTime, 0).error().code,
            ErrorCode::kRecordInvalidDate);
  // Epoch milliseconds before 1970 floor to the second below.
  EXPECT_EQ(*ParseDateTimeText("-100000000500", TypeKind::kDateTime64, 0), -100000001);
  EXPECT_EQ(*ParseDateTimeText("-100000000500", TypeKind::kDateTime64, 3), -100000000500);
  // DateTime64(9) ends in 2262, where int64 nanoseconds overflow.
  EXPECT_EQ(ParseDateTimeText("2263-01-01T00:00:00", TypeKind::kDateTime64, 9).error().code,
            ErrorCode::kRecordInvalidDate);
}

TEST(TextValueTest, BoolsAcceptWordsAndDigits) {
  EXPECT_TRUE(*ParseBoolText("true"));
  EXPECT_TRUE(*ParseBoolText("TRUE"));
  EXPECT_TRUE(*ParseBoolText("1"));
  EXPECT_FALSE(*ParseBoolText("false"));
  EXPECT_FALSE(*ParseBoolText("0"));
  EXPECT_EQ(ParseBoolText("2").error().code, ErrorCode::kRecordTypeMismatch);
  EXPECT_EQ(ParseBoolText("yes").error().code, ErrorCode::kRecordTypeMismatch);
}

TEST(TextValueTest, MessagesQuoteLongValuesOnACharacterBoundary) {
  std::string long_text(63, 'a');
  long_text += "\xC3\xA9\xC3\xA9";  // the 64-byte cut falls inside the first é
  EXPECT_EQ(QuoteForMessage(long_text), "\"" + std::string(63, 'a') + "...\"");
  EXPECT_EQ(QuoteForMessage("short"), "\"short\"");
}

}  // namespace
}  // namespace sluice
