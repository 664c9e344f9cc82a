#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/spec.h"
#include "dataflow/key_groups.h"
#include "dataflow/source.h"
#include "sources/message_decoder.h"

namespace sluice {

/// One partition of a topic, ordered by topic then partition.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

/// How far one owned partition is behind its log end.
struct PartitionLag {
  TopicPartition partition;
  int64_t lag = 0;  // high watermark - next offset to hand out
};

/// An unbounded source consuming Kafka topics as a member of a consumer group (librdkafka,
/// eager assignment). Offsets are never auto-committed: CommitPosition commits them once the
/// checkpoint that covers them is in ClickHouse. A message that cannot become a row is a dead
/// letter named "topic/partition@offset" and never blocks its partition.
///
/// Threads: Open, Restore, Poll, Position and CommitPosition (between two Polls) from the
/// pipeline's source thread; Pause, Resume and Lag from any thread.
class KafkaSource : public Source {
 public:
  KafkaSource(std::string name, KafkaSourceSpec spec, uint32_t batch_rows,
              std::vector<DecodeField> fields, DecodeOptions options = {});
  ~KafkaSource() override;

  /// The source of a `type: kafka` entry of a loaded spec, decoding into `stream`'s fields.
  /// Throws SetupError when the message format does not fit the stream.
  static std::unique_ptr<KafkaSource> FromSpec(const SourceSpec& source, const StreamSpec& stream,
                                               const TableSpec& table);

  const Schema& schema() const { return decoder_.schema(); }
  const std::string& name() const { return name_; }

  /// Creates the consumer and subscribes; partitions are assigned during the first polls.
  Status Open() override;
  /// Up to batch_rows messages, waiting at most poll_timeout when none are ready.
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  /// "topic/partition=next offset" per owned partition that has handed out a record or was
  /// restored, and per restored or revoked partition not assigned now, joined by ';' in topic,
  /// partition order ("" when none).
  std::string Position() const override;
  /// Partitions named in `position` resume at its offsets when they are assigned to this
  /// member, or at the group's committed offset if another member has committed further since;
  /// callable before or after Open.
  Status Restore(const std::string& position) override;
  /// "topic/partition/first-last" per partition of the last poll's records, joined by ';'.
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return bytes_read_; }
  /// Commits the offsets of `position` for the partitions this member still owns. A failed
  /// commit (e.g. during a rebalance) is logged and repeated by the next call: never fatal.
  Status CommitPosition(const std::string& position) override;

  /// Backpressure: stops fetching from every owned (and later assigned) partition until Resume.
  void Pause();
  void Resume();
  /// Per owned partition: high watermark minus the next offset to hand out (from the client's
  /// last fetch response; partitions without either are left out).
  std::vector<PartitionLag> Lag() const;
  /// The partitions this member owns now.
  std::vector<TopicPartition> Assignment() const;

  /// Hand out the messages of one partition per Poll (those of other partitions fetched with
  /// them wait for the next Polls), named by LastPollSplit: an aggregation keeps a watermark
  /// per partition.
  void PollOnePartitionAtATime(bool one) { one_partition_per_poll_ = one; }
  /// "topic/partition" of the last Poll's rows when polling one partition at a time.
  std::string LastPollSplit() const override { return last_split_; }
  /// "topic/partition" of every owned partition when polling one partition at a time.
  std::vector<std::string> Splits() const override;

  /// Several processes share the topic and each partition's keyed state moves with it: the
  /// partition number is the key group of its records' state. Offset commits name the
  /// checkpoint holding the state at that offset (commit metadata); when a partition is
  /// assigned, TakeKeyGroupHandoffs says to load its state from the checkpoint the group's
  /// committed offset names, unless this member's own is newer, and to drop the state of
  /// partitions that went to other members. Needs one topic of at most kKeyGroupCount
  /// partitions, polled one partition at a time.
  void FollowPartitionState(bool follow) { follow_partition_state_ = follow; }
  std::vector<KeyGroupHandoff> TakeKeyGroupHandoffs() override;
  /// The partition number of a "topic/partition" split.
  uint32_t SplitKeyGroup(const std::string& split) const override;
  /// CommitPosition; with FollowPartitionState each offset carries `checkpoint`, and the
  /// checkpoints the group's committed offsets name are read back for ReferencedCheckpoints.
  Status CommitCheckpoint(const std::string& position, const std::string& checkpoint) override;
  std::vector<std::string> ReferencedCheckpoints() const override;

  /// Also keep, for each row of the last poll, its message value and "topic/partition@offset"
  /// (what a later check needs to dead-letter the row).
  void KeepRowRecords(bool keep) { keep_row_records_ = keep; }
  /// Built when asked (only refused rows are): the poll keeps just the values, back to back.
  std::pair<std::string, std::string> RowRecord(size_t row) const;

