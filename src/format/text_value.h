#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "core/column.h"

namespace sluice {

// Text-to-value conversion shared by the JSON decoder (strings and raw number tokens) and the
// CSV decoder (every field). Each parser validates and range-checks for one storage kind; the
// Error it returns carries the code and message but no `where`: the decoder knows the field path.

/// An integer, from integer syntax or from decimal/exponent syntax whose value is integral
/// ("1.0", "2e3"); a non-zero fraction is kRecordTypeMismatch, beyond Int128 kRecordOutOfRange.
Result<Int128> ParseIntegerText(std::string_view text);

/// An integer range-checked for an Int*/UInt* kind (kRecordOutOfRange outside it).
Result<Int128> ParseIntegerFor(std::string_view text, TypeKind kind);

/// A float: decimal or exponent syntax, "NaN", "Infinity", "-Infinity" (also "inf", "nan").
/// A finite value beyond the kind's range is kRecordOutOfRange.
Result<double> ParseFloatText(std::string_view text, TypeKind kind);

/// Decimal(P, S) parsed exactly from its text: value * 10^S, extra fraction digits rounded half
/// away from zero, exponent notation accepted; |result| >= 10^P is kRecordOutOfRange.
Result<Int128> ParseDecimalText(std::string_view text, int precision, int scale);

/// "true"/"false" (any case), "0"/"1".
Result<bool> ParseBoolText(std::string_view text);

/// Canonical 8-4-4-4-12 hexadecimal UUID.
bool IsCanonicalUuid(std::string_view text);

/// Days since 1970-01-01 of a proleptic Gregorian date; no validation.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

/// "YYYY-MM-DD", the date part of an ISO date-time, or an integer day number, range-checked for
/// Date (1970-01-01..2149-06-06) or Date32 (1900-01-01..2299-12-31).
Result<int32_t> ParseDateText(std::string_view text, TypeKind kind);

/// Converts an integer epoch to ticks of 10^-precision s: seconds below 10^11, milliseconds
/// below 10^14, microseconds below 10^17, nanoseconds above (by magnitude); sub-tick digits are
/// floored.
Int128 EpochToTicks(Int128 epoch, int precision);

/// ISO-8601 `YYYY-MM-DD[T ]hh:mm:ss[.fraction][Z|+hh:mm|+hhmm]`, `YYYY-MM-DD`, or an integer epoch
/// (see EpochToTicks) as ticks of 10^-precision s since 1970-01-01 UTC (DateTime: precision 0).
/// Range: DateTime 1970-01-01 00:00:00..2106-02-07 06:28:15, DateTime64 1900-01-01..2299-12-31.
Result<int64_t> ParseDateTimeText(std::string_view text, TypeKind kind, int precision);

/// Converts `text` to `column`'s storage type and appends it. Handles the scalar kinds; Array, Map
/// and Tuple are kRecordTypeMismatch here (their decoders handle them).
Status AppendTextValue(std::string_view text, Column& column);

/// Appends the zero value of `column`'s storage type: 0, "", 1970-01-01, the nil UUID, an empty
/// array or map, a tuple of zero values.
void AppendZeroValue(Column& column);

/// Quotes a value for an error message, cut to a readable length.
std::string QuoteForMessage(std::string_view text);

/// What strict coercion adds for text that fills `kind`: Bool only from "true"/"false" (any
/// case, not 0/1), dates and times only from ISO text (not day numbers or epochs); other kinds
/// are not restricted here. kRecordTypeMismatch otherwise.
Status CheckStrictText(std::string_view text, TypeKind kind);

/// The value at `row` as text, the inverse of AppendTextValue for scalar kinds: integers,
/// floats, decimals with their scale, true/false, dates as YYYY-MM-DD, date-times as
/// YYYY-MM-DD hh:mm:ss[.fraction] (UTC), strings as they are; "NULL" for a null and the type
/// name for Array, Map and Tuple. For messages and dead-letter rows.
std::string ValueToText(const Column& column, size_t row);

/// Appends `text` as a JSON string literal (quoted, escaped) to `out`.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace sluice
