#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/column.h"

namespace sluice {

/// The rows of one query as text (NULL as nullopt), with how to convert each column's text.
struct SqlRows {
  std::vector<std::string> names;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<uint32_t> type_oids;  // PostgreSQL only: the column type oids
};

/// A database the SQL polling source queries: PostgreSQL (libpq) or MariaDB/MySQL
/// (libmariadb), both through their text protocol in a UTC session.
///
/// Contract: one thread at a time; a failed query leaves the driver usable after Reconnect.
class SqlDriver {
 public:
  virtual ~SqlDriver() = default;
  virtual Status Connect() = 0;
  virtual Result<SqlRows> Query(const std::string& sql) = 0;
  /// `name` quoted as an identifier (a dotted name is quoted part by part).
  virtual std::string Identifier(const std::string& name) const = 0;
  /// Appends one value (text as the database printed it) to `column`.
  virtual Status AppendValue(std::string_view text, uint32_t type_oid, Column& column) const = 0;
};

/// A driver for `driver` ("postgres" or "mysql"); `dsn` as in SqlPollSpec.
Result<std::unique_ptr<SqlDriver>> MakeSqlDriver(const std::string& driver, const std::string& dsn,
                                                 const std::string& where);

/// The parts of mysql://user:password@host:port/database; false when `dsn` is not of that form.
struct MysqlAddress {
  std::string user = "root";
  std::string password;
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string database;
};
bool ParseMysqlDsn(const std::string& dsn, MysqlAddress& address);

}  // namespace sluice
