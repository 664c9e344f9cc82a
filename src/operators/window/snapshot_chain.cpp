#include "operators/window/snapshot_chain.h"

#include <fcntl.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "state/posix_file.h"

namespace sluice {
namespace snapshot_chain {
namespace {

constexpr std::string_view kManifestHeader = "sluice window snapshot chain 1";

/// A record's parts; `windows` is empty for a tombstone.
struct Record {
  uint32_t key_group = 0;
  std::string_view key;
  std::string_view windows;
};

/// Calls `each(record)` for every record of a piece's `contents`, checking the magic, the
/// framing and every record's checksum.
template <typename Each>
Status ForEachRecord(std::string_view in, const std::string& path, Each&& each) {
  auto corrupt = [&](const std::string& why) {
    return MakeError(ErrorCode::kWindowStateCorrupt, why, path);
  };
  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt("not a window state snapshot (bad magic)");
  }
  in.remove_prefix(sizeof(kMagic));
  while (!in.empty()) {
    uint32_t length = 0;
    uint64_t checksum = 0;
    if (in.size() < 12) return corrupt("truncated record header");
    std::memcpy(&length, in.data(), 4);
    std::memcpy(&checksum, in.data() + 4, 8);
    in.remove_prefix(12);
    if (in.size() < length) return corrupt("truncated record");
    std::string_view payload = in.substr(0, length);
    in.remove_prefix(length);
    if (XXH3_64bits(payload.data(), payload.size()) != checksum) {
      return corrupt("a record fails its checksum");
    }
    Record record;
    uint32_t key_length = 0;
    if (payload.size() < 8) return corrupt("truncated key");
    std::memcpy(&record.key_group, payload.data(), 4);
    std::memcpy(&key_length, payload.data() + 4, 4);
    payload.remove_prefix(8);
    if (payload.size() < key_length) return corrupt("truncated key");
    record.key = payload.substr(0, key_length);
    record.windows = payload.substr(key_length);
    if (Status done = each(record); !done.ok()) return done;
  }
  return {};
}

/// Reads every piece, refusing one that is missing or differs from the manifest in size or
/// checksum: a chain is restored whole or not at all.
Result<std::vector<std::string>> ReadPieces(const std::string& directory,
                                            const std::vector<ChainPiece>& pieces) {
  std::vector<std::string> contents;
  for (const ChainPiece& piece : pieces) {
    std::string path = directory + "/" + piece.name;
    auto incomplete = [&](const std::string& why) {
      return MakeError(ErrorCode::kWindowSnapshotIncomplete,
                       "piece " + piece.name + " of the snapshot chain " + why +
                           "; the snapshot is refused rather than restored in part",
                       path);
    };
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return incomplete("is missing");
    Result<std::string> read = ReadWholeFile(path);
    if (!read.ok()) return read.error();
    if (read->size() != piece.size) {
      return incomplete("is torn: " + std::to_string(read->size()) + " bytes, the manifest says " +
                        std::to_string(piece.size));
    }
    if (XXH3_64bits(read->data(), read->size()) != piece.checksum) {
      return incomplete("fails its checksum");
    }
    contents.push_back(std::move(*read));
  }
  return contents;
}

/// The keys the deltas of a chain (every piece after the base) leave, each with the last
/// record of it: a tombstone (no windows) when the key is gone.
using Changes = std::unordered_map<std::string_view, Record>;

Status CollectChanges(const std::vector<std::string>& contents,
                      const std::vector<ChainPiece>& pieces, const std::string& directory,
                      KeyGroupRange key_groups, Changes& changes) {
  for (size_t i = 1; i < contents.size(); ++i) {
    Status status = ForEachRecord(contents[i], directory + "/" + pieces[i].name,
                                  [&](const Record& record) -> Status {
                                    if (key_groups.Contains(record.key_group)) {
                                      changes[record.key] = record;
                                    }
                                    return {};
                                  });
    if (!status.ok()) return status;
  }
  return {};
}

/// Calls `each` with every key the chain holds: the base's keys the deltas did not touch, as
/// they are read, then the deltas' last records of the keys still there. Only the deltas are
/// held in a map (the base is the bulk of a chain and is streamed).
template <typename Each>
Status ComposeInto(const std::vector<std::string>& contents, const std::vector<ChainPiece>& pieces,
                   const std::string& directory, KeyGroupRange key_groups, Each&& each) {
  Changes changes;
  if (Status collected = CollectChanges(contents, pieces, directory, key_groups, changes);
      !collected.ok()) {
    return collected;
  }
  Status status = ForEachRecord(contents[0], directory + "/" + pieces[0].name,
                                [&](const Record& record) -> Status {
                                  if (!key_groups.Contains(record.key_group) ||
                                      record.windows.empty() || changes.count(record.key) != 0) {
                                    return {};
                                  }
                                  return each(record);
                                });
  if (!status.ok()) return status;
  for (const auto& [key, record] : changes) {
    if (record.windows.empty()) continue;
    if (Status done = each(record); !done.ok()) return done;
  }
  return {};
}

Result<std::vector<ChainPiece>> ReadManifest(const std::string& directory) {
  std::string path = directory + "/" + std::string(kManifestFile);
  Result<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.error();
  auto incomplete = [&](const std::string& why) {
    return MakeError(ErrorCode::kWindowSnapshotIncomplete, "the snapshot chain's manifest " + why,
                     path);
  };
  std::istringstream lines(*text);
  std::string line;
  if (!std::getline(lines, line) || line != kManifestHeader) {
    return incomplete("does not start with '" + std::string(kManifestHeader) + "'");
  }
  std::vector<ChainPiece> pieces;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    if (word == "end") {
      size_t count = 0;
      if (!(fields >> count) || count != pieces.size() || pieces.empty()) {
        return incomplete("ends with '" + line + "' after " + std::to_string(pieces.size()) +
                          " pieces");
      }
      return pieces;
    }
    ChainPiece piece;
    if (word != "piece" || !(fields >> piece.name >> piece.size >> std::hex >> piece.checksum) ||
        piece.name.find('/') != std::string::npos) {
      return incomplete("has an unreadable line: " + line);
    }
    pieces.push_back(std::move(piece));
  }
  return incomplete("is truncated (no end line)");
}

}  // namespace

