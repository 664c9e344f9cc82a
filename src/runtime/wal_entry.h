#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

/// One accepted request as the write-ahead log holds it: which stream, when it arrived, the
/// rows that passed, and the records that go to the dead-letter table. Rows are stored
/// validated and decoded, so delivery after a crash needs no parsing and gives the same rows.
struct WalEntry {
  uint32_t stream_index = 0;
  int64_t received_at_ms = 0;
};

/// Appends the entry's header and both batches to `out`.
void EncodeWalEntry(const WalEntry& entry, const Batch& rows, const Batch& dead_letters,
                    std::string& out);

/// Reads the header from the front of `payload`, advancing it past the header.
Result<WalEntry> DecodeWalEntryHeader(std::string_view& payload);

}  // namespace sluice
