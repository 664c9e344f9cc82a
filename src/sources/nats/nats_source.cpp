#include "sources/nats/nats_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "base/clock.h"
#include "base/strings.h"
#include "sources/stream_fields.h"

namespace sluice {
namespace {

constexpr int64_t kReconnectWaitMs = 250;
constexpr int64_t kAckFlushTimeoutMs = 5000;

Error NatsError(natsStatus status, const std::string& what, const std::string& where,
                jsErrCode js_error = static_cast<jsErrCode>(0)) {
  std::string text = fmt::format("{}: {}", what, natsStatus_GetText(status));
  if (js_error != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(js_error));
  return MakeError(ErrorCode::kNatsError, std::move(text), where);
}

/// "5-9,12" for {5, 6, 7, 8, 9, 12}.
std::string FormatRanges(const std::set<uint64_t>& sequences) {
  std::string text;
  auto it = sequences.begin();
  while (it != sequences.end()) {
    uint64_t first = *it;
    uint64_t last = first;
    for (++it; it != sequences.end() && *it == last + 1; ++it) last = *it;
    if (!text.empty()) text += ',';
    text += first == last ? fmt::format("{}", first) : fmt::format("{}-{}", first, last);
  }
  return text;
}

}  // namespace

NatsSource::NatsSource(std::string name, NatsSourceSpec spec, uint32_t batch_rows,
                       std::vector<DecodeField> fields, DecodeOptions options)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      batch_rows_(batch_rows),
      decoder_(std::move(fields), std::move(options), spec_.message) {}

NatsSource::~NatsSource() {
  if (subscription_ != nullptr) natsSubscription_Destroy(subscription_);
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) {
    closing_ = true;
    natsConnection_Close(connection_);
    // The connection's callbacks run on the client's own thread and point at this object: wait
    // for the last one before the members go.
    closed_.get_future().wait();
    natsConnection_Destroy(connection_);
  }
  if (options_ != nullptr) natsOptions_Destroy(options_);
}

std::unique_ptr<NatsSource> NatsSource::FromSpec(const SourceSpec& source, const StreamSpec& stream,
                                                 const TableSpec& table) {
  return std::make_unique<NatsSource>(source.name, *source.nats, source.batch_rows,
                                      StreamDecodeFields(stream, table),
                                      StreamDecodeOptions(stream));
}

void NatsSource::OnClosed(natsConnection* /*connection*/, void* closure) {
  static_cast<NatsSource*>(closure)->closed_.set_value();
}

void NatsSource::OnDisconnected(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsSource*>(closure);
  if (self->closing_) return;
  spdlog::warn("nats source {}: disconnected from {}; reconnecting every {} ms [NATS_ERROR]",
               self->name_, self->spec_.url, kReconnectWaitMs);
}

void NatsSource::OnReconnected(natsConnection* /*connection*/, void* closure) {
  auto* self = static_cast<NatsSource*>(closure);
  spdlog::info("nats source {}: reconnected to {}", self->name_, self->spec_.url);
}

Status NatsSource::Connect() {
  natsStatus status = natsOptions_Create(&options_);
  if (status == NATS_OK) status = natsOptions_SetURL(options_, spec_.url.c_str());
  if (status == NATS_OK) status = natsOptions_SetName(options_, ("sluice-" + name_).c_str());
  // A source outlives any server restart: reconnect forever, with a short wait between tries,
  // and keep acks published meanwhile in the reconnect buffer.
  if (status == NATS_OK) status = natsOptions_SetMaxReconnect(options_, -1);
  if (status == NATS_OK) status = natsOptions_SetReconnectWait(options_, kReconnectWaitMs);
  if (status == NATS_OK) status = natsOptions_SetReconnectBufSize(options_, 64 << 20);
  if (status == NATS_OK) {
    status = natsOptions_SetDisconnectedCB(options_, &NatsSource::OnDisconnected, this);
  }
  if (status == NATS_OK) {
    status = natsOptions_SetReconnectedCB(options_, &NatsSource::OnReconnected, this);
  }
  if (status == NATS_OK) status = natsOptions_SetClosedCB(options_, &NatsSource::OnClosed, this);
  if (status != NATS_OK) return NatsError(status, "configuring the connection", name_);
  status = natsConnection_Connect(&connection_, options_);
  if (status != NATS_OK) {
    return NatsError(status, fmt::format("cannot connect to {}", spec_.url),
                     spec_.where.ToString());
  }
  status = natsConnection_JetStream(&js_, connection_, nullptr);
  if (status != NATS_OK) return NatsError(status, "opening JetStream", name_);
  return {};
}

