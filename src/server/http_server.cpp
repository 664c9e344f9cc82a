#include "server/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "metrics/metric_registry.h"
#include "server/content_encoding.h"

namespace sluice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Long ClickHouse queries travel in the URL, so the header block may be large.
constexpr uint32_t kHeaderLimit = 1024 * 1024;
constexpr std::string_view kUnmatchedRoute = "unmatched";

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view part = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (part.empty()) continue;
    size_t equals = part.find('=');
    std::string_view name = part.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : part.substr(equals + 1);
    parameters.emplace_back(DecodeUrlComponent(name, true), DecodeUrlComponent(value, true));
  }
  return parameters;
}

}  // namespace

std::string DecodeUrlComponent(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      decoded += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded += ' ';
    } else {
      decoded += c;
    }
  }
  return decoded;
}

const std::string* HttpRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return &value;
  }
  return nullptr;
}

const std::string* HttpRequest::Parameter(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return &value;
  }
  return nullptr;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  if (body.empty() || body.back() != '\n') body += '\n';
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

/// The listener's state shared by its sessions; sessions hold a plain pointer because the
/// io_context (and with it every session) is destroyed in Stop(), before the Impl.
class HttpServer::Impl {
 public:
  struct RouteEntry {
    std::string method;
    std::string path;
    PathMatch match;
    HttpHandler handler;
  };

  /// A handled request: the response plus whether the connection must close after it.
  struct Outcome {
    HttpResponse response;
    bool close = false;
    std::string route = std::string(kUnmatchedRoute);
  };

  explicit Impl(HttpServerOptions options) : options_(std::move(options)) {}

  Status Start();
  void BeginShutdown();
  void Stop();
  Outcome Handle(HttpRequest& request);
  /// Records the finished request in the metrics.
  void Count(std::string_view route, int status, double seconds);

  void RequestStarted() {
    std::lock_guard lock(in_flight_mutex_);
    ++in_flight_;
  }
  void RequestFinished() {
    std::lock_guard lock(in_flight_mutex_);
    if (--in_flight_ == 0) in_flight_done_.notify_all();
  }

  HttpServerOptions options_;
  std::vector<RouteEntry> routes_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<uint16_t> port_{0};

 private:
  void Accept();
  const RouteEntry* FindRoute(const HttpRequest& request, std::string& allowed) const;

  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::mutex stop_mutex_;
  bool stopped_ = false;

  std::mutex in_flight_mutex_;
  std::condition_variable in_flight_done_;
  size_t in_flight_ = 0;
};

