#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "core/batch.h"
#include "dataflow/dead_letter.h"

namespace sluice {

/// Rows of one table read by one snapshot query, ready for Poll.
struct SnapshotChunk {
  Batch batch;
  std::vector<DeadLetter> dead_letters;
  std::string identity;  // "<table>:<range>:<chunk>:<hash>", the same on a re-copy of equal data
};

/// What the copier reads: one table, split into queries over primary-key ranges.
struct SnapshotJob {
  std::string dsn;
  std::string source_name;    // for errors and dead letters
  std::string table;          // "schema.table", for messages
  std::string snapshot_name;  // exported snapshot to read at; empty: a fresh snapshot per query
  std::vector<std::string> queries;  // COPY (SELECT ...) TO STDOUT, one per range
  Schema schema;                     // the stream schema (source columns, _version, _is_deleted)
  std::vector<uint32_t> type_oids;   // PostgreSQL type of each source column, in schema order
  uint32_t batch_rows = 1'048'576;
  /// A batch is handed over at this size too, whatever its rows: wide rows must not make the
  /// queued batches (two per connection) outgrow memory.
  size_t batch_bytes = size_t{256} << 20;
};

/// Copies one table with one connection per query, in parallel, each in a REPEATABLE READ
/// transaction at the exported snapshot, through COPY ... TO STDOUT in text format. Chunks wait
/// in a bounded queue (two per connection), so memory stays at a few batches whatever the
/// table size.
///
/// Contract: Next is called from one thread; the destructor stops and joins the workers.
class SnapshotCopier {
 public:
  SnapshotCopier(SnapshotJob job, std::atomic<uint64_t>* rows_done);
  ~SnapshotCopier();
  SnapshotCopier(const SnapshotCopier&) = delete;
  SnapshotCopier& operator=(const SnapshotCopier&) = delete;

  /// The next chunk, blocking until one is ready; nullopt once every query has finished. A
  /// failed query (connection lost, snapshot gone) fails here.
  Result<std::optional<SnapshotChunk>> Next();

 private:
  void Run(size_t range);
  Status Copy(size_t range);
  bool Push(SnapshotChunk chunk);

  SnapshotJob job_;
  std::atomic<uint64_t>* rows_done_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<SnapshotChunk> queue_;
  size_t running_ = 0;
  bool stop_ = false;
  std::optional<Error> failure_;
  std::vector<std::thread> workers_;
};

/// Splits one line of COPY text format into its fields, unescaped; a null field (\N) is
/// nullopt. The views point into `line`, or into `scratch` for fields with escapes; both
/// vectors are reused from line to line.
void SplitCopyLine(std::string_view line, std::vector<std::optional<std::string_view>>& fields,
                   std::string& scratch);

/// The same as owned strings. Exposed for tests.
std::vector<std::optional<std::string>> SplitCopyLine(std::string_view line);

}  // namespace sluice
