#include "sources/kafka/kafka_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <thread>

#include "base/clock.h"
#include "sources/stream_fields.h"

namespace sluice {
namespace {

constexpr int kQueryTimeoutMs = 10000;
// A poll is decoded on up to this many threads (one per core), each taking a contiguous run of
// at least kMinMessagesPerLane messages: below that a thread's start costs more than it saves.
constexpr size_t kMaxDecodeLanes = 4;
constexpr size_t kMinMessagesPerLane = 4096;

using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                      decltype(&rd_kafka_topic_partition_list_destroy)>;

PartitionList NewPartitionList(int size) {
  return PartitionList(rd_kafka_topic_partition_list_new(size),
                       &rd_kafka_topic_partition_list_destroy);
}

std::string Location(const TopicPartition& partition, int64_t offset) {
  return fmt::format("{}/{}@{}", partition.topic, partition.partition, offset);
}

// Commit metadata naming the checkpoint that holds a partition's state at the committed offset.
constexpr std::string_view kCheckpointMetadata = "sluice-checkpoint:";

std::string CheckpointOfMetadata(const rd_kafka_topic_partition_t& element) {
  if (element.metadata == nullptr) return {};
  std::string_view text(static_cast<const char*>(element.metadata), element.metadata_size);
  if (!text.starts_with(kCheckpointMetadata)) return {};
  return std::string(text.substr(kCheckpointMetadata.size()));
}

/// The key group of a partition's records when the state follows partitions.
uint32_t KeyGroupOfPartition(int32_t partition) {
  return static_cast<uint32_t>(partition) % kKeyGroupCount;
}

}  // namespace

KafkaSource::KafkaSource(std::string name, KafkaSourceSpec spec, uint32_t batch_rows,
                         std::vector<DecodeField> fields, DecodeOptions options)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      batch_rows_(batch_rows),
      decoder_(fields, options, spec_.message) {
  messages_.resize(batch_rows_);
  size_t lanes = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxDecodeLanes);
  for (size_t lane = 1; lane < lanes && batch_rows_ >= 2 * kMinMessagesPerLane; ++lane) {
    auto decoder = std::make_unique<MessageDecoder>(fields, options, spec_.message);
    Batch rows(decoder->schema());
    extra_lanes_.push_back({std::move(decoder), std::move(rows), {}, {}, {}});
  }
}

KafkaSource::~KafkaSource() {
  for (rd_kafka_message_t* message : waiting_) rd_kafka_message_destroy(message);
  if (consumer_ != nullptr) {
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    // Leaving the group hands the partitions to the other members at once instead of after
    // the session timeout.
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
}

std::unique_ptr<KafkaSource> KafkaSource::FromSpec(const SourceSpec& source,
                                                   const StreamSpec& stream,
                                                   const TableSpec& table) {
  return std::make_unique<KafkaSource>(source.name, *source.kafka, source.batch_rows,
                                       StreamDecodeFields(stream, table),
                                       StreamDecodeOptions(stream));
}

Status KafkaSource::Open() {
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", fmt::format("{}", fmt::join(spec_.brokers, ","))},
      {"group.id", spec_.group_id},
      {"client.id", fmt::format("sluice-{}", name_)},
      // Offsets are committed by CommitPosition only, after ClickHouse has the rows.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", spec_.start == "latest" ? "latest" : "earliest"},
      // librdkafka (2.0) compares each partition's fetch queue with this limit, but the queues
      // are forwarded into the one consumer queue, whose total is what it sees: with the
      // default 100 000 every partition stops fetching once 100 000 messages wait in all,
      // and the broker thread looks again only about a second later, long after a source that
      // polls 65 536 at a time has emptied the queue (debug=fetch: "not fetchable:
      // queued.min.messages exceeded" for all 16 partitions at once, then ~1 s of nothing).
      // The prefetch stays bounded by queued.max.messages.kbytes (64 MiB of values by
      // default) and by this count, which also caps librdkafka's few hundred bytes of
      // bookkeeping per queued message when messages are tiny.
      {"queued.min.messages", "1000000"},
  };
  for (const auto& property : spec_.properties) properties.push_back(property);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error_text[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error_text, sizeof(error_text)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kKafkaClientError,
                       fmt::format("property {}={}: {}", key, value, error_text),
                       spec_.where.ToString());
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::RebalanceCallback);
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error_text, sizeof(error_text));
  if (consumer_ == nullptr) {
    return MakeError(ErrorCode::kKafkaClientError,
                     fmt::format("cannot create the Kafka consumer: {}", error_text),
                     spec_.where.ToString());
  }
  rd_kafka_poll_set_consumer(consumer_);
  queue_ = rd_kafka_queue_get_consumer(consumer_);
  PartitionList topics = NewPartitionList(static_cast<int>(spec_.topics.size()));
  for (const std::string& topic : spec_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (rd_kafka_resp_err_t error = rd_kafka_subscribe(consumer_, topics.get())) {
    return MakeError(ErrorCode::kKafkaClientError,
                     fmt::format("cannot subscribe to {}: {}", fmt::join(spec_.topics, ", "),
                                 rd_kafka_err2str(error)),
                     spec_.where.ToString());
  }
  return {};
}