Status NatsSource::BindConsumer() {
  jsErrCode js_error = static_cast<jsErrCode>(0);
  jsConsumerInfo* info = nullptr;
  natsStatus status = js_GetConsumerInfo(&info, js_, spec_.stream.c_str(), spec_.consumer.c_str(),
                                         nullptr, &js_error);
  if (status == NATS_NOT_FOUND) {
    jsConsumerConfig config;
    jsConsumerConfig_Init(&config);
    config.Durable = spec_.consumer.c_str();
    config.AckPolicy = js_AckExplicit;
    config.DeliverPolicy = js_DeliverAll;
    config.AckWait = std::chrono::nanoseconds(spec_.ack_wait).count();
    config.MaxAckPending = spec_.max_ack_pending;
    if (!spec_.filter_subject.empty()) config.FilterSubject = spec_.filter_subject.c_str();
    status = js_AddConsumer(&info, js_, spec_.stream.c_str(), &config, nullptr, &js_error);
    if (status == NATS_OK) {
      spdlog::info("nats source {}: created durable consumer {} on stream {}", name_,
                   spec_.consumer, spec_.stream);
    }
  }
  if (info != nullptr) jsConsumerInfo_Destroy(info);
  if (status != NATS_OK) {
    return NatsError(
        status,
        fmt::format("cannot find or create consumer {} on stream {}", spec_.consumer, spec_.stream),
        spec_.where.ToString(), js_error);
  }
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = spec_.stream.c_str();
  options.Consumer = spec_.consumer.c_str();
  status = js_PullSubscribe(&subscription_, js_,
                            spec_.filter_subject.empty() ? nullptr : spec_.filter_subject.c_str(),
                            spec_.consumer.c_str(), nullptr, &options, &js_error);
  if (status != NATS_OK) {
    return NatsError(status, fmt::format("cannot bind to consumer {}", spec_.consumer),
                     spec_.where.ToString(), js_error);
  }
  return {};
}

Status NatsSource::Open() {
  if (Status connected = Connect(); !connected.ok()) return connected;
  return BindConsumer();
}

bool NatsSource::connected() const {
  return connection_ != nullptr && natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

Result<PollStatus> NatsSource::Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) {
  row_records_.clear();
  last_identity_.clear();
  natsMsgList list{nullptr, 0};
  jsErrCode js_error = static_cast<jsErrCode>(0);
  natsStatus status = natsSubscription_Fetch(&list, subscription_, static_cast<int>(batch_rows_),
                                             spec_.fetch_timeout.count(), &js_error);
  if (status != NATS_OK && status != NATS_TIMEOUT) {
    // Disconnected, or the server restarting: the client reconnects by itself.
    spdlog::warn("nats source {}: fetch failed: {}; retrying [NATS_ERROR]", name_,
                 natsStatus_GetText(status));
    natsMsgList_Destroy(&list);
    return PollStatus::kIdle;
  }
  // A fetch that waited out its timeout found nothing left to deliver.
  if (status == NATS_TIMEOUT && list.Count == 0) pending_.store(0, std::memory_order_relaxed);
  uint64_t first = 0;
  uint64_t last = 0;
  size_t handed = 0;
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* message = list.Msgs[i];
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, message) != NATS_OK) {
      spdlog::warn("nats source {}: a message without JetStream metadata on {} was ignored", name_,
                   natsMsg_GetSubject(message));
      continue;
    }
    uint64_t sequence = meta->Sequence.Stream;
    pending_.store(meta->NumPending, std::memory_order_relaxed);
    bool fresh = false;
    {
      std::lock_guard lock(mutex_);
      if (skip_.erase(sequence) > 0) {
        // Delivered again after a restart (or a lost ack); its row is already in ClickHouse.
        Ack(natsMsg_GetReply(message));
      } else if (auto pending = unacked_.find(sequence); pending != unacked_.end()) {
        // Redelivered after ack_wait: already handed out; ack the newest delivery later.
        pending->second = natsMsg_GetReply(message);
      } else {
        unacked_.emplace(sequence, natsMsg_GetReply(message));
        last_ = std::max(last_, sequence);
        fresh = true;
      }
    }
    if (fresh) {
      first = handed == 0 ? sequence : std::min(first, sequence);
      last = std::max(last, sequence);
      ++handed;
      QueueMessage queued;
      queued.value = std::string_view(natsMsg_GetData(message),
                                      static_cast<size_t>(natsMsg_GetDataLength(message)));
      queued.topic = natsMsg_GetSubject(message);
      queued.offset = static_cast<int64_t>(sequence);
      queued.timestamp_ms = meta->Timestamp / 1'000'000;
      const char** keys = nullptr;
      int key_count = 0;
      if (natsMsgHeader_Keys(message, &keys, &key_count) == NATS_OK) {
        for (int k = 0; k < key_count; ++k) {
          const char** values = nullptr;
          int value_count = 0;
          if (natsMsgHeader_Values(message, keys[k], &values, &value_count) != NATS_OK) continue;
          for (int v = 0; v < value_count; ++v) queued.headers.emplace_back(keys[k], values[v]);
          free(values);
        }
        free(keys);
      }
      bytes_read_ += queued.value->size();
      std::string location = fmt::format("{}/{}", spec_.stream, sequence);
      Status added = decoder_.Add(queued, batch);
      if (added.ok()) {
        if (keep_row_records_) row_records_.emplace_back(std::string(*queued.value), location);
      } else {
        dead_letters.push_back(DeadLetter{WallClockMillis(), name_, std::move(location),
                                          std::string(*queued.value), added.error()});
      }
    }
    jsMsgMetaData_Destroy(meta);
  }
  natsMsgList_Destroy(&list);
  decoder_.Finish(batch);
  if (handed == 0) return PollStatus::kIdle;
  last_identity_ = fmt::format("{}/{}-{}:{}", spec_.stream, first, last, handed);
  return PollStatus::kData;
}

