#include "state/wal_format.h"

#include <xxhash.h>

#include <charconv>
#include <cstdio>

namespace sluice::wal {
namespace {

constexpr std::string_view kSegmentPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSequenceDigits = 20;

void PutU32(uint32_t value, std::string& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

void PutU64(uint64_t value, std::string& out) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetLittleEndian(const char* bytes, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

// Seeding the payload hash with a hash of the header makes a damaged length or sequence fail
// the check as surely as a damaged payload, without copying the record into one buffer.
uint64_t RecordChecksum(const char* length_and_sequence, std::string_view payload) {
  uint64_t seed = XXH3_64bits(length_and_sequence, 12);
  return XXH3_64bits_withSeed(payload.data(), payload.size(), seed);
}

}  // namespace

void EncodeRecord(uint64_t sequence, std::string_view payload, std::string& out) {
  size_t start = out.size();
  PutU32(static_cast<uint32_t>(payload.size()), out);
  PutU64(sequence, out);
  uint64_t checksum = RecordChecksum(out.data() + start, payload);
  PutU64(checksum, out);
  out.append(payload);
}

size_t RecordSizeHint(std::string_view bytes) {
  if (bytes.size() < 4) return kRecordHeaderBytes;
  return kRecordHeaderBytes + GetLittleEndian(bytes.data(), 4);
}

DecodeStatus DecodeRecord(std::string_view bytes, DecodedRecord& record) {
  if (bytes.size() < kRecordHeaderBytes) return DecodeStatus::kIncomplete;
  uint64_t length = GetLittleEndian(bytes.data(), 4);
  if (length > kMaxPayloadBytes) return DecodeStatus::kCorrupt;
  if (bytes.size() < kRecordHeaderBytes + length) return DecodeStatus::kIncomplete;
  std::string_view payload = bytes.substr(kRecordHeaderBytes, length);
  if (GetLittleEndian(bytes.data() + 12, 8) != RecordChecksum(bytes.data(), payload)) {
    return DecodeStatus::kCorrupt;
  }
  record.sequence = GetLittleEndian(bytes.data() + 4, 8);
  record.payload = payload;
  record.size = kRecordHeaderBytes + length;
  return DecodeStatus::kRecord;
}

bool ValidRecordFollows(std::string_view bytes, uint64_t min_sequence) {
  for (size_t at = 1; at + kRecordHeaderBytes <= bytes.size(); ++at) {
    // Every record that could follow has a sequence below this bound, which rules out most
    // positions before the cost of a checksum.
    uint64_t sequence = GetLittleEndian(bytes.data() + at + 4, 8);
    if (sequence < min_sequence || sequence - min_sequence > bytes.size() / kRecordHeaderBytes) {
      continue;
    }
    DecodedRecord record;
    if (DecodeRecord(bytes.substr(at), record) == DecodeStatus::kRecord) return true;
  }
  return false;
}

std::string SegmentFileName(uint64_t first_sequence) {
  char digits[kSequenceDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(first_sequence));
  return std::string(kSegmentPrefix) + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSequenceDigits + kSegmentSuffix.size() ||
      !name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(kSegmentPrefix.size(), kSequenceDigits);
  uint64_t sequence = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), sequence);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return sequence;
}

std::string EncodeDelivered(uint64_t sequence) {
  std::string out;
  PutU64(sequence, out);
  PutU64(XXH3_64bits(out.data(), 8), out);
  return out;
}

Result<uint64_t> DecodeDelivered(std::string_view bytes, const std::string& path) {
  if (bytes.size() != 16 || GetLittleEndian(bytes.data() + 8, 8) != XXH3_64bits(bytes.data(), 8)) {
    return MakeError(ErrorCode::kWalCorrupt, "the delivered mark is damaged", path);
  }
  return GetLittleEndian(bytes.data(), 8);
}

}  // namespace sluice::wal