  /// "topic/partition=offset;..." parsed; an error names the malformed part.
  static Result<std::map<TopicPartition, int64_t>> ParsePosition(const std::string& position);
  static std::string FormatPosition(const std::map<TopicPartition, int64_t>& offsets);

 private:
  static void RebalanceCallback(rd_kafka_t* consumer, rd_kafka_resp_err_t error,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void OnRebalance(rd_kafka_resp_err_t error, rd_kafka_topic_partition_list_t* partitions);
  /// A group's committed offset, and the checkpoint its metadata names (FollowPartitionState).
  struct Committed {
    int64_t offset = -1;
    std::string checkpoint;
  };
  /// The group's committed offsets of the assigned `partitions` that have a restored position,
  /// or of all of them with FollowPartitionState (none known: left out). Called with mutex_
  /// held.
  std::map<TopicPartition, Committed> CommittedOffsetsOfRestored(
      const rd_kafka_topic_partition_list_t* partitions);
  /// FollowPartitionState at an assignment: where each partition starts and whose state it
  /// keeps (handoffs_). Called with mutex_ held.
  void AssignWithState(rd_kafka_topic_partition_list_t* partitions);
  /// Commits `commit`; a failure is logged (the next checkpoint commits again).
  void Commit(rd_kafka_topic_partition_list_t* commit, const std::string& position);
  /// Reads which checkpoints the group's committed offsets name, into referenced_.
  void RefreshReferencedCheckpoints();
  /// Sets the start of assigned partitions that have no checkpointed or committed offset to the
  /// first offset at or after the `timestamp:` start.
  void ApplyTimestampStart(rd_kafka_topic_partition_list_t* partitions);
  /// Adds the `fetched` messages of messages_ to waiting_, moves those of the first waiting
  /// message's partition back into messages_ and returns their count.
  ssize_t TakeOnePartition(ssize_t fetched);
  /// Whether a fetched message is ours to hand out; if so, moves its partition's next offset
  /// past it. Called with mutex_ held.
  bool Accept(const rd_kafka_message_t& message);

  /// Where a kept row's value lies in row_values_, and which message it was.
  struct KeptRow {
    size_t begin = 0;
    size_t size = 0;
    TopicPartition partition;
    int64_t offset = 0;
  };
  /// One thread's share of a poll: a contiguous run of accepted messages, decoded in order into
  /// rows (completed by Finish), dead letters and kept row records.
  struct DecodeLane {
    MessageDecoder* decoder = nullptr;
    Batch* rows = nullptr;
    std::vector<DeadLetter>* dead_letters = nullptr;
    std::vector<KeptRow>* row_records = nullptr;
    std::string* row_values = nullptr;
  };
  /// Decodes `messages` into `lane`. Touches nothing shared: lanes run on their own threads.
  void Decode(std::span<rd_kafka_message_t* const> messages, const DecodeLane& lane) const;
  /// Decodes the poll's accepted messages, in several lanes when there are enough of them,
  /// and appends the lanes' results in message order.
  void DecodeAccepted(Batch& batch, std::vector<DeadLetter>& dead_letters);

  std::string name_;
  KafkaSourceSpec spec_;
  uint32_t batch_rows_;
  MessageDecoder decoder_;
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<rd_kafka_message_t*> messages_;
  std::vector<rd_kafka_message_t*> accepted_;  // of the current poll, in order
  /// The decoders, batches and results of the extra lanes (the first lane decodes with
  /// decoder_ into the caller's batch).
  struct ExtraLane {
    std::unique_ptr<MessageDecoder> decoder;
    Batch rows;
    std::vector<DeadLetter> dead_letters;
    std::vector<KeptRow> row_records;
    std::string row_values;
  };
  std::vector<ExtraLane> extra_lanes_;
  // Fetched but not handed out yet (one partition per poll); always empty while the client
  // serves a rebalance, which happens only inside the fetch that runs when this is empty.
  std::vector<rd_kafka_message_t*> waiting_;
  bool one_partition_per_poll_ = false;
  std::string last_split_;

  mutable std::mutex mutex_;                 // guards the partition maps and paused_
  std::map<TopicPartition, int64_t> owned_;  // owned partition -> next offset (-1 unknown)
  // From Restore or a revocation, for partitions not assigned now: the next offset this
  // member's ClickHouse will have.
  std::map<TopicPartition, int64_t> restored_;
  bool paused_ = false;
  bool follow_partition_state_ = false;
  std::vector<KeyGroupHandoff> handoffs_;  // guarded by mutex_
  std::vector<std::string> referenced_;    // guarded by mutex_
  Status assignment_failure_;              // reported by the next Poll
  int partition_count_ = 0;                // of the topic, once known (FollowPartitionState)

  std::map<TopicPartition, std::pair<int64_t, int64_t>> poll_ranges_;
  std::string last_identity_;
  uint64_t bytes_read_ = 0;
  bool keep_row_records_ = false;
  std::string row_values_;
  std::vector<KeptRow> row_records_;
};

}  // namespace sluice
