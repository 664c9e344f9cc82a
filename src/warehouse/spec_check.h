#pragma once

#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// Asks the engine itself whether it accepts every table and view of the spec — types,
/// expressions, keys, TTL, projections, view queries — without touching the spec's database:
/// each object is created in a scratch database that is dropped afterwards. Returns one
/// kSpecInvalidExpression error per rejected object, located at its place in the spec; empty
/// when all are accepted. A failure of the warehouse itself comes back as its own error.
Result<std::vector<Error>> CheckSpecInEngine(Warehouse& warehouse, const PipelineSpec& spec);

/// ClickHouse's message without its "Code: N. DB::Exception: " head and "(version ...)" tail.
std::string ShortClickHouseMessage(const Error& error);

}  // namespace sluice
