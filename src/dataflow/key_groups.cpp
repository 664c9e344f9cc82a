#include "dataflow/key_groups.h"

#include <xxhash.h>

namespace sluice {

uint64_t KeyHash(std::string_view key_bytes) {
  return XXH3_64bits(key_bytes.data(), key_bytes.size());
}

uint32_t KeyGrouping::OfPartitionKey(std::string_view key_bytes) const {
  // KeyEncoder's bytes: a null flag, then the value little-endian.
  if (key_bytes.size() < 1 + partition_width || key_bytes[0] == '\0') return 0;
  uint64_t partition = 0;
  for (size_t i = partition_width; i > 0; --i) {
    partition = (partition << 8) | static_cast<uint8_t>(key_bytes[i]);
  }
  return static_cast<uint32_t>(partition % kKeyGroupCount);
}

}  // namespace sluice
