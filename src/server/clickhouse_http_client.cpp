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
  auto reply = HttpCall(host, port, "GET", std::string(target));
  if (!reply.ok()) {
    return MakeError(ErrorCode::kMonitoringEndpointFailed,
                     fmt::format("GET {} on {}:{} failed: {}", target, host, port,
                                 reply.error().message));
  }
  if (reply->status != 200) {
    return MakeError(ErrorCode::kMonitoringEndpointFailed,
                     fmt::format("GET {} on {}:{} answered {}", target, host, port, reply->status));
  }
  return std::move(reply->body);
}

}  // namespace sluice
