#include "server/clickhouse_http_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/strings.h"

namespace sluice {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<std::string> QueryOverHttp(const std::string& host, uint16_t port, std::string_view sql,
                                  std::string_view format) {
  boost::asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code error;
  tcp::resolver resolver(context);
  auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (!error) stream.connect(endpoints, error);
  if (error) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("no query endpoint on {}:{}: {}", host, port, error.message()));
  }
  http::request<http::string_body> request{http::verb::post,
                                           "/?default_format=" + std::string(format), 11};
  request.set(http::field::host, host);
  request.body() = std::string(sql);
  request.prepare_payload();
  http::write(stream, request, error);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!error) http::read(stream, buffer, response, error);
  if (error) {
    return MakeError(
        ErrorCode::kWarehouseUnavailable,
        fmt::format("the query endpoint on {}:{} failed: {}", host, port, error.message()));
  }
  if (response.result_int() != 200) {
    Error failure;
    failure.code = ErrorCode::kWarehouseQueryFailed;
    failure.message = std::string(Trim(response.body()));
    auto code = response.find("X-ClickHouse-Exception-Code");
    if (code != response.end())
      failure.upstream_code = std::atoi(std::string(code->value()).c_str());
    return failure;
  }
  return std::move(response.body());
}

Result<std::string> HttpGet(const std::string& host, uint16_t port, std::string_view target) {
  boost::asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code error;
  tcp::resolver resolver(context);
  auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (!error) stream.connect(endpoints, error);
  if (error) {
    return MakeError(ErrorCode::kMonitoringEndpointFailed,
                     fmt::format("nothing answers on {}:{}: {}", host, port, error.message()));
  }
  stream.expires_after(std::chrono::seconds(30));
  http::request<http::empty_body> request{http::verb::get, std::string(target), 11};
  request.set(http::field::host, host);
  http::write(stream, request, error);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!error) http::read(stream, buffer, response, error);
  if (error) {
    return MakeError(
        ErrorCode::kMonitoringEndpointFailed,
        fmt::format("GET {} on {}:{} failed: {}", target, host, port, error.message()));
  }
  if (response.result_int() != 200) {
    return MakeError(
        ErrorCode::kMonitoringEndpointFailed,
        fmt::format("GET {} on {}:{} answered {}", target, host, port, response.result_int()));
  }
  return std::move(response.body());
}

}  // namespace sluice