void KafkaSource::RebalanceCallback(rd_kafka_t* /*consumer*/, rd_kafka_resp_err_t error,
                                    rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<KafkaSource*>(opaque)->OnRebalance(error, partitions);
}

void KafkaSource::OnRebalance(rd_kafka_resp_err_t error,
                              rd_kafka_topic_partition_list_t* partitions) {
  std::lock_guard lock(mutex_);
  if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && follow_partition_state_) {
    AssignWithState(partitions);
  } else if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::map<TopicPartition, Committed> committed = CommittedOffsetsOfRestored(partitions);
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& element = partitions->elems[i];
      TopicPartition partition{element.topic, element.partition};
      auto restored = restored_.find(partition);
      int64_t start = -1;
      if (restored != restored_.end()) {
        // The position this member's ClickHouse has, unless another member has committed
        // further since: then those records are stored there, and reading them again here
        // would store them twice.
        auto group = committed.find(partition);
        start = std::max(restored->second, group != committed.end() ? group->second.offset : -1);
        restored_.erase(restored);
      }
      // Otherwise the group's committed offset (OFFSET_INVALID makes the client fetch it),
      // else auto.offset.reset.
      element.offset = start >= 0 ? start : RD_KAFKA_OFFSET_INVALID;
      owned_[partition] = start;
    }
  }
  if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (spec_.start.starts_with("timestamp:")) ApplyTimestampStart(partitions);
    spdlog::info("kafka source {}: assigned {} partition(s)", name_, partitions->cnt);
    if (rd_kafka_resp_err_t assigned = rd_kafka_assign(consumer_, partitions)) {
      spdlog::error("kafka source {}: assigning partitions failed: {} [KAFKA_CLIENT_ERROR]", name_,
                    rd_kafka_err2str(assigned));
    }
    if (paused_) rd_kafka_pause_partitions(consumer_, partitions);
    return;
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    TopicPartition partition{partitions->elems[i].topic, partitions->elems[i].partition};
    auto owned = owned_.find(partition);
    // Records handed out up to here reach this member's ClickHouse at the next checkpoint,
    // while the group's committed offset may still be older: an eager rebalance revokes every
    // partition and often assigns the same ones back at once, which must resume here, not at
    // the committed offset. Kept as a restored position, so the assignment takes the larger of
    // the two (another member that owned it meanwhile commits further).
    if (owned != owned_.end() && owned->second >= 0) restored_[partition] = owned->second;
    if (owned != owned_.end()) owned_.erase(owned);
  }
  spdlog::info("kafka source {}: revoked {} partition(s)", name_, partitions->cnt);
  rd_kafka_assign(consumer_, nullptr);
}

