#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "server/clickhouse_http.h"
#include "server/tests/http_test_client.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

using testing::ClientResponse;
using testing::HttpTestClient;

std::string Encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

/// One engine per process: the suite shares it and one read-only endpoint; a second listener
/// with writes allowed and credentials is started by the tests that need it.
class ClickHouseHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = std::filesystem::temp_directory_path() /
              ("sluice-clickhouse-http-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder_);
    auto opened = EmbeddedWarehouse::Open(folder_.string());
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    warehouse_ = std::move(opened).value().release();
    ASSERT_TRUE(warehouse_->Execute("CREATE DATABASE analytics").ok());
    ASSERT_TRUE(warehouse_
                    ->Execute("CREATE TABLE analytics.visits (id UInt32, page String) "
                              "ENGINE = MergeTree ORDER BY id")
                    .ok());
    ASSERT_TRUE(warehouse_
                    ->Execute("INSERT INTO analytics.visits VALUES (1, '/home'), (2, '/cart'), "
                              "(3, '/home')")
                    .ok());
    HttpServerOptions options;
    options.name = "clickhouse";
    options.health_routes = false;
    server_ = new HttpServer(options);
    RegisterClickHouseHttp(*server_, *warehouse_, ClickHouseHttpOptions{});
    ASSERT_TRUE(server_->Start().ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete warehouse_;
    std::filesystem::remove_all(folder_);
  }

  static ClientResponse Get(const std::string& sql, const std::string& extra = {},
                            const testing::Headers& headers = {}) {
    HttpTestClient client(server_->port());
    return client.Send("GET", "/?query=" + Encode(sql) + extra, "", headers);
  }
  static ClientResponse Post(const std::string& body, const std::string& target = "/",
                             HttpServer* server = nullptr, const testing::Headers& headers = {}) {
    HttpTestClient client((server != nullptr ? server : server_)->port());
    return client.Send("POST", target, body, headers);
  }

  static inline std::filesystem::path folder_;
  static inline EmbeddedWarehouse* warehouse_ = nullptr;
  static inline HttpServer* server_ = nullptr;
};

TEST_F(ClickHouseHttpTest, PingAnswersOk) {
  HttpTestClient client(server_->port());
  ClientResponse response = client.Send("GET", "/ping");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "Ok.\n");
}

TEST_F(ClickHouseHttpTest, SelectDefaultsToTabSeparatedWithClickHouseHeaders) {
  ClientResponse response = Get("SELECT id, page FROM analytics.visits ORDER BY id");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, "1\t/home\n2\t/cart\n3\t/home\n");
  EXPECT_EQ(response.Header("x-clickhouse-format"), "TabSeparated");
  EXPECT_EQ(response.Header("content-type"), "text/tab-separated-values; charset=UTF-8");
  EXPECT_EQ(response.Header("x-clickhouse-query-id").size(), 36u);
  std::string summary = response.Header("x-clickhouse-summary");
  EXPECT_NE(summary.find("\"read_rows\":\"3\""), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"elapsed_ns\":\""), std::string::npos) << summary;
}

TEST_F(ClickHouseHttpTest, FormatFromParameterHeaderOrFormatClause) {
  std::string sql = "SELECT count() AS n FROM analytics.visits";
  ClientResponse parameter = Get(sql, "&default_format=JSONEachRow&query_id=my-query-1");
  EXPECT_EQ(parameter.body, "{\"n\":3}\n");
  EXPECT_EQ(parameter.Header("x-clickhouse-format"), "JSONEachRow");
  EXPECT_EQ(parameter.Header("x-clickhouse-query-id"), "my-query-1");
  EXPECT_EQ(parameter.Header("content-type"), "application/json; charset=UTF-8");

  ClientResponse header = Get(sql, "", {{"X-ClickHouse-Format", "CSVWithNames"}});
  EXPECT_EQ(header.body, "\"n\"\n3\n");
  EXPECT_EQ(header.Header("x-clickhouse-format"), "CSVWithNames");

  ClientResponse clause = Get(sql + " FORMAT JSONCompactEachRow;");
  ASSERT_EQ(clause.status, 200) << clause.body;
  EXPECT_EQ(clause.body, "[3]\n");
  EXPECT_EQ(clause.Header("x-clickhouse-format"), "JSONCompactEachRow");
}

