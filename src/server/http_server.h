#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice {

class MetricRegistry;

/// One request as a handler sees it: the body is already decompressed and within the limit.
struct HttpRequest {
  std::string method;  // upper case, e.g. "GET"
  std::string path;    // without the query string, as sent (not percent-decoded)
  /// The part of `path` after the route's prefix, e.g. the stream of "/v1/ingest/{stream}".
  std::string path_suffix;
  /// Query parameters in order, percent- and '+'-decoded.
  std::vector<std::pair<std::string, std::string>> parameters;
  /// Header names lower-cased; a repeated header keeps its first value.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;

  /// The first value of the header `lower_case_name`, or nullptr.
  const std::string* Header(std::string_view lower_case_name) const;
  /// The first value of the query parameter `name`, or nullptr.
  const std::string* Parameter(std::string_view name) const;
};

/// What a handler answers. Content-Length, Connection and Server are set by the server.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// A text response; a line feed is added when `body` has none at its end.
  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

/// Handlers run on server threads, several at once: they must be safe to call concurrently.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

/// How a route matches the request path.
enum class PathMatch { kExact, kPrefix };

/// Settings of one listener.
struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; HttpServer::port() reports it
  size_t threads = 2;
  /// Largest request body, before and after decompression; larger bodies get 413.
  size_t body_limit = 16 * 1024 * 1024;
  /// Time allowed for each step of a connection — reading a request's headers, its body,
  /// writing the answer — and for an idle keep-alive connection; past it the connection closes.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  /// How long Stop() waits for in-flight requests before closing connections anyway.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(30);
  /// Names the listener in metrics ("api", "clickhouse").
  std::string name = "api";
  /// Counts requests and serves GET /metrics when set; must outlive the server.
  MetricRegistry* metrics = nullptr;
  /// Serves /healthz, /readyz and (with `metrics`) /metrics.
  bool health_routes = true;
};

/// An HTTP/1.1 server (Boost.Beast) that routes requests by method and path to handlers.
///
/// Call order: Route() for every route, then Start(), then any of SetReady(), BeginShutdown(),
/// Stop() from any thread; Stop() (also run by the destructor) is the last call. Requests are
/// read on `threads` threads, keep-alive connections are served one request at a time each, and
/// handlers run on those threads. Bodies with `Content-Encoding: gzip` or `zstd` are
/// decompressed before the handler sees them. Every request is counted in
/// sluice_http_requests_total by listener, route and status when a registry is given.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Adds a route before Start(). Among routes matching a path, an exact one wins, then the
  /// longest prefix; a path that matches only with other methods gets 405.
  void Route(std::string method, std::string path, PathMatch match, HttpHandler handler);

  /// Binds, listens and starts the threads; fails with kServerListenFailed.
  Status Start();
  /// The bound port (the ephemeral one when options.port was 0); 0 before Start().
  uint16_t port() const;
  const HttpServerOptions& options() const;

  /// /readyz answers 200 once ready, 503 before (the default) and after SetReady(false).
  void SetReady(bool ready);
  /// Stops accepting connections; every request read from now on is answered 503 and its
  /// connection closed, while requests already in handlers finish normally.
  void BeginShutdown();
  /// BeginShutdown(), then waits (up to drain_timeout) for in-flight requests to be answered,
  /// closes every connection and joins the threads. Idempotent.
  void Stop();

  /// Defined in the .cpp only; public so its connection objects can name it.
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Percent-decodes a URL component; '+' becomes a space when `plus_is_space` (query strings).
std::string DecodeUrlComponent(std::string_view text, bool plus_is_space);

}  // namespace sluice
