#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

/// What a statement returned and what it cost, as the engine reports it.
struct QueryResult {
  std::string data;  // the output in the requested format
  uint64_t rows_read = 0;
  uint64_t bytes_read = 0;
  uint64_t rows_written = 0;
  uint64_t bytes_written = 0;
  double elapsed_seconds = 0;
};

/// One batch going into one table.
struct InsertRequest {
  std::string database;
  std::string table;
  const Batch* batch = nullptr;
  /// Deterministic identity of the batch: an insert repeated with the same token inside the
  /// table's deduplication window is dropped by ClickHouse. Empty for none.
  std::string deduplication_token;
};

/// One statement the engine ran, as monitoring sees it: what it was, whether it failed, and
/// what it cost (the columns of ClickHouse's system.query_log that sluice exports).
struct QueryRecord {
  std::string_view sql;
  bool failed = false;
  uint64_t rows_read = 0;
  uint64_t bytes_read = 0;
  double elapsed_seconds = 0;
};

/// Called after every statement; must be cheap and thread-safe.
using QueryObserver = std::function<void(const QueryRecord&)>;

/// A ClickHouse the pipeline writes to and reads from: the embedded engine or a server.
///
/// Contract: every method may be called from several threads at once. Errors from ClickHouse
/// come back as kWarehouseQueryFailed with ClickHouse's own error code in `upstream_code` and
/// its message; an insert whose written-row count differs from the batch fails with
/// kWarehouseRowCountMismatch instead of passing silently.
class Warehouse {
 public:
  virtual ~Warehouse() = default;

  /// Runs one statement and returns its output in `format` (a ClickHouse output format).
  virtual Result<QueryResult> Query(std::string_view sql,
                                    std::string_view format = "TabSeparated") = 0;

  /// Inserts a batch through a binary-safe path and checks the rows written.
  virtual Result<QueryResult> Insert(const InsertRequest& request) = 0;

  /// The server version, e.g. "26.5.1.1".
  virtual std::string Version() = 0;

  /// For a warehouse that keeps no query log of its own (the embedded engine has no
  /// system.query_log): calls `observer` after every statement it runs from now on, and returns
  /// true. A server keeps system.query_log, which the probes read instead: returns false.
  /// An empty observer stops the calls.
  virtual bool ObserveQueries(QueryObserver) { return false; }

  /// Runs a statement whose output is not needed.
  Status Execute(std::string_view sql) {
    auto result = Query(sql);
    if (!result.ok()) return result.error();
    return {};
  }
};

/// Parses "Code: 60. DB::Exception: ... (UNKNOWN_TABLE)" into an Error with the code.
Error ClickHouseError(std::string_view message, std::string_view statement);

}  // namespace sluice
