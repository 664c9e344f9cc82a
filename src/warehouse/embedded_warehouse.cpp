#include "warehouse/embedded_warehouse.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/strings.h"
#include "warehouse/arrow_export.h"
#include "warehouse/identifier.h"

namespace sluice {
namespace {

// The one open engine of the process, closed at exit if its owner never was destroyed.
std::mutex g_open_mutex;
EmbeddedWarehouse* g_open = nullptr;
bool g_exit_handler_installed = false;

}  // namespace

Result<std::unique_ptr<EmbeddedWarehouse>> EmbeddedWarehouse::Open(
    const std::string& data_path, const std::string& library_path) {
  auto api = ChdbApi::Load(library_path);
  if (!api.ok()) return api.error();

  std::unique_lock lock(g_open_mutex);
  if (g_open != nullptr) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("the embedded warehouse is already open on {} in this process; "
                                 "the engine serves one data folder per process",
                                 g_open->data_path()));
  }
  std::error_code error;
  std::filesystem::create_directories(data_path, error);
  if (error) {
    return MakeError(
        ErrorCode::kWarehouseUnavailable,
        fmt::format("cannot create the warehouse folder {}: {}", data_path, error.message()));
  }
  std::string path_argument = "--path=" + data_path;
  // Tables load while connecting, not on the engine's background loader: a load job there
  // failed once with "recursive_mutex lock failed" and the engine would not open at all. The
  // insert journal also needs every table's parts listed before it settles an insert.
  std::string loading_argument = "--async_load_databases=0";
  std::vector<char*> argv = {const_cast<char*>("sluice"), path_argument.data(),
                             loading_argument.data()};
  ChdbApi::Connection** connection = (*api)->connect(static_cast<int>(argv.size()), argv.data());
  if (connection == nullptr || *connection == nullptr) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("the embedded engine could not open {} (is another sluice "
                                 "process using it? one process per data folder)",
                                 data_path));
  }
  std::unique_ptr<EmbeddedWarehouse> warehouse(new EmbeddedWarehouse(*api, connection, data_path));
  g_open = warehouse.get();
  if (!g_exit_handler_installed) {
    g_exit_handler_installed = true;
    std::atexit([] {
      std::lock_guard exit_lock(g_open_mutex);
      if (g_open != nullptr) g_open->Close();
    });
  }
  lock.unlock();  // from here a failure destroys the warehouse, whose destructor takes the lock

  auto version = warehouse->Query("SELECT version()", "TabSeparated");
  if (!version.ok()) return version.error();
  warehouse->version_ = std::string(Trim(version->data));
  if (Status journal = warehouse->OpenJournal(); !journal.ok()) return journal.error();
  return warehouse;
}

EmbeddedWarehouse::EmbeddedWarehouse(const ChdbApi* api, ChdbApi::Connection** connection,
                                     std::string data_path)
    : api_(api), connection_(connection), data_path_(std::move(data_path)) {}

EmbeddedWarehouse::~EmbeddedWarehouse() {
  std::lock_guard lock(g_open_mutex);
  Close();
  if (g_open == this) g_open = nullptr;
}

void EmbeddedWarehouse::Close() {
  std::lock_guard lock(mutex_);
  if (connection_ != nullptr) {
    api_->close_conn(connection_);
    connection_ = nullptr;
  }
}

std::string EmbeddedWarehouse::Version() {
  return version_;
}

bool EmbeddedWarehouse::ObserveQueries(QueryObserver observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
  if (observer_ && connection_ != nullptr) {
    // Two readings in a row: the second grows by what a reading itself reads.
    ReadTotals first = ReadTotalsLocked();
    last_read_ = ReadTotalsLocked();
    reading_cost_ = {last_read_.rows - std::min(first.rows, last_read_.rows),
                     last_read_.bytes - std::min(first.bytes, last_read_.bytes)};
  }
  return true;
}

Result<QueryResult> EmbeddedWarehouse::Query(std::string_view sql, std::string_view format) {
  std::lock_guard lock(mutex_);
  // Any statement but a SELECT may have created, dropped or moved a table.
  std::string_view statement = Trim(sql);
  if (statement.size() < 6 || !std::equal(statement.begin(), statement.begin() + 6, "SELECT",
                                          [](char a, char b) { return std::toupper(a) == b; })) {
    block_marks_.reset();
  }
  return RunLocked(sql, format);
}

