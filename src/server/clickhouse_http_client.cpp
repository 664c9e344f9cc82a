#include "server/clickhouse_http_client.h"

#include <fmt/format.h>

#include "base/strings.h"
#include "server/http_client.h"

namespace sluice {

Result<std::string> QueryOverHttp(const std::string& host, uint16_t port, std::string_view sql,
                                  std::string_view format) {
  auto reply = HttpCall(host, port, "POST", "/?default_format=" + std::string(format),
                        std::string(sql));
  if (!reply.ok()) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("no query endpoint on {}:{}: {}", host, port, reply.error().message));
  }
  if (reply->status != 200) {
    Error failure;
    failure.code = ErrorCode::kWarehouseQueryFailed;
    failure.message = std::string(Trim(reply->body));
    if (!reply->clickhouse_exception_code.empty()) {
      failure.upstream_code = std::atoi(reply->clickhouse_exception_code.c_str());
    }
    return failure;
  }
  return std::move(reply->body);
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
