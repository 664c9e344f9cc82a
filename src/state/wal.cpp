#include "state/wal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "state/wal_format.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// ReadAfter starts scanning at the last index entry at or before the wanted record, so an
// entry every this many bytes bounds the scan without indexing every record.
constexpr uint64_t kIndexStride = 64 << 10;
constexpr size_t kReadChunkBytes = 256 << 10;
// A leader takes queued appends up to about this many bytes, which bounds its buffer and the
// wait of the callers it leads.
constexpr uint64_t kMaxBatchBytes = 16 << 20;

std::string AtOffset(uint64_t offset) {
  return "at byte offset " + std::to_string(offset);
}

/// Reads a segment's records front to back through a buffer, so a scan costs few syscalls.
class SegmentScanner {
 public:
  enum class Step { kRecord, kEnd, kTruncated, kCorrupt };

  SegmentScanner(int fd, const std::string& path, uint64_t offset, uint64_t end)
      : fd_(fd), path_(path), buffer_start_(offset), end_(end) {}

  /// The record stays valid until the next call.
  Result<Step> Next(wal::DecodedRecord& record) {
    while (true) {
      std::string_view rest = std::string_view(buffer_).substr(position_);
      record_offset_ = buffer_start_ + position_;
      switch (wal::DecodeRecord(rest, record)) {
        case wal::DecodeStatus::kRecord:
          position_ += record.size;
          return Step::kRecord;
        case wal::DecodeStatus::kCorrupt:
          return Step::kCorrupt;
        case wal::DecodeStatus::kIncomplete:
          break;
      }
      uint64_t buffered_end = buffer_start_ + buffer_.size();
      if (buffered_end == end_) return rest.empty() ? Step::kEnd : Step::kTruncated;
      buffer_.erase(0, position_);
      buffer_start_ += position_;
      position_ = 0;
      size_t wanted = std::max(kReadChunkBytes,
                               std::min(wal::RecordSizeHint(buffer_),
                                        wal::kRecordHeaderBytes + size_t{wal::kMaxPayloadBytes}));
      size_t more =
          static_cast<size_t>(std::min<uint64_t>(end_ - buffered_end, wanted - buffer_.size()));
      size_t old_size = buffer_.size();
      buffer_.resize(old_size + more);
      if (Status read = ReadExactAt(fd_, buffer_.data() + old_size, more, buffered_end, path_);
          !read.ok()) {
        return read.error();
      }
    }
  }

  /// Where the record Next returned, or the damage it found, starts in the file.
  uint64_t record_offset() const { return record_offset_; }

 private:
  int fd_;
  const std::string& path_;
  uint64_t buffer_start_;
  uint64_t end_;
  std::string buffer_;
  size_t position_ = 0;
  uint64_t record_offset_ = 0;
};

}  // namespace

struct WriteAheadLog::Segment {
  std::string path;
  uint64_t first_sequence = 0;
  FileDescriptor fd;
  // Guarded by state_mu_: the synced part, which is all readers may see.
  uint64_t last_sequence = 0;  // first_sequence - 1 while empty
  uint64_t durable_bytes = 0;
  std::vector<std::pair<uint64_t, uint64_t>> index;  // (sequence, byte offset), ascending
};

struct WriteAheadLog::PendingAppend {
  std::span<const std::string_view> payloads;
  uint64_t bytes = 0;
  // Set by the leader before `done`; read by the caller after it sees `done` under queue_mu_.
  uint64_t first_sequence = 0;
  std::optional<Error> error;
  bool done = false;
};

WriteAheadLog::WriteAheadLog(WalOptions options)
    : options_(std::move(options)), retain_after_(options_.retain_after) {}

WriteAheadLog::~WriteAheadLog() = default;

Result<std::unique_ptr<WriteAheadLog>> WriteAheadLog::Open(WalOptions options) {
  if (options.directory.empty()) {
    return MakeError(ErrorCode::kIoError, "the write-ahead log needs a directory");
  }
  std::error_code error;
  fs::create_directories(options.directory, error);
  if (error) {
    return MakeError(ErrorCode::kIoError, "cannot create the directory: " + error.message(),
                     options.directory);
  }
  std::unique_ptr<WriteAheadLog> log(new WriteAheadLog(std::move(options)));
  const std::string& directory = log->options_.directory;
  auto lock = OpenFile(directory + "/" + std::string(wal::kLockFileName), O_RDWR | O_CREAT);
  if (!lock.ok()) return lock.error();
  if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return MakeError(ErrorCode::kIoError, "the write-ahead log is already open elsewhere",
                       directory);
    }
    return FileError("flock", directory, errno);
  }
  log->lock_file_ = std::move(*lock);
  if (Status recovered = log->Recover(); !recovered.ok()) return recovered.error();
  return log;
}

