#include "sources/postgres_cdc/postgres_cdc_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <thread>

#include "base/clock.h"
#include "format/text_value.h"
#include "sources/pg_types.h"
#include "warehouse/ddl.h"
#include "warehouse/identifier.h"

namespace sluice {

namespace {

constexpr char kVersionColumn[] = "_version";
constexpr char kDeletedColumn[] = "_is_deleted";
constexpr auto kLagInterval = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::milliseconds(10000);
constexpr int kIdleWaitMillis = 100;
constexpr int kFillMillis = 100;
// Received pgoutput bytes the reader may queue ahead of Poll: a few batches' worth, so that it
// keeps draining the walsender through an insert without holding a long backlog in memory.
constexpr size_t kMaxQueuedBytes = 64 << 20;
constexpr size_t kXLogDataHeader = 25;  // counted in bytes_read, as received

int64_t UnixMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DataType Nullable(DataType type) {
  if (type.kind == TypeKind::kArray) return type;  // ClickHouse has no Nullable(Array)
  DataType nullable;
  nullable.kind = TypeKind::kNullable;
  nullable.children.push_back(std::move(type));
  return nullable;
}

bool SameSchema(const Schema& left, const Schema& right) {
  return std::equal(
      left.begin(), left.end(), right.begin(), right.end(),
      [](const Field& a, const Field& b) { return a.name == b.name && a.type == b.type; });
}

DataType UInt(TypeKind kind) {
  DataType type;
  type.kind = kind;
  return type;
}

}  // namespace

uint32_t SnapshotParallelism(const PostgresCdcSpec& spec) {
  if (spec.snapshot_parallelism != 0) return spec.snapshot_parallelism;
  return std::max(1u, std::thread::hardware_concurrency() / 2);
}

/// One replicated table: its source columns, their ClickHouse types, and how the columns of
/// the latest Relation message map onto them.
struct PostgresCdcSource::Table {
  std::string schema_name;
  std::string name;
  std::string qualified;  // "schema.table" for messages
  std::string target;     // ClickHouse table
  uint32_t oid = 0;
  std::vector<std::string> columns;
  std::vector<uint32_t> oids;
  std::vector<int32_t> typmods;
  std::vector<size_t> key;  // indexes into columns, in primary-key order
  Schema schema;            // columns, then _version and _is_deleted
  std::vector<int> relation_map;
  bool has_relation = false;
  std::atomic<uint64_t> rows_done{0};
  uint64_t rows_total = 0;

