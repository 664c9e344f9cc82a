#include "server/http_server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "metrics/metric_registry.h"
#include "server/tests/http_test_client.h"

namespace sluice {
namespace {

using testing::ClientResponse;
using testing::HttpTestClient;

constexpr size_t kBodyLimit = 64 * 1024;

/// A started server with an echo route; each test adds what else it needs before Start().
class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerOptions Options() {
    HttpServerOptions options;
    options.threads = 4;
    options.body_limit = kBodyLimit;
    options.metrics = &metrics_;
    options.drain_timeout = std::chrono::seconds(10);
    return options;
  }

  void Start(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options));
    server_->Route("POST", "/echo", PathMatch::kExact, [](const HttpRequest& request) {
      HttpResponse response = HttpResponse::Text(200, request.body);
      response.body = request.body;
      return response;
    });
    for (auto& [method, path, match, handler] : extra_routes_) {
      server_->Route(method, path, match, handler);
    }
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void Start() { Start(Options()); }

  struct ExtraRoute {
    std::string method;
    std::string path;
    PathMatch match;
    HttpHandler handler;
  };

  MetricRegistry metrics_;
  std::vector<ExtraRoute> extra_routes_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, HealthzIsUpAndReadyzFollowsSetReady) {
  Start();
  HttpTestClient client(server_->port());
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
  EXPECT_EQ(client.Send("GET", "/readyz").status, 503);
  server_->SetReady(true);
  EXPECT_EQ(client.Send("GET", "/readyz").status, 200);
  server_->SetReady(false);
  EXPECT_EQ(client.Send("GET", "/readyz").status, 503);
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteAndStatus) {
  Start();
  HttpTestClient client(server_->port());
  client.Send("GET", "/healthz");
  client.Send("GET", "/healthz");
  client.Send("GET", "/nowhere");
  ClientResponse metrics = client.Send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find(
                "sluice_http_requests_total{listener=\"api\",route=\"/healthz\",status=\"200\"} 2"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("sluice_http_requests_total{listener=\"api\",route=\"unmatched\","
                              "status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("sluice_http_request_duration_seconds_count{listener=\"api\","
                              "route=\"/healthz\"} 2"),
            std::string::npos);
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Start();
  HttpTestClient client(server_->port());
  ClientResponse missing = client.Send("GET", "/no/such/path");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/no/such/path"), std::string::npos);
  ClientResponse wrong_method = client.Send("GET", "/echo");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.Header("allow"), "POST");
  // Both answers keep the connection usable.
  EXPECT_EQ(client.Send("POST", "/echo", "x").body, "x");
}

TEST_F(HttpServerTest, ExactRouteBeatsPrefixAndLongestPrefixWins) {
  auto answer = [](std::string name) {
    return [name](const HttpRequest& request) {
      return HttpResponse::Text(200, name + ":" + request.path_suffix);
    };
  };
  extra_routes_.push_back({"GET", "/a/", PathMatch::kPrefix, answer("short")});
  extra_routes_.push_back({"GET", "/a/b/", PathMatch::kPrefix, answer("long")});
  extra_routes_.push_back({"GET", "/a/b/exact", PathMatch::kExact, answer("exact")});
  Start();
  HttpTestClient client(server_->port());
  EXPECT_EQ(client.Send("GET", "/a/x").body, "short:x\n");
  EXPECT_EQ(client.Send("GET", "/a/b/y").body, "long:y\n");
  EXPECT_EQ(client.Send("GET", "/a/b/exact").body, "exact:\n");
  EXPECT_EQ(client.Send("GET", "/ab").status, 404);
}

