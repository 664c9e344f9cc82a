#pragma once

#include <chrono>
#include <cstdint>

namespace sluice {

/// Milliseconds since the Unix epoch, UTC: the time stamps written to dead-letter tables.
inline int64_t WallClockMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
