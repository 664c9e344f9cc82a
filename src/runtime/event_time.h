#pragma once

#include <cstdint>

#include "core/column.h"
#include "metrics/metric_registry.h"

namespace sluice {

/// The event time of `row` in milliseconds since the epoch: Date and Date32 are their midnight,
/// DateTime its second, DateTime64 its ticks scaled, an integer column is taken as milliseconds.
/// The row must not be NULL.
int64_t EventTimeMillis(const Column& column, size_t row);

/// Whether a column of this type can carry event time.
bool IsEventTimeType(const DataType& type);

/// Observes, for each non-NULL row of `times` (event times, window ends), the seconds from that
/// time to `committed_ms`, when its row was committed in ClickHouse: gathered locally, then one
/// histogram update per bucket. A time after the commit (a producer's clock ahead of ours)
/// counts as 0.
void ObserveLatencySince(Histogram& histogram, const Column& times, int64_t committed_ms);

}  // namespace sluice
