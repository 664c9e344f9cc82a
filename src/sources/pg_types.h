#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "core/column.h"

namespace sluice {

/// The ClickHouse type a PostgreSQL column of type `oid` with modifier `typmod` lands in (the
/// table in src/sources/README.md); types without a mapping become String holding
/// PostgreSQL's text form. Nullable is added by the caller.
DataType PgColumnType(uint32_t oid, int32_t typmod);

/// Whether the type's values can be ordered and split into ranges as 64-bit integers
/// (int2, int4, int8): what the parallel snapshot splits primary keys by.
bool PgIsIntegerType(uint32_t oid);

/// Converts one value of PostgreSQL type `oid` in its text output format (as COPY, pgoutput and
/// libpq return it, session TimeZone UTC) to `column`'s type and appends it: booleans `t`/`f`,
/// bytea
/// `\x...` hex, timestamps with `+00`, one-dimensional arrays `{a,"b c",NULL}`. The error
/// (kRecordTypeMismatch, kRecordOutOfRange, kRecordInvalidDate) names the value, not the
/// column: the caller adds where.
Status AppendPgText(std::string_view text, uint32_t oid, Column& column);

}  // namespace sluice
