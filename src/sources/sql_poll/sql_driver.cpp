#include "sources/sql_poll/sql_driver.h"

#include <fmt/format.h>
#include <mysql.h>

#include "base/strings.h"
#include "format/text_value.h"
#include "sources/pg_connection.h"
#include "sources/pg_types.h"

namespace sluice {
namespace {

std::string QuoteParts(const std::string& name, char quote) {
  std::string quoted;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string part =
        name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!quoted.empty()) quoted += '.';
    quoted += quote;
    for (char c : part) {
      if (c == quote) quoted += quote;
      quoted += c;
    }
    quoted += quote;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return quoted;
}

/// PostgreSQL through libpq; values converted by their column's type oid.
class PostgresDriver : public SqlDriver {
 public:
  PostgresDriver(std::string dsn, std::string where)
      : dsn_(std::move(dsn)), where_(std::move(where)) {}

  Status Connect() override {
    auto connected = PgConnection::Connect(dsn_, false, ErrorCode::kSqlPollFailed, where_);
    if (!connected.ok()) return connected.error();
    connection_ = std::move(connected).value();
    return {};
  }

  Result<SqlRows> Query(const std::string& sql) override {
    if (!connection_ || PQstatus(connection_->get()) != CONNECTION_OK) {
      if (auto status = Connect(); !status.ok()) return status.error();
    }
    auto result = connection_->Exec(sql);
    if (!result.ok()) {
      Error error = result.error();
      error.code = ErrorCode::kSqlPollFailed;
      return error;
    }
    SqlRows rows;
    PGresult* raw = result->get();
    for (int column = 0; column < PQnfields(raw); ++column) {
      rows.names.emplace_back(PQfname(raw, column));
      rows.type_oids.push_back(PQftype(raw, column));
    }
    rows.rows.resize(static_cast<size_t>(PQntuples(raw)));
    for (int row = 0; row < PQntuples(raw); ++row) {
      auto& values = rows.rows[static_cast<size_t>(row)];
      for (int column = 0; column < PQnfields(raw); ++column) {
        if (PQgetisnull(raw, row, column)) {
          values.emplace_back(std::nullopt);
        } else {
          values.emplace_back(std::string(PQgetvalue(raw, row, column),
                                          static_cast<size_t>(PQgetlength(raw, row, column))));
        }
      }
    }
    return rows;
  }

  std::string Identifier(const std::string& name) const override { return QuoteParts(name, '"'); }

  Status AppendValue(std::string_view text, uint32_t type_oid, Column& column) const override {
    return AppendPgText(text, type_oid, column);
  }

 private:
  std::string dsn_;
  std::string where_;
  std::unique_ptr<PgConnection> connection_;
};

/// MariaDB/MySQL through libmariadb's text protocol, session time zone UTC.
class MysqlDriver : public SqlDriver {
 public:
  MysqlDriver(MysqlAddress address, std::string where)
      : address_(std::move(address)), where_(std::move(where)) {}
  ~MysqlDriver() override { Close(); }

  Status Connect() override {
    Close();
    connection_ = mysql_init(nullptr);
    unsigned int timeout = 10;
    mysql_options(connection_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (mysql_real_connect(connection_, address_.host.c_str(), address_.user.c_str(),
                           address_.password.c_str(), address_.database.c_str(), address_.port,
                           nullptr, 0) == nullptr) {
      std::string message = mysql_error(connection_);
      Close();
      return MakeError(ErrorCode::kSqlPollFailed,
                       fmt::format("cannot connect to MySQL at {}:{}: {}", address_.host,
                                   address_.port, message),
                       where_);
    }
    if (mysql_query(connection_, "SET time_zone = '+00:00'") != 0) {
      return MakeError(ErrorCode::kSqlPollFailed, mysql_error(connection_), where_);
    }
    return {};
  }

  Result<SqlRows> Query(const std::string& sql) override {
    if (connection_ == nullptr) {
      if (auto status = Connect(); !status.ok()) return status.error();
    }
    if (mysql_query(connection_, sql.c_str()) != 0) {
      std::string message = mysql_error(connection_);
      Close();  // reconnect on the next query
      return MakeError(ErrorCode::kSqlPollFailed,
                       fmt::format("MySQL refused `{}`: {}", sql, message), where_);
    }
    MYSQL_RES* result = mysql_store_result(connection_);
    SqlRows rows;
    if (result == nullptr) return rows;
    unsigned int fields = mysql_num_fields(result);
    MYSQL_FIELD* field = mysql_fetch_fields(result);
    for (unsigned int i = 0; i < fields; ++i) {
      rows.names.emplace_back(field[i].name);
      rows.type_oids.push_back(0);
    }
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      unsigned long* lengths = mysql_fetch_lengths(result);
      auto& values = rows.rows.emplace_back();
      for (unsigned int i = 0; i < fields; ++i) {
        if (row[i] == nullptr) {
          values.emplace_back(std::nullopt);
        } else {
          values.emplace_back(std::string(row[i], lengths[i]));
        }
      }
    }
    mysql_free_result(result);
    return rows;
  }

  std::string Identifier(const std::string& name) const override { return QuoteParts(name, '`'); }

  Status AppendValue(std::string_view text, uint32_t, Column& column) const override {
    return AppendTextValue(text, column);
  }

 private:
  void Close() {
    if (connection_ != nullptr) mysql_close(connection_);
    connection_ = nullptr;
  }

  MysqlAddress address_;
  std::string where_;
  MYSQL* connection_ = nullptr;
};

}  // namespace

bool ParseMysqlDsn(const std::string& dsn, MysqlAddress& address) {
  constexpr std::string_view kScheme = "mysql://";
  if (dsn.compare(0, kScheme.size(), kScheme) != 0) return false;
  std::string rest = dsn.substr(kScheme.size());
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string credentials = rest.substr(0, at);
    size_t colon = credentials.find(':');
    address.user = credentials.substr(0, colon);
    if (colon != std::string::npos) address.password = credentials.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  size_t slash = rest.find('/');
  std::string host_port = rest.substr(0, slash);
  if (slash != std::string::npos) address.database = rest.substr(slash + 1);
  size_t colon = host_port.rfind(':');
  address.host = host_port.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      int port = std::stoi(host_port.substr(colon + 1));
      if (port <= 0 || port > 65535) return false;
      address.port = static_cast<uint16_t>(port);
    } catch (const std::exception&) {
      return false;
    }
  }
  return !address.host.empty() && !address.database.empty();
}

Result<std::unique_ptr<SqlDriver>> MakeSqlDriver(const std::string& driver, const std::string& dsn,
                                                 const std::string& where) {
  if (driver == "postgres") return std::unique_ptr<SqlDriver>(new PostgresDriver(dsn, where));
  if (driver == "mysql") {
    MysqlAddress address;
    if (!ParseMysqlDsn(dsn, address)) {
      return MakeError(ErrorCode::kSqlPollFailed,
                       "a mysql dsn is mysql://user:password@host:port/database", where);
    }
    return std::unique_ptr<SqlDriver>(new MysqlDriver(std::move(address), where));
  }
  return MakeError(ErrorCode::kSqlPollFailed,
                   fmt::format("unknown driver '{}' (postgres or mysql)", driver), where);
}

}  // namespace sluice
