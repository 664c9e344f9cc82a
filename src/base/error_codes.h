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
  X(kSpecUnknownAggregate, 111, "SPEC_UNKNOWN_AGGREGATE",                                          \
    "an aggregate function sluice does not have")                                                  \
  X(kSpecAggregateInputType, 112, "SPEC_AGGREGATE_INPUT_TYPE",                                     \
    "a field type the aggregate function does not take")                                           \
  X(kSpecAggregateParameter, 113, "SPEC_AGGREGATE_PARAMETER",                                      \
    "an aggregate parameter outside its range (quantile level, top_k k)")                          \
  X(kAggregateStateCorrupt, 114, "AGGREGATE_STATE_CORRUPT",                                        \
    "a saved aggregate state that is truncated or malformed")                                      \
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
  X(kRecordLate, 212, "RECORD_LATE", "later than the window's allowed lateness")                   \
  X(kRecordExpressionFailed, 215, "RECORD_EXPRESSION_FAILED",                                      \
    "a map expression has no value for the record (failed cast, overflow, division by zero, "      \
    "NULL) and its output is not Nullable")                                                        \
  X(kRecordLookupFailed, 216, "RECORD_LOOKUP_FAILED",                                              \
    "an enrichment lookup for the record timed out or failed (fallback: dead_letter)")             \
  X(kRecordNullMessage, 220, "RECORD_NULL_MESSAGE",                                                \
    "a queue message without a value (a Kafka tombstone)")                                         \
  X(kRecordInvalidUtf8, 221, "RECORD_INVALID_UTF8",                                                \
    "a message read in string format whose value is not valid UTF-8")                              \
  X(kRecordMetadataMismatch, 222, "RECORD_METADATA_MISMATCH",                                      \
    "a message key, header, offset or time that does not fit its field's type")                    \
  X(kCdcTruncateNotApplied, 230, "CDC_TRUNCATE_NOT_APPLIED",                                       \
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
  X(kWarehouseInsertLost, 304, "WAREHOUSE_INSERT_LOST",                                            \
    "a crash cut an insert short and the engine kept part of its token without its rows")          \
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
    "an environment variable named for an API token is unset or empty")                            \
  X(kWindowStateCorrupt, 420, "WINDOW_STATE_CORRUPT",                                              \
    "a window operator's state snapshot fails its checksum or cannot be read")                     \
  X(kStateBackendFailed, 421, "STATE_BACKEND_FAILED",                                              \
    "the RocksDB state backend reported an error")                                                 \
  X(kCheckpointCorrupt, 430, "CHECKPOINT_CORRUPT",                                                 \
    "a checkpoint or savepoint folder is incomplete or its files are damaged")                     \
  X(kCheckpointFailed, 431, "CHECKPOINT_FAILED",                                                   \
    "a checkpoint could not be taken or committed (the pipeline keeps the previous one)")          \
  X(kSavepointMismatch, 432, "SAVEPOINT_MISMATCH",                                                 \
    "a savepoint does not fit the pipeline (its sources or operators differ)")                     \
  X(kStateHandoffFailed, 433, "STATE_HANDOFF_FAILED",                                              \
    "the state of a Kafka partition that moved here cannot be loaded from its previous owner")     \
  X(kKafkaClientError, 440, "KAFKA_CLIENT_ERROR",                                                  \
    "the Kafka client cannot be configured, or reports a fatal or unrecoverable error")            \
  X(kKafkaCommitFailed, 441, "KAFKA_COMMIT_FAILED",                                                \
    "committing consumer offsets failed (retried at the next checkpoint)")                         \
  X(kKafkaDeliveryFailed, 442, "KAFKA_DELIVERY_FAILED",                                            \
    "a message produced to Kafka was not delivered")                                               \
  X(kNatsError, 443, "NATS_ERROR", "a NATS connection or JetStream call failed")                   \
  X(kSourcePositionInvalid, 444, "SOURCE_POSITION_INVALID",                                        \
    "a checkpointed source position that cannot be read or belongs to another source")             \
  X(kPgConnectionFailed, 450, "PG_CONNECTION_FAILED",                                              \
    "PostgreSQL cannot be reached or closed the connection")                                       \
  X(kPgReplicationFailed, 451, "PG_REPLICATION_FAILED",                                            \
    "a replication step failed: slot, publication, snapshot or streaming")                         \
  X(kPgProtocolError, 452, "PG_PROTOCOL_ERROR", "a replication message sluice cannot decode")      \
  X(kSourceTableUnsupported, 453, "SOURCE_TABLE_UNSUPPORTED",                                      \
    "a source table that is missing or has no primary key")                                        \
  X(kSqlPollFailed, 454, "SQL_POLL_FAILED",                                                        \
    "a polled database cannot be reached or refused a polling query")                              \
  X(kSourceSchemaChangeFailed, 455, "SOURCE_SCHEMA_CHANGE_FAILED",                                 \
    "a column added in the source could not be added to the ClickHouse table")                     \
  X(kMonitoringEndpointFailed, 460, "MONITORING_ENDPOINT_FAILED",                                  \
    "the /metrics endpoint of a running sluice did not answer or answered an error")               \
  X(kLookupFailed, 470, "LOOKUP_FAILED",                                                           \
    "an enrichment lookup failed: connection or query error (fallback: fail)")                     \
  X(kLookupTimeout, 471, "LOOKUP_TIMEOUT",                                                         \
    "an enrichment lookup did not answer within its timeout (fallback: fail)")                     \
  X(kWindowSnapshotIncomplete, 480, "WINDOW_SNAPSHOT_INCOMPLETE",                                  \
    "a piece of an incremental window state snapshot is missing or torn")

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
