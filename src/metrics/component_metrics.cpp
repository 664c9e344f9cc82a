#include "metrics/component_metrics.h"

#include <vector>

namespace sluice {
namespace {

constexpr size_t kStageCount = 3;

// Dense index of each registered error code, so that error series can live in a flat table.
struct ErrorCodeIndex {
  std::vector<int32_t> by_number;
  size_t count = 0;
};

const ErrorCodeIndex& CodeIndex() {
  static const ErrorCodeIndex index = [] {
    ErrorCodeIndex built;
    ForEachErrorCode([&](ErrorCode code, std::string_view, std::string_view) {
      size_t number = ErrorCodeNumber(code);
      if (built.by_number.size() <= number) built.by_number.resize(number + 1, -1);
      built.by_number[number] = static_cast<int32_t>(built.count++);
    });
    return built;
  }();
  return index;
}

}  // namespace

std::string_view ComponentKindName(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kSource:
      return "source";
    case ComponentKind::kOperator:
      return "operator";
    case ComponentKind::kSink:
      return "sink";
  }
  return "unknown";
}

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kReceiving:
      return "receiving";
    case Stage::kProcessing:
      return "processing";
    case Stage::kSending:
      return "sending";
  }
  return "unknown";
}

ComponentMetrics::ComponentMetrics(MetricRegistry& registry, ComponentKind kind, std::string type,
                                   std::string id)
    : registry_(registry),
      kind_(ComponentKindName(kind)),
      type_(std::move(type)),
      id_(std::move(id)),
      received_records_(
          registry.GetCounter(Metric::kComponentReceivedRecords, {kind_, type_, id_})),
      received_bytes_(registry.GetCounter(Metric::kComponentReceivedBytes, {kind_, type_, id_})),
      sent_records_(registry.GetCounter(Metric::kComponentSentRecords, {kind_, type_, id_})),
      sent_bytes_(registry.GetCounter(Metric::kComponentSentBytes, {kind_, type_, id_})),
      dead_letter_records_(
          registry.GetCounter(Metric::kComponentDeadLetterRecords, {kind_, type_, id_})),
      error_counters_(std::make_unique<std::atomic<Counter*>[]>(kStageCount * CodeIndex().count)) {}

void ComponentMetrics::RecordsReceived(uint64_t records, uint64_t bytes) {
  received_records_.Increment(records);
  received_bytes_.Increment(bytes);
}

void ComponentMetrics::RecordsSent(uint64_t records, uint64_t bytes) {
  sent_records_.Increment(records);
  sent_bytes_.Increment(bytes);
}

void ComponentMetrics::Error(ErrorCode code, Stage stage, uint64_t count) {
  ErrorCounter(code, stage).Increment(count);
}

void ComponentMetrics::DeadLettered(uint64_t records) {
  dead_letter_records_.Increment(records);
}

Counter& ComponentMetrics::ErrorCounter(ErrorCode code, Stage stage) {
  const ErrorCodeIndex& index = CodeIndex();
  size_t slot = static_cast<size_t>(stage) * index.count +
                static_cast<size_t>(index.by_number[ErrorCodeNumber(code)]);
  Counter* counter = error_counters_[slot].load(std::memory_order_acquire);
  if (counter != nullptr) return *counter;
  // Two threads may race here; the registry hands both the same series.
  counter = &registry_.GetCounter(
      Metric::kComponentErrors, {kind_, type_, id_, std::to_string(ErrorCodeNumber(code)),
                                 std::string(ErrorCodeName(code)), std::string(StageName(stage))});
  error_counters_[slot].store(counter, std::memory_order_release);
  return *counter;
}

DeadLetterMetrics::DeadLetterMetrics(MetricRegistry& registry, std::string stream)
    : registry_(registry),
      stream_(std::move(stream)),
      counters_(std::make_unique<std::atomic<Counter*>[]>(CodeIndex().count)) {}

void DeadLetterMetrics::Count(ErrorCode code, uint64_t records) {
  size_t slot = static_cast<size_t>(CodeIndex().by_number[ErrorCodeNumber(code)]);
  Counter* counter = counters_[slot].load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &registry_.GetCounter(
        Metric::kDeadLetterRecords,
        {stream_, std::to_string(ErrorCodeNumber(code)), std::string(ErrorCodeName(code))});
    counters_[slot].store(counter, std::memory_order_release);
  }
  counter->Increment(records);
}

}  // namespace sluice
