#pragma once

#include <memory>
#include <string>

#include "operators/enrich/lookup_backend.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// Dimension rows from a ClickHouse table through the Warehouse interface (the embedded engine
/// or a server): `SELECT keys, values FROM table WHERE k IN ('a', 'b', ...)` in TabSeparated,
/// with max_execution_time set from the timeout. ClickHouse converts the quoted keys to the
/// column's type, so any key type works.
class WarehouseLookup final : public LookupBackend {
 public:
  /// `warehouse` must outlive the lookup. Checks the table and columns with one empty query
  /// (kLookupFailed with ClickHouse's message if they do not exist).
  static Result<std::unique_ptr<WarehouseLookup>> Create(Warehouse& warehouse, LookupTable table);

  Result<std::vector<LookupRow>> Lookup(const std::vector<std::vector<std::string>>& keys,
                                        int64_t timeout_ms) override;

 private:
  WarehouseLookup(Warehouse& warehouse, LookupTable table);
  std::string Select(const std::vector<std::vector<std::string>>& keys, int64_t timeout_ms) const;

  Warehouse& warehouse_;
  LookupTable table_;
};

}  // namespace sluice
