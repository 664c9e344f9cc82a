#include "format/text_value.h"

#include <fmt/format.h>

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace sluice {
namespace {

using UInt128 = unsigned __int128;

constexpr int64_t kSecondsPerDay = 86400;
constexpr size_t kMessageValueLimit = 64;

// 10^0 .. 10^19, the powers every date-time precision and int64-sized decimal needs: a lookup
// instead of a 128-bit multiplication per digit on each value.
constexpr uint64_t kSmallPowersOfTen[] = {1ULL,
                                          10ULL,
                                          100ULL,
                                          1000ULL,
                                          10000ULL,
                                          100000ULL,
                                          1000000ULL,
                                          10000000ULL,
                                          100000000ULL,
                                          1000000000ULL,
                                          10000000000ULL,
                                          100000000000ULL,
                                          1000000000000ULL,
                                          10000000000000ULL,
                                          100000000000000ULL,
                                          1000000000000000ULL,
                                          10000000000000000ULL,
                                          100000000000000000ULL,
                                          1000000000000000000ULL,
                                          10000000000000000000ULL};
constexpr int kSmallPowersOfTenCount = 20;

UInt128 PowerOfTen(int exponent) {
  if (exponent < kSmallPowersOfTenCount) return kSmallPowersOfTen[exponent];
  UInt128 value = kSmallPowersOfTen[kSmallPowersOfTenCount - 1];
  for (int i = kSmallPowersOfTenCount - 1; i < exponent; ++i) value *= 10;
  return value;
}

std::string Int128ToString(Int128 value) {
  if (value == 0) return "0";
  bool negative = value < 0;
  UInt128 magnitude = negative ? UInt128(0) - static_cast<UInt128>(value) : UInt128(value);
  char buffer[48];
  size_t at = sizeof(buffer);
  while (magnitude != 0) {
    buffer[--at] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  }
  if (negative) buffer[--at] = '-';
  return std::string(buffer + at, sizeof(buffer) - at);
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// The parts of a number written in decimal or exponent notation, digits kept as text so that
// scaling is exact.
struct DecimalParts {
  bool negative = false;
  std::string_view integer;
  std::string_view fraction;
  int64_t exponent = 0;
};

bool ScanDecimal(std::string_view text, DecimalParts& parts) {
  size_t at = 0;
  if (at < text.size() && (text[at] == '-' || text[at] == '+')) {
    parts.negative = text[at] == '-';
    ++at;
  }
  size_t start = at;
  while (at < text.size() && IsDigit(text[at])) ++at;
  parts.integer = text.substr(start, at - start);
  if (at < text.size() && text[at] == '.') {
    start = ++at;
    while (at < text.size() && IsDigit(text[at])) ++at;
    parts.fraction = text.substr(start, at - start);
  }
  if (parts.integer.empty() && parts.fraction.empty()) return false;
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    bool negative_exponent = false;
    if (at < text.size() && (text[at] == '-' || text[at] == '+')) {
      negative_exponent = text[at] == '-';
      ++at;
    }
    if (at == text.size()) return false;
    int64_t exponent = 0;
    for (; at < text.size() && IsDigit(text[at]); ++at) {
      // Saturate: any exponent this large already overflows or rounds to zero.
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[at] - '0');
    }
    parts.exponent = negative_exponent ? -exponent : exponent;
  }
  return at == text.size();
}

enum class ScaleOutcome { kOk, kOverflow };

// |value| * 10^scale rounded half away from zero into `magnitude`; fails when the result
// reaches `limit`. `dropped_nonzero` tells whether non-zero digits fell below the last place.
ScaleOutcome ScaleExact(const DecimalParts& parts, int scale, UInt128 limit, UInt128& magnitude,
                        bool& dropped_nonzero) {
  magnitude = 0;
  dropped_nonzero = false;
  int round_digit = 0;
  int64_t digit_count = static_cast<int64_t>(parts.integer.size() + parts.fraction.size());
  // Place (power of ten after scaling) of the first digit; each next digit is one lower.
  int64_t first_place = static_cast<int64_t>(parts.integer.size()) - 1 + parts.exponent + scale;
  for (int64_t k = 0; k < digit_count; ++k) {
    size_t index = static_cast<size_t>(k);
    char c = index < parts.integer.size() ? parts.integer[index]
                                          : parts.fraction[index - parts.integer.size()];
    int digit = c - '0';
    int64_t place = first_place - k;
    if (place >= 0) {
      if (magnitude >= limit) return ScaleOutcome::kOverflow;
      magnitude = magnitude * 10 + static_cast<unsigned>(digit);
    } else {
      if (place == -1) round_digit = digit;
      if (digit != 0) dropped_nonzero = true;
    }
  }
  int64_t last_place = first_place - (digit_count - 1);
  if (magnitude != 0) {
    for (int64_t i = 0; i < last_place; ++i) {
      if (magnitude >= limit) return ScaleOutcome::kOverflow;
      magnitude *= 10;
    }
  }
  if (round_digit >= 5) magnitude += 1;
  if (magnitude >= limit) return ScaleOutcome::kOverflow;
  return ScaleOutcome::kOk;
}

// Integer syntax only, the common case: no allocation, no scaling.
bool FastInteger(std::string_view text, Int128& value) {
  size_t at = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    at = 1;
  }
  size_t digits = text.size() - at;
  if (digits == 0 || digits > 18) return false;
  int64_t magnitude = 0;
  for (; at < text.size(); ++at) {
    if (!IsDigit(text[at])) return false;
    magnitude = magnitude * 10 + (text[at] - '0');
  }
  value = negative ? -magnitude : magnitude;
  return true;
}

