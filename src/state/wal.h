#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "state/posix_file.h"

namespace sluice {

struct WalOptions {
  std::string directory;
  /// A segment that would grow past this is closed and a new one started; a single larger
  /// record gets a segment of its own.
  uint64_t segment_bytes = 64ull << 20;
  /// Appends that would take the log's files past this fail with WAL_FULL (the HTTP layer
  /// answers 429) until MarkDelivered frees whole segments.
  uint64_t max_disk_bytes = 1ull << 30;
  /// Another reader (a windowed pipeline reading the log from its last checkpoint) still needs
  /// the records after this sequence: segments holding any of them stay even once delivered.
  /// UINT64_MAX when no one else reads the log.
  uint64_t retain_after = UINT64_MAX;
};

struct WalRecord {
  uint64_t sequence = 0;
  std::string payload;

  bool operator==(const WalRecord&) const = default;
};

/// Durable, checksummed, append-only log with group commit: the ingest path acknowledges a
/// request only once Append returned, delivery reads with ReadAfter and confirms with
/// MarkDelivered, and Open replays whatever was not confirmed (the on-disk format is in
/// README.md).
///
/// Threads: Append, AppendMany, ReadAfter, MarkDelivered and the accessors may be called from
/// any thread at once. The destructor must not race with any of them. One process at a time
/// may open a directory (Open takes a lock on it).
///
/// After a failed write or fdatasync the log refuses further appends (IO_ERROR): the kernel may
/// have dropped the unsynced pages, so a retried sync could report success for lost data.
/// Reopening re-reads what is really on disk.
class WriteAheadLog {
 public:
  /// Creates the directory if needed, scans every segment and verifies its checksums and
  /// sequences. A torn tail (records after the last damaged point of the newest segment, none
  /// of them valid: a crash mid-write) is truncated; damage anywhere else is a WAL_CORRUPT
  /// error naming the file and byte offset. Segments wholly delivered are removed.
  static Result<std::unique_ptr<WriteAheadLog>> Open(WalOptions options);

  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;
  ~WriteAheadLog();

  /// Durable when it returns: written and fdatasync'ed. Concurrent callers are batched so that
  /// one fdatasync covers many appends (leader/follower group commit). Returns the record's
  /// sequence: 1, 2, 3, ... dense and persistent across restarts.
  Result<uint64_t> Append(std::string_view payload);
  /// Appends the payloads as consecutive records under one sync; returns the first sequence.
  /// All or none are acknowledged.
  Result<uint64_t> AppendMany(std::span<const std::string_view> payloads);

  /// Acknowledged records with sequence > after, in order: at most max_records, and no more
  /// than max_bytes of payload except that the first record is always returned.
  Result<std::vector<WalRecord>> ReadAfter(uint64_t after, size_t max_records,
                                           size_t max_bytes) const;

  /// Records up to `sequence` are in ClickHouse: persists the mark atomically and removes the
  /// segments wholly at or below it. Marks at or below the current one are no-ops.
  Status MarkDelivered(uint64_t sequence);

  /// Moves the retention hold of WalOptions::retain_after forward (never back; a no-op for a
  /// log opened without a hold) and removes the segments that neither delivery nor the other
  /// reader needs any more.
  Status SetRetainAfter(uint64_t sequence);

  uint64_t delivered_sequence() const;
  /// The newest acknowledged (or, after Open, recovered) sequence; delivered_sequence() when
  /// every record is delivered and gone.
  uint64_t last_sequence() const;
  /// The oldest sequence the log still holds; last_sequence() + 1 when it holds none. A reader
  /// positioned before it has lost records (they were delivered and released).
  uint64_t first_sequence() const;
  /// Bytes of all segment files.
  uint64_t disk_bytes() const;
  /// fdatasync calls on segments so far: appends per sync shows how well group commit works.
  uint64_t sync_count() const { return sync_count_.load(std::memory_order_relaxed); }

 private:
  struct Segment;
  struct PendingAppend;

  explicit WriteAheadLog(WalOptions options);

  Status Recover();
  Status RecoverSegment(Segment& segment, bool newest);
  void WriteBatch(std::span<PendingAppend* const> batch);
  Status AddRecord(std::string_view payload);
  Status FlushActive();
  Status StartSegment(uint64_t first_sequence);
  Status SyncData(int fd, const std::string& path);
  /// Unlinks the leading segments at or below both the delivered mark and the retention hold.
  Status RemoveObsoleteSegments();

  const WalOptions options_;
  FileDescriptor lock_file_;
  std::atomic<uint64_t> sync_count_{0};

  // The group-commit queue: appenders wait here until a leader has synced their records.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<PendingAppend*> pending_;
  bool leader_active_ = false;

  // Held by the leader while it writes a batch and by MarkDelivered while it removes segments,
  // so the segment being appended to never disappears under a write.
  std::mutex write_mu_;
  std::shared_ptr<Segment> active_;
  uint64_t next_sequence_ = 1;
  uint64_t write_offset_ = 0;       // end of what was written to active_
  uint64_t unsynced_sequence_ = 0;  // last sequence written to active_, maybe not yet synced
  uint64_t last_index_offset_ = 0;
  std::string buffer_;          // records of active_ written but not yet synced
  uint64_t buffer_offset_ = 0;  // where buffer_ starts in active_
  std::vector<std::pair<uint64_t, uint64_t>> unpublished_index_;
  std::optional<Error> failure_;

  // What readers may see: only synced records. Held briefly; never across I/O.
  mutable std::mutex state_mu_;
  std::vector<std::shared_ptr<Segment>> segments_;
  uint64_t durable_sequence_ = 0;
  uint64_t delivered_sequence_ = 0;
  uint64_t retain_after_ = UINT64_MAX;
  uint64_t disk_bytes_ = 0;

  std::mutex deliver_mu_;  // one MarkDelivered at a time, so marks only move forward
};

}  // namespace sluice
