#include "server/http_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <limits>

namespace sluice {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpReply> HttpCall(const std::string& host, uint16_t port, std::string_view method,
                           const std::string& target, std::string body) {
  boost::asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code error;
  tcp::resolver resolver(context);
  auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (!error) stream.connect(endpoints, error);
  if (error) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("nothing answers on {}:{}: {}", host, port, error.message()));
  }
  stream.expires_after(std::chrono::seconds(30));
  http::request<http::string_body> request{
      http::string_to_verb(beast::string_view(method.data(), method.size())), target, 11};
  request.set(http::field::host, host);
  request.body() = std::move(body);
  request.prepare_payload();
  http::write(stream, request, error);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!error) http::read(stream, buffer, parser, error);
  if (error) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("the request to {}:{} failed: {}", host, port, error.message()));
  }
  auto response = parser.release();
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.body = std::move(response.body());
  auto code = response.find("X-ClickHouse-Exception-Code");
  if (code != response.end()) reply.clickhouse_exception_code = std::string(code->value());
  return reply;
}

std::string EncodeUrlComponent(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace sluice