struct IntegerRange {
  Int128 min;
  Int128 max;
};

IntegerRange RangeOf(TypeKind kind) {
  switch (kind) {
    case TypeKind::kInt8:
      return {INT8_MIN, INT8_MAX};
    case TypeKind::kInt16:
      return {INT16_MIN, INT16_MAX};
    case TypeKind::kInt32:
      return {INT32_MIN, INT32_MAX};
    case TypeKind::kInt64:
      return {INT64_MIN, INT64_MAX};
    case TypeKind::kUInt8:
      return {0, UINT8_MAX};
    case TypeKind::kUInt16:
      return {0, UINT16_MAX};
    case TypeKind::kUInt32:
      return {0, UINT32_MAX};
    default:
      return {0, UINT64_MAX};
  }
}

std::string_view IntegerKindName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kInt8:
      return "Int8";
    case TypeKind::kInt16:
      return "Int16";
    case TypeKind::kInt32:
      return "Int32";
    case TypeKind::kInt64:
      return "Int64";
    case TypeKind::kUInt8:
      return "UInt8";
    case TypeKind::kUInt16:
      return "UInt16";
    case TypeKind::kUInt32:
      return "UInt32";
    default:
      return "UInt64";
  }
}

bool EqualsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Reads exactly `count` digits at `at`.
bool ReadDigits(std::string_view text, size_t at, size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (!IsDigit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

unsigned DaysInMonth(int year, int month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Error InvalidDate(std::string_view text, std::string_view why) {
  return MakeError(ErrorCode::kRecordInvalidDate,
                   fmt::format("{} is not a valid date or time: {}", QuoteForMessage(text), why));
}

// "YYYY-MM-DD" at the start of `text`, validated, as days since 1970-01-01.
Result<int64_t> ParseCivilDate(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (!ReadDigits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, month) || text[7] != '-' || !ReadDigits(text, 8, 2, day)) {
    return InvalidDate(text, "expected YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return InvalidDate(text, fmt::format("month {} is not 1-12", month));
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return InvalidDate(text, fmt::format("day {} does not exist in {:04}-{:02}", day, year, month));
  }
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

// A date-time in ISO-8601: the local seconds since the epoch, minus the zone offset, plus the
// fraction digits (not scaled).
struct IsoDateTime {
  int64_t days = 0;
  int64_t seconds = 0;  // UTC seconds since 1970-01-01
  std::string_view fraction;
};

Result<IsoDateTime> ParseIsoDateTime(std::string_view text) {
  Result<int64_t> days = ParseCivilDate(text);
  if (!days.ok()) return days.error();
  IsoDateTime result;
  result.days = *days;
  result.seconds = *days * kSecondsPerDay;
  if (text.size() == 10) return result;
  char separator = text[10];
  if (separator != 'T' && separator != 't' && separator != ' ') {
    return InvalidDate(text, "expected 'T' or a space after the date");
  }
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!ReadDigits(text, 11, 2, hour) || text.size() < 19 || text[13] != ':' ||
      !ReadDigits(text, 14, 2, minute) || text[16] != ':' || !ReadDigits(text, 17, 2, second)) {
    return InvalidDate(text, "expected hh:mm:ss after the date");
  }
  if (hour > 23 || minute > 59 || second > 59) return InvalidDate(text, "time of day out of range");
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    size_t start = ++at;
    while (at < text.size() && IsDigit(text[at])) ++at;
    if (at == start) return InvalidDate(text, "expected digits after '.'");
    result.fraction = text.substr(start, at - start);
  }
  int64_t offset = 0;
  if (at < text.size()) {
    char zone = text[at];
    if (zone == 'Z' || zone == 'z') {
      ++at;
    } else if (zone == '+' || zone == '-') {
      int offset_hours = 0;
      int offset_minutes = 0;
      if (!ReadDigits(text, at + 1, 2, offset_hours)) return InvalidDate(text, "bad zone offset");
      at += 3;
      if (at < text.size() && text[at] == ':') ++at;
      if (!ReadDigits(text, at, 2, offset_minutes)) return InvalidDate(text, "bad zone offset");
      at += 2;
      if (offset_hours > 23 || offset_minutes > 59) return InvalidDate(text, "bad zone offset");
      offset = (offset_hours * 3600 + offset_minutes * 60) * (zone == '-' ? -1 : 1);
    }
    if (at != text.size()) return InvalidDate(text, "unexpected text after the time");
  }
  result.seconds += hour * 3600 + minute * 60 + second - offset;
  return result;
}

bool IsIntegerSyntax(std::string_view text) {
  size_t at = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (at == text.size()) return false;
  for (; at < text.size(); ++at) {
    if (!IsDigit(text[at])) return false;
  }
  return true;
}

Int128 FloorDivide(Int128 value, Int128 divisor) {
  Int128 quotient = value / divisor;
  if (value % divisor != 0 && value < 0) --quotient;
  return quotient;
}

// DateTime64's range in seconds: 1900-01-01 00:00:00 .. 2299-12-31 23:59:59.
constexpr int64_t kDateTime64MinSeconds = -25567 * kSecondsPerDay;
constexpr int64_t kDateTime64MaxSeconds = 120530 * kSecondsPerDay - 1;

Result<int64_t> CheckDateTimeRange(std::string_view text, Int128 ticks, TypeKind kind,
                                   int precision) {
  // Every valid value fits int64 ticks, so the range check runs in 64-bit arithmetic (a 128-bit
  // division is a library call, and this runs for every date-time value).
  bool in_range = ticks <= INT64_MAX && ticks >= INT64_MIN;
  if (in_range) {
    int64_t narrow = static_cast<int64_t>(ticks);
    int64_t per_second = static_cast<int64_t>(kSmallPowersOfTen[precision]);
    int64_t seconds = narrow / per_second;
    if (narrow % per_second != 0 && narrow < 0) --seconds;
    int64_t min_seconds = kind == TypeKind::kDateTime64 ? kDateTime64MinSeconds : 0;
    int64_t max_seconds = kind == TypeKind::kDateTime64 ? kDateTime64MaxSeconds : UINT32_MAX;
    in_range = seconds >= min_seconds && seconds <= max_seconds;
  }
  if (!in_range) {
    return MakeError(
        ErrorCode::kRecordInvalidDate,
        fmt::format("{} is outside the range of {}", QuoteForMessage(text),
                    kind == TypeKind::kDateTime ? std::string("DateTime")
                                                : fmt::format("DateTime64({})", precision)));
  }
  return static_cast<int64_t>(ticks);
}

}  // namespace

std::string QuoteForMessage(std::string_view text) {
  if (text.size() <= kMessageValueLimit) return fmt::format("\"{}\"", text);
  size_t cut = kMessageValueLimit;
  // Back up to a UTF-8 boundary so the message stays valid text.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("\"{}...\"", text.substr(0, cut));
}

Result<Int128> ParseIntegerText(std::string_view text) {
  Int128 value = 0;
  if (FastInteger(text, value)) return value;
  DecimalParts parts;
  if (!ScanDecimal(text, parts)) {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} is not an integer", QuoteForMessage(text)));
  }
  UInt128 magnitude = 0;
  bool dropped_nonzero = false;
  if (ScaleExact(parts, 0, PowerOfTen(38), magnitude, dropped_nonzero) == ScaleOutcome::kOverflow) {
    return MakeError(ErrorCode::kRecordOutOfRange,
                     fmt::format("{} is too large for an integer", QuoteForMessage(text)));
  }
  if (dropped_nonzero) {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} has a fraction, expected an integer", QuoteForMessage(text)));
  }
  Int128 signed_magnitude = static_cast<Int128>(magnitude);
  return parts.negative ? -signed_magnitude : signed_magnitude;
}