TEST_F(ClickHouseHttpTest, QueryParameterAndBodyAreConcatenated) {
  ClientResponse body_only = Post("SELECT 40 + 2");
  EXPECT_EQ(body_only.body, "42\n");
  ClientResponse both =
      Post("FROM analytics.visits WHERE page = '/home'", "/?query=" + Encode("SELECT count()"));
  EXPECT_EQ(both.body, "2\n");
}

TEST_F(ClickHouseHttpTest, DatabaseFromParameterOrHeaderAppliesToThatQueryOnly) {
  ClientResponse parameter = Get("SELECT count() FROM visits", "&database=analytics");
  ASSERT_EQ(parameter.status, 200) << parameter.body;
  EXPECT_EQ(parameter.body, "3\n");
  ClientResponse header =
      Get("SELECT currentDatabase()", "", {{"X-ClickHouse-Database", "analytics"}});
  EXPECT_EQ(header.body, "analytics\n");
  // The shared session is back on its own database afterwards.
  EXPECT_EQ(Get("SELECT currentDatabase()").body, "default\n");
  ClientResponse unknown = Get("SELECT 1", "&database=nowhere");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Header("x-clickhouse-exception-code"), "81");
}

TEST_F(ClickHouseHttpTest, OtherParametersAreSettingsOfThatQuery) {
  std::string sql = "SELECT number FROM system.numbers LIMIT 10";
  ClientResponse limited =
      Get(sql, "&max_result_rows=3&result_overflow_mode=break&max_block_size=1");
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(limited.body, "0\n1\n2\n");
  ClientResponse thrown = Get(sql, "&max_result_rows=3&result_overflow_mode=throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.Header("x-clickhouse-exception-code"), "396");  // TOO_MANY_ROWS_OR_BYTES
  // Settings do not stay behind for the next query.
  EXPECT_EQ(Get("SELECT value FROM system.settings WHERE name = 'max_result_rows'").body, "0\n");
  ClientResponse unknown_setting = Get("SELECT 1", "&no_such_setting=1");
  EXPECT_EQ(unknown_setting.Header("x-clickhouse-exception-code"), "115");
  ClientResponse bad_name = Get("SELECT 1", "&" + Encode("x = 1, readonly") + "=0");
  EXPECT_EQ(bad_name.Header("x-clickhouse-exception-code"), "115");
}

TEST_F(ClickHouseHttpTest, QueryParametersFillPlaceholders) {
  ClientResponse response = Get("SELECT {page:String} AS p, {n:UInt8} + 1",
                                "&param_page=" + Encode("it's") + "&param_n=41");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, "it\\'s\t42\n");
}

TEST_F(ClickHouseHttpTest, ErrorsLookLikeClickHouses) {
  ClientResponse unknown_table = Get("SELECT * FROM no_such_table");
  EXPECT_EQ(unknown_table.status, 404);
  EXPECT_EQ(unknown_table.Header("x-clickhouse-exception-code"), "60");
  EXPECT_TRUE(unknown_table.body.starts_with("Code: 60. DB::Exception: ")) << unknown_table.body;
  EXPECT_NE(unknown_table.body.find("(UNKNOWN_TABLE)"), std::string::npos);
  EXPECT_EQ(unknown_table.body.back(), '\n');

  ClientResponse syntax = Get("SELEC 1");
  EXPECT_EQ(syntax.status, 400);
  EXPECT_EQ(syntax.Header("x-clickhouse-exception-code"), "62");
  EXPECT_TRUE(syntax.body.starts_with("Code: 62. DB::Exception: Syntax error")) << syntax.body;

  ClientResponse empty = Get("  -- nothing\n");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.Header("x-clickhouse-exception-code"), "62");

  ClientResponse format = Get("SELECT 1", "&default_format=" + Encode("TSV\r\nX: y"));
  EXPECT_EQ(format.Header("x-clickhouse-exception-code"), "73");
  EXPECT_EQ(format.Header("x"), "");
}