Status WriteAheadLog::Recover() {
  const std::string& directory = options_.directory;
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      // A crash before the rename: the file it was to replace (if any) is still whole.
      fs::remove(entry.path(), error);
      if (error) return MakeError(ErrorCode::kIoError, error.message(), entry.path().string());
    } else if (auto first = wal::ParseSegmentFileName(name)) {
      found.emplace_back(*first, entry.path().string());
    }
  }
  if (error) return MakeError(ErrorCode::kIoError, error.message(), directory);
  std::sort(found.begin(), found.end());

  std::string delivered_path = directory + "/" + std::string(wal::kDeliveredFileName);
  if (fs::exists(delivered_path)) {
    std::ifstream file(delivered_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file) return FileError("read", delivered_path, errno);
    auto delivered = wal::DecodeDelivered(bytes, delivered_path);
    if (!delivered.ok()) return delivered.error();
    delivered_sequence_ = *delivered;
  }

  for (size_t i = 0; i < found.size(); ++i) {
    auto segment = std::make_shared<Segment>();
    segment->first_sequence = found[i].first;
    segment->path = found[i].second;
    auto fd = OpenFile(segment->path, O_RDWR);
    if (!fd.ok()) return fd.error();
    segment->fd = std::move(*fd);
    if (!segments_.empty() && segment->first_sequence != segments_.back()->last_sequence + 1) {
      return MakeError(ErrorCode::kWalCorrupt,
                       "the segment starts at sequence " + std::to_string(segment->first_sequence) +
                           " but the one before ends at " +
                           std::to_string(segments_.back()->last_sequence),
                       segment->path);
    }
    if (Status scanned = RecoverSegment(*segment, i + 1 == found.size()); !scanned.ok()) {
      return scanned;
    }
    segments_.push_back(std::move(segment));
  }
  if (!segments_.empty() && segments_.front()->first_sequence > delivered_sequence_ + 1) {
    return MakeError(ErrorCode::kWalCorrupt,
                     "the oldest segment starts at sequence " +
                         std::to_string(segments_.front()->first_sequence) +
                         " but only sequences up to " + std::to_string(delivered_sequence_) +
                         " are delivered: undelivered records are missing",
                     segments_.front()->path);
  }

  uint64_t last = delivered_sequence_;
  if (!segments_.empty()) last = std::max(last, segments_.back()->last_sequence);
  while (!segments_.empty() &&
         segments_.front()->last_sequence <= std::min(delivered_sequence_, retain_after_)) {
    if (::unlink(segments_.front()->path.c_str()) != 0) {
      return FileError("unlink", segments_.front()->path, errno);
    }
    segments_.erase(segments_.begin());
  }
  for (const auto& segment : segments_) disk_bytes_ += segment->durable_bytes;
  durable_sequence_ = last;
  next_sequence_ = last + 1;
  if (!segments_.empty()) {
    active_ = segments_.back();
    write_offset_ = buffer_offset_ = active_->durable_bytes;
    unsynced_sequence_ = active_->last_sequence;
    last_index_offset_ = active_->index.empty() ? 0 : active_->index.back().second;
  }
  return {};
}

