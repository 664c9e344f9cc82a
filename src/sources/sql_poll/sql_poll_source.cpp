#include "sources/sql_poll/sql_poll_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "format/text_value.h"

namespace sluice {

namespace {

constexpr auto kMaxWait = std::chrono::milliseconds(100);
constexpr uint32_t kMaxLimit = 1u << 24;

}  // namespace

SqlPollSource::SqlPollSource(std::string name, SqlPollSpec spec, std::vector<DecodeField> fields,
                             uint32_t batch_rows)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      fields_(std::move(fields)),
      schema_(SchemaOf(fields_)),
      batch_rows_(std::max<uint32_t>(batch_rows, 1)),
      limit_(batch_rows_) {}

Status SqlPollSource::Open() {
  auto driver = MakeSqlDriver(spec_.driver, spec_.dsn, name_);
  if (!driver.ok()) return driver.error();
  driver_ = std::move(driver).value();
  return driver_->Connect();
}

std::string SqlPollSource::Position() const {
  if (kind_ == CursorKind::kUnknown) return "sqlpoll:-";
  std::string text = fmt::format("sqlpoll:{}:{}:", static_cast<char>(kind_), last_);
  bool first = true;
  for (const auto& [cursor, hashes] : seen_) {
    text += fmt::format("{}{}=", first ? "" : ";", cursor);
    first = false;
    bool first_hash = true;
    for (uint64_t hash : hashes) {
      text += fmt::format("{}{:x}", first_hash ? "" : ",", hash);
      first_hash = false;
    }
  }
  return text;
}

Status SqlPollSource::Restore(const std::string& position) {
  auto bad = [&] {
    return MakeError(ErrorCode::kInternal, fmt::format("bad SQL polling position '{}'", position),
                     name_);
  };
  seen_.clear();
  remembered_ = 0;
  if (position == "sqlpoll:-") {
    kind_ = CursorKind::kUnknown;
    return {};
  }
  if (position.size() < 11 || position.compare(0, 8, "sqlpoll:") != 0) return bad();
  char kind = position[8];
  if (kind != 'i' && kind != 't') return bad();
  kind_ = static_cast<CursorKind>(kind);
  size_t colon = position.find(':', 10);
  if (colon == std::string::npos) return bad();
  try {
    last_ = std::stoll(position.substr(10, colon - 10));
    std::stringstream entries(position.substr(colon + 1));
    std::string entry;
    while (std::getline(entries, entry, ';')) {
      size_t equals = entry.find('=');
      if (equals == std::string::npos) return bad();
      int64_t cursor = std::stoll(entry.substr(0, equals));
      auto& hashes = seen_[cursor];
      std::stringstream list(entry.substr(equals + 1));
      std::string hash;
      while (std::getline(list, hash, ',')) {
        hashes.insert(std::stoull(hash, nullptr, 16));
        ++remembered_;
      }
    }
  } catch (const std::exception&) {
    return bad();
  }
  return {};
}

Result<int64_t> SqlPollSource::ParseCursor(const std::string& text) {
  if (kind_ == CursorKind::kUnknown) {
    kind_ = ParseIntegerText(text).ok() ? CursorKind::kInteger : CursorKind::kTimestamp;
  }
  if (kind_ == CursorKind::kInteger) {
    auto value = ParseIntegerFor(text, TypeKind::kInt64);
    if (!value.ok()) return value.error();
    return static_cast<int64_t>(*value);
  }
  std::string_view trimmed = text;
  if (trimmed.size() > 3 && trimmed.substr(trimmed.size() - 3) == "+00") trimmed.remove_suffix(3);
  return ParseDateTimeText(trimmed, TypeKind::kDateTime64, 6);
}

std::string SqlPollSource::CursorLiteral(int64_t value) const {
  if (kind_ == CursorKind::kInteger) return std::to_string(value);
  Column column(*ParseDataType("DateTime64(6, 'UTC')"));
  column.AppendFixed<int64_t>(value);
  return fmt::format("'{}'", ValueToText(column, 0));
}

std::string SqlPollSource::BuildQuery() const {
  std::string columns;
  for (const DecodeField& field : fields_) {
    columns += fmt::format("{}, ", driver_->Identifier(field.name));
  }
  columns += driver_->Identifier(spec_.cursor);
  for (const std::string& key : spec_.key) columns += ", " + driver_->Identifier(key);
  std::string where;
  if (kind_ != CursorKind::kUnknown) {
    int64_t overlap = kind_ == CursorKind::kTimestamp ? spec_.overlap * 1000000 : spec_.overlap;
    where = fmt::format(" WHERE {} >= {}", driver_->Identifier(spec_.cursor),
                        CursorLiteral(last_ - overlap));
  }
  std::string order = driver_->Identifier(spec_.cursor);
  for (const std::string& key : spec_.key) order += ", " + driver_->Identifier(key);
  return fmt::format("SELECT {} FROM {}{} ORDER BY {} LIMIT {}", columns,
                     driver_->Identifier(spec_.table), where, order, limit_);
}

void SqlPollSource::Forget() {
  int64_t overlap = kind_ == CursorKind::kTimestamp ? spec_.overlap * 1000000 : spec_.overlap;
  while (!seen_.empty() &&
         (seen_.begin()->first < last_ - overlap || remembered_ > kMaxRemembered)) {
    remembered_ -= seen_.begin()->second.size();
    seen_.erase(seen_.begin());
  }
}

Result<PollStatus> SqlPollSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  last_identity_.clear();
  auto now = std::chrono::steady_clock::now();
  if (now < next_query_) {
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(next_query_ - now, kMaxWait));
    return PollStatus::kIdle;
  }
  auto result = driver_->Query(BuildQuery());
  if (!result.ok()) {
    // The database may be restarting, or the table being swapped: the next poll after
    // `interval` tries again (on a new connection). An error here would stop the whole job.
    next_query_ = std::chrono::steady_clock::now() + spec_.interval;
    spdlog::warn("sql_poll source {}: {}; retrying in {} ms [SQL_POLL_FAILED]", name_,
                 result.error().ToString(), spec_.interval.count());
    return PollStatus::kIdle;
  }
  SqlRows& rows = *result;
  size_t cursor_index = fields_.size();
  XXH3_state_t* poll_hash = XXH3_createState();
  XXH3_64bits_reset(poll_hash);
  size_t fresh = 0;
  int64_t first_cursor = 0;
  int64_t largest = last_;
  for (auto& values : rows.rows) {
    if (!values[cursor_index]) continue;  // a NULL cursor is never found again by the query
    auto cursor = ParseCursor(*values[cursor_index]);
    if (!cursor.ok()) {
      XXH3_freeState(poll_hash);
      return MakeError(ErrorCode::kSqlPollFailed,
                       fmt::format("cursor column {} holds {}: {}", spec_.cursor,
                                   QuoteForMessage(*values[cursor_index]), cursor.error().message),
                       name_);
    }
    // A row is identified by its key and cursor values: the same row changed again (a new
    // cursor value) is a new row, a re-read one is not.
    XXH3_state_t* row_hash = XXH3_createState();
    XXH3_64bits_reset(row_hash);
    for (size_t k = cursor_index; k < values.size(); ++k) {
      const std::string& text = values[k] ? *values[k] : std::string("\\N");
      XXH3_64bits_update(row_hash, text.data(), text.size());
      XXH3_64bits_update(row_hash, "\t", 1);
    }
    uint64_t identity = XXH3_64bits_digest(row_hash);
    XXH3_freeState(row_hash);
    if (!seen_[*cursor].insert(identity).second) continue;
    ++remembered_;
    largest = std::max(largest, *cursor);
    if (fresh++ == 0) first_cursor = *cursor;
    XXH3_64bits_update(poll_hash, &identity, sizeof(identity));
    size_t row = batch.num_rows();
    std::string raw;
    for (size_t c = 0; c < fields_.size(); ++c) {
      if (values[c]) bytes_read_ += values[c]->size();
      raw += fmt::format("{}{}={}", c == 0 ? "" : " ", fields_[c].name,
                         values[c] ? *values[c] : "NULL");
    }
    for (size_t c = 0; c < fields_.size(); ++c) {
      Column& column = batch.column(c);
      Status status;
      if (!values[c]) {
        if (column.nullable()) {
          column.AppendNull();
        } else {
          AppendZeroValue(column);
        }
      } else {
        status = driver_->AppendValue(*values[c], rows.type_oids[c], column);
      }
      if (!status.ok()) {
        batch.Truncate(row);
        Error error = status.error();
        error.code = ErrorCode::kSourceValueUnconvertible;
        error.where = fields_[c].name;
        error.message = fmt::format("column {}: {}", fields_[c].name, error.message);
        dead_letters.push_back(
            DeadLetter{WallClockMillis(), name_,
                       fmt::format("{} {}={}", spec_.table, spec_.cursor, *values[cursor_index]),
                       std::move(raw), std::move(error)});
        break;
      }
    }
  }
  last_ = largest;
  Forget();
  // A full page that brought nothing new is all re-reads of one stretch of cursor values:
  // read more at once next time, or the cursor would never move past it.
  bool full = rows.rows.size() >= limit_;
  if (full && fresh == 0) {
    limit_ = std::min(limit_ * 2, kMaxLimit);
  } else if (fresh > 0) {
    limit_ = batch_rows_;
  }
  if (fresh == 0) {
    XXH3_freeState(poll_hash);
    if (full && limit_ < kMaxLimit) return Poll(batch, dead_letters);
    next_query_ = std::chrono::steady_clock::now() + spec_.interval;
    return PollStatus::kIdle;
  }
  last_identity_ =
      fmt::format("sqlpoll:{}-{}:{:016x}", first_cursor, largest, XXH3_64bits_digest(poll_hash));
  XXH3_freeState(poll_hash);
  if (!full) next_query_ = std::chrono::steady_clock::now() + spec_.interval;
  return PollStatus::kData;
}

}  // namespace sluice