  bool IsKey(size_t column) const { return std::find(key.begin(), key.end(), column) != key.end(); }
  void AddColumn(std::string column, uint32_t type_oid, int32_t typmod, bool is_key) {
    DataType type = PgColumnType(type_oid, typmod);
    columns.push_back(column);
    oids.push_back(type_oid);
    typmods.push_back(typmod);
    schema.insert(schema.begin() + static_cast<long>(columns.size() - 1),
                  Field{std::move(column), is_key ? type : Nullable(type)});
  }
};

PostgresCdcSource::PostgresCdcSource(std::string name, PostgresCdcSpec spec, uint32_t batch_rows,
                                     Warehouse* warehouse, std::string database)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      batch_rows_(std::max<uint32_t>(batch_rows, 1)),
      warehouse_(warehouse),
      database_(std::move(database)) {}

PostgresCdcSource::~PostgresCdcSource() {
  reader_.reset();
  copier_.reset();
}

Status PostgresCdcSource::Restore(const std::string& position) {
  unsigned long long done = 0;
  unsigned long long txn = 0;
  unsigned long long changes = 0;
  size_t tables = 0;
  if (std::sscanf(position.c_str(), "stream:%llx:%llx:%llu", &done, &txn, &changes) == 3) {
    done_lsn_ = done;
    txn_lsn_ = txn;
    txn_changes_ = changes;
    tables_done_ = tables_.empty() ? spec_.tables.size() : tables_.size();
    restored_ = Restored::kStream;
    return {};
  }
  if (std::sscanf(position.c_str(), "snapshot:%zu", &tables) == 1 &&
      tables <= spec_.tables.size()) {
    tables_done_ = tables;
    restored_ = Restored::kSnapshot;
    return {};
  }
  return MakeError(ErrorCode::kInternal, fmt::format("bad PostgreSQL CDC position '{}'", position),
                   name_);
}

std::string PostgresCdcSource::Position() const {
  if (snapshotting_) return fmt::format("snapshot:{}", tables_done_);
  return fmt::format("stream:{:x}:{:x}:{}", done_lsn_, txn_lsn_, txn_changes_);
}

Status PostgresCdcSource::CommitPosition(const std::string& position) {
  unsigned long long done = 0;
  unsigned long long txn = 0;
  unsigned long long changes = 0;
  if (std::sscanf(position.c_str(), "stream:%llx:%llx:%llu", &done, &txn, &changes) == 3) {
    uint64_t current = commit_lsn_.load();
    while (done > current && !commit_lsn_.compare_exchange_weak(current, done)) {
    }
  }
  return {};
}

Status PostgresCdcSource::LoadTable(Table& table) {
  auto found = query_->ExecParams(
      "SELECT c.oid, GREATEST(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON "
      "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
      {table.schema_name.c_str(), table.name.c_str()});
  if (!found.ok()) return found.error();
  if (PQntuples(found->get()) != 1) {
    return MakeError(ErrorCode::kSourceTableUnsupported,
                     fmt::format("table {} does not exist in PostgreSQL", table.qualified), name_);
  }
  table.oid = static_cast<uint32_t>(std::stoul(PQgetvalue(found->get(), 0, 0)));
  table.rows_total = std::stoull(PQgetvalue(found->get(), 0, 1));
  std::string oid_text = std::to_string(table.oid);
  auto columns = query_->ExecParams(
      "SELECT a.attname, a.atttypid, a.atttypmod, "
      // int2vector subscripts start at 0: positions are made 1-based.
      "COALESCE(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1, "
      "0) FROM pg_attribute a "
      "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
      "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {oid_text.c_str()});
  if (!columns.ok()) return columns.error();
  std::vector<std::pair<int, size_t>> key_positions;
  PGresult* result = columns->get();
  for (int row = 0; row < PQntuples(result); ++row) {
    int key_position = std::atoi(PQgetvalue(result, row, 3));
    if (key_position > 0) key_positions.emplace_back(key_position, table.columns.size());
    table.AddColumn(PQgetvalue(result, row, 0),
                    static_cast<uint32_t>(std::stoul(PQgetvalue(result, row, 1))),
                    std::atoi(PQgetvalue(result, row, 2)), key_position > 0);
  }
  if (key_positions.empty()) {
    return MakeError(ErrorCode::kSourceTableUnsupported,
                     fmt::format("table {} has no primary key: its rows cannot be replaced or "
                                 "deleted by key in ClickHouse",
                                 table.qualified),
                     name_);
  }
  std::sort(key_positions.begin(), key_positions.end());
  for (const auto& [position, column] : key_positions) table.key.push_back(column);
  table.schema.push_back(Field{kVersionColumn, UInt(TypeKind::kUInt64)});
  table.schema.push_back(Field{kDeletedColumn, UInt(TypeKind::kUInt8)});
  return {};
}

std::vector<TableSpec> PostgresCdcSource::TableSpecs() const {
  std::vector<TableSpec> specs;
  for (const auto& table : tables_) {
    TableSpec spec;
    spec.name = table->target;
    for (const Field& field : table->schema) {
      ColumnSpec column;
      column.name = field.name;
      column.type = field.type;
      spec.columns.push_back(std::move(column));
    }
    spec.storage.engine.family = "ReplacingMergeTree";
    spec.storage.engine.version_column = kVersionColumn;
    spec.storage.engine.is_deleted_column = kDeletedColumn;
    for (size_t key : table->key)
      spec.storage.order_by.push_back(QuoteIdentifier(table->columns[key]));
    spec.comment = fmt::format("PostgreSQL {} replicated by source {}", table->qualified, name_);
    specs.push_back(std::move(spec));
  }
  return specs;
}

Status PostgresCdcSource::EnsureWarehouseTables() {
  if (warehouse_ == nullptr) return {};
  for (const TableSpec& spec : TableSpecs()) {
    if (auto created = warehouse_->Execute(CreateTableSql(spec, database_)); !created.ok()) {
      return created;
    }
    // A table kept from an earlier run may lack columns added in the source since.
    std::string alter;
    for (const ColumnSpec& column : spec.columns) {
      alter += fmt::format("{}ADD COLUMN IF NOT EXISTS {}", alter.empty() ? "" : ", ",
                           ColumnDefinitionSql(column));
    }
    auto altered = warehouse_->Execute(
        fmt::format("ALTER TABLE {} {}", QualifiedName(database_, spec.name), alter));
    if (!altered.ok()) {
      return MakeError(ErrorCode::kSourceSchemaChangeFailed, altered.error().message, name_);
    }
  }
  return {};
}

Status PostgresCdcSource::EnsurePublication() {
  auto found = query_->ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1",
                                  {spec_.publication.c_str()});
  if (!found.ok()) return found.error();
  if (PQntuples(found->get()) > 0) return {};
  if (!spec_.create_publication) {
    return MakeError(ErrorCode::kPgReplicationFailed,
                     fmt::format("publication '{}' does not exist and create_publication is off",
                                 spec_.publication),
                     name_);
  }
  std::string tables;
  for (const auto& table : tables_) {
    tables += fmt::format("{}{}.{}", tables.empty() ? "" : ", ",
                          query_->Identifier(table->schema_name), query_->Identifier(table->name));
  }
  auto created = query_->Exec(fmt::format("CREATE PUBLICATION {} FOR TABLE {}",
                                          query_->Identifier(spec_.publication), tables));
  if (!created.ok()) {
    Error error = created.error();
    error.code = ErrorCode::kPgReplicationFailed;
    return error;
  }
  return {};
}

Status PostgresCdcSource::Open() {
  auto connected = PgConnection::Connect(spec_.dsn, false, ErrorCode::kPgConnectionFailed, name_);
  if (!connected.ok()) return connected.error();
  query_ = std::move(connected).value();
  tables_.clear();
  for (const std::string& qualified : spec_.tables) {
    auto table = std::make_unique<Table>();
    std::tie(table->schema_name, table->name) = SplitQualifiedName(qualified);
    table->qualified = table->schema_name + "." + table->name;
    table->target = spec_.table_prefix + table->name;
    if (auto status = LoadTable(*table); !status.ok()) return status;
    tables_.push_back(std::move(table));
  }
  if (auto status = EnsureWarehouseTables(); !status.ok()) return status;
  if (auto status = EnsurePublication(); !status.ok()) return status;

  auto slot = query_->ExecParams(
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1",
      {spec_.slot.c_str()});
  if (!slot.ok()) return slot.error();
  bool slot_exists = PQntuples(slot->get()) > 0;
  if (restored_ != Restored::kNone && !slot_exists) {
    return MakeError(ErrorCode::kPgReplicationFailed,
                     fmt::format("replication slot '{}' is gone: changes since the last "
                                 "checkpoint are lost; drop the ClickHouse tables and the "
                                 "checkpoint to copy the tables again",
                                 spec_.slot),
                     name_);
  }
  if (restored_ == Restored::kStream) {
    snapshotting_ = false;
    StartStreamingOrRetry();
    return {};
  }
  if (restored_ == Restored::kNone) {
    tables_done_ = 0;
    if (!slot_exists) {
      if (auto status = CreateSlot(); !status.ok()) return status;
    }
  }
  // A copy without the slot's exported snapshot (resumed, or an existing slot) is still
  // correct: it reads a state at or after the slot's start, and replaying the stream from
  // there re-applies every later change with a version above the copy's 0.
  snapshotting_ = spec_.snapshot && tables_done_ < tables_.size();
  if (snapshotting_) return StartSnapshotTable();
  snapshot_name_.clear();
  StartStreamingOrRetry();
  return {};
}

void PostgresCdcSource::StartStreamingOrRetry() {
  // The slot may still be held by the WAL sender of a process that just died: like a lost
  // connection, that is retried with backoff rather than failing the job.
  if (auto status = StartStreaming(); !status.ok()) LoseConnection(status.error());
}

Status PostgresCdcSource::CreateSlot() {
  auto connected = PgConnection::Connect(spec_.dsn, true, ErrorCode::kPgConnectionFailed, name_);
  if (!connected.ok()) return connected.error();
  replication_ = std::move(connected).value();
  auto created = replication_->Exec(fmt::format(
      "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput {}", replication_->Identifier(spec_.slot),
      spec_.snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"));
  if (!created.ok()) {
    Error error = created.error();
    error.code = ErrorCode::kPgReplicationFailed;
    return error;
  }
  done_lsn_ = ParseLsn(PQgetvalue(created->get(), 0, 1));
  if (spec_.snapshot && !PQgetisnull(created->get(), 0, 2)) {
    snapshot_name_ = PQgetvalue(created->get(), 0, 2);
  }
  return {};
}

Status PostgresCdcSource::StartSnapshotTable() {
  Table& table = *tables_[tables_done_];
  table.rows_done = 0;
  SnapshotJob job;
  job.dsn = spec_.dsn;
  job.source_name = name_;
  job.table = table.qualified;
  job.snapshot_name = snapshot_name_;
  job.schema = table.schema;
  job.type_oids = table.oids;
  job.batch_rows = spec_.snapshot_batch_rows;
  std::string columns;
  for (const std::string& column : table.columns) {
    columns += fmt::format("{}{}", columns.empty() ? "" : ", ", query_->Identifier(column));
  }
  std::string from =
      fmt::format("{}.{}", query_->Identifier(table.schema_name), query_->Identifier(table.name));
  std::vector<std::string> conditions;
  size_t key = table.key.front();
  uint32_t parallelism = SnapshotParallelism(spec_);
  if (parallelism > 1 && table.key.size() == 1 && PgIsIntegerType(table.oids[key])) {
    // Ranges of equal width between the smallest and largest key (read from the index); the
    // first and last are open so that no row outside the bounds read here is missed.
    std::string key_name = query_->Identifier(table.columns[key]);
    auto bounds = query_->Exec(fmt::format("SELECT min({0}), max({0}) FROM {1}", key_name, from));
    if (!bounds.ok()) return bounds.error();
    if (!PQgetisnull(bounds->get(), 0, 0)) {
      Int128 low = std::stoll(PQgetvalue(bounds->get(), 0, 0));
      Int128 high = std::stoll(PQgetvalue(bounds->get(), 0, 1));
      Int128 parts = parallelism;
      Int128 width = std::max<Int128>((high - low + 1) / parts, 1);
      std::vector<int64_t> cuts;
      for (Int128 part = 1; part < parts && low + part * width <= high; ++part) {
        cuts.push_back(static_cast<int64_t>(low + part * width));
      }
      for (size_t i = 0; i <= cuts.size(); ++i) {
        std::string condition;
        if (i > 0) condition = fmt::format("{} >= {}", key_name, cuts[i - 1]);
        if (i < cuts.size()) {
          condition +=
              fmt::format("{}{} < {}", condition.empty() ? "" : " AND ", key_name, cuts[i]);
        }
        conditions.push_back(condition);
      }
    }
  }
  if (conditions.empty()) conditions.push_back("");
  for (const std::string& condition : conditions) {
    job.queries.push_back(fmt::format("COPY (SELECT {} FROM {}{}{}) TO STDOUT", columns, from,
                                      condition.empty() ? "" : " WHERE ", condition));
  }
  copier_ = std::make_unique<SnapshotCopier>(std::move(job), &table.rows_done);
  return {};
}

Status PostgresCdcSource::StartStreaming() {
  if (!query_ || PQstatus(query_->get()) != CONNECTION_OK) {
    auto connected = PgConnection::Connect(spec_.dsn, false, ErrorCode::kPgConnectionFailed, name_);
    if (!connected.ok()) return connected.error();
    query_ = std::move(connected).value();
  }
  if (!replication_) {
    auto connected = PgConnection::Connect(spec_.dsn, true, ErrorCode::kPgConnectionFailed, name_);
    if (!connected.ok()) return connected.error();
    replication_ = std::move(connected).value();
  }
  // The server resends every transaction after the slot's confirmed point: the ones already
  // handed out (up to done_lsn_, and the first changes of txn_lsn_) are skipped.
  skip_done_lsn_ = done_lsn_;
  skip_txn_lsn_ = txn_lsn_;
  skip_txn_changes_ = txn_changes_;
  for (auto& table : tables_) table->has_relation = false;
  std::string publication = spec_.publication;
  auto started = replication_->Exec(
      fmt::format("START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {})",
                  replication_->Identifier(spec_.slot), FormatLsn(done_lsn_),
                  replication_->Literal(replication_->Identifier(publication))));
  if (!started.ok()) {
    Error error = started.error();
    error.code = ErrorCode::kPgReplicationFailed;
    replication_.reset();
    return error;
  }
  backoff_ = std::chrono::milliseconds(100);
  reader_ = std::make_unique<ReplicationReader>(
      std::move(replication_), &commit_lsn_,
      [this](uint64_t server_lsn) {
        std::lock_guard lock(metrics_mutex_);
        server_lsn_ = std::max(server_lsn_, server_lsn);
      },
      kMaxQueuedBytes);
  return {};
}

void PostgresCdcSource::LoseConnection(const Error& error) {
  spdlog::warn("source {}: replication connection lost ({}); reconnecting in {} ms", name_,
               error.ToString(), backoff_.count());
  reader_.reset();
  replication_.reset();
  chunk_.reset();
  reconnect_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void PostgresCdcSource::UpdateLag() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_lag_check_ < kLagInterval || !query_) return;
  last_lag_check_ = now;
  auto result = query_->Exec("SELECT pg_current_wal_lsn()");
  if (!result.ok()) return;
  std::lock_guard lock(metrics_mutex_);
  server_lsn_ = ParseLsn(PQgetvalue(result->get(), 0, 0));
}

PostgresCdcMetrics PostgresCdcSource::Metrics() const {
  PostgresCdcMetrics metrics;
  for (const auto& table : tables_) {
    metrics.tables.push_back({table->target, table->rows_done.load(), table->rows_total});
  }
  metrics.snapshotting = snapshotting_;
  std::lock_guard lock(metrics_mutex_);
  uint64_t confirmed = commit_lsn_.load();
  metrics.replication_delay_bytes = server_lsn_ > confirmed ? server_lsn_ - confirmed : 0;
  metrics.replication_delay_seconds =
      caught_up_ || last_commit_micros_ == 0
          ? 0
          : static_cast<double>(UnixMicrosNow() - last_commit_micros_) / 1e6;
  return metrics;
}

PostgresCdcSource::Table* PostgresCdcSource::FindRelation(uint32_t relation_id) {
  for (auto& table : tables_) {
    if (table->oid == relation_id) return table.get();
  }
  return nullptr;
}

Result<PollStatus> PostgresCdcSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  if (snapshotting_) return PollSnapshot(batch, dead_letters);
  return PollStream(batch, dead_letters);
}

Result<PollStatus> PostgresCdcSource::PollSnapshot(Batch& batch,
                                                   std::vector<DeadLetter>& dead_letters) {
  while (copier_) {
    auto next = copier_->Next();
    if (!next.ok()) return next.error();
    if (*next) {
      SnapshotChunk& chunk = **next;
      last_table_ = tables_[tables_done_]->target;
      last_identity_ = fmt::format("snapshot:{}", chunk.identity);
      for (size_t c = 0; c < chunk.batch.num_columns(); ++c) {
        bytes_read_ += chunk.batch.column(c).ByteSize();
      }
      batch = std::move(chunk.batch);
      for (DeadLetter& letter : chunk.dead_letters) dead_letters.push_back(std::move(letter));
      return PollStatus::kData;
    }
    copier_.reset();
    ++tables_done_;
    if (tables_done_ < tables_.size()) {
      if (auto status = StartSnapshotTable(); !status.ok()) return status.error();
    }
  }
  snapshotting_ = false;
  snapshot_name_.clear();
  StartStreamingOrRetry();
  last_identity_.clear();
  return PollStatus::kIdle;
}

Result<PollStatus> PostgresCdcSource::PollStream(Batch& batch,
                                                 std::vector<DeadLetter>& dead_letters) {
  last_identity_.clear();
  if (!reader_) {
    auto now = std::chrono::steady_clock::now();
    if (now < reconnect_at_) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          reconnect_at_ - now, std::chrono::milliseconds(kIdleWaitMillis)));
      return PollStatus::kIdle;
    }
    if (auto status = StartStreaming(); !status.ok()) {
      LoseConnection(status.error());
      return PollStatus::kIdle;
    }
  }
  UpdateLag();
  first_lsn_ = 0;
  last_lsn_ = 0;
  bool waited = false;
  auto fill_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFillMillis);
  while (batch.num_rows() + dead_letters.size() < batch_rows_) {
    if (chunk_ && chunk_next_ < chunk_->messages.size()) {
      std::string_view message = chunk_->Payload(chunk_next_);
      auto handled = Handle(message, chunk_->messages[chunk_next_].lsn, batch, dead_letters);
      if (!handled.ok()) return handled.error();
      if (!*handled) break;  // kept for the next Poll
      bytes_read_ += kXLogDataHeader + message.size();
      ++chunk_next_;
      continue;
    }
    chunk_.reset();
    chunk_next_ = 0;
    // Nothing received. Without rows: wait once per Poll. With rows: keep filling the batch
    // while changes keep coming, up to kFillMillis after the Poll began, since every batch
    // costs an insert (and a part) in ClickHouse.
    bool have = batch.num_rows() + dead_letters.size() > 0;
    int64_t timeout = 0;
    if (have) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          fill_until - std::chrono::steady_clock::now());
      timeout = std::max<int64_t>(left.count(), 0);
    } else if (!waited) {
      timeout = kIdleWaitMillis;
    }
    auto next = reader_->Next(std::chrono::milliseconds(timeout));
    if (!next.ok()) {
      LoseConnection(next.error());
      break;
    }
    if (!*next) break;
    waited = waited || !have;
    chunk_ = std::move(**next);
  }
  size_t produced = batch.num_rows() + dead_letters.size();
  {
    std::lock_guard lock(metrics_mutex_);
    caught_up_ = produced == 0 && txn_lsn_ == 0;
  }
  if (produced == 0) return PollStatus::kIdle;
  last_identity_ = fmt::format("wal:{}:{:x}-{:x}:{}", last_table_, first_lsn_, last_lsn_, produced);
  return PollStatus::kData;
}