void KafkaSource::AssignWithState(rd_kafka_topic_partition_list_t* partitions) {
  // State this member holds for partitions now assigned elsewhere goes: their new owners load
  // it from the checkpoint the group's committed offset names.
  for (auto it = restored_.begin(); it != restored_.end();) {
    if (rd_kafka_topic_partition_list_find(partitions, it->first.topic.c_str(),
                                           it->first.partition) != nullptr) {
      ++it;
      continue;
    }
    handoffs_.push_back({KeyGroupOfPartition(it->first.partition), ""});
    it = restored_.erase(it);
  }
  std::map<TopicPartition, Committed> committed = CommittedOffsetsOfRestored(partitions);
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& element = partitions->elems[i];
    TopicPartition partition{element.topic, element.partition};
    if (element.partition >= static_cast<int32_t>(kKeyGroupCount) && assignment_failure_.ok()) {
      assignment_failure_ = MakeError(
          ErrorCode::kKafkaClientError,
          fmt::format("partition {}/{}: state that follows partitions supports topics of at most "
                      "{} partitions",
                      partition.topic, partition.partition, kKeyGroupCount),
          name_);
    }
    uint32_t key_group = KeyGroupOfPartition(element.partition);
    auto restored = restored_.find(partition);
    auto group = committed.find(partition);
    int64_t start = -1;
    if (restored != restored_.end() &&
        (group == committed.end() || restored->second >= group->second.offset)) {
      // This member's state is the newest: it never dropped it, or restored it with the
      // checkpoint it restarted from, and no other member has committed further since.
      start = restored->second;
    } else if (group != committed.end()) {
      start = group->second.offset;
      handoffs_.push_back({key_group, group->second.checkpoint});
      if (group->second.checkpoint.empty()) {
        spdlog::warn(
            "kafka source {}: the committed offset {} of {}/{} names no checkpoint; its windows "
            "start empty there [STATE_HANDOFF_FAILED]",
            name_, start, partition.topic, partition.partition);
      }
    } else if (restored != restored_.end()) {
      handoffs_.push_back({key_group, ""});
    }
    if (restored != restored_.end()) restored_.erase(restored);
    element.offset = start >= 0 ? start : RD_KAFKA_OFFSET_INVALID;
    owned_[partition] = start;
  }
}

std::vector<Source::KeyGroupHandoff> KafkaSource::TakeKeyGroupHandoffs() {
  std::lock_guard lock(mutex_);
  return std::exchange(handoffs_, {});
}

uint32_t KafkaSource::SplitKeyGroup(const std::string& split) const {
  int32_t partition = 0;
  size_t slash = split.rfind('/');
  if (slash != std::string::npos) {
    std::from_chars(split.data() + slash + 1, split.data() + split.size(), partition);
  }
  return KeyGroupOfPartition(partition);
}

std::vector<std::string> KafkaSource::ReferencedCheckpoints() const {
  std::lock_guard lock(mutex_);
  return referenced_;
}

std::map<TopicPartition, KafkaSource::Committed> KafkaSource::CommittedOffsetsOfRestored(
    const rd_kafka_topic_partition_list_t* partitions) {
  std::map<TopicPartition, Committed> committed;
  PartitionList query = NewPartitionList(partitions->cnt);
  for (int i = 0; i < partitions->cnt; ++i) {
    if (follow_partition_state_ ||
        restored_.count({partitions->elems[i].topic, partitions->elems[i].partition}) > 0) {
      rd_kafka_topic_partition_list_add(query.get(), partitions->elems[i].topic,
                                        partitions->elems[i].partition);
    }
  }
  if (query->cnt == 0) return committed;
  if (rd_kafka_resp_err_t error = rd_kafka_committed(consumer_, query.get(), kQueryTimeoutMs)) {
    // The restored positions alone are still exact unless another member took the partitions
    // over in the meantime.
    spdlog::warn(
        "kafka source {}: reading committed offsets failed: {}; resuming at the "
        "checkpointed positions [KAFKA_CLIENT_ERROR]",
        name_, rd_kafka_err2str(error));
    return committed;
  }
  for (int i = 0; i < query->cnt; ++i) {
    if (query->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && query->elems[i].offset >= 0) {
      committed[{query->elems[i].topic, query->elems[i].partition}] = {
          query->elems[i].offset, CheckpointOfMetadata(query->elems[i])};
    }
  }
  return committed;
}

