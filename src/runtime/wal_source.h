#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/source.h"
#include "state/wal.h"

namespace sluice {

/// Reads one stream's validated rows back from the write-ahead log, for a streaming job over
/// records ingested through the HTTP API. The log holds them in acknowledgement order, so a
/// job restored from a checkpoint re-reads exactly the records after its position.
///
/// Position: the last log sequence read ("wal:<sequence>"). The log keeps its segments for
/// this reader until the job has committed past them (WriteAheadLog::SetRetainAfter, done by
/// the job's owner).
class WalSource : public Source {
 public:
  WalSource(const WriteAheadLog& wal, uint32_t stream_index, Schema schema,
            size_t max_records_per_poll = 1024);

  Status Open() override { return {}; }
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  std::string Position() const override;
  Status Restore(const std::string& position) override;
  std::string LastPollIdentity() const override;
  uint64_t bytes_read() const override { return bytes_read_; }

  /// Parses a Position() string; nullopt when it is not one.
  static std::optional<uint64_t> SequenceOf(const std::string& position);

 private:
  const WriteAheadLog& wal_;
  uint32_t stream_index_;
  Schema schema_;
  size_t max_records_;
  uint64_t after_ = 0;
  uint64_t last_poll_first_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace sluice
