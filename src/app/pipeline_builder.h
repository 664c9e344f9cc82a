#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/spec.h"
#include "dataflow/source.h"
#include "metrics/component_metrics.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// A source with the sinks its records go to.
struct SourceRun {
  const SourceSpec* spec = nullptr;
  std::unique_ptr<Source> source;
  Schema schema;
  std::unique_ptr<Sink> sink;
  std::unique_ptr<DeadLetterSink> dead_letter_sink;
  /// The stream's validation between decoding and the sink (empty when it has no rules).
  std::function<void(Batch&, std::vector<DeadLetter>&)> process;
  std::unique_ptr<ComponentMetrics> source_metrics;
  std::unique_ptr<ComponentMetrics> sink_metrics;
};

/// Builds every source of the spec with its table and dead-letter sinks. Component types are
/// registered here, explicitly: this is the one place that knows every kind.
std::vector<SourceRun> BuildSourceRuns(const PipelineSpec& spec, Warehouse& warehouse,
                                       MetricRegistry& metrics);

}  // namespace sluice