Result<Int128> ParseIntegerFor(std::string_view text, TypeKind kind) {
  Result<Int128> value = ParseIntegerText(text);
  if (!value.ok()) return value;
  IntegerRange range = RangeOf(kind);
  if (*value < range.min || *value > range.max) {
    return MakeError(
        ErrorCode::kRecordOutOfRange,
        fmt::format("{} is out of range for {} ({}..{})", Int128ToString(*value),
                    IntegerKindName(kind), Int128ToString(range.min), Int128ToString(range.max)));
  }
  return value;
}

Result<double> ParseFloatText(std::string_view text, TypeKind kind) {
  std::string_view digits = !text.empty() && text[0] == '+' ? text.substr(1) : text;
  double value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || end != digits.data() + digits.size() ||
      error == std::errc::invalid_argument) {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} is not a number", QuoteForMessage(text)));
  }
  if (error == std::errc::result_out_of_range) {
    // from_chars reports underflow and overflow alike; strtod tells them apart (rare path).
    std::string copy(digits);
    value = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(value)) {
      return MakeError(ErrorCode::kRecordOutOfRange,
                       fmt::format("{} is out of range for Float64", QuoteForMessage(text)));
    }
  }
  if (kind == TypeKind::kFloat32 && std::isfinite(value) && std::fabs(value) > FLT_MAX) {
    return MakeError(ErrorCode::kRecordOutOfRange,
                     fmt::format("{} is out of range for Float32", QuoteForMessage(text)));
  }
  return value;
}

