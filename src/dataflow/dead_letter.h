#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace sluice {

/// A record that could not become a row, on its way to the stream's dead-letter table: what
/// arrived (raw), where it came from, and why it was refused.
struct DeadLetter {
  int64_t received_at_ms = 0;  // UTC epoch milliseconds
  std::string source;          // the source's name in the spec
  std::string location;        // file:line, or a queue offset
  std::string raw;             // the record as received
  Error error;                 // code, message, and the field path in `where`
};

}  // namespace sluice