void KafkaSource::ApplyTimestampStart(rd_kafka_topic_partition_list_t* partitions) {
  int64_t start_ms = 0;
  std::string_view text = std::string_view(spec_.start).substr(10);
  std::from_chars(text.data(), text.data() + text.size(), start_ms);
  PartitionList unknown = NewPartitionList(partitions->cnt);
  for (int i = 0; i < partitions->cnt; ++i) {
    if (partitions->elems[i].offset == RD_KAFKA_OFFSET_INVALID) {
      rd_kafka_topic_partition_list_add(unknown.get(), partitions->elems[i].topic,
                                        partitions->elems[i].partition);
    }
  }
  if (unknown->cnt == 0) return;
  if (rd_kafka_resp_err_t error = rd_kafka_committed(consumer_, unknown.get(), kQueryTimeoutMs)) {
    spdlog::warn("kafka source {}: reading committed offsets failed: {}", name_,
                 rd_kafka_err2str(error));
    return;
  }
  PartitionList by_time = NewPartitionList(unknown->cnt);
  for (int i = 0; i < unknown->cnt; ++i) {
    if (unknown->elems[i].offset < 0) {
      rd_kafka_topic_partition_list_add(by_time.get(), unknown->elems[i].topic,
                                        unknown->elems[i].partition)
          ->offset = start_ms;
    }
  }
  if (by_time->cnt == 0) return;
  if (rd_kafka_resp_err_t error =
          rd_kafka_offsets_for_times(consumer_, by_time.get(), kQueryTimeoutMs)) {
    spdlog::warn("kafka source {}: looking up offsets for {} failed: {}", name_, spec_.start,
                 rd_kafka_err2str(error));
    return;
  }
  for (int i = 0; i < by_time->cnt; ++i) {
    rd_kafka_topic_partition_t* element = rd_kafka_topic_partition_list_find(
        partitions, by_time->elems[i].topic, by_time->elems[i].partition);
    // No message at or after the time: -1, which is the log end.
    element->offset =
        by_time->elems[i].offset >= 0 ? by_time->elems[i].offset : RD_KAFKA_OFFSET_END;
  }
}

Result<PollStatus> KafkaSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  poll_ranges_.clear();
  row_records_.clear();
  row_values_.clear();
  last_identity_.clear();
  last_split_.clear();
  ssize_t count = 0;
  if (waiting_.empty()) {
    count = rd_kafka_consume_batch_queue(queue_, static_cast<int>(spec_.poll_timeout.count()),
                                         messages_.data(), messages_.size());
    if (count < 0) {
      return MakeError(ErrorCode::kKafkaClientError,
                       fmt::format("consuming failed: {}", rd_kafka_err2str(rd_kafka_last_error())),
                       name_);
    }
  }
  if (!assignment_failure_.ok()) return assignment_failure_.error();
  if (one_partition_per_poll_) count = TakeOnePartition(count);
  Status failure;
  // One lock for the whole batch, only while deciding which messages are ours: Lag, Pause and
  // CommitPosition wait for that, not for the decoding.
  accepted_.clear();
  {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (count > 0) lock.lock();
    for (ssize_t i = 0; i < count; ++i) {
      rd_kafka_message_t* message = messages_[static_cast<size_t>(i)];
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (Accept(*message)) accepted_.push_back(message);
      } else if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
        char reason[512];
        rd_kafka_fatal_error(consumer_, reason, sizeof(reason));
        failure = MakeError(ErrorCode::kKafkaClientError,
                            fmt::format("the Kafka consumer failed: {}", reason), name_);
      } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Broker and network errors are retried by the client itself.
        spdlog::warn("kafka source {}: {}", name_, rd_kafka_message_errstr(message));
      }
    }
  }
  DecodeAccepted(batch, dead_letters);
  // The decoded rows hold copies: the messages' payloads are not needed any more.
  for (ssize_t i = 0; i < count; ++i) rd_kafka_message_destroy(messages_[static_cast<size_t>(i)]);
  std::vector<std::string> ranges;
  for (const auto& [partition, range] : poll_ranges_) {
    ranges.push_back(fmt::format("{}/{}/{}-{}", partition.topic, partition.partition, range.first,
                                 range.second));
  }
  last_identity_ = fmt::format("{}", fmt::join(ranges, ";"));
  if (!failure.ok()) return failure.error();
  return poll_ranges_.empty() ? PollStatus::kIdle : PollStatus::kData;
}

bool KafkaSource::Accept(const rd_kafka_message_t& message) {
  TopicPartition partition{rd_kafka_topic_name(message.rkt), message.partition};
  auto owned = owned_.find(partition);
  // A message fetched before its partition was revoked, or before a seek to a restored
  // position, is not ours to hand out.
  if (owned == owned_.end() || message.offset < owned->second) return false;
  owned->second = message.offset + 1;
  auto [range, inserted] = poll_ranges_.try_emplace(partition, message.offset, message.offset);
  range->second.second = message.offset;
  bytes_read_ += message.len + message.key_len;
  return true;
}

