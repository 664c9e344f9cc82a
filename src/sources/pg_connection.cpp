#include "sources/pg_connection.h"

#include <fmt/format.h>

#include <cinttypes>
#include <cstdio>

#include "base/strings.h"

namespace sluice {

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo,
                                                            bool replication, ErrorCode code,
                                                            std::string where) {
  // Keywords given after the dsn override it; expand_dbname lets `dsn` be a URI or key=value.
  std::vector<const char*> keys = {"dbname", "options", "application_name"};
  std::vector<const char*> values = {conninfo.c_str(), "-c TimeZone=UTC -c DateStyle=ISO",
                                     "sluice"};
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* connection = PQconnectdbParams(keys.data(), values.data(), 1);
  if (connection == nullptr) {
    return MakeError(code, "cannot allocate a PostgreSQL connection", where);
  }
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string text(Trim(PQerrorMessage(connection)));
    PQfinish(connection);
    return MakeError(code, fmt::format("cannot connect to PostgreSQL: {}", text), where);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(connection, code, std::move(where)));
}

PgConnection::~PgConnection() {
  PQfinish(connection_);
}

std::string PgConnection::LastError() const {
  return std::string(Trim(PQerrorMessage(connection_)));
}

Result<PgResult> PgConnection::Check(PGresult* raw, std::string_view sql) const {
  PgResult result(raw, &PQclear);
  ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_OUT ||
      status == PGRES_COPY_BOTH) {
    return result;
  }
  std::string message = raw != nullptr ? std::string(Trim(PQresultErrorMessage(raw))) : "";
  if (message.empty()) message = LastError();
  return MakeError(code_, fmt::format("PostgreSQL refused `{}`: {}", sql, message), where_);
}

Result<PgResult> PgConnection::Exec(std::string_view sql) const {
  return Check(PQexec(connection_, std::string(sql).c_str()), sql);
}

Result<PgResult> PgConnection::ExecParams(std::string_view sql,
                                          const std::vector<const char*>& parameters) const {
  return Check(
      PQexecParams(connection_, std::string(sql).c_str(), static_cast<int>(parameters.size()),
                   nullptr, parameters.data(), nullptr, nullptr, 0),
      sql);
}

std::string PgConnection::Identifier(std::string_view name) const {
  char* quoted = PQescapeIdentifier(connection_, name.data(), name.size());
  std::string text = quoted != nullptr ? quoted : "";
  PQfreemem(quoted);
  return text;
}

std::string PgConnection::Literal(std::string_view text) const {
  char* quoted = PQescapeLiteral(connection_, text.data(), text.size());
  std::string result = quoted != nullptr ? quoted : "";
  PQfreemem(quoted);
  return result;
}

namespace {

std::string Unquote(std::string_view part) {
  if (part.size() >= 2 && part.front() == '"' && part.back() == '"') {
    std::string text;
    for (size_t i = 1; i + 1 < part.size(); ++i) {
      text += part[i];
      if (part[i] == '"' && i + 2 < part.size() && part[i + 1] == '"') ++i;
    }
    return text;
  }
  return std::string(part);
}

}  // namespace

std::pair<std::string, std::string> SplitQualifiedName(std::string_view name) {
  bool quoted = false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '"') quoted = !quoted;
    if (name[i] == '.' && !quoted) {
      return {Unquote(name.substr(0, i)), Unquote(name.substr(i + 1))};
    }
  }
  return {"public", Unquote(name)};
}

uint64_t ParseLsn(std::string_view text) {
  unsigned int high = 0;
  unsigned int low = 0;
  if (std::sscanf(std::string(text).c_str(), "%X/%X", &high, &low) != 2) return 0;
  return (static_cast<uint64_t>(high) << 32) | low;
}

std::string FormatLsn(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xFFFFFFFFu);
}

}  // namespace sluice
