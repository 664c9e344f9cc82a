#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "sources/pg_connection.h"

namespace sluice {

/// pgoutput messages received together, stored back to back in one buffer.
struct ReplicationChunk {
  struct Message {
    size_t offset = 0;  // into bytes
    size_t size = 0;
    uint64_t lsn = 0;  // the XLogData record's start
  };
  std::string bytes;
  std::vector<Message> messages;

  std::string_view Payload(size_t index) const {
    return std::string_view(bytes).substr(messages[index].offset, messages[index].size);
  }
};

/// Drains a started logical replication stream (after START_REPLICATION) on its own thread,
/// so that the walsender keeps sending while the caller converts rows and inserts them: it
/// receives XLogData records, answers keepalives, sends standby status updates confirming
/// `confirmed_lsn`, and hands the pgoutput payloads over through a bounded queue.
///
/// Contract: owns the connection (libpq connections are single-threaded); Next is called
/// from one thread; the destructor stops and joins the reader and closes the connection.
/// Once the connection fails, Next returns that error (after the chunks read before it).
class ReplicationReader {
 public:
  /// `confirmed_lsn` is read on each status update (written, flushed and applied all carry
  /// it); `server_lsn` receives the server's WAL end from every keepalive.
  ReplicationReader(std::unique_ptr<PgConnection> connection,
                    const std::atomic<uint64_t>* confirmed_lsn,
                    std::function<void(uint64_t)> server_lsn, size_t max_queued_bytes);
  ~ReplicationReader();
  ReplicationReader(const ReplicationReader&) = delete;
  ReplicationReader& operator=(const ReplicationReader&) = delete;

  /// The next chunk, waiting up to `timeout` for one; nullopt when none came in time.
  Result<std::optional<ReplicationChunk>> Next(std::chrono::milliseconds timeout);

 private:
  void Run();
  /// Queues the chunk, waiting while the queue is full; false once stopping.
  bool Push(ReplicationChunk& chunk);
  void SendStatus(bool force);
  void Fail(Error error);

  std::unique_ptr<PgConnection> connection_;
  const std::atomic<uint64_t>* confirmed_lsn_;
  std::function<void(uint64_t)> server_lsn_;
  size_t max_queued_bytes_;
  uint64_t sent_lsn_ = 0;
  std::chrono::steady_clock::time_point last_status_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ReplicationChunk> queue_;
  size_t queued_bytes_ = 0;
  bool stop_ = false;
  std::optional<Error> failure_;
  std::thread thread_;
};

}  // namespace sluice
