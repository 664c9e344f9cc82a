#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/spec.h"
#include "dataflow/source.h"
#include "sources/message_decoder.h"

namespace sluice {

/// An unbounded source reading a NATS JetStream stream through a durable pull consumer (libnats),
/// created with explicit acks when missing. Messages are acked only in CommitPosition, after the
/// checkpoint that covers them is in ClickHouse; a message that cannot become a row is a dead
/// letter named "stream/sequence". The connection reconnects on its own, forever, with backoff.
///
/// Threads: every call from the pipeline's source thread; CommitPosition between two Polls.
class NatsSource : public Source {
 public:
  NatsSource(std::string name, NatsSourceSpec spec, uint32_t batch_rows,
             std::vector<DecodeField> fields, DecodeOptions options = {});
  ~NatsSource() override;

  /// The source of a `type: nats` entry of a loaded spec, decoding into `stream`'s fields.
  /// Throws SetupError when the message format does not fit the stream.
  static std::unique_ptr<NatsSource> FromSpec(const SourceSpec& source, const StreamSpec& stream,
                                              const TableSpec& table);

  const Schema& schema() const { return decoder_.schema(); }

  /// Connects (retrying in the background when the server is not up yet), creates the durable
  /// consumer when missing and binds a pull subscription to it.
  Status Open() override;
  /// Fetches up to batch_rows messages, waiting at most fetch_timeout. A lost connection is
  /// logged and polled again (kIdle), never an error.
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  /// "consumer@last:ranges": the consumer, the highest stream sequence handed out, and the
  /// sequences handed out but not yet acked ("5-9,12"). After Restore, redeliveries of those
  /// are acked and skipped; everything else is new.
  std::string Position() const override;
  Status Restore(const std::string& position) override;
  /// "stream/first-last:count" of the last poll's stream sequences.
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return bytes_read_; }
  /// Acks every message `position` lists as handed out.
  Status CommitPosition(const std::string& position) override;

  /// Connection state for logs and tests.
  bool connected() const;
  /// Messages of the stream the consumer had not delivered at the last fetch (JetStream's
  /// num_pending): the source's lag. Any thread.
  uint64_t Pending() const { return pending_.load(std::memory_order_relaxed); }

  /// Also keep, for each row of the last poll, its data and "stream/sequence".
  void KeepRowRecords(bool keep) { keep_row_records_ = keep; }
  const std::pair<std::string, std::string>& RowRecord(size_t row) const {
    return row_records_[row];
  }

  /// A parsed Position(): consumer, last sequence, sequences handed out and not yet acked.
  struct ParsedPosition {
    std::string consumer;
    uint64_t last = 0;
    std::set<uint64_t> unacked;
  };
  static Result<ParsedPosition> ParsePosition(const std::string& position);

 private:
  static void OnDisconnected(natsConnection* connection, void* closure);
  static void OnReconnected(natsConnection* connection, void* closure);
  static void OnClosed(natsConnection* connection, void* closure);
  Status Connect();
  Status BindConsumer();
  void HandleMessage(natsMsg* message, Batch& batch, std::vector<DeadLetter>& dead_letters);
  void Ack(const std::string& reply);

  std::string name_;
  NatsSourceSpec spec_;
  uint32_t batch_rows_;
  MessageDecoder decoder_;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  std::atomic<bool> closing_{false};
  std::promise<void> closed_;

  mutable std::mutex mutex_;  // guards unacked_ and last_
  std::atomic<uint64_t> pending_{0};
  /// Handed out, not yet acked: stream sequence -> reply subject that acks it.
  std::map<uint64_t, std::string> unacked_;
  uint64_t last_ = 0;
  /// From Restore: already in ClickHouse, to be acked and skipped when delivered again.
  std::set<uint64_t> skip_;

  std::string last_identity_;
  uint64_t bytes_read_ = 0;
  bool keep_row_records_ = false;
  std::vector<std::pair<std::string, std::string>> row_records_;
};

}  // namespace sluice
