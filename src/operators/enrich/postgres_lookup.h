#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "operators/enrich/lookup_backend.h"

typedef struct pg_conn PGconn;

namespace sluice {

/// Dimension rows from a PostgreSQL table over libpq: one `SELECT keys, values FROM table WHERE
/// k = ANY($1)` per lookup, the keys sent as one array parameter (typed by the server from the
/// column, so its index is used). Connections are pooled: one per concurrent lookup, opened on
/// demand, dropped when broken. Each lookup runs with `statement_timeout` set to its timeout so
/// the server gives up too.
class PostgresLookup final : public LookupBackend {
 public:
  /// Checks the table and columns exist by preparing the statement once (kLookupFailed if not,
  /// with the server's message).
  static Result<std::unique_ptr<PostgresLookup>> Connect(std::string dsn, LookupTable table);
  ~PostgresLookup() override;

  Result<std::vector<LookupRow>> Lookup(const std::vector<std::vector<std::string>>& keys,
                                        int64_t timeout_ms) override;

 private:
  PostgresLookup(std::string dsn, LookupTable table, std::string sql);
  Result<PGconn*> Acquire();
  void Release(PGconn* connection);

  std::string dsn_;
  LookupTable table_;
  std::string sql_;
  std::mutex mutex_;
  std::vector<PGconn*> idle_;
};

}  // namespace sluice