void KafkaSource::DecodeAccepted(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  size_t lanes = std::min(extra_lanes_.size() + 1,
                          std::max<size_t>(1, accepted_.size() / kMinMessagesPerLane));
  std::span<rd_kafka_message_t* const> all(accepted_);
  size_t share = (all.size() + lanes - 1) / lanes;
  // The first lane runs here, on the caller's batch; the others on threads of their own, each
  // into its own batch, appended afterwards in message order. A thread per lane and poll: a
  // poll this large takes tens of milliseconds, a thread's start some microseconds.
  std::vector<std::thread> threads;
  for (size_t lane = 1; lane < lanes; ++lane) {
    ExtraLane& extra = extra_lanes_[lane - 1];
    extra.rows.Clear();
    extra.dead_letters.clear();
    extra.row_records.clear();
    extra.row_values.clear();
    auto part = all.subspan(std::min(all.size(), lane * share));
    part = part.first(std::min(part.size(), share));
    threads.emplace_back([this, part, &extra] {
      Decode(part, {extra.decoder.get(), &extra.rows, &extra.dead_letters, &extra.row_records,
                    &extra.row_values});
      extra.decoder->Finish(extra.rows);
    });
  }
  Decode(all.first(std::min(all.size(), share)),
         {&decoder_, &batch, &dead_letters, &row_records_, &row_values_});
  for (std::thread& thread : threads) thread.join();
  decoder_.Finish(batch);
  for (size_t lane = 1; lane < lanes; ++lane) {
    ExtraLane& extra = extra_lanes_[lane - 1];
    batch.AppendBatch(extra.rows);
    std::move(extra.dead_letters.begin(), extra.dead_letters.end(),
              std::back_inserter(dead_letters));
    for (KeptRow& kept : extra.row_records) {
      kept.begin += row_values_.size();
      row_records_.push_back(std::move(kept));
    }
    row_values_.append(extra.row_values);
  }
}

void KafkaSource::Decode(std::span<rd_kafka_message_t* const> messages,
                         const DecodeLane& lane) const {
  QueueMessage queued;
  for (const rd_kafka_message_t* message : messages) {
    TopicPartition partition{rd_kafka_topic_name(message->rkt), message->partition};
    queued.value.reset();
    queued.key.reset();
    queued.headers.clear();
    queued.timestamp_ms.reset();
    if (message->payload != nullptr) {
      queued.value = std::string_view(static_cast<const char*>(message->payload), message->len);
    }
    if (message->key != nullptr) {
      queued.key = std::string_view(static_cast<const char*>(message->key), message->key_len);
    }
    queued.topic = partition.topic;
    queued.partition = partition.partition;
    queued.offset = message->offset;
    rd_kafka_timestamp_type_t timestamp_type;
    int64_t timestamp = rd_kafka_message_timestamp(message, &timestamp_type);
    if (timestamp_type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) queued.timestamp_ms = timestamp;
    rd_kafka_headers_t* headers = nullptr;
    if (lane.decoder->needs_headers() &&
        rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        queued.headers.emplace_back(
            name, value != nullptr ? std::string_view(static_cast<const char*>(value), size)
                                   : std::string_view());
      }
    }
    Status added = lane.decoder->Add(queued, *lane.rows);
    if (added.ok()) {
      if (keep_row_records_) {
        std::string_view value = queued.value.value_or("");
        lane.row_records->push_back(
            {lane.row_values->size(), value.size(), partition, message->offset});
        lane.row_values->append(value);
      }
      continue;
    }
    lane.dead_letters->push_back(DeadLetter{WallClockMillis(), name_,
                                            Location(partition, message->offset),
                                            std::string(queued.value.value_or("")), added.error()});
  }
}

ssize_t KafkaSource::TakeOnePartition(ssize_t fetched) {
  waiting_.insert(waiting_.end(), messages_.begin(), messages_.begin() + fetched);
  if (waiting_.empty()) return 0;
  rd_kafka_message_t* first = waiting_.front();
  if (first->err != RD_KAFKA_RESP_ERR_NO_ERROR || first->rkt == nullptr) {
    // An error (a fatal one names no partition): handed to the caller on its own.
    messages_[0] = first;
    waiting_.erase(waiting_.begin());
    return 1;
  }
  last_split_ = fmt::format("{}/{}", rd_kafka_topic_name(first->rkt), first->partition);
  // Messages of the first one's partition, in their order, move to the front of messages_.
  auto rest = std::stable_partition(waiting_.begin(), waiting_.end(), [&](rd_kafka_message_t* m) {
    return m->rkt == first->rkt && m->partition == first->partition;
  });
  ssize_t count = rest - waiting_.begin();
  std::copy(waiting_.begin(), rest, messages_.begin());
  waiting_.erase(waiting_.begin(), rest);
  return count;
}

