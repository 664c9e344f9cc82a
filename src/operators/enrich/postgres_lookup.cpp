#include "operators/enrich/postgres_lookup.h"

#include <fmt/format.h>
#include <libpq-fe.h>

namespace sluice {
namespace {

// "a.b" → "a"."b", each part with its double quotes doubled.
std::string QuotePostgresName(std::string_view name) {
  std::string quoted;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view part = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!quoted.empty()) quoted += '.';
    quoted += '"';
    for (char c : part) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return quoted;
}

// A PostgreSQL array literal of text elements: {"a","b\"c"}.
std::string ArrayLiteral(const std::vector<std::vector<std::string>>& keys, size_t part) {
  std::string literal = "{";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : keys[i][part]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

Error LookupError(ErrorCode code, std::string_view table, std::string_view message) {
  return MakeError(code, fmt::format("lookup in PostgreSQL table {}: {}", table, message));
}

std::string Trimmed(const char* message) {
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

PostgresLookup::PostgresLookup(std::string dsn, LookupTable table, std::string sql)
    : dsn_(std::move(dsn)), table_(std::move(table)), sql_(std::move(sql)) {}

PostgresLookup::~PostgresLookup() {
  for (PGconn* connection : idle_) PQfinish(connection);
}

Result<std::unique_ptr<PostgresLookup>> PostgresLookup::Connect(std::string dsn,
                                                                LookupTable table) {
  // Composite keys match each part with ANY: a superset the caller narrows to exact pairs.
  std::string columns;
  for (const std::string& column : table.key_columns) {
    columns += (columns.empty() ? "" : ", ") + QuotePostgresName(column);
  }
  for (const std::string& column : table.value_columns) {
    columns += ", " + QuotePostgresName(column);
  }
  std::string where;
  for (size_t i = 0; i < table.key_columns.size(); ++i) {
    where += fmt::format("{}{} = ANY(${})", i == 0 ? "" : " AND ",
                         QuotePostgresName(table.key_columns[i]), i + 1);
  }
  std::string sql =
      fmt::format("SELECT {} FROM {} WHERE {}", columns, QuotePostgresName(table.table), where);
  std::unique_ptr<PostgresLookup> lookup(
      new PostgresLookup(std::move(dsn), std::move(table), std::move(sql)));
  Result<PGconn*> connection = lookup->Acquire();
  if (!connection.ok()) return connection.error();
  PGresult* prepared = PQprepare(*connection, "", lookup->sql_.c_str(), 0, nullptr);
  bool ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
  std::string message = ok ? "" : Trimmed(PQresultErrorMessage(prepared));
  PQclear(prepared);
  lookup->Release(*connection);
  if (!ok) return LookupError(ErrorCode::kLookupFailed, lookup->table_.table, message);
  return lookup;
}

Result<PGconn*> PostgresLookup::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      PGconn* connection = idle_.back();
      idle_.pop_back();
      return connection;
    }
  }
  PGconn* connection = PQconnectdb(dsn_.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(connection));
    PQfinish(connection);
    return LookupError(ErrorCode::kLookupFailed, table_.table, message);
  }
  return connection;
}

void PostgresLookup::Release(PGconn* connection) {
  if (PQstatus(connection) != CONNECTION_OK) {
    PQfinish(connection);
    return;
  }
  std::lock_guard lock(mutex_);
  idle_.push_back(connection);
}

Result<std::vector<LookupRow>> PostgresLookup::Lookup(
    const std::vector<std::vector<std::string>>& keys, int64_t timeout_ms) {
  std::vector<LookupRow> rows;
  if (keys.empty()) return rows;
  Result<PGconn*> acquired = Acquire();
  if (!acquired.ok()) return acquired.error();
  PGconn* connection = *acquired;
  std::string set_timeout =
      fmt::format("SET statement_timeout = {}", std::max<int64_t>(1, timeout_ms));
  PGresult* result = PQexec(connection, set_timeout.c_str());
  PQclear(result);
  size_t parts = table_.key_columns.size();
  std::vector<std::string> arrays;
  std::vector<const char*> parameters;
  for (size_t part = 0; part < parts; ++part) arrays.push_back(ArrayLiteral(keys, part));
  for (const std::string& array : arrays) parameters.push_back(array.c_str());
  result = PQexecParams(connection, sql_.c_str(), static_cast<int>(parts), nullptr,
                        parameters.data(), nullptr, nullptr, 0);
  if (PQresultStatus(result) != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    // 57014: query_canceled, which is what statement_timeout raises.
    bool timed_out = state != nullptr && std::string_view(state) == "57014";
    std::string message = Trimmed(PQresultErrorMessage(result));
    PQclear(result);
    Release(connection);
    return LookupError(timed_out ? ErrorCode::kLookupTimeout : ErrorCode::kLookupFailed,
                       table_.table, message);
  }
  int count = PQntuples(result);
  rows.resize(static_cast<size_t>(count));
  size_t values = table_.value_columns.size();
  for (int row = 0; row < count; ++row) {
    LookupRow& out = rows[static_cast<size_t>(row)];
    for (size_t part = 0; part < parts; ++part) {
      out.key.emplace_back(PQgetvalue(result, row, static_cast<int>(part)));
    }
    for (size_t value = 0; value < values; ++value) {
      int column = static_cast<int>(parts + value);
      if (PQgetisnull(result, row, column)) {
        out.values.emplace_back(std::nullopt);
      } else {
        out.values.emplace_back(std::string(PQgetvalue(result, row, column),
                                            static_cast<size_t>(PQgetlength(result, row, column))));
      }
    }
  }
  PQclear(result);
  Release(connection);
  return rows;
}

}  // namespace sluice