namespace {

/// One connection: reads a request, answers it, and repeats while the client keeps it alive.
/// Every step runs on the connection's strand, so one request is handled at a time.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    if (!ignored) remote_ = endpoint.address().to_string();
  }

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_->options_.body_limit);
    stream_.expires_after(server_->options_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnHeader(error); });
  }

  void OnHeader(beast::error_code error) {
    if (error) return OnReadError(error);
    started_ = std::chrono::steady_clock::now();
    const auto& request = parser_->get();
    auto length = parser_->content_length();
    if (length && *length > server_->options_.body_limit) {
      // Refuse before reading: the unread body makes the connection unusable, so close it.
      return RejectBody();
    }
    auto expect = request.find(http::field::expect);
    if (expect != request.end() && beast::iequals(expect->value(), "100-continue")) {
      continue_.emplace(http::status::continue_, request.version());
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code write_error, size_t) {
                          if (write_error) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(server_->options_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) {
                       if (error) return self->OnReadError(error);
                       self->OnRequest();
                     });
  }

  void OnReadError(beast::error_code error) {
    if (error == http::error::body_limit) return RejectBody();
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == asio::error::connection_reset || error == asio::error::operation_aborted ||
        error == asio::error::eof) {
      return Close();
    }
    if (error == http::error::header_limit) {
      return Respond(
          kUnmatchedRoute,
          HttpResponse::Text(431, fmt::format("the request header exceeds {} bytes", kHeaderLimit)),
          true, false);
    }
    // Anything else is a request Beast cannot parse.
    Respond(kUnmatchedRoute,
            HttpResponse::Text(400, fmt::format("malformed HTTP request: {}", error.message())),
            true, false);
  }

  void RejectBody() {
    lingering_ = true;
    Respond(kUnmatchedRoute,
            HttpResponse::Text(413, fmt::format("the request body exceeds the limit of {} bytes",
                                                server_->options_.body_limit)),
            true, false);
  }

  // After refusing a body the client may still be sending it; closing at once would reset the
  // connection and could destroy the 413 before the client reads it, so the rest is read and
  // dropped for a short while first.
  void Linger() {
    stream_.expires_after(std::chrono::seconds(2));
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code error, size_t) {
                              if (!error) self->Linger();
                            });
  }

  void OnRequest() {
    server_->RequestStarted();
    auto message = parser_->release();
    HttpRequest request;
    request.method = std::string(message.method_string());
    std::string_view target(message.target().data(), message.target().size());
    size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
      request.parameters = ParseQueryString(target.substr(question + 1));
    }
    for (const auto& field : message) {
      std::string name = Lower({field.name_string().data(), field.name_string().size()});
      if (request.Header(name) == nullptr) {
        request.headers.emplace_back(name, std::string(field.value()));
      }
    }
    request.body = std::move(message.body());
    request.remote_address = remote_;
    keep_alive_ = message.keep_alive();
    version_ = message.version();

    HttpServer::Impl::Outcome outcome = server_->Handle(request);
    Respond(outcome.route, std::move(outcome.response), outcome.close || !keep_alive_, true);
  }

  void Respond(std::string_view route, HttpResponse answer, bool close, bool counted_in_flight) {
    if (!counted_in_flight) {
      server_->RequestStarted();
      if (started_ == std::chrono::steady_clock::time_point{}) {
        started_ = std::chrono::steady_clock::now();
      }
    }
    route_ = std::string(route);
    status_ = answer.status;
    response_.emplace(static_cast<http::status>(answer.status), version_ ? version_ : 11);
    response_->set(http::field::server, "sluice");
    response_->set(http::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers) {
      // A line break in a value would split the header: handlers may echo client input.
      std::replace_if(
          value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
      response_->set(name, value);
    }
    response_->body() = std::move(answer.body);
    response_->keep_alive(!close);
    response_->prepare_payload();
    // The handler's own time must not eat into the time allowed for writing the answer.
    stream_.expires_after(server_->options_.idle_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), close](beast::error_code error, size_t) {
                        self->OnWritten(error, close);
                      });
  }

  void OnWritten(beast::error_code error, bool close) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    server_->Count(route_, status_, seconds);
    server_->RequestFinished();
    response_.reset();
    started_ = {};
    if (error || close) return Close();
    ReadHeader();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (lingering_) Linger();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  std::string remote_;
  std::string route_;
  std::chrono::steady_clock::time_point started_{};
  std::array<char, 16 * 1024> discard_;
  bool lingering_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  int status_ = 0;
};

}  // namespace

Status HttpServer::Impl::Start() {
  io_ = std::make_unique<asio::io_context>(static_cast<int>(options_.threads));
  work_.emplace(io_->get_executor());
  beast::error_code error;
  auto address = asio::ip::make_address(options_.address, error);
  if (error) {
    return MakeError(ErrorCode::kServerListenFailed,
                     fmt::format("'{}' is not an IP address", options_.address), options_.name);
  }
  tcp::endpoint endpoint(address, options_.port);
  acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(*io_));
  acceptor_->open(endpoint.protocol(), error);
  if (!error) acceptor_->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_->bind(endpoint, error);
  if (!error) acceptor_->listen(asio::socket_base::max_listen_connections, error);
  if (!error) port_ = acceptor_->local_endpoint().port();
  if (error) {
    return MakeError(
        ErrorCode::kServerListenFailed,
        fmt::format("cannot listen on {}:{}: {}", options_.address, options_.port, error.message()),
        options_.name);
  }
  Accept();
  for (size_t i = 0; i < std::max<size_t>(options_.threads, 1); ++i) {
    threads_.emplace_back([this] { io_->run(); });
  }
  spdlog::info("{} listener on {}:{}", options_.name, options_.address, port_.load());
  return {};
}

void HttpServer::Impl::Accept() {
  acceptor_->async_accept(asio::make_strand(*io_),
                          [this](beast::error_code error, tcp::socket socket) {
                            if (error == asio::error::operation_aborted || !acceptor_->is_open())
                              return;
                            if (!error) std::make_shared<Session>(std::move(socket), this)->Run();
                            Accept();
                          });
}

void HttpServer::Impl::BeginShutdown() {
  if (shutting_down_.exchange(true) || acceptor_ == nullptr) return;
  asio::post(acceptor_->get_executor(), [this] {
    beast::error_code ignored;
    acceptor_->close(ignored);
  });
}

