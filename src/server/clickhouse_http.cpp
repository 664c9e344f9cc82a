#include "server/clickhouse_http.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include "base/strings.h"
#include "server/auth.h"
#include "server/sql_inspect.h"
#include "warehouse/identifier.h"

namespace sluice {
namespace {

// ClickHouse error codes the endpoint reports itself (src/Common/ErrorCodes.cpp).
constexpr int kBadArguments = 36;
constexpr int kSyntaxError = 62;
constexpr int kUnknownFormat = 73;
constexpr int kUnknownSetting = 115;
constexpr int kReadonly = 164;
constexpr int kRequiredPassword = 194;
constexpr int kAuthenticationFailed = 516;
constexpr int kUnknownException = 1002;

/// Parameters of ClickHouse's HTTP interface itself; every other one is a query setting.
constexpr std::array<std::string_view, 18> kInterfaceParameters = {
    "query",          "database",
    "default_format", "user",
    "password",       "query_id",
    "session_id",     "session_timeout",
    "session_check",  "close_session",
    "compress",       "decompress",
    "buffer_size",    "wait_end_of_query",
    "quota_key",      "stacktrace",
    "role",           "client_protocol_version"};

/// The HTTP status ClickHouse answers with for an exception code (its HTTPHandler's table).
int HttpStatusFor(int code) {
  switch (code) {
    case kRequiredPassword:
      return 401;
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case kReadonly:
    case kAuthenticationFailed:
      return 403;
    case 6:   // CANNOT_PARSE_TEXT
    case 25:  // CANNOT_PARSE_ESCAPE_SEQUENCE
    case 26:  // CANNOT_PARSE_QUOTED_STRING
    case 27:  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case kBadArguments:
    case 38:  // CANNOT_PARSE_DATE
    case 41:  // CANNOT_PARSE_DATETIME
    case 42:  // NUMBER_OF_ARGUMENTS_DOESNT_MATCH
    case 43:  // ILLEGAL_TYPE_OF_ARGUMENT
    case 44:  // ILLEGAL_COLUMN
    case 53:  // TYPE_MISMATCH
    case kSyntaxError:
    case 72:   // CANNOT_PARSE_NUMBER
    case 117:  // INCORRECT_DATA
    case 456:  // UNKNOWN_QUERY_PARAMETER
    case 457:  // BAD_QUERY_PARAMETER
      return 400;
    case 46:  // UNKNOWN_FUNCTION
    case 47:  // UNKNOWN_IDENTIFIER
    case 50:  // UNKNOWN_TYPE
    case 56:  // UNKNOWN_STORAGE
    case 57:  // UNKNOWN_TYPE_OF_QUERY
    case 60:  // UNKNOWN_TABLE
    case 63:  // UNKNOWN_AGGREGATE_FUNCTION
    case kUnknownFormat:
    case 81:  // UNKNOWN_DATABASE
    case kUnknownSetting:
      return 404;
    default:
      return 500;
  }
}

/// The Content-Type ClickHouse sends for an output format.
std::string ContentTypeFor(std::string_view format) {
  auto starts = [&](std::string_view prefix) { return StartsWith(format, prefix); };
  if (starts("TabSeparated") || starts("TSV")) {
    return "text/tab-separated-values; charset=UTF-8";
  }
  if (starts("CSV")) {
    return format.find("WithNames") != std::string_view::npos
               ? "text/csv; charset=UTF-8; header=present"
               : "text/csv; charset=UTF-8; header=absent";
  }
  if (starts("JSON")) return "application/json; charset=UTF-8";
  if (starts("Native") || starts("RowBinary") || starts("Parquet") || starts("Arrow") ||
      starts("ORC") || starts("Avro") || starts("Protobuf") || starts("MsgPack")) {
    return "application/octet-stream";
  }
  return "text/plain; charset=UTF-8";
}

/// A query id echoed in a header must not be able to break the header.
bool IsSafeQueryId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::string RandomQueryId() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  uint64_t high = generator();
  uint64_t low = generator();
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xFFFF,
                     high & 0xFFFF, low >> 48, low & 0xFFFFFFFFFFFFull);
}

/// Runs the requests of one endpoint; its mutex makes USE, SET param_* and the query one unit.
class ClickHouseEndpoint {
 public:
  ClickHouseEndpoint(Warehouse& warehouse, ClickHouseHttpOptions options)
      : warehouse_(warehouse), options_(std::move(options)) {}

  HttpResponse Handle(const HttpRequest& request);

 private:
  /// Nullopt when the request may go on, else the ClickHouse-style refusal.
  std::optional<HttpResponse> Authenticate(const HttpRequest& request,
                                           const std::string& query_id) const;

  Warehouse& warehouse_;
  const ClickHouseHttpOptions options_;
  std::mutex mutex_;
};