Result<bool> PostgresCdcSource::Handle(std::string_view data, uint64_t lsn, Batch& batch,
                                       std::vector<DeadLetter>& dead_letters) {
  auto decoded = DecodePgOutput(data);
  if (!decoded.ok()) {
    Error error = decoded.error();
    error.where = name_;
    return error;
  }
  PgOutputMessage& message = *decoded;
  bool has_rows = batch.num_rows() + dead_letters.size() > 0;
  using Type = PgOutputMessage::Type;
  switch (message.type) {
    case Type::kBegin:
      txn_lsn_ = message.final_lsn;
      txn_changes_ = 0;
      txn_commit_time_ = message.commit_time;
      skipping_txn_ = message.final_lsn < skip_done_lsn_;
      return true;
    case Type::kCommit: {
      if (!skipping_txn_) done_lsn_ = std::max(done_lsn_, message.end_lsn);
      if (txn_lsn_ == skip_txn_lsn_) skip_txn_lsn_ = 0;
      txn_lsn_ = 0;
      txn_changes_ = 0;
      std::lock_guard lock(metrics_mutex_);
      last_commit_micros_ = message.commit_time + kPgEpochOffsetMicros;
      return true;
    }
    case Type::kRelation: {
      for (auto& table : tables_) {
        if (table->schema_name != message.schema || table->name != message.table) continue;
        bool grows = false;
        for (const PgRelationColumn& column : message.columns) {
          grows |= std::find(table->columns.begin(), table->columns.end(), column.name) ==
                   table->columns.end();
        }
        // The batch keeps one schema: rows of the grown table start a new Poll.
        if (grows && has_rows && last_table_ == table->target) return false;
        if (auto status = ApplyRelation(message, *table); !status.ok()) return status.error();
      }
      return true;
    }
    case Type::kInsert:
    case Type::kUpdate:
    case Type::kDelete:
    case Type::kTruncate:
      break;
    default:  // Origin, Type: nothing to do
      return true;
  }
  bool skip = skipping_txn_ ||
              (txn_lsn_ != 0 && txn_lsn_ == skip_txn_lsn_ && txn_changes_ < skip_txn_changes_);
  if (skip) {
    ++txn_changes_;
    return true;
  }
  if (message.type == Type::kTruncate) {
    for (uint32_t relation : message.truncated) {
      Table* table = FindRelation(relation);
      if (table == nullptr) continue;
      if (has_rows && last_table_ != table->target) return false;
      last_table_ = table->target;
      dead_letters.push_back(DeadLetter{
          WallClockMillis(), name_, fmt::format("{} at {}", table->qualified, FormatLsn(lsn)),
          fmt::format("TRUNCATE {}", table->qualified),
          Error{ErrorCode::kCdcTruncateNotApplied,
                fmt::format("{} was truncated in PostgreSQL; ClickHouse table {} keeps its rows "
                            "(truncate it and copy the table again if it must follow)",
                            table->qualified, table->target),
                table->target}});
    }
    ++txn_changes_;
    if (first_lsn_ == 0) first_lsn_ = lsn;
    last_lsn_ = lsn;
    return true;
  }
  Table* table = FindRelation(message.relation_id);
  if (table == nullptr) {
    ++txn_changes_;
    return true;
  }
  if (has_rows && last_table_ != table->target) return false;
  if (!has_rows) {
    if (!SameSchema(batch.schema(), table->schema)) batch = Batch(table->schema);
    last_table_ = table->target;
  }
  if (auto status = AppendChange(message, lsn, *table, batch, dead_letters); !status.ok()) {
    return status.error();
  }
  ++txn_changes_;
  if (first_lsn_ == 0) first_lsn_ = lsn;
  last_lsn_ = lsn;
  return true;
}