TEST_F(HttpServerTest, HandlerSeesDecodedParametersAndLowerCasedHeaders) {
  HttpRequest seen;
  extra_routes_.push_back({"GET", "/inspect", PathMatch::kExact, [&seen](const HttpRequest& r) {
                             seen = r;
                             return HttpResponse::Text(200, "ok");
                           }});
  Start();
  HttpTestClient client(server_->port());
  ASSERT_EQ(client
                .Send("GET", "/inspect?query=SELECT+1%3B%20x&empty=&flag&a=1&a=2", "",
                      {{"X-Custom-Header", "Value"}})
                .status,
            200);
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/inspect");
  ASSERT_NE(seen.Parameter("query"), nullptr);
  EXPECT_EQ(*seen.Parameter("query"), "SELECT 1; x");
  EXPECT_EQ(*seen.Parameter("empty"), "");
  EXPECT_EQ(*seen.Parameter("flag"), "");
  EXPECT_EQ(*seen.Parameter("a"), "1");
  EXPECT_EQ(seen.parameters.size(), 5u);
  ASSERT_NE(seen.Header("x-custom-header"), nullptr);
  EXPECT_EQ(*seen.Header("x-custom-header"), "Value");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  Start();
  HttpTestClient client(server_->port());
  ClientResponse at_limit = client.Send("POST", "/echo", std::string(kBodyLimit, 'a'));
  EXPECT_EQ(at_limit.status, 200);
  EXPECT_EQ(at_limit.body.size(), kBodyLimit);
  ClientResponse over = client.Send("POST", "/echo", std::string(kBodyLimit + 1, 'a'));
  EXPECT_EQ(over.status, 413);
  EXPECT_NE(over.body.find("exceeds the limit of 65536 bytes"), std::string::npos) << over.body;
  EXPECT_EQ(over.Header("connection"), "close");
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  Start();
  HttpTestClient client(server_->port());
  std::string chunk(kBodyLimit / 2 + 1, 'b');
  std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) raw += fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
  raw += "0\r\n\r\n";
  EXPECT_EQ(client.SendRaw(raw).status, 413);
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimResponseThenTheAnswer) {
  Start();
  HttpTestClient client(server_->port());
  ClientResponse interim = client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(interim.status, 100);
  ClientResponse final_answer = client.SendRaw("hello");
  EXPECT_EQ(final_answer.status, 200);
  EXPECT_EQ(final_answer.body, "hello");
}

