#include "sources/postgres_cdc/snapshot_copier.h"

#include <fmt/format.h>
#include <xxhash.h>

#include "base/clock.h"
#include "sources/pg_connection.h"
#include "sources/pg_types.h"

namespace sluice {

void SplitCopyLine(std::string_view line, std::vector<std::optional<std::string_view>>& fields,
                   std::string& scratch) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  fields.clear();
  scratch.clear();
  // Unescaped fields never outgrow the line: the views into `scratch` stay valid.
  scratch.reserve(line.size());
  size_t i = 0;
  while (true) {
    size_t end = line.find('\t', i);
    if (end == std::string_view::npos) end = line.size();
    std::string_view field = line.substr(i, end - i);
    if (field == "\\N") {
      fields.emplace_back(std::nullopt);
    } else if (field.find('\\') == std::string_view::npos) {
      fields.emplace_back(field);  // the common case: no escapes, no copy
    } else {
      size_t begin = scratch.size();
      for (size_t k = 0; k < field.size(); ++k) {
        char c = field[k];
        if (c != '\\' || k + 1 >= field.size()) {
          scratch += c;
          continue;
        }
        char next = field[++k];
        switch (next) {
          case 'b':
            scratch += '\b';
            break;
          case 'f':
            scratch += '\f';
            break;
          case 'n':
            scratch += '\n';
            break;
          case 'r':
            scratch += '\r';
            break;
          case 't':
            scratch += '\t';
            break;
          case 'v':
            scratch += '\v';
            break;
          case 'x': {
            int value = 0;
            size_t digits = 0;
            while (digits < 2 && k + 1 < field.size() && std::isxdigit(field[k + 1])) {
              char h = field[++k];
              value = value * 16 + (std::isdigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
              ++digits;
            }
            scratch += static_cast<char>(value);
            break;
          }
          default:
            if (next >= '0' && next <= '7') {
              int value = next - '0';
              for (int n = 0;
                   n < 2 && k + 1 < field.size() && field[k + 1] >= '0' && field[k + 1] <= '7';
                   ++n) {
                value = value * 8 + (field[++k] - '0');
              }
              scratch += static_cast<char>(value);
            } else {
              scratch += next;
            }
        }
      }
      fields.emplace_back(std::string_view(scratch).substr(begin));
    }
    if (end == line.size()) break;
    i = end + 1;
  }
}

std::vector<std::optional<std::string>> SplitCopyLine(std::string_view line) {
  std::vector<std::optional<std::string_view>> views;
  std::string scratch;
  SplitCopyLine(line, views, scratch);
  std::vector<std::optional<std::string>> fields;
  for (const auto& view : views) {
    if (view) {
      fields.emplace_back(std::string(*view));
    } else {
      fields.emplace_back(std::nullopt);
    }
  }
  return fields;
}

SnapshotCopier::SnapshotCopier(SnapshotJob job, std::atomic<uint64_t>* rows_done)
    : job_(std::move(job)), rows_done_(rows_done) {
  running_ = job_.queries.size();
  for (size_t range = 0; range < job_.queries.size(); ++range) {
    workers_.emplace_back([this, range] { Run(range); });
  }
}

SnapshotCopier::~SnapshotCopier() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void SnapshotCopier::Run(size_t range) {
  Status status = Copy(range);
  std::lock_guard lock(mutex_);
  if (!status.ok() && !failure_) failure_ = status.error();
  --running_;
  changed_.notify_all();
}

bool SnapshotCopier::Push(SnapshotChunk chunk) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stop_ || queue_.size() < 2 * workers_.size(); });
  if (stop_) return false;
  queue_.push_back(std::move(chunk));
  changed_.notify_all();
  return true;
}