Status PostgresCdcSource::ApplyRelation(const PgOutputMessage& message, Table& table) {
  table.oid = message.relation_id;
  table.relation_map.assign(message.columns.size(), -1);
  std::vector<std::string> added;
  for (size_t i = 0; i < message.columns.size(); ++i) {
    const PgRelationColumn& column = message.columns[i];
    auto found = std::find(table.columns.begin(), table.columns.end(), column.name);
    if (found == table.columns.end()) {
      table.AddColumn(column.name, column.type_oid, column.typmod, false);
      ColumnSpec spec;
      spec.name = column.name;
      spec.type = table.schema[table.columns.size() - 1].type;
      added.push_back(ColumnDefinitionSql(spec));
      table.relation_map[i] = static_cast<int>(table.columns.size() - 1);
    } else {
      size_t index = static_cast<size_t>(found - table.columns.begin());
      // A changed type keeps the ClickHouse column; values are converted into it.
      table.oids[index] = column.type_oid;
      table.relation_map[i] = static_cast<int>(index);
    }
  }
  table.has_relation = true;
  if (added.empty()) return {};
  if (warehouse_ == nullptr) {
    return MakeError(ErrorCode::kSourceSchemaChangeFailed,
                     fmt::format("columns were added to {} but the source has no warehouse to "
                                 "alter {}",
                                 table.qualified, table.target),
                     name_);
  }
  std::string alter;
  for (const std::string& column : added) {
    alter += fmt::format("{}ADD COLUMN IF NOT EXISTS {}", alter.empty() ? "" : ", ", column);
  }
  auto altered = warehouse_->Execute(
      fmt::format("ALTER TABLE {} {}", QualifiedName(database_, table.target), alter));
  if (!altered.ok()) {
    return MakeError(ErrorCode::kSourceSchemaChangeFailed,
                     fmt::format("adding columns of {} to {} failed: {}", table.qualified,
                                 table.target, altered.error().message),
                     name_);
  }
  spdlog::info("source {}: {} now has {} columns", name_, table.target, table.columns.size());
  return {};
}