// Plain `[-+]digits[.digits]` whose scaled value fits int64, the common case, in one pass with no
// 128-bit arithmetic. False when the text needs the general path (exponent, many digits, out of
// range, not a number); that path then decides, so results and errors stay the same.
bool FastDecimal(std::string_view text, int precision, int scale, Int128& value) {
  size_t at = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    at = 1;
  }
  size_t integer_begin = at;
  while (at < text.size() && IsDigit(text[at])) ++at;
  size_t integer_digits = at - integer_begin;
  // Below 10^18 after scaling: no int64 overflow whatever the digits are.
  if (integer_digits + static_cast<size_t>(scale) > 18) return false;
  int64_t magnitude = 0;
  for (size_t i = integer_begin; i < at; ++i) magnitude = magnitude * 10 + (text[i] - '0');
  if (at < text.size() && text[at] == '.') ++at;
  size_t fraction_begin = at;
  int taken = 0;
  int round_digit = 0;
  for (; at < text.size() && IsDigit(text[at]); ++at) {
    if (taken < scale) {
      magnitude = magnitude * 10 + (text[at] - '0');
      ++taken;
    } else if (at == fraction_begin + static_cast<size_t>(scale)) {
      round_digit = text[at] - '0';
    }
  }
  if (at != text.size() || (integer_digits == 0 && at == fraction_begin)) return false;
  magnitude *= static_cast<int64_t>(kSmallPowersOfTen[scale - taken]);
  if (round_digit >= 5) magnitude += 1;
  if (precision <= 18 && magnitude >= static_cast<int64_t>(kSmallPowersOfTen[precision])) {
    return false;
  }
  value = negative ? -static_cast<Int128>(magnitude) : static_cast<Int128>(magnitude);
  return true;
}

Result<Int128> ParseDecimalText(std::string_view text, int precision, int scale) {
  Int128 fast = 0;
  if (FastDecimal(text, precision, scale, fast)) return fast;
  DecimalParts parts;
  if (!ScanDecimal(text, parts)) {
    return MakeError(ErrorCode::kRecordTypeMismatch,
                     fmt::format("{} is not a decimal number", QuoteForMessage(text)));
  }
  UInt128 magnitude = 0;
  bool dropped_nonzero = false;
  if (ScaleExact(parts, scale, PowerOfTen(precision), magnitude, dropped_nonzero) ==
      ScaleOutcome::kOverflow) {
    return MakeError(ErrorCode::kRecordOutOfRange,
                     fmt::format("{} has more than {} integer digits, the limit of Decimal({}, {})",
                                 QuoteForMessage(text), precision - scale, precision, scale));
  }
  Int128 signed_magnitude = static_cast<Int128>(magnitude);
  return parts.negative ? -signed_magnitude : signed_magnitude;
}

