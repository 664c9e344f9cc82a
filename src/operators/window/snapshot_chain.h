#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dataflow/key_groups.h"
#include "operators/window/window_store.h"

namespace sluice {

/// One file of a memory-store snapshot chain: its name in the snapshot folder, and its size and
/// XXH3 checksum, which a restore checks before reading a byte of it.
struct ChainPiece {
  std::string name;
  uint64_t size = 0;
  uint64_t checksum = 0;
};

/// The file names and formats of memory-store snapshots.
///
/// A piece is the magic, then one record per key: `[length u32][XXH3 of payload u64][key group
/// u32][key length u32][key][windows]`. A record without window bytes (the payload ends with the
/// key) is a tombstone: the key is gone since the previous piece. The first piece of a chain
/// (the base) holds every key; each later one (a delta) the keys changed since the piece before.
/// The manifest `window_chain` lists the pieces in order; it is written last and atomically, so
/// a snapshot is whatever its manifest names, never a partial chain.
namespace snapshot_chain {

inline constexpr std::string_view kManifestFile = "window_chain";
/// The single file of snapshots written before chains existed.
inline constexpr std::string_view kLegacyFile = "window_state.bin";
inline constexpr char kMagic[8] = {'S', 'L', 'W', 'I', 'N', 'M', 'E', '1'};

/// Appends a record header and the key; the caller appends the windows (none for a tombstone)
/// and then calls FinishRecord with the offset this returned.
size_t BeginRecord(std::string& out, uint32_t key_group, std::string_view key);
void FinishRecord(std::string& out, size_t record_offset);

/// The manifest listing `pieces`, base first.
std::string ManifestText(const std::vector<ChainPiece>& pieces);
/// Writes the manifest into `directory` atomically (synced).
Status WriteManifest(const std::string& directory, const std::vector<ChainPiece>& pieces);

/// Visits the keys of `key_groups` in the chain `pieces` of files in `directory`: every piece's
/// size and checksum are checked first (a missing or torn piece is WINDOW_SNAPSHOT_INCOMPLETE),
/// later pieces replace or remove the keys of earlier ones, each surviving key is visited once.
Status VisitChain(const std::string& directory, const std::vector<ChainPiece>& pieces,
                  KeyGroupRange key_groups, const SnapshotVisitor& visit);

/// Composes the chain `pieces` in `directory` into one base piece (every surviving key) in `out`.
Status ComposeChain(const std::string& directory, const std::vector<ChainPiece>& pieces,
                    std::string& out);

}  // namespace snapshot_chain
}  // namespace sluice
