#pragma once

#include <string>

#include "server/http_server.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// Settings of the ClickHouse-compatible query endpoint.
struct ClickHouseHttpOptions {
  /// Only SELECT, WITH, SHOW, DESCRIBE, DESC, EXPLAIN and EXISTS; others get code 164
  /// READONLY. With false, POST may run any statement (GET stays read-only, as in ClickHouse).
  bool read_only = true;
  /// When either is set, every query must carry these credentials (ClickHouse's `user` and
  /// `password` parameters, X-ClickHouse-User / X-ClickHouse-Key, or HTTP basic auth); a
  /// missing user means "default".
  std::string user;
  std::string password;
};

/// Serves ClickHouse's HTTP interface over `warehouse` on `server` (its own listener, created
/// with health_routes = false): `GET /ping`, and `GET|POST /` with the query in the `query`
/// parameter and/or the body, output format from `default_format` / X-ClickHouse-Format or a
/// FORMAT clause, `database` / X-ClickHouse-Database, and any other parameter applied as a
/// setting of that one query. Errors come back as ClickHouse writes them (`Code: N.
/// DB::Exception: ...`, X-ClickHouse-Exception-Code), so ClickHouse clients and BI tools
/// work unchanged. The endpoint runs its queries one at a time; `warehouse` must outlive the
/// server.
void RegisterClickHouseHttp(HttpServer& server, Warehouse& warehouse,
                            ClickHouseHttpOptions options);

}  // namespace sluice