void HttpServer::Impl::Stop() {
  std::lock_guard stop_lock(stop_mutex_);
  if (stopped_ || io_ == nullptr) return;
  stopped_ = true;
  BeginShutdown();
  {
    std::unique_lock lock(in_flight_mutex_);
    if (!in_flight_done_.wait_for(lock, options_.drain_timeout,
                                  [this] { return in_flight_ == 0; })) {
      spdlog::warn("{} listener: {} requests still in flight after {} ms; closing anyway",
                   options_.name, in_flight_, options_.drain_timeout.count());
    }
  }
  work_.reset();
  io_->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // Destroying the context destroys every pending operation and with it every session,
  // which closes their sockets.
  acceptor_.reset();
  io_.reset();
}

const HttpServer::Impl::RouteEntry* HttpServer::Impl::FindRoute(const HttpRequest& request,
                                                                std::string& allowed) const {
  const RouteEntry* best = nullptr;
  for (const RouteEntry& route : routes_) {
    bool exact = request.path == route.path;
    if (!exact && (route.match == PathMatch::kExact || !request.path.starts_with(route.path))) {
      continue;
    }
    if (route.method != request.method) {
      if (allowed.find(route.method) == std::string::npos) {
        allowed += allowed.empty() ? route.method : ", " + route.method;
      }
      continue;
    }
    // An exact route beats any prefix; among prefixes the longest (most specific) wins.
    bool best_exact = best != nullptr && best->match == PathMatch::kExact;
    if (best == nullptr || (!best_exact && (route.match == PathMatch::kExact ||
                                            route.path.size() > best->path.size()))) {
      best = &route;
    }
  }
  return best;
}

HttpServer::Impl::Outcome HttpServer::Impl::Handle(HttpRequest& request) {
  Outcome outcome;
  std::string allowed;
  const RouteEntry* route = FindRoute(request, allowed);
  if (route == nullptr) {
    if (allowed.empty()) {
      outcome.response = HttpResponse::Text(404, fmt::format("no route for {}", request.path));
    } else {
      outcome.response =
          HttpResponse::Text(405, fmt::format("{} is not allowed on {} (allowed: {})",
                                              request.method, request.path, allowed));
      outcome.response.headers.emplace_back("Allow", allowed);
    }
    return outcome;
  }
  outcome.route = route->path;
  if (shutting_down_) {
    // Closing the connection after the answer lets clients move to another instance.
    outcome.response = HttpResponse::Text(503, "the server is shutting down");
    outcome.close = true;
    return outcome;
  }
  if (const std::string* encoding = request.Header("content-encoding")) {
    if (auto error = DecodeContentEncoding(*encoding, request.body, options_.body_limit)) {
      outcome.response = HttpResponse::Text(error->status, error->message);
      return outcome;
    }
  }
  request.path_suffix = request.path.substr(std::min(route->path.size(), request.path.size()));
  try {
    outcome.response = route->handler(request);
  } catch (const std::exception& error) {
    spdlog::error("{} listener: handler for {} {} failed: {}", options_.name, request.method,
                  route->path, error.what());
    outcome.response = HttpResponse::Text(500, "internal error while handling the request");
  }
  return outcome;
}

void HttpServer::Impl::Count(std::string_view route, int status, double seconds) {
  if (options_.metrics == nullptr) return;
  options_.metrics
      ->GetCounter(Metric::kHttpRequests,
                   {options_.name, std::string(route), std::to_string(status)})
      .Increment();
  options_.metrics->GetHistogram(Metric::kHttpRequestDuration, {options_.name, std::string(route)})
      .Observe(seconds);
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
}

void HttpServer::Route(std::string method, std::string path, PathMatch match, HttpHandler handler) {
  impl_->routes_.push_back({std::move(method), std::move(path), match, std::move(handler)});
}

Status HttpServer::Start() {
  if (impl_->options_.health_routes) {
    Impl* impl = impl_.get();
    Route("GET", "/healthz", PathMatch::kExact,
          [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); });
    Route("GET", "/readyz", PathMatch::kExact, [impl](const HttpRequest&) {
      return impl->ready_ ? HttpResponse::Text(200, "ready") : HttpResponse::Text(503, "not ready");
    });
    if (MetricRegistry* metrics = impl_->options_.metrics) {
      Route("GET", "/metrics", PathMatch::kExact, [metrics](const HttpRequest&) {
        HttpResponse response;
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        response.body = metrics->RenderPrometheus();
        return response;
      });
    }
  }
  return impl_->Start();
}

uint16_t HttpServer::port() const {
  return impl_->port_;
}

const HttpServerOptions& HttpServer::options() const {
  return impl_->options_;
}

void HttpServer::SetReady(bool ready) {
  impl_->ready_ = ready;
}

void HttpServer::BeginShutdown() {
  impl_->BeginShutdown();
}

void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace sluice