Status PostgresCdcSource::FetchUnchanged(const Table& table, const std::vector<PgTupleValue>& tuple,
                                         std::vector<std::optional<std::string_view>>& values,
                                         std::vector<std::string>& fetched) {
  std::vector<size_t> wanted;
  for (size_t i = 0; i < tuple.size(); ++i) {
    if (tuple[i].kind == PgTupleValue::Kind::kUnchangedToast && table.relation_map[i] >= 0) {
      wanted.push_back(static_cast<size_t>(table.relation_map[i]));
    }
  }
  if (wanted.empty()) return {};
  std::string columns;
  for (size_t column : wanted) {
    columns +=
        fmt::format("{}{}", columns.empty() ? "" : ", ", query_->Identifier(table.columns[column]));
  }
  std::string condition;
  std::vector<std::string> keys;
  for (size_t key : table.key) {
    condition += fmt::format("{}{} = ${}", condition.empty() ? "" : " AND ",
                             query_->Identifier(table.columns[key]), keys.size() + 1);
    keys.emplace_back(values[key].value_or(""));
  }
  std::vector<const char*> parameters;
  for (size_t k = 0; k < keys.size(); ++k) {
    parameters.push_back(values[table.key[k]] ? keys[k].c_str() : nullptr);
  }
  auto result = query_->ExecParams(
      fmt::format("SELECT {} FROM {}.{} WHERE {}", columns, query_->Identifier(table.schema_name),
                  query_->Identifier(table.name), condition),
      parameters);
  if (!result.ok()) return result.error();
  // A row deleted since keeps NULL: its later delete replaces this row in ClickHouse.
  bool found = PQntuples(result->get()) > 0;
  fetched.reserve(wanted.size());  // the views below point into these strings: no reallocation
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (found && !PQgetisnull(result->get(), 0, static_cast<int>(i))) {
      fetched.emplace_back(PQgetvalue(result->get(), 0, static_cast<int>(i)));
      values[wanted[i]] = fetched.back();
    } else {
      values[wanted[i]].reset();
    }
  }
  return {};
}

