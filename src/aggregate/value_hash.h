#pragma once

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdint>
#include <string_view>
#include <type_traits>

// Internal to the aggregate module: the 64-bit hash of one value that uniq, count_distinct and
// top_k are built on. XXH3 over the value's bytes, inlined so a fixed-width value costs a few
// instructions.

namespace sluice {

template <typename T>
inline uint64_t HashValue(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    // -0.0 == 0.0, so both must hash alike.
    if (value == 0) value = 0;
  }
  return XXH3_64bits(&value, sizeof(T));
}

inline uint64_t HashValue(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace sluice
