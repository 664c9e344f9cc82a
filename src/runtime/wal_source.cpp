#include "runtime/wal_source.h"

#include <fmt/format.h>

#include "core/batch_codec.h"
#include "runtime/wal_entry.h"

namespace sluice {

WalSource::WalSource(const WriteAheadLog& wal, uint32_t stream_index, Schema schema,
                     size_t max_records_per_poll)
    : wal_(wal),
      stream_index_(stream_index),
      schema_(std::move(schema)),
      max_records_(max_records_per_poll) {}

Result<PollStatus> WalSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  (void)dead_letters;  // refused records were sent to the dead-letter table when ingested
  auto records = wal_.ReadAfter(after_, max_records_, 16 << 20);
  if (!records.ok()) return records.error();
  if (records->empty()) return PollStatus::kIdle;
  // The log's sequences are dense: a first record past after_ + 1 means the records between
  // were released under this reader, and aggregating on would leave them out without a trace.
  if (records->front().sequence != after_ + 1) {
    return MakeError(ErrorCode::kWalCorrupt,
                     fmt::format("the write-ahead log no longer holds records {}-{} that this "
                                 "reader has not read yet",
                                 after_ + 1, records->front().sequence - 1));
  }
  last_poll_first_ = records->front().sequence;
  for (const WalRecord& record : *records) {
    std::string_view payload = record.payload;
    auto entry = DecodeWalEntryHeader(payload);
    if (!entry.ok()) return entry.error();
    if (entry->stream_index == stream_index_) {
      Batch rows(schema_);
      if (Status decoded = DecodeBatch(payload, rows); !decoded.ok()) {
        return MakeError(ErrorCode::kWalCorrupt,
                         fmt::format("record {}: {}", record.sequence, decoded.error().message));
      }
      batch.AppendBatch(rows);
    }
    bytes_read_ += record.payload.size();
    after_ = record.sequence;
  }
  return PollStatus::kData;
}

std::string WalSource::Position() const {
  return fmt::format("wal:{}", after_);
}

std::optional<uint64_t> WalSource::SequenceOf(const std::string& position) {
  if (position.rfind("wal:", 0) != 0 || position.size() == 4) return std::nullopt;
  uint64_t value = 0;
  for (char c : position.substr(4)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

Status WalSource::Restore(const std::string& position) {
  std::optional<uint64_t> sequence = SequenceOf(position);
  if (!sequence) {
    return MakeError(ErrorCode::kCheckpointCorrupt,
                     "'" + position + "' is not a write-ahead log position");
  }
  // The log releases what every job has committed past; a position older than that (a
  // savepoint taken before the job went on and committed more) would silently skip records.
  uint64_t first = wal_.first_sequence();
  if (*sequence + 1 < first) {
    return MakeError(ErrorCode::kSavepointMismatch,
                     fmt::format("the write-ahead log no longer holds the records after sequence "
                                 "{} (its oldest is {}): they were committed and released after "
                                 "this position was saved, so restoring it would skip them",
                                 *sequence, first));
  }
  // A position past the log's end names records the log no longer has (it was cut short or
  // replaced): the sequences after it are handed out again to new records, which this reader
  // would then skip as already read.
  uint64_t last = wal_.last_sequence();
  if (*sequence > last) {
    return MakeError(ErrorCode::kSavepointMismatch,
                     fmt::format("the position is write-ahead log record {} but the log ends at "
                                 "{}: new records would get the sequences up to {} and be "
                                 "skipped as already read",
                                 *sequence, last, *sequence));
  }
  after_ = *sequence;
  return {};
}

std::string WalSource::LastPollIdentity() const {
  return fmt::format("wal/{}-{}", last_poll_first_, after_);
}

}  // namespace sluice