Status WriteAheadLog::RecoverSegment(Segment& segment, bool newest) {
  auto size = FileSize(segment.fd.get(), segment.path);
  if (!size.ok()) return size.error();
  // Segments appear by rename only once their header is synced, so a bad header is damage.
  std::string magic(wal::kSegmentHeaderBytes, '\0');
  if (*size < wal::kSegmentHeaderBytes ||
      !ReadExactAt(segment.fd.get(), magic.data(), magic.size(), 0, segment.path).ok() ||
      magic != wal::kSegmentMagic) {
    return MakeError(ErrorCode::kWalCorrupt, "not a sluice write-ahead log segment (bad header)",
                     segment.path);
  }
  SegmentScanner scanner(segment.fd.get(), segment.path, wal::kSegmentHeaderBytes, *size);
  uint64_t expected = segment.first_sequence;
  uint64_t last_index_offset = 0;
  wal::DecodedRecord record;
  while (true) {
    auto step = scanner.Next(record);
    if (!step.ok()) return step.error();
    if (*step == SegmentScanner::Step::kEnd) break;
    uint64_t offset = scanner.record_offset();
    if (*step == SegmentScanner::Step::kRecord) {
      if (record.sequence != expected) {
        return MakeError(ErrorCode::kWalCorrupt,
                         "the record " + AtOffset(offset) + " has sequence " +
                             std::to_string(record.sequence) + " where " +
                             std::to_string(expected) + " was expected",
                         segment.path);
      }
      if (segment.index.empty() || offset - last_index_offset >= kIndexStride) {
        segment.index.emplace_back(expected, offset);
        last_index_offset = offset;
      }
      ++expected;
      continue;
    }
    std::string problem = *step == SegmentScanner::Step::kTruncated
                              ? "the file ends inside the record " + AtOffset(offset)
                              : "the record " + AtOffset(offset) + " fails its checksum";
    if (!newest) {
      return MakeError(ErrorCode::kWalCorrupt, problem + " of a segment that is not the newest",
                       segment.path);
    }
    // A crash mid-write damages only the unsynced end of the newest segment, whose records
    // were never acknowledged; a valid record after the damage means acknowledged data is hit.
    std::string tail(*size - offset, '\0');
    if (Status read = ReadExactAt(segment.fd.get(), tail.data(), tail.size(), offset, segment.path);
        !read.ok()) {
      return read;
    }
    if (wal::ValidRecordFollows(tail, expected)) {
      return MakeError(ErrorCode::kWalCorrupt, problem + " and valid records follow it",
                       segment.path);
    }
    spdlog::warn("write-ahead log {}: dropping a torn tail of {} bytes {} ({})", segment.path,
                 tail.size(), AtOffset(offset), problem);
    if (::ftruncate(segment.fd.get(), static_cast<off_t>(offset)) != 0) {
      return FileError("ftruncate", segment.path, errno);
    }
    if (Status synced = SyncData(segment.fd.get(), segment.path); !synced.ok()) return synced;
    *size = offset;
    break;
  }
  segment.last_sequence = expected - 1;
  segment.durable_bytes = *size;
  return {};
}

Result<uint64_t> WriteAheadLog::Append(std::string_view payload) {
  return AppendMany(std::span<const std::string_view>(&payload, 1));
}

Result<uint64_t> WriteAheadLog::AppendMany(std::span<const std::string_view> payloads) {
  if (payloads.empty()) return MakeError(ErrorCode::kInternal, "AppendMany needs a payload");
  PendingAppend request;
  request.payloads = payloads;
  for (std::string_view payload : payloads) {
    if (payload.size() > wal::kMaxPayloadBytes) {
      return MakeError(ErrorCode::kWalRecordTooLarge,
                       "a record of " + std::to_string(payload.size()) +
                           " bytes is larger than the write-ahead log's limit of " +
                           std::to_string(wal::kMaxPayloadBytes));
    }
    request.bytes += wal::kRecordHeaderBytes + payload.size();
  }

  std::unique_lock lock(queue_mu_);
  pending_.push_back(&request);
  while (!request.done) {
    if (leader_active_) {
      queue_cv_.wait(lock);
      continue;
    }
    // No batch is being written: this caller leads the next one, taking everything queued so
    // far (its own request included unless the byte cap cuts the batch short).
    leader_active_ = true;
    size_t taken = 0;
    uint64_t bytes = 0;
    while (taken < pending_.size() &&
           (taken == 0 || bytes + pending_[taken]->bytes <= kMaxBatchBytes)) {
      bytes += pending_[taken++]->bytes;
    }
    std::vector<PendingAppend*> batch(pending_.begin(), pending_.begin() + taken);
    pending_.erase(pending_.begin(), pending_.begin() + taken);
    lock.unlock();
    WriteBatch(batch);
    lock.lock();
    for (PendingAppend* done : batch) done->done = true;
    leader_active_ = false;
    queue_cv_.notify_all();
  }
  if (request.error) return *request.error;
  return request.first_sequence;
}

void WriteAheadLog::WriteBatch(std::span<PendingAppend* const> batch) {
  std::lock_guard write_lock(write_mu_);
  uint64_t disk_before = disk_bytes();
  uint64_t planned = 0;
  std::vector<PendingAppend*> accepted;
  for (PendingAppend* request : batch) {
    if (failure_) {
      request->error = *failure_;
      continue;
    }
    if (disk_before + planned + request->bytes > options_.max_disk_bytes) {
      request->error =
          MakeError(ErrorCode::kWalFull,
                    "the write-ahead log holds " + std::to_string(disk_before + planned) +
                        " bytes of a limit of " + std::to_string(options_.max_disk_bytes) +
                        ": appends resume as delivered records free space",
                    options_.directory);
      continue;
    }
    request->first_sequence = next_sequence_;
    for (std::string_view payload : request->payloads) {
      if (Status added = AddRecord(payload); !added.ok()) {
        failure_ = added.error();
        break;
      }
    }
    if (failure_) {
      request->error = *failure_;
      continue;
    }
    planned += request->bytes;
    accepted.push_back(request);
  }
  if (!failure_) {
    if (Status flushed = FlushActive(); !flushed.ok()) failure_ = flushed.error();
  }
  if (failure_) {
    for (PendingAppend* request : accepted) request->error = *failure_;
  }
}