Result<QueryResult> EmbeddedWarehouse::RunLocked(std::string_view sql, std::string_view format) {
  if (connection_ == nullptr) {
    return MakeError(ErrorCode::kWarehouseUnavailable, "the embedded warehouse is closed");
  }
  ChdbApi::QueryResult* result =
      api_->query_n(*connection_, sql.data(), sql.size(), format.data(), format.size());
  if (result == nullptr) {
    if (observer_) Report(sql, true, 0);
    return MakeError(ErrorCode::kWarehouseQueryFailed, "the engine returned no result",
                     std::string(sql.substr(0, 200)));
  }
  if (const char* message = api_->result_error(result)) {
    Error error = ClickHouseError(message, sql);
    double elapsed = api_->result_elapsed(result);
    api_->destroy_query_result(result);
    if (observer_) Report(sql, true, elapsed);
    return error;
  }
  QueryResult output;
  if (char* buffer = api_->result_buffer(result)) {
    output.data.assign(buffer, api_->result_length(result));
  }
  output.rows_read = api_->result_rows_read(result);
  output.bytes_read = api_->result_bytes_read(result);
  output.rows_written = api_->result_rows_written(result);
  output.bytes_written = api_->result_bytes_written(result);
  output.elapsed_seconds = api_->result_elapsed(result);
  api_->destroy_query_result(result);
  if (observer_) Report(sql, false, output.elapsed_seconds);
  return output;
}

EmbeddedWarehouse::ReadTotals EmbeddedWarehouse::ReadTotalsLocked() {
  static constexpr std::string_view kSql =
      "SELECT sumIf(value, event = 'SelectedRows'), sumIf(value, event = 'SelectedBytes') "
      "FROM system.events";
  static constexpr std::string_view kFormat = "TabSeparated";
  ReadTotals totals;
  ChdbApi::QueryResult* result =
      api_->query_n(*connection_, kSql.data(), kSql.size(), kFormat.data(), kFormat.size());
  if (result == nullptr) return totals;
  if (api_->result_error(result) == nullptr && api_->result_buffer(result) != nullptr) {
    std::string text(api_->result_buffer(result), api_->result_length(result));
    std::sscanf(text.c_str(), "%" SCNu64 "\t%" SCNu64, &totals.rows, &totals.bytes);
  }
  api_->destroy_query_result(result);
  return totals;
}

void EmbeddedWarehouse::Report(std::string_view sql, bool failed, double elapsed_seconds) {
  // What the statement read is the growth of the engine's totals since the last reading, less
  // what that reading itself read (system.events counts its own rows too).
  ReadTotals now = ReadTotalsLocked();
  auto grown = [](uint64_t after, uint64_t before, uint64_t cost) {
    return after > before + cost ? after - before - cost : 0;
  };
  QueryRecord record{.sql = sql, .failed = failed, .elapsed_seconds = elapsed_seconds};
  record.rows_read = grown(now.rows, last_read_.rows, reading_cost_.rows);
  record.bytes_read = grown(now.bytes, last_read_.bytes, reading_cost_.bytes);
  last_read_ = now;
  observer_(record);
}

Status EmbeddedWarehouse::OpenJournal() {
  auto journal = InsertJournal::Load(data_path_ + "/sluice-insert-journal");
  if (!journal.ok()) return journal.error();
  std::lock_guard lock(mutex_);
  journal_.emplace(std::move(journal).value());
  // The tables were loaded while connecting (async_load_databases=0), so the parts counted
  // below are all there.
  if (!journal_->in_flight()) return {};
  auto committed = BlocksAboveLocked(journal_->in_flight()->marks);
  if (!committed.ok()) return committed.error();
  spdlog::warn(
      "an insert under token '{}' was cut short by the last exit; {} of its blocks had been "
      "committed, so its retry {}",
      journal_->in_flight()->token, *committed,
      *committed == 0 ? "will carry a new token"
                      : "keeps its token and is checked for blocks dropped without their rows");
  return journal_->Resolve(*committed);
}

