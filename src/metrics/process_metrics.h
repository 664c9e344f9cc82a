#pragma once

#include <cstdint>
#include <optional>

#include "metrics/metric_registry.h"

namespace sluice {

/// What the kernel reports about this process, read from /proc/self.
struct ProcessSample {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;  // since the epoch
};

/// Reads /proc/self/stat, /proc/stat (boot time), /proc/self/fd and the file limit; nothing
/// when /proc is not mounted.
std::optional<ProcessSample> SampleProcess();

/// Exports the standard process_* metrics (the names every Prometheus client library uses),
/// refreshed on each scrape. Returns the scrape hook's id (MetricRegistry::RemoveScrapeHook).
uint64_t ExportProcessMetrics(MetricRegistry& registry);

}  // namespace sluice
