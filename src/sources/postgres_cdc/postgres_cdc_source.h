#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "dataflow/source.h"
#include "sources/pg_connection.h"
#include "sources/postgres_cdc/pgoutput.h"
#include "sources/postgres_cdc/replication_reader.h"
#include "sources/postgres_cdc/snapshot_copier.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// The connections copying one table: `snapshot_parallelism`, or for 0 half the cores (at
/// least one). Measured on two cores with PostgreSQL beside sluice, one connection copied 10 M
/// rows at 100-117 % of ClickHouse's postgresql(), two at 79-115 %, below 100 % in most runs
/// (docs/benchmarks.md).
uint32_t SnapshotParallelism(const PostgresCdcSpec& spec);

/// Progress and lag of a PostgreSQL CDC source, for the metrics the runtime exports.
struct PostgresCdcMetrics {
  struct TableProgress {
    std::string table;  // ClickHouse table
    uint64_t snapshot_rows_done = 0;
    uint64_t snapshot_rows_total = 0;  // the planner's estimate (pg_class.reltuples)
  };
  std::vector<TableProgress> tables;
  bool snapshotting = false;
  uint64_t replication_delay_bytes = 0;  // server's current WAL LSN - confirmed LSN
  double replication_delay_seconds = 0;  // now - commit time of the last transaction read
};

/// Replicates PostgreSQL tables by logical decoding: an initial snapshot (exported by the
/// replication slot, copied in parallel by primary-key ranges), then every committed change
/// decoded from pgoutput. Rows land in ReplacingMergeTree(_version, _is_deleted) tables ordered
/// by the source primary key; `SELECT ... FINAL WHERE _is_deleted = 0` equals the source table.
///
/// Contract beyond Source (what the runtime integrates):
/// - Every Poll's rows belong to one source table, whose ClickHouse table LastPollTable()
///   names. The batch passed in may have any schema while empty: Poll replaces it with the
///   table's current schema (`batch = Batch(schema)`), which grows when a column is added in
///   the source (the ClickHouse table is altered first, through the Warehouse given).
/// - Position(): "snapshot:<tables done>" while copying, "stream:<done>:<txn>:<changes>" after
///   (hex LSNs): everything up to the commit <done> plus the first <changes> changes of the
///   transaction whose commit is at <txn>.
/// - Restore (when resuming) comes before Open, which starts copying or streaming from there.
/// - CommitPosition may be called from another thread; the confirmation (standby status update,
///   flush = apply = the committed LSN) is sent by the replication reader within 100 ms.
/// - While streaming, a reader thread (ReplicationReader) owns the replication connection and
///   keeps receiving while the caller inserts; Poll decodes and converts what it queued.
class PostgresCdcSource : public Source {
 public:
  /// `warehouse` creates and alters the ClickHouse tables (in `database`); may be null when the
  /// tables exist already and no column is ever added.
  PostgresCdcSource(std::string name, PostgresCdcSpec spec, uint32_t batch_rows,
                    Warehouse* warehouse, std::string database = "default");
  ~PostgresCdcSource() override;

  Status Open() override;
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  std::string Position() const override;
  Status Restore(const std::string& position) override;
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return bytes_read_; }
  Status CommitPosition(const std::string& position) override;

  /// The ClickHouse table of the last Poll's rows (and dead letters).
  std::string LastPollTable() const override { return last_table_; }
  /// The ClickHouse tables (after Open), in the spec's table order.
  std::vector<TableSpec> TableSpecs() const;
  PostgresCdcMetrics Metrics() const;

 private:
  struct Table;

  Status LoadTable(Table& table);
  Status EnsurePublication();
  Status EnsureWarehouseTables();
  Status CreateSlot();
  Status StartSnapshotTable();
  Status ConnectReplication(bool create_slot);
  Status StartStreaming();
  void StartStreamingOrRetry();
  Result<PollStatus> PollSnapshot(Batch& batch, std::vector<DeadLetter>& dead_letters);
  Result<PollStatus> PollStream(Batch& batch, std::vector<DeadLetter>& dead_letters);
  /// Handles one pgoutput message; false when it belongs in the next Poll (it is kept).
  Result<bool> Handle(std::string_view data, uint64_t lsn, Batch& batch,
                      std::vector<DeadLetter>& dead_letters);
  Status ApplyRelation(const PgOutputMessage& message, Table& table);
  Status AppendChange(const PgOutputMessage& message, uint64_t lsn, Table& table, Batch& batch,
                      std::vector<DeadLetter>& dead_letters);
  Status FetchUnchanged(const Table& table, const std::vector<PgTupleValue>& tuple,
                        std::vector<std::optional<std::string_view>>& values,
                        std::vector<std::string>& fetched);
  void LoseConnection(const Error& error);
  void UpdateLag();
  Table* FindRelation(uint32_t relation_id);

  std::string name_;
  PostgresCdcSpec spec_;
  uint32_t batch_rows_;
  Warehouse* warehouse_;
  std::string database_;
  std::vector<std::unique_ptr<Table>> tables_;
  std::unique_ptr<PgConnection> query_;        // catalog, TOAST fetches, lag
  std::unique_ptr<PgConnection> replication_;  // slot, exported snapshot; then the reader's
  std::string snapshot_name_;                  // exported by the slot; empty after a restart
  enum class Restored { kNone, kSnapshot, kStream };
  Restored restored_ = Restored::kNone;

  // Snapshot phase.
  std::atomic<bool> snapshotting_{false};  // read by Metrics() from another thread
  size_t tables_done_ = 0;
  std::unique_ptr<SnapshotCopier> copier_;

  // Stream phase: see Position().
  uint64_t done_lsn_ = 0;
  uint64_t txn_lsn_ = 0;
  uint64_t txn_changes_ = 0;
  int64_t txn_commit_time_ = 0;
  // Replayed transactions to skip after a restore or reconnect.
  uint64_t skip_done_lsn_ = 0;
  uint64_t skip_txn_lsn_ = 0;
  uint64_t skip_txn_changes_ = 0;
  bool skipping_txn_ = false;
  std::unique_ptr<ReplicationReader> reader_;  // while streaming
  // Messages received and not yet handed out: the rest of a chunk whose next message did not
  // fit the last Poll's batch.
  std::optional<ReplicationChunk> chunk_;
  size_t chunk_next_ = 0;

  std::atomic<uint64_t> commit_lsn_{0};  // set by CommitPosition
  std::chrono::steady_clock::time_point reconnect_at_{};
  std::chrono::milliseconds backoff_{100};
  std::chrono::steady_clock::time_point last_lag_check_{};

  uint64_t first_lsn_ = 0;  // changes of the last Poll, for its identity
  uint64_t last_lsn_ = 0;
  std::string last_table_;
  std::string last_identity_;
  uint64_t bytes_read_ = 0;

  mutable std::mutex metrics_mutex_;
  uint64_t server_lsn_ = 0;
  int64_t last_commit_micros_ = 0;  // Unix epoch
  bool caught_up_ = true;
};

}  // namespace sluice