Status PostgresCdcSource::AppendChange(const PgOutputMessage& message, uint64_t lsn, Table& table,
                                       Batch& batch, std::vector<DeadLetter>& dead_letters) {
  if (!table.has_relation) {
    return MakeError(
        ErrorCode::kPgProtocolError,
        fmt::format("a change of {} arrived before its Relation message", table.qualified), name_);
  }
  using Type = PgOutputMessage::Type;
  // Views into the message (or into `fetched`): no copy per value.
  auto collect = [&](const std::vector<PgTupleValue>& tuple) {
    std::vector<std::optional<std::string_view>> values(table.columns.size());
    for (size_t i = 0; i < tuple.size() && i < table.relation_map.size(); ++i) {
      int column = table.relation_map[i];
      if (column >= 0 && tuple[i].kind == PgTupleValue::Kind::kText) {
        values[static_cast<size_t>(column)] = tuple[i].text;
      }
    }
    return values;
  };
  auto append = [&](const std::vector<std::optional<std::string_view>>& values, bool deleted) {
    size_t row = batch.num_rows();
    for (size_t c = 0; c < table.columns.size(); ++c) {
      Column& column = batch.column(c);
      Status status;
      if (!values[c]) {
        if (column.nullable()) {
          column.AppendNull();
        } else {
          AppendZeroValue(column);
        }
      } else {
        status = AppendPgText(*values[c], table.oids[c], column);
      }
      if (!status.ok()) {
        batch.Truncate(row);
        std::string raw;
        for (size_t k = 0; k < table.columns.size(); ++k) {
          raw += fmt::format("{}{}={}", k == 0 ? "" : " ", table.columns[k],
                             values[k] ? QuoteForMessage(*values[k]) : "NULL");
        }
        Error error = status.error();
        error.code = ErrorCode::kSourceValueUnconvertible;
        error.where = table.columns[c];
        error.message =
            fmt::format("column {} of {}: {}", table.columns[c], table.qualified, error.message);
        dead_letters.push_back(DeadLetter{WallClockMillis(), name_,
                                          fmt::format("{} at {}", table.qualified, FormatLsn(lsn)),
                                          std::move(raw), std::move(error)});
        return;
      }
    }
    batch.column(table.columns.size()).AppendFixed<uint64_t>(lsn);
    batch.column(table.columns.size() + 1).AppendFixed<uint8_t>(deleted ? 1 : 0);
  };
  if (message.type == Type::kDelete) {
    append(collect(message.old_tuple), true);
    return {};
  }
  std::vector<std::optional<std::string_view>> values = collect(message.new_tuple);
  std::vector<std::string> fetched;
  if (message.type == Type::kUpdate) {
    if (!message.old_tuple.empty()) {
      // The key changed (or the table has REPLICA IDENTITY FULL): the old key's row goes away.
      std::vector<std::optional<std::string_view>> old_values = collect(message.old_tuple);
      bool moved = false;
      for (size_t key : table.key) moved |= old_values[key] != values[key];
      if (moved) append(old_values, true);
    }
    if (auto status = FetchUnchanged(table, message.new_tuple, values, fetched); !status.ok()) {
      return status;
    }
  }
  append(values, false);
  return {};
}

}  // namespace sluice
