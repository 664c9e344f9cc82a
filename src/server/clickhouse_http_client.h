#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice {

/// Runs one query against a ClickHouse HTTP endpoint (a running sluice's query listener or a
/// ClickHouse server) and returns the body. A refused connection is kWarehouseUnavailable (no
/// one listens); an error answer is kWarehouseQueryFailed with ClickHouse's code and message.
Result<std::string> QueryOverHttp(const std::string& host, uint16_t port, std::string_view sql,
                                  std::string_view format);

/// GET `target` (e.g. "/metrics") from an HTTP server and return the body of a 200 answer; any
/// other status, and a refused or broken connection, is kMonitoringEndpointFailed naming it.
Result<std::string> HttpGet(const std::string& host, uint16_t port, std::string_view target);

}  // namespace sluice