std::vector<std::string> KafkaSource::Splits() const {
  std::vector<std::string> splits;
  if (!one_partition_per_poll_) return splits;
  std::lock_guard lock(mutex_);
  for (const auto& entry : owned_) {
    splits.push_back(fmt::format("{}/{}", entry.first.topic, entry.first.partition));
  }
  return splits;
}

std::pair<std::string, std::string> KafkaSource::RowRecord(size_t row) const {
  const KeptRow& kept = row_records_[row];
  return {row_values_.substr(kept.begin, kept.size), Location(kept.partition, kept.offset)};
}

std::string KafkaSource::Position() const {
  std::lock_guard lock(mutex_);
  std::map<TopicPartition, int64_t> known;
  for (const auto& [partition, offset] : owned_) {
    if (offset >= 0) known.emplace(partition, offset);
  }
  // Restored or revoked partitions not (yet) assigned: a checkpoint taken before the group
  // assigns them must keep their positions, or a restart from it would start them at the
  // committed offset, behind what ClickHouse already has.
  for (const auto& [partition, offset] : restored_) known.emplace(partition, offset);
  return FormatPosition(known);
}

Status KafkaSource::Restore(const std::string& position) {
  auto offsets = ParsePosition(position);
  if (!offsets.ok()) return offsets.error();
  std::lock_guard lock(mutex_);
  // Fetched before the seek below: read again from the restored offsets.
  for (rd_kafka_message_t* message : waiting_) rd_kafka_message_destroy(message);
  waiting_.clear();
  restored_ = *offsets;
  PartitionList seek = NewPartitionList(1);
  for (auto& [partition, offset] : owned_) {
    auto restored = restored_.find(partition);
    if (restored == restored_.end()) continue;
    offset = restored->second;
    rd_kafka_topic_partition_list_add(seek.get(), partition.topic.c_str(), partition.partition)
        ->offset = offset;
  }
  if (seek->cnt > 0) {
    if (rd_kafka_error_t* error =
            rd_kafka_seek_partitions(consumer_, seek.get(), kQueryTimeoutMs)) {
      std::string text = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      return MakeError(ErrorCode::kKafkaClientError,
                       "seeking to the restored offsets failed: " + text, name_);
    }
  }
  return {};
}

Status KafkaSource::CommitPosition(const std::string& position) {
  return CommitCheckpoint(position, "");
}

Status KafkaSource::CommitCheckpoint(const std::string& position, const std::string& checkpoint) {
  auto offsets = ParsePosition(position);
  if (!offsets.ok()) return offsets.error();
  PartitionList commit = NewPartitionList(static_cast<int>(offsets->size()));
  {
    std::lock_guard lock(mutex_);
    for (const auto& [partition, offset] : *offsets) {
      // A partition revoked since the checkpoint belongs to another member, whose commits must
      // not be overwritten with an older offset.
      if (owned_.count(partition) == 0) continue;
      rd_kafka_topic_partition_t* element = rd_kafka_topic_partition_list_add(
          commit.get(), partition.topic.c_str(), partition.partition);
      element->offset = offset;
      if (follow_partition_state_ && !checkpoint.empty()) {
        // The list frees the metadata with free().
        std::string metadata = std::string(kCheckpointMetadata) + checkpoint;
        element->metadata = std::malloc(metadata.size());
        std::memcpy(element->metadata, metadata.data(), metadata.size());
        element->metadata_size = metadata.size();
      }
    }
  }
  if (consumer_ == nullptr) return {};
  if (commit->cnt > 0) Commit(commit.get(), position);
  // After the commit, so that the checkpoint just named is among them.
  if (follow_partition_state_) RefreshReferencedCheckpoints();
  return {};
}

void KafkaSource::Commit(rd_kafka_topic_partition_list_t* commit, const std::string& position) {
  rd_kafka_resp_err_t error = rd_kafka_commit(consumer_, commit, 0);
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < commit->cnt && error == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      error = commit->elems[i].err;
    }
  }
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn(
        "kafka source {}: committing offsets {} failed: {}; the next checkpoint commits "
        "again [KAFKA_COMMIT_FAILED]",
        name_, position, rd_kafka_err2str(error));
  }
}