size_t BeginRecord(std::string& out, uint32_t key_group, std::string_view key) {
  size_t offset = out.size();
  uint32_t key_length = static_cast<uint32_t>(key.size());
  out.append(12, '\0');  // length and checksum, filled in by FinishRecord
  out.append(reinterpret_cast<const char*>(&key_group), 4);
  out.append(reinterpret_cast<const char*>(&key_length), 4);
  out.append(key);
  return offset;
}

void FinishRecord(std::string& out, size_t record_offset) {
  const char* payload = out.data() + record_offset + 12;
  size_t length = out.size() - record_offset - 12;
  uint32_t length32 = static_cast<uint32_t>(length);
  uint64_t checksum = XXH3_64bits(payload, length);
  std::memcpy(out.data() + record_offset, &length32, 4);
  std::memcpy(out.data() + record_offset + 4, &checksum, 8);
}

std::string ManifestText(const std::vector<ChainPiece>& pieces) {
  std::ostringstream text;
  text << kManifestHeader << "\n";
  for (const ChainPiece& piece : pieces) {
    text << "piece " << piece.name << " " << piece.size << " " << std::hex << piece.checksum
         << std::dec << "\n";
  }
  text << "end " << pieces.size() << "\n";
  return text.str();
}

Status WriteManifest(const std::string& directory, const std::vector<ChainPiece>& pieces) {
  return WriteFileAtomically(directory, std::string(kManifestFile), ManifestText(pieces));
}

Status VisitChain(const std::string& directory, const std::vector<ChainPiece>& pieces,
                  KeyGroupRange key_groups, const SnapshotVisitor& visit) {
  Result<std::vector<std::string>> contents = ReadPieces(directory, pieces);
  if (!contents.ok()) return contents.error();
  return ComposeInto(*contents, pieces, directory, key_groups, [&](const Record& record) {
    return visit(record.key_group, record.key, record.windows);
  });
}

Status ComposeChain(const std::string& directory, const std::vector<ChainPiece>& pieces,
                    std::string& out) {
  Result<std::vector<std::string>> contents = ReadPieces(directory, pieces);
  if (!contents.ok()) return contents.error();
  out.assign(kMagic, sizeof(kMagic));
  return ComposeInto(*contents, pieces, directory, KeyGroupRange{},
                     [&](const Record& record) -> Status {
                       size_t offset = BeginRecord(out, record.key_group, record.key);
                       out.append(record.windows);
                       FinishRecord(out, offset);
                       return {};
                     });
}

}  // namespace snapshot_chain

Status ReadMemorySnapshot(const std::string& directory, KeyGroupRange key_groups,
                          const SnapshotVisitor& visit) {
  std::error_code error;
  if (std::filesystem::exists(directory + "/" + std::string(snapshot_chain::kManifestFile),
                              error)) {
    Result<std::vector<ChainPiece>> pieces = snapshot_chain::ReadManifest(directory);
    if (!pieces.ok()) return pieces.error();
    return snapshot_chain::VisitChain(directory, *pieces, key_groups, visit);
  }
  // A snapshot from before chains: one file of records, no manifest.
  std::string path = directory + "/" + std::string(snapshot_chain::kLegacyFile);
  if (!std::filesystem::exists(path, error)) {
    return MakeError(ErrorCode::kWindowSnapshotIncomplete,
                     "the window snapshot has no manifest (" +
                         std::string(snapshot_chain::kManifestFile) +
                         ") and no single state file: it is incomplete and is refused",
                     directory);
  }
  Result<std::string> contents = ReadWholeFile(path);
  if (!contents.ok()) return contents.error();
  return snapshot_chain::ForEachRecord(*contents, path, [&](const auto& record) -> Status {
    if (!key_groups.Contains(record.key_group)) return {};
    return visit(record.key_group, record.key, record.windows);
  });
}

}  // namespace sluice
