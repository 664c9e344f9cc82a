#pragma once

#include <string>

#include "config/spec.h"

namespace sluice {

/// A Grafana dashboard (JSON model, schemaVersion 39) for a spec's pipeline: throughput,
/// latency, errors, dead letters by code, checkpoints, lag, the write-ahead log, ClickHouse parts
/// and merges, process CPU and memory. Its data source is the variable `datasource`, so one file
/// serves every Prometheus.
std::string RenderDashboardJson(const PipelineSpec& spec);

}  // namespace sluice
