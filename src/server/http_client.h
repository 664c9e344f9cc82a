#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice {

/// An answer read by HttpCall.
struct HttpReply {
  int status = 0;
  std::string body;
  std::string clickhouse_exception_code;  // X-ClickHouse-Exception-Code, when sent
};

/// One blocking HTTP/1.1 request (Boost.Beast) to host:port. A connection that cannot be made
/// or breaks is kWarehouseUnavailable naming the address; any HTTP status is a reply.
Result<HttpReply> HttpCall(const std::string& host, uint16_t port, std::string_view method,
                           const std::string& target, std::string body = {});

/// Percent-encodes `text` for a query string (unreserved characters stay as they are).
std::string EncodeUrlComponent(std::string_view text);

}  // namespace sluice
