#include "server/ingest_api.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>

#include "base/result.h"
#include "metrics/metric_registry.h"
#include "server/auth.h"
#include "server/tests/http_test_client.h"

namespace sluice {
namespace {

using testing::ClientResponse;
using testing::HttpTestClient;

/// The pipeline side of the interface: records every call and answers what the test scripted.
class FakeIngestService : public IngestService {
 public:
  struct Call {
    std::string stream;
    BodyKind kind;
    std::string body;
  };

  Answer Ingest(std::string_view stream, BodyKind kind, std::string_view body) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({std::string(stream), kind, std::string(body)});
    if (stream != "events") return {Outcome::kUnknownStream, 0, {}, "unknown stream 'x'"};
    return answer_;
  }

  void Answer(IngestService::Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  IngestService::Answer answer_{Outcome::kAccepted, 1, {}, "", 1};
  std::vector<Call> calls_;
};

class IngestApiTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> tokens = {}) {
    HttpServerOptions options;
    options.metrics = &metrics_;
    options.body_limit = 1024 * 1024;
    server_ = std::make_unique<HttpServer>(options);
    RegisterIngestApi(*server_, service_, IngestApiOptions{std::move(tokens)});
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    client_ = std::make_unique<HttpTestClient>(server_->port());
  }

  ClientResponse Post(const std::string& body, testing::Headers headers = {},
                      const std::string& stream = "events") {
    return client_->Send("POST", "/v1/ingest/" + stream, body, headers);
  }

  MetricRegistry metrics_;
  FakeIngestService service_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpTestClient> client_;
};

TEST_F(IngestApiTest, AcceptedAnswersCountsAndRejectedRecordsAsJson) {
  Start();
  service_.Answer({IngestService::Outcome::kAccepted,
                   2,
                   {{1, ErrorCode::kRecordOutOfRange, "user_id", "300 is above 255"},
                    {3, ErrorCode::kRecordMalformed, "", "bad"}},
                   "",
                   1});
  ClientResponse response =
      Post(R"([{"a":1},{"a":2},{"a":3},{"a":4}])", {{"Content-Type", "application/json"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"), "application/json");
  EXPECT_EQ(response.body,
            R"({"accepted":2,"rejected":[{"index":1,"code":203,"error":"RECORD_OUT_OF_RANGE",)"
            R"("field":"user_id","message":"300 is above 255"},{"index":3,"code":200,)"
            R"("error":"RECORD_MALFORMED","field":"","message":"bad"}]})"
            "\n");
}

TEST_F(IngestApiTest, RejectedMessagesAreJsonEscaped) {
  Start();
  service_.Answer({IngestService::Outcome::kAccepted,
                   0,
                   {{0, ErrorCode::kRecordTypeMismatch, "na\"me",
                     "quote \" backslash \\ newline \n tab \t bell \x07 bad \xff utf8 \xc3\xa9"}},
                   "",
                   1});
  ClientResponse response = Post("{}");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find(R"("field":"na\"me")"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find(R"("message":"quote \" backslash \\ newline \n tab \t bell )"
                               R"(\u0007 bad )"
                               "\xEF\xBF\xBD utf8 \xc3\xa9\""),
            std::string::npos)
      << response.body;
}

TEST_F(IngestApiTest, ContentTypeSelectsTheBodyKind) {
  Start();
  ASSERT_EQ(Post("{}", {{"Content-Type", "application/json; charset=utf-8"}}).status, 200);
  ASSERT_EQ(Post("{}\n{}", {{"Content-Type", "application/x-ndjson"}}).status, 200);
  ASSERT_EQ(Post("{}\n{}", {{"Content-Type", "Application/JSONL"}}).status, 200);
  ASSERT_EQ(Post("{}").status, 200);  // no Content-Type: JSON
  auto calls = service_.calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].kind, IngestService::BodyKind::kJson);
  EXPECT_EQ(calls[1].kind, IngestService::BodyKind::kNdjson);
  EXPECT_EQ(calls[2].kind, IngestService::BodyKind::kNdjson);
  EXPECT_EQ(calls[3].kind, IngestService::BodyKind::kJson);
  EXPECT_EQ(calls[1].stream, "events");
  EXPECT_EQ(calls[1].body, "{}\n{}");
}

TEST_F(IngestApiTest, OtherContentTypeIs415AndNeverReachesTheService) {
  Start();
  ClientResponse response = Post("a,b", {{"Content-Type", "text/csv"}});
  EXPECT_EQ(response.status, 415);
  EXPECT_NE(response.body.find("text/csv"), std::string::npos);
  EXPECT_TRUE(service_.calls().empty());
}

TEST_F(IngestApiTest, EmptyBodyIs400) {
  Start();
  ClientResponse response = Post("");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, "{\"error\":\"the request body is empty\"}\n");
  EXPECT_TRUE(service_.calls().empty());
}

