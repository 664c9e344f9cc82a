#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "core/batch.h"
#include "dataflow/dead_letter.h"

namespace sluice {

enum class PollStatus {
  kData,      // rows or dead letters were produced
  kIdle,      // nothing now; poll again later
  kFinished,  // a bounded source has delivered everything
};

/// Where records enter a pipeline.
///
/// Contract: Restore (only when resuming from a checkpoint), then Open once, then Poll
/// repeatedly from one thread until it returns kFinished (or the pipeline stops). Each Poll appends
/// rows to `batch` (whose schema is the stream's) and refused records to `dead_letters`; it never
/// drops a record. Position() describes the point after the last record handed out, so that
/// Restore(Position()) on a new instance resumes exactly there.
class Source {
 public:
  virtual ~Source() = default;
  virtual Status Open() = 0;
  virtual Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) = 0;
  virtual std::string Position() const = 0;
  virtual Status Restore(const std::string& position) = 0;
  /// A deterministic identity of the records handed out by the last Poll, used to derive
  /// deduplication tokens so that re-reading the same records never duplicates rows.
  virtual std::string LastPollIdentity() const = 0;
  /// Bytes of input consumed so far, for the standard received-bytes metric.
  virtual uint64_t bytes_read() const = 0;
  /// A source whose rows belong to several tables (one per replicated database table) names
  /// the table of the last Poll's rows here; Poll then hands them out in that table's current
  /// schema (replacing the batch passed in), which may grow between polls. Empty (the default):
  /// the rows are the stream's, in the schema of the batch passed in.
  virtual std::string LastPollTable() const { return {}; }
  /// A source read from independently ordered splits (Kafka partitions) hands out the rows of
  /// one split per Poll and names it here, so that the pipeline keeps a watermark per split (a
  /// split behind the others does not make their records late). Empty (the default): the
  /// source is one ordered split.
  virtual std::string LastPollSplit() const { return {}; }
  /// The splits the source reads now (empty for a source of one split); a split that has not
  /// handed out a record yet holds the watermark back until it has been idle for the
  /// watermark's idle timeout.
  virtual std::vector<std::string> Splits() const { return {}; }
  /// Everything up to `position` (an earlier Position()) is committed in ClickHouse: the
  /// source may now confirm it upstream (commit Kafka offsets, ack NATS messages, confirm a
  /// Postgres LSN). Called on the source's own thread between two Polls (so a connection
  /// that is not thread-safe may be used); positions passed never go backwards.
  virtual Status CommitPosition(const std::string& position) {
    (void)position;
    return {};
  }
  /// CommitPosition, naming the committed checkpoint (an absolute folder) that holds the
  /// keyed state at `position`: a source whose splits carry their state along (Kafka
  /// partitions shared by several processes) records it upstream for the split's next owner.
  virtual Status CommitCheckpoint(const std::string& position, const std::string& checkpoint) {
    (void)checkpoint;
    return CommitPosition(position);
  }

  /// For a source whose splits each own one key group of the keyed state (Kafka partitions
  /// shared by several processes): the key groups whose state must change hands before the
  /// records the next Poll returns, in order. Each handoff drops the group's keys and, when
  /// `adopt_from` names a checkpoint folder (taken by the split's previous owner), loads them
  /// from there. Taken (and cleared) by the pipeline after every Poll.
  struct KeyGroupHandoff {
    uint32_t key_group = 0;
    std::string adopt_from;
  };
  virtual std::vector<KeyGroupHandoff> TakeKeyGroupHandoffs() { return {}; }
  /// The key group a split's records belong to, for such a source.
  virtual uint32_t SplitKeyGroup(const std::string& split) const {
    (void)split;
    return 0;
  }
  /// Checkpoint folders the source's upstream still names as where a split's state is (from
  /// the Kafka group's committed offsets): pruning keeps them while they are named. Any thread.
  virtual std::vector<std::string> ReferencedCheckpoints() const { return {}; }
};

/// Where rows leave a pipeline.
///
/// Contract: Write may buffer; Flush makes everything written so far durable in the target
/// (called on size and time limits, at checkpoints and at end of input). `identity` is the
/// deterministic name of the rows (see Source::LastPollIdentity).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(const Batch& batch, const std::string& identity) = 0;
  virtual Status Flush() = 0;
};

}  // namespace sluice

namespace sluice {

/// Where refused records go: the stream's dead-letter table.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status Write(const std::vector<DeadLetter>& dead_letters,
                       const std::string& identity) = 0;
};

}  // namespace sluice