void KafkaSource::RefreshReferencedCheckpoints() {
  const std::string& topic = spec_.topics.front();
  if (partition_count_ == 0) {
    rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer_, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    if (handle != nullptr &&
        rd_kafka_metadata(consumer_, 0, handle, &metadata, kQueryTimeoutMs) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partition_count_ = metadata->topics[0].partition_cnt;
    }
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    if (handle != nullptr) rd_kafka_topic_destroy(handle);
  }
  if (partition_count_ == 0) return;
  PartitionList query = NewPartitionList(partition_count_);
  for (int32_t partition = 0; partition < partition_count_; ++partition) {
    rd_kafka_topic_partition_list_add(query.get(), topic.c_str(), partition);
  }
  if (rd_kafka_resp_err_t error = rd_kafka_committed(consumer_, query.get(), kQueryTimeoutMs)) {
    // The folders named before stay kept; the next commit asks again.
    spdlog::warn("kafka source {}: reading committed offsets failed: {} [KAFKA_CLIENT_ERROR]",
                 name_, rd_kafka_err2str(error));
    return;
  }
  std::vector<std::string> referenced;
  for (int i = 0; i < query->cnt; ++i) {
    std::string checkpoint = CheckpointOfMetadata(query->elems[i]);
    if (!checkpoint.empty()) referenced.push_back(std::move(checkpoint));
  }
  std::lock_guard lock(mutex_);
  referenced_ = std::move(referenced);
}

void KafkaSource::Pause() {
  std::lock_guard lock(mutex_);
  if (paused_ || consumer_ == nullptr) return;
  paused_ = true;
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer_, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_pause_partitions(consumer_, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
  }
}

void KafkaSource::Resume() {
  std::lock_guard lock(mutex_);
  if (!paused_ || consumer_ == nullptr) return;
  paused_ = false;
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer_, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_resume_partitions(consumer_, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
  }
}

std::vector<PartitionLag> KafkaSource::Lag() const {
  std::vector<PartitionLag> lags;
  std::lock_guard lock(mutex_);
  for (const auto& [partition, next] : owned_) {
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_get_watermark_offsets(consumer_, partition.topic.c_str(), partition.partition,
                                       &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    // Nothing handed out yet: the whole retained log is behind.
    int64_t from = next >= 0 ? next : low;
    lags.push_back({partition, std::max<int64_t>(0, high - from)});
  }
  return lags;
}

std::vector<TopicPartition> KafkaSource::Assignment() const {
  std::lock_guard lock(mutex_);
  std::vector<TopicPartition> partitions;
  for (const auto& entry : owned_) partitions.push_back(entry.first);
  return partitions;
}

std::string KafkaSource::FormatPosition(const std::map<TopicPartition, int64_t>& offsets) {
  std::string text;
  for (const auto& [partition, offset] : offsets) {
    if (!text.empty()) text += ';';
    text += fmt::format("{}/{}={}", partition.topic, partition.partition, offset);
  }
  return text;
}

Result<std::map<TopicPartition, int64_t>> KafkaSource::ParsePosition(const std::string& position) {
  std::map<TopicPartition, int64_t> offsets;
  size_t start = 0;
  while (start < position.size()) {
    size_t end = position.find(';', start);
    if (end == std::string::npos) end = position.size();
    std::string_view part(position.data() + start, end - start);
    size_t slash = part.rfind('/');
    size_t equals = part.rfind('=');
    int32_t partition = -1;
    int64_t offset = -1;
    bool good = slash != std::string_view::npos && slash > 0 && equals != std::string_view::npos &&
                equals > slash;
    if (good) {
      auto [p_end, p_error] =
          std::from_chars(part.data() + slash + 1, part.data() + equals, partition);
      auto [o_end, o_error] =
          std::from_chars(part.data() + equals + 1, part.data() + part.size(), offset);
      good = p_error == std::errc() && p_end == part.data() + equals && o_error == std::errc() &&
             o_end == part.data() + part.size() && partition >= 0 && offset >= 0;
    }
    if (!good) {
      return MakeError(
          ErrorCode::kSourcePositionInvalid,
          fmt::format("'{}' in Kafka position '{}' is not topic/partition=offset", part, position));
    }
    offsets[{std::string(part.substr(0, slash)), partition}] = offset;
    start = end + 1;
  }
  return offsets;
}

}  // namespace sluice