Result<bool> ParseBoolText(std::string_view text) {
  if (text == "1" || EqualsIgnoreCase(text, "true")) return true;
  if (text == "0" || EqualsIgnoreCase(text, "false")) return false;
  return MakeError(ErrorCode::kRecordTypeMismatch,
                   fmt::format("{} is not a boolean (true, false, 1, 0)", QuoteForMessage(text)));
}

bool IsCanonicalUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !IsHex(text[i])) return false;
  }
  return true;
}

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  // Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar.
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

Result<int32_t> ParseDateText(std::string_view text, TypeKind kind) {
  int64_t days = 0;
  if (IsIntegerSyntax(text)) {
    Result<Int128> number = ParseIntegerText(text);
    if (!number.ok()) return InvalidDate(text, "day number out of range");
    days = *number > INT32_MAX || *number < INT32_MIN ? INT64_MAX : static_cast<int64_t>(*number);
  } else {
    Result<IsoDateTime> parsed = ParseIsoDateTime(text);
    if (!parsed.ok()) return parsed.error();
    days = parsed->days;
  }
  int64_t min_days = kind == TypeKind::kDate ? 0 : DaysFromCivil(1900, 1, 1);
  int64_t max_days =
      kind == TypeKind::kDate ? DaysFromCivil(2149, 6, 6) : DaysFromCivil(2299, 12, 31);
  if (days < min_days || days > max_days) {
    return MakeError(
        ErrorCode::kRecordInvalidDate,
        fmt::format("{} is outside the range of {} ({})", QuoteForMessage(text),
                    kind == TypeKind::kDate ? "Date" : "Date32",
                    kind == TypeKind::kDate ? "1970-01-01..2149-06-06" : "1900-01-01..2299-12-31"));
  }
  return static_cast<int32_t>(days);
}

Int128 EpochToTicks(Int128 epoch, int precision) {
  Int128 magnitude = epoch < 0 ? -epoch : epoch;
  int unit_digits = magnitude >= static_cast<Int128>(PowerOfTen(17))   ? 9
                    : magnitude >= static_cast<Int128>(PowerOfTen(14)) ? 6
                    : magnitude >= static_cast<Int128>(PowerOfTen(11)) ? 3
                                                                       : 0;
  if (precision >= unit_digits)
    return epoch * static_cast<Int128>(PowerOfTen(precision - unit_digits));
  return FloorDivide(epoch, static_cast<Int128>(PowerOfTen(unit_digits - precision)));
}

Result<int64_t> ParseDateTimeText(std::string_view text, TypeKind kind, int precision) {
  if (kind == TypeKind::kDateTime) precision = 0;
  if (IsIntegerSyntax(text)) {
    Result<Int128> epoch = ParseIntegerText(text);
    if (!epoch.ok()) return InvalidDate(text, "epoch out of range");
    return CheckDateTimeRange(text, EpochToTicks(*epoch, precision), kind, precision);
  }
  Result<IsoDateTime> parsed = ParseIsoDateTime(text);
  if (!parsed.ok()) return parsed.error();
  Int128 ticks = static_cast<Int128>(parsed->seconds) * static_cast<Int128>(PowerOfTen(precision));
  int64_t fraction_ticks = 0;
  for (int i = 0; i < precision; ++i) {
    size_t index = static_cast<size_t>(i);
    int digit = index < parsed->fraction.size() ? parsed->fraction[index] - '0' : 0;
    fraction_ticks = fraction_ticks * 10 + digit;
  }
  return CheckDateTimeRange(text, ticks + fraction_ticks, kind, precision);
}

