#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/spec.h"
#include "metrics/component_metrics.h"
#include "runtime/stream_runtime.h"
#include "server/ingest_api.h"
#include "state/wal.h"

namespace sluice {

/// The ingest side of the live pipeline: parses a request's records into the stream's columns,
/// sets aside the ones that fail (they become dead-letter rows, never dropped), and makes the
/// whole request durable in the write-ahead log before it is acknowledged. Requests run on the
/// server's threads concurrently; the log's group commit lets them share fsyncs.
class IngestPipeline : public IngestService {
 public:
  IngestPipeline(std::vector<std::unique_ptr<StreamRuntime>>& streams, WriteAheadLog& wal,
                 MetricRegistry& metrics);

  Answer Ingest(std::string_view stream, BodyKind kind, std::string_view body) override;

  /// New requests are answered "shutting down" from now on.
  void BeginShutdown() { shutting_down_ = true; }
  /// Called after each durable append (delivery waits on it instead of polling).
  void OnAppended(std::function<void()> callback) { on_appended_ = std::move(callback); }

 private:
  struct StreamEntry {
    StreamRuntime* runtime;
    std::unique_ptr<ComponentMetrics> metrics;
    std::unique_ptr<DeadLetterMetrics> dead_letters;
  };

  std::map<std::string, StreamEntry, std::less<>> streams_;
  WriteAheadLog& wal_;
  std::atomic<bool> shutting_down_ = false;
  std::function<void()> on_appended_;
};

}  // namespace sluice