Status WriteAheadLog::AddRecord(std::string_view payload) {
  uint64_t record_bytes = wal::kRecordHeaderBytes + payload.size();
  bool active_has_records = active_ && write_offset_ > wal::kSegmentHeaderBytes;
  if (!active_ || (active_has_records && write_offset_ + record_bytes > options_.segment_bytes)) {
    // The old segment is synced before the new one exists, so only the newest can be torn.
    if (active_) {
      if (Status flushed = FlushActive(); !flushed.ok()) return flushed;
    }
    if (Status started = StartSegment(next_sequence_); !started.ok()) return started;
  }
  if (write_offset_ == wal::kSegmentHeaderBytes ||
      write_offset_ - last_index_offset_ >= kIndexStride) {
    unpublished_index_.emplace_back(next_sequence_, write_offset_);
    last_index_offset_ = write_offset_;
  }
  wal::EncodeRecord(next_sequence_, payload, buffer_);
  write_offset_ += record_bytes;
  unsynced_sequence_ = next_sequence_++;
  return {};
}

Status WriteAheadLog::FlushActive() {
  if (buffer_.empty()) return {};
  if (Status written = WriteAllAt(active_->fd.get(), buffer_, buffer_offset_, active_->path);
      !written.ok()) {
    return written;
  }
  if (Status synced = SyncData(active_->fd.get(), active_->path); !synced.ok()) return synced;
  {
    std::lock_guard state_lock(state_mu_);
    active_->index.insert(active_->index.end(), unpublished_index_.begin(),
                          unpublished_index_.end());
    active_->last_sequence = unsynced_sequence_;
    active_->durable_bytes = write_offset_;
    disk_bytes_ += buffer_.size();
    durable_sequence_ = unsynced_sequence_;
  }
  unpublished_index_.clear();
  buffer_.clear();
  buffer_offset_ = write_offset_;
  return {};
}

Status WriteAheadLog::StartSegment(uint64_t first_sequence) {
  auto segment = std::make_shared<Segment>();
  segment->first_sequence = first_sequence;
  segment->last_sequence = first_sequence - 1;
  segment->durable_bytes = wal::kSegmentHeaderBytes;
  segment->path = options_.directory + "/" + wal::SegmentFileName(first_sequence);
  // Created under a temporary name and renamed once its header is durable, so a segment file
  // always starts with a whole header.
  std::string temporary = segment->path + ".tmp";
  auto fd = OpenFile(temporary, O_RDWR | O_CREAT | O_TRUNC);
  if (!fd.ok()) return fd.error();
  if (Status written = WriteAllAt(fd->get(), wal::kSegmentMagic, 0, temporary); !written.ok()) {
    return written;
  }
  if (Status synced = SyncData(fd->get(), temporary); !synced.ok()) return synced;
  if (::rename(temporary.c_str(), segment->path.c_str()) != 0) {
    return FileError("rename", temporary, errno);
  }
  if (Status synced = SyncDirectory(options_.directory); !synced.ok()) return synced;
  segment->fd = std::move(*fd);
  {
    std::lock_guard state_lock(state_mu_);
    segments_.push_back(segment);
    disk_bytes_ += wal::kSegmentHeaderBytes;
  }
  active_ = std::move(segment);
  write_offset_ = buffer_offset_ = wal::kSegmentHeaderBytes;
  return {};
}

Status WriteAheadLog::SyncData(int fd, const std::string& path) {
  sync_count_.fetch_add(1, std::memory_order_relaxed);
  if (::fdatasync(fd) != 0) return FileError("fdatasync", path, errno);
  return {};
}