void NatsSource::Ack(const std::string& reply) {
  if (reply.empty()) return;
  natsStatus status = natsConnection_PublishString(connection_, reply.c_str(), "+ACK");
  if (status != NATS_OK) {
    spdlog::warn("nats source {}: ack to {} failed: {} [NATS_ERROR]", name_, reply,
                 natsStatus_GetText(status));
  }
}

std::string NatsSource::Position() const {
  std::lock_guard lock(mutex_);
  // Restored sequences not delivered again yet are still "handed out": a later restart must
  // skip them too.
  std::set<uint64_t> handed(skip_);
  for (const auto& entry : unacked_) handed.insert(entry.first);
  return fmt::format("{}@{}:{}", spec_.consumer, last_, FormatRanges(handed));
}

Result<NatsSource::ParsedPosition> NatsSource::ParsePosition(const std::string& position) {
  ParsedPosition parsed;
  size_t at = position.rfind('@');
  size_t colon = position.find(':', at == std::string::npos ? 0 : at);
  auto bad = [&](std::string_view why) {
    return MakeError(
        ErrorCode::kSourcePositionInvalid,
        fmt::format("NATS position '{}' {}; expected consumer@last:ranges", position, why));
  };
  if (at == std::string::npos || at == 0 || colon == std::string::npos) {
    return bad("is not well-formed");
  }
  parsed.consumer = position.substr(0, at);
  if (!ParseUint64(std::string_view(position).substr(at + 1, colon - at - 1), parsed.last)) {
    return bad("has no last sequence");
  }
  std::string_view ranges = std::string_view(position).substr(colon + 1);
  while (!ranges.empty()) {
    size_t comma = ranges.find(',');
    std::string_view range = ranges.substr(0, comma);
    size_t dash = range.find('-');
    uint64_t first = 0;
    uint64_t last = 0;
    if (!ParseUint64(range.substr(0, dash), first) ||
        (dash != std::string_view::npos && !ParseUint64(range.substr(dash + 1), last))) {
      return bad(fmt::format("has a bad range '{}'", range));
    }
    if (dash == std::string_view::npos) last = first;
    if (last < first || last - first > 100'000'000) {
      return bad(fmt::format("has a bad range '{}'", range));
    }
    for (uint64_t sequence = first; sequence <= last; ++sequence) parsed.unacked.insert(sequence);
    ranges = comma == std::string_view::npos ? std::string_view() : ranges.substr(comma + 1);
  }
  return parsed;
}

Status NatsSource::Restore(const std::string& position) {
  auto parsed = ParsePosition(position);
  if (!parsed.ok()) return parsed.error();
  if (parsed->consumer != spec_.consumer) {
    return MakeError(ErrorCode::kSourcePositionInvalid,
                     fmt::format("the position belongs to consumer '{}', this source reads '{}'",
                                 parsed->consumer, spec_.consumer),
                     name_);
  }
  std::lock_guard lock(mutex_);
  skip_ = std::move(parsed->unacked);
  last_ = parsed->last;
  return {};
}

Status NatsSource::CommitPosition(const std::string& position) {
  auto parsed = ParsePosition(position);
  if (!parsed.ok()) return parsed.error();
  std::vector<uint64_t> acked;
  {
    std::lock_guard lock(mutex_);
    for (uint64_t sequence : parsed->unacked) {
      auto pending = unacked_.find(sequence);
      if (pending == unacked_.end()) continue;
      Ack(pending->second);
      unacked_.erase(pending);
      acked.push_back(sequence);
    }
  }
  if (acked.empty()) return {};
  natsStatus status = natsConnection_FlushTimeout(connection_, kAckFlushTimeoutMs);
  if (status != NATS_OK) {
    // Not fatal: an ack that did not arrive makes the server deliver the message again, which
    // is then acked and skipped like a redelivery after a restart.
    spdlog::warn("nats source {}: flushing {} acks failed: {} [NATS_ERROR]", name_, acked.size(),
                 natsStatus_GetText(status));
    std::lock_guard lock(mutex_);
    skip_.insert(acked.begin(), acked.end());
  }
  return {};
}

}  // namespace sluice