HttpResponse Exception(int code, std::string_view message, const std::string& query_id) {
  HttpResponse response;
  response.status = HttpStatusFor(code);
  response.content_type = "text/plain; charset=UTF-8";
  // The engine's own messages already read "Code: N. DB::Exception: ...".
  response.body = StartsWith(message, "Code: ")
                      ? std::string(message)
                      : fmt::format("Code: {}. DB::Exception: {}", code, message);
  response.body += '\n';
  response.headers.emplace_back("X-ClickHouse-Exception-Code", std::to_string(code));
  response.headers.emplace_back("X-ClickHouse-Query-Id", query_id);
  return response;
}

HttpResponse Exception(const Error& error, const std::string& query_id) {
  return Exception(error.upstream_code != 0 ? error.upstream_code : kUnknownException,
                   error.message, query_id);
}

std::optional<HttpResponse> ClickHouseEndpoint::Authenticate(const HttpRequest& request,
                                                             const std::string& query_id) const {
  if (options_.user.empty() && options_.password.empty()) return std::nullopt;
  std::optional<std::string> user;
  std::optional<std::string> password;
  auto take = [](std::optional<std::string>& slot, const std::string* value) {
    if (!slot && value != nullptr) slot = *value;
  };
  take(user, request.Header("x-clickhouse-user"));
  take(password, request.Header("x-clickhouse-key"));
  take(user, request.Parameter("user"));
  take(password, request.Parameter("password"));
  if (const std::string* authorization = request.Header("authorization")) {
    if (auto basic = ParseBasicAuthorization(*authorization)) {
      take(user, &basic->first);
      take(password, &basic->second);
    }
  }
  if (!user && !password) {
    HttpResponse response = Exception(kRequiredPassword,
                                      "Authentication required: send user and password "
                                      "(X-ClickHouse-User/X-ClickHouse-Key, the user/password "
                                      "parameters, or HTTP basic auth). (REQUIRED_PASSWORD)",
                                      query_id);
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"ClickHouse\"");
    return response;
  }
  std::string expected_user = options_.user.empty() ? "default" : options_.user;
  // Both compared in full, so timing does not tell which of the two was wrong.
  bool user_ok = MatchesAnySecret(user.value_or("default"), {expected_user});
  bool password_ok = MatchesAnySecret(password.value_or(""), {options_.password});
  if (!(user_ok & password_ok)) {
    return Exception(kAuthenticationFailed,
                     fmt::format("{}: Authentication failed: password is incorrect, or there is "
                                 "no user with such name. (AUTHENTICATION_FAILED)",
                                 user.value_or("default")),
                     query_id);
  }
  return std::nullopt;
}

