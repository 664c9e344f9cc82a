#pragma once

#include <cstdint>

#include "core/column.h"

namespace sluice {

/// The event time of `row` in milliseconds since the epoch: Date and Date32 are their midnight,
/// DateTime its second, DateTime64 its ticks scaled, an integer column is taken as milliseconds.
/// The row must not be NULL.
int64_t EventTimeMillis(const Column& column, size_t row);

/// Whether a column of this type can carry event time.
bool IsEventTimeType(const DataType& type);

}  // namespace sluice
