#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

/// Owns a libpq result: cleared when it goes out of scope.
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

/// One libpq connection to PostgreSQL, closed by the destructor.
///
/// Contract: not thread-safe (libpq connections are not); each thread uses its own. Errors
/// carry `code` and name the server's message; `where` is the source's name.
class PgConnection {
 public:
  /// Connects with `conninfo` (a libpq key=value string or URI); `replication` adds
  /// replication=database for the streaming protocol. The session time zone is UTC so that
  /// timestamps come back as UTC text.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                       bool replication, ErrorCode code,
                                                       std::string where);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* get() const { return connection_; }
  /// Runs `sql` and expects PGRES_COMMAND_OK or PGRES_TUPLES_OK.
  Result<PgResult> Exec(std::string_view sql) const;
  /// Runs `sql` with text parameters ($1, $2 ...); a null entry is SQL NULL.
  Result<PgResult> ExecParams(std::string_view sql,
                              const std::vector<const char*>& parameters) const;
  /// The server's last error message, trimmed.
  std::string LastError() const;
  /// `name` quoted as an identifier; `text` quoted as a literal (libpq's escaping).
  std::string Identifier(std::string_view name) const;
  std::string Literal(std::string_view text) const;

 private:
  PgConnection(PGconn* connection, ErrorCode code, std::string where)
      : connection_(connection), code_(code), where_(std::move(where)) {}
  Result<PgResult> Check(PGresult* result, std::string_view sql) const;

  PGconn* connection_;
  ErrorCode code_;
  std::string where_;
};

/// Splits "schema.table" (either part may be double-quoted); a bare name is in `public`.
std::pair<std::string, std::string> SplitQualifiedName(std::string_view name);

/// Parses "XXXXXXXX/XXXXXXXX", PostgreSQL's LSN text; 0 when malformed.
uint64_t ParseLsn(std::string_view text);
/// Formats an LSN as PostgreSQL prints it.
std::string FormatLsn(uint64_t lsn);

}  // namespace sluice
