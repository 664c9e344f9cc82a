#include "dataflow/key_groups.h"

#include <xxhash.h>

namespace sluice {

uint64_t KeyHash(std::string_view key_bytes) {
  return XXH3_64bits(key_bytes.data(), key_bytes.size());
}

}  // namespace sluice
