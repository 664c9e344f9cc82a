#include "runtime/wal_delivery.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "base/clock.h"
#include "core/batch_codec.h"
#include "runtime/event_time.h"
#include "runtime/wal_entry.h"
#include "sinks/dead_letter/dead_letter_sink.h"
#include "warehouse/identifier.h"

namespace sluice {

WalDelivery::WalDelivery(std::vector<std::unique_ptr<StreamRuntime>>& streams, WriteAheadLog& wal,
                         Warehouse& warehouse, MetricRegistry& metrics, std::string pipeline,
                         std::string database, std::string intent_path, DeliveryOptions options)
    : streams_(streams),
      wal_(wal),
      warehouse_(warehouse),
      pipeline_(std::move(pipeline)),
      database_(std::move(database)),
      intent_path_(std::move(intent_path)),
      options_(options) {
  for (auto& stream : streams_) {
    sink_metrics_.push_back(std::make_unique<ComponentMetrics>(metrics, ComponentKind::kSink,
                                                               "clickhouse", stream->table()));
    receipt_latency_.push_back(
        &metrics.GetHistogram(Metric::kEndToEndLatency, {pipeline_, stream->table(), "receipt"}));
    std::pair<size_t, Histogram*> event_time{0, nullptr};
    const Schema& schema = stream->schema();
    for (size_t column = 0; column < schema.size(); ++column) {
      if (!stream->spec().event_time.empty() && schema[column].name == stream->spec().event_time) {
        event_time = {column, &metrics.GetHistogram(Metric::kEndToEndLatency,
                                                    {pipeline_, stream->table(), "event_time"})};
      }
    }
    event_time_latency_.push_back(event_time);
  }
}

WalDelivery::~WalDelivery() {
  if (thread_.joinable()) (void)DrainAndStop();
}

Status WalDelivery::WriteIntent(const Window& window) {
  // Write, sync, rename, sync the folder: the intent is either the old one or the new one.
  std::string temporary = intent_path_ + ".tmp";
  std::string text = fmt::format("{} {}\n", window.first, window.last);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "cannot write " + temporary);
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fdatasync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), intent_path_.c_str()) != 0) {
    return MakeError(ErrorCode::kIoError, "cannot write " + intent_path_);
  }
  std::string folder = intent_path_.substr(0, intent_path_.find_last_of('/'));
  int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

Result<WalDelivery::Window> WalDelivery::ReadIntent() const {
  Window window;
  std::ifstream in(intent_path_);
  if (!in) return window;
  if (!(in >> window.first >> window.last) || window.first > window.last) {
    return MakeError(ErrorCode::kWalCorrupt, "unreadable delivery intent", intent_path_);
  }
  return window;
}

Status WalDelivery::InsertWindow(const Window& window, const std::vector<WalRecord>& records) {
  // Records of a window are grouped per stream: one insert per table, in log order.
  std::vector<std::unique_ptr<Batch>> rows(streams_.size());
  std::vector<std::unique_ptr<Batch>> dead_letters(streams_.size());
  // When each entry's rows arrived: their latency is observed once the insert is committed.
  std::vector<std::vector<std::pair<int64_t, size_t>>> arrivals(streams_.size());
  for (const WalRecord& record : records) {
    std::string_view payload = record.payload;
    auto entry = DecodeWalEntryHeader(payload);
    if (!entry.ok()) return entry.error();
    if (entry->stream_index >= streams_.size()) {
      return MakeError(ErrorCode::kWalCorrupt,
                       fmt::format("record {} names stream {} of {}", record.sequence,
                                   entry->stream_index, streams_.size()));
    }
    StreamRuntime& stream = *streams_[entry->stream_index];
    Batch decoded(stream.schema());
    if (auto status = DecodeBatch(payload, decoded); !status.ok()) return status;
    Batch decoded_dead(DeadLetterSchema());
    if (auto status = DecodeBatch(payload, decoded_dead); !status.ok()) return status;
    arrivals[entry->stream_index].emplace_back(entry->received_at_ms, decoded.num_rows());
    auto& target = rows[entry->stream_index];
    if (!target) target = std::make_unique<Batch>(stream.schema());
    target->AppendBatch(decoded);
    auto& dead_target = dead_letters[entry->stream_index];
    if (!dead_target) dead_target = std::make_unique<Batch>(DeadLetterSchema());
    dead_target->AppendBatch(decoded_dead);
  }
  std::string identity = fmt::format("wal/{}-{}", window.first, window.last);
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (rows[i] && rows[i]->num_rows() > 0) {
      InsertRequest request{database_, streams_[i]->table(), rows[i].get(),
                            fmt::format("{}/{}/{}", pipeline_, streams_[i]->table(), identity)};
      auto inserted = warehouse_.Insert(request);
      if (!inserted.ok()) {
        sink_metrics_[i]->Error(inserted.error().code, Stage::kSending);
        return inserted.error();
      }
      sink_metrics_[i]->RecordsSent(rows[i]->num_rows(), rows[i]->ByteSize());
      int64_t committed_at = WallClockMillis();
      for (const auto& [received_at, count] : arrivals[i]) {
        receipt_latency_[i]->Observe(static_cast<double>(committed_at - received_at) / 1000.0,
                                     count);
      }
      if (auto [column, histogram] = event_time_latency_[i]; histogram != nullptr) {
        ObserveLatencySince(*histogram, rows[i]->column(column), committed_at);
      }
    }
    if (dead_letters[i] && dead_letters[i]->num_rows() > 0) {
      InsertRequest request{
          database_, streams_[i]->dead_letter_table(), dead_letters[i].get(),
          fmt::format("{}/{}/{}", pipeline_, streams_[i]->dead_letter_table(), identity)};
      auto inserted = warehouse_.Insert(request);
      if (!inserted.ok()) return inserted.error();
    }
  }
  return {};
}