TEST_F(IngestApiTest, OutcomesMapToStatuses) {
  Start();
  service_.Answer({IngestService::Outcome::kBadBody, 0, {}, "line 3: expected '}'", 1});
  ClientResponse bad = Post("{garbage");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "{\"error\":\"line 3: expected '}'\"}\n");

  EXPECT_EQ(Post("{}", {}, "other").status, 404);

  service_.Answer({IngestService::Outcome::kBusy, 0, {}, "", 7});
  ClientResponse busy = Post("{}");
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.Header("retry-after"), "7");

  service_.Answer({IngestService::Outcome::kShuttingDown, 0, {}, "", 1});
  EXPECT_EQ(Post("{}").status, 503);

  std::string metrics = metrics_.RenderPrometheus();
  EXPECT_NE(metrics.find("{listener=\"api\",route=\"/v1/ingest/\",status=\"429\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(IngestApiTest, PathWithoutOneStreamIs404) {
  Start();
  EXPECT_EQ(client_->Send("POST", "/v1/ingest/", "{}").status, 404);
  EXPECT_EQ(client_->Send("POST", "/v1/ingest/a/b", "{}").status, 404);
  EXPECT_EQ(client_->Send("GET", "/v1/ingest/events").status, 405);
  EXPECT_TRUE(service_.calls().empty());
}

TEST_F(IngestApiTest, CompressedBodyReachesTheServiceDecompressed) {
  Start();
  std::string body = "{\"a\":1}\n{\"a\":2}\n";
  ASSERT_EQ(Post(testing::Gzip(body),
                 {{"Content-Encoding", "gzip"}, {"Content-Type", "application/x-ndjson"}})
                .status,
            200);
  ASSERT_EQ(Post(testing::Zstd(body), {{"Content-Encoding", "zstd"}}).status, 200);
  auto calls = service_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].body, body);
  EXPECT_EQ(calls[1].body, body);
}

TEST_F(IngestApiTest, BearerTokensGuardTheRoute) {
  Start({"alpha-token-1234", "beta-token-5678"});
  ClientResponse missing = Post("{}");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("www-authenticate"), "Bearer realm=\"sluice\"");
  EXPECT_EQ(Post("{}", {{"Authorization", "Basic YWxwaGE6Yg=="}}).status, 401);
  EXPECT_EQ(Post("{}", {{"Authorization", "Bearer "}}).status, 401);

  ClientResponse wrong = Post("{}", {{"Authorization", "Bearer alpha-token-1235"}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.body.find("alpha"), std::string::npos) << "tokens are never echoed";
  EXPECT_EQ(Post("{}", {{"Authorization", "Bearer alpha-token-123"}}).status, 403);
  EXPECT_EQ(Post("{}", {{"Authorization", "Bearer alpha-token-12345"}}).status, 403);
  EXPECT_TRUE(service_.calls().empty());

  EXPECT_EQ(Post("{}", {{"Authorization", "Bearer alpha-token-1234"}}).status, 200);
  EXPECT_EQ(Post("{}", {{"Authorization", "bearer beta-token-5678"}}).status, 200);
  EXPECT_EQ(service_.calls().size(), 2u);
}

TEST(MatchesAnySecretTest, MatchesOnlyTheWholeSecret) {
  std::vector<std::string> secrets = {"s3cret", "other-secret"};
  EXPECT_TRUE(MatchesAnySecret("s3cret", secrets));
  EXPECT_TRUE(MatchesAnySecret("other-secret", secrets));
  EXPECT_FALSE(MatchesAnySecret("s3cre", secrets));
  EXPECT_FALSE(MatchesAnySecret("s3crets", secrets));
  EXPECT_FALSE(MatchesAnySecret("S3CRET", secrets));
  EXPECT_FALSE(MatchesAnySecret("", secrets));
  // Wrapping the presented text must not make a repeated prefix match.
  EXPECT_FALSE(MatchesAnySecret("s3", {"s3s3s3"}));
  EXPECT_FALSE(MatchesAnySecret("x", {}));
}

TEST(ParseBasicAuthorizationTest, DecodesUserAndPassword) {
  auto parsed = ParseBasicAuthorization("Basic dXNlcjpwYTpzcw==");  // user:pa:ss
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first, "user");
  EXPECT_EQ(parsed->second, "pa:ss");
  EXPECT_FALSE(ParseBasicAuthorization("Bearer abc").has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!").has_value());
}

TEST(TokensFromEnvironmentTest, ReadsTheNamedVariablesAndRefusesMissingOnes) {
  ::setenv("SLUICE_TEST_TOKEN_A", "token-a", 1);
  ::setenv("SLUICE_TEST_TOKEN_EMPTY", "", 1);
  ::unsetenv("SLUICE_TEST_TOKEN_UNSET");
  EXPECT_EQ(TokensFromEnvironment({"SLUICE_TEST_TOKEN_A"}), std::vector<std::string>{"token-a"});
  try {
    TokensFromEnvironment({"SLUICE_TEST_TOKEN_A", "SLUICE_TEST_TOKEN_UNSET"});
    FAIL() << "an unset variable must throw";
  } catch (const SetupError& error) {
    EXPECT_EQ(error.error().code, ErrorCode::kAuthTokenMissing);
    EXPECT_NE(error.error().message.find("SLUICE_TEST_TOKEN_UNSET"), std::string::npos);
  }
  EXPECT_THROW(TokensFromEnvironment({"SLUICE_TEST_TOKEN_EMPTY"}), SetupError);
}

}  // namespace
}  // namespace sluice
