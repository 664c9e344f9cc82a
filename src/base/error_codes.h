#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

/// The one registry of sluice error codes. Numbers are stable: they are stored in dead-letter
/// tables and checked by golden tests, so a code is never renumbered or reused.
/// Ranges: 1xx spec, 2xx record (dead-letter), 3xx warehouse, 4xx runtime and I/O.
#define SLUICE_ERROR_CODES(X)                                                                      \
  X(kOk, 0, "OK", "no error")                                                                      \
  X(kSpecSyntax, 100, "SPEC_SYNTAX", "the spec is not well-formed YAML")                           \
  X(kSpecUnknownKey, 101, "SPEC_UNKNOWN_KEY", "a key the spec format does not define")             \
  X(kSpecWrongType, 102, "SPEC_WRONG_TYPE",                                                        \
    "a value of the wrong kind (map, list, scalar, number, boolean)")                              \
  X(kSpecMissingKey, 103, "SPEC_MISSING_KEY", "a required key is absent")                          \
  X(kSpecInvalidValue, 104, "SPEC_INVALID_VALUE", "a value outside what the key accepts")          \
  X(kSpecInvalidIdentifier, 105, "SPEC_INVALID_IDENTIFIER",                                        \
    "a name that is not a valid identifier")                                                       \
  X(kSpecUnknownReference, 106, "SPEC_UNKNOWN_REFERENCE",                                          \
    "a reference to a table, stream, column or source not defined")                                \
  X(kSpecDuplicateName, 107, "SPEC_DUPLICATE_NAME", "the same name defined twice")                 \
  X(kSpecInvalidType, 108, "SPEC_INVALID_TYPE",                                                    \
    "a ClickHouse column type sluice cannot parse or does not support")                            \
  X(kSpecInvalidExpression, 109, "SPEC_INVALID_EXPRESSION",                                        \
    "an expression or query ClickHouse rejects")                                                   \
  X(kSpecFileNotFound, 110, "SPEC_FILE_NOT_FOUND",                                                 \
    "the spec file or a file it names cannot be read")                                             \
  X(kRecordMalformed, 200, "RECORD_MALFORMED",                                                     \
    "the record cannot be parsed in its format (JSON, CSV)")                                       \
  X(kRecordMissingField, 201, "RECORD_MISSING_FIELD", "a required field is absent or null")        \
  X(kRecordTypeMismatch, 202, "RECORD_TYPE_MISMATCH",                                              \
    "a field value does not fit the column type")                                                  \
  X(kRecordOutOfRange, 203, "RECORD_OUT_OF_RANGE",                                                 \
    "a number outside the range of its column type, or its field's min/max")                       \
  X(kRecordInvalidDate, 204, "RECORD_INVALID_DATE", "a date or time value that cannot be read")    \
  X(kRecordWrongFieldCount, 205, "RECORD_WRONG_FIELD_COUNT",                                       \
    "a CSV line with the wrong number of fields")                                                  \
  X(kRecordRejectedByWarehouse, 206, "RECORD_REJECTED_BY_WAREHOUSE",                               \
    "the warehouse refused the row on insert")                                                     \
  X(kRecordTooLong, 207, "RECORD_TOO_LONG", "a text value longer than its field's max_length")     \
  X(kRecordPatternMismatch, 208, "RECORD_PATTERN_MISMATCH",                                        \
    "a value that does not match its field's regex")                                               \
  X(kRecordValueNotAllowed, 209, "RECORD_VALUE_NOT_ALLOWED",                                       \
    "a value not in its field's allowed list")                                                     \
  X(kRecordConditionFailed, 210, "RECORD_CONDITION_FAILED",                                        \
    "a record that fails one of its stream's rules")                                               \
  X(kRecordDuplicate, 211, "RECORD_DUPLICATE",                                                     \
    "a repeat of a deduplication key already seen within the window")                              \
  X(kCdcTruncateNotApplied, 230, "CDC_TRUNCATE_NOT_APPLIED",                                      \
    "a TRUNCATE of a replicated table: ClickHouse keeps its rows until a new snapshot")            \
  X(kSourceValueUnconvertible, 231, "SOURCE_VALUE_UNCONVERTIBLE",                                  \
    "a database column value that does not fit its ClickHouse type")                               \
  X(kWarehouseUnavailable, 300, "WAREHOUSE_UNAVAILABLE",                                           \
    "the warehouse engine cannot be loaded or connected")                                          \
  X(kWarehouseQueryFailed, 301, "WAREHOUSE_QUERY_FAILED",                                          \
    "the warehouse returned an error for a statement")                                             \
  X(kWarehouseRowCountMismatch, 302, "WAREHOUSE_ROW_COUNT_MISMATCH",                               \
    "the warehouse wrote a different number of rows than sent")                                    \
  X(kMigrationDestructive, 303, "MIGRATION_DESTRUCTIVE",                                           \
    "a schema change that would lose data or needs a table rebuild")                               \
  X(kIoError, 400, "IO_ERROR", "reading or writing a file failed")                                 \
  X(kInternal, 401, "INTERNAL", "an internal invariant failed (a bug in sluice)")                  \
  X(kUsage, 402, "USAGE", "the command line is not valid")                                         \
  X(kWalFull, 403, "WAL_FULL", "the write-ahead log reached its disk bound; retry after delivery") \
  X(kWalCorrupt, 404, "WAL_CORRUPT",                                                               \
    "a write-ahead log file fails its checksum or sequence check")                                 \
  X(kWalRecordTooLarge, 405, "WAL_RECORD_TOO_LARGE",                                               \
    "a record larger than the write-ahead log accepts")                                            \
  X(kServerListenFailed, 410, "SERVER_LISTEN_FAILED",                                              \
    "an HTTP listener cannot bind its address and port")                                           \
  X(kAuthTokenMissing, 411, "AUTH_TOKEN_MISSING",                                                  \
    "an environment variable named for an API token is unset or empty") \
  X(kPgConnectionFailed, 450, "PG_CONNECTION_FAILED",                                              \
    "PostgreSQL cannot be reached or closed the connection")                                       \
  X(kPgReplicationFailed, 451, "PG_REPLICATION_FAILED",                                            \
    "a replication step failed: slot, publication, snapshot or streaming")                         \
  X(kPgProtocolError, 452, "PG_PROTOCOL_ERROR",                                                    \
    "a replication message sluice cannot decode")                                                  \
  X(kSourceTableUnsupported, 453, "SOURCE_TABLE_UNSUPPORTED",                                      \
    "a source table that is missing or has no primary key")                                        \
  X(kSqlPollFailed, 454, "SQL_POLL_FAILED",                                                        \
    "a polled database cannot be reached or refused a polling query")                              \
  X(kSourceSchemaChangeFailed, 455, "SOURCE_SCHEMA_CHANGE_FAILED",                                 \
    "a column added in the source could not be added to the ClickHouse table")

enum class ErrorCode : uint16_t {
#define SLUICE_ERROR_ENUM(name, number, label, description) name = number,
  SLUICE_ERROR_CODES(SLUICE_ERROR_ENUM)
#undef SLUICE_ERROR_ENUM
};

/// The stable upper-case name written next to the number, e.g. "SPEC_SYNTAX".
std::string_view ErrorCodeName(ErrorCode code);
std::string_view ErrorCodeDescription(ErrorCode code);
/// The registry as a markdown table (number, name, meaning): the body of docs/errors.md.
std::string ErrorCodeTableMarkdown();
inline uint16_t ErrorCodeNumber(ErrorCode code) {
  return static_cast<uint16_t>(code);
}

/// Calls visit(code, name, description) for every registered code, in number order.
template <typename Visitor>
void ForEachErrorCode(Visitor&& visit) {
#define SLUICE_ERROR_VISIT(name, number, label, description) \
  visit(ErrorCode::name, std::string_view(label), std::string_view(description));
  SLUICE_ERROR_CODES(SLUICE_ERROR_VISIT)
#undef SLUICE_ERROR_VISIT
}

}  // namespace sluice
