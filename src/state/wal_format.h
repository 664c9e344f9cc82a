#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

// The on-disk format of the write-ahead log (README.md in this folder draws it). All integers
// are little-endian.
//
//   segment file  wal-<first sequence, 20 digits>.log
//                 = magic "SLUICEW1" (8 bytes), then records back to back
//   record        = length u32 | sequence u64 | checksum u64 | payload (length bytes)
//   checksum      = XXH3_64bits_withSeed(payload, XXH3_64bits(length | sequence))
//   delivered     = sequence u64 | XXH3_64bits(sequence) (16 bytes, replaced atomically)
namespace sluice::wal {

inline constexpr std::string_view kSegmentMagic = "SLUICEW1";
inline constexpr size_t kSegmentHeaderBytes = kSegmentMagic.size();
inline constexpr size_t kRecordHeaderBytes = 4 + 8 + 8;
/// Larger records are refused on append; a larger length on disk marks a corrupt header.
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;
inline constexpr std::string_view kDeliveredFileName = "delivered";
inline constexpr std::string_view kLockFileName = "LOCK";

/// Appends the encoded record to `out`.
void EncodeRecord(uint64_t sequence, std::string_view payload, std::string& out);

struct DecodedRecord {
  uint64_t sequence = 0;
  std::string_view payload;  // points into the decoded bytes
  size_t size = 0;           // header + payload
};

enum class DecodeStatus {
  kRecord,      // a whole record with a matching checksum
  kIncomplete,  // the bytes end inside the record: more are needed
  kCorrupt,     // impossible length or checksum mismatch
};

/// Decodes the record at the front of `bytes`.
DecodeStatus DecodeRecord(std::string_view bytes, DecodedRecord& record);

/// The size a record of `bytes` needs in full, known once its length field is readable;
/// kRecordHeaderBytes before that.
size_t RecordSizeHint(std::string_view bytes);

/// Whether a valid record with a sequence of at least `min_sequence` starts anywhere in
/// `bytes` after position 0. Tells a torn tail (nothing valid after the damage) from damage in
/// the middle of a segment (acknowledged records follow it).
bool ValidRecordFollows(std::string_view bytes, uint64_t min_sequence);

std::string SegmentFileName(uint64_t first_sequence);
/// The first sequence of a segment file name, or nothing for other files.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

std::string EncodeDelivered(uint64_t sequence);
Result<uint64_t> DecodeDelivered(std::string_view bytes, const std::string& path);

}  // namespace sluice::wal