Status SnapshotCopier::Copy(size_t range) {
  auto connected =
      PgConnection::Connect(job_.dsn, false, ErrorCode::kPgConnectionFailed, job_.source_name);
  if (!connected.ok()) return connected.error();
  PgConnection& connection = **connected;
  if (auto begun = connection.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      !begun.ok()) {
    return begun.error();
  }
  if (!job_.snapshot_name.empty()) {
    auto set = connection.Exec(
        fmt::format("SET TRANSACTION SNAPSHOT {}", connection.Literal(job_.snapshot_name)));
    if (!set.ok()) {
      Error error = set.error();
      error.code = ErrorCode::kPgReplicationFailed;
      return error;
    }
  }
  auto copy = connection.Exec(job_.queries[range]);
  if (!copy.ok()) return copy.error();

  size_t source_columns = job_.type_oids.size();
  XXH3_state_t* hash = XXH3_createState();
  auto start_chunk = [&] { XXH3_64bits_reset(hash); };
  start_chunk();
  SnapshotChunk chunk{Batch(job_.schema), {}, {}};
  uint64_t chunk_index = 0;
  auto flush = [&]() -> bool {
    chunk.identity =
        fmt::format("{}:{}:{}:{:016x}", job_.table, range, chunk_index++, XXH3_64bits_digest(hash));
    uint64_t rows = chunk.batch.num_rows() + chunk.dead_letters.size();
    bool pushed = Push(std::move(chunk));
    rows_done_->fetch_add(rows);
    chunk = SnapshotChunk{Batch(job_.schema), {}, {}};
    start_chunk();
    return pushed;
  };
  Status result;
  bool stopped = false;
  std::vector<std::optional<std::string_view>> fields;
  std::string scratch;
  while (true) {
    char* buffer = nullptr;
    int size = PQgetCopyData(connection.get(), &buffer, 0);
    if (size == -1) break;
    if (size < 0) {
      result = MakeError(ErrorCode::kPgConnectionFailed,
                         fmt::format("copying {} failed: {}", job_.table, connection.LastError()),
                         job_.source_name);
      break;
    }
    std::string_view line(buffer, static_cast<size_t>(size));
    XXH3_64bits_update(hash, line.data(), line.size());
    SplitCopyLine(line, fields, scratch);
    Batch& batch = chunk.batch;
    size_t row = batch.num_rows();
    Status converted;
    size_t failed_column = 0;
    for (size_t c = 0; c < source_columns && converted.ok(); ++c) {
      Column& column = batch.column(c);
      if (c >= fields.size() || !fields[c]) {
        column.AppendNull();
      } else {
        converted = AppendPgText(*fields[c], job_.type_oids[c], column);
        failed_column = c;
      }
    }
    if (converted.ok()) {
      batch.column(source_columns).AppendFixed<uint64_t>(0);
      batch.column(source_columns + 1).AppendFixed<uint8_t>(0);
    } else {
      batch.Truncate(row);
      Error error = converted.error();
      error.code = ErrorCode::kSourceValueUnconvertible;
      error.where = job_.schema[failed_column].name;
      error.message = fmt::format("column {} of {}: {}", job_.schema[failed_column].name,
                                  job_.table, error.message);
      chunk.dead_letters.push_back(
          DeadLetter{WallClockMillis(), job_.source_name, fmt::format("{} snapshot", job_.table),
                     std::string(line.substr(0, line.size() - 1)), std::move(error)});
    }
    PQfreemem(buffer);
    // Measuring the batch costs a pass over its columns: every 4096 rows is often enough.
    bool full = batch.num_rows() + chunk.dead_letters.size() >= job_.batch_rows ||
                (batch.num_rows() % 4096 == 0 && batch.ByteSize() >= job_.batch_bytes);
    if (full && !flush()) {
      stopped = true;
      break;
    }
  }
  // The COPY's final status, then the end of results (a stopped copy is abandoned with its
  // connection).
  while (PGresult* raw = stopped ? nullptr : PQgetResult(connection.get())) {
    PgResult end(raw, &PQclear);
    if (result.ok() && PQresultStatus(raw) != PGRES_COMMAND_OK) {
      result =
          MakeError(ErrorCode::kPgConnectionFailed,
                    fmt::format("copying {} failed: {}", job_.table, PQresultErrorMessage(raw)),
                    job_.source_name);
    }
  }
  if (result.ok() && (chunk.batch.num_rows() > 0 || !chunk.dead_letters.empty())) flush();
  XXH3_freeState(hash);
  return result;
}

Result<std::optional<SnapshotChunk>> SnapshotCopier::Next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || running_ == 0 || failure_; });
  if (failure_) return *failure_;
  if (queue_.empty()) return std::optional<SnapshotChunk>();
  SnapshotChunk chunk = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return std::optional<SnapshotChunk>(std::move(chunk));
}

}  // namespace sluice
