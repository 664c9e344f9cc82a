#include "sources/postgres_cdc/replication_reader.h"

#include <poll.h>

#include "sources/postgres_cdc/pgoutput.h"

namespace sluice {

namespace {

constexpr auto kStatusInterval = std::chrono::seconds(10);
// How long the reader waits for the socket or for room in the queue before it looks at the
// stop flag and the confirmed LSN again: a confirmation goes out within this after a commit.
constexpr int kWakeMillis = 100;
// A chunk is handed over when the socket has nothing more, or at this size: large enough that
// the queue's lock is taken rarely, small enough that Poll starts converting early.
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kXLogDataHeader = 25;  // 'w', start LSN, end LSN, send time

uint64_t ReadBigEndian(const char* data) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(data[i]);
  return value;
}

void WriteBigEndian(char* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
}

int64_t PgMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() -
         kPgEpochOffsetMicros;
}

}  // namespace

ReplicationReader::ReplicationReader(std::unique_ptr<PgConnection> connection,
                                     const std::atomic<uint64_t>* confirmed_lsn,
                                     std::function<void(uint64_t)> server_lsn,
                                     size_t max_queued_bytes)
    : connection_(std::move(connection)),
      confirmed_lsn_(confirmed_lsn),
      server_lsn_(std::move(server_lsn)),
      max_queued_bytes_(max_queued_bytes),
      last_status_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { Run(); });
}

ReplicationReader::~ReplicationReader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Result<std::optional<ReplicationChunk>> ReplicationReader::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !queue_.empty() || failure_.has_value(); });
  if (!queue_.empty()) {
    ReplicationChunk chunk = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= chunk.bytes.size();
    lock.unlock();
    changed_.notify_all();
    return std::optional<ReplicationChunk>(std::move(chunk));
  }
  if (failure_) return *failure_;
  return std::optional<ReplicationChunk>();
}

void ReplicationReader::Fail(Error error) {
  {
    std::lock_guard lock(mutex_);
    failure_ = std::move(error);
  }
  changed_.notify_all();
}

bool ReplicationReader::Push(ReplicationChunk& chunk) {
  std::unique_lock lock(mutex_);
  // One chunk always fits, however large, so that a huge message cannot block forever.
  while (!stop_ && !queue_.empty() && queued_bytes_ + chunk.bytes.size() > max_queued_bytes_) {
    changed_.wait_for(lock, std::chrono::milliseconds(kWakeMillis));
    // Confirmations must keep going out while the caller is busy (a checkpoint commit may be
    // what it is waiting for); the connection is this thread's alone.
    lock.unlock();
    SendStatus(false);
    lock.lock();
  }
  if (stop_) return false;
  queued_bytes_ += chunk.bytes.size();
  queue_.push_back(std::move(chunk));
  lock.unlock();
  changed_.notify_all();
  chunk = ReplicationChunk{};
  return true;
}

void ReplicationReader::SendStatus(bool force) {
  uint64_t lsn = confirmed_lsn_->load();
  auto now = std::chrono::steady_clock::now();
  if (!force && lsn <= sent_lsn_ && now - last_status_ < kStatusInterval) return;
  char message[34];
  message[0] = 'r';
  WriteBigEndian(message + 1, lsn);   // written
  WriteBigEndian(message + 9, lsn);   // flushed: what the slot confirms
  WriteBigEndian(message + 17, lsn);  // applied
  WriteBigEndian(message + 25, static_cast<uint64_t>(PgMicrosNow()));
  message[33] = 0;
  if (PQputCopyData(connection_->get(), message, sizeof(message)) == 1 &&
      PQflush(connection_->get()) == 0) {
    sent_lsn_ = std::max(sent_lsn_, lsn);
    last_status_ = now;
  }
}

void ReplicationReader::Run() {
  PGconn* connection = connection_->get();
  ReplicationChunk chunk;
  int size = 0;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    SendStatus(false);
    char* buffer = nullptr;
    size = PQgetCopyData(connection, &buffer, 1);
    if (size == 0) {
      // Nothing more buffered: hand over what was read before waiting for the socket.
      if (!chunk.messages.empty()) {
        if (!Push(chunk)) return;
        continue;
      }
      pollfd descriptor{PQsocket(connection), POLLIN, 0};
      if (::poll(&descriptor, 1, kWakeMillis) > 0 && PQconsumeInput(connection) == 0) {
        size = -2;
        break;
      }
      continue;
    }
    if (size < 0) break;
    std::string_view message(buffer, static_cast<size_t>(size));
    if (message[0] == 'w' && message.size() >= kXLogDataHeader) {
      chunk.messages.push_back(
          {chunk.bytes.size(), message.size() - kXLogDataHeader, ReadBigEndian(buffer + 1)});
      chunk.bytes.append(message.substr(kXLogDataHeader));
    } else if (message[0] == 'k' && message.size() >= 18) {
      server_lsn_(ReadBigEndian(buffer + 1));
      if (message[17] != 0) SendStatus(true);
    }
    PQfreemem(buffer);
    if (chunk.bytes.size() >= kChunkBytes && !Push(chunk)) return;
  }
  // What was read before the failure still goes to the caller, then the error.
  if (!chunk.messages.empty() && !Push(chunk)) return;
  Fail(MakeError(ErrorCode::kPgConnectionFailed, size == -1
                                                     ? "the server ended the replication stream"
                                                     : connection_->LastError()));
}

}  // namespace sluice