Result<bool> WalDelivery::DeliverOnce(uint64_t exact_last) {
  uint64_t delivered = wal_.delivered_sequence();
  size_t max_records = exact_last > 0 ? exact_last - delivered : options_.max_rows;
  auto records =
      wal_.ReadAfter(delivered, max_records, exact_last > 0 ? SIZE_MAX : options_.max_bytes);
  if (!records.ok()) return records.error();
  if (records->empty()) return false;
  Window window{records->front().sequence, records->back().sequence};
  if (exact_last > 0 && window.last != exact_last) {
    return MakeError(ErrorCode::kWalCorrupt,
                     fmt::format("the interrupted delivery ended at record {} but the log "
                                 "holds records only up to {}",
                                 exact_last, window.last));
  }
  if (auto status = WriteIntent(window); !status.ok()) return status.error();
  if (auto status = InsertWindow(window, *records); !status.ok()) return status.error();
  if (auto status = wal_.MarkDelivered(window.last); !status.ok()) return status.error();
  return true;
}

Status WalDelivery::Start() {
  auto intent = ReadIntent();
  if (!intent.ok()) return intent.error();
  if (intent->last > wal_.delivered_sequence()) {
    spdlog::info("re-delivering write-ahead log records {}-{} interrupted by a stop",
                 wal_.delivered_sequence() + 1, intent->last);
    std::lock_guard lock(mutex_);
    auto redone = DeliverOnce(intent->last);
    if (!redone.ok()) return redone.error();
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void WalDelivery::Notify() {
  {
    std::lock_guard lock(wake_mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void WalDelivery::Run() {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    {
      std::unique_lock lock(wake_mutex_);
      // Wait for the window to fill or the delay to pass; a notification only shortens the
      // wait when enough records are waiting.
      wake_.wait_for(lock, options_.max_delay, [&] {
        return stopping_ ||
               (notified_ && wal_.last_sequence() - wal_.delivered_sequence() >= options_.max_rows);
      });
      notified_ = false;
      if (stopping_) return;
    }
    std::lock_guard lock(mutex_);
    while (true) {
      auto delivered = DeliverOnce(0);
      if (!delivered.ok()) {
        spdlog::error("delivery to ClickHouse failed, retrying in {} ms: {}", backoff.count(),
                      delivered.error().ToString());
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
        break;
      }
      backoff = std::chrono::milliseconds(100);
      if (!*delivered) break;
    }
  }
}

Status WalDelivery::DeliverAll() {
  std::lock_guard lock(mutex_);
  while (true) {
    auto delivered = DeliverOnce(0);
    if (!delivered.ok()) return delivered.error();
    if (!*delivered) return {};
  }
}

Status WalDelivery::DrainAndStop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  return DeliverAll();
}

}  // namespace sluice