TEST_F(HttpServerTest, GzipAndZstdBodiesAreDecompressed) {
  Start();
  HttpTestClient client(server_->port());
  std::string text;
  for (int i = 0; i < 1000; ++i) text += fmt::format("{{\"n\":{}}}\n", i);
  ClientResponse gzip =
      client.Send("POST", "/echo", testing::Gzip(text), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzip.status, 200);
  EXPECT_EQ(gzip.body, text);
  ClientResponse zstd =
      client.Send("POST", "/echo", testing::Zstd(text), {{"Content-Encoding", "ZSTD"}});
  EXPECT_EQ(zstd.status, 200);
  EXPECT_EQ(zstd.body, text);
  // Concatenated gzip members, as `cat a.gz b.gz` makes them.
  ClientResponse members =
      client.Send("POST", "/echo", testing::Gzip("one\n") + testing::Gzip("two\n"),
                  {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(members.body, "one\ntwo\n");
}

TEST_F(HttpServerTest, DecompressedBodyOverTheLimitIs413) {
  Start();
  HttpTestClient client(server_->port());
  // A few hundred compressed bytes that inflate past the limit.
  std::string bomb(kBodyLimit * 4, '0');
  for (auto [encoding, body] : {std::pair<std::string, std::string>{"gzip", testing::Gzip(bomb)},
                                {"zstd", testing::Zstd(bomb)}}) {
    ASSERT_LT(body.size(), kBodyLimit);
    ClientResponse response = client.Send("POST", "/echo", body, {{"Content-Encoding", encoding}});
    EXPECT_EQ(response.status, 413) << encoding;
    EXPECT_NE(response.body.find(encoding + "-decompressed request body exceeds the limit"),
              std::string::npos)
        << response.body;
  }
  // Exactly at the limit once decompressed is fine.
  std::string exact(kBodyLimit, '1');
  EXPECT_EQ(client.Send("POST", "/echo", testing::Gzip(exact), {{"Content-Encoding", "gzip"}})
                .body.size(),
            kBodyLimit);
}

TEST_F(HttpServerTest, TruncatedOrCorruptCompressedBodyIs400) {
  Start();
  HttpTestClient client(server_->port());
  std::string text(5000, 'x');
  std::string gzip = testing::Gzip(text);
  ClientResponse truncated = client.Send("POST", "/echo", gzip.substr(0, gzip.size() - 10),
                                         {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(truncated.status, 400);
  EXPECT_NE(truncated.body.find("truncated"), std::string::npos) << truncated.body;
  ClientResponse garbage =
      client.Send("POST", "/echo", "definitely not gzip", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(garbage.status, 400);
  std::string zstd = testing::Zstd(text);
  EXPECT_EQ(
      client.Send("POST", "/echo", zstd.substr(0, zstd.size() - 3), {{"Content-Encoding", "zstd"}})
          .status,
      400);
  EXPECT_EQ(client.Send("POST", "/echo", "not zstd at all", {{"Content-Encoding", "zstd"}}).status,
            400);
}

TEST_F(HttpServerTest, UnknownContentEncodingIs415) {
  Start();
  HttpTestClient client(server_->port());
  ClientResponse response = client.Send("POST", "/echo", "abc", {{"Content-Encoding", "br"}});
  EXPECT_EQ(response.status, 415);
  EXPECT_NE(response.body.find("'br'"), std::string::npos);
  EXPECT_EQ(client.Send("POST", "/echo", "abc", {{"Content-Encoding", "identity"}}).body, "abc");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  HttpTestClient client(server_->port());
  for (int i = 0; i < 20; ++i) {
    ClientResponse response = client.Send("POST", "/echo", std::to_string(i));
    ASSERT_EQ(response.status, 200) << "request " << i;
    EXPECT_EQ(response.body, std::to_string(i));
    EXPECT_NE(response.Header("connection"), "close");
  }
}

TEST_F(HttpServerTest, ParallelConnectionsAreAllAnswered) {
  std::atomic<int> handled{0};
  extra_routes_.push_back({"POST", "/count", PathMatch::kExact, [&handled](const HttpRequest& r) {
                             ++handled;
                             return HttpResponse::Text(200, r.body);
                           }});
  Start();
  constexpr int kClients = 16;
  constexpr int kRequests = 50;
  std::vector<std::future<int>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(std::async(std::launch::async, [this, c] {
      HttpTestClient client(server_->port());
      int answered = 0;
      for (int i = 0; i < kRequests; ++i) {
        std::string body = fmt::format("{}-{}", c, i);
        ClientResponse response = client.Send("POST", "/count", body);
        if (response.status == 200 && response.body == body + "\n") ++answered;
      }
      return answered;
    }));
  }
  int answered = 0;
  for (auto& client : clients) answered += client.get();
  EXPECT_EQ(answered, kClients * kRequests);
  EXPECT_EQ(handled.load(), kClients * kRequests);
}

TEST_F(HttpServerTest, ThrowingHandlerIs500) {
  extra_routes_.push_back(
      {"GET", "/throw", PathMatch::kExact,
       [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); }});
  Start();
  HttpTestClient client(server_->port());
  EXPECT_EQ(client.Send("GET", "/throw").status, 500);
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
}

TEST_F(HttpServerTest, ShutdownAnswers503WhileInFlightRequestsFinish) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  extra_routes_.push_back({"GET", "/slow", PathMatch::kExact, [&](const HttpRequest&) {
                             entered.set_value();
                             released.wait();
                             return HttpResponse::Text(200, "finished");
                           }});
  Start();
  HttpTestClient idle(server_->port());
  ASSERT_EQ(idle.Send("GET", "/healthz").status, 200);

  auto slow = std::async(std::launch::async, [this] {
    HttpTestClient client(server_->port());
    return client.Send("GET", "/slow");
  });
  entered.get_future().wait();
  server_->BeginShutdown();

  // A new request on an open connection is refused, and that connection closed.
  ClientResponse refused = idle.Send("GET", "/healthz");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("connection"), "close");
  EXPECT_TRUE(idle.ServerClosed());
  // No new connections once shutdown began.
  for (int i = 0; i < 50 && testing::CanConnect(server_->port()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(testing::CanConnect(server_->port()));

  // Stop waits for the request in the handler, which still gets its answer.
  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  release.set_value();
  ClientResponse finished = slow.get();
  EXPECT_EQ(finished.status, 200);
  EXPECT_EQ(finished.body, "finished\n");
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerTest, StopClosesIdleConnections) {
  Start();
  HttpTestClient client(server_->port());
  ASSERT_EQ(client.Send("GET", "/healthz").status, 200);
  server_->Stop();
  EXPECT_TRUE(client.ServerClosed());
  server_->Stop();  // idempotent
}

TEST_F(HttpServerTest, ListeningOnABusyPortFails) {
  Start();
  HttpServerOptions options = Options();
  options.port = server_->port();
  HttpServer second(options);
  Status started = second.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kServerListenFailed);
  EXPECT_NE(started.error().message.find(std::to_string(server_->port())), std::string::npos);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  Start();
  HttpTestClient client(server_->port());
  EXPECT_EQ(client.SendRaw("NOT HTTP AT ALL\r\n\r\n").status, 400);
}

TEST(DecodeUrlComponentTest, DecodesPercentAndPlus) {
  EXPECT_EQ(DecodeUrlComponent("a%20b+c%2B%zz%4", true), "a b c+%zz%4");
  EXPECT_EQ(DecodeUrlComponent("a+b", false), "a+b");
}

}  // namespace
}  // namespace sluice
