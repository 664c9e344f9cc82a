#include "runtime/event_time.h"

#include <algorithm>

namespace sluice {

int64_t EventTimeMillis(const Column& column, size_t row) {
  const DataType& storage = column.storage();
  switch (storage.kind) {
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return static_cast<int64_t>(column.FixedAt<int32_t>(row)) * 86400000;
    case TypeKind::kDateTime:
      return column.FixedAt<int64_t>(row) * 1000;
    case TypeKind::kDateTime64: {
      int64_t ticks = column.FixedAt<int64_t>(row);
      int precision = storage.precision;
      if (precision == 3) return ticks;
      int64_t scale = 1;
      if (precision > 3) {
        for (int i = 3; i < precision; ++i) scale *= 10;
        // Floor division, so instants before the epoch round down like the later ones.
        return ticks >= 0 ? ticks / scale : -((-ticks + scale - 1) / scale);
      }
      for (int i = precision; i < 3; ++i) scale *= 10;
      return ticks * scale;
    }
    case TypeKind::kInt64:
      return column.FixedAt<int64_t>(row);
    case TypeKind::kUInt64:
      return static_cast<int64_t>(column.FixedAt<uint64_t>(row));
    case TypeKind::kInt32:
      return column.FixedAt<int32_t>(row);
    case TypeKind::kUInt32:
      return column.FixedAt<uint32_t>(row);
    default:
      return 0;
  }
}

void ObserveLatencySince(Histogram& histogram, const Column& times, int64_t committed_ms) {
  Histogram::Local local(histogram);
  for (size_t row = 0; row < times.size(); ++row) {
    if (times.IsNull(row)) continue;
    int64_t millis = std::max<int64_t>(0, committed_ms - EventTimeMillis(times, row));
    local.Observe(static_cast<double>(millis) / 1000.0);
  }
  histogram.Add(local);
}

bool IsEventTimeType(const DataType& type) {
  switch (type.Storage().kind) {
    case TypeKind::kDate:
    case TypeKind::kDate32:
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64:
    case TypeKind::kInt64:
    case TypeKind::kUInt64:
    case TypeKind::kInt32:
    case TypeKind::kUInt32:
      return true;
    default:
      return false;
  }
}

}  // namespace sluice