Result<BlockMarks> EmbeddedWarehouse::BlockMarksLocked() {
  if (!block_marks_) {
    auto tables = RunLocked(
        "SELECT database || '.' || name, arrayJoin(data_paths) FROM system.tables WHERE "
        "engine LIKE '%MergeTree' AND database NOT IN ('system', 'information_schema', "
        "'INFORMATION_SCHEMA')",
        "TabSeparated");
    if (!tables.ok()) return tables.error();
    std::vector<std::pair<std::string, std::string>> folders;
    for (const std::string& line : SplitLines(tables->data)) {
      size_t tab = line.find('\t');
      if (tab != std::string::npos) folders.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
    block_marks_.emplace(std::move(folders));
  }
  return block_marks_->Read();
}

Result<uint64_t> EmbeddedWarehouse::BlocksAboveLocked(const BlockMarks& marks) {
  auto parts = RunLocked(
      "SELECT database, table, min_block_number, max_block_number FROM system.parts WHERE "
      "active AND database NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA')",
      "TabSeparated");
  if (!parts.ok()) return parts.error();
  return CountBlocksAbove(marks, parts->data);
}

Result<uint64_t> EmbeddedWarehouse::RepeatedBlocksLocked() {
  // Every block an insert writes is counted by MergeTreeDataWriterBlocks, and each one that
  // becomes a part also by Inserted*Parts: the difference is the blocks dropped as repeats.
  // (DuplicatedInsertedBlocks is no count of blocks: 26.5 adds 3 per block dropped.)
  auto repeated = RunLocked(
      "SELECT sumIf(value, event = 'MergeTreeDataWriterBlocks') - "
      "sumIf(value, event IN ('InsertedWideParts', 'InsertedCompactParts')) FROM system.events",
      "TabSeparated");
  if (!repeated.ok()) return repeated.error();
  return std::strtoull(repeated->data.c_str(), nullptr, 10);
}

Result<QueryResult> EmbeddedWarehouse::Insert(const InsertRequest& request) {
  if (request.batch->num_rows() == 0) return QueryResult{};
  std::lock_guard lock(mutex_);
  const std::string& token = request.deduplication_token;
  if (token.empty() || !journal_) return InsertLocked(request, token);

  // A suspect none of whose blocks landed may have left its token behind without its rows: a
  // new token makes sure the retry is not dropped. One with blocks committed keeps its token so
  // that those are dropped as repeats, and no more than those may be.
  const SuspectInsert* suspect = journal_->FindSuspect(token);
  std::string attempt_token = token;
  std::optional<uint64_t> allowed_repeats;
  if (suspect != nullptr && suspect->committed_blocks == 0) {
    attempt_token = journal_->FreshToken(token);
  } else if (suspect != nullptr) {
    attempt_token = suspect->attempt_token;
    allowed_repeats = suspect->committed_blocks;
  }
  auto marks = BlockMarksLocked();
  if (!marks.ok()) return marks.error();
  auto repeats_before = allowed_repeats ? RepeatedBlocksLocked() : Result<uint64_t>(0);
  if (!repeats_before.ok()) return repeats_before.error();
  if (Status begun = journal_->Begin(token, attempt_token, *marks); !begun.ok()) {
    return begun.error();
  }

  auto result = InsertLocked(request, attempt_token);
  if (!result.ok()) {
    // A failed insert may have committed some of its blocks, like one cut short by a crash:
    // its retry is settled the same way.
    auto committed = BlocksAboveLocked(*marks);
    if (committed.ok()) (void)journal_->Resolve(*committed);
    return result;
  }
  if (allowed_repeats) {
    auto repeats_after = RepeatedBlocksLocked();
    if (!repeats_after.ok()) return repeats_after.error();
    uint64_t repeats = *repeats_after - *repeats_before;
    if (repeats > *allowed_repeats) {
      (void)journal_->Finish(token);
      return MakeError(
          ErrorCode::kWarehouseInsertLost,
          fmt::format("the retry of an insert cut short by a crash was dropped as a repeat in {} "
                      "blocks, but only {} of its blocks had been committed: the engine kept "
                      "the token of {} block(s) without their rows, which are lost",
                      repeats, *allowed_repeats, repeats - *allowed_repeats),
          fmt::format("{}.{} (token '{}')", request.database, request.table, token));
    }
  }
  if (Status finished = journal_->Finish(token); !finished.ok()) return finished.error();
  return result;
}

Result<QueryResult> EmbeddedWarehouse::InsertLocked(const InsertRequest& request,
                                                    const std::string& token) {
  const Batch& batch = *request.batch;
  ArrowBatchExport exported(batch);

  std::string columns;
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    if (i > 0) columns += ", ";
    columns += QuoteIdentifier(batch.schema()[i].name);
  }

  // Scan names live in one registry for the whole process; a counter keeps them unique.
  std::string scan_name = fmt::format("sluice_insert_{}", next_scan_id_++);
  if (api_->arrow_array_scan(*connection_, scan_name.c_str(), exported.schema(),
                             exported.array()) != 0) {
    return MakeError(ErrorCode::kWarehouseQueryFailed,
                     "the engine refused the batch's Arrow arrays",
                     fmt::format("{}.{}", request.database, request.table));
  }
  std::string sql = fmt::format("INSERT INTO {}.{} ({}) SELECT {} FROM arrowstream('{}')",
                                QuoteIdentifier(request.database), QuoteIdentifier(request.table),
                                columns, columns, scan_name);
  if (!token.empty()) {
    // Views fed by the table must drop a replayed block too, or their aggregates would count
    // it twice while the table itself stays exact.
    sql += fmt::format(
        " SETTINGS insert_deduplication_token = {}, "
        "deduplicate_blocks_in_dependent_materialized_views = 1",
        QuoteString(token));
  }
  auto result = RunLocked(sql, "TabSeparated");
  api_->arrow_unregister_table(*connection_, scan_name.c_str());
  if (!result.ok()) return result;
  // The engine counts in rows_written what the table received plus what its materialized
  // views wrote, so the count must match the batch exactly only for a table without views.
  auto views = RunLocked(
      fmt::format("SELECT length(dependencies_table) FROM system.tables WHERE database = {} AND "
                  "name = {}",
                  QuoteString(request.database), QuoteString(request.table)),
      "TabSeparated");
  bool has_views = views.ok() && Trim(views->data) != "0";
  if (has_views ? result->rows_written < batch.num_rows()
                : result->rows_written != batch.num_rows()) {
    return MakeError(
        ErrorCode::kWarehouseRowCountMismatch,
        fmt::format("sent {} rows but the engine wrote {}{}", batch.num_rows(),
                    result->rows_written, has_views ? " (including its materialized views)" : ""),
        fmt::format("{}.{}", request.database, request.table));
  }
  return result;
}

}  // namespace sluice