Status AppendTextValue(std::string_view text, Column& column) {
  const DataType& storage = column.storage();
  switch (storage.kind) {
    case TypeKind::kInt8:
    case TypeKind::kInt16:
    case TypeKind::kInt32:
    case TypeKind::kInt64:
    case TypeKind::kUInt8:
    case TypeKind::kUInt16:
    case TypeKind::kUInt32:
    case TypeKind::kUInt64: {
      Result<Int128> value = ParseIntegerFor(text, storage.kind);
      if (!value.ok()) return value.error();
      switch (storage.kind) {
        case TypeKind::kInt8:
          column.AppendFixed(static_cast<int8_t>(*value));
          break;
        case TypeKind::kInt16:
          column.AppendFixed(static_cast<int16_t>(*value));
          break;
        case TypeKind::kInt32:
          column.AppendFixed(static_cast<int32_t>(*value));
          break;
        case TypeKind::kInt64:
          column.AppendFixed(static_cast<int64_t>(*value));
          break;
        case TypeKind::kUInt8:
          column.AppendFixed(static_cast<uint8_t>(*value));
          break;
        case TypeKind::kUInt16:
          column.AppendFixed(static_cast<uint16_t>(*value));
          break;
        case TypeKind::kUInt32:
          column.AppendFixed(static_cast<uint32_t>(*value));
          break;
        default:
          column.AppendFixed(static_cast<uint64_t>(*value));
          break;
      }
      return {};
    }
    case TypeKind::kFloat32:
    case TypeKind::kFloat64: {
      Result<double> value = ParseFloatText(text, storage.kind);
      if (!value.ok()) return value.error();
      if (storage.kind == TypeKind::kFloat32) {
        column.AppendFixed(static_cast<float>(*value));
      } else {
        column.AppendFixed(*value);
      }
      return {};
    }
    case TypeKind::kBool: {
      Result<bool> value = ParseBoolText(text);
      if (!value.ok()) return value.error();
      column.AppendFixed(static_cast<uint8_t>(*value ? 1 : 0));
      return {};
    }
    case TypeKind::kDecimal: {
      Result<Int128> value = ParseDecimalText(text, storage.precision, storage.scale);
      if (!value.ok()) return value.error();
      column.AppendFixed(*value);
      return {};
    }
    case TypeKind::kString:
      column.AppendString(text);
      return {};
    case TypeKind::kFixedString:
      if (text.size() > storage.fixed_size) {
        return MakeError(ErrorCode::kRecordOutOfRange,
                         fmt::format("{} is {} bytes, longer than FixedString({})",
                                     QuoteForMessage(text), text.size(), storage.fixed_size));
      }
      column.AppendString(text);
      return {};
    case TypeKind::kUuid:
      if (!IsCanonicalUuid(text)) {
        return MakeError(
            ErrorCode::kRecordTypeMismatch,
            fmt::format("{} is not a UUID (8-4-4-4-12 hexadecimal digits)", QuoteForMessage(text)));
      }
      column.AppendString(text);
      return {};
    case TypeKind::kDate:
    case TypeKind::kDate32: {
      Result<int32_t> days = ParseDateText(text, storage.kind);
      if (!days.ok()) return days.error();
      column.AppendFixed(*days);
      return {};
    }
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64: {
      Result<int64_t> ticks = ParseDateTimeText(text, storage.kind, storage.precision);
      if (!ticks.ok()) return ticks.error();
      column.AppendFixed(*ticks);
      return {};
    }
    default:
      return MakeError(
          ErrorCode::kRecordTypeMismatch,
          fmt::format("{} cannot be read as {}", QuoteForMessage(text), storage.ToString()));
  }
}

void AppendZeroValue(Column& column) {
  if (column.nullable()) {
    column.AppendNull();
    return;
  }
  const DataType& storage = column.storage();
  switch (storage.kind) {
    case TypeKind::kString:
    case TypeKind::kFixedString:
      column.AppendString("");
      return;
    case TypeKind::kUuid:
      column.AppendString("00000000-0000-0000-0000-000000000000");
      return;
    case TypeKind::kArray:
    case TypeKind::kMap:
      column.CloseNestedRow();
      return;
    case TypeKind::kTuple:
      for (size_t i = 0; i < column.child_count(); ++i) AppendZeroValue(column.child(i));
      column.CloseNestedRow();
      return;
    case TypeKind::kInt8:
    case TypeKind::kUInt8:
    case TypeKind::kBool:
      column.AppendFixed<uint8_t>(0);
      return;
    case TypeKind::kInt16:
    case TypeKind::kUInt16:
      column.AppendFixed<uint16_t>(0);
      return;
    case TypeKind::kInt32:
    case TypeKind::kUInt32:
    case TypeKind::kDate:
    case TypeKind::kDate32:
      column.AppendFixed<uint32_t>(0);
      return;
    case TypeKind::kFloat32:
      column.AppendFixed<float>(0);
      return;
    case TypeKind::kFloat64:
      column.AppendFixed<double>(0);
      return;
    case TypeKind::kDecimal:
      column.AppendFixed<Int128>(0);
      return;
    default:
      column.AppendFixed<int64_t>(0);
      return;
  }
}

