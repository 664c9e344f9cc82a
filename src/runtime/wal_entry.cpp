#include "runtime/wal_entry.h"

#include <cstring>

#include "core/batch_codec.h"

namespace sluice {

void EncodeWalEntry(const WalEntry& entry, const Batch& rows, const Batch& dead_letters,
                    std::string& out) {
  out.append(reinterpret_cast<const char*>(&entry.stream_index), sizeof(entry.stream_index));
  out.append(reinterpret_cast<const char*>(&entry.received_at_ms), sizeof(entry.received_at_ms));
  EncodeBatch(rows, out);
  EncodeBatch(dead_letters, out);
}

Result<WalEntry> DecodeWalEntryHeader(std::string_view& payload) {
  WalEntry entry;
  if (payload.size() < sizeof(entry.stream_index) + sizeof(entry.received_at_ms)) {
    return MakeError(ErrorCode::kIoError, "write-ahead log entry too short");
  }
  std::memcpy(&entry.stream_index, payload.data(), sizeof(entry.stream_index));
  payload.remove_prefix(sizeof(entry.stream_index));
  std::memcpy(&entry.received_at_ms, payload.data(), sizeof(entry.received_at_ms));
  payload.remove_prefix(sizeof(entry.received_at_ms));
  return entry;
}

}  // namespace sluice