HttpResponse ClickHouseEndpoint::Handle(const HttpRequest& request) {
  const std::string* requested_id = request.Parameter("query_id");
  if (requested_id != nullptr && !IsSafeQueryId(*requested_id)) {
    return Exception(kBadArguments,
                     "query_id may hold only letters, digits and -_.: (at most 128). "
                     "(BAD_ARGUMENTS)",
                     RandomQueryId());
  }
  std::string query_id = requested_id != nullptr ? *requested_id : RandomQueryId();
  if (auto refused = Authenticate(request, query_id)) return *refused;

  for (std::string_view name : {"compress", "decompress"}) {
    const std::string* value = request.Parameter(name);
    if (value != nullptr && *value != "0") {
      return Exception(kBadArguments,
                       fmt::format("{}=1 (ClickHouse's own block compression) is not supported "
                                   "here; use HTTP compression (Content-Encoding). "
                                   "(BAD_ARGUMENTS)",
                                   name),
                       query_id);
    }
  }

  // ClickHouse runs the `query` parameter followed by the body (INSERT data, or the query).
  std::string sql;
  if (const std::string* query = request.Parameter("query")) sql = *query;
  if (request.method == "POST" && !request.body.empty()) {
    if (!sql.empty()) sql += '\n';
    sql += request.body;
  }
  std::vector<SqlStatement> statements = SplitSqlStatements(sql);
  if (statements.empty()) {
    return Exception(kSyntaxError, "Empty query. (SYNTAX_ERROR)", query_id);
  }
  // GET never writes, as in ClickHouse, whatever the option says.
  bool may_write = !options_.read_only && request.method == "POST";
  const SqlStatement& statement = statements.front();
  bool read_only_statement = IsReadOnlyStatement(statement);
  // INSERT data may hold anything, `;` included, so an INSERT goes to the engine as sent.
  bool insert = may_write && statement.keyword == "INSERT";
  if (!insert) {
    for (const SqlStatement& each : statements) {
      if (!may_write && !IsReadOnlyStatement(each)) {
        // A misspelt SELECT deserves its syntax error, not READONLY; EXPLAIN AST only parses.
        auto parsed = warehouse_.Query("EXPLAIN AST " + std::string(each.text), "TabSeparated");
        if (!parsed.ok() && parsed.error().upstream_code == kSyntaxError) {
          return Exception(parsed.error(), query_id);
        }
        return Exception(
            kReadonly,
            fmt::format("Cannot execute query in readonly mode: this endpoint runs only SELECT, "
                        "WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS{}, not {}. (READONLY)",
                        each.writes_file ? " (without INTO OUTFILE)" : "",
                        each.keyword.empty() ? "this statement" : each.keyword),
            query_id);
      }
    }
    if (statements.size() > 1) {
      return Exception(kSyntaxError,
                       "Syntax error: Multi-statements are not allowed: send one statement "
                       "per request. (SYNTAX_ERROR)",
                       query_id);
    }
  }

  std::string format = "TabSeparated";
  if (const std::string* value = request.Parameter("default_format")) {
    format = *value;
  } else if (const std::string* header = request.Header("x-clickhouse-format")) {
    format = *header;
  }
  if (!IsIdentifier(format)) {
    return Exception(kUnknownFormat,
                     fmt::format("Unknown format {}. (UNKNOWN_FORMAT)", QuoteString(format)),
                     query_id);
  }
  std::string output_format = statement.format.empty() ? format : statement.format;

  // Settings go into a SETTINGS clause of this query, so they can never leak into the
  // statements sluice itself runs on the same warehouse.
  std::vector<std::string> settings;
  std::vector<std::string> parameters;
  bool has_readonly = false;
  for (const auto& [name, value] : request.parameters) {
    if (std::find(kInterfaceParameters.begin(), kInterfaceParameters.end(), name) !=
        kInterfaceParameters.end()) {
      continue;
    }
    bool parameter = StartsWith(name, "param_");
    if (!IsIdentifier(name)) {
      return Exception(kUnknownSetting,
                       fmt::format("{} is not a valid {} name. (UNKNOWN_SETTING)",
                                   QuoteString(name), parameter ? "query parameter" : "setting"),
                       query_id);
    }
    (parameter ? parameters : settings).push_back(fmt::format("{} = {}", name, QuoteString(value)));
    has_readonly = has_readonly || name == "readonly";
  }
  std::string statement_sql = insert ? sql : std::string(statement.text);
  if (read_only_statement && !insert) {
    // The engine enforces read-only too, should a statement ever get past the check above.
    if (!has_readonly) settings.push_back("readonly = 2");
    statement_sql += "\nSETTINGS " + Join(settings, ", ");
  } else if (!settings.empty()) {
    return Exception(kBadArguments,
                     "settings in URL parameters apply only to read queries here: put a "
                     "SETTINGS clause in the statement. (BAD_ARGUMENTS)",
                     query_id);
  }

  const std::string* database = request.Parameter("database");
  if (database == nullptr) database = request.Header("x-clickhouse-database");
  if (database != nullptr && database->empty()) database = nullptr;

  std::lock_guard lock(mutex_);
  std::string previous_database;
  if (database != nullptr) {
    auto current = warehouse_.Query("SELECT currentDatabase()", "TabSeparated");
    if (!current.ok()) return Exception(current.error(), query_id);
    previous_database = std::string(Trim(current->data));
    Status used = warehouse_.Execute("USE " + QuoteIdentifier(*database));
    if (!used.ok()) return Exception(used.error(), query_id);
  }
  // Query parameters are session state in the engine; they only fill {name:Type}
  // placeholders, which sluice's own statements do not use.
  Result<QueryResult> result = QueryResult{};
  for (const std::string& assignment : parameters) {
    Status set = warehouse_.Execute("SET " + assignment);
    if (!set.ok()) {
      result = set.error();
      break;
    }
  }
  if (result.ok()) result = warehouse_.Query(statement_sql, format);
  if (database != nullptr) {
    Status restored = warehouse_.Execute("USE " + QuoteIdentifier(previous_database));
    if (!restored.ok()) {
      spdlog::warn("ClickHouse endpoint: cannot switch back to database {}: {}", previous_database,
                   restored.error().ToString());
    }
  }
  if (!result.ok()) return Exception(result.error(), query_id);

  HttpResponse response;
  response.content_type = ContentTypeFor(output_format);
  response.body = std::move(result->data);
  response.headers.emplace_back("X-ClickHouse-Query-Id", query_id);
  response.headers.emplace_back("X-ClickHouse-Format", output_format);
  response.headers.emplace_back(
      "X-ClickHouse-Summary",
      fmt::format("{{\"read_rows\":\"{}\",\"read_bytes\":\"{}\",\"written_rows\":\"{}\","
                  "\"written_bytes\":\"{}\",\"total_rows_to_read\":\"{}\",\"elapsed_ns\":\"{}\"}}",
                  result->rows_read, result->bytes_read, result->rows_written,
                  result->bytes_written, result->rows_read,
                  static_cast<uint64_t>(result->elapsed_seconds * 1e9)));
  return response;
}

}  // namespace

void RegisterClickHouseHttp(HttpServer& server, Warehouse& warehouse,
                            ClickHouseHttpOptions options) {
  auto endpoint = std::make_shared<ClickHouseEndpoint>(warehouse, std::move(options));
  server.Route("GET", "/ping", PathMatch::kExact,
               [](const HttpRequest&) { return HttpResponse::Text(200, "Ok."); });
  for (const char* method : {"GET", "POST"}) {
    server.Route(method, "/", PathMatch::kExact,
                 [endpoint](const HttpRequest& request) { return endpoint->Handle(request); });
  }
}

}  // namespace sluice