Status CheckStrictText(std::string_view text, TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
      if (EqualsIgnoreCase(text, "true") || EqualsIgnoreCase(text, "false")) return {};
      return MakeError(
          ErrorCode::kRecordTypeMismatch,
          fmt::format("{} is not true or false (strict coercion)", QuoteForMessage(text)));
    case TypeKind::kDate:
    case TypeKind::kDate32:
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64:
      // ISO text starts with YYYY-; numbers would be read as day numbers or epochs.
      if (text.size() >= 5 && IsDigit(text[0]) && text[4] == '-') return {};
      return MakeError(ErrorCode::kRecordTypeMismatch,
                       fmt::format("{} is not an ISO date or date-time (strict coercion)",
                                   QuoteForMessage(text)));
    default:
      return {};
  }
}

namespace {

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's civil_from_days, the inverse of DaysFromCivil.
CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2), month, day};
}

std::string DateText(int64_t days) {
  CivilDate date = CivilFromDays(days);
  return fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day);
}

std::string DecimalText(Int128 value, int scale) {
  std::string digits = Int128ToString(value < 0 ? -value : value);
  if (scale == 0) return value < 0 ? "-" + digits : digits;
  size_t width = static_cast<size_t>(scale) + 1;
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  return value < 0 ? "-" + digits : digits;
}

std::string DateTimeText(int64_t ticks, int precision) {
  Int128 unit = static_cast<Int128>(PowerOfTen(precision));
  Int128 seconds = FloorDivide(ticks, unit);
  int64_t fraction = static_cast<int64_t>(ticks - seconds * unit);
  int64_t days = static_cast<int64_t>(FloorDivide(seconds, kSecondsPerDay));
  int64_t second_of_day = static_cast<int64_t>(seconds) - days * kSecondsPerDay;
  std::string text = fmt::format("{} {:02}:{:02}:{:02}", DateText(days), second_of_day / 3600,
                                 second_of_day / 60 % 60, second_of_day % 60);
  if (precision > 0) text += fmt::format(".{:0{}}", fraction, precision);
  return text;
}

}  // namespace

std::string ValueToText(const Column& column, size_t row) {
  if (column.IsNull(row)) return "NULL";
  const DataType& storage = column.storage();
  switch (storage.kind) {
    case TypeKind::kInt8:
      return std::to_string(column.FixedAt<int8_t>(row));
    case TypeKind::kInt16:
      return std::to_string(column.FixedAt<int16_t>(row));
    case TypeKind::kInt32:
      return std::to_string(column.FixedAt<int32_t>(row));
    case TypeKind::kInt64:
      return std::to_string(column.FixedAt<int64_t>(row));
    case TypeKind::kUInt8:
      return std::to_string(column.FixedAt<uint8_t>(row));
    case TypeKind::kUInt16:
      return std::to_string(column.FixedAt<uint16_t>(row));
    case TypeKind::kUInt32:
      return std::to_string(column.FixedAt<uint32_t>(row));
    case TypeKind::kUInt64:
      return std::to_string(column.FixedAt<uint64_t>(row));
    case TypeKind::kFloat32:
      return fmt::format("{}", column.FixedAt<float>(row));
    case TypeKind::kFloat64:
      return fmt::format("{}", column.FixedAt<double>(row));
    case TypeKind::kBool:
      return column.FixedAt<uint8_t>(row) != 0 ? "true" : "false";
    case TypeKind::kDecimal:
      return DecimalText(column.FixedAt<Int128>(row), storage.scale);
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return DateText(column.FixedAt<int32_t>(row));
    case TypeKind::kDateTime:
      return DateTimeText(column.FixedAt<int64_t>(row), 0);
    case TypeKind::kDateTime64:
      return DateTimeText(column.FixedAt<int64_t>(row), storage.precision);
    case TypeKind::kString:
    case TypeKind::kUuid:
      return std::string(column.StringAt(row));
    case TypeKind::kFixedString: {
      // The padding added on append is not part of the value.
      std::string_view text = column.StringAt(row);
      while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
      return std::string(text);
    }
    default:
      return storage.ToString();
  }
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace sluice
