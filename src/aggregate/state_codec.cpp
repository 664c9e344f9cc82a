#include "aggregate/state_codec.h"

#include <fmt/format.h>

namespace sluice {

Error StateReader::Corrupt(std::string_view what) const {
  return MakeError(
      ErrorCode::kAggregateStateCorrupt,
      fmt::format("cannot restore a state of aggregate function {}: {}", function_, what));
}

}  // namespace sluice
