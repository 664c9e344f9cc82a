#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "warehouse/chdb_api.h"
#include "warehouse/insert_journal.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// ClickHouse running inside this process (chDB), on one data folder.
///
/// One per process: the engine allows a single data folder per process, so opening a second
/// one fails with a clear error. Statements are serialized on the one connection, so the
/// object may be shared by threads. The connection is closed by the destructor and, should the
/// process exit with the object still alive, by an exit handler — the engine crashes in its
/// static destructors when a connection is left open.
class EmbeddedWarehouse : public Warehouse {
 public:
  /// Opens (creating if needed) the data folder. `library_path` overrides where libchdb.so is
  /// loaded from.
  static Result<std::unique_ptr<EmbeddedWarehouse>> Open(const std::string& data_path,
                                                         const std::string& library_path = {});
  ~EmbeddedWarehouse() override;

  Result<QueryResult> Query(std::string_view sql, std::string_view format) override;
  using Warehouse::Query;
  /// Hands the batch over as Arrow arrays (no row serialization, binary-safe) and runs
  /// INSERT ... SELECT from it; fails unless the engine wrote every row of the batch.
  /// An insert with a deduplication token is noted in the insert journal while it runs, so that
  /// its retry after a crash is neither dropped as a repeat of rows that never landed nor
  /// doubled (see InsertJournal).
  Result<QueryResult> Insert(const InsertRequest& request) override;
  std::string Version() override;
  /// Every statement run through this object (queries, inserts, the engine's own checks). The
  /// rows and bytes a statement read come from the engine's process-wide totals
  /// (system.events SelectedRows and SelectedBytes) read after it: the engine's per-result
  /// counts are those of the result, not of what was read (`SELECT sum(x) FROM t` reports 1).
  /// That costs one small query per statement, only while an observer is set.
  bool ObserveQueries(QueryObserver observer) override;

  const std::string& data_path() const { return data_path_; }

 private:
  EmbeddedWarehouse(const ChdbApi* api, ChdbApi::Connection** connection, std::string data_path);
  Result<QueryResult> RunLocked(std::string_view sql, std::string_view format);
  /// Runs the insert under `token` (the one the engine sees), checking the rows written.
  Result<QueryResult> InsertLocked(const InsertRequest& request, const std::string& token);
  /// Reads the insert journal and settles an insert that a crash interrupted.
  Status OpenJournal();
  Result<BlockMarks> BlockMarksLocked();
  /// How many blocks above `marks` the engine's tables hold now.
  Result<uint64_t> BlocksAboveLocked(const BlockMarks& marks);
  /// Blocks the engine has dropped as repeats since it started.
  Result<uint64_t> RepeatedBlocksLocked();
  void Close();

  const ChdbApi* api_;
  std::mutex mutex_;
  ChdbApi::Connection** connection_;
  std::string data_path_;
  std::string version_;
  uint64_t next_scan_id_ = 0;
  std::optional<InsertJournal> journal_;  // guarded by mutex_, like the one below
  /// Over the MergeTree tables there were at the last statement other than a SELECT.
  std::optional<BlockMarkReader> block_marks_;
  /// The engine's totals of rows and bytes read from tables since it started.
  struct ReadTotals {
    uint64_t rows = 0;
    uint64_t bytes = 0;
  };
  ReadTotals ReadTotalsLocked();
  /// Hands the statement just run to the observer with what it read.
  void Report(std::string_view sql, bool failed, double elapsed_seconds);

  QueryObserver observer_;  // guarded by mutex_, like the two below
  ReadTotals last_read_;
  ReadTotals reading_cost_;  // what one ReadTotalsLocked itself reads
};

}  // namespace sluice