TEST_F(ClickHouseHttpTest, ReadOnlyByDefault) {
  for (const char* sql : {"INSERT INTO analytics.visits VALUES (9, '/x')",
                          "CREATE TABLE analytics.other (a UInt8) ENGINE = Memory",
                          "DROP TABLE analytics.visits", "SELECT 1; DROP TABLE analytics.visits",
                          "SELECT 1 INTO OUTFILE 'stolen.tsv'", "SET max_threads = 1"}) {
    ClientResponse response = Post(sql);
    EXPECT_EQ(response.status, 403) << sql;
    EXPECT_EQ(response.Header("x-clickhouse-exception-code"), "164") << sql;
    EXPECT_TRUE(response.body.starts_with("Code: 164. DB::Exception: ")) << response.body;
  }
  EXPECT_EQ(Get("SELECT count() FROM analytics.visits").body, "3\n");
  EXPECT_FALSE(std::filesystem::exists("stolen.tsv"));

  ClientResponse two_reads = Get("SELECT 1; SELECT 2");
  EXPECT_EQ(two_reads.status, 400);
  EXPECT_EQ(two_reads.Header("x-clickhouse-exception-code"), "62");
  ClientResponse semicolon_in_string = Get("SELECT 'a;b' AS s; -- trailing\n");
  ASSERT_EQ(semicolon_in_string.status, 200) << semicolon_in_string.body;
  EXPECT_EQ(semicolon_in_string.body, "a;b\n");
  for (const char* sql :
       {"SHOW TABLES FROM analytics", "DESCRIBE TABLE analytics.visits",
        "EXISTS TABLE analytics.visits", "EXPLAIN SELECT 1", "WITH 2 AS x SELECT x"}) {
    EXPECT_EQ(Get(sql).status, 200) << sql;
  }
}

TEST_F(ClickHouseHttpTest, WritesWhenAllowedOnPostOnlyAndWithCredentials) {
  HttpServerOptions options;
  options.name = "clickhouse";
  options.health_routes = false;
  HttpServer writable(options);
  RegisterClickHouseHttp(writable, *warehouse_, {false, "analyst", "pa55"});
  ASSERT_TRUE(writable.Start().ok());
  testing::Headers credentials = {{"X-ClickHouse-User", "analyst"}, {"X-ClickHouse-Key", "pa55"}};

  ClientResponse anonymous = Post("SELECT 1", "/", &writable);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.Header("x-clickhouse-exception-code"), "194");
  ClientResponse wrong = Post("SELECT 1", "/?user=analyst&password=nope", &writable);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.Header("x-clickhouse-exception-code"), "516");
  EXPECT_EQ(wrong.body.find("nope"), std::string::npos);
  EXPECT_EQ(Post("SELECT 7", "/?user=analyst&password=pa55", &writable).body, "7\n");
  EXPECT_EQ(Post("SELECT 8", "/", &writable, {{"Authorization", "Basic YW5hbHlzdDpwYTU1"}}).body,
            "8\n");

  ClientResponse created =
      Post("CREATE TABLE analytics.scratch (a UInt8) ENGINE = Memory", "/", &writable, credentials);
  ASSERT_EQ(created.status, 200) << created.body;
  // INSERT data after the query parameter, `;` included, as ClickHouse clients send it.
  ClientResponse inserted =
      Post("1\n2\n", "/?query=" + Encode("INSERT INTO analytics.scratch FORMAT TSV"), &writable,
           credentials);
  ASSERT_EQ(inserted.status, 200) << inserted.body;
  EXPECT_EQ(Get("SELECT sum(a) FROM analytics.scratch").body, "3\n");
  // GET stays read-only.
  HttpTestClient client(writable.port());
  ClientResponse get_drop =
      client.Send("GET", "/?query=" + Encode("DROP TABLE analytics.scratch"), "", credentials);
  EXPECT_EQ(get_drop.Header("x-clickhouse-exception-code"), "164");
  EXPECT_EQ(Post("DROP TABLE analytics.scratch", "/", &writable, credentials).status, 200);
}

}  // namespace
}  // namespace sluice
