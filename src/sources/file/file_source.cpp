#include "sources/file/file_source.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <cstring>

#include "base/clock.h"
#include "base/strings.h"

namespace sluice {
namespace {

constexpr size_t kChunkBytes = 8 << 20;
constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r") == std::string_view::npos;
}

/// The names of a CSV header record, unquoted.
std::vector<std::string> SplitHeader(std::string_view record, char delimiter) {
  std::vector<std::string> names;
  std::string current;
  bool quoted = false;
  for (size_t i = 0; i < record.size(); ++i) {
    char c = record[i];
    if (quoted) {
      if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
        current += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      names.push_back(std::string(Trim(current)));
      current.clear();
    } else if (c != '\r') {
      current += c;
    }
  }
  names.push_back(std::string(Trim(current)));
  return names;
}

}  // namespace

FileSource::FileSource(SourceSpec spec, std::vector<DecodeField> fields, DecodeOptions options)
    : spec_(std::move(spec)),
      fields_(std::move(fields)),
      options_(std::move(options)),
      schema_(SchemaOf(fields_)) {
  hash_ = XXH3_createState();
}

FileSource::~FileSource() {
  XXH3_freeState(hash_);
}

Status FileSource::Restore(const std::string& position) {
  unsigned long long offset = 0;
  unsigned long long line = 0;
  if (std::sscanf(position.c_str(), "%llu:%llu", &offset, &line) != 2 || line == 0) {
    return MakeError(ErrorCode::kInternal, fmt::format("bad file position '{}'", position),
                     spec_.name);
  }
  offset_ = offset;
  line_ = line;
  return {};
}

std::string FileSource::Position() const {
  return fmt::format("{}:{}", offset_, line_);
}

Status FileSource::Open() {
  file_.open(spec_.path, std::ios::binary);
  if (!file_) {
    return MakeError(ErrorCode::kIoError,
                     fmt::format("cannot open {}: {}", spec_.path, std::strerror(errno)),
                     spec_.where.ToString());
  }
  file_.seekg(static_cast<std::streamoff>(offset_));
  start_offset_ = offset_;
  buffer_.assign(kChunkBytes + kPadding, '\0');
  if (spec_.format == "csv") {
    std::vector<std::string> header;
    if (spec_.csv_header) {
      if (auto status = ReadCsvHeader(header); !status.ok()) return status;
    }
    try {
      csv_ = std::make_unique<CsvRecordDecoder>(fields_, spec_.csv_delimiter, std::move(header),
                                                options_);
    } catch (const SetupError& error) {
      return error.error();
    }
  } else {
    try {
      json_ = std::make_unique<JsonRecordDecoder>(fields_, options_);
    } catch (const SetupError& error) {
      return error.error();
    }
  }
  return {};
}

Status FileSource::ReadCsvHeader(std::vector<std::string>& header) {
  // The header is read even when resuming mid-file: it names the columns of every record.
  std::ifstream head(spec_.path, std::ios::binary);
  std::string text;
  std::string line;
  while (std::getline(head, line)) {
    text += line;
    text += '\n';
    CsvSplit split = CsvRecordDecoder::NextRecord(text, spec_.csv_delimiter);
    if (!split.open_quote) {
      header = SplitHeader(split.record, spec_.csv_delimiter);
      if (offset_ == 0) {
        offset_ = split.consumed;
        line_ = 1 + split.lines;
        file_.seekg(static_cast<std::streamoff>(offset_));
      }
      return {};
    }
  }
  return MakeError(ErrorCode::kRecordMalformed, "the CSV file has no complete header line",
                   fmt::format("{}:1", spec_.path));
}

Result<bool> FileSource::ReadMore() {
  if (end_of_file_) return false;
  size_t unread = end_ - begin_;
  std::memmove(buffer_.data(), buffer_.data() + begin_, unread);
  begin_ = 0;
  end_ = unread;
  // A record longer than the buffer grows it; otherwise the buffer stays one chunk.
  if (buffer_.size() - kPadding - end_ < kChunkBytes / 2) {
    buffer_.resize(buffer_.size() + kChunkBytes);
  }
  size_t room = buffer_.size() - kPadding - end_;
  file_.read(buffer_.data() + end_, static_cast<std::streamsize>(room));
  auto got = static_cast<size_t>(file_.gcount());
  if (file_.bad()) {
    return MakeError(ErrorCode::kIoError, fmt::format("reading {} failed", spec_.path),
                     spec_.where.ToString());
  }
  end_ += got;
  std::memset(buffer_.data() + end_, 0, kPadding);
  if (got == 0) end_of_file_ = true;
  return got > 0;
}

void FileSource::HandleRecord(std::string_view record, size_t capacity, Batch& batch,
                              std::vector<DeadLetter>& dead_letters) {
  XXH3_64bits_update(hash_, record.data(), record.size());
  if (IsBlank(record)) return;
  Status decoded = json_ ? json_->Decode(record.data(), record.size(), capacity, batch)
                         : csv_->Decode(record, batch);
  if (decoded.ok()) {
    if (keep_row_records_) {
      row_records_.emplace_back(std::string(record), fmt::format("{}:{}", spec_.path, line_));
    }
  } else {
    dead_letters.push_back(DeadLetter{WallClockMillis(), spec_.name,
                                      fmt::format("{}:{}", spec_.path, line_), std::string(record),
                                      decoded.error()});
  }
}

Result<PollStatus> FileSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  XXH3_64bits_reset(hash_);
  row_records_.clear();
  uint64_t first_line = line_;
  size_t handled = 0;
  bool finished = false;
  while (handled < spec_.batch_rows) {
    std::string_view unread(buffer_.data() + begin_, end_ - begin_);
    std::string_view record;
    size_t consumed = 0;
    size_t lines = 1;
    if (json_) {
      size_t newline = unread.find('\n');
      if (newline != std::string_view::npos) {
        record = unread.substr(0, newline);
        consumed = newline + 1;
      } else if (end_of_file_ && !unread.empty()) {
        record = unread;
        consumed = unread.size();
      }
      if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    } else {
      CsvSplit split = CsvRecordDecoder::NextRecord(unread, spec_.csv_delimiter);
      if (split.terminated || (end_of_file_ && !unread.empty())) {
        record = split.record;
        consumed = split.terminated ? split.consumed : unread.size();
        lines = std::max<size_t>(split.lines, 1);
      }
    }
    if (consumed == 0) {
      auto more = ReadMore();
      if (!more.ok()) return more.error();
      if (!*more && begin_ == end_) {
        finished = true;
        break;
      }
      continue;
    }
    size_t capacity = buffer_.size() - begin_;
    HandleRecord(record, capacity, batch, dead_letters);
    begin_ += consumed;
    offset_ += consumed;
    line_ += lines;
    ++handled;
  }
  last_identity_ = fmt::format("{}-{}:{:016x}", first_line, line_ - 1, XXH3_64bits_digest(hash_));
  return finished ? PollStatus::kFinished : PollStatus::kData;
}

}  // namespace sluice
