#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

/// One column of a tuple in a pgoutput change message.
struct PgTupleValue {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't' };
  Kind kind = Kind::kNull;
  std::string_view text;  // points into the message; valid while the message buffer lives
};

/// A column as a Relation message describes it.
struct PgRelationColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
  bool key = false;  // part of the replica identity
};

/// One decoded pgoutput (protocol version 1) message. Only the fields of its `type` are set.
struct PgOutputMessage {
  enum class Type : char {
    kBegin = 'B',
    kCommit = 'C',
    kOrigin = 'O',
    kRelation = 'R',
    kType = 'Y',
    kInsert = 'I',
    kUpdate = 'U',
    kDelete = 'D',
    kTruncate = 'T',
  };
  Type type = Type::kBegin;
  uint64_t final_lsn = 0;                 // Begin: LSN of the commit record
  uint64_t commit_lsn = 0;                // Commit
  uint64_t end_lsn = 0;                   // Commit: end of the transaction's commit record
  int64_t commit_time = 0;                // Begin, Commit: microseconds since 2000-01-01
  uint32_t xid = 0;                       // Begin
  uint32_t relation_id = 0;               // Relation, Insert, Update, Delete
  std::string schema;                     // Relation
  std::string table;                      // Relation
  std::vector<PgRelationColumn> columns;  // Relation
  std::vector<PgTupleValue> old_tuple;    // Update (with 'K'/'O'), Delete
  std::vector<PgTupleValue> new_tuple;    // Insert, Update
  std::vector<uint32_t> truncated;        // Truncate: relation ids
};

/// Decodes one pgoutput message (the payload of an XLogData record). Text values point into
/// `message`. A truncated or unknown message is kPgProtocolError.
Result<PgOutputMessage> DecodePgOutput(std::string_view message);

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
constexpr int64_t kPgEpochOffsetMicros = 946684800000000LL;

}  // namespace sluice
