#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice {

/// The highest block number among the parts of each MergeTree table, keyed
/// "database.table" (tables without parts are absent).
using BlockMarks = std::map<std::string, uint64_t>;

/// An insert that a crash interrupted, as found on the next start.
struct SuspectInsert {
  std::string token;              // the caller's deduplication token
  std::string attempt_token;      // the token the interrupted attempt carried
  uint64_t committed_blocks = 0;  // blocks of it that the engine had committed
};

/// The embedded engine's note of the insert in flight, kept beside its data folder, so that an
/// insert interrupted by a crash is neither lost nor doubled when it is retried.
///
/// Why it exists: a non-replicated MergeTree table writes an insert's deduplication token into
/// its deduplication log before it commits the part. A SIGKILL between the two leaves the token
/// without the rows, and the retry under the same token is then dropped as a repeat. The engine
/// cannot be asked whether a token's part exists, so before each insert the journal notes the
/// block marks of every table. Block numbers only grow and the embedded engine runs one
/// statement at a time, so after a crash the blocks above the marks are exactly those the
/// interrupted insert committed: none means its retry needs a new token; some means the retry
/// keeps the token and must see no more blocks dropped as repeats than were committed.
///
/// The file is rewritten in place, without fsync: it has to survive the death of the process,
/// which leaves the page cache intact (the engine does not sync its deduplication log either).
class InsertJournal {
 public:
  /// Reads the journal at `path`; a missing file is an empty journal.
  static Result<InsertJournal> Load(std::string path);

  /// The insert in flight when the process died, with the marks taken before it.
  struct InFlight {
    std::string token;
    std::string attempt_token;
    BlockMarks marks;
  };
  const std::optional<InFlight>& in_flight() const { return in_flight_; }

  /// Turns the interrupted insert into a suspect, given how many of its blocks were committed.
  Status Resolve(uint64_t committed_blocks);

  /// The suspect for `token`, or null when an insert under it was never interrupted.
  const SuspectInsert* FindSuspect(const std::string& token) const;

  /// A token for retrying a suspect none of whose blocks were committed: new for every retry,
  /// so no token an earlier attempt left in a deduplication log can drop it.
  std::string FreshToken(const std::string& token);

  /// Notes an insert about to run; `attempt_token` is what it carries to the engine.
  Status Begin(const std::string& token, const std::string& attempt_token, BlockMarks marks);
  /// The insert under `token` ended (committed, or failed with an error the caller sees): it is
  /// neither in flight nor a suspect any more.
  Status Finish(const std::string& token);

 private:
  explicit InsertJournal(std::string path) : path_(std::move(path)) {}
  Status Save() const;

  std::string path_;
  std::optional<InFlight> in_flight_;
  std::vector<SuspectInsert> suspects_;  // oldest first
  uint64_t retries_ = 0;                 // fresh tokens handed out, persisted so that each is new
};

/// The highest block number among the part folders in a MergeTree table's data folder
/// ("<partition>_<min block>_<max block>_<level>[_<mutation>]"), or none without parts.
std::optional<uint64_t> HighestBlockInFolder(const std::string& folder);

/// Block marks read from the tables' part folders, which costs microseconds where a query of
/// system.parts costs milliseconds, paid before every insert. A folder is listed again only when
/// its modification time changed, or was too recent when it was listed to show a later change
/// (file systems keep coarse times). Folders of outdated parts do not change the highest number,
/// which covers them.
class BlockMarkReader {
 public:
  /// `tables`: "database.table" and data folder of every MergeTree table.
  explicit BlockMarkReader(std::vector<std::pair<std::string, std::string>> tables);
  BlockMarks Read();

 private:
  struct Folder {
    std::string table;
    std::string path;
    int64_t modified_ns = -1;  // when it was last listed; -1: never, or too recent to trust
    std::optional<uint64_t> highest;
  };
  std::vector<Folder> folders_;
};

/// Counts the blocks above `marks` among the active parts listed in `parts`, one part per line:
/// "database<TAB>table<TAB>min_block<TAB>max_block". A table absent from `marks` had no parts,
/// so all its blocks count.
uint64_t CountBlocksAbove(const BlockMarks& marks, std::string_view parts);

}  // namespace sluice