Result<std::vector<WalRecord>> WriteAheadLog::ReadAfter(uint64_t after, size_t max_records,
                                                        size_t max_bytes) const {
  std::vector<WalRecord> records;
  if (max_records == 0) return records;
  struct Range {
    std::shared_ptr<Segment> segment;
    uint64_t offset;
    uint64_t end;
  };
  std::vector<Range> ranges;
  {
    std::lock_guard state_lock(state_mu_);
    for (const auto& segment : segments_) {
      if (segment->last_sequence <= after) continue;
      const auto& index = segment->index;
      auto entry = std::upper_bound(
          index.begin(), index.end(), after + 1,
          [](uint64_t sequence, const auto& indexed) { return sequence < indexed.first; });
      uint64_t offset =
          entry == index.begin() ? wal::kSegmentHeaderBytes : std::prev(entry)->second;
      ranges.push_back({segment, offset, segment->durable_bytes});
    }
  }
  // Segments stay readable while a Range holds them, even once MarkDelivered unlinked them.
  size_t bytes = 0;
  wal::DecodedRecord record;
  for (const Range& range : ranges) {
    SegmentScanner scanner(range.segment->fd.get(), range.segment->path, range.offset, range.end);
    while (true) {
      auto step = scanner.Next(record);
      if (!step.ok()) return step.error();
      if (*step == SegmentScanner::Step::kEnd) break;
      if (*step != SegmentScanner::Step::kRecord) {
        return MakeError(ErrorCode::kWalCorrupt,
                         "the record " + AtOffset(scanner.record_offset()) + " is damaged",
                         range.segment->path);
      }
      if (record.sequence <= after) continue;
      if (!records.empty() && bytes + record.payload.size() > max_bytes) return records;
      records.push_back({record.sequence, std::string(record.payload)});
      bytes += record.payload.size();
      if (records.size() == max_records) return records;
    }
  }
  return records;
}

Status WriteAheadLog::MarkDelivered(uint64_t sequence) {
  std::lock_guard deliver_lock(deliver_mu_);
  {
    std::lock_guard state_lock(state_mu_);
    if (sequence <= delivered_sequence_) return {};
    if (sequence > durable_sequence_) {
      return MakeError(ErrorCode::kInternal,
                       "cannot mark sequence " + std::to_string(sequence) +
                           " delivered: the log ends at " + std::to_string(durable_sequence_),
                       options_.directory);
    }
  }
  // The mark is durable before any segment goes, so a crash in between leaves segments that
  // the next Open removes, never a gap.
  if (Status written = WriteFileAtomically(options_.directory, std::string(wal::kDeliveredFileName),
                                           wal::EncodeDelivered(sequence));
      !written.ok()) {
    return written;
  }
  {
    std::lock_guard state_lock(state_mu_);
    delivered_sequence_ = sequence;
  }
  return RemoveObsoleteSegments();
}

Status WriteAheadLog::SetRetainAfter(uint64_t sequence) {
  std::lock_guard deliver_lock(deliver_mu_);
  {
    std::lock_guard state_lock(state_mu_);
    if (retain_after_ == UINT64_MAX || sequence <= retain_after_) return {};
    retain_after_ = sequence;
  }
  return RemoveObsoleteSegments();
}

Status WriteAheadLog::RemoveObsoleteSegments() {
  // Appends wait until the files are gone: an empty active segment removed here has the name
  // the next append's new segment would take, and unlinking after that would remove the new one.
  std::lock_guard write_lock(write_mu_);
  std::vector<std::shared_ptr<Segment>> removed;
  {
    std::lock_guard state_lock(state_mu_);
    uint64_t obsolete = std::min(delivered_sequence_, retain_after_);
    while (!segments_.empty() && segments_.front()->last_sequence <= obsolete) {
      disk_bytes_ -= segments_.front()->durable_bytes;
      removed.push_back(std::move(segments_.front()));
      segments_.erase(segments_.begin());
    }
    // The next append starts a new segment.
    if (!removed.empty() && removed.back() == active_) active_.reset();
  }
  for (const auto& segment : removed) {
    if (::unlink(segment->path.c_str()) != 0) return FileError("unlink", segment->path, errno);
  }
  return {};
}

uint64_t WriteAheadLog::delivered_sequence() const {
  std::lock_guard state_lock(state_mu_);
  return delivered_sequence_;
}

uint64_t WriteAheadLog::last_sequence() const {
  std::lock_guard state_lock(state_mu_);
  return durable_sequence_;
}

uint64_t WriteAheadLog::first_sequence() const {
  std::lock_guard state_lock(state_mu_);
  for (const auto& segment : segments_) {
    if (segment->last_sequence >= segment->first_sequence) return segment->first_sequence;
  }
  return durable_sequence_ + 1;
}

uint64_t WriteAheadLog::disk_bytes() const {
  std::lock_guard state_lock(state_mu_);
  return disk_bytes_;
}

}  // namespace sluice
