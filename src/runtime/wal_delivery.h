#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metrics/component_metrics.h"
#include "runtime/stream_runtime.h"
#include "state/wal.h"
#include "warehouse/warehouse.h"

namespace sluice {

struct DeliveryOptions {
  size_t max_rows = 65536;  // per window, over all streams
  size_t max_bytes = 16 << 20;
  std::chrono::milliseconds max_delay{1000};  // the oldest waiting record is this old at most
};

/// Moves what the write-ahead log holds into ClickHouse, in windows of consecutive log
/// records. Exactly once: before a window is inserted its bounds are made durable (an intent
/// file), every insert carries a token derived from those bounds, and only then is the log
/// told the window is delivered. After a crash the same window is re-inserted with the same
/// tokens, and ClickHouse drops what it already has.
class WalDelivery {
 public:
  WalDelivery(std::vector<std::unique_ptr<StreamRuntime>>& streams, WriteAheadLog& wal,
              Warehouse& warehouse, MetricRegistry& metrics, std::string pipeline,
              std::string database, std::string intent_path, DeliveryOptions options);
  ~WalDelivery();

  /// Re-delivers an interrupted window, then starts the background thread.
  Status Start();
  /// Wakes the thread early (new records were appended).
  void Notify();
  /// Stops the thread, then delivers everything appended so far.
  Status DrainAndStop();

  /// Delivers every record up to the log's end now, on the calling thread (tests, shutdown).
  Status DeliverAll();

 private:
  struct Window {
    uint64_t first = 0;
    uint64_t last = 0;
  };
  void Run();
  /// Delivers one window after the delivered mark: exactly up to `exact_last` when redoing an
  /// interrupted window, else as far as the window limits allow. False when nothing waits.
  Result<bool> DeliverOnce(uint64_t exact_last);
  Status InsertWindow(const Window& window, const std::vector<WalRecord>& records);
  Status WriteIntent(const Window& window);
  Result<Window> ReadIntent() const;

  std::vector<std::unique_ptr<StreamRuntime>>& streams_;
  std::vector<std::unique_ptr<ComponentMetrics>> sink_metrics_;  // one per stream's table
  std::vector<Histogram*> receipt_latency_;  // one per stream's table, from="receipt"
  // One per stream's table, from="event_time": the column of the stream's event time and its
  // histogram; null for a stream without event_time.
  std::vector<std::pair<size_t, Histogram*>> event_time_latency_;
  WriteAheadLog& wal_;
  Warehouse& warehouse_;
  std::string pipeline_;
  std::string database_;
  std::string intent_path_;
  DeliveryOptions options_;

  std::mutex mutex_;  // serializes deliveries (thread and DeliverAll)
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sluice
